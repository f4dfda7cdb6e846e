// Every number with its uncertainty, from the app's API, over a real SQLite store holding synthetic maps (no agent):
// getAnalysis's paper estimate, intervals and half-resolution bias; a paper-method Table 1 reproduction read back from
// its sweeps; the sensitivity comparison with a companion (flip / same / not computed per cell); the files exportSweep
// makes; early warning over recorded curves. Each expected value is computed here by the analysis functions on the
// same masks, or by hand, never copied from a run.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiService } from "../../src-main/api/service";
import { earlyWarning } from "../../src-main/analysis/earlywarning";
import { fractalDimension } from "../../src-main/analysis/dimension";
import { layerMask } from "../../src-main/analysis/map";
import { paperDimension } from "../../src-main/analysis/paper-dimension";
import { decodePngRgba } from "../../src-main/analysis/png";
import { sensitivity } from "../../src-main/analysis/sensitivity";
import { halfResolution } from "../../src-main/analysis/uncertainty";
import { openStore, type Store } from "../../src-main/core/store";
import { sweepMap, sweepTraces } from "../../src-main/core/sweep-maps";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";
import { prepareSweep } from "../../src-main/launch/launch";
import { experimentSpec, keyframeCentre, keyframeSpec, paperKeyframes } from "../../src-main/launch/reproduce";
import { companionOf } from "../../src-main/launch/sensitivity";
import { cellCentre } from "../../src-shared/grid";
import { type Spec, validate } from "../../src-shared/spec";
import { FLIP, NOT_COMPUTED, SAME } from "../../src-shared/contract";

/** A boundary with structure at every scale the maps resolve: trainable where a sum of sines of decreasing period is positive. */
const rough = (x: number, y: number) => y - 1.5 + 0.3 * Math.sin(7 * x) + 0.1 * Math.sin(31 * x + 1) + 0.04 * Math.sin(113 * x + 2) > 0;

/** Every cell of `s` (or those `only` keeps) done by `rule` in axis units; then the sweep completed (unless `only`). */
function fill(store: Store, id: string, s: Spec, rule: (x: number, y: number) => boolean, o: { only?: (cell: number) => boolean; curves?: boolean } = {}): void {
  const nx = s.axes.x.points, ny = s.axes.y.points;
  const cells = Array.from({ length: nx * ny }, (_, i) => i).filter((i) => !o.only || o.only(i));
  const ok = cells.map((i) => (rule(cellCentre(s.axes.x, i % nx), cellCentre(s.axes.y, Math.floor(i / nx))) ? 1 : 0));
  const n = cells.length;
  const P = 5;
  // Curves whose grad norm grows 100x at step 1 exactly in the cells that do not train, and in every 7th that does.
  const curves = o.curves ? {
    points: P,
    step: encodeArray(Int32Array.from([0, 1, 2, 3, 4]), "<i4"),
    loss: encodeArray(Float32Array.from(cells.flatMap((_, k) => (ok[k] ? [1, 0.9, 0.8, 0.7, 0.6] : [1, 1, 1, 1, 1]))), "<f4", [n, P]),
    grad_norm: encodeArray(Float32Array.from(cells.flatMap((c, k) => (!ok[k] || c % 7 === 0 ? [1, 100, 100, 100, 100] : [1, 1, 1, 1, 1]))), "<f4", [n, P]),
  } : null;
  store.ingest(id, "local", [{
    seq: 1, type: "tile", sweep: id, level: 0, count: n, curves,
    fields: {
      cell: encodeCells(cells), trainable: encodeArray(Uint8Array.from(ok), "|u1"), stable: encodeArray(Uint8Array.from(ok), "|u1"),
      score: encodeArray(Float64Array.from(ok, (v) => (v ? -1 : 1)), "<f8"),
      final_loss: encodeArray(Float64Array.from(ok, (v) => (v ? 0.1 : Infinity)), "<f8"),
    },
  }]);
  if (!o.only) store.setStatus(id, "completed");
}

const spec = validate({
  version: 1, name: "rough edge", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 40 },
  axes: { x: { param: "lr.input", scale: "log", range: [0, 3], points: 64 }, y: { param: "lr.output", scale: "log", range: [0, 3], points: 64 } },
  record: { curves: true },
});

