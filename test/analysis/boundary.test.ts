import { describe, expect, it } from "vitest";
import { boundaryPolylines, marchingSquares, polylineLength } from "../../src-main/analysis/boundary";
import { axis, syntheticMap } from "./synthetic";

describe("marching squares", () => {
  it("traces a disc as one closed loop of length ≈ its circumference, on the circle", () => {
    const r = 0.6;
    const map = syntheticMap(200, 200, axis("a", 0, 2, "linear"), axis("b", 0, 2, "linear"), (x, y) => (x - 1) ** 2 + (y - 1) ** 2 < r * r);
    const lines = boundaryPolylines(map);
    expect(lines).toHaveLength(1);
    expect(lines[0].closed).toBe(true);
    // Midpoint marching squares on a binary field draws 0° and 45° steps only, which overshoots a
    // smooth curve by at most ~8% (≈5.5% averaged over directions).
    const ratio = polylineLength(lines[0]) / (2 * Math.PI * r);
    expect(ratio).toBeGreaterThan(1.0);
    expect(ratio).toBeLessThan(1.08);
    for (const [x, y] of lines[0].points) expect(Math.abs(Math.hypot(x - 1, y - 1) - r)).toBeLessThan(0.01);
  });

  it("a half plane gives one open, straight line from border to border in axis units", () => {
    // log axes: trains iff x < -1 (x in log10 units); 50 cells over [-3, 2] -> width 0.1.
    const map = syntheticMap(50, 20, axis("lr", -3, 2), axis("size", 1, 5), (x) => x < -1);
    const [line, ...rest] = boundaryPolylines(map);
    expect(rest).toHaveLength(0);
    expect(line.closed).toBe(false);
    for (const [x] of line.points) expect(x).toBeCloseTo(-1, 9);
    const ys = line.points.map((p) => p[1]).sort((a, b) => a - b);
    expect(ys[0]).toBeCloseTo(1.1, 9); // first row centre
    expect(ys[ys.length - 1]).toBeCloseTo(4.9, 9);
  });

  it("separates diagonal neighbours (saddles) and tolerates an empty field", () => {
    // 3x3 with ones at (0,0) and (1,1): two cut-off corners in the shared square, no bridge.
    const f = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 0]);
    const lines = marchingSquares(f, 3, 3);
    expect(lines).toHaveLength(2);
    expect(lines.find((l) => l.closed)!.points).toHaveLength(5); // the centre cell's diamond
    expect(marchingSquares(new Uint8Array(9), 3, 3)).toEqual([]);
    expect(() => marchingSquares(f, 4, 3)).toThrow(/expected 4x3/);
  });
});
