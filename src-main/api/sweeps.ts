// Sweeps from the app: the library (list, get, rename, tags), launching a sweep or a zoom on any target over the core
// launch path (launch/launch.ts), following each in the background until it ends (progress events, reconnect with
// backoff, a notice saying how it ended), and cancel / resume / delete on the sweep's own target.

import { fmtWindow, snapToParentCells } from "../../src-shared/grid";
import {
  agentRequest, FillInError, fillInSpec, type FollowOptions, followSweep, orphanedUploads, prepareSweep, type PreparedSweep, recordSweep,
  ZoomError, zoomChildSpec,
} from "../launch/launch";
import { LocalDataError } from "../core/local-data";
import { canonicalJson, type Spec, SpecError, validate } from "../../src-shared/spec";
import { type Store, type SweepRow, TERMINAL } from "../core/store";
import { FatalAgentError, GaveUpError, type RunResult } from "../core/sweep-runner";
import { text } from "../core/agent-client";
import type { OpenTarget } from "../launch/targets";
import {
  ApiError, type SweepDetail, type SweepPreview, type SweepSummary, type ZoomPreview, type ZoomRequest,
} from "../../src-shared/contract";
import type { AppTargets } from "./app-targets";
import type { ChangeFeed } from "./changes";
import { sweepRow, sweepSummary } from "./sweep-rows";

/** A sweep this process follows: how to stop following it, and the target it is followed on. */
interface Following { abort: AbortController; target: OpenTarget | null; done: Promise<void> }

export class Sweeps {
  private readonly running = new Map<string, Following>();
  /**
   * Launches in flight, by what they would run (canonical spec and target): a second identical request made while
   * the first is still opening the target joins it instead of recording a second sweep (a double click, two tabs).
   */
  private readonly launching = new Map<string, Promise<SweepSummary>>();

  constructor(private readonly store: Store, private readonly targets: AppTargets, private readonly feed: ChangeFeed,
    private readonly maxFailures: number) {}

  /** Stop following (the agents keep training). */
  close(): void {
    for (const f of this.running.values()) f.abort.abort();
  }

  /** Whether a sweep is still followed here. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  private row(id: string): SweepRow {
    return sweepRow(this.store, id);
  }

  private summary(s: SweepRow): SweepSummary {
    return sweepSummary(this.store, s);
  }

  private poll(): void {
    this.feed.poll();
  }

  private notice(sweepId: string | null, message: string, level: "info" | "done" | "error" = "info"): void {
    this.feed.notice(sweepId, message, level);
  }

  /**
   * Follow again every unfinished sweep in the store that this process does not follow yet (the app's start-up:
   * closing the laptop loses nothing, the agents kept training). Each connects in the background; one that
   * cannot be reached is a notice, and its sweep stays as it was.
   */
  reattach(): string[] {
    const ids = this.store.sweeps().filter((s) => !TERMINAL.includes(s.status) && !this.running.has(s.id)).map((s) => s.id);
    for (const id of ids) this.follow(id, null, false);
    return ids;
  }

  async listSweeps(): Promise<SweepSummary[]> {
    return this.store.sweeps().map((s) => this.summary(s));
  }

  async getSweep(id: string): Promise<SweepDetail> {
    const s = this.row(id);
    return { ...this.summary(s), spec: s.spec, env: s.env };
  }

  /** The zoom's child spec prepared for its target (nothing uploaded or recorded yet), with cost and warnings. */
  private async zoomChild(req: ZoomRequest): Promise<{ preview: ZoomPreview; prepared: PreparedSweep }> {
    const parent = this.row(req.parentId);
    if (!(Number.isInteger(req.points) && req.points >= 2)) {
      throw new ApiError(`points must be an integer ≥ 2, got ${JSON.stringify(req.points)}`);
    }
    if (req.steps !== null && !(Number.isInteger(req.steps) && req.steps >= 1)) {
      throw new ApiError(`steps must be a positive integer (or null for the parent's), got ${JSON.stringify(req.steps)}`);
    }
    const target = this.targets.checkTarget(req.target);
    const w = req.window, pw = parent.window;
    if (!(w && w.x0 < w.x1 && w.y0 < w.y1)) throw new ApiError(`window must have x0 < x1 and y0 < y1, got ${JSON.stringify(w)}`);
    if (!(w.x0 < pw.x1 && w.x1 > pw.x0 && w.y0 < pw.y1 && w.y1 > pw.y0)) {
      throw new ApiError(`the box ${fmtWindow(w)} does not overlap sweep ${parent.id}'s window ${fmtWindow(pw)} (axis units)`);
    }
    // A box reaching past the parent is clipped to it; then snapped outward to whole parent cells.
    const window = snapToParentCells(parent.spec, {
      x0: Math.max(w.x0, pw.x0), x1: Math.min(w.x1, pw.x1), y0: Math.max(w.y0, pw.y0), y1: Math.min(w.y1, pw.y1),
    });
    let raw: Spec;
    try {
      raw = zoomChildSpec(parent, window, req.points, target);
    } catch (e) {
      if (e instanceof ZoomError) throw new ApiError(e.message);
      throw e;
    }
    if (req.name) raw.name = req.name;
    if (req.steps !== null) raw.train.steps = req.steps;
    const prepared = await this.prepare(this.validSpec(raw), target);
    const preview = { spec: prepared.spec, window, cost: this.targets.estimate(prepared.spec, target), warnings: prepared.warnings };
    return { preview, prepared };
  }

