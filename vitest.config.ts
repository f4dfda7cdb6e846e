import { randomUUID } from "node:crypto";
import { defineConfig } from "vitest/config";

// One id per test run, in the environment of every worker and so of every process a test starts (the agent's
// detached daemon included): test/daemon-guard.ts finds what a run left running by it and fails the run.
process.env.FRACTAL_TEST_RUN ||= randomUUID();

// Tests run real processes (python, sshd) and real SQLite files; they are kept small, but give them room
// on a busy 2-core machine. Files run in parallel across 2 workers at most.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/build-ui.ts", "test/daemon-guard.ts"],
    setupFiles: ["test/daemon-guard-file.ts", "test/user-files.ts"],
    env: { FRACTAL_TEST_RUN: process.env.FRACTAL_TEST_RUN },
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
