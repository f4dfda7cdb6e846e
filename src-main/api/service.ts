// The Api (contract.ts) implemented over the local store and the core's sweep runner. Both transports wrap
// one ApiService: browser mode's WebSocket server (src-main/web) and, later, Electron IPC.
//
// Changes reach subscribers two ways: the runner's progress callbacks for sweeps this process drives, and a
// poll of the sweeps table (cheap: one indexed query) that also sees sweeps written by other processes, such
// as a `fractal-llm sweep` running in a terminal against the same database.

import { sweepIdFor } from "../core/sweep-id";
import { estimateCost } from "../core/cost";
import { cellCentre, cellEdge, cellHparams, cellXY, fmtWindow, resolutionWarnings, snapToParentCells, zoomSpec } from "../core/grid";
import { absoluteLocalPaths } from "../core/local-data";
import { findLocalPython, LocalTransport } from "../core/local-transport";
import { type Spec, SpecError, validate } from "../core/spec";
import type { Store, SweepRow } from "../core/store";
import { type CellSamples, cellSamples, SamplesError, type SamplesRequest, storedSamples } from "../core/samples";
import { runSweep } from "../core/sweep-runner";
import type { Transport } from "../core/transport";
import {
  type AnalysisOptions, type Api, type ApiEvent, ApiError, type CellDetail, type LayerData, type LayerName, LAYER_NAMES, type SweepDetail,
  type SweepAnalysis, type SweepPreview, type SweepSummary, type ZoomPreview, type ZoomRequest,
} from "./contract";
import { sweepAnalysis } from "./analysis";
import type { HostInfo, HostTestResult, NewHost } from "./contract";
import { addHost, listHosts, openHostTransport, testHost } from "./hosts";
import type { LayerDelta } from "./contract";
import { DeltaLog } from "./deltas";
import { buildLayer, cellValue, LAYER_FIELD, rankAgainst } from "./layers";

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
}

// Tags are the UI's own metadata; the store has no column for them yet, so they live in a side table that
// this module creates (IF NOT EXISTS) and that cascades with its sweep.
const TAGS_DDL = `CREATE TABLE IF NOT EXISTS ui_sweep_tags (
  sweep_id TEXT NOT NULL REFERENCES sweeps(id) ON DELETE CASCADE, tag TEXT NOT NULL, PRIMARY KEY (sweep_id, tag))`;

export class ApiService implements Api {
  private readonly listeners = new Set<(e: ApiEvent) => void>();
  private readonly seen = new Map<string, string>(); // id -> updated_at|done_cells|status
  private readonly running = new Map<string, AbortController>();
  private readonly deltas = new Map<string, DeltaLog>(); // per sweep: cells done since each layer version
  private readonly timer: NodeJS.Timeout;
  private python: string | null = null;

  constructor(readonly store: Store, private readonly opts: ServiceOptions = {}) {
    store.db.exec(TAGS_DDL);
    for (const s of store.sweeps()) this.seen.set(s.id, stamp(s));
    this.timer = setInterval(() => this.poll(), opts.pollMs ?? 500);
    this.timer.unref();
  }

  /** Stop polling and stop following running sweeps (their agents keep training). */
  close(): void {
    clearInterval(this.timer);
    for (const a of this.running.values()) a.abort();
  }

