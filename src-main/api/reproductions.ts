// Table 1 reproductions for the app (the Api's startReproduction / listReproductions): requests checked, and each
// reproduction's report read back from the store (core/reproduce.ts storedReproduction) with the state of the run
// this session has of it, if any; and the runs of this session (Reproductions).

import {
  DEFAULT_KEYFRAMES, experimentSpec, findReproductions, MIN_TABLE1_POINTS, type ReproduceOptions, reproduceExperiment, reproducePaper,
  type ReproductionRoot,
  storedPaperReproduction, storedReproduction,
} from "../launch/reproduce";
import { logSpacedSizes, median } from "../analysis/dimension";
import { porespySizes } from "../analysis/paper-dimension";
import { sequenceInterval } from "../analysis/uncertainty";
import { sweepMap } from "../core/sweep-maps";
import { prepareSweep } from "../launch/launch";
import { MAX_POINTS } from "../../src-shared/spec";
import type { Store } from "../core/store";
import { TABLE1, TABLE1_NAMES } from "../../src-shared/table1";
import {
  ApiError, type Reproduction, type ReproductionLevelReport, type ReproductionMethod, type ReproductionRequest,
} from "../../src-shared/contract";
import type { OpenTarget } from "../launch/targets";
import type { AppTargets } from "./app-targets";
import type { ChangeFeed } from "./changes";
import type { Sweeps } from "./sweeps";

/** A run of this session: what it asked for, and how it ended (error null while running or after a clean end). */
export interface ReproductionRun {
  root: ReproductionRoot;
  method: ReproductionMethod;
  /** zooms (project) or keyframes (paper) asked for */
  levels: number;
  running: boolean;
  error: string | null;
  abort: AbortController;
  /** the sweep of the level it runs now (notices name it) */
  current: string | null;
  done: Promise<void>;
  /** the last report sent to subscribers (they are sent one after another) */
  reported: Promise<unknown>;
}

/** The request's experiment and its root (the sweep id its spec hashes to on `target`), or an ApiError naming the problem. */
export async function reproductionRoot(store: Store, req: ReproductionRequest, target: string): Promise<ReproductionRoot> {
  const entry = TABLE1.find((e) => e.name === req.name);
  if (!entry) throw new ApiError(`unknown Table 1 experiment ${JSON.stringify(req.name)}; known: ${TABLE1_NAMES.join(", ")}`);
  if (!Number.isInteger(req.points) || req.points < MIN_TABLE1_POINTS || req.points > MAX_POINTS) {
    throw new ApiError(`points must be a whole number from ${MIN_TABLE1_POINTS} (box counting needs several box sizes a level) to ${MAX_POINTS}, got ${req.points}`);
  }
  if (!Number.isInteger(req.levels) || req.levels < 0) throw new ApiError(`levels must be a whole number of zooms >= 0, got ${req.levels}`);
  if (req.method !== undefined && req.method !== "project" && req.method !== "paper") {
    throw new ApiError(`method must be "project" (zooms into the boundary) or "paper" (concentric keyframes, the notebook's estimator), got ${JSON.stringify(req.method)}`);
  }
  if (req.keyframes !== undefined && (!Number.isInteger(req.keyframes) || req.keyframes < 1 || req.keyframes > 64)) {
    throw new ApiError(`keyframes must be a whole number from 1 to 64 (the paper's deepest zooms have about 50), got ${req.keyframes}`);
  }
  if (req.keyframes !== undefined && req.method !== "paper") throw new ApiError(`keyframes apply to method "paper" only; the project's method takes levels`);
  const offset = "init_offset_form" in entry.model;
  if (req.initOffsetForm && !offset) {
    throw new ApiError(`initOffsetForm applies only to the init-offset experiment (${TABLE1.filter((e) => "init_offset_form" in e.model).map((e) => e.name).join(", ")}), not ${req.name}`);
  }
  const form = offset ? req.initOffsetForm ?? (entry.model.init_offset_form as "once" | "every_step") : null;
  const p = await prepareSweep(store, experimentSpec(req.name, req.points, form ?? undefined), target, false);
  return { name: req.name, points: req.points, target, initOffsetForm: form, rootId: p.id };
}

/** The id of a reproduction: its root's sweep id for the project's method, with ":paper" for the paper's. */
export function reproductionId(root: ReproductionRoot, method: ReproductionMethod): string {
  return method === "paper" ? `${root.rootId}:paper` : root.rootId;
}

