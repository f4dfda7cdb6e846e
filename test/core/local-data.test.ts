// The pure half of uploading laptop data to an SSH node (core/local-data.ts): which files, their hashes, and
// the rewritten spec whose hash is the sweep id. Real files in temp directories; no connection.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { absoluteLocalPaths, formatBytes, LocalDataError, planLocalData } from "../../src-main/core/local-data";
import { validate, type Spec } from "../../src-shared/spec";
import { sweepIdFor } from "../../src-main/core/sweep-id";
import { uploadLine } from "../../src-main/ssh/upload";
import { tempDir } from "./helpers";

const ROOT = "~/.fractal-llm";
const chat = (i: number) => JSON.stringify({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }] });
const chats = (n: number, tag = "") => Array.from({ length: n }, (_, i) => chat(i) + tag).join("\n") + "\n";
const piqa = (n: number, sol = "yes") =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ goal: `g${i}`, sol1: sol, sol2: "no", label: i % 2 }) + "\n").join("");
const sha = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

function gptSpec(data: Record<string, unknown>): Spec {
  return validate({
    version: 1, name: "laptop data", model: { family: "gpt", checkpoint: "tiny" },
    data: { seq_len: 16, heldout: 2, size: 4, ...data },
    train: { steps: 2, batch_size: 2, precision: "float32" },
    axes: { x: { param: "lr", scale: "log", range: [-4, -1], points: 2 }, y: { param: "warmup", scale: "linear", range: [0, 0.5], points: 2 } },
    criterion: { window: 2 },
  });
}

/** A laptop directory with chat.jsonl, ood.jsonl and evals/piqa.jsonl (+ an unlisted hellaswag.jsonl). */
function laptop(o: { chat?: string; piqa?: string } = {}): string {
  const dir = tempDir("fractal-local-data-");
  writeFileSync(join(dir, "chat.jsonl"), o.chat ?? chats(8));
  writeFileSync(join(dir, "ood.jsonl"), chats(3, " "));
  mkdirSync(join(dir, "evals"));
  writeFileSync(join(dir, "evals", "piqa.jsonl"), o.piqa ?? piqa(3));
  writeFileSync(join(dir, "evals", "hellaswag.jsonl"), "{}\n");
  return dir;
}

const specIn = (dir: string, extra: Record<string, unknown> = {}) => gptSpec({
  dataset: `jsonl:${join(dir, "chat.jsonl")}`, ood: `jsonl:${join(dir, "ood.jsonl")}`,
  evals: ["piqa:3"], evals_dir: join(dir, "evals"), ...extra,
});
const plan = (spec: Spec, o: Partial<Parameters<typeof planLocalData>[1]> = {}) =>
  planLocalData(spec, { remoteRoot: ROOT, env: {}, ...o });

