// The local SQLite store (better-sqlite3): hosts, sweeps, their results and sync cursors.
//
// Results are dense per sweep: cells are grouped into blocks of BLOCK_CELLS consecutive (row-major) indices,
// and each (sweep, field, block) row holds one compressed typed array over the block's cells (codec.ts), with
// a done-bitmap per (sweep, block). A 4096^2 map is 1024 blocks x a handful of fields, so it loads with a few
// thousand row reads and inflates, and tile ingest rewrites only the blocks a batch touches.
//
// Ingest is idempotent twice over: events at or below the sweep's cursor (sync_cursors.last_seq) are skipped,
// and a cell whose done bit is set is never written again (the first record counts, as in the journal).

import Database from "better-sqlite3";
import { accessSync, closeSync, constants as fsConstants, copyFileSync, existsSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type BlockDtype, decodeBlock, emptyBlock, encodeBlock, roundFloat32, roundsFloats, storedDtype } from "./codec";
import { type Window } from "../../src-shared/grid";
import { MIGRATIONS } from "./migrations";
import { IngestLog } from "./ingest-log";
import { hasCoarseCells, keptStride, type Preview, type PreviewGrid, PreviewWriter, readPreview } from "./preview";
import { canonicalJson, type Spec } from "../../src-shared/spec";
import { type DecodedTile, type Numeric, type TileEvent, decodeTile } from "./tiles";
import type { BaseMetrics, SweepStatus } from "../../src-shared/contract";

export const BLOCK_CELLS = 1 << 14;
export const SCHEMA_VERSION = MIGRATIONS.length;

export const TERMINAL: readonly SweepStatus[] = ["completed", "cancelled", "failed"];

export interface HostRow {
  alias: string; hostname: string; port: number; user: string | null; python: string | null; agent_dir: string | null;
  created_at: string;
  /** JSON of core/scheduler.ts's settings (a cluster's login node), or null; set with setHostScheduler */
  scheduler?: string | null;
}

export interface SweepRow {
  id: string; name: string; spec: Spec; parent_id: string | null; window: Window; nx: number; ny: number;
  cells: number; done_cells: number; target: string; status: SweepStatus; env: unknown | null; seed: number;
  error: string | null; created_at: string; updated_at: string;
  /** SFT sweeps: the untrained model's held-out and OOD loss and evals (null until the agent measured them). */
  base: BaseMetrics | null;
  /** The spec as given on the laptop, when `spec` names a node's copies of its files (migration 4); else null. */
  source_spec: Spec | null;
  /** The stride of the preview kept beside the blocks (preview.ts), or null where none is kept (migration 6). */
  preview_stride: number | null;
}

/** What the last connection to a target found: the interpreter that runs the agent and its `env`. */
export interface HostProbe { target: string; python: string; env: Record<string, unknown>; probed_at: string }

/** A journal event as the agent sends it (ARCHITECTURE.md "Journal events"). */
export type JournalEvent =
  | { seq: number; type: "sweep"; sweep: string; spec: unknown; env: unknown; cells: number; epoch?: string | null }
  | { seq: number; type: "resume"; sweep: string; [k: string]: unknown }
  | { seq: number; type: "base"; sweep: string; metrics: BaseMetrics }
  | TileEvent
  | { seq: number; type: "done"; sweep: string; status: "completed" | "cancelled" | "failed"; error: string | null };

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** Another connection held the database's write lock for longer than this store waits: nothing was written. */
export class StoreBusyError extends StoreError {}

export interface IngestResult { applied: number; skipped: number; newCells: number; doneCells: number; lastSeq: number }

const now = () => new Date().toISOString();

export interface StoreOptions {
  /** How long one statement waits for another connection's lock before SQLite gives up (busy_timeout). */
  busyTimeoutMs?: number;
  /** How long a write (ingest, a migration, any update) keeps retrying, with backoff, while another process holds
   *  the database's write lock (a long transaction, a sqlite3 shell, a backup) before it reports that process. */
  lockWaitMs?: number;
  /** The same for writes once the database is open (default lockWaitMs). */
  writeLockWaitMs?: number;
  /**
   * The user's host list (core/paths.ts userHostsPath), one SQLite file whichever sweep database is open, as
   * ~/.ssh/config is. Hosts this database saved itself (before the host list was the user's) are copied into it
   * at open. Without it the database's own hosts table is used (tests, a database used on its own).
   */
  hostsPath?: string;
}

/** The host list's table, in the attached user file or in the database itself. */
const HOSTS_TABLE = `(
    alias      TEXT PRIMARY KEY,
    hostname   TEXT NOT NULL,
    port       INTEGER NOT NULL DEFAULT 22,
    user       TEXT,
    python     TEXT,
    agent_dir  TEXT,
    created_at TEXT NOT NULL,
    scheduler  TEXT
  )`;

/**
 * A process that serves a UI (browser mode, Electron's main process) must not block its one thread for long: SQLite
 * waits a quarter second for a lock, and a write that still finds the database locked throws StoreBusyError at
 * once (no sleeping retries). A sweep's follower keeps its events and stores them on a later tick (sweep-runner.ts);
 * a request from the UI reports the lock and is tried again by the user.
 */
export const INTERACTIVE_STORE: StoreOptions = { busyTimeoutMs: 250, writeLockWaitMs: 0 };

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;
const DEFAULT_LOCK_WAIT_MS = 120_000;
const FIX_DB = "choose another database with --db or FRACTAL_LLM_DB";

