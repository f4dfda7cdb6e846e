/**
 * Raster figures for export: a map layer with axes (ticks in hyperparameter units), a legend and
 * optional overlays (boundaries, power laws, zoom windows), drawn into an RGBA buffer.
 */
import type { Palette } from "../../src-shared/colours";
import { colourLayer, formatNumber, type ColourLayer, type Legend, type Rgb } from "./colour.js";
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyph, textWidth } from "./font.js";
import { valueAt, checkMap, type MapAxis, type SweepMap } from "./map.js";
import type { RgbaImage } from "./png.js";

export class Canvas implements RgbaImage {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: Rgb = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 4);
    for (let o = 0; o < this.data.length; o += 4) {
      this.data[o] = background[0];
      this.data[o + 1] = background[1];
      this.data[o + 2] = background[2];
      this.data[o + 3] = 255;
    }
  }

  set(x: number, y: number, c: Rgb): void {
    x = Math.floor(x);
    y = Math.floor(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 4;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
    this.data[o + 3] = 255;
  }

  get(x: number, y: number): Rgb {
    const o = (y * this.width + x) * 4;
    return [this.data[o], this.data[o + 1], this.data[o + 2]];
  }

  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) this.set(i, j, c);
  }

  strokeRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    this.fillRect(x, y, w, 1, c);
    this.fillRect(x, y + h - 1, w, 1, c);
    this.fillRect(x, y, 1, h, c);
    this.fillRect(x + w - 1, y, 1, h, c);
  }

  /** Text with its top-left corner at (x, y). */
  text(x: number, y: number, s: string, c: Rgb, scale = 2): void {
    let cx = x;
    for (const ch of s) {
      const rows = glyph(ch);
      rows.forEach((row, j) => {
        for (let i = 0; i < row.length; i++) if (row[i] === "#") this.fillRect(cx + i * scale, y + j * scale, scale, scale, c);
      });
      cx += (GLYPH_WIDTH + 1) * scale;
    }
  }

  /** A line of `thickness` pixels, drawn only inside the clip rectangle. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 2, clip = { x: 0, y: 0, w: this.width, h: this.height }): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = Math.floor(thickness / 2);
    for (let k = 0; k <= steps; k++) {
      const px = Math.round(x0 + ((x1 - x0) * k) / steps);
      const py = Math.round(y0 + ((y1 - y0) * k) / steps);
      for (let j = py - r; j < py - r + thickness; j++) {
        for (let i = px - r; i < px - r + thickness; i++) {
          if (i >= clip.x && j >= clip.y && i < clip.x + clip.w && j < clip.y + clip.h) this.set(i, j, c);
        }
      }
    }
  }
}

export interface Tick {
  /** Position in axis units. */
  u: number;
  label: string;
}

/** Ticks in hyperparameter units. Log axis: whole decades when it spans three or more, else
 *  1-2-5 x 10^k, else (a narrow zoom, nearly linear in value) evenly spaced values. Linear axis:
 *  1-2-5 steps. Labels get as many digits as it takes to tell neighbours apart (deep zooms). */
export function axisTicks(axis: MapAxis, target = 5): Tick[] {
  const [lo, hi] = axis.range;
  let us: number[] = [];
  if (axis.scale === "log") {
    const decades: number[] = [];
    for (let d = Math.ceil(lo); d <= hi; d++) decades.push(d);
    const every = Math.ceil(decades.length / 8);
    const oneTwoFive: number[] = [];
    for (let d = Math.floor(lo); d <= Math.ceil(hi); d++) {
      for (const m of [1, 2, 5]) if (d + Math.log10(m) >= lo && d + Math.log10(m) <= hi) oneTwoFive.push(d + Math.log10(m));
    }
    if (decades.length >= 3) us = decades.filter((d) => d % every === 0);
    else if (oneTwoFive.length >= 3) us = oneTwoFive;
    else us = niceSteps(10 ** lo, 10 ** hi, target).map(Math.log10).filter((u) => u >= lo && u <= hi);
  } else {
    us = niceSteps(lo, hi, target);
  }
  const values = us.map((u) => valueAt(axis, u));
  let labels: string[] = [];
  for (let digits = 3; digits <= 15; digits++) {
    labels = values.map((v) => formatNumber(v, digits));
    if (new Set(labels).size === labels.length) break;
  }
  return us.map((u, i) => ({ u, label: labels[i] }));
}

