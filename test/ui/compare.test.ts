// The compare view's maths (src-renderer/compare.ts): which axes allow a shared view, the per-cell difference of two
// maps on one grid, and the resampling of the coarser map onto the finer by cell centres (a zoom against its parent).

import { describe, expect, it } from "vitest";
import { NOT_DONE } from "../../src-shared/api";
import {
  axesDiffer, BOTH_DIVERGE, BOTH_TRAIN, compareMaps, differencePixels, DIFF_COLOURS, NOT_COMPARED, ONLY_A, ONLY_B, type OutcomeMap,
  outcomeAt, parseComparePair, resample,
} from "../../src-renderer/compare";

const W = { x0: 0, x1: 4, y0: 0, y1: 4 };
const map = (rows: number[][], window = W): OutcomeMap => ({
  window, nx: rows[0].length, ny: rows.length, values: Float32Array.from(rows.flat()),
});

describe("axesDiffer", () => {
  const ax = (param: string, scale: "log" | "linear" = "log") => ({ param, scale });
  it("is null for the same parameters and scales, and names what differs otherwise", () => {
    expect(axesDiffer({ xAxis: ax("lr"), yAxis: ax("dataset_size") }, { xAxis: ax("lr"), yAxis: ax("dataset_size") })).toBeNull();
    expect(axesDiffer({ xAxis: ax("lr"), yAxis: ax("dataset_size") }, { xAxis: ax("lr.input"), yAxis: ax("dataset_size") }))
      .toBe("x: lr (log) vs lr.input (log)");
    expect(axesDiffer({ xAxis: ax("lr"), yAxis: ax("warmup", "linear") }, { xAxis: ax("lr"), yAxis: ax("warmup", "log") }))
      .toBe("y: warmup (linear) vs warmup (log)");
  });
});

describe("compareMaps on one grid", () => {
  // Row iy = 0 first. A: left half trains; B: top row trains, and one cell not done.
  const a = map([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]);
  const b = map([[1, 0, 0, 0], [1, 1, 0, 1], [1, 1, NOT_DONE, 0], [1, 1, 1, 1]]);
  const d = compareMaps(a, b);

  it("classes each cell and counts them", () => {
    expect(d.resampled).toBeNull();
    expect(d.grid).toEqual({ window: W, nx: 4, ny: 4 });
    expect(Array.from(d.classes)).toEqual([
      BOTH_TRAIN, ONLY_A, BOTH_DIVERGE, BOTH_DIVERGE,
      BOTH_TRAIN, BOTH_TRAIN, BOTH_DIVERGE, ONLY_B,
      BOTH_TRAIN, BOTH_TRAIN, NOT_COMPARED, BOTH_DIVERGE,
      BOTH_TRAIN, BOTH_TRAIN, ONLY_B, ONLY_B,
    ]);
    expect(d.counts).toEqual({ bothTrain: 7, bothDiverge: 4, onlyA: 1, onlyB: 3 });
    expect([d.outside, d.notDone, d.compared, d.differ]).toEqual([0, 1, 15, 4]);
    expect(d.differFraction).toBeCloseTo(4 / 15, 12);
  });

  it("counts the boundary: cells of 2x2 blocks where either map has both outcomes", () => {
    // A block with a cell not compared marks nothing: the two top-right cells that differ (2, 3) and (3, 3) lie only in
    // blocks with the undone cell (2, 2), so of the four differing cells (1, 0) and (3, 1) are on the boundary.
    expect(d.boundaryDiffer).toBe(2);
    expect(d.boundaryCells).toBeGreaterThan(2);
    expect(d.boundaryFraction).toBeCloseTo(2 / d.boundaryCells, 12);
  });

  it("is symmetric up to swapping only A and only B", () => {
    const r = compareMaps(b, a);
    expect(r.counts).toEqual({ bothTrain: 7, bothDiverge: 4, onlyA: 3, onlyB: 1 });
    expect(r.boundaryCells).toBe(d.boundaryCells);
  });

  it("draws the four classes in their colours, not-compared cells transparent, top row first", () => {
    const px = differencePixels(d);
    const at = (ix: number, iy: number) => Array.from(px.slice(((3 - iy) * 4 + ix) * 4, ((3 - iy) * 4 + ix) * 4 + 4));
    expect(at(1, 0)).toEqual([...DIFF_COLOURS[ONLY_A], 255]);
    expect(at(3, 1)).toEqual([...DIFF_COLOURS[ONLY_B], 255]);
    expect(at(2, 2)).toEqual([0, 0, 0, 0]);
  });
});

