// The palette choices as they are kept: per kind of layer, in this browser's localStorage and in the view link's
// `palette` parameter (`rank.viridis,log.magma`: only the kinds not at their default). Pure but for the storage, and
// free of the store, so the store's first state can read them (store/palettes.ts is the slice that changes them).

import { DEFAULT_PALETTES, isPaletteName, type LayerKind, type PaletteName } from "../src-shared/colours";
import type { LayerName } from "../src-shared/contract";

export type Palettes = Record<LayerKind, PaletteName>;

export const PALETTES_KEY = "fractal-llm-palettes";
const KINDS: readonly LayerKind[] = ["rank", "binary", "log"];

/** The kind of colouring a layer gets (api/layers.ts: the scores are ranked, outcomes binary, losses log10). */
export function layerKind(layer: LayerName): LayerKind {
  return layer === "score" || layer === "scoreTree" ? "rank" : layer === "trainable" || layer === "stable" ? "binary" : "log";
}

/** Choices as the link spells them ("rank.viridis,log.magma"); unknown kinds and palettes are dropped. */
export function parsePalettes(text: string | null | undefined): Partial<Palettes> {
  const out: Partial<Palettes> = {};
  for (const part of (text ?? "").split(",")) {
    const [kind, name] = part.split(".");
    if ((KINDS as readonly string[]).includes(kind) && isPaletteName(name)) out[kind as LayerKind] = name;
  }
  return out;
}

/** The link's spelling of the choices that differ from the defaults; "" when all are the defaults. */
export function formatPalettes(p: Palettes): string {
  return KINDS.filter((k) => p[k] !== DEFAULT_PALETTES[k]).map((k) => `${k}.${p[k]}`).join(",");
}

/** This browser's remembered choices over the defaults (storage may be off or hold anything). */
export function storedPalettes(): Palettes {
  let saved: Partial<Palettes> = {};
  try { saved = parsePalettes(localStorage.getItem(PALETTES_KEY)); } catch { /* no storage: the defaults */ }
  return { ...DEFAULT_PALETTES, ...saved };
}


/** Put the choices in a view link's `palette` parameter (none when all are the defaults, as old links are). */
export function writePaletteParam(u: URL, p: Palettes): void {
  const text = formatPalettes(p);
  if (text) u.searchParams.set("palette", text); else u.searchParams.delete("palette");
}
