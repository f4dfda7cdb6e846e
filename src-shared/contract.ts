// The one typed API between the Node side (store, runner) and the UI. Transport-agnostic: browser mode carries
// it over a WebSocket (src-main/web), the desktop shell over Electron IPC (issue 5). Every request is a method
// of `Api` taking plain JSON-able arguments; results are JSON-able values that may contain typed arrays (both
// transports carry those as binary: wire.ts for the WebSocket, structured clone for IPC). Events flow the
// other way through `subscribe`. This file holds types only (the renderer imports it with `import type`); the
// contract's values (layer names, sentinels, method names, ApiError) are in api.ts, re-exported here.
//
// Coordinates are "axis units": log10 of the hyperparameter on a log axis, the value itself on a linear one.
// Cells are row-major (index = iy * nx + ix), iy = 0 at the low end of y.

import type { PaletteName } from "./colours";
import type { ClusterTasks, CostEstimate } from "./format";
import type { Window } from "./grid";
import type { CellSamples, SamplesRequest } from "./samples";
import type { Spec } from "./spec";

export type { CellSamples, ClusterTasks, CostEstimate, SamplesRequest, Spec, Window };
export { API_METHODS, ApiError, FLIP, LAYER_NAMES, NON_FINITE, NOT_COMPUTED, NOT_DONE, SAME } from "./api";

// Types the Node side defines its code around and the UI reads: the store's sweep status and base metrics, a
// cluster host's scheduler settings (core/scheduler.ts checks them), a fitted power law (analysis/rules.ts).

export type SweepStatus = "created" | "submitted" | "running" | "completed" | "cancelled" | "failed";

export interface BaseMetrics {
  heldout_loss: number | null; ood_loss: number | null;
  evals: Record<string, { acc: number; acc_norm: number; n: number }>;
}

export interface SlurmSettings {
  kind: "slurm";
  /** array tasks a sweep is split into (each trains a disjoint shard of the cells) */
  tasks: number;
  partition: string | null;
  /** GPUs each task asks for (--gres=gpu:G); null: none asked for */
  gpusPerTask: number | null;
  /** CPUs each task asks for (--cpus-per-task); null: the partition's default */
  cpusPerTask: number | null;
  /** Slurm time limit of each task (--time): minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS */
  time: string | null;
  account: string | null;
}

export interface PowerLaw {
  /** log10(x) = intercept + exponent * log10(y), i.e. x = 10^intercept * y^exponent. */
  exponent: number;
  intercept: number;
  /** 95% confidence interval for the exponent (t distribution, n-2 degrees of freedom). */
  exponentCI: [number, number];
  exponentStdErr: number;
  r2: number;
  /** Rows used, and rows left out because the edge was censored (whole row trains) or absent. */
  n: number;
  excluded: number;
  edge: "contiguous" | "any";
  /** "rows": max xParam per row of the map as a function of yParam; "columns": the map read along its columns (xParam
   *  is then the map's y axis), the orientation the boundary crosses. */
  along: "rows" | "columns";
  /** the parameter whose largest trainable value the law gives, and the one it is a function of */
  xParam: string;
  yParam: string;
  /** The fitted law over the swept range, as [map x, map y] points in axis units, ready to draw over the map. */
  curve: [number, number][];
}

/** Colour layers of the map (analysis/colour.ts names; "score" is the paper's rank-equalised colouring, each map
 *  ranked among its own cells; "scoreTree" the same colouring with every map of a zoom tree ranked against its root's
 *  cells, so a zoom drawn over its parent reads as one picture). */
export type LayerName = "score" | "scoreTree" | "trainable" | "stable" | "finalLoss" | "heldoutLoss" | "oodLoss";

export interface SweepSummary {
  id: string;
  name: string;
  parentId: string | null;
  /** The model family the spec trains: "gpt" sweeps have base metrics, evaluations and samples. */
  family: "mlp" | "gpt";
  /** The sweep's window in axis units (x0 < x1, y0 < y1). */
  window: Window;
  nx: number;
  ny: number;
  cells: number;
  doneCells: number;
  status: SweepStatus;
  target: string;
  error: string | null;
  xAxis: { param: string; scale: "log" | "linear" };
  yAxis: { param: string; scale: "log" | "linear" };
  tags: string[];
  createdAt: string;
  updatedAt: string;
  /** Where it trained, in one line (CPU model and ISA level, BLAS and its kernel, or GPU and CUDA; torch, numpy, agent). */
  ranOn: string | null;
}

