// The sensitivity layer from the app (the Api's startSensitivity / getSensitivity): a completed sweep's companion
// (launch/sensitivity.ts: the same spec with one change that should not matter) run in the background on the sweep's
// target over the launch path, followed as the service's own follower of its sweep, and the comparison read back
// from the store at any time (analysis/sensitivity.ts), so it fills in while the companion runs and survives a restart.

import { sensitivity } from "../analysis/sensitivity";
import type { Store, SweepRow } from "../core/store";
import { sweepMap } from "../core/sweep-maps";
import { companionOf, describePerturbation, PERTURBATIONS, runToEndOf } from "../launch/sensitivity";
import type { OpenTarget } from "../launch/targets";
import { ApiError, FLIP, NOT_COMPUTED, type Perturbation, SAME, type SensitivityReport } from "../../src-shared/contract";
import type { AppTargets } from "./app-targets";
import type { ChangeFeed } from "./changes";
import { sweepRow } from "./sweep-rows";
import type { Sweeps } from "./sweeps";

function checkPerturbation(p: unknown): Perturbation {
  if (!PERTURBATIONS.includes(p as Perturbation)) throw new ApiError(`perturbation must be ${PERTURBATIONS.join(" or ")}, got ${JSON.stringify(p)}`);
  return p as Perturbation;
}

/** The sweep against its companion as far as both maps are done. */
export async function sensitivityReport(store: Store, row: SweepRow, p: Perturbation, running: boolean, error: string | null): Promise<SensitivityReport> {
  const { id: companionId } = await companionOf(store, row, p);
  const companion = store.sweep(companionId);
  const flips = new Uint8Array(row.cells).fill(NOT_COMPUTED);
  const base = {
    sweepId: row.id, perturbation: p, change: describePerturbation(row.spec, p), companionId, layer: "trainable" as const, flips, error,
    doneCells: companion?.done_cells ?? 0, cells: row.cells,
    state: running ? "running" as const : companion?.status ?? "none" as const,
  };
  if (!companion) {
    return { ...base, boundaryCells: 0, boundaryFlips: 0, boundaryFlipFraction: null, interiorCells: 0, interiorFlips: 0, interiorFlipFraction: null };
  }
  const map = sweepMap(store, row.id), other = sweepMap(store, companion.id);
  const s = sensitivity(map, other, "trainable");
  // A cell is compared only where both maps have it; the rest stays NOT_COMPUTED (drawn as such, not as "no flip").
  for (let i = 0; i < row.cells; i++) {
    if ((!map.done || map.done[i]) && (!other.done || other.done[i])) flips[i] = s.flips[i] ? FLIP : SAME;
  }
  return {
    ...base, boundaryCells: s.boundaryCells, boundaryFlips: s.boundaryFlips, boundaryFlipFraction: s.boundaryFlipFraction,
    interiorCells: s.interiorCells, interiorFlips: s.interiorFlips, interiorFlipFraction: s.interiorFlipFraction,
  };
}

interface SensitivityRunState { running: boolean; error: string | null; abort: AbortController; done: Promise<void> }

/** The companions this session runs, by sweep and perturbation. */
export class Sensitivities {
  private readonly runs = new Map<string, SensitivityRunState>();

  constructor(private readonly store: Store, private readonly targets: AppTargets, private readonly sweeps: Sweeps,
    private readonly feed: ChangeFeed) {}

  get busy(): boolean {
    return [...this.runs.values()].some((r) => r.running);
  }

  /** Stop following (the companion keeps training on its target; starting again continues it). */
  close(): void {
    for (const r of this.runs.values()) r.abort.abort();
  }

  async get(id: string, perturbation: Perturbation): Promise<SensitivityReport> {
    const p = checkPerturbation(perturbation);
    const run = this.runs.get(`${id}\u0000${p}`);
    return sensitivityReport(this.store, sweepRow(this.store, id), p, run?.running ?? false, run?.error ?? null);
  }

  async start(id: string, perturbation: Perturbation): Promise<SensitivityReport> {
    const p = checkPerturbation(perturbation);
    const row = sweepRow(this.store, id);
    if (row.status !== "completed") {
      throw new ApiError(`sweep ${id} is ${row.status}: its companion is compared once it has completed; let it finish (or resume it) first`);
    }
    const key = `${id}\u0000${p}`;
    if (this.runs.get(key)?.running) throw new ApiError(`the ${p} companion of sweep ${id} is already running; its flips fill in as it trains`);
    const run: SensitivityRunState = { running: true, error: null, abort: new AbortController(), done: Promise.resolve() };
    this.runs.set(key, run);
    let t: OpenTarget;
    try {
      t = await this.targets.open(row.target); // a host-key or login problem is this call's error
    } catch (e) {
      this.runs.delete(key);
      throw e;
    }
    const what = `sensitivity of ${row.name} (${describePerturbation(row.spec, p)})`;
    let companion: string | null = null;
    run.done = (async () => {
      try {
        companion = await runToEndOf(this.store, row, p, t, {
          signal: run.abort.signal,
          follow: (cid, target, o) => this.sweeps.followLevel(cid, target, o, run.abort),
          onStart: (_, __, r, resumed) => {
            companion = r.id;
            this.feed.notice(id, `${what}: companion sweep ${r.id}${resumed ? " (from the store)" : ""}`);
            this.feed.poll();
          },
          onNotice: (m) => this.feed.notice(id, m),
          onProgress: (pr) => { if (companion) this.feed.emit({ type: "progress", sweepId: companion, ...pr }); },
        });
        run.running = false; // before the notice, so a report asked for on it reads the end, not "running"
        const r = await sensitivityReport(this.store, this.store.sweep(id)!, p, false, null);
        const pct = (f: number | null) => (f === null ? "–" : `${(100 * f).toFixed(1)}%`);
        this.feed.notice(id, `${what}: ${r.boundaryFlips} of ${r.boundaryCells} boundary cells flip (${pct(r.boundaryFlipFraction)}), `
          + `${r.interiorFlips} of ${r.interiorCells} interior cells (${pct(r.interiorFlipFraction)})`, "done");
      } catch (e) {
        if (!this.feed.closed) {
          run.error = run.abort.signal.aborted ? `its companion sweep ${companion ?? ""} was deleted or the app is closing` : (e as Error).message;
          run.running = false;
          this.feed.notice(id, `${what} stopped: ${run.error}`, "error");
        }
      } finally {
        run.running = false;
        await t.close();
        if (!this.feed.closed) this.feed.poll();
      }
    })();
    return sensitivityReport(this.store, row, p, true, null);
  }
}
