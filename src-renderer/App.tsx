import { lazy, Suspense } from "react";
import { Breadcrumb, Inspector, LayerPicker, Legend, Library, ProgressPanel, ZoomDialog } from "./components/Panels";
import { Bookmarks } from "./components/Bookmarks";
import { AnalysisPanel } from "./components/AnalysisPanel";
import { HostManager } from "./components/HostManager";
import { MapView, Overview } from "./components/MapView";
import { Table1View } from "./components/Table1";
import { CompareView } from "./components/CompareView";
import { SweepEditor } from "./components/SweepEditor";
import { NoticeStack } from "./components/SweepControl";
import { KeyHelp } from "./components/Keys";
import { exportZoomVideo, home, setFill, useUi } from "./state";

// three.js loads as its own chunk (with the WebGL map, GlMap.tsx), so the first frame does not wait for it.
const Surface3D = lazy(() => import("./components/Surface3D").then((m) => ({ default: m.Surface3D })));

// Layout: the header holds navigation (breadcrumb, layer, view modes); the main area is the map, the 3-D surface, the
// library or the Table 1 report; the side panel has collapsible sections (legend, analysis) above the tabs for the inspector, the
// sweep editor and the hosts. The hover read-out is a tooltip on the map, not a panel.
export function App() {
  const connection = useUi((s) => s.connection);
  const error = useUi((s) => s.connectionError);
  const mode = useUi((s) => s.mode);
  const panel = useUi((s) => s.panel);
  const fill = useUi((s) => s.fill);
  const recording = useUi((s) => s.recording);
  const empty = useUi((s) => Object.keys(s.sweeps).length === 0);
  if (connection === "closed") {
    return <div className="fatal" data-testid="connection-error">Not connected: {error}</div>;
  }
  const tab = (id: typeof panel, label: string, testId: string) => (
    <button data-testid={testId} className={panel === id ? "on" : ""} onClick={() => useUi.setState({ panel: id })}>{label}</button>
  );
  return (
    <div className="app">
      <header>
        <b>Fractal LLM Explorer</b>
        <Breadcrumb />
        <span className="spacer" />
        <LayerPicker />
        <div className="modes">
          <button data-testid="mode-map" className={mode === "map" ? "on" : ""} onClick={() => useUi.setState({ mode: "map" })}>map</button>
          <button data-testid="mode-surface" className={mode === "surface" ? "on" : ""} onClick={() => useUi.setState({ mode: "surface" })}>3-D</button>
          <button data-testid="tab-library" className={mode === "library" ? "on" : ""} onClick={() => useUi.setState({ mode: "library" })}>library</button>
          <button data-testid="tab-table1" className={mode === "table1" ? "on" : ""} title="reproduce Table 1 of Sohl-Dickstein (2024) beside the paper's numbers"
            onClick={() => useUi.setState({ mode: "table1" })}>Table 1</button>
        </div>
        <button data-testid="fill-toggle" className={fill ? "on" : ""} disabled={mode !== "map"}
          title="stretch the map to fill the window (off: 1:1 in axis units)" onClick={() => setFill(!fill)}>fill</button>
        <button data-testid="zoom-video" disabled={mode !== "map" || recording !== null}
          title="record the zoom from the whole map to this view as a video (WebM)" onClick={() => void exportZoomVideo()}>
          {recording ? `recording… ${recording.done}/${recording.frames}` : "zoom video"}</button>
        <button onClick={() => home()} title="0">home</button>
      </header>
      <main>
        <section className="view">
          {mode === "library" ? <Library /> : mode === "table1" ? <Table1View /> : mode === "compare" ? <CompareView />
            : empty && connection === "open" ? <div className="muted empty">No sweeps in this database yet. Run one with `fractal-llm sweep --spec FILE`.</div>
              : mode === "map" ? <MapView /> : <Suspense fallback={<div className="muted empty">loading the 3-D view…</div>}><Surface3D /></Suspense>}
        </section>
        <aside data-testid="side-panel">
          {mode === "map" && <details className="section" data-testid="overview-section" open>
            <summary><b>overview</b></summary>
            <Overview />
          </details>}
          {mode === "map" && <details className="section" data-testid="bookmarks-section">
            <summary><b>bookmarks</b></summary>
            <Bookmarks />
          </details>}
          <details className="section" data-testid="legend-section" open>
            <summary><b>legend</b></summary>
            <Legend />
          </details>
          <AnalysisPanel />
          <div className="tabs">
            {tab("inspector", "inspector", "tab-inspector")}
            {tab("editor", "new sweep", "tab-editor")}
            {tab("hosts", "hosts", "tab-hosts")}
          </div>
          <div className="tab-body" data-testid="tab-body">
            {panel === "inspector" ? <Inspector /> : panel === "hosts" ? <HostManager /> : <SweepEditor />}
          </div>
        </aside>
      </main>
      <footer>
        <ProgressPanel />
        <span className="muted keys" data-testid="footer-keys">{mode === "surface" ? "drag: orbit · right-drag: pan · wheel: zoom · 0: reset the camera"
          : "wheel/+/−: zoom · drag/arrows/WASD: pan · shift-drag: zoom scan · 0: home · [ ]: back/forward · ?: all keys"}</span>
      </footer>
      <ZoomDialog />
      {/* After the dialog, so toasts (an error from starting the zoom, a sweep that finished) stay visible over it. */}
      <NoticeStack />
      <KeyHelp />
    </div>
  );
}