/** A named view of a sweep: opening it shows that sweep's tree at that view (the same as its ?sweep=&view= link). */
export interface Bookmark { id: number; sweepId: string; name: string; view: { cx: number; cy: number; sx: number; sy: number }; createdAt: string }
export type NewBookmark = Pick<Bookmark, "sweepId" | "name" | "view">;

export interface SweepDetail extends SweepSummary {
  spec: Spec;
  env: unknown | null;
}

/**
 * One layer of one sweep, ready for a float texture: `values` has nx*ny entries in cell order. Two sentinels
 * keep NaN out of the GPU: NOT_DONE for cells without a result, NON_FINITE for a loss that is not a positive
 * finite number. Meaning of the other values by kind:
 *   rank:   the paper's rank-equalised, negated score in [-1, 1] (converged > 0 -> blue, diverged < 0 -> red)
 *   binary: 1 (trainable / stable) or 0
 *   log:    log10 of the loss; [lo, hi] is the range over done, finite cells (colour bar ends)
 */
export interface LayerData {
  sweepId: string;
  layer: LayerName;
  kind: "rank" | "binary" | "log";
  nx: number;
  ny: number;
  values: Float32Array;
  lo: number;
  hi: number;
  doneCells: number;
  /** Cursor for getLayerDelta: the cells done after this layer was built come back as a delta since it. */
  version: number;
  /**
   * A preview (getLayerPreview): value (i, j) is the sweep's cell (i*stride, j*stride), nx x ny is the coarse grid
   * (ceil(sweep nx / stride) x ...), a score layer is ranked among those cells only, and doneCells counts them.
   * Absent (or 1) for the full layer. A preview has no delta cursor (version 0): fetch the full layer to stream.
   */
  stride?: number;
  /**
   * Boundary sampling (spec "sampling": "boundary"): 1 per cell whose values were copied from a trained cell, 0 where
   * trained (the store field `inferred`). Full layers only, absent for a sweep without inferred cells; the map hatches them.
   */
  inferred?: Uint8Array;
}

/**
 * The cells of a layer that became done since a version (results streaming in), with their layer values, so
 * the UI updates only those texels. `full` instead when the version is unknown or too old to diff against.
 * Score layers: a new cell's value is its rank among the cells of the last full ranking (layers.ts
 * rankAgainst); old cells keep theirs. That is the full re-rank up to a shift of (new cells / ranked cells) of
 * the colour scale, so the UI fetches the full layer again once enough new cells have arrived, and when the
 * sweep finishes.
 */
export type LayerDelta =
  | { kind: "delta"; sweepId: string; layer: LayerName; version: number; doneCells: number; cells: Uint32Array; values: Float32Array }
  | { kind: "full"; data: LayerData };


/** Everything known about one cell (the hover readout and the inspector). */
export interface CellDetail {
  sweepId: string;
  cell: number;
  ix: number;
  iy: number;
  /** Cell centre in axis units, and its edges. */
  centre: { x: number; y: number };
  bounds: Window;
  /** Every hyperparameter the cell ran with (grid.ts cellHparams). */
  hparams: Record<string, number | null>;
  done: boolean;
  /**
   * Recorded per-cell fields (trainable, stable, score, final_loss, heldout_loss, ood_loss, ...); null if not
   * done. A field's value is null where it is NaN (e.g. no held-out set): JSON has no NaN.
   */
  outcome: Record<string, number | null> | null;
  curve: { step: Int32Array; loss: Float32Array; gradNorm: Float32Array } | null;
  /**
   * SFT sweeps: the untrained model's held-out / OOD loss and eval accuracies (recorded once per sweep), so the
   * cell's difference from them shows what fine-tuning gained or forgot; null for other sweeps or until measured.
   */
  base: BaseMetrics | null;
}

