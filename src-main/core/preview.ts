// Kept previews: a map wider than PREVIEW_SIDE cells keeps, beside its blocks, a strided copy of every field and of
// its done flags: cell (i, j) of the coarse grid is the map's cell (i*stride, j*stride). Ingest writes it as it
// writes the blocks (store.ts flush), so the explorer's first frame of a 4096^2 map decodes 16 small rows a field
// instead of a quarter of the map's 1024 blocks (docs/BENCHMARKS.md, issue 14).
//
// The coarse grid is cut into blocks of PREVIEW_BLOCK consecutive coarse cells (16 rows of a 256-wide grid): a tile
// touches one or two of them, so keeping the copy costs a few small re-encodes per ingest.

import type Database from "better-sqlite3";
import { PREVIEW_SIDE } from "../../src-shared/api";
import { type BlockDtype, decodeBlock, emptyBlock, encodeBlock } from "./codec";
import type { Numeric } from "./tiles";

export { PREVIEW_SIDE }; // maps wider than this a side (either axis) keep a preview of at most this many cells a side
export const PREVIEW_BLOCK = 4096;

/** The stride for a preview of at most maxSide cells a side: the smallest power of two that gets there. */
export function previewStride(nx: number, ny: number, maxSide: number): number {
  let s = 1;
  while (Math.ceil(nx / s) > maxSide || Math.ceil(ny / s) > maxSide) s *= 2;
  return s;
}

/** The stride a map of nx x ny keeps its preview at, or null when it is small enough to read whole. */
export function keptStride(nx: number, ny: number): number | null {
  const s = previewStride(nx, ny, PREVIEW_SIDE);
  return s > 1 ? s : null;
}

/** The geometry a sweep's preview needs: its grid and the stride it keeps. */
export interface PreviewGrid { id: string; nx: number; ny: number; stride: number }

/** A preview read back: the coarse grid (cx x cy, row-major), its values (NaN where a block was never written) and
 *  done flags. */
export interface Preview { stride: number; cx: number; cy: number; values: Float64Array; done: Uint8Array }

/**
 * Calls fn(coarse cell, offset in the block) for every coarse cell whose map cell lies in the map's cells
 * [first, first + n): the strided rows that cross that range, every stride-th cell of each.
 */
export function forCoarseCells(g: PreviewGrid, first: number, n: number, fn: (coarse: number, offset: number) => void): void {
  const cx = Math.ceil(g.nx / g.stride);
  const last = first + n - 1;
  for (let row = firstStridedRow(g, first); row <= Math.floor(last / g.nx); row += g.stride) {
    const j = row / g.stride;
    for (let i = 0; i < cx; i++) {
      const cell = row * g.nx + i * g.stride;
      if (cell >= first && cell <= last) fn(j * cx + i, cell - first);
    }
  }
}

/** Whether a strided row crosses the map's cells [first, first + n). */
export function hasCoarseCells(g: PreviewGrid, first: number, n: number): boolean {
  return firstStridedRow(g, first) <= Math.floor((first + n - 1) / g.nx);
}

/** The first strided row (a multiple of the stride) at or after the row holding map cell `first`. */
function firstStridedRow(g: PreviewGrid, first: number): number {
  return Math.ceil(Math.floor(first / g.nx) / g.stride) * g.stride;
}

interface Buf { dtype: BlockDtype; values: Numeric; dirty: boolean }

/** Preview blocks being changed in one transaction; flush() writes those that changed. */
export class PreviewWriter {
  private readonly bufs = new Map<string, Buf>();
  private readonly cx: number;
  private readonly coarse: number;

  constructor(private readonly db: Database.Database, private readonly g: PreviewGrid) {
    this.cx = Math.ceil(g.nx / g.stride);
    this.coarse = this.cx * Math.ceil(g.ny / g.stride);
  }

  /** Copy the coarse cells among the map's cells first..first + values.length of `field`. */
  put(field: string, dtype: BlockDtype, first: number, values: Numeric): void {
    this.copy(field, dtype, first, values.length, (off) => values[off]);
  }

