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
}

export function formatCost(c: CostEstimate): string {
  const f = c.flops === null ? "unknown FLOPs" : `${c.flops.toExponential(2)} FLOPs`;
  const t = c.seconds === null ? "time unknown" : `~${formatDuration(c.seconds)} on ${c.device} at ${Math.round(c.utilisation * 100)}% utilisation`;
  return `${c.cells} cells, ${c.steps} steps, ${f}, ${t}`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}
