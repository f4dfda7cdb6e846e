// recomputeCurve with the real local agent on CPU: an MLP sweep run without curves gets the curve of an inspected cell
// re-trained on this computer, and its outcome is checked against the recorded one: the same bit for bit here (the
// same machine), named field by field when a recorded value differs, and explained by where each ran. The curve is the one the sweep would have
// recorded (a twin sweep recording curves), and the `rerun` process ends when idle and with the service.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import type { RecomputedCurve, SweepSummary } from "../../src-shared/contract";
import { CellRerunner } from "../../src-main/core/rerun";
import { LocalTransport, REPO_ROOT } from "../../src-main/core/local-transport";
import { validate } from "../../src-shared/spec";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";
import { stopAgentDaemon, sweepCompleted } from "../core/helpers";

const PYTHON = "/usr/bin/python3";
// Wide enough to hold converged, slowly diverging and blown-up cells (remote-agent/tests/test_rerun.py uses it too).
const raw = (curves: boolean) => ({
  version: 1, name: `recompute ${curves ? "with" : "without"} curves`, model: { family: "mlp", width: 6, activation: "tanh" },
  train: { optimizer: "gd", steps: 60 }, criterion: { window: 5 }, record: { curves },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 4], points: 6 }, y: { param: "lr.output", scale: "log", range: [0, 2.5], points: 6 } },
});

let dir: string, store: Store, svc: ApiService, bare: SweepSummary, recorded: SweepSummary;

const finished = (id: string) => sweepCompleted(svc, id);

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
      expect(r.check, `${kind}: ${r.differences.join("; ")}`).toBe("identical");
      expect(r.differences).toEqual([]);
      // The re-run and the sweep ran here, with the agent's pinned kernel: the same numerics, named in both.
      expect(r.sameNumerics).toBe(true);
      expect(r.here).toBe(r.recorded);
      expect(r.here).toMatch(/ \(x86-64-v\d\) · .* kernel .*· torch .* · numpy .* · agent /);
      expect([r.verdict, r.warn]).toEqual(["identical to the recorded outcome (bit for bit at the stored precision)", false]);
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
      expect(r.check).toBe("identical");
      expect(Array.from(r.curve.step)).toEqual(Array.from(kept.step));
      expect(Array.from(r.curve.loss)).toEqual(Array.from(kept.loss)); // toEqual: NaN equals NaN, -0 is not 0
      expect(Array.from(r.curve.gradNorm)).toEqual(Array.from(kept.gradNorm));
    }
  }, 120_000);

  it("names each field that differs, and explains it by the numerics of the computers each ran on", async () => {
    // The same spec recorded under other ids with cells altered, as a sweep run on another CPU might differ in the
    // last bits of a cell and in the outcome of a boundary cell. "other-cpu" says it ran with another BLAS kernel
    // (an AVX-512 one, not pinned); "same-cpu" records this machine's env, where a difference is a fault.
    const { trainable: cell, untrainable } = cellsByKind(bare.id);
    const real = await svc.getCell(bare.id, cell), realU = await svc.getCell(bare.id, untrainable);
    const env = store.sweep(bare.id)!.env as { numerics: Record<string, unknown> };
    const otherEnv = { ...env, numerics: { ...env.numerics, blas_kernel: "Cooperlake", pinned: {}, not_pinned: "torch loaded first",
      key: String(env.numerics.key).replace(/\S+ kernel/, "Cooperlake kernel") } };
    const altered = real.outcome!.final_loss! * (1 + 2 ** -40);
    for (const [id, e] of [["other-cpu", otherEnv], ["same-cpu", env]] as const) {
      store.createSweep({ id, spec: validate(raw(false)), target: "local" });
      store.ingest(id, "local", [
        { seq: 1, type: "sweep", sweep: id, spec: validate(raw(false)), env: e, cells: 36 },
        {
          seq: 2, type: "tile", sweep: id, level: 0, count: 2, curves: null,
          fields: {
            cell: encodeCells([cell, untrainable]),
            trainable: encodeArray(Uint8Array.of(1, 1), "|u1"),  // the untrainable cell recorded as trainable
            stable: encodeArray(Uint8Array.of(real.outcome!.stable!, realU.outcome!.stable!), "|u1"),
            final_loss: encodeArray(Float64Array.of(altered, realU.outcome!.final_loss ?? NaN), "<f8"),
          },
        },
      ]);
    }
    const lastBits = await svc.recomputeCurve("other-cpu", cell);
    expect(lastBits.check).toBe("last-bits");
    expect(lastBits.differences).toEqual([`final_loss: recomputed ${real.outcome!.final_loss}, recorded ${altered}`]);
    expect(lastBits.sameNumerics).toBe(false);
    expect(lastBits.warn).toBe(false);
    expect(lastBits.verdict).toMatch(/^the same outcome, its last bits different \(final_loss: .*\), because this computer's numerics differ from the recording computer's \(.* Haswell kernel here, .* Cooperlake kernel there\)/);
    expect(lastBits.recorded).toContain("Cooperlake kernel, not pinned");

    const flipped = await svc.recomputeCurve("other-cpu", untrainable);
    expect(flipped.check).toBe("outcome");
    expect(flipped.differences[0]).toBe("trainable: recomputed 0, recorded 1");
    expect(flipped.verdict).toMatch(/^a different outcome \(trainable: recomputed 0, recorded 1.*\): expected for a cell on the chaotic boundary when numerics differ, and /);
    expect(flipped.boundaryDistance).toBeNull(); // only two cells recorded, both trainable: no other outcome near it
    expect(flipped.warn).toBe(true);

    const fault = await svc.recomputeCurve("same-cpu", cell);
    expect([fault.check, fault.sameNumerics, fault.warn]).toEqual(["last-bits", true, true]);
    expect(fault.verdict).toContain("The determinism guarantee rules this out");
    const notDone = Array.from({ length: 36 }, (_, c) => c).find((c) => c !== cell && c !== untrainable)!;
    expect((await svc.recomputeCurve("other-cpu", notDone)).check).toBe("not-recorded");
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
      expect(tiles.map((t) => t.tile.cells[0])).toEqual([3, 17, 30]);
      expect(runner.running).toBe(true);
      for (let i = 0; i < 100 && runner.running; i++) await new Promise((r) => setTimeout(r, 100));
      expect(runner.running, "idle process ended").toBe(false);
      expect((await runner.run(spec, 5)).tile.cells[0]).toBe(5);
    } finally {
      runner.close();
      for (let i = 0; i < 100 && runner.running; i++) await new Promise((r) => setTimeout(r, 100));
    }
    expect(runner.running).toBe(false);
    await expect(runner.run(spec, 1)).rejects.toThrow(/closing/);
  }, 120_000);
});
