/**
 * Exports: a sweep or zoom sequence as PNG (any layer), CSV and JSON; a Markdown or self-contained
 * HTML report with the maps, the fractal dimension (table + log-log plot) and the rules of thumb
 * (table + power law); and a zoom animation as PNG frames. In memory: src-main/export writes them to files.
 */
import { boundaryPolylines } from "./boundary.js";
import type { Palette } from "../../src-shared/colours";
import { colourLayer, formatNumber, type ColourLayer, type Rgb } from "./colour.js";
import { fractalDimension, fractalDimensionLeastSquares, type DimensionEstimate } from "./dimension.js";
import { renderFigure, Canvas, type Overlay } from "./figure.js";
import { checkZoomSequence, sequenceDimension, type SequenceDimension } from "./mask.js";
import { valueAt, cellAt, cellCentre, checkMap, doneCount, layerMask, type BinaryLayer, type MapAxis, type SweepMap } from "./map.js";
import { encodePng } from "./png.js";
import type { PowerLaw } from "../../src-shared/contract";
import { comparePowerLaws, fitEdgePowerLaw, rowRules, type PowerLawComparison, type RowRule } from "./rules.js";

// ---------------------------------------------------------------- CSV / JSON

/** One line per cell: indices, centre in axis units and in hyperparameter units, every layer. */
export function mapToCsv(map: SweepMap): string {
  checkMap(map);
  const lines = [`ix,iy,${map.x.param},${map.y.param},trainable,stable,score,final_loss,heldout_loss,done`];
  for (let iy = 0; iy < map.ny; iy++) {
    const yv = valueAt(map.y, cellCentre(map.y, map.ny, iy));
    for (let ix = 0; ix < map.nx; ix++) {
      const i = iy * map.nx + ix;
      const xv = valueAt(map.x, cellCentre(map.x, map.nx, ix));
      const done = !map.done || map.done[i] === 1;
      const num = (v: number) => (done && !Number.isNaN(v) ? String(v) : "");
      lines.push([ix, iy, xv, yv, done ? map.trainable[i] : "", done ? map.stable[i] : "", num(map.score[i]), num(map.finalLoss[i]), num(map.heldoutLoss[i]), done ? 1 : 0].join(","));
    }
  }
  return lines.join("\n") + "\n";
}

/** JSON-safe copy of a map: layers as arrays, NaN as null, ±Infinity as the strings "inf"/"-inf". */
export function mapToJson(map: SweepMap): object {
  checkMap(map);
  const nums = (a: Float64Array) => Array.from(a, (v) => (Number.isNaN(v) ? null : v === Infinity ? "inf" : v === -Infinity ? "-inf" : v));
  return {
    nx: map.nx,
    ny: map.ny,
    x: map.x,
    y: map.y,
    layout: "row-major, index = iy*nx + ix, iy = 0 at the low end of y; cells centre-sampled",
    trainable: Array.from(map.trainable),
    stable: Array.from(map.stable),
    score: nums(map.score),
    finalLoss: nums(map.finalLoss),
    heldoutLoss: nums(map.heldoutLoss),
    oodLoss: map.oodLoss ? nums(map.oodLoss) : null,
    done: map.done ? Array.from(map.done) : null,
  };
}

/** A zoom sequence as one CSV: the map CSV with a leading `level` column (0 = parent). */
export function sequenceToCsv(maps: readonly SweepMap[]): string {
  checkZoomSequence(maps);
  const out: string[] = [];
  maps.forEach((m, level) => {
    const lines = mapToCsv(m).trimEnd().split("\n");
    if (level === 0) out.push(`level,${lines[0]}`);
    for (const l of lines.slice(1)) out.push(`${level},${l}`);
  });
  return out.join("\n") + "\n";
}

export function sequenceToJson(maps: readonly SweepMap[]): object {
  checkZoomSequence(maps);
  return { levels: maps.map(mapToJson) };
}

// ---------------------------------------------------------------- PNG