/** Multiples of a 1-2-5 step inside [lo, hi]: of the steps that give at least 3, the one whose
 *  count is nearest `target`. */
function niceSteps(lo: number, hi: number, target: number): number[] {
  const p = 10 ** Math.floor(Math.log10((hi - lo) / target));
  let best: number[] = [];
  for (const m of [10, 5, 2, 1]) {
    const step = m * p;
    const out: number[] = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(k * step + 0); // + 0: no -0
    if (out.length >= 3 && (best.length < 3 || Math.abs(out.length - target) < Math.abs(best.length - target))) best = out;
    if (best.length === 0 && m === 1) best = out;
  }
  return best;
}

export interface Overlay {
  /** Polyline in axis units. */
  points: [number, number][];
  rgb: Rgb;
  thickness?: number;
}

export interface FigureOptions {
  /** Pixels along the plot's longer side (default 512; maps up to that size get whole-pixel cells). */
  size?: number;
  title?: string;
  overlays?: Overlay[];
  /** Font scale (default 2: 10x14-pixel glyphs). */
  textScale?: number;
  /** The layer's colour map (colour.ts colourLayer; default the paper's for the layer). */
  palette?: Palette;
}

export interface Figure {
  image: Canvas;
  /** The plot area inside the image, in pixels. */
  plot: { x: number; y: number; w: number; h: number };
  legend: Legend;
}

const INK: Rgb = [0x22, 0x22, 0x22];

