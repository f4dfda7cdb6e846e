// Regenerates resources/demo.sqlite, the maps the app opens on when the user has no sweeps of their own, with
// the project's own pipeline: the fractal-llm CLI driving the real agent on the `local` target (CPU torch), its
// daemon started with one worker per CPU core.
//
//   npm run demo:db                      # 12 minutes on 2 CPU cores shared with other work (load 3-8); 3.9 MiB
//   npm run demo:db -- --out FILE --python /usr/bin/python3 --workers N
//
// What it holds (test/demo checks every line of this):
//   * "paper MLP" : the paper's tanh MLP (width 8, 100 full-batch GD steps), LR(input) x LR(output) over 10^-2..10^5
//     each, 512x512 cells: converged (blue) below and left, diverged (red) above and in the lower right corner, the
//     boundary fraying into chaos towards large input LRs, in the paper's colouring. Then three zooms, each 256x256
//     on a window 1/5 of its parent's per axis (on the parent's cell edges), centred on the boundary point nearest the
//     parent's centre whose neighbourhood is evenly mixed: like the paper's zoom sequences, every level follows one
//     spot of the boundary down (125x at the deepest, still filaments rather than noise) instead of jumping to
//     wherever the map is most speckled.
//     No curves are stored (2 kB a cell would be ~900 MB): the app re-trains a cell it is asked about on this
//     computer, bit for bit (src-main/api/recompute.ts). The colouring score is kept as rounded float32, as 4096^2
//     maps keep it (Store.roundFloats), final_loss bit for bit; the file stays a few MB.
//   * "tiny SFT"  : the tiny GPT checkpoint (resources/tiny-gpt) fine-tuned on the synthetic chat families,
//     LR x dataset size, 8x4 cells, with loss curves, the base model's held-out and OOD loss and multiple-choice
//     accuracy on generated arithmetic (a trained family) and sort (the OOD one) questions, and samples (base vs
//     fine-tuned answers to the held-out prompts) of its trainable cell with the lowest held-out loss, so the
//     inspector shows them offline on first launch.
// The database is written under a temporary name and renamed, so a failed run leaves the old one in place.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { specWindow, type Window, zoomSpec } from "../src-shared/grid";
import { agentDir } from "../src-main/core/local-transport";
import { validate } from "../src-shared/spec";
import { openStore } from "../src-main/core/store";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CLI = join(ROOT, "bin", "fractal-llm.js");

export const DEMO_MLP_ROOT_POINTS = 512;
export const DEMO_ZOOM_POINTS = 256;
export const DEMO_ZOOM_LEVELS = 3;
/** Each zoom's window is this fraction of its parent's, per axis (names say "zoom k (5^k x)"). */
export const DEMO_ZOOM_FRACTION = 1 / 5;
/** A zoom box counts as evenly mixed when this close to half trainable. */
const MIXED = 0.1;
/** Fields kept as rounded float32 (Store.roundFloats): the score only ranks cells for the colouring. */
export const DEMO_ROUNDED_FIELDS = ["score"];

const MLP_SPEC = {
  version: 1,
  name: "paper MLP: LR(input) x LR(output)",
  model: { family: "mlp", width: 8, activation: "tanh", data_multiple: 1.0, seed: 0 },
  train: { optimizer: "gd", steps: 100, batch_size: null, precision: "float64" },
  axes: {
    x: { param: "lr.input", scale: "log", range: [-2, 5], points: DEMO_MLP_ROOT_POINTS },
    y: { param: "lr.output", scale: "log", range: [-2, 5], points: DEMO_MLP_ROOT_POINTS },
  },
  criterion: { window: 20, threshold: 1.0 },
  // No stored curves (see the header): the app recomputes the curve of a cell it is asked about.
  record: { curves: false },
};

