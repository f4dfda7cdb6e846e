// View maths of the map, pure and in float64. The view is a centre (axis units) and a scale (axis units per
// CSS pixel, one per axis); screen y grows downwards, axis y upwards. Drawing never hands the GPU an absolute
// coordinate: each sweep's visible part is clipped here in float64 and passed as a small screen rectangle plus
// cell coordinates relative to its first visible cell, so float32 on the GPU only ever sees small numbers and
// ten and more decades of zoom stay exact.

import { gridCell, type Window } from "../src-shared/grid";

export type { Window };
export interface View { cx: number; cy: number; sx: number; sy: number }
export interface Viewport { width: number; height: number }

export function screenToWorld(v: View, vp: Viewport, px: number, py: number): { x: number; y: number } {
  return { x: v.cx + (px - vp.width / 2) * v.sx, y: v.cy - (py - vp.height / 2) * v.sy };
}

export function worldToScreen(v: View, vp: Viewport, x: number, y: number): { px: number; py: number } {
  return { px: vp.width / 2 + (x - v.cx) / v.sx, py: vp.height / 2 - (y - v.cy) / v.sy };
}

/** Scale the view by `factor` (< 1 zooms in) keeping the world point under pixel (px, py) where it is. */
export function zoomAt(v: View, vp: Viewport, px: number, py: number, factor: number): View {
  const p = screenToWorld(v, vp, px, py);
  const sx = v.sx * factor, sy = v.sy * factor;
  return { sx, sy, cx: p.x - (px - vp.width / 2) * sx, cy: p.y + (py - vp.height / 2) * sy };
}

/** Move the view so the content follows a drag of (dx, dy) pixels. */
export function pan(v: View, dx: number, dy: number): View {
  return { ...v, cx: v.cx - dx * v.sx, cy: v.cy + dy * v.sy };
}

/**
 * The view that shows window `w` whole, centred, with `margin` pixels spare on each side. `equal`: one axis unit
 * is as many pixels across as up (a square of equal log10 extents stays square); otherwise the window fills the
 * viewport, stretched.
 */
export function fitWindow(w: Window, vp: Viewport, margin = 0, equal = false): View {
  let sx = (w.x1 - w.x0) / Math.max(1, vp.width - 2 * margin);
  let sy = (w.y1 - w.y0) / Math.max(1, vp.height - 2 * margin);
  if (equal) sx = sy = Math.max(sx, sy);
  return { cx: (w.x0 + w.x1) / 2, cy: (w.y0 + w.y1) / 2, sx, sy };
}

/**
 * Whether a map is shown 1:1 in axis units unless the user asks to fill the window: two log axes (decades on
 * both) or two linear axes of comparable extent. A linear axis beside a log one, or linear extents far apart,
 * have no common unit, so those fill.
 */
export function equalAspect(xScale: string, yScale: string, w: Window): boolean {
  if (xScale !== yScale) return false;
  if (xScale === "log") return true;
  const r = (w.x1 - w.x0) / (w.y1 - w.y0);
  return r >= 0.25 && r <= 4;
}

/** Same view, re-shaped to 1:1 (the larger scale on both axes) or left as it is. */
export function withAspect(v: View, equal: boolean): View {
  if (!equal || v.sx === v.sy) return v;
  const s = Math.max(v.sx, v.sy);
  return { ...v, sx: s, sy: s };
}

/** The scale bar: the largest 1, 2 or 5 x 10^k axis units that fit in `maxPx` pixels at `unitsPerPx`. */
export function scaleBar(unitsPerPx: number, maxPx: number): { units: number; px: number } {
  const raw = unitsPerPx * maxPx;
  const p = 10 ** Math.floor(Math.log10(raw));
  const units = [5, 2, 1].map((m) => m * p).find((u) => u <= raw) ?? p;
  return { units, px: units / unitsPerPx };
}

/** How many times the view is magnified against the root window fitted whole: log10 of it, in decades. */
export function zoomDecades(v: View, vp: Viewport, root: Window): number {
  const fit = fitWindow(root, vp, 24, false);
  return Math.log10(Math.max(fit.sx / v.sx, fit.sy / v.sy));
}

/** The axis-unit window the viewport shows. */
export function visibleWindow(v: View, vp: Viewport): Window {
  return { x0: v.cx - (vp.width / 2) * v.sx, x1: v.cx + (vp.width / 2) * v.sx, y0: v.cy - (vp.height / 2) * v.sy, y1: v.cy + (vp.height / 2) * v.sy };
}

/** Cell (ix, iy) of a sweep under world point (x, y), or null outside its window. */
export function pickCell(w: Window, nx: number, ny: number, x: number, y: number): { ix: number; iy: number; index: number } | null {
  const ix = gridCell(w.x0, w.x1, nx, x), iy = gridCell(w.y0, w.y1, ny, y);
  if (ix < 0 || iy < 0) return null;
  return { ix, iy, index: iy * nx + ix };
}

/**
 * What the GPU needs to draw a sweep's visible part: the rectangle in normalised device coordinates, cell
 * coordinates at its corners relative to `base` (a cell edge; cell = base + floor(local), clamped to the grid),
 * and the cell footprint of a pixel.
 * Null when the sweep is off screen.
 */
export interface QuadPlacement {
  ndc: [number, number, number, number];
  local: [number, number, number, number];
  base: [number, number];
  cellsPerPixel: number;
}

export function placeSweep(v: View, vp: Viewport, w: Window, nx: number, ny: number): QuadPlacement | null {
  const vis = visibleWindow(v, vp);
  const x0 = Math.max(w.x0, vis.x0), x1 = Math.min(w.x1, vis.x1);
  const y0 = Math.max(w.y0, vis.y0), y1 = Math.min(w.y1, vis.y1);
  if (!(x0 < x1 && y0 < y1)) return null;
  const cw = (w.x1 - w.x0) / nx, ch = (w.y1 - w.y0) / ny;
  // Cell coordinates of the clipped corners, in float64, then made relative to the first visible cell.
  const fx0 = (x0 - w.x0) / cw, fx1 = (x1 - w.x0) / cw, fy0 = (y0 - w.y0) / ch, fy1 = (y1 - w.y0) / ch;
  // The base is the cell edge nearest the view centre, so the GPU's local coordinates are small numbers near 0,
  // where float32 is relatively precise: deep in a zoom the whole screen may span 1e-11 of one cell.
  const fcx = (v.cx - w.x0) / cw, fcy = (v.cy - w.y0) / ch;
  const bx = Math.min(nx, Math.max(0, Math.round(fcx))), by = Math.min(ny, Math.max(0, Math.round(fcy)));
  const toNdcX = (x: number) => ((x - v.cx) / v.sx) / (vp.width / 2);
  const toNdcY = (y: number) => ((y - v.cy) / v.sy) / (vp.height / 2);
  return {
    ndc: [toNdcX(x0), toNdcY(y0), toNdcX(x1), toNdcY(y1)],
    local: [fx0 - bx, fy0 - by, fx1 - bx, fy1 - by],
    base: [bx, by],
    cellsPerPixel: Math.max(v.sx / cw, v.sy / ch),
  };
}