/**
 * The loss curve of an MLP cell whose sweep did not record curves, re-trained on this computer (recomputeCurve), with
 * its outcome checked against the one the sweep recorded.
 */
export interface RecomputedCurve {
  sweepId: string;
  cell: number;
  curve: { step: Int32Array; loss: Float32Array; gradNorm: Float32Array };
  /** The re-run's outcome (api/recompute.ts CHECKED_FIELDS); null where a value is not finite (JSON has no NaN or infinity). */
  outcome: Record<string, number | null>;
  /** Where it trained, e.g. "this computer (CPU)". */
  where: string;
  /** The request's wall time in seconds, the agent's start-up included when it was not running yet. */
  seconds: number;
  /**
   * "identical": every one of those values the sweep recorded equals the re-run's at the precision it is stored in (bit
   * for bit in float64); "last-bits": the outcome (trainable, stable, divergence step) is the same and some of the numbers
   * differ; "outcome": the outcome differs; "not-recorded": the cell has no result yet. `differences` names each field.
   */
  check: "identical" | "last-bits" | "outcome" | "not-recorded";
  differences: string[];
  /** Where the re-run and the sweep trained (core/numerics.ts summaries; null where the sweep recorded no env). */
  here: string | null;
  recorded: string | null;
  /** Whether the determinism guarantee covers both machines (equal numerics); null where the recording did not say. */
  sameNumerics: boolean | null;
  /** For "outcome": cells from this one to the nearest recorded cell with the other outcome (null: none nearby). */
  boundaryDistance: number | null;
  /** The sentence the inspector shows: what the check found and why. */
  verdict: string;
  /** A difference the guarantee rules out (equal numerics), or an outcome flip far from any boundary. */
  warn: boolean;
}


/** A host the UI can test: a Host alias of ~/.ssh/config (no wildcards), a host saved in the store, or both. */
export interface HostInfo {
  alias: string;
  source: "ssh-config" | "store" | "both";
  /** From the store; null for a config-only alias (ssh config resolves it when connecting). */
  hostname: string | null;
  port: number | null;
  user: string | null;
  /** The Python to try first on the node; null: probe. */
  python: string | null;
  /** GPUs the last connection test or launch found there ("name (memory GiB)"); null when never probed. */
  gpus: string[] | null;
  /** When that probe ran (ISO time), null when never. */
  probedAt: string | null;
  /** A cluster reached through its login node: its scheduler settings, null for a plain host (docs/SLURM.md). */
  scheduler?: HostScheduler | null;
  /** The cluster's partitions as `sinfo` listed them at the last probe (null: not a Slurm login node, or never probed). */
  partitions?: string[] | null;
  /** This session's last connection test of the host, when it failed (a later success clears it). */
  lastFailure?: { message: string; at: string } | null;
}

/** How sweeps on a cluster host are submitted: a Slurm job array of `tasks` tasks per sweep (core/scheduler.ts). */
export type HostScheduler = SlurmSettings;

/** A host to save in the store (`fractal-llm hosts add`). */
export interface NewHost {
  alias: string;
  hostname: string;
  port: number;
  user: string | null;
  python: string | null;
  /** A Slurm cluster's login node: its sweeps run as job arrays (unset fields take Slurm's defaults; tasks 1). */
  scheduler?: { kind: "slurm"; tasks?: number | null; partition?: string | null; gpusPerTask?: number | null;
    cpusPerTask?: number | null; time?: string | null; account?: string | null } | null;
}

/** One interpreter the probe tried on a host: what the agent's `env` reported, or why it cannot run the agent. */
export interface InterpreterInfo {
  candidate: string;
  path: string | null;
  ok: boolean;
  problem: string | null;
  python: string | null;
  torch: string | null;
  cuda: string | null;
  cudaAvailable: boolean;
  /** "name (memory GiB)" per GPU. */
  gpus: string[];
}

/**
 * A connection test (connect, verify the host key, install the agent, probe interpreters). A refused host key is
 * a result: "unknown" can be accepted (testHost again with acceptHostKeys: [the fingerprint shown], which saves that
 * key, and only that key, in the app's trust list: a server presenting another key is refused); "changed" and
 * "revoked" cannot.
 */
