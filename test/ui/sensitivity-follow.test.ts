// The panel's follower of a sensitivity run (src-renderer/sensitivity.ts followSensitivity): the server's run ends
// after the companion's last cell, and that end changes no sweep row, so no sweep event announces it. The follower
// must keep asking while the report says "running"; before it did, a loaded CI machine left the panel at "running"
// for good (test/e2e/uncertainty.test.ts timed out waiting for "completed").
import { afterEach, describe, expect, it } from "vitest";
import type { Api, SensitivityReport, SweepSummary } from "../../src-shared/contract";
import { followSensitivity, RUNNING_REFRESH_MS, useSensitivity } from "../../src-renderer/sensitivity";
import { useUi } from "../../src-renderer/state";

const report = (state: SensitivityReport["state"], doneCells: number): SensitivityReport => ({
  sweepId: "root", perturbation: "seed", change: "model.seed 0 -> 1", companionId: "comp", state, doneCells, cells: 4,
  layer: "trainable", flips: new Uint8Array(4), boundaryCells: 0, boundaryFlips: 0, boundaryFlipFraction: null,
  interiorCells: 0, interiorFlips: 0, interiorFlipFraction: null, error: null,
});

let stop: (() => void) | null = null;
afterEach(() => { stop?.(); stop = null; });

describe("the sensitivity panel's follower", () => {
  it("reads the run's end while the report says running, with no sweep event after the companion's last cell", async () => {
    // The server answers "running" twice (its follower has not returned yet), then the companion's final status.
    const answers = [report("running", 4), report("running", 4), report("completed", 4)];
    let asked = 0;
    const api = { getSensitivity: async () => answers[Math.min(asked++, answers.length - 1)] } as unknown as Api;
    const root = { id: "root", status: "completed" } as unknown as SweepSummary;
    const comp = { id: "comp", status: "completed", doneCells: 4 } as unknown as SweepSummary;
    useUi.setState({ api, focusId: "root", sweeps: { root, comp } });
    useSensitivity.setState({ perturbation: "seed", report: null });
    stop = followSensitivity();
    // No useUi change from here on: only the follower's own asking can reach "completed".
    await expect.poll(() => useSensitivity.getState().report?.state, { timeout: 5 * RUNNING_REFRESH_MS, interval: 50 }).toBe("completed");
    expect(asked).toBe(3);
    // Once it is not running it stops asking.
    await new Promise((r) => setTimeout(r, 2 * RUNNING_REFRESH_MS));
    expect(asked).toBe(3);
  }, 20_000);
});