export interface PngOptions {
  title?: string;
  size?: number;
  /** Draw the trainable or stable boundary (white). */
  boundary?: BinaryLayer;
  /** Draw this power law (black). */
  powerLaw?: PowerLaw;
  /** Outline these windows (a zoom's children), each as [[xlo, xhi], [ylo, yhi]] in axis units. */
  windows?: [[number, number], [number, number]][];
  /** The layer's colour map (default the paper's for the layer). */
  palette?: Palette;
}

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];

export function layerPng(map: SweepMap, layer: ColourLayer, options: PngOptions = {}): Buffer {
  const overlays: Overlay[] = [];
  if (options.boundary) for (const l of boundaryPolylines(map, options.boundary)) overlays.push({ points: l.points, rgb: WHITE, thickness: 1 });
  if (options.powerLaw) overlays.push({ points: options.powerLaw.curve, rgb: BLACK, thickness: 2 });
  for (const [[x0, x1], [y0, y1]] of options.windows ?? []) {
    overlays.push({ points: [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], rgb: BLACK, thickness: 2 });
  }
  return encodePng(renderFigure(map, layer, { title: options.title, size: options.size, overlays, palette: options.palette }).image);
}

/** One PNG per zoom level, each parent with its child's window outlined. */
export function sequencePngs(maps: readonly SweepMap[], layer: ColourLayer, options: { size?: number } = {}): Buffer[] {
  return maps.map((map, i) => {
    const child = maps[i + 1];
    return layerPng(map, layer, {
      size: options.size,
      title: `level ${i}`,
      windows: child ? [[child.x.range, child.y.range]] : [],
    });
  });
}

// ---------------------------------------------------------------- report data

export interface ReportOptions {
  title: string;
  /** Layer for the dimension and rules of thumb (default trainable). */
  layer?: BinaryLayer;
  /** Layers shown as maps (default score and the binary layer). */
  mapLayers?: ColourLayer[];
  /** Other models' sweeps of the same two params, for the power-law comparison. */
  compare?: { label: string; map: SweepMap }[];
  /** Label of the (first) sweep in the comparison. */
  label?: string;
}

/** A result or the reason it could not be computed (a report shows the reason instead). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

function attempt<T>(f: () => T): Outcome<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

export interface ReportData {
  title: string;
  layer: BinaryLayer;
  mapLayers: ColourLayer[];
  maps: SweepMap[];
  levels: { paper: Outcome<DimensionEstimate>; leastSquares: Outcome<DimensionEstimate> }[];
  sequence: Outcome<SequenceDimension> | null;
  rows: RowRule[];
  powerLaw: Outcome<PowerLaw>;
  comparison: Outcome<PowerLawComparison> | null;
}

/** Every number a report shows, computed once. maps: one sweep, or a zoom sequence parent first
 *  (dimension per level and pooled; rules of thumb and power law from the parent, the widest map). */
export function analyse(maps: readonly SweepMap[], options: ReportOptions): ReportData {
  if (maps.length === 0) throw new Error("nothing to report: pass at least one sweep");
  checkZoomSequence(maps);
  const layer = options.layer ?? "trainable";
  const levels = maps.map((m) => ({
    paper: attempt(() => fractalDimension(layerMask(m, layer))),
    leastSquares: attempt(() => fractalDimensionLeastSquares(layerMask(m, layer))),
  }));
  return {
    title: options.title,
    layer,
    mapLayers: options.mapLayers ?? ["score", layer],
    maps: [...maps],
    levels,
    sequence: maps.length > 1 ? attempt(() => sequenceDimension(maps, layer)) : null,
    rows: rowRules(maps[0], layer),
    powerLaw: attempt(() => fitEdgePowerLaw(maps[0], { layer })),
    comparison: options.compare?.length
      ? attempt(() => comparePowerLaws([{ label: options.label ?? options.title, map: maps[0] }, ...options.compare!], { layer }))
      : null,
  };
}

// ---------------------------------------------------------------- figures for reports