/** acceptHostKeys: fingerprints ("SHA256:...") the user was shown and accepted; [] accepts nothing new. */
export interface HostTestOptions { acceptHostKeys: string[] }

export type HostTestResult =
  | { status: "ok"; alias: string; label: string; installDir: string; python: string; interpreters: InterpreterInfo[] }
  | {
    status: "host-key"; alias: string; message: string;
    hostKey: {
      problem: "unknown" | "changed" | "revoked"; host: string; port: number; keyType: string;
      /** OpenSSH format, SHA256:... */
      fingerprint: string;
      /** For "changed": the fingerprints on record. */
      knownFingerprints: string[];
    };
  }
  | { status: "error"; alias: string; kind: string; message: string };

/** A zoom into a box of a parent sweep (shift-drag on the map). */
export interface ZoomRequest {
  parentId: string;
  /** Requested box in axis units; snapped outward to the parent's cell edges. */
  window: Window;
  /** Points per axis of the child. */
  points: number;
  /** Training steps per cell (MLP); null keeps the parent's. */
  steps: number | null;
  /** Where it runs: "local" or a host alias (listTargets); the UI defaults to the parent's target. */
  target: string;
  name?: string;
}

export interface ZoomPreview {
  spec: Spec;
  window: Window;
  cost: CostEstimate;
  warnings: string[];
}

/**
 * Somewhere a sweep can run, for the editor's and the zoom dialog's target pickers: the laptop ("local") or a
 * host of the host manager (a ~/.ssh/config alias or a saved host). Estimates use what the last connection
 * test or launch probed there; a host never probed is estimated as one GPU of `device`.
 */
export interface TargetInfo {
  target: string;
  kind: "local" | "ssh";
  /** "this computer (CPU)", "user@host:22", "from ~/.ssh/config". */
  description: string;
  /** GPUs the last probe found ("NVIDIA H100 80GB HBM3 (80 GiB)"), [] for none; null when never probed. */
  gpus: string[] | null;
  /** The cost model's device (core/cost.ts DEVICES key: cpu, h100, h200, a100). */
  device: string;
  /** Devices a sweep runs on at once there (GPUs on a node, 1 for the laptop's CPU). */
  count: number;
  /** Points per axis a zoom scan defaults to there: hundreds on a GPU node, a few dozen on a CPU. */
  zoomPoints: number;
  /** When the probe ran (ISO time), null when never. */
  probedAt: string | null;
}

/** A new sweep checked before it starts: the normalised spec, its cost and resolution warnings. */
export interface SweepPreview {
  spec: Spec;
  cost: CostEstimate;
  warnings: string[];
}

/** Which boundary an analysis measures, and whether it pools the sweep's zoom path (root first). */
export interface AnalysisOptions {
  layer: "trainable" | "stable";
  sequence: boolean;
}

/** A number or the reason it cannot be computed (e.g. the map is incomplete, or has no boundary). */
export type Computed<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A box-counting estimate (analysis/dimension.ts DimensionEstimate). */
export interface DimensionFit {
  dimension: number;
  method: "median-local-slope" | "least-squares";
  sizes: number[];
  counts: number[];
  localSlopes: number[];
}

/** Power law max_x = 10^intercept * y^exponent through the per-row edge, with the curve to draw over the map. */
export type EdgePowerLaw = PowerLaw;

/**
 * Fractal dimension and edge of stability of one sweep (src-main/analysis over the store). Coordinates are axis
 * units. `levels` is the zoom path root first when `sequence` was asked and the sweep has a parent, else just
 * the sweep; boundary, edge and power law are always of the sweep itself.
 */
