// Side panels and bars around the map: layer picker and legend, breadcrumb, inspector, zoom dialog and the sweep
// library view with thumbnails (its rows, and the footer's progress, are in SweepControl.tsx). The hover read-out
// is a tooltip on the map (MapView.tsx).

import { useEffect, useRef, useState } from "react";
import { type Palette, PALETTES, type Rgb } from "../../src-shared/colours";
import { LAYER_NAMES } from "../../src-shared/api";
import { formatCost } from "../../src-shared/format";
import type { CellDetail, LayerName, SweepSummary } from "../../src-shared/contract";
import {
  ancestry, confirmZoom, fillInSweep, home, loadPreview, openSweep, openZoomDialog, paletteFor, setLayer, setPalette, setZoomTarget, updateZoomRequest,
  useLayer, useUi,
} from "../state";
import { layerKind } from "../palette-choice";
import { axisKeys } from "../readout";
import { drawLayer } from "../thumbs";
import { targetLabel } from "../sweep-control";
import { formatExact, formatSig } from "../ticks";
import { EvalTable, SamplesPanel } from "./CellEvals";
import { LinePlot } from "./LinePlot";
import { useCompare } from "../store/compare";
import { clearPins, togglePin } from "../store/pins";
import { RunsTable } from "./RunsTable";
import { LibraryRow, ProgressPanel } from "./SweepControl";

// App imports the footer's progress from here, as before.
export { ProgressPanel };

const css = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;
const LAYER_LABEL: Record<LayerName, string> = {
  score: "score (paper)", scoreTree: "score, one scale for the zoom tree", trainable: "trainable", stable: "stable", finalLoss: "final loss", heldoutLoss: "held-out loss",
  oodLoss: "OOD loss",
};

export function LayerPicker() {
  const layer = useUi((s) => s.layer);
  return (
    <label className="field">layer{" "}
      <select data-testid="layer" value={layer} onChange={(e) => void setLayer(e.target.value as LayerName)}>
        {LAYER_NAMES.map((l) => <option key={l} value={l}>{LAYER_LABEL[l]}</option>)}
      </select>
    </label>
  );
}

/** The palette of the shown kind of layer (scores, outcomes or losses: each remembers its own), beside its colour bar. */
function PalettePicker({ kind, palette }: { kind: ReturnType<typeof layerKind>; palette: Palette }) {
  return (
    <select data-testid="palette" value={palette.name} onChange={(e) => setPalette(kind, e.target.value as Palette["name"])}
      title="colour map for this kind of layer (matplotlib's); the map, thumbnails, 3-D view and exported PNGs use it"
      style={{ fontSize: 11, padding: "0 2px", flex: "none" }}>
      {PALETTES.map((p) => <option key={p.name} value={p.name} title={p.name === "cividis" ? "colour-blind safe" : undefined}>{p.label}</option>)}
    </select>
  );
}

export function Legend() {
  const layer = useUi((s) => s.layer);
  const kind = layerKind(layer);
  const palette = useUi((s) => paletteFor(s, kind));
  const data = useLayer(useUi((s) => s.rootId));
  const swatch = (label: string, c: Rgb) => <div key={label} className="swatch"><i style={{ background: css(c) }} />{label}</div>;
  const bar = <div className="bar" data-testid="legend-bar" style={{ flex: 1, background: `linear-gradient(to right, ${palette.stops.map(css).join(", ")})` }} />;
  const row = (first: React.ReactNode) => (
    <div style={{ display: "flex", gap: 6, alignItems: "center" }}>{first}<PalettePicker kind={kind} palette={palette} /></div>
  );
  let body;
  if (kind === "rank") {
    body = <>
      {row(bar)}
      <div className="bar-labels"><span>diverged (longest-lasting darkest)</span><span>converged (largest Σ loss darkest)</span></div>
      {swatch("not done", palette.notDone)}
      <div className="muted small" data-testid="legend-scale">{layer === "score"
        ? "each map ranked among its own cells, as in the paper: a zoom's colours are not its parent's"
        : "every map ranked against the root's cells: one score, one colour, across the nested scans"}</div>
    </>;
  } else if (kind === "binary") {
    // The outcomes are the palette's colours at 0.9 and 0.1 (colours.ts Palette.yes / no): Spectral's are the paper's blue and red.
    body = <>{row(<div style={{ flex: 1 }}>{swatch(layer, palette.yes)}</div>)}{swatch(layer === "trainable" ? "untrainable" : "unstable", palette.no)}
      {swatch("not done", palette.notDone)}</>;
  } else {
    body = <>
      {row(bar)}
      <div className="bar-labels"><span>{data ? formatSig(10 ** data.lo, 3) : ""}</span><span>log scale</span><span>{data ? formatSig(10 ** data.hi, 3) : ""}</span></div>
      {swatch("non-finite", palette.nonFinite)}{swatch("not done", palette.notDone)}
    </>;
  }
  return <div className="legend" data-testid="legend" data-palette={palette.name}><h3>{LAYER_LABEL[layer]}</h3>{body}</div>;
}

