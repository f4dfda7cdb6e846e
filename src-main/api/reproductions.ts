// Table 1 reproductions for the app (the Api's startReproduction / listReproductions): requests checked, and each
// reproduction's report read back from the store (core/reproduce.ts storedReproduction) with the state of the run
// this session has of it, if any; and the runs of this session (Reproductions).

import {
  experimentSpec, findReproductions, MIN_TABLE1_POINTS, reproduceExperiment, type ReproductionRoot, storedReproduction,
} from "../launch/reproduce";
import { prepareSweep } from "../launch/launch";
import { MAX_POINTS } from "../../src-shared/spec";
import type { Store } from "../core/store";
import { TABLE1, TABLE1_NAMES } from "../../src-shared/table1";
import { ApiError, type Reproduction, type ReproductionLevelReport, type ReproductionRequest } from "../../src-shared/contract";
import type { OpenTarget } from "../launch/targets";
import type { AppTargets } from "./app-targets";
import type { ChangeFeed } from "./changes";
import type { Sweeps } from "./sweeps";

/** A run of this session: what it asked for, and how it ended (error null while running or after a clean end). */
export interface ReproductionRun {
  root: ReproductionRoot;
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
  const offset = "init_offset_form" in entry.model;
  if (req.initOffsetForm && !offset) {
    throw new ApiError(`initOffsetForm applies only to the init-offset experiment (${TABLE1.filter((e) => "init_offset_form" in e.model).map((e) => e.name).join(", ")}), not ${req.name}`);
  }
  const form = offset ? req.initOffsetForm ?? (entry.model.init_offset_form as "once" | "every_step") : null;
  const p = await prepareSweep(store, experimentSpec(req.name, req.points, form ?? undefined), target, false);
  return { name: req.name, points: req.points, target, initOffsetForm: form, rootId: p.id };
}

/** One reproduction's report: the store's chain of levels, with the state of this session's run of it. */
export async function reproductionReport(store: Store, root: ReproductionRoot, run?: ReproductionRun): Promise<Reproduction> {
  const entry = TABLE1.find((e) => e.name === root.name)!;
  const stored = await storedReproduction(store, root.name, root.target, { points: root.points, initOffsetForm: root.initOffsetForm ?? undefined });
  const levels: ReproductionLevelReport[] = [];
  for (const l of stored?.result.levels ?? []) {
    const row = store.sweep(l.sweep)!;
    levels.push({
      level: l.level, sweepId: l.sweep, window: l.window, points: l.points, status: row.status, doneCells: row.done_cells,
      cells: row.cells, dimension: l.dimension, trainableFraction: l.trainable_fraction,
    });
  }
  const pending = stored?.pending?.sweep;
  if (pending) {
    levels.push({
      level: stored!.pending!.level, sweepId: pending.id, window: pending.window, points: pending.nx, status: pending.status,
      doneCells: pending.done_cells, cells: pending.cells, dimension: null, trainableFraction: null,
    });
  }
  const levelFailed = pending && (pending.status === "failed" || pending.status === "cancelled")
    ? `level ${stored!.pending!.level} (sweep ${pending.id}) ${pending.status}${pending.error ? ": " + pending.error : ""}` : null;
  const error = run?.error ?? (run?.running ? null : levelFailed) ?? stored?.result.error ?? null;
  const state: Reproduction["state"] = run?.running ? "running" : run?.error || levelFailed ? "failed" : pending ? "incomplete" : "completed";
  const dimension = stored?.result.dimension ?? null;
  return {
    id: root.rootId, name: root.name, title: entry.title, points: root.points, target: root.target, initOffsetForm: root.initOffsetForm,
    state, levelsRequested: run ? run.levels : null, levels, paperDimension: entry.paper, dimension,
    dimensionLeastSquares: stored?.result.dimension_least_squares ?? null,
    difference: dimension === null ? null : dimension - entry.paper, error,
  };
}

/** Every reproduction the store holds, and the runs of this session not recorded yet; Table 1's order, then resolution. */
export async function listReproductions(store: Store, runs: ReadonlyMap<string, ReproductionRun>): Promise<Reproduction[]> {
  const roots = await findReproductions(store);
  const found = new Set(roots.map((r) => r.rootId));
  for (const run of runs.values()) if (!found.has(run.root.rootId)) roots.push(run.root);
  const out = await Promise.all(roots.map((r) => reproductionReport(store, r, runs.get(r.rootId))));
  const order = (name: string) => TABLE1_NAMES.indexOf(name);
  return out.sort((a, b) => order(a.name) - order(b.name) || a.points - b.points || a.target.localeCompare(b.target)
    || String(a.initOffsetForm).localeCompare(String(b.initOffsetForm)));
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
    const what = `Table 1 ${root.name} at ${root.points}x${root.points} on ${root.target}`;
    const before = this.runs.get(root.rootId);
    if (before?.running) throw new ApiError(`${what} is already running; its levels are in the report`);
    const run: ReproductionRun = {
      root, levels: req.levels, running: true, error: null, abort: new AbortController(), current: null, done: Promise.resolve(), reported: Promise.resolve(),
    };
    this.runs.set(root.rootId, run); // before opening: a second start meanwhile is refused
    let t: OpenTarget;
    try {
      t = await this.targets.open(root.target); // a host-key or login problem is this call's error
    } catch (e) {
      if (before) this.runs.set(root.rootId, before); else this.runs.delete(root.rootId);
      throw e;
    }
    const first = this.emitReproduction(run); // queued before any level's report
    run.done = (async () => {
      try {
        const r = await reproduceExperiment(this.store, root.name, t, {
          points: root.points, levels: req.levels, initOffsetForm: root.initOffsetForm ?? undefined, signal: run.abort.signal,
          follow: (id, target, o) => this.sweeps.followLevel(id, target, o, run.abort),
          onStart: (_, level, row, resumed) => {
            run.current = row.id;
            this.feed.notice(row.id, `${what}: level ${level}, sweep ${row.id}${resumed ? " (from the store)" : ""}`);
            void this.emitReproduction(run);
          },
          onNotice: (m) => this.feed.notice(run.current, m),
          onProgress: (p) => { if (run.current) this.feed.emit({ type: "progress", sweepId: run.current, ...p }); },
        });
        run.error = r.error;
        if (r.error) this.feed.notice(run.current, `${what}: ${r.error}`, "error");
        else {
          const d = r.dimension!;
          this.feed.notice(run.current, `${what}: D = ${d.toFixed(2)} over ${r.levels.length} level(s), paper ${r.paper_dimension.toFixed(2)} `
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
      const reproduction = await reproductionReport(this.store, run.root, run);
      this.feed.emit({ type: "reproduction-updated", reproduction });
      return reproduction;
    });
    run.reported = next.catch(() => undefined); // a failed report (store closed) does not stop the later ones
    return next;
  }
}
