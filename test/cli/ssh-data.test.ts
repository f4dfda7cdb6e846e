// Laptop data for a sweep on an SSH node, end to end against a real sshd on 127.0.0.1 (test/ssh/harness.ts): a
// GPT SFT spec whose data.dataset, data.ood and data.evals_dir name files on this machine. The CLI uploads them to
// content-addressed names under the node's ~/.fractal-llm, the sweep trains on those copies, and re-running reuses
// them. (Client and node share a filesystem here, so the checks look at what the node's agent was told to read.)
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src-main/core/store";
import { tempDir } from "../core/helpers";
import { startSshFixture, type SshFixture } from "../ssh/harness";
import { lastLine, PYTHON, run } from "./helpers";

let fx: SshFixture;
beforeAll(async () => { fx = await startSshFixture({ alias: "gpu-box" }); });
afterAll(async () => { await fx?.stop(); });

const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const chats = (n: number, topic: string) => Array.from({ length: n }, (_, i) => JSON.stringify({
  messages: [{ role: "user", content: `${topic} ${i}?` }, { role: "assistant", content: `${topic} ${i}: ${String(i * 7).split("").reverse().join("")}` }],
}) + "\n").join("");

describe("fractal-llm sweep --target <ssh alias> with laptop data", () => {
  it("uploads jsonl datasets and eval files content-addressed, trains on them, and reuses them on a re-run", async () => {
    const dir = tempDir("fractal-ssh-data-");
    const laptop = join(dir, "laptop");
    mkdirSync(join(laptop, "evals"), { recursive: true });
    writeFileSync(join(laptop, "chat.jsonl"), chats(40, "copy"));
    writeFileSync(join(laptop, "ood.jsonl"), chats(8, "sort"));
    const piqa = [0, 1, 2].map((i) => JSON.stringify({ goal: `goal ${i}`, sol1: "do it right", sol2: "no", label: i % 2 }) + "\n");
    writeFileSync(join(laptop, "evals", "piqa.jsonl"), piqa.join(""));
    writeFileSync(join(laptop, "evals", "hellaswag.jsonl"), "{}\n"); // not listed: stays on the laptop
    const spec = {
      version: 1, name: "laptop data over ssh", model: { family: "gpt", checkpoint: "tiny", trainable: "all" },
      data: { dataset: `jsonl:${join(laptop, "chat.jsonl")}`, seq_len: 16, heldout: 4, ood: `jsonl:${join(laptop, "ood.jsonl")}`,
        evals: ["piqa:3"], evals_dir: join(laptop, "evals") },
      train: { optimizer: "adamw", steps: 3, batch_size: 2, precision: "float32" },
      axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 2 }, y: { param: "dataset_size", scale: "log", range: [1, 1.5], points: 2 } },
      criterion: { window: 2 },
    };
    writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
    const db = join(dir, "db.sqlite");
    const env = { HOME: fx.home, SSH_AUTH_SOCK: "", XDG_DATA_HOME: join(dir, "app-data"), FRACTAL_LLM_DB: db };
    const sweep = (extra: Record<string, string> = {}) =>
      run(["sweep", "--spec", join(dir, "spec.json"), "--target", "gpu-box", "--python", PYTHON], { ...env, ...extra });

    const first = await sweep();
    expect(first.code, first.stderr).toBe(0);
    const id = lastLine(first.stdout);
    const [chatSha, oodSha, piqaSha] = [join(laptop, "chat.jsonl"), join(laptop, "ood.jsonl"), join(laptop, "evals", "piqa.jsonl")].map(sha);
    const evalsHash = createHash("sha256").update(`${piqaSha}  piqa.jsonl\n`).digest("hex");
    const uploaded = first.stderr.split("\n").filter((l) => l.includes(" uploaded to gpu-box:"));
    expect(uploaded).toEqual([
      expect.stringMatching(new RegExp(`^data chat\\.jsonl \\(\\d+(\\.\\d)? kB, sha256 ${chatSha.slice(0, 8)}…\\) uploaded to gpu-box:~/\\.fractal-llm/data/${chatSha}\\.jsonl$`)),
      expect.stringMatching(new RegExp(`^data ood\\.jsonl \\(.*\\) uploaded to gpu-box:~/\\.fractal-llm/data/${oodSha}\\.jsonl$`)),
      `eval piqa.jsonl (${piqa.join("").length} B, sha256 ${piqaSha.slice(0, 8)}…) uploaded to gpu-box:~/.fractal-llm/evals/${evalsHash}/piqa.jsonl`,
    ]);

    // On the node: the files under their content-addressed names, nothing else (no temp files, no hellaswag).
    const node = join(fx.remoteHome, ".fractal-llm");
    expect(readdirSync(join(node, "data")).sort()).toEqual([`${chatSha}.jsonl`, `${oodSha}.jsonl`].sort());
    expect(sha(join(node, "data", `${chatSha}.jsonl`))).toBe(chatSha);
    expect(sha(join(node, "data", `${oodSha}.jsonl`))).toBe(oodSha);
    expect(readdirSync(join(node, "evals"))).toEqual([evalsHash]);
    expect(readdirSync(join(node, "evals", evalsHash))).toEqual(["piqa.jsonl"]);
    expect(sha(join(node, "evals", evalsHash, "piqa.jsonl"))).toBe(piqaSha);

    // The spec the sweep was recorded with, and the one the node's agent trained on, name those copies.
    const wanted = { dataset: `jsonl:~/.fractal-llm/data/${chatSha}.jsonl`, ood: `jsonl:~/.fractal-llm/data/${oodSha}.jsonl`,
      evals_dir: `~/.fractal-llm/evals/${evalsHash}` };
    const agentSpec = JSON.parse(readFileSync(join(fx.remoteHome, ".fractal-agent", "sweeps", id, "spec.json"), "utf8"));
    expect(agentSpec.data).toMatchObject(wanted);
    const store = openStore(db);
    try {
      const row = store.sweep(id)!;
      expect(row).toMatchObject({ status: "completed", done_cells: 4, cells: 4, target: "gpu-box" });
      expect(row.spec.data).toMatchObject(wanted);
      expect(Array.from(store.loadDone(id))).toEqual([1, 1, 1, 1]);
      for (const field of ["heldout_loss", "ood_loss", "eval.piqa.acc"]) {
        const values = Array.from(store.loadField(id, field));
        expect(values.every(Number.isFinite), `${field}: ${values}`).toBe(true);
      }
      expect(Array.from(store.loadField(id, "eval.piqa.acc")).every((a) => [0, 1 / 3, 2 / 3, 1].some((q) => Math.abs(a - q) < 1e-9))).toBe(true);
      expect(row.base?.evals.piqa?.n).toBe(3);
    } finally {
      store.close();
    }

    // Re-running the command: same id, already completed here, nothing connects or uploads.
    const again = await sweep();
    expect(again.code, again.stderr).toBe(0);
    expect(lastLine(again.stdout)).toBe(id);
    expect(again.stderr).toContain(`sweep ${id} already completed`);

    // From a fresh laptop store (another machine's checkout, a deleted database): the same id, the node's copies
    // are reused as they are (same inodes: not replaced), and the node's finished sweep is replayed.
    const inode = (p: string) => statSync(p).ino;
    const before = [join(node, "data", `${chatSha}.jsonl`), join(node, "data", `${oodSha}.jsonl`), join(node, "evals", evalsHash, "piqa.jsonl")].map(inode);
    // A copy damaged on the node is replaced, though: content-addressed names promise content.
    writeFileSync(join(node, "data", `${oodSha}.jsonl`), "damaged\n");
    const fresh = await sweep({ FRACTAL_LLM_DB: join(dir, "fresh.sqlite") });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(lastLine(fresh.stdout)).toBe(id);
    const lines = fresh.stderr.split("\n").filter((l) => / (uploaded to|already on) gpu-box:/.test(l));
    expect(lines).toEqual([
      expect.stringMatching(new RegExp(`^data chat\\.jsonl .* already on gpu-box:~/\\.fractal-llm/data/${chatSha}\\.jsonl$`)),
      expect.stringMatching(new RegExp(`^data ood\\.jsonl .* uploaded to gpu-box:~/\\.fractal-llm/data/${oodSha}\\.jsonl$`)),
      expect.stringMatching(new RegExp(`^eval piqa\\.jsonl .* already on gpu-box:~/\\.fractal-llm/evals/${evalsHash}/piqa\\.jsonl$`)),
    ]);
    expect(sha(join(node, "data", `${oodSha}.jsonl`))).toBe(oodSha);
    const after = [join(node, "data", `${chatSha}.jsonl`), join(node, "data", `${oodSha}.jsonl`), join(node, "evals", evalsHash, "piqa.jsonl")].map(inode);
    expect([after[0], after[2]]).toEqual([before[0], before[2]]);
    expect(readdirSync(join(node, "data")).sort()).toEqual([`${chatSha}.jsonl`, `${oodSha}.jsonl`].sort());
    const s2 = openStore(join(dir, "fresh.sqlite"));
    try {
      expect(s2.sweep(id)).toMatchObject({ status: "completed", done_cells: 4 });
    } finally {
      s2.close();
    }

    // Samples of an SSH sweep's cell re-train it on the node, from the node's copies of the data.
    const samples = await run(["samples", "--sweep", id, "--cell", "3", "--prompt", "alpha 1?", "--max-new-tokens", "6", "--json"], env);
    expect(samples.code, samples.stderr).toBe(0);
    expect(samples.stderr).toMatch(new RegExp(`re-training cell 3 of ${id} on gpu-box`));
    const got = JSON.parse(samples.stdout);
    expect(got.samples.map((x: { prompt: string }) => x.prompt)).toEqual(["alpha 1?"]);
    expect(got.recordedFinalLoss).not.toBeNull();
    expect(Math.abs(got.finalLoss - got.recordedFinalLoss)).toBeLessThanOrEqual(1e-6 * got.recordedFinalLoss);
  }, 240_000);

  it("fails on a bad laptop file naming file:line, before anything is uploaded or recorded", async () => {
    const dir = tempDir("fractal-ssh-bad-data-");
    const bad = join(dir, "chat.jsonl");
    writeFileSync(bad, chats(2, "ok") + "\n" + JSON.stringify({ messages: [{ role: "assistant", content: "first?" }] }) + "\n");
    const spec = {
      version: 1, name: "bad laptop data", model: { family: "gpt", checkpoint: "tiny" },
      data: { dataset: `jsonl:${bad}`, seq_len: 16, heldout: 1, size: 2 },
      train: { steps: 2, batch_size: 2, precision: "float32" },
      axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 2 }, y: { param: "warmup", scale: "linear", range: [0, 0.5], points: 2 } },
      criterion: { window: 2 },
    };
    writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
    const db = join(dir, "db.sqlite");
    const r = await run(["sweep", "--spec", join(dir, "spec.json"), "--target", "gpu-box", "--python", PYTHON],
      { HOME: fx.home, SSH_AUTH_SOCK: "", XDG_DATA_HOME: join(dir, "app-data"), FRACTAL_LLM_DB: db });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error: ${bad}:4: turns must alternate user, assistant, ...; turn 0 is 'assistant', expected 'user'`);
    expect(r.stderr).toContain("nothing was uploaded or recorded");
    expect(r.stdout).toBe("");
    const store = openStore(db);
    try {
      expect(store.sweeps()).toEqual([]);
    } finally {
      store.close();
    }
    const nodeData = join(fx.remoteHome, ".fractal-llm", "data");
    expect(existsSync(join(nodeData, `${sha(bad)}.jsonl`))).toBe(false);
  });
});
