/**
 * Rules of thumb read off a map: per y value (e.g. dataset size) the largest x (e.g. LR) that still
 * trains and the x with the best loss, and a power law max_x ∝ y^b fitted through the edge.
 */
import { valueAt, cellCentre, checkMap, transposeMap, type BinaryLayer, type MapAxis, type SweepMap } from "./map.js";
import { linearFit, studentTQuantile } from "./stats.js";
import type { PowerLaw } from "../../src-shared/contract";

export interface RowRule {
  iy: number;
  /** Row centre in axis units and as a hyperparameter value. */
  y: number;
  yValue: number;
  /** Largest x such that every cell at or below it trains (null when the first cell fails). */
  edgeContiguous: RowPoint | null;
  /** Largest x that trains at all, islands included (null when nothing in the row trains). */
  edgeAny: RowPoint | null;
  /** True when the whole row trains: the edge lies beyond the swept range (a lower bound only). */
  censored: boolean;
  /** True when every cell of the row is done: only such rows say where the edge is. */
  complete: boolean;
  /** Lowest final / held-out loss among the row's trainable cells (null when none / no held-out set). */
  bestFinal: RowPoint | null;
  bestHeldout: RowPoint | null;
}

export interface RowPoint {
  ix: number;
  /** Cell centre in axis units and as a hyperparameter value. */
  x: number;
  xValue: number;
  /** The loss there, for bestFinal / bestHeldout. */
  loss?: number;
}

/** Edge of stability and best loss for every row. Cells not yet done count as not training. */
export function rowRules(map: SweepMap, layer: BinaryLayer = "trainable"): RowRule[] {
  checkMap(map);
  const { nx, ny } = map;
  const ok = (i: number) => map[layer][i] === 1 && (!map.done || map.done[i] === 1);
  const point = (ix: number, loss?: number): RowPoint => {
    const x = cellCentre(map.x, nx, ix);
    return loss === undefined ? { ix, x, xValue: valueAt(map.x, x) } : { ix, x, xValue: valueAt(map.x, x), loss };
  };
  const best = (losses: Float64Array, row: number): RowPoint | null => {
    let bi = -1;
    for (let ix = 0; ix < nx; ix++) {
      const i = row * nx + ix;
      if (ok(i) && Number.isFinite(losses[i]) && (bi < 0 || losses[i] < losses[row * nx + bi])) bi = ix;
    }
    return bi < 0 ? null : point(bi, losses[row * nx + bi]);
  };
  const rows: RowRule[] = [];
  for (let iy = 0; iy < ny; iy++) {
    let contiguous = -1;
    while (contiguous + 1 < nx && ok(iy * nx + contiguous + 1)) contiguous++;
    let any = -1;
    for (let ix = nx - 1; ix >= 0 && any < 0; ix--) if (ok(iy * nx + ix)) any = ix;
    const y = cellCentre(map.y, ny, iy);
    let complete = true;
    if (map.done) for (let ix = 0; ix < nx && complete; ix++) complete = map.done[iy * nx + ix] === 1;
    rows.push({
      iy,
      y,
      yValue: valueAt(map.y, y),
      edgeContiguous: contiguous < 0 ? null : point(contiguous),
      edgeAny: any < 0 ? null : point(any),
      censored: contiguous === nx - 1,
      complete,
      bestFinal: best(map.finalLoss, iy),
      bestHeldout: best(map.heldoutLoss, iy),
    });
  }
  return rows;
}

function log10Value(axis: MapAxis, u: number, what: string): number {
  if (axis.scale === "log") return u;
  if (!(u > 0)) throw new Error(`a power law needs positive ${axis.param} values, but ${what} is at ${axis.param} = ${u}; sweep a positive range or use a log axis`);
  return Math.log10(u);
}

function toAxisUnits(axis: MapAxis, log10v: number): number {
  return axis.scale === "log" ? log10v : 10 ** log10v;
}

/** The fraction of a map's rows that are done and cross the boundary (their edge lies inside the x range). */
function crossings(map: SweepMap, layer: BinaryLayer, edge: "contiguous" | "any"): number {
  const rows = rowRules(map, layer);
  return rows.filter((r) => r.complete && !r.censored && (edge === "contiguous" ? r.edgeContiguous : r.edgeAny)).length / rows.length;
}

/**
 * Least-squares power law through the edge (log-log) with a 95% CI for the exponent: per row, the largest x that
 * trains, as a function of y (`along: "rows"`); or per column the largest y as a function of x (`"columns"`). The
 * default picks the orientation the boundary crosses: the one where more of the lines are done and have their edge
 * inside the range (a fraction, so the grid's aspect does not decide),
 * so a nearly horizontal boundary is read as max y(x), not as a steep max x(y). Only lines whose cells are all done
 * count; lines with no edge or a censored one (the whole line trains) are left out.
 */