let dir: string, store: Store, svc: ApiService;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-uncertainty-"));
  store = openStore(join(dir, "db.sqlite"));
  store.createSweep({ id: "rough", spec, target: "local" });
  fill(store, "rough", spec, rough, { curves: true });
  svc = new ApiService(store, { pollMs: 1000, home: dir });
});
afterAll(() => {
  svc.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("getAnalysis: every number with what it is and its uncertainty", () => {
  it("gives the paper's estimate with its interval beside the project's, as the estimators measure the same mask", async () => {
    const a = await svc.getAnalysis("rough", { layer: "trainable", sequence: false });
    const mask = layerMask(sweepMap(store, "rough"), "trainable");
    const paper = paperDimension([mask]);
    if (!a.paperMethod.ok) throw new Error(a.paperMethod.reason);
    expect(a.paperMethod.value).toEqual({ dimension: paper.dimension, ci: paper.ci, frames: 1, sizes: paper.keyframes[0].sizes, dropped: paper.dropped });
    expect(a.paperMethod.value.sizes[0]).toBe(10); // porespy's smallest box
    if (!a.projectCi.ok) throw new Error(a.projectCi.reason);
    const project = fractalDimension(mask).dimension;
    expect(a.projectCi.value[0]).toBeLessThanOrEqual(project);
    expect(a.projectCi.value[1]).toBeGreaterThanOrEqual(project);
    expect(a.projectCi.value[1]).toBeGreaterThan(a.projectCi.value[0]); // a rough edge's slopes differ: a real interval
    expect(a.sequenceCi).toBeNull(); // one sweep, no zoom path
  });

  it("measures the same window at half the resolution (every second cell) and gives the difference", async () => {
    const a = await svc.getAnalysis("rough", { layer: "trainable", sequence: false });
    const mask = layerMask(sweepMap(store, "rough"), "trainable");
    const half = halfResolution(mask);
    expect(half.width).toBe(32);
    expect(half.data[3 * 32 + 5]).toBe(mask.data[6 * 64 + 10]); // cell (2i, 2j)
    const b = a.resolutionBias;
    expect(b.full).toEqual({ nx: 64, ny: 64 });
    expect(b.half).toEqual({ nx: 32, ny: 32 });
    if (!b.project.ok || !b.paper.ok) throw new Error("both estimators measure a 32² rough edge");
    expect(b.project.value.full).toBe(fractalDimension(mask).dimension);
    expect(b.project.value.half).toBe(fractalDimension(half).dimension);
    expect(b.project.value.difference).toBeCloseTo(b.project.value.half - b.project.value.full, 12);
    expect(b.paper.value.half).toBe(paperDimension([half]).dimension);
    expect(b.paper.value.halfCi).toEqual(paperDimension([half]).ci);
  });
});

describe("the paper's method in the Table 1 report", () => {
  it("refuses a bad method or keyframes without the paper's method", async () => {
    const req = { name: "tanh-single", points: 16, levels: 0, target: "local" };
    await expect(svc.startReproduction({ ...req, method: "box" as never })).rejects.toThrow(/method must be "project".*or "paper"/);
    await expect(svc.startReproduction({ ...req, keyframes: 3 })).rejects.toThrow(/keyframes apply to method "paper" only/);
    await expect(svc.startReproduction({ ...req, method: "paper", keyframes: 0 })).rejects.toThrow(/keyframes must be a whole number from 1 to 64/);
  });

  it("reads a paper-method reproduction back from its sweeps: D and interval over the keyframes, the method and resolution named", async () => {
    // The root of tanh-single at 16² and two of its keyframes, as `reproduce --method paper --keyframes 2` records them.
    const root = experimentSpec("tanh-single", 16);
    const rootId = (await prepareSweep(store, root, "local", false)).id;
    store.createSweep({ id: rootId, spec: root, target: "local" });
    fill(store, rootId, root, rough);
    const centre = keyframeCentre(root, layerMask(sweepMap(store, rootId), "trainable"))!;
    const windows = paperKeyframes(centre, { x0: 0, x1: 3, y0: 0, y1: 3 }, 2);
    const ids: string[] = [];
    for (const [k, w] of windows.entries()) {
      const s = keyframeSpec("tanh-single", 16, w, k);
      const id = (await prepareSweep(store, s, "local", false)).id;
      store.createSweep({ id, spec: s, target: "local" });
      fill(store, id, s, rough);
      ids.push(id);
    }
    const list = await svc.listReproductions();
    const paper = list.find((r) => r.method === "paper")!;
    const project = list.find((r) => r.method === "project")!;
    expect(project.rootId).toBe(rootId);
    expect(project.id).toBe(rootId);
    const d = paperDimension(ids.map((id) => layerMask(sweepMap(store, id), "trainable")));
    expect(paper).toMatchObject({
      id: `${rootId}:paper`, rootId, state: "completed", dimension: d.dimension, ci: d.ci, difference: d.dimension - 1.41,
      resolution: "16² × 2 keyframes (2× apart)",
    });
    expect(paper.estimator).toMatch(/^paper's method: porespy boxcount on the edge image, \d+ sizes 10–15 px/);
    expect(paper.levels.map((l) => [l.kind, l.sweepId])).toEqual([["root", rootId], ["keyframe", ids[0]], ["keyframe", ids[1]]]);
    expect(project.resolution).toBe("16² × 1 level (root + 0 zooms, each ¼ of its parent)");
    expect(project.ci![0]).toBeLessThanOrEqual(project.dimension!);
    expect(project.ci![1]).toBeGreaterThanOrEqual(project.dimension!);
  });
});

describe("the sensitivity layer", () => {
  it("has nothing to compare before the companion is recorded, and refuses a sweep that is not complete", async () => {
    const r = await svc.getSensitivity("rough", "precision");
    expect(r).toMatchObject({ state: "none", change: "train.precision float64 -> float32", boundaryFlipFraction: null });
    expect(r.flips.every((v) => v === NOT_COMPUTED)).toBe(true);
    store.createSweep({ id: "half-done", spec: validate({ ...spec, name: "half done" }), target: "local" });
    await expect(svc.startSensitivity("half-done", "seed")).rejects.toThrow(/sweep half-done is created: its companion is compared once it has completed/);
    await expect(svc.getSensitivity("rough", "bits" as never)).rejects.toThrow(/perturbation must be precision or seed/);
  });

  it("marks each cell flip, same or not computed while the companion fills in, and counts the boundary's flips", async () => {
    // The companion moves the edge by a little (a flip band along it) and has done every cell but the top rows.
    const { id: cid, spec: cspec } = await companionOf(store, store.sweep("rough")!, "seed");
    store.createSweep({ id: cid, spec: cspec, target: "local" });
    fill(store, cid, cspec, (x, y) => rough(x, y - 0.05), { only: (c) => c < 60 * 64 });
    const r = await svc.getSensitivity("rough", "seed");
    expect(r).toMatchObject({ companionId: cid, state: store.sweep(cid)!.status, doneCells: 60 * 64, cells: 64 * 64, change: "model.seed 0 -> 1" });
    const s = sensitivity(sweepMap(store, "rough"), sweepMap(store, cid));
    expect([r.boundaryCells, r.boundaryFlips, r.interiorCells, r.interiorFlips]).toEqual([s.boundaryCells, s.boundaryFlips, s.interiorCells, s.interiorFlips]);
    expect(r.boundaryFlips).toBeGreaterThan(0);
    expect(r.boundaryFlipFraction).toBe(s.boundaryFlips / s.boundaryCells);
    expect(r.flips[63 * 64]).toBe(NOT_COMPUTED); // top row: the companion has not done it
    // deep inside the trainable region (top-left of the done part) nothing flips; a flipped cell is one where the outcomes differ
    const a = sweepMap(store, "rough").trainable, b = sweepMap(store, cid).trainable;
    for (let i = 0; i < 60 * 64; i++) expect(r.flips[i]).toBe(a[i] !== b[i] ? FLIP : SAME);
  });
});

describe("files and early warning from the app", () => {
  it("exports the map as CSV, JSON and PNG and the report as HTML and Markdown", async () => {
    const csv = await svc.exportSweep("rough", { format: "csv" });
    const lines = new TextDecoder().decode(csv.data).trim().split("\n");
    expect(lines[0]).toMatch(/^ix,iy,x,y,trainable,stable,score,/);
    expect(lines.length - 1).toBe(64 * 64);
    expect(csv).toMatchObject({ name: "rough-edge-rough.csv", mime: "text/csv", cells: 64 * 64 });
    const json = JSON.parse(new TextDecoder().decode((await svc.exportSweep("rough", { format: "json" })).data));
    expect(json.fields.trainable.reduce((n: number, v: number) => n + v, 0)).toBe(layerMask(sweepMap(store, "rough"), "trainable").data.reduce((n, v) => n + v, 0));
    const png = decodePngRgba((await svc.exportSweep("rough", { format: "png", layer: "trainable" })).data);
    expect(png.width).toBeGreaterThanOrEqual(64);
    const html = new TextDecoder().decode((await svc.exportSweep("rough", { format: "html", layer: "trainable" })).data);
    expect(html).toMatch(/^<!doctype html>/i);
    expect(html).toContain("data:image/png;base64,");
    const md = await svc.exportSweep("rough", { format: "md" });
    expect(md.name).toBe("rough-edge-rough.md");
    expect(new TextDecoder().decode(md.data)).toMatch(/^# rough edge[\s\S]*!\[[^\]]*\]\(data:image\/png;base64,/);
    await expect(svc.exportSweep("rough", { format: "pdf" as never })).rejects.toThrow(/format must be one of csv, json, png, html, md/);
    await expect(svc.exportSweep("rough", { format: "html", layer: "score" })).rejects.toThrow(/trainable or stable boundary/);
  });

  it("checks early warning over the recorded curves as the analysis does, and names the fix when there are none", async () => {
    const r = await svc.getEarlyWarning("rough", { layer: "trainable" });
    const { traces, totalSteps } = sweepTraces(store, "rough");
    const e = earlyWarning(sweepMap(store, "rough"), traces, { totalSteps, layer: "trainable" });
    expect(r.cells).toBe(64 * 64);
    expect(r.gradNorm.recall).toBe(1); // every cell that did not train grew its grad norm
    expect(r.gradNorm.precision).toBe(e.gradNorm.precision);
    expect(r.gradNorm.precision!).toBeLessThan(1); // every 7th trainable cell raised it too
    expect(r.lossSpike.precision).toBeNull(); // no loss spiked: nothing flagged, no precision (JSON has no NaN)
    store.createSweep({ id: "no-curves", spec: validate({ ...spec, name: "no curves", record: { curves: false } }), target: "local" });
    fill(store, "no-curves", store.sweep("no-curves")!.spec, rough);
    await expect(svc.getEarlyWarning("no-curves", { layer: "trainable" })).rejects.toThrow(/recorded no per-cell curves.*"record": \{"curves": true\}/);
  });
});
