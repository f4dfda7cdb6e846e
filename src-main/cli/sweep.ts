// `sweep` and `zoom`: create (or find) a sweep, run it to the end on its target with a progress bar, print its id.

import { parseArgs } from "node:util";
import { estimateOn, formatCost, formatDuration } from "../core/cost";
import { LocalDataError } from "../core/local-data";
import type { Store } from "../core/store";
import type { Progress } from "../core/sweep-runner";
import { FillInError, fillInSpec, followSweep, prepareSweep, recordSweep, zoomChildSpec } from "../launch/launch";
import { targetProfile } from "../launch/targets";
import { uploadLine } from "../ssh/upload";
import { describeTasks } from "../../src-shared/format";
import { fmtWindow, type Window } from "../../src-shared/grid";
import { type Spec, SpecError, validate } from "../../src-shared/spec";
import { openCliTarget, openDb, readSpecFile, SSH_OPTIONS, type SshOpts } from "./common";
import { UsageError } from "./errors";

function progressBar(): { update: (p: Progress) => void; end: () => void } {
  const tty = process.stderr.isTTY;
  let last = 0;
  let lastDone = -1;
  const render = (p: Progress) => {
    const frac = p.total ? p.done / p.total : 0;
    const width = 30;
    const bar = "#".repeat(Math.round(frac * width)).padEnd(width, ".");
    return `[${bar}] ${p.done}/${p.total} cells (${(100 * frac).toFixed(1)}%)  ${p.rate.toFixed(1)} cells/s  ETA ${p.eta === null ? "?" : formatDuration(p.eta)}`
      + (p.tasks ? `  ${describeTasks(p.tasks)}` : "");
  };
  return {
    update: (p) => {
      const now = Date.now();
      const line = render(p);
      if (tty) {
        if (now - last < 100 && p.done !== p.total) return;
        process.stderr.write(`\r${line}\x1b[K`);
      } else {
        // Not a terminal (a log file, CI): a line a second, and the finished count once.
        if (p.done === p.total ? lastDone === p.total : now - last < 1000) return;
        process.stderr.write(line + "\n");
      }
      last = now;
      lastDone = p.done;
    },
    end: () => { if (tty && last) process.stderr.write("\n"); },
  };
}

/** Create (or find) the sweep, run it to the end on the target (launch/launch.ts), print its id last. */
async function runSpec(store: Store, given: Spec, o: SshOpts & { new?: boolean }): Promise<number> {
  const target = o.target ?? "local";
  let p;
  try {
    p = await prepareSweep(store, given, target, o.new ?? false);
  } catch (e) {
    if (e instanceof LocalDataError) throw new UsageError(`${e.message}\n(nothing was uploaded or recorded)`);
    throw e;
  }
  const { id, spec } = p;
  for (const w of p.warnings) process.stderr.write(`warning: ${w}\n`);
  if (p.existing?.status === "completed") {
    process.stderr.write(`sweep ${id} already completed (${p.existing.done_cells}/${p.existing.cells} cells) in ${store.path}\n`);
    process.stdout.write(id + "\n");
    return 0;
  }
  const profile = targetProfile(store, target); // what the last connection there found (GPUs), else a guess
  process.stderr.write(`cost: ${formatCost(estimateOn(store, target, spec, profile))}\n`);
  const t = await openCliTarget(store, o); // fails before the sweep is recorded if the target is unusable
  const shown = /^[A-Za-z0-9._-]+$/.test(target) ? target : t.label; // the alias the user typed, else user@host:port
  let row;
  try {
    row = await recordSweep(store, p, t, (r) => process.stderr.write(uploadLine(r, shown) + "\n"));
  } catch (e) {
    await t.close();
    throw e;
  }
  if (p.existing) process.stderr.write(`resuming sweep ${id}: ${row.done_cells}/${row.cells} cells already here\n`);
  process.stderr.write(`sweep ${id} "${spec.name}" on ${t.label}: ${row.cells} cells\n`);

  const abort = new AbortController();
  const onSig = () => abort.abort();
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  const bar = progressBar();
  try {
    // Re-running the command also resumes a sweep that was cancelled or failed on the node.
    const r = await followSweep(store, id, t, {
      signal: abort.signal, resume: true,
      onProgress: bar.update, onNotice: (m) => { bar.end(); process.stderr.write(`${m}\n`); },
    });
    bar.end();
    if (r.status === "detached") {
      process.stderr.write(`stopped following at ${r.done}/${r.total} cells; the agent keeps running the sweep. `
        + `Re-run the same command to resume.\n`);
      process.stdout.write(id + "\n");
      return 130;
    }
    process.stderr.write(`sweep ${id}: ${r.status} (${r.done}/${r.total} cells)${r.error ? ": " + r.error : ""}\n`);
    process.stdout.write(id + "\n");
    return r.status === "completed" ? 0 : 1;
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
    await t.close();
  }
}

