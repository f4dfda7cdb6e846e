// Sweep control: the footer's progress items (figures and cancel), the library row's status, resume and delete
// (with "forget here only" when the node cannot be reached), and the notice toasts.

import { useState } from "react";
import type { SweepSummary } from "../../src-shared/contract";
import { cancelSweep, dismissNotice, openSweep, resumeSweep, useUi } from "../state";
import { ACTIVE, progressFigures, RESUMABLE } from "../sweep-control";

export function ProgressPanel() {
  const sweeps = useUi((s) => s.sweeps);
  const connection = useUi((s) => s.connection);
  const active = Object.values(sweeps).filter((s) => ACTIVE.includes(s.status)).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  // The footer is one line: the first FOOTER_ITEMS sweeps with their figures and cancel, the rest summed up in one
  // item whose title names them (the library lists them all).
  const shown = active.slice(0, FOOTER_ITEMS), rest = active.slice(FOOTER_ITEMS);
  return (
    <div className="progress" data-testid="progress">
      <span className={`conn conn-${connection}`}>{connection === "open" ? "connected" : connection}</span>
      {shown.map((s) => <ProgressItem key={s.id} s={s} />)}
      {rest.length > 0 && <button className="link" data-testid="progress-more" onClick={() => useUi.setState({ mode: "library" })}
        title={rest.map((s) => `${s.name} on ${s.target}: ${s.doneCells}/${s.cells}`).join("\n")}>+{rest.length} more running</button>}
    </div>
  );
}

/** How many running sweeps the footer shows in full. */
const FOOTER_ITEMS = 2;

function ProgressItem({ s }: { s: SweepSummary }) {
  const p = useUi((st) => st.progress[s.id]);
  // Set once the cancel was asked for: the status changes only when the agent has stopped, which takes a moment.
  const [cancelling, setCancelling] = useState(false);
  const f = progressFigures(s, p);
  const cancel = async () => {
    setCancelling(true);
    // A failure is shown as a notice by cancelSweep; then the button is offered again.
    if (!await cancelSweep(s.id)) setCancelling(false);
  };
  return (
    <span className="progress-item" data-testid="progress-item" data-id={s.id} data-status={s.status} title={`${s.name} on ${s.target}`}>
      <b className="progress-name">{s.name}</b> <span className="muted">on {s.target}</span>{" "}
      <span className="progress-bar" aria-hidden><i style={{ width: `${f.percent}%` }} /></span>{" "}
      <span data-testid="progress-cells">{f.done}/{f.total}</span> <span data-testid="progress-percent">({f.percent}%)</span>
      {s.status !== "running" ? <span className="muted"> {s.status === "created" ? "starting" : "submitted"}</span>
        : f.rate && <> · {f.rate} · ETA <span data-testid="progress-eta">{f.eta}</span></>}
      {f.tasks && <span className="muted" data-testid="progress-tasks"> · {f.tasks}</span>}{" "}
      <button data-testid="sweep-cancel" disabled={cancelling} title="stop this sweep; finished cells are kept and it can be resumed"
        onClick={() => void cancel()}>{cancelling ? "cancelling…" : "cancel"}</button>
    </span>
  );
}

