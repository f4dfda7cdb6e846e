// The Api (contract.ts) implemented over the local store and the core's sweep runner. Both transports wrap
// one ApiService: browser mode's WebSocket server (src-main/web) and, later, Electron IPC.
//
// Changes reach subscribers two ways: the runner's progress callbacks for sweeps this process drives, and a
// poll of the sweeps table (cheap: one indexed query) that also sees sweeps written by other processes, such
// as a `fractal-llm sweep` running in a terminal against the same database.

import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { estimateCost } from "../core/cost";
import { cellCentre, cellEdge, cellHparams, cellXY, fmtWindow, snapToParentCells } from "../../src-shared/grid";
import {
  agentRequest, type FollowOptions, followSweep, orphanedUploads, prepareSweep, type PreparedSweep, recordSweep, ZoomError, zoomChildSpec,
} from "../launch/launch";
import { reproduceExperiment } from "../launch/reproduce";
import { LocalDataError } from "../core/local-data";
import { type Spec, SpecError, validate } from "../../src-shared/spec";
import { BLOCK_CELLS, type Store, type SweepRow, TERMINAL } from "../core/store";
import { type CellSamples, cellSamples, SamplesError, type SamplesRequest, storedSamples } from "../core/samples";
import { FatalAgentError, GaveUpError, type RunResult } from "../core/sweep-runner";
import { text } from "../core/agent-client";
import { LocalTransport } from "../core/local-transport";
import { CellRerunner, RerunError } from "../core/rerun";
import { type OpenTarget, openTarget, targetProfile } from "../launch/targets";
import {
  type AnalysisOptions, type Api, type ApiEvent, ApiError, type CellDetail, type LayerData, type LayerName, LAYER_NAMES, type RecomputedCurve,
  type SweepDetail, type SweepAnalysis, type SweepPreview, type SweepSummary, type TargetInfo, type ZoomPreview, type ZoomRequest,
} from "../../src-shared/contract";
import { sweepAnalysis } from "./analysis";
import { recomputeCurve } from "./recompute";
import { ranOn } from "../core/numerics";
import { cellFields, changedDoneBlocks, strided, subsample } from "./cells";
import { previewStride } from "../core/preview";
import { PREVIEW_ABOVE, PREVIEW_SIDE } from "../../src-shared/api";
import { Offload } from "./offload";
import { zoomPath } from "../core/sweep-maps";
import type { HostInfo, HostTestOptions, HostTestResult, NewHost } from "../../src-shared/contract";
import { addHost, configAliases, listHosts, testHost, uiTargetOptions } from "./hosts";
import type { LayerDelta } from "../../src-shared/contract";
import { DeltaLog } from "./deltas";
import { buildLayer, cellValue, LAYER_FIELD, rankAgainst } from "./layers";
import type { Reproduction, ReproductionRequest } from "../../src-shared/contract";
import { listReproductions, reproductionReport, reproductionRoot, type ReproductionRun } from "./reproductions";

export interface ServiceOptions {
  /** Python for the local target (default: the first of python3, /usr/bin/python3 with torch). */
  python?: string;
  /** How often to look for sweeps changed by other processes. */
  pollMs?: number;
  /** Home directory whose .ssh/ (config, known_hosts, keys) the host manager uses (default $HOME). */
  home?: string;
  /** The app's host-key trust list (default: the SSH module's per-user file). */
  trustFile?: string;
  /** ssh-agent socket for host tests (default $SSH_AUTH_SOCK); null: none. */
  agentSocket?: string | null;
  /** The local agent's home (default the per-user app-data directory). */
  localAgentHome?: string;
  /**
   * Maps of at least this many cells rank their score layer and compute their analysis in a worker thread
   * (offload.ts), off the event loop; smaller ones in-thread. Default 2^18 (512^2).
   */
  offloadCells?: number;
  /** Connections in a row that never reach the agent before the app stops following a sweep (it keeps running
   *  there; resumeSweep or a restart follows it again). Default 30: about a quarter of an hour of backoff. */
  maxFailures?: number;
}

/** A sweep this process follows: how to stop following it, and the target it is followed on. */
interface Following { abort: AbortController; target: OpenTarget | null; done: Promise<void> }

