// Cost estimates from what a target measured: the fit of start-up + FLOPs / rate to its earlier sweeps, which sweeps
// count (same target, completed, same kind), and the text the editor and zoom dialog show.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { estimateCost, estimateOn, fitRate, measuredTime } from "../../src-main/core/cost";
import { openStore, type Store } from "../../src-main/core/store";
import { formatCost } from "../../src-shared/format";
import type { Spec } from "../../src-shared/spec";
import { journal, mlpSpec, tempDir } from "./helpers";

describe("fitRate", () => {
  it("recovers the start-up and the rate from runs of different sizes", () => {
    const runs = [1e9, 4e9, 2e10, 1e11].map((flops) => ({ flops, seconds: 6 + flops / 2.5e9 }));
    const fit = fitRate(runs)!;
    expect(fit.flopsPerSecond).toBeCloseTo(2.5e9, -3);
    expect(fit.overheadSeconds).toBeCloseTo(6, 6);
  });

  it("falls back to the median rate with no start-up for one run, runs of one size, or a fit with no physical sense", () => {
    expect(fitRate([{ flops: 1e10, seconds: 4 }])).toEqual({ flopsPerSecond: 2.5e9, overheadSeconds: 0 });
    expect(fitRate([{ flops: 1e10, seconds: 4 }, { flops: 1e10, seconds: 5 }, { flops: 1e10, seconds: 10 }]))
      .toEqual({ flopsPerSecond: 2e9, overheadSeconds: 0 });
    // the bigger run was faster (a resumed small one waited): a negative slope is no rate
    expect(fitRate([{ flops: 1e9, seconds: 20 }, { flops: 1e10, seconds: 10 }])!.overheadSeconds).toBe(0);
    expect(fitRate([])).toBeNull();
    expect(fitRate([{ flops: 1e9, seconds: 0 }])).toBeNull();
  });
});

/** Record a completed sweep of `spec` on `target` that took `seconds` from being recorded to its last event. */
function finished(store: Store, id: string, spec: Spec, target: string, seconds: number): void {
  store.createSweep({ id, spec, target });
  store.ingest(id, target, journal(id, spec, spec.axes.x.points * spec.axes.y.points, 8));
  const start = Date.parse(store.sweep(id)!.created_at);
  store.db.prepare("UPDATE sync_cursors SET updated_at = ? WHERE sweep_id = ?").run(new Date(start + seconds * 1000).toISOString(), id);
}

describe("measuredTime", () => {
  it("uses the target's completed sweeps of the same kind, and says so in the estimate's text", () => {
    const store = openStore(join(tempDir(), "db.sqlite"));
    const small = mlpSpec(4, 4), big = mlpSpec(16, 16);
    const f = (s: Spec) => estimateCost(s).flops!;
    finished(store, "a", small, "local", 5 + f(small) / 1e8);
    finished(store, "b", big, "local", 5 + f(big) / 1e8);
    // not counted: another target, another precision, an unfinished sweep
    finished(store, "c", big, "gpu-box", 1);
    finished(store, "d", mlpSpec(16, 16, { train: { steps: 50, precision: "float32" } }), "local", 1000);
    store.createSweep({ id: "e", spec: mlpSpec(8, 8, { name: "running" }), target: "local" });

    const next = mlpSpec(32, 32);
    const m = measuredTime(store, "local", next)!;
    expect(m.sweeps).toBe(2);
    expect(m.overheadSeconds).toBeCloseTo(5, 3);
    expect(m.seconds).toBeCloseTo(5 + f(next) / 1e8, 2);
    expect(measuredTime(store, "elsewhere", next)).toBeUndefined();
    const text = formatCost(estimateOn(store, "local", next, { device: "cpu", count: 1 }));
    expect(text).toContain("from 2 earlier sweeps like it");
    expect(text).toContain("start-up");
    // no such sweep on a target: the FLOPs guess, named as one
    expect(formatCost(estimateOn(store, "elsewhere", next, { device: "cpu", count: 1 }))).toContain("a guess until a sweep has run there");
    store.close();
  });
});
