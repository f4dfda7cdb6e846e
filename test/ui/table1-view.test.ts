// The Table 1 view's logic (src-renderer/table1.ts): one row per experiment of the paper's table with its
// reproductions, signed differences, what ran, and which sweep "stop" cancels.
import { describe, expect, it } from "vitest";
import type { Reproduction, SweepSummary } from "../../src-shared/contract";
import { TABLE1 } from "../../src-shared/table1";
import {
  formatCi, formatDifference, formatDimension, formatWindow, levelDone, levelLabel, methodLabel, runLabel, runningLevel, table1Rows,
} from "../../src-renderer/table1";

const level = (n: number, status: "completed" | "running", done = 256): Reproduction["levels"][number] => ({
  level: n, sweepId: `s${n}`, window: { x0: 0, x1: 1, y0: 0, y1: 1 }, points: 16, status, doneCells: done, cells: 256,
  dimension: status === "completed" ? 1.3 : null, trainableFraction: status === "completed" ? 0.5 : null, kind: n === 0 ? "root" : "zoom",
});
const repro = (o: Partial<Reproduction>): Reproduction => ({
  id: "r", rootId: "r", method: "project", estimator: "project's method", resolution: "16² × 1 level", ci: [1.2, 1.4],
  name: "tanh", title: "tanh, full batch", points: 16, target: "local", initOffsetForm: null, state: "completed",
  levelsRequested: null, levels: [level(0, "completed")], paperDimension: 1.66, dimension: 1.3, dimensionLeastSquares: 1.31,
  difference: 1.3 - 1.66, error: null, ...o,
});

describe("Table 1 view", () => {
  it("has a row for every experiment of the paper, in its order, with that experiment's reproductions finest first", () => {
    const rows = table1Rows([repro({ id: "a", points: 16 }), repro({ id: "b", points: 64 }), repro({ id: "c", name: "relu", target: "gpu" })]);
    expect(rows.map((r) => [r.name, r.paper])).toEqual(TABLE1.map((e) => [e.name, e.paper]));
    expect(rows.find((r) => r.name === "tanh")!.runs.map((r) => r.id)).toEqual(["b", "a"]);
    expect(rows.find((r) => r.name === "relu")!.runs.map((r) => r.id)).toEqual(["c"]);
    expect(rows.filter((r) => !r.runs.length)).toHaveLength(4);
  });

  it("reads numbers as the paper gives them, with signed differences", () => {
    expect([formatDimension(1.6649), formatDimension(null)]).toEqual(["1.66", "–"]);
    expect([formatDifference(0.123), formatDifference(-0.051), formatDifference(0.001), formatDifference(null)]).toEqual(["+0.12", "−0.05", "0.00", "–"]);
    expect(formatWindow({ x0: -1.25, x1: -1, y0: 2, y1: 2.25 })).toBe("x -1.25…-1, y 2…2.25");
    // A deep zoom keeps the digits that tell its window from its parent's.
    expect(formatWindow({ x0: 1.2345671, x1: 1.2345678, y0: 0, y1: 7e-7 })).toBe("x 1.2345671…1.2345678, y 0…7e-7");
  });

  it("labels a run with its resolution, zooms (asked for or found), target and init-offset form", () => {
    expect(runLabel(repro({}))).toBe("16² · root + 0 zooms · local");
    expect(runLabel(repro({ levelsRequested: 2, state: "running" }))).toBe("16² · root + 2 zooms · local");
    expect(runLabel(repro({ levels: [level(0, "completed"), level(1, "completed")], name: "tanh-init-offset", initOffsetForm: "every_step" })))
      .toBe("16² · root + 1 zoom · local · offset every step");
  });

  it("stops the level that trains now, by the live sweep when the app has it", () => {
    const r = repro({ state: "running", levelsRequested: 1, levels: [level(0, "completed"), level(1, "running", 10)] });
    expect(runningLevel(r, {})).toBe("s1");
    const live = { s1: { id: "s1", doneCells: 256, cells: 256, status: "completed" } as SweepSummary };
    expect(levelDone(r.levels[1], live.s1)).toEqual({ done: 256, cells: 256, status: "completed" });
    expect(runningLevel(r, live)).toBeNull(); // finished a moment ago: nothing to stop until the next level starts
    expect(runningLevel(repro({ state: "completed" }), {})).toBeNull();
  });

  it("names the method of a run, its keyframes, and the 95% interval as the dimensions read", () => {
    const keyframe = (n: number) => ({ ...level(n, "completed"), kind: "keyframe" as const });
    const paper = repro({ method: "paper", levels: [level(0, "completed"), keyframe(1), keyframe(2)] });
    expect(runLabel(paper)).toBe("16² · root + 2 keyframes · local");
    expect(runLabel(repro({ method: "paper", levels: [level(0, "completed")], levelsRequested: 3, state: "running" }))).toBe("16² · root + 3 keyframes · local");
    expect(paper.levels.map(levelLabel)).toEqual(["root map", "keyframe 0", "keyframe 1"]);
    expect(levelLabel(level(2, "completed"))).toBe("zoom 2");
    expect([methodLabel(paper), methodLabel(repro({}))]).toEqual(["paper's", "project's"]);
    expect([formatCi([1.516, 1.804]), formatCi(null), formatCi([-0.001, 0.004])]).toEqual(["[1.52, 1.80]", "–", "[0.00, 0.00]"]);
    // Same resolution and target: the project's method first, then the paper's.
    const rows = table1Rows([repro({ id: "p", method: "paper" }), repro({ id: "q", method: "project" })]);
    expect(rows.find((r) => r.name === "tanh")!.runs.map((r) => r.id)).toEqual(["q", "p"]);
  });
});
