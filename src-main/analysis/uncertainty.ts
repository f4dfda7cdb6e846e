/**
 * How far to trust a fractal dimension read off a map: the 95% interval of the project's estimator (the same
 * bootstrap as the paper's, paper-dimension.ts bootstrapMedianCI, over levels and their local slopes), and the bias of
 * a small grid, shown by measuring the same window at half the resolution.
 *
 * The half-resolution map is the map's own cells (2i, 2j): the same window with half the points a side, no new
 * training. It is the honest cheap version of "the same window scanned coarser": its cells sit half a fine cell off
 * the centres a half-resolution sweep would train at, which moves single boundary cells but not the box counts'
 * slope. A zoom is no substitute (its window is a quarter of its parent's, not the same one), so none is used.
 */

import { fractalDimension, type Mask } from "./dimension.js";
import { layerMask, type BinaryLayer, type SweepMap } from "./map.js";
import { sequenceDimension } from "./mask.js";
import { bootstrapMedianCI, paperDimension } from "./paper-dimension.js";

/** The mask's cells (2i, 2j): the same window at half the points a side (rounded up). */
export function halfResolution(mask: Mask): Mask {
  const w = Math.ceil(mask.width / 2), h = Math.ceil(mask.height / 2);
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = mask.data[2 * y * mask.width + 2 * x];
  return { width: w, height: h, data };
}

/** One estimator at full and half resolution: D at each, half minus full, and the intervals where it has them. */
export interface BiasPair {
  full: number;
  half: number;
  /** half - full: what halving the grid moves this estimator by */
  difference: number;
  fullCi: [number, number] | null;
  halfCi: [number, number] | null;
}

export type Measured<T> = { ok: true; value: T } | { ok: false; reason: string };

export interface ResolutionBias {
  full: { nx: number; ny: number };
  half: { nx: number; ny: number };
  /** the project's estimator (median local slope, box sizes 2..side/4) */
  project: Measured<BiasPair>;
  /** the paper's (porespy boxcount, 10 sizes 10..side, median np.gradient slope) */
  paper: Measured<BiasPair>;
}

function measured<T>(f: () => T): Measured<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

/** The project's D of one mask with its 95% interval (bootstrap over its local slopes). */
export function projectWithInterval(mask: Mask): { dimension: number; ci: [number, number] } {
  const e = fractalDimension(mask);
  const slopes = e.localSlopes.filter(Number.isFinite);
  if (!slopes.length) throw new Error(`a ${mask.width}x${mask.height} map has no box size pair with boundary at both, so no local slope`);
  return { dimension: e.dimension, ci: bootstrapMedianCI([slopes]) };
}

/** The map measured at its resolution and at half of it, by both estimators. */
export function resolutionBias(map: SweepMap, layer: BinaryLayer = "trainable"): ResolutionBias {
  const halfSide = { nx: Math.ceil(map.nx / 2), ny: Math.ceil(map.ny / 2) };
  let mask: Mask;
  try {
    mask = layerMask(map, layer);
  } catch (e) { // an incomplete map: neither estimator measures it, and the panel says why
    const reason = (e as Error).message;
    return { full: { nx: map.nx, ny: map.ny }, half: halfSide, project: { ok: false, reason }, paper: { ok: false, reason } };
  }
  const half = halfResolution(mask);
  const pair = (at: (m: Mask) => { dimension: number; ci: [number, number] }): Measured<BiasPair> => measured(() => {
    const f = at(mask), h = at(half);
    if (!Number.isFinite(f.dimension) || !Number.isFinite(h.dimension)) throw new Error("no finite slope at one of the two resolutions");
    return { full: f.dimension, half: h.dimension, difference: h.dimension - f.dimension, fullCi: f.ci, halfCi: h.ci };
  });
  if (half.width < 2 || half.height < 2) {
    const reason = `a ${map.nx}x${map.ny} map is too small to halve (half of it has no 2x2 neighbourhood)`;
    return { full: { nx: map.nx, ny: map.ny }, half: { nx: half.width, ny: half.height }, project: { ok: false, reason }, paper: { ok: false, reason } };
  }
  return {
    full: { nx: map.nx, ny: map.ny }, half: { nx: half.width, ny: half.height },
    project: pair(projectWithInterval),
    paper: pair((m) => paperDimension([m])),
  };
}

/** The project's pooled D over a zoom path (median of every level's local slopes) and its 95% interval. */
export function sequenceInterval(maps: readonly SweepMap[], layer: BinaryLayer = "trainable"): [number, number] {
  return bootstrapMedianCI(sequenceDimension(maps, layer).levels.map((l) => l.estimate.localSlopes.filter(Number.isFinite)));
}
