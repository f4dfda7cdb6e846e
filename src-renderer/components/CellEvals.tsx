// The inspector's SFT parts: the cell's evaluations beside the base model's (forgetting as a difference), and
// samples: the cell re-trained where its sweep ran, answering prompts with the base and the fine-tuned model.

import { useState } from "react";
import type { CellDetail, CellSamples } from "../../src-shared/contract";
import { HELDOUT_PROMPTS, reproducedText } from "../../src-shared/samples";
import { evalRows } from "../evals";
import { generateSamples, useUi } from "../state";
import { formatSig } from "../ticks";

export function EvalTable({ d }: { d: CellDetail }) {
  const rows = evalRows(d.outcome, d.base);
  if (!rows.length) return null;
  const signed = (v: number) => (v > 0 ? "+" : "") + formatSig(v, 3);
  return (
    <table className="evals" data-testid="evals">
      <thead><tr><th /><th>base</th><th>this cell</th><th>Δ</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.metric} data-metric={r.metric}>
            <td>{r.metric}</td>
            <td data-testid="eval-base">{formatSig(r.base, 4)}</td>
            <td data-testid="eval-cell">{formatSig(r.cell, 4)}</td>
            <td data-testid="eval-delta" className={r.verdict ?? ""} title={r.verdict === "forgot" ? "worse than the base model" : undefined}>
              {r.delta === null ? "" : signed(r.delta)}
            </td>
          </tr>
        ))}
      </tbody>
      {!d.base && <caption className="muted">no base-model numbers recorded for this sweep</caption>}
    </table>
  );
}

/** Per prompt: the prompt (and the held-out reply) across, then the base and the fine-tuned answer side by side. */
function SampleTable({ s }: { s: CellSamples }) {
  return (
    <div className="sample-set" data-testid="sample-set">
      <div className="muted">{s.request.prompts ? `${s.request.prompts.length} prompt(s)` : "held-out prompts"}, ≤ {s.request.maxNewTokens} tokens · {reproducedText(s)}</div>
      <table className="samples">
        <thead><tr><th>base</th><th>fine-tuned</th></tr></thead>
        {s.samples.map((x, i) => (
          <tbody key={i} data-testid="sample">
            <tr><td colSpan={2} className="sample-prompt" data-testid="sample-prompt">{x.prompt}</td></tr>
            {x.reference !== null && <tr><td colSpan={2} className="muted" data-testid="sample-reference">reference: {x.reference}</td></tr>}
            <tr><td data-testid="sample-base">{x.base}</td><td data-testid="sample-tuned">{x.tuned}</td></tr>
          </tbody>
        ))}
      </table>
    </div>
  );
}

export function SamplesPanel() {
  const st = useUi((s) => s.samples);
  const [text, setText] = useState("");
  const [tokens, setTokens] = useState(64);
  if (!st) return null;
  const prompts = text.split("\n").map((p) => p.trim()).filter(Boolean);
  return (
    <div className="samples-panel" data-testid="samples-panel">
      <h3>samples: base vs fine-tuned</h3>
      <textarea data-testid="samples-prompts" rows={3} value={text} onChange={(e) => setText(e.target.value)}
        placeholder={`one prompt per line; empty: the first ${HELDOUT_PROMPTS} held-out conversations`} />
      <div className="buttons">
        <label className="field">max tokens{" "}
          <input data-testid="samples-tokens" type="number" min={1} max={1024} value={tokens} onChange={(e) => setTokens(Number(e.target.value))} /></label>
        <button data-testid="samples-generate" disabled={st.busy || !(tokens >= 1)} onClick={() => void generateSamples(prompts, tokens)}>
          {st.busy ? "re-training…" : "generate"}
        </button>
      </div>
      {st.busy && <div className="muted">re-training this cell on its sweep's target, then answering greedily</div>}
      {st.error && <div className="error" data-testid="samples-error">{st.error}</div>}
      {st.list.map((s) => <SampleTable key={JSON.stringify(s.request)} s={s} />)}
    </div>
  );
}
