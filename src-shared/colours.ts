// The colour maps and fixed colours of the map layers (DESIGN "Per-cell outcome"): the renderer's shader and
// legend and src-main/analysis/colour.ts (PNG export, figures) draw with the same numbers.

export type Rgb = [number, number, number];

/** matplotlib's Spectral (ColorBrewer, 11 classes), from 0 (red) to 1 (blue). */
export const SPECTRAL: readonly Rgb[] = [
  [0x9e, 0x01, 0x42], [0xd5, 0x3e, 0x4f], [0xf4, 0x6d, 0x43], [0xfd, 0xae, 0x61], [0xfe, 0xe0, 0x8b], [0xff, 0xff, 0xbf],
  [0xe6, 0xf5, 0x98], [0xab, 0xdd, 0xa4], [0x66, 0xc2, 0xa5], [0x32, 0x88, 0xbd], [0x5e, 0x4f, 0xa2],
];

/** viridis, 9 evenly spaced samples, from 0 (dark purple) to 1 (yellow). */
export const VIRIDIS: readonly Rgb[] = [
  [0x44, 0x01, 0x54], [0x47, 0x2d, 0x7b], [0x3b, 0x52, 0x8b], [0x2c, 0x72, 0x8e], [0x21, 0x91, 0x8c],
  [0x28, 0xae, 0x80], [0x5e, 0xc9, 0x62], [0xad, 0xdc, 0x30], [0xfd, 0xe7, 0x25],
];

/** Cells without a result, and losses that are not finite. */
export const NOT_DONE: Rgb = [0xd9, 0xd9, 0xd9];
export const NON_FINITE: Rgb = [0x70, 0x70, 0x70];
export const YES: Rgb = SPECTRAL[9];
export const NO: Rgb = SPECTRAL[1];

/** Linear interpolation in an evenly spaced list of colours; t clipped to [0, 1]. */
export function sampleColourMap(stops: readonly Rgb[], t: number): Rgb {
  const u = Math.min(1, Math.max(0, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(u));
  const f = u - i;
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))) as Rgb;
}
