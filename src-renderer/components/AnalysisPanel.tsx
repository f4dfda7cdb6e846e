// The analysis panel (fractal dimension with its log-log plot, edge power law) and the edge-of-stability overlay
// drawn over the map in its float64 view coordinates.

import { useEffect } from "react";
import type { Computed, DimensionFit } from "../../src-shared/contract";
import { followFocus, polylinePath, setAnalysisOptions, useAnalysis } from "../analysis";
import { useUi } from "../state";
import { formatSig } from "../ticks";
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
          <div>
            fractal dimension of the {data.layer} boundary:{" "}
            {self.paper.ok
              ? <b data-testid="analysis-dimension">{self.paper.value.dimension.toFixed(3)}</b>
              : <span className="muted" data-testid="analysis-dimension-reason">not measurable: {self.paper.reason}</span>}
            {self.leastSquares.ok && <span className="muted"> (least squares, sizes 2–32: {self.leastSquares.value.dimension.toFixed(3)})</span>}
          </div>
          {data.sequence && (
            <div data-testid="analysis-sequence-dimension">
              zoom path ({data.levels.length} levels): {data.sequence.ok
                ? <b>{data.sequence.value.dimension.toFixed(3)}</b>
                : <span className="muted">not measurable: {data.sequence.reason}</span>}
              <span className="muted"> · per level {data.levels.map((l) => dim(l.paper)).join(", ")}</span>
            </div>
          )}
          {data.plotSvg && <div className="analysis-plot" data-testid="analysis-plot" dangerouslySetInnerHTML={{ __html: data.plotSvg }} />}
          <div data-testid="analysis-powerlaw">
            {law?.ok
              ? <>edge: max {law.value.xParam} ∝ {law.value.yParam}<sup>{law.value.exponent.toFixed(3)}</sup>, 95% CI [{law.value.exponentCI[0].toFixed(3)},
                {" "}{law.value.exponentCI[1].toFixed(3)}], R² {law.value.r2.toFixed(3)}, least squares through {law.value.n} {law.value.along}{law.value.excluded ? ` (${law.value.excluded} not done, censored or empty left out)` : ""}</>
              : <span className="muted">no power law: {law?.reason}</span>}
          </div>
        </>
      )}
    </details>
  );
}

/** Boundary polylines (white), per-row edge points (yellow) and the fitted power law (black), over the map. */
export function EdgeOverlay() {
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