export interface SweepAnalysis {
  sweepId: string;
  layer: "trainable" | "stable";
  levels: { sweepId: string; paper: Computed<DimensionFit>; leastSquares: Computed<DimensionFit> }[];
  /** Pooled over the zoom path (median of every level's local slopes); null for a single sweep. */
  sequence: Computed<{ dimension: number; pooledLeastSquares: number }> | null;
  /** Log-log plot of box count vs box size, one series per level (analysis/report.ts dimensionSvg); null if none. */
  plotSvg: string | null;
  boundary: { points: [number, number][]; closed: boolean }[];
  /** Per row: the largest x such that every cell at or below it trains; censored when the whole row does. */
  edge: { y: number; x: number; censored: boolean }[];
  powerLaw: Computed<EdgePowerLaw>;
  /** 95% bootstrap interval of the project's estimate of the sweep itself (its local slopes resampled) */
  projectCi: Computed<[number, number]>;
  /** 95% interval of the pooled zoom-path estimate (levels, then their slopes, resampled); null for a single sweep */
  sequenceCi: Computed<[number, number]> | null;
  /** The paper's estimator over the same maps (the zoom path's levels as frames when pooled, else the sweep alone). */
  paperMethod: Computed<PaperMethodEstimate>;
  /** The sweep measured again at half its resolution (its cells (2i, 2j), the same window): the bias of a small grid. */
  resolutionBias: ResolutionBias;
}

/** The paper's estimator (analysis/paper-dimension.ts: porespy boxcount on the edge image, median np.gradient slope). */
export interface PaperMethodEstimate {
  dimension: number;
  /** 95% bootstrap interval over frames and box sizes */
  ci: [number, number];
  /** maps pooled as frames */
  frames: number;
  /** box sides of the first frame in edge-image pixels (porespy's 10 log-spaced sizes from 10 to the side, unique) */
  sizes: number[];
  /** local slopes left out because a box count was 0 */
  dropped: number;
}

/** One estimator at a map's resolution and at half of it. */
export interface ResolutionPair {
  full: number;
  half: number;
  /** half - full */
  difference: number;
  fullCi: [number, number] | null;
  halfCi: [number, number] | null;
}

/** What halving the grid does to each estimator (analysis/uncertainty.ts resolutionBias). */
export interface ResolutionBias {
  full: { nx: number; ny: number };
  half: { nx: number; ny: number };
  /** the project's estimator (median local slope, box sizes 2..side/4) */
  project: Computed<ResolutionPair>;
  /** the paper's */
  paper: Computed<ResolutionPair>;
}

/** When an init_offset axis's offset is added to W0 (spec model.init_offset_form): once, or before every step. */
export type InitOffsetForm = "once" | "every_step";

/**
 * A reproduction of one experiment of Table 1 of Sohl-Dickstein (2024) (shared/table1.ts names them): the root map of
 * points x points cells, `levels` zooms into its boundary (each window chosen on the boundary automatically, core/
 * reproduce.ts), and the paper's estimator over every level, on `target`.
 */
export interface ReproductionRequest {
  name: string;
  /** cells a side of every level, at least shared/table1.ts MIN_TABLE1_POINTS */
  points: number;
  /** zooms after the root map (0: the root alone) */
  levels: number;
  target: string;
  /** tanh-init-offset only; absent or null: the notebook's every_step */
  initOffsetForm?: InitOffsetForm | null;
  /**
   * "project" (default): the root and `levels` zooms, each a quarter of its parent, the project's median slope over
   * them. "paper": the root picks a boundary point and `keyframes` concentric maps 2x apart about it are measured the
   * notebook's way (porespy boxcount, np.gradient slopes, bootstrap interval); `levels` is then not used.
   */
  method?: ReproductionMethod;
  /** keyframes of the paper's method (at least 1; default launch/reproduce.ts DEFAULT_KEYFRAMES) */
  keyframes?: number;
}

export type ReproductionMethod = "project" | "paper";

/** One level of a reproduction: its sweep (open it on the map) and what it measured. */
export interface ReproductionLevelReport {
  level: number;
  sweepId: string;
  /** axis units */
  window: Window;
  points: number;
  status: SweepStatus;
  doneCells: number;
  cells: number;
  /** the level's own box-counting dimension (median local slope); null until its map is complete, or without one */
  dimension: number | null;
  /** fraction of cells that train; null until the map is complete */
  trainableFraction: number | null;
  /** "root": the root map; "zoom": a zoom of the project's method; "keyframe": a keyframe of the paper's method */
  kind: "root" | "zoom" | "keyframe";
}

