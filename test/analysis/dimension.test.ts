import { describe, expect, it } from "vitest";
import {
  countBoundaryBoxes,
  fractalDimension,
  fractalDimensionLeastSquares,
  type Mask,
} from "../../src-main/analysis/dimension";

import { fillPolygon, kochSnowflake, maskFrom, N, seededRandom } from "./shapes";

describe("box-counting fractal dimension", () => {
  it("counts only boxes that hold both outcomes", () => {
    // 8x8, left half trainable: the edge runs between columns 3 and 4.
    // Its edge map (7x7) has edge cells in column 3 only.
    const m = maskFrom((x) => x < 4, 8);
    expect(countBoundaryBoxes(m, [1, 2, 4])).toEqual([7, 3, 1]);
    const uniform = maskFrom(() => false, 8);
    expect(countBoundaryBoxes(uniform, [1, 2, 4])).toEqual([0, 0, 0]);
  });

  it("gives about 1 for a straight (tilted) edge", () => {
    const m = maskFrom((x, y) => y < 0.37 * x + 611);
    expect(fractalDimension(m).dimension).toBeCloseTo(1, 1);
    expect(Math.abs(fractalDimensionLeastSquares(m).dimension - 1)).toBeLessThan(0.1);
  });

  it("gives about log 4 / log 3 = 1.26 for a Koch snowflake edge", () => {
    const m = fillPolygon(kochSnowflake(7));
    const est = fractalDimension(m);
    expect(Math.abs(est.dimension - Math.log(4) / Math.log(3))).toBeLessThan(0.1);
    expect(est.sizes.length).toBe(est.counts.length);
    expect(est.localSlopes.length).toBe(est.sizes.length - 1);
  });

  it("gives about 2 for independent random cells", () => {
    const rand = seededRandom(7);
    const m = maskFrom(() => rand() < 0.5);
    expect(Math.abs(fractalDimension(m).dimension - 2)).toBeLessThan(0.1);
    expect(Math.abs(fractalDimensionLeastSquares(m).dimension - 2)).toBeLessThan(0.1);
  });

  it("refuses a map with no boundary, naming why", () => {
    const m = maskFrom(() => true, 64);
    expect(() => fractalDimension(m)).toThrow(/no boundary/);
  });
});

describe("small maps and signs", () => {
  it("measures a 24x24 map with the least-squares fit over the sizes that fit", () => {
    const m = maskFrom((x, y) => y < 0.37 * x + 6, 24);
    const est = fractalDimensionLeastSquares(m);
    expect(est.sizes).toEqual([2, 4, 8, 16]);
    expect(Number.isFinite(est.dimension)).toBe(true);
  });

  it("reports a flat step as +0, never -0", () => {
    // A checkerboard is boundary everywhere; on its 63-wide edge map sizes 22 and 31 both tile 2x2 boxes.
    const m = maskFrom((x, y) => (x + y) % 2 === 0, 64);
    const est = fractalDimension(m, [22, 31]);
    expect(est.counts[0]).toBe(est.counts[1]);
    expect(Object.is(est.localSlopes[0], 0)).toBe(true);
  });
});
