// The service's reads of a sweep's results: full layers (a large map's score ranking in a worker thread), previews
// (the first frame), streaming deltas, single cells and analyses, with the caches that make a reopen cheap: the last
// full layers and previews while their sweep is unchanged, and a layer being built shared by concurrent requests.

import { cellCentre, cellEdge, cellHparams, cellXY } from "../../src-shared/grid";
import { BLOCK_CELLS, type Store, type SweepRow } from "../core/store";
import { previewStride } from "../core/preview";
import { zoomPath } from "../core/sweep-maps";
import { PREVIEW_ABOVE, PREVIEW_SIDE } from "../../src-shared/api";
import {
  type AnalysisOptions, ApiError, type CellDetail, type LayerData, type LayerDelta, type LayerName, type SweepAnalysis,
} from "../../src-shared/contract";
import { sweepAnalysis } from "./analysis";
import { cellFields, strided, subsample } from "./cells";
import { DeltaLogs } from "./deltas";
import { buildLayer, cellValue, LAYER_FIELD, rankAgainst, type RankReference, rankLayerWithReference } from "./layers";
import { Offload } from "./offload";
import { checkLayer, sweepRow } from "./sweep-rows";

export class LayerReads {
  /** Worker threads: one ranks layers, one computes analyses, so a long analysis never delays a map's colours. */
  readonly ranker = new Offload();
  private readonly analyser = new Offload();
  private readonly deltas: DeltaLogs; // per sweep: cells done since each layer version
  /** The last full layer built per sweep and layer, while the sweep's results are unchanged (reopening a map). */
  private readonly layerCache = new Map<string, { key: string; data: LayerData }>();
  /** Previews by sweep, layer and size, kept while the sweep's done count and update time stay the same. */
  readonly previewCache = new Map<string, { key: string; data: LayerData }>();
  /** Full layers being built, so concurrent requests for one share the work. */
  private readonly building = new Map<string, Promise<LayerData>>();

  /** `offloadCells`: maps of at least this many cells rank and analyse in the worker threads. */
  constructor(private readonly store: Store, private readonly offloadCells: number, private readonly closed: () => boolean) {
    this.deltas = new DeltaLogs(store);
  }

  close(): void {
    this.ranker.close();
    this.analyser.close();
  }

  /** Forget what is kept of a deleted sweep. */
  forget(id: string): void {
    this.deltas.forget(id);
    for (const k of this.layerCache.keys()) if (k.startsWith(`${id}\u0000`)) this.layerCache.delete(k);
  }

  async getLayer(id: string, layer: LayerName): Promise<LayerData> {
    const s = sweepRow(this.store, id);
    checkLayer(layer);
    const key = `${id}\u0000${layer}`;
    const stampNow = `${s.done_cells}|${s.updated_at}`;
    const cached = this.layerCache.get(key);
    if (cached && cached.key === stampNow) return cached.data;
    const inFlight = this.building.get(`${key}\u0000${stampNow}`);
    if (inFlight) return inFlight;
    const p = this.buildFullLayer(s, layer).finally(() => this.building.delete(`${key}\u0000${stampNow}`));
    this.building.set(`${key}\u0000${stampNow}`, p);
    return p;
  }

  /** A full layer from the store; a large map's score ranking runs in the worker thread. Kept for a reopen. */
  private async buildFullLayer(s: SweepRow, layer: LayerName): Promise<LayerData> {
    const id = s.id;
    const fieldName = LAYER_FIELD[layer];
    const load = () => ({
      field: fieldName in this.store.fields(id) ? this.store.loadField(id, fieldName) : undefined,
      done: this.store.loadDone(id),
    });
    const { field, done } = load();
    const log = this.deltas.atFull(id, done);
    const version = log.version;
    let data: LayerData;
    if (ranksOwn(s, layer) && field && s.cells >= (this.offloadCells)) {
      let doneCells = 0;
      for (let i = 0; i < done.length; i++) doneCells += done[i];
      const { values, ref } = await this.ranker.rank(field, done, () => { const l = load(); return { score: l.field!, done: l.done }; });
      // Deltas after `version` are placed against this ranking; a newer full fetch replaces it.
      if (log.version === version || !log.rank) log.rank = ref;
      data = { sweepId: id, layer, nx: s.nx, ny: s.ny, doneCells, version, kind: "rank", values, lo: -1, hi: 1 };
    } else {
      data = buildLayer({ sweepId: id, layer, nx: s.nx, ny: s.ny, field, done, version, keepRank: (r) => { log.rank = r; },
        treeRef: this.treeRank(s, layer) });
    }
    // Boundary sampling's inferred cells, for the map to mark (they arrive last, so the full layer of the finished
    // sweep always has them; a delta does not carry them)
    if ("inferred" in this.store.fields(id)) data = { ...data, inferred: Uint8Array.from(this.store.loadField(id, "inferred")) };
    const now = this.store.sweep(id);
    // A zoom's tree-scale layer also changes with its root, which its stamp does not see: not kept.
    const kept = layer !== "scoreTree" || s.parent_id === null;
    if (kept && now && now.done_cells === s.done_cells && this.deltas.get(id) === log) {
      this.layerCache.set(`${id}\u0000${layer}`, { key: `${s.done_cells}|${s.updated_at}`, data });
      while (this.layerCache.size > 4) this.layerCache.delete(this.layerCache.keys().next().value!);
    }
    return data;
  }

