// The UI's state (zustand): sweeps known to the server, the layer textures' data, the float64 view and its
// history, hover / selection, the zoom dialog, the targets sweeps can run on and the notice toasts. Everything
// that talks to the server goes through `api`.

import { create } from "zustand";
import type {
  Api, ApiEvent, CellDetail, CellSamples, LayerData, LayerName, RecomputedCurve, Reproduction, ReproductionRequest, SweepSummary,
  TargetInfo, ZoomPreview, ZoomRequest,
} from "../src-shared/contract";
import { addNotice, ENDED, type Notice, type NoticeLevel, NOTICE_TTL_MS, zoomDefaults } from "./sweep-control";
import { PREVIEW_ABOVE, PREVIEW_SIDE } from "../src-shared/api";
import { mark } from "./perf";
import { download, recordZoom } from "./record";
import { equalAspect, fitWindow, pickCell, type View, type Viewport, type Window } from "./view";

export type Progress = Extract<ApiEvent, { type: "progress" }>;

/**
 * The zoom dialog. `seq` tells one opening from the next (an answer for a closed or reopened dialog is dropped);
 * `targetTouched` / `pointsTouched`: the user chose these, so defaults that arrive later leave them alone.
 */
export interface ZoomDialogState {
  seq: number; req: ZoomRequest; preview: ZoomPreview | null; error: string | null; busy: boolean;
  targetTouched: boolean; pointsTouched: boolean;
}

/** The selected SFT cell's samples: those kept in the store (newest first), and a generation in flight. */
export interface SamplesState { sweepId: string; cell: number; list: CellSamples[]; busy: boolean; error: string | null }

/** The selected MLP cell's curve re-trained on this computer because its sweep recorded none (api.recomputeCurve). */
export interface RecomputeState { sweepId: string; cell: number; result: RecomputedCurve | null; error: string | null }

export interface UiState {
  api: Api | null;
  connection: "connecting" | "open" | "closed";
  connectionError: string | null;
  sweeps: Record<string, SweepSummary>;
  rootId: string | null;
  /** The sweep the breadcrumb ends at (the one last opened or zoomed into). */
  focusId: string | null;
  layer: LayerName;
  layers: Record<string, LayerData>;
  view: View | null;
  viewport: Viewport;
  history: View[];
  historyIndex: number;
  /** The cell under the cursor, and the cursor in the map's pixels (the read-out sits there). */
  hover: { sweepId: string; cell: number; detail: CellDetail | null; px: number; py: number } | null;
  selected: CellDetail | null;
  samples: SamplesState | null;
  recomputed: RecomputeState | null;
  /** The main area: the 2-D map, the 3-D surface, the library of sweeps with thumbnails, or the Table 1 report. */
  mode: "map" | "surface" | "library" | "table1";
  /** Fill the map area, stretched, instead of 1:1 in axis units (view.ts equalAspect). */
  fill: boolean;
  /** Small score previews per sweep (library thumbnails, the overview map). */
  previews: Record<string, LayerData>;
  /** A zoom animation is being recorded (record.ts). */
  /** The zoom video being recorded: frames drawn of all (null: none). */
  recording: { done: number; frames: number } | null;
  box: Window | null;
  zoomDialog: ZoomDialogState | null;
  progress: Record<string, Progress>;
  /** Toasts, newest first (sweep-control.ts addNotice). */
  notices: Notice[];
  /** "local" and every host (api.listTargets), cached; null until first fetched. */
  targets: TargetInfo[] | null;
  panel: "inspector" | "editor" | "hosts";
  /** Table 1 reproductions by id (api.listReproductions, then "reproduction-updated" events); null until first fetched. */
  reproductions: Record<string, Reproduction> | null;
}

