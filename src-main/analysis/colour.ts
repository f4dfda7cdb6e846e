/**
 * Map layers to colours. The paper's colouring (DESIGN "Per-cell outcome"): rank-equalise the
 * scores of one image keeping the sign (negatives -> [-1, -0.25], non-negatives -> [0.25, 1]),
 * negate, and show with matplotlib's Spectral map. Converged cells (score = -Σv < 0) land in
 * [0.25, 1]: blue, darkest where Σ loss was largest; diverged cells in [-1, -0.25]: red, darkest
 * where they lasted longest.
 */
import { NON_FINITE, NOT_DONE, type Palette, paletteOf, type Rgb, sampleColourMap, SPECTRAL, VIRIDIS, YES, NO } from "../../src-shared/colours";
import type { SweepMap } from "./map.js";

export { NO, NON_FINITE, NOT_DONE, type Rgb, sampleColourMap, SPECTRAL, VIRIDIS, YES };

export type ColourLayer = "score" | "trainable" | "stable" | "finalLoss" | "heldoutLoss" | "oodLoss";
export const COLOUR_LAYERS: readonly ColourLayer[] = ["score", "trainable", "stable", "finalLoss", "heldoutLoss", "oodLoss"];

/** The loss layers (log colour scale), with their names and what to check when a map has none. */
const LOSS_LAYERS = {
  finalLoss: { name: "final loss", hint: "" },
  heldoutLoss: { name: "held-out loss", hint: " (was the sweep run with a held-out set?)" },
  oodLoss: { name: "OOD loss", hint: " (was the sweep run with data.ood and a held-out count?)" },
} as const;

/**
 * The paper's rank equalisation, already negated: values in [-1, 1], NaN where `include` is 0 or the
 * score is NaN. Ties share their mean rank. Converged (negative score) -> [0.25, 1].
 */
export function rankEqualise(score: Float64Array, include?: Uint8Array): Float64Array {
  const idx: number[] = [];
  for (let i = 0; i < score.length; i++) if ((!include || include[i]) && !Number.isNaN(score[i])) idx.push(i);
  idx.sort((a, b) => score[a] - score[b]);
  const nNeg = idx.filter((i) => score[i] < 0).length;
  const nPos = idx.length - nNeg;
  const out = new Float64Array(score.length).fill(NaN);
  for (let k = 0; k < idx.length; ) {
    let e = k;
    while (e + 1 < idx.length && score[idx[e + 1]] === score[idx[k]]) e++;
    const r = (k + e) / 2; // mean rank of the tie group
    const v = score[idx[k]] < 0
      ? -1 + (nNeg > 1 ? (0.75 * r) / (nNeg - 1) : 0)
      : 0.25 + (nPos > 1 ? (0.75 * (r - nNeg)) / (nPos - 1) : 0);
    for (let j = k; j <= e; j++) out[idx[j]] = -v;
    k = e + 1;
  }
  return out;
}

/** Colour for a rank-equalised value (-1 red .. 1 blue). */
export function spectral(v: number): Rgb {
  return sampleColourMap(SPECTRAL, (v + 1) / 2);
}

export type Legend =
  | { title: string; kind: "categorical"; entries: { label: string; rgb: Rgb }[] }
  | {
      title: string;
      kind: "continuous";
      colours: readonly Rgb[];
      /** Tick labels at positions along the bar, 0 = bottom colour, 1 = top colour. */
      ticks: { position: number; label: string }[];
      /** Colours that sit outside the bar (not done, non-finite). */
      extra: { label: string; rgb: Rgb }[];
    };

export interface ColouredLayer {
  /** RGBA per cell in map order (iy = 0 first), length nx*ny*4. */
  rgba: Uint8Array;
  legend: Legend;
}