export function fitEdgePowerLaw(
  map: SweepMap,
  options: { layer?: BinaryLayer; edge?: "contiguous" | "any"; curvePoints?: number; along?: "auto" | "rows" | "columns"; minLines?: number } = {},
): PowerLaw {
  const { layer = "trainable", edge = "contiguous", curvePoints = 64, minLines = 3 } = options;
  const along = options.along === "rows" || options.along === "columns" ? options.along
    : crossings(transposeMap(map), layer, edge) > crossings(map, layer, edge) ? "columns" : "rows";
  const m = along === "columns" ? transposeMap(map) : map;
  const lines = along === "columns" ? "columns" : "rows";
  const rows = rowRules(m, layer);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const r of rows) {
    const p = edge === "contiguous" ? r.edgeContiguous : r.edgeAny;
    if (!r.complete || !p || r.censored) continue;
    xs.push(log10Value(m.y, r.y, `${lines.slice(0, -1)} ${r.iy}`));
    ys.push(log10Value(m.x, p.x, `the edge of ${lines.slice(0, -1)} ${r.iy}`));
  }
  if (xs.length < minLines) {
    const done = rows.filter((r) => r.complete).length;
    throw new Error(`too few ${lines}: ${xs.length} of ${rows.length} ${lines} are done and cross the ${layer} boundary inside the range `
      + `(${done} done; need ${minLines} for a power law with a confidence interval)`
      + (done < rows.length ? "; wait for the sweep to finish" : `; widen the ${m.x.param} range so each ${lines.slice(0, -1)} crosses from training to not`));
  }
  const fit = linearFit(xs, ys);
  const [lo, hi] = m.y.range;
  const curve: [number, number][] = [];
  for (let k = 0; k < curvePoints; k++) {
    const yu = lo + ((hi - lo) * k) / (curvePoints - 1);
    if (m.y.scale === "linear" && yu <= 0) continue;
    const lx = fit.intercept + fit.slope * log10Value(m.y, yu, "the curve");
    const xu = toAxisUnits(m.x, lx);
    curve.push(along === "columns" ? [yu, xu] : [xu, yu]); // always [map x, map y] to draw over the map
  }
  return {
    exponent: fit.slope,
    intercept: fit.intercept,
    exponentCI: fit.slopeCI,
    exponentStdErr: fit.slopeStdErr,
    r2: fit.r2,
    n: fit.n,
    excluded: rows.length - fit.n,
    edge,
    along,
    xParam: m.x.param,
    yParam: m.y.param,
    curve,
  };
}

export interface PowerLawComparison {
  fits: { label: string; law: PowerLaw }[];
  /** Each sweep's exponent minus the first's, with a 95% Welch interval. */
  differences: { label: string; reference: string; difference: number; ci: [number, number]; significant: boolean }[];
}

/** Fit the same power law on sweeps of different models (same two params) and compare exponents. */
export function comparePowerLaws(
  sweeps: readonly { label: string; map: SweepMap }[],
  options: { layer?: BinaryLayer; edge?: "contiguous" | "any"; along?: "auto" | "rows" | "columns" } = {},
): PowerLawComparison {
  if (sweeps.length === 0) throw new Error("nothing to compare: pass at least one sweep");
  const ref = sweeps[0];
  for (const s of sweeps) {
    if (s.map.x.param !== ref.map.x.param || s.map.y.param !== ref.map.y.param) {
      throw new Error(`sweep ${s.label} sweeps ${s.map.x.param} x ${s.map.y.param} but ${ref.label} sweeps ${ref.map.x.param} x ${ref.map.y.param}; compare sweeps of the same two params`);
    }
  }
  // One orientation for all: the first sweep's (exponents of max x(y) and max y(x) are not comparable).
  const first = fitEdgePowerLaw(ref.map, options);
  const fits = sweeps.map((s, i) => ({ label: s.label, law: i === 0 ? first : fitEdgePowerLaw(s.map, { ...options, along: first.along }) }));
  const r = fits[0].law;
  const differences = fits.slice(1).map(({ label, law }) => {
    const va = law.exponentStdErr ** 2;
    const vb = r.exponentStdErr ** 2;
    const se = Math.sqrt(va + vb);
    // Welch–Satterthwaite degrees of freedom (each fit has n-2).
    const df = se === 0 ? Infinity : (va + vb) ** 2 / (va ** 2 / (law.n - 2) + vb ** 2 / (r.n - 2));
    const t = Number.isFinite(df) ? studentTQuantile(0.975, df) : 1.959963984540054;
    const difference = law.exponent - r.exponent;
    const ci: [number, number] = [difference - t * se, difference + t * se];
    return { label, reference: fits[0].label, difference, ci, significant: ci[0] > 0 || ci[1] < 0 };
  });
  return { fits, differences };
}