export async function cmdSweep(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({ args: argv, options: { spec: { type: "string" }, new: { type: "boolean" }, ...SSH_OPTIONS } });
  if (!o.spec) throw new UsageError("sweep needs --spec FILE");
  const spec = readSpecFile(o.spec); // validated before the database is touched
  const store = openDb(o.db);
  try {
    return await runSpec(store, spec, o);
  } finally {
    store.close();
  }
}

function parseWindow(s: string): Window {
  const parts = s.split(",").map((p) => Number(p.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isFinite(v))) {
    throw new UsageError(`--window must be four numbers x0,x1,y0,y1 in axis units (log10 for a log axis), got ${JSON.stringify(s)}`);
  }
  const [x0, x1, y0, y1] = parts;
  if (!(x0 < x1 && y0 < y1)) throw new UsageError(`--window needs x0 < x1 and y0 < y1, got ${s}`);
  return { x0, x1, y0, y1 };
}

export async function cmdZoom(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, window: { type: "string" }, points: { type: "string" }, new: { type: "boolean" }, ...SSH_OPTIONS },
  });
  if (!o.sweep || !o.window || !o.points) throw new UsageError("zoom needs --sweep ID --window x0,x1,y0,y1 --points N");
  const w = parseWindow(o.window);
  const points = Number(o.points);
  const store = openDb(o.db);
  try {
    const parent = store.sweep(o.sweep);
    if (!parent) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    const target = o.target ?? parent.target;
    let child: Spec;
    try {
      child = validate(zoomChildSpec(parent, w, points, target));
    } catch (e) {
      if (e instanceof SpecError && e.field.endsWith(".points")) throw new UsageError(`--points: ${e.detail}`);
      if (e instanceof SpecError) throw e;
      throw new UsageError((e as Error).message);
    }
    process.stderr.write(`zoom of ${parent.id} on window ${fmtWindow(w)}, ${points}x${points} cells\n`);
    return await runSpec(store, child, { ...o, target });
  } finally {
    store.close();
  }
}

/**
 * `fill-in --sweep ID`: train the cells boundary sweep ID inferred. The result is the grid sweep of the same spec
 * on the same target (its id is the exhaustive map's: re-running resumes it), which the agent starts from ID's
 * trained cells, so only the inferred ones are trained; ID itself is kept as it is.
 */
export async function cmdFillIn(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({ args: argv, options: { sweep: { type: "string" }, ...SSH_OPTIONS } });
  if (!o.sweep) throw new UsageError("fill-in needs --sweep ID (a sweep with \"sampling\": \"boundary\")");
  const store = openDb(o.db);
  try {
    const row = store.sweep(o.sweep);
    if (!row) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    if (o.target && o.target !== row.target) {
      throw new UsageError(`--target: a fill-in runs where sweep ${row.id} ran (${row.target}): its trained cells are there`);
    }
    let spec: Spec;
    try {
      spec = fillInSpec(row);
    } catch (e) {
      if (e instanceof FillInError) throw new UsageError(e.message, 1);
      throw e;
    }
    process.stderr.write(`fill in ${row.id}: the same spec with every cell trained, from its trained cells\n`);
    return await runSpec(store, spec, { ...o, target: row.target });
  } finally {
    store.close();
  }
}
