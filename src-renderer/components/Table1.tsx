// The Table 1 view: reproduce an experiment of Sohl-Dickstein (2024)'s Table 1 (the root map, zooms into its
// boundary chosen automatically, the paper's median-slope estimator over every level) on a target, and the report
// beside the paper's numbers: one row per experiment, its reproductions under it, each level's sweep openable on the
// map. Reproductions run in the server (api.startReproduction); the report is read back from the store, so runs of
// `fractal-llm reproduce` and of earlier sessions are here too.

import { useEffect, useState } from "react";
import type { InitOffsetForm, Reproduction, TargetInfo } from "../../src-shared/contract";
import { DEFAULT_TABLE1_LEVELS, DEFAULT_TABLE1_POINTS, MIN_TABLE1_POINTS, TABLE1 } from "../../src-shared/table1";
import { targetOption } from "../spec-form";
import { cancelSweep, loadReproductions, openSweep, refreshTargets, startReproduction, useUi } from "../state";
import {
  formatDifference, formatDimension, formatWindow, levelDone, runLabel, runningLevel, table1Rows,
} from "../table1";

const LEVEL_CHOICES = [0, 1, 2, 3, 4];

export function Table1View() {
  const api = useUi((s) => s.api);
  const reproductions = useUi((s) => s.reproductions);
  const targets = useUi((s) => s.targets);
  const [name, setName] = useState((TABLE1.find((e) => e.name === "tanh") ?? TABLE1[0]).name); // the paper's headline map
  const [points, setPoints] = useState(String(DEFAULT_TABLE1_POINTS));
  const [levels, setLevels] = useState(DEFAULT_TABLE1_LEVELS);
  const [target, setTarget] = useState("local");
  const [form, setForm] = useState<InitOffsetForm>("every_step");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // The store's reproductions and the targets again on every opening: a terminal run or a host test may have added some.
  useEffect(() => {
    if (!api) return;
    void loadReproductions();
    void refreshTargets();
  }, [api]);

  const entry = TABLE1.find((e) => e.name === name)!;
  const offset = "init_offset_form" in entry.model;
  const n = Number(points);
  const pointsError = /^\d+$/.test(points.trim()) && n >= MIN_TABLE1_POINTS ? null : `a whole number ≥ ${MIN_TABLE1_POINTS}`;

  const start = async () => {
    setBusy(true);
    setError(await startReproduction({ name, points: n, levels, target, ...(offset ? { initOffsetForm: form } : {}) }));
    setBusy(false);
  };

  const list = Object.values(reproductions ?? {});
  const choices: TargetInfo[] = targets?.length ? targets : [{ target: "local", kind: "local", description: "this computer", gpus: [], device: "cpu", count: 1, zoomPoints: 24, probedAt: null }];
  return (
    <div className="table1" data-testid="table1">
      <div className="table1-form">
        <label>experiment{" "}
          <select data-testid="repro-experiment" value={name} onChange={(e) => setName(e.target.value)}>
            {TABLE1.map((e) => <option key={e.name} value={e.name}>{e.title} (paper D = {e.paper.toFixed(2)})</option>)}
          </select>
        </label>
        {offset && (
          <label title="the notebook adds the offset to W0 before every training step; DESIGN.md's spec once at initialisation">offset added{" "}
            <select data-testid="repro-form" value={form} onChange={(e) => setForm(e.target.value as InitOffsetForm)}>
              <option value="every_step">before every step (notebook)</option>
              <option value="once">once at initialisation</option>
            </select>
          </label>
        )}
        <label title="cells a side of every level">points{" "}
          <input data-testid="repro-points" className={pointsError ? "small bad" : "small"} value={points} onChange={(e) => setPoints(e.target.value)} />
        </label>
        <label title="zooms into the boundary after the root map, each a quarter of its parent's side">zooms{" "}
          <select data-testid="repro-levels" value={levels} onChange={(e) => setLevels(Number(e.target.value))}>
            {LEVEL_CHOICES.map((l) => <option key={l} value={l}>{l}</option>)}
          </select>
        </label>
        <label>on{" "}
          <select data-testid="repro-target" value={target} onChange={(e) => setTarget(e.target.value)}>
            {choices.map((t) => <option key={t.target} value={t.target}>{targetOption(t)}</option>)}
          </select>
        </label>
        <button data-testid="repro-start" disabled={busy || !!pointsError || !api} onClick={() => void start()}>
          {busy ? "starting…" : "reproduce"}</button>
        <span className="muted small">{n > 0 && !pointsError ? `${(levels + 1) * n * n} cells of ${levels + 1} map${levels ? "s" : ""}` : pointsError}</span>
      </div>
      {error && <div className="error" data-testid="repro-error">{error}</div>}
      <Report list={list} loaded={reproductions !== null} />
      <p className="muted small">
        D: the paper's estimator, the median local slope of the trainable/diverged boundary's box counts over every level
        of the zoom sequence. A reproduction is found again from its sweeps (same experiment, points, form and target);
        starting it again continues it, finished maps come from the store. docs/REPRODUCTION.md has the measured table.
      </p>
    </div>
  );
}

