import { describe, expect, it } from "vitest";
import { colourLayer, formatNumber, NO, NON_FINITE, NOT_DONE, rankEqualise, SPECTRAL, spectral, VIRIDIS, YES } from "../../src-main/analysis/colour";
import { axis, syntheticMap } from "./synthetic";

const px = (rgba: Uint8Array, i: number) => Array.from(rgba.subarray(i * 4, i * 4 + 3));

describe("the paper's colouring (DESIGN)", () => {
  it("rank-equalises keeping the sign, then negates: converged -> [0.25, 1], diverged -> [-1, -0.25]", () => {
    const v = rankEqualise(Float64Array.from([-5, -1, -3, 2, 10, 0]));
    // negatives by rank: -5, -3, -1 -> -1, -0.625, -0.25; non-negatives 0, 2, 10 -> 0.25, 0.625, 1; then negated.
    const expected = [1, 0.25, 0.625, -0.625, -1, -0.25];
    expected.forEach((e, i) => expect(v[i]).toBeCloseTo(e, 12));
  });

  it("ties share a rank; excluded and NaN cells are left out of the ranking", () => {
    const v = rankEqualise(Float64Array.from([-1, -1, -1, 3, -7, NaN]), Uint8Array.from([1, 1, 1, 1, 0, 1]));
    // Once -7 is excluded the three -1s are all the negatives: mean rank 1 of 0..2 -> -0.625, negated.
    expect(v[0]).toBeCloseTo(0.625, 12);
    expect(v[1]).toBe(v[0]);
    expect(v[2]).toBe(v[0]);
    expect(v[3]).toBeCloseTo(-0.25, 12);
    expect(v[4]).toBeNaN();
    expect(v[5]).toBeNaN();
  });

  it("Spectral: converged blue (darkest for the largest Σ loss), diverged red (darkest for the longest lasting)", () => {
    expect(spectral(1)).toEqual(SPECTRAL[10]);
    expect(spectral(-1)).toEqual(SPECTRAL[0]);
    // score = -Σv when trainable: the most negative (largest Σ loss) gets the darkest blue.
    const map = syntheticMap(20, 10, axis("a", 0, 1), axis("b", 0, 1), (x) => x < 0.5);
    map.score.forEach((s, i) => (map.score[i] = Math.sign(s) * (1 + i / 200))); // distinct scores
    const { rgba } = colourLayer(map, "score");
    let best = 0;
    let worst = 0;
    for (let i = 0; i < map.score.length; i++) {
      if (map.score[i] < map.score[best]) best = i;
      if (map.score[i] > map.score[worst]) worst = i;
    }
    expect(px(rgba, best)).toEqual(SPECTRAL[10]);
    expect(px(rgba, worst)).toEqual(SPECTRAL[0]);
    const mean = (trained: boolean) => {
      const sum = [0, 0, 0];
      let n = 0;
      for (let i = 0; i < map.score.length; i++) if (!!map.trainable[i] === trained) { px(rgba, i).forEach((c, k) => (sum[k] += c)); n++; }
      return sum.map((s) => s / n);
    };
    const [cr, , cb] = mean(true);
    const [dr, , db] = mean(false);
    expect(cb).toBeGreaterThan(cr);
    expect(dr).toBeGreaterThan(db + 100);
  });
});

describe("other layers", () => {
  it("trainable / stable are two colours with a legend; not-done cells are grey", () => {
    const map = syntheticMap(4, 2, axis("a", 0, 1), axis("b", 0, 1), (x) => x < 0.5);
    map.done = Uint8Array.from([1, 1, 1, 0, 1, 1, 1, 1]);
    const { rgba, legend } = colourLayer(map, "trainable");
    expect(px(rgba, 0)).toEqual(YES);
    expect(px(rgba, 2)).toEqual(NO);
    expect(px(rgba, 3)).toEqual(NOT_DONE);
    expect(legend).toMatchObject({ kind: "categorical", entries: [{ label: "trainable" }, { label: "untrainable" }, { label: "not done" }] });
    expect(colourLayer(map, "stable").legend.title).toBe("stable");
  });

  it("losses on a log viridis scale; non-finite losses marked; a missing held-out layer is an error", () => {
    const map = syntheticMap(4, 1, axis("a", 0, 1), axis("b", 0, 1), () => true);
    map.finalLoss.set([0.01, 0.1, 1, Infinity]);
    const { rgba, legend } = colourLayer(map, "finalLoss");
    const mid = VIRIDIS[(VIRIDIS.length - 1) / 2], top = VIRIDIS[VIRIDIS.length - 1];
    expect(px(rgba, 0)).toEqual(VIRIDIS[0]);
    expect(px(rgba, 1)).toEqual(mid);
    expect(px(rgba, 2)).toEqual(top);
    expect(px(rgba, 3)).toEqual(NON_FINITE);
    expect(legend.kind === "continuous" && legend.ticks.map((t) => t.label)).toEqual(["0.01", "0.1", "1"]);
    expect(() => colourLayer(map, "heldoutLoss")).toThrow(/no finite positive held-out loss.*held-out set/);
    expect(() => colourLayer(map, "oodLoss")).toThrow(/no finite positive OOD loss.*data\.ood/);
    map.oodLoss = Float64Array.from([10, 1000, Number.NaN, 100]);
    const ood = colourLayer(map, "oodLoss");
    expect([0, 1, 2, 3].map((i) => px(ood.rgba, i))).toEqual([VIRIDIS[0], top, NON_FINITE, mid]);
    expect(ood.legend.title).toBe("OOD loss (log)");
  });

  it("formats numbers short", () => {
    expect([0.001, 1e-5, 12345, 250, 0.0125, 1e6].map((v) => formatNumber(v))).toEqual(["0.001", "1e-5", "1.23e+4", "250", "0.0125", "1e+6"]);
  });
});
