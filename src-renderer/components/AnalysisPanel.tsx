// The analysis panel (fractal dimension by both estimators, each named, with its 95% interval and the bias of a small
// grid; its log-log plot; the edge power law; the sensitivity layer; early warning; files) and what it draws over the
// map in its float64 view coordinates: the edge-of-stability overlay and the sensitivity layer.

import { useEffect, useRef } from "react";
import type { Computed, DimensionFit, EarlyWarningCounts, ResolutionPair, SensitivityReport, SweepAnalysis } from "../../src-shared/contract";
import { followFocus, polylinePath, setAnalysisOptions, useAnalysis } from "../analysis";
import { checkEarlyWarning, exportFocused, useExports } from "../exports";
import { layerKind } from "../palette-choice";
import {
  flipLine, followSensitivity, SENSITIVITY_COLOURS, sensitivityImage, setPerturbation, startSensitivity, useSensitivity,
} from "../sensitivity";
import { useUi } from "../state";
import { formatFixed, formatSig } from "../ticks";
import { worldToScreen } from "../view";

const dim = (c: Computed<DimensionFit>) => (c.ok ? c.value.dimension.toFixed(3) : "—");

export function AnalysisPanel() {
  const { layer, sequence, overlay, data, error } = useAnalysis();
  useEffect(() => followFocus(), []);
  const self = data?.levels[data.levels.length - 1];
  const law = data?.powerLaw;
  return (
    <details className="analysis" data-testid="analysis" open>
      <summary><b>analysis</b></summary>
      <div className="analysis-options">
        <select data-testid="analysis-layer" value={layer} onChange={(e) => void setAnalysisOptions({ layer: e.target.value as "trainable" | "stable" })}>
          <option value="trainable">trainable</option>
          <option value="stable">stable</option>
        </select>
        <label><input type="checkbox" data-testid="analysis-sequence" checked={sequence}
          onChange={(e) => void setAnalysisOptions({ sequence: e.target.checked })} /> zoom path</label>
        <label><input type="checkbox" data-testid="edge-overlay-toggle" checked={overlay}
          onChange={(e) => useAnalysis.setState({ overlay: e.target.checked })} /> edge overlay</label>
      </div>
      {error && <div className="error">{error}</div>}
      {data && self && (
        <>
          <div>fractal dimension of the {data.layer} boundary of this sweep ({sweepSide(data)}):</div>
          <div data-testid="analysis-project">
            project's method (median local slope, sizes {sizeRange(self.paper)} cells):{" "}
            {self.paper.ok
              ? <><b data-testid="analysis-dimension">{self.paper.value.dimension.toFixed(3)}</b>{" "}
                <span data-testid="analysis-project-ci">{ci(data.projectCi)}</span></>
              : <span className="muted" data-testid="analysis-dimension-reason">not measurable: {self.paper.reason}</span>}
            {self.leastSquares.ok && <span className="muted"> · seed project's least squares, sizes {sizeRange(self.leastSquares)}: {self.leastSquares.value.dimension.toFixed(3)} (no interval)</span>}
          </div>
          <div data-testid="analysis-paper">
            {data.paperMethod.ok
              ? <>paper's method (porespy boxcount, {data.paperMethod.value.sizes.length} sizes {data.paperMethod.value.sizes[0]}–{data.paperMethod.value.sizes[data.paperMethod.value.sizes.length - 1]} px
                {data.paperMethod.value.frames > 1 ? `, ${data.paperMethod.value.frames} levels as frames` : ""}):{" "}
                <b data-testid="analysis-paper-dimension">{data.paperMethod.value.dimension.toFixed(2)}</b>{" "}
                <span data-testid="analysis-paper-ci">{ci({ ok: true, value: data.paperMethod.value.ci })}</span></>
              : <span className="muted">paper's method: not measurable: {data.paperMethod.reason}</span>}
          </div>
          {data.sequence && (
            <div data-testid="analysis-sequence-dimension">
              project's method pooled over the zoom path ({data.levels.length} levels): {data.sequence.ok
                ? <><b>{data.sequence.value.dimension.toFixed(3)}</b> {data.sequenceCi && ci(data.sequenceCi)}</>
                : <span className="muted">not measurable: {data.sequence.reason}</span>}
              <span className="muted"> · per level {data.levels.map((l) => dim(l.paper)).join(", ")}</span>
            </div>
          )}
          <ResolutionBiasLine data={data} />
          {data.plotSvg && <div className="analysis-plot" data-testid="analysis-plot" dangerouslySetInnerHTML={{ __html: data.plotSvg }} />}
          <div data-testid="analysis-powerlaw">
            {law?.ok
              ? <>edge: max {law.value.xParam} ∝ {law.value.yParam}<sup>{law.value.exponent.toFixed(3)}</sup>, 95% CI [{law.value.exponentCI[0].toFixed(3)},
                {" "}{law.value.exponentCI[1].toFixed(3)}], R² {law.value.r2.toFixed(3)}, least squares through {law.value.n} {law.value.along}{law.value.excluded ? ` (${law.value.excluded} not done, censored or empty left out)` : ""}</>
              : <span className="muted">no power law: {law?.reason}</span>}
          </div>
        </>
      )}
      <SensitivitySection />
      <EarlyWarningSection />
      <ExportSection />
    </details>
  );
}

