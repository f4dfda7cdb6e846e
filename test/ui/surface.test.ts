// The 3-D view's geometry (src-renderer/surface.ts): heights never NaN, the scale from trained cells only, axis ticks
// where the cells they name are, and a camera whose frame holds the whole surface at any window shape.
import * as THREE from "three";
import { describe, expect, it } from "vitest";
import { NON_FINITE, NOT_DONE } from "../../src-shared/api";
import type { LayerData } from "../../src-shared/contract";
import { axes, FOV, framing, HEIGHT, heightField, PLATEAU } from "../../src-renderer/surface";

function layer(values: number[], nx: number, kind: LayerData["kind"] = "log"): LayerData {
  return { sweepId: "s", layer: kind === "binary" ? "trainable" : "finalLoss", kind, nx, ny: values.length / nx,
    values: Float32Array.from(values), lo: 0, hi: 1, doneCells: values.length, version: 0 };
}

describe("heightField", () => {
  // 4 x 2: trained cells with log10 losses -1..0.4, one diverged cell whose last finite loss was 1e40, one not done,
  // one NaN (a value no layer should hold: drawn as not done, never as a NaN vertex)
  const metric = layer([-1, -0.6, -0.2, 0.2, 0.4, 40, NOT_DONE, Number.NaN], 4);
  const trainable = layer([1, 1, 1, 1, 1, 0, 1, 1], 4, "binary");
  const f = heightField(metric, trainable);
  const y = (cell: number) => f.positions[3 * cell + 1];

  it("emits finite vertices only, the diverged plateau on top and the not-done floor", () => {
    expect(f.positions.every(Number.isFinite)).toBe(true);
    expect(f.colours.every(Number.isFinite)).toBe(true);
    expect(y(5)).toBeCloseTo(PLATEAU * HEIGHT, 6);
    expect(y(6)).toBe(0);
    expect(y(7)).toBe(0);
  });

  it("scales heights to the trained cells: a diverged cell's huge loss does not flatten them", () => {
    expect(f.zLo).toBeCloseTo(-1, 6);
    expect(f.zHi).toBeCloseTo(0.4, 6); // the 98th percentile of the trained cells, not 40
    expect(y(0)).toBe(0);
    expect(y(4)).toBeCloseTo(HEIGHT, 6);
    expect(y(2)).toBeGreaterThan(y(1));
  });

  it("puts vertices at cell centres, map y away from the viewer", () => {
    expect(f.positions[0]).toBeCloseTo(0.5 / 4 - 0.5, 6); // cell (0, 0): x
    expect(f.positions[2]).toBeCloseTo(0.5 - 0.5 / 2, 6); //              z, the front row
    expect(f.positions[3 * 4 + 2]).toBeLessThan(f.positions[2]); // row 1 is further away
  });
});

describe("axes", () => {
  const sweep = { window: { x0: -1, x1: 2, y0: 0, y1: 0.5 }, xAxis: { param: "lr.input", scale: "log" as const },
    yAxis: { param: "warmup", scale: "linear" as const } };
  const f = heightField(layer([-1, 0, 1, 2], 2), layer([1, 1, 1, 1], 2, "binary"));
  const { labels, segments } = axes(sweep, f, "final loss");

  it("labels ticks in hyperparameter units, where those values are on the surface", () => {
    const one = labels.find((l) => l.axis === "x" && l.text === "1")!; // 10^0 on the log axis
    expect(one.at[0]).toBeCloseTo((0 - -1) / 3 - 0.5, 6);
    const ten = labels.find((l) => l.axis === "x" && l.text === "10")!;
    expect(ten.at[0]).toBeCloseTo((1 - -1) / 3 - 0.5, 6);
    const y = labels.filter((l) => l.axis === "y" && !l.title);
    expect(y.map((l) => l.text)).toContain("0.2");
    const warm = y.find((l) => l.text === "0.2")!;
    expect(warm.at[2]).toBeCloseTo(0.5 - 0.2 / 0.5, 6);
    expect(labels.filter((l) => l.title).map((l) => l.text)).toEqual(["lr.input", "warmup", "final loss"]);
    expect(segments.length % 6).toBe(0);
  });

  it("labels heights in the metric's units (10^u of a log layer), between the floor and the top", () => {
    const z = labels.filter((l) => l.axis === "z" && !l.title);
    expect(z.length).toBeGreaterThanOrEqual(2);
    expect(z.map((l) => l.text)).toContain("1"); // log10 loss 0 is a loss of 1
    for (const l of z) expect(l.at[1]).toBeGreaterThanOrEqual(0), expect(l.at[1]).toBeLessThanOrEqual(HEIGHT + 1e-9);
  });
});

describe("framing", () => {
  it("keeps the whole surface, plateau included, in the camera's frame whatever the window's shape", () => {
    for (const aspect of [0.6, 1, 1.6, 2.5]) {
      const f = framing(aspect);
      const cam = new THREE.PerspectiveCamera(FOV, aspect, 0.01, 100);
      cam.position.set(...f.position);
      cam.lookAt(new THREE.Vector3(...f.target));
      cam.updateMatrixWorld();
      for (const x of [-0.5, 0.5]) for (const z of [-0.5, 0.5]) for (const y of [0, PLATEAU * HEIGHT]) {
        const p = new THREE.Vector3(x, y, z).project(cam);
        expect(Math.abs(p.x), `aspect ${aspect} corner ${[x, y, z]}`).toBeLessThan(1);
        expect(Math.abs(p.y), `aspect ${aspect} corner ${[x, y, z]}`).toBeLessThan(1);
      }
    }
  });
});
