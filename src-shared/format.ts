// How a cost estimate reads (the CLI's preview, the sweep editor and the zoom dialog print the same line).

export interface CostEstimate {
  cells: number;
  /** Training steps summed over all cells. */
  steps: number;
  /** Total training FLOPs, or null when the model's size is unknown (e.g. an hf: directory). */
  flops: number | null;
  /** Seconds on `device` x `count` at `utilisation`, or null with flops. */
  seconds: number | null;
  device: string;
  utilisation: number;
  note?: string;
  /** The time from what this target's earlier sweeps of the same kind took (core/cost.ts measuredRate), which
   *  counts start-up, early exit and boundary sampling as they happened there; absent without such sweeps. */
  measured?: MeasuredTime;
}

export interface MeasuredTime {
  seconds: number;
  /** Completed sweeps of the same model family, precision and sampling on this target that the fit used. */
  sweeps: number;
  /** Exhaustive-equivalent training FLOPs per second of wall time, and the fixed start-up per sweep. */
  flopsPerSecond: number;
  overheadSeconds: number;
}

export function formatCost(c: CostEstimate): string {
  const f = c.flops === null ? "unknown FLOPs" : `${c.flops.toExponential(2)} FLOPs`;
  const m = c.measured;
  const t = m ? `~${formatDuration(m.seconds)} on this target, from ${m.sweeps} earlier sweep${m.sweeps === 1 ? "" : "s"} like it `
      + `(${formatRate(m.flopsPerSecond)} + ${formatDuration(m.overheadSeconds)} start-up)`
    : c.seconds === null ? "time unknown" : `~${formatDuration(c.seconds)} on ${c.device} at ${Math.round(c.utilisation * 100)}% utilisation (a guess until a sweep has run there)`;
  return `${c.cells} cells, ${c.steps} steps, ${f}, ${t}`;
}

function formatRate(flopsPerSecond: number): string {
  const [v, unit] = flopsPerSecond >= 1e12 ? [flopsPerSecond / 1e12, "TFLOP/s"] : flopsPerSecond >= 1e9 ? [flopsPerSecond / 1e9, "GFLOP/s"]
    : [flopsPerSecond / 1e6, "MFLOP/s"];
  return `${v.toPrecision(2)} ${unit}`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** A Slurm sweep's array tasks as its login node last saw them in the queue (the agent's `tasks` message). */
export interface ClusterTasks {
  /** the sweep's array job ids, one per round (a later round reruns the cells of lost tasks) */
  jobs: string[];
  pending: number;
  running: number;
  /** left the queue with their shard trained */
  finished: number;
  /** left the queue unfinished (scancel, preemption, failure): their cells went to a later round */
  lost: number;
}

/** The fields of an agent's `tasks` message, or null when one is missing or not a count. */
export function clusterTasks(m: Record<string, unknown>): ClusterTasks | null {
  const n = (k: string) => (Number.isInteger(m[k]) && (m[k] as number) >= 0 ? (m[k] as number) : null);
  const [pending, running, finished, lost] = [n("pending"), n("running"), n("finished"), n("lost")];
  const jobsOk = Array.isArray(m.jobs) && m.jobs.every((j) => typeof j === "string" || typeof j === "number");
  if (!jobsOk || pending === null || running === null || finished === null || lost === null) return null;
  return { jobs: (m.jobs as (string | number)[]).map(String), pending, running, finished, lost };
}

/** "Slurm tasks: 2 running, 1 pending, 3 finished, 1 lost" (lost only when some were). */
export function describeTasks(t: ClusterTasks): string {
  const parts = [`${t.running} running`, `${t.pending} pending`, `${t.finished} finished`];
  if (t.lost) parts.push(`${t.lost} lost`);
  return `Slurm tasks: ${parts.join(", ")}`;
}