/** "95% CI [1.52, 1.80]", or why there is none. */
function ci(c: Computed<[number, number]>): string {
  return c.ok ? `95% CI [${formatFixed(c.value[0], 2)}, ${formatFixed(c.value[1], 2)}]` : `(no interval: ${c.reason})`;
}

function sizeRange(c: Computed<DimensionFit>): string {
  return c.ok && c.value.sizes.length ? `${c.value.sizes[0]}–${c.value.sizes[c.value.sizes.length - 1]}` : "–";
}

function sweepSide(a: SweepAnalysis): string {
  const f = a.resolutionBias.full;
  return `${f.nx}×${f.ny} cells`;
}

/** The bias of a small grid: each estimator on this map and on its every second cell (the same window at half the points). */
function ResolutionBiasLine({ data }: { data: SweepAnalysis }) {
  const b = data.resolutionBias;
  const pair = (name: string, c: Computed<ResolutionPair>, digits: number) => (c.ok
    ? <span data-testid={`bias-${name === "project's" ? "project" : "paper"}`}>{name}: {c.value.full.toFixed(digits)} at {b.full.nx}², {c.value.half.toFixed(digits)} at {b.half.nx}²,
      difference {c.value.difference >= 0 ? "+" : "−"}{Math.abs(c.value.difference).toFixed(digits)}</span>
    : <span className="muted">{name}: not measurable at both ({c.reason})</span>);
  return (
    <div data-testid="analysis-bias" title="the map's cells (2i, 2j): the same window with half the points a side, no new training; how far the estimate moves shows how much a small grid biases it">
      resolution bias (this map vs its every second cell): {pair("project's", b.project, 3)}; {pair("paper's", b.paper, 2)}
    </div>
  );
}

const pct = (v: number | null) => (v === null ? "n/a" : `${(100 * v).toFixed(1)}%`);

function SensitivitySection() {
  const { perturbation, overlay, report, busy, error } = useSensitivity();
  const focus = useUi((s) => (s.focusId ? s.sweeps[s.focusId] : undefined));
  useEffect(() => followSensitivity(), []);
  if (!focus) return null;
  const swatch = (c: readonly number[], label: string) => <span><i style={{ background: `rgba(${c[0]},${c[1]},${c[2]},${c[3] / 255})` }} />{label}</span>;
  return (
    <div className="sensitivity" data-testid="sensitivity">
      <b>sensitivity</b>{" "}
      <select data-testid="sensitivity-perturbation" value={perturbation} onChange={(e) => void setPerturbation(e.target.value as "precision" | "seed")}>
        <option value="precision">precision (float64 ↔ float32, bf16 → float32)</option>
        <option value="seed">seed (model.seed + 1)</option>
      </select>{" "}
      <button data-testid="sensitivity-start" disabled={busy || focus.status !== "completed" || report?.state === "running"}
        title={focus.status !== "completed" ? "the sweep must be complete first" : "run the companion sweep on this sweep's target"}
        onClick={() => void startSensitivity()}>{report && report.state !== "none" ? "run companion again" : "run companion"}</button>{" "}
      <label><input type="checkbox" data-testid="sensitivity-overlay-toggle" checked={overlay}
        onChange={(e) => useSensitivity.setState({ overlay: e.target.checked })} /> layer</label>
      {error && <div className="error" data-testid="sensitivity-error">{error}</div>}
      {report && (
        <div data-testid="sensitivity-report" data-state={report.state}>
          <div className="muted small">companion {report.companionId} ({report.change}): {report.state === "none" ? "not run yet" : `${report.state}, ${report.doneCells}/${report.cells} cells`}</div>
          {report.state !== "none" && <>
            <div data-testid="sensitivity-boundary"><b>{flipLine(report.boundaryFlips, report.boundaryCells, report.boundaryFlipFraction, "boundary")}</b></div>
            <div data-testid="sensitivity-interior" className="muted">{flipLine(report.interiorFlips, report.interiorCells, report.interiorFlipFraction, "interior")}</div>
            <div className="edge-legend">{swatch(SENSITIVITY_COLOURS.flip, "flips")}{swatch(SENSITIVITY_COLOURS.same, "same outcome")}{swatch(SENSITIVITY_COLOURS.notComputed, "not compared yet")}</div>
          </>}
          {report.error && <div className="error small">{report.error}</div>}
        </div>
      )}
    </div>
  );
}