/**
 * Open (creating and migrating as needed) the database at `path`. A database written by a newer version of
 * this program is refused before anything is written to it: its schema version is read on a read-only handle.
 * Every error names the file and what would fix it (a missing or read-only directory, a file that is not a
 * database, another process holding the write lock).
 */
export function openStore(path: string, opts: StoreOptions = {}): Store {
  const lockWaitMs = opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  if (path !== ":memory:" && !existsSync(dirname(resolve(path)))) {
    throw new StoreError(`cannot open the database ${path}: its directory ${dirname(resolve(path))} does not exist. `
      + `Create it (mkdir -p ${dirname(resolve(path))}) or ${FIX_DB}.`);
  }
  let db: Database.Database | null = null;
  try {
    if (path !== ":memory:" && existsSync(path)) {
      const ro = new Database(path, { readonly: true, fileMustExist: true });
      let version: number;
      try {
        version = ro.pragma("user_version", { simple: true }) as number;
      } finally {
        ro.close();
      }
      if (version > SCHEMA_VERSION) {
        throw new StoreError(`${path} has schema version ${version}, newer than this fractal-llm understands (${SCHEMA_VERSION}); `
          + "it was written by a newer release. Upgrade fractal-llm, or use another database (--db / FRACTAL_LLM_DB). "
          + "The file was not modified.");
      }
    }
    db = new Database(path);
    const d = db;
    d.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
    retryBusy(lockWaitMs, () => d.pragma("journal_mode = WAL"));
    d.pragma("synchronous = NORMAL");
    d.pragma("foreign_keys = ON");
    migrate(d, lockWaitMs);
    if (opts.hostsPath) attachHosts(d, opts.hostsPath, lockWaitMs);
    return new Store(d, path, opts.writeLockWaitMs ?? lockWaitMs, opts.hostsPath ?? null);
  } catch (e) {
    db?.close();
    throw storeError(path, e, "open");
  }
}

/**
 * Apply the migrations this database lacks, each in its own write transaction. The version is read again inside
 * the transaction, holding the write lock: another process opening the same database at the same moment may have
 * applied it meanwhile, and it must not run twice.
 */
