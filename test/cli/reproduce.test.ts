// `fractal-llm reproduce`: the Table 1 list, and a tiny reproduction end to end through the real agent (root map
// and one zoom of the cheapest experiment): the table beside the paper's number, and the zoom window on the boundary.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validate } from "../../src-shared/spec";
import { experimentSpec } from "../../src-main/launch/reproduce";
import { openStore } from "../../src-main/core/store";
import { sweepMap } from "../../src-main/core/sweep-maps";
import { cellEdge } from "../../src-shared/grid";
import { stopAgentDaemon, tempDir } from "../core/helpers";
import { PYTHON, run } from "./helpers";

const homes: string[] = [];
afterAll(async () => { for (const h of homes) await stopAgentDaemon(h); });

describe("fractal-llm reproduce", () => {
  it("--list --json gives the six experiments with the paper's dimensions and complete specs", async () => {
    const r = await run(["reproduce", "--list", "--json"], {});
    expect(r.code, r.stderr).toBe(0);
    const { experiments } = JSON.parse(r.stdout) as { experiments: { name: string; paper_dimension: number; spec: object }[] };
    expect(experiments.map((e) => e.paper_dimension)).toEqual([1.17, 1.2, 1.41, 1.55, 1.66, 1.98]);
    for (const e of experiments) {
      expect(Object.keys(e).sort()).toEqual(["name", "paper_dimension", "spec"]);
      expect(validate(structuredClone(e.spec))).toEqual(e.spec); // complete: already normalised
      const s = e.spec as { model: { width: number; family: string }; train: { precision: string } };
      expect([s.model.family, s.model.width, s.train.precision]).toEqual(["mlp", 16, "float64"]);
    }
    const offset = experiments.find((e) => e.name === "tanh-init-offset")!.spec as { model: Record<string, unknown>; axes: { x: { param: string } } };
    expect(offset.model.init_offset_form).toBe("every_step");
    expect(offset.axes.x.param).toBe("init_offset");
  });

  it("reproduces one experiment at 16x16 with one zoom: the table, and a zoom window on the root map's boundary", async () => {
    const dir = tempDir("fractal-reproduce-");
    const home = join(dir, "agent-home");
    homes.push(home);
    const env = { FRACTAL_AGENT_HOME: home };
    const db = join(dir, "db.sqlite");
    const args = ["reproduce", "tanh-single", "--points", "16", "--levels", "1", "--python", PYTHON, "--db", db];
    const r = await run([...args, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    const res = out.results[0];
    expect(res.name).toBe("tanh-single");
    expect(res.paper_dimension).toBe(1.41);
    expect(res.error).toBeNull();
    expect(res.levels).toHaveLength(2);
    expect(Number.isFinite(res.dimension)).toBe(true);
    expect(res.dimension).toBeGreaterThan(0.5);
    expect(res.dimension).toBeLessThan(2.1);

    const store = openStore(db);
    try {
      const root = sweepMap(store, res.levels[0].sweep);
      const c = res.levels[1].parent_cells;
      expect(c.w).toBe(4); // a quarter of the parent's side
      let ones = 0;
      for (let j = c.j0; j < c.j0 + c.h; j++) for (let i = c.i0; i < c.i0 + c.w; i++) ones += root.trainable[j * 16 + i];
      expect(ones).toBeGreaterThan(0); // the window holds both outcomes: it lies on the boundary
      expect(ones).toBeLessThan(c.w * c.h);
      const rootSpec = store.sweep(res.levels[0].sweep)!.spec;
      const child = store.sweep(res.levels[1].sweep)!;
      expect(child.parent_id).toBe(res.levels[0].sweep);
      expect(child.spec.axes.x.range).toEqual([cellEdge(rootSpec.axes.x, c.i0), cellEdge(rootSpec.axes.x, c.i0 + c.w)]);
      expect(child.spec.axes.y.range).toEqual([cellEdge(rootSpec.axes.y, c.j0), cellEdge(rootSpec.axes.y, c.j0 + c.h)]);
    } finally {
      store.close();
    }

    const again = await run(args, env); // the same command again: both maps come from the store, the table is printed
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("from the store");
    expect(again.stdout).toMatch(/tanh-single\s+1\.41\s+\d\.\d\d\s+[+-]\d\.\d\d\s+2\s/);
  }, 600_000);

  it("reproduces one experiment the paper's way: concentric keyframes 2x apart about a point on the root's boundary, D with a CI", async () => {
    const dir = tempDir("fractal-reproduce-paper-");
    const home = join(dir, "agent-home");
    homes.push(home);
    const env = { FRACTAL_AGENT_HOME: home };
    const db = join(dir, "db.sqlite");
    const args = ["reproduce", "tanh-single", "--method", "paper", "--points", "16", "--keyframes", "2", "--python", PYTHON, "--db", db];
    const r = await run([...args, "--json"], env);
    expect(r.code === 0 || r.code === 1, r.stderr).toBe(true);
    const out = JSON.parse(r.stdout);
    expect([out.method, out.points, out.keyframes]).toEqual(["paper", 16, 2]);
    const res = out.results[0];
    expect(res.keyframes).toHaveLength(2);
    const store = openStore(db);
    try {
      const rootSpec = experimentSpec("tanh-single", 16);
      const [k0, k1] = res.keyframes as { window: { x0: number; x1: number; y0: number; y1: number }; sweep: string; boxes: { sizes: number[]; slopes: number[] } }[];
      const mid = (w: typeof k0.window) => [(w.x0 + w.x1) / 2, (w.y0 + w.y1) / 2];
      expect(mid(k0.window)).toEqual([res.centre.x, res.centre.y]);
      expect(mid(k1.window)[0]).toBeCloseTo(res.centre.x, 12); // concentric
      expect(mid(k1.window)[1]).toBeCloseTo(res.centre.y, 12);
      expect(k0.window.x1 - k0.window.x0).toBeCloseTo(rootSpec.axes.x.range[1] - rootSpec.axes.x.range[0], 12); // the outermost is the root's size
      expect((k0.window.x1 - k0.window.x0) / (k1.window.x1 - k1.window.x0)).toBeCloseTo(2, 12); // 2x apart
      expect((k0.window.y1 - k0.window.y0) / (k1.window.y1 - k1.window.y0)).toBeCloseTo(2, 12);
      expect(store.sweep(k1.sweep)!.spec.axes.x.range).toEqual([k1.window.x0, k1.window.x1]);
      // The centre is a corner shared by cells of both outcomes on the root map.
      const root = store.sweeps().find((s) => s.spec.name === rootSpec.name)!; // the keyframes' names end in "keyframe k"
      const m = sweepMap(store, root.id);
      const ix = Math.round((res.centre.x - rootSpec.axes.x.range[0]) / ((rootSpec.axes.x.range[1] - rootSpec.axes.x.range[0]) / 16));
      const iy = Math.round((res.centre.y - rootSpec.axes.y.range[0]) / ((rootSpec.axes.y.range[1] - rootSpec.axes.y.range[0]) / 16));
      const around = [m.trainable[(iy - 1) * 16 + ix - 1], m.trainable[(iy - 1) * 16 + ix], m.trainable[iy * 16 + ix - 1], m.trainable[iy * 16 + ix]];
      expect(new Set(around).size, JSON.stringify(around)).toBe(2);
      expect(k0.boxes.sizes[0]).toBe(10); // porespy's first size
      if (res.error === null) {
        expect(res.ci[0]).toBeLessThanOrEqual(res.dimension);
        expect(res.ci[1]).toBeGreaterThanOrEqual(res.dimension);
      } else {
        expect(res.error).toMatch(/no box size holds any boundary/);
      }
    } finally {
      store.close();
    }
    const again = await run(args, env); // from the store, the paper-method table
    expect(again.stderr).toContain("from the store");
    expect(again.stdout).toMatch(/the paper's method: 2 keyframe\(s\) of 16x16/);
    expect(again.stdout).toMatch(/tanh-single\s+1\.41\s/);
  }, 600_000);
});