export class ApiService implements Api {
  private readonly listeners = new Set<(e: ApiEvent) => void>();
  private readonly seen = new Map<string, string>(); // id -> updated_at|done_cells|status
  private readonly running = new Map<string, Following>();
  /** Table 1 reproductions this session started, by root sweep id: running, or how they ended. */
  private readonly reproductions = new Map<string, ReproductionRun>();
  private readonly deltas = new Map<string, DeltaLog>(); // per sweep: cells done since each layer version
  private readonly doneCounts = new Map<string, Map<number, number>>(); // per sweep: done count per store block, as the log saw it
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private lastPollError: string | null = null;
  /** Worker threads: one ranks layers, one computes analyses, so a long analysis never delays a map's colours. */
  private readonly ranker = new Offload();
  private readonly analyser = new Offload();
  /** The last full layer built per sweep and layer, while the sweep's results are unchanged (reopening a map). */
  private readonly layerCache = new Map<string, { key: string; data: LayerData }>();
  /** Previews by sweep, layer and size, kept while the sweep's done count and update time stay the same. */
  private readonly previewCache = new Map<string, { key: string; data: LayerData }>();
  /** Full layers being built, so concurrent requests for one share the work. */
  private readonly building = new Map<string, Promise<LayerData>>();
  private watcher: FSWatcher | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  /**
   * The local agent's `rerun` process for curves of MLP cells their sweep did not record (started when first asked). It
   * runs on the Python configured or last probed for "local", so a click does not wait for (or block on) a new probe.
   */
  private readonly rerunner = new CellRerunner(async () => {
    const python = this.opts.python ?? this.store.hostProbe("local")?.python;
    return python ? new LocalTransport({ python, home: this.opts.localAgentHome }) : (await this.open("local")).connect(0);
  });

  constructor(readonly store: Store, private readonly opts: ServiceOptions = {}) {
    for (const s of store.sweeps()) this.seen.set(s.id, stamp(s));
    this.timer = setInterval(() => this.poll(), opts.pollMs ?? 500);
    this.timer.unref();
    this.watchDatabase();
  }

  /**
   * Push, not only poll: any write to the database (this process's followers, or a CLI sweep in a terminal)
   * touches its WAL file, and a change there runs the poll within a few milliseconds, so a result reaches
   * subscribers without waiting for the next poll tick. The timer stays as the fallback where watching fails.
   */
  private watchDatabase(): void {
    if (this.store.path === ":memory:") return;
    const file = basename(this.store.path);
    try {
      this.watcher = watch(dirname(this.store.path), { persistent: false }, (_event, name) => {
        if (this.closed || (name !== `${file}-wal` && name !== file) || this.watchTimer) return;
        this.watchTimer = setTimeout(() => { this.watchTimer = null; this.poll(); }, 10);
      });
      this.watcher.on("error", () => { this.watcher?.close(); this.watcher = null; });
    } catch {
      this.watcher = null; // polling only
    }
  }

  /** Stop polling and stop following running sweeps (their agents keep training). */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    this.watcher?.close();
    if (this.watchTimer) clearTimeout(this.watchTimer);
    this.ranker.close();
    this.analyser.close();
    this.rerunner.close();
    for (const f of this.running.values()) f.abort.abort();
    for (const r of this.reproductions.values()) r.abort.abort();
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

  /** Resolves when every sweep this service started has finished or been detached (tests, shutdown). */
  async idle(): Promise<void> {
    const busy = () => this.running.size || [...this.reproductions.values()].some((r) => r.running);
    while (busy()) await new Promise((r) => setTimeout(r, 50));
  }

  subscribe(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: ApiEvent): void {
    for (const l of this.listeners) l(e);
  }