function migrate(db: Database.Database, lockWaitMs: number): void {
  const version = () => db.pragma("user_version", { simple: true }) as number;
  while (version() < MIGRATIONS.length) {
    retryBusy(lockWaitMs, () => db.transaction(() => {
      const v = version();
      if (v >= MIGRATIONS.length) return;
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate());
  }
}

/** Attach the user's host list as schema `hostbook` (created if missing) and copy this database's own hosts into it. */
function attachHosts(db: Database.Database, hostsPath: string, lockWaitMs: number): void {
  mkdirSync(dirname(resolve(hostsPath)), { recursive: true, mode: 0o700 });
  db.prepare("ATTACH DATABASE ? AS hostbook").run(hostsPath);
  retryBusy(lockWaitMs, () => db.pragma("hostbook.journal_mode = WAL"));
  retryBusy(lockWaitMs, () => db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS hostbook.hosts ${HOSTS_TABLE}`);
    db.exec(`INSERT OR IGNORE INTO hostbook.hosts (alias, hostname, port, user, python, agent_dir, created_at, scheduler)
      SELECT alias, hostname, port, user, python, agent_dir, created_at, scheduler FROM main.hosts`);
  }).immediate());
}

/** SQLite's "another connection holds the lock" errors (its busy_timeout ran out). */
function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return e instanceof Database.SqliteError && typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Run fn, again with backoff while SQLite reports the database locked, for up to waitMs in all. Synchronous, like
 *  better-sqlite3: each wait blocks this thread, as SQLite's own busy_timeout does. */
function retryBusy<T>(waitMs: number, fn: () => T): T {
  const deadline = Date.now() + waitMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 1000)) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
      Atomics.wait(sleeper, 0, 0, Math.min(delay, Math.max(1, deadline - Date.now())));
    }
  }
}

/** An error from SQLite as a StoreError that names the database file and what would fix it. */
export function storeError(path: string, e: unknown, doing: string): Error {
  if (e instanceof StoreError || !(e instanceof Error)) return e as Error;
  const code = (e as { code?: unknown }).code;
  const dir = dirname(resolve(path));
  const what = `cannot ${doing} the database ${path}`;
  if (isBusy(e)) {
    return new StoreBusyError(`${what}: another process kept it locked for too long (SQLite: ${e.message}). Close the other `
      + "program writing to it (another fractal-llm, a sqlite3 shell, a backup) and try again; a sweep resumes where it stopped.");
  }
  if (code === "SQLITE_NOTADB" || code === "SQLITE_CORRUPT") {
    return new StoreError(`${what}: ${path} is not a fractal-llm database (SQLite: ${e.message}). Move it away or ${FIX_DB}; `
      + "the file was not modified.");
  }
  if (code === "SQLITE_FULL") {
    return new StoreError(`${what}: the disk holding ${dir} is full. Free space there or ${FIX_DB}.`);
  }
  if (typeof code === "string" && (code.startsWith("SQLITE_CANTOPEN") || code.startsWith("SQLITE_READONLY") || code.startsWith("SQLITE_IOERR")
    || code === "SQLITE_PERM" || code === "SQLITE_AUTH")) {
    if (existsSync(path) && statSync(path).isDirectory()) {
      return new StoreError(`${what}: ${path} is a directory; name a database file (e.g. ${join(path, "fractal-llm.sqlite")}) or ${FIX_DB}.`);
    }
    if (!canWriteIn(dir)) {
      return new StoreError(`${what}: its directory ${dir} is not writable by this user (SQLite keeps the database and its `
        + `-wal and -shm files there; SQLite: ${e.message}). Make the directory writable (chown or chmod it) or ${FIX_DB}.`);
    }
    if (existsSync(path) && !canReadWrite(path)) {
      return new StoreError(`${what}: this user cannot read and write ${path} (SQLite: ${e.message}). Fix its owner or mode, `
        + `or ${FIX_DB}.`);
    }
    return new StoreError(`${what} (SQLite: ${e.message}). Check that ${path} and its directory are readable and writable, `
      + `or ${FIX_DB}.`);
  }
  return new StoreError(`${what}: ${e.message}`);
}

/** Whether a file can be created in dir by this process (root passes mode checks, a read-only mount does not). */
function canWriteIn(dir: string): boolean {
  const probe = join(dir, `.fractal-llm-write-test-${process.pid}`);
  try {
    closeSync(openSync(probe, "wx"));
    rmSync(probe, { force: true });
    return true;
  } catch {
    return false;
  }
}

function canReadWrite(path: string): boolean {
  try {
    accessSync(path, fsConstants.R_OK | fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Sweeps in a database, read on a read-only handle that never migrates or writes (tests, `npm start`'s message). */
export function countSweeps(path: string): number {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM sweeps").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch (e) {
    throw storeError(path, e, "read");
  }
}

interface BlockBuf { dtype: BlockDtype; values: Numeric; dirty: boolean; exists: boolean }
interface DoneBuf { bits: Uint8Array; count: number; dirty: boolean; exists: boolean }

export class Store {
  readonly db: Database.Database;
  readonly path: string;
  private readonly q;
  /** Which cells this process's ingests added, per sweep (ingest-log.ts), for cellsAddedSince. */
  private readonly added = new IngestLog();

  /** Where saved hosts live: the user's host list, else this database. */
  readonly hostsPath: string | null;
  private readonly hostsTable: string;

  constructor(db: Database.Database, path: string, private readonly lockWaitMs = DEFAULT_LOCK_WAIT_MS, hostsPath: string | null = null) {
    this.db = db;
    this.path = path;
    this.hostsPath = hostsPath;
    this.hostsTable = hostsPath ? "hostbook.hosts" : "main.hosts";
    this.q = {
      sweep: db.prepare("SELECT * FROM sweeps WHERE id = ?"),
      block: db.prepare("SELECT dtype, data FROM result_blocks WHERE sweep_id = ? AND field = ? AND block = ?"),
      putBlock: db.prepare("INSERT OR REPLACE INTO result_blocks (sweep_id, field, block, dtype, data) VALUES (?, ?, ?, ?, ?)"),
      done: db.prepare("SELECT bits, count FROM done_blocks WHERE sweep_id = ? AND block = ?"),
      putDone: db.prepare("INSERT OR REPLACE INTO done_blocks (sweep_id, block, bits, count) VALUES (?, ?, ?, ?)"),
      cursor: db.prepare("SELECT last_seq, epoch FROM sync_cursors WHERE sweep_id = ? AND host = ?"),
      putCursor: db.prepare(`INSERT INTO sync_cursors (sweep_id, host, last_seq, epoch, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (sweep_id, host) DO UPDATE SET last_seq = excluded.last_seq, epoch = COALESCE(excluded.epoch, epoch),
        updated_at = excluded.updated_at`),
      putCurve: db.prepare("INSERT OR IGNORE INTO curves (sweep_id, cell, step, loss, grad_norm) VALUES (?, ?, ?, ?, ?)"),
      addDone: db.prepare("UPDATE sweeps SET done_cells = done_cells + ?, updated_at = ? WHERE id = ?"),
      setStatus: db.prepare("UPDATE sweeps SET status = ?, error = ?, updated_at = ? WHERE id = ?"),
      setEnv: db.prepare("UPDATE sweeps SET env = ?, updated_at = ? WHERE id = ?"),
      setBase: db.prepare("UPDATE sweeps SET base = ?, updated_at = ? WHERE id = ?"),
    };
  }

  close(): void {
    this.db.close();
  }

  /**
   * Every write goes through here: one immediate (write-locked) transaction, run again with backoff while another
   * process holds the lock (up to lockWaitMs), and any SQLite error reported with the database's path. fn must be
   * safe to run again (it reads what it needs inside the transaction).
   */
  private write<T>(doing: string, fn: () => T): T {
    try {
      return retryBusy(this.lockWaitMs, () => this.db.transaction(fn).immediate());
    } catch (e) {
      throw storeError(this.path, e, doing);
    }
  }

  /** Fold the write-ahead log into the database file and empty it (before the file is copied elsewhere). */
  checkpoint(): void {
    try {
      retryBusy(this.lockWaitMs, () => this.db.pragma("wal_checkpoint(TRUNCATE)"));
    } catch (e) {
      throw storeError(this.path, e, "checkpoint");
    }
  }

  /**
   * Copy every sweep of another fractal-llm database (with its results, curves and samples) into this one, in one
   * transaction: the demo maps on first launch. The other file is first migrated to this build's schema on a private
   * copy, so it is never written to. Sweeps already here (same id) are refused rather than merged. Returns how many
   * sweeps were copied.
   */
  importFrom(otherPath: string): number {
    if (!existsSync(otherPath)) throw new StoreError(`cannot import from ${otherPath}: no such file`);
    const tmp = `${this.path}.import-${process.pid}`;
    copyFileSync(otherPath, tmp);
    try {
      openStore(tmp, { lockWaitMs: this.lockWaitMs }).close();
      try {
        this.db.prepare("ATTACH DATABASE ? AS other").run(tmp);
      } catch (e) {
        throw storeError(otherPath, e, "import from");
      }
      try {
        return this.write(`import ${otherPath} into`, () => {
          const clash = this.db.prepare("SELECT id FROM other.sweeps WHERE id IN (SELECT id FROM main.sweeps) LIMIT 1").get() as { id: string } | undefined;
          if (clash) throw new StoreError(`cannot import ${otherPath} into ${this.path}: sweep ${clash.id} is in both`);
          for (const t of IMPORT_TABLES) {
            const cols = (this.db.prepare(`PRAGMA other.table_info(${t})`).all() as { name: string }[]).map((c) => `"${c.name}"`).join(", ");
            // Parents before children: ORDER BY rowid keeps the order they were recorded in (a zoom after its parent).
            this.db.exec(`INSERT INTO main.${t} (${cols}) SELECT ${cols} FROM other.${t} ORDER BY rowid`);
          }
          return (this.db.prepare("SELECT count(*) AS n FROM other.sweeps").get() as { n: number }).n;
        });
      } finally {
        this.db.exec("DETACH DATABASE other");
      }
    } finally {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(tmp + suffix, { force: true });
    }
  }

  // ------------------------------------------------------------------------- hosts

  addHost(h: Omit<HostRow, "created_at">): void {
    this.write("add a host to", () => this.db.prepare(`INSERT INTO ${this.hostsTable} (alias, hostname, port, user, python, agent_dir, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (alias) DO UPDATE SET hostname = excluded.hostname, port = excluded.port,
      user = excluded.user, python = excluded.python, agent_dir = excluded.agent_dir`)
      .run(h.alias, h.hostname, h.port, h.user, h.python, h.agent_dir, now()));
  }

  host(alias: string): HostRow | undefined {
    return this.db.prepare(`SELECT * FROM ${this.hostsTable} WHERE alias = ?`).get(alias) as HostRow | undefined;
  }

  hosts(): HostRow[] {
    return this.db.prepare(`SELECT * FROM ${this.hostsTable} ORDER BY alias`).all() as HostRow[];
  }

  /** Set (JSON) or clear (null) a saved host's cluster scheduler settings. */
  setHostScheduler(alias: string, scheduler: string | null): void {
    const r = this.write("set a host's scheduler in", () => this.db.prepare(`UPDATE ${this.hostsTable} SET scheduler = ? WHERE alias = ?`).run(scheduler, alias));
    if (r.changes !== 1) throw new StoreError(`no saved host ${JSON.stringify(alias)} in ${this.hostsPath ?? this.path}`);
  }

  // ------------------------------------------------------------------------- sweeps

  /** Record a new sweep from a validated spec. Its parent, if any, must already be in this database. */
  createSweep(a: { id: string; spec: Spec; target: string; sourceSpec?: Spec | null }): SweepRow {
    const { spec } = a;
    const parent = spec.parent?.sweep ?? null;
    if (parent !== null && !this.q.sweep.get(parent)) {
      throw new StoreError(`parent sweep ${parent} (spec field parent.sweep) is not in ${this.path}; a zoom needs its parent's map. `
        + "Run the parent first, or remove parent from the spec.");
    }
    const { x, y } = spec.axes;
    const t = now();
    const source = a.sourceSpec && canonicalJson(a.sourceSpec) !== canonicalJson(spec) ? canonicalJson(a.sourceSpec) : null;
    this.write("record a sweep in", () => this.db.prepare(`INSERT INTO sweeps (id, name, spec, parent_id, x0, x1, y0, y1, nx, ny, cells,
      done_cells, target, status, env, seed, error, created_at, updated_at, source_spec, preview_stride)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, 'created', NULL, ?, NULL, ?, ?, ?, ?)`)
      .run(a.id, spec.name, canonicalJson(spec), parent, x.range[0], x.range[1], y.range[0], y.range[1], x.points, y.points,
        x.points * y.points, a.target, spec.model.seed, t, t, source, keptStride(x.points, y.points)));
    return this.sweep(a.id)!;
  }

  sweep(id: string): SweepRow | undefined {
    const r = this.q.sweep.get(id) as Record<string, unknown> | undefined;
    return r && rowToSweep(r);
  }

  /** Every sweep, oldest first. The API service polls this; a failure names the database and the cause. */
  sweeps(): SweepRow[] {
    try {
      return (this.db.prepare("SELECT * FROM sweeps ORDER BY created_at, id").all() as Record<string, unknown>[]).map(rowToSweep);
    } catch (e) {
      throw storeError(this.path, e, "read the sweeps of");
    }
  }

  setStatus(id: string, status: SweepStatus, error: string | null = null): void {
    this.write("update a sweep in", () => this.q.setStatus.run(status, error, now(), id));
  }

  renameSweep(id: string, name: string): void {
    this.write("rename a sweep in", () => this.db.prepare("UPDATE sweeps SET name = ?, updated_at = ? WHERE id = ?").run(name, now(), id));
  }

  tags(id: string): string[] {
    return (this.db.prepare("SELECT tag FROM ui_sweep_tags WHERE sweep_id = ? ORDER BY tag").all(id) as { tag: string }[]).map((r) => r.tag);
  }

  setTags(id: string, tags: readonly string[]): void {
    this.write("tag a sweep in", () => {
      this.db.prepare("DELETE FROM ui_sweep_tags WHERE sweep_id = ?").run(id);
      const put = this.db.prepare("INSERT OR IGNORE INTO ui_sweep_tags (sweep_id, tag) VALUES (?, ?)");
      for (const t of tags) put.run(id, t);
      this.db.prepare("UPDATE sweeps SET updated_at = ? WHERE id = ?").run(now(), id);
    });
  }

  /** Delete sweeps with everything recorded for them (children must come before their parents). */
  deleteSweeps(ids: readonly string[]): void {
    this.write("delete sweeps from", () => {
      for (const id of ids) this.db.prepare("DELETE FROM sweeps WHERE id = ?").run(id);
    });
    for (const id of ids) this.added.forget(id);
  }

  /** Forget how far a host's journal of a sweep was read (the node lost it: its seqs start again at 1). */
  resetCursor(sweepId: string, host: string): void {
    this.write("reset a cursor in", () => this.db.prepare("DELETE FROM sync_cursors WHERE sweep_id = ? AND host = ?").run(sweepId, host));
  }

  // ------------------------------------------------------------------------- probes

  setHostProbe(target: string, python: string, env: Record<string, unknown>): void {
    this.write("record a probe in", () => this.db.prepare(`INSERT INTO host_probes (target, python, env, probed_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (target) DO UPDATE SET python = excluded.python, env = excluded.env, probed_at = excluded.probed_at`)
      .run(target, python, JSON.stringify(env), now()));
  }

  hostProbe(target: string): HostProbe | undefined {
    const r = this.db.prepare("SELECT * FROM host_probes WHERE target = ?").get(target) as Record<string, string> | undefined;
    return r && { target: r.target, python: r.python, env: JSON.parse(r.env), probed_at: r.probed_at };
  }

  cursor(sweepId: string, host: string): number {
    const r = this.q.cursor.get(sweepId, host) as { last_seq: number } | undefined;
    return r?.last_seq ?? 0;
  }

  /** The epoch of the host's journal the cursor counts in (its sweep event's), or null where none was seen. */
  cursorEpoch(sweepId: string, host: string): string | null {
    const r = this.q.cursor.get(sweepId, host) as { epoch: string | null } | undefined;
    return r?.epoch ?? null;
  }

  // ------------------------------------------------------------------------- ingest

  /**
   * Apply journal events received from `host` in one transaction: events at or below the stored cursor
   * are skipped, cells already done are not rewritten, and the cursor moves to the last seq applied.
   */
  ingest(sweepId: string, host: string, events: readonly JournalEvent[]): IngestResult {
    const { res, sweep, fresh } = this.write("store results in", () => {
      const sweep = this.sweep(sweepId);
      if (!sweep) throw new StoreError(`unknown sweep ${sweepId} in ${this.path}`);
      let cursor = this.cursor(sweepId, host);
      const res: IngestResult = { applied: 0, skipped: 0, newCells: 0, doneCells: sweep.done_cells, lastSeq: cursor };
      const fresh: number[] = []; // the cells this ingest adds, for the delta log once it has committed
      const blocks = new Map<string, BlockBuf>();
      const dones = new Map<number, DoneBuf>();
      let status: { status: SweepStatus; error: string | null } | null = null;
      let epoch: string | null = null;
      for (const ev of events) {
        if (ev.seq <= cursor) { res.skipped++; continue; }
        if (ev.sweep !== sweepId) throw new StoreError(`event seq ${ev.seq} is for sweep ${ev.sweep}, not ${sweepId}`);
        if (ev.type === "sweep") {
          this.q.setEnv.run(JSON.stringify(ev.env ?? null), now(), sweepId);
          if (typeof ev.epoch === "string") epoch = ev.epoch;
          if (!TERMINAL.includes(sweep.status)) status = { status: "running", error: null };
        } else if (ev.type === "resume") {
          status = { status: "running", error: null };
        } else if (ev.type === "base") {
          this.q.setBase.run(JSON.stringify(ev.metrics), now(), sweepId);
        } else if (ev.type === "tile") {
          res.newCells += this.applyTile(sweep, decodeTile(ev), blocks, dones, fresh);
          if (status === null || TERMINAL.includes(status.status)) status = { status: "running", error: null };
        } else if (ev.type === "done") {
          status = { status: ev.status, error: ev.error ?? null };
        } else {
          throw new StoreError(`event seq ${(ev as { seq: number }).seq}: unknown type ${JSON.stringify((ev as { type: string }).type)}`);
        }
        cursor = ev.seq;
        res.applied++;
      }
      this.flush(sweep, blocks, dones);
      if (res.newCells) this.q.addDone.run(res.newCells, now(), sweepId);
      if (status) this.setStatus(sweepId, status.status, status.error);
      if (res.applied) this.q.putCursor.run(sweepId, host, cursor, epoch, now());
      res.doneCells += res.newCells;
      res.lastSeq = cursor;
      return { res, sweep, fresh };
    });
    this.added.record(sweepId, sweep.created_at, sweep.done_cells, fresh);
    return res;
  }

  /**
   * The cells that became done since the sweep had `from` done cells (its done count at a reader's last look), from
   * the delta log: null where this process did not ingest them all (another process wrote), and the reader diffs.
   */
  cellsAddedSince(sweepId: string, from: number): Uint32Array | null {
    const s = this.sweep(sweepId);
    return s ? this.added.since(sweepId, s.created_at, from, s.done_cells) : null;
  }

  private doneBuf(sweepId: string, block: number, dones: Map<number, DoneBuf>): DoneBuf {
    let d = dones.get(block);
    if (!d) {
      const r = this.q.done.get(sweepId, block) as { bits: Buffer; count: number } | undefined;
      d = r ? { bits: new Uint8Array(r.bits), count: r.count, dirty: false, exists: true }
        : { bits: new Uint8Array(BLOCK_CELLS / 8), count: 0, dirty: false, exists: false };
      dones.set(block, d);
    }
    return d;
  }

  private blockBuf(sweep: SweepRow, field: string, sent: Numeric, block: number, blocks: Map<string, BlockBuf>): BlockBuf {
    const key = `${field}\u0000${block}`;
    let b = blocks.get(key);
    if (!b) {
      const r = this.q.block.get(sweep.id, field, block) as { dtype: BlockDtype; data: Buffer } | undefined;
      const n = blockLength(sweep.cells, block);
      if (r) {
        b = { dtype: r.dtype, values: decodeBlock(r.data, r.dtype, n), dirty: false, exists: true };
      } else {
        const dtype = storedDtype(sent, sweep.cells);
        b = { dtype, values: emptyBlock(dtype, n), dirty: false, exists: false };
      }
      blocks.set(key, b);
    }
    return b;
  }

  /** Write the tile's not-yet-done cells into their blocks, appending them to `added`; returns how many were new. */
  private applyTile(sweep: SweepRow, tile: DecodedTile, blocks: Map<string, BlockBuf>, dones: Map<number, DoneBuf>, added: number[]): number {
    const fresh: number[] = []; // positions in the tile of cells recorded for the first time
    for (let k = 0; k < tile.count; k++) {
      const cell = tile.cells[k];
      if (!(Number.isInteger(cell) && cell >= 0 && cell < sweep.cells)) {
        throw new StoreError(`sweep ${sweep.id}: tile cell index ${cell} is outside 0..${sweep.cells - 1}`);
      }
      const d = this.doneBuf(sweep.id, Math.floor(cell / BLOCK_CELLS), dones);
      const off = cell % BLOCK_CELLS;
      const bit = 1 << (off & 7);
      if (d.bits[off >> 3] & bit) continue;
      d.bits[off >> 3] |= bit;
      d.count++;
      d.dirty = true;
      fresh.push(k);
      added.push(cell);
    }
    if (!fresh.length) return 0;
    for (const [field, values] of Object.entries(tile.fields)) {
      let b: BlockBuf | null = null, bIndex = -1;
      for (const k of fresh) {
        const cell = tile.cells[k];
        const block = Math.floor(cell / BLOCK_CELLS);
        if (block !== bIndex) { b = this.blockBuf(sweep, field, values, block, blocks); bIndex = block; }
        b!.values[cell - block * BLOCK_CELLS] = values[k];
        b!.dirty = true;
      }
    }
    if (tile.curves) {
      const { points: P, step, loss, gradNorm } = tile.curves;
      const stepBytes = Buffer.from(step.buffer, step.byteOffset, step.byteLength);
      for (const k of fresh) {
        this.q.putCurve.run(sweep.id, tile.cells[k], stepBytes,
          Buffer.from(loss.buffer, loss.byteOffset + k * P * 4, P * 4),
          Buffer.from(gradNorm.buffer, gradNorm.byteOffset + k * P * 4, P * 4));
      }
    }
    return fresh.length;
  }

  private flush(sweep: SweepRow, blocks: Map<string, BlockBuf>, dones: Map<number, DoneBuf>): void {
    const preview = sweep.preview_stride === null ? null : new PreviewWriter(this.db, previewGrid(sweep, sweep.preview_stride));
    for (const [key, b] of blocks) {
      if (!b.dirty) continue;
      const [field, block] = key.split("\u0000");
      if (b.values instanceof Float32Array && roundsFloats(sweep.cells)) roundFloat32(b.values);
      this.q.putBlock.run(sweep.id, field, Number(block), b.dtype, encodeBlock(b.values, b.dtype));
      preview?.put(field, b.dtype, Number(block) * BLOCK_CELLS, b.values);
    }
    for (const [block, d] of dones) {
      if (!d.dirty) continue;
      this.q.putDone.run(sweep.id, block, Buffer.from(d.bits), d.count);
      preview?.putDone(block * BLOCK_CELLS, blockLength(sweep.cells, block), d.bits);
    }
    preview?.flush();
  }

  // ------------------------------------------------------------------------- kept previews (preview.ts)

  /**
   * The sweep's kept preview of `field` (null: done flags only), or undefined when the map is small enough to read
   * whole. A sweep recorded before previews were kept (migration 6) has its preview built here, once.
   */
  preview(sweepId: string, field: string | null): Preview | undefined {
    let sweep = this.mustSweep(sweepId);
    const stride = keptStride(sweep.nx, sweep.ny);
    if (stride === null) return undefined;
    if (sweep.preview_stride === null) {
      if (this.db.readonly) return undefined; // nowhere to keep it: the caller reads the blocks
      this.write("keep a preview in", () => this.buildPreview(this.mustSweep(sweepId), stride));
      sweep = this.mustSweep(sweepId);
    }
    return readPreview(this.db, previewGrid(sweep, sweep.preview_stride!), field);
  }

  /** (Re)build a sweep's preview from its blocks, inside a write transaction. */
  private buildPreview(sweep: SweepRow, stride: number): void {
    this.db.prepare("DELETE FROM preview_blocks WHERE sweep_id = ?").run(sweep.id);
    this.db.prepare("DELETE FROM preview_done WHERE sweep_id = ?").run(sweep.id);
    const grid = previewGrid(sweep, stride);
    const w = new PreviewWriter(this.db, grid);
    // Only the blocks a strided row crosses are decoded (a quarter of a 4096^2 map's).
    const touches = (block: number) => hasCoarseCells(grid, block * BLOCK_CELLS, blockLength(sweep.cells, block));
    for (const r of this.db.prepare("SELECT block, bits FROM done_blocks WHERE sweep_id = ?").iterate(sweep.id) as Iterable<{ block: number; bits: Buffer }>) {
      if (touches(r.block)) w.putDone(r.block * BLOCK_CELLS, blockLength(sweep.cells, r.block), r.bits);
    }
    for (const r of this.db.prepare("SELECT field, block, dtype, data FROM result_blocks WHERE sweep_id = ?").iterate(sweep.id) as
      Iterable<{ field: string; block: number; dtype: BlockDtype; data: Buffer }>) {
      if (touches(r.block)) w.put(r.field, r.dtype, r.block * BLOCK_CELLS, decodeBlock(r.data, r.dtype, blockLength(sweep.cells, r.block)));
    }
    w.flush();
    this.db.prepare("UPDATE sweeps SET preview_stride = ? WHERE id = ?").run(stride, sweep.id);
  }

  // ------------------------------------------------------------------------- reading results

  /** Fields recorded for a sweep, with their stored dtypes. */
  fields(sweepId: string): Record<string, BlockDtype> {
    const rows = this.db.prepare("SELECT DISTINCT field, dtype FROM result_blocks WHERE sweep_id = ?").all(sweepId) as
      { field: string; dtype: BlockDtype }[];
    return Object.fromEntries(rows.map((r) => [r.field, r.dtype]));
  }

  /** Done flags, one byte per cell (1 where the cell has a result). */
  loadDone(sweepId: string): Uint8Array {
    const sweep = this.mustSweep(sweepId);
    // Rounded up to whole bytes of bits so every 8 cells expand with two 32-bit writes.
    const padded = new Uint8Array(Math.ceil(sweep.cells / 8) * 8);
    const words = new Uint32Array(padded.buffer);
    for (const r of this.db.prepare("SELECT block, bits FROM done_blocks WHERE sweep_id = ?").iterate(sweepId) as
      Iterable<{ block: number; bits: Buffer }>) {
      const base = (r.block * BLOCK_CELLS) >> 2;
      const bytes = Math.ceil(blockLength(sweep.cells, r.block) / 8);
      for (let b = 0; b < bytes; b++) {
        const v = r.bits[b];
        if (v === 0) continue;
        words[base + 2 * b] = BITS_LO[v];
        words[base + 2 * b + 1] = BITS_HI[v];
      }
    }
    return padded.subarray(0, sweep.cells);
  }

  /** Blocks `blocks` of a field, decoded (a block never written is absent): each read by its key alone, so one cell
   *  (the hover read-out) or a few rows (a preview) decode only the blocks that hold them, not whole fields. */
  fieldBlocks(sweepId: string, field: string, blocks: Iterable<number>): Map<number, Numeric> {
    const cells = this.mustSweep(sweepId).cells;
    const out = new Map<number, Numeric>();
    for (const b of blocks) {
      const r = this.q.block.get(sweepId, field, b) as { dtype: BlockDtype; data: Buffer } | undefined;
      if (r) out.set(b, decodeBlock(r.data, r.dtype, blockLength(cells, b)));
    }
    return out;
  }

  /** Done bits of blocks `blocks` (bit (cell % 8) of byte (cell % BLOCK_CELLS) >> 3); a block with none is absent. */
  doneBits(sweepId: string, blocks: Iterable<number>): Map<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    for (const b of blocks) {
      const r = this.q.done.get(sweepId, b) as { bits: Buffer } | undefined;
      if (r) out.set(b, new Uint8Array(r.bits));
    }
    return out;
  }

  /** Done cells per block (block -> count), one small query: which blocks changed since a look, without their bits. */
  doneCounts(sweepId: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const r of this.db.prepare("SELECT block, count FROM done_blocks WHERE sweep_id = ?").iterate(sweepId) as Iterable<{ block: number; count: number }>) {
      out.set(r.block, r.count);
    }
    return out;
  }

  /**
   * One field over the whole map, in its stored dtype (cells without a result hold NaN / 0; see loadDone).
   * Throws if the sweep never recorded the field.
   */
  loadField(sweepId: string, field: string): Numeric {
    const sweep = this.mustSweep(sweepId);
    const dtype = this.fields(sweepId)[field];
    if (!dtype) {
      throw new StoreError(`sweep ${sweepId} has no field ${JSON.stringify(field)}; it has: ${Object.keys(this.fields(sweepId)).join(", ") || "no results yet"}`);
    }
    const out = emptyBlock(dtype, sweep.cells);
    for (const r of this.db.prepare("SELECT block, data FROM result_blocks WHERE sweep_id = ? AND field = ?").iterate(sweepId, field) as
      Iterable<{ block: number; data: Buffer }>) {
      decodeBlock(r.data, dtype, blockLength(sweep.cells, r.block), out, r.block * BLOCK_CELLS);
    }
    return out;
  }

  /**
   * Keep float64 fields of a completed sweep as float32 rounded to FLOAT32_KEEP_BITS mantissa bits, the precision of
   * maps above LARGE_MAP_CELLS (codec.ts), to make a file that ships smaller: the demo's colouring scores are noise in
   * their low bits and take most of its bytes. Only once the sweep is completed, so no later result mixes dtypes.
   * Returns the number of blocks re-encoded.
   */
  roundFloats(sweepId: string, fields: readonly string[]): number {
    return this.write("round the floats of", () => {
      const sweep = this.mustSweep(sweepId);
      if (sweep.status !== "completed") throw new StoreError(`sweep ${sweepId} is ${sweep.status}; round its floats once it has completed`);
      const have = this.fields(sweepId);
      let n = 0;
      for (const field of fields) {
        if (!(field in have)) throw new StoreError(`sweep ${sweepId} has no field ${JSON.stringify(field)} to round`);
        if (have[field] !== "f8") continue; // already float32 (or not a float)
        const rows = this.db.prepare("SELECT block, data FROM result_blocks WHERE sweep_id = ? AND field = ?").all(sweepId, field) as
          { block: number; data: Buffer }[];
        for (const r of rows) {
          const values = Float32Array.from(decodeBlock(r.data, "f8", blockLength(sweep.cells, r.block)));
          roundFloat32(values);
          this.q.putBlock.run(sweepId, field, r.block, "f4", encodeBlock(values, "f4"));
          n++;
        }
      }
      if (n && sweep.preview_stride !== null) this.buildPreview(sweep, sweep.preview_stride);
      return n;
    });
  }

  /** Per-cell curves (loss and grad norm at the recorded steps), or undefined where none were recorded. */
  curve(sweepId: string, cell: number): { step: Int32Array; loss: Float32Array; gradNorm: Float32Array } | undefined {
    const r = this.db.prepare("SELECT step, loss, grad_norm FROM curves WHERE sweep_id = ? AND cell = ?").get(sweepId, cell) as
      { step: Buffer; loss: Buffer; grad_norm: Buffer } | undefined;
    if (!r) return undefined;
    const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    return { step: new Int32Array(r.step.buffer.slice(r.step.byteOffset, r.step.byteOffset + r.step.length)), loss: f32(r.loss), gradNorm: f32(r.grad_norm) };
  }

  // ------------------------------------------------------------------------- samples

  /** Keep the agent's samples result for one request (canonical JSON) of one cell; a repeat replaces it. Returns
   *  the time recorded with it. */
  putSamples(sweepId: string, cell: number, request: string, result: unknown): string {
    this.mustSweep(sweepId);
    const at = now();
    this.write("keep samples in", () => this.db.prepare(`INSERT OR REPLACE INTO cell_samples (sweep_id, cell, request, result, created_at)
      VALUES (?, ?, ?, ?, ?)`).run(sweepId, cell, request, JSON.stringify(result), at));
    return at;
  }

  /** The stored samples of a cell, newest first: the request (canonical JSON), the agent's result, when. */
  samples(sweepId: string, cell: number, request?: string): { request: string; result: unknown; created_at: string }[] {
    const rows = (request === undefined
      ? this.db.prepare("SELECT request, result, created_at FROM cell_samples WHERE sweep_id = ? AND cell = ? ORDER BY created_at DESC, rowid DESC").all(sweepId, cell)
      : this.db.prepare("SELECT request, result, created_at FROM cell_samples WHERE sweep_id = ? AND cell = ? AND request = ?").all(sweepId, cell, request)
    ) as { request: string; result: string; created_at: string }[];
    return rows.map((r) => ({ request: r.request, result: JSON.parse(r.result), created_at: r.created_at }));
  }

  private mustSweep(id: string): SweepRow {
    const s = this.sweep(id);
    if (!s) throw new StoreError(`unknown sweep ${id} in ${this.path}; \`fractal-llm sweeps\` lists the sweeps it holds`);
    return s;
  }
}

