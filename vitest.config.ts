import { defineConfig } from "vitest/config";

// Tests run real processes (python, sshd) and real SQLite files; they are kept small, but give them room
// on a busy 2-core machine. Files run in parallel across 2 workers at most.
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/build-ui.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
