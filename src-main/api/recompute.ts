// recomputeCurve: the loss curve of an MLP cell whose sweep did not record curves. A 512^2 map's curves would be
// ~500 MB (2 kB a cell), but a cell of the paper's MLP trains in milliseconds and is bit for bit the same alone as in
// its population (docs/ARCHITECTURE.md "Determinism"), so the cell a user inspects is re-trained on this computer
// (core/rerun.ts) and its outcome checked against the one the sweep recorded. A difference is explained by where each
// ran (core/numerics.ts): on the same numerics the guarantee says identical, on other numerics a chaotic boundary
// cell may flip, and the check says which of these it is rather than "differs".

import { type BlockDtype, FLOAT32_KEEP_BITS } from "../core/codec";
import { estimateCost } from "../core/cost";
import { type CellRerunner, RerunError } from "../core/rerun";
import { numericsDifferences, type RanOn, ranOn, sameNumerics } from "../core/numerics";
import type { Spec } from "../../src-shared/spec";
import type { Store } from "../core/store";
import { cellFields } from "./cells";
import type { RecomputedCurve } from "../../src-shared/contract";

/** The outcome fields a re-run is checked on, each at the precision the store keeps it in. */
export const CHECKED_FIELDS = ["trainable", "stable", "divergence_step", "final_loss", "first_loss", "score"] as const;

/** The fields that make the outcome (what the map colours); the rest are the numbers it is read from. */
const OUTCOME_FIELDS: readonly string[] = ["trainable", "stable", "divergence_step"];

/** How far (in cells) the check looks for the other outcome around a cell. */
export const BOUNDARY_SEARCH = 32;

/** A re-run is for cells that are cheap to train again: this many seconds at most by the CPU cost model. */
export const MAX_RERUN_SECONDS = 10;

/** The sweep's spec when its cells can be re-run here: an MLP sweep, a cell of its map, cheap by the CPU cost model. */
function checkRerun(store: Store, sweepId: string, cell: number): Spec {
  const s = store.sweep(sweepId);
  if (!s) throw new RerunError(`unknown sweep ${sweepId} in ${store.path}`);
  if (s.spec.model.family !== "mlp") {
    throw new RerunError(`sweep ${sweepId} trains the ${s.spec.model.family} model; only MLP cells are re-run for their curves `
      + "(cheap and bit for bit); record them with the sweep (record.curves)");
  }
  if (!(Number.isInteger(cell) && cell >= 0 && cell < s.cells)) {
    throw new RerunError(`cell must be an integer in 0..${s.cells - 1} for sweep ${sweepId}, got ${JSON.stringify(cell)}`);
  }
  const cost = estimateCost(s.spec, { device: "cpu" });
  const perCell = (cost.seconds ?? 0) / cost.cells;
  if (perCell > MAX_RERUN_SECONDS) {
    throw new RerunError(`a cell of sweep ${sweepId} takes about ${perCell.toFixed(0)} s on a CPU core (more than ${MAX_RERUN_SECONDS} s) `
      + "to re-run for its curve; record curves with such a sweep (record.curves: true)");
  }
  return s.spec;
}

/** Equal at the precision the store keeps the field in: bit for bit in float64, to its rounding in float32. */
export function sameAsStored(recomputed: number, recorded: number, dtype: BlockDtype): boolean {
  if (!Number.isFinite(recomputed) || !Number.isFinite(recorded)) return Object.is(recomputed, recorded) || (Number.isNaN(recomputed) && Number.isNaN(recorded));
  if (dtype !== "f4") return recomputed === recorded;
  // f4: the agent's float64 rounded to float32 and, on large maps (codec.ts), to FLOAT32_KEEP_BITS mantissa bits.
  return Math.abs(recomputed - recorded) <= 2 ** -FLOAT32_KEEP_BITS * Math.abs(recorded);
}

/**
 * Chebyshev distance, in cells, from `cell` to the nearest done cell of the recorded map whose trainable flag differs
 * (1: a neighbour has the other outcome); null when there is none within BOUNDARY_SEARCH.
 */
export function boundaryDistance(trainable: ArrayLike<number>, done: ArrayLike<number>, nx: number, ny: number, cell: number): number | null {
  const cx = cell % nx, cy = (cell - cx) / nx, own = trainable[cell];
  const differs = (x: number, y: number) => x >= 0 && x < nx && y >= 0 && y < ny && done[y * nx + x] && trainable[y * nx + x] !== own;
  for (let r = 1; r <= BOUNDARY_SEARCH; r++) {
    for (let d = -r; d <= r; d++) {  // the ring at distance r: its top and bottom rows, then its left and right columns
      if (differs(cx + d, cy - r) || differs(cx + d, cy + r) || differs(cx - r, cy + d) || differs(cx + r, cy + d)) return r;
    }
  }
  return null;
}