/**
 * Colour one layer of a map. Cells without a result are light grey. `palette` is the map's choice for this kind of
 * layer (src-shared/colours.ts PALETTES; the app's legend), by default the paper's: Spectral for the score and the
 * outcomes (its 0.9 and 0.1: YES and NO), viridis for losses.
 */
export function colourLayer(map: SweepMap, layer: ColourLayer, palette?: Palette): ColouredLayer {
  const p = palette ?? paletteOf(undefined, layer === "score" ? "rank" : layer === "trainable" || layer === "stable" ? "binary" : "log");
  const n = map.nx * map.ny;
  const rgba = new Uint8Array(n * 4);
  const done = (i: number) => !map.done || map.done[i] === 1;
  const put = (i: number, c: Rgb) => rgba.set([c[0], c[1], c[2], 255], i * 4);
  let legend: Legend;
  if (layer === "score") {
    const v = rankEqualise(map.score, map.done);
    for (let i = 0; i < n; i++) put(i, Number.isNaN(v[i]) ? p.notDone : sampleColourMap(p.stops, (v[i] + 1) / 2));
    legend = {
      title: "score (rank)",
      kind: "continuous",
      colours: p.stops,
      ticks: [
        { position: 0, label: "diverged" },
        { position: 0.375, label: "-0.25" },
        { position: 0.625, label: "0.25" },
        { position: 1, label: "converged" },
      ],
      extra: map.done ? [{ label: "not done", rgb: p.notDone }] : [],
    };
  } else if (layer === "trainable" || layer === "stable") {
    for (let i = 0; i < n; i++) put(i, !done(i) ? p.notDone : map[layer][i] ? p.yes : p.no);
    const [yes, no] = layer === "trainable" ? ["trainable", "untrainable"] : ["stable", "unstable"];
    legend = {
      title: layer,
      kind: "categorical",
      entries: [{ label: yes, rgb: p.yes }, { label: no, rgb: p.no }, ...(map.done ? [{ label: "not done", rgb: p.notDone }] : [])],
    };
  } else {
    const { name, hint } = LOSS_LAYERS[layer];
    const values = map[layer] ?? new Float64Array(n).fill(NaN);
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < n; i++) {
      if (done(i) && Number.isFinite(values[i]) && values[i] > 0) {
        lo = Math.min(lo, Math.log10(values[i]));
        hi = Math.max(hi, Math.log10(values[i]));
      }
    }
    if (lo === Infinity) throw new Error(`the map has no finite positive ${name} to colour${hint}`);
    const span = hi - lo || 1;
    for (let i = 0; i < n; i++) {
      if (!done(i)) put(i, p.notDone);
      else if (!(Number.isFinite(values[i]) && values[i] > 0)) put(i, p.nonFinite);
      else put(i, sampleColourMap(p.stops, (Math.log10(values[i]) - lo) / span));
    }
    legend = {
      title: `${name} (log)`,
      kind: "continuous",
      colours: p.stops,
      ticks: logTicks(lo, lo + span),
      extra: [{ label: "non-finite", rgb: p.nonFinite }, ...(map.done ? [{ label: "not done", rgb: p.notDone }] : [])],
    };
  }
  return { rgba, legend };
}

function logTicks(lo: number, hi: number): { position: number; label: string }[] {
  const span = hi - lo;
  const decades: number[] = [];
  for (let d = Math.ceil(lo); d <= hi; d++) decades.push(d);
  const values = decades.length >= 2 ? decades : [lo, hi];
  return values.map((u) => ({ position: (u - lo) / span, label: formatNumber(10 ** u, 3) }));
}

/** Short number label: 1e-3, 0.025, 250, 1.5e+6 (significant digits as asked, trailing zeros cut). */
export function formatNumber(v: number, digits = 3): string {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const e = Math.floor(Math.log10(Math.abs(v)));
  if (e >= -3 && e < 4) return String(Number(v.toPrecision(digits)));
  const [m, x] = v.toExponential(digits - 1).split("e");
  return `${String(Number(m))}e${x}`;
}
