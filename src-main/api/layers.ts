// A sweep's stored fields turned into one display layer (contract.ts LayerData): the values the fragment
// shader colours. The paper's colouring (DESIGN "Per-cell outcome") is analysis/colour.ts's rankEqualise;
// this is the same map computed with a radix sort, so a 4096^2 sweep ranks in about a second instead of
// sorting 16M indices with a comparator (test/ui/layers.test.ts checks they agree).

import type { Numeric } from "../core/tiles";
import { type LayerData, type LayerName, NON_FINITE, NOT_DONE } from "../../src-shared/contract";

/** The fields a layer reads, as store.ts names them. */
export const LAYER_FIELD: Record<LayerName, string> = {
  score: "score", scoreTree: "score", trainable: "trainable", stable: "stable", finalLoss: "final_loss", heldoutLoss: "heldout_loss",
  oodLoss: "ood_loss",
};

/**
 * Cell indices with a result and a non-NaN score, sorted by score: an LSD radix sort (four 16-bit passes) on
 * the float64 bit patterns mapped to unsigned order. Linear time; a comparator sort of 16M indices takes ~30x
 * longer. -0 is keyed as +0, so the two tie as they compare equal. Returns the sorted cell indices with their
 * keys (hi, lo) in the same order.
 */
function sortByScore(score: ArrayLike<number>, done: Uint8Array): { idx: Uint32Array; hi: Uint32Array; lo: Uint32Array } {
  const n = score.length;
  const f = new Float64Array(1), w = new Uint32Array(f.buffer);
  let m = 0;
  for (let i = 0; i < n; i++) if (done[i] && !Number.isNaN(score[i])) m++;
  // Keys travel with their indices, so every pass reads sequentially (gathering keys through the index
  // permutation costs a cache miss per read on a 16M-cell map).
  let idx = new Uint32Array(m), hi = new Uint32Array(m), lo = new Uint32Array(m);
  let idx2 = new Uint32Array(m), hi2 = new Uint32Array(m), lo2 = new Uint32Array(m);
  m = 0;
  for (let i = 0; i < n; i++) {
    const v = score[i];
    if (!done[i] || Number.isNaN(v)) continue;
    f[0] = v + 0; // -0 -> +0
    const h = w[1], l = w[0];
    // Negative doubles: flip every bit (larger magnitude sorts first); positive: flip the sign bit.
    if (h & 0x80000000) { hi[m] = ~h >>> 0; lo[m] = ~l >>> 0; } else { hi[m] = (h | 0x80000000) >>> 0; lo[m] = l; }
    idx[m++] = i;
  }
  const count = new Uint32Array(65537);
  for (const [useHi, shift] of [[false, 0], [false, 16], [true, 0], [true, 16]] as const) {
    const word = useHi ? hi : lo;
    count.fill(0);
    for (let k = 0; k < m; k++) count[((word[k] >>> shift) & 0xffff) + 1]++;
    if (count.some((c, d) => c === m && d > 0)) continue; // every key has the same digit: the pass changes nothing
    for (let d = 0; d < 65536; d++) count[d + 1] += count[d];
    for (let k = 0; k < m; k++) {
      const j = count[(word[k] >>> shift) & 0xffff]++;
      idx2[j] = idx[k]; hi2[j] = hi[k]; lo2[j] = lo[k];
    }
    [idx, idx2] = [idx2, idx];
    [hi, hi2] = [hi2, hi];
    [lo, lo2] = [lo2, lo];
  }
  return { idx, hi, lo };
}

/**
 * Rank-equalise keeping the sign, then negate (the paper's colouring): negative scores -> [-1, -0.25] by rank,
 * the rest -> [0.25, 1], ties share their mean rank; returned negated, so converged cells are > 0.
 * NOT_DONE where the cell has no result or its score is NaN.
 */
export function rankLayer(score: Numeric, done: Uint8Array): Float32Array {
  return rankLayerWithReference(score, done).values;
}

/**
 * A ranking to place later cells into without sorting again: the ranked scores in order, split at zero as the
 * paper's colouring is. rankAgainst(ref, s) is the value a new score s gets among them.
 */
export interface RankReference { sorted: Float64Array; nNeg: number }