function EarlyWarningSection() {
  const { layer } = useAnalysis();
  const { warning, warningError } = useExports();
  const focusId = useUi((s) => s.focusId);
  if (!focusId) return null;
  const shown = warning?.sweepId === focusId ? warning : null;
  const line = (name: string, c: EarlyWarningCounts) => (
    <tr key={name}><td>{name}</td><td>{pct(c.precision)}</td><td>{pct(c.recall)}</td><td>{c.truePositive + c.falsePositive}</td><td>{c.truePositive + c.falseNegative}</td></tr>
  );
  return (
    <div className="early-warning" data-testid="early-warning">
      <b>early warning</b>{" "}
      <button data-testid="early-warning-run" onClick={() => void checkEarlyWarning(layer)}
        title="did grad-norm growth (×10) or a loss spike (×2 over the running minimum) in the first 10% of training flag the cells that did not train?">check curves</button>
      {warningError && warning?.sweepId !== focusId && <div className="error small" data-testid="early-warning-error">{warningError}</div>}
      {shown && (
        <table className="small" data-testid="early-warning-table">
          <caption className="muted">first {shown.horizon} of {shown.totalSteps} steps, {shown.cells} cells with curves, against "not {layer}"</caption>
          <thead><tr><th>signal</th><th>precision</th><th>recall</th><th>flagged</th><th>diverged</th></tr></thead>
          <tbody>{line("either", shown.overall)}{line("grad-norm growth", shown.gradNorm)}{line("loss spike", shown.lossSpike)}</tbody>
        </table>
      )}
    </div>
  );
}

function ExportSection() {
  const { layer, sequence } = useAnalysis();
  const mapLayer = useUi((s) => s.layer);
  const palette = useUi((s) => s.palettes[layerKind(s.layer)]); // the PNG in the colours the map shows
  const { message, error, busy } = useExports();
  const focusId = useUi((s) => s.focusId);
  if (!focusId) return null;
  const b = (label: string, testId: string, title: string, req: Parameters<typeof exportFocused>[0]) => (
    <button key={testId} data-testid={testId} disabled={busy} title={title} onClick={() => void exportFocused(req)}>{label}</button>
  );
  return (
    <div className="exports" data-testid="exports">
      <b>export</b>{" "}
      {b("CSV", "export-csv", "one row per cell with a result (fractal-llm export --format csv)", { format: "csv" })}
      {b("JSON", "export-json", "spec, env and one array per field (fractal-llm export --format json)", { format: "json" })}
      {b("PNG", "export-png", `the ${mapLayer} layer as a picture in the map's palette (fractal-llm export --format png --palette ${palette})`,
        { format: "png", layer: mapLayer, palette })}
      {b("report (HTML)", "export-html", "maps, dimension, edge of stability in one file (fractal-llm report)", { format: "html", layer, sequence })}
      {b("report (Markdown)", "export-md", "the same with its images inline (fractal-llm report --format md --inline)", { format: "md", layer, sequence })}
      {message && <div className={error ? "error small" : "muted small"} data-testid="export-message">{message}</div>}
    </div>
  );
}

/**
 * The sensitivity layer over the map: the focused sweep's cells in its own colours (flip / same outcome / not
 * compared), clipped to the viewport in float64 so a deep zoom never hands the canvas a huge rectangle.
 */
