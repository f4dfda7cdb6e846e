/**
 * Early warning: did signals in the first k% of training predict that a cell would diverge?
 *
 * Signals, looked for only at trace points with step <= k * totalSteps:
 *   grad-norm growth: grad_norm_t > gradGrowth * grad_norm at the first point (or non-finite);
 *   loss spike:       loss_t > lossSpike * min(loss up to t) (or non-finite).
 * A cell is flagged when either signal fires; "diverged" is the final outcome on the chosen layer
 * (not trainable, or not stable). Precision and recall are over the cells that have traces.
 */
import type { BinaryLayer, SweepMap } from "./map.js";

export interface CellTrace {
  /** Row-major cell index in the map. */
  cell: number;
  /** Step index of each trace point (the downsampled steps, first and last kept), increasing. */
  step: ArrayLike<number>;
  loss: ArrayLike<number>;
  gradNorm: ArrayLike<number>;
  /** Steps of the grad-norm points when they differ from `step` (losses include step 0, the loss at
   *  initialisation; grad norms start at the first update). */
  gradStep?: ArrayLike<number>;
}

export interface EarlyWarningOptions {
  /** Training steps of the sweep (the last step a trace can reach). */
  totalSteps: number;
  /** Fraction of training inspected, 0 < k <= 1 (default 0.1). */
  fraction?: number;
  /** Grad-norm growth factor over the first point that raises the flag (default 10). */
  gradGrowth?: number;
  /** Loss over running minimum factor that raises the flag (default 2). */
  lossSpike?: number;
  /** Which outcome counts as "diverged": not trainable (default) or not stable. */
  layer?: BinaryLayer;
}

export interface CellWarning {
  cell: number;
  diverged: boolean;
  gradAlarm: boolean;
  spikeAlarm: boolean;
  alarm: boolean;
  /** First step where a signal fired (-1: none). */
  firstAlarmStep: number;
}

export interface Confusion {
  truePositive: number;
  falsePositive: number;
  falseNegative: number;
  trueNegative: number;
  /** TP / (TP + FP); NaN when nothing was flagged. */
  precision: number;
  /** TP / (TP + FN); NaN when nothing diverged. */
  recall: number;
}

export interface EarlyWarningResult {
  cells: CellWarning[];
  /** Either signal, and each signal alone. */
  overall: Confusion;
  gradNorm: Confusion;
  lossSpike: Confusion;
  /** The last step inspected: floor(fraction * totalSteps). */
  horizon: number;
}

export function earlyWarning(map: SweepMap, traces: readonly CellTrace[], options: EarlyWarningOptions): EarlyWarningResult {
  const { totalSteps, fraction = 0.1, gradGrowth = 10, lossSpike = 2, layer = "trainable" } = options;
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`early-warning fraction must be in (0, 1], got ${fraction}`);
  if (!(totalSteps > 0)) throw new Error(`totalSteps must be positive, got ${totalSteps}`);
  if (!(gradGrowth > 1) || !(lossSpike > 1)) throw new Error(`gradGrowth and lossSpike must be factors > 1, got ${gradGrowth} and ${lossSpike}`);
  const horizon = Math.floor(fraction * totalSteps);
  const n = map.nx * map.ny;
  const cells = traces.map((t): CellWarning => {
    if (!Number.isInteger(t.cell) || t.cell < 0 || t.cell >= n) throw new Error(`trace for cell ${t.cell} is outside the ${map.nx}x${map.ny} map`);
    if (map.done && !map.done[t.cell]) throw new Error(`cell ${t.cell} has a trace but no result; pass traces of finished cells only`);
    const gradStep = t.gradStep ?? t.step;
    if (t.loss.length !== t.step.length || t.gradNorm.length !== gradStep.length) {
      throw new Error(`trace for cell ${t.cell}: loss must match step and gradNorm must match ${t.gradStep ? "gradStep" : "step"} in length (${t.loss.length} vs ${t.step.length}, ${t.gradNorm.length} vs ${gradStep.length})`);
    }
    let firstAlarmStep = Infinity;
    let spikeAlarm = false;
    let minLoss = Infinity;
    for (let k = 0; k < t.step.length && t.step[k] <= horizon; k++) {
      const l = t.loss[k];
      minLoss = Math.min(minLoss, l);
      if (!Number.isFinite(l) || l > lossSpike * minLoss) {
        spikeAlarm = true;
        firstAlarmStep = Math.min(firstAlarmStep, t.step[k]);
        break;
      }
    }
    let gradAlarm = false;
    const g0 = t.gradNorm[0];
    for (let k = 0; k < gradStep.length && gradStep[k] <= horizon; k++) {
      const g = t.gradNorm[k];
      if (!Number.isFinite(g) || g > gradGrowth * g0) {
        gradAlarm = true;
        firstAlarmStep = Math.min(firstAlarmStep, gradStep[k]);
        break;
      }
    }
    if (firstAlarmStep === Infinity) firstAlarmStep = -1;
    return { cell: t.cell, diverged: map[layer][t.cell] !== 1, gradAlarm, spikeAlarm, alarm: gradAlarm || spikeAlarm, firstAlarmStep };
  });
  return {
    cells,
    overall: confusion(cells, (c) => c.alarm),
    gradNorm: confusion(cells, (c) => c.gradAlarm),
    lossSpike: confusion(cells, (c) => c.spikeAlarm),
    horizon,
  };
}

function confusion(cells: readonly CellWarning[], flagged: (c: CellWarning) => boolean): Confusion {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  for (const c of cells) {
    const f = flagged(c);
    if (f && c.diverged) tp++;
    else if (f) fp++;
    else if (c.diverged) fn++;
    else tn++;
  }
  return { truePositive: tp, falsePositive: fp, falseNegative: fn, trueNegative: tn, precision: tp / (tp + fp), recall: tp / (tp + fn) };
}
