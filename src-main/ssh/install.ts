// Idempotent agent install over SFTP: upload into a temp dir, verify every file's sha256 on the
// node, then rename into ~/.fractal-llm/agent/<version>-<content hash>/. An existing dir whose
// manifest matches is verified and reused; one whose files no longer match is moved aside and
// installed afresh (nothing is deleted).

import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { SFTPWrapper } from "ssh2";
import type { SshConnection } from "./connect.js";
import { SshError } from "./errors.js";
import { shellJoin, shellQuote } from "./quote.js";

export interface ManifestFile { path: string; sha256: string; size: number }
export interface Manifest { version: string; files: ManifestFile[] }

export interface AgentSource {
  /** directory holding the fractal_agent package (its parent) */
  packageRoot: string;
  /** directory holding shipped resources (its tiny-gpt/ and corpus/ are uploaded when present) */
  resourcesRoot: string;
}

/** The repo's remote-agent/ and resources/, found upward from this file (works from src and dist). */
export function defaultAgentSource(): AgentSource {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "remote-agent", "fractal_agent", "__init__.py"))) {
      return { packageRoot: join(dir, "remote-agent"), resourcesRoot: join(dir, "resources") };
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find remote-agent/fractal_agent above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

function walk(root: string, keep: (rel: string) => boolean): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const visit = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === "__pycache__" || name.startsWith(".")) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) visit(p);
      else if (keep(p)) out.push(p);
    }
  };
  visit(root);
  return out;
}

/** Local files to ship, keyed by their path in the remote agent dir ("/"-separated). */
export function agentFiles(src: AgentSource): Map<string, string> {
  const files = new Map<string, string>();
  const pkg = join(src.packageRoot, "fractal_agent");
  // .json: data the agent reads beside its code (spec_values.json).
  for (const p of walk(pkg, (f) => f.endsWith(".py") || f.endsWith(".json"))) files.set(relative(src.packageRoot, p).split(sep).join("/"), p);
  // The shipped tiny checkpoint (when built) and the small corpus `pretrain` reads: the node has no internet.
  for (const sub of ["tiny-gpt", "corpus"]) {
    for (const p of walk(join(src.resourcesRoot, sub), () => true)) {
      files.set("resources/" + relative(src.resourcesRoot, p).split(sep).join("/"), p);
    }
  }
  if (!files.has("fractal_agent/__init__.py")) throw new Error(`${pkg}: no __init__.py; is this the fractal_agent package?`);
  return files;
}

export function buildManifest(files: Map<string, string>): Manifest {
  const init = readFileSync(files.get("fractal_agent/__init__.py")!, "utf8");
  const version = /^AGENT_VERSION\s*=\s*["']([^"']+)["']/m.exec(init)?.[1];
  if (!version) throw new Error("fractal_agent/__init__.py does not define AGENT_VERSION = \"...\"");
  const list = [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, local]) => {
    const data = readFileSync(local);
    return { path, sha256: createHash("sha256").update(data).digest("hex"), size: data.length };
  });
  return { version, files: list };
}

/** <version>-<first 12 hex of sha256 over the manifest>: any change to any file gives a new dir. */
export function installName(m: Manifest): string {
  return `${m.version}-${createHash("sha256").update(JSON.stringify(m.files)).digest("hex").slice(0, 12)}`;
}

// ---- remote side ------------------------------------------------------------------------------

/** The remote $HOME (from the shell, so a HOME set by sshd's SetEnv or the login counts). */
export async function remoteHome(conn: SshConnection): Promise<string> {
  const r = await conn.run(`printf '%s' "$HOME"`);
  if (r.code !== 0 || !r.stdout.startsWith("/")) throw new SshError("remote", conn.label, `${conn.label}: cannot read $HOME (${r.stderr.trim() || r.stdout})`);
  return r.stdout;
}

/** `~/x` and relative paths are taken from the remote home; the result is absolute (it gets quoted). */
export function remotePath(home: string, p: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return home + p.slice(1);
  return p.startsWith("/") ? p : `${home}/${p}`;
}

export interface Mismatch { path: string; expected: string; actual: string | null }

/** Hash the listed files in `dir` on the node (sha256sum, else shasum) and list what differs (a Manifest
 *  fits; ssh/upload.ts passes its own list). */
export async function verifyRemote(conn: SshConnection, dir: string, m: { files: readonly { path: string; sha256: string }[] }): Promise<Mismatch[]> {
  const names = m.files.map((f) => f.path);
  const list = shellJoin(["--", ...names]);
  const r = await conn.run(`cd ${shellQuote(dir)} && if command -v sha256sum >/dev/null 2>&1; then sha256sum ${list}; else shasum -a 256 ${list}; fi`);
  const got = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    if (match) got.set(match[2]!, match[1]!);
  }
  if (got.size === 0 && names.length > 0 && !/No such file/i.test(r.stderr)) {
    throw new SshError("remote", conn.label, `${conn.label}: cannot hash files in ${dir} (need sha256sum or shasum): ${r.stderr.trim()}`);
  }
  return m.files
    .filter((f) => got.get(f.path) !== f.sha256)
    .map((f) => ({ path: f.path, expected: f.sha256, actual: got.get(f.path) ?? null }));
}

/** Where the app keeps things on a node (agent versions, uploaded data) unless told otherwise. */
export const DEFAULT_REMOTE_ROOT = "~/.fractal-llm";

