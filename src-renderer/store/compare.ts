// The compare mode's store (its own, like analysis.ts's): the two sweeps picked in the runs table, their layers as the
// API serves them (the header's layer to draw, the trainable layer for the difference), the difference (compare.ts),
// and the view: one shared by both maps and the difference when the axes are the same, else one per map. The pair
// and the shared view are kept in the URL (compare=A,B&cview=cx,cy,sx,sy), so the link reopens the comparison.

import { create } from "zustand";
import type { LayerData, SweepSummary } from "../../src-shared/contract";
import { axesDiffer, compareMaps, type Difference, overlap } from "../compare";
import { equalAspect, fitWindow, type View, type Viewport } from "../view";
import { useUi } from "./ui-store";

export interface CompareState {
  /** The library shows the runs table (not the cards): set on leaving a comparison, which was opened from there. */
  libraryTable: boolean;
  /** Ticked in the runs table, in the order ticked (the first is A); kept while other modes are shown. */
  picked: string[];
  pair: [string, string] | null;
  /** views[0] is the shared view (axes the same) or A's, views[1] B's when the axes differ. */
  views: [View | null, View | null];
  /** The size of a map panel (all three are the same size). */
  viewport: Viewport;
  /** Each map's layer in the header's layer, to draw. */
  shown: [LayerData | null, LayerData | null];
  /** Each map's trainable layer, for the difference. */
  trainable: [LayerData | null, LayerData | null];
  diff: Difference | null;
  error: string | null;
  /** The point under the cursor in axis units, and the panel it is over (0 A, 1 B, 2 the difference). */
  hover: { x: number; y: number; panel: 0 | 1 | 2 } | null;
}

export const useCompare = create<CompareState>(() => ({
  libraryTable: false, picked: [], pair: null, views: [null, null], viewport: { width: 0, height: 0 }, shown: [null, null], trainable: [null, null], diff: null, error: null,
  hover: null,
}));

const get = useCompare.getState;
const set = useCompare.setState;

/** Tick or untick sweep `id` in the runs table. */
export function pickForCompare(id: string, on: boolean): void {
  const rest = get().picked.filter((p) => p !== id);
  set({ picked: on ? [...rest, id] : rest });
}

/** The two sweeps of the pair (undefined where one is gone), and whether they can share one view and a difference. */
export function comparePair(st = get(), sweeps = useUi.getState().sweeps): { a?: SweepSummary; b?: SweepSummary; axes: string | null } {
  const a = st.pair ? sweeps[st.pair[0]] : undefined, b = st.pair ? sweeps[st.pair[1]] : undefined;
  return { a, b, axes: a && b ? axesDiffer(a, b) : null };
}

/** Open the compare mode on sweeps `a` and `b`; `view` (a link's shared view) instead of fitting the maps. */
export async function openCompare(a: string, b: string, view?: View): Promise<void> {
  const { sweeps } = useUi.getState();
  if (!sweeps[a] || !sweeps[b]) throw new Error(`unknown sweep ${sweeps[a] ? b : a}`);
  // The pair is what the runs table has ticked, also when a link opened it.
  set({ picked: [a, b], pair: [a, b], views: [view ?? null, null], shown: [null, null], trainable: [null, null], diff: null, error: null, hover: null });
  useUi.setState({ mode: "compare" });
  fitIfNeeded();
  writeUrl();
  await loadLayers();
}

/** Leave the compare mode for the library's runs table (the pair is forgotten, and so is the link's part of it). */
export function closeCompare(): void {
  set({ libraryTable: true });
  useUi.setState({ mode: "library" });
}

let loading: Promise<void> | null = null;
let again = false;

/** Fetch both maps' layers (the header's and the trainable one) and compute the difference; once more if asked meanwhile. */
export function loadLayers(): Promise<void> {
  if (loading) { again = true; return loading; }
  loading = (async () => {
    const { api, layer } = useUi.getState();
    const pair = get().pair;
    if (!api || !pair) return;
    try {
      const trainable = await Promise.all(pair.map((id) => api.getLayer(id, "trainable")));
      const shown = layer === "trainable" ? trainable : await Promise.all(pair.map((id) => api.getLayer(id, layer)));
      if (get().pair !== pair) return;
      const { a, b, axes } = comparePair();
      const diff = a && b && !axes ? compareMaps(
        { window: a.window, nx: a.nx, ny: a.ny, values: trainable[0].values },
        { window: b.window, nx: b.nx, ny: b.ny, values: trainable[1].values },
      ) : null;
      set({ trainable: [trainable[0], trainable[1]], shown: [shown[0], shown[1]], diff, error: null });
    } catch (e) {
      if (get().pair === pair) set({ error: (e as Error).message });
    }
  })().finally(() => {
    loading = null;
    if (again) { again = false; void loadLayers(); }
  });
  return loading;
}

