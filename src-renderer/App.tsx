import { Breadcrumb, Inspector, LayerPicker, Legend, Library, ProgressPanel, Readout, ZoomDialog } from "./components/Panels";
import { AnalysisPanel } from "./components/AnalysisPanel";
import { HostManager } from "./components/HostManager";
import { MapView } from "./components/MapView";
import { Surface3D } from "./components/Surface3D";
import { SweepEditor } from "./components/SweepEditor";
import { NoticeStack } from "./components/SweepControl";
import { home, useUi } from "./state";

export function App() {
  const connection = useUi((s) => s.connection);
  const error = useUi((s) => s.connectionError);
  const mode = useUi((s) => s.mode);
  const panel = useUi((s) => s.panel);
  const empty = useUi((s) => Object.keys(s.sweeps).length === 0);
  if (connection === "closed") {
    return <div className="fatal" data-testid="connection-error">Not connected: {error}</div>;
  }
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
        </div>
        <button onClick={() => home()} title="0">home</button>
      </header>
      <main>
        <section className="view">
          {empty && connection === "open" ? <div className="muted empty">No sweeps in this database yet. Run one with `fractal-llm sweep --spec FILE`.</div>
            : mode === "map" ? <MapView /> : <Surface3D />}
        </section>
        <aside>
          <Legend />
          <Readout />
          <AnalysisPanel />
          <div className="tabs">
            <button className={panel === "inspector" ? "on" : ""} onClick={() => useUi.setState({ panel: "inspector" })}>inspector</button>
            <button data-testid="tab-library" className={panel === "library" ? "on" : ""} onClick={() => useUi.setState({ panel: "library" })}>library</button>
            <button data-testid="tab-editor" className={panel === "editor" ? "on" : ""} onClick={() => useUi.setState({ panel: "editor" })}>new sweep</button>
            <button data-testid="tab-hosts" className={panel === "hosts" ? "on" : ""} onClick={() => useUi.setState({ panel: "hosts" })}>hosts</button>
          </div>
          {panel === "inspector" ? <Inspector /> : panel === "library" ? <Library /> : panel === "hosts" ? <HostManager /> : <SweepEditor />}
        </aside>
      </main>
      <footer>
        <ProgressPanel />
        <span className="muted keys">wheel/+/−: zoom · drag/arrows/WASD: pan · shift-drag: zoom scan · 0: home · [ ]: back/forward</span>
      </footer>
      <ZoomDialog />
      {/* After the dialog, so toasts (an error from starting the zoom, a sweep that finished) stay visible over it. */}
      <NoticeStack />
    </div>
  );
}
