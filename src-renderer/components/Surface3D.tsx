// The 3-D loss surface: a height field of a chosen metric over the focused sweep (log10 of the loss, clipped
// to its 2nd..98th percentile so one blow-up does not flatten the rest), diverged cells as a red plateau at
// the top, and every height finite before it reaches the geometry. Orbit controls; the selected cell (shared
// with the map) is marked.

import { Canvas, useFrame, useThree } from "@react-three/fiber";
import { useEffect, useMemo, useState } from "react";
import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { NO, sampleColourMap, VIRIDIS } from "../../src-shared/colours";
import type { LayerData, LayerName } from "../../src-shared/contract";
import { useUi } from "../state";

const MAX_SIDE = 192; // vertices per side; larger maps are sampled on a stride

export interface HeightField { positions: Float32Array; colours: Float32Array; index: Uint32Array; w: number; h: number }

/** Build the height field; diverged = not trainable (or a non-finite metric). Never emits NaN. */
export function heightField(metric: LayerData, trainable: LayerData): HeightField {
  const sx = Math.max(1, Math.ceil(metric.nx / MAX_SIDE)), sy = Math.max(1, Math.ceil(metric.ny / MAX_SIDE));
  const w = Math.ceil(metric.nx / sx), h = Math.ceil(metric.ny / sy);
  const finite: number[] = [];
  for (let i = 0; i < metric.values.length; i += 7) { const v = metric.values[i]; if (v > -1e29 && v < 1e29) finite.push(v); }
  finite.sort((a, b) => a - b);
  const lo = finite.length ? finite[Math.floor(finite.length * 0.02)] : 0;
  const hi = finite.length ? finite[Math.floor(finite.length * 0.98)] : 1;
  const span = hi - lo || 1;
  const positions = new Float32Array(w * h * 3), colours = new Float32Array(w * h * 3);
  const red = NO.map((c) => c / 255);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const cell = Math.min(metric.ny - 1, j * sy) * metric.nx + Math.min(metric.nx - 1, i * sx);
      const v = metric.values[cell], t = trainable.values[cell];
      const diverged = t === 0 || v > 1e29;
      const notDone = v < -1e29 && !diverged;
      const z = diverged ? 1.08 : notDone ? 0 : Math.min(1, Math.max(0, (v - lo) / span));
      const k = j * w + i;
      positions.set([i / Math.max(1, w - 1) - 0.5, j / Math.max(1, h - 1) - 0.5, z * 0.5], 3 * k);
      const c = diverged ? red : notDone ? [0.6, 0.6, 0.6] : sampleColourMap(VIRIDIS, z).map((x) => x / 255);
      colours.set(c, 3 * k);
    }
  }
  const index = new Uint32Array((w - 1) * (h - 1) * 6);
  let n = 0;
  for (let j = 0; j < h - 1; j++) for (let i = 0; i < w - 1; i++) {
    const a = j * w + i, b = a + 1, c = a + w, d = c + 1;
    index.set([a, b, d, a, d, c], n); n += 6;
  }
  return { positions, colours, index, w, h };
}

function Controls() {
  const { camera, gl, invalidate } = useThree();
  useEffect(() => {
    const c = new OrbitControls(camera, gl.domElement);
    const onChange = () => invalidate();
    c.addEventListener("change", onChange);
    return () => c.dispose();
  }, [camera, gl, invalidate]);
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
  useFrame(() => {});
  return (
    <mesh geometry={geometry} rotation={[-Math.PI / 2, 0, 0]}>
      <meshLambertMaterial vertexColors side={THREE.DoubleSide} />
    </mesh>
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
    <mesh position={[p[0], p[2] + 0.03, -p[1]]}>
      <sphereGeometry args={[0.015, 12, 8]} />
      <meshBasicMaterial color="white" />
    </mesh>
  );
}

export function Surface3D() {
  const api = useUi((s) => s.api);
  const sweepId = useUi((s) => s.focusId);
  const done = useUi((s) => (s.focusId ? s.sweeps[s.focusId]?.doneCells : 0));
  const [metric, setMetric] = useState<LayerName>("finalLoss");
  const [field, setField] = useState<HeightField | null>(null);
  const [metricData, setMetricData] = useState<LayerData | null>(null);
  useEffect(() => {
    if (!api || !sweepId) return;
    let live = true;
    void Promise.all([api.getLayer(sweepId, metric), api.getLayer(sweepId, "trainable")]).then(([m, t]) => {
      if (live) { setField(heightField(m, t)); setMetricData(m); }
    });
    return () => { live = false; };
  }, [api, sweepId, metric, done]);
  return (
    <div className="surface" data-testid="surface">
      <label className="field surface-metric">height{" "}
        <select value={metric} onChange={(e) => setMetric(e.target.value as LayerName)}>
          <option value="finalLoss">final loss (log)</option>
          <option value="heldoutLoss">held-out loss (log)</option>
          <option value="oodLoss">OOD loss (log)</option>
          <option value="score">score (rank)</option>
        </select></label>
      <Canvas linear flat frameloop="demand" dpr={1} camera={{ position: [0.9, 0.9, 0.9], fov: 45 }}
        gl={{ antialias: false, preserveDrawingBuffer: true }} onCreated={({ gl }) => gl.setClearColor(0x20242b)}
        data-testid="surface-canvas">
        <ambientLight intensity={0.6} />
        <directionalLight position={[1, 2, 1]} intensity={2} />
        <Controls />
        {field && <Surface field={field} />}
        {field && metricData && <Selected field={field} metric={metricData} />}
      </Canvas>
      <div className="muted surface-note" data-testid="surface-status">{field ? `${field.w}×${field.h} vertices; red plateau: diverged` : "loading…"}</div>
    </div>
  );
}