export const useUi = create<UiState>(() => ({
  api: null, connection: "connecting", connectionError: null, sweeps: {}, rootId: null, focusId: null,
  layer: "score", layers: {}, view: null, viewport: { width: 0, height: 0 }, history: [], historyIndex: -1,
  hover: null, selected: null, samples: null, recomputed: null, mode: "map", fill: false, previews: {}, recording: null, box: null, zoomDialog: null, progress: {}, notices: [], targets: null,
  panel: "inspector", reproductions: null,
}));

const get = useUi.getState;
const set = useUi.setState;

/** The chain from the root down to `id`. */
export function ancestry(id: string, sweeps: Record<string, SweepSummary>): SweepSummary[] {
  const out: SweepSummary[] = [];
  for (let s: SweepSummary | undefined = sweeps[id]; s; s = s.parentId ? sweeps[s.parentId] : undefined) out.unshift(s);
  return out;
}

/** Whether the map must be drawn again: the view, its size, the sweeps or their layers changed (GlMap, MapPreview2D). */
export function mapInputsChanged(st: UiState, prev: UiState): boolean {
  return st.view !== prev.view || st.layers !== prev.layers || st.viewport !== prev.viewport || st.sweeps !== prev.sweeps;
}

/** The root's whole tree, coarsest first, so finer zooms draw on top. */
export function drawnSweeps(st: Pick<UiState, "rootId" | "sweeps">): SweepSummary[] {
  if (!st.rootId || !st.sweeps[st.rootId]) return [];
  const all = Object.values(st.sweeps);
  const out: { s: SweepSummary; depth: number }[] = [];
  const walk = (s: SweepSummary, depth: number) => {
    out.push({ s, depth });
    for (const c of all.filter((c) => c.parentId === s.id).sort((a, b) => a.createdAt.localeCompare(b.createdAt))) walk(c, depth + 1);
  };
  walk(st.sweeps[st.rootId], 0);
  return out.sort((a, b) => a.depth - b.depth).map((o) => o.s);
}

/** The finest drawn sweep with a result (or, failing that, any) at world point (x, y). */
export function sweepCellAt(x: number, y: number): { sweep: SweepSummary; cell: number } | null {
  const st = get();
  const drawn = drawnSweeps(st);
  let fallback: { sweep: SweepSummary; cell: number } | null = null;
  for (let k = drawn.length - 1; k >= 0; k--) {
    const s = drawn[k];
    const c = pickCell(s.window, s.nx, s.ny, x, y);
    if (!c) continue;
    const layer = st.layers[s.id];
    if (layer && layerValueAt(layer, c.ix, c.iy) > -1e29) return { sweep: s, cell: c.index };
    if (k === 0 || !fallback) fallback = fallback ?? { sweep: s, cell: c.index };
  }
  return fallback;
}

// ----------------------------------------------------------------------------- view and history

/** A view asked for before the map had a size (the first open): applied once it is measured. */
let pendingOpen: { id: string; view?: View } | null = null;

export function setViewport(vp: Viewport): void {
  const st = get();
  if (st.viewport.width === vp.width && st.viewport.height === vp.height) return;
  set({ viewport: vp });
  if (pendingOpen && vp.width > 0 && vp.height > 0) {
    const p = pendingOpen;
    pendingOpen = null;
    if (p.view) { set({ view: p.view }); commitView(); } else home(p.id);
  }
}

export function setView(view: View): void {
  set({ view });
}

/** Record the current view as a step in the zoom history (after a gesture settles) and in the URL. */
export function commitView(): void {
  const { view, history, historyIndex } = get();
  if (!view) return;
  const last = history[historyIndex];
  if (last && last.cx === view.cx && last.cy === view.cy && last.sx === view.sx && last.sy === view.sy) return;
  const h = history.slice(0, historyIndex + 1);
  h.push(view);
  set({ history: h, historyIndex: h.length - 1 });
  writeUrl();
}

export function historyStep(delta: number): void {
  const { history, historyIndex } = get();
  const i = historyIndex + delta;
  if (i < 0 || i >= history.length) return;
  set({ historyIndex: i, view: history[i] });
  writeUrl();
}

