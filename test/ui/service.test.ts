// The Api implementation over a real SQLite store (no agent needed: results are ingested as the agent's tiles).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NOT_DONE, type ApiEvent } from "../../src-shared/contract";
import { ApiService } from "../../src-main/api/service";
import { cellHparams, zoomSpec } from "../../src-shared/grid";
import { validate } from "../../src-shared/spec";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";

const spec = validate({
  version: 1, name: "svc", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 30 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: 8 }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: 4 } },
});

let dir: string, store: Store, svc: ApiService;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-svc-"));
  store = openStore(join(dir, "db.sqlite"));
  store.createSweep({ id: "root", spec, target: "local" });
  // cells 0..9 done: even cells trainable, held-out loss NaN (no held-out set)
  const cells = Array.from({ length: 10 }, (_, i) => i);
  store.ingest("root", "local", [{
    seq: 1, type: "tile", sweep: "root", level: 0, count: 10, curves: null,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(Uint8Array.from(cells, (c) => (c % 2 ? 0 : 1)), "|u1"),
      stable: encodeArray(Uint8Array.from(cells, () => 1), "|u1"),
      score: encodeArray(Float64Array.from(cells, (c) => (c % 2 ? 1 / (c + 1) : -(c + 1))), "<f8"),
      final_loss: encodeArray(Float64Array.from(cells, (c) => (c === 3 ? Infinity : 10 ** c)), "<f8"),
      heldout_loss: encodeArray(new Float64Array(10).fill(NaN), "<f8"),
    },
  }]);
  svc = new ApiService(store, { pollMs: 20 });
});
afterEach(() => {
  svc.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("ApiService", () => {
  it("lists sweeps and serves layers with sentinels instead of NaN", async () => {
    const [s] = await svc.listSweeps();
    expect([s.id, s.nx, s.ny, s.doneCells, s.xAxis.param, s.tags]).toEqual(["root", 8, 4, 10, "lr.input", []]);
    const tr = await svc.getLayer("root", "trainable");
    expect(Array.from(tr.values.slice(0, 12))).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, NOT_DONE, NOT_DONE]);
    const loss = await svc.getLayer("root", "finalLoss");
    expect([loss.lo, loss.hi, loss.values[2]]).toEqual([0, 9, 2]);
    const held = await svc.getLayer("root", "heldoutLoss");
    expect(held.values.every((v) => Number.isFinite(v))).toBe(true);
    await expect(svc.getLayer("root", "nope" as never)).rejects.toThrow(/unknown layer "nope"; layers: score/);
    await expect(svc.getLayer("missing", "score")).rejects.toThrow(/unknown sweep missing/);
  });

  it("describes a cell: exact hyperparameters, bounds, outcome with NaN as null", async () => {
    const c = await svc.getCell("root", 9);
    expect([c.ix, c.iy, c.done]).toEqual([1, 1, true]);
    expect(c.hparams).toEqual(cellHparams(spec, 9));
    expect(c.bounds).toEqual({ x0: -1 + 0.5, x1: -1 + 2 * 0.5, y0: 0, y1: 1 });
    expect(c.outcome!.trainable).toBe(0);
    expect(c.outcome!.heldout_loss).toBeNull();
    expect((await svc.getCell("root", 20)).outcome).toBeNull();
    await expect(svc.getCell("root", 32)).rejects.toThrow(/cell must be an integer in 0..31/);
  });

  it("previews a zoom snapped to the parent's cells, with its cost, and refuses bad requests", async () => {
    const p = await svc.previewZoom({ parentId: "root", window: { x0: 0.1, x1: 0.9, y0: 0.2, y1: 1.2 }, points: 16, steps: 20, target: "local" });
    expect(p.window).toEqual({ x0: 0, x1: 1, y0: 0, y1: 2 });
    expect(p.spec.parent).toEqual({ sweep: "root" });
    expect([p.spec.axes.x.points, p.spec.train.steps, p.cost.cells, p.cost.steps]).toEqual([16, 20, 256, 5120]);
    const req = { parentId: "root", window: { x0: 0, x1: 1, y0: 0, y1: 1 }, points: 16, steps: null, target: "local" };
    await expect(svc.previewZoom({ ...req, points: 1 })).rejects.toThrow(/points must be an integer ≥ 2/);
    await expect(svc.previewZoom({ ...req, target: "gpu1" })).rejects.toThrow(/unknown target "gpu1": not "local", a saved host/);
    await expect(svc.previewZoom({ ...req, window: { x0: 5, x1: 9, y0: 0, y1: 1 } })).rejects.toThrow(/does not overlap sweep root's window/);
    const clipped = await svc.previewZoom({ ...req, window: { x0: 2.2, x1: 9, y0: 0, y1: 1 } });
    expect(clipped.window).toEqual({ x0: 2, x1: 3, y0: 0, y1: 1 });
  });

  it("previews a new sweep: normalised spec and cost, or an error naming the field", async () => {
    const raw = { version: 1, name: "new", model: { family: "mlp", width: 8, activation: "tanh" }, train: { optimizer: "gd", steps: 100 },
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: 16 }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: 16 } } };
    const p = await svc.previewSweep(raw, "local");
    expect([p.spec.model.family, p.spec.criterion.window, p.cost.cells, p.cost.steps]).toEqual(["mlp", 20, 256, 25600]);
    await expect(svc.previewSweep({ ...raw, axes: { ...raw.axes, x: { ...raw.axes.x, points: 0 } } }, "local"))
      .rejects.toThrow(/^spec field axes\.x\.points: /);
    await expect(svc.previewSweep(raw, "gpu1")).rejects.toThrow(/unknown target "gpu1": not "local", a saved host/);
    expect(store.sweeps().length).toBe(1); // nothing recorded by a preview
  });

  it("renames, tags and deletes (with zooms below), telling subscribers", async () => {
    const events: ApiEvent[] = [];
    svc.subscribe((e) => events.push(e));
    store.createSweep({ id: "child", spec: validate(zoomSpec(spec, "root", { x0: 0, x1: 1, y0: 0, y1: 1 }, 4)), target: "local" });
    expect((await svc.renameSweep("root", "  renamed ")).name).toBe("renamed");
    expect((await svc.setTags("root", ["tanh", "paper", "tanh"])).tags).toEqual(["paper", "tanh"]);
    await expect(svc.setTags("root", [""])).rejects.toThrow(/non-empty strings/);
    await expect(svc.renameSweep("root", " ")).rejects.toThrow(/non-empty string/);
    // Here only: the agent's side of delete is tested against real daemons (test/ui/remote-service, transports).
    await svc.deleteSweep("root", { localOnly: true });
    expect(store.sweeps()).toEqual([]);
    expect(store.db.prepare("SELECT count(*) AS n FROM result_blocks").get()).toEqual({ n: 0 });
    expect(events.some((e) => e.type === "sweep-updated" && e.sweep.name === "renamed")).toBe(true);
    expect(events.filter((e) => e.type === "sweep-deleted").map((e) => (e as { id: string }).id).sort()).toEqual(["child", "root"]);
  });
});
