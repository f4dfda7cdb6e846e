// The 3-D loss surface (geometry in surface.ts): a height field of a chosen metric over the focused sweep,
// diverged cells as a red plateau at the top, axes with ticks in hyperparameter units and the metric's, a colour
// legend, a camera that frames the surface and goes back there on home / 0, orbit controls; the selected cell
// (shared with the map) is marked.

import { Canvas, useFrame, useThree } from "@react-three/fiber";
import { useEffect, useMemo, useRef, useState } from "react";
import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { type Palette, sampleColourMap } from "../../src-shared/colours";
import type { LayerData, LayerName } from "../../src-shared/contract";
import { home, paletteFor, useUi } from "../state";
import { type AxisLabel, axes, FOV, framing, type HeightField, heightField, MAX_SIDE } from "../surface";

/** Orbit controls around the framed target; home (the header button or 0) puts the camera back. */
function Controls() {
  const { camera, gl, invalidate, size } = useThree();
  const homes = useUi((s) => s.cameraHomes);
  const controls = useRef<OrbitControls | null>(null);
  useEffect(() => {
    const c = new OrbitControls(camera, gl.domElement);
    controls.current = c;
    const onChange = () => invalidate();
    c.addEventListener("change", onChange);
    return () => { c.removeEventListener("change", onChange); c.dispose(); };
  }, [camera, gl, invalidate]);
  useEffect(() => {
    const c = controls.current;
    if (!c) return;
    const f = framing(size.width / Math.max(1, size.height));
    camera.position.set(...f.position);
    c.target.set(...f.target);
    c.update();
    invalidate();
  }, [homes, size.width, size.height, camera, invalidate]);
  return null;
}

function Surface({ field }: { field: HeightField }) {
  const geometry = useMemo(() => {
    const g = new THREE.BufferGeometry();
    g.setAttribute("position", new THREE.BufferAttribute(field.positions, 3));
    g.setAttribute("color", new THREE.BufferAttribute(field.colours, 3));
    g.setIndex(new THREE.BufferAttribute(field.index, 1));
    g.computeVertexNormals();
    return g;
  }, [field]);
  useEffect(() => () => geometry.dispose(), [geometry]);
  return (
    <mesh geometry={geometry}>
      <meshLambertMaterial vertexColors side={THREE.DoubleSide} />
    </mesh>
  );
}

/** The axis lines in the scene, and the labels' screen positions written straight into their DOM nodes each frame
 *  (no React render per frame). */
function Axes({ segments, labels, nodes }: { segments: Float32Array; labels: AxisLabel[]; nodes: React.MutableRefObject<(HTMLSpanElement | null)[]> }) {
  const geometry = useMemo(() => {
    const g = new THREE.BufferGeometry();
    g.setAttribute("position", new THREE.BufferAttribute(segments, 3));
    return g;
  }, [segments]);
  useEffect(() => () => geometry.dispose(), [geometry]);
  const v = useMemo(() => new THREE.Vector3(), []);
  useFrame(({ camera, size }) => {
    camera.updateMatrixWorld(); // the render would do it after this callback: labels would lag the camera a frame
    labels.forEach((l, i) => {
      const el = nodes.current[i];
      if (!el) return;
      v.set(...l.at).project(camera);
      const behind = v.z > 1;
      el.style.transform = `translate(${((v.x + 1) / 2) * size.width}px, ${((1 - v.y) / 2) * size.height}px) translate(-50%, -50%)`;
      el.style.visibility = behind ? "hidden" : "visible";
    });
  });
  return (
    <lineSegments geometry={geometry}>
      <lineBasicMaterial color="#c8ccd4" />
    </lineSegments>
  );
}

/** A marker over the cell selected on the map (selection is shared between the two views). */
function Selected({ field, metric }: { field: HeightField; metric: LayerData }) {
  const sel = useUi((s) => s.selected);
  if (!sel || sel.sweepId !== metric.sweepId) return null;
  const sx = Math.max(1, Math.ceil(metric.nx / MAX_SIDE)), sy = Math.max(1, Math.ceil(metric.ny / MAX_SIDE));
  const i = Math.min(field.w - 1, Math.floor(sel.ix / sx)), j = Math.min(field.h - 1, Math.floor(sel.iy / sy));
  const p = field.positions.subarray(3 * (j * field.w + i), 3 * (j * field.w + i) + 3);
  return (
    <mesh position={[p[0], p[1] + 0.03, p[2]]}>
      <sphereGeometry args={[0.015, 12, 8]} />
      <meshBasicMaterial color="white" />
    </mesh>
  );
}

const HEIGHTS: { layer: LayerName; label: string; unit: string }[] = [
  { layer: "finalLoss", label: "final loss (log)", unit: "final loss" },
  { layer: "heldoutLoss", label: "held-out loss (log)", unit: "held-out loss" },
  { layer: "oodLoss", label: "OOD loss (log)", unit: "OOD loss" },
  { layer: "score", label: "score (rank)", unit: "score rank" },
];

