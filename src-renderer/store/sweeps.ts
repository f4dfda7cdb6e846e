// Slice: the sweeps the server knows, which tree is open (its root and the sweep in focus), the library's score
// thumbnails, sweep control (cancel / resume) and the Table 1 reproductions.

import type { LayerData, Reproduction, ReproductionRequest, SweepSummary } from "../../src-shared/contract";
import { pushNotice } from "./notices";
import { useUi } from "./ui-store";

export interface SweepsSlice {
  sweeps: Record<string, SweepSummary>;
  rootId: string | null;
  /** The sweep the breadcrumb ends at (the one last opened or zoomed into). */
  focusId: string | null;
  /** Small score previews per sweep (library thumbnails, the overview map). */
  previews: Record<string, LayerData>;
  /** Table 1 reproductions by id (api.listReproductions, then "reproduction-updated" events); null until first fetched. */
  reproductions: Record<string, Reproduction> | null;
}

const get = () => useUi.getState();
const set = useUi.setState;

/** The chain from the root down to `id`. */
export function ancestry(id: string, sweeps: Record<string, SweepSummary>): SweepSummary[] {
  const out: SweepSummary[] = [];
  for (let s: SweepSummary | undefined = sweeps[id]; s; s = s.parentId ? sweeps[s.parentId] : undefined) out.unshift(s);
  return out;
}

/** The root's whole tree, coarsest first, so finer zooms draw on top. */
export function drawnSweeps(st: Pick<SweepsSlice, "rootId" | "sweeps">): SweepSummary[] {
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

/**
 * Keep a sweep the server just answered with (cancel, resume) without waiting for its "sweep-updated" event, unless
 * an event already brought a newer state (events and answers can cross).
 */
function putSweep(s: SweepSummary): void {
  const cur = get().sweeps[s.id];
  if (cur && cur.updatedAt > s.updatedAt) return;
  set((st) => ({ sweeps: { ...st.sweeps, [s.id]: s } }));
}

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

/**
 * Train the cells boundary sweep `id` inferred (api.fillInSweep): the grid sweep of the same spec starts on the same
 * target from the trained cells. Resolves to its summary (the caller opens it); a refusal is an error notice, null.
 */
export async function fillInSweep(id: string): Promise<SweepSummary | null> {
  try {
    const s = await get().api!.fillInSweep(id);
    putSweep(s);
    pushNotice(`filling in ${get().sweeps[id]?.name ?? id}: its inferred cells train in sweep ${s.id}, from its trained cells`, "info", s.id);
    return s;
  } catch (e) {
    pushNotice(`could not fill in ${get().sweeps[id]?.name ?? id}: ${(e as Error).message}`, "error", id);
    return null;
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

export function putReproduction(r: Reproduction): void {
  set((st) => ({ reproductions: { ...(st.reproductions ?? {}), [r.id]: r } }));
}
