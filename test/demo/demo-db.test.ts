// resources/demo.sqlite (scripts/make-demo-db.ts) opens with this build's store and holds what its header says: the
// paper-MLP zoom sequence (a 512^2 root over 10^-2..10^5 and DEMO_ZOOM_LEVELS zooms of 256^2, each the window
// boundaryWindow picks in its parent: 1/5 of its size, on the boundary, evenly mixed, structure rather than noise),
// without stored curves but with every cell's curve recomputable here bit for bit, the score at large-map precision;
// and the tiny-GPT SFT map (LR x dataset size) with curves, base metrics and samples; every cell done, from the agent.
import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import { specWindow } from "../../src-shared/grid";
import { openStore, type Store, type SweepRow } from "../../src-main/core/store";
import {
  boundaryWindow, DEMO_MLP_ROOT_POINTS, DEMO_ROUNDED_FIELDS, DEMO_SAMPLE_TOKENS, DEMO_ZOOM_FRACTION, DEMO_ZOOM_LEVELS, DEMO_ZOOM_POINTS,
  demoSamplesCell,
} from "../../scripts/make-demo-db";
import { HELDOUT_PROMPTS, reproduced, storedSamples } from "../../src-main/core/samples";

const DEMO = fileURLToPath(new URL("../../resources/demo.sqlite", import.meta.url));

