// The sensitivity layer's picture (src-renderer/sensitivity.ts): each cell in its own colour (flip / same outcome /
// not compared), the map's bottom row at the image's bottom, and the panel's line for a fraction.
import { describe, expect, it } from "vitest";
import { FLIP, NOT_COMPUTED, SAME } from "../../src-shared/contract";
import { flipLine, SENSITIVITY_COLOURS, sensitivityImage } from "../../src-renderer/sensitivity";

describe("the sensitivity layer", () => {
  it("colours flip, same and not computed apart, with cell row 0 at the bottom", () => {
    // 3 x 2 cells: row 0 (bottom) flip, same, not computed; row 1 (top) same, flip, same
    const img = sensitivityImage(Uint8Array.from([FLIP, SAME, NOT_COMPUTED, SAME, FLIP, SAME]), 3, 2);
    const at = (x: number, yTop: number) => Array.from(img.slice((yTop * 3 + x) * 4, (yTop * 3 + x) * 4 + 4));
    expect(at(0, 1)).toEqual([...SENSITIVITY_COLOURS.flip]);
    expect(at(1, 1)).toEqual([...SENSITIVITY_COLOURS.same]);
    expect(at(2, 1)).toEqual([...SENSITIVITY_COLOURS.notComputed]);
    expect(at(1, 0)).toEqual([...SENSITIVITY_COLOURS.flip]);
    expect(new Set([SENSITIVITY_COLOURS.flip, SENSITIVITY_COLOURS.same, SENSITIVITY_COLOURS.notComputed].map(String)).size).toBe(3);
  });

  it("says how many cells flip of how many, or that none was compared yet", () => {
    expect(flipLine(12, 40, 0.3, "boundary")).toBe("12 of 40 boundary cells flip (30.0%)");
    expect(flipLine(0, 0, null, "interior")).toBe("no interior cells compared yet");
  });
});
