// The read-out's axis values, the 1:1 view and the scale bar (src-renderer/readout.ts, view.ts).
import { describe, expect, it } from "vitest";
import { cellHparams } from "../../src-shared/grid";
import { validate } from "../../src-shared/spec";
import { axisKeys, axisParamValue, scaleLabel } from "../../src-renderer/readout";
import { equalAspect, fitWindow, scaleBar, zoomDecades } from "../../src-renderer/view";

describe("hover read-out", () => {
  it("gives an lr axis the value every group's LR shares", () => {
    const spec = validate({
      version: 1, name: "sft", model: { family: "gpt", checkpoint: "tiny" }, data: { dataset: "synthetic", heldout: 4 },
      train: { optimizer: "adamw", steps: 2, batch_size: 2 }, criterion: { window: 2 },
      axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 4 }, y: { param: "dataset_size", scale: "log", range: [1, 2], points: 2 } },
    });
    const hp = cellHparams(spec, 5);
    expect(hp.lr).toBeUndefined();
    expect(axisParamValue(hp, "lr")).toBe(hp["lr.attn"]);
    expect(axisParamValue(hp, "lr")).toBe(10 ** (-4 + 1.5 * 0.75));
    expect(axisParamValue(hp, "dataset_size")).toBe(hp.dataset_size);
    expect(axisParamValue({ "lr.attn": 1, "lr.mlp": 2 }, "lr")).toBeNull(); // groups differ: no single LR
    const groups = Object.keys(hp).filter((k) => k.startsWith("lr."));
    expect(groups).toContain("lr.attn");
    expect(axisKeys(hp, ["lr", "dataset_size"]).sort()).toEqual(["dataset_size", ...groups].sort());
  });
});

describe("view shape", () => {
  it("fits a square of equal log extents 1:1, and fills when asked", () => {
    const w = { x0: -3, x1: 6, y0: -3, y1: 6 };
    const vp = { width: 960, height: 770 };
    const eq = fitWindow(w, vp, 0, true);
    expect(eq.sx).toBe(eq.sy);
    expect((w.x1 - w.x0) / eq.sx).toBeCloseTo(770);
    const filled = fitWindow(w, vp, 0, false);
    expect((w.x1 - w.x0) / filled.sx).toBeCloseTo(960);
    expect(equalAspect("log", "log", w)).toBe(true);
    expect(equalAspect("log", "linear", w)).toBe(false);
    expect(equalAspect("linear", "linear", { x0: 0, x1: 0.1, y0: 0, y1: 1000 })).toBe(false);
    expect(zoomDecades(fitWindow(w, vp, 24, true), vp, w)).toBeCloseTo(0, 1);
    expect(zoomDecades({ ...eq, sx: eq.sx / 1000, sy: eq.sy / 1000 }, vp, w)).toBeCloseTo(3, 1);
  });

  it("picks a scale bar of 1, 2 or 5 x 10^k that fits", () => {
    expect(scaleBar(0.01, 160)).toEqual({ units: 1, px: 100 });
    expect(scaleBar(0.004, 160).units).toBe(0.5);
    expect(scaleBar(1e-6, 160).units).toBeCloseTo(1e-4);
    expect(scaleLabel(1, "log")).toBe("1 decade");
    expect(scaleLabel(0.001, "log")).toBe("0.001 decades");
    expect(scaleLabel(0.5, "linear")).toBe("0.5");
  });
});
