// `fractal-llm reproduce`: Table 1 of Sohl-Dickstein (2024) from the command line (core/reproduce.ts runs it
// over the launch path; this file parses flags and prints). docs/REPRODUCTION.md has the measured table.

import { parseArgs } from "node:util";
import { DEFAULT_LEVELS, DEFAULT_POINTS, formatTable, MIN_TABLE1_POINTS, reproduceExperiment, table1, TABLE1_NAMES,
  type ReproductionResult } from "../launch/reproduce";
import type { Store } from "../core/store";
import type { OpenTarget } from "../launch/targets";
import { formatDuration } from "../core/cost";
import { UsageError } from "./errors";

export const REPRODUCE_USAGE = `fractal-llm reproduce --list [--json]
  fractal-llm reproduce NAME|all [--points N] [--levels L] [--init-offset-form once|every_step] [--target T] [--json] [--db FILE]`;

interface TargetFlags { target?: string; python?: string; identity?: string; "accept-new-host-key"?: boolean; "accept-host-key"?: string[] }

export async function cmdReproduce(argv: string[], openDb: (path: string | undefined) => Store,
  openTarget: (store: Store, o: TargetFlags) => Promise<OpenTarget>): Promise<number> {
  const { values: o, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      list: { type: "boolean" }, json: { type: "boolean" }, points: { type: "string" }, levels: { type: "string" },
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
    const results: ReproductionResult[] = [];
    try {
      for (const name of names) {
        let last = 0;
        let lastDone = -1;
        results.push(await reproduceExperiment(store, name, t, {
          points, levels, signal: abort.signal, initOffsetForm: form as "once" | "every_step" | undefined,
          onStart: (n, level, row, resumed) => process.stderr.write(`${n} level ${level}: sweep ${row.id} (${row.nx}x${row.ny} cells, `
            + `x ${row.window.x0.toPrecision(6)}..${row.window.x1.toPrecision(6)}, y ${row.window.y0.toPrecision(6)}..${row.window.y1.toPrecision(6)})`
            + `${resumed ? ", from the store" : ""}\n`),
          onProgress: (p) => {
            const now = Date.now();
            if (p.done === lastDone || (now - last < 5000 && p.done !== p.total)) return;
            last = now;
            lastDone = p.done;
            process.stderr.write(`  ${p.done}/${p.total} cells, ${p.rate.toFixed(1)} cells/s, ETA ${p.eta === null ? "?" : formatDuration(p.eta)}\n`);
          },
          onNotice: (m) => process.stderr.write(`${m}\n`),
        }));
        if (abort.signal.aborted) break;
      }
    } finally {
      await t.close();
    }
    if (o.json) {
      process.stdout.write(JSON.stringify({ points, levels, target: t.name, seconds: (Date.now() - t0) / 1000, results }, null, 1) + "\n");
    } else {
      process.stdout.write(`Table 1 of Sohl-Dickstein (2024), ${points}x${points} cells a level, root + ${levels} zoom(s), on ${t.label}, `
        + `${formatDuration((Date.now() - t0) / 1000)}\n${formatTable(results)}\n`);
    }
    return results.every((r) => r.error === null) ? 0 : 1;
  } finally {
    process.off("SIGINT", onSig);
    process.off("SIGTERM", onSig);
    store.close();
  }
}
