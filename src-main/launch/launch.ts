// The one launch path, shared by the CLI and the app's API service: a spec and a target name in, a sweep
// recorded in the store and followed to its end out.
//
//   prepareSweep   the spec as it runs there (laptop paths made absolute for local; for a node, jsonl: data and
//                  eval files renamed to their content-addressed copies), its id, warnings, the files to upload
//   recordSweep    upload the files (before anything is recorded: the agent reads them at once), record the sweep
//   followSweep    submit and follow it on the target (sweep-runner.ts: replay, live events, reconnect, backoff)
//   prepareZoom    a child of a stored sweep over a window, for the zoom's own target: never node-only paths
//   agentRequest   one request to the target's daemon (cancel, delete) outside any follow
//
// The target itself is opened by targets.ts. Nothing here prints: callers report through callbacks.

import { zoomSpec, resolutionWarnings, type Window } from "../../src-shared/grid";
import { absoluteLocalPaths, type LocalFile, planLocalData } from "../core/local-data";
import { canonicalJson, samplingOf, type Spec, validate } from "../../src-shared/spec";
import { sweepIdFor } from "../core/sweep-id";
import type { Store, SweepRow } from "../core/store";
import { AttachSession, tail } from "../core/agent-client";
import { type Progress, type RunResult, runSweep } from "../core/sweep-runner";
import { type OpenTarget, remoteRootOf } from "./targets";
import { agentScheduler } from "../core/scheduler";
import type { Transport } from "../core/transport";
import type { UploadResult } from "../ssh/index";

export interface PreparedSweep {
  id: string;
  target: string;
  /** the spec as the agent there reads it (the sweep's id hashes this) */
  spec: Spec;
  /** the spec as given, laptop paths absolute: kept with the sweep so a zoom elsewhere can start from it */
  source: Spec;
  /** laptop files the node needs (none for local) */
  files: LocalFile[];
  /** the sweep already in the store under this id, if any (re-running a command resumes it) */
  existing: SweepRow | undefined;
  warnings: string[];
}

/**
 * Make `given` (validated) runnable on `target`. The rewrite comes before the id: the id hashes the spec, so it
 * follows the uploaded files' contents. `fresh` gives a new id instead of the spec's own (resume) one.
 */
export async function prepareSweep(store: Store, given: Spec, target: string, fresh: boolean): Promise<PreparedSweep> {
  const source = absoluteLocalPaths(given);
  const { spec, files } = target === "local"
    ? { spec: source, files: [] }
    : planLocalData(source, { remoteRoot: await remoteRootOf(store, target) });
  const id = sweepIdFor(spec, target, fresh);
  return { id, target, spec, source, files, existing: store.sweep(id), warnings: resolutionWarnings(spec) };
}

/** Raised before anything is uploaded or recorded when a target cannot run a sweep as specified. */
export class LaunchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LaunchError";
  }
}

/**
 * Put the sweep's laptop files on the node, then record the sweep (unless it is already recorded). A boundary sweep on a
 * Slurm cluster is refused first (the agent would fail it: its job arrays are fixed before any level is trained).
 */
export async function recordSweep(store: Store, p: PreparedSweep, t: Pick<OpenTarget, "upload" | "scheduler">,
  onFile?: (r: UploadResult) => void): Promise<SweepRow> {
  if (t.scheduler && samplingOf(p.spec) !== "grid") {
    throw new LaunchError(`"sampling": "${samplingOf(p.spec)}" cannot run on ${p.target}, a Slurm cluster: its job arrays are submitted `
      + `with their cells fixed, and boundary sampling picks each level's cells from the level before. Set "sampling": "grid", `
      + "or run it on a host saved without --scheduler");
  }
  await t.upload(p.files, onFile);
  return store.sweep(p.id) ?? store.createSweep({ id: p.id, spec: p.spec, target: p.target, sourceSpec: p.source });
}

export interface FollowOptions {
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  onNotice?: (message: string) => void;
  /** Re-queue the sweep on the node if it was cancelled or failed there (finished cells are kept). */
  resume?: boolean;
  /** Consecutive connections without a hello before giving up (the runner's default when absent). */
  maxFailures?: number;
  flushMs?: number;
}

/**
 * Submit (if the node does not have it) and follow a recorded sweep until it ends or `signal` aborts. A grid sweep
 * with a boundary twin on the same target (fillInSource) names it as `fill_from`: a new sweep on the node then starts
 * from the twin's trained cells (the same bits) and trains only the cells the twin inferred.
 */
export function followSweep(store: Store, id: string, t: OpenTarget, o: FollowOptions = {}): Promise<RunResult> {
  const row = store.sweep(id);
  const twin = row ? fillInSource(store, row) : undefined;
  return runSweep({
    store, sweepId: id, connect: (attempt) => t.connect(attempt), signal: o.signal, onProgress: o.onProgress,
    onNotice: o.onNotice, resume: o.resume, maxFailures: o.maxFailures, flushMs: o.flushMs,
    submitFields: t.scheduler || twin
      ? { ...(t.scheduler ? { scheduler: agentScheduler(t.scheduler) } : {}), ...(twin ? { fill_from: twin.id } : {}) }
      : undefined,
  });
}

