// Opening a fractal-llm database file: the schema-version check that refuses a newer database untouched, the
// migrations, the user's attached host list, retries while another process holds the write lock, and errors that
// name the file and what would fix it. The Store (store.ts) is built on the handle this returns.

import Database from "better-sqlite3";
import { accessSync, closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { MIGRATIONS } from "./migrations";

export const SCHEMA_VERSION = MIGRATIONS.length;

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** Another connection held the database's write lock for longer than this store waits: nothing was written. */
export class StoreBusyError extends StoreError {}

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
export const DEFAULT_LOCK_WAIT_MS = 120_000;
const FIX_DB = "choose another database with --db or FRACTAL_LLM_DB";

/**
 * Open (creating and migrating as needed) the database at `path`, for a Store. A database written by a newer version of
 * this program is refused before anything is written to it: its schema version is read on a read-only handle.
 * Every error names the file and what would fix it (a missing or read-only directory, a file that is not a
 * database, another process holding the write lock).
 */
export function openDatabase(path: string, opts: StoreOptions = {}): Database.Database {
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
    return d;
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
export function retryBusy<T>(waitMs: number, fn: () => T): T {
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
