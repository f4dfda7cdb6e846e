// Cost estimate of a sweep before it runs: cells x steps x FLOPs per step, and the time that takes on a named
// device at an assumed utilisation, or, once the target has run sweeps of the same kind, at the rate they measured
// (measuredTime). Training FLOPs per step are 3x the forward pass (forward + backward with
// respect to activations and weights), the usual rule; for the GPT that is 6 x params x tokens + attention.

import { type CostEstimate, formatCost, formatDuration, type MeasuredTime } from "../../src-shared/format";
import { axisValue } from "../../src-shared/grid";
import type { GptConfig, Spec } from "../../src-shared/spec";
import type { Store } from "./store";

export { type CostEstimate, formatCost, formatDuration };

/** Peak dense throughput in FLOP/s by number format (vendor data sheets; tensor cores where they apply). */
export const DEVICES: Record<string, { label: string; peak: Record<"float64" | "float32" | "bf16", number> }> = {
  h100: { label: "NVIDIA H100 SXM", peak: { float64: 67e12, float32: 67e12, bf16: 989e12 } },
  h200: { label: "NVIDIA H200", peak: { float64: 67e12, float32: 67e12, bf16: 989e12 } },
  a100: { label: "NVIDIA A100", peak: { float64: 19.5e12, float32: 19.5e12, bf16: 312e12 } },
  // A laptop / VM CPU core with AVX2 FMA: 2 x 4 doubles x 2 FMA units x ~3 GHz, half that again for bf16 emulation.
  cpu: { label: "one x86 CPU core", peak: { float64: 48e9, float32: 96e9, bf16: 48e9 } },
};

/** Fraction of peak a trainer reaches; tiny MLP matmuls are launch- and memory-bound, GPT-scale ones are not. */
export const DEFAULT_UTILISATION = { mlp: 0.2, gpt: 0.45 } as const;

/** Known parameter shapes of named checkpoints (others: give a scratch config or accept an unknown cost). */
const KNOWN_GPT: Record<string, GptConfig> = {
  "hf:gpt2": { n_layer: 12, n_head: 12, n_embd: 768, block_size: 1024, vocab_size: 50257 },
  "hf:gpt2-medium": { n_layer: 24, n_head: 16, n_embd: 1024, block_size: 1024, vocab_size: 50257 },
  "hf:gpt2-large": { n_layer: 36, n_head: 20, n_embd: 1280, block_size: 1024, vocab_size: 50257 },
  "hf:gpt2-xl": { n_layer: 48, n_head: 25, n_embd: 1600, block_size: 1024, vocab_size: 50257 },
};

function gptConfig(spec: Spec): GptConfig | null {
  if (spec.model.family !== "gpt") return null;
  return spec.model.config ?? KNOWN_GPT[spec.model.checkpoint] ?? null;
}

/** Training FLOPs of one step of one cell with batch size `batch`. */
export function flopsPerStep(spec: Spec, batch: number | null): number | null {
  if (spec.model.family === "mlp") {
    const n = spec.model.width;
    const N = mlpDatapoints(spec);
    const rows = batch ?? N;
    // Z0 = X W0 (rows x n x n MACs), yhat = H W1 (rows x n MACs): 2 FLOPs per MAC, x3 for the backward pass.
    return 6 * rows * (n * n + n);
  }
  const cfg = gptConfig(spec);
  if (!cfg) return null;
  const T = spec.data!.seq_len;
  const params = 12 * cfg.n_layer * cfg.n_embd * cfg.n_embd + cfg.vocab_size * cfg.n_embd;
  const attention = 12 * cfg.n_layer * cfg.n_embd * T; // per token: QK^T and AV, forward + backward
  return (batch ?? 1) * T * (6 * params + attention);
}

/** Training set size of the MLP (DESIGN "The MLP reference model"). */
export function mlpDatapoints(spec: Spec): number {
  if (spec.model.family !== "mlp") throw new Error("not an MLP spec");
  const { width: n, activation, data_multiple, datapoints } = spec.model;
  if (datapoints !== null) return datapoints;
  return Math.round(data_multiple * (activation === "identity" ? n : n * n + n));
}

/** Steps one cell trains for: train.steps, or epochs over its dataset at its batch size (GPT). */
function cellSteps(spec: Spec, hp: { batch_size: number | null; dataset_size: number | null; tokens: number | null }): number {
  if (spec.train.steps !== null) return spec.train.steps;
  const batch = hp.batch_size ?? 1;
  const examples = hp.tokens !== null ? hp.tokens / spec.data!.seq_len : (hp.dataset_size ?? 0);
  return Math.max(1, Math.ceil((spec.train.epochs ?? 1) * examples / batch));
}

