// The colour maps and fixed colours of the map layers (DESIGN "Per-cell outcome"): the renderer's shader, legend,
// thumbnails and 3-D surface and src-main/analysis/colour.ts (PNG export, figures) draw with the same numbers.
//
// Palettes are matplotlib's, with its published values (matplotlib 3.11 _cm.py and _cm_listed.py, rounded to 8-bit as
// matplotlib.colors.to_hex does): the ColorBrewer maps (Spectral, RdBu, Greys) are matplotlib's own nodes, which it
// interpolates linearly, so interpolating them is exact; the perceptually uniform ones (viridis, cividis, magma) are
// 256-entry lists, sampled here at 21 evenly spaced points (matplotlib's lookup, entry floor(t * 256)) and
// interpolated linearly between them: within 3/255 of matplotlib's colour at any t for viridis and magma, 7/255 for
// cividis (where its list bends, near t = 0.08 and 0.98). 11 samples would be off by up to 13/255.

export type Rgb = [number, number, number];

/** matplotlib's Spectral (ColorBrewer, 11 classes), from 0 (red) to 1 (blue). */
export const SPECTRAL: readonly Rgb[] = [
  [0x9e, 0x01, 0x42], [0xd5, 0x3e, 0x4f], [0xf4, 0x6d, 0x43], [0xfd, 0xae, 0x61], [0xfe, 0xe0, 0x8b], [0xff, 0xff, 0xbf],
  [0xe6, 0xf5, 0x98], [0xab, 0xdd, 0xa4], [0x66, 0xc2, 0xa5], [0x32, 0x88, 0xbd], [0x5e, 0x4f, 0xa2],
];

/** viridis at t = 0, 0.05, ..., 1, from dark purple to yellow. */
export const VIRIDIS: readonly Rgb[] = [
  [0x44, 0x01, 0x54], [0x47, 0x13, 0x65], [0x48, 0x24, 0x75], [0x46, 0x34, 0x80], [0x41, 0x44, 0x87], [0x3b, 0x52, 0x8b],
  [0x35, 0x5f, 0x8d], [0x2f, 0x6c, 0x8e], [0x2a, 0x78, 0x8e], [0x25, 0x84, 0x8e], [0x21, 0x91, 0x8c], [0x1e, 0x9c, 0x89],
  [0x22, 0xa8, 0x84], [0x2f, 0xb4, 0x7c], [0x44, 0xbf, 0x70], [0x5e, 0xc9, 0x62], [0x7a, 0xd1, 0x51], [0x9b, 0xd9, 0x3c],
  [0xbd, 0xdf, 0x26], [0xdf, 0xe3, 0x18], [0xfd, 0xe7, 0x25],
];

/** cividis at t = 0, 0.05, ..., 1, from dark blue to yellow: made to read the same to red-green colour-blind eyes. */
export const CIVIDIS: readonly Rgb[] = [
  [0x00, 0x22, 0x4e], [0x00, 0x2b, 0x62], [0x08, 0x33, 0x70], [0x24, 0x3c, 0x6e], [0x35, 0x45, 0x6c], [0x43, 0x4e, 0x6c],
  [0x4f, 0x57, 0x6c], [0x5b, 0x60, 0x6e], [0x66, 0x69, 0x70], [0x72, 0x72, 0x74], [0x7d, 0x7c, 0x78], [0x88, 0x85, 0x78],
  [0x94, 0x8e, 0x77], [0xa1, 0x99, 0x75], [0xae, 0xa3, 0x71], [0xbc, 0xae, 0x6c], [0xc8, 0xb8, 0x66], [0xd6, 0xc3, 0x5d],
  [0xe5, 0xcf, 0x52], [0xf3, 0xdb, 0x42], [0xfe, 0xe8, 0x38],
];

/** magma at t = 0, 0.05, ..., 1, from black through purple and orange to pale yellow. */
export const MAGMA: readonly Rgb[] = [
  [0x00, 0x00, 0x04], [0x06, 0x05, 0x1a], [0x14, 0x0e, 0x36], [0x25, 0x12, 0x55], [0x3b, 0x0f, 0x70], [0x51, 0x12, 0x7c],
  [0x64, 0x1a, 0x80], [0x78, 0x22, 0x81], [0x8c, 0x29, 0x81], [0xa1, 0x30, 0x7e], [0xb7, 0x37, 0x79], [0xca, 0x3e, 0x72],
  [0xde, 0x49, 0x68], [0xed, 0x5a, 0x5f], [0xf7, 0x70, 0x5c], [0xfc, 0x89, 0x61], [0xfe, 0x9f, 0x6d], [0xfe, 0xb7, 0x7e],
  [0xfe, 0xcf, 0x92], [0xfd, 0xe7, 0xa9], [0xfc, 0xfd, 0xbf],
];

