/**
 * Which cells of a map are numerical noise: a map and its companion, the same sweep under a perturbation that should
 * not matter (another seed, float32 instead of float64), compared cell by cell. A cell flips when its outcome differs
 * between the two (both done). The summary that flags a map whose fine structure is noise is the fraction of its
 * boundary cells that flip; the fraction of interior cells that flip says whether the perturbation mattered at all.
 */

import { checkMap, type BinaryLayer, type SweepMap } from "./map.js";

export interface Sensitivity {
  layer: BinaryLayer;
  /** 1 where the outcome differs between the map and its companion (both done), else 0; row-major like the map */
  flips: Uint8Array;
  /** cells of the map on its boundary (in a 2x2 neighbourhood of both outcomes), and how many of them flip */
  boundaryCells: number;
  boundaryFlips: number;
  /** the other done cells, and how many flip */
  interiorCells: number;
  interiorFlips: number;
  /** boundaryFlips / boundaryCells (null without a boundary) */
  boundaryFlipFraction: number | null;
  /** interiorFlips / interiorCells (null when every cell is on the boundary) */
  interiorFlipFraction: number | null;
}

/** Cell by cell, where `companion` disagrees with `map` on `layer`; the boundary is the map's own. */
export function sensitivity(map: SweepMap, companion: SweepMap, layer: BinaryLayer = "trainable"): Sensitivity {
  checkMap(map);
  checkMap(companion);
  const { nx, ny } = map;
  if (companion.nx !== nx || companion.ny !== ny || companion.x.param !== map.x.param || companion.y.param !== map.y.param
      || companion.x.range.some((v, i) => v !== map.x.range[i]) || companion.y.range.some((v, i) => v !== map.y.range[i])) {
    throw new Error(`the companion's grid (${companion.nx}x${companion.ny} over ${companion.x.param} x ${companion.y.param}) is not the map's `
      + `(${nx}x${ny} over ${map.x.param} x ${map.y.param}, same ranges); compare a sweep with its own companion`);
  }
  const a = map[layer], b = companion[layer];
  const done = (i: number) => (!map.done || map.done[i] === 1) && (!companion.done || companion.done[i] === 1);
  const boundary = new Uint8Array(nx * ny);
  for (let y = 0; y < ny - 1; y++) {
    for (let x = 0; x < nx - 1; x++) {
      const c = [y * nx + x, y * nx + x + 1, (y + 1) * nx + x, (y + 1) * nx + x + 1];
      if (!c.every((i) => !map.done || map.done[i] === 1)) continue;
      const s = c.reduce((n, i) => n + (a[i] ? 1 : 0), 0);
      if (s > 0 && s < 4) for (const i of c) boundary[i] = 1;
    }
  }
  const flips = new Uint8Array(nx * ny);
  let boundaryCells = 0, boundaryFlips = 0, interiorCells = 0, interiorFlips = 0;
  for (let i = 0; i < nx * ny; i++) {
    if (!done(i)) continue;
    const f = (a[i] ? 1 : 0) !== (b[i] ? 1 : 0) ? 1 : 0;
    flips[i] = f;
    if (boundary[i]) { boundaryCells++; boundaryFlips += f; } else { interiorCells++; interiorFlips += f; }
  }
  return {
    layer, flips, boundaryCells, boundaryFlips, interiorCells, interiorFlips,
    boundaryFlipFraction: boundaryCells ? boundaryFlips / boundaryCells : null,
    interiorFlipFraction: interiorCells ? interiorFlips / interiorCells : null,
  };
}
