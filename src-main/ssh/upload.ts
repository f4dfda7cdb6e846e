// Put a sweep's laptop files on the node: the SSH half of core/local-data.ts (which chose the files, hashed them
// and rewrote the spec to name their content-addressed places). A file already there with the right sha256 is
// reused; otherwise it goes to a temporary name beside its place, is hashed on the node, and is renamed into place
// in one step, so an interrupted upload never leaves a partial file under the name a spec reads.

import { randomBytes } from "node:crypto";
import type { SFTPWrapper } from "ssh2";
import { fileLabel, formatBytes, type LocalFile } from "../core/local-data.js";
import type { SshConnection } from "./connect.js";
import { SshError } from "./errors.js";
import { mustRun, putFile, remoteHome, remotePath, verifyRemote } from "./install.js";
import { shellJoin, shellQuote } from "./quote.js";

export interface UploadResult {
  file: LocalFile;
  /** "present": the node already had the file with this sha256, nothing was sent */
  status: "uploaded" | "present";
  /** absolute path on the node */
  path: string;
}

/** Make every file exist on the node at its `remote` path with its sha256; onFile hears about each one. */
export async function uploadLocalData(conn: SshConnection, files: readonly LocalFile[],
  onFile?: (r: UploadResult) => void): Promise<UploadResult[]> {
  if (files.length === 0) return [];
  const home = await remoteHome(conn);
  const byDir = new Map<string, { file: LocalFile; name: string; path: string }[]>();
  for (const file of files) {
    const path = remotePath(home, file.remote);
    const cut = path.lastIndexOf("/");
    const dir = path.slice(0, cut);
    byDir.set(dir, [...(byDir.get(dir) ?? []), { file, name: path.slice(cut + 1), path }]);
  }
  await mustRun(conn, `mkdir -p ${shellJoin([...byDir.keys()])}`, "create the directories for the sweep's data");

  const results: UploadResult[] = [];
  const done = (r: UploadResult) => { results.push(r); onFile?.(r); };
  let sftp: SFTPWrapper | null = null;
  try {
    for (const [dir, entries] of byDir) {
      const differ = new Set((await verifyRemote(conn, dir, { files: entries.map((e) => ({ path: e.name, sha256: e.file.sha256 })) }))
        .map((m) => m.path));
      for (const e of entries.filter((e) => !differ.has(e.name))) done({ file: e.file, status: "present", path: e.path });
      const missing = entries.filter((e) => differ.has(e.name)); // absent, or damaged (then replaced)
      if (missing.length === 0) continue;

      sftp ??= await conn.sftp();
      const staged = missing.map((e) => ({ ...e, tmp: `.tmp-${e.name}-${randomBytes(4).toString("hex")}` }));
      const tmpPaths = staged.map((s) => `${dir}/${s.tmp}`);
      try {
        for (const s of staged) await putFile(conn, sftp, s.file.local, `${dir}/${s.tmp}`, s.file.local);
        const bad = await verifyRemote(conn, dir, { files: staged.map((s) => ({ path: s.tmp, sha256: s.file.sha256 })) });
        if (bad.length > 0) {
          throw new SshError("remote", conn.label, `${conn.label}: checksum mismatch after uploading ` +
            bad.map((b) => `${staged.find((s) => s.tmp === b.path)!.file.local} (expected ${b.expected.slice(0, 12)}, got ` +
              `${b.actual?.slice(0, 12) ?? "missing"})`).join("; ") + ". The node's disk may be full or the upload corrupted; try again.");
        }
        // rename(2) within one directory: the final name appears complete or not at all.
        await mustRun(conn, staged.map((s) => `mv -f ${shellQuote(`${dir}/${s.tmp}`)} ${shellQuote(s.path)}`).join(" && "),
          `move the uploaded files into ${dir}`);
      } catch (err) {
        await conn.run(`rm -f ${shellJoin(tmpPaths)}`).catch(() => undefined); // best effort: the error below matters
        throw err;
      }
      for (const s of staged) done({ file: s.file, status: "uploaded", path: s.path });
    }
  } finally {
    sftp?.end();
  }
  return results;
}

/** The CLI's line about one file, e.g.
 *  `data chat.jsonl (1.2 MB, sha256 ab12cd34…) uploaded to gpu-box:~/.fractal-llm/data/ab12….jsonl`. */
export function uploadLine(r: UploadResult, host: string): string {
  const f = r.file;
  return `${f.kind} ${fileLabel(f)} (${formatBytes(f.size)}, sha256 ${f.sha256.slice(0, 8)}…) `
    + `${r.status === "uploaded" ? "uploaded to" : "already on"} ${host}:${f.remote}`;
}

/** Remove files or directories the app put under the node's agent root (uploads no sweep needs any more).
 *  Anything outside `root` is refused: a path comes from a stored spec, and a bad one must not delete elsewhere. */
export async function removeRemoteFiles(conn: SshConnection, root: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  const home = await remoteHome(conn);
  const base = remotePath(home, root).replace(/\/+$/, "") + "/";
  const abs = paths.map((p) => remotePath(home, p));
  for (const p of abs) {
    if (!p.startsWith(base) || p.split("/").includes("..")) {
      throw new SshError("remote", conn.label, `refusing to remove ${p}: not under the agent root ${base}`);
    }
  }
  await mustRun(conn, `rm -rf -- ${shellJoin(abs)}`, "remove the sweep's uploaded data");
}