/**
 * A reproduction and its report beside the paper's number. Read back from the store's sweeps (their ids are hashes
 * of the specs, so the same experiment, resolution, form and target always find the same chain): it survives a
 * restart, shows `fractal-llm reproduce` runs too, and holds every level any run of it made.
 */
export interface Reproduction {
  /** the root map's sweep id (the project's method), or it with ":paper" appended (the paper's method on that root) */
  id: string;
  /** the root map's sweep id */
  rootId: string;
  /** which estimator and levels measure `dimension` (ReproductionRequest.method) */
  method: ReproductionMethod;
  /** the estimator in words, e.g. "porespy boxcount, 10 sizes 10 px–side, median np.gradient slope" */
  estimator: string;
  /** the maps measured, e.g. "64² × 3 keyframes" or "64² × 3 levels (root + 2 zooms)" */
  resolution: string;
  /** 95% bootstrap interval of `dimension` (frames, then their slopes, resampled); null with it */
  ci: [number, number] | null;
  name: string;
  title: string;
  points: number;
  target: string;
  /** tanh-init-offset: the form it ran in; null for the other experiments */
  initOffsetForm: InitOffsetForm | null;
  /**
   * running: this app runs it now; completed: every level recorded is complete; incomplete: a level is unfinished
   * and nothing here runs it (start it again: finished maps come from the store); failed: a level failed, or the
   * run ended with an error (no boundary to zoom into, a cancelled level).
   */
  state: "running" | "completed" | "incomplete" | "failed";
  /** zooms the run of this session asked for; null when read back from the store alone */
  levelsRequested: number | null;
  levels: ReproductionLevelReport[];
  paperDimension: number;
  /** the paper's estimator: the median of every complete level's local slopes; null until one is complete */
  dimension: number | null;
  /** cross-check: a common-slope least-squares fit over the levels */
  dimensionLeastSquares: number | null;
  /** dimension - paperDimension */
  difference: number | null;
  error: string | null;
}

/** What a sensitivity companion changes (launch/sensitivity.ts): float64 <-> float32 (bf16 -> float32 for SFT), or model.seed + 1. */
export type Perturbation = "precision" | "seed";

/**
 * A sweep against its companion: the same spec with one change that should not matter, run as a sweep of its own on
 * the sweep's target, compared cell by cell (analysis/sensitivity.ts). Computed over the cells both maps have done,
 * so it fills in while the companion runs.
 */
export interface SensitivityReport {
  sweepId: string;
  perturbation: Perturbation;
  /** the change in words, e.g. "train.precision float64 -> float32" */
  change: string;
  /** the companion's sweep id (what its spec hashes to on the sweep's target), recorded or not */
  companionId: string;
  /** "none": no companion recorded yet; "running": this app follows it now; else the companion's sweep status */
  state: "none" | "running" | SweepStatus;
  doneCells: number;
  cells: number;
  layer: "trainable";
  /** the sweep's cells in a 2x2 neighbourhood of both outcomes (both maps done), and how many flip */
  boundaryCells: number;
  boundaryFlips: number;
  boundaryFlipFraction: number | null;
  interiorCells: number;
  interiorFlips: number;
  interiorFlipFraction: number | null;
  /** per cell (row-major): FLIP (1) where the outcome differs, SAME (0) where it does not, NOT_COMPUTED (2) where either map lacks the cell */
  flips: Uint8Array;
  error: string | null;
}

/** A file the app makes of a sweep (exportSweep): the bytes to download or save, and what they are. */
export interface ExportRequest {
  /** csv / json / png: the map as `fractal-llm export`; html / md: the report as `fractal-llm report` (md with images inline) */
  format: "csv" | "json" | "png" | "html" | "md";
  /** png: the colour layer drawn (default score); reports: the boundary measured (trainable or stable) */
  layer?: LayerName;
  /** png: the layer's colour map, as the map shows it (colours.ts PALETTES; default the paper's for the layer) */
  palette?: PaletteName;
  /** reports: the sweep's zoom path, root first, rather than the sweep alone */
  sequence?: boolean;
}

