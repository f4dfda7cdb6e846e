// The runs table's rows (src-renderer/runs.ts): zooms under their parent at their depth, sorting within siblings,
// a filter that keeps the ancestors of a match, durations and rates.
import { describe, expect, it } from "vitest";
import type { SweepSummary } from "../../src-shared/contract";
import { runRows } from "../../src-renderer/runs";

function sweep(id: string, o: Partial<SweepSummary> = {}): SweepSummary {
  return {
    id, name: id, parentId: null, family: "mlp", window: { x0: -1, x1: 2, y0: 0, y1: 1 }, nx: 8, ny: 8, cells: 64, doneCells: 64,
    status: "completed", target: "local", error: null, xAxis: { param: "lr.input", scale: "log" }, yAxis: { param: "lr.output", scale: "log" },
    tags: [], createdAt: "2026-12-01T10:00:00.000Z", updatedAt: "2026-12-01T10:01:04.000Z", ranOn: null, ...o,
  };
}

const sweeps = Object.fromEntries([
  sweep("a", { name: "tanh map", createdAt: "2026-12-01T10:00:00.000Z", cells: 4096, nx: 64, ny: 64, doneCells: 4096 }),
  sweep("a1", { name: "zoom of tanh", parentId: "a", createdAt: "2026-12-02T10:00:00.000Z", tags: ["deep"] }),
  sweep("a2", { name: "another zoom", parentId: "a", createdAt: "2026-12-01T12:00:00.000Z", cells: 16, nx: 4, ny: 4, doneCells: 16 }),
  sweep("b", { name: "sft lr x warmup", createdAt: "2026-12-03T10:00:00.000Z", status: "running", doneCells: 10,
    yAxis: { param: "warmup", scale: "linear" }, updatedAt: "2026-12-03T10:00:05.000Z" }),
  sweep("orphan", { parentId: "gone", createdAt: "2026-11-30T10:00:00.000Z" }),
].map((s) => [s.id, s]));

const ids = (rows: ReturnType<typeof runRows>) => rows.map((r) => `${"-".repeat(r.depth)}${r.s.id}`);

describe("runRows", () => {
  it("keeps zooms under their parent, sorted among themselves, and a zoom whose parent is gone as a root", () => {
    expect(ids(runRows(sweeps, "started", true, ""))).toEqual(["b", "a", "-a1", "-a2", "orphan"]);
    expect(ids(runRows(sweeps, "started", false, ""))).toEqual(["orphan", "a", "-a2", "-a1", "b"]);
    expect(ids(runRows(sweeps, "cells", true, ""))).toEqual(["a", "-a1", "-a2", "b", "orphan"]);
  });

  it("filters on every word, across name, tags, status and hyperparameters, keeping the ancestors of a match", () => {
    const deep = runRows(sweeps, "started", true, "deep");
    expect(ids(deep)).toEqual(["a", "-a1"]);
    expect(deep.map((r) => r.matched)).toEqual([false, true]);
    expect(ids(runRows(sweeps, "started", true, "warmup running"))).toEqual(["b"]);
    expect(ids(runRows(sweeps, "started", true, "warmup completed"))).toEqual([]);
  });

  it("times a finished sweep to its last update and a running one to now, with cells per second", () => {
    const now = Date.parse("2026-12-03T10:00:20.000Z");
    const rows = Object.fromEntries(runRows(sweeps, "name", false, "", now).map((r) => [r.s.id, r]));
    expect(rows.a.seconds).toBe(64);
    expect(rows.a.rate).toBe(4096 / 64);
    expect(rows.b.seconds).toBe(20); // running: to now, not to its last update
    expect(rows.b.rate).toBe(10 / 20);
  });
});
