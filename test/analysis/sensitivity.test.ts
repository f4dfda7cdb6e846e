// The sensitivity comparison: flips on a boundary that moved a little, none deep inside a solid region, and a
// companion on another grid refused.
import { describe, expect, it } from "vitest";
import { sensitivity } from "../../src-main/analysis/sensitivity";
import { axis, rng, syntheticMap } from "./synthetic";

describe("sensitivity", () => {
  it("finds flips on the boundary and none deep inside a solid region", () => {
    const r = rng(1);
    const map = syntheticMap(64, 64, axis("lr.input", -2, 2), axis("lr.output", -2, 2), (x, y) => x + y < 0.5);
    // The companion: the same boundary with noise of a cell or two on it, as a perturbation that should not matter gives.
    const companion = syntheticMap(64, 64, axis("lr.input", -2, 2), axis("lr.output", -2, 2), (x, y) => x + y < 0.5 + 0.12 * (r() - 0.5));
    const s = sensitivity(map, companion);
    expect(s.boundaryFlips).toBeGreaterThan(0);
    expect(s.interiorFlips).toBe(0);
    expect(s.boundaryFlipFraction).toBeGreaterThan(0);
    expect(s.interiorFlipFraction).toBe(0);
    expect(s.boundaryCells + s.interiorCells).toBe(64 * 64);
    let flips = 0;
    s.flips.forEach((f, i) => { flips += f; if (f) expect(map.trainable[i]).not.toBe(companion.trainable[i]); });
    expect(flips).toBe(s.boundaryFlips);
    expect(sensitivity(map, map)).toMatchObject({ boundaryFlips: 0, interiorFlips: 0, boundaryFlipFraction: 0 });
  });

  it("counts only cells done in both, and refuses a companion on another grid", () => {
    const map = syntheticMap(16, 16, axis("lr", -2, 2), axis("wd", -2, 2), (x) => x < 0);
    const other = syntheticMap(16, 16, axis("lr", -2, 2), axis("wd", -2, 2), () => false);
    other.done = new Uint8Array(256); // nothing done: nothing compared
    expect(sensitivity(map, other)).toMatchObject({ boundaryCells: 0, interiorCells: 0, boundaryFlipFraction: null });
    expect(() => sensitivity(map, syntheticMap(16, 16, axis("lr", -2, 3), axis("wd", -2, 2), () => true))).toThrow(/is not the map's/);
  });
});
