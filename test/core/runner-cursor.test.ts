// The runner's cursor against a node whose journal is shorter than what this client read (the journal was
// replaced, e.g. deleted and resubmitted): it reads the journal again from the start instead of waiting past
// events that will never come. Real local agent, real stores.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { followSweep, prepareSweep, recordSweep } from "../../src-main/launch/launch";
import { openStore } from "../../src-main/core/store";
import { openTarget } from "../../src-main/launch/targets";
import { mlpSpec, stopAgentDaemon, tempDir } from "./helpers";

const dir = tempDir("fractal-runner-cursor-");
const agentHome = join(dir, "agent");
afterAll(async () => { await stopAgentDaemon(agentHome); });

/** A sweep run to the end in its own database `name`, and a second database `other` that holds it with no cells. */
async function completedSweep(name: string, other: string, nx: number, ny: number) {
  const a = openStore(join(dir, name));
  const t = await openTarget(a, "local", { python: "/usr/bin/python3", localAgentHome: agentHome });
  const p = await prepareSweep(a, mlpSpec(nx, ny), "local", false);
  await recordSweep(a, p, t);
  expect((await followSweep(a, p.id, t)).status).toBe("completed");
  const b = openStore(join(dir, other));
  b.createSweep({ id: p.id, spec: p.spec, target: "local" });
  return { a, b, t, p };
}

describe("runSweep's cursor", () => {
  it("starts again from seq 1 when the node has fewer events than the stored cursor", async () => {
    const { a, b, t, p } = await completedSweep("a.sqlite", "b.sqlite", 4, 4);
    const lastSeq = a.cursor(p.id, "local");

    // Another database that once read far more of this sweep's journal than the node now has, and no cells.
    b.ingest(p.id, "local", [{ seq: lastSeq + 100, type: "resume", sweep: p.id }]);
    expect(b.cursor(p.id, "local")).toBe(lastSeq + 100);
    const notices: string[] = [];
    const r = await followSweep(b, p.id, t, { onNotice: (m) => notices.push(m) });
    expect(r).toMatchObject({ status: "completed", done: 16, total: 16 });
    expect(notices.join("\n")).toMatch(/fewer events .* reading it again from the start/);
    expect(b.cursor(p.id, "local")).toBe(lastSeq);
    a.close();
    b.close();
  }, 120_000);

  it("reads a journal with another epoch from seq 1, even when it is longer than what was read", async () => {
    const { a, b, t, p } = await completedSweep("c.sqlite", "d.sqlite", 4, 2);
    const epoch = a.cursorEpoch(p.id, "local");
    expect(epoch).toMatch(/^[0-9a-f]{16}$/);

    // A database that read the first two events of an older journal of the same id (another epoch), no cells:
    // from its cursor the node's journal (longer) would look like a continuation and its first tile be skipped.
    b.ingest(p.id, "local", [
      { seq: 1, type: "sweep", sweep: p.id, spec: p.spec, env: null, cells: 8, epoch: "0123456789abcdef" },
      { seq: 2, type: "resume", sweep: p.id },
    ]);
    expect(b.cursorEpoch(p.id, "local")).toBe("0123456789abcdef");
    const notices: string[] = [];
    const r = await followSweep(b, p.id, t, { onNotice: (m) => notices.push(m) });
    expect(r).toMatchObject({ status: "completed", done: 8, total: 8 });
    expect(notices.join("\n")).toMatch(/another journal for sweep .* reading it from the start/);
    expect(b.cursorEpoch(p.id, "local")).toBe(epoch);
    expect(b.cursor(p.id, "local")).toBe(a.cursor(p.id, "local"));
    a.close();
    b.close();
  }, 120_000);
});