/** Log-log plot of box count vs box size with the fitted slope, as standalone SVG. */
export function dimensionSvg(estimates: readonly { label: string; estimate: DimensionEstimate }[], width = 420, height = 300): string {
  const pad = { l: 56, r: 16, t: 16, b: 44 };
  const pts = estimates.flatMap((e) => e.estimate.sizes.map((s, i) => [Math.log10(s), Math.log10(e.estimate.counts[i])]));
  const [x0, x1] = extent(pts.map((p) => p[0]));
  const [y0, y1] = extent(pts.map((p) => p[1]));
  const sx = (v: number) => pad.l + ((v - x0) / (x1 - x0 || 1)) * (width - pad.l - pad.r);
  const sy = (v: number) => height - pad.b - ((v - y0) / (y1 - y0 || 1)) * (height - pad.t - pad.b);
  const colours = ["#3288bd", "#d53e4f", "#66c2a5", "#f46d43", "#5e4fa2", "#9e0142"];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect x="${pad.l}" y="${pad.t}" width="${width - pad.l - pad.r}" height="${height - pad.t - pad.b}" fill="none" stroke="#222"/>`,
  ];
  for (const d of logTicks(x0, x1)) {
    parts.push(`<line x1="${sx(d).toFixed(1)}" y1="${height - pad.b}" x2="${sx(d).toFixed(1)}" y2="${height - pad.b + 4}" stroke="#222"/>`);
    parts.push(`<text x="${sx(d).toFixed(1)}" y="${height - pad.b + 15}" text-anchor="middle">${formatNumber(10 ** d)}</text>`);
  }
  for (const d of logTicks(y0, y1)) {
    parts.push(`<line x1="${pad.l - 4}" y1="${sy(d).toFixed(1)}" x2="${pad.l}" y2="${sy(d).toFixed(1)}" stroke="#222"/>`);
    parts.push(`<text x="${pad.l - 6}" y="${(sy(d) + 4).toFixed(1)}" text-anchor="end">${formatNumber(10 ** d)}</text>`);
  }
  parts.push(`<text x="${(pad.l + width - pad.r) / 2}" y="${height - 8}" text-anchor="middle">box size (cells)</text>`);
  parts.push(`<text x="12" y="${(pad.t + height - pad.b) / 2}" text-anchor="middle" transform="rotate(-90 12 ${(pad.t + height - pad.b) / 2})">boundary boxes</text>`);
  estimates.forEach(({ label, estimate }, k) => {
    const c = colours[k % colours.length];
    const xs = estimate.sizes.map(Math.log10);
    const ys = estimate.counts.map(Math.log10);
    // The fitted line: slope -D through the centroid of the points.
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const at = (x: number) => my - estimate.dimension * (x - mx);
    parts.push(`<line x1="${sx(xs[0]).toFixed(1)}" y1="${sy(at(xs[0])).toFixed(1)}" x2="${sx(xs[xs.length - 1]).toFixed(1)}" y2="${sy(at(xs[xs.length - 1])).toFixed(1)}" stroke="${c}" stroke-dasharray="4 3"/>`);
    xs.forEach((x, i) => parts.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(ys[i]).toFixed(1)}" r="3" fill="${c}"><title>size ${estimate.sizes[i]}: ${estimate.counts[i]} boxes</title></circle>`));
    parts.push(`<text x="${width - pad.r - 6}" y="${pad.t + 14 + 14 * k}" text-anchor="end" fill="${c}">${escapeHtml(label)}: D = ${estimate.dimension.toFixed(3)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** log10 positions of 1, 2, 5 x 10^k inside [lo, hi] (log10 units); decades only when that is plenty. */
function logTicks(lo: number, hi: number): number[] {
  const decades: number[] = [];
  const all: number[] = [];
  for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
    for (const m of [1, 2, 5]) {
      const u = d + Math.log10(m);
      if (u < lo || u > hi) continue;
      all.push(u);
      if (m === 1) decades.push(u);
    }
  }
  return decades.length >= 3 ? decades : all;
}

function extent(v: readonly number[]): [number, number] {
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  const pad = (hi - lo || 1) * 0.05;
  return [lo - pad, hi + pad];
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

// ---------------------------------------------------------------- report documents

interface ReportImage {
  name: string;
  caption: string;
  png: Buffer;
}

function reportImages(data: ReportData): ReportImage[] {
  const images: ReportImage[] = [];
  data.maps.forEach((map, i) => {
    const child = data.maps[i + 1];
    for (const layer of data.mapLayers) {
      const law = i === 0 && data.powerLaw.ok ? data.powerLaw.value : undefined;
      images.push({
        name: `level-${i}-${layer}.png`,
        caption: `${data.maps.length > 1 ? `Level ${i}, ` : ""}${layer}${law ? " with the fitted power law" : ""}${child ? " and the next zoom's window" : ""}`,
        png: layerPng(map, layer, {
          boundary: layer === data.layer ? data.layer : undefined,
          powerLaw: law,
          windows: child ? [[child.x.range, child.y.range]] : [],
        }),
      });
    }
  });
  return images;
}

function dimensionPlot(data: ReportData): string | null {
  const est = data.levels.flatMap((l, i) => (l.paper.ok ? [{ label: data.maps.length > 1 ? `level ${i}` : data.layer, estimate: l.paper.value }] : []));
  return est.length ? dimensionSvg(est) : null;
}

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
const rangeText = (a: MapAxis) => `${a.param} ${formatNumber(valueAt(a, a.range[0]), 4)} – ${formatNumber(valueAt(a, a.range[1]), 4)} (${a.scale})`;

/** Tables shared by both formats: header row + body rows of plain text. */
function tables(data: ReportData) {
  const sweeps = {
    head: ["level", "x", "y", "cells", "done", `${data.layer} fraction`, "trained on"],
    rows: data.maps.map((m, i) => {
      let yes = 0;
      for (let k = 0; k < m.nx * m.ny; k++) yes += m[data.layer][k] && (!m.done || m.done[k]) ? 1 : 0;
      return [String(i), rangeText(m.x), rangeText(m.y), `${m.nx}×${m.ny}`, String(doneCount(m)), fmt(yes / (m.nx * m.ny)), m.ranOn ?? "—"];
    }),
  };
  const dimension = {
    head: ["level", "dimension (median local slope)", "least squares, sizes 2–32", "box sizes", "boundary boxes"],
    rows: data.levels.map((l, i) => [
      String(i),
      l.paper.ok ? fmt(l.paper.value.dimension) : `not measurable: ${l.paper.reason}`,
      l.leastSquares.ok ? fmt(l.leastSquares.value.dimension) : `not measurable: ${l.leastSquares.reason}`,
      l.paper.ok ? l.paper.value.sizes.join(" ") : "",
      l.paper.ok ? l.paper.value.counts.join(" ") : "",
    ]),
  };
  const m = data.maps[0];
  const step = Math.max(1, Math.ceil(data.rows.length / 24)); // at most ~24 rows in the document
  const cellText = (p: { xValue: number } | null) => (p ? formatNumber(p.xValue, 4) : "—");
  const rules = {
    head: [m.y.param, `max ${m.x.param} (all below train)`, `max ${m.x.param} (any)`, `best final loss at ${m.x.param}`, `best held-out loss at ${m.x.param}`],
    rows: data.rows.filter((_, i) => i % step === 0 || i === data.rows.length - 1).map((r) => [
      formatNumber(r.yValue, 4),
      cellText(r.edgeContiguous) + (r.censored ? " (whole row trains)" : ""),
      cellText(r.edgeAny),
      r.bestFinal ? `${cellText(r.bestFinal)} (${formatNumber(r.bestFinal.loss!, 4)})` : "—",
      r.bestHeldout ? `${cellText(r.bestHeldout)} (${formatNumber(r.bestHeldout.loss!, 4)})` : "—",
    ]),
  };
  const comparison = data.comparison?.ok
    ? {
        head: ["sweep", "exponent b", "95% CI", "difference from " + data.comparison.value.fits[0].label, "95% CI of difference"],
        rows: data.comparison.value.fits.map((f, i) => {
          const d = i > 0 ? data.comparison!.ok && data.comparison!.value.differences[i - 1] : null;
          return [f.label, fmt(f.law.exponent), `[${fmt(f.law.exponentCI[0])}, ${fmt(f.law.exponentCI[1])}]`, d ? fmt(d.difference) : "—", d ? `[${fmt(d.ci[0])}, ${fmt(d.ci[1])}]${d.significant ? " *" : ""}` : "—"];
        }),
      }
    : null;
  return { sweeps, dimension, rules, comparison };
}

function powerLawText(data: ReportData): string {
  if (!data.powerLaw.ok) return `No power law: ${data.powerLaw.reason}`;
  const p = data.powerLaw.value;
  return `max ${p.xParam} ∝ ${p.yParam}^b with b = ${fmt(p.exponent)} (95% CI [${fmt(p.exponentCI[0])}, ${fmt(p.exponentCI[1])}]), ` +
    `prefactor 10^${fmt(p.intercept)}, R² = ${fmt(p.r2)}, least squares in log-log through the ${p.edge} edge of ${p.n} ${p.along} `
    + `(${p.excluded} left out: not done, the whole line trains, or none does).`;
}

function sequenceText(data: ReportData): string | null {
  if (!data.sequence) return null;
  if (!data.sequence.ok) return `Sequence dimension not measurable: ${data.sequence.reason}`;
  const s = data.sequence.value;
  return `Zoom sequence (${s.levels.length} levels): pooled dimension ${fmt(s.pooled)} (median of all local slopes), ${fmt(s.pooledLeastSquares)} (common-slope least squares).`;
}

export interface MarkdownReport {
  markdown: string;
  /** Files the Markdown links to (PNG maps, the SVG plot), by name relative to the .md file. */
  files: Record<string, Buffer | string>;
}

/** inline: images as data URIs in the Markdown itself (one self-contained file, `files` empty). */
export function markdownReport(data: ReportData, options: { inline?: boolean } = {}): MarkdownReport {
  const files: Record<string, Buffer | string> = {};
  const link = (name: string, body: Buffer | string, mime: string) => {
    if (options.inline) return `data:${mime};base64,${Buffer.from(body).toString("base64")}`;
    files[name] = body;
    return name;
  };
  const t = tables(data);
  const table = (x: { head: string[]; rows: string[][] }) =>
    [`| ${x.head.join(" | ")} |`, `|${x.head.map(() => "---").join("|")}|`, ...x.rows.map((r) => `| ${r.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`)].join("\n");
  const out: string[] = [`# ${data.title}`, "", "## Sweeps", "", table(t.sweeps), "", "## Maps", ""];
  for (const img of reportImages(data)) {
    out.push(`![${img.caption}](${link(img.name, img.png, "image/png")})`, "", `*${img.caption}*`, "");
  }
  out.push(`## Fractal dimension (${data.layer} boundary)`, "", table(t.dimension), "");
  const seq = sequenceText(data);
  if (seq) out.push(seq, "");
  const svg = dimensionPlot(data);
  if (svg) {
    out.push(`![Box count vs box size, log-log](${link("dimension.svg", svg, "image/svg+xml")})`, "");
  }
  out.push("## Rules of thumb", "", powerLawText(data), "", table(t.rules), "");
  if (t.comparison) out.push("### Across models", "", table(t.comparison), "", "\\* the 95% interval of the difference excludes 0", "");
  else if (data.comparison && !data.comparison.ok) out.push(`Comparison across models not possible: ${data.comparison.reason}`, "");
  return { markdown: out.join("\n"), files };
}

/** A single HTML file: maps inlined as PNG data URIs, the dimension plot as inline SVG. */
export function htmlReport(data: ReportData): string {
  const t = tables(data);
  const table = (x: { head: string[]; rows: string[][] }) =>
    `<table><thead><tr>${x.head.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${x.rows
      .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
      .join("")}</tbody></table>`;
  const out: string[] = [
    "<!doctype html>",
    `<html><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>`,
    "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}figure{margin:1em 0}figcaption{font-style:italic}</style>",
    "</head><body>",
    `<h1>${escapeHtml(data.title)}</h1>`,
    "<h2>Sweeps</h2>",
    table(t.sweeps),
    "<h2>Maps</h2>",
  ];
  for (const img of reportImages(data)) {
    out.push(`<figure><img alt="${escapeHtml(img.caption)}" src="data:image/png;base64,${img.png.toString("base64")}"><figcaption>${escapeHtml(img.caption)}</figcaption></figure>`);
  }
  out.push(`<h2>Fractal dimension (${escapeHtml(data.layer)} boundary)</h2>`, table(t.dimension));
  const seq = sequenceText(data);
  if (seq) out.push(`<p>${escapeHtml(seq)}</p>`);
  const svg = dimensionPlot(data);
  if (svg) out.push(`<figure>${svg}<figcaption>Box count vs box size, log-log; dashed: slope −D</figcaption></figure>`);
  out.push("<h2>Rules of thumb</h2>", `<p>${escapeHtml(powerLawText(data))}</p>`, table(t.rules));
  if (t.comparison) out.push("<h3>Across models</h3>", table(t.comparison), "<p>* the 95% interval of the difference excludes 0</p>");
  else if (data.comparison && !data.comparison.ok) out.push(`<p>${escapeHtml(`Comparison across models not possible: ${data.comparison.reason}`)}</p>`);
  out.push("</body></html>");
  return out.join("\n");
}

// ---------------------------------------------------------------- zoom animation

export interface ViewWindow {
  x: [number, number];
  y: [number, number];
}

/**
 * The view at t in [0, 1] of an exponential zoom from `from` to `to` (axis units): each side shrinks
 * geometrically, w(t) = w0 * r^t, about the fixed point of the similarity that maps `from` onto `to`,
 * so the zoom looks like a steady dive into one spot.
 */
export function zoomView(from: ViewWindow, to: ViewWindow, t: number): ViewWindow {
  const one = (a: [number, number], b: [number, number]): [number, number] => {
    const w0 = a[1] - a[0];
    const r = (b[1] - b[0]) / w0;
    const c0 = (a[0] + a[1]) / 2;
    const c1 = (b[0] + b[1]) / 2;
    const w = w0 * r ** t;
    // Fixed point f: c1 - f = r (c0 - f). With r = 1 there is none; pan linearly instead.
    const c = Math.abs(1 - r) < 1e-12 ? c0 + (c1 - c0) * t : (c1 - r * c0) / (1 - r) + (c0 - (c1 - r * c0) / (1 - r)) * r ** t;
    return [c - w / 2, c + w / 2];
  };
  return { x: one(from.x, to.x), y: one(from.y, to.y) };
}

/** Frames of a dive through a zoom sequence: `framesPerLevel` per parent -> child step, plus the final
 *  frame. Each pixel shows the deepest level that covers it, each level coloured on its own. */
export function* zoomFrames(
  maps: readonly SweepMap[],
  options: { layer?: ColourLayer; framesPerLevel?: number; width?: number; height?: number } = {},
): Generator<Canvas> {
  if (maps.length < 2) throw new Error("a zoom animation needs a parent sweep and at least one zoom into it");
  checkZoomSequence(maps);
  const { layer = "score", framesPerLevel = 24, width = 512 } = options;
  const height = options.height ?? Math.max(1, Math.round((width * maps[0].ny) / maps[0].nx));
  const colours = maps.map((m) => colourLayer(m, layer).rgba);
  const windows = maps.map((m) => ({ x: m.x.range, y: m.y.range }));
  for (let level = 0; level + 1 < maps.length; level++) {
    const last = level + 2 === maps.length;
    for (let f = 0; f < framesPerLevel + (last ? 1 : 0); f++) {
      const view = zoomView(windows[level], windows[level + 1], f / framesPerLevel);
      const frame = new Canvas(width, height, [255, 255, 255]);
      for (let j = 0; j < height; j++) {
        const v = view.y[1] - ((j + 0.5) / height) * (view.y[1] - view.y[0]);
        for (let i = 0; i < width; i++) {
          const u = view.x[0] + ((i + 0.5) / width) * (view.x[1] - view.x[0]);
          for (let k = maps.length - 1; k >= 0; k--) {
            const m = maps[k];
            const ix = cellAt(m.x, m.nx, u);
            const iy = cellAt(m.y, m.ny, v);
            if (ix < 0 || iy < 0) continue;
            const o = (iy * m.nx + ix) * 4;
            frame.set(i, j, [colours[k][o], colours[k][o + 1], colours[k][o + 2]]);
            break;
          }
        }
      }
      yield frame;
    }
  }
}