/** A layer's value at cell (ix, iy) of its sweep; a preview (stride > 1) holds every stride-th cell. */
export function layerValueAt(layer: LayerData, ix: number, iy: number): number {
  const f = layer.stride ?? 1;
  return layer.values[Math.min(layer.ny - 1, Math.floor(iy / f)) * layer.nx + Math.min(layer.nx - 1, Math.floor(ix / f))];
}

/** Is the map drawn 1:1 in axis units for this sweep (not filling, and axes that share a unit)? */
export function isEqualAspect(st: Pick<UiState, "fill">, s: SweepSummary): boolean {
  return !st.fill && equalAspect(s.xAxis.scale, s.yAxis.scale, s.window);
}

/** Fit the view to a sweep's window (the 0 key fits the root): 1:1 in axis units, or filling the map area. */
export function home(id?: string): void {
  const st = get();
  const s = st.sweeps[id ?? st.rootId ?? ""];
  if (!s) return;
  const root = st.sweeps[st.rootId ?? ""] ?? s;
  set({ view: fitWindow(s.window, st.viewport, 24, isEqualAspect(st, root)) });
  commitView();
}

/** Toggle filling the map area (stretched) against 1:1 in axis units; the view fits the focused sweep again. */
export function setFill(fill: boolean): void {
  set({ fill });
  home(get().focusId ?? undefined);
}

/**
 * Resolves once the open map has a layer to draw (or there is no map): work that competes with the first frame for
 * the server (the analysis, the overview's preview) waits for it.
 */
export function mapReady(): Promise<void> {
  const ready = (st: UiState) => !st.rootId || !!st.layers[st.rootId] || st.mode !== "map";
  if (ready(get())) return Promise.resolve();
  return new Promise((res) => {
    const off = useUi.subscribe((st) => { if (ready(st)) { off(); res(); } });
  });
}

/**
 * Export a zoom animation: the map zooms from the focused sweep's home view to the current view (WebM, downloaded),
 * then the view is back where it was. Null when there is nothing to record.
 */
export async function exportZoomVideo(seconds = 6): Promise<string | null> {
  const st = get();
  const s = st.sweeps[st.rootId ?? ""];
  if (!s || !st.view || st.mode !== "map") {
    pushNotice("could not record the zoom: open a sweep's map first", "error");
    return null;
  }
  const to = st.view;
  const from = fitWindow(s.window, st.viewport, 24, isEqualAspect(st, s));
  set({ recording: { done: 0, frames: 0 } });
  try {
    const blob = await recordZoom(from, to, seconds, 30, (done, frames) => set({ recording: { done, frames } }));
    const name = `zoom-${s.id}.webm`;
    download(blob, name);
    return name;
  } catch (e) {
    pushNotice(`could not record the zoom: ${(e as Error).message}`, "error");
    return null;
  } finally {
    set({ view: to, recording: null });
  }
}

/** A small score preview of a sweep for thumbnails (fetched once per sweep and done-cell count). */
const previewFetched = new Map<string, number>();
export async function loadPreview(id: string, maxSide = 96): Promise<void> {
  const { api, sweeps } = get();
  const s = sweeps[id];
  if (!api || !s || previewFetched.get(id) === s.doneCells) return;
  previewFetched.set(id, s.doneCells);
  try {
    const p = await api.getLayerPreview(id, "score", maxSide);
    set((st) => ({ previews: { ...st.previews, [id]: p } }));
  } catch {
    previewFetched.delete(id); // a deleted sweep, a lost connection: try again next time
  }
}

function writeUrl(): void {
  const { view, focusId } = get();
  if (!view || !focusId) return;
  const u = new URL(location.href);
  u.searchParams.set("sweep", focusId);
  u.searchParams.set("view", [view.cx, view.cy, view.sx, view.sy].map(String).join(","));
  history.replaceState(null, "", u.toString());
}

// ----------------------------------------------------------------------------- data

const fetching = new Map<string, Promise<void>>();
/** A fetch asked for while one is in flight: true when a streaming delta will do, false for a full fetch. */
const again = new Map<string, boolean>();

