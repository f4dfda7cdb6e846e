// Export a sweep's map from the store: CSV (one row per cell with a result), JSON (arrays per field) or PNG
// (the paper's colouring, drawn by src-main/analysis). Files are written to a temporary name and renamed, so a
// failed export never leaves a half-written file behind. The app gets the same bytes in memory (sweepFile: the API's
// exportSweep, a download in browser mode); `fractal-llm export` writes them to a file (exportSweep).

import { closeSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { layerPng } from "../analysis/report";
import { COLOUR_LAYERS, type ColourLayer } from "../analysis/colour";
import { isPaletteName, PALETTES, paletteOf } from "../../src-shared/colours";
import { axisValue } from "../../src-shared/grid";
import { samplingOf } from "../../src-shared/spec";
import { ranOn } from "../core/numerics";
import type { Store } from "../core/store";
import { sweepMap } from "../core/sweep-maps";
import type { Numeric } from "../core/tiles";

export type ExportFormat = "csv" | "json" | "png";

/** CSV columns after ix,iy,x,y; fields the sweep did not record are left empty. An SFT sweep's multiple-choice
 *  results (eval.<task>.acc, eval.<task>.acc_norm) follow, sorted. */
export const CSV_FIELDS = ["trainable", "stable", "score", "first_loss", "final_loss", "divergence_step", "heldout_loss",
  "ood_loss", "wall_time", "flops", "inferred"];

/** A sweep's `inferred` field (1: the cell's values were copied from a trained cell by boundary sampling, 0: trained);
 *  a grid sweep records none, and every one of its cells was trained. */
function inferredField(store: Store, sweepId: string, cells: number): Numeric {
  return store.fields(sweepId).inferred ? store.loadField(sweepId, "inferred") : new Uint8Array(cells);
}

/** Write the export; returns the number of cells with results. */
/** What a PNG draws: the layer (default score) and its palette (colours.ts PALETTES; default the paper's for the layer). */
export interface ExportOptions { layer?: string; palette?: string }

export function exportSweep(store: Store, sweepId: string, format: ExportFormat, out: string, opts: ExportOptions = {}): number {
  // Created only if nothing is there ("wx"): a symlink planted at the name is never followed, and never removed.
  const tmp = `${out}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    throw new Error(`cannot export to ${out}: something is in the way at ${tmp} (a file or link left by another program, `
      + "or planted); remove it and export again");
  }
  try {
    let n: number;
    try {
      n = writeFormat(store, sweepId, format, (chunk) => (typeof chunk === "string" ? writeSync(fd, chunk) : writeSync(fd, chunk)), opts);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, out);
    return n;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** The export's bytes in memory and its cells with results (the app's download; the CLI writes a file). */
export function sweepFile(store: Store, sweepId: string, format: ExportFormat, opts: ExportOptions = {}): { data: Uint8Array; cells: number } {
  const chunks: Buffer[] = [];
  const cells = writeFormat(store, sweepId, format, (c) => chunks.push(typeof c === "string" ? Buffer.from(c, "utf8") : Buffer.from(c)), opts);
  const all = Buffer.concat(chunks);
  return { data: new Uint8Array(all.buffer, all.byteOffset, all.byteLength), cells };
}

type Sink = (chunk: string | Uint8Array) => void;

function writeFormat(store: Store, sweepId: string, format: ExportFormat, write: Sink, opts: ExportOptions): number {
  return format === "png" ? writePng(store, sweepId, write, opts.layer ?? "score", opts.palette)
    : format === "csv" ? writeCsv(store, sweepId, write) : writeJson(store, sweepId, write);
}

function countDone(done: Uint8Array): number {
  let n = 0;
  for (const d of done) n += d;
  return n;
}

function writePng(store: Store, sweepId: string, write: Sink, layer: string, palette?: string): number {
  if (!(COLOUR_LAYERS as readonly string[]).includes(layer)) throw new Error(`--layer must be one of ${COLOUR_LAYERS.join(", ")}, got ${JSON.stringify(layer)}`);
  if (palette !== undefined && !isPaletteName(palette)) {
    throw new Error(`--palette must be one of ${PALETTES.map((p) => p.name).join(", ")}, got ${JSON.stringify(palette)}`);
  }
  const map = sweepMap(store, sweepId);
  write(layerPng(map, layer as ColourLayer, { title: store.sweep(sweepId)!.name, palette: palette === undefined ? undefined : paletteOf(palette) }));
  return countDone(map.done!);
}

/** Shortest text that reads back as the same double ("" for a missing value; NaN and infinities spelled out). */
function num(v: number): string {
  return Number.isNaN(v) ? "nan" : v === Infinity ? "inf" : v === -Infinity ? "-inf" : String(v);
}

function writeCsv(store: Store, sweepId: string, write: Sink): number {
  const s = store.sweep(sweepId)!;
  const recorded = store.fields(sweepId);
  const names = [...CSV_FIELDS, ...Object.keys(recorded).filter((f) => f.startsWith("eval.")).sort()];
  const cols: (Numeric | null)[] = names.map((f) => (f === "inferred" ? inferredField(store, sweepId, s.cells)
    : recorded[f] ? store.loadField(sweepId, f) : null));
  const done = store.loadDone(sweepId);
  const xs = Array.from({ length: s.nx }, (_, i) => num(axisValue(s.spec.axes.x, i)));
  const ys = Array.from({ length: s.ny }, (_, i) => num(axisValue(s.spec.axes.y, i)));
  let n = 0;
  let buf = ["ix", "iy", "x", "y", ...names].join(",") + "\n";
  for (let c = 0; c < s.cells; c++) {
    if (!done[c]) continue;
    const ix = c % s.nx, iy = (c - ix) / s.nx;
    buf += `${ix},${iy},${xs[ix]},${ys[iy]}`;
    for (const col of cols) buf += col ? `,${num(col[c])}` : ",";
    buf += "\n";
    n++;
    if (buf.length > 1 << 20) { write(buf); buf = ""; }
  }
  write(buf);
  return n;
}

function writeJson(store: Store, sweepId: string, write: Sink): number {
  const s = store.sweep(sweepId)!;
  const done = store.loadDone(sweepId);
  const fields: Record<string, (number | string | null)[]> = {};
  for (const f of [...new Set([...Object.keys(store.fields(sweepId)), "inferred"])].sort()) {
    const col = f === "inferred" ? inferredField(store, sweepId, s.cells) : store.loadField(sweepId, f);
    // JSON has no NaN or infinity: missing cells are null, non-finite values their names as strings.
    fields[f] = Array.from(col, (v, c) => (!done[c] ? null : Number.isFinite(v) ? v : num(v)));
  }
  const doc = {
    sweep: s.id, name: s.name, status: s.status, parent: s.parent_id, target: s.target, env: s.env,
    ran_on: ranOn(s.env)?.summary ?? null, // the env in one line: CPU and ISA level, BLAS kernel (or GPU), torch, agent
    window: s.window, nx: s.nx, ny: s.ny, cells: s.cells, done_cells: s.done_cells, layout: "row-major, index = iy * nx + ix",
    // boundary sampling: fields.inferred is 1 where a cell's values were copied from a trained cell, not trained
    sampling: samplingOf(s.spec), spec: s.spec, done: Array.from(done), fields,
    // SFT sweeps: the untrained model's held-out / OOD loss and evals, to read forgetting off the fields
    base: s.base,
  };
  write(JSON.stringify(doc) + "\n");
  return countDone(done);
}