/**
 * A zoom's crumb: its own name less its parent's ("zoom 5× (32×32)", "zoom 1 (5x)"), so scans of one map read apart;
 * a renamed zoom keeps its whole name.
 */
export function zoomLabel(s: SweepSummary, parent: SweepSummary): string {
  const m = s.name.startsWith(parent.name) ? /^\s*[-/›:]\s*(.+)$/.exec(s.name.slice(parent.name.length)) : null;
  return m ? m[1] : s.name;
}

export function Breadcrumb() {
  const focusId = useUi((s) => s.focusId);
  const sweeps = useUi((s) => s.sweeps);
  if (!focusId || !sweeps[focusId]) return null;
  const chain = ancestry(focusId, sweeps);
  return (
    <nav className="breadcrumb" data-testid="breadcrumb">
      {chain.map((s, i) => (
        <span key={s.id}>
          {i > 0 && " › "}
          <button onClick={() => { useUi.setState({ focusId: s.id }); home(s.id); }} title={s.id}>
            {i === 0 ? s.name : zoomLabel(s, chain[i - 1])}
          </button>
        </span>
      ))}
    </nav>
  );
}

function outcomeLine(d: CellDetail): string {
  if (!d.done || !d.outcome) return "not done";
  const o = d.outcome;
  return `${o.trainable ? "trainable" : "untrainable"}, ${o.stable ? "stable" : "unstable"}, score ${formatSig(o.score, 4)}, `
    + `final loss ${formatSig(o.final_loss, 4)}`;
}

function HparamTable({ d, sweep }: { d: CellDetail; sweep: SweepSummary }) {
  const axes = axisKeys(d.hparams, [sweep.xAxis.param, sweep.yAxis.param]);
  const keys = Object.keys(d.hparams).sort((a, b) => Number(axes.includes(b)) - Number(axes.includes(a)));
  return (
    <table className="hparams"><tbody>
      {keys.map((k) => <tr key={k} className={axes.includes(k) ? "axis-param" : ""}><td>{k}</td><td data-testid={`hp-${k}`}>{formatExact(d.hparams[k])}</td></tr>)}
    </tbody></table>
  );
}

/** Loss and grad-norm curves of a cell on log axes, with the pinned cells' overlaid; pin keeps this one for the next. */
function Curves({ curve, d }: { curve: NonNullable<CellDetail["curve"]>; d: CellDetail }) {
  const pinned = useUi((s) => s.pinned);
  const key = `${d.sweepId}:${d.cell}`;
  const label = `cell ${d.ix},${d.iy}`;
  const others = pinned.filter((p) => p.key !== key);
  const all = [{ label, curve }, ...others];
  const grad = (c: typeof curve) => c.step.subarray(0, c.gradNorm.length);
  return <>
    <LinePlot testId="loss-curve" title="loss" curves={all.map((p) => ({ label: p.label, x: p.curve.step, y: p.curve.loss }))} log />
    <LinePlot testId="grad-curve" title="grad norm" curves={all.map((p) => ({ label: p.label, x: grad(p.curve), y: p.curve.gradNorm }))} log />
    <div className="buttons">
      <button data-testid="pin-curve" onClick={() => togglePin({ key, label, curve })}
        title="keep this cell's curves in the plots to compare with the next cells you click">
        {pinned.some((p) => p.key === key) ? "unpin" : "pin"} these curves</button>
      {pinned.length > 0 && <button data-testid="clear-pins" onClick={clearPins}>clear {pinned.length} pinned</button>}
    </div>
  </>;
}

