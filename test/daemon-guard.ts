// vitest globalSetup: every test stops what it starts. The run gets an id (FRACTAL_TEST_RUN, set in
// vitest.config.ts so every worker and every process a test starts inherits it); at the end of the run, any
// agent process still alive with that id in its environment (its daemon above all: it detaches and would otherwise
// stay for its idle timeout, torch loaded) is named with its pid and command line, stopped, and the run fails.
// test/daemon-guard-file.ts does the same per test file, so the failure names the file that leaked.
import { readdirSync, readFileSync } from "node:fs";
import { stopDaemonProcess } from "./core/helpers";

export interface LeftProcess { pid: number; cmdline: string }

/** What the guard looks for: the agent (its daemon, attach bridges, one-shot commands), its spawned worker processes,
 *  and CLI runs. Other helpers (sshd, Chromium) have their own stop paths in the harnesses that start them. */
const WATCHED = /fractal_agent|multiprocessing|fractal-llm/;

/** Live (not zombie) agent or CLI processes whose environment has name=value. */
export function processesWithEnv(name: string, value: string): LeftProcess[] {
  const needle = `\0${name}=${value}\0`;
  const out: LeftProcess[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string, cmdline: string, stat: string;
    try {
      environ = "\0" + readFileSync(`/proc/${entry}/environ`, "latin1");
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1").split("\0").filter(Boolean).join(" ");
      stat = readFileSync(`/proc/${entry}/stat`, "latin1");
    } catch {
      continue; // exited meanwhile, or not ours to read
    }
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (!environ.includes(needle) || state === "Z" || state === "X") continue;
    if (!WATCHED.test(cmdline) || /node_modules[/\\](vitest|tinypool)/.test(cmdline)) continue;
    out.push({ pid: Number(entry), cmdline });
  }
  return out;
}

/** Report, stop and count the processes a run (or a file) left behind. */
export async function stopLeftovers(name: string, value: string, where: string): Promise<LeftProcess[]> {
  const left = processesWithEnv(name, value);
  if (!left.length) return left;
  console.error(`\n${where} left ${left.length} process(es) running (${name}=${value}); stopping them:\n`
    + left.map((p) => `  pid ${p.pid}: ${p.cmdline.slice(0, 300)}`).join("\n") + "\n");
  await Promise.all(left.map((p) => stopDaemonProcess(p.pid, 5_000)));
  return left;
}

export function setup(): () => Promise<void> {
  const run = process.env.FRACTAL_TEST_RUN;
  if (!run) throw new Error("FRACTAL_TEST_RUN is not set: vitest.config.ts sets it for every run");
  return async () => {
    // Processes that were being stopped as the last files ended get a moment to exit.
    for (let i = 0; i < 20 && processesWithEnv("FRACTAL_TEST_RUN", run).length; i++) await new Promise((r) => setTimeout(r, 100));
    const left = await stopLeftovers("FRACTAL_TEST_RUN", run, "The test run");
    if (left.length) {
      process.exitCode = 1; // vitest only logs a teardown's error
      throw new Error(`the test run left ${left.length} process(es) running: pids ${left.map((p) => p.pid).join(", ")}. `
        + "Every test must stop what it starts (test/core/helpers.ts stopAgentDaemon for agent daemons).");
    }
  };
}
