// The 2-D map: every sweep of the open tree as a textured quad (finest on top), drawn relative to the view
// centre (view.ts placeSweep), with wheel / drag / keyboard navigation, shift-drag box for a zoom scan,
// axes in hyperparameter units, the hover read-out as a tooltip at the cursor, and a heads-up layer: the overview
// of where the view sits in the root map, a scale bar and the zoom depth.

import { Canvas, useFrame, useThree } from "@react-three/fiber";
import { useEffect, useMemo, useRef, useState } from "react";
import type * as THREE from "three";
import type { LayerData, SweepSummary } from "../../src-main/api/contract";
import { perf } from "../perf";
import { layerShift, layerTexture, mapMaterial, mipLevel, setLayerUniforms, updateTextureCells } from "../shader";
import {
  ancestry, commitView, drawnSweeps, historyStep, home, hoverAt, hoverOut, isEqualAspect, loadPreview, mapReady, openZoomDialog, pendingCells, selectAt,
  setView, setViewport, sweepCellAt, useUi,
} from "../state";
import { axisTicks, formatExact, formatSig } from "../ticks";
import { axisParamValue, scaleLabel } from "../readout";
import { drawLayer } from "../thumbs";
import { mapCanvas } from "../record";
import { EdgeOverlay } from "./AnalysisPanel";
import { pan, placeSweep, scaleBar, screenToWorld, visibleWindow, worldToScreen, zoomAt, zoomDecades } from "../view";
import type { CellDetail } from "../../src-main/api/contract";