/** Height and colour are one scale: the legend's bar is the map's palette for the metric from the surface's floor to its top. */
function SurfaceLegend({ field, unit, palette, diverged }: { field: HeightField; unit: string; palette: Palette; diverged: Palette["no"] }) {
  const n = 16, t = (i: number) => field.tLo + (field.tHi - field.tLo) * (i / n);
  const stops = Array.from({ length: n + 1 }, (_, i) => `rgb(${sampleColourMap(palette.stops, t(i)).join(",")}) ${(i / n) * 100}%`).join(", ");
  const [lo, hi] = [field.zLo, field.zHi].map((u) => (field.kind === "log" ? 10 ** u : u));
  const fmt = (x: number) => (Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toPrecision(3));
  return (
    <div className="surface-legend" data-testid="surface-legend">
      <div><b>{unit}</b>{field.kind === "log" ? " (log scale)" : ""}: height and colour</div>
      <div className="surface-ramp" style={{ background: `linear-gradient(to right, ${stops})` }} />
      <div className="surface-ramp-labels"><span>{fmt(lo)} (2nd pct)</span><span>{fmt(hi)} (98th pct)</span></div>
      <div><span className="swatch" style={{ background: `rgb(${diverged.join(",")})` }} /> diverged: the plateau above the top</div>
      <div><span className="swatch" style={{ background: "rgb(153,153,153)" }} /> not done: the floor</div>
    </div>
  );
}

export function Surface3D() {
  const api = useUi((s) => s.api);
  const sweepId = useUi((s) => s.focusId);
  const sweep = useUi((s) => (s.focusId ? s.sweeps[s.focusId] : undefined));
  const done = sweep?.doneCells ?? 0;
  const [metric, setMetric] = useState<LayerName>("finalLoss");
  const [data, setData] = useState<{ m: LayerData; t: LayerData } | null>(null);
  // The map's palettes (the legend's choice): the metric's kind for the surface, the outcomes' "no" for the plateau.
  const palette = useUi((s) => paletteFor(s, metric === "score" ? "rank" : "log"));
  const diverged = useUi((s) => paletteFor(s, "binary").no);
  const field = useMemo(() => (data ? heightField(data.m, data.t, palette, diverged) : null), [data, palette, diverged]);
  const metricData = data?.m ?? null;
  const labelNodes = useRef<(HTMLSpanElement | null)[]>([]);
  useEffect(() => {
    if (!api || !sweepId) return;
    let live = true;
    void Promise.all([api.getLayer(sweepId, metric), api.getLayer(sweepId, "trainable")]).then(([m, t]) => {
      if (live) setData({ m, t });
    });
    return () => { live = false; };
  }, [api, sweepId, metric, done]);
  // 0 puts the camera back (the map's other keys do nothing here; the footer lists this view's own)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.closest("textarea, select, dialog, input")) return;
      if (e.key === "0") home();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  const unit = HEIGHTS.find((h) => h.layer === metric)!.unit;
  const ax = useMemo(() => (field && sweep ? axes(sweep, field, unit) : null), [field, sweep?.window, sweep?.xAxis, sweep?.yAxis, unit]);
  return (
    <div className="surface" data-testid="surface">
      <label className="field surface-metric">height{" "}
        <select value={metric} onChange={(e) => setMetric(e.target.value as LayerName)}>
          {HEIGHTS.map((h) => <option key={h.layer} value={h.layer}>{h.label}</option>)}
        </select></label>
      <Canvas linear flat frameloop="demand" dpr={1} camera={{ position: framing(1.5).position, fov: FOV }}
        gl={{ antialias: false, preserveDrawingBuffer: true }} data-testid="surface-canvas">
        <color attach="background" args={["#20242b"]} />
        <ambientLight intensity={0.6} />
        <directionalLight position={[1, 2, 1]} intensity={2} />
        <Controls />
        {field && <Surface field={field} />}
        {ax && <Axes segments={ax.segments} labels={ax.labels} nodes={labelNodes} />}
        {field && metricData && <Selected field={field} metric={metricData} />}
      </Canvas>
      <div className="surface-labels" aria-hidden>
        {ax?.labels.map((l, i) => (
          <span key={`${l.axis}-${i}-${l.text}`} ref={(el) => { labelNodes.current[i] = el; }}
            className={l.title ? "surface-label title" : "surface-label"} data-testid={`surface-label-${l.axis}`}>{l.text}</span>
        ))}
      </div>
      {field && <SurfaceLegend field={field} unit={unit} palette={palette} diverged={diverged} />}
      <div className="muted surface-note" data-testid="surface-status">{field ? `${field.w}×${field.h} vertices; red plateau: diverged` : "loading…"}</div>
    </div>
  );
}
