// Laptop data for a sweep on an SSH node: the pure half (no connection) of "the app uploads a local JSONL".
//
// A spec's `jsonl:<path>` datasets and its eval files are read by the agent on the node. For an SSH target,
// planLocalData finds which of them are files on this machine, validates and hashes them, and rewrites the spec
// to name content-addressed copies under the node's remote root:
//
//   data.dataset / data.ood  jsonl:<local file>  ->  jsonl:<remoteRoot>/data/<sha256 of the file>.jsonl
//   data.evals_dir           <local dir> (or $FRACTAL_AGENT_EVALS)  ->  <remoteRoot>/evals/<sha256 of the listing>
//
// The rewrite happens before the sweep id is computed (sweep-id.ts hashes the spec), so the id follows the
// files' contents: the same files resume the same sweep, an edited file starts a new one. The remote paths
// keep the `~/` of the remote root, so the id does not depend on the node's home directory; the agent expands
// it. A path that does not exist here is left alone: it names a file on the node. ssh/upload.ts does the copying.

import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, isAbsolute, join, resolve } from "node:path";
import { type DataSpec, isSyntheticEval, type Spec } from "../../src-shared/spec";

/** One laptop file the node needs, and where the rewritten spec expects it. */
export interface LocalFile {
  kind: "data" | "eval";
  /** absolute path on this machine */
  local: string;
  /** its path on the node, as the rewritten spec names it: <remoteRoot>/..., often starting with ~/ */
  remote: string;
  sha256: string;
  size: number;
}

export interface LocalDataPlan {
  /** the spec with laptop paths replaced by the node paths below (the input when nothing is local) */
  spec: Spec;
  /** files to put on the node, each once */
  files: LocalFile[];
}

export interface PlanOptions {
  /** the SSH transport's remoteRoot (~/... or absolute; a relative one is taken from the remote home) */
  remoteRoot: string;
  /** relative local paths resolve against this; default process.cwd() */
  cwd?: string;
  /** ~ on this machine; default os.homedir() */
  home?: string;
  /** where $FRACTAL_AGENT_EVALS is read; default process.env */
  env?: Record<string, string | undefined>;
}

/** A laptop file that would fail on the node: the message names file:line and what is wrong. */
export class LocalDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LocalDataError";
  }
}

export function planLocalData(spec: Spec, o: PlanOptions): LocalDataPlan {
  const data = spec.data;
  if (!data) return { spec, files: [] }; // mlp: its data is drawn from the seed
  const root = normaliseRemoteRoot(o.remoteRoot);
  const at = (p: string) => localPath(p, o.cwd ?? process.cwd(), o.home ?? homedir());
  const files = new Map<string, LocalFile>();
  const rewritten: DataSpec = { ...data };

  for (const key of ["dataset", "ood"] as const) {
    const value = data[key];
    if (value === null || !value.startsWith("jsonl:")) continue;
    const local = at(value.slice("jsonl:".length));
    if (!isFile(local, `data.${key}`)) continue; // a node path
    const { sha256, size } = scanJsonl(local, checkConversation);
    const remote = `${root}/data/${sha256}.jsonl`;
    files.set(remote, { kind: "data", local, remote, sha256, size });
    rewritten[key] = `jsonl:${remote}`;
  }

  const evalsDir = localEvalsDir(data, at, o.env ?? process.env);
  if (evalsDir) {
    const tasks = data.evals.map(parseEval).filter((t) => !isSyntheticEval(t.task)); // generated tasks read no file
    const listed = tasks.map(({ task, n }) => {
      const local = join(evalsDir.dir, `${task}.jsonl`);
      const { sha256, size, rows } = scanJsonl(local, checkEvalRow);
      if (n !== null && rows < n) {
        throw new LocalDataError(`${local}: ${rows} rows, data.evals asks for ${task}:${n}; add rows or lower the count`);
      }
      return { task, local, sha256, size };
    });
    // The directory is named by its contents (a sha256sum-style listing), so the sweep id follows every file.
    const listing = [...listed].sort((a, b) => (a.task < b.task ? -1 : 1)).map((t) => `${t.sha256}  ${t.task}.jsonl\n`).join("");
    const dir = `${root}/evals/${createHash("sha256").update(listing).digest("hex")}`;
    for (const t of listed) {
      const remote = `${dir}/${t.task}.jsonl`;
      files.set(remote, { kind: "eval", local: t.local, remote, sha256: t.sha256, size: t.size });
    }
    rewritten.evals_dir = dir;
  }

  if (files.size === 0) return { spec, files: [] };
  return { spec: { ...spec, data: rewritten }, files: [...files.values()] };
}