export function rankLayerWithReference(score: Numeric, done: Uint8Array): { values: Float32Array; ref: RankReference } {
  const { idx, hi, lo } = sortByScore(score, done);
  const m = idx.length;
  let nNeg = 0;
  while (nNeg < m && score[idx[nNeg]] < 0) nNeg++;
  const nPos = m - nNeg;
  const out = new Float32Array(score.length).fill(NOT_DONE);
  for (let k = 0; k < m; ) {
    let e = k;
    while (e + 1 < m && hi[e + 1] === hi[k] && lo[e + 1] === lo[k]) e++;
    const r = (k + e) / 2; // mean rank of the tie group
    const eq = k < nNeg
      ? -1 + (nNeg > 1 ? (0.75 * r) / (nNeg - 1) : 0)
      : 0.25 + (nPos > 1 ? (0.75 * (r - nNeg)) / (nPos - 1) : 0);
    for (let j = k; j <= e; j++) out[idx[j]] = -eq;
    k = e + 1;
  }
  const sorted = new Float64Array(m);
  for (let k = 0; k < m; k++) sorted[k] = score[idx[k]];
  return { values: out, ref: { sorted, nNeg } };
}

/** First index in sorted[from, to) whose value is >= v (strict: > v). */
function bound(sorted: Float64Array, from: number, to: number, v: number, strict: boolean): number {
  while (from < to) {
    const mid = (from + to) >>> 1;
    if (strict ? sorted[mid] <= v : sorted[mid] < v) from = mid + 1; else to = mid;
  }
  return from;
}

/**
 * The rank colouring of a new score s against a reference ranking, by the rankLayer formula: s takes the mean
 * rank of its ties among the reference's cells of its sign (or the gap it falls in). Exact for a score already
 * in the reference; for a new one it is what a full re-rank gives up to a shift of (new cells / ranked cells)
 * of the colour scale, since every new cell moves any rank by at most one place.
 */
export function rankAgainst(ref: RankReference, s: number): number {
  if (Number.isNaN(s)) return NOT_DONE;
  const { sorted, nNeg } = ref;
  const v = s + 0;
  const neg = v < 0;
  const from = neg ? 0 : nNeg, to = neg ? nNeg : sorted.length;
  const n = to - from;
  const a = bound(sorted, from, to, v, false) - from, b = bound(sorted, from, to, v, true) - from;
  // ties: their mean rank; a gap: halfway between its neighbours' ranks (rank a - 0.5), clamped to the group
  const r = b > a ? (a + b - 1) / 2 : Math.min(Math.max(a - 0.5, 0), Math.max(n - 1, 0));
  const eq = neg ? -1 + (n > 1 ? (0.75 * r) / (n - 1) : 0) : 0.25 + (n > 1 ? (0.75 * r) / (n - 1) : 0);
  return -eq;
}

/** A score field coloured against another map's ranking (rankAgainst): the tree scale's values. */
export function rankLayerAgainst(score: Numeric, done: Uint8Array, ref: RankReference): Float32Array {
  const out = new Float32Array(score.length).fill(NOT_DONE);
  for (let i = 0; i < score.length; i++) if (done[i]) out[i] = rankAgainst(ref, score[i]);
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
export function buildLayer(a: {
  sweepId: string; layer: LayerName; nx: number; ny: number; field: Numeric | undefined; done: Uint8Array;
  /** The delta cursor the layer is built at (contract.ts getLayerDelta); 0 when not tracked. */
  version?: number;
  /** Receives the score layer's ranking, to place later cells into (rankAgainst). */
  keepRank?: (ref: RankReference) => void;
  /** scoreTree: the tree root's ranking to colour against (absent: the map's own, e.g. a root without results). */
  treeRef?: RankReference;
}): LayerData {
  const { sweepId, layer, nx, ny, done } = a;
  let doneCells = 0;
  for (let i = 0; i < done.length; i++) doneCells += done[i];
  const field = a.field ?? new Float64Array(nx * ny).fill(NaN);
  const base = { sweepId, layer, nx, ny, doneCells, version: a.version ?? 0 };
  if (layer === "scoreTree" && a.treeRef) return { ...base, kind: "rank", values: rankLayerAgainst(field, done, a.treeRef), lo: -1, hi: 1 };
  if (layer === "score" || layer === "scoreTree") {
    const { values, ref } = rankLayerWithReference(field, done);
    a.keepRank?.(ref);
    return { ...base, kind: "rank", values, lo: -1, hi: 1 };
  }
  if (layer === "trainable" || layer === "stable") return { ...base, kind: "binary", values: binaryLayer(field, done), lo: 0, hi: 1 };
  const l = logLayer(field, done);
  return { ...base, kind: "log", values: l.values, lo: l.lo === Infinity ? 0 : l.lo, hi: l.hi === -Infinity ? 1 : l.hi };
}

/** One cell's value in a layer of kind binary or log (what binaryLayer / logLayer give a done cell). */
export function cellValue(layer: Exclude<LayerName, "score" | "scoreTree">, v: number): number {
  if (layer === "trainable" || layer === "stable") return v ? 1 : 0;
  return Number.isFinite(v) && v > 0 ? Math.log10(v) : NON_FINITE;
}
