// Two maps compared cell by cell, pure: whether their axes allow one shared view, and per cell of the compared grid
// whether both train, both diverge, or only one does. Two maps on the same grid (window and points) are compared
// cell for cell; otherwise the coarser map (larger cells) is resampled onto the finer one's grid: each fine cell takes
// the outcome of the coarse cell that holds its centre, so a zoom is compared with its parent over the zoom's window.

import type { SweepSummary } from "../src-shared/contract";
import { gridCell, gridCentre, type Window } from "../src-shared/grid";

export interface Grid { window: Window; nx: number; ny: number }

/** A map's trainable layer as the compare view reads it: 1 trainable, 0 diverged, anything else (a sentinel) not done. */
export interface OutcomeMap extends Grid { values: ArrayLike<number> }

/** Per cell of the compared grid. */
export const NOT_COMPARED = 0, BOTH_TRAIN = 1, BOTH_DIVERGE = 2, ONLY_A = 3, ONLY_B = 4;

export interface Difference {
  /** The grid the cells are compared on (the finer map's). */
  grid: Grid;
  /** Which map was resampled onto the other's grid by cell centres; null when both have the same grid. */
  resampled: "a" | "b" | null;
  /** One of NOT_COMPARED, BOTH_TRAIN, BOTH_DIVERGE, ONLY_A, ONLY_B per cell of `grid` (row iy, then ix). */
  classes: Uint8Array;
  counts: { bothTrain: number; bothDiverge: number; onlyA: number; onlyB: number };
  /** Cells of `grid` outside the other map's window, and cells inside it not done in one map or both. */
  outside: number;
  notDone: number;
  /** Cells with an outcome in both maps, those that differ (onlyA + onlyB) and their fraction (null: none compared). */
  compared: number;
  differ: number;
  differFraction: number | null;
  /**
   * The boundary: compared cells in a 2x2 block of compared cells where either map has both outcomes (the sensitivity
   * analysis's rule, on either map), and how many of them differ.
   */
  boundaryCells: number;
  boundaryDiffer: number;
  boundaryFraction: number | null;
}

/** Null when the two sweeps share their axes (parameter and scale on x and on y), else what differs, in words. */
export function axesDiffer(a: Pick<SweepSummary, "xAxis" | "yAxis">, b: Pick<SweepSummary, "xAxis" | "yAxis">): string | null {
  const d = (n: string, p: SweepSummary["xAxis"], q: SweepSummary["xAxis"]) =>
    p.param === q.param && p.scale === q.scale ? null : `${n}: ${p.param} (${p.scale}) vs ${q.param} (${q.scale})`;
  const out = [d("x", a.xAxis, b.xAxis), d("y", a.yAxis, b.yAxis)].filter(Boolean);
  return out.length ? out.join(", ") : null;
}

export function sameWindow(p: Window, q: Window): boolean {
  return p.x0 === q.x0 && p.x1 === q.x1 && p.y0 === q.y0 && p.y1 === q.y1;
}

export function sameGrid(a: Grid, b: Grid): boolean {
  return a.nx === b.nx && a.ny === b.ny && sameWindow(a.window, b.window);
}

/** The part both windows cover, or null when they do not overlap. */
export function overlap(a: Window, b: Window): Window | null {
  const w = { x0: Math.max(a.x0, b.x0), x1: Math.min(a.x1, b.x1), y0: Math.max(a.y0, b.y0), y1: Math.min(a.y1, b.y1) };
  return w.x0 < w.x1 && w.y0 < w.y1 ? w : null;
}

const cellArea = (g: Grid) => ((g.window.x1 - g.window.x0) / g.nx) * ((g.window.y1 - g.window.y0) / g.ny);

/** 1 trainable, 0 diverged, -1 not done (a sentinel or anything else). */
const outcome = (v: number): number => (v === 1 ? 1 : v === 0 ? 0 : -1);

/**
 * The outcomes of map `m` at the cell centres of `g` (row iy, then ix): -1 where a centre lies outside `m`'s window or
 * the cell of `m` that holds it is not done. With `g` equal to `m`'s own grid, `m`'s own outcomes.
 */
export function resample(m: OutcomeMap, g: Grid): Int8Array {
  const out = new Int8Array(g.nx * g.ny).fill(-1);
  const same = sameGrid(m, g);
  const cols = new Int32Array(g.nx);
  for (let ix = 0; ix < g.nx; ix++) cols[ix] = same ? ix : gridCell(m.window.x0, m.window.x1, m.nx, gridCentre(g.window.x0, g.window.x1, g.nx, ix));
  for (let iy = 0; iy < g.ny; iy++) {
    const jy = same ? iy : gridCell(m.window.y0, m.window.y1, m.ny, gridCentre(g.window.y0, g.window.y1, g.ny, iy));
    if (jy < 0) continue;
    for (let ix = 0; ix < g.nx; ix++) {
      if (cols[ix] >= 0) out[iy * g.nx + ix] = outcome(m.values[jy * m.nx + cols[ix]]);
    }
  }
  return out;
}

/** The cells of `g` whose centres lie inside window `w`. */
function inside(g: Grid, w: Window): Uint8Array {
  const out = new Uint8Array(g.nx * g.ny);
  for (let iy = 0; iy < g.ny; iy++) {
    const y = gridCentre(g.window.y0, g.window.y1, g.ny, iy);
    if (!(y >= w.y0 && y < w.y1)) continue;
    for (let ix = 0; ix < g.nx; ix++) {
      const x = gridCentre(g.window.x0, g.window.x1, g.nx, ix);
      if (x >= w.x0 && x < w.x1) out[iy * g.nx + ix] = 1;
    }
  }
  return out;
}