/** A layer of a map with axes, legend and overlays. y grows upwards (iy = 0 at the bottom). */
export function renderFigure(map: SweepMap, layer: ColourLayer, options: FigureOptions = {}): Figure {
  checkMap(map);
  const { size = 512, title, overlays = [], textScale: s = 2 } = options;
  const { rgba, legend } = colourLayer(map, layer, options.palette);
  const long = Math.max(map.nx, map.ny);
  const px = long <= size ? Math.floor(size / long) : size / long; // pixels per cell
  const w = Math.max(1, Math.round(map.nx * px));
  const h = Math.max(1, Math.round(map.ny * px));

  const gh = GLYPH_HEIGHT * s;
  const xTicks = axisTicks(map.x);
  const yTicks = axisTicks(map.y);
  const yTickWidth = Math.max(...yTicks.map((t) => textWidth(t.label, s)), 0);
  const xLabel = `${map.x.param}${map.x.scale === "log" ? " (log)" : ""}`;
  const yLabel = `${map.y.param}${map.y.scale === "log" ? " (log)" : ""}`;
  const legendLabels = legend.kind === "categorical" ? legend.entries.map((e) => e.label) : [...legend.ticks.map((t) => t.label), ...legend.extra.map((e) => e.label)];
  const legendWidth = Math.max(textWidth(legend.title, s), 20 + 8 + Math.max(...legendLabels.map((l) => textWidth(l, s))));

  const left = yTickWidth + 16;
  const top = 10 + (title ? gh + 10 : 0) + gh + 8;
  const bottom = 8 + gh + 10 + gh + 10;
  const right = 24 + legendWidth + 12;
  const image = new Canvas(left + w + right, Math.max(top + h + bottom, top + 160), [255, 255, 255]);
  const plot = { x: left, y: top, w, h };

  if (title) image.text(left, 10, title, INK, s);
  image.text(left, top - gh - 8, yLabel, INK, s);

  // The map: nearest cell per pixel; image row 0 is the top (highest iy).
  for (let j = 0; j < h; j++) {
    const iy = map.ny - 1 - Math.min(map.ny - 1, Math.floor(((j + 0.5) * map.ny) / h));
    for (let i = 0; i < w; i++) {
      const ix = Math.min(map.nx - 1, Math.floor(((i + 0.5) * map.nx) / w));
      const o = (iy * map.nx + ix) * 4;
      image.set(left + i, top + j, [rgba[o], rgba[o + 1], rgba[o + 2]]);
    }
  }

  const toPx = (u: number, v: number): [number, number] => [
    left + ((u - map.x.range[0]) / (map.x.range[1] - map.x.range[0])) * w,
    top + h - ((v - map.y.range[0]) / (map.y.range[1] - map.y.range[0])) * h,
  ];
  for (const o of overlays) {
    for (let k = 1; k < o.points.length; k++) {
      const [a, b] = [toPx(...o.points[k - 1]), toPx(...o.points[k])];
      image.line(a[0], a[1], b[0], b[1], o.rgb, o.thickness ?? 2, plot);
    }
  }

  image.strokeRect(left - 1, top - 1, w + 2, h + 2, INK);
  for (const t of xTicks) {
    const [x] = toPx(t.u, map.y.range[0]);
    const xi = Math.round(x);
    image.fillRect(xi, top + h + 1, 1, 6, INK);
    const tw = textWidth(t.label, s);
    image.text(Math.round(Math.min(Math.max(xi - tw / 2, 0), image.width - tw)), top + h + 8, t.label, INK, s);
  }
  for (const t of yTicks) {
    const [, y] = toPx(map.x.range[0], t.u);
    const yi = Math.round(y);
    image.fillRect(left - 7, yi, 6, 1, INK);
    image.text(left - 9 - textWidth(t.label, s), Math.round(Math.min(Math.max(yi - gh / 2, top), top + h - gh)), t.label, INK, s);
  }
  image.text(left + Math.round((w - textWidth(xLabel, s)) / 2), top + h + 8 + gh + 10, xLabel, INK, s);

  drawLegend(image, legend, left + w + 24, top, h, s);
  return { image, plot, legend };
}

function drawLegend(image: Canvas, legend: Legend, x: number, y: number, h: number, s: number): void {
  const gh = GLYPH_HEIGHT * s;
  image.text(x, y, legend.title, INK, s);
  let cy = y + gh + 10;
  const swatch = (rgb: Rgb, label: string) => {
    image.fillRect(x, cy, 20, gh, rgb);
    image.strokeRect(x, cy, 20, gh, INK);
    image.text(x + 28, cy, label, INK, s);
    cy += gh + 8;
  };
  if (legend.kind === "categorical") {
    for (const e of legend.entries) swatch(e.rgb, e.label);
    return;
  }
  const barH = Math.max(60, Math.min(h - gh - 10 - legend.extra.length * (gh + 8) - 8, 240));
  for (let j = 0; j < barH; j++) {
    const t = 1 - j / (barH - 1);
    const u = t * (legend.colours.length - 1);
    const i = Math.min(legend.colours.length - 2, Math.floor(u));
    const f = u - i;
    const c = [0, 1, 2].map((k) => Math.round(legend.colours[i][k] + f * (legend.colours[i + 1][k] - legend.colours[i][k]))) as Rgb;
    image.fillRect(x, cy + j, 20, 1, c);
  }
  image.strokeRect(x, cy, 20, barH, INK);
  for (const t of legend.ticks) {
    const ty = cy + Math.round((1 - t.position) * (barH - 1));
    image.fillRect(x + 20, ty, 4, 1, INK);
    image.text(x + 28, Math.min(Math.max(ty - gh / 2, cy), cy + barH - gh), t.label, INK, s);
  }
  cy += barH + 12;
  for (const e of legend.extra) swatch(e.rgb, e.label);
}
