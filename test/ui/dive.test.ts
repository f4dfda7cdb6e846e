// The autopilot's maths (src-renderer/dive.ts): which side of the boundary a layer value is on, the boundary point
// nearest the centre, and a dive that closes on its target while zooming in.
import { describe, expect, it } from "vitest";
import { diveStep, nearestBoundary, outcomeClass } from "../../src-renderer/dive";
import { visibleWindow, worldToScreen } from "../../src-renderer/view";

describe("outcomeClass", () => {
  it("keeps the score's sign, reads binary layers, and counts non-finite as diverged and not-done as nothing", () => {
    expect([outcomeClass("rank", 0.3), outcomeClass("rank", -0.3)]).toEqual([1, 0]);
    expect([outcomeClass("binary", 1), outcomeClass("binary", 0)]).toEqual([1, 0]);
    expect([outcomeClass("log", -2.5), outcomeClass("log", 3e30), outcomeClass("rank", 3e30)]).toEqual([1, 0, 0]);
    expect(outcomeClass("log", -3e30)).toBeNull();
  });
});

describe("nearestBoundary", () => {
  const W = { x0: 0, x1: 10, y0: 0, y1: 10 };

  it("finds a vertical boundary at its x, level with the centre", () => {
    const p = nearestBoundary(W, (x) => (x < 7.3 ? 1 : 0))!;
    expect(Math.abs(p.x - 7.3)).toBeLessThan(10 / 96);
    expect(Math.abs(p.y - 5)).toBeLessThan(10 / 96);
  });

  it("picks the nearest of two boundaries, and the point of a circle nearest the centre", () => {
    const two = nearestBoundary(W, (x) => (x < 2 || x > 6 ? 1 : 0))!;
    expect(Math.abs(two.x - 6)).toBeLessThan(0.2);
    // A disc of radius 2 around (8, 5): its nearest point to (5, 5) is (6, 5).
    const disc = nearestBoundary(W, (x, y) => ((x - 8) ** 2 + (y - 5) ** 2 < 4 ? 1 : 0))!;
    expect(Math.hypot(disc.x - 6, disc.y - 5)).toBeLessThan(0.25);
  });

  it("is null on one side only, and ignores cells not done", () => {
    expect(nearestBoundary(W, () => 1)).toBeNull();
    expect(nearestBoundary(W, (x) => (x < 5 ? 1 : null))).toBeNull();
  });

  it("measures distance in screen units, so a stretched window does not favour one axis", () => {
    // 1000 wide, 1 high: a boundary at x = 520 is 2% of the width from the centre, one at y = 0.9 is 40% of the height.
    const w = { x0: 0, x1: 1000, y0: 0, y1: 1 };
    const p = nearestBoundary(w, (x, y) => (x > 520 || y > 0.9 ? 0 : 1))!;
    expect(Math.abs(p.x - 520)).toBeLessThan(15);
  });
});

describe("diveStep", () => {
  const vp = { width: 800, height: 600 };

  it("closes on the target and zooms in, keeping the target on screen", () => {
    let v = { cx: 0, cy: 0, sx: 0.01, sy: 0.01 };
    const target = { x: 1.5, y: -1 };
    for (let i = 0; i < 240; i++) {
      v = diveStep(v, vp, target, 1 / 60);
      const p = worldToScreen(v, vp, target.x, target.y);
      expect(p.px >= 0 && p.px <= vp.width && p.py >= 0 && p.py <= vp.height, `frame ${i}: target on screen`).toBe(true);
    }
    expect(Math.hypot(v.cx - target.x, v.cy - target.y)).toBeLessThan(1e-3);
    expect(v.sx).toBeLessThan(0.01 / 8); // about 2x a second once centred, 4 s
    expect(v.sx).toBeGreaterThan(0.01 / 16);
    const vis = visibleWindow(v, vp);
    expect(vis.x0 < target.x && target.x < vis.x1).toBe(true);
  });

  it("barely zooms while the target is far from the centre", () => {
    const v = diveStep({ cx: 0, cy: 0, sx: 0.01, sy: 0.01 }, vp, { x: 3.5, y: 0 }, 0.1);
    expect(v.sx).toBeGreaterThan(0.01 * 0.99);
  });
});
