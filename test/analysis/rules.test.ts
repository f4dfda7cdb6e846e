import { describe, expect, it } from "vitest";
import { cellWidth } from "../../src-main/analysis/map";
import { comparePowerLaws, fitEdgePowerLaw, rowRules } from "../../src-main/analysis/rules";
import { linearFit, studentTCdf, studentTQuantile } from "../../src-main/analysis/stats";
import { axis, rng, syntheticMap } from "./synthetic";

describe("Student t", () => {
  it("quantiles match tables", () => {
    const table: [number, number, number][] = [
      [0.975, 1, 12.7062047362], [0.975, 2, 4.30265272975], [0.975, 5, 2.57058183661],
      [0.975, 10, 2.22813885196], [0.975, 30, 2.04227245630], [0.975, 100, 1.98397151845],
      [0.95, 3, 2.35336343480], [0.025, 4, -2.77644510520], [0.995, 7, 3.49948329735],
    ];
    for (const [p, df, t] of table) expect(studentTQuantile(p, df), `t(${p}, ${df})`).toBeCloseTo(t, 7);
    expect(studentTCdf(0, 3)).toBe(0.5);
    expect(studentTCdf(-12.7062047362, 1)).toBeCloseTo(0.025, 9);
  });

  it("a perfect line has slope exact and a zero-width interval", () => {
    const f = linearFit([1, 2, 3, 4], [3, 5, 7, 9]);
    expect(f.slope).toBeCloseTo(2, 12);
    expect(f.intercept).toBeCloseTo(1, 12);
    expect(f.slopeCI[1] - f.slopeCI[0]).toBeLessThan(1e-9);
  });
});

/** Trains iff log10 lr < c + b*log10 size + noise, the noise drawn per cell. */
function edgeMap(b: number, seed: number, noise = 0.05) {
  const r = rng(seed);
  return syntheticMap(200, 40, axis("lr", -5, 0), axis("dataset_size", 1, 5), (x, y) => x < -1 + b * y + noise * (r() - 0.5));
}