export interface ExportFile {
  /** a file name to save it as, e.g. "tanh-1a2b3c.csv" */
  name: string;
  mime: string;
  data: Uint8Array;
  /** cells with a result that it holds (map exports); null for reports */
  cells: number | null;
}

/** Early warning (analysis/earlywarning.ts): did grad-norm growth or a loss spike early in training flag the cells that did not train? */
export interface EarlyWarningOptions {
  layer: "trainable" | "stable";
  /** fraction of training that is "early" (default 0.1) */
  fraction?: number;
  /** grad-norm growth over its first value that flags a cell (default 10) */
  gradGrowth?: number;
  /** loss over its running minimum that flags a cell (default 2) */
  lossSpike?: number;
}

export interface EarlyWarningCounts { truePositive: number; falsePositive: number; falseNegative: number; trueNegative: number; precision: number | null; recall: number | null }

export interface EarlyWarningReport {
  sweepId: string;
  /** cells with recorded curves that it read */
  cells: number;
  /** steps that count as early, of totalSteps */
  horizon: number;
  totalSteps: number;
  overall: EarlyWarningCounts;
  gradNorm: EarlyWarningCounts;
  lossSpike: EarlyWarningCounts;
}

export type ApiEvent =
  | { type: "sweep-updated"; sweep: SweepSummary }
  | { type: "sweep-deleted"; id: string }
  /** tasks: a sweep on a Slurm cluster, its array tasks as the login node last saw them */
  | { type: "progress"; sweepId: string; done: number; total: number; rate: number; eta: number | null; status: SweepStatus;
      tasks?: ClusterTasks }
  /** Something to tell the user; "error" for a sweep that failed or could not be followed, "done" when one ends. */
  | { type: "notice"; sweepId: string | null; message: string; level?: "info" | "done" | "error" }
  /** A reproduction started, moved to its next level, or ended. */
  | { type: "reproduction-updated"; reproduction: Reproduction };

