// A sweep as the analysis and display code take it: a SweepMap read from the store, and the zoom path (a sweep's
// ancestors, root first) for sequence analyses. Shared by the CLI, the API service and the tests.

import type { CellTrace } from "../analysis/earlywarning";
import type { SweepMap } from "../analysis/map";
import { ranOn } from "./numerics";
import { StoreError, type Store } from "./store";

/** The map as the analysis and display code take it (SweepMap, float64 layers). */
export function sweepMap(store: Store, sweepId: string): SweepMap {
  const s = store.sweep(sweepId)!;
  const fields = store.fields(sweepId);
  const f64 = (name: string) => (fields[name] ? Float64Array.from(store.loadField(sweepId, name)) : new Float64Array(s.cells).fill(NaN));
  const u8 = (name: string) => (fields[name] ? Uint8Array.from(store.loadField(sweepId, name)) : new Uint8Array(s.cells));
  const { x, y } = s.spec.axes;
  return {
    nx: s.nx, ny: s.ny,
    x: { param: x.param, scale: x.scale, range: [s.window.x0, s.window.x1] },
    y: { param: y.param, scale: y.scale, range: [s.window.y0, s.window.y1] },
    trainable: u8("trainable"), stable: u8("stable"), score: f64("score"), finalLoss: f64("final_loss"),
    heldoutLoss: f64("heldout_loss"), oodLoss: f64("ood_loss"), done: store.loadDone(sweepId),
    ranOn: ranOn(s.env)?.summary ?? null,
  };
}

/** The zoom path ending at `sweepId`: its ancestors, root first, then the sweep itself. */
export function zoomPath(store: Store, sweepId: string): string[] {
  const path: string[] = [];
  for (let id: string | null = sweepId; id !== null; ) {
    const s = store.sweep(id);
    if (!s) throw new StoreError(`unknown sweep ${id} in ${store.path}; \`fractal-llm sweeps\` lists them`);
    path.unshift(id);
    id = s.parent_id;
  }
  return path;
}

/**
 * The per-cell curves a sweep recorded (done cells only), for early warning, and the steps of the whole run (the
 * spec's, or for epoch-based SFT the longest trace's last step). Empty when the sweep recorded no curves.
 */
export function sweepTraces(store: Store, sweepId: string): { traces: CellTrace[]; totalSteps: number } {
  const s = store.sweep(sweepId)!;
  const traces: CellTrace[] = [];
  // A spec that did not record curves has none to look up (one query a cell is seconds on a 512² map).
  if (!s.spec.record.curves) return { traces, totalSteps: s.spec.train.steps ?? 0 };
  const done = store.loadDone(sweepId);
  for (let cell = 0; cell < s.cells; cell++) {
    if (!done[cell]) continue;
    const c = store.curve(sweepId, cell);
    if (c) traces.push({ cell, step: c.step, loss: c.loss, gradNorm: c.gradNorm });
  }
  const totalSteps = s.spec.train.steps ?? (traces.length ? Math.max(...traces.map((t) => t.step[t.step.length - 1])) : 0);
  return { traces, totalSteps };
}

/** Why early warning has nothing to read in a sweep without curves, and how to get them. */
export function noCurvesMessage(sweepId: string): string {
  return `sweep ${sweepId} recorded no per-cell curves (its spec has record.curves false, the default above `
    + '128x128 cells); run it again with "record": {"curves": true} to study early warnings';
}