function SweepQuad({ sweep, layer, order, isRoot }: { sweep: SweepSummary; layer: LayerData; order: number; isRoot: boolean }) {
  const material = useMemo(() => mapMaterial(), []);
  // One texture per values array: a streaming delta patches the array in place (state.ts streamLayer) and only
  // the rows it touched are uploaded again; a full fetch brings a new array and so a new texture.
  const texture = useMemo(() => layerTexture(layer), [layer.values]); // eslint-disable-line react-hooks/exhaustive-deps
  const renderer = useThree((s) => s.gl);
  const levels = useMemo(() => texture.mipmaps.length, [texture]);
  const mesh = useRef<THREE.Mesh>(null);
  const drawnLayer = useRef<LayerData | null>(null);
  useEffect(() => () => texture.dispose(), [texture]);
  useEffect(() => () => material.dispose(), [material]);
  useEffect(() => setLayerUniforms(material, layer, texture, !isRoot, sweep), [material, layer, texture, isRoot, sweep]);
  useEffect(() => {
    const batches = pendingCells.get(sweep.id);
    if (!batches?.length || texture.image.data !== layer.values) return;
    pendingCells.delete(sweep.id);
    const cells = batches.length === 1 ? batches[0] : Uint32Array.from(batches.flatMap((b) => Array.from(b)));
    perf.patchTexels[sweep.id] = (perf.patchTexels[sweep.id] ?? 0) + updateTextureCells(renderer, texture, cells);
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
    if (f.doneCells === f.cells && st.layers[f.id] && w.x0 <= Math.max(vis.x0, sweep.window.x0) && w.x1 >= Math.min(vis.x1, sweep.window.x1)
      && w.y0 <= Math.max(vis.y0, sweep.window.y0) && w.y1 >= Math.min(vis.y1, sweep.window.y1)) return true;
  }
  return false;
}

/** Redraw (frameloop "demand") whenever the view or the data changes. */
function Invalidator() {
  const invalidate = useThree((s) => s.invalidate);
  useEffect(() => useUi.subscribe((st, prev) => {
    if (st.view !== prev.view || st.layers !== prev.layers || st.viewport !== prev.viewport || st.sweeps !== prev.sweeps) invalidate();
  }), [invalidate]);
  return null;
}

function Quads() {
  const rootId = useUi((s) => s.rootId);
  const sweeps = useUi((s) => s.sweeps);
  const layers = useUi((s) => s.layers);
  const drawn = drawnSweeps({ rootId, sweeps });
  return <>{drawn.map((s, i) => layers[s.id] && <SweepQuad key={s.id} sweep={s} layer={layers[s.id]} order={i} isRoot={i === 0} />)}</>;
}

function Axes() {
  const view = useUi((s) => s.view);
  const vp = useUi((s) => s.viewport);
  const root = useUi((s) => (s.rootId ? s.sweeps[s.rootId] : null));
  if (!view || !root) return null;
  const vis = visibleWindow(view, vp);
  const xt = axisTicks(vis.x0, vis.x1, root.xAxis.scale, Math.max(2, Math.floor(vp.width / 150)));
  const yt = axisTicks(vis.y0, vis.y1, root.yAxis.scale, Math.max(2, Math.floor(vp.height / 70)));
  return (
    <>
      <div className="axis axis-x" data-testid="axis-x">
        {xt.map((t) => <span key={t.u} className="tick" style={{ left: worldToScreen(view, vp, t.u, 0).px }}>{t.label}</span>)}
        <span className="axis-title">{root.xAxis.param}{root.xAxis.scale === "log" ? " (log)" : ""}</span>
      </div>
      <div className="axis axis-y" data-testid="axis-y">
        {yt.map((t) => <span key={t.u} className="tick" style={{ top: worldToScreen(view, vp, 0, t.u).py }}>{t.label}</span>)}
        <span className="axis-title">{root.yAxis.param}{root.yAxis.scale === "log" ? " (log)" : ""}</span>
      </div>
    </>
  );
}

function BoxOverlay() {
  const box = useUi((s) => s.box);
  const view = useUi((s) => s.view);
  const vp = useUi((s) => s.viewport);
  if (!box || !view) return null;
  const a = worldToScreen(view, vp, box.x0, box.y1), b = worldToScreen(view, vp, box.x1, box.y0);
  return <div className="box" data-testid="zoom-box" style={{ left: a.px, top: a.py, width: b.px - a.px, height: b.py - a.py }} />;
}

const WHEEL_ZOOM = 0.0015; // per wheel delta unit: 100 units (one notch) zooms by ~14%
const KEY_ZOOM = 0.7;

export function MapView() {
  const ref = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });

  useEffect(() => {
    const el = ref.current!;
    const ro = new ResizeObserver(() => {
      const r = el.getBoundingClientRect();
      const vp = { width: Math.round(r.width), height: Math.round(r.height) };
      setSize(vp);
      setViewport(vp);
    });
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Wheel: zoom anchored at the cursor; the history records the view once the wheel has been still a moment.
  useEffect(() => {
    const el = ref.current!;
    let settle: ReturnType<typeof setTimeout> | undefined;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const { view, viewport } = useUi.getState();
      if (!view) return;
      const r = el.getBoundingClientRect();
      const delta = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY;
      setView(zoomAt(view, viewport, e.clientX - r.left, e.clientY - r.top, Math.exp(delta * WHEEL_ZOOM)));
      clearTimeout(settle);
      settle = setTimeout(commitView, 250);
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, []);

  // Keyboard: arrows / WASD pan, +/- zoom about the centre, 0 home, [ and ] (or Alt+arrows) through history.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      // Only where keys type text or pick options; a focused checkbox or button keeps the map's keys.
      const t = e.target as HTMLElement;
      if (t.closest("textarea, select, dialog") || (t.matches("input") && !["checkbox", "radio", "button"].includes((t as HTMLInputElement).type))) return;
      const { view, viewport: vp, mode } = useUi.getState();
      if (!view || mode !== "map") return;
      const step = 0.1;
      let next = null;
      if (e.altKey && e.key === "ArrowLeft") { historyStep(-1); e.preventDefault(); return; }
      if (e.altKey && e.key === "ArrowRight") { historyStep(1); e.preventDefault(); return; }
      switch (e.key) {
        case "ArrowLeft": case "a": case "A": next = pan(view, vp.width * step, 0); break;
        case "ArrowRight": case "d": case "D": next = pan(view, -vp.width * step, 0); break;
        case "ArrowUp": case "w": case "W": next = pan(view, 0, vp.height * step); break;
        case "ArrowDown": case "s": case "S": next = pan(view, 0, -vp.height * step); break;
        case "+": case "=": next = zoomAt(view, vp, vp.width / 2, vp.height / 2, KEY_ZOOM); break;
        case "-": case "_": next = zoomAt(view, vp, vp.width / 2, vp.height / 2, 1 / KEY_ZOOM); break;
        case "0": home(); return;
        case "[": historyStep(-1); return;
        case "]": historyStep(1); return;
        default: return;
      }
      e.preventDefault();
      setView(next);
      commitView();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  // Pointer: drag pans, shift-drag draws a zoom box, a click without movement selects the cell.
  const drag = useRef<{ x: number; y: number; moved: boolean; box: boolean; startWorld: { x: number; y: number } } | null>(null);
  const local = (e: React.PointerEvent) => {
    const r = ref.current!.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  };
  const onPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0) return;
    const { view, viewport } = useUi.getState();
    if (!view) return;
    (e.target as HTMLElement).setPointerCapture(e.pointerId);
    const p = local(e);
    drag.current = { ...p, moved: false, box: e.shiftKey, startWorld: screenToWorld(view, viewport, p.x, p.y) };
  };
  const onPointerMove = (e: React.PointerEvent) => {
    const { view, viewport } = useUi.getState();
    if (!view) return;
    const p = local(e);
    const w = screenToWorld(view, viewport, p.x, p.y);
    const d = drag.current;
    if (d) {
      if (Math.abs(p.x - d.x) + Math.abs(p.y - d.y) > 3) d.moved = true;
      if (d.box) {
        const s = d.startWorld;
        useUi.setState({ box: { x0: Math.min(s.x, w.x), x1: Math.max(s.x, w.x), y0: Math.min(s.y, w.y), y1: Math.max(s.y, w.y) } });
      } else if (d.moved) {
        setView(pan(view, p.x - d.x, p.y - d.y));
        d.x = p.x; d.y = p.y;
      }
    }
    void hoverAt(w.x, w.y, p.x, p.y);
  };
  const onPointerUp = (e: React.PointerEvent) => {
    const d = drag.current;
    drag.current = null;
    if (!d) return;
    const { view, viewport, box } = useUi.getState();
    if (d.box) {
      useUi.setState({ box: null });
      if (box && d.moved && view) {
        const hit = sweepCellAt((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2);
        if (hit) void openZoomDialog(hit.sweep.id, box);
      }
    } else if (d.moved) {
      commitView();
    } else if (view) {
      const p = local(e);
      const w = screenToWorld(view, viewport, p.x, p.y);
      void selectAt(w.x, w.y);
    }
  };

  return (
    <div className="map" ref={ref} data-testid="map" onPointerDown={onPointerDown} onPointerMove={onPointerMove}
      onPointerUp={onPointerUp} onPointerLeave={hoverOut}>
      {size.width > 0 && (
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
      )}
      <Axes />
      <EdgeOverlay />
      <BoxOverlay />
      <Hud />
      <HoverTip />
    </div>
  );
}

function outcomeLine(d: CellDetail): string {
  if (!d.done || !d.outcome) return "not done";
  const o = d.outcome;
  return `${o.trainable ? "trainable" : "untrainable"}, ${o.stable ? "stable" : "unstable"}, score ${formatSig(o.score, 4)}, `
    + `final loss ${formatSig(o.final_loss, 4)}`;
}

/** The hover read-out, a tooltip beside the cursor (flipped to stay inside the map near its right and bottom edges). */
function HoverTip() {
  const hover = useUi((s) => s.hover);
  const sweeps = useUi((s) => s.sweeps);
  const vp = useUi((s) => s.viewport);
  if (!hover) return null;
  const s = sweeps[hover.sweepId];
  const d = hover.detail;
  const right = hover.px > vp.width - 300, below = hover.py > vp.height - 110;
  const style: React.CSSProperties = {
    left: right ? undefined : hover.px + 16, right: right ? vp.width - hover.px + 16 : undefined,
    top: below ? undefined : hover.py + 16, bottom: below ? vp.height - hover.py + 16 : undefined,
  };
  return (
    <div className="readout tooltip" data-testid="readout" data-sweep={hover.sweepId} data-cell={hover.cell} style={style}
      data-trainable={d?.outcome ? String(d.outcome.trainable) : ""}>
      <div>cell <b data-testid="readout-cell">{d ? `(${d.ix}, ${d.iy})` : "…"}</b> #{hover.cell} of {s?.name}</div>
      {d && s && <>
        <div>{s.xAxis.param} = <span data-testid="readout-x">{formatExact(axisParamValue(d.hparams, s.xAxis.param))}</span></div>
        <div>{s.yAxis.param} = <span data-testid="readout-y">{formatExact(axisParamValue(d.hparams, s.yAxis.param))}</span></div>
        <div data-testid="readout-outcome">{outcomeLine(d)}</div>
      </>}
    </div>
  );
}

const OVERVIEW_PX = 140;

/**
 * Overview of the root map (its preview) with the zooms inside it and the part the view shows; click to go there.
 * It sits in the side panel, so it never hides cells of the map.
 */
export function Overview() {
  const rootId = useUi((s) => s.rootId);
  const root = useUi((s) => (s.rootId ? s.sweeps[s.rootId] : null));
  const preview = useUi((s) => (s.rootId ? s.previews[s.rootId] : undefined));
  const sweeps = useUi((s) => s.sweeps);
  const view = useUi((s) => s.view);
  const vp = useUi((s) => s.viewport);
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => { if (rootId) void mapReady().then(() => loadPreview(rootId, 128)); }, [rootId, root?.doneCells]);
  useEffect(() => { if (canvas.current && preview) drawLayer(canvas.current, preview); }, [preview]);
  if (!root || !view) return null;
  const w = root.window;
  const ax = w.x1 - w.x0, ay = w.y1 - w.y0;
  const k = OVERVIEW_PX / Math.max(ax, ay);
  const width = Math.max(24, Math.round(ax * k)), height = Math.max(24, Math.round(ay * k));
  const box = (b: { x0: number; x1: number; y0: number; y1: number }) => {
    const x0 = Math.max(0, (b.x0 - w.x0) / ax), x1 = Math.min(1, (b.x1 - w.x0) / ax);
    const y0 = Math.max(0, (b.y0 - w.y0) / ay), y1 = Math.min(1, (b.y1 - w.y0) / ay);
    return { left: x0 * width, top: (1 - y1) * height, width: Math.max(2, (x1 - x0) * width), height: Math.max(2, (y1 - y0) * height) };
  };
  const vis = visibleWindow(view, vp);
  const zooms = drawnSweeps({ rootId, sweeps }).slice(1);
  const onClick = (e: React.MouseEvent) => {
    e.stopPropagation();
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const x = w.x0 + ((e.clientX - r.left) / width) * ax, y = w.y0 + (1 - (e.clientY - r.top) / height) * ay;
    setView({ ...view, cx: x, cy: y });
    commitView();
  };
  return (
    <div className="overview" data-testid="overview" style={{ width, height }} onClick={onClick}
      title="the root map; white: the part in view; click to go there">
      <canvas ref={canvas} width={width} height={height} />
      {zooms.map((z) => <i key={z.id} className="overview-zoom" style={box(z.window)} />)}
      <i className="overview-view" data-testid="overview-view" style={box(vis)} />
    </div>
  );
}

