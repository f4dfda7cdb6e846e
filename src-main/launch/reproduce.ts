// Table 1 of Sohl-Dickstein, "The boundary of neural network trainability is fractal" (2024): the six
// experiments (table1.ts) as complete sweep specs, and their reproduction over the one launch path (launch.ts): a root
// map, `levels` zooms into its boundary (each window chosen on the boundary automatically), and the
// paper's estimator (the median local slope of box counts over every level: analysis/mask.ts
// sequenceDimension) beside the paper's number. Used by `fractal-llm reproduce`; nothing here prints.

import { cellEdge, type Window } from "../../src-shared/grid";
import { type FollowOptions, followSweep, prepareSweep, recordSweep, zoomChildSpec } from "./launch";
import { type Spec, validate } from "../../src-shared/spec";
import type { Store, SweepRow } from "../core/store";
import type { Progress, RunResult } from "../core/sweep-runner";
import type { OpenTarget } from "./targets";
import { sweepMap } from "../core/sweep-maps";
import { layerMask } from "../analysis/map";
import { sequenceDimension } from "../analysis/mask";
import type { Mask } from "../analysis/dimension";
import { type BoxCount, paperDimension } from "../analysis/paper-dimension";
import { DEFAULT_TABLE1_LEVELS, DEFAULT_TABLE1_POINTS, TABLE1, TABLE1_NAMES, table1RawSpec } from "../../src-shared/table1";

export { MIN_TABLE1_POINTS, TABLE1_NAMES } from "../../src-shared/table1";

export interface Table1Experiment {
  name: string;
  title: string;
  /** the dimension Table 1 reports */
  paper_dimension: number;
  /** the complete (validated) root sweep spec at the default resolution */
  spec: Spec;
}

export const DEFAULT_POINTS = DEFAULT_TABLE1_POINTS;
export const DEFAULT_LEVELS = DEFAULT_TABLE1_LEVELS;
/** A zoom window's side as a fraction of its parent's (the paper zooms by factors of 4 to 8 per keyframe). */
export const ZOOM_FRACTION = 1 / 4;

/** The root spec of one experiment at `points` x `points` cells (validated). */
export function experimentSpec(name: string, points = DEFAULT_POINTS, initOffsetForm?: "once" | "every_step"): Spec {
  const e = TABLE1.find((r) => r.name === name);
  if (!e) throw new Error(`unknown Table 1 experiment ${JSON.stringify(name)}; known: ${TABLE1_NAMES.join(", ")}`);
  const raw = table1RawSpec(e, points) as { name: string; model: Record<string, unknown> };
  if (initOffsetForm && "init_offset_form" in raw.model && raw.model.init_offset_form !== initOffsetForm) {
    raw.model.init_offset_form = initOffsetForm; // DESIGN.md's once-at-initialisation form, to compare with the notebook's
    raw.name += ` (offset ${initOffsetForm})`;
  }
  return validate(raw);
}

export function table1(points = DEFAULT_POINTS): Table1Experiment[] {
  return TABLE1.map((e) => ({ name: e.name, title: e.title, paper_dimension: e.paper, spec: experimentSpec(e.name, points) }));
}

/** A window of a map in cells: columns i0..i0+w-1, rows j0..j0+w-1. */
export interface CellWindow { i0: number; j0: number; w: number; h: number; edgeCells: number }

/**
 * The zoom window of `fraction` of the map's side that holds the most boundary: the most edge cells (2x2
 * neighbourhoods whose outcomes differ), so it lies on the boundary and is as mixed as any window of its
 * size. Null when the map has no boundary at all.
 */