export interface Api {
  listSweeps(): Promise<SweepSummary[]>;
  getSweep(id: string): Promise<SweepDetail>;
  getLayer(id: string, layer: LayerName): Promise<LayerData>;
  getCell(id: string, cell: number): Promise<CellDetail>;
  /**
   * The loss curve of an MLP cell its sweep did not record (CellDetail.curve null): the cell re-trained alone on this
   * computer's CPU through the local agent, and checked against the recorded outcome. Other families refuse.
   */
  recomputeCurve(id: string, cell: number): Promise<RecomputedCurve>;
  /** The cells done since `since` (a LayerData or LayerDelta version) with their values, or the full layer. */
  getLayerDelta(id: string, layer: LayerName, since: number): Promise<LayerDelta>;
  /**
   * A coarse layer to draw at once while the full one loads (a 4096^2 map's full layer is 64 MB and a full
   * ranking): every stride-th cell per axis, stride the smallest power of two with at most maxSide cells a side.
   * Also the library's thumbnails and the overview map.
   */
  getLayerPreview(id: string, layer: LayerName, maxSide: number): Promise<LayerData>;
  /** Fractal dimension (per level and pooled), boundary polylines and the edge power law of a sweep's layer. */
  getAnalysis(id: string, options: AnalysisOptions): Promise<SweepAnalysis>;
  /** Validate a raw spec (errors name the field) and estimate its cost on `target`. */
  previewSweep(spec: unknown, target: string): Promise<SweepPreview>;
  /** Record a new top-level sweep and start it on its target. */
  startSweep(spec: unknown, target: string): Promise<SweepSummary>;
  previewZoom(req: ZoomRequest): Promise<ZoomPreview>;
  /** Record the child sweep and start it on its target; it streams in through "sweep-updated" events. */
  startZoom(req: ZoomRequest): Promise<SweepSummary>;
  renameSweep(id: string, name: string): Promise<SweepSummary>;
  setTags(id: string, tags: string[]): Promise<SweepSummary>;
  /** Named views the user kept, oldest first (gone with their sweep). */
  listBookmarks(): Promise<Bookmark[]>;
  /** Keep the view `view` of sweep `sweepId` under `name`. */
  addBookmark(bookmark: NewBookmark): Promise<Bookmark>;
  deleteBookmark(id: number): Promise<void>;
  /** Cancel a running sweep on its target (finished cells are kept); resolves once the agent took the request. */
  cancelSweep(id: string): Promise<SweepSummary>;
  /** Start a cancelled or failed sweep again on its target; cells already finished are not re-run. */
  resumeSweep(id: string): Promise<SweepSummary>;
  /**
   * Train the cells a boundary sweep inferred: starts (or shows) the grid sweep of the same spec on the same target,
   * which the agent begins from the boundary sweep's trained cells, so only the inferred ones train; its map is the
   * exhaustive one (every cell inferred 0). The boundary sweep is kept as it is. Errors: not a boundary sweep.
   */
  fillInSweep(id: string): Promise<SweepSummary>;
  /**
   * Delete a sweep with its results and every zoom below it, here and on its targets (journals, and uploaded
   * data files no other sweep uses). A running sweep is cancelled first. localOnly: forget it here only (a node
   * that no longer exists).
   */
  deleteSweep(id: string, options?: { localOnly: boolean }): Promise<void>;
  /** "local" and every host, with their probed GPUs and the defaults that follow (zoom resolution, cost device). */
  listTargets(): Promise<TargetInfo[]>;
  /** Hosts from ~/.ssh/config and the store. */
  listHosts(): Promise<HostInfo[]>;
  /** Save (or update) a host in the store. */
  addHost(host: NewHost): Promise<HostInfo>;
  /** Forget a saved host; refused while a sweep on it is unfinished. */
  deleteHost(alias: string): Promise<void>;
  /** Connect to a host, install the agent and probe its interpreters. */
  testHost(alias: string, options: HostTestOptions): Promise<HostTestResult>;
  /** Samples kept for an SFT cell (base vs fine-tuned answers), newest first; [] when none were generated. */
  listSamples(id: string, cell: number): Promise<CellSamples[]>;
  /**
   * Re-train an SFT cell on its sweep's target and answer the request's prompts (null: the first held-out
   * conversations) with the base and the fine-tuned model; kept, so a repeated request is answered offline.
   */
  generateSamples(id: string, cell: number, request: SamplesRequest): Promise<CellSamples>;
  /**
   * Reproduce one Table 1 experiment in the background on its target (launch/reproduce.ts reproduceExperiment): resolves
   * once the target is open and it runs; its levels follow as "reproduction-updated", "progress" and "notice" events.
   * Started again with the same settings, it continues: finished maps come from the store. Stop it by cancelling its
   * running level's sweep.
   */
  startReproduction(req: ReproductionRequest): Promise<Reproduction>;
  /** Every Table 1 reproduction the store holds (from the app or `fractal-llm reproduce`), with its report. */
  listReproductions(): Promise<Reproduction[]>;
  /**
   * Run a completed sweep's sensitivity companion (the same spec, `perturbation` changed) on its target in the
   * background, as `fractal-llm sensitivity` does; resolves once it runs. Its progress comes as the companion's
   * "sweep-updated" / "progress" events; getSensitivity reads the comparison at any time.
   */
  startSensitivity(id: string, perturbation: Perturbation): Promise<SensitivityReport>;
  /** The sweep against its companion as far as both are done (state "none" and no flips while none is recorded). */
  getSensitivity(id: string, perturbation: Perturbation): Promise<SensitivityReport>;
  /** A file of the sweep: the map as CSV, JSON or PNG, or its report as HTML or Markdown (`fractal-llm export` / `report`). */
  exportSweep(id: string, request: ExportRequest): Promise<ExportFile>;
  /** Early warning over the sweep's recorded curves (`fractal-llm early-warning`); refuses a sweep without curves. */
  getEarlyWarning(id: string, options: EarlyWarningOptions): Promise<EarlyWarningReport>;
  subscribe(listener: (e: ApiEvent) => void): () => void;
}

/** The request methods (everything but subscribe), for transports that dispatch by name. */
export type ApiMethod = Exclude<keyof Api, "subscribe">;