describe("planLocalData", () => {
  it("names each laptop file by its sha256 under the remote root and rewrites the spec to those names", () => {
    const dir = laptop();
    const p = plan(specIn(dir));
    const [c, o, e] = [join(dir, "chat.jsonl"), join(dir, "ood.jsonl"), join(dir, "evals", "piqa.jsonl")].map(sha);
    const evalsDir = `${ROOT}/evals/${createHash("sha256").update(`${e}  piqa.jsonl\n`).digest("hex")}`;
    expect(p.spec.data).toMatchObject({ dataset: `jsonl:${ROOT}/data/${c}.jsonl`, ood: `jsonl:${ROOT}/data/${o}.jsonl`, evals_dir: evalsDir });
    expect(validate(p.spec)).toEqual(p.spec); // still a valid, normalised spec
    expect(p.files.map((f) => [f.kind, f.local, f.remote, f.sha256, f.size])).toEqual([
      ["data", join(dir, "chat.jsonl"), `${ROOT}/data/${c}.jsonl`, c, readFileSync(join(dir, "chat.jsonl")).length],
      ["data", join(dir, "ood.jsonl"), `${ROOT}/data/${o}.jsonl`, o, readFileSync(join(dir, "ood.jsonl")).length],
      ["eval", join(dir, "evals", "piqa.jsonl"), `${evalsDir}/piqa.jsonl`, e, readFileSync(join(dir, "evals", "piqa.jsonl")).length],
    ]); // only the listed task's file: hellaswag.jsonl stays home
  });

  it("uploads no file for a generated (synthetic_) task: beside a file task only that one goes, alone nothing", () => {
    const dir = laptop();
    const both = plan(specIn(dir, { evals: ["synthetic_arithmetic:20", "piqa:3"] }));
    expect(both.files.filter((f) => f.kind === "eval").map((f) => basename(f.local))).toEqual(["piqa.jsonl"]);
    const e = sha(join(dir, "evals", "piqa.jsonl"));
    expect(both.spec.data!.evals_dir).toBe(`${ROOT}/evals/${createHash("sha256").update(`${e}  piqa.jsonl\n`).digest("hex")}`);
    // Only generated tasks, with an evals_dir that holds no synthetic_*.jsonl: no error, and no eval upload.
    const alone = plan(specIn(dir, { evals: ["synthetic_sort:20"] }));
    expect(alone.files.filter((f) => f.kind === "eval")).toEqual([]);
  });

  it("same contents in another place give the same spec and sweep id; changed contents a different one", () => {
    const a = plan(specIn(laptop())).spec, b = plan(specIn(laptop())).spec;
    expect(b).toEqual(a);
    expect(sweepIdFor(b, "gpu-box", false)).toBe(sweepIdFor(a, "gpu-box", false));
    const edited = plan(specIn(laptop({ chat: chats(8, " ") }))).spec;
    expect(edited.data!.dataset).not.toBe(a.data!.dataset);
    expect(edited.data!.evals_dir).toBe(a.data!.evals_dir);
    expect(sweepIdFor(edited, "gpu-box", false)).not.toBe(sweepIdFor(a, "gpu-box", false));
    const evalEdited = plan(specIn(laptop({ piqa: piqa(3, "sure") }))).spec;
    expect(evalEdited.data!.dataset).toBe(a.data!.dataset);
    expect(evalEdited.data!.evals_dir).not.toBe(a.data!.evals_dir);
    expect(sweepIdFor(evalEdited, "gpu-box", false)).not.toBe(sweepIdFor(a, "gpu-box", false));
  });

  it("leaves paths that do not exist here alone (they name files on the node), and mlp specs too", () => {
    const spec = gptSpec({ dataset: "jsonl:/data/on-the-node.jsonl", ood: "synthetic:sort", evals: ["piqa"], evals_dir: "/node/evals" });
    const p = plan(spec, { env: { FRACTAL_AGENT_EVALS: join(laptop(), "evals") } }); // an explicit node dir wins over the env
    expect(p).toEqual({ spec, files: [] });
    expect(p.spec).toBe(spec);
    const mixed = plan(gptSpec({ dataset: "jsonl:/data/on-the-node.jsonl", ood: `jsonl:${join(laptop(), "ood.jsonl")}` }));
    expect(mixed.spec.data!.dataset).toBe("jsonl:/data/on-the-node.jsonl");
    expect(mixed.spec.data!.ood).toMatch(/^jsonl:~\/\.fractal-llm\/data\/[0-9a-f]{64}\.jsonl$/);
    expect(mixed.files).toHaveLength(1);
    const mlp = validate({ version: 1, name: "m", model: { family: "mlp" }, train: { steps: 5 },
      axes: { x: { param: "lr.input", scale: "log", range: [0, 1], points: 2 }, y: { param: "lr.output", scale: "log", range: [0, 1], points: 2 } },
      criterion: { window: 2 } });
    expect(plan(mlp)).toEqual({ spec: mlp, files: [] });
  });

  it("resolves relative paths against the current directory and ~ against the laptop's home", () => {
    const dir = laptop();
    const p = plan(gptSpec({ dataset: "jsonl:chat.jsonl", ood: "jsonl:~/ood.jsonl" }), { cwd: dir, home: dir });
    expect(p.files.map((f) => f.local)).toEqual([join(dir, "chat.jsonl"), join(dir, "ood.jsonl")]);
    expect(p.spec.data!.evals_dir).toBeNull(); // no evals listed: nothing to do
  });

  it("uploads a file used twice once, and keeps the remote root's form (relative roots are home-relative)", () => {
    const dir = laptop();
    const same = gptSpec({ dataset: `jsonl:${join(dir, "chat.jsonl")}`, ood: `jsonl:${join(dir, "chat.jsonl")}` });
    const p = plan(same, { remoteRoot: "/scratch/fractal/" });
    expect(p.files).toHaveLength(1);
    expect(p.spec.data!.dataset).toBe(p.spec.data!.ood);
    expect(p.spec.data!.dataset).toMatch(/^jsonl:\/scratch\/fractal\/data\/[0-9a-f]{64}\.jsonl$/);
    expect(plan(same, { remoteRoot: "fractal" }).spec.data!.dataset).toMatch(/^jsonl:~\/fractal\/data\//);
  });

  it("takes eval files from $FRACTAL_AGENT_EVALS when data.evals_dir is not set", () => {
    const dir = laptop();
    const spec = gptSpec({ dataset: "synthetic:copy", evals: ["piqa:2"] });
    const p = plan(spec, { env: { FRACTAL_AGENT_EVALS: join(dir, "evals") } });
    expect(p.files.map((f) => f.local)).toEqual([join(dir, "evals", "piqa.jsonl")]);
    expect(p.spec.data!.evals_dir).toMatch(/^~\/\.fractal-llm\/evals\/[0-9a-f]{64}$/);
    expect(plan(spec).spec).toBe(spec); // neither set: the node's own lookup
    const noPiqa = tempDir("fractal-evals-");
    writeFileSync(join(noPiqa, "arc_challenge.jsonl"), "{}\n");
    expect(plan(spec, { env: { FRACTAL_AGENT_EVALS: noPiqa } }).spec).toBe(spec); // holds none of the tasks
    const both = gptSpec({ dataset: "synthetic:copy", evals: ["piqa", "arc_challenge"] });
    expect(() => plan(both, { env: { FRACTAL_AGENT_EVALS: join(dir, "evals") } }))
      .toThrow(/FRACTAL_AGENT_EVALS=.* holds piqa\.jsonl but not arc_challenge\.jsonl/);
  });

  it("fails on a bad file naming file:line, before anything else happens", () => {
    const dir = laptop({ chat: `${chat(0)}\n\n{"messages": [{"role": "user", "content": "q"}]}\n` });
    const err = (() => { try { plan(specIn(dir)); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(LocalDataError);
    expect((err as Error).message).toBe(`${join(dir, "chat.jsonl")}:3: the conversation must end with an assistant turn (nothing to learn otherwise)`);
    writeFileSync(join(dir, "chat.jsonl"), `${chat(0)}\n{"messages": [\n`);
    expect(() => plan(specIn(dir))).toThrow(new RegExp(`^${join(dir, "chat.jsonl")}:2: not valid JSON`));
    writeFileSync(join(dir, "chat.jsonl"), `{"text": "no messages"}\n`);
    expect(() => plan(specIn(dir))).toThrow(`${join(dir, "chat.jsonl")}:1: expected an object {"messages"`);
    writeFileSync(join(dir, "chat.jsonl"), Buffer.from([0x7b, 0xff, 0x7d, 0x0a]));
    expect(() => plan(specIn(dir))).toThrow(`${join(dir, "chat.jsonl")}:1: not valid UTF-8`);
    writeFileSync(join(dir, "chat.jsonl"), "");
    expect(() => plan(specIn(dir))).toThrow("no rows");
  });

  it("checks eval files: JSON objects per line, enough rows for task:n, every listed task present", () => {
    const dir = laptop({ piqa: `${piqa(1)}[1, 2]\n` });
    expect(() => plan(specIn(dir))).toThrow(`${join(dir, "evals", "piqa.jsonl")}:2: expected a JSON object`);
    writeFileSync(join(dir, "evals", "piqa.jsonl"), piqa(2));
    expect(() => plan(specIn(dir))).toThrow(/piqa\.jsonl: 2 rows, data\.evals asks for piqa:3/);
    expect(() => plan(specIn(dir, { evals: ["piqa:2", "winogrande"] }))).toThrow(/has no winogrande\.jsonl/);
  });

  it("reads a file bigger than its chunk size, with lines across chunk boundaries", () => {
    const big = chats(40_000); // about 3 MB: several 1 MiB chunks
    const dir = laptop({ chat: big });
    const p = plan(specIn(dir));
    expect(p.files[0].size).toBe(Buffer.byteLength(big));
    expect(p.files[0].sha256).toBe(createHash("sha256").update(big).digest("hex"));
    writeFileSync(join(dir, "chat.jsonl"), big + '{"messages": 1}\n');
    expect(() => plan(specIn(dir))).toThrow(`${join(dir, "chat.jsonl")}:40001: expected an object`);
  });

  it("describes each file for the CLI", () => {
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1_234_567)).toBe("1.2 MB");
    expect(formatBytes(45_600_000_000)).toBe("46 GB");
    const f = { kind: "data" as const, local: "/l/chat.jsonl", remote: `${ROOT}/data/${"ab12cd34".repeat(8)}.jsonl`, sha256: "ab12cd34".repeat(8), size: 1_200_000 };
    expect(uploadLine({ file: f, status: "uploaded", path: "/h/x" }, "gpu-box"))
      .toBe(`data chat.jsonl (1.2 MB, sha256 ab12cd34…) uploaded to gpu-box:${f.remote}`);
    expect(uploadLine({ file: f, status: "present", path: "/h/x" }, "gpu-box")).toMatch(/\) already on gpu-box:~\/\.fractal-llm\/data\//);
  });
});

describe("absoluteLocalPaths (local target)", () => {
  it("makes relative jsonl: and evals_dir paths absolute against the command's directory, leaving ~ and absolute ones", () => {
    const s = gptSpec({ dataset: "jsonl:data/chat.jsonl", ood: "jsonl:/srv/ood.jsonl", evals: ["piqa:2"], evals_dir: "evals" });
    const out = absoluteLocalPaths(s, "/home/r/project");
    expect(out.data!.dataset).toBe("jsonl:/home/r/project/data/chat.jsonl");
    expect(out.data!.ood).toBe("jsonl:/srv/ood.jsonl");
    expect(out.data!.evals_dir).toBe("/home/r/project/evals");
    expect(s.data!.dataset).toBe("jsonl:data/chat.jsonl"); // the input is not changed
    const home = absoluteLocalPaths(gptSpec({ dataset: "jsonl:~/chat.jsonl", ood: "synthetic:sort" }), "/x");
    expect([home.data!.dataset, home.data!.ood, home.data!.evals_dir]).toEqual(["jsonl:~/chat.jsonl", "synthetic:sort", null]);
  });
});