export function boundaryWindow(mask: Mask, fraction = ZOOM_FRACTION): CellWindow | null {
  const { width: nx, height: ny, data } = mask;
  const w = Math.max(2, Math.round(nx * fraction));
  const h = Math.max(2, Math.round(ny * fraction));
  // edge[y][x] = 1 when cells (x..x+1, y..y+1) are mixed; summed-area table over it
  const ex = nx - 1, ey = ny - 1;
  const sat = new Float64Array((ey + 1) * (ex + 1));
  for (let y = 0; y < ey; y++) {
    let row = 0;
    for (let x = 0; x < ex; x++) {
      const s = data[y * nx + x] + data[y * nx + x + 1] + data[(y + 1) * nx + x] + data[(y + 1) * nx + x + 1];
      row += s > 0 && s < 4 ? 1 : 0;
      sat[(y + 1) * (ex + 1) + x + 1] = sat[y * (ex + 1) + x + 1] + row;
    }
  }
  const count = (x0: number, y0: number, x1: number, y1: number) => // edge cells in [x0, x1) x [y0, y1)
    sat[y1 * (ex + 1) + x1] - sat[y0 * (ex + 1) + x1] - sat[y1 * (ex + 1) + x0] + sat[y0 * (ex + 1) + x0];
  let best: CellWindow | null = null;
  const cx = (nx - w) / 2, cy = (ny - h) / 2;
  for (let j0 = 0; j0 + h <= ny; j0++) {
    for (let i0 = 0; i0 + w <= nx; i0++) {
      const n = count(i0, j0, i0 + w - 1, j0 + h - 1); // edge cells wholly inside the window's cells
      if (n === 0) continue;
      // ties: the window nearer the map's centre (deterministic, and away from the range's edges)
      const better = !best || n > best.edgeCells
        || (n === best.edgeCells && (i0 - cx) ** 2 + (j0 - cy) ** 2 < (best.i0 - cx) ** 2 + (best.j0 - cy) ** 2);
      if (better) best = { i0, j0, w, h, edgeCells: n };
    }
  }
  return best;
}

/** The axis-unit window of a cell window of `spec` (on the parent's cell edges, so zooms tile exactly). */
export function cellWindowToAxes(spec: Spec, c: CellWindow): Window {
  const { x, y } = spec.axes;
  return { x0: cellEdge(x, c.i0), x1: cellEdge(x, c.i0 + c.w), y0: cellEdge(y, c.j0), y1: cellEdge(y, c.j0 + c.h) };
}

export interface ReproductionLevel {
  level: number;
  sweep: string;
  window: Window;
  points: number;
  trainable_fraction: number;
  /** this level's own estimate (median local slope), null when it cannot be measured */
  dimension: number | null;
  /** the parent-map cells this window covers (levels > 0), for checking it lies on the boundary */
  parent_cells?: CellWindow;
}

export interface ReproductionResult {
  name: string;
  title: string;
  paper_dimension: number;
  /** the paper's estimator over every level (median of all local slopes); null with `error` */
  dimension: number | null;
  /** cross-check: common-slope least squares over the levels */
  dimension_least_squares: number | null;
  levels: ReproductionLevel[];
  error: string | null;
}

export interface ReproduceOptions {
  points?: number;
  levels?: number;
  zoomFraction?: number;
  /** the init-offset experiment's form (default the notebook's every_step) */
  initOffsetForm?: "once" | "every_step";
  signal?: AbortSignal;
  onStart?: (name: string, level: number, sweep: SweepRow, resumed: boolean) => void;
  onProgress?: (p: Progress) => void;
  onNotice?: (message: string) => void;
  /** Follows one level's sweep to its end (default launch.ts followSweep): the app's service passes its own, so
   *  the sweep is followed once even when the service was already following it (a restart re-attached it). */
  follow?: (id: string, t: OpenTarget, o: FollowOptions) => Promise<RunResult>;
}

/** Run one spec to its end on `t` over the launch path (resuming it when the store has it). */
export async function runToEnd(store: Store, spec: Spec, t: OpenTarget, name: string, level: number, o: ReproduceOptions): Promise<string> {
  const p = await prepareSweep(store, spec, t.name, false);
  for (const w of p.warnings) o.onNotice?.(`warning: ${w}`);
  const row = await recordSweep(store, p, t);
  o.onStart?.(name, level, row, !!p.existing);
  if (p.existing?.status === "completed") return p.id;
  const follow = o.follow ?? ((id, target, fo) => followSweep(store, id, target, fo));
  const r = await follow(p.id, t, { signal: o.signal, resume: true, onProgress: o.onProgress, onNotice: o.onNotice });
  if (r.status !== "completed") throw new Error(`sweep ${p.id} ${r.status} (${r.done}/${r.total} cells)${r.error ? ": " + r.error : ""}`);
  return p.id;
}

function fractionTrainable(mask: Mask): number {
  let n = 0;
  for (const v of mask.data) n += v ? 1 : 0;
  return n / mask.data.length;
}