/**
 * Cells whose values changed in a sweep's layer since the map last uploaded them (streaming deltas, applied in
 * place to the layer's `values`); MapView's quad drains them with a partial texture update. A full fetch gives
 * a new `values` array, hence a new texture, and drops them.
 */
export const pendingCells = new Map<string, Uint32Array[]>();
/** Cells patched into each sweep's layer since its last full fetch, and whether a log layer has a finite value. */
const patchedSinceFull = new Map<string, number>();
const logHasFinite = new Map<string, boolean>();
/**
 * A streamed score cell is ranked against the last full ranking (contract.ts LayerDelta); once the cells
 * streamed since exceed this fraction of those ranked, or the sweep ends, the whole layer is re-ranked. So a
 * score colour is off by at most this fraction of the colour scale while streaming, and exact at the end.
 */
const RERANK_FRACTION = 0.02;

// Layers of maps the user left (another tree opened, another layer picked), kept so that going back draws at once
// and at full resolution, then brings them up to date with a delta instead of sending the whole layer again.
const parked = new Map<string, LayerData>(); // newest last
/** At most this many cells parked in all: two 4096^2 maps, 128 MB of float32. */
const PARKED_CELLS = 2 * 4096 * 4096;
/** One key per (sweep, layer), for the parked layers and the previews in flight. */
const layerKey = (id: string, layer: LayerName) => `${id}\n${layer}`;