export function estimateCost(spec: Spec, opts: { device?: string; count?: number; utilisation?: number } = {}): CostEstimate {
  const device = opts.device ?? "h100";
  const dev = DEVICES[device];
  if (!dev) throw new Error(`unknown device ${JSON.stringify(device)}; known: ${Object.keys(DEVICES).join(", ")}`);
  const utilisation = opts.utilisation ?? DEFAULT_UTILISATION[spec.model.family];
  const count = opts.count ?? 1;
  const { x, y } = spec.axes;
  // Only batch_size, dataset_size and tokens change a cell's cost: walk the values of axes that set one of
  // them and multiply by the points of axes that do not (a 4096^2 LR x LR map costs one cell x 16M).
  const COST_PARAMS = ["batch_size", "dataset_size", "tokens"];
  const axisVals = (axis: typeof x): [number | null, number][] => COST_PARAMS.includes(axis.param)
    ? Array.from({ length: axis.points }, (_, i) => [axisValue(axis, i), 1])
    : [[null, axis.points]];
  let steps = 0, flops: number | null = 0;
  for (const [vy, my] of axisVals(y)) {
    for (const [vx, mx] of axisVals(x)) {
      const hp: Record<string, number | null> = { batch_size: spec.train.batch_size, dataset_size: spec.data?.size ?? null, tokens: null };
      if (vx !== null) hp[x.param] = vx;
      if (vy !== null) hp[y.param] = vy;
      const s = cellSteps(spec, hp as { batch_size: number | null; dataset_size: number | null; tokens: number | null });
      steps += s * mx * my;
      const f = flopsPerStep(spec, hp.batch_size);
      flops = f === null || flops === null ? null : flops + s * f * mx * my;
    }
  }
  const precision = spec.train.precision as "float64" | "float32" | "bf16";
  const seconds = flops === null ? null : flops / (dev.peak[precision] * utilisation * count);
  const est: CostEstimate = { cells: x.points * y.points, steps, flops, seconds, device: dev.label, utilisation };
  if (flops === null) est.note = `parameter count of ${spec.model.family === "gpt" ? spec.model.checkpoint : "model"} unknown`;
  return est;
}


// ------------------------------------------------------------------------- measured on the target

/** A finished sweep's exhaustive-equivalent training FLOPs (estimateCost) and the wall time it took. */
export interface PastRun { flops: number; seconds: number }

/** How many of a target's latest comparable sweeps the measured rate is fitted to. */
const PAST_RUNS = 8;

/**
 * seconds = overhead + flops / rate, fitted by least squares to a target's past runs: the overhead is the start-up
 * (connecting, starting the agent and its workers, the last sync) a small zoom scan is mostly made of. With one run,
 * or runs too alike in size to separate the two, or a fit that makes no physical sense, the median rate with no
 * overhead. Null without a usable run.
 */
export function fitRate(runs: readonly PastRun[]): { flopsPerSecond: number; overheadSeconds: number } | null {
  const ok = runs.filter((r) => r.flops > 0 && r.seconds > 0);
  if (!ok.length) return null;
  if (ok.length >= 2) {
    const mf = ok.reduce((a, r) => a + r.flops, 0) / ok.length;
    const ms = ok.reduce((a, r) => a + r.seconds, 0) / ok.length;
    const varF = ok.reduce((a, r) => a + (r.flops - mf) ** 2, 0);
    const cov = ok.reduce((a, r) => a + (r.flops - mf) * (r.seconds - ms), 0);
    const spread = Math.max(...ok.map((r) => r.flops)) / Math.min(...ok.map((r) => r.flops));
    if (varF > 0 && spread >= 2) {
      const slope = cov / varF, overhead = ms - slope * mf;
      if (slope > 0 && overhead >= 0) return { flopsPerSecond: 1 / slope, overheadSeconds: overhead };
    }
  }
  const rates = ok.map((r) => r.flops / r.seconds).sort((a, b) => a - b);
  const mid = rates.length >> 1;
  return { flopsPerSecond: rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2, overheadSeconds: 0 };
}

/** What makes two sweeps' rates comparable: the trainer, its number format and which cells it trains. */
function runKind(spec: Spec): string {
  const sampling = (spec as { sampling?: string }).sampling ?? "grid";
  return `${spec.model.family}/${spec.train.precision}/${sampling}`;
}

/**
 * The wall time `spec` should take on `target`, from that target's latest completed sweeps of the same kind
 * (runKind): each one's time from being recorded to its last stored event, against its estimated FLOPs. Early exit
 * and boundary sampling save time there as they will here, so they are in the rate; undefined without such a sweep.
 */
export function measuredTime(store: Store, target: string, spec: Spec): MeasuredTime | undefined {
  const flops = estimateCost(spec).flops;
  if (flops === null) return undefined;
  const kind = runKind(spec);
  const runs: PastRun[] = [];
  for (const s of store.sweeps().reverse()) {
    if (runs.length >= PAST_RUNS) break;
    if (s.target !== target || s.status !== "completed" || s.done_cells !== s.cells || runKind(s.spec) !== kind) continue;
    const end = store.lastIngestAt(s.id), f = estimateCost(s.spec).flops;
    if (end === null || f === null) continue; // imported (the demo) or of unknown size
    runs.push({ flops: f, seconds: (Date.parse(end) - Date.parse(s.created_at)) / 1000 });
  }
  const fit = fitRate(runs);
  return fit ? { seconds: fit.overheadSeconds + flops / fit.flopsPerSecond, sweeps: runs.length, ...fit } : undefined;
}

/** The estimate for `target`: its probed device and count for the FLOPs-based guess, and the measured time where its
 *  earlier sweeps give one (what the editor, the zoom dialog and `fractal-llm sweep` show). */
export function estimateOn(store: Store, target: string, spec: Spec, device: { device: string; count: number }): CostEstimate {
  const est = estimateCost(spec, device);
  const measured = measuredTime(store, target, spec);
  return measured ? { ...est, measured } : est;
}
