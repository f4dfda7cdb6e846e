// The 3-D view's geometry, pure: the height field of a layer, the axes with ticks in hyperparameter and metric
// units, and the camera that frames them (components/Surface3D.tsx draws them with three.js).

import * as THREE from "three";
import { NO, type Palette, paletteOf, type Rgb, sampleColourMap } from "../src-shared/colours";
import type { LayerData, SweepSummary } from "../src-shared/contract";
import { axisTicks } from "./ticks";

export const MAX_SIDE = 192; // vertices per side; larger maps are sampled on a stride
/** World units: the map is the unit square in x and z (x right, map y away from the viewer), heights up to HEIGHT,
 *  the diverged plateau at PLATEAU x HEIGHT. */
export const HEIGHT = 0.4;
export const PLATEAU = 1.08;
export const FOV = 45;

export interface HeightField {
  positions: Float32Array; colours: Float32Array; index: Uint32Array; w: number; h: number;
  /** The metric's values at height 0 and at HEIGHT (its 2nd and 98th percentile), and the layer's kind. */
  zLo: number; zHi: number; kind: LayerData["kind"];
  /** Where in the palette the colours at height 0 and at HEIGHT are (0..1): the legend's ramp spans these. */
  tLo: number; tHi: number;
}

/** Build the height field in world coordinates; diverged = not trainable (or a non-finite metric). Never emits NaN:
 *  a value that is none of finite, NON_FINITE or NOT_DONE (a NaN) is drawn as not done. Colours are the map's palette
 *  for the metric's kind: a loss spans the palette from the floor to the top (height and colour one scale), a score
 *  has the colour the 2-D map gives it (palette at (v + 1) / 2); the diverged plateau is `diverged` (the outcome
 *  palette's "no", by default the paper's red). */
export function heightField(metric: LayerData, trainable: LayerData, palette: Palette = paletteOf(undefined, metric.kind),
  diverged: Rgb = NO): HeightField {
  const sx = Math.max(1, Math.ceil(metric.nx / MAX_SIDE)), sy = Math.max(1, Math.ceil(metric.ny / MAX_SIDE));
  const w = Math.ceil(metric.nx / sx), h = Math.ceil(metric.ny / sy);
  const finite: number[] = [];
  // The scale is the trained cells' (a diverged cell's last finite loss, 1e40, would flatten them all): it is
  // drawn as the plateau anyway.
  const stride = Math.max(1, Math.floor(metric.values.length / 20_000)); // a sample is enough for the percentiles
  for (let i = 0; i < metric.values.length; i += stride) {
    const v = metric.values[i];
    if (v > -1e29 && v < 1e29 && trainable.values[i] !== 0) finite.push(v);
  }
  finite.sort((a, b) => a - b);
  const lo = finite.length ? finite[Math.floor(finite.length * 0.02)] : 0;
  const hi = finite.length ? finite[Math.floor(finite.length * 0.98)] : 1;
  const span = hi - lo || 1;
  const positions = new Float32Array(w * h * 3), colours = new Float32Array(w * h * 3);
  const red = diverged.map((c) => c / 255);
  const rank = metric.kind === "rank";
  const tOf = (v: number, z: number) => (rank ? (Math.min(1, Math.max(-1, v)) + 1) / 2 : z);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const ix = Math.min(metric.nx - 1, i * sx), iy = Math.min(metric.ny - 1, j * sy);
      const cell = iy * metric.nx + ix;
      const v = metric.values[cell], t = trainable.values[cell];
      const isDiverged = t === 0 || v > 1e29;
      const finiteValue = v > -1e29 && v < 1e29;
      const notDone = !isDiverged && !finiteValue;
      const z = isDiverged ? PLATEAU : notDone ? 0 : Math.min(1, Math.max(0, (v - lo) / span));
      const k = j * w + i;
      // cell centres, so axis ticks land where the cells they name are
      positions.set([(ix + 0.5) / metric.nx - 0.5, z * HEIGHT, 0.5 - (iy + 0.5) / metric.ny], 3 * k);
      const c = isDiverged ? red : notDone ? [0.6, 0.6, 0.6] : sampleColourMap(palette.stops, tOf(v, z)).map((x) => x / 255);
      colours.set(c, 3 * k);
    }
  }
  const index = new Uint32Array((w - 1) * (h - 1) * 6);
  let n = 0;
  for (let j = 0; j < h - 1; j++) for (let i = 0; i < w - 1; i++) {
    const a = j * w + i, b = a + 1, c = a + w, d = c + 1;
    index.set([a, b, d, a, d, c], n); n += 6;
  }
  return { positions, colours, index, w, h, zLo: lo, zHi: lo + span, kind: metric.kind, tLo: tOf(lo, 0), tHi: tOf(lo + span, 1) };
}

