// Slice: which layer the map shows and a revision per drawn sweep's layer; the fetching behind them: a full layer,
// a large map's preview first, streaming deltas, parked layers brought back. The data is in store/layer-cache.ts.

import type { LayerData, LayerName } from "../../src-shared/contract";
import { PREVIEW_ABOVE, PREVIEW_SIDE } from "../../src-shared/api";
import { mark } from "../perf";
import * as cache from "./layer-cache";
import { drawnSweeps } from "./sweeps";
import { useUi } from "./ui-store";

export interface LayersSlice {
  layer: LayerName;
  /** store/layer-cache.ts revision of each drawn sweep's layer: changes whenever `layerOf(id)` does. */
  layerRevisions: Record<string, number>;
}

const get = useUi.getState;
const set = useUi.setState;

/** Tell the store's readers that the layer cache changed. */
const published = () => ({ layerRevisions: cache.layerRevisions() });

const fetching = new Map<string, Promise<void>>();
/** A fetch asked for while one is in flight: true when a streaming delta will do, false for a full fetch. */
const again = new Map<string, boolean>();

/**
 * A streamed score cell is ranked against the last full ranking (contract.ts LayerDelta); once the cells
 * streamed since exceed this fraction of those ranked, or the sweep ends, the whole layer is re-ranked. So a
 * score colour is off by at most this fraction of the colour scale while streaming, and exact at the end.
 */
const RERANK_FRACTION = 0.02;

/** Draw a parked layer again (at once, at full resolution), then stream the cells done since it was parked. */
async function restoreLayer(full: LayerData): Promise<void> {
  cache.putRestored(full);
  set(published());
  await streamLayer(full.sweepId);
}

/** Give a sweep just put on screen its layer: the one parked when it was left, else the fetch in flight, else a new one. */
export function loadLayer(id: string): Promise<void> {
  const kept = cache.unpark(id, get().layer);
  if (kept) return restoreLayer(kept);
  return cache.layerOf(id) || fetching.has(id) ? streamLayer(id) : refreshLayer(id);
}

/** Park the drawn layers (the user leaves this tree or layer): none is drawn until loaded again. */
export function parkLayers(): Pick<LayersSlice, "layerRevisions"> {
  cache.parkAll();
  return published();
}

/** Fetch a sweep's current layer in full; a request made while one is in flight runs once more after it. */
export function refreshLayer(id: string): Promise<void> {
  return fetchLayer(id, false);
}

/** Bring a drawn sweep's layer up to date with only the cells done since it was fetched (streaming results). */
export function streamLayer(id: string): Promise<void> {
  return fetchLayer(id, true);
}

function fetchLayer(id: string, stream: boolean): Promise<void> {
  const inFlight = fetching.get(id);
  if (inFlight) {
    again.set(id, (again.get(id) ?? true) && stream);
    // A large map opened again while its last full layer is still on the way (the user went elsewhere and came
    // back): its preview now, not once that layer has been ranked and sent.
    const { layer, sweeps } = get();
    if (!cache.layerOf(id) && (sweeps[id]?.cells ?? 0) > PREVIEW_ABOVE) void showPreview(id, layer);
    return inFlight;
  }
  const p = (async () => {
    const { api, layer, sweeps } = get();
    if (!api) return;
    const cur = cache.layerOf(id), sweep = sweeps[id];
    const patched = cache.patchedCells(id);
    const ended = !!sweep && (sweep.doneCells === sweep.cells || ["completed", "cancelled", "failed"].includes(sweep.status));
    const rerank = cur?.kind === "rank" && patched > 0 && (ended || patched > RERANK_FRACTION * Math.max(1, cur.doneCells - patched));
    if (stream && cur && cur.layer === layer && !cur.stride && !rerank) {
      const d = await api.getLayerDelta(id, layer, cur.version);
      if (get().layer !== layer || cache.layerOf(id) !== cur) return;
      if (d.kind === "full") { setFull(d.data); return; }
      if (!d.cells.length && d.doneCells === cur.doneCells) return;
      cache.applyDelta(cur, d);
      set(published());
      return;
    }
    // A large map draws a preview (every stride-th cell) at once, then the full layer when it arrives.
    if ((!cur || cur.layer !== layer) && sweep && sweep.cells > PREVIEW_ABOVE) await showPreview(id, layer);
    setFull(await api.getLayer(id, layer));
  })().finally(() => {
    fetching.delete(id);
    const next = again.get(id);
    if (next !== undefined) { again.delete(id); void fetchLayer(id, next); }
  });
  fetching.set(id, p);
  return p;
}

const previewing = new Set<string>();
/** Draw a large map's preview, unless its full layer (or another preview) is there by the time it arrives. */
async function showPreview(id: string, layer: LayerName): Promise<void> {
  const key = cache.layerKey(id, layer);
  if (previewing.has(key)) return;
  previewing.add(key);
  try {
    mark(`preview asked ${id}`);
    const preview = await get().api!.getLayerPreview(id, layer, PREVIEW_SIDE);
    mark(`preview ${id}`);
    const now = cache.layerOf(id);
    if (get().layer === layer && (!now || now.layer !== layer)) setFull(preview);
  } finally {
    previewing.delete(key);
  }
}

function setFull(data: LayerData): void {
  if (get().layer !== data.layer) return;
  cache.putFull(data);
  set(published());
}

export async function setLayer(layer: LayerName): Promise<void> {
  set({ layer, ...parkLayers() });
  await Promise.all(drawnSweeps(get()).map((s) => loadLayer(s.id)));
}

/** Resolves once sweep `id` has a layer to draw, or its fetch has ended without one. */
export function layerArrived(id: string, fetch: Promise<void>): Promise<void> {
  if (cache.layerOf(id)) return Promise.resolve();
  return new Promise((res) => {
    const stop = useUi.subscribe((st) => { if (st.layerRevisions[id] !== undefined) { stop(); res(); } });
    void fetch.finally(() => { stop(); res(); });
  });
}

/** A component's view of sweep `id`'s drawn layer: re-renders when it changes. */
export function useLayer(id: string | null | undefined): LayerData | undefined {
  useUi((st) => (id ? st.layerRevisions[id] : undefined));
  return id ? cache.layerOf(id) : undefined;
}
