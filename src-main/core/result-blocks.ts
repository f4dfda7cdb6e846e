// A sweep's per-cell results in SQLite: cells are grouped into blocks of BLOCK_CELLS consecutive (row-major)
// indices, and each (sweep, field, block) row holds one compressed typed array over the block's cells (codec.ts),
// with a done-bitmap per (sweep, block) and the loss curves per cell. A 4096^2 map is 1024 blocks x a handful of
// fields, so it loads with a few thousand row reads and inflates, and tile ingest rewrites only the blocks a batch
// touches. The Store (store.ts) calls this inside its own transactions; nothing here opens one.

import type Database from "better-sqlite3";
import { type BlockDtype, decodeBlock, emptyBlock, encodeBlock, roundFloat32, roundsFloats, storedDtype } from "./codec";
import { hasCoarseCells, type Preview, type PreviewGrid, PreviewWriter, readPreview } from "./preview";
import { StoreError } from "./sqlite-file";
import type { DecodedTile, Numeric } from "./tiles";

export const BLOCK_CELLS = 1 << 14;

/** What of a sweep's row the blocks need (store.ts SweepRow has it all). */
export interface BlockSweep { id: string; cells: number; nx: number; ny: number; preview_stride: number | null }

export type Curve = { step: Int32Array; loss: Float32Array; gradNorm: Float32Array };

/** The statements run per block or per cell, prepared once per database handle. */
function statements(db: Database.Database) {
  return {
    block: db.prepare("SELECT dtype, data FROM result_blocks WHERE sweep_id = ? AND field = ? AND block = ?"),
    putBlock: db.prepare("INSERT OR REPLACE INTO result_blocks (sweep_id, field, block, dtype, data) VALUES (?, ?, ?, ?, ?)"),
    done: db.prepare("SELECT bits, count FROM done_blocks WHERE sweep_id = ? AND block = ?"),
    putDone: db.prepare("INSERT OR REPLACE INTO done_blocks (sweep_id, block, bits, count) VALUES (?, ?, ?, ?)"),
    putCurve: db.prepare("INSERT OR IGNORE INTO curves (sweep_id, cell, step, loss, grad_norm) VALUES (?, ?, ?, ?, ?)"),
  };
}
type Statements = ReturnType<typeof statements>;

export class ResultBlocks {
  private readonly q: Statements;

  constructor(private readonly db: Database.Database) {
    this.q = statements(db);
  }

  /** A batch of tiles for one sweep, written when flushed (inside the caller's write transaction). */
  batch(sweep: BlockSweep): IngestBatch {
    return new IngestBatch(this.db, this.q, sweep);
  }

  // ------------------------------------------------------------------------- kept previews (preview.ts)

  /** The sweep's kept preview (see Store.preview); the stride must be kept already. */
  readPreview(sweep: BlockSweep, field: string | null): Preview {
    return readPreview(this.db, previewGrid(sweep, sweep.preview_stride!), field);
  }