  async getLayerPreview(id: string, layer: LayerName, maxSide: number): Promise<LayerData> {
    const s = sweepRow(this.store, id);
    checkLayer(layer);
    if (!(Number.isInteger(maxSide) && maxSide >= 1)) throw new ApiError(`maxSide must be an integer >= 1, got ${JSON.stringify(maxSide)}`);
    const key = `${id}\u0000${layer}\u0000${maxSide}`, stamp = `${s.done_cells}|${s.updated_at}`;
    const cached = this.previewCache.get(key);
    if (cached?.key === stamp) return cached.data;
    const data = this.buildPreview(s, layer, maxSide);
    if (layer === "scoreTree" && s.parent_id !== null) return data; // changes with the root too (getLayer)
    this.previewCache.delete(key);
    this.previewCache.set(key, { key: stamp, data });
    while (this.previewCache.size > 8) this.previewCache.delete(this.previewCache.keys().next().value!);
    return data;
  }

  /**
   * Have the first frame ready before the page asks for it, while the window or browser loads the page: the previews
   * of the large maps updated last (the app opens the sweep updated last, or the one its URL names), one per turn of
   * the event loop. The first build also compiles the ranking: cold, it costs ~100 ms more, several times that on a
   * loaded machine.
   */
  async prefetchFirstFrame(maps = 4): Promise<void> {
    const large = this.store.sweeps().filter((s) => s.cells > PREVIEW_ABOVE)
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at)).slice(0, maps);
    for (const s of large) {
      await new Promise((r) => setImmediate(r));
      if (this.closed()) return;
      // A failure here (the sweep deleted meanwhile) is the page's to see, when it asks: the prefetch goes on.
      await this.getLayerPreview(s.id, "score", PREVIEW_SIDE).catch(() => undefined);
    }
  }

  private buildPreview(s: SweepRow, layer: LayerName, maxSide: number): LayerData {
    const id = s.id;
    const stride = previewStride(s.nx, s.ny, maxSide);
    const fieldName = LAYER_FIELD[layer];
    const field = fieldName in this.store.fields(id) ? fieldName : null;
    // A large map's kept preview (core/preview.ts) when the stride asked for is a multiple of its own; else the blocks.
    const kept = stride > 1 ? this.store.preview(id, field) : undefined;
    const { cx, cy, values, done } = kept && stride % kept.stride === 0
      ? subsample(kept, stride / kept.stride) : strided(this.store, id, s.nx, s.ny, stride, field);
    const data = buildLayer({ sweepId: id, layer, nx: cx, ny: cy, field: values, done, version: 0,
      treeRef: this.treeRank(s, layer) });
    return stride > 1 ? { ...data, stride } : data;
  }

  async getLayerDelta(id: string, layer: LayerName, since: number): Promise<LayerDelta> {
    const s = sweepRow(this.store, id);
    checkLayer(layer);
    // Streaming: the new cells from the delta logs (deltas.ts), their values from their blocks alone.
    const log = this.deltas.current(id);
    const cells = log.since(since);
    const own = ranksOwn(s, layer), tree = this.treeRank(s, layer);
    if (!cells || (own && !log.rank) || (layer === "scoreTree" && !own && !tree)) return { kind: "full", data: await this.getLayer(id, layer) };
    const values = new Float32Array(cells.length);
    if (cells.length) {
      const fieldName = LAYER_FIELD[layer];
      const need = new Set<number>();
      for (let k = 0; k < cells.length; k++) need.add(Math.floor(cells[k] / BLOCK_CELLS));
      const blocks = fieldName in this.store.fields(id) ? this.store.fieldBlocks(id, fieldName, need) : new Map();
      for (let k = 0; k < cells.length; k++) {
        const b = blocks.get(Math.floor(cells[k] / BLOCK_CELLS));
        const v = b ? b[cells[k] % BLOCK_CELLS] : Number.NaN;
        values[k] = own ? rankAgainst(log.rank!, v) : tree ? rankAgainst(tree, v) : cellValue(layer as Exclude<LayerName, "score" | "scoreTree">, v);
      }
    }
    return { kind: "delta", sweepId: id, layer, version: log.version, doneCells: s.done_cells, cells, values };
  }

  /**
   * The ranking of the root of zoom `s`'s tree (its done cells' scores), which the scoreTree layer colours every map of
   * the tree against: one colour for one score across nested scans. Kept per root until the root changes; undefined
   * for any other layer, for a root (whose tree scale is its own ranking: ranksOwn) and while the root has no scores.
   * A 4096^2 root sorts 16M scores here, on this thread (about a second).
   */
  private treeRank(s: SweepRow, layer: LayerName): RankReference | undefined {
    if (layer !== "scoreTree" || s.parent_id === null) return undefined;
    let root = s;
    for (let p: string | null = s.parent_id; p !== null; ) {
      const up = this.store.sweep(p);
      if (!up) break;
      root = up;
      p = up.parent_id;
    }
    if (!("score" in this.store.fields(root.id))) return undefined;
    const key = `${root.id}|${root.done_cells}|${root.updated_at}`;
    if (this.treeRanks.get(root.id)?.key !== key) {
      this.treeRanks.delete(root.id);
      this.treeRanks.set(root.id, { key, ref: rankLayerWithReference(this.store.loadField(root.id, "score"), this.store.loadDone(root.id)).ref });
      while (this.treeRanks.size > 2) this.treeRanks.delete(this.treeRanks.keys().next().value!);
    }
    return this.treeRanks.get(root.id)!.ref;
  }
  private readonly treeRanks = new Map<string, { key: string; ref: RankReference }>();

  async getCell(id: string, cell: number): Promise<CellDetail> {
    const s = sweepRow(this.store, id);
    if (!(Number.isInteger(cell) && cell >= 0 && cell < s.cells)) {
      throw new ApiError(`cell must be an integer in 0..${s.cells - 1} for sweep ${id}, got ${JSON.stringify(cell)}`);
    }
    const { ix, iy } = cellXY(s.spec, cell);
    const { x, y } = s.spec.axes;
    // Only the block holding the cell is read (cells.ts): hovering a 4096^2 map must not decode whole fields.
    const read = cellFields(this.store, id, cell);
    const done = read.done;
    const outcome = done ? read.fields : null;
    return {
      sweepId: id, cell, ix, iy,
      centre: { x: cellCentre(x, ix), y: cellCentre(y, iy) },
      bounds: { x0: cellEdge(x, ix), x1: cellEdge(x, ix + 1), y0: cellEdge(y, iy), y1: cellEdge(y, iy + 1) },
      hparams: cellHparams(s.spec, cell), done, outcome, curve: this.store.curve(id, cell) ?? null, base: s.base,
    };
  }

  async getAnalysis(id: string, options: AnalysisOptions): Promise<SweepAnalysis> {
    sweepRow(this.store, id);
    const { layer, sequence } = options ?? {};
    if (layer !== "trainable" && layer !== "stable") throw new ApiError(`layer must be trainable or stable, got ${JSON.stringify(layer)}`);
    if (typeof sequence !== "boolean") throw new ApiError(`sequence must be true or false, got ${JSON.stringify(sequence)}`);
    const big = (sequence ? zoomPathCells(this.store, id) : sweepRow(this.store, id).cells) >= (this.offloadCells);
    return big ? this.analyser.analysis(this.store, id, { layer, sequence }) : sweepAnalysis(this.store, id, { layer, sequence });
  }

}

/** Cells of a sweep and every sweep above it (what a pooled analysis reads). */
function zoomPathCells(store: Store, id: string): number {
  return zoomPath(store, id).reduce((n, z) => n + (store.sweep(z)?.cells ?? 0), 0);
}

/** Whether a layer of `s` is its own score ranking: "score", and "scoreTree" of a root (whose tree is itself). */
function ranksOwn(s: SweepRow, layer: LayerName): boolean {
  return layer === "score" || (layer === "scoreTree" && s.parent_id === null);
}
