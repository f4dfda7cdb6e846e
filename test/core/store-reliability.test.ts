// The store under contention and on bad paths, with real processes and real files: two processes creating or
// upgrading one database at the same moment, another process holding the write lock while results are ingested,
// and errors that name the database and what would fix it.
import Database from "better-sqlite3";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { MIGRATIONS } from "../../src-main/core/migrations";
import { followSweep, prepareSweep, recordSweep } from "../../src-main/launch/launch";
import { INTERACTIVE_STORE, openStore, SCHEMA_VERSION, StoreBusyError, StoreError } from "../../src-main/core/store";
import { openTarget } from "../../src-main/launch/targets";
import { journal, mlpSpec, stopAgentDaemon, tempDir } from "./helpers";

const PROC = join(__dirname, "store-proc.mjs");
const TABLES = ["cell_samples", "curves", "done_blocks", "host_probes", "hosts", "preview_blocks", "preview_done", "result_blocks", "sweeps", "sync_cursors", "ui_bookmarks", "ui_sweep_tags"];

function proc(args: string[], opts: { uid?: number; gid?: number } = {}) {
  const child = spawn(process.execPath, [PROC, ...args], { stdio: ["ignore", "pipe", "pipe"], ...opts });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d: Buffer) => { stdout += d; });
  child.stderr.on("data", (d: Buffer) => { stderr += d; });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => child.on("close", (code) => res({ code, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

/** A database at schema version `version` (its first migrations applied by hand, as an older release left it). */
function olderDatabase(path: string, version: number): void {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  for (let v = 0; v < version; v++) db.exec(MIGRATIONS[v]);
  db.pragma(`user_version = ${version}`);
  db.close();
}

describe("two processes opening one database at once", () => {
  it("both succeed and the schema is right, for fresh databases and older ones being upgraded", async () => {
    const dir = tempDir();
    // Several rounds: the race (both read user_version before either commits) must not depend on luck to show.
    const paths: string[] = [];
    for (let r = 0; r < 4; r++) paths.push(join(dir, `fresh-${r}.sqlite`));
    for (let r = 0; r < 4; r++) {
      const p = join(dir, `older-${r}.sqlite`);
      olderDatabase(p, 1 + (r % (SCHEMA_VERSION - 1)));
      paths.push(p);
    }
    const start = String(Date.now() + 2500); // after both have loaded tsx and the store
    const procs = [proc(["open", ...paths, start]), proc(["open", ...paths, start]), proc(["open", ...paths, start])];
    const results = await Promise.all(procs.map((p) => p.done));
    for (const r of results) {
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
      expect(lines).toHaveLength(paths.length);
      for (const l of lines) expect(l).toEqual({ ok: true, version: SCHEMA_VERSION, tables: TABLES });
    }
    for (const p of paths) {
      const s = openStore(p);
      expect(s.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
      expect(s.db.pragma("integrity_check", { simple: true })).toBe("ok");
      s.close();
    }
  }, 60_000);
});

describe("another process holding the write lock", () => {
  it("ingest waits and retries with backoff, longer than SQLite's busy timeout, and completes once the lock is released", async () => {
    const path = join(tempDir(), "busy.sqlite");
    const s = openStore(path, { busyTimeoutMs: 200 }); // SQLite alone would give up after 0.2 s
    const spec = mlpSpec(16, 16);
    s.createSweep({ id: "sw", spec, target: "local" });
    const holder = proc(["lock", path, "6000"]); // longer than SQLite's default busy timeout (5 s) too
    await new Promise<void>((res, rej) => {
      holder.child.stdout.on("data", () => { if (holder.stdout().includes("locked")) res(); });
      holder.child.on("close", (code) => rej(new Error(`the lock holder exited (${code}) before holding the lock`)));
    });
    const t0 = Date.now();
    const events = journal("sw", spec, 256, 32);
    const r = s.ingest("sw", "local", events); // blocks this thread until the holder commits
    const waited = Date.now() - t0;
    expect(r).toMatchObject({ applied: events.length, newCells: 256, doneCells: 256 });
    expect(waited).toBeGreaterThan(4000);
    expect((await holder.done).code).toBe(0);
    expect(s.sweep("sw")!.status).toBe("completed");
    expect(s.hosts().map((h) => h.alias)).toEqual(["holder"]); // the holder's write committed too
    s.close();
  }, 30_000);

  it("gives up after lockWaitMs with a message naming the database, the cause and the fix", async () => {
    const path = join(tempDir(), "stuck.sqlite");
    const s = openStore(path, { busyTimeoutMs: 100, lockWaitMs: 600 });
    s.createSweep({ id: "sw", spec: mlpSpec(4, 4), target: "local" });
    const holder = proc(["lock", path, "3000"]);
    await new Promise<void>((res) => holder.child.stdout.on("data", () => { if (holder.stdout().includes("locked")) res(); }));
    let err: unknown;
    try { s.ingest("sw", "local", journal("sw", mlpSpec(4, 4), 16, 4)); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(path);
    expect((err as Error).message).toMatch(/another process kept it locked .*Close the other program/);
    expect(s.cursor("sw", "local")).toBe(0); // nothing of the batch was applied
    await holder.done;
    s.close();
  }, 30_000);
});

describe("a UI process and another process's lock", () => {
  it("its follower never sleeps on the lock: the event loop keeps turning, results land once the lock is gone", async () => {
    const dir = tempDir();
    const path = join(dir, "ui.sqlite");
    const s = openStore(path, INTERACTIVE_STORE);
    const t = await openTarget(s, "local", { python: "/usr/bin/python3", localAgentHome: join(dir, "agent") });
    const p = await prepareSweep(s, mlpSpec(16, 16), "local", false);
    await recordSweep(s, p, t);
    // Held from before the follow starts until after the sweep has trained: every result arrives while it is held.
    const holder = proc(["lock", path, "5000"]);
    await new Promise<void>((res) => holder.child.stdout.on("data", () => { if (holder.stdout().includes("locked")) res(); }));
    const t0 = Date.now();
    let last = t0, maxGap = 0;
    const tick = setInterval(() => { const n = Date.now(); maxGap = Math.max(maxGap, n - last); last = n; }, 20);
    const notices: string[] = [];
    const sleeps = vi.spyOn(Atomics, "wait"); // how write() waits out a lock in a CLI process
    const r = await followSweep(s, p.id, t, { flushMs: 50, onNotice: (m) => notices.push(m) });
    clearInterval(tick);
    expect(sleeps).not.toHaveBeenCalled();
    sleeps.mockRestore();
    expect((await holder.done).code).toBe(0);
    expect(Date.now() - t0).toBeGreaterThan(3000); // it did wait for the lock
    expect(r).toMatchObject({ status: "completed", done: 256, total: 256 });
    expect(maxGap).toBeLessThan(1500); // SQLite's own busy wait is 250 ms at most here; a sleeping retry blocks it until the lock is gone
    expect(() => { const b = openStore(path, INTERACTIVE_STORE); b.close(); }).not.toThrow();
    await stopAgentDaemon(join(dir, "agent"));
    s.close();
  }, 120_000);

  it("a request's write that finds the database locked fails at once, naming the lock, and writes nothing", async () => {
    const path = join(tempDir(), "ui-busy.sqlite");
    const s = openStore(path, INTERACTIVE_STORE);
    s.createSweep({ id: "sw", spec: mlpSpec(4, 4), target: "local" });
    const holder = proc(["lock", path, "2000"]);
    await new Promise<void>((res) => holder.child.stdout.on("data", () => { if (holder.stdout().includes("locked")) res(); }));
    const t0 = Date.now();
    expect(() => s.setStatus("sw", "cancelled", null)).toThrow(StoreBusyError);
    expect(Date.now() - t0).toBeLessThan(1500);
    // Every write goes through the store's one write path, host settings too (they bypassed it).
    expect(() => s.setHostScheduler("holder", null)).toThrow(StoreBusyError);
    await holder.done;
    expect(s.sweep("sw")!.status).toBe("created");
    s.close();
  }, 30_000);
});

describe("errors name the database and the fix", () => {
  it("a directory that does not exist", () => {
    const path = join(tempDir(), "no", "such", "dir", "db.sqlite");
    expect(() => openStore(path)).toThrow(StoreError);
    expect(() => openStore(path)).toThrow(new RegExp(`${escape(path)}: its directory .*no/such/dir does not exist\\. Create it \\(mkdir -p .*\\) or choose another database with --db`));
  });

  it("a file that is not a database, left unchanged", () => {
    const path = join(tempDir(), "notes.sqlite");
    writeFileSync(path, "these are my notes, not a database; long enough to have a header ".repeat(4));
    const before = readFileSync(path);
    expect(() => openStore(path)).toThrow(new RegExp(`${escape(path)} is not a fractal-llm database \\(SQLite: file is not a database\\)\\. `
      + "Move it away or choose another database with --db or FRACTAL_LLM_DB; the file was not modified"));
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it("a directory where the database file should be", () => {
    const path = tempDir();
    expect(() => openStore(path)).toThrow(new RegExp(`${escape(path)} is a directory; name a database file \\(e\\.g\\. ${escape(join(path, "fractal-llm.sqlite"))}\\) or choose another database`));
  });

  it("a directory this user cannot write", async () => {
    const dir = join(tempDir(), "locked-dir");
    mkdirSync(dir);
    const path = join(dir, "db.sqlite");
    chmodSync(dir, 0o555);
    // root writes anywhere: run the open as nobody then (a real process under another uid).
    const asNobody = process.getuid?.() === 0;
    if (asNobody) chmodSync(join(dir, ".."), 0o755);
    const r = asNobody ? await proc(["open", path, "0"], { uid: 65534, gid: 65534 }).done : null;
    const message = r ? JSON.parse(r.stdout.trim()).error as string : (() => { try { openStore(path); return ""; } catch (e) { return (e as Error).message; } })();
    expect(message, r?.stderr).toContain(path);
    expect(message).toMatch(/its directory .*locked-dir is not writable by this user .*Make the directory writable \(chown or chmod it\) or choose another database/);
  }, 30_000);

  it("a failed read of the sweeps (what the API service polls) names the database", () => {
    const path = join(tempDir(), "polled.sqlite");
    const s = openStore(path);
    s.close(); // e.g. a follower's last poll after shutdown
    expect(() => s.sweeps()).toThrow(StoreError);
    expect(() => s.sweeps()).toThrow(new RegExp(`cannot read the sweeps of the database ${escape(path)}: The database connection is not open`));
  });

  it("an unknown sweep and a sweep's bad data name the database", () => {
    const path = join(tempDir(), "x.sqlite");
    const s = openStore(path);
    expect(() => s.ingest("nope", "local", [])).toThrow(/unknown sweep nope in .*x\.sqlite/);
    s.close();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
