/**
 * The fractal dimension as the paper's notebook measures it (Sohl-Dickstein 2024,
 * the_boundary_of_neural_network_trainability_is_fractal.ipynb), beside the project's estimator (dimension.ts):
 *
 * - the edge image: pixel (x, y) of a (w-1) x (h-1) image is an edge when the 2x2 neighbourhood of mask cells
 *   x..x+1, y..y+1 holds both outcomes;
 * - boxes counted as porespy.metrics.boxcount(im) does with its defaults: 10 sizes np.logspace(1, log10(min side),
 *   10) cast to int and made unique, boxes tiled from the origin with the partial ones at the far edges kept, a
 *   box counted when it holds an edge pixel but is not all edge pixels;
 * - local slopes -np.gradient(log N, log s) (second-order central differences, one-sided at the ends);
 * - D is the median of every local slope of every keyframe (concentric zoom-outs by 2x, reproduce.ts).
 *
 * The uncertainty is a bootstrap: keyframes resampled with replacement, then each chosen keyframe's slopes
 * resampled with replacement, the median of the pooled slopes each time; the 2.5 and 97.5 percentiles are the 95%
 * interval. Deterministic: the resampling is seeded.
 */

import { type Mask, median, summedArea } from "./dimension";
import { mulberry32 } from "./stats";

export interface BoxCount {
  /** box sides in edge-image pixels */
  sizes: number[];
  /** boxes holding an edge pixel but not all edge pixels */
  counts: number[];
  /** -d log N / d log s at each size (np.gradient); NaN or infinite where a count is 0 */
  slopes: number[];
}

export interface PaperDimension {
  method: "paper";
  /** median of the finite local slopes of every keyframe */
  dimension: number;
  /** 95% bootstrap interval [low, high] */
  ci: [number, number];
  keyframes: BoxCount[];
  /** local slopes left out because a count was 0 (log 0) */
  dropped: number;
}

/** The edge image of a mask: 1 where a 2x2 neighbourhood holds both outcomes. */
export function edgeImage(mask: Mask): Mask {
  const { width: w, height: h, data } = mask;
  if (w < 2 || h < 2) throw new Error(`a ${w}x${h} mask has no 2x2 neighbourhood, so no edge image`);
  const out = new Uint8Array((w - 1) * (h - 1));
  for (let y = 0; y < h - 1; y++) {
    for (let x = 0; x < w - 1; x++) {
      const s = (data[y * w + x] ? 1 : 0) + (data[y * w + x + 1] ? 1 : 0) + (data[(y + 1) * w + x] ? 1 : 0) + (data[(y + 1) * w + x + 1] ? 1 : 0);
      out[y * (w - 1) + x] = s > 0 && s < 4 ? 1 : 0;
    }
  }
  return { width: w - 1, height: h - 1, data: out };
}

/** porespy.metrics.boxcount's default sizes for an image: np.unique(np.logspace(1, log10(min side), bins).astype(int)). */
export function porespySizes(width: number, height: number, bins = 10): number[] {
  const hi = Math.log10(Math.min(width, height));
  const sizes = new Set<number>();
  const step = (hi - 1) / (bins - 1);
  for (let k = 0; k < bins; k++) {
    const e = k === bins - 1 ? hi : k * step + 1; // np.linspace(1, hi, bins) as numpy computes it: the last one exact
    sizes.add(Math.trunc(10 ** e));
  }
  return [...sizes].filter((s) => s >= 1).sort((a, b) => a - b);
}

