// The analysis shown beside the map and over it: the focused sweep's fractal dimension (with its zoom path
// pooled) and its edge of stability (boundary polylines, per-row edge, power law), fetched through the Api's
// getAnalysis. Its own small store, so the overlay toggle and options do not touch the map's state.

import { create } from "zustand";
import type { SweepAnalysis } from "../src-shared/contract";
import { mapReady, useUi } from "./state";
import type { View, Viewport } from "./view";
import { worldToScreen } from "./view";

export interface AnalysisState {
  layer: "trainable" | "stable";
  /** Pool the focused sweep's zoom path (root first) rather than measure the sweep alone. */
  sequence: boolean;
  /** Draw the boundary, the per-row edge and the power law over the map. */
  overlay: boolean;
  data: SweepAnalysis | null;
  error: string | null;
}

export const useAnalysis = create<AnalysisState>(() => ({ layer: "trainable", sequence: true, overlay: false, data: null, error: null }));

let inFlight: Promise<void> | null = null;
let again = false;

/** Fetch the analysis of the focused sweep; a request made while one is in flight runs once more after it. */
export function refreshAnalysis(): Promise<void> {
  if (inFlight) { again = true; return inFlight; }
  inFlight = (async () => {
    await mapReady(); // the map's first frame first: a large map's analysis takes the server seconds
    const { api, focusId } = useUi.getState();
    if (!api || !focusId) { useAnalysis.setState({ data: null, error: null }); return; }
    const { layer, sequence } = useAnalysis.getState();
    try {
      const data = await api.getAnalysis(focusId, { layer, sequence });
      useAnalysis.setState({ data, error: null });
    } catch (e) {
      useAnalysis.setState({ data: null, error: (e as Error).message });
    }
  })().finally(() => {
    inFlight = null;
    if (again) { again = false; void refreshAnalysis(); }
  });
  return inFlight;
}

export function setAnalysisOptions(patch: Partial<Pick<AnalysisState, "layer" | "sequence">>): Promise<void> {
  useAnalysis.setState(patch);
  return refreshAnalysis();
}

/** Refetch when the focused sweep changes or gains results. Returns the unsubscribe. */
/** While results stream into the focused sweep, the analysis (box counting over the whole map: seconds on a
 *  4096^2 map, during which the server serves nothing else) is refreshed at most this often. */
const STREAMING_REFRESH_MS = 10_000;

export function followFocus(): () => void {
  const key = (st: ReturnType<typeof useUi.getState>) => {
    const s = st.focusId ? st.sweeps[st.focusId] : undefined;
    return s ? { id: s.id, done: s.doneCells, status: s.status } : null;
  };
  let last = key(useUi.getState());
  let lastFetch = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const refresh = () => {
    timer = null;
    lastFetch = Date.now();
    void refreshAnalysis();
  };
  if (last) refresh();
  const unsubscribe = useUi.subscribe((st) => {
    const k = key(st);
    if (k?.id === last?.id && k?.done === last?.done && k?.status === last?.status) return;
    const onlyMoreCells = k !== null && last !== null && k.id === last.id && k.status === last.status;
    last = k;
    if (!onlyMoreCells) { // another sweep, or a status change (the end of a sweep): at once
      if (timer) clearTimeout(timer);
      refresh();
    } else if (!timer) {
      timer = setTimeout(refresh, Math.max(0, lastFetch + STREAMING_REFRESH_MS - Date.now()));
    }
  });
  return () => {
    unsubscribe();
    if (timer) clearTimeout(timer);
  };
}

/**
 * A polyline in axis units as SVG path data in the map's pixels. Positions are computed in float64 (view.ts) and
 * each segment is clipped to the viewport plus a margin, so deep in a zoom no coordinate handed to the SVG
 * renderer is huge (a segment a cell long may span 1e12 pixels there).
 */
export function polylinePath(points: readonly [number, number][], view: View, vp: Viewport, margin = 16): string {
  const lo = -margin, hx = vp.width + margin, hy = vp.height + margin;
  const parts: string[] = [];
  let open = false; // is the current subpath's last point the previous segment's (unclipped) end?
  const fmt = (x: number, y: number) => `${x.toFixed(1)} ${y.toFixed(1)}`;
  for (let i = 1; i < points.length; i++) {
    const a = worldToScreen(view, vp, points[i - 1][0], points[i - 1][1]);
    const b = worldToScreen(view, vp, points[i][0], points[i][1]);
    // Liang–Barsky: the parameter range [t0, t1] of a + t (b - a) inside the box.
    const dx = b.px - a.px, dy = b.py - a.py;
    let t0 = 0, t1 = 1;
    const edges: [number, number][] = [[-dx, a.px - lo], [dx, hx - a.px], [-dy, a.py - lo], [dy, hy - a.py]];
    let inside = true;
    for (const [p, q] of edges) {
      if (p === 0) { if (q < 0) { inside = false; break; } continue; }
      const r = q / p;
      if (p < 0) { if (r > t1) { inside = false; break; } if (r > t0) t0 = r; }
      else { if (r < t0) { inside = false; break; } if (r < t1) t1 = r; }
    }
    if (!inside) { open = false; continue; }
    if (!open || t0 > 0) parts.push(`M${fmt(a.px + t0 * dx, a.py + t0 * dy)}`);
    parts.push(`L${fmt(a.px + t1 * dx, a.py + t1 * dy)}`);
    open = t1 === 1;
  }
  return parts.join("");
}
