// The layers' data, outside React state: each drawn sweep's LayerData (a 4096^2 map is 16M float32 cells, patched in
// place as results stream in), the bookkeeping of those patches, the layers parked when the user leaves a map, and
// the side channel that tells GlMap which texels to upload again. Zustand holds only `revision(id)` per sweep
// (store/layers.ts mirrors it), so a component re-renders when a layer changes and reads the data from here.

import type { LayerData, LayerDelta, LayerName } from "../../src-shared/contract";

/** The layer drawn for each sweep of the open tree (the current layer name; a preview or the full layer). */
const drawn = new Map<string, LayerData>();
/** Bumped on every change of a sweep's drawn layer: a new number whenever `layerOf(id)` gives another object. */
const revisions = new Map<string, number>();
let nextRevision = 0;

/**
 * Cells whose values changed in a sweep's layer since the map last uploaded them (streaming deltas, applied in
 * place to the layer's `values`); GlMap's quad drains them with a partial texture update. A full layer gives
 * a new `values` array, hence a new texture, and drops them.
 */
const pendingCells = new Map<string, Uint32Array[]>();
/** Cells patched into each sweep's layer since its last full fetch, and whether a log layer has a finite value. */
const patchedSinceFull = new Map<string, number>();
const logHasFinite = new Map<string, boolean>();

export function layerOf(id: string): LayerData | undefined {
  return drawn.get(id);
}

/** The revision of each sweep's drawn layer (what the store keeps); absent: no layer. */
export function layerRevisions(): Record<string, number> {
  return Object.fromEntries(revisions);
}

function put(data: LayerData): void {
  drawn.set(data.sweepId, data);
  revisions.set(data.sweepId, ++nextRevision);
}

/** A layer's value at cell (ix, iy) of its sweep; a preview (stride > 1) holds every stride-th cell. */
export function layerValueAt(layer: LayerData, ix: number, iy: number): number {
  const f = layer.stride ?? 1;
  return layer.values[Math.min(layer.ny - 1, Math.floor(iy / f)) * layer.nx + Math.min(layer.nx - 1, Math.floor(ix / f))];
}

/** A layer fetched whole (or a preview): drawn from a new texture, the streaming bookkeeping starts again. */
export function putFull(data: LayerData): void {
  const id = data.sweepId;
  patchedSinceFull.set(id, 0);
  pendingCells.delete(id);
  if (data.kind === "log") logHasFinite.set(id, data.values.some((v) => v > -1e29 && v < 1e29));
  put(data);
}

/** A parked layer drawn again: a new texture is built from its `values`, so cells the old one had not taken go. */
export function putRestored(full: LayerData): void {
  pendingCells.delete(full.sweepId);
  put(full);
}

/** Cells patched into a sweep's layer since its last full fetch (the score layer is re-ranked past a fraction). */
export function patchedCells(id: string): number {
  return patchedSinceFull.get(id) ?? 0;
}

/**
 * Write a streamed delta into `cur.values` in place (a log layer's range widens to take its values) and queue its
 * cells for the texture; `cur` is replaced by a copy with the delta's version, so whoever holds it sees a change.
 */
export function applyDelta(cur: LayerData, d: Extract<LayerDelta, { kind: "delta" }>): void {
  const id = cur.sweepId;
  const values = cur.values;
  let { lo, hi } = cur;
  let finite = logHasFinite.get(id) ?? false;
  for (let k = 0; k < d.cells.length; k++) {
    const v = d.values[k];
    values[d.cells[k]] = v;
    if (cur.kind === "log" && v > -1e29 && v < 1e29) {
      if (!finite) { lo = v; hi = v; finite = true; } else { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    }
  }
  logHasFinite.set(id, finite);
  patchedSinceFull.set(id, patchedCells(id) + d.cells.length);
  pendingCells.set(id, [...(pendingCells.get(id) ?? []), d.cells]);
  put({ ...cur, version: d.version, doneCells: d.doneCells, lo, hi });
}

/** The cells GlMap must upload again for a sweep's texture (all batches since the last call), or null. */
export function takePendingCells(id: string): Uint32Array | null {
  const batches = pendingCells.get(id);
  if (!batches?.length) return null;
  pendingCells.delete(id);
  return batches.length === 1 ? batches[0] : Uint32Array.from(batches.flatMap((b) => Array.from(b)));
}

// Layers of maps the user left (another tree opened, another layer picked), kept so that going back draws at once
// and at full resolution, then brings them up to date with a delta instead of sending the whole layer again.
const parked = new Map<string, LayerData>(); // newest last
/** At most this many cells parked in all: two 4096^2 maps, 128 MB of float32. */
const PARKED_CELLS = 2 * 4096 * 4096;
/** One key per (sweep, layer), for the parked layers and the previews in flight. */
export const layerKey = (id: string, layer: LayerName) => `${id}\n${layer}`;

/** Park the full layers drawn now (previews are cheap to ask for again), dropping the oldest over the bound, and draw none. */
export function parkAll(): void {
  for (const l of drawn.values()) {
    if (l.stride) continue;
    parked.delete(layerKey(l.sweepId, l.layer));
    parked.set(layerKey(l.sweepId, l.layer), l);
  }
  let total = 0;
  for (const l of parked.values()) total += l.values.length;
  for (const [k, l] of parked) {
    if (total <= PARKED_CELLS) break;
    parked.delete(k);
    total -= l.values.length;
  }
  drawn.clear();
  revisions.clear();
}

/** Take a sweep's parked layer out of the park, if it is there. */
export function unpark(id: string, layer: LayerName): LayerData | undefined {
  const l = parked.get(layerKey(id, layer));
  parked.delete(layerKey(id, layer));
  return l;
}

/** A deleted sweep: its drawn and parked layers go. */
export function forgetSweep(id: string): void {
  drawn.delete(id);
  revisions.delete(id);
  for (const k of [...parked.keys()]) if (k.startsWith(`${id}\n`)) parked.delete(k);
}