  async previewZoom(req: ZoomRequest): Promise<ZoomPreview> {
    return (await this.zoomChild(req)).preview;
  }

  private validSpec(raw: unknown): Spec {
    try {
      return validate(raw);
    } catch (e) {
      if (e instanceof SpecError) throw new ApiError(`spec field ${e.field}: ${e.detail}`);
      throw e;
    }
  }

  /** The launch path's preparation (launch/launch.ts) with its file errors as API errors. Always a fresh id. */
  private async prepare(spec: Spec, target: string): Promise<PreparedSweep> {
    try {
      return await prepareSweep(this.store, spec, target, true);
    } catch (e) {
      if (e instanceof LocalDataError) throw new ApiError(e.message);
      throw e;
    }
  }

  async previewSweep(raw: unknown, target: string): Promise<SweepPreview> {
    const t = this.targets.checkTarget(target);
    const spec = this.validSpec(raw);
    if (spec.parent) throw new ApiError("spec field parent: a zoom is started from its parent's map (shift-drag a box), not here");
    const p = await this.prepare(spec, t);
    return { spec: p.spec, cost: this.targets.estimate(p.spec, t), warnings: p.warnings };
  }

  async startSweep(raw: unknown, target: string): Promise<SweepSummary> {
    const t = this.targets.checkTarget(target);
    const spec = this.validSpec(raw);
    if (spec.parent) throw new ApiError("spec field parent: a zoom is started from its parent's map (shift-drag a box), not here");
    return this.launchOnce(spec, t, async () => this.prepare(spec, t));
  }

  async startZoom(req: ZoomRequest): Promise<SweepSummary> {
    const { prepared } = await this.zoomChild(req);
    return this.launchOnce(prepared.spec, prepared.target, async () => prepared);
  }

  /**
   * Fill in boundary sweep `id` (launch.ts fillInSpec): the grid sweep of its spec on its target, under the spec's own
   * id, so a second fill-in finds the first (finished: shown; unfinished: followed) instead of training it again.
   */
  async fillInSweep(id: string): Promise<SweepSummary> {
    const s = this.row(id);
    let spec: Spec;
    try {
      spec = fillInSpec(s);
    } catch (e) {
      if (e instanceof FillInError) throw new ApiError(e.message);
      throw e;
    }
    return this.launchOnce(spec, s.target, async () => prepareSweep(this.store, spec, s.target, false));
  }

  /**
   * Launch a sweep unless the same one is already on its way: a request equal to one in flight gets that one's
   * answer, and a spec already recorded and unfinished on the same target gets that sweep (followed again if
   * nothing here follows it). The app gives every launch a fresh id, so without this two clicks train the same map
   * twice, and a map is a function of its hyperparameters alone: the second copy could only ever repeat the first.
   */
  private launchOnce(spec: Spec, target: string, prepare: () => Promise<PreparedSweep>): Promise<SweepSummary> {
    const key = `${target}\n${canonicalJson(spec)}`;
    const inFlight = this.launching.get(key);
    if (inFlight) return inFlight;
    const launched = (async () => {
      const p = await prepare();
      const twin = this.unfinishedTwin(p);
      if (!twin) return this.launch(p);
      if (!this.running.has(twin.id)) this.follow(twin.id, null, false);
      this.notice(twin.id, `sweep "${twin.name}" (${twin.id}) with this spec is already ${twin.status} on ${target}: showing it instead of starting a copy`);
      return this.summary(twin);
    })().finally(() => this.launching.delete(key));
    this.launching.set(key, launched);
    return launched;
  }

