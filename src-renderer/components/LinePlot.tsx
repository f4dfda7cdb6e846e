// Training curves (loss, grad norm) of one cell or several overlaid, drawn with uPlot: axes with step numbers and
// values, a hover read-out of every curve at the step under the cursor, a log y axis where asked. uPlot because it
// draws thousands of points on a canvas in well under a millisecond, is 50 KB with no dependencies, and has the axes,
// log scales, cursor and legend a hand-written SVG lacked; it is maintained (1.6.x, 2025).

import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { formatSig } from "../ticks";

export interface Curve { label: string; x: ArrayLike<number>; y: ArrayLike<number> }

/** Distinct on the dark panel, first the current cell's. */
const COLOURS = ["#e8eaee", "#5aa9e6", "#f6ae2d", "#86bb71", "#e4572e", "#b48ead", "#76e4f7"];

/**
 * The curves on one step axis (uPlot's aligned data): the union of their steps, each curve null where it has no
 * point, and on a log axis where its value is not positive and finite (a gap, not a drop to zero).
 */
export function alignCurves(curves: readonly Curve[], log: boolean): { data: uPlot.AlignedData; finite: number } {
  const steps = [...new Set(curves.flatMap((c) => Array.from({ length: Math.min(c.x.length, c.y.length) }, (_, i) => c.x[i])))]
    .sort((a, b) => a - b);
  const at = new Map(steps.map((s, i) => [s, i]));
  let finite = 0;
  const ys = curves.map((c) => {
    const out: (number | null)[] = new Array(steps.length).fill(null);
    for (let i = 0; i < Math.min(c.x.length, c.y.length); i++) {
      const v = c.y[i];
      if (Number.isFinite(v) && (!log || v > 0)) { out[at.get(c.x[i])!] = v; finite++; }
    }
    return out;
  });
  return { data: [steps, ...ys] as uPlot.AlignedData, finite };
}

export function LinePlot({ curves, title, log, testId }: { curves: readonly Curve[]; title: string; log?: boolean; testId: string }) {
  const box = useRef<HTMLDivElement>(null);
  const { data, finite } = alignCurves(curves, !!log);
  const shape = curves.map((c) => c.label).join("\u0000") + (log ? "/log" : "");
  const plot = useRef<{ u: uPlot; shape: string } | null>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || finite < 2) return;
    if (plot.current?.shape === shape) { plot.current.u.setData(data); return; }
    plot.current?.u.destroy();
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth), height: 130,
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      axes: [
        { stroke: "#9aa0aa", grid: { stroke: "#2c313a" }, ticks: { stroke: "#2c313a" }, label: "step", labelSize: 14, size: 28 },
        { stroke: "#9aa0aa", grid: { stroke: "#2c313a" }, ticks: { stroke: "#2c313a" }, size: 44,
          values: (_u, vals) => vals.map((v) => (v === null ? "" : formatSig(v, 2))) },
      ],
      series: [{ label: "step" }, ...curves.map((c, i) => ({
        label: c.label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: false,
        value: (_u: uPlot, v: number | null) => (v === null ? "–" : formatSig(v, 4)),
      }))],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = { u: new uPlot(opts, data, el), shape };
  });
  useEffect(() => () => { plot.current?.u.destroy(); plot.current = null; }, []);
  // Follow the panel's width (the inspector is resizable with the window).
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => plot.current?.u.setSize({ width: Math.max(200, el.clientWidth), height: 130 }));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return (
    <figure className="plot" data-testid={testId} data-curves={curves.length}>
      <figcaption>{title}{log ? " (log axis)" : ""}{finite < 2 ? ": no finite values" : ""}</figcaption>
      <div ref={box} className="uplot-box" style={finite < 2 ? { display: "none" } : undefined} />
    </figure>
  );
}
