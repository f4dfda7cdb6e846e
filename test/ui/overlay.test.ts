// polylinePath: axis units -> SVG path in map pixels, each segment clipped to the viewport (plus margin) in float64.
import { describe, expect, it } from "vitest";
import { polylinePath } from "../../src-renderer/analysis";
import { worldToScreen } from "../../src-renderer/view";

const vp = { width: 200, height: 100 };
const nums = (d: string) => d.match(/-?[\d.]+/g)!.map(Number);

describe("polylinePath", () => {
  it("maps points through the view", () => {
    const view = { cx: 0, cy: 0, sx: 0.01, sy: 0.01 };
    const p = [[-0.5, 0.2], [0.5, -0.2]] as [number, number][];
    const a = worldToScreen(view, vp, ...p[0]), b = worldToScreen(view, vp, ...p[1]);
    expect(polylinePath(p, view, vp)).toBe(`M${a.px.toFixed(1)} ${a.py.toFixed(1)}L${b.px.toFixed(1)} ${b.py.toFixed(1)}`);
  });

  it("clips a segment spanning 1e12 pixels deep in a zoom to the viewport, on the right line", () => {
    // A cell-long segment of y = 0.25 + x/2 seen through a 1e-10 wide window at x = 0.3.
    const view = { cx: 0.3, cy: 0.4, sx: 1e-12, sy: 1e-12 };
    const d = polylinePath([[0, 0.25], [1, 0.75]], view, vp, 16);
    expect(d).toMatch(/^M[^ML]+L[^ML]+$/);
    const [x0, y0, x1, y1] = nums(d);
    for (const v of [x0, x1]) expect(v).toBeGreaterThanOrEqual(-16.05), expect(v).toBeLessThanOrEqual(216.05);
    // slope in pixels: dy/dx = -(1/2) (screen y grows down, equal scales)
    expect((y1 - y0) / (x1 - x0)).toBeCloseTo(-0.5, 2);
  });

  it("starts a new subpath where the line leaves the view and comes back, and drops segments outside", () => {
    const view = { cx: 0, cy: 0, sx: 0.01, sy: 0.01 };
    const d = polylinePath([[-0.5, 0], [0, 5], [0.5, 0], [10, 10], [11, 10]], view, vp, 0);
    expect(d.match(/M/g)!.length).toBe(2);
    expect(d.match(/L/g)!.length).toBe(3);
  });
});