export interface InstallOptions {
  /** where agent versions live on the node; default DEFAULT_REMOTE_ROOT (a ~/ path or absolute) */
  remoteRoot?: string;
  source?: AgentSource;
  debug?: (msg: string) => void;
}

export interface InstallResult {
  /** absolute remote directory to cd into and put on PYTHONPATH */
  dir: string;
  manifest: Manifest;
  /** remote paths uploaded by this call ([] when the install was already in place) */
  uploaded: string[];
  /** files of an existing install whose checksums no longer matched (that install was moved aside) */
  repaired: Mismatch[];
  /** where the damaged install was moved, when repaired is not empty */
  movedAside: string | null;
}

export function sftpCall<T>(fn: (cb: (err: Error | null | undefined, v?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v as T))));
}

/** SFTP fastPut of one local file, failing with an SshError that names both ends. */
export async function putFile(conn: SshConnection, sftp: SFTPWrapper, local: string, remote: string, what: string): Promise<void> {
  await conn.whileOpen(sftpCall<void>((cb) => sftp.fastPut(local, remote, cb)), `uploading ${what}`).catch((err: Error) => {
    if (err instanceof SshError) throw err;
    throw new SshError("remote", conn.label, `${conn.label}: uploading ${what} to ${remote} failed: ${err.message}`, { cause: err });
  });
}

export async function installAgent(conn: SshConnection, opts: InstallOptions = {}): Promise<InstallResult> {
  const files = agentFiles(opts.source ?? defaultAgentSource());
  const manifest = buildManifest(files);
  const manifestText = JSON.stringify(manifest, null, 1) + "\n";
  const home = await remoteHome(conn);
  const base = `${remotePath(home, opts.remoteRoot ?? DEFAULT_REMOTE_ROOT)}/agent`;
  const dir = `${base}/${installName(manifest)}`;

  const existing = await conn.run(`cat ${shellQuote(dir + "/manifest.json")} 2>/dev/null`);
  let repaired: Mismatch[] = [];
  let movedAside: string | null = null;
  if (existing.code === 0) {
    if (existing.stdout === manifestText) {
      repaired = await verifyRemote(conn, dir, manifest);
      if (repaired.length === 0) {
        opts.debug?.(`${conn.label}: agent ${dir} already installed and verified`);
        return { dir, manifest, uploaded: [], repaired, movedAside };
      }
      opts.debug?.(`${conn.label}: ${dir} has files that changed since install: ${repaired.map((m) => m.path).join(", ")}`);
    }
    // Same name, different or damaged content: keep it for inspection, install afresh.
    movedAside = `${dir}.damaged-${Date.now()}`;
    await mustRun(conn, `mv ${shellQuote(dir)} ${shellQuote(movedAside)}`, "move the damaged install aside");
  }

  const tmp = `${base}/.tmp-${installName(manifest)}-${randomBytes(4).toString("hex")}`;
  const subdirs = [...new Set(manifest.files.map((f) => `${tmp}/${f.path}`.replace(/\/[^/]+$/, "")))];
  await mustRun(conn, `mkdir -p ${shellJoin(subdirs)}`, "create the upload directory");
  const sftp = await conn.sftp();
  const uploaded: string[] = [];
  try {
    for (const f of manifest.files) {
      const to = `${tmp}/${f.path}`;
      await putFile(conn, sftp, files.get(f.path)!, to, f.path);
      uploaded.push(to);
    }
    await conn.whileOpen(writeRemote(sftp, `${tmp}/manifest.json`, manifestText), "writing the agent's manifest");
  } finally {
    sftp.end();
  }
  const bad = await verifyRemote(conn, tmp, manifest);
  if (bad.length > 0) {
    await conn.run(`rm -rf ${shellQuote(tmp)}`);
    throw new SshError("remote", conn.label,
      `${conn.label}: checksum mismatch after uploading the agent: ` +
      bad.map((b) => `${b.path} expected ${b.expected.slice(0, 12)}, got ${b.actual?.slice(0, 12) ?? "missing"}`).join("; ") +
      `. The disk may be full or the upload corrupted; try again.`);
  }
  // Atomic on one filesystem. A concurrent installer may have won the race: then use theirs.
  const [t, d] = [shellQuote(tmp), shellQuote(dir)];
  const mv = await conn.run(`mv -T ${t} ${d} 2>&1 || { [ ! -e ${d} ] && mv ${t} ${d}; }`); // no -T on macOS
  if (mv.code !== 0) {
    const theirs = await conn.run(`cat ${shellQuote(dir + "/manifest.json")}`);
    await conn.run(`rm -rf ${shellQuote(tmp)}`);
    if (theirs.stdout !== manifestText) throw new SshError("remote", conn.label, `${conn.label}: cannot move the agent into ${dir}: ${mv.stdout.trim()}`);
  }
  opts.debug?.(`${conn.label}: installed agent into ${dir} (${uploaded.length} files)`);
  return { dir, manifest, uploaded, repaired, movedAside };
}

function writeRemote(sftp: SFTPWrapper, path: string, text: string): Promise<void> {
  return sftpCall<void>((cb) => sftp.writeFile(path, text, cb));
}

/** Run a command that must succeed; the error says what could not be done on which machine. */
export async function mustRun(conn: SshConnection, command: string, what: string): Promise<void> {
  const r = await conn.run(command);
  if (r.code !== 0) throw new SshError("remote", conn.label, `${conn.label}: cannot ${what}: ${(r.stderr || r.stdout).trim()}`);
}