  /** An unfinished sweep recorded with exactly this spec on this target, if any. */
  private unfinishedTwin(p: PreparedSweep): SweepRow | undefined {
    const want = canonicalJson(p.spec);
    return this.store.sweeps().find((s) => s.target === p.target && !TERMINAL.includes(s.status) && canonicalJson(s.spec) === want);
  }

  /**
   * Open the target (host key, login, agent install, probe: a problem is the caller's error and nothing is
   * recorded), upload the sweep's laptop files, record it, and follow it in the background.
   */
  private async launch(p: PreparedSweep): Promise<SweepSummary> {
    const t = await this.targets.open(p.target);
    let row: SweepRow;
    try {
      row = await recordSweep(this.store, p, t, (r) => this.notice(p.id, `${r.status === "uploaded" ? "uploaded" : "already on the node:"} ${r.path}`));
    } catch (e) {
      await t.close();
      throw new ApiError(`cannot upload the sweep's data to ${p.target}: ${(e as Error).message}`);
    }
    this.follow(row.id, t, false);
    this.poll();
    return this.summary(row);
  }

  /**
   * Follow a recorded sweep in the background until it ends (a notice says how), this service closes, or its
   * target stays unreachable (a notice; the sweep keeps running there). `t`: an open target, else opened here.
   */
  follow(id: string, t: OpenTarget | null, resume: boolean): void {
    if (this.running.has(id)) return;
    const abort = new AbortController();
    const f: Following = { abort, target: t, done: Promise.resolve() };
    this.running.set(id, f);
    const name = () => this.store.sweep(id)?.name ?? id;
    f.done = (async () => {
      const target = this.store.sweep(id)!.target;
      try {
        f.target ??= await this.targets.openWithRetry(target, abort.signal);
        if (!f.target) return; // closed meanwhile
        const r = await followSweep(this.store, id, f.target, {
          signal: abort.signal, resume, flushMs: 100, maxFailures: this.maxFailures,
          onNotice: (m) => this.notice(id, m),
          onProgress: (p) => { this.feed.emit({ type: "progress", sweepId: id, ...p }); this.poll(); },
        });
        if (r.status === "completed") this.notice(id, `sweep "${name()}" completed on ${target} (${r.done}/${r.total} cells)`, "done");
        else if (r.status === "failed") this.notice(id, `sweep "${name()}" failed on ${target}: ${r.error ?? "no reason given"}`, "error");
        else if (r.status === "cancelled") this.notice(id, `sweep "${name()}" cancelled on ${target} (${r.done}/${r.total} cells kept)`);
      } catch (e) {
        if (e instanceof GaveUpError || !(e instanceof FatalAgentError)) {
          // The node may be fine and the sweep still training: nothing here says it failed.
          this.notice(id, `stopped following sweep "${name()}" on ${target}: ${(e as Error).message}. `
            + "It keeps running there; resume it here to follow it again.", "error");
        } else {
          this.store.setStatus(id, "failed", e.message);
          this.notice(id, `sweep "${name()}" failed on ${target}: ${e.message}`, "error");
        }
      } finally {
        await f.target?.close();
        this.poll();
        this.running.delete(id); // last: idle() resolves once nothing of this follower touches the store
      }
    })().catch((e: unknown) => {
      // What the handlers above do can fail too (recording "failed" in a database another process has locked, a
      // target that will not close): said, never an unhandled rejection, which would end the process.
      this.running.delete(id);
      this.notice(id, `following sweep "${name()}" ended with an error: ${(e as Error).message}`, "error");
    });
  }

  /** The target a request about sweep `id` goes to: the open one of its follower, else a new one (closed after). */
  private async withTarget<T>(s: SweepRow, f: (t: OpenTarget) => Promise<T>): Promise<T> {
    const following = this.running.get(s.id)?.target;
    const t = following ?? await this.targets.open(s.target);
    try {
      return await f(t);
    } finally {
      if (!following) await t.close();
    }
  }

