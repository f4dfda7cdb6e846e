// The Api (contract.ts) implemented over the local store and the core's sweep runner. Both transports wrap one
// ApiService: browser mode's WebSocket server (src-main/web) and Electron's IPC. This is the facade; each concern
// lives in its own module: changes.ts (the change feed), layer-reads.ts (layers, previews, deltas, cells, analyses),
// sweeps.ts (launch, follow, cancel/resume/delete, the library), bookmarks.ts (named views), app-targets.ts (targets and hosts),
// reproductions.ts (Table 1 runs), sensitivity.ts (companion sweeps), exports.ts (files, early warning) and reruns.ts
// (samples and recomputed curves).

import type { Store } from "../core/store";
import type { SamplesRequest } from "../core/samples";
import type {
  AnalysisOptions, Api, ApiEvent, Bookmark, CellDetail, CellSamples, EarlyWarningOptions, EarlyWarningReport, ExportFile, ExportRequest, HostInfo, HostTestOptions, HostTestResult, LayerData, LayerDelta, LayerName,
  NewBookmark, NewHost, Perturbation, RecomputedCurve, Reproduction, ReproductionRequest, SensitivityReport, SweepAnalysis, SweepDetail, SweepPreview, SweepSummary, TargetInfo,
  ZoomPreview, ZoomRequest,
} from "../../src-shared/contract";
import { AppTargets } from "./app-targets";
import { addBookmark, deleteBookmark, listBookmarks } from "./bookmarks";
import { ChangeFeed } from "./changes";
import { LayerReads } from "./layer-reads";
import { Reproductions } from "./reproductions";
import { CellReruns } from "./reruns";
import { earlyWarningReport, exportFile } from "./exports";
import { Sensitivities } from "./sensitivity";
import { Sweeps } from "./sweeps";

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

export class ApiService implements Api {
  private readonly feed: ChangeFeed;
  private readonly targets: AppTargets;
  private readonly reads: LayerReads;
  private readonly sweeps: Sweeps;
  private readonly reproductions: Reproductions;
  private readonly reruns: CellReruns;
  private readonly sensitivities: Sensitivities;

  constructor(readonly store: Store, opts: ServiceOptions = {}) {
    this.feed = new ChangeFeed(store, opts.pollMs ?? 500, (id) => this.reads.forget(id));
    this.targets = new AppTargets(store, opts, (message) => this.feed.notice(null, message));
    this.reads = new LayerReads(store, opts.offloadCells ?? 1 << 18, () => this.feed.closed);
    this.sweeps = new Sweeps(store, this.targets, this.feed, opts.maxFailures ?? 30);
    this.reproductions = new Reproductions(store, this.targets, this.sweeps, this.feed);
    this.reruns = new CellReruns(store, this.targets, opts);
    this.sensitivities = new Sensitivities(store, this.targets, this.sweeps, this.feed);
  }

  // Tests look into the layer reads' worker and preview cache through the service.
  private get ranker() { return this.reads.ranker; }
  private get previewCache() { return this.reads.previewCache; }

  /** Stop polling and stop following running sweeps (their agents keep training). */
  close(): void {
    this.feed.close();
    this.reads.close();
    this.reruns.close();
    this.sweeps.close();
    this.reproductions.close();
    this.sensitivities.close();
  }

  /**
   * Follow again every unfinished sweep in the store that this process does not follow yet (the app's start-up:
   * closing the laptop loses nothing, the agents kept training). Each connects in the background; one that
   * cannot be reached is a notice, and its sweep stays as it was.
   */
  reattach(): string[] { return this.sweeps.reattach(); }

  /** Resolves when every sweep this service started has finished or been detached (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.sweeps.busy || this.reproductions.busy || this.sensitivities.busy) await new Promise((r) => setTimeout(r, 50));
  }

  /** Have the first frames of the large maps updated last ready before the page asks (layer-reads.ts). */
  prefetchFirstFrame(maps = 4): Promise<void> { return this.reads.prefetchFirstFrame(maps); }

