// `sweeps` lists the database's sweeps; `export` writes one as CSV, JSON or PNG.

import { parseArgs } from "node:util";
import { openDb } from "./common";
import { UsageError } from "./errors";
import { exportSweep, type ExportFormat } from "../export/sweep";

export function cmdSweeps(argv: string[]): number {
  const { values: o } = parseArgs({ args: argv, options: { db: { type: "string" } } });
  const store = openDb(o.db);
  try {
    const rows = store.sweeps();
    if (!rows.length) {
      process.stderr.write(`no sweeps in ${store.path}\n`);
      return 0;
    }
    const table = [["ID", "STATUS", "CELLS", "GRID", "TARGET", "PARENT", "CREATED", "NAME"]];
    for (const s of rows) {
      table.push([s.id, s.status, `${s.done_cells}/${s.cells}`, `${s.nx}x${s.ny}`, s.target, s.parent_id ?? "-", s.created_at.slice(0, 19), s.name]);
    }
    const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
    for (const r of table) process.stdout.write(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ") + "\n");
    return 0;
  } finally {
    store.close();
  }
}

export function cmdExport(argv: string[]): number {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, format: { type: "string" }, out: { type: "string" }, layer: { type: "string" }, palette: { type: "string" }, db: { type: "string" } },
  });
  if (!o.sweep || !o.format || !o.out) throw new UsageError("export needs --sweep ID --format csv|json|png --out FILE");
  if (!["csv", "json", "png"].includes(o.format)) throw new UsageError(`--format must be csv, json or png, got ${JSON.stringify(o.format)}`);
  const store = openDb(o.db);
  try {
    if (!store.sweep(o.sweep)) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    const n = exportSweep(store, o.sweep, o.format as ExportFormat, o.out, { layer: o.layer, palette: o.palette });
    process.stderr.write(`wrote ${o.out} (${n} cells with results)\n`);
    return 0;
  } finally {
    store.close();
  }
}
