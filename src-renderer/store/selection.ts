// Slice: the cell under the cursor, the selected cell and the side panel showing it (the inspector), with the
// selected cell's SFT samples or its re-trained MLP curve.

import type { CellDetail, CellSamples, RecomputedCurve, SweepSummary } from "../../src-shared/contract";
import { pickCell } from "../view";
import { layerOf, layerValueAt } from "./layer-cache";
import { drawnSweeps } from "./sweeps";
import { useUi } from "./ui-store";

/** The selected SFT cell's samples: those kept in the store (newest first), and a generation in flight. */
export interface SamplesState { sweepId: string; cell: number; list: CellSamples[]; busy: boolean; error: string | null }

/** The selected MLP cell's curve re-trained on this computer because its sweep recorded none (api.recomputeCurve). */
export interface RecomputeState { sweepId: string; cell: number; result: RecomputedCurve | null; error: string | null }

export interface SelectionSlice {
  /** The cell under the cursor, and the cursor in the map's pixels (the read-out sits there). */
  hover: { sweepId: string; cell: number; detail: CellDetail | null; px: number; py: number } | null;
  selected: CellDetail | null;
  samples: SamplesState | null;
  recomputed: RecomputeState | null;
  panel: "inspector" | "editor" | "hosts";
}

const get = useUi.getState;
const set = useUi.setState;

/** The finest drawn sweep with a result (or, failing that, any) at world point (x, y). */
export function sweepCellAt(x: number, y: number): { sweep: SweepSummary; cell: number } | null {
  const drawn = drawnSweeps(get());
  let fallback: { sweep: SweepSummary; cell: number } | null = null;
  for (let k = drawn.length - 1; k >= 0; k--) {
    const s = drawn[k];
    const c = pickCell(s.window, s.nx, s.ny, x, y);
    if (!c) continue;
    const layer = layerOf(s.id);
    if (layer && layerValueAt(layer, c.ix, c.iy) > -1e29) return { sweep: s, cell: c.index };
    if (k === 0 || !fallback) fallback = fallback ?? { sweep: s, cell: c.index };
  }
  return fallback;
}

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

/** Counts clicks and map switches: a cell's details that arrive after either are dropped, never shown for the new map. */
let selectSeq = 0;

/** The state that clears the selection, for a map being switched: a click still waiting for its cell is dropped too. */
export function clearedSelection(): Pick<SelectionSlice, "selected" | "samples" | "recomputed" | "hover"> {
  selectSeq++;
  hoverKey = "";
  return { selected: null, samples: null, recomputed: null, hover: null };
}

export async function selectAt(x: number, y: number): Promise<void> {
  const seq = ++selectSeq;
  const hit = sweepCellAt(x, y);
  if (!hit) { set({ selected: null, samples: null, recomputed: null }); return; }
  const api = get().api!;
  const detail = await api.getCell(hit.sweep.id, hit.cell);
  if (seq !== selectSeq) return; // another cell clicked, or another map opened, meanwhile
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
