// The compare mode: two sweeps picked in the runs table side by side, each titled, and their difference cell by cell
// (both train / both diverge / only A / only B, with counts, the fraction that differs and that fraction on the
// boundary). With the same axes one view moves all three panels (wheel zooms, drag pans, double-click fits); with other
// axes each map has its own view and there is no difference. Drawn on 2-D canvases, nearest neighbour, one image per map
// from the layers the API serves (store/compare.ts); each map alone, without its zooms.

import { useEffect, useLayoutEffect, useRef } from "react";
import type { LayerData, SweepSummary } from "../../src-shared/contract";
import { BOTH_DIVERGE, BOTH_TRAIN, DIFF_COLOURS, type Difference, differencePixels, ONLY_A, ONLY_B, outcomeAt,
  sameWindow } from "../compare";
import { closeCompare, comparePair, fitCompare, setCompareView, setCompareViewport, useCompare } from "../store/compare";
import type { Palette } from "../../src-shared/colours";
import { paletteFor, useUi } from "../state";
import { layerCanvas } from "../thumbs";
import { axisTicks, formatSig } from "../ticks";
import { pan, screenToWorld, type View, type Viewport, worldToScreen, zoomAt } from "../view";
import "../compare.css";

const WHEEL_ZOOM = 0.0015; // as the map's

// One image per layer (and palette: another one picked in the legend colours the maps again) or difference.
const images = new WeakMap<object, { palette: Palette | null; img: HTMLCanvasElement }>();
function imageOf(key: LayerData | Difference): HTMLCanvasElement {
  const palette = "values" in key ? paletteFor(useUi.getState(), key.kind) : null;
  const kept = images.get(key);
  if (kept && kept.palette === palette) return kept.img;
  let img: HTMLCanvasElement;
  if ("values" in key) img = layerCanvas(key, palette!);
  else {
    img = document.createElement("canvas");
    img.width = key.grid.nx; img.height = key.grid.ny;
    img.getContext("2d", { willReadFrequently: true })!.putImageData(new ImageData(differencePixels(key), key.grid.nx, key.grid.ny), 0, 0);
  }
  images.set(key, { palette, img });
  return img;
}

/** The image `key` drawn over `w` (axis units) at view `v` on a canvas of size `vp`. */
function draw(canvas: HTMLCanvasElement, vp: Viewport, v: View, key: LayerData | Difference, w: SweepSummary["window"]): void {
  // A CPU canvas, as MapPreview2D's: no GPU channel to wait for, and the same pixels however often it is read back.
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) return;
  ctx.fillStyle = "#20242b";
  ctx.fillRect(0, 0, vp.width, vp.height);
  ctx.imageSmoothingEnabled = false;
  const a = worldToScreen(v, vp, w.x0, w.y1), b = worldToScreen(v, vp, w.x1, w.y0);
  ctx.drawImage(imageOf(key), a.px, a.py, b.px - a.px, b.py - a.py);
}

