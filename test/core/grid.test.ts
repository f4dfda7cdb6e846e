// Grid maths in float64: centre sampling, cell <-> value, zoom windows that tile the parent, deep zooms, cost.
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { estimateCost, flopsPerStep } from "../../src-main/core/cost";
import {
  axisCentres, axisValue, cellEdge, cellHparams, cellOf, childWindows, coarseToFine, resolutionWarnings, snapToParentCells,
  formatMagnification, specWindow, windowInside, zoomSpec,
} from "../../src-shared/grid";
import { validate } from "../../src-shared/spec";
import { mlpSpec } from "./helpers";

const REPO = resolve(__dirname, "../..");
const PYTHON = process.env.FRACTAL_PYTHON ?? "/usr/bin/python3";

describe("grid", () => {
  it("samples cell centres: cell i of N covers [lo + i w, lo + (i+1) w]", () => {
    const spec = mlpSpec(9, 4);
    spec.axes.x.range = [-3, 6];
    spec.axes.y.range = [0, 2];
    expect(Array.from(axisCentres(spec.axes.x))).toEqual([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    const hp = cellHparams(spec, 3 * 9 + 2);
    expect(hp["lr.input"]).toBe(10 ** -0.5);
    expect(hp["lr.output"]).toBe(10 ** 1.75);
    for (let i = 0; i < 9; i++) {
      expect(cellOf(spec.axes.x, axisCentres(spec.axes.x)[i])).toBe(i);
      expect(cellOf(spec.axes.x, cellEdge(spec.axes.x, i))).toBe(i);
    }
    expect(cellEdge(spec.axes.x, 9)).toBe(6);
  });

  it("computes every cell's hyperparameters exactly as the agent does", () => {
    const spec = validate({
      version: 1, name: "gpt", model: { family: "gpt", checkpoint: "tiny" }, data: { dataset: "synthetic" },
      train: { steps: 10 }, axes: { x: { param: "lr", scale: "log", range: [-5, -1], points: 7 },
        y: { param: "dataset_size", scale: "log", range: [0.3, 2.5], points: 9 } },
      criterion: { window: 5 },
    });
    const mlp = mlpSpec(5, 6, { model: { family: "mlp", width: 4 } });
    const py = `
import json, sys
from fractal_agent import spec as S
out = []
for s in json.loads(sys.stdin.read()):
    s = S.validate(s)
    out.append([S.cell_hparams(s, i) for i in range(S.cell_count(s))])
print(json.dumps(out))`;
    const expected = JSON.parse(execFileSync(PYTHON, ["-c", py], {
      input: JSON.stringify([spec, mlp]), env: { ...process.env, PYTHONPATH: join(REPO, "remote-agent") },
    }).toString());
    // Same keys; integers and linear values equal; 10 ** c within an ulp, since V8's pow and C's pow() (the
    // agent's) round differently about one time in ten. The agent's value is what trains; ours labels and exports.
    const agree = (ours: Record<string, number | null>, theirs: Record<string, number | null>) => {
      expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
      for (const [k, v] of Object.entries(theirs)) {
        if (v === null || Number.isInteger(v)) expect(ours[k]).toBe(v);
        else expect(Math.abs(ours[k]! - v)).toBeLessThanOrEqual(Number.EPSILON * Math.abs(v));
      }
    };
    for (let i = 0; i < 63; i++) agree(cellHparams(spec, i), expected[0][i]);
    for (let i = 0; i < 30; i++) agree(cellHparams(mlp, i), expected[1][i]);
    expect(axisValue(spec.axes.y, 0)).toBe(Math.round(10 ** (0.3 + 0.5 * 2.2 / 9)));
  });

  it("orders cells coarse to fine like the agent", () => {
    const py = `
import json
from fractal_agent.spec import coarse_to_fine
print(json.dumps([[a.tolist() for a in coarse_to_fine(nx, ny)] for nx, ny in [(1, 1), (3, 5), (16, 16), (64, 40), (257, 3)]]))`;
    const expected = JSON.parse(execFileSync(PYTHON, ["-c", py], { env: { ...process.env, PYTHONPATH: join(REPO, "remote-agent") } }).toString());
    [[1, 1], [3, 5], [16, 16], [64, 40], [257, 3]].forEach(([nx, ny], k) => {
      const { order, levels } = coarseToFine(nx, ny);
      expect([Array.from(order), Array.from(levels)]).toEqual(expected[k]);
    });
  });

  it("splits a parent into child windows that tile it exactly, on its cell edges", () => {
    const parent = mlpSpec(12, 6);
    parent.axes.x.range = [-3, 6.1];
    parent.axes.y.range = [-1.7, 2.3];
    const kids = childWindows(parent, 4, 3);
    const p = specWindow(parent);
    expect(kids).toHaveLength(12);
    for (const w of kids) expect(windowInside(w, p)).toBe(true);
    // Neighbours share edges bit for bit; outer edges are the parent's; areas add up.
    for (let j = 0; j < 3; j++) {
      for (let i = 0; i < 4; i++) {
        const w = kids[j * 4 + i];
        if (i < 3) expect(kids[j * 4 + i + 1].x0).toBe(w.x1);
        if (j < 2) expect(kids[(j + 1) * 4 + i].y0).toBe(w.y1);
      }
    }
    expect(kids[0].x0).toBe(p.x0);
    expect(kids[11].x1).toBe(p.x1);
    expect(kids[11].y1).toBe(p.y1);
    // A child whose points are a multiple of the parent cells it covers refines them: every parent edge inside
    // the window is also a child edge.
    const child = zoomSpec(parent, "parent", kids[5], 6);
    for (let i = 0; i <= 3; i++) expect(cellEdge(child.axes.x, 2 * i)).toBeCloseTo(cellEdge(parent.axes.x, 3 + i), 14);
    expect(child.parent).toEqual({ sweep: "parent" });
    expect(child.model).toEqual(parent.model);
    // Named by its magnification and grid, so scans of one map read apart.
    const pw = specWindow(parent), zoomBy = (pw.x1 - pw.x0) / (kids[5].x1 - kids[5].x0);
    expect(child.name).toBe(`${parent.name} / zoom ${formatMagnification(zoomBy)}× (6×6)`);
    expect([formatMagnification(2.5), formatMagnification(5.0000001), formatMagnification(12.4), formatMagnification(125.2)]).toEqual(["2.5", "5", "12", "125"]);
    expect(() => zoomSpec(parent, "parent", { ...kids[5], x1: 7 }, 6)).toThrow(/not inside the parent's window/);
    const snapped = snapToParentCells(parent, { x0: -2.9, x1: -1.0, y0: 0.01, y1: 0.02 });
    expect([snapped.x0, snapped.x1]).toEqual([cellEdge(parent.axes.x, 0), cellEdge(parent.axes.x, 3)]);
  });

  it("samples a zoom of a boundary sweep the same way (a zoom scan is a sweep too), and a grid one on a grid", () => {
    const parent = validate({ ...mlpSpec(64, 64), sampling: "boundary" });
    const w = { x0: 0.125, x1: 0.5, y0: 1.5, y1: 1.875 };
    expect(validate(zoomSpec(parent, "p", w, 16)).sampling).toBe("boundary");
    expect("sampling" in validate(zoomSpec(mlpSpec(64, 64), "p", w, 16))).toBe(false);
  });

  it("keeps distinct, increasing float64 centres in a 1e-12 wide window, and warns when the trainer cannot resolve them", () => {
    const parent = mlpSpec(64, 64);
    const w = { x0: 0.125, x1: 0.125 + 1e-12, y0: 1.5, y1: 1.5 + 1e-12 };
    const child = validate(zoomSpec(parent, "p", w, 256));
    const xs = axisCentres(child.axes.x);
    expect(new Set(xs).size).toBe(256);
    for (let i = 1; i < xs.length; i++) expect(xs[i]).toBeGreaterThan(xs[i - 1]);
    expect(xs[0]).toBeGreaterThan(w.x0);
    expect(xs[255]).toBeLessThan(w.x1);
    expect(resolutionWarnings(child)).toEqual([]); // float64 trainer: 1e-12 / 256 relative steps are resolvable
    const f32 = structuredClone(child);
    f32.train.precision = "float32";
    expect(resolutionWarnings(f32).join("\n")).toMatch(/axes.x: .*finer than float32/);
  });
});

describe("cost", () => {
  it("multiplies cells, steps and FLOPs per step", () => {
    const spec = mlpSpec(10, 20); // width 4, tanh: N = 4*4 + 4 = 20 datapoints, 50 steps
    expect(flopsPerStep(spec, null)).toBe(6 * 20 * (16 + 4));
    const c = estimateCost(spec, { device: "h100", utilisation: 0.5 });
    expect(c).toMatchObject({ cells: 200, steps: 200 * 50, flops: 200 * 50 * 6 * 20 * 20 });
    expect(c.seconds).toBeCloseTo(c.flops! / (67e12 * 0.5), 20);
    expect(() => estimateCost(spec, { device: "tpu" })).toThrow(/unknown device/);
  });

  it("counts epochs over each cell's dataset size for GPT sweeps", () => {
    const spec = validate({
      version: 1, name: "gpt", model: { family: "gpt", checkpoint: "hf:gpt2" }, data: { dataset: "synthetic", seq_len: 128 },
      train: { batch_size: 8, epochs: 1 }, axes: { x: { param: "lr", scale: "log", range: [-5, -3], points: 3 },
        y: { param: "dataset_size", scale: "linear", range: [1, 161], points: 2 } },
    });
    const c = estimateCost(spec);
    expect(c.steps).toBe(3 * (Math.ceil(41 / 8) + Math.ceil(121 / 8)));
    const params = 12 * 12 * 768 * 768 + 50257 * 768;
    expect(c.flops).toBeCloseTo(c.steps * 8 * 128 * (6 * params + 12 * 12 * 768 * 128), -3);
    const unknown = estimateCost(validate({ ...spec, model: { family: "gpt", checkpoint: "hf:/some/dir" } }));
    expect(unknown.flops).toBeNull();
    expect(unknown.note).toMatch(/unknown/);
  });
});
