// Table 1 of Sohl-Dickstein, "The boundary of neural network trainability is fractal" (2024): the six
// experiments (table1.ts) as complete sweep specs, and their reproduction over the one launch path (launch.ts): a root
// map, `levels` zooms into its boundary (each window chosen on the boundary automatically), and the
// paper's estimator (the median local slope of box counts over every level: analysis/mask.ts
// sequenceDimension) beside the paper's number. Used by `fractal-llm reproduce`; nothing here prints.

import { cellEdge, type Window } from "./grid";
import { followSweep, prepareSweep, recordSweep, zoomChildSpec } from "./launch";
import { type Spec, validate } from "./spec";
import type { Store, SweepRow } from "./store";
import type { Progress } from "./sweep-runner";
import type { OpenTarget } from "./targets";
import { sweepMap } from "./sweep-maps";
import { layerMask } from "../analysis/map";
import { sequenceDimension } from "../analysis/mask";
import type { Mask } from "../analysis/dimension";
import { DEFAULT_TABLE1_POINTS, TABLE1, TABLE1_NAMES, table1RawSpec } from "./table1";

export { TABLE1_NAMES } from "./table1";

export interface Table1Experiment {
  name: string;
  title: string;
  /** the dimension Table 1 reports */
  paper_dimension: number;
  /** the complete (validated) root sweep spec at the default resolution */
  spec: Spec;
}

export const DEFAULT_POINTS = DEFAULT_TABLE1_POINTS;
export const DEFAULT_LEVELS = 2;
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
}

/** Run one spec to its end on `t` over the launch path (resuming it when the store has it). */
async function runToEnd(store: Store, spec: Spec, t: OpenTarget, name: string, level: number, o: ReproduceOptions): Promise<string> {
  const p = await prepareSweep(store, spec, t.name, false);
  for (const w of p.warnings) o.onNotice?.(`warning: ${w}`);
  const row = await recordSweep(store, p, t);
  o.onStart?.(name, level, row, !!p.existing);
  if (p.existing?.status === "completed") return p.id;
  const r = await followSweep(store, p.id, t, { signal: o.signal, resume: true, onProgress: o.onProgress, onNotice: o.onNotice });
  if (r.status !== "completed") throw new Error(`sweep ${p.id} ${r.status} (${r.done}/${r.total} cells)${r.error ? ": " + r.error : ""}`);
  return p.id;
}

function fractionTrainable(mask: Mask): number {
  let n = 0;
  for (const v of mask.data) n += v ? 1 : 0;
  return n / mask.data.length;
}

/** Reproduce one Table 1 experiment on an opened target: root map, zooms into the boundary, dimension. */
export async function reproduceExperiment(store: Store, name: string, t: OpenTarget, o: ReproduceOptions = {}): Promise<ReproductionResult> {
  const points = o.points ?? DEFAULT_POINTS;
  const levels = o.levels ?? DEFAULT_LEVELS;
  const entry = TABLE1.find((e) => e.name === name);
  if (!entry) throw new Error(`unknown Table 1 experiment ${JSON.stringify(name)}; known: ${TABLE1_NAMES.join(", ")}`);
  const exp = { title: entry.title, paper_dimension: entry.paper, spec: experimentSpec(name, points, o.initOffsetForm) };
  const result: ReproductionResult = {
    name, title: exp.title, paper_dimension: exp.paper_dimension, dimension: null, dimension_least_squares: null, levels: [], error: null,
  };
  let spec = exp.spec;
  let parentCells: CellWindow | undefined;
  for (let level = 0; level <= levels; level++) {
    const id = await runToEnd(store, spec, t, name, level, o);
    const map = sweepMap(store, id);
    const mask = layerMask(map, "trainable");
    let own: number | null = null;
    try {
      own = sequenceDimension([map]).dimension;
    } catch { /* a map without boundary at some box size: no estimate of its own */ }
    result.levels.push({
      level, sweep: id, window: { x0: map.x.range[0], x1: map.x.range[1], y0: map.y.range[0], y1: map.y.range[1] },
      points, trainable_fraction: fractionTrainable(mask), dimension: own, ...(parentCells ? { parent_cells: parentCells } : {}),
    });
    if (level === levels) break;
    const cw = boundaryWindow(mask, o.zoomFraction ?? ZOOM_FRACTION);
    if (!cw) {
      result.error = `level ${level} (sweep ${id}) has no boundary: every cell ${mask.data[0] ? "trains" : "fails"}; widen the range`;
      return result;
    }
    parentCells = cw;
    const parent = store.sweep(id)!;
    spec = validate(zoomChildSpec(parent, cellWindowToAxes(parent.spec, cw), points, t.name));
  }
  try {
    const seq = sequenceDimension(result.levels.map((l) => sweepMap(store, l.sweep)));
    result.dimension = seq.dimension;
    result.dimension_least_squares = seq.pooledLeastSquares;
  } catch (e) {
    result.error = (e as Error).message;
  }
  return result;
}

/** The table beside the paper's numbers, one row per experiment. */
export function formatTable(results: readonly ReproductionResult[]): string {
  const rows = [["experiment", "paper D", "measured D", "difference", "levels", "per-level D", "trainable"]];
  for (const r of results) {
    rows.push([
      r.name, r.paper_dimension.toFixed(2), r.dimension === null ? "-" : r.dimension.toFixed(2),
      r.dimension === null ? (r.error ?? "-") : (r.dimension - r.paper_dimension >= 0 ? "+" : "") + (r.dimension - r.paper_dimension).toFixed(2),
      String(r.levels.length),
      r.levels.map((l) => (l.dimension === null ? "-" : l.dimension.toFixed(2))).join(" / "),
      r.levels.map((l) => `${Math.round(100 * l.trainable_fraction)}%`).join(" / "),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}
