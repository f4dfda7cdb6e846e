// The map on a 2-D canvas, drawn while the WebGL map (GlMap.tsx, three.js: most of the bundle) is still loading:
// the same sweeps, layers, colours (thumbs.ts, the shader's rule) and view as the GPU draws, one image per sweep
// scaled with nearest-neighbour sampling. It draws what arrives first, the previews of large maps, so the first
// frame of a 4096^2 map waits for its 256^2 preview, not for three.js to be parsed.

import { useEffect, useRef } from "react";
import type { Palette } from "../../src-shared/colours";
import type { LayerData } from "../../src-shared/contract";
import { mark, perf } from "../perf";
import { drawnSweeps, layerOf, mapInputsChanged, paletteFor, useUi } from "../state";
import { layerCanvas } from "../thumbs";
import { worldToScreen } from "../view";

let drawnFirst: () => void = () => {};
/** Resolves when this canvas has drawn a sweep's layer: the first frame is on screen. */
export const previewDrawn = new Promise<void>((res) => { drawnFirst = res; });

/** Larger layers (a full 4096^2 map) are left to the GPU: colouring them here would hold the page for seconds. */
const MAX_CELLS = 1 << 20;

export function MapPreview2D({ width, height }: { width: number; height: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    // One image per layer and palette: choosing another palette in the legend colours the layers again.
    const images = new WeakMap<LayerData, { palette: Palette; img: HTMLCanvasElement }>();
    const draw = () => {
      const st = useUi.getState();
      // A CPU canvas: it needs no GPU channel, which the page's first accelerated canvas waits for on its main thread
      // (Chromium's GPU process starting: most of a second with software WebGL here).
      const ctx = ref.current?.getContext("2d", { willReadFrequently: true });
      if (!ctx || !st.view) return;
      ctx.fillStyle = "#20242b"; // the WebGL map's clear colour
      ctx.fillRect(0, 0, width, height);
      ctx.imageSmoothingEnabled = false;
      const vp = { width, height };
      drawnSweeps(st).forEach((s, i) => {
        const layer = layerOf(s.id);
        if (!layer || layer.nx * layer.ny > MAX_CELLS) return;
        const palette = paletteFor(st, layer.kind);
        let img = images.get(layer)?.palette === palette ? images.get(layer)!.img : null;
        if (!img) images.set(layer, { palette, img: (img = layerCanvas(layer, palette, i > 0)) }); // a zoom's missing cells show its parent
        const w = s.window, stride = layer.stride ?? 1;
        const a = worldToScreen(st.view!, vp, w.x0, w.y1), b = worldToScreen(st.view!, vp, w.x1, w.y0);
        // A preview's last column and row may stand for fewer than `stride` cells: clip to the sweep's window.
        const cw = (b.px - a.px) / s.nx, ch = (b.py - a.py) / s.ny;
        ctx.save();
        ctx.beginPath();
        ctx.rect(a.px, a.py, b.px - a.px, b.py - a.py);
        ctx.clip();
        ctx.drawImage(img, a.px, b.py - layer.ny * stride * ch, layer.nx * stride * cw, layer.ny * stride * ch);
        ctx.restore();
        perf.firstFrame[s.id] ??= performance.now();
        requestAnimationFrame(() => mark(`next frame ${s.id}`)); // when the page next renders: the draw is on screen
        drawnFirst();
      });
    };
    draw();
    return useUi.subscribe((st, prev) => { if (mapInputsChanged(st, prev)) draw(); });
  }, [width, height]);
  return <canvas ref={ref} className="map-canvas" data-testid="map-preview-2d" width={width} height={height} />;
}