/** Where the camera looks from and at so the whole surface, plateau and axis labels included, is in view. */
export function framing(aspect: number): { position: [number, number, number]; target: [number, number, number] } {
  const top = PLATEAU * HEIGHT;
  const radius = Math.hypot(0.5 + 0.08, 0.5 + 0.08, top / 2); // the unit square plus the labels' margin
  const half = (FOV / 2) * Math.PI / 180;
  const halfH = Math.atan(Math.tan(half) * Math.min(1, aspect)); // a narrow view fits the width instead
  const d = radius / Math.sin(halfH);
  const dir = new THREE.Vector3(0.75, 0.9, 1.25).normalize().multiplyScalar(d);
  return { position: [dir.x, dir.y + top / 2, dir.z], target: [0, top / 2, 0] };
}

/** One label of an axis: its text, where it hangs in the world, and whether it is the axis's title. */
export interface AxisLabel { text: string; at: [number, number, number]; title?: boolean; axis: "x" | "y" | "z" }

/** Axis lines, tick marks and labels: x along the front edge, y along the left edge (both in the sweep's
 *  hyperparameter units), height at the front-left corner, in front of the surface, in the metric's units (10^u
 *  for a log layer). */
export function axes(s: Pick<SweepSummary, "window" | "xAxis" | "yAxis">, field: HeightField, heightName: string):
  { segments: Float32Array; labels: AxisLabel[] } {
  const seg: number[] = [];
  const labels: AxisLabel[] = [];
  const { x0, x1, y0, y1 } = s.window;
  const T = 0.02; // tick length
  seg.push(-0.5, 0, 0.5, 0.5, 0, 0.5, -0.5, 0, 0.5, -0.5, 0, -0.5, -0.5, 0, 0.5, -0.5, HEIGHT, 0.5);
  for (const t of axisTicks(x0, x1, s.xAxis.scale, 5)) {
    const X = (t.u - x0) / (x1 - x0) - 0.5;
    seg.push(X, 0, 0.5, X, 0, 0.5 + T);
    labels.push({ text: t.label, at: [X, 0, 0.5 + 0.06], axis: "x" });
  }
  for (const t of axisTicks(y0, y1, s.yAxis.scale, 5)) {
    const Z = 0.5 - (t.u - y0) / (y1 - y0);
    seg.push(-0.5, 0, Z, -0.5 - T, 0, Z);
    labels.push({ text: t.label, at: [-0.5 - 0.07, 0, Z], axis: "y" });
  }
  for (const t of axisTicks(field.zLo, field.zHi, field.kind === "log" ? "log" : "linear", 4)) {
    const Y = (t.u - field.zLo) / (field.zHi - field.zLo) * HEIGHT;
    seg.push(-0.5, Y, 0.5, -0.5 - T, Y, 0.5 + T);
    labels.push({ text: t.label, at: [-0.5 - 0.06, Y, 0.5 + 0.04], axis: "z" });
  }
  labels.push({ text: s.xAxis.param, at: [0, 0, 0.5 + 0.14], title: true, axis: "x" });
  labels.push({ text: s.yAxis.param, at: [-0.5 - 0.17, 0, 0], title: true, axis: "y" });
  labels.push({ text: heightName, at: [-0.5, HEIGHT + 0.07, 0.5], title: true, axis: "z" });
  return { segments: new Float32Array(seg), labels };
}
