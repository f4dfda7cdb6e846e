// The Table 1 view: reproduce an experiment of Sohl-Dickstein (2024)'s Table 1 on a target by either method (the
// project's: the root map and zooms into its boundary, the median local slope over every level; the paper's: concentric
// keyframes 2x apart about a boundary point, porespy's box count and np.gradient slopes), and the report beside the
// paper's numbers: one row per experiment, its reproductions under it with the method, the resolution and the 95%
// interval beside each D, each level's sweep openable on the map. Reproductions run in the server (api.startReproduction); the report is read back from the store, so runs of
// `fractal-llm reproduce` and of earlier sessions are here too.

import { useEffect, useRef, useState } from "react";
import type { InitOffsetForm, Reproduction, ReproductionMethod, TargetInfo } from "../../src-shared/contract";
import { DEFAULT_TABLE1_LEVELS, DEFAULT_TABLE1_POINTS, MIN_TABLE1_POINTS, TABLE1 } from "../../src-shared/table1";
import { targetOption } from "../spec-form";
import { cancelSweep, loadReproductions, openSweep, refreshTargets, startReproduction, useUi } from "../state";
import {
  formatCi, formatDifference, formatDimension, formatWindow, levelDone, levelLabel, methodLabel, runLabel, runningLevel, table1Rows,
} from "../table1";

const LEVEL_CHOICES = [0, 1, 2, 3, 4];
/** Keyframes of the paper's method (launch/reproduce.ts DEFAULT_KEYFRAMES is 4; the paper's deepest zooms ~50). */
const KEYFRAME_CHOICES = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 50];
const DEFAULT_KEYFRAMES = 4;

export function Table1View() {
  const api = useUi((s) => s.api);
  const reproductions = useUi((s) => s.reproductions);
  const targets = useUi((s) => s.targets);
  const [name, setName] = useState((TABLE1.find((e) => e.name === "tanh") ?? TABLE1[0]).name); // the paper's headline map
  const [points, setPoints] = useState(String(DEFAULT_TABLE1_POINTS));
  const [levels, setLevels] = useState(DEFAULT_TABLE1_LEVELS);
  const [target, setTarget] = useState("local");
  const [form, setForm] = useState<InitOffsetForm>("every_step");
  const [method, setMethod] = useState<ReproductionMethod>("project");
  const [keyframes, setKeyframes] = useState(DEFAULT_KEYFRAMES);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  // The store's reproductions and the targets again on every opening: a terminal run or a host test may have added some.
  useEffect(() => {
    if (!api) return;
    void loadReproductions();
    void refreshTargets();
  }, [api]);

  // A run that ended may have made reports of the other method (the project's on a root the paper's method trained):
  // events carry only the run's own, so the list is read again when the number of running reproductions drops.
  const running = Object.values(reproductions ?? {}).filter((r) => r.state === "running").length;
  const wasRunning = useRef(running);
  useEffect(() => {
    if (api && running < wasRunning.current) void loadReproductions();
    wasRunning.current = running;
  }, [api, running]);

  const entry = TABLE1.find((e) => e.name === name)!;
  const offset = "init_offset_form" in entry.model;
  const n = Number(points);
  const pointsError = /^\d+$/.test(points.trim()) && n >= MIN_TABLE1_POINTS ? null : `a whole number ≥ ${MIN_TABLE1_POINTS}`;

  const start = async () => {
    setBusy(true);
    setError(await startReproduction({
      name, points: n, levels, target, ...(offset ? { initOffsetForm: form } : {}), method, ...(method === "paper" ? { keyframes } : {}),
    }));
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
        <label title="project's: zooms into the boundary, median local slope over the levels; paper's: concentric keyframes measured as the notebook does">method{" "}
          <select data-testid="repro-method" value={method} onChange={(e) => setMethod(e.target.value as ReproductionMethod)}>
            <option value="project">project's (zooms, median slope)</option>
            <option value="paper">paper's (keyframes, porespy boxcount)</option>
          </select>
        </label>
        {method === "project"
          ? <label title="zooms into the boundary after the root map, each a quarter of its parent's side">zooms{" "}
            <select data-testid="repro-levels" value={levels} onChange={(e) => setLevels(Number(e.target.value))}>
              {LEVEL_CHOICES.map((l) => <option key={l} value={l}>{l}</option>)}
            </select>
          </label>
          : <label title="concentric windows 2x apart about a boundary point of the root map, the outermost as wide as the root">keyframes{" "}
            <select data-testid="repro-keyframes" value={keyframes} onChange={(e) => setKeyframes(Number(e.target.value))}>
              {KEYFRAME_CHOICES.map((k) => <option key={k} value={k}>{k}</option>)}
            </select>
          </label>}
        <label>on{" "}
          <select data-testid="repro-target" value={target} onChange={(e) => setTarget(e.target.value)}>
            {choices.map((t) => <option key={t.target} value={t.target}>{targetOption(t)}</option>)}
          </select>
        </label>
        <button data-testid="repro-start" disabled={busy || !!pointsError || !api} onClick={() => void start()}>
          {busy ? "starting…" : "reproduce"}</button>
        <span className="muted small">{n > 0 && !pointsError ? cellsLine(method === "paper" ? keyframes + 1 : levels + 1, n) : pointsError}</span>
      </div>
      {error && <div className="error" data-testid="repro-error">{error}</div>}
      <Report list={list} loaded={reproductions !== null} />
      <p className="muted small">
        D of the trainable/diverged boundary, by the method named beside it. Project's: the median local slope of box
        counts (sizes 2 to a quarter of the side) over the root map and its zooms. Paper's: the notebook's estimator
        (porespy boxcount on the edge image, 10 sizes from 10 px to the side, median np.gradient slope) over concentric
        keyframes 2× apart about a boundary point of the root map (which picks the point and is not measured). The 95%
        interval is a bootstrap over the levels or keyframes and their slopes. Frames far below the paper's 4096² leave
        few box sizes and a wide interval. A reproduction is found again from its sweeps; starting it again continues
        it, finished maps come from the store. docs/REPRODUCTION.md has the measured tables.
      </p>
    </div>
  );
}

