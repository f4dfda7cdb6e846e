// Starting the same sweep twice at once (a double click on "start sweep", two tabs) records and trains one sweep:
// the second request joins the first, with the real local agent. One that is still unfinished is shown again rather
// than copied; once it has ended, the same spec starts a new sweep (a deliberate re-run). The same for a zoom.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import type { ApiEvent, SweepSummary } from "../../src-shared/contract";
import { openStore, type Store } from "../../src-main/core/store";
import { stopAgentDaemon, sweepCompleted } from "../core/helpers";

const PYTHON = "/usr/bin/python3";
const raw = (name: string) => ({
  version: 1, name, model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 20 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: 4 }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: 4 } },
});

let dir: string, store: Store, svc: ApiService;
const notices: string[] = [];

const finished = (id: string) => sweepCompleted(svc, id);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-start-once-"));
  store = openStore(join(dir, "db.sqlite"));
  svc = new ApiService(store, { python: PYTHON, localAgentHome: join(dir, "agent"), pollMs: 50 });
  svc.subscribe((e: ApiEvent) => { if (e.type === "notice") notices.push(e.message); });
});

afterAll(async () => {
  await svc?.idle();
  svc?.close();
  await stopAgentDaemon(join(dir, "agent"));
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("startSweep", () => {
  it("gives one sweep for two concurrent calls with the same spec, and a new one once it has ended", async () => {
    const [a, b] = await Promise.all([svc.startSweep(raw("twice"), "local"), svc.startSweep(raw("twice"), "local")]);
    expect(b.id).toBe(a.id);
    expect(store.sweeps().map((s) => s.id)).toEqual([a.id]);

    // Asked again while it is still unfinished: the same sweep, said so.
    if ((await svc.getSweep(a.id)).status !== "completed") {
      const again = await svc.startSweep(raw("twice"), "local");
      expect(again.id).toBe(a.id);
      expect(notices.some((m) => m.includes(a.id) && m.includes("instead of starting a copy"))).toBe(true);
    }
    expect((await finished(a.id)).doneCells).toBe(16);

    // Ended: the same spec again is a deliberate re-run, a sweep of its own.
    const rerun = await svc.startSweep(raw("twice"), "local");
    expect(rerun.id).not.toBe(a.id);
    await finished(rerun.id);
    expect(store.sweeps()).toHaveLength(2);
  }, 240_000);

  it("gives one zoom for two concurrent startZoom calls with the same request", async () => {
    const parent = store.sweeps()[0];
    const w = parent.window;
    const req = { parentId: parent.id, window: { x0: w.x0, x1: (w.x0 + w.x1) / 2, y0: w.y0, y1: (w.y0 + w.y1) / 2 }, points: 2, steps: null, target: "local" };
    const [a, b] = await Promise.all([svc.startZoom(req), svc.startZoom(req)]);
    expect(b.id).toBe(a.id);
    expect(store.sweeps().filter((s) => s.parent_id === parent.id).map((s) => s.id)).toEqual([a.id]);
    await finished(a.id);
  }, 240_000);

  it("starts two sweeps for two concurrent calls with different specs", async () => {
    const [a, b] = await Promise.all([svc.startSweep(raw("one"), "local"), svc.startSweep(raw("other"), "local")]);
    expect(b.id).not.toBe(a.id);
    await Promise.all([finished(a.id), finished(b.id)]);
  }, 240_000);
});
