// Which cells of a sweep became done since the UI last looked (contract.ts getLayerDelta), so a streaming
// update carries only those cells and the renderer re-uploads only the texels they touch. The store keeps no
// per-cell history, so the service keeps one per sweep: the done flags as last seen, and a short log of the
// cells that turned done at each version.

import type { RankReference } from "./layers";

/** Versions older than this many cells back are dropped; a client that far behind gets the full layer. */
const KEEP_CELLS = 1 << 22;

export class DeltaLog {
  version = 0;
  /** The score layer's ranking at its last full build, to place new cells into (layers.ts rankAgainst). */
  rank: RankReference | null = null;
  private readonly done: Uint8Array;
  private entries: { version: number; cells: Uint32Array }[] = [];
  private kept = 0;

  constructor(done: Uint8Array) {
    this.done = done.slice();
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