/** The experiment's Table 1 entry, or an error naming the known ones. */
function entryOf(name: string) {
  const entry = TABLE1.find((e) => e.name === name);
  if (!entry) throw new Error(`unknown Table 1 experiment ${JSON.stringify(name)}; known: ${TABLE1_NAMES.join(", ")}`);
  return entry;
}

function emptyResult(name: string): ReproductionResult {
  const e = entryOf(name);
  return { name, title: e.title, paper_dimension: e.paper, dimension: null, dimension_least_squares: null, levels: [], error: null };
}

/** A completed level measured from the store: its report, and its trainable mask (what the next zoom is chosen on). */
function measureLevel(store: Store, id: string, level: number, parentCells: CellWindow | undefined): { report: ReproductionLevel; mask: Mask } {
  const map = sweepMap(store, id);
  const mask = layerMask(map, "trainable");
  let own: number | null = null;
  try {
    own = sequenceDimension([map]).dimension;
  } catch { /* a map without boundary at some box size: no estimate of its own */ }
  const report: ReproductionLevel = {
    level, sweep: id, window: { x0: map.x.range[0], x1: map.x.range[1], y0: map.y.range[0], y1: map.y.range[1] },
    points: map.nx, trainable_fraction: fractionTrainable(mask), dimension: own, ...(parentCells ? { parent_cells: parentCells } : {}),
  };
  return { report, mask };
}

/** The next level: a zoom of `points` a side into the boundary of completed sweep `id`; null when its map has none. */
function boundaryZoom(store: Store, id: string, mask: Mask, points: number, target: string, fraction: number): { cells: CellWindow; spec: Spec } | null {
  const cells = boundaryWindow(mask, fraction);
  if (!cells) return null;
  const parent = store.sweep(id)!;
  return { cells, spec: validate(zoomChildSpec(parent, cellWindowToAxes(parent.spec, cells), points, target)) };
}

/** The paper's estimator over every level of `r` (median of all local slopes), or the reason it has none. */
function pool(store: Store, r: ReproductionResult): void {
  if (!r.levels.length) return;
  try {
    const seq = sequenceDimension(r.levels.map((l) => sweepMap(store, l.sweep)));
    r.dimension = seq.dimension;
    r.dimension_least_squares = seq.pooledLeastSquares;
  } catch (e) {
    r.error = (e as Error).message;
  }
}

/** Reproduce one Table 1 experiment on an opened target: root map, zooms into the boundary, dimension. */
export async function reproduceExperiment(store: Store, name: string, t: OpenTarget, o: ReproduceOptions = {}): Promise<ReproductionResult> {
  const points = o.points ?? DEFAULT_POINTS;
  const levels = o.levels ?? DEFAULT_LEVELS;
  const result = emptyResult(name);
  let spec = experimentSpec(name, points, o.initOffsetForm);
  let parentCells: CellWindow | undefined;
  for (let level = 0; level <= levels; level++) {
    const id = await runToEnd(store, spec, t, name, level, o);
    const { report, mask } = measureLevel(store, id, level, parentCells);
    result.levels.push(report);
    if (level === levels) break;
    const next = boundaryZoom(store, id, mask, points, t.name, o.zoomFraction ?? ZOOM_FRACTION);
    if (!next) {
      result.error = `level ${level} (sweep ${id}) has no boundary: every cell ${mask.data[0] ? "trains" : "fails"}; widen the range`;
      return result;
    }
    parentCells = next.cells;
    spec = next.spec;
  }
  pool(store, result);
  return result;
}

// ----------------------------------------------------------------------------- the paper's method

/** One keyframe of the paper's method: a concentric window, its sweep and its box counts. */
export interface PaperKeyframe { k: number; sweep: string; window: Window; points: number; trainable_fraction: number; boxes: BoxCount }

export interface PaperReproduction {
  name: string;
  title: string;
  paper_dimension: number;
  method: "paper";
  points: number;
  /** the median of every local slope of every keyframe (analysis/paper-dimension.ts); null with `error` */
  dimension: number | null;
  /** its 95% bootstrap interval over keyframes and box sizes */
  ci: [number, number] | null;
  /** where the keyframes are centred: a point on the root map's boundary (keyframeCentre) */
  centre: { x: number; y: number } | null;
  keyframes: PaperKeyframe[];
  error: string | null;
}

export const DEFAULT_KEYFRAMES = 4;