/**
 * The curves of an MLP cell whose sweep recorded none: re-trained on this computer (api.recomputeCurve), labelled so,
 * with whether the re-run found the recorded outcome.
 */
function RecomputedCurves({ d }: { d: CellDetail }) {
  const r = useUi((s) => s.recomputed);
  if (!r || r.sweepId !== d.sweepId || r.cell !== d.cell) return null;
  if (r.error) return <div className="error" data-testid="recompute-error">no curves recorded, and re-training the cell failed: {r.error}</div>;
  if (!r.result) return <div className="muted" data-testid="recompute-busy">no curves recorded: re-training the cell on this computer…</div>;
  const x = r.result;
  return <>
    <div className="muted" data-testid="recompute-label">
      recomputed on {x.where} in {formatSig(x.seconds, 2)} s (the sweep records no curves)
    </div>
    <Curves curve={x.curve} d={d} />
    <div className={x.warn ? "warning" : "muted"} data-testid="recompute-check" data-check={x.check}>{x.verdict}</div>
  </>;
}

export function Inspector() {
  const d = useUi((s) => s.selected);
  const sweeps = useUi((s) => s.sweeps);
  if (!d) return <div className="inspector muted">click a cell to inspect it</div>;
  const s = sweeps[d.sweepId];
  const aroundPoint = () => {
    const wx = (d.bounds.x1 - d.bounds.x0) * 2, wy = (d.bounds.y1 - d.bounds.y0) * 2;
    void openZoomDialog(d.sweepId, { x0: d.centre.x - wx, x1: d.centre.x + wx, y0: d.centre.y - wy, y1: d.centre.y + wy });
  };
  return (
    <div className="inspector" data-testid="inspector">
      <h3>cell ({d.ix}, {d.iy}) #{d.cell}</h3>
      <div data-testid="inspector-outcome">{outcomeLine(d)}</div>
      {d.outcome && (d.outcome.divergence_step ?? -1) >= 0 && <div className="muted">diverged at step {d.outcome.divergence_step}</div>}
      {d.outcome?.inferred === 1 && <InferredNote sweepId={d.sweepId} />}
      {s?.family === "gpt" && <EvalTable d={d} />}
      {d.curve ? <Curves curve={d.curve} d={d} />
        : s?.family === "mlp" ? <RecomputedCurves d={d} />
          : <div className="muted">no curves recorded for this sweep (record.curves)</div>}
      {s?.family === "gpt" && <SamplesPanel />}
      {s && <HparamTable d={d} sweep={s} />}
      {s && <div className="muted" data-testid="ran-on">trained on {s.ranOn ?? "(no environment recorded)"}</div>}
      <button data-testid="sweep-around" onClick={aroundPoint}>new sweep around this point</button>
    </div>
  );
}

/** An inferred cell (boundary sampling): not trained, its values a trained neighbour's; "fill in" trains them all. */
function InferredNote({ sweepId }: { sweepId: string }) {
  const [busy, setBusy] = useState(false);
  const fill = async () => {
    setBusy(true);
    const s = await fillInSweep(sweepId);
    setBusy(false);
    if (s) await openSweep(s.id);
  };
  return (
    <div className="warning" data-testid="inspector-inferred">
      inferred, not trained: boundary sampling copied this cell&apos;s outcome and values from the nearest trained cell of
      its block, whose trained corners all agreed (the map hatches such cells)
      <button data-testid="fill-in" disabled={busy} onClick={() => void fill()}>fill in: train the inferred cells</button>
    </div>
  );
}