describe("compareMaps across grids: the coarser resampled onto the finer by cell centres", () => {
  // Parent: 4x4 on [0, 4]^2, trainable where x < 2. Zoom: 4x4 on [1, 3] x [1, 3] (cells of 0.5), trainable where x < 1.5.
  const parent = map([[1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]]);
  const zoomW = { x0: 1, x1: 3, y0: 1, y1: 3 };
  const zoom = map([[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]], zoomW);

  it("samples the parent at the zoom's cell centres", () => {
    // Centres 1.25, 1.75 fall in the parent's cell 1 (trains), 2.25, 2.75 in cell 2 (diverges).
    expect(Array.from(resample(parent, { window: zoomW, nx: 4, ny: 4 }).slice(0, 4))).toEqual([1, 1, 0, 0]);
  });

  it("takes the coarse cell under the centre, not under a fine cell's edge", () => {
    // Fine cell [1.9, 2.3]: its left edge lies in the parent's cell 1 (trains), its centre 2.1 in cell 2 (diverges).
    const g = { window: { x0: 1.9, x1: 2.7, y0: 0, y1: 1 }, nx: 2, ny: 1 };
    expect(Array.from(resample(parent, g))).toEqual([0, 0]);
  });

  it("compares on the zoom's grid whichever map comes first, and says which was resampled", () => {
    const d = compareMaps(parent, zoom);
    expect(d.resampled).toBe("a");
    expect(d.grid.window).toEqual(zoomW);
    expect(d.counts).toEqual({ bothTrain: 4, bothDiverge: 8, onlyA: 4, onlyB: 0 });
    expect(d.outside).toBe(0);
    const r = compareMaps(zoom, parent);
    expect(r.resampled).toBe("b");
    expect(r.counts).toEqual({ bothTrain: 4, bothDiverge: 8, onlyA: 0, onlyB: 4 });
  });

  it("leaves the finer map's cells outside the coarser one's window out", () => {
    // A fine map half outside the coarse one: its cells with centres at x >= 4 are not compared.
    const fine = map([[1, 1, 1, 1], [1, 1, 1, 1]], { x0: 3, x1: 5, y0: 0, y1: 1 });
    const d = compareMaps(parent, fine);
    expect(d.outside).toBe(4);
    expect(d.compared).toBe(4);
    expect(d.counts).toEqual({ bothTrain: 0, bothDiverge: 0, onlyA: 0, onlyB: 4 });
  });

  it("compares on A's grid when the cells are the same size but the windows differ", () => {
    const shifted = map([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], { x0: 1, x1: 5, y0: 0, y1: 4 });
    const d = compareMaps(parent, shifted);
    expect(d.resampled).toBe("b");
    expect(d.outside).toBe(4); // A's column 0 lies left of B's window
    expect(d.counts).toEqual({ bothTrain: 0, bothDiverge: 8, onlyA: 4, onlyB: 0 });
  });
});

describe("parseComparePair", () => {
  it("reads two distinct ids from compare=A,B and nothing else", () => {
    expect(parseComparePair(new URLSearchParams("compare=s1,s2&cview=0,0,1,1"))).toEqual(["s1", "s2"]);
    expect(parseComparePair(new URLSearchParams("compare=s1"))).toBeNull();
    expect(parseComparePair(new URLSearchParams("compare=s1,s1"))).toBeNull();
    expect(parseComparePair(new URLSearchParams("sweep=s1"))).toBeNull();
  });
});

describe("outcomeAt", () => {
  it("names the cell under a point and its outcome, null outside the window", () => {
    const m = map([[1, 0], [NOT_DONE, 1]], { x0: 0, x1: 2, y0: 0, y1: 2 });
    expect(outcomeAt(m, 1.5, 0.5)).toEqual({ ix: 1, iy: 0, outcome: "diverges" });
    expect(outcomeAt(m, 0.5, 1.5)).toEqual({ ix: 0, iy: 1, outcome: "not done" });
    expect(outcomeAt(m, 0.2, 0.2)).toEqual({ ix: 0, iy: 0, outcome: "trains" });
    expect(outcomeAt(m, 2, 0.5)).toBeNull();
  });
});