export function SensitivityOverlay() {
  const { overlay, report } = useSensitivity();
  const view = useUi((s) => s.view);
  const vp = useUi((s) => s.viewport);
  const sweep = useUi((s) => (report ? s.sweeps[report.sweepId] : undefined));
  const ref = useRef<HTMLCanvasElement>(null);
  const image = useRef<{ report: SensitivityReport; canvas: HTMLCanvasElement } | null>(null);
  const shown = overlay && report && report.state !== "none" && sweep && view && vp.width > 0;
  useEffect(() => {
    const c = ref.current;
    if (!shown || !c) return;
    const { nx, ny, window: w } = sweep;
    if (image.current?.report !== report) {
      const off = document.createElement("canvas");
      off.width = nx; off.height = ny;
      off.getContext("2d")!.putImageData(new ImageData(sensitivityImage(report.flips, nx, ny), nx, ny), 0, 0);
      image.current = { report, canvas: off };
    }
    const g = c.getContext("2d")!;
    g.clearRect(0, 0, c.width, c.height);
    const p0 = worldToScreen(view, vp, w.x0, w.y1), p1 = worldToScreen(view, vp, w.x1, w.y0);
    const cw = (p1.px - p0.px) / nx, ch = (p1.py - p0.py) / ny;
    const clamp = (v: number, n: number) => Math.max(0, Math.min(n, v));
    const i0 = clamp(Math.floor(-p0.px / cw), nx), i1 = clamp(Math.ceil((vp.width - p0.px) / cw), nx);
    const r0 = clamp(Math.floor(-p0.py / ch), ny), r1 = clamp(Math.ceil((vp.height - p0.py) / ch), ny);
    if (i1 <= i0 || r1 <= r0) return;
    g.imageSmoothingEnabled = false;
    g.drawImage(image.current.canvas, i0, r0, i1 - i0, r1 - r0, p0.px + i0 * cw, p0.py + r0 * ch, (i1 - i0) * cw, (r1 - r0) * ch);
  });
  if (!shown) return null;
  return <canvas ref={ref} className="edge-overlay" data-testid="sensitivity-overlay" width={vp.width} height={vp.height} />;
}

/** Boundary polylines (white), per-row edge points (yellow) and the fitted power law (black), over the map. */
export function EdgeOverlay() {
  // The sensitivity layer is drawn here too, under the edge lines, so the map view needs no part of its own for it.
  return <><SensitivityOverlay /><EdgeLines /></>;
}

function EdgeLines() {
  const { overlay, data } = useAnalysis();
  const view = useUi((s) => s.view);
  const vp = useUi((s) => s.viewport);
  if (!overlay || !data || !view || vp.width === 0) return null;
  const boundary = data.boundary.map((l) => polylinePath(l.points, view, vp)).join("");
  const points = data.edge.map((e) => worldToScreen(view, vp, e.x, e.y))
    .filter((p) => p.px > -4 && p.px < vp.width + 4 && p.py > -4 && p.py < vp.height + 4);
  const law = data.powerLaw.ok ? data.powerLaw.value : null;
  return (
    <svg className="edge-overlay" data-testid="edge-overlay" width={vp.width} height={vp.height}>
      <path data-testid="edge-boundary" d={boundary} fill="none" stroke="#fff" strokeWidth={2.5} />
      <path data-testid="edge-points" d={points.map((p) => `M${(p.px - 2).toFixed(1)} ${(p.py - 2).toFixed(1)}h4v4h-4z`).join("")} fill="#ffd700" />
      {law && <path data-testid="edge-powerlaw" d={polylinePath(law.curve, view, vp)} fill="none" stroke="#000" strokeWidth={2} strokeDasharray="6 4" />}
      <foreignObject x={8} y={8} width={Math.min(420, vp.width - 16)} height={60}>
        <div className="edge-legend" data-testid="edge-legend">
          <span><i style={{ background: "#fff" }} />{data.layer} boundary</span>
          <span><i style={{ background: "#ffd700" }} />largest {data.layer} x per row</span>
          {law
            ? <span><i style={{ background: "#000" }} />{law.xParam} ∝ {law.yParam}^{formatSig(law.exponent, 3)} (95% CI {formatSig(law.exponentCI[0], 3)} … {formatSig(law.exponentCI[1], 3)})</span>
            : <span className="muted">no power law: {!data.powerLaw.ok && data.powerLaw.reason}</span>}
        </div>
      </foreignObject>
    </svg>
  );
}