/** Keep the full layers among `layers` (previews are cheap to ask for again), dropping the oldest over the bound. */
function park(layers: Record<string, LayerData>): void {
  for (const l of Object.values(layers)) {
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
}

function unpark(id: string, layer: LayerName): LayerData | undefined {
  const l = parked.get(layerKey(id, layer));
  parked.delete(layerKey(id, layer));
  return l;
}

/** Draw a parked layer again (at once, at full resolution), then stream the cells done since it was parked. */
async function restoreLayer(full: LayerData): Promise<void> {
  pendingCells.delete(full.sweepId); // cells the old texture had not taken: the new one is built from `values`
  set((st) => ({ layers: { ...st.layers, [full.sweepId]: full } }));
  await streamLayer(full.sweepId);
}

/** Give a sweep just put on screen its layer: the one parked when it was left, else the fetch in flight, else a new one. */
function loadLayer(id: string): Promise<void> {
  const kept = unpark(id, get().layer);
  if (kept) return restoreLayer(kept);
  return get().layers[id] || fetching.has(id) ? streamLayer(id) : refreshLayer(id);
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
    const { layer, layers, sweeps } = get();
    if (!layers[id] && (sweeps[id]?.cells ?? 0) > PREVIEW_ABOVE) void showPreview(id, layer);
    return inFlight;
  }
  const p = (async () => {
    const { api, layer, layers, sweeps } = get();
    if (!api) return;
    const cur = layers[id], sweep = sweeps[id];
    const patched = patchedSinceFull.get(id) ?? 0;
    const ended = !!sweep && (sweep.doneCells === sweep.cells || ["completed", "cancelled", "failed"].includes(sweep.status));
    const rerank = cur?.kind === "rank" && patched > 0 && (ended || patched > RERANK_FRACTION * Math.max(1, cur.doneCells - patched));
    if (stream && cur && cur.layer === layer && !cur.stride && !rerank) {
      const d = await api.getLayerDelta(id, layer, cur.version);
      if (get().layer !== layer || get().layers[id] !== cur) return;
      if (d.kind === "full") { setFull(d.data); return; }
      if (!d.cells.length && d.doneCells === cur.doneCells) return;
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
      patchedSinceFull.set(id, patched + d.cells.length);
      pendingCells.set(id, [...(pendingCells.get(id) ?? []), d.cells]);
      set((st) => ({ layers: { ...st.layers, [id]: { ...cur, version: d.version, doneCells: d.doneCells, lo, hi } } }));
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
  const key = layerKey(id, layer);
  if (previewing.has(key)) return;
  previewing.add(key);
  try {
    mark(`preview asked ${id}`);
    const preview = await get().api!.getLayerPreview(id, layer, PREVIEW_SIDE);
    mark(`preview ${id}`);
    const now = get().layers[id];
    if (get().layer === layer && (!now || now.layer !== layer)) setFull(preview);
  } finally {
    previewing.delete(key);
  }
}

function setFull(data: LayerData): void {
  if (get().layer !== data.layer) return;
  const id = data.sweepId;
  patchedSinceFull.set(id, 0);
  pendingCells.delete(id);
  if (data.kind === "log") logHasFinite.set(id, data.values.some((v) => v > -1e29 && v < 1e29));
  set((st) => ({ layers: { ...st.layers, [id]: data } }));
}

export async function setLayer(layer: LayerName): Promise<void> {
  park(get().layers);
  set({ layer, layers: {} });
  await Promise.all(drawnSweeps(get()).map((s) => loadLayer(s.id)));
}

/** Show sweep `id`: its root's tree is drawn, the view fits `id` unless one is given. */
export async function openSweep(id: string, view?: View): Promise<void> {
  const st = get();
  const chain = ancestry(id, st.sweeps);
  if (!chain.length) throw new Error(`unknown sweep ${id}`);
  const rootId = chain[0].id;
  if (rootId !== st.rootId) park(st.layers);
  set({ rootId, focusId: id, selected: null, recomputed: null, hover: null, layers: rootId === st.rootId ? st.layers : {}, mode: st.mode === "surface" ? "surface" : "map" });
  if (get().viewport.width === 0) pendingOpen = { id, view };
  else if (view) { set({ view }); commitView(); } else home(id);
  // The root first: the nested zooms' layers are asked for once its first data (a large map's preview) is here, so
  // reading and sending them does not compete with the first frame for the server and the page.
  const [first, ...rest] = drawnSweeps(get());
  if (!first) return;
  const firstFetch = loadLayer(first.id);
  await layerArrived(first.id, firstFetch);
  await Promise.all([firstFetch, ...rest.map((s) => loadLayer(s.id))]);
}

/** Resolves once sweep `id` has a layer to draw, or its fetch has ended without one. */
function layerArrived(id: string, fetch: Promise<void>): Promise<void> {
  if (get().layers[id]) return Promise.resolve();
  return new Promise((res) => {
    const stop = useUi.subscribe((st) => { if (st.layers[id]) { stop(); res(); } });
    void fetch.finally(() => { stop(); res(); });
  });
}

// ----------------------------------------------------------------------------- notices and targets

let noticeSeq = 0;

/** Show a toast; info and done ones dismiss themselves after NOTICE_TTL_MS, errors stay until dismissed. */
export function pushNotice(message: string, level: NoticeLevel = "info", sweepId: string | null = null): void {
  const n: Notice = { id: ++noticeSeq, level, message, sweepId };
  set((st) => ({ notices: addNotice(st.notices, n) }));
  if (level !== "error") setTimeout(() => dismissNotice(n.id), NOTICE_TTL_MS);
}

export function dismissNotice(id: number): void {
  if (get().notices.some((n) => n.id === id)) set((st) => ({ notices: st.notices.filter((n) => n.id !== id) }));
}

/** Fetch the targets again (a probe may have found GPUs since); on failure the cached list stays. */
export async function refreshTargets(): Promise<TargetInfo[] | null> {
  const api = get().api;
  if (!api) return get().targets;
  try {
    const targets = await api.listTargets();
    set({ targets });
    return targets;
  } catch {
    return get().targets;
  }
}

/**
 * Keep a sweep the server just answered with (cancel, resume) without waiting for its "sweep-updated" event, unless
 * an event already brought a newer state (events and answers can cross).
 */
function putSweep(s: SweepSummary): void {
  const cur = get().sweeps[s.id];
  if (cur && cur.updatedAt > s.updatedAt) return;
  set((st) => ({ sweeps: { ...st.sweeps, [s.id]: s } }));
}

// ----------------------------------------------------------------------------- sweep control

/** Cancel a running sweep on its target; a failure (e.g. the node is unreachable) shows as an error notice. True if taken. */
export async function cancelSweep(id: string): Promise<boolean> {
  try {
    putSweep(await get().api!.cancelSweep(id));
    return true;
  } catch (e) {
    pushNotice(`could not cancel ${get().sweeps[id]?.name ?? id}: ${(e as Error).message}`, "error", id);
    return false;
  }
}

/** Run a cancelled or failed sweep again (finished cells are kept). */
export async function resumeSweep(id: string): Promise<boolean> {
  try {
    putSweep(await get().api!.resumeSweep(id));
    return true;
  } catch (e) {
    pushNotice(`could not resume ${get().sweeps[id]?.name ?? id}: ${(e as Error).message}`, "error", id);
    return false;
  }
}

// ----------------------------------------------------------------------------- Table 1 reproductions

/** Fetch every reproduction the store holds (the Table 1 view opens); a failure is a notice, the cached list stays. */
export async function loadReproductions(): Promise<void> {
  try {
    const list = await get().api!.listReproductions();
    set({ reproductions: Object.fromEntries(list.map((r) => [r.id, r])) });
  } catch (e) {
    pushNotice(`could not list the Table 1 reproductions: ${(e as Error).message}`, "error");
  }
}

/** Start (or continue) a reproduction; resolves with null once it runs, or with the server's reason it cannot. */
export async function startReproduction(req: ReproductionRequest): Promise<string | null> {
  try {
    const r = await get().api!.startReproduction(req);
    // The server sent this report as an event first, and may have sent later ones since: keep the newest.
    if (!get().reproductions?.[r.id]) putReproduction(r);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function putReproduction(r: Reproduction): void {
  set((st) => ({ reproductions: { ...(st.reproductions ?? {}), [r.id]: r } }));
}

// ----------------------------------------------------------------------------- events

export function onEvent(e: ApiEvent): void {
  if (e.type === "sweep-updated") {
    const prev = get().sweeps[e.sweep.id];
    set((st) => ({ sweeps: { ...st.sweeps, [e.sweep.id]: e.sweep } }));
    // A sweep that ended drops its last rate and ETA, so a resumed run does not start with stale figures.
    if (ENDED.includes(e.sweep.status) && get().progress[e.sweep.id]) set((st) => ({ progress: without(st.progress, e.sweep.id) }));
    const drawn = drawnSweeps(get()).some((s) => s.id === e.sweep.id);
    if (drawn && (!prev || prev.doneCells !== e.sweep.doneCells || prev.status !== e.sweep.status)) void streamLayer(e.sweep.id);
  } else if (e.type === "sweep-deleted") {
    set((st) => {
      const sweeps = { ...st.sweeps };
      delete sweeps[e.id];
      const layers = { ...st.layers };
      delete layers[e.id];
      for (const k of [...parked.keys()]) if (k.startsWith(`${e.id}\n`)) parked.delete(k);
      return { sweeps, layers, progress: without(st.progress, e.id), rootId: st.rootId === e.id ? null : st.rootId, focusId: st.focusId === e.id ? st.rootId : st.focusId };
    });
  } else if (e.type === "progress") {
    set((st) => ({ progress: { ...st.progress, [e.sweepId]: e } }));
  } else if (e.type === "notice") {
    pushNotice(e.message, e.level ?? "info", e.sweepId);
  } else if (e.type === "reproduction-updated") {
    putReproduction(e.reproduction);
  }
}

function without<T>(rec: Record<string, T>, id: string): Record<string, T> {
  if (!(id in rec)) return rec;
  const out = { ...rec };
  delete out[id];
  return out;
}

export async function start(api: Api, params: URLSearchParams): Promise<void> {
  set({ api, connection: "open" });
  api.subscribe(onEvent);
  const list = await api.listSweeps();
  mark("listed");
  set({ sweeps: Object.fromEntries(list.map((s) => [s.id, s])) });
  if (!list.length) return;
  const named = params.get("sweep");
  const latest = [...list].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  const id = named && list.some((s) => s.id === named) ? named : latest.id;
  const v = params.get("view")?.split(",").map(Number);
  await openSweep(id, v && v.length === 4 && v.every(Number.isFinite) ? { cx: v[0], cy: v[1], sx: v[2], sy: v[3] } : undefined);
}

// ----------------------------------------------------------------------------- hover, selection, zoom dialog

let hoverKey = "";
/** The cell under world point (x, y), the cursor at (px, py) in the map's pixels (where the read-out goes). */
export async function hoverAt(x: number, y: number, px = 0, py = 0): Promise<void> {
  const hit = sweepCellAt(x, y);
  const key = hit ? `${hit.sweep.id}:${hit.cell}` : "";
  if (key === hoverKey) {
    const h = get().hover;
    if (h && (h.px !== px || h.py !== py)) set({ hover: { ...h, px, py } });
    return;
  }
  hoverKey = key;
  if (!hit) { set({ hover: null }); return; }
  set({ hover: { sweepId: hit.sweep.id, cell: hit.cell, detail: null, px, py } });
  const detail = await get().api!.getCell(hit.sweep.id, hit.cell);
  const h = get().hover;
  if (hoverKey === key && h) set({ hover: { ...h, detail } });
}

/** The pointer left the map. */
export function hoverOut(): void {
  hoverKey = "";
  set({ hover: null });
}

export async function selectAt(x: number, y: number): Promise<void> {
  const hit = sweepCellAt(x, y);
  if (!hit) { set({ selected: null, samples: null, recomputed: null }); return; }
  const api = get().api!;
  const detail = await api.getCell(hit.sweep.id, hit.cell);
  set({ selected: detail, panel: "inspector", samples: null, recomputed: null });
  if (hit.sweep.family === "mlp" && !detail.curve) await recomputeCurve(hit.sweep.id, hit.cell);
  if (hit.sweep.family !== "gpt") return;
  const list = await api.listSamples(hit.sweep.id, hit.cell);
  const sel = get().selected;
  if (sel?.sweepId === hit.sweep.id && sel.cell === hit.cell) set({ samples: { sweepId: hit.sweep.id, cell: hit.cell, list, busy: false, error: null } });
}

/** The selected MLP cell's curve, re-trained on this computer (its sweep kept no curves); dropped if the selection moved on. */
async function recomputeCurve(sweepId: string, cell: number): Promise<void> {
  set({ recomputed: { sweepId, cell, result: null, error: null } });
  const mine = () => { const r = get().recomputed; return r?.sweepId === sweepId && r.cell === cell; };
  try {
    const result = await get().api!.recomputeCurve(sweepId, cell);
    if (mine()) set({ recomputed: { sweepId, cell, result, error: null } });
  } catch (e) {
    if (mine()) set({ recomputed: { sweepId, cell, result: null, error: (e as Error).message } });
  }
}

/** Re-train the selected SFT cell on its sweep's target and answer `prompts` (none: the held-out prompts). */
export async function generateSamples(prompts: string[], maxNewTokens: number): Promise<void> {
  const cur = get().samples;
  if (!cur || cur.busy) return;
  const { sweepId, cell } = cur;
  const mine = () => { const s = get().samples; return s?.sweepId === sweepId && s.cell === cell ? s : null; };
  set({ samples: { ...cur, busy: true, error: null } });
  try {
    const got = await get().api!.generateSamples(sweepId, cell, { prompts: prompts.length ? prompts : null, maxNewTokens });
    const s = mine();
    if (s) set({ samples: { ...s, busy: false, list: [got, ...s.list.filter((o) => JSON.stringify(o.request) !== JSON.stringify(got.request))] } });
  } catch (e) {
    const s = mine();
    if (s) set({ samples: { ...s, busy: false, error: (e as Error).message } });
  }
}

let zoomSeq = 0;

/**
 * Open the zoom dialog on the parent's target (when it is still a target, else "local") at that target's zoom
 * resolution. The cached targets give the first defaults; the list is fetched again (a probe may have found
 * GPUs since) and the defaults follow it, except what the user has already chosen.
 */
export async function openZoomDialog(parentId: string, window: Window): Promise<void> {
  const seq = ++zoomSeq;
  const parentTarget = get().sweeps[parentId]?.target;
  const cached = get().targets;
  const first = zoomDefaults(cached, parentTarget);
  const req: ZoomRequest = { parentId, window, points: first.points, steps: null, target: first.target };
  set({ zoomDialog: { seq, req, preview: null, error: null, busy: false, targetTouched: false, pointsTouched: false } });
  // With a cached list the preview can start now; without one it waits for the list (else it would cost 24 points on local).
  const early = cached ? previewZoom() : null;
  const fresh = await refreshTargets();
  const d = get().zoomDialog;
  if (!d || d.seq !== seq) return;
  const next = zoomDefaults(fresh, parentTarget);
  const patch: Partial<ZoomRequest> = {};
  if (!d.targetTouched && next.target !== d.req.target) patch.target = next.target;
  const target = patch.target ?? d.req.target;
  const points = fresh?.find((t) => t.target === target)?.zoomPoints ?? next.points;
  if (!d.pointsTouched && points !== d.req.points) patch.points = points;
  if (Object.keys(patch).length || !early) await applyZoomPatch(patch);
  else await early;
}

/** The user changed fields of the zoom request (points typed, steps, ...): they are kept over later defaults. */
export async function updateZoomRequest(patch: Partial<ZoomRequest>): Promise<void> {
  const d = get().zoomDialog;
  if (!d) return;
  if ("points" in patch && !d.pointsTouched) set({ zoomDialog: { ...d, pointsTouched: true } });
  if ("target" in patch && !d.targetTouched) set({ zoomDialog: { ...get().zoomDialog!, targetTouched: true } });
  await applyZoomPatch(patch);
}

/** The user picked a target: the points follow that target's zoom resolution unless they typed a value. */
export async function setZoomTarget(target: string): Promise<void> {
  const d = get().zoomDialog;
  if (!d) return;
  const t = get().targets?.find((x) => x.target === target);
  const patch: Partial<ZoomRequest> = { target };
  if (!d.pointsTouched && t) patch.points = t.zoomPoints;
  set({ zoomDialog: { ...d, targetTouched: true } });
  await applyZoomPatch(patch);
}

async function applyZoomPatch(patch: Partial<ZoomRequest>): Promise<void> {
  const d = get().zoomDialog;
  if (!d) return;
  set({ zoomDialog: { ...d, req: { ...d.req, ...patch } } });
  await previewZoom();
}

/** Cost the dialog's current request; an answer for a request since changed is dropped. */
async function previewZoom(): Promise<void> {
  const d = get().zoomDialog;
  if (!d) return;
  const req = d.req;
  try {
    const preview = await get().api!.previewZoom(req);
    if (get().zoomDialog?.req === req) set({ zoomDialog: { ...get().zoomDialog!, preview, error: null } });
  } catch (e) {
    if (get().zoomDialog?.req === req) set({ zoomDialog: { ...get().zoomDialog!, preview: null, error: (e as Error).message } });
  }
}

export async function confirmZoom(): Promise<void> {
  const d = get().zoomDialog;
  if (!d) return;
  set({ zoomDialog: { ...d, busy: true } });
  try {
    const child = await get().api!.startZoom(d.req);
    set((st) => ({ sweeps: { ...st.sweeps, [child.id]: child }, zoomDialog: null, focusId: child.id }));
    void refreshLayer(child.id);
  } catch (e) {
    set({ zoomDialog: { ...d, busy: false, error: (e as Error).message } });
  }
}
