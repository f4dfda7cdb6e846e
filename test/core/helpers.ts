// Test helpers: temp directories, small validated specs, agent-shaped tile events built with real encoders, and
// stopping the agent daemons tests start.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { validate, type Spec } from "../../src-shared/spec";
import type { JournalEvent } from "../../src-main/core/store";
import { encodeArray, encodeCells, type TileEvent } from "../../src-main/core/tiles";
import type { SweepSummary } from "../../src-shared/contract";

export function tempDir(prefix = "fractal-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function mlpSpec(nx: number, ny: number, extra: Record<string, unknown> = {}): Spec {
  return validate({
    version: 1, name: `mlp ${nx}x${ny}`, model: { family: "mlp", width: 4 }, train: { steps: 50 },
    axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points: nx },
      y: { param: "lr.output", scale: "log", range: [-1, 2], points: ny } },
    criterion: { window: 10 }, ...extra,
  });
}

/** A deterministic value for (cell, field): distinct per cell so misplaced writes show. */
export function valueOf(cell: number, field: string): number {
  return field === "score" ? (cell % 3 === 0 ? -1 : 1) * (cell * 1.25 + 0.1) : Math.sqrt(cell + 1) + field.length;
}

export function tile(seq: number, sweep: string, cells: number[], curves = false): TileEvent {
  const K = cells.length, P = 4;
  const f64 = (field: string) => encodeArray(Float64Array.from(cells, (c) => valueOf(c, field)), "<f8");
  return {
    seq, type: "tile", sweep, level: 0, count: K,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(Uint8Array.from(cells, (c) => (c % 3 === 0 ? 1 : 0)), "|u1"),
      stable: encodeArray(Uint8Array.from(cells, (c) => (c % 5 === 0 ? 0 : 1)), "|u1"),
      score: f64("score"), first_loss: f64("first_loss"), final_loss: f64("final_loss"),
      divergence_step: encodeArray(Int32Array.from(cells, (c) => (c % 3 === 0 ? -1 : c % 50)), "<i4"),
    },
    curves: curves ? {
      points: P,
      step: encodeArray(Int32Array.from([0, 1, 2, 3]), "<i4", [P]),
      loss: encodeArray(Float32Array.from({ length: K * P }, (_, i) => cells[Math.floor(i / P)] + (i % P) / 10), "<f4", [K, P]),
      grad_norm: encodeArray(Float32Array.from({ length: K * P }, (_, i) => i), "<f4", [K, P]),
    } : null,
  };
}

/** The journal of a sweep of n cells delivered as tiles of `per` cells (in a shuffled but fixed order). */
export function journal(sweep: string, spec: Spec, n: number, per: number, curves = false): JournalEvent[] {
  const order = Array.from({ length: n }, (_, i) => (i * 7919) % n); // 7919 is prime: a permutation when n is not a multiple
  const events: JournalEvent[] = [{ seq: 1, type: "sweep", sweep, spec, env: { torch: "test" }, cells: n }];
  for (let i = 0; i < n; i += per) events.push(tile(events.length + 1, sweep, order.slice(i, i + per), curves));
  events.push({ seq: events.length + 1, type: "done", sweep, status: "completed", error: null });
  return events;
}

// ---- agent daemons the tests start ----------------------------------------------------------------------------
// A local sweep (CLI, API service, samples) starts the agent's detached daemon (setsid, double fork), which would
// outlive the test. Every test that starts one stops it with stopAgentDaemon; test/daemon-guard.ts checks after
// each file and after the run that none is left (they carry the run's FRACTAL_TEST_RUN in their environment).

export interface AgentDaemonProcess { pid: number; home: string | null; cmdline: string }

function readProc(pid: number, file: string): string | null {
  try { return readFileSync(`/proc/${pid}/${file}`, "latin1"); } catch { return null; }
}

/** Running (not zombie) processes of the agent's daemon, optionally only those whose environment has every
 *  variable of `env` (e.g. {FRACTAL_TEST_RUN: id}). */
export function agentDaemons(env: Record<string, string> = {}): AgentDaemonProcess[] {
  const out: AgentDaemonProcess[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const argv = readProc(pid, "cmdline")?.split("\0") ?? [];
    const m = argv.indexOf("fractal_agent");
    if (m < 1 || argv[m - 1] !== "-m" || argv[m + 1] !== "daemon" || !isRunning(pid)) continue;
    const environ = "\0" + (readProc(pid, "environ") ?? "");
    if (!Object.entries(env).every(([k, v]) => environ.includes(`\0${k}=${v}\0`))) continue;
    const h = argv.indexOf("--home");
    out.push({ pid, home: h >= 0 ? argv[h + 1] : null, cmdline: argv.filter(Boolean).join(" ") });
  }
  return out;
}

/** Alive and not a zombie (a killed daemon's parent is init, which may be slow to reap it, or never in a container). */
function isRunning(pid: number): boolean {
  const stat = readProc(pid, "stat");
  if (stat === null) return false;
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** The process group of pid (a daemon's group holds its worker processes too), or null once it is gone. */
function processGroup(pid: number): number | null {
  const stat = readProc(pid, "stat");
  if (stat === null) return null;
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

/** SIGTERM the daemon's process group (it and its workers), SIGKILL what is left after timeoutMs; wait for the daemon. */
export async function stopDaemonProcess(pid: number, timeoutMs = 10_000): Promise<void> {
  // A daemon leads its own group (setsid); anything else a test started shares the test's group: signal it alone.
  const group = processGroup(pid);
  const ownGroup = processGroup(process.pid), parentGroup = processGroup(process.ppid);
  const whole = group !== null && group > 1 && group !== ownGroup && group !== parentGroup;
  const signal = (s: NodeJS.Signals) => {
    try { process.kill(whole ? -group! : pid, s); } catch { /* gone */ }
  };
  signal("SIGTERM");
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isRunning(pid)) {
    signal("SIGKILL");
    while (isRunning(pid)) await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Stop the local agent daemon of an agent home (the one its daemon.pid names, if that process is still a daemon of
 * this home), and wait until it has exited. Returns its pid, or null when none was running.
 */
export async function stopAgentDaemon(home: string, timeoutMs = 10_000): Promise<number | null> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(home, "daemon.pid"), "utf8").trim());
  } catch {
    return null; // never started, or it exited by itself (it removes its pid file)
  }
  const daemon = agentDaemons().find((d) => d.pid === pid);
  if (!daemon || (daemon.home !== null && resolve(daemon.home) !== resolve(home))) return null; // gone, or the pid was reused
  await stopDaemonProcess(pid, timeoutMs);
  return pid;
}

/** Wait until sweep `id` of `svc` (an Api) has completed; a failure or two minutes without it is the test's error. */
export async function sweepCompleted(svc: { getSweep(id: string): Promise<SweepSummary> }, id: string): Promise<SweepSummary> {
  for (let i = 0; i < 1200; i++) {
    const s = await svc.getSweep(id);
    if (s.status === "completed") return s;
    if (s.status === "failed") throw new Error(`sweep ${id} failed: ${s.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sweep ${id} did not complete`);
}