/**
 * Compare map A with map B (their axes must be the same: axesDiffer null). The grid is the one with the smaller cells
 * (A's on a tie); the other map is resampled onto it by cell centres.
 */
export function compareMaps(a: OutcomeMap, b: OutcomeMap): Difference {
  const same = sameGrid(a, b);
  const onA = same || cellArea(a) <= cellArea(b);
  const grid: Grid = { window: { ...(onA ? a : b).window }, nx: (onA ? a : b).nx, ny: (onA ? a : b).ny };
  const oa = resample(a, grid), ob = resample(b, grid);
  const within = inside(grid, (onA ? b : a).window);
  const n = grid.nx * grid.ny;
  const classes = new Uint8Array(n);
  const counts = { bothTrain: 0, bothDiverge: 0, onlyA: 0, onlyB: 0 };
  let outside = 0, notDone = 0;
  for (let i = 0; i < n; i++) {
    if (!within[i]) { outside++; continue; }
    const p = oa[i], q = ob[i];
    if (p < 0 || q < 0) { notDone++; continue; }
    const c = p && q ? BOTH_TRAIN : !p && !q ? BOTH_DIVERGE : p ? ONLY_A : ONLY_B;
    classes[i] = c;
    if (c === BOTH_TRAIN) counts.bothTrain++; else if (c === BOTH_DIVERGE) counts.bothDiverge++; else if (c === ONLY_A) counts.onlyA++; else counts.onlyB++;
  }
  // The boundary: every 2x2 block of compared cells in which A's outcomes or B's are mixed marks its four cells.
  const boundary = new Uint8Array(n);
  const { nx, ny } = grid;
  for (let iy = 0; iy + 1 < ny; iy++) {
    for (let ix = 0; ix + 1 < nx; ix++) {
      const c = [iy * nx + ix, iy * nx + ix + 1, (iy + 1) * nx + ix, (iy + 1) * nx + ix + 1];
      if (c.some((i) => classes[i] === NOT_COMPARED)) continue;
      const sa = c.reduce((s, i) => s + oa[i], 0), sb = c.reduce((s, i) => s + ob[i], 0);
      if ((sa > 0 && sa < 4) || (sb > 0 && sb < 4)) for (const i of c) boundary[i] = 1;
    }
  }
  let boundaryCells = 0, boundaryDiffer = 0;
  for (let i = 0; i < n; i++) {
    if (!boundary[i]) continue;
    boundaryCells++;
    if (classes[i] === ONLY_A || classes[i] === ONLY_B) boundaryDiffer++;
  }
  const compared = counts.bothTrain + counts.bothDiverge + counts.onlyA + counts.onlyB, differ = counts.onlyA + counts.onlyB;
  return {
    grid, resampled: same ? null : onA ? "b" : "a", classes, counts, outside, notDone, compared, differ,
    differFraction: compared ? differ / compared : null, boundaryCells, boundaryDiffer,
    boundaryFraction: boundaryCells ? boundaryDiffer / boundaryCells : null,
  };
}

/** The difference view's colours (RGB) by class: agreement dark, disagreement bright (Okabe-Ito yellow and sky blue). */
export const DIFF_COLOURS: Record<number, [number, number, number]> = {
  [BOTH_TRAIN]: [44, 74, 110], [BOTH_DIVERGE]: [96, 42, 42], [ONLY_A]: [240, 228, 66], [ONLY_B]: [86, 180, 233],
};

/** RGBA pixels of a difference, top row first (the highest iy); cells not compared transparent. */
export function differencePixels(d: Difference): Uint8ClampedArray<ArrayBuffer> {
  const { nx, ny } = d.grid;
  const out = new Uint8ClampedArray(nx * ny * 4);
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const c = d.classes[iy * nx + ix];
      if (c === NOT_COMPARED) continue;
      const o = ((ny - 1 - iy) * nx + ix) * 4, rgb = DIFF_COLOURS[c];
      out[o] = rgb[0]; out[o + 1] = rgb[1]; out[o + 2] = rgb[2]; out[o + 3] = 255;
    }
  }
  return out;
}

/** The compare state in a link: `compare=A,B` (and the shared view in `cview`); null when it names no pair. */
export function parseComparePair(params: URLSearchParams): [string, string] | null {
  const ids = params.get("compare")?.split(",").filter(Boolean);
  return ids && ids.length === 2 && ids[0] !== ids[1] ? [ids[0], ids[1]] : null;
}

/** What a map says at point (x, y) in axis units: its cell and outcome, or null outside its window. */
export function outcomeAt(m: OutcomeMap, x: number, y: number): { ix: number; iy: number; outcome: "trains" | "diverges" | "not done" } | null {
  const ix = gridCell(m.window.x0, m.window.x1, m.nx, x), iy = gridCell(m.window.y0, m.window.y1, m.ny, y);
  if (ix < 0 || iy < 0) return null;
  const o = outcome(m.values[iy * m.nx + ix]);
  return { ix, iy, outcome: o === 1 ? "trains" : o === 0 ? "diverges" : "not done" };
}
