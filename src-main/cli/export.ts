// Export a sweep's map from the store: CSV (one row per cell with a result), JSON (arrays per field) or PNG
// (the paper's colouring, drawn by src-main/analysis). Files are written to a temporary name and renamed, so a
// failed export never leaves a half-written file behind.

import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { layerPng } from "../analysis/report";
import { COLOUR_LAYERS, type ColourLayer } from "../analysis/colour";
import { axisValue } from "../core/grid";
import { ranOn } from "../core/numerics";
import type { Store } from "../core/store";
import { sweepMap } from "../core/sweep-maps";
import type { Numeric } from "../core/tiles";

export type ExportFormat = "csv" | "json" | "png";

/** CSV columns after ix,iy,x,y; fields the sweep did not record are left empty. An SFT sweep's multiple-choice
 *  results (eval.<task>.acc, eval.<task>.acc_norm) follow, sorted. */
export const CSV_FIELDS = ["trainable", "stable", "score", "first_loss", "final_loss", "divergence_step", "heldout_loss",
  "ood_loss", "wall_time", "flops"];

/** Write the export; returns the number of cells with results. */
export function exportSweep(store: Store, sweepId: string, format: ExportFormat, out: string, opts: { layer?: string } = {}): number {
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    const n = format === "png" ? writePng(store, sweepId, tmp, opts.layer ?? "score")
      : format === "csv" ? writeCsv(store, sweepId, tmp) : writeJson(store, sweepId, tmp);
    renameSync(tmp, out);
    return n;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function countDone(done: Uint8Array): number {
  let n = 0;
  for (const d of done) n += d;
  return n;
}

function writePng(store: Store, sweepId: string, path: string, layer: string): number {
  if (!(COLOUR_LAYERS as readonly string[]).includes(layer)) throw new Error(`--layer must be one of ${COLOUR_LAYERS.join(", ")}, got ${JSON.stringify(layer)}`);
  const map = sweepMap(store, sweepId);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, layerPng(map, layer as ColourLayer, { title: store.sweep(sweepId)!.name }));
  } finally {
    closeSync(fd);
  }
  return countDone(map.done!);
}

/** Shortest text that reads back as the same double ("" for a missing value; NaN and infinities spelled out). */
function num(v: number): string {
  return Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : String(v);
}

function writeCsv(store: Store, sweepId: string, path: string): number {
  const s = store.sweep(sweepId)!;
  const recorded = store.fields(sweepId);
  const names = [...CSV_FIELDS, ...Object.keys(recorded).filter((f) => f.startsWith("eval.")).sort()];
  const cols: (Numeric | null)[] = names.map((f) => (recorded[f] ? store.loadField(sweepId, f) : null));
  const done = store.loadDone(sweepId);
  const xs = Array.from({ length: s.nx }, (_, i) => num(axisValue(s.spec.axes.x, i)));
  const ys = Array.from({ length: s.ny }, (_, i) => num(axisValue(s.spec.axes.y, i)));
  const fd = openSync(path, "w");
  let n = 0;
  try {
    let buf = ["ix", "iy", "x", "y", ...names].join(",") + "\n";
    for (let c = 0; c < s.cells; c++) {
      if (!done[c]) continue;
      const ix = c % s.nx, iy = (c - ix) / s.nx;
      buf += `${ix},${iy},${xs[ix]},${ys[iy]}`;
      for (const col of cols) buf += col ? `,${num(col[c])}` : ",";
      buf += "\n";
      n++;
      if (buf.length > 1 << 20) { writeSync(fd, buf); buf = ""; }
    }
    writeSync(fd, buf);
  } finally {
    closeSync(fd);
  }
  return n;
}

function writeJson(store: Store, sweepId: string, path: string): number {
  const s = store.sweep(sweepId)!;
  const done = store.loadDone(sweepId);
  const fields: Record<string, (number | string | null)[]> = {};
  for (const f of Object.keys(store.fields(sweepId)).sort()) {
    const col = store.loadField(sweepId, f);
    // JSON has no NaN or infinity: missing cells are null, non-finite values their names as strings.
    fields[f] = Array.from(col, (v, c) => (!done[c] ? null : Number.isFinite(v) ? v : num(v)));
  }
  const doc = {
    sweep: s.id, name: s.name, status: s.status, parent: s.parent_id, target: s.target, env: s.env,
    ran_on: ranOn(s.env)?.summary ?? null, // the env in one line: CPU and ISA level, BLAS kernel (or GPU), torch, agent
    window: s.window, nx: s.nx, ny: s.ny, cells: s.cells, done_cells: s.done_cells, layout: "row-major, index = iy * nx + ix",
    spec: s.spec, done: Array.from(done), fields,
    // SFT sweeps: the untrained model's held-out / OOD loss and evals, to read forgetting off the fields
    base: s.base,
  };
  const fd = openSync(path, "w");
  try {
    writeSync(fd, JSON.stringify(doc) + "\n");
  } finally {
    closeSync(fd);
  }
  return countDone(done);
}
