// The paper's estimator (analysis/paper-dimension.ts) against porespy's boxcount written out in numpy here, and on
// masks of known boundary dimension: a straight edge (1), a Koch snowflake (log 4 / log 3), random cells (2).
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { Mask } from "../../src-main/analysis/dimension";
import { boxcount, edgeImage, gradient, paperDimension, porespySizes } from "../../src-main/analysis/paper-dimension";
import { fillPolygon, kochSnowflake, maskFrom, seededRandom } from "./shapes";

const PYTHON = process.env.FRACTAL_PYTHON ?? "/usr/bin/python3";

// porespy.metrics.boxcount (porespy 2.x, _funcs.py) with its defaults, on the notebook's edge image.
const PORESPY = `
import json, sys
import numpy as np
def boxcount(im, bins=10):
    im = np.array(im, dtype=bool)
    Ds = np.unique(np.logspace(1, np.log10(min(im.shape)), bins).astype(int))
    N = []
    for d in Ds:
        result = 0
        for i in range(0, im.shape[0], d):
            for j in range(0, im.shape[1], d):
                temp = im[i:i+d, j:j+d]
                result += np.any(temp)
                result -= np.all(temp)
        N.append(result)
    slope = -1*np.gradient(np.log(np.array(N)), np.log(Ds))
    return Ds, N, slope
out = []
for m in json.load(sys.stdin):
    a = np.array(m["data"], dtype=np.uint8).reshape(m["height"], m["width"])
    s = a[:-1, :-1].astype(int) + a[1:, :-1] + a[:-1, 1:] + a[1:, 1:]
    Ds, N, slope = boxcount((s > 0) & (s < 4))
    out.append({"sizes": [int(d) for d in Ds], "counts": [int(n) for n in N], "slopes": [float(v) for v in slope]})
print(json.dumps(out))
`;

function blobs(w: number, h: number, seed: number): Mask {
  const r = seededRandom(seed);
  const c = Array.from({ length: 6 }, () => [r() * w, r() * h, 3 + r() * Math.min(w, h) / 3]);
  return { width: w, height: h, data: Uint8Array.from({ length: w * h }, (_, i) => (c.some(([x, y, rad]) => Math.hypot((i % w) - x, Math.floor(i / w) - y) < rad) ? 1 : 0)) };
}

const randomCells = (n: number, seed: number): Mask => {
  const r = seededRandom(seed);
  return { width: n, height: n, data: Uint8Array.from({ length: n * n }, () => (r() < 0.5 ? 1 : 0)) };
};

describe("the paper's estimator", () => {
  it("counts boxes and takes slopes exactly as porespy's boxcount and np.gradient do", () => {
    const masks = [blobs(37, 50, 1), blobs(100, 64, 2), blobs(257, 129, 3), maskFrom((x, y) => y < 0.3 * x + 20, 300), randomCells(64, 4)];
    const ref = JSON.parse(execFileSync(PYTHON, ["-c", PORESPY], {
      input: JSON.stringify(masks.map((m) => ({ width: m.width, height: m.height, data: [...m.data] }))),
    }).toString()) as { sizes: number[]; counts: number[]; slopes: number[] }[];
    masks.forEach((m, k) => {
      const got = boxcount(edgeImage(m));
      expect(got.sizes, `mask ${k}`).toEqual(ref[k].sizes);
      expect(got.counts, `mask ${k}`).toEqual(ref[k].counts);
      got.slopes.forEach((s, i) => expect(s, `mask ${k} slope ${i}`).toBeCloseTo(ref[k].slopes[i], 12));
    });
  });

  it("uses porespy's ten log-spaced sizes from 10 to the shorter side, and np.gradient on uneven spacing", () => {
    // As numpy gives them (10 ** log10(4096) is a hair under 4096, so the last size is 4095).
    expect(porespySizes(4095, 4095)).toEqual([10, 19, 38, 74, 144, 282, 551, 1075, 2098, 4095]);
    expect(porespySizes(4096, 4096)).toEqual([10, 19, 38, 74, 144, 282, 551, 1076, 2099, 4095]);
    expect(porespySizes(63, 80)).toEqual([10, 12, 15, 18, 22, 27, 34, 41, 51, 63]);
    expect(porespySizes(255, 255)).toEqual([10, 14, 20, 29, 42, 60, 86, 124, 177, 254]);
    // f = x^2 on uneven points: the centred formula is exact for a quadratic inside, one-sided at the ends.
    const x = [0, 1, 3, 4, 7];
    const g = gradient(x.map((v) => v * v), x);
    expect(g.slice(1, -1)).toEqual([2, 6, 8]);
    expect([g[0], g[4]]).toEqual([1, 11]);
  });

  it("gives the known dimension within 0.05, inside its 95% interval: a straight edge, a Koch snowflake, random cells", () => {
    const cases: [string, Mask, number][] = [
      ["tilted straight edge", maskFrom((x, y) => y < 0.37 * x + 300), 1],
      ["Koch snowflake", fillPolygon(kochSnowflake(7)), Math.log(4) / Math.log(3)],
      ["random cells", randomCells(1024, 5), 2],
    ];
    for (const [name, mask, truth] of cases) {
      const d = paperDimension([mask]);
      expect(Math.abs(d.dimension - truth), `${name}: ${d.dimension}`).toBeLessThan(0.05);
      expect(d.ci[0], name).toBeLessThanOrEqual(d.dimension);
      expect(d.ci[1], name).toBeGreaterThanOrEqual(d.dimension);
      expect(d.ci[0] - 0.05, `${name}: ${d.ci}`).toBeLessThanOrEqual(truth);
      expect(d.ci[1] + 0.05, `${name}: ${d.ci}`).toBeGreaterThanOrEqual(truth);
    }
  }, 60_000);

  it("pools keyframes, widens the interval when they disagree, and refuses maps with no boundary", () => {
    const line = maskFrom((x, y) => y < 0.37 * x + 300, 512);
    const noise = randomCells(512, 6);
    const same = paperDimension([line, line]);
    const mixed = paperDimension([line, noise]);
    expect(same.keyframes).toHaveLength(2);
    expect(mixed.ci[1] - mixed.ci[0]).toBeGreaterThan(same.ci[1] - same.ci[0]);
    expect(paperDimension([line], { seed: 3 }).ci).toEqual(paperDimension([line], { seed: 3 }).ci); // seeded
    expect(() => paperDimension([maskFrom(() => true, 64)])).toThrow(/no boundary/);
  });
});
