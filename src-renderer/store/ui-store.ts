// The one zustand store the components read (`useUi`): the slices' state composed, each slice's starting values
// beside its name. Each slice module holds its part of the state's type and the functions that change it; the big
// layer arrays are not in here (store/layer-cache.ts), only their revisions.

import { create } from "zustand";
import type { Api } from "../../src-shared/contract";
import { storedPalettes } from "../palette-choice";
import type { LayersSlice } from "./layers";
import type { NavigationSlice } from "./navigation";
import type { NoticesSlice } from "./notices";
import type { PalettesSlice } from "./palettes";
import type { PinsSlice } from "./pins";
import type { SelectionSlice } from "./selection";
import type { SweepsSlice } from "./sweeps";
import type { TargetsSlice } from "./targets";

/** The server connection (state.ts start). */
export interface ConnectionSlice {
  api: Api | null;
  connection: "connecting" | "open" | "closed";
  connectionError: string | null;
}

export type UiState = ConnectionSlice & SweepsSlice & LayersSlice & NavigationSlice & SelectionSlice & NoticesSlice & TargetsSlice
  & PinsSlice & PalettesSlice;

export const useUi = create<UiState>(() => ({
  // connection
  api: null, connection: "connecting", connectionError: null,
  // sweeps & library
  sweeps: {}, rootId: null, focusId: null, previews: {}, reproductions: null,
  // layers
  layer: "score", layerRevisions: {},
  // palettes per kind of layer, as this browser last chose them
  palettes: storedPalettes(),
  // view & navigation
  view: null, viewport: { width: 0, height: 0 }, history: [], historyIndex: -1, mode: "map", fill: false, recording: null, box: null,
  cameraHomes: 0, diving: false,
  // hover, selection & inspector
  hover: null, selected: null, samples: null, recomputed: null, panel: "inspector", pinned: [],
  // notices & progress
  progress: {}, notices: [],
  // targets & the zoom dialog
  targets: null, zoomDialog: null, zoomPending: null,
}));
