// Grid maths in float64, mirroring spec.py: cell i of N covers [lo + i*w, lo + (i+1)*w], w = (hi - lo)/N, and
// runs at its centre; a log axis is in log10 units. Cells are numbered row-major: index = iy * nx + ix.
// Cell edges are always computed as lo + i*w (never by accumulating w), so a zoom window built from parent
// edges shares those edges bit for bit with its neighbours and the parent.

import { type Axis, GPT_GROUPS, INTEGER_PARAMS, MLP_GROUPS, type Spec, pyRound } from "./spec";

export type Window = { x0: number; x1: number; y0: number; y1: number };

export function cellCount(spec: Spec): number {
  return spec.axes.x.points * spec.axes.y.points;
}

// The grid on one axis, n cells on [lo, hi] in axis units: the one place its edges, centres and cells are computed
// (the analysis maps and the renderer's view use these; spec.py computes the same in the same order).

/** Left edge of cell i of n on [lo, hi] (lo + i*w, never accumulated; i = n gives hi exactly). */
export function gridEdge(lo: number, hi: number, n: number, i: number): number {
  return i === n ? hi : lo + i * ((hi - lo) / n);
}

/** Centre of cell i of n on [lo, hi], as spec.py's axis_centres computes it. */
export function gridCentre(lo: number, hi: number, n: number, i: number): number {
  return lo + (i + 0.5) * ((hi - lo) / n);
}

/**
 * The cell of n on [lo, hi] that holds coordinate u, or -1 outside. Exact with respect to gridEdge: the
 * division's rounding is corrected against the edges themselves, so a point on an edge belongs to the cell
 * to its right however narrow the window.
 */
export function gridCell(lo: number, hi: number, n: number, u: number): number {
  if (!(u >= lo && u < hi)) return -1;
  let i = Math.min(n - 1, Math.max(0, Math.floor((u - lo) / ((hi - lo) / n))));
  while (i > 0 && u < gridEdge(lo, hi, n, i)) i--;
  while (i < n - 1 && u >= gridEdge(lo, hi, n, i + 1)) i++;
  return i;
}

export function cellWidth(axis: Axis): number {
  return (axis.range[1] - axis.range[0]) / axis.points;
}

/** Left edge of cell i (i = points gives the right end of the range exactly). */
export function cellEdge(axis: Axis, i: number): number {
  return gridEdge(axis.range[0], axis.range[1], axis.points, i);
}

/** Centre of cell i in axis units. */
export function cellCentre(axis: Axis, i: number): number {
  return gridCentre(axis.range[0], axis.range[1], axis.points, i);
}

export function axisCentres(axis: Axis): Float64Array {
  const out = new Float64Array(axis.points);
  for (let i = 0; i < axis.points; i++) out[i] = cellCentre(axis, i);
  return out;
}

/** The hyperparameter value at cell i's centre (10**centre for a log axis; integer params rounded half-even). */
export function axisValue(axis: Axis, i: number): number {
  // The agent's axis_value writes the centre as lo + (i + 0.5) * (hi - lo) / n (not cellCentre's order of
  // operations); mirror it, since these are the values the agent trains with.
  const [lo, hi] = axis.range;
  const c = lo + (i + 0.5) * (hi - lo) / axis.points;
  const v = axis.scale === "log" ? 10.0 ** c : c;
  return INTEGER_PARAMS.includes(axis.param) ? pyRound(v) : v;
}

/** The cell containing axis coordinate u (clamped to the grid), the inverse of cellCentre. */
export function cellOf(axis: Axis, u: number): number {
  const i = Math.floor((u - axis.range[0]) / cellWidth(axis));
  return Math.min(axis.points - 1, Math.max(0, i));
}

export function cellXY(spec: Spec, index: number): { ix: number; iy: number } {
  const nx = spec.axes.x.points;
  return { ix: index % nx, iy: Math.floor(index / nx) };
}

/** Every hyperparameter of cell `index` as a flat object, like spec.py's cell_hparams. */
export function cellHparams(spec: Spec, index: number): Record<string, number | null> {
  const { ix, iy } = cellXY(spec, index);
  const groups: readonly string[] = spec.model.family === "mlp" ? MLP_GROUPS : GPT_GROUPS;
  const hp: Record<string, number | null> = {};
  for (const g of groups) hp[`lr.${g}`] = spec.train.lr[g] ?? null;
  hp.warmup = spec.train.warmup;
  hp.weight_decay = spec.train.weight_decay;
  hp.batch_size = spec.train.batch_size;
  if (spec.model.family === "mlp") Object.assign(hp, { init_offset: 0.0, dataset_size: null });
  else Object.assign(hp, { dataset_size: spec.data!.size, tokens: null, lora_rank: spec.model.lora_rank ?? null });
  for (const [axis, i] of [[spec.axes.x, ix], [spec.axes.y, iy]] as const) {
    const v = axisValue(axis, i);
    if (axis.param === "lr") for (const g of groups) hp[`lr.${g}`] = v;
    else hp[axis.param] = v;
  }
  return hp;
}

export function specWindow(spec: Spec): Window {
  return { x0: spec.axes.x.range[0], x1: spec.axes.x.range[1], y0: spec.axes.y.range[0], y1: spec.axes.y.range[1] };
}

/** Is `inner` inside `outer` (edges may coincide)? */
export function windowInside(inner: Window, outer: Window): boolean {
  return inner.x0 >= outer.x0 && inner.x1 <= outer.x1 && inner.y0 >= outer.y0 && inner.y1 <= outer.y1
    && inner.x0 < inner.x1 && inner.y0 < inner.y1;
}

