// A layer drawn on a 2-D canvas with the shader's colours (shader.ts), for the small pictures: library
// thumbnails and the overview map. Row iy = 0 (the low end of y) is drawn at the bottom, as on the map.

import type { LayerData } from "../src-main/api/contract";
import { NO, NON_FINITE, NOT_DONE, type Rgb, sampleColourMap, SPECTRAL, VIRIDIS, YES } from "../src-main/api/shared/colours";

/** The colour of one layer value (the fragment shader's rule: sentinels, then rank / binary / log). */
export function layerColour(layer: Pick<LayerData, "kind" | "lo" | "hi">, v: number): Rgb {
  if (v < -1e29) return NOT_DONE;
  if (v > 1e29) return NON_FINITE;
  if (layer.kind === "rank") return sampleColourMap(SPECTRAL, (v + 1) / 2);
  if (layer.kind === "binary") return v ? YES : NO;
  return sampleColourMap(VIRIDIS, (v - layer.lo) / Math.max(layer.hi - layer.lo, 1e-12));
}

/** RGBA pixels of a layer, top row first (the highest iy), one pixel per value. */
export function layerPixels(layer: LayerData): Uint8ClampedArray<ArrayBuffer> {
  const { nx, ny, values } = layer;
  const out = new Uint8ClampedArray(nx * ny * 4);
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const c = layerColour(layer, values[iy * nx + ix]);
      const o = ((ny - 1 - iy) * nx + ix) * 4;
      out[o] = c[0]; out[o + 1] = c[1]; out[o + 2] = c[2]; out[o + 3] = 255;
    }
  }
  return out;
}

/** Draw a layer scaled to the canvas (nearest neighbour, crisp cells). */
export function drawLayer(canvas: HTMLCanvasElement, layer: LayerData): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const img = new ImageData(layerPixels(layer), layer.nx, layer.ny);
  const tmp = document.createElement("canvas");
  tmp.width = layer.nx; tmp.height = layer.ny;
  tmp.getContext("2d")!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}
