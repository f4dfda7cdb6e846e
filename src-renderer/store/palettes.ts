// Slice: the palette each kind of layer is drawn with (scores, outcomes, losses: colours.ts PALETTES), chosen in the
// legend. Remembered in this browser's localStorage, so a reload (and the next visit) keeps the choice, and written to
// the view link (store/navigation.ts), so a pasted link shows the colours its sender saw; a link without one, or
// naming an unknown palette, falls back to what this browser chose (palette-choice.ts).

import { type LayerKind, type Palette, type PaletteName, paletteOf } from "../../src-shared/colours";
import { formatPalettes, type Palettes, PALETTES_KEY, parsePalettes, writePaletteParam } from "../palette-choice";
import { useUi } from "./ui-store";

export interface PalettesSlice {
  palettes: Palettes;
}

const get = useUi.getState;
const set = useUi.setState;

/** Draw layers of `kind` with palette `name` from now on, here and on the next visit. */
export function setPalette(kind: LayerKind, name: PaletteName): void {
  const palettes = { ...get().palettes, [kind]: name };
  set({ palettes });
  try { localStorage.setItem(PALETTES_KEY, formatPalettes(palettes)); } catch { /* storage off: this page only */ }
  const u = new URL(location.href);
  writePaletteParam(u, palettes);
  history.replaceState(history.state, "", u.toString());
}

/** A link's choices (its `palette` parameter) over this browser's; not remembered unless changed in the legend. */
export function applyLinkPalettes(param: string | null): void {
  const linked = parsePalettes(param);
  if (Object.keys(linked).length) set((st) => ({ palettes: { ...st.palettes, ...linked } }));
}

/** The palette a layer of this kind is drawn with. */
export function paletteFor(st: PalettesSlice, kind: LayerKind): Palette {
  return paletteOf(st.palettes[kind], kind);
}
