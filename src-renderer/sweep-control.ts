// Pure helpers behind sweep control in the UI (no React, no store): how durations, rates and GPUs read, the
// notice stack's rules, and the zoom dialog's defaults per target. Kept apart so test/ui can check them.

import type { ApiEvent, SweepStatus, TargetInfo } from "../src-shared/contract";
import { describeTasks } from "../src-shared/format";

export type NoticeLevel = "info" | "done" | "error";
export interface Notice { id: number; level: NoticeLevel; message: string; sweepId: string | null }

/** Toasts shown at once; older ones drop off the bottom. */
export const MAX_NOTICES = 4;
/** Info and done toasts go away by themselves after this long; errors stay until dismissed. */
export const NOTICE_TTL_MS = 6_000;
/** Points per axis when the targets are not known (an old server, or listTargets failed). */
export const FALLBACK_ZOOM_POINTS = 24;
/** A sweep in one of these is (about to be) running: shown in the footer with a cancel button. */
export const ACTIVE: readonly SweepStatus[] = ["created", "submitted", "running"];
/** A sweep in one of these has stopped (core/store.ts TERMINAL). */
export const ENDED: readonly SweepStatus[] = ["completed", "cancelled", "failed"];
/** A sweep in one of these can run again (api.resumeSweep). */
export const RESUMABLE: readonly SweepStatus[] = ["cancelled", "failed"];

/** "12s", "3m20s", "1h02m", "2d05h": two units at most, the second zero-padded so widths stay steady. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  const m = Math.round(s / 60); // minutes are the finest unit shown from here on
  if (m < 24 * 60) return `${Math.floor(m / 60)}h${pad(m % 60)}m`;
  const h = Math.round(s / 3600);
  return `${Math.floor(h / 24)}d${pad(h % 24)}h`;
}

/** Cells per second with two significant digits; slow SFT sweeps (under one cell a minute) read in cells/h. */
export function formatRate(cellsPerSecond: number): string {
  if (!(cellsPerSecond > 0)) return "0 cells/s";
  if (cellsPerSecond < 1 / 60) return `${sig2(cellsPerSecond * 3600)} cells/h`;
  return `${sig2(cellsPerSecond)} cells/s`;
}

function sig2(v: number): string {
  return v >= 100 ? v.toFixed(0) : String(Number(v.toPrecision(2)));
}

/** Whole percent, floored so a sweep shows 100% only when every cell is done. */
export function percent(done: number, total: number): number {
  return total > 0 ? Math.floor((100 * Math.min(done, total)) / total) : 0;
}

/** The footer's figures for one active sweep, from its summary and its last progress event (either may lag). */
export function progressFigures(
  sweep: { doneCells: number; cells: number; status: SweepStatus },
  p: Extract<ApiEvent, { type: "progress" }> | undefined,
): { done: number; total: number; percent: number; rate: string | null; eta: string | null; tasks: string | null } {
  const done = Math.max(sweep.doneCells, p?.done ?? 0), total = sweep.cells;
  const running = sweep.status === "running" && !!p && p.rate > 0;
  return {
    done, total, percent: percent(done, total),
    rate: running ? formatRate(p.rate) : null,
    eta: running ? (p.eta === null ? "?" : formatDuration(p.eta)) : null,
    tasks: p?.tasks ? describeTasks(p.tasks) : null,
  };
}

/** "NVIDIA H100 80GB HBM3 (80 GiB)" -> "H100 80GB HBM3": the probe's "name (memory GiB)" without vendor and memory. */
export function shortGpuName(gpu: string): string {
  return gpu.replace(/\s*\([^)]*GiB\)\s*$/, "").replace(/^NVIDIA\s+/, "").replace(/^GeForce\s+/, "").trim() || gpu;
}

/** "8× H100 80GB HBM3", "2× A100, 1× T4" (identical GPUs counted); null for an empty list. */
export function gpuSummary(gpus: string[]): string | null {
  if (!gpus.length) return null;
  const counts = new Map<string, number>();
  for (const g of gpus) counts.set(shortGpuName(g), (counts.get(shortGpuName(g)) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${n}× ${name}`).join(", ");
}

/** What a host's last probe found, for the host manager: "not probed", "no GPU" or the GPU summary. */
export function hostGpusLabel(gpus: string[] | null): string {
  if (gpus === null) return "not probed";
  return gpuSummary(gpus) ?? "no GPU";
}

/** A target picker's option: "gpu-box — 8× H100 80GB HBM3", "local — CPU", "new-box — not probed (as 1× h100)". */
export function targetLabel(t: TargetInfo): string {
  const gpus = t.gpus ? gpuSummary(t.gpus) : null;
  // A never-probed host is costed as `count` of `device` (contract.ts TargetInfo); say so, since the ETA rests on it.
  const what = gpus ?? (t.gpus === null && t.kind === "ssh" ? `not probed (estimated as ${t.count}× ${t.device})`
    : t.device === "cpu" ? "CPU" : `${t.count}× ${t.device}`);
  return `${t.target} — ${what}`;
}

/** The zoom dialog's defaults: the parent's target when it is still a target, else "local"; that target's resolution. */
export function zoomDefaults(targets: TargetInfo[] | null, parentTarget: string | undefined): { target: string; points: number } {
  const list = targets ?? [];
  const t = list.find((x) => x.target === parentTarget) ?? list.find((x) => x.target === "local");
  return { target: t?.target ?? "local", points: t?.zoomPoints ?? FALLBACK_ZOOM_POINTS };
}

/**
 * The notice stack after `n` arrives: newest first, at most MAX_NOTICES. A message already shown at the same
 * level moves to the top instead of stacking again (a node that keeps failing to answer would fill the stack).
 */
export function addNotice(list: readonly Notice[], n: Notice): Notice[] {
  return [n, ...list.filter((o) => !(o.message === n.message && o.level === n.level))].slice(0, MAX_NOTICES);
}
