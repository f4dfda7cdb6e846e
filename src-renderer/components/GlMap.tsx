// The WebGL part of the map (three.js through @react-three/fiber): every sweep of the open tree as a textured quad
// (finest on top), drawn relative to the view centre (view.ts placeSweep) with the shader of shader.ts. MapView
// loads it lazily as its own chunk: three.js is most of the renderer's bundle, and the first frame must not wait for
// it to be parsed (MapPreview2D draws the layers meanwhile).

import { Canvas, useFrame, useThree } from "@react-three/fiber";
import { useEffect, useMemo, useRef } from "react";
import type * as THREE from "three";
import type { LayerData, SweepSummary } from "../../src-shared/contract";
import { perf } from "../perf";
import { mapCanvas } from "../record";
import { inferredTexture, layerShift, layerTexture, mapMaterial, mipLevel, setLayerUniforms, setPaletteUniforms, updateTextureCells } from "../shader";
import { drawnSweeps, layerOf, mapInputsChanged, paletteFor, setView, takePendingCells, useUi } from "../state";
import { placeSweep, visibleWindow } from "../view";

export default function GlMap() {
  return (
    <Canvas className="map-canvas" linear flat frameloop="demand" dpr={1}
      gl={{ antialias: false, preserveDrawingBuffer: true, alpha: false }}
      onCreated={(state) => {
        state.gl.setClearColor(0x20242b);
        const px = new Uint8Array(4);
        mapCanvas.current = {
          canvas: state.gl.domElement,
          draw: (view) => { setView(view); state.advance(performance.now(), true); },
        };
        perf.frame = () => {
          const t0 = performance.now();
          state.advance(t0, true);
          const ctx = state.gl.getContext();
          ctx.readPixels(0, 0, 1, 1, ctx.RGBA, ctx.UNSIGNED_BYTE, px); // waits for the GPU to finish the frame
          return performance.now() - t0;
        };
      }}>
      <Invalidator />
      <Quads />
    </Canvas>
  );
}

function SweepQuad({ sweep, layer, order, isRoot }: { sweep: SweepSummary; layer: LayerData; order: number; isRoot: boolean }) {
  const material = useMemo(() => mapMaterial(), []);
  // One texture per values array: a streaming delta patches the array in place (store/layer-cache.ts applyDelta) and only
  // the rows it touched are uploaded again; a full fetch brings a new array and so a new texture.
  const texture = useMemo(() => layerTexture(layer), [layer.values]); // eslint-disable-line react-hooks/exhaustive-deps
  const inferred = useMemo(() => inferredTexture(layer), [layer.inferred]); // eslint-disable-line react-hooks/exhaustive-deps
  const renderer = useThree((s) => s.gl);
  const levels = useMemo(() => texture.mipmaps.length, [texture]);
  const mesh = useRef<THREE.Mesh>(null);
  const drawnLayer = useRef<LayerData | null>(null);
  useEffect(() => () => texture.dispose(), [texture]);
  useEffect(() => () => inferred?.dispose(), [inferred]);
  useEffect(() => () => material.dispose(), [material]);
  useEffect(() => setLayerUniforms(material, layer, texture, !isRoot, sweep, inferred), [material, layer, texture, isRoot, sweep, inferred]);
  const palette = useUi((s) => paletteFor(s, layer.kind)); // the legend's choice for this kind of layer
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => { setPaletteUniforms(material, palette); invalidate(); }, [material, palette, invalidate]);
  useEffect(() => {
    if (texture.image.data !== layer.values) return;
    const cells = takePendingCells(sweep.id);
    if (cells) perf.patchTexels[sweep.id] = (perf.patchTexels[sweep.id] ?? 0) + updateTextureCells(renderer, texture, cells);
  }, [layer, texture, renderer, sweep.id]);
  useFrame(() => {
    const st = useUi.getState();
    const { view, viewport } = st;
    const q = view && placeSweep(view, viewport, sweep.window, sweep.nx, sweep.ny);
    mesh.current!.visible = !!q && !hiddenByFiner(sweep, st);
    if (!q || !mesh.current!.visible) return;
    const u = material.uniforms;
    u.uNdc.value.set(...q.ndc);
    u.uLocal.value.set(...q.local);
    u.uBase.value.set(q.base[0], q.base[1]);
    u.uLevel.value = mipLevel(q.cellsPerPixel / 2 ** layerShift(layer), levels);
    if (drawnLayer.current !== layer) {
      drawnLayer.current = layer;
      perf.firstFrame[sweep.id] ??= performance.now();
      if (!layer.stride) perf.fullFrame[sweep.id] ??= performance.now();
      perf.layerDrawn[sweep.id] = performance.timeOrigin + performance.now();
      if (!layer.stride) perf.fullDrawn[sweep.id] = perf.layerDrawn[sweep.id];
    }
  });
  return (
    <mesh ref={mesh} material={material} renderOrder={order} frustumCulled={false}>
      <planeGeometry args={[1, 1]} />
    </mesh>
  );
}

/**
 * Is the sweep's visible part entirely covered by a finer, complete sweep drawn above it? Then drawing it would
 * only be overdrawn (deep in a zoom every level covers the screen, and the software rasteriser pays per pixel).
 */
function hiddenByFiner(sweep: SweepSummary, st: ReturnType<typeof useUi.getState>): boolean {
  if (!st.view) return false;
  const vis = visibleWindow(st.view, st.viewport);
  const drawn = drawnSweeps(st);
  for (let k = drawn.findIndex((s) => s.id === sweep.id) + 1; k < drawn.length; k++) {
    const f = drawn[k], w = f.window;
    if (f.doneCells === f.cells && layerOf(f.id) && w.x0 <= Math.max(vis.x0, sweep.window.x0) && w.x1 >= Math.min(vis.x1, sweep.window.x1)
      && w.y0 <= Math.max(vis.y0, sweep.window.y0) && w.y1 >= Math.min(vis.y1, sweep.window.y1)) return true;
  }
  return false;
}

/** Redraw (frameloop "demand") whenever the view or the data changes. */
function Invalidator() {
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => useUi.subscribe((st, prev) => { if (mapInputsChanged(st, prev)) invalidate(); }), [invalidate]);
  return null;
}

function Quads() {
  const rootId = useUi((s) => s.rootId);
  const sweeps = useUi((s) => s.sweeps);
  useUi((s) => s.layerRevisions); // the layers are in the layer cache: render again when one changes
  const drawn = drawnSweeps({ rootId, sweeps });
  return <>{drawn.map((s, i) => {
    const layer = layerOf(s.id);
    return layer && <SweepQuad key={s.id} sweep={s} layer={layer} order={i} isRoot={i === 0} />;
  })}</>;
}