export function ZoomDialog() {
  const d = useUi((s) => s.zoomDialog);
  const targets = useUi((s) => s.targets);
  const pending = useUi((s) => s.zoomPending);
  if (pending && !d) {
    return (
      <div className="dialog zoom-pending" role="status" data-testid="zoom-pending">
        <span className="spinner" aria-hidden />starting the zoom scan ({pending.req.points}×{pending.req.points}) on {pending.req.target}…
      </div>
    );
  }
  if (!d) return null;
  const p = d.preview;
  const target = targets?.find((t) => t.target === d.req.target);
  return (
    <div className="dialog-backdrop">
      <div className="dialog" role="dialog" data-testid="zoom-dialog">
        <h3>zoom scan</h3>
        <label className="field">points per axis{" "}
          <input data-testid="zoom-points" type="number" min={2} value={d.req.points}
            onChange={(e) => void updateZoomRequest({ points: Number(e.target.value) })} /></label>
        <label className="field">steps{" "}
          <input data-testid="zoom-steps" type="number" min={1} placeholder={p ? String(p.spec.train.steps ?? "") : "parent's"}
            value={d.req.steps ?? ""} onChange={(e) => void updateZoomRequest({ steps: e.target.value ? Number(e.target.value) : null })} /></label>
        <label className="field">target{" "}
          <select data-testid="zoom-target" value={d.req.target} onChange={(e) => void setZoomTarget(e.target.value)}>
            {/* Until the list arrives (or if the request names a target no longer listed) keep the value selectable. */}
            {!target && <option value={d.req.target}>{d.req.target}</option>}
            {targets?.map((t) => <option key={t.target} value={t.target} title={t.description}>{targetLabel(t)}</option>)}
          </select></label>
        <div className="muted" data-testid="zoom-target-info">
          {target ? `${target.description}; ${target.zoomPoints} points per axis by default there` : targets ? "not a known target" : "loading targets…"}
        </div>
        {p && <div className="muted" data-testid="zoom-window">
          window x [{formatSig(p.window.x0, 8)}, {formatSig(p.window.x1, 8)}], y [{formatSig(p.window.y0, 8)}, {formatSig(p.window.y1, 8)}] (axis units)
        </div>}
        {p && <div data-testid="zoom-cost">{formatCost(p.cost)}</div>}
        {p?.warnings.map((w) => <div key={w} className="warning">{w}</div>)}
        {d.error && <div className="error">{d.error}</div>}
        <div className="buttons">
          <button onClick={() => useUi.setState({ zoomDialog: null })}>cancel</button>
          <button data-testid="zoom-start" disabled={!p || d.busy} onClick={() => void confirmZoom()}>start</button>
        </div>
      </div>
    </div>
  );
}

/** A sweep's score preview as a small picture; click opens the sweep. */
function Thumbnail({ s }: { s: SweepSummary }) {
  const preview = useUi((st) => st.previews[s.id]);
  const palette = useUi((st) => (preview ? paletteFor(st, preview.kind) : null));
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => { void loadPreview(s.id); }, [s.id, s.doneCells]);
  useEffect(() => { if (canvas.current && preview && palette) drawLayer(canvas.current, preview, palette); }, [preview, palette]);
  return (
    <button className="thumb" data-testid="library-thumb" title={`open ${s.name}`} onClick={() => void openSweep(s.id)}>
      {preview ? <canvas ref={canvas} width={96} height={96} /> : <span className="muted">{s.doneCells ? "…" : "no results yet"}</span>}
    </button>
  );
}

/** The library, its own view: every sweep as a card with its thumbnail, newest first, zooms under their parent's name. */
export function Library() {
  const sweeps = useUi((s) => s.sweeps);
  const [q, setQ] = useState("");
  // Kept in the compare mode's store: the way back from a comparison is the runs table it was opened from.
  const table = useCompare((s) => s.libraryTable);
  const setTable = (on: boolean) => useCompare.setState({ libraryTable: on });
  const toggle = <button data-testid="library-as-table" className={table ? "on" : ""} onClick={() => setTable(!table)}
    title="the runs table: sortable and filterable, zoom trees indented">table</button>;
  if (table) return <div className="library" data-testid="library"><RunsTable toggle={toggle} /></div>;
  const list = Object.values(sweeps)
    .filter((s) => !q || `${s.name} ${s.id} ${s.tags.join(" ")} ${s.target} ${s.status}`.toLowerCase().includes(q.toLowerCase()))
    .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt));
  return (
    <div className="library" data-testid="library">
      <div className="library-top">
        <input placeholder="search name, id, tag, target, status" value={q} onChange={(e) => setQ(e.target.value)} data-testid="library-search" />
        <span className="muted">{list.length} of {Object.keys(sweeps).length} sweeps</span>
        {toggle}
      </div>
      <div className="library-grid">
        {list.map((s) => (
          <div key={s.id} className="library-card">
            <Thumbnail s={s} />
            <div className="library-card-text">
              {s.parentId && sweeps[s.parentId] && <div className="muted small">zoom of {sweeps[s.parentId].name}</div>}
              <LibraryRow s={s} />
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
