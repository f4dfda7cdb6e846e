// `fractal-llm samples`: re-train an SFT cell on the sweep's (local) target and print base vs fine-tuned answers;
// a repeated request comes from the store without the agent. Checked against the agent's own samples command.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src-main/core/store";
import { lastLine, PYTHON, REPO, run } from "./helpers";
import { stopAgentDaemon } from "../core/helpers";

const SPEC = {
  version: 1, name: "samples cli", model: { family: "gpt", checkpoint: "tiny" },
  data: { dataset: "synthetic:copy,reverse", seq_len: 32, heldout: 4, ood: "synthetic:sort" },
  train: { optimizer: "adamw", steps: 6, batch_size: 4, precision: "float32" },
  axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 2 }, y: { param: "dataset_size", scale: "log", range: [1, 1.5], points: 2 } },
  criterion: { window: 3 },
};

let dir: string, db: string, env: Record<string, string>, id: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fractal-samples-"));
  db = join(dir, "db.sqlite");
  env = { FRACTAL_AGENT_HOME: join(dir, "agent-home") };
  writeFileSync(join(dir, "spec.json"), JSON.stringify(SPEC));
  const r = await run(["sweep", "--spec", join(dir, "spec.json"), "--db", db, "--python", PYTHON], env);
  expect(r.code, r.stderr).toBe(0);
  id = lastLine(r.stdout);
}, 120_000);

afterAll(async () => {
  // Stop the local daemon the sweep started (it would exit by itself after its idle timeout), and wait until it has:
  // a test stops what it starts.
  await stopAgentDaemon(env.FRACTAL_AGENT_HOME);
  rmSync(dir, { recursive: true, force: true });
});

/** The agent's own samples command on the stored (normalised) spec. */
function agentSamples(cell: number, args: string[]): { final_loss: number; samples: { prompt: string; reference: string | null; base: string; tuned: string }[] } {
  const store = openStore(db);
  const spec = store.sweep(id)!.spec;
  store.close();
  const out = execFileSync(PYTHON, ["-m", "fractal_agent", "samples", "-", "--cell", String(cell), ...args],
    { input: JSON.stringify(spec), cwd: join(REPO, "remote-agent"), env: { ...process.env, PYTHONPATH: join(REPO, "remote-agent") } });
  return JSON.parse(out.toString());
}

describe("fractal-llm samples", () => {
  it("re-runs the cell, reproduces its recorded loss, and answers as the agent does; a repeat needs no agent", async () => {
    const args = ["--prompt", "copy: abc", "--prompt", "reverse: wxyz", "--max-new-tokens", "12"];
    const r = await run(["samples", "--sweep", id, "--cell", "1", ...args, "--json", "--db", db, "--python", PYTHON], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/re-training cell 1 of .* on local/);
    const got = JSON.parse(r.stdout);
    const store = openStore(db);
    const recorded = store.loadField(id, "final_loss")[1];
    store.close();
    expect(got.recordedFinalLoss).toBe(recorded);
    expect(Math.abs(got.finalLoss - recorded)).toBeLessThanOrEqual(1e-6 * recorded);
    const direct = agentSamples(1, args);
    expect(got.samples).toEqual(direct.samples);
    expect(got.samples.map((s: { prompt: string }) => s.prompt)).toEqual(["copy: abc", "reverse: wxyz"]);

    // The same request again: from the store, so an interpreter that does not exist is never asked.
    const again = await run(["samples", "--sweep", id, "--cell", "1", ...args, "--json", "--db", db, "--python", "/nonexistent/python"], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/re-training/);
    expect(JSON.parse(again.stdout)).toEqual(got);
  }, 120_000);

  it("answers the sweep's first held-out conversations with their replies as references, side by side", async () => {
    const r = await run(["samples", "--sweep", id, "--cell", "2", "--max-new-tokens", "8", "--db", db, "--python", PYTHON], env);
    expect(r.code, r.stderr).toBe(0);
    const held = JSON.parse(execFileSync(PYTHON, ["-c",
      "import json; from fractal_agent import data as D; _, h = D.load_split('synthetic:copy,reverse', 0, 3, 0); "
      + "print(json.dumps([[c['messages'][0]['content'], c['messages'][1]['content']] for c in h]))"],
    { env: { ...process.env, PYTHONPATH: join(REPO, "remote-agent") } }).toString()) as [string, string][];
    const direct = agentSamples(2, ["--heldout", "3", "--max-new-tokens", "8"]);
    expect(direct.samples.map((s) => [s.prompt, s.reference])).toEqual(held);
    for (const [i, s] of direct.samples.entries()) {
      expect(r.stdout).toContain(`── ${i + 1}. prompt: ${s.prompt}\n   reference:  ${s.reference}\n   base:       ${s.base}\n   fine-tuned: ${s.tuned}`);
    }
    expect(r.stdout).toMatch(/\(reproduced\)/);
  }, 120_000);

  it("refuses a cell outside the map and a sweep that trains no language model", async () => {
    const out = await run(["samples", "--sweep", id, "--cell", "4", "--db", db], env);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/cell must be an integer in 0\.\.3/);
    const mlp = { version: 1, name: "mlp", model: { family: "mlp", width: 2 }, train: { steps: 5 },
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 0], points: 2 }, y: { param: "lr.output", scale: "log", range: [-1, 0], points: 2 } },
      criterion: { window: 2 } };
    writeFileSync(join(dir, "mlp.json"), JSON.stringify(mlp));
    const sw = await run(["sweep", "--spec", join(dir, "mlp.json"), "--db", db, "--python", PYTHON], env);
    expect(sw.code, sw.stderr).toBe(0);
    const refused = await run(["samples", "--sweep", lastLine(sw.stdout), "--cell", "0", "--db", db], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/samples need a language model sweep \(model\.family gpt\)/);
  }, 120_000);

  it("exits 1 with the agent's reason when the re-run fails (its data file is gone)", async () => {
    const data = join(dir, "chat.jsonl");
    const row = (i: number) => JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }] });
    writeFileSync(data, Array.from({ length: 12 }, (_, i) => row(i) + "\n").join(""));
    const spec = { ...SPEC, name: "samples of a jsonl sweep", data: { dataset: `jsonl:${data}`, size: 8, seq_len: 32, heldout: 2 },
      axes: { ...SPEC.axes, y: { param: "warmup", scale: "linear", range: [0, 0.5], points: 1 } } };
    writeFileSync(join(dir, "jsonl.json"), JSON.stringify(spec));
    const sw = await run(["sweep", "--spec", join(dir, "jsonl.json"), "--db", db, "--python", PYTHON], env);
    expect(sw.code, sw.stderr).toBe(0);
    rmSync(data);
    const r = await run(["samples", "--sweep", lastLine(sw.stdout), "--cell", "0", "--db", db, "--python", PYTHON], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/samples of cell 0 on local failed: .*No such file or directory.*chat\.jsonl/s);
  }, 120_000);
});