/** matplotlib's RdBu (ColorBrewer, 11 classes), from 0 (dark red) through white to 1 (dark blue). */
export const RDBU: readonly Rgb[] = [
  [0x67, 0x00, 0x1f], [0xb2, 0x18, 0x2b], [0xd6, 0x60, 0x4d], [0xf4, 0xa5, 0x82], [0xfd, 0xdb, 0xc7], [0xf7, 0xf7, 0xf7],
  [0xd1, 0xe5, 0xf0], [0x92, 0xc5, 0xde], [0x43, 0x93, 0xc3], [0x21, 0x66, 0xac], [0x05, 0x30, 0x61],
];

/** matplotlib's Greys (ColorBrewer, 9 classes), from 0 (white) to 1 (black). */
export const GREYS: readonly Rgb[] = [
  [0xff, 0xff, 0xff], [0xf0, 0xf0, 0xf0], [0xd9, 0xd9, 0xd9], [0xbd, 0xbd, 0xbd], [0x96, 0x96, 0x96], [0x73, 0x73, 0x73],
  [0x52, 0x52, 0x52], [0x25, 0x25, 0x25], [0x00, 0x00, 0x00],
];

/** The most stops a palette has: the shader's palette uniform is this long. */
export const MAX_STOPS = 21;

/** Cells without a result, and losses that are not finite. */
export const NOT_DONE: Rgb = [0xd9, 0xd9, 0xd9];
export const NON_FINITE: Rgb = [0x70, 0x70, 0x70];
export const YES: Rgb = SPECTRAL[9];
export const NO: Rgb = SPECTRAL[1];

export type PaletteName = "spectral" | "viridis" | "cividis" | "magma" | "rdbu" | "greys";
/** How a layer's values become colours (contract.ts LayerData.kind): each kind remembers its own palette. */
export type LayerKind = "rank" | "binary" | "log";

export interface Palette {
  name: PaletteName;
  /** As matplotlib names it. */
  label: string;
  stops: readonly Rgb[];
  /** The binary layers' outcomes (trainable / stable yes, no): the palette at 0.9 and 0.1, so Spectral gives the
   *  paper's blue and red (YES, NO) and a colour-blind-safe palette gives colour-blind-safe outcomes. */
  yes: Rgb;
  no: Rgb;
  /** Colours outside the ramp: NOT_DONE and NON_FINITE unless they would sit inside this palette's own ramp. */
  notDone: Rgb;
  nonFinite: Rgb;
}

function palette(name: PaletteName, label: string, stops: readonly Rgb[], sentinels: Partial<Pick<Palette, "notDone" | "nonFinite">> = {}): Palette {
  return { name, label, stops, yes: sampleColourMap(stops, 0.9), no: sampleColourMap(stops, 0.1), notDone: NOT_DONE, nonFinite: NON_FINITE, ...sentinels };
}

/**
 * The palettes the map offers, in the order of the legend's choice. The fixed colours stay NOT_DONE and NON_FINITE
 * (light and mid grey) except where a palette has those greys in its own ramp: Greys shows not-done cells pale blue
 * and non-finite ones red, cividis non-finite ones black (its mid grey-blue is NON_FINITE's grey).
 */
export const PALETTES: readonly Palette[] = [
  palette("spectral", "Spectral", SPECTRAL),
  palette("viridis", "viridis", VIRIDIS),
  palette("cividis", "cividis", CIVIDIS, { nonFinite: [0x00, 0x00, 0x00] }),
  palette("magma", "magma", MAGMA),
  palette("rdbu", "RdBu", RDBU),
  palette("greys", "Greys", GREYS, { notDone: [0xc6, 0xdb, 0xef], nonFinite: [0xcb, 0x18, 0x1d] }),
];

/** The paper's colouring by default: Spectral for scores and outcomes (blue converged, red diverged), viridis for losses. */
export const DEFAULT_PALETTES: Readonly<Record<LayerKind, PaletteName>> = { rank: "spectral", binary: "spectral", log: "viridis" };

export function isPaletteName(v: unknown): v is PaletteName {
  return PALETTES.some((p) => p.name === v);
}

/** A palette by name; the kind's default for a name that is none (an old or hand-edited setting). */
export function paletteOf(name: string | undefined, kind: LayerKind = "rank"): Palette {
  return PALETTES.find((p) => p.name === name) ?? PALETTES.find((p) => p.name === DEFAULT_PALETTES[kind])!;
}

/** Linear interpolation in an evenly spaced list of colours; t clipped to [0, 1]. */
export function sampleColourMap(stops: readonly Rgb[], t: number): Rgb {
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))) as Rgb;
}
