/**
 * Masks from file contents (CSV of 0/1 rows, or a PNG thresholded at mid-grey; src-main/export reads the files) and the fractal dimension of
 * a zoom sequence.
 *
 * Mask rows are in file order (first CSV line / top PNG row = row 0). The box count does not care
 * about orientation, so no flip is applied.
 */
import { countBoundaryBoxes, localSlopes, logSpacedSizes, type DimensionEstimate, type Mask } from "./dimension.js";
import { checkMap, layerMask, type BinaryLayer, type SweepMap } from "./map.js";
import { decodePng, isPng } from "./png.js";

/** CSV of 0/1 values, one mask row per line, comma separated (spaces around values allowed).
 *  Blank lines at the end are ignored; a blank line in the middle is an error. */
export function parseMaskCsv(text: string, name = "mask CSV"): Mask {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length === 0) throw new Error(`${name} is empty; expected rows of 0/1 values separated by commas`);
  const width = lines[0].split(",").length;
  const data = new Uint8Array(width * lines.length);
  lines.forEach((line, y) => {
    const cells = line.split(",");
    if (cells.length !== width) {
      throw new Error(`${name} line ${y + 1} has ${cells.length} values but line 1 has ${width}; every row must have the same number of columns`);
    }
    cells.forEach((raw, x) => {
      const v = raw.trim();
      if (v !== "0" && v !== "1") {
        throw new Error(`${name} line ${y + 1}, column ${x + 1}: ${JSON.stringify(v)} is not 0 or 1 (1 = trainable, 0 = not)`);
      }
      data[y * width + x] = v === "1" ? 1 : 0;
    });
  });
  return { width, height: lines.length, data };
}

/** 8-bit gray / gray+alpha / RGB / RGBA PNG: a pixel is 1 when its luminance (Rec. 601) is at least
 *  mid-grey (128) and it is at least half opaque; transparent pixels are 0. */
export function parseMaskPng(bytes: Uint8Array, name = "mask PNG"): Mask {
  const png = decodePng(bytes, name);
  const { width, height, channels } = png;
  const data = new Uint8Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    const lum = channels >= 3 ? 0.299 * png.data[s] + 0.587 * png.data[s + 1] + 0.114 * png.data[s + 2] : png.data[s];
    const alpha = channels === 4 ? png.data[s + 3] : channels === 2 ? png.data[s + 1] : 255;
    data[i] = lum >= 128 && alpha >= 128 ? 1 : 0;
  }
  return { width, height, data };
}

export interface SequenceLevel {
  level: number;
  estimate: DimensionEstimate;
  /** Box sizes as a fraction of this level's window side (sqrt of nx*ny cells). */
  relativeSizes: number[];
  /** Box sizes at which this level holds no boundary box, left out of its estimate (absent when none). */
  emptySizes?: number[];
}

export interface SequenceDimension {
  levels: SequenceLevel[];
  /** The sequence's dimension: equal to `pooled`. */
  dimension: number;
  /** Median of every level's local slopes: the paper's estimator pooled over the sequence. */
  pooled: number;
  /** Least-squares slope of log count vs log relative size with one intercept per level (each zoom
   *  window holds a different amount of boundary, so only the slope is shared). */
  pooledLeastSquares: number;
}

/**
 * Dimension of a zoom sequence: maps ordered parent first, each inside the previous one's window,
 * sweeping the same two params. Each level is measured on its own grid (per-level estimates);
 * nested boxes of a self-similar boundary follow one power law, so the levels are pooled by taking
 * the median of all local slopes (as the paper does within one image) and, as a cross-check, a
 * common-slope least-squares fit with a per-level intercept.
 */
export function sequenceDimension(maps: readonly SweepMap[], layer: BinaryLayer = "trainable"): SequenceDimension {
  if (maps.length === 0) throw new Error("zoom sequence is empty; pass the parent sweep and its zooms, parent first");
  checkZoomSequence(maps);
  const levels = maps.map((map, level): SequenceLevel => {
    const mask = layerMask(map, layer);
    const all = logSpacedSizes(mask);
    const allCounts = countBoundaryBoxes(mask, all);
    // A zoom window can hold no boundary box at some size (the boundary runs along the tiling's edges, or the
    // window is nearly all one outcome): log 0 has no slope, so those sizes are left out of this level and its
    // slopes join the sizes either side. A level with fewer than two sizes left adds nothing to the pool.
    const sizes = all.filter((_, i) => allCounts[i] > 0), counts = allCounts.filter((c) => c > 0);
    const slopes = localSlopes(sizes, counts);
    const estimate: DimensionEstimate = {
      dimension: slopes.length ? median(slopes) : Number.NaN, method: "median-local-slope", sizes, counts, localSlopes: slopes,
    };
    const side = Math.sqrt(map.nx * map.ny);
    const emptySizes = all.filter((_, i) => allCounts[i] === 0);
    return { level, estimate, relativeSizes: sizes.map((sz) => sz / side), ...(emptySizes.length ? { emptySizes } : {}) };
  });
  const slopes = levels.flatMap((l) => l.estimate.localSlopes);
  if (!slopes.length) {
    throw new Error("no level of the sequence has boundary boxes at two box sizes: every map is all one outcome at those scales, so it has no boundary to measure");
  }
  let sxy = 0;
  let sxx = 0;
  for (const l of levels) {
    if (l.estimate.sizes.length < 2) continue;
    const xs = l.relativeSizes.map(Math.log);
    const ys = l.estimate.counts.map(Math.log);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    xs.forEach((x, i) => {
      sxy += (x - mx) * (ys[i] - my);
      sxx += (x - mx) ** 2;
    });
  }
  const pooled = median(slopes);
  return { levels, dimension: pooled, pooled, pooledLeastSquares: -sxy / sxx };
}

/** Throws unless each map sweeps the same params as the previous one, inside its window. */
export function checkZoomSequence(maps: readonly SweepMap[]): void {
  maps.forEach(checkMap);
  for (let i = 1; i < maps.length; i++) {
    const parent = maps[i - 1];
    const child = maps[i];
    for (const a of ["x", "y"] as const) {
      if (child[a].param !== parent[a].param || child[a].scale !== parent[a].scale) {
        throw new Error(`zoom level ${i} sweeps ${a} = ${child[a].param} (${child[a].scale}) but level ${i - 1} sweeps ${parent[a].param} (${parent[a].scale}); a zoom sequence must keep both axes`);
      }
      const [plo, phi] = parent[a].range;
      const [clo, chi] = child[a].range;
      const slack = 1e-9 * (phi - plo);
      if (clo < plo - slack || chi > phi + slack) {
        throw new Error(`zoom level ${i} ${a} range [${clo}, ${chi}] is not inside level ${i - 1}'s [${plo}, ${phi}]; order the sequence parent first`);
      }
    }
  }
}

function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