/** "64² × 3 keyframes (2× apart)" or "64² × 3 levels (root + 2 zooms, each ¼ of its parent)": the maps a D is over. */
export function resolutionText(method: ReproductionMethod, points: number, maps: number): string {
  if (method === "paper") return `${points}² × ${maps} keyframe${maps === 1 ? "" : "s"} (2× apart)`;
  const zooms = Math.max(0, maps - 1);
  return `${points}² × ${maps} level${maps === 1 ? "" : "s"} (root + ${zooms} zoom${zooms === 1 ? "" : "s"}, each ¼ of its parent)`;
}

/** The estimator in words, with the box sizes it uses at `points` a side. */
export function estimatorText(method: ReproductionMethod, points: number): string {
  if (method === "paper") {
    const s = porespySizes(points - 1, points - 1); // on the edge image, one pixel smaller than the map
    return `paper's method: porespy boxcount on the edge image, ${s.length} sizes ${s[0]}–${s[s.length - 1]} px (10 px to the side), median np.gradient slope`;
  }
  const s = logSpacedSizes({ width: points, height: points, data: new Uint8Array(0) });
  return `project's method: median local slope of box counts, sizes ${s[0]}–${s[s.length - 1]} cells, levels pooled`;
}

/** One reproduction's report by either method, read back from the store, with the state of this session's run of it. */
export async function reproductionReport(store: Store, root: ReproductionRoot, method: ReproductionMethod, run?: ReproductionRun): Promise<Reproduction> {
  return method === "paper" ? paperReport(store, root, run) : projectReport(store, root, run);
}

function levelRow(store: Store, l: { level: number; sweep: string; window: Reproduction["levels"][number]["window"]; points: number;
  dimension: number | null; trainable_fraction: number | null }, kind: ReproductionLevelReport["kind"]): ReproductionLevelReport {
  const row = store.sweep(l.sweep)!;
  return {
    level: l.level, sweepId: l.sweep, window: l.window, points: l.points, status: row.status, doneCells: row.done_cells,
    cells: row.cells, dimension: l.dimension, trainableFraction: l.trainable_fraction, kind,
  };
}

/** The state and error of a reproduction from its run (this session) and the store's pending level. */
function stateOf(run: ReproductionRun | undefined, pending: { level: number; sweep: { id: string; status: string; error: string | null } } | null,
  storedError: string | null): Pick<Reproduction, "state" | "error"> {
  const p = pending?.sweep;
  const levelFailed = p && (p.status === "failed" || p.status === "cancelled")
    ? `level ${pending!.level} (sweep ${p.id}) ${p.status}${p.error ? ": " + p.error : ""}` : null;
  const error = run?.error ?? (run?.running ? null : levelFailed) ?? storedError ?? null;
  const state: Reproduction["state"] = run?.running ? "running" : run?.error || levelFailed ? "failed" : pending ? "incomplete" : "completed";
  return { state, error };
}

/** The project's method: the store's chain of levels (root, zooms), the median slope over them with its interval. */
async function projectReport(store: Store, root: ReproductionRoot, run?: ReproductionRun): Promise<Reproduction> {
  const entry = TABLE1.find((e) => e.name === root.name)!;
  const stored = await storedReproduction(store, root.name, root.target, { points: root.points, initOffsetForm: root.initOffsetForm ?? undefined });
  const levels = (stored?.result.levels ?? []).map((l) => levelRow(store, l, l.level === 0 ? "root" : "zoom"));
  const pending = stored?.pending ?? null;
  if (pending) {
    const p = pending.sweep;
    levels.push({
      level: pending.level, sweepId: p.id, window: p.window, points: p.nx, status: p.status, doneCells: p.done_cells, cells: p.cells,
      dimension: null, trainableFraction: null, kind: pending.level === 0 ? "root" : "zoom",
    });
  }
  const dimension = stored?.result.dimension ?? null;
  const complete = stored?.result.levels ?? [];
  let ci: [number, number] | null = null;
  if (dimension !== null && complete.length) {
    try { ci = sequenceInterval(complete.map((l) => sweepMap(store, l.sweep))); } catch { /* no slopes: no interval, as no dimension */ }
  }
  return {
    id: reproductionId(root, "project"), rootId: root.rootId, method: "project", estimator: estimatorText("project", root.points),
    resolution: resolutionText("project", root.points, complete.length), ci,
    name: root.name, title: entry.title, points: root.points, target: root.target, initOffsetForm: root.initOffsetForm,
    ...stateOf(run, pending, stored?.result.error ?? null), levelsRequested: run ? run.levels : null, levels, paperDimension: entry.paper,
    dimension, dimensionLeastSquares: stored?.result.dimension_least_squares ?? null,
    difference: dimension === null ? null : dimension - entry.paper,
  };
}

