import { lazy, Suspense } from "react";
import { Breadcrumb, Inspector, LayerPicker, Legend, Library, ProgressPanel, ZoomDialog } from "./components/Panels";
import { Bookmarks } from "./components/Bookmarks";
import { AnalysisPanel } from "./components/AnalysisPanel";
import { HostManager } from "./components/HostManager";
import { MapView, Overview } from "./components/MapView";
import { Table1View } from "./components/Table1";
import { SweepEditor } from "./components/SweepEditor";
import { NoticeStack } from "./components/SweepControl";
import { KeyHelp } from "./components/Keys";
import { exportZoomVideo, home, setFill, useUi } from "./state";

// three.js loads as its own chunk (with the WebGL map, GlMap.tsx), so the first frame does not wait for it.
const Surface3D = lazy(() => import("./components/Surface3D").then((m) => ({ default: m.Surface3D })));
// The compare view (and its stylesheet) is not on the first frame's path either.
const CompareView = lazy(() => import("./components/CompareView").then((m) => ({ default: m.CompareView })));

// Layout (docs/ARCHITECTURE.md, "Explorer layout"): the header is one line of navigation (breadcrumb, layer, view modes);
// the main area is the map, the 3-D surface, the library or the Table 1 report, with the toasts over it; the side panel
// has its tabs (inspector, new sweep, hosts) on top. The footer is one line: progress and keys. The hover read-out is a
// tooltip on the map, not a panel.
export function App() {
  const connection = useUi((s) => s.connection);
  const error = useUi((s) => s.connectionError);
  const mode = useUi((s) => s.mode);
  const panel = useUi((s) => s.panel);
  const fill = useUi((s) => s.fill);
  const recording = useUi((s) => s.recording);
  const empty = useUi((s) => Object.keys(s.sweeps).length === 0);
  const inspecting = panel === "inspector";
  const keys = mode === "surface" ? "drag: orbit · right-drag: pan · wheel: zoom · 0: reset the camera"
    : "wheel/+/−: zoom · drag/arrows/WASD: pan · shift-drag: zoom scan · 0: home · [ ]: back/forward · ?: all keys";
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
        {/* The compare view titles its two maps itself; the open map's path would name a third. */}
        {mode !== "compare" && <Breadcrumb />}
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
          {mode === "library" ? <Library /> : mode === "table1" ? <Table1View /> : mode === "compare" ? <Suspense fallback={<div className="muted empty">loading the compare view…</div>}><CompareView /></Suspense>
            : empty && connection === "open" ? <div className="muted empty">No sweeps in this database yet. Run one with `fractal-llm sweep --spec FILE`.</div>
              : mode === "map" ? <MapView /> : <Suspense fallback={<div className="muted empty">loading the 3-D view…</div>}><Surface3D /></Suspense>}
          {/* Toasts over the main area's lower right, never over the side panel's controls; above the zoom dialog's
              backdrop (z-index), so an error from starting a zoom stays in view. */}
          <NoticeStack />
        </section>
        <aside data-testid="side-panel">
          {/* The tabs stay at the top and never move; below them one scrolling column. The editor and the hosts get it
              whole; the inspector tab shows the map's aids (overview, bookmarks, legend) above the clicked cell and the
              analysis below it, so a cell's curves are in view without scrolling past the box-count chart. */}
          <div className="tabs">
            {tab("inspector", "inspector", "tab-inspector")}
            {tab("editor", "new sweep", "tab-editor")}
            {tab("hosts", "hosts", "tab-hosts")}
          </div>
          <div className="side-scroll" data-testid="side-scroll">
            {inspecting && mode === "map" && <details className="section" data-testid="overview-section" open>
              <summary><b>overview</b></summary>
              <Overview />
            </details>}
            {inspecting && mode === "map" && <details className="section" data-testid="bookmarks-section">
              <summary><b>bookmarks</b></summary>
              <Bookmarks />
            </details>}
            {/* The 3-D view draws its own legend over the surface; the library and Table 1 show no map to explain. */}
            {inspecting && mode === "map" && !empty && <details className="section" data-testid="legend-section" open>
              <summary><b>legend</b></summary>
              <Legend />
            </details>}
            <div className="tab-body" data-testid="tab-body">
              {panel === "inspector" ? <Inspector /> : panel === "hosts" ? <HostManager /> : <SweepEditor />}
            </div>
            {/* Hidden rather than unmounted where it does not apply: it follows the focused sweep for the map's overlays. */}
            <div className="analysis-slot" hidden={!(inspecting && (mode === "map" || mode === "surface") && !empty)}>
              <AnalysisPanel />
            </div>
          </div>
        </aside>
      </main>
      <footer>
        <ProgressPanel />
        {/* The keys drive the map and the 3-D view; the library and Table 1 are pages of their own. */}
        {(mode === "map" || mode === "surface") && <span className="muted keys" data-testid="footer-keys" title={keys}>{keys}</span>}
      </footer>
      <ZoomDialog />
      <KeyHelp />
    </div>
  );
}