/** The file's name for messages ("chat.jsonl"). */
export function fileLabel(f: LocalFile): string {
  return basename(f.local);
}

/** "1.2 MB": decimal units, as file managers show sizes. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let v = n, i = -1;
  do { v /= 1000; i++; } while (v >= 1000 && i < units.length - 1);
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

// ----------------------------------------------------------------------------- paths

/** ~/x and relative roots become ~/x (the agent expands ~), absolute ones stay; no trailing slash. */
function normaliseRemoteRoot(root: string): string {
  const r = root.replace(/\/+$/, "") || "/";
  if (r === "~" || r.startsWith("~/") || r.startsWith("/")) return r;
  return `~/${r}`;
}

/**
 * For the local target: the spec with relative `jsonl:` paths and a relative `data.evals_dir` made absolute
 * against `cwd`. The local agent runs in its own directory (local-transport.ts), so a path relative to where the
 * user typed the command would otherwise name the wrong file. Absolute and ~ paths are left as they are.
 */
export function absoluteLocalPaths(spec: Spec, cwd = process.cwd()): Spec {
  const data = spec.data;
  if (!data) return spec;
  const abs = (p: string) => (p.startsWith("~") || isAbsolute(p) ? p : resolve(cwd, p));
  const out: DataSpec = { ...data };
  for (const key of ["dataset", "ood"] as const) {
    const v = data[key];
    if (v !== null && v.startsWith("jsonl:")) out[key] = `jsonl:${abs(v.slice("jsonl:".length))}`;
  }
  if (data.evals_dir) out.evals_dir = abs(data.evals_dir);
  return { ...spec, data: out };
}

function localPath(p: string, cwd: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return join(home, p.slice(2));
  return resolve(cwd, p);
}

function isFile(p: string, field: string): boolean {
  if (!existsSync(p)) return false;
  if (!statSync(p).isFile()) throw new LocalDataError(`${field}: ${p} is not a file (jsonl:<path> names one JSONL file)`);
  return true;
}

/** The local directory whose eval files go to the node, or null when the node's own lookup applies. */
function localEvalsDir(data: DataSpec, at: (p: string) => string, env: Record<string, string | undefined>):
    { dir: string } | null {
  if (data.evals.length === 0) return null;
  const tasks = data.evals.map((e) => parseEval(e).task).filter((t) => !isSyntheticEval(t));
  if (tasks.length === 0) return null;
  if (data.evals_dir !== null) {
    const dir = at(data.evals_dir);
    if (!existsSync(dir)) return null; // a directory on the node
    if (!statSync(dir).isDirectory()) throw new LocalDataError(`data.evals_dir: ${dir} is not a directory`);
    const missing = tasks.filter((t) => !existsSync(join(dir, `${t}.jsonl`)));
    if (missing.length) {
      throw new LocalDataError(`data.evals_dir ${dir} has no ${missing.map((t) => `${t}.jsonl`).join(", ")}; `
        + "put the task files there (one row per line in the Hugging Face dataset's fields)");
    }
    return { dir };
  }
  const fromEnv = env.FRACTAL_AGENT_EVALS;
  if (!fromEnv || !existsSync(fromEnv) || !statSync(fromEnv).isDirectory()) return null;
  const dir = resolve(fromEnv);
  const present = tasks.filter((t) => existsSync(join(dir, `${t}.jsonl`)));
  if (present.length === 0) return null; // the node's own lookup ($FRACTAL_AGENT_EVALS there, resources, datasets)
  if (present.length < tasks.length) {
    const missing = tasks.filter((t) => !present.includes(t));
    throw new LocalDataError(`$FRACTAL_AGENT_EVALS=${dir} holds ${present.map((t) => `${t}.jsonl`).join(", ")} but not `
      + `${missing.map((t) => `${t}.jsonl`).join(", ")}; add them, or set data.evals_dir to a directory on the node`);
  }
  return { dir };
}

