// The 2-D map: every sweep of the open tree drawn by the GPU (GlMap.tsx, loaded as its own chunk; MapPreview2D until
// then), with wheel / drag / keyboard navigation, shift-drag box for a zoom scan,
// axes in hyperparameter units, the hover read-out as a tooltip at the cursor, and a heads-up layer: the overview
// of where the view sits in the root map, a scale bar and the zoom depth.

import { lazy, Suspense, useEffect, useLayoutEffect, useRef, useState } from "react";
import {
  ancestry, commitView, drawnSweeps, historyStep, home, hoverAt, hoverOut, isEqualAspect, loadPreview, mapReady, openZoomDialog, selectAt,
  paletteFor, setView, setViewport, sweepCellAt, useUi,
} from "../state";
import { axisTicks, formatExact, formatSig } from "../ticks";
import { axisParamValue, scaleLabel } from "../readout";
import { drawLayer } from "../thumbs";
import { EdgeOverlay } from "./AnalysisPanel";
import { MapPreview2D, previewDrawn } from "./MapPreview2D";
import { toggleAutopilot } from "../store/autopilot";
import { pan, placeSweep, scaleBar, screenToWorld, visibleWindow, worldToScreen, zoomAt, zoomDecades } from "../view";
import type { CellDetail, SweepSummary } from "../../src-shared/contract";

// The WebGL map's chunk (three.js) is fetched once the 2-D canvas has drawn the first frame, or after GL_WAIT_MS
// when nothing arrives to draw: evaluating it holds the page's main thread for a while (3 s on a loaded 2-core
// machine), and the first preview's reply must not queue behind it.
const GL_WAIT_MS = 1500;
const GlMap = lazy(() => Promise.race([previewDrawn, new Promise((r) => setTimeout(r, GL_WAIT_MS))]).then(() => import("./GlMap")));

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

/** Smallest side of the selected cell's marker in pixels: a cell drawn smaller gets a ring around it. */
const MARKER_MIN_PX = 10;

/**
 * The clicked cell outlined on the map (the inspector's cell), an SVG over the map's canvas so the marker follows
 * the view without a redraw of the map. Drawn only while that cell's sweep is on the map.
 */
function SelectedMarker() {
  const d = useUi((s) => s.selected);
  const view = useUi((s) => s.view);
  const vp = useUi((s) => s.viewport);
  const drawn = useUi((s) => (d ? drawnSweeps(s).some((x) => x.id === d.sweepId) : false));
  if (!d || !view || !drawn || vp.width === 0) return null;
  const a = worldToScreen(view, vp, d.bounds.x0, d.bounds.y1), b = worldToScreen(view, vp, d.bounds.x1, d.bounds.y0);
  const cx = (a.px + b.px) / 2, cy = (a.py + b.py) / 2;
  const w = Math.max(MARKER_MIN_PX, b.px - a.px), h = Math.max(MARKER_MIN_PX, b.py - a.py);
  return (
    <svg className="cell-marker" data-testid="selected-marker" data-sweep={d.sweepId} data-cell={d.cell} width={vp.width} height={vp.height} aria-hidden>
      {/* Dark under light: visible on the Spectral map's pale middle and on its dark ends alike. */}
      <rect x={cx - w / 2} y={cy - h / 2} width={w} height={h} fill="none" stroke="#000" strokeWidth={3} />
      <rect x={cx - w / 2} y={cy - h / 2} width={w} height={h} fill="none" stroke="#fff" strokeWidth={1.5} />
    </svg>
  );
}

const WHEEL_ZOOM = 0.0015; // per wheel delta unit: 100 units (one notch) zooms by ~14%
const KEY_ZOOM = 0.7;
const DOUBLE_CLICK_MS = 200;

/** Zoom by `factor` about map pixel (px, py) over DOUBLE_CLICK_MS, one history step at the end. */
function zoomAnimated(px: number, py: number, factor: number): Promise<void> {
  const { view: from, viewport } = useUi.getState();
  if (!from) return Promise.resolve();
  const t0 = performance.now();
  return new Promise((res) => {
    const tick = (now: number) => {
      const t = Math.min(1, (now - t0) / DOUBLE_CLICK_MS);
      setView(zoomAt(from, viewport, px, py, factor ** (t * (2 - t)))); // ease out
      if (t < 1) requestAnimationFrame(tick);
      else { commitView(); res(); }
    };
    requestAnimationFrame(tick);
  });
}

