// A layer drawn on a 2-D canvas with the shader's colours (shader.ts), for the small pictures: library
// thumbnails and the overview map. Row iy = 0 (the low end of y) is drawn at the bottom, as on the map.

import type { LayerData } from "../src-shared/contract";
import { NO, NON_FINITE, NOT_DONE, type Rgb, sampleColourMap, SPECTRAL, VIRIDIS, YES } from "../src-shared/colours";

/** The colour of one layer value (the fragment shader's rule: sentinels, then rank / binary / log). */
export function layerColour(layer: Pick<LayerData, "kind" | "lo" | "hi">, v: number): Rgb {
  if (v < -1e29) return NOT_DONE;
  if (v > 1e29) return NON_FINITE;
  if (layer.kind === "rank") return sampleColourMap(SPECTRAL, (v + 1) / 2);
  if (layer.kind === "binary") return v ? YES : NO;
  return sampleColourMap(VIRIDIS, (v - layer.lo) / Math.max(layer.hi - layer.lo, 1e-12));
}

/** RGBA pixels of a layer, top row first (the highest iy), one pixel per value; cells not done transparent if asked
 * (the map draws a zoom's missing cells so, letting its parent show through, as the shader does). */
export function layerPixels(layer: LayerData, notDoneTransparent = false): Uint8ClampedArray<ArrayBuffer> {
  const { nx, ny, values } = layer;
  const out = new Uint8ClampedArray(nx * ny * 4);
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const v = values[iy * nx + ix];
      const c = layerColour(layer, v);
      const o = ((ny - 1 - iy) * nx + ix) * 4;
      out[o] = c[0]; out[o + 1] = c[1]; out[o + 2] = c[2]; out[o + 3] = notDoneTransparent && v < -1e29 ? 0 : 255;
    }
  }
  return out;
}

/** A layer as a canvas of one pixel per value (to be drawn scaled, without smoothing). */
export function layerCanvas(layer: LayerData, notDoneTransparent = false): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = layer.nx; c.height = layer.ny;
  // A CPU canvas, as MapPreview2D's: no GPU channel to wait for.
  c.getContext("2d", { willReadFrequently: true })!.putImageData(new ImageData(layerPixels(layer, notDoneTransparent), layer.nx, layer.ny), 0, 0);
  return c;
}

/** Draw a layer scaled to the canvas (nearest neighbour, crisp cells). */
export function drawLayer(canvas: HTMLCanvasElement, layer: LayerData): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(layerCanvas(layer), 0, 0, canvas.width, canvas.height);
}
