// What re-runs one cell: an SFT cell's samples on its sweep's own target (core/samples.ts, kept in the store so a repeat
// is answered offline), and an MLP cell's curve recomputed on this computer (recompute.ts) by one `rerun` process kept
// for the session. Their errors (a bad request, an agent failure) reach the UI as ApiErrors.

import type { Store } from "../core/store";
import { type CellSamples, cellSamples, SamplesError, type SamplesRequest, storedSamples } from "../core/samples";
import { LocalTransport } from "../core/local-transport";
import { CellRerunner, RerunError } from "../core/rerun";
import { ApiError, type RecomputedCurve } from "../../src-shared/contract";
import type { AppTargets } from "./app-targets";
import { recomputeCurve } from "./recompute";
import { sweepRow } from "./sweep-rows";

export class CellReruns {
  /**
   * The local agent's `rerun` process for curves of MLP cells their sweep did not record (started when first asked). It
   * runs on the Python configured or last probed for "local", so a click does not wait for (or block on) a new probe.
   */
  private readonly rerunner: CellRerunner;

  constructor(private readonly store: Store, private readonly targets: AppTargets, opts: { python?: string; localAgentHome?: string }) {
    this.rerunner = new CellRerunner(async () => {
      const python = opts.python ?? this.store.hostProbe("local")?.python;
      return python ? new LocalTransport({ python, home: opts.localAgentHome }) : (await this.targets.open("local")).connect(0);
    });
  }

  close(): void {
    this.rerunner.close();
  }

  async listSamples(id: string, cell: number): Promise<CellSamples[]> {
    sweepRow(this.store, id);
    return inputCall(() => storedSamples(this.store, id, cell));
  }

  async generateSamples(id: string, cell: number, request: SamplesRequest): Promise<CellSamples> {
    const s = sweepRow(this.store, id);
    // The cell re-trains where its sweep ran: the checkpoint and data are there. A host key must already be
    // trusted (the host manager asks about new ones), so this never accepts one.
    const connect = async () => (await this.targets.open(s.target)).connect(0);
    return inputCall(() => cellSamples(this.store, id, cell, request, connect));
  }

  async recomputeCurve(id: string, cell: number): Promise<RecomputedCurve> {
    sweepRow(this.store, id);
    // Always on this computer's CPU, whatever the sweep's target: the cell is milliseconds of work, and a laptop's
    // own sweeps ran there (a GPU node's may differ in the last bits, which the check then reports).
    return inputCall(() => recomputeCurve(this.store, id, cell, this.rerunner, "this computer (CPU)"));
  }
}

/** A samples or recompute call with its error (bad request, agent failure) carried to the UI as an ApiError. */
async function inputCall<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof SamplesError || e instanceof RerunError) throw new ApiError(e.message);
    throw e;
  }
}
