// A cluster scheduler behind a saved host (docs/SLURM.md). A host registered with `--scheduler slurm` is reached
// over SSH through its login node like any host; its sweeps are submitted with these settings, and the login node's
// agent runs them as Slurm job arrays (remote-agent/fractal_agent/slurm.py) instead of on its own workers.
//
// Kept in the store as JSON in hosts.scheduler (migration 5); sent to the agent in snake_case with each submit.

import type { SlurmSettings } from "../../src-shared/contract";

export type SchedulerSettings = SlurmSettings;

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const PARTITION = /^[A-Za-z0-9_.,-]{1,128}$/;
const TIME = /^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+|\d+-\d+:\d{2}|\d+-\d+:\d{2}:\d{2})$/;

/** The raw fields as a user gives them (CLI flags, the API's NewHost). */
export interface SchedulerFields {
  scheduler?: string | null;
  partition?: string | null;
  tasks?: number | null;
  gpusPerTask?: number | null;
  cpusPerTask?: number | null;
  time?: string | null;
  account?: string | null;
}

/** Check a host's scheduler fields; null when it has none. Throws an Error naming the field otherwise. */
export function schedulerSettings(f: SchedulerFields): SchedulerSettings | null {
  const { scheduler } = f;
  const given = (["partition", "tasks", "gpusPerTask", "cpusPerTask", "time", "account"] as const).filter((k) => f[k] != null);
  if (scheduler == null || scheduler === "") {
    if (given.length) throw new Error(`${given[0]} needs a scheduler (scheduler: "slurm")`);
    return null;
  }
  if (scheduler !== "slurm") throw new Error(`scheduler must be "slurm" (the only one supported), got ${JSON.stringify(scheduler)}`);
  const int = (k: "tasks" | "gpusPerTask" | "cpusPerTask", min: number): number | null => {
    const v = f[k];
    if (v == null) return null;
    if (!Number.isInteger(v) || v < min || v > 100_000) throw new Error(`${k} must be an integer from ${min} to 100000, got ${JSON.stringify(v)}`);
    return v;
  };
  const text = (k: "partition" | "time" | "account", re: RegExp, what: string): string | null => {
    const v = f[k];
    if (v == null || v === "") return null;
    if (typeof v !== "string" || !re.test(v)) throw new Error(`${k} must be ${what}, got ${JSON.stringify(v)}`);
    return v;
  };
  return {
    kind: "slurm",
    tasks: int("tasks", 1) ?? 1,
    partition: text("partition", PARTITION, "a partition name (letters, digits, _ . , -)"),
    gpusPerTask: int("gpusPerTask", 0),
    cpusPerTask: int("cpusPerTask", 1),
    time: text("time", TIME, "a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS)"),
    account: text("account", NAME, "an account name (letters, digits, _ . -)"),
  };
}

/** hosts.scheduler (JSON or null) -> settings. */
export function parseScheduler(json: string | null | undefined): SchedulerSettings | null {
  if (!json) return null;
  const o = JSON.parse(json) as SchedulerSettings;
  return o.kind === "slurm" ? o : null;
}

/** The `scheduler` field of the agent's submit (PROTOCOL.md). */
export function agentScheduler(s: SchedulerSettings): Record<string, unknown> {
  return {
    kind: s.kind, tasks: s.tasks, partition: s.partition, gpus_per_task: s.gpusPerTask, cpus_per_task: s.cpusPerTask,
    time: s.time, account: s.account,
  };
}

/** One line for listings: "slurm: 4 tasks, partition gpu, 1 GPU/task, time 2:00:00". */
export function describeScheduler(s: SchedulerSettings | null): string {
  if (!s) return "-";
  const parts = [`${s.tasks} task${s.tasks === 1 ? "" : "s"}`];
  if (s.partition) parts.push(`partition ${s.partition}`);
  if (s.gpusPerTask) parts.push(`${s.gpusPerTask} GPU/task`);
  if (s.cpusPerTask) parts.push(`${s.cpusPerTask} CPU/task`);
  if (s.time) parts.push(`time ${s.time}`);
  if (s.account) parts.push(`account ${s.account}`);
  return `${s.kind}: ${parts.join(", ")}`;
}