  private poll(): void {
    if (this.closed) return; // followers winding down after close() must not touch a store about to close
    // Called from timers and callbacks: a store that cannot be read (disk gone, locked past its limit) is a
    // notice naming it, once per distinct message, never an exception that ends the process.
    let rows: SweepRow[];
    try {
      rows = this.store.sweeps();
    } catch (e) {
      const message = `cannot read the sweeps: ${(e as Error).message}`;
      if (message !== this.lastPollError) this.notice(null, message, "error");
      this.lastPollError = message;
      return;
    }
    this.lastPollError = null;
    const now = new Set<string>();
    for (const s of rows) {
      now.add(s.id);
      const st = stamp(s);
      if (this.seen.get(s.id) !== st) {
        this.seen.set(s.id, st);
        this.emit({ type: "sweep-updated", sweep: this.summary(s) });
      }
    }
    for (const id of [...this.seen.keys()]) {
      if (!now.has(id)) {
        this.seen.delete(id); this.deltas.delete(id); this.doneCounts.delete(id);
        for (const k of this.layerCache.keys()) if (k.startsWith(`${id}\u0000`)) this.layerCache.delete(k);
        this.emit({ type: "sweep-deleted", id });
      }
    }
  }

  private row(id: string): SweepRow {
    if (typeof id !== "string") throw new ApiError(`sweep id must be a string, got ${JSON.stringify(id)}`);
    const s = this.store.sweep(id);
    if (!s) throw new ApiError(`unknown sweep ${id} in ${this.store.path}`);
    return s;
  }

  private summary(s: SweepRow): SweepSummary {
    return {
      id: s.id, name: s.name, parentId: s.parent_id, family: s.spec.model.family, window: s.window, nx: s.nx, ny: s.ny, cells: s.cells,
      doneCells: s.done_cells, status: s.status, target: s.target, error: s.error,
      xAxis: { param: s.spec.axes.x.param, scale: s.spec.axes.x.scale },
      yAxis: { param: s.spec.axes.y.param, scale: s.spec.axes.y.scale },
      tags: this.store.tags(s.id), createdAt: s.created_at, updatedAt: s.updated_at, ranOn: ranOn(s.env)?.summary ?? null,
    };
  }

  async listSweeps(): Promise<SweepSummary[]> {
    return this.store.sweeps().map((s) => this.summary(s));
  }

  async getSweep(id: string): Promise<SweepDetail> {
    const s = this.row(id);
    return { ...this.summary(s), spec: s.spec, env: s.env };
  }

  async getLayer(id: string, layer: LayerName): Promise<LayerData> {
    const s = this.row(id);
    if (!LAYER_NAMES.includes(layer)) throw new ApiError(`unknown layer ${JSON.stringify(layer)}; layers: ${LAYER_NAMES.join(", ")}`);
    const key = `${id}\u0000${layer}`;
    const stampNow = `${s.done_cells}|${s.updated_at}`;
    const cached = this.layerCache.get(key);
    if (cached && cached.key === stampNow) return cached.data;
    const inFlight = this.building.get(`${key}\u0000${stampNow}`);
    if (inFlight) return inFlight;
    const p = this.buildFullLayer(s, layer).finally(() => this.building.delete(`${key}\u0000${stampNow}`));
    this.building.set(`${key}\u0000${stampNow}`, p);
    return p;
  }

  /** A full layer from the store; a large map's score ranking runs in the worker thread. Kept for a reopen. */
  private async buildFullLayer(s: SweepRow, layer: LayerName): Promise<LayerData> {
    const id = s.id;
    const fieldName = LAYER_FIELD[layer];
    const load = () => ({
      field: fieldName in this.store.fields(id) ? this.store.loadField(id, fieldName) : undefined,
      done: this.store.loadDone(id),
    });
    const { field, done } = load();
    const log = this.deltaLog(id, done);
    const version = log.version;
    let data: LayerData;
    if (layer === "score" && field && s.cells >= (this.opts.offloadCells ?? 1 << 18)) {
      let doneCells = 0;
      for (let i = 0; i < done.length; i++) doneCells += done[i];
      const { values, ref } = await this.ranker.rank(field, done, () => { const l = load(); return { score: l.field!, done: l.done }; });
      // Deltas after `version` are placed against this ranking; a newer full fetch replaces it.
      if (log.version === version || !log.rank) log.rank = ref;
      data = { sweepId: id, layer, nx: s.nx, ny: s.ny, doneCells, version, kind: "rank", values, lo: -1, hi: 1 };
    } else {
      data = buildLayer({ sweepId: id, layer, nx: s.nx, ny: s.ny, field, done, version, keepRank: (r) => { log.rank = r; } });
    }
    const now = this.store.sweep(id);
    if (now && now.done_cells === s.done_cells && this.deltas.get(id) === log) {
      this.layerCache.set(`${id}\u0000${layer}`, { key: `${s.done_cells}|${s.updated_at}`, data });
      while (this.layerCache.size > 4) this.layerCache.delete(this.layerCache.keys().next().value!);
    }
    return data;
  }

