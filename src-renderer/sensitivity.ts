// The sensitivity layer: which cells of the focused sweep flip under a perturbation that should not matter (its
// companion sweep, api.startSensitivity), fetched with getSensitivity and drawn over the map in colours of its own
// (flip / no flip / not computed), with the fraction of boundary cells that flip. Its own small store, like the
// analysis panel's, so toggling it does not touch the map's state.

import { create } from "zustand";
import { FLIP, NOT_COMPUTED, type Perturbation, type SensitivityReport } from "../src-shared/contract";
import { useUi } from "./state";

export interface SensitivityState {
  perturbation: Perturbation;
  /** Draw the flips over the map. */
  overlay: boolean;
  report: SensitivityReport | null;
  busy: boolean;
  error: string | null;
}

export const useSensitivity = create<SensitivityState>(() => ({ perturbation: "precision", overlay: true, report: null, busy: false, error: null }));

/** The layer's colours (RGBA): flips stand out, cells that did not flip are dimmed, cells not compared are grey. */
export const SENSITIVITY_COLOURS = { flip: [255, 0, 255, 235], same: [0, 0, 0, 140], notComputed: [128, 128, 128, 215] } as const;

/** The report's cells as an nx x ny RGBA image, top row first (cell row iy = 0 is the bottom of the map). */
export function sensitivityImage(flips: Uint8Array, nx: number, ny: number): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(new ArrayBuffer(nx * ny * 4));
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const v = flips[iy * nx + ix];
      const c = v === FLIP ? SENSITIVITY_COLOURS.flip : v === NOT_COMPUTED ? SENSITIVITY_COLOURS.notComputed : SENSITIVITY_COLOURS.same;
      out.set(c, ((ny - 1 - iy) * nx + ix) * 4);
    }
  }
  return out;
}

/** "12 of 40 boundary cells flip (30.0%)", or why there is no fraction yet. */
export function flipLine(flips: number, cells: number, fraction: number | null, what: string): string {
  return fraction === null ? `no ${what} cells compared yet` : `${flips} of ${cells} ${what} cells flip (${(100 * fraction).toFixed(1)}%)`;
}

let inFlight: Promise<void> | null = null;
let again = false;

/** Fetch the comparison of the focused sweep with its companion; one request at a time, the last one asked for wins. */
export function refreshSensitivity(): Promise<void> {
  if (inFlight) { again = true; return inFlight; }
  inFlight = (async () => {
    const { api, focusId, sweeps } = useUi.getState();
    const s = focusId ? sweeps[focusId] : undefined;
    if (!api || !s || s.status !== "completed") { useSensitivity.setState({ report: null, error: null }); return; }
    try {
      const report = await api.getSensitivity(s.id, useSensitivity.getState().perturbation);
      useSensitivity.setState({ report, error: null });
    } catch (e) {
      useSensitivity.setState({ report: null, error: (e as Error).message });
    }
  })().finally(() => {
    inFlight = null;
    if (again) { again = false; void refreshSensitivity(); }
  });
  return inFlight;
}

/** Run the focused sweep's companion on its target (the server follows it; its cells fill the layer in). */
export async function startSensitivity(): Promise<void> {
  const { api, focusId } = useUi.getState();
  if (!api || !focusId) return;
  useSensitivity.setState({ busy: true, error: null });
  try {
    const report = await api.startSensitivity(focusId, useSensitivity.getState().perturbation);
    useSensitivity.setState({ report, overlay: true });
  } catch (e) {
    useSensitivity.setState({ error: (e as Error).message });
  } finally {
    useSensitivity.setState({ busy: false });
  }
}

export function setPerturbation(p: Perturbation): Promise<void> {
  useSensitivity.setState({ perturbation: p, report: null });
  return refreshSensitivity();
}

/** How often the panel asks again while the server says the companion runs. */
export const RUNNING_REFRESH_MS = 1000;

/** Refetch when the focused sweep changes or ends, and while its companion's cells come in (at most once a second).
 *  While the report says "running" it also asks again every RUNNING_REFRESH_MS: the run's end on the server (its
 *  follower returning after the companion's last cell) changes no sweep row, so no sweep event would fetch it. */
export function followSensitivity(): () => void {
  const key = (st: ReturnType<typeof useUi.getState>) => {
    const s = st.focusId ? st.sweeps[st.focusId] : undefined;
    const cid = useSensitivity.getState().report?.companionId;
    const c = cid ? st.sweeps[cid] : undefined;
    return `${s?.id}|${s?.status}|${c?.doneCells}|${c?.status}`;
  };
  let last = key(useUi.getState());
  let timer: ReturnType<typeof setTimeout> | null = null;
  const refreshIn = (ms: number) => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; void refreshSensitivity(); }, ms);
  };
  void refreshSensitivity();
  const unsubscribe = useUi.subscribe((st) => {
    const k = key(st);
    if (k === last) return;
    const focusChanged = k.split("|")[0] !== last.split("|")[0];
    last = k;
    if (focusChanged) useSensitivity.setState({ report: null });
    refreshIn(focusChanged ? 0 : 1000);
  });
  const unsubscribeReport = useSensitivity.subscribe((st) => {
    if (st.report?.state === "running") refreshIn(RUNNING_REFRESH_MS);
  });
  return () => {
    unsubscribe();
    unsubscribeReport();
    if (timer) clearTimeout(timer);
  };
}
