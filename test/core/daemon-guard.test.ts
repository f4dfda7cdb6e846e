// Every test stops what it starts: stopAgentDaemon ends a real detached agent daemon (and waits for it), and the
// run's guard (test/daemon-guard.ts, vitest globalSetup) names, stops and fails on a daemon left running.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { setup as runGuard, processesWithEnv } from "../daemon-guard";
import { agentDaemons, stopAgentDaemon, tempDir } from "./helpers";

const REPO = join(__dirname, "../..");
const PYTHON = process.env.FRACTAL_PYTHON ?? "/usr/bin/python3";

/** Start a real detached daemon (double fork, setsid) in `home`, as the agent's attach does; returns its pid. */
function startDaemon(home: string, env: Record<string, string> = {}): number {
  execFileSync(PYTHON, ["-m", "fractal_agent", "daemon", "--home", home, "--idle-timeout", "600", "--workers", "1"], {
    env: { ...process.env, PYTHONPATH: join(REPO, "remote-agent"), ...env }, stdio: "pipe",
  });
  const d = agentDaemons().find((p) => p.home === home);
  expect(d, `a daemon runs for ${home}`).toBeDefined();
  return d!.pid;
}

it("stopAgentDaemon stops a detached daemon and waits until it has exited", async () => {
  const home = join(tempDir(), "agent-home");
  const pid = startDaemon(home);
  // It inherited this run's and this file's ids, so the guards can find it.
  expect(agentDaemons({ FRACTAL_TEST_RUN: process.env.FRACTAL_TEST_RUN!, FRACTAL_TEST_FILE: process.env.FRACTAL_TEST_FILE! }).map((d) => d.pid)).toContain(pid);
  expect(await stopAgentDaemon(home)).toBe(pid);
  expect(agentDaemons().map((d) => d.pid)).not.toContain(pid);
  expect(await stopAgentDaemon(home)).toBeNull(); // nothing left to stop
}, 60_000);

it("the run's guard names a daemon left running, stops it and fails the run", async () => {
  const run = `guard-test-${process.pid}`;
  const home = join(tempDir(), "leaked-home");
  const pid = startDaemon(home, { FRACTAL_TEST_RUN: run });
  expect(processesWithEnv("FRACTAL_TEST_RUN", run).map((p) => p.pid)).toContain(pid);
  const saved = process.env.FRACTAL_TEST_RUN, savedExit = process.exitCode;
  process.env.FRACTAL_TEST_RUN = run;
  const teardown = runGuard();
  process.env.FRACTAL_TEST_RUN = saved;
  try {
    await expect(teardown()).rejects.toThrow(new RegExp(`left 1 process\\(es\\) running: pids ${pid}\\b`));
    expect(process.exitCode).toBe(1);
  } finally {
    process.exitCode = savedExit;
  }
  expect(processesWithEnv("FRACTAL_TEST_RUN", run)).toEqual([]);
  expect(agentDaemons().map((d) => d.pid)).not.toContain(pid);
}, 60_000);
