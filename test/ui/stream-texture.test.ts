// Partial texture updates: after patching cells of level 0 in place, updateMips recomputes exactly the mip rows
// those cells touch, leaving every level equal to a full rebuild, and names those rows for upload.

import { describe, expect, it } from "vitest";
import { NON_FINITE, NOT_DONE } from "../../src-shared/contract";
import { buildMips, updateMips } from "../../src-renderer/shader";

describe("updateMips", () => {
  it("matches a full rebuild after streaming cells in, and uploads only the rows they touch", () => {
    const nx = 37, ny = 21; // odd sizes: a level's last odd row/column has no texel above it
    const values = new Float32Array(nx * ny).fill(NOT_DONE);
    for (let i = 0; i < values.length; i += 3) values[i] = Math.sin(i);
    const mips = buildMips(values, nx, ny);
    const cells = [5 * nx + 2, 5 * nx + 30, 20 * nx + 36, 6 * nx];
    cells.forEach((c, k) => { values[c] = k === 1 ? NON_FINITE : k; });
    const runs = updateMips(mips, cells);
    const fresh = buildMips(values, nx, ny);
    expect(mips.map((m) => Array.from(m.data))).toEqual(fresh.map((m) => Array.from(m.data)));
    expect(runs[0]).toEqual([{ level: 0, y0: 5, y1: 6 }, { level: 0, y0: 20, y1: 20 }]);
    expect(runs[1]).toEqual([{ level: 1, y0: 2, y1: 3 }, { level: 1, y0: 9, y1: 9 }]); // row 20 -> 10 is past level 1 (height 10): clamped to 9
    expect(runs.length).toBe(mips.length);
    expect(runs[runs.length - 1]).toEqual([{ level: runs.length - 1, y0: 0, y1: 0 }]);
  });
});