let dir: string, store: Store, sweeps: SweepRow[];
beforeAll(() => {
  // A copy: opening through the store may migrate, and the shipped file must stay as generated.
  dir = mkdtempSync(join(tmpdir(), "fractal-demo-test-"));
  copyFileSync(DEMO, join(dir, "demo.sqlite"));
  store = openStore(join(dir, "demo.sqlite"));
  sweeps = store.sweeps();
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Noise at a trainable fraction p has p^5 + (1-p)^5 of its cells agreeing with all four neighbours (1/16 at half, 0.08
 * at the deepest zoom's 0.59); the demo's levels have 0.99, 0.98, 0.89 and 0.57.
 */
const SETTLED_AT_LEAST = 0.5;

const allDone = (s: SweepRow) => {
  const done = store.loadDone(s.id);
  return done.length === s.cells && done.every((d) => d === 1);
};

it("is one small self-contained file: no WAL, so reading it writes nothing beside it", () => {
  expect(statSync(DEMO).size).toBeLessThan(5 * 2 ** 20); // docs/DESKTOP.md states its size
  const db = new Database(DEMO, { readonly: true, fileMustExist: true });
  expect(db.pragma("journal_mode", { simple: true })).toBe("delete");
  db.close();
});

/** The MLP sweeps, root first, each the only zoom of the one before. */
function mlpChain(): SweepRow[] {
  const mlp = sweeps.filter((s) => s.spec.model.family === "mlp");
  const root = mlp.filter((s) => s.parent_id === null);
  expect(root).toHaveLength(1);
  const chain = [root[0]];
  for (;;) {
    const kids = mlp.filter((s) => s.parent_id === chain[chain.length - 1].id);
    expect(kids.length).toBeLessThanOrEqual(1);
    if (!kids.length) break;
    chain.push(kids[0]);
  }
  expect(mlp).toHaveLength(chain.length);
  return chain;
}

/** Cells whose four neighbours share their outcome: 1/16 of a map at half trainable when it is noise. */
function settledFraction(t: ArrayLike<number>, nx: number, ny: number): number {
  let n = 0;
  for (let iy = 1; iy < ny - 1; iy++) {
    for (let ix = 1; ix < nx - 1; ix++) {
      const v = t[iy * nx + ix];
      if (t[iy * nx + ix - 1] === v && t[iy * nx + ix + 1] === v && t[(iy - 1) * nx + ix] === v && t[(iy + 1) * nx + ix] === v) n++;
    }
  }
  return n / ((nx - 2) * (ny - 2));
}

describe("paper-MLP zoom sequence", () => {
  it("is a 512^2 paper-MLP root and its zooms, each the boundary window its parent gives", () => {
    const chain = mlpChain();
    expect(chain).toHaveLength(1 + DEMO_ZOOM_LEVELS);
    const root = chain[0];
    expect([root.nx, root.ny]).toEqual([DEMO_MLP_ROOT_POINTS, DEMO_MLP_ROOT_POINTS]);
    expect(DEMO_MLP_ROOT_POINTS).toBeGreaterThanOrEqual(512);
    expect(root.name).toBe("paper MLP: LR(input) x LR(output)");
    expect(root.window).toEqual({ x0: -2, x1: 5, y0: -2, y1: 5 });
    chain.forEach((s, level) => {
      expect(s.spec.axes.x).toMatchObject({ param: "lr.input", scale: "log" });
      expect(s.spec.axes.y).toMatchObject({ param: "lr.output", scale: "log" });
      expect(s.spec.model).toMatchObject({ family: "mlp", width: 8, activation: "tanh", data_multiple: 1, seed: 0 });
      expect(s.spec.train).toMatchObject({ optimizer: "gd", steps: 100, batch_size: null, precision: "float64" });
      expect(s.spec.record).toEqual({ curves: false });
      expect(s.status).toBe("completed");
      expect(s.done_cells).toBe(s.cells);
      expect(allDone(s), `${s.name}: every cell done`).toBe(true);
      // Both outcomes in every map: each level is centred on the boundary.
      const t = store.loadField(s.id, "trainable");
      let trainable = 0;
      for (let i = 0; i < t.length; i++) trainable += Number(t[i]);
      expect(trainable, s.name).toBeGreaterThan(0.05 * s.cells);
      expect(trainable, s.name).toBeLessThan(0.95 * s.cells);
      if (level === 0) return;
      const p = chain[level - 1];
      expect(s.name).toBe(`paper MLP: LR(input) x LR(output) - zoom ${level} (${5 ** level}x)`);
      expect([s.nx, s.ny]).toEqual([DEMO_ZOOM_POINTS, DEMO_ZOOM_POINTS]);
      expect(s.spec.parent?.sweep).toBe(p.id);
      // The window the script's rule picks in the parent's map: 1/5 of it, on its cell edges, on the boundary.
      expect(s.window).toEqual(boundaryWindow(store.loadField(p.id, "trainable"), p.nx, p.ny, specWindow(p.spec)));
      expect((s.window.x1 - s.window.x0) / (p.window.x1 - p.window.x0)).toBeCloseTo(DEMO_ZOOM_FRACTION, 2);
      expect((s.window.y1 - s.window.y0) / (p.window.y1 - p.window.y0)).toBeCloseTo(DEMO_ZOOM_FRACTION, 2);
    });
  });

  it("shows structure at every level, the deepest included, not noise", () => {
    for (const s of mlpChain()) {
      const settled = settledFraction(store.loadField(s.id, "trainable"), s.nx, s.ny);
      expect(settled, `${s.name}: cells agreeing with their four neighbours`).toBeGreaterThan(SETTLED_AT_LEAST);
    }
  });

  it("stores no curves, the score as rounded float32 and final_loss bit for bit", () => {
    for (const s of mlpChain()) {
      expect(store.db.prepare("SELECT COUNT(*) AS n FROM curves WHERE sweep_id = ?").get(s.id)).toEqual({ n: 0 });
      const dtypes = store.fields(s.id);
      for (const f of DEMO_ROUNDED_FIELDS) expect(dtypes[f], `${s.name} ${f}`).toBe("f4");
      expect(dtypes.final_loss).toBe("f8");
    }
  });

  it("gives every cell a curve, recomputed here, with the recorded outcome", async () => {
    // A boundary cell of each level (its outcome is the most sensitive to the last bit), through the app's service
    // and the real local agent: the shipped file reproduces on this machine.
    const svc = new ApiService(store, { python: "/usr/bin/python3", localAgentHome: join(dir, "agent") });
    try {
      for (const s of mlpChain()) {
        const t = store.loadField(s.id, "trainable");
        const cell = Array.from(t).findIndex((v, i) => i + 1 < t.length && v !== t[i + 1] && (i + 1) % s.nx !== 0);
        expect((await svc.getCell(s.id, cell)).curve).toBeNull();
        const r = await svc.recomputeCurve(s.id, cell);
        // The agent pins OpenBLAS's kernel (remote-agent/fractal_agent/numerics.py), so the demo made on an AVX2 CPU
        // is the same bits on an AVX-512 one: identical, not merely "the same outcome".
        expect(r.check, `${s.name} cell ${cell}: ${r.verdict}`).toBe("identical");
        expect(r.curve.step.length).toBeGreaterThan(100);
      }
    } finally {
      svc.close();
    }
  }, 120_000);
});

describe("tiny-GPT SFT map", () => {
  it("is LR x dataset size on the tiny checkpoint, 8x4, every cell done with its loss curve", () => {
    const sft = sweeps.filter((s) => s.spec.model.family === "gpt");
    expect(sft).toHaveLength(1);
    const s = sft[0];
    expect(s.name).toBe("tiny SFT: LR x dataset size");
    expect(s.parent_id).toBeNull();
    expect(s.spec.model).toMatchObject({ family: "gpt", checkpoint: "tiny" });
    expect([s.spec.axes.x.param, s.spec.axes.y.param]).toEqual(["lr", "dataset_size"]);
    expect([s.nx, s.ny]).toEqual([8, 4]);
    expect(s.status).toBe("completed");
    expect(allDone(s)).toBe(true);
    for (let cell = 0; cell < s.cells; cell++) expect(store.curve(s.id, cell), `curve of cell ${cell}`).toBeDefined();
    // Results from the agent's run, not placeholders: a real env probe and finite losses for trainable cells.
    expect((s.env as { torch?: string }).torch).toBeTruthy();
    const trainable = store.loadField(s.id, "trainable"), loss = store.loadField(s.id, "final_loss");
    for (let i = 0; i < s.cells; i++) if (trainable[i]) expect(Number.isFinite(loss[i])).toBe(true);
  });

  it("carries the base model's held-out and OOD loss, and samples of its best trainable cell that reproduce it", () => {
    const s = sweeps.find((w) => w.spec.model.family === "gpt")!;
    expect(Number.isFinite(s.base?.heldout_loss) && Number.isFinite(s.base?.ood_loss)).toBe(true);
    // Multiple choice on a trained family and on the OOD one (generated tasks): the base model's and every cell's.
    expect(s.spec.data!.evals).toEqual(["synthetic_arithmetic:50", "synthetic_sort:50"]);
    for (const task of ["synthetic_arithmetic", "synthetic_sort"]) {
      const b = s.base!.evals[task];
      expect(b.n).toBe(50);
      expect(b.acc >= 0 && b.acc <= 1).toBe(true);
      const acc = store.loadField(s.id, `eval.${task}.acc`), trainable = store.loadField(s.id, "trainable");
      for (let i = 0; i < s.cells; i++) if (trainable[i]) expect(acc[i] >= 0 && acc[i] <= 1, `${task} acc of cell ${i}`).toBe(true);
    }
    const cell = demoSamplesCell(join(dir, "demo.sqlite"), s.id);
    const kept = storedSamples(store, s.id, cell);
    expect(kept).toHaveLength(1);
    const [k] = kept;
    expect(k.request).toEqual({ prompts: null, maxNewTokens: DEMO_SAMPLE_TOKENS });
    expect(k.samples).toHaveLength(HELDOUT_PROMPTS);
    for (const x of k.samples) expect(typeof x.reference === "string" && typeof x.base === "string" && typeof x.tuned === "string").toBe(true);
    expect(reproduced(k), `re-run ${k.finalLoss} vs recorded ${k.recordedFinalLoss}`).toBe(true);
    expect(store.db.prepare("SELECT COUNT(*) AS n FROM cell_samples").get()).toEqual({ n: 1 });
  });
});

it("holds nothing else", () => {
  expect(sweeps).toHaveLength(1 + DEMO_ZOOM_LEVELS + 1);
});
