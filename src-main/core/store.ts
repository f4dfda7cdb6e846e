// The local SQLite store (better-sqlite3): hosts, sweeps, their results and sync cursors. Every read and write of
// its tables is a Store method: opening the file and its locks live in sqlite-file.ts, the per-cell result blocks
// in result-blocks.ts, and this file holds the sweeps, hosts, cursors and the ingest of journal events.
//
// Ingest is idempotent twice over: events at or below the sweep's cursor (sync_cursors.last_seq) are skipped,
// and a cell whose done bit is set is never written again (the first record counts, as in the journal).

import type Database from "better-sqlite3";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import type { BlockDtype } from "./codec";
import { type Window } from "../../src-shared/grid";
import { IngestLog } from "./ingest-log";
import { keptStride, type Preview } from "./preview";
import { type Curve, ResultBlocks } from "./result-blocks";
import { DEFAULT_LOCK_WAIT_MS, openDatabase, retryBusy, StoreError, type StoreOptions, storeError } from "./sqlite-file";
import { canonicalJson, type Spec } from "../../src-shared/spec";
import { type Numeric, type TileEvent, decodeTile } from "./tiles";
import type { BaseMetrics, SweepStatus } from "../../src-shared/contract";

export { BLOCK_CELLS } from "./result-blocks";
export { countSweeps, INTERACTIVE_STORE, SCHEMA_VERSION, StoreBusyError, StoreError, type StoreOptions, storeError } from "./sqlite-file";

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

/** A named view of a sweep (migration 8). */
export interface BookmarkRow { id: number; sweep_id: string; name: string; cx: number; cy: number; sx: number; sy: number; created_at: string }

/** What the last connection to a target found: the interpreter that runs the agent and its `env`. */
export interface HostProbe { target: string; python: string; env: Record<string, unknown>; probed_at: string }

/** A journal event as the agent sends it (ARCHITECTURE.md "Journal events"). */
export type JournalEvent =
  | { seq: number; type: "sweep"; sweep: string; spec: unknown; env: unknown; cells: number; epoch?: string | null }
  | { seq: number; type: "resume"; sweep: string; [k: string]: unknown }
  | { seq: number; type: "base"; sweep: string; metrics: BaseMetrics }
  | TileEvent
  | { seq: number; type: "done"; sweep: string; status: "completed" | "cancelled" | "failed"; error: string | null };

export interface IngestResult { applied: number; skipped: number; newCells: number; doneCells: number; lastSeq: number }

const now = () => new Date().toISOString();

/**
 * Open (creating and migrating as needed) the database at `path` (sqlite-file.ts openDatabase: a newer database is
 * refused untouched, and every error names the file and what would fix it).
 */
export function openStore(path: string, opts: StoreOptions = {}): Store {
  const db = openDatabase(path, opts);
  try {
    return new Store(db, path, opts.writeLockWaitMs ?? opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, opts.hostsPath ?? null);
  } catch (e) {
    db.close();
    throw storeError(path, e, "open");
  }
}

