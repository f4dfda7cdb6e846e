// The UI's state: the one zustand store (`useUi`, store/ui-store.ts) composed of slices, one module per concern
// under store/, with the layers' big arrays kept outside it (store/layer-cache.ts). This module starts the
// connection, routes the server's events to the slices, and re-exports what components and tests use.

import type { Api, ApiEvent } from "../src-shared/contract";
import { mark } from "./perf";
import { ENDED } from "./sweep-control";
import { parseComparePair } from "./compare";
import { openCompare, parseView } from "./store/compare";
import { forgetSweep } from "./store/layer-cache";
import { streamLayer } from "./store/layers";
import { openSweep } from "./store/navigation";
import { pushNotice } from "./store/notices";
import { applyLinkPalettes } from "./store/palettes";
import { clearedSelection } from "./store/selection";
import { drawnSweeps, putReproduction } from "./store/sweeps";
import { useUi } from "./store/ui-store";

export { layerOf, layerValueAt, takePendingCells } from "./store/layer-cache";
export { refreshLayer, setLayer, streamLayer, useLayer } from "./store/layers";
export {
  commitView, exportZoomVideo, historyStep, home, isEqualAspect, mapInputsChanged, mapReady, openSweep, setFill, setView, setViewport,
} from "./store/navigation";
export { dismissNotice, type Progress, pushNotice } from "./store/notices";
export { paletteFor, setPalette } from "./store/palettes";
export {
  generateSamples, hoverAt, hoverOut, type RecomputeState, type SamplesState, selectAt, sweepCellAt,
} from "./store/selection";
export { ancestry, cancelSweep, drawnSweeps, fillInSweep, loadPreview, loadReproductions, resumeSweep, startReproduction } from "./store/sweeps";
export { confirmZoom, openZoomDialog, refreshTargets, setZoomTarget, updateZoomRequest, type ZoomDialogState } from "./store/targets";
export { type UiState, useUi } from "./store/ui-store";

const get = useUi.getState;
const set = useUi.setState;

export function onEvent(e: ApiEvent): void {
  if (e.type === "sweep-updated") {
    const prev = get().sweeps[e.sweep.id];
    set((st) => ({ sweeps: { ...st.sweeps, [e.sweep.id]: e.sweep } }));
    // A sweep that ended drops its last rate and ETA, so a resumed run does not start with stale figures.
    if (ENDED.includes(e.sweep.status) && get().progress[e.sweep.id]) set((st) => ({ progress: without(st.progress, e.sweep.id) }));
    const drawn = drawnSweeps(get()).some((s) => s.id === e.sweep.id);
    if (drawn && (!prev || prev.doneCells !== e.sweep.doneCells || prev.status !== e.sweep.status)) void streamLayer(e.sweep.id);
  } else if (e.type === "sweep-deleted") {
    forgetSweep(e.id);
    set((st) => {
      const sweeps = { ...st.sweeps };
      delete sweeps[e.id];
      return {
        sweeps, layerRevisions: without(st.layerRevisions, e.id), progress: without(st.progress, e.id),
        rootId: st.rootId === e.id ? null : st.rootId, focusId: st.focusId === e.id ? st.rootId : st.focusId,
        // The inspector and the read-out do not describe a cell of a sweep that is gone.
        ...(st.selected?.sweepId === e.id || st.hover?.sweepId === e.id ? clearedSelection() : {}),
      };
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
  applyLinkPalettes(params.get("palette"));
  api.subscribe(onEvent);
  const list = await api.listSweeps();
  mark("listed");
  set({ sweeps: Object.fromEntries(list.map((s) => [s.id, s])) });
  if (!list.length) return;
  const named = params.get("sweep");
  // Without a link naming a sweep: the root of the tree worked on last, whole, so the first thing seen is the map
  // with its context (the demo's deepest 125x zoom alone said nothing); its zooms are drawn over it.
  const byId = new Map(list.map((s) => [s.id, s]));
  let first = [...list].sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))[0];
  while (first.parentId && byId.has(first.parentId)) first = byId.get(first.parentId)!;
  const id = named && byId.has(named) ? named : first.id;
  const v = params.get("view")?.split(",").map(Number);
  await openSweep(id, v && v.length === 4 && v.every(Number.isFinite) ? { cx: v[0], cy: v[1], sx: v[2], sy: v[3] } : undefined);
  const pair = parseComparePair(params); // a compare link (store/compare.ts) reopens the comparison over the map
  if (pair && byId.has(pair[0]) && byId.has(pair[1])) await openCompare(pair[0], pair[1], parseView(params.get("cview")));
}