/**
 * The paper's keyframes: `count` concentric windows about `centre`, the first as wide as `outer`, each next one half
 * the side of the one before (the notebook zooms out by 2x from a deep window; these are the same frames, outermost
 * first).
 */
export function paperKeyframes(centre: { x: number; y: number }, outer: Window, count: number): Window[] {
  const w = outer.x1 - outer.x0, h = outer.y1 - outer.y0;
  return Array.from({ length: count }, (_, k) => {
    const f = 2 ** -k / 2;
    return { x0: centre.x - w * f, x1: centre.x + w * f, y0: centre.y - h * f, y1: centre.y + h * f };
  });
}

/**
 * The rule that picks the deep window's centre, since the paper's own windows live only in its data files: the
 * root map's window of a quarter of its side with the most boundary (boundaryWindow), and in it the edge cell (a 2x2
 * neighbourhood of both outcomes) nearest its centre; the centre is that neighbourhood's shared corner, a point
 * on the boundary as finely as the root map resolves it. Null when the map has no boundary.
 */
export function keyframeCentre(spec: Spec, mask: Mask): { x: number; y: number } | null {
  const win = boundaryWindow(mask);
  if (!win) return null;
  const { width: nx, data } = mask;
  const cx = win.i0 + win.w / 2, cy = win.j0 + win.h / 2;
  let best: [number, number] | null = null;
  for (let y = win.j0; y < win.j0 + win.h - 1; y++) {
    for (let x = win.i0; x < win.i0 + win.w - 1; x++) {
      const s = data[y * nx + x] + data[y * nx + x + 1] + data[(y + 1) * nx + x] + data[(y + 1) * nx + x + 1];
      if (s === 0 || s === 4) continue;
      if (!best || (x + 1 - cx) ** 2 + (y + 1 - cy) ** 2 < (best[0] - cx) ** 2 + (best[1] - cy) ** 2) best = [x + 1, y + 1];
    }
  }
  return best && { x: cellEdge(spec.axes.x, best[0]), y: cellEdge(spec.axes.y, best[1]) };
}

/** One keyframe's spec: the experiment at `points` over `w` (a root sweep of its own, not a zoom of another). */
export function keyframeSpec(name: string, points: number, w: Window, k: number, form?: "once" | "every_step"): Spec {
  const raw = JSON.parse(JSON.stringify(experimentSpec(name, points, form))) as Spec;
  raw.axes.x.range = [w.x0, w.x1];
  raw.axes.y.range = [w.y0, w.y1];
  raw.name += ` keyframe ${k}`;
  return validate(raw);
}

/**
 * Reproduce one Table 1 experiment the paper's way: the root map (the same sweep as the project's method), a point on
 * its boundary, `keyframes` concentric windows about it 2x apart (the outermost as wide as the root), each a map of
 * `points` a side, and D the median of every local slope of every keyframe with a bootstrap interval.
 */
export async function reproducePaper(store: Store, name: string, t: OpenTarget,
  o: ReproduceOptions & { keyframes?: number } = {}): Promise<PaperReproduction> {
  const points = o.points ?? DEFAULT_POINTS;
  const count = o.keyframes ?? DEFAULT_KEYFRAMES;
  const e = entryOf(name);
  const result: PaperReproduction = { name, title: e.title, paper_dimension: e.paper, method: "paper", points,
    dimension: null, ci: null, centre: null, keyframes: [], error: null };
  const root = experimentSpec(name, points, o.initOffsetForm);
  const rootId = await runToEnd(store, root, t, name, 0, o);
  result.centre = keyframeCentre(root, layerMask(sweepMap(store, rootId), "trainable"));
  if (!result.centre) {
    result.error = `the root map (sweep ${rootId}) has no boundary; widen the range`;
    return result;
  }
  const windows = paperKeyframes(result.centre, { x0: root.axes.x.range[0], x1: root.axes.x.range[1], y0: root.axes.y.range[0], y1: root.axes.y.range[1] }, count);
  const masks: Mask[] = [];
  for (const [k, w] of windows.entries()) {
    const id = await runToEnd(store, keyframeSpec(name, points, w, k, o.initOffsetForm), t, name, k + 1, o);
    const mask = layerMask(sweepMap(store, id), "trainable");
    masks.push(mask);
    result.keyframes.push({ k, sweep: id, window: w, points, trainable_fraction: fractionTrainable(mask), boxes: { sizes: [], counts: [], slopes: [] } });
  }
  measureKeyframes(result, masks);
  return result;
}