/** The sentence the inspector shows for a check, and whether it is a fault (a difference the guarantee rules out). */
export function verdict(check: RecomputedCurve["check"], differences: string[], here: RanOn | null, recorded: RanOn | null,
  boundary: number | null): { text: string; warn: boolean } {
  if (check === "not-recorded") return { text: "the sweep has no result for this cell yet", warn: false };
  if (check === "identical") return { text: "identical to the recorded outcome (bit for bit at the stored precision)", warn: false };
  const same = sameNumerics(here, recorded);
  const what = differences.join("; ");
  if (same === true) {
    return { text: `differs from the recorded outcome although this computer's numerics are the recording computer's `
      + `(${here!.summary}): ${what}. The determinism guarantee rules this out; please report it`, warn: true };
  }
  const why = same === false
    ? `this computer's numerics differ from the recording computer's (${numericsDifferences(here!, recorded!).join("; ")}): `
      + `here ${here!.summary}; recorded on ${recorded!.summary}`
    : `the recording computer did not note its numerics (${recorded?.summary ?? "no environment recorded"}), `
      + `so whether this computer's (${here?.summary ?? "unknown"}) match is not known`;
  if (check === "last-bits") return { text: `the same outcome, its last bits different (${what}), because ${why}`, warn: false };
  const near = boundary === null ? `no cell within ${BOUNDARY_SEARCH} of it has the other outcome`
    : boundary === 1 ? "a neighbouring cell has the other outcome" : `the nearest cell with the other outcome is ${boundary} cells away`;
  return { text: `a different outcome (${what}): expected for a cell on the chaotic boundary when numerics differ, and ${near}; `
    + `${why}`, warn: boundary === null };
}

/** An inferred cell's check (boundary sampling): the recorded values are a trained neighbour's, so a difference is the
 *  guess's, never a fault of the determinism guarantee. */
function inferredVerdict(check: RecomputedCurve["check"]): { text: string; warn: boolean } {
  const found = check === "identical" ? "its own values equal the copied ones"
    : check === "last-bits" ? "it has the inferred outcome, with numbers of its own"
      : "its outcome is not the inferred one: the guess missed this cell";
  return { text: `inferred, not trained: the recorded values are a trained neighbour's (boundary sampling); trained here, ${found}. `
    + "Fill in trains every inferred cell of the map", warn: false };
}

/** Re-train `cell` of an MLP sweep on `runner` and compare its outcome with the one recorded. */
export async function recomputeCurve(store: Store, sweepId: string, cell: number, runner: CellRerunner, where: string): Promise<RecomputedCurve> {
  const spec = checkRerun(store, sweepId, cell);
  const t0 = performance.now();
  const { tile, env } = await runner.run(spec, cell);
  const seconds = (performance.now() - t0) / 1000;
  const outcome: Record<string, number | null> = {};
  for (const f of CHECKED_FIELDS) {
    const v = tile.fields[f]?.[0];
    outcome[f] = v !== undefined && Number.isFinite(v) ? v : null;
  }
  const stored = cellFields(store, sweepId, cell);
  const dtypes = store.fields(sweepId);
  const differences: string[] = [];
  if (stored.done) {
    for (const f of CHECKED_FIELDS) {
      if (!(f in dtypes) || !(f in tile.fields)) continue;
      const a = tile.fields[f][0], b = stored.fields[f] ?? NaN; // the store reads NaN as null
      if (!sameAsStored(a, b, dtypes[f])) differences.push(`${f}: recomputed ${a}, recorded ${b}`);
    }
  }
  const { step, loss, gradNorm } = tile.curves!;
  const check: RecomputedCurve["check"] = !stored.done ? "not-recorded" : !differences.length ? "identical"
    : differences.some((d) => OUTCOME_FIELDS.includes(d.split(":")[0])) ? "outcome" : "last-bits";
  const here = ranOn(env);
  const recorded = ranOn(store.sweep(sweepId)!.env);
  const boundary = check === "outcome"
    ? boundaryDistance(store.loadField(sweepId, "trainable"), store.loadDone(sweepId), store.sweep(sweepId)!.nx, store.sweep(sweepId)!.ny, cell)
    : null;
  const v = stored.done && stored.fields.inferred === 1 ? inferredVerdict(check) : verdict(check, differences, here, recorded, boundary);
  return {
    sweepId, cell, curve: { step, loss, gradNorm }, outcome, where, seconds, check, differences,
    here: here?.summary ?? null, recorded: recorded?.summary ?? null, sameNumerics: sameNumerics(here, recorded),
    boundaryDistance: boundary, verdict: v.text, warn: v.warn,
  };
}
