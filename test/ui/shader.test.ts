import { describe, expect, it } from "vitest";
import { NON_FINITE, NOT_DONE } from "../../src-shared/contract";
import { coarseToFine } from "../../src-shared/grid";
import { buildMips, coarseLevels, mipLevel } from "../../src-renderer/shader";

describe("map shader helpers", () => {
  it("coarse-first fill walks the agent's coarse-to-fine grid", () => {
    for (const n of [8, 24, 64, 100, 4096]) {
      const { order, levels } = coarseToFine(n, 1);
      const top = coarseLevels(n);
      expect(Math.max(...levels)).toBe(top);
      // the first level the agent trains is exactly the grid points at stride 2^top
      for (let k = 0; k < order.length && levels[k] === 0; k++) expect(order[k] % 2 ** top).toBe(0);
    }
  });

  it("mip levels average the valid cells and keep sentinels only where none is valid", () => {
    const v = new Float32Array([1, 3, NOT_DONE, NOT_DONE, NON_FINITE, NOT_DONE, 0.5, NON_FINITE, 5]); // 3x3
    const mips = buildMips(v, 3, 3);
    expect(mips.map((m) => [m.width, m.height])).toEqual([[3, 3], [1, 1]]);
    expect(mips[1].data[0]).toBe(2); // cells (0,0) (1,0) (0,1) (1,1): 1, 3, NOT_DONE, NON_FINITE
    const allBad = buildMips(new Float32Array([NOT_DONE, NON_FINITE, NOT_DONE, NOT_DONE]), 2, 2);
    expect(allBad[1].data[0]).toBe(NON_FINITE);
    expect(buildMips(new Float32Array(4).fill(NOT_DONE), 2, 2)[1].data[0]).toBe(NOT_DONE);
    expect([mipLevel(0.5, 5), mipLevel(1.2, 5), mipLevel(3, 5), mipLevel(1e6, 5)]).toEqual([0, 0, 2, 4]);
  });
});
