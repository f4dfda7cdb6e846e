// recomputeCurve with the real local agent on CPU: an MLP sweep run without curves gets the curve of an inspected cell
// re-trained on this computer, and its outcome is checked against the recorded one: the same bit for bit here (the
// same machine), named field by field when a recorded value differs. The curve is the one the sweep would have
// recorded (a twin sweep recording curves), and the `rerun` process ends when idle and with the service.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import type { RecomputedCurve, SweepSummary } from "../../src-main/api/contract";
import { CellRerunner } from "../../src-main/core/rerun";
import { LocalTransport, REPO_ROOT } from "../../src-main/core/local-transport";
import { validate } from "../../src-main/core/spec";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";
import { stopAgentDaemon } from "../core/helpers";

const PYTHON = "/usr/bin/python3";
// Wide enough to hold converged, slowly diverging and blown-up cells (remote-agent/tests/test_rerun.py uses it too).
const raw = (curves: boolean) => ({
  version: 1, name: `recompute ${curves ? "with" : "without"} curves`, model: { family: "mlp", width: 6, activation: "tanh" },
  train: { optimizer: "gd", steps: 60 }, criterion: { window: 5 }, record: { curves },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 4], points: 6 }, y: { param: "lr.output", scale: "log", range: [0, 2.5], points: 6 } },
});

let dir: string, store: Store, svc: ApiService, bare: SweepSummary, recorded: SweepSummary;