export function MapView() {
  const ref = useRef<HTMLDivElement>(null);
  const [size, setSize] = useState({ width: 0, height: 0 });

  // The size now, before the first paint (so the 2-D canvas is there when the preview arrives: a ResizeObserver
  // reports only at the next rendering step, 0.3 s later on a loaded machine), then on every resize.
  useLayoutEffect(() => {
    const el = ref.current!;
    const measure = () => {
      const r = el.getBoundingClientRect();
      const vp = { width: Math.round(r.width), height: Math.round(r.height) };
      setSize(vp);
      setViewport(vp);
    };
    measure();
    const ro = new ResizeObserver(measure);
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
        case "p": case "P": toggleAutopilot(); return;
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

  // The cursor over the map (map pixels; null when outside): when the view moves under a still cursor (keys, the
  // overview, history), the read-out follows the cell now under it instead of describing the one that was.
  const pointer = useRef<{ x: number; y: number } | null>(null);
  useEffect(() => useUi.subscribe((st, prev) => {
    const p = pointer.current;
    if (!p || !st.view || (st.view === prev.view && st.viewport === prev.viewport)) return;
    const w = screenToWorld(st.view, st.viewport, p.x, p.y);
    void hoverAt(w.x, w.y, p.x, p.y);
  }), []);

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
    pointer.current = p;
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

  // Double-click: zoom in 2x about the cell clicked (shift: out), in a short animation, as map viewers do.
  const onDoubleClick = (e: React.MouseEvent) => {
    const r = ref.current!.getBoundingClientRect();
    void zoomAnimated(e.clientX - r.left, e.clientY - r.top, e.shiftKey ? 2 : 0.5);
  };

  return (
    <div className="map" ref={ref} data-testid="map" onPointerDown={onPointerDown} onPointerMove={onPointerMove}
      onPointerUp={onPointerUp} onDoubleClick={onDoubleClick} onPointerLeave={() => { pointer.current = null; hoverOut(); }}>
      {size.width > 0 && (
        // The WebGL map loads as its own chunk (three.js is most of the bundle); until it is parsed, the map's
        // layers are drawn on a 2-D canvas, so the first frame does not wait for it.
        <Suspense fallback={<MapPreview2D width={size.width} height={size.height} />}><GlMap /></Suspense>
      )}
      <Axes />
      <EdgeOverlay />
      <BoxOverlay />
      <SelectedMarker />
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
  const palette = useUi((s) => (preview ? paletteFor(s, preview.kind) : null));
  useEffect(() => { if (canvas.current && preview && palette) drawLayer(canvas.current, preview, palette); }, [preview, palette]);
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
  const diving = useUi((s) => s.diving);
  const root = rootId ? sweeps[rootId] : null;
  if (!view || !root || vp.width === 0) return null;
  const bar = scaleBar(view.sx, Math.min(160, vp.width / 4));
  const decades = Math.max(0, zoomDecades(view, vp, root.window));
  const drawn = drawnSweeps({ rootId, sweeps });
  const under = drawn.filter((s) => s.window.x0 <= view.cx && view.cx < s.window.x1 && s.window.y0 <= view.cy && view.cy < s.window.y1);
  const finest = under[under.length - 1];
  const levelOf = (s: SweepSummary) => ancestry(s.id, sweeps).length - 1;
  const name = (s: SweepSummary) => `${levelOf(s) ? `zoom level ${levelOf(s)}` : "root map"} (${s.nx}×${s.ny})`;
  // The map in view is the deepest one whose window holds all that is shown of the root; a finer scan under the
  // centre is named beside it, so a zoom's level never reads as the map a whole-root view shows.
  const v = visibleWindow(view, vp), w = root.window;
  const shown = { x0: Math.max(w.x0, v.x0), x1: Math.min(w.x1, v.x1), y0: Math.max(w.y0, v.y0), y1: Math.min(w.y1, v.y1) };
  const covering = drawn.filter((s) => s.window.x0 <= shown.x0 && shown.x1 <= s.window.x1 && s.window.y0 <= shown.y0 && shown.y1 <= s.window.y1);
  const inView = covering[covering.length - 1] ?? root;
  const equal = isEqualAspect({ fill }, root);
  return (
    <>
      <div className="hud" data-testid="hud" onPointerDown={(e) => e.stopPropagation()}>
        <div className="map-caption" data-testid="map-caption" title={root.id}>
          {root.name}: {root.xAxis.param} × {root.yAxis.param}, {root.nx}×{root.ny} cells
          {drawn.length > 1 ? `, ${drawn.length - 1} zoom${drawn.length > 2 ? "s" : ""} drawn over it` : ""}
        </div>
        <div className="scale-bar" data-testid="scale-bar">
          <i style={{ width: bar.px }} />
          <span>{scaleLabel(bar.units, root.xAxis.scale)}{equal || view.sx === view.sy ? "" : ` of ${root.xAxis.param}`}</span>
        </div>
        <div data-testid="zoom-depth">
          zoom {decades < 0.05 ? "1×" : <>10<sup>{decades.toFixed(1)}</sup>×</>} · {name(inView)}
          {finest && finest.id !== inView.id && ` · ${name(finest)} under the centre`}
        </div>
        <button data-testid="autopilot" className={diving ? "on" : ""} onClick={() => toggleAutopilot()}
          title="p: dive toward the boundary nearest the centre; any key or click takes the controls back">
          {diving ? "stop dive" : "autopilot"}</button>
      </div>
    </>
  );
}