describe("edge of stability", () => {
  it("per row: the contiguous edge sits at the known boundary; an island past it counts only for edgeAny", () => {
    const map = edgeMap(-0.5, 1);
    const w = cellWidth(map.x, map.nx);
    map.trainable[10 * map.nx + 190] = 1; // an island far beyond row 10's edge
    const rows = rowRules(map);
    expect(rows).toHaveLength(40);
    for (const r of rows) {
      const truth = -1 - 0.5 * r.y;
      expect(Math.abs(r.edgeContiguous!.x - truth)).toBeLessThan(w + 0.025);
      expect(r.edgeContiguous!.xValue).toBeCloseTo(10 ** r.edgeContiguous!.x, 12);
      expect(r.censored).toBe(false);
      if (r.iy !== 10) expect(r.edgeAny!.ix).toBeLessThanOrEqual(r.edgeContiguous!.ix + 1);
    }
    expect(rows[10].edgeAny!.ix).toBe(190);
    expect(rows[10].edgeContiguous!.ix).toBeLessThan(190);
  });

  it("best loss per row is the trainable cell with the lowest loss; held-out is null when absent", () => {
    const map = edgeMap(-0.5, 2);
    for (let iy = 0; iy < map.ny; iy++) {
      for (let ix = 0; ix < map.nx; ix++) {
        const x = -5 + (ix + 0.5) * 0.025;
        const y = 1 + (iy + 0.5) * 0.1;
        map.finalLoss[iy * map.nx + ix] = (x - (-2.5 - 0.5 * y)) ** 2 + 0.1;
      }
    }
    map.finalLoss[3 * map.nx + 199] = 0; // an untrainable cell with a lower loss must not win
    for (const r of rowRules(map)) {
      expect(Math.abs(r.bestFinal!.x - (-2.5 - 0.5 * r.y))).toBeLessThanOrEqual(0.0125 + 1e-9);
      expect(r.bestFinal!.loss).toBeCloseTo(map.finalLoss[r.iy * map.nx + r.bestFinal!.ix], 15);
      expect(r.bestHeldout).toBeNull();
    }
  });

  it("recovers the power-law exponent b = -0.5 with the truth inside the 95% CI", () => {
    const law = fitEdgePowerLaw(edgeMap(-0.5, 3));
    expect(law.exponent).toBeCloseTo(-0.5, 1);
    expect(law.exponentCI[0]).toBeLessThan(-0.5);
    expect(law.exponentCI[1]).toBeGreaterThan(-0.5);
    expect(law.exponentCI[1] - law.exponentCI[0]).toBeLessThan(0.05);
    expect(law.n).toBe(40);
    // The curve is drawn in axis units along the map: x = intercept + b*y on log axes.
    for (const [x, y] of law.curve) expect(x).toBeCloseTo(law.intercept + law.exponent * y, 9);
  });

  it("leaves censored rows (whole row trains) out of the fit", () => {
    // Boundary leaves the x range in the low rows: x < 2 - y reaches the range end (0) for y <= 2.
    const map = syntheticMap(100, 40, axis("lr", -3, 0), axis("dataset_size", 1, 5), (x, y) => x < 2 - y);
    const law = fitEdgePowerLaw(map, { along: "rows" }); // (a diagonal boundary: every column crosses it, so auto reads columns)
    const censored = rowRules(map).filter((r) => r.censored).length;
    expect(censored).toBeGreaterThan(0);
    expect(law.excluded).toBeGreaterThanOrEqual(censored);
    expect(law.exponent).toBeCloseTo(-1, 1);
    expect(() => fitEdgePowerLaw(syntheticMap(10, 10, axis("lr", -3, 0), axis("s", 1, 5), () => true))).toThrow(/too few rows: 0 of 10 rows are done and cross/);
  });

  it("fits only rows whose cells are all done, and says so below three", () => {
    const map = edgeMap(-0.5, 7);
    map.done = new Uint8Array(map.nx * map.ny);
    // 11% done, in training order: a few whole rows and every other row begun (its first cells only).
    for (let iy = 0; iy < map.ny; iy++) for (let ix = 0; ix < (iy < 2 ? map.nx : 10); ix++) map.done[iy * map.nx + ix] = 1;
    for (let i = 0; i < map.trainable.length; i++) if (!map.done[i]) map.trainable[i] = 0; // not done: no result
    expect(() => fitEdgePowerLaw(map)).toThrow(/too few rows: 2 of 40 rows are done .* wait for the sweep to finish/);
    for (let iy = 2; iy < 6; iy++) map.done.fill(1, iy * map.nx, (iy + 1) * map.nx);
    const r = rng(7);
    for (let iy = 2; iy < 6; iy++) {
      for (let ix = 0; ix < map.nx; ix++) {
        const x = -5 + (ix + 0.5) * 0.025, y = 1 + (iy + 0.5) * 0.1;
        map.trainable[iy * map.nx + ix] = x < -1 - 0.5 * y + 0.05 * (r() - 0.5) ? 1 : 0;
      }
    }
    const law = fitEdgePowerLaw(map);
    expect(law.n).toBe(6);
    expect(law.excluded).toBe(34);
    expect(law.exponentCI[1] - law.exponentCI[0]).toBeGreaterThan(0); // not the "0.000, CI [0.000, 0.000], R² 1" of a part-done map
  });

  it("reads a nearly horizontal boundary along the columns: max y as a function of x", () => {
    // Trains iff log10 lr.output < 1 + 0.1 * log10 lr.input: the boundary crosses every column, hardly any row.
    const r = rng(8);
    const map = syntheticMap(60, 60, axis("lr.input", -2, 2), axis("lr.output", -2, 2), (x, y) => y < 1 + 0.1 * x + 0.02 * (r() - 0.5));
    const law = fitEdgePowerLaw(map);
    expect(law.along).toBe("columns");
    expect([law.xParam, law.yParam]).toEqual(["lr.output", "lr.input"]);
    expect(law.exponent).toBeCloseTo(0.1, 1);
    for (const [x, y] of law.curve) expect(y).toBeCloseTo(law.intercept + law.exponent * x, 9); // [map x, map y]
    expect(fitEdgePowerLaw(edgeMap(-0.5, 3)).along).toBe("rows");
    expect(() => fitEdgePowerLaw(map, { along: "rows" })).toThrow(/too few rows/);
  });

  it("compares exponents across models", () => {
    const cmp = comparePowerLaws([
      { label: "small", map: edgeMap(-0.5, 4) },
      { label: "same", map: edgeMap(-0.5, 5) },
      { label: "large", map: edgeMap(-0.8, 6) },
    ]);
    expect(cmp.fits.map((f) => f.label)).toEqual(["small", "same", "large"]);
    const [same, large] = cmp.differences;
    expect(same.significant).toBe(false);
    expect(same.ci[0]).toBeLessThan(0);
    expect(same.ci[1]).toBeGreaterThan(0);
    expect(large.significant).toBe(true);
    expect(large.difference).toBeCloseTo(-0.3, 1);
    const other = syntheticMap(50, 20, axis("wd", -3, 0), axis("dataset_size", 1, 5), (x) => x < -1);
    expect(() => comparePowerLaws([{ label: "a", map: edgeMap(-0.5, 1) }, { label: "b", map: other }])).toThrow(/b sweeps wd x dataset_size/);
  });
});
