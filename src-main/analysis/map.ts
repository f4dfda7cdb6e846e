/**
 * The analysis input: one sweep's map as plain typed arrays, independent of the store.
 *
 * Row-major, index = iy * nx + ix; iy = 0 is the low end of the y range (drawn at the bottom).
 * Cells are centre-sampled (DESIGN "Sweep spec"): cell i of N covers [lo + i*w, lo + (i+1)*w],
 * w = (hi - lo) / N, and ran at its centre. "Axis units" below means log10 units on a log axis.
 */
import type { Mask } from "./dimension.js";
import { gridCell, gridCentre } from "../../src-shared/grid";

export interface MapAxis {
  param: string;
  scale: "log" | "linear";
  /** [lo, hi] in axis units (log10 for a log axis). */
  range: [number, number];
}

export interface SweepMap {
  nx: number;
  ny: number;
  x: MapAxis;
  y: MapAxis;
  trainable: Uint8Array;
  stable: Uint8Array;
  score: Float64Array;
  finalLoss: Float64Array;
  /** NaN where the sweep has no held-out set. */
  heldoutLoss: Float64Array;
  /** SFT sweeps with data.ood: the loss on the out-of-domain set; NaN or absent without one. */
  oodLoss?: Float64Array;
  /** 1 where the cell has a result; absent means every cell is done. */
  done?: Uint8Array;
  /** Where the sweep trained (core/numerics.ts ranOn's summary), for reports; absent where not known. */
  ranOn?: string | null;
}

export type BinaryLayer = "trainable" | "stable";

/** Throws unless every array has nx*ny entries and both ranges are finite and increasing. */
export function checkMap(map: SweepMap): void {
  const n = map.nx * map.ny;
  if (!Number.isInteger(map.nx) || !Number.isInteger(map.ny) || map.nx < 1 || map.ny < 1) {
    throw new Error(`map size must be positive integers, got nx=${map.nx} ny=${map.ny}`);
  }
  for (const key of ["trainable", "stable", "score", "finalLoss", "heldoutLoss", "oodLoss", "done"] as const) {
    const a = map[key];
    if (a !== undefined && a.length !== n) throw new Error(`map.${key} has ${a.length} entries, expected nx*ny = ${n}`);
  }
  for (const name of ["x", "y"] as const) {
    const [lo, hi] = map[name].range;
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
      throw new Error(`map.${name}.range must be finite with lo < hi, got [${lo}, ${hi}]`);
    }
  }
}

/** Width of one cell in axis units. */
export function cellWidth(axis: MapAxis, n: number): number {
  return (axis.range[1] - axis.range[0]) / n;
}

/** Centre of cell i in axis units (src-shared/grid.ts). */
export function cellCentre(axis: MapAxis, n: number, i: number): number {
  return gridCentre(axis.range[0], axis.range[1], n, i);
}

/** Hyperparameter value at an axis-unit coordinate (10^u on a log axis); grid.ts axisValue is a cell's value. */
export function valueAt(axis: MapAxis, u: number): number {
  return axis.scale === "log" ? 10 ** u : u;
}

/** Cell index holding axis-unit coordinate u, or -1 outside the range (src-shared/grid.ts). */
export function cellAt(axis: MapAxis, n: number, u: number): number {
  return gridCell(axis.range[0], axis.range[1], n, u);
}

export function doneCount(map: SweepMap): number {
  if (!map.done) return map.nx * map.ny;
  let c = 0;
  for (const d of map.done) c += d ? 1 : 0;
  return c;
}

/** The trainable or stable layer as a Mask for dimension.ts. Refuses a partial map: cells without a
 *  result would read as untrainable and invent boundary. */
export function layerMask(map: SweepMap, layer: BinaryLayer): Mask {
  checkMap(map);
  const done = doneCount(map);
  if (done !== map.nx * map.ny) {
    throw new Error(`the map is incomplete (${done} of ${map.nx * map.ny} cells done); wait for the sweep to finish before measuring its ${layer} layer`);
  }
  return { width: map.nx, height: map.ny, data: map[layer] };
}

/** The map with its axes swapped (x becomes y): what a rule along the columns reads as rows. */
export function transposeMap(map: SweepMap): SweepMap {
  const { nx, ny } = map;
  const t = <A extends Uint8Array | Float64Array>(a: A): A => {
    const out = new (a.constructor as new (n: number) => A)(a.length);
    for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) out[ix * ny + iy] = a[iy * nx + ix];
    return out;
  };
  return {
    nx: ny, ny: nx, x: map.y, y: map.x, trainable: t(map.trainable), stable: t(map.stable), score: t(map.score),
    finalLoss: t(map.finalLoss), heldoutLoss: t(map.heldoutLoss), ...(map.oodLoss ? { oodLoss: t(map.oodLoss) } : {}),
    ...(map.done ? { done: t(map.done) } : {}), ranOn: map.ranOn,
  };
}