/** The paper's estimator over the keyframes' masks into `result` (its D, interval and each keyframe's boxes), or why not. */
function measureKeyframes(result: PaperReproduction, masks: Mask[]): void {
  try {
    const d = paperDimension(masks);
    result.dimension = d.dimension;
    result.ci = d.ci;
    d.keyframes.forEach((b, k) => { result.keyframes[k].boxes = b; });
  } catch (err) {
    result.error = (err as Error).message;
  }
}

/** A paper-method reproduction as far as the store holds it (storedPaperReproduction). */
export interface StoredPaperReproduction {
  /** the root map (it picks the centre; the estimate does not include it) */
  root: SweepRow;
  /** the completed keyframes, measured, and the paper's estimator over them */
  result: PaperReproduction;
  /** the first map recorded but not completed (level 0: the root, k + 1: keyframe k), null when every one is */
  pending: { level: number; sweep: SweepRow; window: Window } | null;
}

/** Keyframes read back at most (the paper's deepest zooms have about 50). */
const MAX_STORED_KEYFRAMES = 64;

/**
 * The paper's method read back from the store without running anything: the root map of `name` at `points`, the
 * centre it picks, then each keyframe the store holds (keyframe k's window depends on k alone, not on how many were
 * asked for, and its sweep id is its spec's hash), so a run of the app or of `fractal-llm reproduce --method paper`
 * is found again after a restart. Null when the store lacks the root.
 */
export async function storedPaperReproduction(store: Store, name: string, target: string,
  o: { points?: number; initOffsetForm?: "once" | "every_step" } = {}): Promise<StoredPaperReproduction | null> {
  const points = o.points ?? DEFAULT_POINTS;
  const e = entryOf(name);
  const result: PaperReproduction = { name, title: e.title, paper_dimension: e.paper, method: "paper", points,
    dimension: null, ci: null, centre: null, keyframes: [], error: null };
  const root = experimentSpec(name, points, o.initOffsetForm);
  const rootRow = store.sweep((await prepareSweep(store, root, target, false)).id);
  if (!rootRow) return null;
  const outer = { x0: root.axes.x.range[0], x1: root.axes.x.range[1], y0: root.axes.y.range[0], y1: root.axes.y.range[1] };
  if (rootRow.status !== "completed") return { root: rootRow, result, pending: { level: 0, sweep: rootRow, window: outer } };
  result.centre = keyframeCentre(root, layerMask(sweepMap(store, rootRow.id), "trainable"));
  if (!result.centre) {
    result.error = `the root map (sweep ${rootRow.id}) has no boundary; widen the range`;
    return { root: rootRow, result, pending: null };
  }
  const windows = paperKeyframes(result.centre, outer, MAX_STORED_KEYFRAMES);
  const masks: Mask[] = [];
  let pending: StoredPaperReproduction["pending"] = null;
  for (const [k, w] of windows.entries()) {
    const row = store.sweep((await prepareSweep(store, keyframeSpec(name, points, w, k, o.initOffsetForm), target, false)).id);
    if (!row) break;
    if (row.status !== "completed") { pending = { level: k + 1, sweep: row, window: w }; break; }
    const mask = layerMask(sweepMap(store, row.id), "trainable");
    masks.push(mask);
    result.keyframes.push({ k, sweep: row.id, window: w, points, trainable_fraction: fractionTrainable(mask), boxes: { sizes: [], counts: [], slopes: [] } });
  }
  if (masks.length) measureKeyframes(result, masks);
  return { root: rootRow, result, pending };
}

/** The paper-method table beside the paper's numbers. */
export function formatPaperTable(results: readonly PaperReproduction[]): string {
  const rows = [["experiment", "paper D", "measured D", "95% CI", "difference", "keyframes", "trainable"]];
  for (const r of results) {
    rows.push([
      r.name, r.paper_dimension.toFixed(2), r.dimension === null ? "-" : r.dimension.toFixed(2),
      r.ci ? `${r.ci[0].toFixed(2)}..${r.ci[1].toFixed(2)}` : "-",
      differenceText(r),
      String(r.keyframes.length), r.keyframes.map((k) => `${Math.round(100 * k.trainable_fraction)}%`).join(" / "),
    ]);
  }
  return columns(rows);
}

