// Which cells of a sweep became done since the UI last looked (contract.ts getLayerDelta), so a streaming
// update carries only those cells and the renderer re-uploads only the texels they touch. The service keeps one
// log per sweep: the done flags as last seen, and a short list of the cells that turned done at each version it
// handed out. The new cells come from the store's delta log (Store.cellsAddedSince, what this process's ingests
// added); where another process wrote them, from the done bits of the store blocks whose done count changed.

import { BLOCK_CELLS, type Store } from "../core/store";
import { changedDoneBlocks } from "./cells";
import type { RankReference } from "./layers";

/** Versions older than this many cells back are dropped; a client that far behind gets the full layer. */
const KEEP_CELLS = 1 << 22;

export class DeltaLog {
  version = 0;
  /** The score layer's ranking at its last full build, to place new cells into (layers.ts rankAgainst). */
  rank: RankReference | null = null;
  /** How many cells `done` holds: the sweep's done count at `version`, where the store's delta log carries on. */
  doneCells = 0;
  private readonly done: Uint8Array;
  private entries: { version: number; cells: Uint32Array }[] = [];
  private kept = 0;

  constructor(done: Uint8Array) {
    this.done = done.slice();
    for (let i = 0; i < done.length; i++) this.doneCells += done[i];
  }

  /** Record `cells` (the store's delta log, ascending) that were not done at the last look; returns the version now. */
  add(cells: Uint32Array): number {
    const fresh: number[] = [];
    for (const c of cells) if (!this.done[c]) fresh.push(c);
    return this.record(fresh.sort((x, y) => x - y));
  }

  /** Record the cells done in `done` that were not at the last look; returns the version now. */
  advance(done: Uint8Array): number {
    if (done.length !== this.done.length) throw new Error(`done flags of ${done.length} cells, expected ${this.done.length}`);
    const fresh: number[] = [];
    for (let i = 0; i < done.length; i++) if (done[i] && !this.done[i]) fresh.push(i);
    return this.record(fresh);
  }

  /**
   * Like advance, from the done bits of only the store blocks that changed (cells.ts changedDoneBlocks): a
   * streaming update of a 4096^2 map then reads a few blocks instead of all 16M flags.
   */
  advanceBlocks(blocks: Map<number, Uint8Array>, blockCells: number): number {
    const fresh: number[] = [];
    for (const [b, bits] of blocks) {
      const base = b * blockCells, end = Math.min(this.done.length, base + blockCells);
      for (let c = base; c < end; c++) {
        const off = c - base;
        if (!this.done[c] && (bits[off >> 3] >> (off & 7)) & 1) fresh.push(c);
      }
    }
    return this.record(fresh.sort((x, y) => x - y));
  }

  /** Mark `fresh` cells (ascending) done as one new version, keeping at most KEEP_CELLS cells of history. */
  private record(fresh: number[]): number {
    if (!fresh.length) return this.version;
    for (const c of fresh) this.done[c] = 1;
    this.doneCells += fresh.length;
    this.version++;
    this.entries.push({ version: this.version, cells: Uint32Array.from(fresh) });
    this.kept += fresh.length;
    while (this.kept > KEEP_CELLS && this.entries.length > 1) this.kept -= this.entries.shift()!.cells.length;
    return this.version;
  }

  /** The cells done after version `since`, or null when that version is unknown or no longer kept. */
  since(since: number): Uint32Array | null {
    if (!Number.isInteger(since) || since < 0 || since > this.version) return null;
    const later = this.entries.filter((e) => e.version > since);
    if (since < this.version && later[0].version !== since + 1) return null;
    const out = new Uint32Array(later.reduce((n, e) => n + e.cells.length, 0));
    let k = 0;
    for (const e of later) { out.set(e.cells, k); k += e.cells.length; }
    return out;
  }
}

/** The delta logs of every sweep the service streams, kept up from the store. */
export class DeltaLogs {
  private readonly logs = new Map<string, DeltaLog>();
  /** Per sweep: done count per store block, as the log last saw them (for the diff when the store's log has a gap). */
  private readonly counts = new Map<string, Map<number, number>>();

  constructor(private readonly store: Store) {}

  get(id: string): DeltaLog | undefined {
    return this.logs.get(id);
  }

  forget(id: string): void {
    this.logs.delete(id);
    this.counts.delete(id);
  }

  /** The sweep's log brought up to `done` (a full layer's flags, just loaded). */
  atFull(id: string, done: Uint8Array): DeltaLog {
    this.counts.set(id, this.store.doneCounts(id));
    const log = this.logs.get(id);
    if (!log) {
      const fresh = new DeltaLog(done);
      this.logs.set(id, fresh);
      return fresh;
    }
    log.advance(done);
    return log;
  }

  /**
   * The sweep's log brought up to the store now. Streaming reads no done flags where it can: the store's delta log
   * names the new cells; else only the blocks whose done count changed are read (a 10k-cell update of a 4096^2 map
   * reads a few blocks, not 16M flags); a sweep never loaded whole is loaded once.
   */
  current(id: string): DeltaLog {
    const log = this.logs.get(id), counts = this.counts.get(id);
    if (!log || !counts) return this.atFull(id, this.store.loadDone(id));
    const added = this.store.cellsAddedSince(id, log.doneCells);
    if (added) log.add(added);
    else log.advanceBlocks(changedDoneBlocks(this.store, id, counts), BLOCK_CELLS);
    return log;
  }
}
