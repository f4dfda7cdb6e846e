// Reads of a few cells of a large map without loading whole fields: the store keeps each field in blocks of
// BLOCK_CELLS consecutive cells (store.ts), so one cell (the hover read-out) or every stride-th row (a layer
// preview) needs only the blocks that hold them. A 4096^2 map is 1024 blocks a field; a hover reads one.

import { type BlockDtype, decodeBlock } from "../core/codec";
import { BLOCK_CELLS, type Store } from "../core/store";
import type { Preview } from "../core/preview";
import type { Numeric } from "../core/tiles";

const blockLength = (cells: number, block: number) => Math.min(BLOCK_CELLS, cells - block * BLOCK_CELLS);

/** Blocks `blocks` of a field, decoded (a block never written is absent). Each is read by its key alone. */
export function fieldBlocks(store: Store, sweepId: string, cells: number, field: string, blocks: ReadonlySet<number>): Map<number, Numeric> {
  const out = new Map<number, Numeric>();
  const q = store.db.prepare("SELECT dtype, data FROM result_blocks WHERE sweep_id = ? AND field = ? AND block = ?");
  for (const b of blocks) {
    const r = q.get(sweepId, field, b) as { dtype: BlockDtype; data: Buffer } | undefined;
    if (r) out.set(b, decodeBlock(r.data, r.dtype, blockLength(cells, b)));
  }
  return out;
}

/** Done bits of blocks `blocks` (bit (cell % 8) of byte (cell % BLOCK_CELLS) >> 3, as store.ts writes them). */
export function doneBlocks(store: Store, sweepId: string, blocks: ReadonlySet<number>): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const q = store.db.prepare("SELECT bits FROM done_blocks WHERE sweep_id = ? AND block = ?");
  for (const b of blocks) {
    const r = q.get(sweepId, b) as { bits: Buffer } | undefined;
    if (r) out.set(b, new Uint8Array(r.bits));
  }
  return out;
}

/**
 * The done bits of the blocks whose done count differs from `counts` (block -> count as last seen, updated in
 * place): one small query for every block's count, then the bits of the changed blocks only.
 */
export function changedDoneBlocks(store: Store, sweepId: string, counts: Map<number, number>): Map<number, Uint8Array> {
  const changed = new Set<number>();
  for (const r of store.db.prepare("SELECT block, count FROM done_blocks WHERE sweep_id = ?").iterate(sweepId) as Iterable<{ block: number; count: number }>) {
    if (counts.get(r.block) !== r.count) { changed.add(r.block); counts.set(r.block, r.count); }
  }
  return changed.size ? doneBlocks(store, sweepId, changed) : new Map();
}

/** Whether a cell is done, from its block's bits. */
export function isDone(bits: Map<number, Uint8Array>, cell: number): boolean {
  const b = bits.get(Math.floor(cell / BLOCK_CELLS));
  const off = cell % BLOCK_CELLS;
  return !!b && ((b[off >> 3] >> (off & 7)) & 1) === 1;
}

/** One cell: whether it is done, and every recorded field's value there (NaN read as null). */
export function cellFields(store: Store, sweepId: string, cells: number, cell: number): { done: boolean; fields: Record<string, number | null> } {
  const block = new Set([Math.floor(cell / BLOCK_CELLS)]);
  const done = isDone(doneBlocks(store, sweepId, block), cell);
  const fields: Record<string, number | null> = {};
  if (!done) return { done, fields };
  for (const f of Object.keys(store.fields(sweepId))) {
    const b = fieldBlocks(store, sweepId, cells, f, block).get(Math.floor(cell / BLOCK_CELLS));
    const v = b ? b[cell % BLOCK_CELLS] : NaN;
    fields[f] = Number.isNaN(v) ? null : v;
  }
  return { done, fields };
}

/**
 * Cells (i*stride, j*stride) of a field and their done flags, as a dense coarse grid (cx x cy, row-major).
 * Reads only the blocks those rows sit in.
 */
export function strided(store: Store, sweepId: string, nx: number, ny: number, stride: number, field: string | null):
  { cx: number; cy: number; values: Float64Array; done: Uint8Array } {
  const cx = Math.ceil(nx / stride), cy = Math.ceil(ny / stride);
  const cells = nx * ny;
  const need = new Set<number>();
  for (let j = 0; j < cy; j++) {
    const first = j * stride * nx, last = first + (cx - 1) * stride;
    for (let b = Math.floor(first / BLOCK_CELLS); b <= Math.floor(last / BLOCK_CELLS); b++) need.add(b);
  }
  const bits = doneBlocks(store, sweepId, need);
  const blocks = field ? fieldBlocks(store, sweepId, cells, field, need) : new Map<number, Numeric>();
  const values = new Float64Array(cx * cy).fill(NaN), done = new Uint8Array(cx * cy);
  for (let j = 0; j < cy; j++) {
    for (let i = 0; i < cx; i++) {
      const cell = j * stride * nx + i * stride;
      done[j * cx + i] = isDone(bits, cell) ? 1 : 0;
      const b = blocks.get(Math.floor(cell / BLOCK_CELLS));
      if (b) values[j * cx + i] = b[cell % BLOCK_CELLS];
    }
  }
  return { cx, cy, values, done };
}

/** Every k-th cell a side of a coarse grid (a kept preview read at a larger stride, for a thumbnail). */
export function subsample(p: Preview, k: number): { cx: number; cy: number; values: Float64Array; done: Uint8Array } {
  if (k === 1) return p;
  const cx = Math.ceil(p.cx / k), cy = Math.ceil(p.cy / k);
  const values = new Float64Array(cx * cy), done = new Uint8Array(cx * cy);
  for (let j = 0; j < cy; j++) {
    for (let i = 0; i < cx; i++) {
      values[j * cx + i] = p.values[j * k * p.cx + i * k];
      done[j * cx + i] = p.done[j * k * p.cx + i * k];
    }
  }
  return { cx, cy, values, done };
}
