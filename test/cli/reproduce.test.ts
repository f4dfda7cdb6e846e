// `fractal-llm reproduce`: the Table 1 list, and a tiny reproduction end to end through the real agent (root map
// and one zoom of the cheapest experiment): the table beside the paper's number, and the zoom window on the boundary.
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { validate } from "../../src-shared/spec";
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
});