/**
 * Scale bar (decades on a log axis), zoom depth against the root and the finest sweep level under the view centre, in
 * the strip above the map (not over its cells).
 */
function Hud() {
  const view = useUi((s) => s.view);
  const vp = useUi((s) => s.viewport);
  const sweeps = useUi((s) => s.sweeps);
  const rootId = useUi((s) => s.rootId);
  const fill = useUi((s) => s.fill);
  const root = rootId ? sweeps[rootId] : null;
  if (!view || !root || vp.width === 0) return null;
  const bar = scaleBar(view.sx, Math.min(160, vp.width / 4));
  const decades = Math.max(0, zoomDecades(view, vp, root.window));
  const under = drawnSweeps({ rootId, sweeps }).filter((s) => s.window.x0 <= view.cx && view.cx < s.window.x1 && s.window.y0 <= view.cy && view.cy < s.window.y1);
  const finest = under[under.length - 1];
  const level = finest ? ancestry(finest.id, sweeps).length - 1 : 0;
  const equal = isEqualAspect({ fill }, root);
  return (
    <>
      <div className="hud" data-testid="hud" onPointerDown={(e) => e.stopPropagation()}>
        <div className="scale-bar" data-testid="scale-bar">
          <i style={{ width: bar.px }} />
          <span>{scaleLabel(bar.units, root.xAxis.scale)}{equal || view.sx === view.sy ? "" : ` of ${root.xAxis.param}`}</span>
        </div>
        <div data-testid="zoom-depth">
          zoom {decades < 0.05 ? "1×" : <>10<sup>{decades.toFixed(1)}</sup>×</>} · {level === 0 ? "root map" : `zoom level ${level}`}
          {finest && ` (${finest.nx}×${finest.ny})`}
        </div>
      </div>
    </>
  );
}

