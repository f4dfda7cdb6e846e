// The samples panel's line about the re-run (src-shared/samples.ts reproducedText): reproduced, no recorded result,
// or another final loss, which says how far apart and what that means for reading the answers.
import { describe, expect, it } from "vitest";
import { type CellSamples, reproducedText } from "../../src-shared/samples";

const s = (finalLoss: number, recordedFinalLoss: number | null): CellSamples => ({
  sweepId: "s", cell: 3, request: { prompts: null, maxNewTokens: 8 }, samples: [], finalLoss, recordedFinalLoss, createdAt: "",
});

describe("reproducedText", () => {
  it("says the re-run reproduced the cell when the final losses agree to float rounding", () => {
    expect(reproducedText(s(2.3456789, 2.3456789 * (1 + 1e-8)))).toBe("re-run reproduced the cell (final loss 2.34568)");
  });
  it("explains another final loss instead of 'not the sweep's model'", () => {
    const t = reproducedText(s(2.5, 2.0));
    expect(t).toMatch(/^re-run final loss 2\.5, the sweep recorded 2 \(0\.25 apart\): these answers come from the cell trained again/);
    expect(t).toMatch(/not the map's exact one$/);
    expect(t).not.toMatch(/not the sweep's model/);
  });
  it("says when the sweep has no result for the cell", () => {
    expect(reproducedText(s(1.5, null))).toBe("re-run final loss 1.5 (the sweep has no result for this cell)");
  });
});
