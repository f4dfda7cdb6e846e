// The inspector's evaluation table: a cell's held-out / OOD loss and multiple-choice accuracies beside the untrained
// model's (the sweep's base metrics), so what fine-tuning gained or forgot reads off as the difference.

import type { BaseMetrics } from "../src-shared/contract";

export interface EvalRow {
  metric: string;
  base: number | null;
  cell: number | null;
  /** cell - base; null when either is missing */
  delta: number | null;
  /** "forgot": worse than the base model (loss up, accuracy down); "gained": better; null: no difference known */
  verdict: "gained" | "forgot" | "same" | null;
}

const num = (v: number | null | undefined): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function row(metric: string, base: number | null, cell: number | null, lowerIsBetter: boolean): EvalRow {
  const delta = base !== null && cell !== null ? cell - base : null;
  const verdict = delta === null ? null : delta === 0 ? "same" : (delta < 0) === lowerIsBetter ? "gained" : "forgot";
  return { metric, base, cell, delta, verdict };
}

/** Rows for every metric the cell or the base model has: losses first, then each task's acc and acc_norm. */
export function evalRows(outcome: Record<string, number | null> | null, base: BaseMetrics | null): EvalRow[] {
  const o = outcome ?? {};
  const rows: EvalRow[] = [];
  for (const [key, label] of [["heldout_loss", "held-out loss"], ["ood_loss", "OOD loss"]] as const) {
    const b = num(base?.[key]), c = num(o[key]);
    if (b !== null || c !== null) rows.push(row(label, b, c, true));
  }
  const tasks = new Set(Object.keys(base?.evals ?? {}));
  for (const k of Object.keys(o)) {
    const m = /^eval\.(.+)\.acc$/.exec(k);
    if (m) tasks.add(m[1]);
  }
  for (const task of [...tasks].sort()) {
    for (const metric of ["acc", "acc_norm"] as const) {
      const b = num(base?.evals[task]?.[metric]), c = num(o[`eval.${task}.${metric}`]);
      if (b !== null || c !== null) rows.push(row(`${task} ${metric}`, b, c, false));
    }
  }
  return rows;
}