  /** Copy the done flags of the coarse cells among the map's cells first..first + n, from a done bitmap (bit
   *  (offset % 8) of byte offset >> 3, as store.ts keeps them). */
  putDone(first: number, n: number, bits: Uint8Array): void {
    this.copy(null, "u1", first, n, (off) => (bits[off >> 3] >> (off & 7)) & 1);
  }

  private copy(field: string | null, dtype: BlockDtype, first: number, n: number, value: (offset: number) => number): void {
    let buf: Buf | null = null, at = -1;
    forCoarseCells(this.g, first, n, (c, off) => {
      const block = Math.floor(c / PREVIEW_BLOCK);
      if (block !== at) { buf = this.buf(field, dtype, block); at = block; }
      buf!.values[c - block * PREVIEW_BLOCK] = value(off);
      buf!.dirty = true;
    });
  }

  private buf(field: string | null, dtype: BlockDtype, block: number): Buf {
    const key = `${field ?? ""}\u0000${block}`;
    let b = this.bufs.get(key);
    const n = Math.min(PREVIEW_BLOCK, this.coarse - block * PREVIEW_BLOCK);
    if (!b || b.dtype !== dtype) {
      const r = (field === null
        ? this.db.prepare("SELECT 'u1' AS dtype, data FROM preview_done WHERE sweep_id = ? AND block = ?").get(this.g.id, block)
        : this.db.prepare("SELECT dtype, data FROM preview_blocks WHERE sweep_id = ? AND field = ? AND block = ?").get(this.g.id, field, block)
      ) as { dtype: BlockDtype; data: Buffer } | undefined;
      // A stored block of another dtype (a field re-encoded as float32) is replaced whole by the caller (build).
      const values = r && r.dtype === dtype ? decodeBlock(r.data, dtype, n) : emptyBlock(dtype, n);
      b = { dtype, values, dirty: false };
      this.bufs.set(key, b);
    }
    return b;
  }

  flush(): void {
    const putField = this.db.prepare("INSERT OR REPLACE INTO preview_blocks (sweep_id, field, block, dtype, data) VALUES (?, ?, ?, ?, ?)");
    const putDone = this.db.prepare("INSERT OR REPLACE INTO preview_done (sweep_id, block, data) VALUES (?, ?, ?)");
    for (const [key, b] of this.bufs) {
      if (!b.dirty) continue;
      const [field, block] = key.split("\u0000");
      if (field === "") putDone.run(this.g.id, Number(block), encodeBlock(b.values, "u1"));
      else putField.run(this.g.id, field, Number(block), b.dtype, encodeBlock(b.values, b.dtype));
      b.dirty = false;
    }
  }
}

/** The kept preview of a sweep: `field`'s values (null: none, all NaN) and the done flags. */
export function readPreview(db: Database.Database, g: PreviewGrid, field: string | null): Preview {
  const cx = Math.ceil(g.nx / g.stride), cy = Math.ceil(g.ny / g.stride), coarse = cx * cy;
  const values = new Float64Array(coarse).fill(NaN), done = new Uint8Array(coarse);
  const len = (block: number) => Math.min(PREVIEW_BLOCK, coarse - block * PREVIEW_BLOCK);
  for (const r of db.prepare("SELECT block, data FROM preview_done WHERE sweep_id = ?").iterate(g.id) as Iterable<{ block: number; data: Buffer }>) {
    decodeBlock(r.data, "u1", len(r.block), done, r.block * PREVIEW_BLOCK);
  }
  if (field !== null) {
    for (const r of db.prepare("SELECT block, dtype, data FROM preview_blocks WHERE sweep_id = ? AND field = ?").iterate(g.id, field) as
      Iterable<{ block: number; dtype: BlockDtype; data: Buffer }>) {
      values.set(decodeBlock(r.data, r.dtype, len(r.block)), r.block * PREVIEW_BLOCK);
    }
  }
  return { stride: g.stride, cx, cy, values, done };
}
