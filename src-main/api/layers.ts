// A sweep's stored fields turned into one display layer (contract.ts LayerData): the values the fragment
// shader colours. The paper's colouring (DESIGN "Per-cell outcome") is analysis/colour.ts's rankEqualise;
// this is the same map computed with a native sort and binary searches, so a 4096^2 sweep ranks in about a
// second instead of sorting 16M indices with a comparator (test/ui/layers.test.ts checks they agree).

import type { Numeric } from "../core/tiles";
import { type LayerData, type LayerName, NON_FINITE, NOT_DONE } from "./contract";

/** The fields a layer reads, as store.ts names them. */
export const LAYER_FIELD: Record<LayerName, string> = {
  score: "score", trainable: "trainable", stable: "stable", finalLoss: "final_loss", heldoutLoss: "heldout_loss",
};

/** First index in sorted `a` whose value is >= v (or > v when `strict`). */
function bound(a: Float64Array, v: number, strict: boolean): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (strict ? a[mid] <= v : a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Rank-equalise keeping the sign, then negate (the paper's colouring): negative scores -> [-1, -0.25] by rank,
 * the rest -> [0.25, 1], ties share their mean rank; returned negated, so converged cells are > 0.
 * NOT_DONE where the cell has no result or its score is NaN.
 */
export function rankLayer(score: Numeric, done: Uint8Array): Float32Array {
  const n = score.length;
  let m = 0;
  const sorted = new Float64Array(n);
  for (let i = 0; i < n; i++) if (done[i] && !Number.isNaN(score[i])) sorted[m++] = score[i];
  const s = sorted.subarray(0, m).sort();
  const nNeg = bound(s, 0, false);
  const nPos = m - nNeg;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = score[i];
    if (!done[i] || Number.isNaN(v)) { out[i] = NOT_DONE; continue; }
    const r = (bound(s, v, false) + bound(s, v, true) - 1) / 2;
    const eq = v < 0
      ? -1 + (nNeg > 1 ? (0.75 * r) / (nNeg - 1) : 0)
      : 0.25 + (nPos > 1 ? (0.75 * (r - nNeg)) / (nPos - 1) : 0);
    out[i] = -eq;
  }
  return out;
}

export function binaryLayer(values: Numeric, done: Uint8Array): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = done[i] ? (values[i] ? 1 : 0) : NOT_DONE;
  return out;
}

/** log10 of a positive finite loss; NON_FINITE otherwise; also the range over finite cells. */
export function logLayer(values: Numeric, done: Uint8Array): { values: Float32Array; lo: number; hi: number } {
  const out = new Float32Array(values.length);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!done[i]) out[i] = NOT_DONE;
    else if (Number.isFinite(v) && v > 0) {
      const l = Math.log10(v);
      out[i] = l;
      if (l < lo) lo = l;
      if (l > hi) hi = l;
    } else out[i] = NON_FINITE;
  }
  return { values: out, lo, hi };
}

/** Build a layer from the raw field (undefined when the sweep has no results for it yet) and the done flags. */
export function buildLayer(a: { sweepId: string; layer: LayerName; nx: number; ny: number; field: Numeric | undefined; done: Uint8Array }): LayerData {
  const { sweepId, layer, nx, ny, done } = a;
  let doneCells = 0;
  for (let i = 0; i < done.length; i++) doneCells += done[i];
  const field = a.field ?? new Float64Array(nx * ny).fill(NaN);
  const base = { sweepId, layer, nx, ny, doneCells };
  if (layer === "score") return { ...base, kind: "rank", values: rankLayer(field, done), lo: -1, hi: 1 };
  if (layer === "trainable" || layer === "stable") return { ...base, kind: "binary", values: binaryLayer(field, done), lo: 0, hi: 1 };
  const l = logLayer(field, done);
  return { ...base, kind: "log", values: l.values, lo: l.lo === Infinity ? 0 : l.lo, hi: l.hi === -Infinity ? 1 : l.hi };
}
