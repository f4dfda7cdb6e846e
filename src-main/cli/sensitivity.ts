// `fractal-llm sensitivity`: a completed sweep against its companion under a perturbation that should not matter
// (launch/sensitivity.ts), printed as the fraction of boundary cells that flip.

import { parseArgs } from "node:util";
import type { Store } from "../core/store";
import { PERTURBATIONS, type Perturbation, runSensitivity } from "../launch/sensitivity";
import type { OpenTarget } from "../launch/targets";
import { SSH_OPTIONS, type SshOpts } from "./common";
import { UsageError } from "./errors";

export const SENSITIVITY_USAGE = `fractal-llm sensitivity --sweep ID [--perturb precision|seed] [--target T] [--json] [--db FILE]
      re-runs the sweep with one thing changed that should not matter (float32 <-> float64, bf16 -> float32, or
      model.seed + 1) and says which cells flip: the fraction of boundary cells that do flags fine structure that is noise`;

export async function cmdSensitivity(argv: string[], openDb: (path: string | undefined) => Store,
  openTarget: (store: Store, o: SshOpts) => Promise<OpenTarget>): Promise<number> {
  const { values: o } = parseArgs({ args: argv, options: { sweep: { type: "string" }, perturb: { type: "string" }, json: { type: "boolean" }, ...SSH_OPTIONS } });
  if (!o.sweep) throw new UsageError(`sensitivity needs --sweep ID\n\n  ${SENSITIVITY_USAGE}`);
  const perturb = (o.perturb ?? "precision") as Perturbation;
  if (!PERTURBATIONS.includes(perturb)) throw new UsageError(`--perturb must be ${PERTURBATIONS.join(" or ")}, got ${JSON.stringify(o.perturb)}`);
  const store = openDb(o.db);
  try {
    const row = store.sweep(o.sweep);
    if (!row) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    if (row.status !== "completed") throw new UsageError(`sweep ${o.sweep} is ${row.status}; run it to the end first (re-run its sweep command)`, 1);
    const t = await openTarget(store, { ...o, target: o.target ?? row.target });
    try {
      const r = await runSensitivity(store, o.sweep, t, perturb, { onNotice: (m) => process.stderr.write(`${m}\n`) });
      const s = r.result;
      if (o.json) {
        const flipped: number[] = [];
        s.flips.forEach((f, i) => { if (f) flipped.push(i); });
        process.stdout.write(JSON.stringify({ sweep: r.sweep, companion: r.companion, perturbation: r.perturbation, change: r.change, layer: s.layer,
          boundaryCells: s.boundaryCells, boundaryFlips: s.boundaryFlips, boundaryFlipFraction: s.boundaryFlipFraction,
          interiorCells: s.interiorCells, interiorFlips: s.interiorFlips, interiorFlipFraction: s.interiorFlipFraction, flipped }, null, 1) + "\n");
      } else {
        const pct = (f: number | null) => (f === null ? "-" : `${(100 * f).toFixed(1)}%`);
        process.stdout.write(`sweep ${r.sweep} against its companion ${r.companion} (${r.change}), ${s.layer} outcome:\n`
          + `  boundary cells that flip: ${s.boundaryFlips} of ${s.boundaryCells} (${pct(s.boundaryFlipFraction)})\n`
          + `  interior cells that flip: ${s.interiorFlips} of ${s.interiorCells} (${pct(s.interiorFlipFraction)})\n`);
      }
      return 0;
    } finally {
      await t.close();
    }
  } finally {
    store.close();
  }
}