function parseEval(entry: string): { task: string; n: number | null } {
  const i = entry.indexOf(":");
  return i < 0 ? { task: entry, n: null } : { task: entry.slice(0, i), n: Number(entry.slice(i + 1)) };
}

// ----------------------------------------------------------------------------- reading

const CHUNK = 1 << 20;

/**
 * Hash a JSONL file and check every non-blank line with `check` (errors name file:line). Read in chunks, so a
 * multi-gigabyte SmolTalk export needs no more memory than its longest line. Lines are numbered as the agent
 * numbers them (every line counts, blank ones too).
 */
function scanJsonl(path: string, check: (row: unknown, where: string) => void): { sha256: string; size: number; rows: number } {
  const hash = createHash("sha256");
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const fd = openSync(path, "r");
  let size = 0, rows = 0, lineno = 0;
  let rest: Buffer = Buffer.alloc(0);
  const line = (bytes: Buffer) => {
    lineno++;
    const where = `${path}:${lineno}`;
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      throw new LocalDataError(`${where}: not valid UTF-8`);
    }
    if (!text.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (e) {
      throw new LocalDataError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    check(row, where);
    rows++;
  };
  try {
    const buf = Buffer.alloc(CHUNK);
    for (let n; (n = readSync(fd, buf, 0, CHUNK, null)) > 0;) {
      const chunk = buf.subarray(0, n);
      hash.update(chunk);
      size += n;
      let data = rest.length ? Buffer.concat([rest, chunk]) : chunk;
      for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10)) {
        line(data.subarray(0, nl));
        data = data.subarray(nl + 1);
      }
      rest = Buffer.from(data); // a copy: buf is reused by the next read
    }
    if (rest.length) line(rest);
  } finally {
    closeSync(fd);
  }
  if (rows === 0) throw new LocalDataError(`${path}: no rows (an empty file)`);
  return { sha256: hash.digest("hex"), size, rows };
}

/** The agent's data.check_conversation, so a bad chat file fails here, before anything is uploaded or recorded. */
function checkConversation(conv: unknown, where: string): void {
  const msgs = (conv as { messages?: unknown } | null)?.messages;
  if (typeof conv !== "object" || conv === null || Array.isArray(conv) || !Array.isArray(msgs) || msgs.length === 0) {
    throw new LocalDataError(`${where}: expected an object {"messages": [{"role": ..., "content": ...}, ...]}`);
  }
  msgs.forEach((m: unknown, j) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof m !== "object" || m === null || typeof content !== "string" || !["system", "user", "assistant"].includes(role as string)) {
      throw new LocalDataError(`${where}: messages[${j}] must be {"role": "system"|"user"|"assistant", "content": str}`);
    }
  });
  const turns = (msgs as { role: string }[]).slice(msgs[0].role === "system" ? 1 : 0);
  turns.forEach((m, j) => {
    const want = j % 2 === 0 ? "user" : "assistant";
    if (m.role !== want) {
      throw new LocalDataError(`${where}: turns must alternate user, assistant, ...; turn ${j} is '${m.role}', expected '${want}'`);
    }
  });
  if (!turns.length || turns[turns.length - 1].role !== "assistant") {
    throw new LocalDataError(`${where}: the conversation must end with an assistant turn (nothing to learn otherwise)`);
  }
}

/** Eval rows are the Hugging Face dataset's own fields (evals.py reads them); here: one JSON object per line. */
function checkEvalRow(row: unknown, where: string): void {
  if (typeof row !== "object" || row === null || Array.isArray(row)) {
    throw new LocalDataError(`${where}: expected a JSON object (one row of the task's Hugging Face dataset)`);
  }
}
