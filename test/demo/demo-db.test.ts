// resources/demo.sqlite (scripts/make-demo-db.ts) opens with this build's store and holds what it claims: the
// paper-MLP zoom sequence (root + DEMO_ZOOM_LEVELS zooms, each inside its parent, 1/5 of its size, across the
// trainable/diverged boundary) and the tiny-GPT SFT map (LR x dataset size), every cell done, from the agent.
import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store, type SweepRow } from "../../src-main/core/store";
import { DEMO_MLP_ROOT_POINTS, DEMO_SAMPLE_TOKENS, DEMO_ZOOM_LEVELS, DEMO_ZOOM_POINTS, demoSamplesCell } from "../../scripts/make-demo-db";
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

const allDone = (s: SweepRow) => {
  const done = store.loadDone(s.id);
  return done.length === s.cells && done.every((d) => d === 1);
};

it("is one small self-contained file: no WAL, so reading it writes nothing beside it", () => {
  expect(statSync(DEMO).size).toBeLessThan(5 * 2 ** 20);
  const db = new Database(DEMO, { readonly: true, fileMustExist: true });
  expect(db.pragma("journal_mode", { simple: true })).toBe("delete");
  db.close();
});

describe("paper-MLP zoom sequence", () => {
  it("is a chain of one root and its zooms, each inside its parent around the boundary", () => {
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
    expect(chain).toHaveLength(1 + DEMO_ZOOM_LEVELS);
    expect(mlp).toHaveLength(chain.length);

    expect([chain[0].nx, chain[0].ny]).toEqual([DEMO_MLP_ROOT_POINTS, DEMO_MLP_ROOT_POINTS]);
    expect(chain[0].name).toBe("paper MLP: LR(input) x LR(output)");
    chain.forEach((s, level) => {
      expect(s.spec.axes.x.param).toBe("lr.input");
      expect(s.spec.axes.y.param).toBe("lr.output");
      expect(s.spec.model).toMatchObject({ family: "mlp", activation: "tanh" });
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
      const p = chain[level - 1], w = s.window, pw = p.window;
      expect(s.name).toBe(`paper MLP: LR(input) x LR(output) - zoom ${level} (${5 ** level}x)`);
      expect([s.nx, s.ny]).toEqual([DEMO_ZOOM_POINTS, DEMO_ZOOM_POINTS]);
      expect(w.x0 >= pw.x0 && w.x1 <= pw.x1 && w.y0 >= pw.y0 && w.y1 <= pw.y1, `${s.name} inside its parent`).toBe(true);
      expect((w.x1 - w.x0) / (pw.x1 - pw.x0)).toBeCloseTo(1 / 5, 1);
      expect((w.y1 - w.y0) / (pw.y1 - pw.y0)).toBeCloseTo(1 / 5, 1);
      expect(s.spec.parent?.sweep).toBe(p.id);
    });
  });
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