  /** Resolves when every sweep this service started has finished or been detached (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size) await new Promise((r) => setTimeout(r, 50));
  }

  subscribe(listener: (e: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: ApiEvent): void {
    for (const l of this.listeners) l(e);
  }

  private poll(): void {
    const now = new Set<string>();
    for (const s of this.store.sweeps()) {
      now.add(s.id);
      const st = stamp(s);
      if (this.seen.get(s.id) !== st) {
        this.seen.set(s.id, st);
        this.emit({ type: "sweep-updated", sweep: this.summary(s) });
      }
    }
    for (const id of [...this.seen.keys()]) {
      if (!now.has(id)) { this.seen.delete(id); this.deltas.delete(id); this.emit({ type: "sweep-deleted", id }); }
    }
  }

  private row(id: string): SweepRow {
    if (typeof id !== "string") throw new ApiError(`sweep id must be a string, got ${JSON.stringify(id)}`);
    const s = this.store.sweep(id);
    if (!s) throw new ApiError(`unknown sweep ${id} in ${this.store.path}`);
    return s;
  }

  private tags(id: string): string[] {
    return (this.store.db.prepare("SELECT tag FROM ui_sweep_tags WHERE sweep_id = ? ORDER BY tag").all(id) as { tag: string }[])
      .map((r) => r.tag);
  }

  private summary(s: SweepRow): SweepSummary {
    return {
      id: s.id, name: s.name, parentId: s.parent_id, family: s.spec.model.family, window: s.window, nx: s.nx, ny: s.ny, cells: s.cells,
      doneCells: s.done_cells, status: s.status, target: s.target, error: s.error,
      xAxis: { param: s.spec.axes.x.param, scale: s.spec.axes.x.scale },
      yAxis: { param: s.spec.axes.y.param, scale: s.spec.axes.y.scale },
      tags: this.tags(s.id), createdAt: s.created_at, updatedAt: s.updated_at,
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
    const fieldName = LAYER_FIELD[layer];
    const field = fieldName in this.store.fields(id) ? this.store.loadField(id, fieldName) : undefined;
    const done = this.store.loadDone(id);
    const log = this.deltaLog(id, done);
    return buildLayer({ sweepId: id, layer, nx: s.nx, ny: s.ny, field, done, version: log.version, keepRank: (r) => { log.rank = r; } });
  }

  /** The sweep's delta log, brought up to `done`. */
  private deltaLog(id: string, done: Uint8Array): DeltaLog {
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
    const log = this.deltaLog(id, this.store.loadDone(id));
    const cells = log.since(since);
    if (!cells || (layer === "score" && !log.rank)) return { kind: "full", data: await this.getLayer(id, layer) };
    const values = new Float32Array(cells.length);
    if (cells.length) {
      const fieldName = LAYER_FIELD[layer];
      const field = fieldName in this.store.fields(id) ? this.store.loadField(id, fieldName) : undefined;
      for (let k = 0; k < cells.length; k++) {
        const v = field ? field[cells[k]] : Number.NaN;
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
    const done = this.store.loadDone(id)[cell] === 1;
    let outcome: Record<string, number | null> | null = null;
    if (done) {
      outcome = {};
      for (const f of Object.keys(this.store.fields(id))) {
        const v = this.store.loadField(id, f)[cell];
        outcome[f] = Number.isNaN(v) ? null : v;
      }
    }
    return {
      sweepId: id, cell, ix, iy,
      centre: { x: cellCentre(x, ix), y: cellCentre(y, iy) },
      bounds: { x0: cellEdge(x, ix), x1: cellEdge(x, ix + 1), y0: cellEdge(y, iy), y1: cellEdge(y, iy + 1) },
      hparams: cellHparams(s.spec, cell), done, outcome, curve: this.store.curve(id, cell) ?? null, base: s.base,
    };
  }

  async getAnalysis(id: string, options: AnalysisOptions): Promise<SweepAnalysis> {
    this.row(id);
    const { layer, sequence } = options ?? {};
    if (layer !== "trainable" && layer !== "stable") throw new ApiError(`layer must be trainable or stable, got ${JSON.stringify(layer)}`);
    if (typeof sequence !== "boolean") throw new ApiError(`sequence must be true or false, got ${JSON.stringify(sequence)}`);
    return sweepAnalysis(this.store, id, { layer, sequence });
  }

  private zoomChild(req: ZoomRequest): ZoomPreview {
    const parent = this.row(req.parentId);
    if (!(Number.isInteger(req.points) && req.points >= 2)) {
      throw new ApiError(`points must be an integer >= 2, got ${JSON.stringify(req.points)}`);
    }
    if (req.steps !== null && !(Number.isInteger(req.steps) && req.steps >= 1)) {
      throw new ApiError(`steps must be a positive integer (or null for the parent's), got ${JSON.stringify(req.steps)}`);
    }
    this.checkTarget(req.target);
    const w = req.window, pw = parent.window;
    if (!(w && w.x0 < w.x1 && w.y0 < w.y1)) throw new ApiError(`window must have x0 < x1 and y0 < y1, got ${JSON.stringify(w)}`);
    if (!(w.x0 < pw.x1 && w.x1 > pw.x0 && w.y0 < pw.y1 && w.y1 > pw.y0)) {
      throw new ApiError(`the box ${fmtWindow(w)} does not overlap sweep ${parent.id}'s window ${fmtWindow(pw)} (axis units)`);
    }
    // A box reaching past the parent is clipped to it; then snapped outward to whole parent cells.
    const window = snapToParentCells(parent.spec, {
      x0: Math.max(w.x0, pw.x0), x1: Math.min(w.x1, pw.x1), y0: Math.max(w.y0, pw.y0), y1: Math.min(w.y1, pw.y1),
    });
    let raw;
    try {
      raw = zoomSpec(parent.spec, parent.id, window, req.points);
    } catch (e) {
      throw new ApiError((e as Error).message);
    }
    if (req.name) raw.name = req.name;
    if (req.steps !== null) raw.train.steps = req.steps;
    const spec = this.validSpec(raw);
    return { spec, window, cost: estimateCost(spec, { device: "cpu" }), warnings: resolutionWarnings(spec) };
  }

  async previewZoom(req: ZoomRequest): Promise<ZoomPreview> {
    return this.zoomChild(req);
  }

  private checkTarget(target: string): void {
    if (target !== "local") {
      throw new ApiError(`target ${JSON.stringify(target)}: browser mode runs sweeps on "local" only; `
        + "use `fractal-llm sweep --target ALIAS` for a remote host");
    }
  }

  private validSpec(raw: unknown): Spec {
    try {
      return validate(raw);
    } catch (e) {
      if (e instanceof SpecError) throw new ApiError(`spec field ${e.field}: ${e.detail}`);
      throw e;
    }
  }

  async previewSweep(raw: unknown, target: string): Promise<SweepPreview> {
    this.checkTarget(target);
    // Relative jsonl paths are the server's working directory's, not the local agent's (it runs in its own).
    const spec = absoluteLocalPaths(this.validSpec(raw));
    if (spec.parent) throw new ApiError("spec field parent: a zoom is started from its parent's map (shift-drag a box), not here");
    return { spec, cost: estimateCost(spec, { device: "cpu" }), warnings: resolutionWarnings(spec) };
  }

  async startSweep(raw: unknown, target: string): Promise<SweepSummary> {
    const { spec } = await this.previewSweep(raw, target);
    return this.launch(spec, target);
  }

  async startZoom(req: ZoomRequest): Promise<SweepSummary> {
    const { spec } = this.zoomChild(req);
    return this.launch(spec, req.target);
  }

  /** Record the sweep and run it on the local agent in the background; progress arrives as events. */
  private launch(spec: Spec, target: string): SweepSummary {
    const id = sweepIdFor(spec, target, true);
    this.python ??= findLocalPython(this.opts.python);
    const transport = new LocalTransport({ python: this.python });
    const row = this.store.createSweep({ id, spec, target });
    const abort = new AbortController();
    this.running.set(id, abort);
    const onNotice = (message: string) => this.emit({ type: "notice", sweepId: id, message });
    runSweep({
      store: this.store, sweepId: id, connect: async () => transport, signal: abort.signal, onNotice, flushMs: 100,
      onProgress: (p) => { this.emit({ type: "progress", sweepId: id, ...p }); this.poll(); },
    }).catch((e: Error) => {
      this.store.setStatus(id, "failed", e.message);
      onNotice(`sweep ${id} failed: ${e.message}`);
    }).finally(() => {
      this.running.delete(id);
      this.poll();
    });
    this.poll();
    return this.summary(row);
  }

  async renameSweep(id: string, name: string): Promise<SweepSummary> {
    this.row(id);
    if (typeof name !== "string" || !name.trim()) throw new ApiError("name must be a non-empty string");
    this.store.db.prepare("UPDATE sweeps SET name = ?, updated_at = ? WHERE id = ?").run(name.trim(), new Date().toISOString(), id);
    this.poll();
    return this.summary(this.row(id));
  }

  async setTags(id: string, tags: string[]): Promise<SweepSummary> {
    this.row(id);
    if (!Array.isArray(tags) || tags.some((t) => typeof t !== "string" || !t.trim())) {
      throw new ApiError("tags must be a list of non-empty strings");
    }
    this.store.db.transaction(() => {
      this.store.db.prepare("DELETE FROM ui_sweep_tags WHERE sweep_id = ?").run(id);
      const put = this.store.db.prepare("INSERT OR IGNORE INTO ui_sweep_tags (sweep_id, tag) VALUES (?, ?)");
      for (const t of tags) put.run(id, t.trim());
      this.store.db.prepare("UPDATE sweeps SET updated_at = ? WHERE id = ?").run(new Date().toISOString(), id);
    })();
    this.poll();
    return this.summary(this.row(id));
  }

  async deleteSweep(id: string): Promise<void> {
    this.row(id);
    if (this.running.has(id)) throw new ApiError(`sweep ${id} is running here; wait for it to finish before deleting it`);
    // Children first: a zoom's parent_id references its parent.
    const order: string[] = [];
    const visit = (sid: string) => {
      for (const c of this.store.sweeps().filter((s) => s.parent_id === sid)) visit(c.id);
      order.push(sid);
    };
    visit(id);
    this.store.db.transaction(() => {
      for (const sid of order) this.store.db.prepare("DELETE FROM sweeps WHERE id = ?").run(sid);
    })();
    this.poll();
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

  async testHost(alias: string, options: { acceptNewHostKey: boolean }): Promise<HostTestResult> {
    if (typeof alias !== "string" || !alias) throw new ApiError(`host alias must be a non-empty string, got ${JSON.stringify(alias)}`);
    return testHost(this.store, alias, options?.acceptNewHostKey === true, this.hostOptions());
  }

  async listSamples(id: string, cell: number): Promise<CellSamples[]> {
    this.row(id);
    return samplesCall(() => storedSamples(this.store, id, cell));
  }

  async generateSamples(id: string, cell: number, request: SamplesRequest): Promise<CellSamples> {
    const s = this.row(id);
    // The cell re-trains where its sweep ran: the checkpoint and data are there. A host key must already be
    // trusted (the host manager asks about new ones), so this never accepts one.
    const connect = async (): Promise<Transport> => {
      if (s.target === "local") {
        this.python ??= findLocalPython(this.opts.python);
        return new LocalTransport({ python: this.python });
      }
      return openHostTransport(this.store, s.target, false, this.hostOptions());
    };
    return samplesCall(() => cellSamples(this.store, id, cell, request, connect));
  }
}

/** A samples call with its SamplesError (bad request, agent failure) carried to the UI as an ApiError. */
async function samplesCall<T>(f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof SamplesError) throw new ApiError(e.message);
    throw e;
  }
}

function stamp(s: SweepRow): string {
  return `${s.updated_at}|${s.done_cells}|${s.status}|${s.name}`;
}

