// Slice: the targets sweeps can run on ("local" and every host) and the zoom dialog that launches a zoom on one.

import type { TargetInfo, ZoomPreview, ZoomRequest } from "../../src-shared/contract";
import { zoomDefaults } from "../sweep-control";
import type { Window } from "../view";
import { refreshLayer } from "./layers";
import { useUi } from "./ui-store";

/**
 * The zoom dialog. `seq` tells one opening from the next (an answer for a closed or reopened dialog is dropped);
 * `targetTouched` / `pointsTouched`: the user chose these, so defaults that arrive later leave them alone.
 */
export interface ZoomDialogState {
  seq: number; req: ZoomRequest; preview: ZoomPreview | null; error: string | null; busy: boolean;
  targetTouched: boolean; pointsTouched: boolean;
}

export interface TargetsSlice {
  /** "local" and every host (api.listTargets), cached; null until first fetched. */
  targets: TargetInfo[] | null;
  zoomDialog: ZoomDialogState | null;
  /** A zoom scan confirmed and being started (the dialog closed at once; a spinner stands in its place). */
  zoomPending: { req: ZoomRequest } | null;
}

const get = useUi.getState;
const set = useUi.setState;

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

/**
 * Start the dialog's zoom scan. The dialog closes at once (opening the target can take seconds) and a spinner stands
 * in its place until the zoom is recorded; on failure the dialog comes back with the error and the request as it was.
 */
export async function confirmZoom(): Promise<void> {
  const d = get().zoomDialog;
  if (!d || d.busy || get().zoomPending) return;
  set({ zoomDialog: null, zoomPending: { req: d.req } });
  try {
    const child = await get().api!.startZoom(d.req);
    set((st) => ({ sweeps: { ...st.sweeps, [child.id]: child }, zoomPending: null, focusId: child.id }));
    void refreshLayer(child.id);
  } catch (e) {
    set({ zoomPending: null, zoomDialog: { ...d, busy: false, error: (e as Error).message } });
  }
}