/** porespy.metrics.boxcount(im, bins) on a 2-D binary image. */
export function boxcount(im: Mask, bins = 10): BoxCount {
  const { width: w, height: h } = im;
  // porespy's sizes start at 10 px: below that its logspace runs backwards to boxes larger than the image.
  if (Math.min(w, h) < 10) {
    throw new Error(`a ${w}x${h} edge image is smaller than porespy's smallest box (10 px): the paper's method needs maps of at least 11x11 cells`);
  }
  const sizes = porespySizes(w, h, bins);
  const sat = summedArea(im);
  const counts = sizes.map((d) => {
    let n = 0;
    for (let y = 0; y < h; y += d) {
      for (let x = 0; x < w; x += d) {
        const x1 = Math.min(w, x + d), y1 = Math.min(h, y + d);
        const sum = sat[y1 * (w + 1) + x1] - sat[y * (w + 1) + x1] - sat[y1 * (w + 1) + x] + sat[y * (w + 1) + x];
        if (sum > 0 && sum < (x1 - x) * (y1 - y)) n++;
      }
    }
    return n;
  });
  const g = gradient(counts.map(Math.log), sizes.map(Math.log));
  return { sizes, counts, slopes: g.map((v) => 0 - v) };
}

/** np.gradient(f, x) with edge_order 1: second-order central differences on uneven spacing inside, one-sided at the ends. */
export function gradient(f: readonly number[], x: readonly number[]): number[] {
  const n = f.length;
  if (n < 2) return n === 1 ? [NaN] : [];
  const out = new Array<number>(n);
  out[0] = (f[1] - f[0]) / (x[1] - x[0]);
  out[n - 1] = (f[n - 1] - f[n - 2]) / (x[n - 1] - x[n - 2]);
  for (let i = 1; i < n - 1; i++) {
    const hs = x[i] - x[i - 1], hd = x[i + 1] - x[i];
    out[i] = (hs * hs * f[i + 1] + (hd * hd - hs * hs) * f[i] - hd * hd * f[i - 1]) / (hs * hd * (hd + hs));
  }
  return out;
}

/** D the paper's way over the keyframes' trainability masks, with its 95% bootstrap interval. */
export function paperDimension(keyframes: readonly Mask[], o: { resamples?: number; seed?: number } = {}): PaperDimension {
  if (!keyframes.length) throw new Error("the paper's estimator needs at least one keyframe");
  const counted = keyframes.map((m) => boxcount(edgeImage(m)));
  const finite = counted.map((b) => b.slopes.filter(Number.isFinite));
  const pooled = finite.flat();
  const dropped = counted.reduce((n, b) => n + b.slopes.length, 0) - pooled.length;
  if (!pooled.length) {
    throw new Error("no box size holds any boundary in any keyframe: the maps are one outcome at every scale, so there is no boundary to measure");
  }
  const ci = bootstrapMedianCI(finite, o);
  return { method: "paper", dimension: median(pooled), ci, keyframes: counted, dropped };
}

/**
 * The 95% bootstrap interval of the median of pooled slopes: frames (keyframes, zoom levels) resampled with
 * replacement, then each chosen frame's slopes resampled with replacement, the median of the pooled sample each time;
 * the 2.5 and 97.5 percentiles. Seeded, so the same slopes give the same interval. Frames without slopes add nothing.
 * Both estimators use it (the paper's here, the project's in uncertainty.ts), so their intervals mean the same.
 */
export function bootstrapMedianCI(frames: readonly (readonly number[])[], o: { resamples?: number; seed?: number } = {}): [number, number] {
  const used = frames.filter((s) => s.length);
  if (!used.length) throw new Error("a bootstrap interval needs at least one slope");
  const rng = mulberry32(o.seed ?? 1);
  const resamples = o.resamples ?? 2000;
  const medians = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const sample: number[] = [];
    for (let k = 0; k < used.length; k++) {
      const f = used[Math.floor(rng() * used.length)];
      for (let j = 0; j < f.length; j++) sample.push(f[Math.floor(rng() * f.length)]);
    }
    medians[r] = median(sample);
  }
  medians.sort();
  const pct = (p: number) => medians[Math.min(resamples - 1, Math.max(0, Math.round(p * (resamples - 1))))];
  return [pct(0.025), pct(0.975)];
}