/** Raised when a sweep cannot be filled in (not a boundary sweep, nothing inferred): the message says why. */
export class FillInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FillInError";
  }
}

/**
 * The spec that fills in boundary sweep `row`'s inferred cells: the same spec with every cell trained (sampling
 * grid), from the laptop spec it was launched with, so prepareSweep makes it runnable on the same target. Its map is
 * the exhaustive one; followSweep sends the boundary sweep as its `fill_from`, so only the inferred cells train.
 */
export function fillInSpec(row: SweepRow): Spec {
  if (samplingOf(row.spec) !== "boundary") {
    throw new FillInError(`sweep ${row.id} was sampled on a ${samplingOf(row.spec)} (every cell trained): there is nothing to fill in`);
  }
  const { sampling: _, ...grid } = row.source_spec ?? row.spec;
  return validate(grid);
}

/** The boundary sweep on `row`'s target whose fill-in `row` is (its spec with sampling grid), if any. */
export function fillInSource(store: Store, row: SweepRow): SweepRow | undefined {
  if (samplingOf(row.spec) !== "grid") return undefined;
  const want = canonicalJson(row.spec);
  return store.sweeps().find((s) => s.id !== row.id && s.target === row.target && samplingOf(s.spec) === "boundary"
    && canonicalJson((({ sampling: _, ...grid }) => grid)(s.spec)) === want);
}

/** Raised when a zoom cannot be made (window outside the parent, node-only files, ...): the message says why. */
export class ZoomError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ZoomError";
  }
}

/**
 * The raw child spec of a zoom into `window` of `parent`, to run on `target`. On the parent's own target the
 * parent's spec is used as it ran (its node copies of the data are there); elsewhere the zoom starts from the
 * spec as given on the laptop, so prepareSweep makes it runnable there (absolute laptop paths, or uploads to
 * that node). A sweep recorded before the laptop spec was kept, whose data lives only on its node, is refused.
 * The result still needs validate() and prepareSweep().
 */
export function zoomChildSpec(parent: SweepRow, window: Window, points: number, target: string): Spec {
  let base = parent.spec;
  if (target !== parent.target) {
    if (parent.source_spec) base = parent.source_spec;
    else if (parent.target !== "local" && nodeFiles(parent.spec).length) {
      throw new ZoomError(`sweep ${parent.id} reads ${nodeFiles(parent.spec).join(", ")} on ${parent.target}, and this database does not `
        + `know which laptop files they came from; run the zoom on ${parent.target}`);
    }
  }
  try {
    return zoomSpec(base, parent.id, window, points);
  } catch (e) {
    throw new ZoomError((e as Error).message);
  }
}

/** The data and eval paths a spec reads (jsonl: files, evals_dir), as the spec names them. */
export function nodeFiles(spec: Spec): string[] {
  const d = spec.data;
  if (!d) return [];
  const out: string[] = [];
  for (const v of [d.dataset, d.ood]) if (v?.startsWith("jsonl:")) out.push(v.slice("jsonl:".length));
  if (d.evals_dir) out.push(d.evals_dir);
  return out;
}

/** Uploads under the node's root that `sweeps` read and no other sweep on the same target does. */
export async function orphanedUploads(store: Store, target: string, sweeps: readonly SweepRow[]): Promise<string[]> {
  const root = (await remoteRootOf(store, target)).replace(/\/+$/, "") + "/";
  const gone = new Set(sweeps.map((s) => s.id));
  const kept = new Set(store.sweeps().filter((s) => s.target === target && !gone.has(s.id)).flatMap((s) => nodeFiles(s.spec)));
  const mine = new Set(sweeps.flatMap((s) => nodeFiles(s.spec)).filter((p) => p.startsWith(root)));
  return [...mine].filter((p) => !kept.has(p));
}

/**
 * One request to the daemon on a transport, outside any follow: attach to `sweep` past every event it has (no
 * replay), send the op, return the reply. A node that does not know the sweep answers with its own error.
 */
export async function agentRequest(transport: Transport, op: string, sweep: string): Promise<Record<string, unknown>> {
  const session = await AttachSession.open(transport, ["--sweep", sweep, "--since", String(2 ** 31)]);
  try {
    const hello = await session.hello();
    if (hello.type !== "hello") {
      const st = await session.closed;
      throw new Error(`the agent on ${transport.label} did not answer (code ${st.code}${st.stderr ? ": " + tail(st.stderr, 300) : ""})`);
    }
    return await session.request(op, { sweep });
  } finally {
    await session.end();
  }
}