  /** (Re)build a sweep's preview from its blocks; inside a write transaction. */
  buildPreview(sweep: BlockSweep, stride: number): void {
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
  loadDone(sweep: BlockSweep): Uint8Array {
    // Rounded up to whole bytes of bits so every 8 cells expand with two 32-bit writes.
    const padded = new Uint8Array(Math.ceil(sweep.cells / 8) * 8);
    const words = new Uint32Array(padded.buffer);
    for (const r of this.db.prepare("SELECT block, bits FROM done_blocks WHERE sweep_id = ?").iterate(sweep.id) as
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

  /** Blocks `blocks` of a field, decoded (a block never written is absent). */
  fieldBlocks(sweep: BlockSweep, field: string, blocks: Iterable<number>): Map<number, Numeric> {
    const out = new Map<number, Numeric>();
    for (const b of blocks) {
      const r = this.q.block.get(sweep.id, field, b) as { dtype: BlockDtype; data: Buffer } | undefined;
      if (r) out.set(b, decodeBlock(r.data, r.dtype, blockLength(sweep.cells, b)));
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

  /** Done cells per block (block -> count), one small query. */
  doneCounts(sweepId: string): Map<number, number> {
    const out = new Map<number, number>();
    for (const r of this.db.prepare("SELECT block, count FROM done_blocks WHERE sweep_id = ?").iterate(sweepId) as Iterable<{ block: number; count: number }>) {
      out.set(r.block, r.count);
    }
    return out;
  }

  /** One field over the whole map in its stored dtype (see Store.loadField). */
  loadField(sweep: BlockSweep, field: string): Numeric {
    const dtype = this.fields(sweep.id)[field];
    if (!dtype) {
      throw new StoreError(`sweep ${sweep.id} has no field ${JSON.stringify(field)}; it has: ${Object.keys(this.fields(sweep.id)).join(", ") || "no results yet"}`);
    }
    const out = emptyBlock(dtype, sweep.cells);
    for (const r of this.db.prepare("SELECT block, data FROM result_blocks WHERE sweep_id = ? AND field = ?").iterate(sweep.id, field) as
      Iterable<{ block: number; data: Buffer }>) {
      decodeBlock(r.data, dtype, blockLength(sweep.cells, r.block), out, r.block * BLOCK_CELLS);
    }
    return out;
  }

  /** Re-encode float64 fields as rounded float32 (see Store.roundFloats); inside a write transaction. */
  roundFloats(sweep: BlockSweep, fields: readonly string[]): number {
    const have = this.fields(sweep.id);
    let n = 0;
    for (const field of fields) {
      if (!(field in have)) throw new StoreError(`sweep ${sweep.id} has no field ${JSON.stringify(field)} to round`);
      if (have[field] !== "f8") continue; // already float32 (or not a float)
      const rows = this.db.prepare("SELECT block, data FROM result_blocks WHERE sweep_id = ? AND field = ?").all(sweep.id, field) as
        { block: number; data: Buffer }[];
      for (const r of rows) {
        const values = Float32Array.from(decodeBlock(r.data, "f8", blockLength(sweep.cells, r.block)));
        roundFloat32(values);
        this.q.putBlock.run(sweep.id, field, r.block, "f4", encodeBlock(values, "f4"));
        n++;
      }
    }
    if (n && sweep.preview_stride !== null) this.buildPreview(sweep, sweep.preview_stride);
    return n;
  }

  /** Per-cell curves (loss and grad norm at the recorded steps), or undefined where none were recorded. */
  curve(sweepId: string, cell: number): Curve | undefined {
    const r = this.db.prepare("SELECT step, loss, grad_norm FROM curves WHERE sweep_id = ? AND cell = ?").get(sweepId, cell) as
      { step: Buffer; loss: Buffer; grad_norm: Buffer } | undefined;
    if (!r) return undefined;
    const f32 = (b: Buffer) => new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    return { step: new Int32Array(r.step.buffer.slice(r.step.byteOffset, r.step.byteOffset + r.step.length)), loss: f32(r.loss), gradNorm: f32(r.grad_norm) };
  }
}

interface BlockBuf { dtype: BlockDtype; values: Numeric; dirty: boolean; exists: boolean }
interface DoneBuf { bits: Uint8Array; count: number; dirty: boolean; exists: boolean }

/**
 * The blocks one ingest touches, decoded once, updated in memory tile by tile and written back by flush. A cell
 * whose done bit is set is never written again (the first record counts, as in the journal).
 */
export class IngestBatch {
  private readonly blocks = new Map<string, BlockBuf>();
  private readonly dones = new Map<number, DoneBuf>();

  constructor(private readonly db: Database.Database, private readonly q: Statements, private readonly sweep: BlockSweep) {}

  /** Write the tile's not-yet-done cells into their blocks, appending them to `added`; returns how many were new. */
  applyTile(tile: DecodedTile, added: number[]): number {
    const sweep = this.sweep;
    const fresh: number[] = []; // positions in the tile of cells recorded for the first time
    for (let k = 0; k < tile.count; k++) {
      const cell = tile.cells[k];
      if (!(Number.isInteger(cell) && cell >= 0 && cell < sweep.cells)) {
        throw new StoreError(`sweep ${sweep.id}: tile cell index ${cell} is outside 0..${sweep.cells - 1}`);
      }
      const d = this.doneBuf(Math.floor(cell / BLOCK_CELLS));
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
        if (block !== bIndex) { b = this.blockBuf(field, values, block); bIndex = block; }
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

  /** Write every changed block and done bitmap back, with the kept preview's rows they cover. */
  flush(): void {
    const sweep = this.sweep;
    const preview = sweep.preview_stride === null ? null : new PreviewWriter(this.db, previewGrid(sweep, sweep.preview_stride));
    for (const [key, b] of this.blocks) {
      if (!b.dirty) continue;
      const [field, block] = key.split("\u0000");
      if (b.values instanceof Float32Array && roundsFloats(sweep.cells)) roundFloat32(b.values);
      this.q.putBlock.run(sweep.id, field, Number(block), b.dtype, encodeBlock(b.values, b.dtype));
      preview?.put(field, b.dtype, Number(block) * BLOCK_CELLS, b.values);
    }
    for (const [block, d] of this.dones) {
      if (!d.dirty) continue;
      this.q.putDone.run(sweep.id, block, Buffer.from(d.bits), d.count);
      preview?.putDone(block * BLOCK_CELLS, blockLength(sweep.cells, block), d.bits);
    }
    preview?.flush();
  }

  private doneBuf(block: number): DoneBuf {
    let d = this.dones.get(block);
    if (!d) {
      const r = this.q.done.get(this.sweep.id, block) as { bits: Buffer; count: number } | undefined;
      d = r ? { bits: new Uint8Array(r.bits), count: r.count, dirty: false, exists: true }
        : { bits: new Uint8Array(BLOCK_CELLS / 8), count: 0, dirty: false, exists: false };
      this.dones.set(block, d);
    }
    return d;
  }

  private blockBuf(field: string, sent: Numeric, block: number): BlockBuf {
    const key = `${field}\u0000${block}`;
    let b = this.blocks.get(key);
    if (!b) {
      const r = this.q.block.get(this.sweep.id, field, block) as { dtype: BlockDtype; data: Buffer } | undefined;
      const n = blockLength(this.sweep.cells, block);
      if (r) {
        b = { dtype: r.dtype, values: decodeBlock(r.data, r.dtype, n), dirty: false, exists: true };
      } else {
        const dtype = storedDtype(sent, this.sweep.cells);
        b = { dtype, values: emptyBlock(dtype, n), dirty: false, exists: false };
      }
      this.blocks.set(key, b);
    }
    return b;
  }
}

/** Byte v of a done bitmap (LSB first) as eight 0/1 bytes, in two little-endian 32-bit words. */
const BITS_LO = Uint32Array.from({ length: 256 }, (_, v) => (v & 1) | ((v >> 1) & 1) << 8 | ((v >> 2) & 1) << 16 | ((v >> 3) & 1) << 24);
const BITS_HI = Uint32Array.from({ length: 256 }, (_, v) => ((v >> 4) & 1) | ((v >> 5) & 1) << 8 | ((v >> 6) & 1) << 16 | ((v >> 7) & 1) << 24);

function previewGrid(s: BlockSweep, stride: number): PreviewGrid {
  return { id: s.id, nx: s.nx, ny: s.ny, stride };
}

function blockLength(cells: number, block: number): number {
  return Math.min(BLOCK_CELLS, cells - block * BLOCK_CELLS);
}