  subscribe(listener: (e: ApiEvent) => void): () => void { return this.feed.subscribe(listener); }

  listSweeps(): Promise<SweepSummary[]> { return this.sweeps.listSweeps(); }
  getSweep(id: string): Promise<SweepDetail> { return this.sweeps.getSweep(id); }
  getLayer(id: string, layer: LayerName): Promise<LayerData> { return this.reads.getLayer(id, layer); }
  getLayerPreview(id: string, layer: LayerName, maxSide: number): Promise<LayerData> { return this.reads.getLayerPreview(id, layer, maxSide); }
  getLayerDelta(id: string, layer: LayerName, since: number): Promise<LayerDelta> { return this.reads.getLayerDelta(id, layer, since); }
  getCell(id: string, cell: number): Promise<CellDetail> { return this.reads.getCell(id, cell); }
  getAnalysis(id: string, options: AnalysisOptions): Promise<SweepAnalysis> { return this.reads.getAnalysis(id, options); }
  recomputeCurve(id: string, cell: number): Promise<RecomputedCurve> { return this.reruns.recomputeCurve(id, cell); }
  listSamples(id: string, cell: number): Promise<CellSamples[]> { return this.reruns.listSamples(id, cell); }
  generateSamples(id: string, cell: number, request: SamplesRequest): Promise<CellSamples> { return this.reruns.generateSamples(id, cell, request); }

  previewSweep(raw: unknown, target: string): Promise<SweepPreview> { return this.sweeps.previewSweep(raw, target); }
  startSweep(raw: unknown, target: string): Promise<SweepSummary> { return this.sweeps.startSweep(raw, target); }
  previewZoom(req: ZoomRequest): Promise<ZoomPreview> { return this.sweeps.previewZoom(req); }
  startZoom(req: ZoomRequest): Promise<SweepSummary> { return this.sweeps.startZoom(req); }
  cancelSweep(id: string): Promise<SweepSummary> { return this.sweeps.cancelSweep(id); }
  resumeSweep(id: string): Promise<SweepSummary> { return this.sweeps.resumeSweep(id); }
  fillInSweep(id: string): Promise<SweepSummary> { return this.sweeps.fillInSweep(id); }
  renameSweep(id: string, name: string): Promise<SweepSummary> { return this.sweeps.renameSweep(id, name); }
  setTags(id: string, tags: string[]): Promise<SweepSummary> { return this.sweeps.setTags(id, tags); }
  deleteSweep(id: string, options?: { localOnly: boolean }): Promise<void> { return this.sweeps.deleteSweep(id, options); }

  async listBookmarks(): Promise<Bookmark[]> { return listBookmarks(this.store); }
  async addBookmark(b: NewBookmark): Promise<Bookmark> { return addBookmark(this.store, b); }
  async deleteBookmark(id: number): Promise<void> { deleteBookmark(this.store, id); }

  listTargets(): Promise<TargetInfo[]> { return this.targets.listTargets(); }
  listHosts(): Promise<HostInfo[]> { return this.targets.listHosts(); }
  addHost(host: NewHost): Promise<HostInfo> { return this.targets.addHost(host); }
  deleteHost(alias: string): Promise<void> { return this.targets.deleteHost(alias); }
  testHost(alias: string, options: HostTestOptions): Promise<HostTestResult> { return this.targets.testHost(alias, options); }

  startReproduction(req: ReproductionRequest): Promise<Reproduction> { return this.reproductions.start(req); }
  listReproductions(): Promise<Reproduction[]> { return this.reproductions.list(); }

  startSensitivity(id: string, perturbation: Perturbation): Promise<SensitivityReport> { return this.sensitivities.start(id, perturbation); }
  getSensitivity(id: string, perturbation: Perturbation): Promise<SensitivityReport> { return this.sensitivities.get(id, perturbation); }
  async exportSweep(id: string, request: ExportRequest): Promise<ExportFile> { return exportFile(this.store, id, request); }
  async getEarlyWarning(id: string, options: EarlyWarningOptions): Promise<EarlyWarningReport> { return earlyWarningReport(this.store, id, options); }
}
