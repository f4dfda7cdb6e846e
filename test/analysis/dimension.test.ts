import { describe, expect, it } from "vitest";
import {
  countBoundaryBoxes,
  fractalDimension,
  fractalDimensionLeastSquares,
  type Mask,
} from "../../src-main/analysis/dimension";

const N = 2048;

function maskFrom(inside: (x: number, y: number) => boolean, n = N): Mask {
  const data = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) data[y * n + x] = inside(x + 0.5, y + 0.5) ? 1 : 0;
  return { width: n, height: n, data };
}

/** Koch snowflake vertices after `depth` subdivisions, centred in an n x n image. */
function kochSnowflake(depth: number, n = N): [number, number][] {
  const r = n * 0.42;
  const c = n / 2;
  let pts: [number, number][] = [0, 1, 2].map((k) => {
    const a = Math.PI / 2 + (2 * Math.PI * k) / 3;
    return [c + r * Math.cos(a), c + r * Math.sin(a)];
  });
  for (let d = 0; d < depth; d++) {
    const next: [number, number][] = [];
    for (let i = 0; i < pts.length; i++) {
      const [ax, ay] = pts[i];
      const [bx, by] = pts[(i + 1) % pts.length];
      const dx = (bx - ax) / 3;
      const dy = (by - ay) / 3;
      const p1: [number, number] = [ax + dx, ay + dy];
      const p3: [number, number] = [ax + 2 * dx, ay + 2 * dy];
      // Outward bump: rotate the middle third by -60 degrees (vertices run counter-clockwise).
      const cos = Math.cos(-Math.PI / 3);
      const sin = Math.sin(-Math.PI / 3);
      const p2: [number, number] = [p1[0] + dx * cos - dy * sin, p1[1] + dx * sin + dy * cos];
      next.push([ax, ay], p1, p2, p3);
    }
    pts = next;
  }
  return pts;
}

/** Even-odd scanline fill of a polygon into a mask. */
function fillPolygon(pts: [number, number][], n = N): Mask {
  const data = new Uint8Array(n * n);
  for (let y = 0; y < n; y++) {
    const yc = y + 0.5;
    const xs: number[] = [];
    for (let i = 0; i < pts.length; i++) {
      const [ax, ay] = pts[i];
      const [bx, by] = pts[(i + 1) % pts.length];
      if ((ay <= yc && by > yc) || (by <= yc && ay > yc)) xs.push(ax + ((yc - ay) / (by - ay)) * (bx - ax));
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      for (let x = Math.max(0, Math.ceil(xs[k] - 0.5)); x < Math.min(n, Math.ceil(xs[k + 1] - 0.5)); x++) data[y * n + x] = 1;
    }
  }
  return { width: n, height: n, data };
}

function seededRandom(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

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