/** The paper's method: the root (it picks the centre), the keyframes about it, the notebook's estimator and its interval. */
async function paperReport(store: Store, root: ReproductionRoot, run?: ReproductionRun): Promise<Reproduction> {
  const entry = TABLE1.find((e) => e.name === root.name)!;
  const stored = await storedPaperReproduction(store, root.name, root.target, { points: root.points, initOffsetForm: root.initOffsetForm ?? undefined });
  const levels: ReproductionLevelReport[] = [];
  const pending = stored?.pending ?? null;
  if (stored && !(pending?.level === 0)) {
    const r = stored.root;
    let trainable = 0;
    const map = sweepMap(store, r.id);
    for (const v of map.trainable) trainable += v ? 1 : 0;
    levels.push(levelRow(store, { level: 0, sweep: r.id, window: r.window, points: r.nx, dimension: null, trainable_fraction: trainable / r.cells }, "root"));
  }
  for (const k of stored?.result.keyframes ?? []) {
    const slopes = k.boxes.slopes.filter(Number.isFinite);
    levels.push(levelRow(store, { level: k.k + 1, sweep: k.sweep, window: k.window, points: k.points,
      dimension: slopes.length ? median(slopes) : null, trainable_fraction: k.trainable_fraction }, "keyframe"));
  }
  if (pending) {
    const p = pending.sweep;
    levels.push({
      level: pending.level, sweepId: p.id, window: pending.window, points: p.nx, status: p.status, doneCells: p.done_cells, cells: p.cells,
      dimension: null, trainableFraction: null, kind: pending.level === 0 ? "root" : "keyframe",
    });
  }
  const dimension = stored?.result.dimension ?? null;
  return {
    id: reproductionId(root, "paper"), rootId: root.rootId, method: "paper", estimator: estimatorText("paper", root.points),
    resolution: resolutionText("paper", root.points, stored?.result.keyframes.length ?? 0), ci: stored?.result.ci ?? null,
    name: root.name, title: entry.title, points: root.points, target: root.target, initOffsetForm: root.initOffsetForm,
    ...stateOf(run, pending, stored?.result.error ?? null), levelsRequested: run ? run.levels : null, levels, paperDimension: entry.paper,
    dimension, dimensionLeastSquares: null, difference: dimension === null ? null : dimension - entry.paper,
  };
}

/**
 * Every reproduction the store holds, and the runs of this session not recorded yet; Table 1's order, then resolution.
 * A root is reported by the project's method (its levels are at least the root), and by the paper's too where a
 * keyframe of it is recorded or this session runs it.
 */
export async function listReproductions(store: Store, runs: ReadonlyMap<string, ReproductionRun>): Promise<Reproduction[]> {
  const roots = await findReproductions(store);
  const found = new Set(roots.map((r) => r.rootId));
  for (const run of runs.values()) if (!found.has(run.root.rootId)) { roots.push(run.root); found.add(run.root.rootId); }
  const out: Reproduction[] = [];
  for (const r of roots) {
    const project = runs.get(reproductionId(r, "project"));
    const paperRun = runs.get(reproductionId(r, "paper"));
    // The project's method has the root as its first level: reported unless only the paper's method runs on it now.
    if (project || !paperRun?.running) out.push(await reproductionReport(store, r, "project", project));
    const paper = await reproductionReport(store, r, "paper", paperRun);
    if (paperRun || paper.levels.some((l) => l.kind === "keyframe")) out.push(paper);
  }
  const order = (name: string) => TABLE1_NAMES.indexOf(name);
  return out.sort((a, b) => order(a.name) - order(b.name) || a.points - b.points || a.target.localeCompare(b.target)
    || String(a.initOffsetForm).localeCompare(String(b.initOffsetForm)) || a.method.localeCompare(b.method));
}

/**
 * The reproductions this session runs: reproduceExperiment in the background, each level followed as the service's
 * own follower of its sweep (Sweeps.followLevel), and reproduction-updated events sent in the order of the run.
 */
export class Reproductions {
  /** Table 1 reproductions this session started, by root sweep id: running, or how they ended. */
  private readonly runs = new Map<string, ReproductionRun>();

  constructor(private readonly store: Store, private readonly targets: AppTargets, private readonly sweeps: Sweeps,
    private readonly feed: ChangeFeed) {}