async function finished(id: string): Promise<SweepSummary> {
  for (let i = 0; i < 1200; i++) {
    const s = await svc.getSweep(id);
    if (s.status === "completed") return s;
    if (s.status === "failed") throw new Error(`sweep ${id} failed: ${s.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sweep ${id} did not complete`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fractal-recompute-"));
  store = openStore(join(dir, "db.sqlite"));
  svc = new ApiService(store, { python: PYTHON, localAgentHome: join(dir, "agent"), pollMs: 50 });
  bare = await finished((await svc.startSweep(raw(false), "local")).id);
  recorded = await finished((await svc.startSweep(raw(true), "local")).id);
}, 300_000);

afterAll(async () => {
  svc?.close();
  await stopAgentDaemon(join(dir, "agent"));
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Cells of the map by outcome, so every kind is re-run. */
function cellsByKind(id: string): { trainable: number; untrainable: number; blownUp: number } {
  const t = store.loadField(id, "trainable"), st = store.loadField(id, "stable");
  const find = (f: (i: number) => boolean) => {
    const i = Array.from(t).findIndex((_, k) => f(k));
    expect(i, "the map holds that outcome").toBeGreaterThanOrEqual(0);
    return i;
  };
  return { trainable: find((i) => t[i] === 1), untrainable: find((i) => t[i] === 0 && st[i] === 1), blownUp: find((i) => st[i] === 0) };
}

describe("recomputeCurve", () => {
  it("re-trains an MLP cell the sweep kept no curve of, and finds the recorded outcome bit for bit", async () => {
    const kinds = cellsByKind(bare.id);
    for (const [kind, cell] of Object.entries(kinds)) {
      const d = await svc.getCell(bare.id, cell);
      expect(d.curve, "the sweep recorded no curves").toBeNull();
      const r: RecomputedCurve = await svc.recomputeCurve(bare.id, cell);
      expect([r.sweepId, r.cell, r.where], kind).toEqual([bare.id, cell, "this computer (CPU)"]);
      expect(r.check, `${kind}: ${r.differences.join("; ")}`).toBe("same");
      expect(r.differences).toEqual([]);
      for (const f of ["trainable", "stable", "divergence_step", "final_loss", "first_loss", "score"]) {
        expect(r.outcome[f], `${kind} ${f}`).toBe(d.outcome![f]);
      }
      // The curve is the training run of that outcome: from the first loss to the final one (float32), every step.
      const { step, loss, gradNorm } = r.curve;
      expect([step[0], step[step.length - 1], loss.length, gradNorm.length]).toEqual([0, 60, step.length, step.length]);
      expect(loss[0]).toBe(Math.fround(d.outcome!.first_loss!));
      if (d.outcome!.final_loss !== null) expect(loss[loss.length - 1]).toBe(Math.fround(d.outcome!.final_loss));
    }
  }, 120_000);

  it("is the curve the sweep records when it keeps curves", async () => {
    const { blownUp, trainable } = cellsByKind(recorded.id);
    for (const cell of [trainable, blownUp]) {
      const kept = (await svc.getCell(recorded.id, cell)).curve!;
      const r = await svc.recomputeCurve(recorded.id, cell);
      expect(r.check).toBe("same");
      expect(Array.from(r.curve.step)).toEqual(Array.from(kept.step));
      expect(Array.from(r.curve.loss)).toEqual(Array.from(kept.loss)); // toEqual: NaN equals NaN, -0 is not 0
      expect(Array.from(r.curve.gradNorm)).toEqual(Array.from(kept.gradNorm));
    }
  }, 120_000);

  it("names each field where the recorded outcome differs from the re-run", async () => {
    // The same spec recorded under another id with one cell's final loss and trainable flag altered, as a sweep run on
    // other hardware might differ in the last bits of a boundary cell.
    const cell = cellsByKind(bare.id).trainable;
    const real = await svc.getCell(bare.id, cell);
    store.createSweep({ id: "altered", spec: validate(raw(false)), target: "local" });
    const altered = real.outcome!.final_loss! * (1 + 2 ** -40);
    store.ingest("altered", "local", [{
      seq: 1, type: "tile", sweep: "altered", level: 0, count: 1, curves: null,
      fields: {
        cell: encodeCells([cell]),
        trainable: encodeArray(Uint8Array.of(0), "|u1"),
        stable: encodeArray(Uint8Array.of(real.outcome!.stable!), "|u1"),
        final_loss: encodeArray(Float64Array.of(altered), "<f8"),
      },
    }]);
    const r = await svc.recomputeCurve("altered", cell);
    expect(r.check).toBe("differs");
    expect(r.differences).toEqual([`trainable: recomputed 1, recorded 0`, `final_loss: recomputed ${real.outcome!.final_loss}, recorded ${altered}`]);
    const notDone = (cell + 1) % 36;
    expect((await svc.recomputeCurve("altered", notDone)).check).toBe("not-recorded");
  }, 120_000);

  it("refuses other families, cells outside the map and unknown sweeps, naming the problem", async () => {
    const gpt = JSON.parse(readFileSync(join(REPO_ROOT, "test/fixtures/specs/valid/gpt-tiny-sft-lr-dataset.json"), "utf8"));
    store.createSweep({ id: "sft", target: "local", spec: validate(gpt) });
    await expect(svc.recomputeCurve("sft", 0)).rejects.toThrow(/trains the gpt model; only MLP cells are re-run .* record them with the sweep/);
    await expect(svc.recomputeCurve(bare.id, 36)).rejects.toThrow(/cell must be an integer in 0\.\.35/);
    await expect(svc.recomputeCurve("nope", 0)).rejects.toThrow(/unknown sweep nope/);
  });
});

describe("the rerun process", () => {
  it("answers concurrent requests in order, ends after its idle time, and starts again when asked", async () => {
    const spec = validate(raw(false));
    const runner = new CellRerunner(async () => new LocalTransport({ python: PYTHON, home: join(dir, "agent") }), 300);
    try {
      const tiles = await Promise.all([3, 17, 30].map((c) => runner.run(spec, c)));
      expect(tiles.map((t) => t.cells[0])).toEqual([3, 17, 30]);
      expect(runner.running).toBe(true);
      for (let i = 0; i < 100 && runner.running; i++) await new Promise((r) => setTimeout(r, 100));
      expect(runner.running, "idle process ended").toBe(false);
      expect((await runner.run(spec, 5)).cells[0]).toBe(5);
    } finally {
      runner.close();
      for (let i = 0; i < 100 && runner.running; i++) await new Promise((r) => setTimeout(r, 100));
    }
    expect(runner.running).toBe(false);
    await expect(runner.run(spec, 1)).rejects.toThrow(/closing/);
  }, 120_000);
});