export function LibraryRow({ s }: { s: SweepSummary }) {
  const api = useUi((st) => st.api);
  const [busy, setBusy] = useState(false);
  // Why the last delete failed (typically: the node cannot be reached); offers forgetting the sweep here only.
  const [deleteError, setDeleteError] = useState<string | null>(null);
  // Rename, tag and the delete question in place, as in the runs table: no browser prompt() or confirm().
  const [edit, setEdit] = useState<"name" | "tags" | "delete" | null>(null);
  const [text, setText] = useState("");
  const [editError, setEditError] = useState<string | null>(null);
  const start = (what: "name" | "tags") => { setEdit(what); setText(what === "name" ? s.name : s.tags.join(", ")); setEditError(null); };
  const save = async () => {
    try {
      if (edit === "name") await api!.renameSweep(s.id, text.trim() || s.name);
      else await api!.setTags(s.id, text.split(",").map((t) => t.trim()).filter(Boolean));
      setEdit(null);
    } catch (e) {
      setEditError((e as Error).message);
    }
  };
  const remove = async (localOnly: boolean) => {
    setBusy(true);
    try {
      // No options argument unless asked: the WebSocket transport would carry `undefined` as null.
      await (localOnly ? api!.deleteSweep(s.id, { localOnly: true }) : api!.deleteSweep(s.id));
      setDeleteError(null); // the row goes with the "sweep-deleted" event
    } catch (e) {
      setDeleteError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const resume = async () => {
    setBusy(true);
    await resumeSweep(s.id); // a failure shows as a notice
    setBusy(false);
  };
  return (
    <div className="library-row" data-testid="library-row" data-id={s.id} data-status={s.status}>
      <button className="link" onClick={() => void openSweep(s.id)}>{s.name}</button>
      <span className="muted"> {s.nx}×{s.ny} </span>
      <span className={`status status-${s.status}`} data-testid="sweep-status">{s.status}</span>
      <span className="muted"> {s.doneCells}/{s.cells} on <span data-testid="sweep-target">{s.target}</span>{s.parentId ? " zoom" : ""}</span>
      {/* Two runs of one spec share name and size: the id and the start time tell them apart. */}
      <div className="muted small sweep-when">
        <span data-testid="sweep-id">{s.id}</span> · started <time data-testid="sweep-created" dateTime={s.createdAt} title={s.createdAt}>{formatWhen(s.createdAt)}</time>
      </div>
      {s.status === "failed" && <div className="error" data-testid="sweep-error">{s.error ?? "failed (no reason recorded)"}</div>}
      <div className="tags">{s.tags.map((t) => <span key={t} className="tag">{t}</span>)}</div>
      {edit === "name" || edit === "tags" ? <div className="row-actions">
        <input data-testid="sweep-edit" autoFocus value={text} onChange={(e) => setText(e.target.value)}
          placeholder={edit === "tags" ? "tags, comma separated" : "name"} aria-label={edit === "tags" ? "tags" : "name"}
          onKeyDown={(e) => { if (e.key === "Enter") void save(); if (e.key === "Escape") setEdit(null); }} />
        <button data-testid="sweep-edit-save" onClick={() => void save()}>save</button>
        <button onClick={() => setEdit(null)}>cancel</button>
        {editError && <div className="error">{editError}</div>}
      </div> : edit === "delete" ? <div className="row-actions" data-testid="sweep-delete-question">
        <span>delete {s.name} and its zooms{s.target === "local" ? "" : `, here and on ${s.target}`}?</span>
        <button data-testid="sweep-delete-confirm" className="danger" disabled={busy} onClick={() => { setEdit(null); void remove(false); }}>delete</button>
        <button onClick={() => setEdit(null)}>keep</button>
      </div> : <div className="row-actions">
        <button data-testid="sweep-rename" onClick={() => start("name")}>rename</button>
        <button data-testid="sweep-tag" onClick={() => start("tags")}>tag</button>
        {RESUMABLE.includes(s.status) && <button data-testid="sweep-resume" disabled={busy} title="run the cells not finished yet"
          onClick={() => void resume()}>resume</button>}
        <button data-testid="sweep-delete" disabled={busy} onClick={() => setEdit("delete")}>delete</button>
      </div>}
      {deleteError && <div className="delete-error" data-testid="sweep-delete-error">
        <div className="error">could not delete on {s.target}: {deleteError}</div>
        <button data-testid="sweep-forget" disabled={busy} title={`remove it from this app only; its journal and uploads stay on ${s.target}`}
          onClick={() => void remove(true)}>forget here only</button>
      </div>}
    </div>
  );
}

/** A stored timestamp as the reader's local date and time to the second ("2026-12-07 09:14:03"); as stored if unparsable. */
export function formatWhen(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())} ${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}`;
}

/** Toasts, newest on top; a notice about a known sweep opens it when clicked. */
export function NoticeStack() {
  const notices = useUi((s) => s.notices);
  const sweeps = useUi((s) => s.sweeps);
  if (!notices.length) return null;
  return (
    <div className="notices" data-testid="notices" aria-live="polite">
      {notices.map((n) => (
        <div key={n.id} className={`notice notice-${n.level}`} data-testid="notice" data-level={n.level} role={n.level === "error" ? "alert" : "status"}>
          {n.sweepId && sweeps[n.sweepId]
            ? <button className="link notice-message" title="open this sweep" onClick={() => void openSweep(n.sweepId!)}>{n.message}</button>
            : <span className="notice-message">{n.message}</span>}
          <button className="notice-dismiss" data-testid="notice-dismiss" aria-label="dismiss" title="dismiss" onClick={() => dismissNotice(n.id)}>×</button>
        </div>
      ))}
    </div>
  );
}