  /** Stop every run (its level keeps training on its target; starting it again continues). */
  close(): void {
    for (const r of this.runs.values()) r.abort.abort();
  }

  get busy(): boolean {
    return [...this.runs.values()].some((r) => r.running);
  }

  async start(req: ReproductionRequest): Promise<Reproduction> {
    const root = await reproductionRoot(this.store, req, this.targets.checkTarget(req.target));
    const method = req.method ?? "project";
    const id = reproductionId(root, method);
    const what = `Table 1 ${root.name} at ${root.points}x${root.points} on ${root.target}${method === "paper" ? " (paper's method)" : ""}`;
    const before = this.runs.get(id);
    if (before?.running) throw new ApiError(`${what} is already running; its levels are in the report`);
    // Both methods start with the same root map: one run at a time per root, so its sweep is followed once.
    const other = this.runs.get(reproductionId(root, method === "paper" ? "project" : "paper"));
    if (other?.running) throw new ApiError(`${what}: the other method's run of the same root map is running; start this one when it ends`);
    const run: ReproductionRun = {
      root, method, levels: method === "paper" ? req.keyframes ?? DEFAULT_KEYFRAMES : req.levels, running: true, error: null,
      abort: new AbortController(), current: null, done: Promise.resolve(), reported: Promise.resolve(),
    };
    this.runs.set(id, run); // before opening: a second start meanwhile is refused
    let t: OpenTarget;
    try {
      t = await this.targets.open(root.target); // a host-key or login problem is this call's error
    } catch (e) {
      if (before) this.runs.set(id, before); else this.runs.delete(id);
      throw e;
    }
    const first = this.emitReproduction(run); // queued before any level's report
    run.done = (async () => {
      try {
        const options: ReproduceOptions = {
          points: root.points, initOffsetForm: root.initOffsetForm ?? undefined, signal: run.abort.signal,
          follow: (id, target, o) => this.sweeps.followLevel(id, target, o, run.abort),
          onStart: (_, level, row, resumed) => {
            run.current = row.id;
            this.feed.notice(row.id, `${what}: level ${level}, sweep ${row.id}${resumed ? " (from the store)" : ""}`);
            void this.emitReproduction(run);
          },
          onNotice: (m) => this.feed.notice(run.current, m),
          onProgress: (p) => { if (run.current) this.feed.emit({ type: "progress", sweepId: run.current, ...p }); },
        };
        const r = method === "paper"
          ? await reproducePaper(this.store, root.name, t, { ...options, keyframes: run.levels })
          : await reproduceExperiment(this.store, root.name, t, { ...options, levels: req.levels });
        run.error = r.error;
        if (r.error) this.feed.notice(run.current, `${what}: ${r.error}`, "error");
        else {
          const d = r.dimension!;
          const over = "keyframes" in r ? `${r.keyframes.length} keyframe(s), 95% CI ${r.ci![0].toFixed(2)}–${r.ci![1].toFixed(2)}` : `${r.levels.length} level(s)`;
          this.feed.notice(run.current, `${what}: D = ${d.toFixed(2)} over ${over}, paper ${r.paper_dimension.toFixed(2)} `
            + `(${d >= r.paper_dimension ? "+" : ""}${(d - r.paper_dimension).toFixed(2)})`, "done");
        }
      } catch (e) {
        // Aborted: the app is closing (the level keeps training on its target; starting it again continues), or
        // deleteSweep removed a level's sweep.
        if (!this.feed.closed) {
          run.error = run.abort.signal.aborted ? `its sweep ${run.current} was deleted` : (e as Error).message;
          this.feed.notice(run.current, `${what} stopped: ${run.error}`, "error");
        }
      } finally {
        run.running = false;
        await t.close();
        if (!this.feed.closed) { this.feed.poll(); await this.emitReproduction(run); }
      }
    })();
    return first;
  }

  async list(): Promise<Reproduction[]> {
    return listReproductions(this.store, this.runs);
  }

  /** The run's report now, also sent to subscribers; one at a time per run, so they arrive in the order of the run. */
  private emitReproduction(run: ReproductionRun): Promise<Reproduction> {
    const next = run.reported.then(async () => {
      const reproduction = await reproductionReport(this.store, run.root, run.method, run);
      this.feed.emit({ type: "reproduction-updated", reproduction });
      return reproduction;
    });
    run.reported = next.catch(() => undefined); // a failed report (store closed) does not stop the later ones
    return next;
  }
}
