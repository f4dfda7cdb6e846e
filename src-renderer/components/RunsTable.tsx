// The library as a runs table: every sweep in its zoom tree, sortable by a column (within siblings, so zooms stay
// under their parent), filtered by a query, with its axes in hyperparameter units, status, target, start, duration
// and cells/s; rename, tag and delete in place (no browser prompt or confirm); two rows ticked open the compare mode.

import { type ReactNode, useState } from "react";
import type { SweepSummary } from "../../src-shared/contract";
import { formatDuration } from "../../src-shared/format";
import { type RunColumn, runRows } from "../runs";
import { openSweep, useUi } from "../state";
import { openCompare, pickForCompare, useCompare } from "../store/compare";
import { formatSig } from "../ticks";
import { formatWhen } from "./SweepControl";

const COLUMNS: { key: RunColumn; label: string; title: string }[] = [
  { key: "name", label: "sweep", title: "name; zooms are indented under the map they zoom into" },
  { key: "x", label: "x axis", title: "the x hyperparameter and its range" },
  { key: "y", label: "y axis", title: "the y hyperparameter and its range" },
  { key: "cells", label: "grid", title: "cells (done / all)" },
  { key: "status", label: "status", title: "created, submitted, running, completed, cancelled or failed" },
  { key: "target", label: "target", title: "where it trains" },
  { key: "started", label: "started", title: "when it was recorded" },
  { key: "duration", label: "duration", title: "from recorded to its last update (to now while it runs)" },
  { key: "rate", label: "cells/s", title: "done cells per second of that duration, start-up included" },
];

/** An axis's range in the hyperparameter's own units (10^u on a log axis). */
function axisRange(a: SweepSummary["xAxis"], lo: number, hi: number): string {
  const v = (u: number) => formatSig(a.scale === "log" ? 10 ** u : u, 3);
  return `${a.param} ${v(lo)}…${v(hi)}`;
}

function Row({ s, depth, seconds, rate, picked, onPick }: {
  s: SweepSummary; depth: number; seconds: number | null; rate: number | null; picked: boolean; onPick: (on: boolean) => void;
}) {
  const api = useUi((st) => st.api);
  const [edit, setEdit] = useState<"name" | "tags" | "delete" | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>) => {
    try { await fn(); setEdit(null); setError(null); } catch (e) { setError((e as Error).message); }
  };
  const save = () => edit === "name" ? act(() => api!.renameSweep(s.id, text.trim() || s.name))
    : act(() => api!.setTags(s.id, text.split(",").map((t) => t.trim()).filter(Boolean)));
  const start = (what: "name" | "tags") => { setEdit(what); setText(what === "name" ? s.name : s.tags.join(", ")); };
  return (
    <tr data-testid="run-row" data-id={s.id} data-depth={depth}>
      <td><input type="checkbox" data-testid="run-pick" checked={picked} onChange={(e) => onPick(e.target.checked)}
        title="pick two sweeps to compare their maps" aria-label={`pick ${s.name} to compare`} /></td>
      <td className="run-name" style={{ paddingLeft: 4 + 14 * depth }}>
        {edit === "name" || edit === "tags"
          ? <input data-testid="run-edit" autoFocus value={text} onChange={(e) => setText(e.target.value)}
            placeholder={edit === "tags" ? "tags, comma separated" : "name"}
            onKeyDown={(e) => { if (e.key === "Enter") void save(); if (e.key === "Escape") setEdit(null); }} />
          : <button className="link" onClick={() => void openSweep(s.id)} title={s.id}>{depth > 0 ? "↳ " : ""}{s.name}</button>}
        {s.tags.map((t) => <span key={t} className="tag">{t}</span>)}
        {error && <div className="error">{error}</div>}
      </td>
      <td>{axisRange(s.xAxis, s.window.x0, s.window.x1)}</td>
      <td>{axisRange(s.yAxis, s.window.y0, s.window.y1)}</td>
      <td>{s.nx}×{s.ny}{s.doneCells < s.cells ? ` (${s.doneCells} done)` : ""}</td>
      <td><span className={`status status-${s.status}`}>{s.status}</span></td>
      <td>{s.target}</td>
      <td><time dateTime={s.createdAt}>{formatWhen(s.createdAt)}</time></td>
      <td data-testid="run-duration">{seconds === null ? "—" : formatDuration(seconds)}</td>
      <td data-testid="run-rate">{rate === null ? "—" : formatSig(rate, 3)}</td>
      <td className="run-actions">
        {edit === "delete" ? <>
          <span>delete it and its zooms{s.target === "local" ? "" : `, here and on ${s.target}`}?</span>
          <button data-testid="run-delete-confirm" className="danger" onClick={() => void act(() => api!.deleteSweep(s.id))}>delete</button>
          <button onClick={() => setEdit(null)}>keep</button>
        </> : edit ? <>
          <button data-testid="run-edit-save" onClick={() => void save()}>save</button>
          <button onClick={() => setEdit(null)}>cancel</button>
        </> : <>
          <button data-testid="run-rename" onClick={() => start("name")}>rename</button>
          <button data-testid="run-tag" onClick={() => start("tags")}>tag</button>
          <button data-testid="run-delete" onClick={() => setEdit("delete")}>delete</button>
        </>}
      </td>
    </tr>
  );
}

export function RunsTable({ toggle }: { toggle: ReactNode }) {
  const sweeps = useUi((s) => s.sweeps);
  const [sort, setSort] = useState<RunColumn>("started");
  const [desc, setDesc] = useState(true);
  const [q, setQ] = useState("");
  // Ticked for the compare mode (store/compare.ts, so they are still ticked back from it); a deleted sweep drops out.
  const picked = useCompare((st) => st.picked);
  const pickedNow = picked.filter((id) => sweeps[id]);
  const rows = runRows(sweeps, sort, desc, q);
  const by = (c: RunColumn) => { if (c === sort) setDesc(!desc); else { setSort(c); setDesc(c === "started" || c === "rate"); } };
  return (
    <div className="runs" data-testid="runs-table">
      <div className="library-top">
        <input placeholder="filter: name, id, tag, target, status, hyperparameter" value={q} onChange={(e) => setQ(e.target.value)}
          data-testid="runs-filter" />
        <span className="muted">{rows.filter((r) => r.matched).length} of {Object.keys(sweeps).length} sweeps</span>
        <button data-testid="runs-compare" disabled={pickedNow.length !== 2}
          title={pickedNow.length === 2 ? "the two maps side by side with their difference" : "tick exactly two sweeps to compare them"}
          onClick={() => void openCompare(pickedNow[0], pickedNow[1])}>compare{pickedNow.length ? ` (${pickedNow.length} of 2)` : ""}</button>
        {toggle}
      </div>
      <table className="runs-table">
        <thead><tr>
          <th title="pick two to compare" />
          {COLUMNS.map((c) => (
            <th key={c.key} title={c.title} data-testid={`runs-sort-${c.key}`} aria-sort={sort === c.key ? (desc ? "descending" : "ascending") : "none"}
              onClick={() => by(c.key)}>{c.label}{sort === c.key ? (desc ? " ▾" : " ▴") : ""}</th>
          ))}
          <th />
        </tr></thead>
        <tbody>{rows.map((r) => <Row key={r.s.id} {...r} picked={pickedNow.includes(r.s.id)} onPick={(on) => pickForCompare(r.s.id, on)} />)}</tbody>
      </table>
    </div>
  );
}
