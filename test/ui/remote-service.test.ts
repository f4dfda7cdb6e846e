// The app's launch path on an SSH target, through the API service against a real sshd on 127.0.0.1
// (test/ssh/harness.ts): a sweep started from the API runs detached on the node and is followed to its end,
// cancel and resume keep finished cells, a zoom runs on its parent's host by default, a restarted service
// re-attaches to an unfinished sweep, and delete removes the node's journal too.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import type { ApiEvent } from "../../src-shared/contract";
import { openStore, type Store } from "../../src-main/core/store";
import { agentJournal } from "../cli/helpers";
import { tempDir } from "../core/helpers";
import { startSshFixture, type SshFixture } from "../ssh/harness";

const ALIAS = "gpu-box";
const spec = (points: number, steps: number, name = "remote") => ({
  version: 1, name, model: { family: "mlp", width: 4 }, train: { steps },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points }, y: { param: "lr.output", scale: "log", range: [-1, 2], points } },
  criterion: { window: 10 },
});

let fx: SshFixture, dir: string, store: Store, svc: ApiService;
const events: ApiEvent[] = [];
const agentHome = () => join(fx.remoteHome, ".fractal-agent");

function service(): ApiService {
  const s = new ApiService(store, { home: fx.home, trustFile: fx.trustFile, agentSocket: null, pollMs: 100, maxFailures: 8 });
  s.subscribe((e) => events.push(e));
  return s;
}

async function until(what: string, f: () => boolean, ms = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const row = (id: string) => store.sweep(id)!;

beforeAll(async () => {
  fx = await startSshFixture({ alias: ALIAS });
  dir = tempDir("fractal-remote-svc-");
  store = openStore(join(dir, "db.sqlite"));
  svc = service();
}, 60_000);

afterAll(async () => {
  svc?.close();
  await svc?.idle();
  store?.close();
  await fx?.stop(); // also ends the node's daemon
});

/** Every cell of the node's journal recorded exactly once, and as many as the map has. */
function exactlyOnce(id: string, cells: number): void {
  const j = agentJournal(agentHome(), id);
  expect(Object.keys(j.counts)).toHaveLength(cells);
  expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
}

describe("ApiService on an SSH host", () => {
  it("lists the host as a target, and after the first launch its probe (no GPU here: CPU defaults)", async () => {
    const before = await svc.listTargets();
    expect(before.map((t) => t.target)).toEqual(["local", ALIAS]);
    expect(before[1]).toMatchObject({ kind: "ssh", gpus: null, zoomPoints: 256 }); // never probed: taken as a GPU node
    const s = await svc.startSweep(spec(16, 300, "first"), ALIAS);
    expect(s.target).toBe(ALIAS);
    await until("the sweep to complete", () => row(s.id).status === "completed");
    exactlyOnce(s.id, 256);
    const after = await svc.listTargets();
    expect(after[1]).toMatchObject({ target: ALIAS, gpus: [], device: "cpu", zoomPoints: 32 });
    expect(after[1].probedAt).not.toBeNull();
    await until("the done notice", () => events.some((e) => e.type === "notice" && e.sweepId === s.id && e.level === "done"));
    // A zoom defaults to nothing here; the UI passes the parent's target, and it runs on the node.
    const z = await svc.startZoom({ parentId: s.id, window: { x0: 0, x1: 1, y0: 0, y1: 1 }, points: 8, steps: null, target: ALIAS });
    await until("the zoom to complete", () => row(z.id).status === "completed");
    exactlyOnce(z.id, 64);
    expect(row(z.id).parent_id).toBe(s.id);
  }, 240_000);

  it("cancel keeps the finished cells; resume runs only the rest", async () => {
    // 576 cells of 2000 steps: ~12 s of training on a quiet machine, so the cancel lands mid-sweep.
    const s = await svc.startSweep(spec(24, 2000, "cancel me"), ALIAS);
    await until("some cells", () => row(s.id).done_cells > 0);
    await svc.cancelSweep(s.id);
    await until("the cancel to arrive", () => row(s.id).status === "cancelled");
    const kept = row(s.id).done_cells;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(576);
    await svc.idle();
    await svc.resumeSweep(s.id);
    await until("the resumed sweep to complete", () => row(s.id).status === "completed", 240_000);
    expect(row(s.id).done_cells).toBe(576);
    exactlyOnce(s.id, 576);
  }, 360_000);

  it("a new service re-attaches to a sweep left running, and the connection cut mid-sweep is survived", async () => {
    const s = await svc.startSweep(spec(32, 2000, "re-attach"), ALIAS);
    await until("some cells", () => row(s.id).done_cells > 0);
    svc.close(); // the app quits; the node keeps training
    await svc.idle();
    expect(row(s.id).status).not.toBe("completed");
    fx.killServingProcesses();
    svc = service();
    expect(svc.reattach()).toEqual([s.id]);
    await until("some more cells", () => row(s.id).done_cells < 1024 && row(s.id).done_cells > 0);
    fx.killServingProcesses(); // cut the connection while it streams
    await until("the sweep to complete", () => row(s.id).status === "completed", 240_000);
    exactlyOnce(s.id, 1024);
  }, 360_000);

  it("delete removes the sweep here and its journal on the node; a running one is cancelled first", async () => {
    const s = await svc.startSweep(spec(32, 2000, "delete me"), ALIAS);
    await until("some cells", () => row(s.id).done_cells > 0);
    const journalDir = join(agentHome(), "sweeps", s.id);
    expect(existsSync(journalDir)).toBe(true);
    await svc.deleteSweep(s.id);
    expect(store.sweep(s.id)).toBeUndefined();
    expect(existsSync(journalDir)).toBe(false);
  }, 240_000);

  it("refuses an unknown target, recording nothing", async () => {
    const n = store.sweeps().length;
    await expect(svc.startSweep(spec(4, 10), "nowhere")).rejects.toThrow(/unknown target "nowhere"/);
    expect(store.sweeps().length).toBe(n);
  });
});
