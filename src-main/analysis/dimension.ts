/**
 * Box-counting fractal dimension of a trainability boundary (Sohl-Dickstein 2024, and the seed
 * project's simpler fit). Pure functions over a binary mask stored row-major.
 *
 * Edge cells are 2x2 neighbourhoods whose outcomes differ; a box of side s is on the boundary when
 * it holds an edge cell. N(s) ~ s^-D, so D is minus the slope of log N vs log s.
 */

export interface Mask {
  width: number;
  height: number;
  /** 1 = trainable (or stable), 0 = not; row-major, length width*height. */
  data: Uint8Array;
}

export interface DimensionEstimate {
  /** The estimate: median local slope (paper) or least-squares slope (seed project). */
  dimension: number;
  method: "median-local-slope" | "least-squares";
  sizes: number[];
  counts: number[];
  /** -d log N / d log s between successive sizes (the paper's local estimates). */
  localSlopes: number[];
}

/** Number of boxes of side s on the edge map that hold at least one edge cell. Edge cell (x, y) is
 *  the 2x2 neighbourhood of mask cells x..x+1, y..y+1, so an edge-map box of side s is a mask box of
 *  side s+1 (neighbouring boxes share a row or column) that is partly but not wholly trainable.
 *  Boxes tile from the origin; partial boxes at the far edges are dropped. A summed-area table
 *  makes each size cost O(cells / s^2). */
export function countBoundaryBoxes(mask: Mask, sizes: readonly number[]): number[] {
  const sat = summedArea(mask);
  const w1 = mask.width + 1;
  const full = (s: number) => (s + 1) * (s + 1);
  return sizes.map((s) => {
    if (!Number.isInteger(s) || s < 1) throw new Error(`box size must be a positive integer, got ${s}`);
    let count = 0;
    for (let y = 0; y + s <= mask.height - 1; y += s) {
      for (let x = 0; x + s <= mask.width - 1; x += s) {
        const x1 = x + s + 1;
        const y1 = y + s + 1;
        const sum = sat[y1 * w1 + x1] - sat[y * w1 + x1] - sat[y1 * w1 + x] + sat[y * w1 + x];
        if (sum > 0 && sum < full(s)) count++;
      }
    }
    return count;
  });
}

/** Log-spaced distinct integer box sizes from `min` up to a quarter of the shorter side. */
export function logSpacedSizes(mask: Mask, min = 2, perOctave = 4): number[] {
  const max = Math.floor(Math.min(mask.width, mask.height) / 4);
  const sizes: number[] = [];
  for (let k = 0; ; k++) {
    const s = Math.round(min * 2 ** (k / perOctave));
    if (s > max) break;
    if (sizes[sizes.length - 1] !== s) sizes.push(s);
  }
  return sizes;
}

/** The paper's estimator: median of the local slopes over log-spaced box sizes. */
export function fractalDimension(mask: Mask, sizes = logSpacedSizes(mask)): DimensionEstimate {
  const { counts, localSlopes } = countAndSlopes(mask, sizes);
  return { dimension: median(localSlopes), method: "median-local-slope", sizes, counts, localSlopes };
}

/** The seed project's estimator: least-squares slope of log N vs log s over sizes 2..32 (those that fit
 *  in the edge map: a 24x24 map is measured over 2..16). */
export function fractalDimensionLeastSquares(
  mask: Mask,
  sizes = [2, 4, 8, 16, 32].filter((s) => s <= Math.min(mask.width, mask.height) - 1),
): DimensionEstimate {
  const { counts, localSlopes } = countAndSlopes(mask, sizes);
  const xs = sizes.map(Math.log);
  const ys = counts.map(Math.log);
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return { dimension: -sxy / sxx, method: "least-squares", sizes, counts, localSlopes };
}

function countAndSlopes(mask: Mask, sizes: readonly number[]) {
  if (mask.data.length !== mask.width * mask.height) {
    throw new Error(`mask has ${mask.data.length} cells, expected ${mask.width}x${mask.height}`);
  }
  if (sizes.length < 2) {
    throw new Error(`need at least two box sizes; the map (${mask.width}x${mask.height}) is too small — use at least 16x16 cells`);
  }
  const counts = countBoundaryBoxes(mask, sizes);
  const zero = counts.findIndex((c) => c === 0);
  if (zero >= 0) {
    throw new Error(`no boundary boxes of size ${sizes[zero]}: the map is all one outcome at that scale, so it has no boundary to measure`);
  }
  return { counts, localSlopes: localSlopes(sizes, counts) };
}

/** -d log N / d log s between successive sizes (counts all > 0). */
export function localSlopes(sizes: readonly number[], counts: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < sizes.length; i++) {
    // 0 - x rather than -x: a flat step is +0, not -0 (which JSON transports turn into 0 and tests then miss).
    out.push(0 - (Math.log(counts[i]) - Math.log(counts[i - 1])) / (Math.log(sizes[i]) - Math.log(sizes[i - 1])));
  }
  return out;
}

/** Summed-area table of a mask, (w+1) x (h+1): any box's count of ones in four lookups. */
export function summedArea(mask: Mask): Float64Array {
  const { width: w, height: h, data } = mask;
  const w1 = w + 1;
  const sat = new Float64Array((h + 1) * w1);
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += data[y * w + x] ? 1 : 0;
      sat[(y + 1) * w1 + x + 1] = sat[y * w1 + x + 1] + row;
    }
  }
  return sat;
}

function mean(v: readonly number[]): number {
  return v.reduce((a, b) => a + b, 0) / v.length;
}

export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