function Report({ list, loaded }: { list: Reproduction[]; loaded: boolean }) {
  const sweeps = useUi((s) => s.sweeps);
  return (
    <table className="table1-report" data-testid="repro-table">
      <thead>
        <tr><th>experiment</th><th>paper D</th><th>measured D</th><th>difference</th><th>run</th><th>state</th></tr>
      </thead>
      <tbody>
        {table1Rows(list).flatMap((row) => {
          const head = (r: Reproduction | null, first: boolean) => (
            <tr key={`${row.name}:${r?.id ?? "none"}`} className={first ? "experiment" : undefined}
              data-testid={r ? "repro-row" : "repro-empty"} data-name={row.name} data-id={r?.id}>
              <td>{first ? row.title : ""}</td>
              <td data-testid="repro-paper">{first ? row.paper.toFixed(2) : ""}</td>
              <td data-testid="repro-dimension">{r ? formatDimension(r.dimension) : "–"}</td>
              <td data-testid="repro-difference">{r ? formatDifference(r.difference) : "–"}</td>
              <td>{r ? runLabel(r) : <span className="muted">{loaded ? "not reproduced yet" : "…"}</span>}</td>
              <td>{r && <State r={r} />}</td>
            </tr>
          );
          if (!row.runs.length) return [head(null, true)];
          return row.runs.flatMap((r, i) => [head(r, i === 0), ...r.levels.map((l) => {
            const d = levelDone(l, sweeps[l.sweepId]);
            return (
              <tr key={`${r.id}:${l.level}`} className="level" data-testid="repro-level" data-id={r.id} data-level={l.level}>
                <td colSpan={2} className="muted">{l.level === 0 ? "root map" : `zoom ${l.level}`}</td>
                <td data-testid="repro-level-dimension">{formatDimension(l.dimension)}</td>
                <td className="muted small">{l.trainableFraction === null ? "" : `${Math.round(100 * l.trainableFraction)}% train`}</td>
                <td className="small">{formatWindow(l.window)}</td>
                <td>
                  <button className="link" data-testid="repro-open" disabled={!sweeps[l.sweepId]} title={l.sweepId}
                    onClick={() => void openSweep(l.sweepId)}>open</button>{" "}
                  <span className={`status status-${d.status}`}>{d.status === "completed" ? `${d.cells} cells` : `${d.done}/${d.cells}`}</span>
                </td>
              </tr>
            );
          })]);
        })}
      </tbody>
    </table>
  );
}

function State({ r }: { r: Reproduction }) {
  const sweeps = useUi((s) => s.sweeps);
  const running = runningLevel(r, sweeps);
  return (
    <span data-testid="repro-state" data-state={r.state}>
      <span className={`status status-${r.state === "incomplete" ? "cancelled" : r.state}`}>{r.state}</span>
      {running && <> <button className="small" data-testid="repro-stop" title="cancel the level that trains now (finished cells are kept)"
        onClick={() => void cancelSweep(running)}>stop</button></>}
      {r.error && <div className="error small" data-testid="repro-row-error">{r.error}</div>}
    </span>
  );
}
