// The sensitivity of a map: its companion sweep, the same spec under a perturbation that should not matter, run over
// the launch path on the same target, and the cell-by-cell comparison (analysis/sensitivity.ts). It flags maps whose
// fine structure is numerical noise (the transformer paper's deepest window is below float32 resolution and
// reshuffles its data per cell; the seed project changes the seed per cell).

import { sensitivity, type Sensitivity } from "../analysis/sensitivity";
import type { Store, SweepRow } from "../core/store";
import { sweepMap } from "../core/sweep-maps";
import { type Spec, validate } from "../../src-shared/spec";
import { type ReproduceOptions, runToEnd } from "./reproduce";
import { prepareSweep } from "./launch";
import type { OpenTarget } from "./targets";

export const PERTURBATIONS = ["precision", "seed"] as const;
export type Perturbation = (typeof PERTURBATIONS)[number];

/** What each perturbation changes, in words, for names and reports. */
export function describePerturbation(spec: Spec, p: Perturbation): string {
  return p === "seed" ? `model.seed ${spec.model.seed} -> ${spec.model.seed + 1}` : `train.precision ${spec.train.precision} -> ${otherPrecision(spec)}`;
}

function otherPrecision(spec: Spec): string {
  const p = spec.train.precision;
  if (spec.model.family === "mlp") return p === "float64" ? "float32" : "float64";
  return p === "float32" ? "bf16" : "float32";
}

/** The companion of a sweep's spec: the same grid and training, one thing changed, as a sweep of its own. */
export function companionSpec(spec: Spec, p: Perturbation): Spec {
  const c = JSON.parse(JSON.stringify(spec)) as Spec;
  if (p === "seed") c.model.seed = spec.model.seed + 1;
  else c.train.precision = otherPrecision(spec);
  c.parent = null; // not a zoom of the parent's tree: a map beside this one
  c.name = `${spec.name} (sensitivity: ${describePerturbation(spec, p)})`;
  return validate(c);
}

/** The companion's spec of a recorded sweep (from the spec as the user wrote it, so the launch path uploads its laptop
 *  files again) and the sweep id it hashes to on the sweep's target, recorded or not. */
export async function companionOf(store: Store, row: SweepRow, p: Perturbation): Promise<{ spec: Spec; id: string }> {
  const spec = companionSpec(row.source_spec ?? row.spec, p);
  return { spec, id: (await prepareSweep(store, spec, row.target, false)).id };
}

export interface SensitivityRun { sweep: string; companion: string; perturbation: Perturbation; change: string; result: Sensitivity }

/** Run (or find) the companion of completed sweep `row` on `t` to its end; returns its sweep id. */
export async function runToEndOf(store: Store, row: SweepRow, p: Perturbation, t: OpenTarget, o: ReproduceOptions = {}): Promise<string> {
  if (row.status !== "completed") throw new Error(`sweep ${row.id} is ${row.status}: its companion is compared once it has completed`);
  return runToEnd(store, (await companionOf(store, row, p)).spec, t, row.spec.name, 0, o);
}

/** Run (or find) the companion of completed sweep `id` on `t` and compare it with the sweep. */
export async function runSensitivity(store: Store, id: string, t: OpenTarget, p: Perturbation, o: ReproduceOptions = {}): Promise<SensitivityRun> {
  const row = store.sweep(id);
  if (!row) throw new Error(`unknown sweep ${id} in ${store.path}`);
  const companion = await runToEndOf(store, row, p, t, o);
  return { sweep: id, companion, perturbation: p, change: describePerturbation(row.spec, p), result: sensitivity(sweepMap(store, id), sweepMap(store, companion)) };
}