function cellsLine(maps: number, n: number): string {
  return `${maps * n * n} cells of ${maps} map${maps === 1 ? "" : "s"}`;
}

function Report({ list, loaded }: { list: Reproduction[]; loaded: boolean }) {
  const sweeps = useUi((s) => s.sweeps);
  return (
    <table className="table1-report" data-testid="repro-table">
      <thead>
        <tr><th>experiment</th><th>paper D</th><th>measured D</th><th>95% CI</th><th>method</th><th>resolution</th><th>difference</th><th>run</th><th>state</th></tr>
      </thead>
      <tbody>
        {table1Rows(list).flatMap((row) => {
          const head = (r: Reproduction | null, first: boolean) => (
            <tr key={`${row.name}:${r?.id ?? "none"}`} className={first ? "experiment" : undefined}
              data-testid={r ? "repro-row" : "repro-empty"} data-name={row.name} data-id={r?.id} data-method={r?.method}>
              <td>{first ? row.title : ""}</td>
              <td data-testid="repro-paper">{first ? row.paper.toFixed(2) : ""}</td>
              <td data-testid="repro-dimension">{r ? formatDimension(r.dimension) : "–"}</td>
              <td data-testid="repro-ci" className="small">{r ? formatCi(r.ci) : ""}</td>
              <td data-testid="repro-method-cell" className="small" title={r?.estimator}>{r ? <>{methodLabel(r)}<div className="muted">{r.estimator.replace(/^[^:]*: /, "")}</div></> : ""}</td>
              <td data-testid="repro-resolution" className="small">{r ? r.resolution : ""}</td>
              <td data-testid="repro-difference">{r ? formatDifference(r.difference) : "–"}</td>
              <td>{r ? runLabel(r) : <span className="muted">{loaded ? "not reproduced yet" : "…"}</span>}</td>
              <td>{r && <State r={r} />}</td>
            </tr>
          );
          if (!row.runs.length) return [head(null, true)];
          return row.runs.flatMap((r, i) => [head(r, i === 0), ...r.levels.map((l) => {
            const d = levelDone(l, sweeps[l.sweepId]);
            return (
              <tr key={`${r.id}:${l.level}`} className="level" data-testid="repro-level" data-id={r.id} data-level={l.level} data-kind={l.kind}>
                <td colSpan={2} className="muted">{levelLabel(l)}</td>
                <td data-testid="repro-level-dimension">{l.kind === "root" && r.method === "paper" ? <span className="muted small">picks the centre</span> : formatDimension(l.dimension)}</td>
                <td />
                <td />
                <td className="muted small">{`${l.points}²`}{l.trainableFraction === null ? "" : ` · ${Math.round(100 * l.trainableFraction)}% train`}</td>
                <td className="small" colSpan={2}>{formatWindow(l.window)}</td>
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
