// The autopilot's maths, pure: where on the screen the boundary between trainable and diverged cells is, and one
// step of a smooth dive toward it (XaoS's autopilot, aimed at the boundary instead of at random detail).

import type { LayerData } from "../src-shared/contract";
import type { View, Viewport, Window } from "./view";

/**
 * The side of the boundary a layer value is on: 1 or 0, null for a cell not done. Score ranks keep the score's sign
 * (the paper's colouring), the binary layers are 0/1, and a loss layer is finite (trained) or not (diverged).
 */
export function outcomeClass(kind: LayerData["kind"], v: number): 0 | 1 | null {
  if (v < -1e29) return null;
  if (v > 1e29) return 0; // non-finite: diverged, whatever the layer
  if (kind === "rank") return v > 0 ? 1 : 0;
  if (kind === "binary") return v ? 1 : 0;
  return 1;
}

/**
 * The boundary point nearest the window's centre: the window is sampled on a grid of about `samples` points along
 * its longer side (so the search costs the same at any zoom), and a boundary point is the midpoint of two
 * neighbouring samples on opposite sides. Distance is measured in screen units (fractions of the window), so a
 * stretched view does not favour one axis. Null when every sample is on one side or not done.
 */
export function nearestBoundary(w: Window, classify: (x: number, y: number) => 0 | 1 | null, samples = 96): { x: number; y: number } | null {
  const wx = w.x1 - w.x0, wy = w.y1 - w.y0;
  const nx = Math.max(2, Math.round(wx >= wy ? samples : samples * (wx / wy)));
  const ny = Math.max(2, Math.round(wy >= wx ? samples : samples * (wy / wx)));
  const cls = new Int8Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const c = classify(w.x0 + ((i + 0.5) / nx) * wx, w.y0 + ((j + 0.5) / ny) * wy);
      cls[j * nx + i] = c === null ? -1 : c;
    }
  }
  let best: { x: number; y: number } | null = null, bestD = Infinity;
  const consider = (fi: number, fj: number) => {
    const u = fi / nx - 0.5, v = fj / ny - 0.5;
    const d = u * u + v * v;
    if (d < bestD) { bestD = d; best = { x: w.x0 + (fi / nx) * wx, y: w.y0 + (fj / ny) * wy }; }
  };
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const a = cls[j * nx + i];
      if (a < 0) continue;
      if (i + 1 < nx && cls[j * nx + i + 1] >= 0 && cls[j * nx + i + 1] !== a) consider(i + 1, j + 0.5);
      if (j + 1 < ny && cls[(j + 1) * nx + i] >= 0 && cls[(j + 1) * nx + i] !== a) consider(i + 0.5, j + 1);
    }
  }
  return best;
}

/** The dive stops when a cell of the finest scan under the centre is this many pixels wide: no finer data there. */
export const DIVE_CELL_PX = 48;
/** Zoom speed of the dive: 2x magnification per second once the target is near the centre. */
export const DIVE_ZOOM_PER_S = Math.LN2;
/** How fast the centre closes on the target: the gap shrinks by e per 1/this seconds. */
const DIVE_STEER_PER_S = 4;

/**
 * One frame of the dive, `dt` seconds long: the centre moves toward the target, and the view zooms in at full speed
 * only while the target is within the middle third of the screen, so the boundary is never zoomed out of sight.
 */
export function diveStep(v: View, vp: Viewport, target: { x: number; y: number }, dt: number): View {
  const k = 1 - Math.exp(-DIVE_STEER_PER_S * dt);
  const cx = v.cx + (target.x - v.cx) * k, cy = v.cy + (target.y - v.cy) * k;
  const off = Math.max(Math.abs(target.x - cx) / (vp.width * v.sx), Math.abs(target.y - cy) / (vp.height * v.sy));
  const zoom = Math.exp(-DIVE_ZOOM_PER_S * dt * (off < 1 / 6 ? 1 : 0.1));
  return { cx, cy, sx: v.sx * zoom, sy: v.sy * zoom };
}
