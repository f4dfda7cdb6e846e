// Slice: the float64 view and its zoom history (kept in the URL too), the map's size, the main area's mode, the
// fill toggle, the shift-drag box and the zoom video; opening a sweep (its tree drawn, the view fitted).

import type { SweepSummary } from "../../src-shared/contract";
import { writePaletteParam } from "../palette-choice";
import { download, recordZoom } from "../record";
import { equalAspect, fitWindow, type View, type Viewport, type Window } from "../view";
import { layerArrived, loadLayer, parkLayers } from "./layers";
import { pushNotice } from "./notices";
import { clearedSelection } from "./selection";
import { ancestry, drawnSweeps } from "./sweeps";
import { type UiState, useUi } from "./ui-store";

export interface NavigationSlice {
  view: View | null;
  viewport: Viewport;
  history: View[];
  historyIndex: number;
  /**
   * The main area: the 2-D map, the 3-D surface, the library of sweeps with thumbnails, the Table 1 report, or two
   * sweeps compared (store/compare.ts).
   */
  mode: "map" | "surface" | "library" | "table1" | "compare";
  /** Fill the map area, stretched, instead of 1:1 in axis units (view.ts equalAspect). */
  fill: boolean;
  /** The zoom video being recorded (record.ts): frames drawn of all (null: none). */
  recording: { done: number; frames: number } | null;
  box: Window | null;
  /** Counts home presses (the button, the 0 key): the 3-D view puts its camera back on each. */
  cameraHomes: number;
  /** The autopilot is diving toward the boundary (store/autopilot.ts). */
  diving: boolean;
}

const get = useUi.getState;
const set = useUi.setState;

/** Whether the map must be drawn again: the view, its size, the sweeps or their layers changed (GlMap, MapPreview2D). */
export function mapInputsChanged(st: UiState, prev: UiState): boolean {
  return st.view !== prev.view || st.layerRevisions !== prev.layerRevisions || st.viewport !== prev.viewport || st.sweeps !== prev.sweeps
    || st.palettes !== prev.palettes;
}

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
  // The same view (another sweep of the same window opened): no new history step, but the URL names the new sweep.
  if (last && last.cx === view.cx && last.cy === view.cy && last.sx === view.sx && last.sy === view.sy) { writeUrl(); return; }
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
  set({ view: fitWindow(s.window, st.viewport, 24, isEqualAspect(st, root)), cameraHomes: st.cameraHomes + 1 });
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
  const ready = (st: UiState) => !st.rootId || st.layerRevisions[st.rootId] !== undefined || st.mode !== "map";
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
    // The page cannot see where the browser puts a download, only what it is called: name it, so it can be found.
    // Electron asks where to save a download (no will-download handler), a browser puts it in its downloads folder.
    const where = "fractalApi" in window ? "where you chose to save it" : "in this browser's downloads folder";
    pushNotice(`zoom video saved as ${name} (${seconds} s, ${(blob.size / 1e6).toFixed(1)} MB) ${where}`, "done");
    return name;
  } catch (e) {
    pushNotice(`could not record the zoom: ${(e as Error).message}`, "error");
    return null;
  } finally {
    set({ view: to, recording: null });
  }
}

function writeUrl(): void {
  const { view, focusId } = get();
  if (!view || !focusId) return;
  const u = new URL(location.href);
  u.searchParams.set("sweep", focusId);
  u.searchParams.set("view", [view.cx, view.cy, view.sx, view.sy].map(String).join(","));
  writePaletteParam(u, get().palettes);
  history.replaceState(null, "", u.toString());
}

/** Show sweep `id`: its root's tree is drawn, the view fits `id` unless one is given. */
export async function openSweep(id: string, view?: View): Promise<void> {
  const st = get();
  const chain = ancestry(id, st.sweeps);
  if (!chain.length) throw new Error(`unknown sweep ${id}`);
  const rootId = chain[0].id;
  const leave = rootId === st.rootId ? {} : parkLayers(); // another tree: its layers are parked, none drawn
  set({ rootId, focusId: id, ...clearedSelection(), ...leave, mode: st.mode === "surface" ? "surface" : "map" });
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