  async getLayerPreview(id: string, layer: LayerName, maxSide: number): Promise<LayerData> {
    const s = this.row(id);
    if (!LAYER_NAMES.includes(layer)) throw new ApiError(`unknown layer ${JSON.stringify(layer)}; layers: ${LAYER_NAMES.join(", ")}`);
    if (!(Number.isInteger(maxSide) && maxSide >= 1)) throw new ApiError(`maxSide must be an integer >= 1, got ${JSON.stringify(maxSide)}`);
    const key = `${id}\u0000${layer}\u0000${maxSide}`, stamp = `${s.done_cells}|${s.updated_at}`;
    const cached = this.previewCache.get(key);
    if (cached?.key === stamp) return cached.data;
    const data = this.buildPreview(s, layer, maxSide);
    this.previewCache.delete(key);
    this.previewCache.set(key, { key: stamp, data });
    while (this.previewCache.size > 8) this.previewCache.delete(this.previewCache.keys().next().value!);
    return data;
  }

  /**
   * Have the first frame ready before the page asks for it, while the window or browser loads the page: the previews
   * of the large maps updated last (the app opens the sweep updated last, or the one its URL names), one per turn of
   * the event loop. The first build also compiles the ranking: cold, it costs ~100 ms more, several times that on a
   * loaded machine.
   */
  async prefetchFirstFrame(maps = 4): Promise<void> {
    const large = this.store.sweeps().filter((s) => s.cells > PREVIEW_ABOVE)
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at)).slice(0, maps);
    for (const s of large) {
      await new Promise((r) => setImmediate(r));
      if (this.closed) return;
      // A failure here (the sweep deleted meanwhile) is the page's to see, when it asks: the prefetch goes on.
      await this.getLayerPreview(s.id, "score", PREVIEW_SIDE).catch(() => undefined);
    }
  }

  private buildPreview(s: SweepRow, layer: LayerName, maxSide: number): LayerData {
    const id = s.id;
    const stride = previewStride(s.nx, s.ny, maxSide);
    const fieldName = LAYER_FIELD[layer];
    const field = fieldName in this.store.fields(id) ? fieldName : null;
    // A large map's kept preview (core/preview.ts) when the stride asked for is a multiple of its own; else the blocks.
    const kept = stride > 1 ? this.store.preview(id, field) : undefined;
    const { cx, cy, values, done } = kept && stride % kept.stride === 0
      ? subsample(kept, stride / kept.stride) : strided(this.store, id, s.nx, s.ny, stride, field);
    const data = buildLayer({ sweepId: id, layer, nx: cx, ny: cy, field: values, done, version: 0 });
    return stride > 1 ? { ...data, stride } : data;
  }

  /** The sweep's delta log, brought up to `done`. */
  private deltaLog(id: string, done: Uint8Array): DeltaLog {
    const counts = new Map<number, number>();
    changedDoneBlocks(this.store, id, counts); // the counts now; the bits it returns are `done`'s
    this.doneCounts.set(id, counts);
    const log = this.deltas.get(id);
    if (!log) {
      const fresh = new DeltaLog(done);
      this.deltas.set(id, fresh);
      return fresh;
    }
    log.advance(done);
    return log;
  }

  async getLayerDelta(id: string, layer: LayerName, since: number): Promise<LayerDelta> {
    const s = this.row(id);
    if (!LAYER_NAMES.includes(layer)) throw new ApiError(`unknown layer ${JSON.stringify(layer)}; layers: ${LAYER_NAMES.join(", ")}`);
    // Streaming: only the store blocks whose done count changed are read (a 10k-cell update of a 4096^2 map reads a
    // few blocks, not 16M flags), and the new cells' values come from their blocks alone.
    const known = this.deltas.get(id), counts = this.doneCounts.get(id);
    let log: DeltaLog;
    if (known && counts) { known.advanceBlocks(changedDoneBlocks(this.store, id, counts), BLOCK_CELLS); log = known; }
    else log = this.deltaLog(id, this.store.loadDone(id));
    const cells = log.since(since);
    if (!cells || (layer === "score" && !log.rank)) return { kind: "full", data: await this.getLayer(id, layer) };
    const values = new Float32Array(cells.length);
    if (cells.length) {
      const fieldName = LAYER_FIELD[layer];
      const need = new Set<number>();
      for (let k = 0; k < cells.length; k++) need.add(Math.floor(cells[k] / BLOCK_CELLS));
      const blocks = fieldName in this.store.fields(id) ? this.store.fieldBlocks(id, fieldName, need) : new Map();
      for (let k = 0; k < cells.length; k++) {
        const b = blocks.get(Math.floor(cells[k] / BLOCK_CELLS));
        const v = b ? b[cells[k] % BLOCK_CELLS] : Number.NaN;
        values[k] = layer === "score" ? rankAgainst(log.rank!, v) : cellValue(layer, v);
      }
    }
    return { kind: "delta", sweepId: id, layer, version: log.version, doneCells: s.done_cells, cells, values };
  }

  async getCell(id: string, cell: number): Promise<CellDetail> {
    const s = this.row(id);
    if (!(Number.isInteger(cell) && cell >= 0 && cell < s.cells)) {
      throw new ApiError(`cell must be an integer in 0..${s.cells - 1} for sweep ${id}, got ${JSON.stringify(cell)}`);
    }
    const { ix, iy } = cellXY(s.spec, cell);
    const { x, y } = s.spec.axes;
    // Only the block holding the cell is read (cells.ts): hovering a 4096^2 map must not decode whole fields.
    const read = cellFields(this.store, id, cell);
    const done = read.done;
    const outcome = done ? read.fields : null;
    return {
      sweepId: id, cell, ix, iy,
      centre: { x: cellCentre(x, ix), y: cellCentre(y, iy) },
      bounds: { x0: cellEdge(x, ix), x1: cellEdge(x, ix + 1), y0: cellEdge(y, iy), y1: cellEdge(y, iy + 1) },
      hparams: cellHparams(s.spec, cell), done, outcome, curve: this.store.curve(id, cell) ?? null, base: s.base,
    };
  }

  async recomputeCurve(id: string, cell: number): Promise<RecomputedCurve> {
    this.row(id);
    // Always on this computer's CPU, whatever the sweep's target: the cell is milliseconds of work, and a laptop's
    // own sweeps ran there (a GPU node's may differ in the last bits, which the check then reports).
    return inputCall(() => recomputeCurve(this.store, id, cell, this.rerunner, "this computer (CPU)"));
  }

  async getAnalysis(id: string, options: AnalysisOptions): Promise<SweepAnalysis> {
    this.row(id);
    const { layer, sequence } = options ?? {};
    if (layer !== "trainable" && layer !== "stable") throw new ApiError(`layer must be trainable or stable, got ${JSON.stringify(layer)}`);
    if (typeof sequence !== "boolean") throw new ApiError(`sequence must be true or false, got ${JSON.stringify(sequence)}`);
    const big = (sequence ? zoomPathCells(this.store, id) : this.row(id).cells) >= (this.opts.offloadCells ?? 1 << 18);
    return big ? this.analyser.analysis(this.store, id, { layer, sequence }) : sweepAnalysis(this.store, id, { layer, sequence });
  }

  /** The zoom's child spec prepared for its target (nothing uploaded or recorded yet), with cost and warnings. */
  private async zoomChild(req: ZoomRequest): Promise<{ preview: ZoomPreview; prepared: PreparedSweep }> {
    const parent = this.row(req.parentId);
    if (!(Number.isInteger(req.points) && req.points >= 2)) {
      throw new ApiError(`points must be an integer >= 2, got ${JSON.stringify(req.points)}`);
    }
    if (req.steps !== null && !(Number.isInteger(req.steps) && req.steps >= 1)) {
      throw new ApiError(`steps must be a positive integer (or null for the parent's), got ${JSON.stringify(req.steps)}`);
    }
    const target = this.checkTarget(req.target);
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
    const preview = { spec: prepared.spec, window, cost: this.estimate(prepared.spec, target), warnings: prepared.warnings };
    return { preview, prepared };
  }

  async previewZoom(req: ZoomRequest): Promise<ZoomPreview> {
    return (await this.zoomChild(req)).preview;
  }

  /** A target the app can run on: "local", a saved host, a ~/.ssh/config alias or an ssh:// address. */
  private checkTarget(target: unknown): string {
    if (typeof target !== "string" || !target) throw new ApiError(`target must be "local" or a host alias, got ${JSON.stringify(target)}`);
    if (target === "local" || this.store.host(target) || target.startsWith("ssh://")) return target;
    const home = this.opts.home ?? process.env.HOME;
    if (home && configAliases(home).includes(target)) return target;
    throw new ApiError(`unknown target ${JSON.stringify(target)}: not "local", a saved host or a Host of ~/.ssh/config; add it in the host manager`);
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
    const t = this.checkTarget(target);
    const spec = this.validSpec(raw);
    if (spec.parent) throw new ApiError("spec field parent: a zoom is started from its parent's map (shift-drag a box), not here");
    const p = await this.prepare(spec, t);
    return { spec: p.spec, cost: this.estimate(p.spec, t), warnings: p.warnings };
  }

  async startSweep(raw: unknown, target: string): Promise<SweepSummary> {
    const t = this.checkTarget(target);
    const spec = this.validSpec(raw);
    if (spec.parent) throw new ApiError("spec field parent: a zoom is started from its parent's map (shift-drag a box), not here");
    return this.launch(await this.prepare(spec, t));
  }

  async startZoom(req: ZoomRequest): Promise<SweepSummary> {
    return this.launch((await this.zoomChild(req)).prepared);
  }

  /** Cost on a target from what its last probe found (GPUs and how many), else one GPU or the laptop's CPU. */
  private estimate(spec: Spec, target: string) {
    const t = targetProfile(this.store, target);
    return estimateCost(spec, { device: t.device, count: t.count });
  }

  /** Options for opening a target from the app: the host manager's files; --python applies to local only. */
  private targetOptions(target: string) {
    const home = this.opts.home ?? process.env.HOME ?? "";
    return {
      ...uiTargetOptions({ home, trustFile: this.opts.trustFile, agentSocket: this.opts.agentSocket }),
      python: target === "local" ? this.opts.python : undefined, localAgentHome: this.opts.localAgentHome,
      onRetry: (message: string) => this.notice(null, message), // a dropped phase being retried, shown as it happens
    };
  }

  private async open(target: string): Promise<OpenTarget> {
    try {
      return await openTarget(this.store, target, this.targetOptions(target));
    } catch (e) {
      throw new ApiError(`cannot open ${target}: ${(e as Error).message}`);
    }
  }

  /**
   * Open the target (host key, login, agent install, probe: a problem is the caller's error and nothing is
   * recorded), upload the sweep's laptop files, record it, and follow it in the background.
   */
  private async launch(p: PreparedSweep): Promise<SweepSummary> {
    const t = await this.open(p.target);
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

  private notice(sweepId: string | null, message: string, level: "info" | "done" | "error" = "info"): void {
    this.emit({ type: "notice", sweepId, message, level });
  }

  /**
   * Follow a recorded sweep in the background until it ends (a notice says how), this service closes, or its
   * target stays unreachable (a notice; the sweep keeps running there). `t`: an open target, else opened here.
   */
  private follow(id: string, t: OpenTarget | null, resume: boolean): void {
    if (this.running.has(id)) return;
    const abort = new AbortController();
    const f: Following = { abort, target: t, done: Promise.resolve() };
    this.running.set(id, f);
    const name = () => this.store.sweep(id)?.name ?? id;
    f.done = (async () => {
      const target = this.store.sweep(id)!.target;
      try {
        f.target ??= await this.openWithRetry(target, abort.signal);
        if (!f.target) return; // closed meanwhile
        const r = await followSweep(this.store, id, f.target, {
          signal: abort.signal, resume, flushMs: 100, maxFailures: this.opts.maxFailures ?? 30,
          onNotice: (m) => this.notice(id, m),
          onProgress: (p) => { this.emit({ type: "progress", sweepId: id, ...p }); this.poll(); },
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

  /** Open a target for following, retrying with backoff while it is unreachable; null once `signal` aborts. */
  private async openWithRetry(target: string, signal: AbortSignal): Promise<OpenTarget | null> {
    const max = this.opts.maxFailures ?? 30;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) return null;
      try {
        return await openTarget(this.store, target, this.targetOptions(target));
      } catch (e) {
        const { isRetryable } = await import("../ssh/index");
        if (target === "local" || !isRetryable(e) || attempt >= max) throw new GaveUpError(`cannot open ${target}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** (attempt - 1))));
      }
    }
  }

  /** The target a request about sweep `id` goes to: the open one of its follower, else a new one (closed after). */
  private async withTarget<T>(s: SweepRow, f: (t: OpenTarget) => Promise<T>): Promise<T> {
    const following = this.running.get(s.id)?.target;
    const t = following ?? await this.open(s.target);
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
      this.follow(id, await this.open(s.target), true);
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
    const t = await this.open(target);
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

  async listTargets(): Promise<TargetInfo[]> {
    const hosts = await this.listHosts();
    return [this.targetInfo("local"), ...hosts.map((h) => this.targetInfo(h.alias, h))];
  }

  /** What a target is known to have (its last probe), and the defaults that follow: cost device, zoom points. */
  private targetInfo(target: string, host?: HostInfo): TargetInfo {
    const p = targetProfile(this.store, target);
    const cpus = p.cpuCount !== null ? ` (${p.cpuCount} CPU cores)` : " (CPU)";
    const where = host?.hostname ? `${host.user ? host.user + "@" : ""}${host.hostname}:${host.port}` : "from ~/.ssh/config";
    const description = target === "local" ? `this computer${cpus}`
      : p.gpus === null ? `${where}, not probed yet` : p.gpus.length ? `${where}, ${p.gpus.length}× ${p.gpus[0]}` : `${where}, no GPU${cpus}`;
    return {
      target, kind: target === "local" ? "local" : "ssh", description, gpus: p.gpus, device: p.device, count: p.count,
      zoomPoints: p.zoomPoints, probedAt: p.probedAt,
    };
  }

  private hostOptions() {
    const home = this.opts.home ?? process.env.HOME;
    if (!home) throw new ApiError("no home directory to read .ssh/config from: set HOME");
    return { home, trustFile: this.opts.trustFile, agentSocket: this.opts.agentSocket };
  }

  async listHosts(): Promise<HostInfo[]> {
    return listHosts(this.store, this.hostOptions());
  }

  async addHost(host: NewHost): Promise<HostInfo> {
    return addHost(this.store, host);
  }

  async testHost(alias: string, options: HostTestOptions): Promise<HostTestResult> {
    if (typeof alias !== "string" || !alias) throw new ApiError(`host alias must be a non-empty string, got ${JSON.stringify(alias)}`);
    // Only the fingerprints the user was shown are trusted (hosts.ts refuses a key that differs).
    return testHost(this.store, alias, options?.acceptHostKeys ?? [], this.hostOptions());
  }

  async listSamples(id: string, cell: number): Promise<CellSamples[]> {
    this.row(id);
    return inputCall(() => storedSamples(this.store, id, cell));
  }

  async generateSamples(id: string, cell: number, request: SamplesRequest): Promise<CellSamples> {
    const s = this.row(id);
    // The cell re-trains where its sweep ran: the checkpoint and data are there. A host key must already be
    // trusted (the host manager asks about new ones), so this never accepts one.
    const connect = async () => (await this.open(s.target)).connect(0);
    return inputCall(() => cellSamples(this.store, id, cell, request, connect));
  }

  async startReproduction(req: ReproductionRequest): Promise<Reproduction> {
    const root = await reproductionRoot(this.store, req, this.checkTarget(req.target));
    const what = `Table 1 ${root.name} at ${root.points}x${root.points} on ${root.target}`;
    const before = this.reproductions.get(root.rootId);
    if (before?.running) throw new ApiError(`${what} is already running; its levels are in the report`);
    const run: ReproductionRun = {
      root, levels: req.levels, running: true, error: null, abort: new AbortController(), current: null, done: Promise.resolve(), reported: Promise.resolve(),
    };
    this.reproductions.set(root.rootId, run); // before opening: a second start meanwhile is refused
    let t: OpenTarget;
    try {
      t = await this.open(root.target); // a host-key or login problem is this call's error
    } catch (e) {
      if (before) this.reproductions.set(root.rootId, before); else this.reproductions.delete(root.rootId);
      throw e;
    }
    const first = this.emitReproduction(run); // queued before any level's report
    run.done = (async () => {
      try {
        const r = await reproduceExperiment(this.store, root.name, t, {
          points: root.points, levels: req.levels, initOffsetForm: root.initOffsetForm ?? undefined, signal: run.abort.signal,
          follow: (id, target, o) => this.followLevel(id, target, o, run.abort),
          onStart: (_, level, row, resumed) => {
            run.current = row.id;
            this.notice(row.id, `${what}: level ${level}, sweep ${row.id}${resumed ? " (from the store)" : ""}`);
            void this.emitReproduction(run);
          },
          onNotice: (m) => this.notice(run.current, m),
          onProgress: (p) => { if (run.current) this.emit({ type: "progress", sweepId: run.current, ...p }); },
        });
        run.error = r.error;
        if (r.error) this.notice(run.current, `${what}: ${r.error}`, "error");
        else {
          const d = r.dimension!;
          this.notice(run.current, `${what}: D = ${d.toFixed(2)} over ${r.levels.length} level(s), paper ${r.paper_dimension.toFixed(2)} `
            + `(${d >= r.paper_dimension ? "+" : ""}${(d - r.paper_dimension).toFixed(2)})`, "done");
        }
      } catch (e) {
        // Aborted: the app is closing (the level keeps training on its target; starting it again continues), or
        // deleteSweep removed a level's sweep.
        if (!this.closed) {
          run.error = run.abort.signal.aborted ? `its sweep ${run.current} was deleted` : (e as Error).message;
          this.notice(run.current, `${what} stopped: ${run.error}`, "error");
        }
      } finally {
        run.running = false;
        await t.close();
        if (!this.closed) { this.poll(); await this.emitReproduction(run); }
      }
    })();
    return first;
  }

  async listReproductions(): Promise<Reproduction[]> {
    return listReproductions(this.store, this.reproductions);
  }

  /** The run's report now, also sent to subscribers; one at a time per run, so they arrive in the order of the run. */
  private emitReproduction(run: ReproductionRun): Promise<Reproduction> {
    const next = run.reported.then(async () => {
      const reproduction = await reproductionReport(this.store, run.root, run);
      this.emit({ type: "reproduction-updated", reproduction });
      return reproduction;
    });
    run.reported = next.catch(() => undefined); // a failed report (store closed) does not stop the later ones
    return next;
  }

  /**
   * Follow one level of a reproduction to its end, as this service's follower of that sweep: one that follows it
   * already (re-attached at start-up, resumed) hands over first, and while it runs, resume and re-attach leave it
   * alone, cancel reaches it on the reproduction's target, and delete stops the reproduction.
   */
  private async followLevel(id: string, t: OpenTarget, o: FollowOptions, abort: AbortController): Promise<RunResult> {
    const prior = this.running.get(id);
    if (prior) { prior.abort.abort(); await prior.done; }
    let finished!: () => void;
    this.running.set(id, { abort, target: t, done: new Promise<void>((r) => { finished = r; }) });
    try {
      return await followSweep(this.store, id, t, {
        ...o, flushMs: 100, maxFailures: this.opts.maxFailures ?? 30,
        onProgress: (p) => { o.onProgress?.(p); this.poll(); },
      });
    } finally {
      this.running.delete(id);
      finished();
    }
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

/** Cells of a sweep and every sweep above it (what a pooled analysis reads). */
function zoomPathCells(store: Store, id: string): number {
  return zoomPath(store, id).reduce((n, z) => n + (store.sweep(z)?.cells ?? 0), 0);
}

function stamp(s: SweepRow): string {
  return `${s.updated_at}|${s.done_cells}|${s.status}|${s.name}`;
}