/** Tables an import copies, parents first (foreign keys): a sweep, its results, curves, tags and kept samples. */
const IMPORT_TABLES = ["sweeps", "result_blocks", "done_blocks", "preview_blocks", "preview_done", "curves", "ui_sweep_tags", "cell_samples"];

function rowToSweep(r: Record<string, unknown>): SweepRow {
  return {
    id: r.id as string, name: r.name as string, spec: JSON.parse(r.spec as string), parent_id: r.parent_id as string | null,
    window: { x0: r.x0 as number, x1: r.x1 as number, y0: r.y0 as number, y1: r.y1 as number },
    nx: r.nx as number, ny: r.ny as number, cells: r.cells as number, done_cells: r.done_cells as number,
    target: r.target as string, status: r.status as SweepStatus, env: r.env === null ? null : JSON.parse(r.env as string),
    seed: r.seed as number, error: r.error as string | null, created_at: r.created_at as string, updated_at: r.updated_at as string,
    base: r.base === null || r.base === undefined ? null : JSON.parse(r.base as string),
    source_spec: r.source_spec === null || r.source_spec === undefined ? null : JSON.parse(r.source_spec as string),
    preview_stride: (r.preview_stride as number | null | undefined) ?? null,
  };
}

/** Byte v of a done bitmap (LSB first) as eight 0/1 bytes, in two little-endian 32-bit words. */
const BITS_LO = Uint32Array.from({ length: 256 }, (_, v) => (v & 1) | ((v >> 1) & 1) << 8 | ((v >> 2) & 1) << 16 | ((v >> 3) & 1) << 24);
const BITS_HI = Uint32Array.from({ length: 256 }, (_, v) => ((v >> 4) & 1) | ((v >> 5) & 1) << 8 | ((v >> 6) & 1) << 16 | ((v >> 7) & 1) << 24);

function previewGrid(s: SweepRow, stride: number): PreviewGrid {
  return { id: s.id, nx: s.nx, ny: s.ny, stride };
}

function blockLength(cells: number, block: number): number {
  return Math.min(BLOCK_CELLS, cells - block * BLOCK_CELLS);
}

