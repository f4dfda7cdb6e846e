import { describe, expect, it } from "vitest";
import { gridCell as cellIndex, gridEdge as cellEdge } from "../../src-shared/grid";
import { fitWindow, pan, pickCell, placeSweep, screenToWorld, worldToScreen, zoomAt } from "../../src-renderer/view";
import { axisTicks } from "../../src-renderer/ticks";

const vp = { width: 800, height: 600 };

describe("view maths", () => {
  it("keeps the point under the cursor put while zooming, over ten decades", () => {
    let v = fitWindow({ x0: -1, x1: 3, y0: -1, y1: 3 }, vp);
    const px = 613.25, py = 101.5;
    const anchor = screenToWorld(v, vp, px, py);
    for (let k = 0; k < 105; k++) {
      v = zoomAt(v, vp, px, py, 0.8);
      const p = screenToWorld(v, vp, px, py);
      // the anchor stays within a tiny fraction of the current pixel size
      expect(Math.abs(p.x - anchor.x)).toBeLessThan(v.sx * 1e-3 + Math.abs(anchor.x) * 4e-16);
      expect(Math.abs(p.y - anchor.y)).toBeLessThan(v.sy * 1e-3 + Math.abs(anchor.y) * 4e-16);
    }
    expect(v.sx * vp.width).toBeLessThan(1e-9);
    const s = worldToScreen(v, vp, anchor.x, anchor.y);
    expect(s.px).toBeCloseTo(px, 1);
    expect(s.py).toBeCloseTo(py, 1);
  });

  it("pans with the drag: content moves with the pointer", () => {
    const v = fitWindow({ x0: 0, x1: 8, y0: 0, y1: 6 }, vp);
    const w = screenToWorld(v, vp, 100, 100);
    const moved = pan(v, 30, -20);
    const s = worldToScreen(moved, vp, w.x, w.y);
    expect(s.px).toBeCloseTo(130, 9);
    expect(s.py).toBeCloseTo(80, 9);
  });

  it("picks cells exactly in a 1e-12 wide window", () => {
    const lo = 1.2345678901234, hi = lo + 1e-12, n = 256; // cells ~18 doubles wide
    for (let i = 0; i < n; i++) {
      const e = cellEdge(lo, hi, n, i);
      expect(cellIndex(lo, hi, n, e)).toBe(i); // an edge belongs to the cell on its right
      const below = e - Math.abs(e) * Number.EPSILON; // the double just below (or at) the edge
      if (below < e && i > 0) expect(cellIndex(lo, hi, n, below)).toBe(i - 1);
      const centre = (cellEdge(lo, hi, n, i) + cellEdge(lo, hi, n, i + 1)) / 2;
      expect(cellIndex(lo, hi, n, centre)).toBe(i);
    }
    expect(cellIndex(lo, hi, n, hi)).toBe(-1);
    expect(cellIndex(lo, hi, n, lo - 1e-20)).toBe(lo - 1e-20 < lo ? -1 : 0);
    // picking through the view: the cell drawn under a pixel is the one picked
    const w = { x0: lo, x1: hi, y0: -3, y1: -3 + 1e-12 };
    const v = fitWindow(w, vp);
    const p = screenToWorld(v, vp, 401, 299);
    const c = pickCell(w, n, n, p.x, p.y)!;
    expect(c.ix).toBe(cellIndex(lo, hi, n, p.x));
    expect(c.index).toBe(c.iy * n + c.ix);
  });

  it("places a deeply zoomed sweep with small GPU numbers that still land cell edges on the right pixel", () => {
    const w = { x0: -1, x1: 3, y0: -1, y1: 3 }, n = 24;
    // 1e-11 wide view centred near a cell edge of the sweep
    const edge = cellEdge(w.x0, w.x1, n, 13);
    const v = { cx: edge + 2e-12, cy: 1.0000000000017, sx: 1e-11 / vp.width, sy: 1e-11 / vp.width };
    const q = placeSweep(v, vp, w, n, n)!;
    for (const a of [...q.ndc, ...q.local]) expect(Math.abs(a)).toBeLessThan(10);
    // interpolate as the GPU does, in float32, and find where local x crosses the next integer (the cell edge)
    const f = Math.fround;
    const [nx0, , nx1] = q.ndc.map(f), [lx0, , lx1] = q.local.map(f);
    expect(q.base[0]).toBe(13); // local 0 is the edge between cells 12 and 13
    expect(Math.floor(Math.fround(q.local[0]))).toBe(-1);
    const t = (0 - lx0) / (lx1 - lx0);
    const ndcX = f(nx0 + t * (nx1 - nx0));
    const pxGpu = (ndcX + 1) * vp.width / 2;
    expect(Math.abs(pxGpu - worldToScreen(v, vp, edge, 0).px)).toBeLessThan(0.05);
  });
});

describe("axis ticks", () => {
  it("labels decades with one digit and deep zooms with just enough digits", () => {
    expect(axisTicks(-1, 3, "log", 4).map((t) => t.label)).toEqual(["0.1", "1", "10", "100", "1000"]);
    const lo = 0.5, ticks = axisTicks(lo, lo + 1e-10, "linear", 5);
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    const labels = ticks.map((t) => t.label);
    expect(new Set(labels).size).toBe(labels.length);
    for (const t of ticks) expect(Math.abs(Number(t.label) - t.u)).toBeLessThan(2e-11);
    expect(labels[0].replace(/[^0-9]/g, "").length).toBeLessThanOrEqual(12); // not all 17 digits
    const logDeep = axisTicks(1.23456789, 1.23456789 + 1e-9, "log", 5).map((t) => t.label);
    expect(new Set(logDeep).size).toBe(logDeep.length);
  });
});