  async cancelSweep(id: string): Promise<SweepSummary> {
    const s = this.row(id);
    if (TERMINAL.includes(s.status)) throw new ApiError(`sweep ${id} is already ${s.status}`);
    const r = await this.withTarget(s, async (t) => agentRequest(await t.connect(0), "cancel", id));
    if (r.ok === false) {
      // Recorded here but never submitted there: nothing runs, so it is cancelled as it stands.
      if (/^no sweep /.test(text(r.error))) this.store.setStatus(id, "cancelled", null);
      else throw new ApiError(`${s.target} refused to cancel sweep ${id}: ${text(r.error)}`);
    }
    this.poll();
    return this.summary(this.row(id));
  }

  async resumeSweep(id: string): Promise<SweepSummary> {
    const s = this.row(id);
    if (s.status === "completed") throw new ApiError(`sweep ${id} is completed; nothing to resume`);
    if (!this.running.has(id)) {
      // Open here so a host-key or login problem is this call's error, not a later notice.
      this.follow(id, await this.targets.open(s.target), true);
    }
    this.poll();
    return this.summary(this.row(id));
  }

  async renameSweep(id: string, name: string): Promise<SweepSummary> {
    this.row(id);
    if (typeof name !== "string" || !name.trim()) throw new ApiError("name must be a non-empty string");
    this.store.renameSweep(id, name.trim());
    this.poll();
    return this.summary(this.row(id));
  }

  async setTags(id: string, tags: string[]): Promise<SweepSummary> {
    this.row(id);
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || !t.trim())) {
      throw new ApiError("tags must be a list of non-empty strings");
    }
    this.store.setTags(id, tags.map((t) => t.trim()));
    this.poll();
    return this.summary(this.row(id));
  }

  async deleteSweep(id: string, options?: { localOnly: boolean }): Promise<void> {
    this.row(id);
    // Children first: a zoom's parent_id references its parent.
    const order: SweepRow[] = [];
    const visit = (sid: string) => {
      for (const c of this.store.sweeps().filter((s) => s.parent_id === sid)) visit(c.id);
      order.push(this.row(sid));
    };
    visit(id);
    if (!options?.localOnly) {
      const byTarget = new Map<string, SweepRow[]>();
      for (const s of order) byTarget.set(s.target, [...(byTarget.get(s.target) ?? []), s]);
      for (const [target, sweeps] of byTarget) {
        try {
          await this.deleteOnTarget(target, sweeps);
        } catch (e) {
          throw new ApiError(`cannot delete sweep ${id} on ${target}: ${(e as Error).message}. Nothing was deleted here; `
            + "try again when the host is reachable, or forget the sweep here only");
        }
      }
    }
    for (const s of order) {
      const f = this.running.get(s.id);
      if (f) { f.abort.abort(); await f.done; }
    }
    this.store.deleteSweeps(order.map((s) => s.id));
    this.poll();
  }

  /** Cancel what still runs, then delete the journals on the target and the uploads no other sweep reads. */
  private async deleteOnTarget(target: string, sweeps: SweepRow[]): Promise<void> {
    const t = await this.targets.open(target);
    try {
      for (const s of sweeps) {
        for (let tries = 0; ; tries++) {
          const r = await agentRequest(await t.connect(0), "delete", s.id);
          if (r.ok !== false) break;
          // Running there: cancel it, and wait for the worker to stop (it finishes the chunk in flight).
          if (!/cancel it first/.test(text(r.error)) || tries >= 120) throw new Error(text(r.error));
          if (tries === 0) await agentRequest(await t.connect(0), "cancel", s.id);
          await new Promise((res) => setTimeout(res, 500));
        }
      }
      if (t.kind === "ssh") await t.removeRemote(await orphanedUploads(this.store, target, sweeps));
    } finally {
      await t.close();
    }
  }

  /**
   * Follow one level of a reproduction to its end, as this service's follower of that sweep: one that follows it
   * already (re-attached at start-up, resumed) hands over first, and while it runs, resume and re-attach leave it
   * alone, cancel reaches it on the reproduction's target, and delete stops the reproduction.
   */
  async followLevel(id: string, t: OpenTarget, o: FollowOptions, abort: AbortController): Promise<RunResult> {
    const prior = this.running.get(id);
    if (prior) { prior.abort.abort(); await prior.done; }
    let finished!: () => void;
    this.running.set(id, { abort, target: t, done: new Promise<void>((r) => { finished = r; }) });
    try {
      return await followSweep(this.store, id, t, {
        ...o, flushMs: 100, maxFailures: this.maxFailures,
        onProgress: (p) => { o.onProgress?.(p); this.poll(); },
      });
    } finally {
      this.running.delete(id);
      finished();
    }
  }
}
