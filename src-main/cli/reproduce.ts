// `fractal-llm reproduce`: Table 1 of Sohl-Dickstein (2024) from the command line (launch/reproduce.ts runs it
// over the launch path; this file parses flags and prints). docs/REPRODUCTION.md has the measured table.

import { parseArgs } from "node:util";
import { DEFAULT_KEYFRAMES, DEFAULT_LEVELS, DEFAULT_POINTS, formatPaperTable, formatTable, MIN_TABLE1_POINTS, type PaperReproduction,
  reproduceExperiment, reproducePaper, table1, TABLE1_NAMES, type ReproductionResult } from "../launch/reproduce";
import type { Store, SweepRow } from "../core/store";
import type { Progress } from "../core/sweep-runner";
import type { OpenTarget } from "../launch/targets";
import { formatDuration } from "../core/cost";
import { UsageError } from "./errors";

export const REPRODUCE_USAGE = `fractal-llm reproduce --list [--json]
  fractal-llm reproduce NAME|all [--method project|paper] [--points N] [--levels L] [--keyframes K]
      [--init-offset-form once|every_step] [--target T] [--json] [--db FILE]
      project (default): root + L zooms of 4x into the most boundary, box sizes 2..side/4, median local slope
      paper: K concentric keyframes 2x apart about a boundary point, the notebook's edge image, porespy's box
      counts and np.gradient slopes, median with a 95% bootstrap interval (docs/REPRODUCTION.md)`;

interface TargetFlags { target?: string; python?: string; identity?: string; "accept-new-host-key"?: boolean; "accept-host-key"?: string[] }

export async function cmdReproduce(argv: string[], openDb: (path: string | undefined) => Store,
  openTarget: (store: Store, o: TargetFlags) => Promise<OpenTarget>): Promise<number> {
  const { values: o, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      list: { type: "boolean" }, json: { type: "boolean" }, points: { type: "string" }, levels: { type: "string" },
      method: { type: "string" }, keyframes: { type: "string" },
      "init-offset-form": { type: "string" },
      target: { type: "string" }, python: { type: "string" }, identity: { type: "string" },
      "accept-new-host-key": { type: "boolean" }, "accept-host-key": { type: "string", multiple: true }, db: { type: "string" },
    },
  });
  const whole = (flag: string, v: string | undefined, dflt: number, lo: number) => {
    if (v === undefined) return dflt;
    if (!/^\d+$/.test(v) || Number(v) < lo) throw new UsageError(`--${flag} must be a whole number >= ${lo}, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  const points = whole("points", o.points, DEFAULT_POINTS, MIN_TABLE1_POINTS);
  const levels = whole("levels", o.levels, DEFAULT_LEVELS, 0);
  const keyframes = whole("keyframes", o.keyframes, DEFAULT_KEYFRAMES, 1);
  const method = o.method ?? "project";
  if (method !== "project" && method !== "paper") throw new UsageError(`--method must be project or paper, got ${JSON.stringify(method)}`);
  if (method === "project" && o.keyframes !== undefined) throw new UsageError("--keyframes is for --method paper (the project's method zooms: --levels)");
  if (method === "paper" && o.levels !== undefined) throw new UsageError("--levels is for --method project (the paper's method takes --keyframes)");
  const form = o["init-offset-form"];
  if (form !== undefined && form !== "once" && form !== "every_step") {
    throw new UsageError(`--init-offset-form must be once or every_step, got ${JSON.stringify(form)}`);
  }
  if (o.list) {
    const list = table1(points);
    if (o.json) {
      process.stdout.write(JSON.stringify({ experiments: list.map((e) => ({ name: e.name, paper_dimension: e.paper_dimension, spec: e.spec })) }, null, 1) + "\n");
    } else {
      for (const e of list) process.stdout.write(`${e.name.padEnd(18)} D = ${e.paper_dimension.toFixed(2)}  ${e.title}\n`);
    }
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`reproduce needs one experiment name or all (${TABLE1_NAMES.join(", ")}), or --list\n\n  ${REPRODUCE_USAGE}`);
  const names = positionals[0] === "all" ? TABLE1_NAMES : [positionals[0]];
  for (const n of names) if (!TABLE1_NAMES.includes(n)) throw new UsageError(`unknown experiment ${JSON.stringify(n)}; known: ${TABLE1_NAMES.join(", ")}, all`);

  const store = openDb(o.db);
  const abort = new AbortController();
  const onSig = () => abort.abort();
  process.once("SIGINT", onSig);
  process.once("SIGTERM", onSig);
  const t0 = Date.now();
  try {
    const t = await openTarget(store, o);
    const results: (ReproductionResult | PaperReproduction)[] = [];
    try {
      for (const name of names) {
        let last = 0;
        let lastDone = -1;
        const ro = {
          points, levels, keyframes, signal: abort.signal, initOffsetForm: form as "once" | "every_step" | undefined,
          onStart: (n: string, level: number, row: SweepRow, resumed: boolean) =>
            process.stderr.write(`${n} ${method === "paper" ? (level === 0 ? "root" : `keyframe ${level - 1}`) : `level ${level}`}: sweep ${row.id} (${row.nx}x${row.ny} cells, `
            + `x ${row.window.x0.toPrecision(6)}..${row.window.x1.toPrecision(6)}, y ${row.window.y0.toPrecision(6)}..${row.window.y1.toPrecision(6)})`
            + `${resumed ? ", from the store" : ""}\n`),
          onProgress: (p: Progress) => {
            const now = Date.now();
            if (p.done === lastDone || (now - last < 5000 && p.done !== p.total)) return;
            last = now;
            lastDone = p.done;
            process.stderr.write(`  ${p.done}/${p.total} cells, ${p.rate.toFixed(1)} cells/s, ETA ${p.eta === null ? "?" : formatDuration(p.eta)}\n`);
          },
          onNotice: (m: string) => process.stderr.write(`${m}\n`),
        };
        results.push(method === "paper" ? await reproducePaper(store, name, t, ro) : await reproduceExperiment(store, name, t, ro));
        if (abort.signal.aborted) break;
      }
    } finally {
      await t.close();
    }
    const seconds = (Date.now() - t0) / 1000;
    if (o.json) {
      process.stdout.write(JSON.stringify({ method, points, ...(method === "paper" ? { keyframes } : { levels }), target: t.name, seconds, results }, null, 1) + "\n");
    } else if (method === "paper") {
      process.stdout.write(`Table 1 of Sohl-Dickstein (2024), the paper's method: ${keyframes} keyframe(s) of ${points}x${points} cells 2x apart, `
        + `on ${t.label}, ${formatDuration(seconds)}\n${formatPaperTable(results as PaperReproduction[])}\n`);
    } else {
      process.stdout.write(`Table 1 of Sohl-Dickstein (2024), the project's method: ${points}x${points} cells a level, root + ${levels} zoom(s), on ${t.label}, `
        + `${formatDuration(seconds)}\n${formatTable(results as ReproductionResult[])}\n`);
    }
    return results.every((r) => r.error === null) ? 0 : 1;
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
    store.close();
  }
}