export class Store {
  readonly db: Database.Database;
  readonly path: string;
  private readonly q;
  private readonly results: ResultBlocks;
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
      cursor: db.prepare("SELECT last_seq, epoch FROM sync_cursors WHERE sweep_id = ? AND host = ?"),
      putCursor: db.prepare(`INSERT INTO sync_cursors (sweep_id, host, last_seq, epoch, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (sweep_id, host) DO UPDATE SET last_seq = excluded.last_seq, epoch = COALESCE(excluded.epoch, epoch),
        updated_at = excluded.updated_at`),
      addDone: db.prepare("UPDATE sweeps SET done_cells = done_cells + ?, updated_at = ? WHERE id = ?"),
      setStatus: db.prepare("UPDATE sweeps SET status = ?, error = ?, updated_at = ? WHERE id = ?"),
      setEnv: db.prepare("UPDATE sweeps SET env = ?, updated_at = ? WHERE id = ?"),
      setBase: db.prepare("UPDATE sweeps SET base = ?, updated_at = ? WHERE id = ?"),
    };
    this.results = new ResultBlocks(db);
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

  /** Forget a saved host (its sweeps keep their target's name and results). */
  removeHost(alias: string): void {
    const r = this.write("remove a host from", () => this.db.prepare(`DELETE FROM ${this.hostsTable} WHERE alias = ?`).run(alias));
    if (r.changes !== 1) throw new StoreError(`no saved host ${JSON.stringify(alias)} in ${this.hostsPath ?? this.path}`);
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

  /** When this database last stored events of a sweep (any host), or null: a completed sweep's end of run. Renames
   *  and tags do not move it, as they move updated_at. */
  lastIngestAt(sweepId: string): string | null {
    const r = this.db.prepare("SELECT MAX(updated_at) AS at FROM sync_cursors WHERE sweep_id = ?").get(sweepId) as { at: string | null };
    return r.at;
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
      const batch = this.results.batch(sweep);
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
          res.newCells += batch.applyTile(decodeTile(ev), fresh);
          if (status === null || TERMINAL.includes(status.status)) status = { status: "running", error: null };
        } else if (ev.type === "done") {
          status = { status: ev.status, error: ev.error ?? null };
        } else {
          throw new StoreError(`event seq ${(ev as { seq: number }).seq}: unknown type ${JSON.stringify((ev as { type: string }).type)}`);
        }
        cursor = ev.seq;
        res.applied++;
      }
      batch.flush();
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
      this.write("keep a preview in", () => this.results.buildPreview(this.mustSweep(sweepId), stride));
      sweep = this.mustSweep(sweepId);
    }
    return this.results.readPreview(sweep, field);
  }

  // ------------------------------------------------------------------------- reading results (result-blocks.ts)

  /** Fields recorded for a sweep, with their stored dtypes. */
  fields(sweepId: string): Record<string, BlockDtype> {
    return this.results.fields(sweepId);
  }

  /** Done flags, one byte per cell (1 where the cell has a result). */
  loadDone(sweepId: string): Uint8Array {
    return this.results.loadDone(this.mustSweep(sweepId));
  }

  /** Blocks `blocks` of a field, decoded (a block never written is absent): each read by its key alone, so one cell
   *  (the hover read-out) or a few rows (a preview) decode only the blocks that hold them, not whole fields. */
  fieldBlocks(sweepId: string, field: string, blocks: Iterable<number>): Map<number, Numeric> {
    return this.results.fieldBlocks(this.mustSweep(sweepId), field, blocks);
  }

  /** Done bits of blocks `blocks` (bit (cell % 8) of byte (cell % BLOCK_CELLS) >> 3); a block with none is absent. */
  doneBits(sweepId: string, blocks: Iterable<number>): Map<number, Uint8Array> {
    return this.results.doneBits(sweepId, blocks);
  }

  /** Done cells per block (block -> count), one small query: which blocks changed since a look, without their bits. */
  doneCounts(sweepId: string): Map<number, number> {
    return this.results.doneCounts(sweepId);
  }

  /**
   * One field over the whole map, in its stored dtype (cells without a result hold NaN / 0; see loadDone).
   * Throws if the sweep never recorded the field.
   */
  loadField(sweepId: string, field: string): Numeric {
    return this.results.loadField(this.mustSweep(sweepId), field);
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
      return this.results.roundFloats(sweep, fields);
    });
  }

  /** Per-cell curves (loss and grad norm at the recorded steps), or undefined where none were recorded. */
  curve(sweepId: string, cell: number): Curve | undefined {
    return this.results.curve(sweepId, cell);
  }

  // ------------------------------------------------------------------------- bookmarks

  /** Keep a named view of a sweep; returns it with its id. */
  addBookmark(b: { sweepId: string; name: string; view: { cx: number; cy: number; sx: number; sy: number } }): BookmarkRow {
    this.mustSweep(b.sweepId);
    const at = now();
    const id = this.write("keep a bookmark in", () => Number(this.db.prepare(`INSERT INTO ui_bookmarks (sweep_id, name, cx, cy, sx, sy, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(b.sweepId, b.name, b.view.cx, b.view.cy, b.view.sx, b.view.sy, at).lastInsertRowid));
    return { id, sweep_id: b.sweepId, name: b.name, cx: b.view.cx, cy: b.view.cy, sx: b.view.sx, sy: b.view.sy, created_at: at };
  }

  /** Every bookmark, oldest first. */
  bookmarks(): BookmarkRow[] {
    return this.db.prepare("SELECT * FROM ui_bookmarks ORDER BY created_at, id").all() as BookmarkRow[];
  }

  deleteBookmark(id: number): void {
    const r = this.write("delete a bookmark from", () => this.db.prepare("DELETE FROM ui_bookmarks WHERE id = ?").run(id));
    if (r.changes !== 1) throw new StoreError(`no bookmark ${id} in ${this.path}`);
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
const IMPORT_TABLES = ["sweeps", "result_blocks", "done_blocks", "preview_blocks", "preview_done", "curves", "ui_sweep_tags", "cell_samples",
  "ui_bookmarks"];

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
