// getAnalysis over a real SQLite store holding a synthetic map with a known edge: trainable iff
// x < -1 - 0.5 y (axis units, log10 of both learning rates), so the edge is a straight line (dimension 1) and the
// largest trainable x per row follows a power law with exponent -0.5.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import { cellCentre, zoomSpec } from "../../src-shared/grid";
import { type Spec, validate } from "../../src-shared/spec";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";

const N = 64;
const edgeX = (y: number) => -1 - 0.5 * y;
const spec = validate({
  version: 1, name: "edge", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 30 },
  axes: { x: { param: "lr.input", scale: "log", range: [-4, 1], points: N }, y: { param: "lr.output", scale: "log", range: [0, 3], points: N } },
});

/** Every cell of `s` done, trainable (and stable) by the rule. */
function fill(store: Store, id: string, s: Spec): void {
  const n = s.axes.x.points * s.axes.y.points;
  const cells = Array.from({ length: n }, (_, i) => i);
  const ok = cells.map((i) => {
    const ix = i % s.axes.x.points, iy = Math.floor(i / s.axes.x.points);
    return cellCentre(s.axes.x, ix) < edgeX(cellCentre(s.axes.y, iy)) ? 1 : 0;
  });
  store.ingest(id, "local", [{
    seq: 1, type: "tile", sweep: id, level: 0, count: n, curves: null,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(Uint8Array.from(ok), "|u1"),
      stable: encodeArray(Uint8Array.from(ok), "|u1"),
      score: encodeArray(Float64Array.from(ok, (o) => (o ? -1 : 1)), "<f8"),
      final_loss: encodeArray(Float64Array.from(ok, (o) => (o ? 0.1 : Infinity)), "<f8"),
      heldout_loss: encodeArray(new Float64Array(n).fill(NaN), "<f8"),
    },
  }]);
}

let dir: string, store: Store, svc: ApiService;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-analysis-"));
  store = openStore(join(dir, "db.sqlite"));
  store.createSweep({ id: "root", spec, target: "local" });
  fill(store, "root", spec);
  // A zoom onto the middle of the edge, and a sweep with no results yet.
  const child = validate(zoomSpec(spec, "root", { x0: -2.5, x1: -1, y0: 0.5, y1: 2 }, 48));
  store.createSweep({ id: "child", spec: child, target: "local" });
  fill(store, "child", child);
  store.createSweep({ id: "empty", spec: validate({ ...spec, name: "empty" }), target: "local" });
  svc = new ApiService(store, { pollMs: 1000 });
});
afterAll(() => {
  svc.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("getAnalysis", () => {
  it("measures a straight edge as dimension 1 and plots its box counts", async () => {
    const a = await svc.getAnalysis("root", { layer: "trainable", sequence: true });
    expect(a.levels.map((l) => l.sweepId)).toEqual(["root"]);
    expect(a.sequence).toBeNull();
    const paper = a.levels[0].paper;
    if (!paper.ok) throw new Error(paper.reason);
    expect(Math.abs(paper.value.dimension - 1)).toBeLessThan(0.15);
    expect(paper.value.sizes.length).toBe(paper.value.counts.length);
    expect(paper.value.localSlopes.length).toBe(paper.value.sizes.length - 1);
    expect(a.plotSvg).toMatch(/^<svg[\s\S]*D = 1\.\d{3}[\s\S]*<\/svg>$/);
  });

  it("recovers the power law of the edge with a 95% interval, and draws it and the boundary in axis units", async () => {
    const a = await svc.getAnalysis("root", { layer: "trainable", sequence: false });
    if (!a.powerLaw.ok) throw new Error(a.powerLaw.reason);
    const law = a.powerLaw.value;
    expect(law.exponent).toBeCloseTo(-0.5, 1);
    expect(law.exponentCI[0]).toBeLessThan(-0.5);
    expect(law.exponentCI[1]).toBeGreaterThan(-0.5);
    expect(law.intercept).toBeCloseTo(-1, 1);
    for (const [x, y] of law.curve) expect(Math.abs(x - edgeX(y))).toBeLessThan(0.1);
    // Each row's edge is the last trainable cell's centre, within a cell of the true edge.
    const w = 5 / N;
    expect(a.edge.length).toBe(N);
    for (const e of a.edge) {
      expect(e.x).toBeLessThan(edgeX(e.y));
      expect(e.x + w).toBeGreaterThanOrEqual(edgeX(e.y));
    }
    // One open polyline crossing the map along the edge, on cell edges between a trainable and an untrainable cell.
    expect(a.boundary.length).toBe(1);
    expect(a.boundary[0].closed).toBe(false);
    for (const [x, y] of a.boundary[0].points) expect(Math.abs(x - edgeX(y))).toBeLessThan(1.5 * w);
  });

  it("pools a zoom path and gives each level its own estimate", async () => {
    const a = await svc.getAnalysis("child", { layer: "stable", sequence: true });
    expect(a.levels.map((l) => l.sweepId)).toEqual(["root", "child"]);
    if (!a.sequence?.ok) throw new Error(JSON.stringify(a.sequence));
    expect(Math.abs(a.sequence.value.dimension - 1)).toBeLessThan(0.15);
    for (const l of a.levels) expect(l.paper.ok && Math.abs(l.paper.value.dimension - 1)).toBeLessThan(0.15);
    expect(a.plotSvg).toContain("level 1: D = ");
    // The boundary is the child's, inside its window.
    for (const [x, y] of a.boundary.flatMap((l) => l.points)) {
      expect(x).toBeGreaterThanOrEqual(-2.5);
      expect(y).toBeLessThanOrEqual(2);
    }
  });

  it("says why a number cannot be computed, and refuses bad options", async () => {
    const a = await svc.getAnalysis("empty", { layer: "trainable", sequence: false });
    expect(a.levels[0].paper).toEqual({ ok: false, reason: expect.stringMatching(/incomplete \(0 of 4096 cells done\)/) });
    expect(a.powerLaw).toEqual({ ok: false, reason: expect.stringMatching(/too few rows: 0 of \d+ rows are done and cross/) });
    expect(a.plotSvg).toBeNull();
    await expect(svc.getAnalysis("root", { layer: "score" as never, sequence: false })).rejects.toThrow(/layer must be trainable or stable/);
    await expect(svc.getAnalysis("nope", { layer: "trainable", sequence: false })).rejects.toThrow(/unknown sweep nope/);
  });
});