/**
 * Snap a requested window outward to the parent's cell edges, so the child covers whole parent cells and
 * its cell boundaries refine the parent's exactly (when its points are a multiple of the cells it spans).
 */
export function snapToParentCells(parent: Spec, w: Window): Window {
  const { x, y } = parent.axes;
  const snap = (axis: Axis, a: number, b: number): [number, number] => {
    const i0 = cellOf(axis, a);
    let i1 = cellOf(axis, b);
    if (cellEdge(axis, i1) === b && i1 > i0) i1 -= 1; // b on an edge: that cell is outside
    return [cellEdge(axis, i0), cellEdge(axis, i1 + 1)];
  };
  const [x0, x1] = snap(x, w.x0, w.x1);
  const [y0, y1] = snap(y, w.y0, w.y1);
  return { x0, x1, y0, y1 };
}

/** Split the parent's range into kx x ky child windows on its cell edges; together they tile it exactly. */
export function childWindows(parent: Spec, kx: number, ky: number): Window[] {
  const { x, y } = parent.axes;
  if (x.points % kx || y.points % ky) throw new Error(`cannot split ${x.points}x${y.points} cells into ${kx}x${ky} equal windows`);
  const sx = x.points / kx, sy = y.points / ky;
  const out: Window[] = [];
  for (let j = 0; j < ky; j++) {
    for (let i = 0; i < kx; i++) {
      out.push({ x0: cellEdge(x, i * sx), x1: cellEdge(x, (i + 1) * sx), y0: cellEdge(y, j * sy), y1: cellEdge(y, (j + 1) * sy) });
    }
  }
  return out;
}

/**
 * The child spec of a zoom: same settings as the parent, the window and resolution given, parent recorded.
 * Not yet normalised (record.curves is left to validate()); pass it through validate().
 */
export function zoomSpec(parent: Spec, parentId: string, w: Window, points: number): Spec {
  if (!windowInside(w, specWindow(parent))) {
    const p = specWindow(parent);
    throw new Error(`zoom window ${fmtWindow(w)} is not inside the parent's window ${fmtWindow(p)} (axis units; log10 for a log axis)`);
  }
  const child: Spec = structuredClone(parent);
  // Named by how far it zooms and its grid, so two scans of one map read apart ("… / zoom 5× (32×32)").
  const pw = specWindow(parent);
  child.name = `${parent.name} / zoom ${formatMagnification(Math.max((pw.x1 - pw.x0) / (w.x1 - w.x0), (pw.y1 - pw.y0) / (w.y1 - w.y0)))}× (${points}×${points})`;
  child.axes.x.range = [w.x0, w.x1];
  child.axes.y.range = [w.y0, w.y1];
  child.axes.x.points = points;
  child.axes.y.points = points;
  child.parent = { sweep: parentId };
  // record.curves was defaulted from the parent's cell count; let validate() default it from the child's size.
  delete (child as Partial<Spec>).record;
  return child;
}

/** A zoom factor as people say it: 2.5, 5, 12, 125 (two significant figures, no trailing zeros). */
export function formatMagnification(m: number): string {
  return String(Number(m.toPrecision(m < 100 ? 2 : 3)));
}

export function fmtWindow(w: Window): string {
  return `${w.x0},${w.x1},${w.y0},${w.y1}`;
}

/** Smallest relative difference between neighbouring values the trainer's precision can tell apart. */
const PRECISION_EPS: Record<string, number> = { float64: 2 ** -52, float32: 2 ** -23, bf16: 2 ** -7 };

/**
 * Warnings for axes whose neighbouring cells the trainer cannot tell apart: the relative spacing of two
 * neighbouring hyperparameter values is below the precision of the numbers it trains with.
 */
export function resolutionWarnings(spec: Spec): string[] {
  const eps = PRECISION_EPS[spec.train.precision] ?? 2 ** -52;
  const out: string[] = [];
  for (const name of ["x", "y"] as const) {
    const axis = spec.axes[name];
    const w = cellWidth(axis);
    const rel = axis.scale === "log"
      ? Math.abs(Math.expm1(w * Math.LN10))
      : w / Math.max(Math.abs(axis.range[0]), Math.abs(axis.range[1]));
    if (rel < 2 * eps) {
      out.push(`axes.${name}: neighbouring cells differ by ${rel.toExponential(2)} (relative), finer than ${spec.train.precision} `
        + `resolves (${eps.toExponential(2)}); the map will show steps, not structure. Use fewer points or a wider window.`);
    }
  }
  return out;
}

/** Coarse-to-fine cell order, as spec.py's coarse_to_fine (the agent trains in this order). */
export function coarseToFine(nx: number, ny: number): { order: Int32Array; levels: Int32Array } {
  const coordLevels = (n: number): Int32Array => {
    let top = 0;
    while ((2 << top) * 4 <= n) top += 1;
    const level = new Int32Array(n);
    for (let b = 0; b < top; b++) {
      const m = 1 << (top - b);
      for (let i = 0; i < n; i++) if (i % m !== 0) level[i] = b + 1;
    }
    return level;
  };
  const lx = coordLevels(nx), ly = coordLevels(ny);
  const level = new Int32Array(nx * ny);
  for (let iy = 0; iy < ny; iy++) for (let ix = 0; ix < nx; ix++) level[iy * nx + ix] = Math.max(lx[ix], ly[iy]);
  const order = Int32Array.from(level.keys()).sort((a, b) => level[a] - level[b] || a - b);
  return { order, levels: Int32Array.from(order, (i) => level[i]) };
}