/** A reproduction as far as the store holds it (storedReproduction). */
export interface StoredReproduction {
  /** the completed levels, measured, and the paper's estimator over them */
  result: ReproductionResult;
  /** the first level recorded but not completed (its map cannot be measured yet), null when every level is */
  pending: { level: number; sweep: SweepRow; parent_cells?: CellWindow } | null;
}

/**
 * A reproduction read back from the store, without running anything: the root map of `name` at `points` on
 * `target`, then each zoom into its boundary the store holds. A reproduction's sweep ids are the launch path's
 * spec hashes and each zoom's window follows from its parent's map, so the chain is found again after a restart,
 * whether the app or `fractal-llm reproduce` ran it, and it holds every level any run of it made. Null when the
 * store lacks the root.
 */
export async function storedReproduction(store: Store, name: string, target: string,
  o: { points?: number; initOffsetForm?: "once" | "every_step"; zoomFraction?: number } = {}): Promise<StoredReproduction | null> {
  const points = o.points ?? DEFAULT_POINTS;
  const result = emptyResult(name);
  let row = store.sweep((await prepareSweep(store, experimentSpec(name, points, o.initOffsetForm), target, false)).id);
  if (!row) return null;
  let parentCells: CellWindow | undefined;
  for (let level = 0; ; level++) {
    if (row.status !== "completed") {
      pool(store, result);
      return { result, pending: { level, sweep: row, ...(parentCells ? { parent_cells: parentCells } : {}) } };
    }
    const { report, mask } = measureLevel(store, row.id, level, parentCells);
    result.levels.push(report);
    const next = boundaryZoom(store, row.id, mask, points, target, o.zoomFraction ?? ZOOM_FRACTION);
    const child = next && store.sweep((await prepareSweep(store, next.spec, target, false)).id);
    if (!next || !child) break;
    row = child;
    parentCells = next.cells;
  }
  pool(store, result);
  return { result, pending: null };
}

/** A reproduction's root in the store: which experiment, at what resolution, where, and in which init-offset form. */
export interface ReproductionRoot { name: string; points: number; target: string; initOffsetForm: "once" | "every_step" | null; rootId: string }

/** Every Table 1 reproduction root the store holds: top-level sweeps whose id is an experiment's spec hash. */
export async function findReproductions(store: Store): Promise<ReproductionRoot[]> {
  const out: ReproductionRoot[] = [];
  const titles = new Set(TABLE1.map((e) => `Table 1: ${e.title}`));
  for (const row of store.sweeps()) {
    if (row.parent_id || row.nx !== row.ny || row.spec.model.family !== "mlp") continue;
    if (![...titles].some((t) => row.spec.name.startsWith(t))) continue; // cheap filter before hashing specs
    for (const e of TABLE1) {
      const forms = "init_offset_form" in e.model ? (["every_step", "once"] as const) : [null];
      for (const form of forms) {
        const p = await prepareSweep(store, experimentSpec(e.name, row.nx, form ?? undefined), row.target, false);
        if (p.id === row.id) out.push({ name: e.name, points: row.nx, target: row.target, initOffsetForm: form, rootId: row.id });
      }
    }
  }
  return out;
}

/** The table beside the paper's numbers, one row per experiment. */
export function formatTable(results: readonly ReproductionResult[]): string {
  const rows = [["experiment", "paper D", "measured D", "difference", "levels", "per-level D", "trainable"]];
  for (const r of results) {
    rows.push([
      r.name, r.paper_dimension.toFixed(2), r.dimension === null ? "-" : r.dimension.toFixed(2),
      differenceText(r),
      String(r.levels.length),
      r.levels.map((l) => (l.dimension === null ? "-" : l.dimension.toFixed(2))).join(" / "),
      r.levels.map((l) => `${Math.round(100 * l.trainable_fraction)}%`).join(" / "),
    ]);
  }
  return columns(rows);
}

/** Rows as aligned, space-separated columns. */
function columns(rows: readonly string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/** Measured minus the paper's D, signed, or why there is no measurement. */
function differenceText(r: { dimension: number | null; paper_dimension: number; error: string | null }): string {
  if (r.dimension === null) return r.error ?? "-";
  const d = r.dimension - r.paper_dimension;
  return (d >= 0 ? "+" : "") + d.toFixed(2);
}
