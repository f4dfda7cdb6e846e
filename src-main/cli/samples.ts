// `fractal-llm samples`: re-train one SFT cell where its sweep ran and print the base and the fine-tuned model's
// answers side by side (core/samples.ts). A request answered before is printed from the store, offline.

import { parseArgs } from "node:util";
import { axisValue, cellXY } from "../../src-shared/grid";
import { type CellSamples, cellSamples, reproduced, SamplesError } from "../core/samples";
import type { Store } from "../core/store";
import type { Transport } from "../core/transport";
import { UsageError } from "./errors";

export const SAMPLES_USAGE = "fractal-llm samples --sweep ID --cell N [--prompt TEXT ...] [--max-new-tokens N] [--json] [--db FILE]";

/**
 * `samples --sweep ID --cell N [--prompt TEXT ...] [--max-new-tokens N] [--json]`. `connect` opens a transport to
 * the sweep's target (a host key must be trusted already); it is called only when the store lacks the answer.
 */
export async function cmdSamples(argv: string[], openDb: (path: string | undefined) => Store,
  connect: (store: Store, o: { target: string; python?: string; identity?: string }) => Promise<Transport>): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      sweep: { type: "string" }, cell: { type: "string" }, prompt: { type: "string", multiple: true },
      "max-new-tokens": { type: "string" }, json: { type: "boolean" }, db: { type: "string" },
      python: { type: "string" }, identity: { type: "string" },
    },
  });
  if (!o.sweep || o.cell === undefined) throw new UsageError(`samples needs --sweep ID --cell N\n  ${SAMPLES_USAGE}`);
  const cell = Number(o.cell);
  const maxNewTokens = Number(o["max-new-tokens"] ?? 64);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) throw new UsageError(`--max-new-tokens must be a positive integer, got ${JSON.stringify(o["max-new-tokens"])}`);
  const store = openDb(o.db);
  try {
    const row = store.sweep(o.sweep);
    if (!row) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    let out: CellSamples;
    try {
      out = await cellSamples(store, row.id, cell, { prompts: o.prompt ?? null, maxNewTokens }, () => {
        process.stderr.write(`re-training cell ${cell} of ${row.id} on ${row.target} to generate samples\n`);
        return connect(store, { target: row.target, python: o.python, identity: o.identity });
      });
    } catch (e) {
      if (e instanceof SamplesError) throw new UsageError(e.message, e.kind === "agent" ? 1 : 2);
      throw e;
    }
    if (o.json) {
      process.stdout.write(JSON.stringify(out) + "\n");
      return 0;
    }
    const { ix, iy } = cellXY(row.spec, cell);
    const { x, y } = row.spec.axes;
    const lines = [`cell ${cell} (ix ${ix}, iy ${iy}) of "${row.name}": ${x.param} = ${axisValue(x, ix)}, ${y.param} = ${axisValue(y, iy)}`,
      `re-run final loss ${out.finalLoss}; recorded ${out.recordedFinalLoss ?? "(cell not done)"}`
        + (out.recordedFinalLoss === null ? "" : reproduced(out) ? " (reproduced)" : " (DIFFERS: the re-run did not reproduce the cell)"),
      `generated ${out.createdAt}`];
    out.samples.forEach((s, i) => {
      lines.push("", `── ${i + 1}. prompt: ${s.prompt}`);
      if (s.reference !== null) lines.push(`   reference:  ${s.reference}`);
      lines.push(`   base:       ${s.base}`, `   fine-tuned: ${s.tuned}`);
    });
    process.stdout.write(lines.join("\n") + "\n");
    return 0;
  } finally {
    store.close();
  }
}
