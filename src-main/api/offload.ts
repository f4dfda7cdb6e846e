// Heavy, pure work of the service in a worker thread (offload-worker.ts), so the event loop that serves the UI
// never stops for seconds: ranking a 4096^2 score layer takes ~1 s, the analysis of such a map ~3 s. Started
// on first use; where the worker cannot start (the bundled Electron main, which ships no separate worker file)
// or dies, the same functions run in-thread, so results never depend on where they were computed.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { Store } from "../core/store";
import type { Numeric } from "../core/tiles";
import { sweepAnalysis } from "./analysis";
import type { AnalysisOptions, SweepAnalysis } from "../../src-shared/contract";
import { type RankReference, rankLayerWithReference } from "./layers";
import type { OffloadRequest } from "./offload-worker";

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };
type Payload = OffloadRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/** Thrown when the worker is gone; the caller then computes in-thread. */
class WorkerGone extends Error {}

export class Offload {
  private worker: Worker | null = null;
  private broken = false;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  /** Start the worker now (it takes about a second to load), so the first heavy call does not wait for it. */
  warm(): void {
    this.ensure();
  }

  private ensure(): Worker | null {
    if (this.worker || this.broken) return this.worker;
    const boot = new URL("./offload-boot.mjs", import.meta.url), entry = new URL("./offload-worker.ts", import.meta.url);
    if (boot.protocol !== "file:" || !existsSync(fileURLToPath(boot)) || !existsSync(fileURLToPath(entry))) {
      this.broken = true;
      return null;
    }
    const w = new Worker(boot, { workerData: { entry: entry.href } });
    w.unref();
    w.on("message", (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error)); else p.resolve(m.result);
    });
    const gone = (why: string) => {
      this.broken = true;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(new WorkerGone(why));
      this.pending.clear();
    };
    w.on("error", (e) => gone(e.message));
    w.on("exit", (code) => gone(`exit ${code}`));
    this.worker = w;
    return w;
  }

  private call<T>(msg: Payload, transfer: ArrayBuffer[]): Promise<T> {
    const w = this.ensure();
    if (!w) return Promise.reject(new WorkerGone("no worker"));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      w.ref(); // keep the process alive while a call is out
      w.postMessage({ id, ...msg }, transfer);
    }).finally(() => { if (!this.pending.size) this.worker?.unref(); });
  }

  /**
   * The paper's rank colouring of a score field (layers.ts rankLayerWithReference). `reload` gives the field again
   * if the worker dies after the arrays were handed over (they move to the worker, not copied).
   */
  async rank(score: Numeric, done: Uint8Array, reload: () => { score: Numeric; done: Uint8Array }): Promise<{ values: Float32Array; ref: RankReference }> {
    try {
      const r = await this.call<{ values: Float32Array; sorted: Float64Array; nNeg: number }>(
        { kind: "rank", score, done }, [score.buffer as ArrayBuffer, done.buffer as ArrayBuffer]);
      return { values: r.values, ref: { sorted: r.sorted, nNeg: r.nNeg } };
    } catch (e) {
      if (!(e instanceof WorkerGone)) throw e;
      const again = score.buffer.byteLength ? { score, done } : reload();
      return rankLayerWithReference(again.score, again.done);
    }
  }

  /** getAnalysis's numbers; the worker opens the database itself (in-thread for an in-memory store). */
  async analysis(store: Store, sweepId: string, options: AnalysisOptions): Promise<SweepAnalysis> {
    if (store.path === ":memory:") return sweepAnalysis(store, sweepId, options);
    try {
      return await this.call<SweepAnalysis>({ kind: "analysis", dbPath: store.path, sweepId, options }, []);
    } catch (e) {
      if (!(e instanceof WorkerGone)) throw e;
      return sweepAnalysis(store, sweepId, options);
    }
  }

  close(): void {
    const w = this.worker;
    this.broken = true;
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error("the service closed"));
    this.pending.clear();
    void w?.terminate();
  }
}