function Panel({ which, title, sweep, testId }: { which: 0 | 1 | 2; title: string; sweep: SweepSummary; testId: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const axes = useCompare((st) => comparePair(st, useUi.getState().sweeps).axes);
  const vi: 0 | 1 = axes && which === 1 ? 1 : 0;
  const view = useCompare((st) => st.views[vi]);
  const data = useCompare((st) => (which === 2 ? st.diff : st.shown[which]));
  const vp = useCompare((st) => st.viewport);
  const palette = useUi((st) => (data && "values" in data ? paletteFor(st, data.kind) : null));
  const gridWindow = !data ? undefined : "grid" in data ? data.grid.window : sweep.window;

  useLayoutEffect(() => {
    const el = ref.current!;
    const measure = () => {
      const r = el.getBoundingClientRect();
      if (which === 0) setCompareViewport({ width: Math.round(r.width), height: Math.round(r.height) });
    };
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [which]);

  useEffect(() => {
    const c = canvas.current;
    if (!c || !view || !data || !gridWindow || vp.width === 0) return;
    draw(c, vp, view, data, gridWindow);
    c.dataset.drawn = "1";
  }, [view, data, vp, gridWindow, palette]);

  // Wheel zooms at the cursor, drag pans; the link follows once the gesture is over.
  useEffect(() => {
    const el = ref.current!;
    let settle: ReturnType<typeof setTimeout> | undefined;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      const st = useCompare.getState(), v = st.views[vi];
      if (!v) return;
      const r = el.getBoundingClientRect();
      const delta = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY;
      setCompareView(vi, zoomAt(v, st.viewport, e.clientX - r.left, e.clientY - r.top, Math.exp(delta * WHEEL_ZOOM)));
      clearTimeout(settle);
      settle = setTimeout(() => setCompareView(vi, useCompare.getState().views[vi]!, true), 250);
    };
    el.addEventListener("wheel", onWheel, { passive: false });
    return () => el.removeEventListener("wheel", onWheel);
  }, [vi]);
  const drag = useRef<{ x: number; y: number } | null>(null);
  const onPointerDown = (e: React.PointerEvent) => {
    if (e.button !== 0) return;
    (e.target as HTMLElement).setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY };
  };
  const onPointerMove = (e: React.PointerEvent) => {
    const d = drag.current, { views, viewport } = useCompare.getState(), v = views[vi];
    if (!v) return;
    const r = ref.current!.getBoundingClientRect();
    useCompare.setState({ hover: { ...screenToWorld(v, viewport, e.clientX - r.left, e.clientY - r.top), panel: which } });
    if (!d) return;
    setCompareView(vi, pan(v, e.clientX - d.x, e.clientY - d.y));
    d.x = e.clientX; d.y = e.clientY;
  };
  const onPointerUp = () => {
    const v = useCompare.getState().views[vi];
    if (drag.current && v) setCompareView(vi, v, true);
    drag.current = null;
  };

  const xt = view ? axisTicks(view.cx - (vp.width / 2) * view.sx, view.cx + (vp.width / 2) * view.sx, sweep.xAxis.scale, Math.max(2, Math.floor(vp.width / 110))) : [];
  const yt = view ? axisTicks(view.cy - (vp.height / 2) * view.sy, view.cy + (vp.height / 2) * view.sy, sweep.yAxis.scale, Math.max(2, Math.floor(vp.height / 60))) : [];
  return (
    <figure className="compare-panel" data-testid={testId}>
      <figcaption title={`${title}, ${sweep.id}`}>{title}</figcaption>
      <div className="compare-map" ref={ref} onPointerDown={onPointerDown} onPointerMove={onPointerMove} onPointerUp={onPointerUp}
        onPointerLeave={() => useCompare.setState({ hover: null })} onDoubleClick={() => fitCompare()} >
        <canvas ref={canvas} data-testid={`${testId}-canvas`} width={vp.width} height={vp.height} />
        {!data && <div className="compare-wait muted">{which === 2 && axes ? "" : "loading…"}</div>}
        {view && <>
          <div className="compare-axis-x">{xt.map((t) => <span key={t.u} style={{ left: worldToScreen(view, vp, t.u, 0).px }}>{t.label}</span>)}</div>
          <div className="compare-axis-y">{yt.map((t) => <span key={t.u} style={{ top: worldToScreen(view, vp, 0, t.u).py }}>{t.label}</span>)}</div>
        </>}
      </div>
      <div className="compare-axes muted small">{sweep.xAxis.param}{sweep.xAxis.scale === "log" ? " (log)" : ""} × {sweep.yAxis.param}
        {sweep.yAxis.scale === "log" ? " (log)" : ""}</div>
    </figure>
  );
}

/** The read-out under the cursor: the point in hyperparameter units and what each map (or the one hovered) says there. */
function HoverLine({ a, b, axes }: { a: SweepSummary; b: SweepSummary; axes: string | null }) {
  const hover = useCompare((st) => st.hover);
  const trainable = useCompare((st) => st.trainable);
  if (!hover) return <div className="muted small compare-hover">wheel: zoom · drag: pan · double-click: fit · hover: both maps' cells</div>;
  const s = axes && hover.panel === 1 ? b : a;
  const v = (u: number, scale: string) => formatSig(scale === "log" ? 10 ** u : u, 4);
  const said = (name: string, sw: SweepSummary, t: typeof trainable[0]) => {
    const o = t && outcomeAt({ window: sw.window, nx: sw.nx, ny: sw.ny, values: t.values }, hover.x, hover.y);
    return `${name}: ${!t ? "loading" : o ? `cell (${o.ix}, ${o.iy}) ${o.outcome}` : "outside its window"}`;
  };
  const parts = axes ? [hover.panel === 1 ? said("B", b, trainable[1]) : said("A", a, trainable[0])]
    : [said("A", a, trainable[0]), said("B", b, trainable[1])];
  return (
    <div className="small compare-hover" data-testid="compare-hover">
      {s.xAxis.param} = {v(hover.x, s.xAxis.scale)}, {s.yAxis.param} = {v(hover.y, s.yAxis.scale)} · {parts.join(" · ")}
    </div>
  );
}

