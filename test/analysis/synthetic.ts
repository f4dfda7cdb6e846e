/** Synthetic SweepMaps for the analysis tests: outcomes from a function of axis-unit coordinates. */
import { cellCentre, type MapAxis, type SweepMap } from "../../src-main/analysis/map";
import { mulberry32 } from "../../src-main/analysis/stats";

export function axis(param: string, lo: number, hi: number, scale: "log" | "linear" = "log"): MapAxis {
  return { param, scale, range: [lo, hi] };
}

/** A map whose cell (ix, iy) trains iff `trains(x, y)` at its centre; score is -1..-2 for trained
 *  cells and +1..+2 for the rest (varying with x so ranks differ), final loss = 10^x, no held-out. */
export function syntheticMap(
  nx: number,
  ny: number,
  x: MapAxis,
  y: MapAxis,
  trains: (x: number, y: number, ix: number, iy: number) => boolean,
): SweepMap {
  const n = nx * ny;
  const map: SweepMap = {
    nx, ny, x, y,
    trainable: new Uint8Array(n),
    stable: new Uint8Array(n),
    score: new Float64Array(n),
    finalLoss: new Float64Array(n),
    heldoutLoss: new Float64Array(n).fill(NaN),
  };
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const i = iy * nx + ix;
      const u = cellCentre(x, nx, ix);
      const v = cellCentre(y, ny, iy);
      const t = trains(u, v, ix, iy);
      map.trainable[i] = t ? 1 : 0;
      map.stable[i] = t ? 1 : 0;
      map.score[i] = (t ? -1 : 1) * (1 + ix / nx);
      map.finalLoss[i] = t ? 10 ** (-ix / nx) : Infinity;
    }
  }
  return map;
}

/** Deterministic uniform [0, 1) stream (mulberry32). */
export const rng = mulberry32;