const SFT_SPEC = {
  version: 1,
  name: "tiny SFT: LR x dataset size",
  model: { family: "gpt", checkpoint: "tiny", trainable: "all", seed: 0 },
  // Multiple choice on a trained family and on the OOD one (generated, evals.py): what was learnt and what was not.
  data: { dataset: "synthetic:arithmetic,reverse,copy", seq_len: 64, heldout: 32, ood: "synthetic:sort", evals: ["synthetic_arithmetic:50", "synthetic_sort:50"] },
  train: {
    optimizer: "adamw", batch_size: 4, epochs: 1, schedule: "cosine", warmup: 0.02, weight_decay: 0.1,
    grad_clip: 1.0, precision: "float32",
  },
  axes: {
    x: { param: "lr", scale: "log", range: [-4, 1], points: 8 },
    y: { param: "dataset_size", scale: "log", range: [1, 2.5], points: 4 },
  },
  criterion: { window: 5, threshold: 1.0 },
};

/** Run the CLI; its last stdout line is the sweep id. Progress goes straight to our stderr. */
function cli(args: string[]): string {
  process.stderr.write(`$ fractal-llm ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`fractal-llm ${args[0]} exited with ${r.status}; its stdout:\n${r.stdout}`);
  const id = r.stdout.trim().split("\n").pop();
  if (!id) throw new Error(`fractal-llm ${args[0]} printed no sweep id`);
  return id;
}

/**
 * The zoom window of a map: a box DEMO_ZOOM_FRACTION of its size per axis, on its cell edges, centred on a boundary
 * cell (trainable differs from a 4-neighbour). Of those, the boxes within MIXED of half trainable come first, and
 * among them the one nearest the map's centre (then the first in cell order): each level zooms into the spot its
 * parent was centred on, while no box is that mixed the one nearest half trainable.
 */
export function boundaryWindow(trainable: ArrayLike<number>, nx: number, ny: number, w: Window): Window {
  const bx = Math.max(2, Math.round(nx * DEMO_ZOOM_FRACTION)), by = Math.max(2, Math.round(ny * DEMO_ZOOM_FRACTION));
  const hx = bx >> 1, hy = by >> 1;
  const at = (ix: number, iy: number) => Number(trainable[iy * nx + ix]);
  // sat[(j) * (nx + 1) + i] = trainable cells in [0, i) x [0, j): any box's count in four reads
  const sat = new Float64Array((nx + 1) * (ny + 1));
  for (let j = 0; j < ny; j++) {
    let row = 0;
    for (let i = 0; i < nx; i++) sat[(j + 1) * (nx + 1) + i + 1] = sat[j * (nx + 1) + i + 1] + (row += at(i, j));
  }
  let best: { ix: number; iy: number; key: [number, number] } | null = null;
  for (let iy = hy; iy < ny - (by - hy) + 1; iy++) {
    for (let ix = hx; ix < nx - (bx - hx) + 1; ix++) {
      const v = at(ix, iy);
      if (at(ix - 1, iy) === v && (ix + 1 >= nx || at(ix + 1, iy) === v) && at(ix, iy - 1) === v && (iy + 1 >= ny || at(ix, iy + 1) === v)) continue;
      const x0 = ix - hx, y0 = iy - hy;
      const inBox = sat[(y0 + by) * (nx + 1) + x0 + bx] - sat[y0 * (nx + 1) + x0 + bx] - sat[(y0 + by) * (nx + 1) + x0] + sat[y0 * (nx + 1) + x0];
      const key: [number, number] = [Math.max(0, Math.abs(inBox / (bx * by) - 0.5) - MIXED), Math.hypot(ix + 0.5 - nx / 2, iy + 0.5 - ny / 2)];
      if (!best || key[0] < best.key[0] || (key[0] === best.key[0] && key[1] < best.key[1])) best = { ix, iy, key };
    }
  }
  if (!best) throw new Error("the sweep has no trainable/diverged boundary to zoom into; widen its window");
  const dx = (w.x1 - w.x0) / nx, dy = (w.y1 - w.y0) / ny;
  const x0 = w.x0 + (best.ix - hx) * dx, y0 = w.y0 + (best.iy - hy) * dy;
  return { x0, x1: x0 + bx * dx, y0, y1: y0 + by * dy };
}

export const DEMO_SAMPLE_TOKENS = 48;

/** The SFT map's trainable cell with the lowest held-out loss (the demo's samples are of it). */
export function demoSamplesCell(dbPath: string, sweepId: string): number {
  const store = openStore(dbPath);
  try {
    const trainable = store.loadField(sweepId, "trainable"), held = store.loadField(sweepId, "heldout_loss");
    let best = -1;
    for (let c = 0; c < held.length; c++) if (trainable[c] && Number.isFinite(held[c]) && (best < 0 || held[c] < held[best])) best = c;
    if (best < 0) throw new Error(`sweep ${sweepId} has no trainable cell with a held-out loss to take samples of`);
    return best;
  } finally {
    store.close();
  }
}

function main(): void {
  const { values } = parseArgs({
    options: {
      out: { type: "string", default: join(ROOT, "resources", "demo.sqlite") }, python: { type: "string", default: "/usr/bin/python3" },
      workers: { type: "string", default: String(availableParallelism()) },
    },
  });
  const workers = Number(values.workers);
  if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`--workers must be a positive integer, got ${values.workers}`);
  const out = resolve(values.out!);
  const work = mkdtempSync(join(tmpdir(), "fractal-demo-"));
  const db = `${out}.tmp-${process.pid}`;
  // Own agent home: the demo never touches the user's daemon or journals.
  const agentHome = join(work, "agent-home");
  process.env.FRACTAL_AGENT_HOME = agentHome;
  const common = ["--target", "local", "--python", values.python!, "--db", db];
  const t0 = Date.now();
  try {
    // The CLI's sweeps attach to this daemon: one CPU worker per core (the local target's own default is one).
    const daemon = spawnSync(values.python!, ["-m", "fractal_agent", "daemon", "--home", agentHome, "--workers", String(workers), "--idle-timeout", "600"],
      { cwd: agentDir(), env: { ...process.env, PYTHONPATH: agentDir() }, encoding: "utf8" });
    if (daemon.status !== 0) throw new Error(`cannot start the agent's daemon with ${values.python}: ${daemon.stderr.trim()}`);

    const mlpFile = join(work, "mlp.json"), sftFile = join(work, "sft.json");
    writeFileSync(mlpFile, JSON.stringify(MLP_SPEC));
    writeFileSync(sftFile, JSON.stringify(SFT_SPEC));

    // The SFT map first: with no sweep named, the UI opens the most recently updated one, the deepest zoom.
    const sftId = cli(["sweep", "--spec", sftFile, ...common]);
    cli(["samples", "--sweep", sftId, "--cell", String(demoSamplesCell(db, sftId)), "--max-new-tokens", String(DEMO_SAMPLE_TOKENS), "--db", db,
      "--python", values.python!]);
    let id = cli(["sweep", "--spec", mlpFile, ...common]);
    for (let level = 1; ; level++) {
      const store = openStore(db);
      store.roundFloats(id, DEMO_ROUNDED_FIELDS);
      const row = store.sweep(id)!;
      const win = level <= DEMO_ZOOM_LEVELS
        ? boundaryWindow(store.loadField(id, "trainable"), row.spec.axes.x.points, row.spec.axes.y.points, specWindow(row.spec)) : null;
      store.close();
      if (!win) break;
      // What `fractal-llm zoom` does (src-shared/grid.ts zoomSpec), plus a name and no curves, run as a spec.
      const child = zoomSpec(row.spec, id, win, DEMO_ZOOM_POINTS);
      child.name = `${MLP_SPEC.name} - zoom ${level} (${5 ** level}x)`;
      child.record = { curves: false };
      const file = join(work, `zoom${level}.json`);
      writeFileSync(file, JSON.stringify(validate(child)));
      id = cli(["sweep", "--spec", file, ...common]);
    }

    // A single self-contained file: fold the WAL back in and leave WAL mode, so that opening the shipped file
    // (read-only, perhaps in a read-only install directory) creates no -wal/-shm files beside it.
    const store = openStore(db);
    store.db.pragma("wal_checkpoint(TRUNCATE)");
    store.db.pragma("journal_mode = DELETE");
    store.close();
    for (const suffix of ["-wal", "-shm"]) if (existsSync(db + suffix)) rmSync(db + suffix);
    renameSync(db, out);
    process.stderr.write(`wrote ${out} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
  } finally {
    // The local agent's daemon outlives the CLI (idle timeout); this one is ours alone, so stop it.
    const pidFile = join(agentHome, "daemon.pid");
    if (existsSync(pidFile)) process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGTERM");
    rmSync(work, { recursive: true, force: true });
    for (const suffix of ["", "-wal", "-shm"]) rmSync(db + suffix, { force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