/** The size of the map panels, measured; the first measurement fits the view(s). */
export function setCompareViewport(vp: Viewport): void {
  const cur = get().viewport;
  if (cur.width === vp.width && cur.height === vp.height) return;
  set({ viewport: vp });
  fitIfNeeded();
}

/** Fit the views to the maps: the shared one to the part both windows cover (where the difference is), else each its own. */
export function fitCompare(): void {
  const { viewport } = get();
  const { a, b, axes } = comparePair();
  if (!a || !b || viewport.width === 0) return;
  const fit = (s: SweepSummary, w = s.window) => fitWindow(w, viewport, 8, equalAspect(s.xAxis.scale, s.yAxis.scale, w));
  if (axes) set({ views: [fit(a), fit(b)] });
  else set({ views: [fit(a, overlap(a.window, b.window) ?? union(a.window, b.window)), null] });
  writeUrl();
}

function fitIfNeeded(): void {
  const { views, viewport } = get();
  const { axes } = comparePair();
  if (viewport.width > 0 && (!views[0] || (axes && !views[1]))) fitCompare();
}

const union = (p: SweepSummary["window"], q: SweepSummary["window"]) =>
  ({ x0: Math.min(p.x0, q.x0), x1: Math.max(p.x1, q.x1), y0: Math.min(p.y0, q.y0), y1: Math.max(p.y1, q.y1) });

/** Move view `i` (0: the shared one or A's, 1: B's). `commit`: the gesture ended, the link follows. */
export function setCompareView(i: 0 | 1, v: View, commit = false): void {
  const views: [View | null, View | null] = [...get().views];
  views[i] = v;
  set({ views });
  if (commit) writeUrl();
}

/** The compare part of the URL: compare=A,B and, with a shared view, cview; removed outside the compare mode. */
function writeUrl(): void {
  const u = new URL(location.href);
  const { pair, views } = get();
  const { axes } = comparePair();
  if (useUi.getState().mode === "compare" && pair) {
    u.searchParams.set("compare", pair.join(","));
    if (views[0] && !axes) u.searchParams.set("cview", [views[0].cx, views[0].cy, views[0].sx, views[0].sy].map(String).join(","));
    else u.searchParams.delete("cview");
  } else {
    u.searchParams.delete("compare");
    u.searchParams.delete("cview");
  }
  history.replaceState(history.state, "", u.toString());
}

/** A link's shared view (cview), or undefined. */
export function parseView(s: string | null): View | undefined {
  const v = s?.split(",").map(Number);
  return v && v.length === 4 && v.every(Number.isFinite) && v[2] > 0 && v[3] > 0 ? { cx: v[0], cy: v[1], sx: v[2], sy: v[3] } : undefined;
}

// Follow the main store: leaving the mode drops the pair and its link; another layer picked, or new results in either
// sweep, fetch the layers again; a sweep of the pair deleted says so.
useUi.subscribe((st, prev) => {
  if (prev.mode === "compare" && st.mode !== "compare") {
    set({ pair: null, views: [null, null], shown: [null, null], trainable: [null, null], diff: null, error: null, hover: null });
    writeUrl();
    return;
  }
  const pair = get().pair;
  if (st.mode !== "compare" || !pair) return;
  if (st.layer !== prev.layer) { void loadLayers(); return; }
  if (st.sweeps === prev.sweeps) return;
  if (pair.some((id) => !st.sweeps[id])) { set({ error: "a sweep of this comparison was deleted" }); return; }
  if (pair.some((id) => prev.sweeps[id]?.doneCells !== st.sweeps[id].doneCells || prev.sweeps[id]?.status !== st.sweeps[id].status)) refetchSoon();
});

/**
 * While either sweep streams results, its layers are fetched whole again (the difference needs every cell) at most
 * this often, so a large map streaming at 10k cells/s does not keep the socket busy with full layers.
 */
const STREAM_REFETCH_MS = 2000;
let refetchTimer: ReturnType<typeof setTimeout> | null = null;
function refetchSoon(): void {
  if (refetchTimer) return;
  refetchTimer = setTimeout(() => { refetchTimer = null; void loadLayers(); }, STREAM_REFETCH_MS);
}
