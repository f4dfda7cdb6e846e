// vitest setupFiles: after each test file, no agent daemon (or other process) it started may still run. Each file
// gets its own FRACTAL_TEST_FILE id, inherited by everything it starts; a leftover is named, stopped, and fails
// the file (test/daemon-guard.ts does the same for the whole run).
import { randomUUID } from "node:crypto";
import { afterAll } from "vitest";
import { stopLeftovers } from "./daemon-guard";

const id = randomUUID();
process.env.FRACTAL_TEST_FILE = id;

afterAll(async () => {
  // A daemon asked to stop a moment ago may still be exiting.
  const { processesWithEnv } = await import("./daemon-guard");
  for (let i = 0; i < 20 && processesWithEnv("FRACTAL_TEST_FILE", id).length; i++) await new Promise((r) => setTimeout(r, 100));
  const left = await stopLeftovers("FRACTAL_TEST_FILE", id, "This test file");
  if (left.length) {
    throw new Error(`this test file left ${left.length} process(es) running: ${left.map((p) => `pid ${p.pid} (${p.cmdline.slice(0, 120)})`).join("; ")}. `
      + "Stop what the file starts in its afterAll (test/core/helpers.ts stopAgentDaemon for agent daemons).");
  }
});
