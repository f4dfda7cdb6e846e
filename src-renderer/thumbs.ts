// A layer drawn on a 2-D canvas with the shader's colours (shader.ts) in the palette chosen for its kind of layer, for
// the small pictures: library thumbnails, the overview map and the first frame before WebGL. Row iy = 0 (the low end
// of y) is drawn at the bottom, as on the map.

import type { LayerData } from "../src-shared/contract";
import { type Palette, type Rgb, sampleColourMap } from "../src-shared/colours";

/** The colour of one layer value (the fragment shader's rule: sentinels, then rank / binary / log). */
export function layerColour(layer: Pick<LayerData, "kind" | "lo" | "hi">, v: number, p: Palette): Rgb {
  if (v < -1e29) return p.notDone;
  if (v > 1e29) return p.nonFinite;
  if (layer.kind === "rank") return sampleColourMap(p.stops, (v + 1) / 2);
  if (layer.kind === "binary") return v ? p.yes : p.no;
  return sampleColourMap(p.stops, (v - layer.lo) / Math.max(layer.hi - layer.lo, 1e-12));
}

/** RGBA pixels of a layer, top row first (the highest iy), one pixel per value; cells not done transparent if asked
 * (the map draws a zoom's missing cells so, letting its parent show through, as the shader does). */
export function layerPixels(layer: LayerData, p: Palette, notDoneTransparent = false): Uint8ClampedArray<ArrayBuffer> {
  const { nx, ny, values } = layer;
  const out = new Uint8ClampedArray(nx * ny * 4);
  for (let iy = 0; iy < ny; iy++) {
    for (let ix = 0; ix < nx; ix++) {
      const v = values[iy * nx + ix];
      const c = layerColour(layer, v, p);
      const o = ((ny - 1 - iy) * nx + ix) * 4;
      out[o] = c[0]; out[o + 1] = c[1]; out[o + 2] = c[2]; out[o + 3] = notDoneTransparent && v < -1e29 ? 0 : 255;
    }
  }
  return out;
}

/** A layer as a canvas of one pixel per value (to be drawn scaled, without smoothing). */
export function layerCanvas(layer: LayerData, p: Palette, notDoneTransparent = false): HTMLCanvasElement {
  const c = document.createElement("canvas");
  c.width = layer.nx; c.height = layer.ny;
  // A CPU canvas, as MapPreview2D's: no GPU channel to wait for.
  c.getContext("2d", { willReadFrequently: true })!.putImageData(new ImageData(layerPixels(layer, p, notDoneTransparent), layer.nx, layer.ny), 0, 0);
  return c;
}

/** Draw a layer scaled to the canvas (nearest neighbour, crisp cells). */
export function drawLayer(canvas: HTMLCanvasElement, layer: LayerData, p: Palette): void {
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(layerCanvas(layer, p), 0, 0, canvas.width, canvas.height);
}
