// Sweep editor: start from a preset, edit the spec as JSON, see it validated (errors name the field) and its
// cost estimated as you type, then start it on the local agent.

import { useEffect, useState } from "react";
import type { SweepPreview } from "../../src-main/api/contract";
import { formatCost } from "../../src-main/core/cost";
import { PRESETS } from "../presets";
import { openSweep, useUi } from "../state";

export function SweepEditor() {
  const api = useUi((s) => s.api);
  const [text, setText] = useState(() => JSON.stringify(PRESETS[0].spec, null, 2));
  const [preview, setPreview] = useState<SweepPreview | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!api) return;
    let live = true;
    const t = setTimeout(() => {
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (e) {
        setPreview(null);
        setError(`not valid JSON: ${(e as Error).message}`);
        return;
      }
      api.previewSweep(raw, "local").then(
        (p) => { if (live) { setPreview(p); setError(null); } },
        (e: Error) => { if (live) { setPreview(null); setError(e.message); } },
      );
    }, 250);
    return () => { live = false; clearTimeout(t); };
  }, [api, text]);

  const start = async () => {
    setBusy(true);
    try {
      const s = await api!.startSweep(JSON.parse(text), "local");
      useUi.setState((st) => ({ sweeps: { ...st.sweeps, [s.id]: s } }));
      await openSweep(s.id);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="editor" data-testid="editor">
      <label className="field">preset{" "}
        <select data-testid="editor-preset" defaultValue="" onChange={(e) => { const p = PRESETS[Number(e.target.value)]; if (p) setText(JSON.stringify(p.spec, null, 2)); }}>
          <option value="" disabled>choose…</option>
          {PRESETS.map((p, i) => <option key={p.label} value={i}>{p.label}</option>)}
        </select></label>
      <textarea data-testid="editor-spec" spellCheck={false} value={text} onChange={(e) => setText(e.target.value)} rows={18} />
      {preview && <div data-testid="editor-cost">{formatCost(preview.cost)}</div>}
      {preview?.warnings.map((w) => <div key={w} className="warning">{w}</div>)}
      {error && <div className="error" data-testid="editor-error">{error}</div>}
      <div className="buttons">
        <span className="muted">target: local</span>
        <button data-testid="editor-start" disabled={!preview || busy} onClick={() => void start()}>start sweep</button>
      </div>
    </div>
  );
}
