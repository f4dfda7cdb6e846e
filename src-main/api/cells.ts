// Reads of a few cells of a large map without loading whole fields: the store keeps each field in blocks of
// BLOCK_CELLS consecutive cells (store.ts), so one cell (the hover read-out) or every stride-th row (a layer
// preview) needs only the blocks that hold them. A 4096^2 map is 1024 blocks a field; a hover reads one. The
// store reads the blocks (Store.fieldBlocks, doneBits, doneCounts); this file picks which and reads cells out.

import { BLOCK_CELLS, type Store } from "../core/store";
import type { Preview } from "../core/preview";
import type { Numeric } from "../core/tiles";

/**
 * The done bits of the blocks whose done count differs from `counts` (block -> count as last seen, updated in
 * place): one small query for every block's count, then the bits of the changed blocks only.
 */
export function changedDoneBlocks(store: Store, sweepId: string, counts: Map<number, number>): Map<number, Uint8Array> {
  const changed = new Set<number>();
  for (const [block, count] of store.doneCounts(sweepId)) {
    if (counts.get(block) !== count) { changed.add(block); counts.set(block, count); }
  }
  return changed.size ? store.doneBits(sweepId, changed) : new Map();
}

/** Whether a cell is done, from its block's bits. */
export function isDone(bits: Map<number, Uint8Array>, cell: number): boolean {
  const b = bits.get(Math.floor(cell / BLOCK_CELLS));
  const off = cell % BLOCK_CELLS;
  return !!b && ((b[off >> 3] >> (off & 7)) & 1) === 1;
}

/** One cell: whether it is done, and every recorded field's value there (NaN read as null). */
export function cellFields(store: Store, sweepId: string, cell: number): { done: boolean; fields: Record<string, number | null> } {
  const block = new Set([Math.floor(cell / BLOCK_CELLS)]);
  const done = isDone(store.doneBits(sweepId, block), cell);
  const fields: Record<string, number | null> = {};
  if (!done) return { done, fields };
  for (const f of Object.keys(store.fields(sweepId))) {
    const b = store.fieldBlocks(sweepId, f, block).get(Math.floor(cell / BLOCK_CELLS));
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
  const need = new Set<number>();
  for (let j = 0; j < cy; j++) {
    const first = j * stride * nx, last = first + (cx - 1) * stride;
    for (let b = Math.floor(first / BLOCK_CELLS); b <= Math.floor(last / BLOCK_CELLS); b++) need.add(b);
  }
  const bits = store.doneBits(sweepId, need);
  const blocks = field ? store.fieldBlocks(sweepId, field, need) : new Map<number, Numeric>();
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
