// Run the real CLI (bin/fractal-llm.js through tsx) as a child process.
import Database from "better-sqlite3";
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { expect } from "vitest";
import { join, resolve } from "node:path";

export const REPO = resolve(__dirname, "../..");
export const BIN = resolve(REPO, "bin/fractal-llm.js");
export const PYTHON = process.env.FRACTAL_PYTHON ?? "/usr/bin/python3";

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function cli(args: string[], env: Record<string, string>, onStderr?: (s: string) => void, cwd = REPO): { done: Promise<CliResult>; pid: number } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d: Buffer) => { stdout += d; });
  child.stderr.on("data", (d: Buffer) => { stderr += d; onStderr?.(d.toString()); });
  const done = new Promise<CliResult>((res) => child.on("close", (code) => res({ code, stdout, stderr })));
  return { done, pid: child.pid! };
}

export const run = (args: string[], env: Record<string, string>) => cli(args, env).done;

export function lastLine(s: string): string {
  const lines = s.trimEnd().split("\n");
  return lines[lines.length - 1];
}

// the CSV export's columns; `inferred` is 0 on every cell of a grid sweep (its tiles carry no such field)
export const FIELDS = ["trainable", "stable", "score", "first_loss", "final_loss", "divergence_step", "heldout_loss", "ood_loss", "wall_time", "flops", "inferred"];

export type AgentJournal = {
  cells: Record<string, Record<string, number | string>>; counts: Record<string, number>; hparams: Record<string, Record<string, number>>;
};

/** The agent's journal decoded by the agent's own code: per cell its fields and how many tiles carried it. */
export function agentJournal(agentHome: string, sweep: string): AgentJournal {
  const py = `
import json, sys, collections
from fractal_agent import journal, tiles, spec as S
path = sys.argv[1] + "/sweeps/" + sys.argv[2] + "/journal.jsonl"
cells, counts, hparams, sp = {}, collections.Counter(), {}, None
num = lambda v: v if v == v and abs(v) != float("inf") else repr(float(v))
for ev in journal.read_events(path):
    if ev["type"] == "sweep":
        sp = ev["spec"]
    if ev["type"] != "tile":
        continue
    r = tiles.unpack(ev)
    for k, c in enumerate(r["cell"].tolist()):
        counts[c] += 1
        cells.setdefault(c, {f: num(r[f][k].item()) if f in r else 0 for f in ${JSON.stringify(FIELDS)}})
for c in cells:
    hparams[c] = S.cell_hparams(sp, c)
print(json.dumps({"cells": cells, "counts": counts, "hparams": hparams}))`;
  return JSON.parse(execFileSync(PYTHON, ["-c", py, agentHome, sweep], { env: { ...process.env, PYTHONPATH: join(REPO, "remote-agent") }, maxBuffer: 1 << 28 }).toString());
}

export function csvMatchesJournal(csvText: string, j: AgentJournal, cells: number): void {
  const [header, ...rows] = csvText.trimEnd().split("\n");
  expect(header.split(",")).toEqual(["ix", "iy", "x", "y", ...FIELDS]);
  expect(rows).toHaveLength(cells);
  const n = Math.sqrt(cells);
  for (const row of rows) {
    const v = row.split(",");
    const cell = Number(v[1]) * n + Number(v[0]);
    const expected = j.cells[String(cell)];
    FIELDS.forEach((f, i) => {
      const e = expected[f];
      expect(Number(v[4 + i]), `cell ${cell} ${f}`).toBe(typeof e === "string" ? Number(e) : e);
    });
    const hp = j.hparams[String(cell)];
    expect(Math.abs(Number(v[2]) - hp["lr.input"])).toBeLessThanOrEqual(Number.EPSILON * hp["lr.input"]);
    expect(Math.abs(Number(v[3]) - hp["lr.output"])).toBeLessThanOrEqual(Number.EPSILON * hp["lr.output"]);
  }
}


/** done_cells of the (only) sweep in a CLI's database, 0 while the file or its tables do not exist yet. */
export function doneCellsOf(dbPath: string): number {
  if (!existsSync(dbPath)) return 0;
  const db = new Database(dbPath, { readonly: true });
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sweeps'").get();
    if (!hasTable) return 0;
    const row = db.prepare("SELECT done_cells FROM sweeps").get() as { done_cells: number } | undefined;
    return row?.done_cells ?? 0;
  } finally {
    db.close();
  }
}
