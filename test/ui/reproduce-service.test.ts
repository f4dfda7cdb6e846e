// Table 1 from the app: the service reproduces one experiment for real (the local agent on CPU, 16x16 cells, the
// root map and one zoom of the cheapest experiment), reports it as core's analysis of the same sweeps measures them,
// and reads the same report back from the store after a restart. Request checks need no agent.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiEvent, Reproduction } from "../../src-shared/contract";
import { ApiService } from "../../src-main/api/service";
import { layerMask } from "../../src-main/analysis/map";
import { sequenceDimension } from "../../src-main/analysis/mask";
import { boundaryWindow, experimentSpec } from "../../src-main/launch/reproduce";
import { sweepIdFor } from "../../src-main/core/sweep-id";
import { openStore, type Store } from "../../src-main/core/store";
import { sweepMap } from "../../src-main/core/sweep-maps";
import { stopAgentDaemon, tempDir } from "../core/helpers";

const PYTHON = "/usr/bin/python3";
const REQ = { name: "tanh-single", points: 16, levels: 1, target: "local" };

let dir: string, store: Store, svc: ApiService;
const events: ApiEvent[] = [];
const service = () => new ApiService(store, { pollMs: 50, python: PYTHON, localAgentHome: join(dir, "agent"), home: dir });

beforeAll(() => {
  dir = tempDir("fractal-reproduce-svc-");
  store = openStore(join(dir, "db.sqlite"));
  svc = service();
  svc.subscribe((e) => { events.push(e); if (e.type === "notice" && e.level === "error") process.stderr.write(`notice: ${e.message}\n`); });
});
afterAll(async () => {
  svc?.close();
  await stopAgentDaemon(join(dir, "agent"));
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("Table 1 reproductions from the app's API", () => {
  it("refuses requests it cannot run, naming the problem", async () => {
    await expect(svc.startReproduction({ ...REQ, name: "sigmoid" })).rejects.toThrow(/unknown Table 1 experiment "sigmoid"; known: linear, relu/);
    await expect(svc.startReproduction({ ...REQ, points: 8 })).rejects.toThrow(/points must be a whole number from 16/);
    await expect(svc.startReproduction({ ...REQ, levels: -1 })).rejects.toThrow(/levels must be a whole number of zooms >= 0/);
    await expect(svc.startReproduction({ ...REQ, initOffsetForm: "once" })).rejects.toThrow(/applies only to the init-offset experiment \(tanh-init-offset\), not tanh-single/);
    await expect(svc.startReproduction({ ...REQ, target: "gpu9" })).rejects.toThrow(/unknown target "gpu9"/);
    expect(await svc.listReproductions()).toEqual([]);
  });

  it("runs the root map and a zoom into its boundary through an app restart, and reports what core measures on the same sweeps", async () => {
    const started = await svc.startReproduction(REQ);
    expect(started).toMatchObject({ name: "tanh-single", points: 16, target: "local", state: "running", levelsRequested: 1, paperDimension: 1.41 });
    expect(started.id).toBe(sweepIdFor(experimentSpec("tanh-single", 16), "local", false)); // the CLI's root: the same sweeps
    await expect(svc.startReproduction(REQ)).rejects.toThrow(/tanh-single at 16x16 on local is already running/);

    // The app quits while the root map trains (the agent keeps training); the next start re-attaches that sweep,
    // and starting the reproduction again takes the sweep over from that follower and goes on to the zoom.
    await expect.poll(() => store.sweep(started.id)?.done_cells ?? 0, { timeout: 60_000, interval: 100 }).toBeGreaterThan(0);
    svc.close();
    svc = service();
    svc.subscribe((e) => events.push(e));
    expect(svc.reattach()).toEqual([started.id]);
    const again = await svc.startReproduction(REQ);
    expect(again.levels.map((l) => l.sweepId)).toEqual([started.id]);
    await svc.idle();

    const [r] = await svc.listReproductions();
    expect(r.error).toBeNull();
    expect(r).toMatchObject({ id: started.id, state: "completed", levelsRequested: 1 });
    expect(store.sweep(started.id)!.status).toBe("completed");
    expect(r.levels.map((l) => [l.level, l.status, l.doneCells, l.cells])).toEqual([[0, "completed", 256, 256], [1, "completed", 256, 256]]);
    const [root, zoom] = r.levels.map((l) => store.sweep(l.sweepId)!);
    expect(root.id).toBe(r.id);
    expect(zoom.parent_id).toBe(root.id);

    // Core's analysis of the same sweeps: per level and pooled (the paper's median of local slopes), and the window.
    const maps = [root, zoom].map((s) => sweepMap(store, s.id));
    const pooled = sequenceDimension(maps);
    expect(r.dimension).toBe(pooled.dimension);
    expect(r.dimensionLeastSquares).toBe(pooled.pooledLeastSquares);
    expect(r.difference).toBeCloseTo(pooled.dimension - 1.41, 12);
    r.levels.forEach((l, i) => {
      expect(l.window).toEqual(store.sweep(l.sweepId)!.window);
      expect(l.dimension).toBe(sequenceDimension([maps[i]]).dimension);
      const mask = layerMask(maps[i], "trainable");
      expect(l.trainableFraction).toBe(mask.data.reduce((a, b) => a + b, 0) / 256);
    });
    const cells = boundaryWindow(layerMask(maps[0], "trainable"))!; // the zoom went where the root map's boundary is
    const w = (root.window.x1 - root.window.x0) / 16;
    expect(zoom.window.x0).toBeCloseTo(root.window.x0 + cells.i0 * w, 12);
    expect(zoom.window.x1 - zoom.window.x0).toBeCloseTo(cells.w * w, 12);

    // Events: the report as it moved through its levels, progress of each level's sweep, and the result as a notice.
    const updates = events.flatMap((e) => (e.type === "reproduction-updated" ? [e.reproduction] : []));
    expect(updates.map((u) => u.state)).toContain("running");
    expect(updates[updates.length - 1]).toEqual(r);
    const progressed = new Set(events.flatMap((e) => (e.type === "progress" ? [e.sweepId] : [])));
    expect([...progressed].sort()).toEqual([root.id, zoom.id].sort());
    expect(events.filter((e) => e.type === "notice" && e.level === "error")).toEqual([]); // quitting the app stopped nothing
    const done = events.find((e) => e.type === "notice" && e.level === "done" && /Table 1 tanh-single/.test(e.message));
    expect(done && done.type === "notice" && done.message).toMatch(new RegExp(`D = ${pooled.dimension.toFixed(2)} over 2 level\\(s\\), paper 1\\.41`));
  }, 150_000);

  it("reads the same report back after a restart, and a second start takes every map from the store", async () => {
    const before = (await svc.listReproductions())[0];
    svc.close();
    svc = service();
    const [after] = await svc.listReproductions();
    const same = (r: Reproduction) => ({ ...r, levelsRequested: null });
    expect(after).toEqual(same(before)); // only this session's request is gone
    expect(after.levelsRequested).toBeNull();

    const seen: string[] = [];
    svc.subscribe((e) => { if (e.type === "notice") seen.push(e.message); });
    await svc.startReproduction(REQ);
    await svc.idle();
    expect(seen.filter((m) => / level \d, sweep .* \(from the store\)$/.test(m))).toHaveLength(2);
    expect(store.sweeps()).toHaveLength(2); // nothing new recorded
    expect(await svc.listReproductions()).toEqual([{ ...same(before), levelsRequested: 1 }]);
  }, 60_000);
});
