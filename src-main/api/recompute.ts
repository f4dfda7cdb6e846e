// recomputeCurve: the loss curve of an MLP cell whose sweep did not record curves. A 512^2 map's curves would be
// ~500 MB (2 kB a cell), but a cell of the paper's MLP trains in milliseconds and is bit for bit the same alone as in
// its population (docs/ARCHITECTURE.md "Determinism"), so the cell a user inspects is re-trained on this computer
// (core/rerun.ts) and its outcome checked against the one the sweep recorded.

import { type BlockDtype, FLOAT32_KEEP_BITS } from "../core/codec";
import { estimateCost } from "../core/cost";
import { type CellRerunner, RerunError } from "../core/rerun";
import type { Spec } from "../core/spec";
import type { Store } from "../core/store";
import { cellFields } from "./cells";
import type { RecomputedCurve } from "./contract";

/** The outcome fields a re-run is checked on, each at the precision the store keeps it in. */
export const CHECKED_FIELDS = ["trainable", "stable", "divergence_step", "final_loss", "first_loss", "score"] as const;

/** A re-run is for cells that are cheap to train again: this many seconds at most by the CPU cost model. */
export const MAX_RERUN_SECONDS = 10;

/** The sweep's spec when its cells can be re-run here: an MLP sweep, a cell of its map, cheap by the CPU cost model. */
function checkRerun(store: Store, sweepId: string, cell: number): { spec: Spec; cells: number } {
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
  return { spec: s.spec, cells: s.cells };
}

/** Equal at the precision the store keeps the field in: bit for bit in float64, to its rounding in float32. */
export function sameAsStored(recomputed: number, recorded: number, dtype: BlockDtype): boolean {
  if (!Number.isFinite(recomputed) || !Number.isFinite(recorded)) return Object.is(recomputed, recorded) || (Number.isNaN(recomputed) && Number.isNaN(recorded));
  if (dtype !== "f4") return recomputed === recorded;
  // f4: the agent's float64 rounded to float32 and, on large maps (codec.ts), to FLOAT32_KEEP_BITS mantissa bits.
  return Math.abs(recomputed - recorded) <= 2 ** -FLOAT32_KEEP_BITS * Math.abs(recorded);
}

/** Re-train `cell` of an MLP sweep on `runner` and compare its outcome with the one recorded. */
export async function recomputeCurve(store: Store, sweepId: string, cell: number, runner: CellRerunner, where: string): Promise<RecomputedCurve> {
  const { spec, cells } = checkRerun(store, sweepId, cell);
  const t0 = performance.now();
  const tile = await runner.run(spec, cell);
  const seconds = (performance.now() - t0) / 1000;
  const outcome: Record<string, number | null> = {};
  for (const f of CHECKED_FIELDS) {
    const v = tile.fields[f]?.[0];
    outcome[f] = v !== undefined && Number.isFinite(v) ? v : null;
  }
  const stored = cellFields(store, sweepId, cells, cell);
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
  return {
    sweepId, cell, curve: { step, loss, gradNorm }, outcome, where, seconds,
    check: !stored.done ? "not-recorded" : differences.length ? "differs" : "same", differences,
  };
}
