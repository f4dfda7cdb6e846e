import { describe, expect, it } from "vitest";
import { earlyWarning, type CellTrace } from "../../src-main/analysis/earlywarning";
import { axis, syntheticMap } from "./synthetic";

type Kind = "gradEarly" | "spikeEarly" | "divergeLate" | "noisyConverged" | "calm" | "nanEarly";

/** 101 points, steps 0..1000 by 10. Loss decays; each kind adds its event at a known step. */
function trace(cell: number, kind: Kind): CellTrace {
  const step: number[] = [];
  const loss: number[] = [];
  const gradNorm: number[] = [];
  for (let s = 0; s <= 1000; s += 10) {
    let l = Math.exp(-s / 300);
    let g = 1 + 0.5 * Math.sin(s);
    if (kind === "gradEarly" && s >= 60) g *= 50 * (s / 60); // grad norm blows up at step 60
    if (kind === "spikeEarly" && s === 80) l *= 5; // loss jumps 5x its running minimum at step 80
    if (kind === "divergeLate" && s >= 500) { l *= 1e3; g *= 1e3; } // only after the window
    if (kind === "noisyConverged" && s === 40) l *= 3; // a spike but the run still converges
    if (kind === "nanEarly" && s >= 90) { l = NaN; g = NaN; }
    step.push(s);
    loss.push(l);
    gradNorm.push(g);
  }
  return { cell, step, loss: Float32Array.from(loss), gradNorm: Float32Array.from(gradNorm) };
}

describe("early warning", () => {
  // 5 cells of each kind; diverged kinds are untrainable on the map.
  const kinds: Kind[] = ["gradEarly", "spikeEarly", "divergeLate", "noisyConverged", "calm", "nanEarly"];
  const divergedKinds = new Set<Kind>(["gradEarly", "spikeEarly", "divergeLate", "nanEarly"]);
  const kindOf = (cell: number) => kinds[Math.floor(cell / 5)];
  const map = syntheticMap(6, 5, axis("lr", -3, 0), axis("s", 1, 2), (_x, _y, ix, iy) => !divergedKinds.has(kindOf(iy * 6 + ix)));
  const traces = Array.from({ length: 30 }, (_, cell) => trace(cell, kindOf(cell)));

  it("flags cells from the first k% only and scores precision and recall", () => {
    const r = earlyWarning(map, traces, { totalSteps: 1000, fraction: 0.1, gradGrowth: 10, lossSpike: 2 });
    expect(r.horizon).toBe(100);
    // Flagged: gradEarly, spikeEarly, nanEarly (TP 15), noisyConverged (FP 5); missed: divergeLate (FN 5).
    expect(r.overall).toMatchObject({ truePositive: 15, falsePositive: 5, falseNegative: 5, trueNegative: 5 });
    expect(r.overall.precision).toBeCloseTo(15 / 20, 12);
    expect(r.overall.recall).toBeCloseTo(15 / 20, 12);
    // Grad norm alone: gradEarly and nanEarly.
    expect(r.gradNorm).toMatchObject({ truePositive: 10, falsePositive: 0, falseNegative: 10 });
    expect(r.gradNorm.precision).toBe(1);
    // Loss spikes alone: spikeEarly, nanEarly, noisyConverged.
    expect(r.lossSpike).toMatchObject({ truePositive: 10, falsePositive: 5 });
    const first = (k: Kind) => r.cells.find((c) => kindOf(c.cell) === k)!.firstAlarmStep;
    expect([first("gradEarly"), first("spikeEarly"), first("noisyConverged"), first("nanEarly"), first("calm")]).toEqual([60, 80, 40, 90, -1]);
  });

  it("a longer window catches late divergence; a window before the events catches nothing", () => {
    const all = earlyWarning(map, traces, { totalSteps: 1000, fraction: 0.6 });
    expect(all.overall.recall).toBe(1);
    const none = earlyWarning(map, traces, { totalSteps: 1000, fraction: 0.03 });
    expect(none.overall.truePositive + none.overall.falsePositive).toBe(0);
    expect(none.overall.precision).toBeNaN();
    expect(none.overall.recall).toBe(0);
  });

  it("rejects bad options and mismatched traces", () => {
    expect(() => earlyWarning(map, traces, { totalSteps: 1000, fraction: 0 })).toThrow(/fraction must be in \(0, 1\]/);
    expect(() => earlyWarning(map, [{ ...traces[0], cell: 30 }], { totalSteps: 1000 })).toThrow(/cell 30 is outside the 6x5 map/);
    expect(() => earlyWarning(map, [{ ...traces[0], loss: [1, 2] }], { totalSteps: 1000 })).toThrow(/loss must match step/);
    expect(() => earlyWarning(map, [{ ...traces[0], gradStep: [1, 2] }], { totalSteps: 1000 })).toThrow(/gradNorm must match gradStep/);
  });
});

describe("early warning with separate grad-norm steps", () => {
  it("reads grad norms at their own steps", () => {
    const map = syntheticMap(2, 1, axis("lr", -3, 0), axis("s", 1, 2), (x) => x < -1.5);
    // Cell 1 diverges: its grad norm jumps at step 150, inside a 20% window of 1000 steps but past 10%.
    const calm = { step: [0, 100, 200, 1000], loss: [1, 0.8, 0.6, 0.1] };
    const traces = [
      { cell: 0, ...calm, gradStep: [1, 150, 1000], gradNorm: [1, 1.2, 1] },
      { cell: 1, ...calm, gradStep: [1, 150, 1000], gradNorm: [1, 40, 1e6] },
    ];
    const at10 = earlyWarning(map, traces, { totalSteps: 1000, fraction: 0.1 });
    expect(at10.overall).toMatchObject({ truePositive: 0, falseNegative: 1, trueNegative: 1 });
    const at20 = earlyWarning(map, traces, { totalSteps: 1000, fraction: 0.2 });
    expect(at20.overall).toMatchObject({ truePositive: 1, falsePositive: 0 });
    expect(at20.cells[1].firstAlarmStep).toBe(150);
  });
});