const pct = (f: number | null) => (f === null ? "—" : `${formatSig(100 * f, 3)}%`);

function DiffLegend({ d, a, b }: { d: Difference; a: SweepSummary; b: SweepSummary }) {
  const rows: [number, string, number, string][] = [
    [BOTH_TRAIN, "both train", d.counts.bothTrain, "both-train"],
    [BOTH_DIVERGE, "both diverge", d.counts.bothDiverge, "both-diverge"],
    [ONLY_A, `only A trains (${a.name})`, d.counts.onlyA, "only-a"],
    [ONLY_B, `only B trains (${b.name})`, d.counts.onlyB, "only-b"],
  ];
  const g = d.grid;
  return (
    <div className="compare-legend" data-testid="compare-legend">
      {rows.map(([c, label, n, id]) => (
        <div key={c}><i style={{ background: `rgb(${DIFF_COLOURS[c].join(",")})` }} />{label}: <b data-testid={`compare-count-${id}`} data-value={n}>{n}</b></div>
      ))}
      <div data-testid="compare-differ" data-value={d.differ} data-compared={d.compared}>
        differ: <b>{d.differ}</b> of {d.compared} cells compared ({pct(d.differFraction)})
      </div>
      <div data-testid="compare-boundary" data-value={d.boundaryDiffer} data-cells={d.boundaryCells}>
        on the boundary: <b>{d.boundaryDiffer}</b> of {d.boundaryCells} cells ({pct(d.boundaryFraction)})
      </div>
      {(d.notDone > 0 || d.outside > 0) && <div className="muted">
        not compared: {d.notDone ? `${d.notDone} not done in one map or both` : ""}{d.notDone && d.outside ? ", " : ""}
        {d.outside ? `${d.outside} outside the other map's window` : ""}
      </div>}
      <div className="muted small">on a {g.nx}×{g.ny} grid</div>
    </div>
  );
}

export function CompareView() {
  const pair = useCompare((st) => st.pair);
  const error = useCompare((st) => st.error);
  const diff = useCompare((st) => st.diff);
  const sweeps = useUi((st) => st.sweeps);
  const { a, b, axes } = comparePair({ ...useCompare.getState(), pair }, sweeps);
  if (!pair || !a || !b) {
    return <div className="muted empty" data-testid="compare-view">{error ?? "Pick two sweeps in the library's runs table to compare them."}
      <button onClick={closeCompare}>library</button></div>;
  }
  const grid = (s: SweepSummary) => `${s.nx}×${s.ny}`;
  const message = axes
    ? `The axes differ (${axes}): each map has its own view, and there is no cell-by-cell difference.`
    : !diff ? "" : diff.resampled === null ? `Same grid (window and ${grid(a)} points): compared cell for cell.`
      : `The grids differ (A ${grid(a)}, B ${grid(b)}${sameWindow(a.window, b.window) ? "" : ", other windows"}): ${diff.resampled === "a" ? "A" : "B"}, the coarser, `
        + `is resampled onto ${diff.resampled === "a" ? "B" : "A"}'s cells by their centres, over the part both cover.`;
  return (
    <div className="compare" data-testid="compare-view" data-shared={axes ? "false" : "true"}>
      <div className="compare-top">
        <b>compare</b>
        <span data-testid="compare-message" className={axes ? "warn" : "muted"}>{message}</span>
        <span className="spacer" />
        <button onClick={() => fitCompare()} title="fit the view to the maps (double-click does too)">fit</button>
        <button data-testid="compare-close" onClick={closeCompare}>back to the library</button>
      </div>
      <HoverLine a={a} b={b} axes={axes} />
      {error && <div className="error">{error}</div>}
      <div className={`compare-panels${axes ? " two" : ""}`}>
        <Panel which={0} title={`A: ${a.name} (${grid(a)})`} sweep={a} testId="compare-a" />
        <Panel which={1} title={`B: ${b.name} (${grid(b)})`} sweep={b} testId="compare-b" />
        {!axes && <div className="compare-diff-col">
          <Panel which={2} title="difference (trainable)" sweep={a} testId="compare-diff" />
          {diff && <DiffLegend d={diff} a={a} b={b} />}
        </div>}
      </div>
    </div>
  );
}
