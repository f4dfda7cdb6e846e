// Drive one sweep on an agent and keep the local store in step with its journal.
//
// Each connection runs `attach --sweep ID --since <cursor>`: the daemon replays the journal after the stored
// cursor, then streams live events. If the node does not know the sweep yet, we submit it (client-chosen id)
// and follow it. Events are ingested in batches (store.ingest is idempotent: replays change nothing). When the
// attach exits or the connection drops before the sweep's "done" event, we reconnect with exponential backoff
// and follow from the stored cursor; the daemon keeps training meanwhile. The sweep id is recorded before the
// first submit, so an interrupted CLI re-run resumes the same sweep (cli/sweep.ts explains the id choice).

import { AttachSession, PROTOCOL_VERSION, type AgentMessage, tail, text } from "./agent-client";
import type { SweepStatus } from "../../src-shared/contract";
import { type JournalEvent, type Store, StoreBusyError, TERMINAL } from "./store";
import { canonicalJson } from "../../src-shared/spec";
import { type ClusterTasks, clusterTasks } from "../../src-shared/format";
import type { Transport } from "./transport";

export interface Progress {
  sweep: string;
  done: number;
  total: number;
  /** cells per second over the last RATE_WINDOW_S seconds (0 until two samples) */
  rate: number;
  /** seconds to go at that rate, or null when unknown */
  eta: number | null;
  status: SweepStatus;
  /** A sweep on a Slurm cluster: its array tasks at the login node's last look at the queue; else absent. */
  tasks?: ClusterTasks;
}

export interface RunnerOptions {
  store: Store;
  sweepId: string;
  /** Returns a transport to (re)connect through; called again after a failed connection (SSH: a fresh one). */
  connect: (attempt: number) => Promise<Transport>;
  onProgress?: (p: Progress) => void;
  onNotice?: (msg: string) => void;
  /** Stop following (the agent keeps the sweep running) when this aborts. */
  signal?: AbortSignal;
  /** Consecutive failed connections (no hello) before giving up. */
  maxFailures?: number;
  backoffMs?: { first: number; max: number };
  /** Ingest at least this often while events stream in. */
  flushMs?: number;
  /** A sweep the node has as cancelled or failed is submitted again (re-queued there; finished cells kept). */
  resume?: boolean;
  /** More fields of the submit request (a cluster's `scheduler` settings: the agent runs the sweep as job arrays). */
  submitFields?: Record<string, unknown>;
}

export interface RunResult { status: SweepStatus | "detached"; error: string | null; done: number; total: number }

const RATE_WINDOW_S = 10;

/** An error that reconnecting cannot fix (bad spec on the agent, protocol mismatch, unknown sweep). */
export class FatalAgentError extends Error {}

/** How long a follower keeps results it cannot store while another process holds the database's lock. */
const BUSY_GIVE_UP_MS = 120_000;

/** Following stopped because the agent could not be reached, again and again: the sweep itself may be fine. */
export class GaveUpError extends FatalAgentError {}

export async function runSweep(o: RunnerOptions): Promise<RunResult> {
  const { store, sweepId } = o;
  const sweep = store.sweep(sweepId);
  if (!sweep) throw new Error(`unknown sweep ${sweepId}`);
  const maxFailures = o.maxFailures ?? 8;
  const backoff = o.backoffMs ?? { first: 250, max: 30_000 };
  const samples: [number, number][] = [];
  let tasks: ClusterTasks | null = null;
  const progress = () => {
    const s = store.sweep(sweepId)!;
    const t = performance.now() / 1000;
    samples.push([t, s.done_cells]);
    while (samples.length > 2 && t - samples[0][0] > RATE_WINDOW_S) samples.shift();
    const [t0, d0] = samples[0];
    const rate = t - t0 > 0.2 ? (s.done_cells - d0) / (t - t0) : 0;
    o.onProgress?.({ sweep: sweepId, done: s.done_cells, total: s.cells, rate, eta: rate > 0 ? (s.cells - s.done_cells) / rate : null, status: s.status,
      ...(tasks ? { tasks } : {}) });
  };

  // Connections that never said hello count towards giving up; sessions that said hello but brought nothing
  // new (the daemon restarting, a flapping link) only lengthen the backoff, since the sweep is alive.
  let failures = 0, fruitless = 0, sessionEvents = 0;
  let transport: Transport | null = null;
  for (let attempt = 0; ; attempt++) {
    if (o.signal?.aborted) return finish("detached");
    let gotHello = false;
    sessionEvents = 0;
    try {
      transport = await o.connect(attempt);
      const outcome = await followOnce(transport, () => { gotHello = true; failures = 0; });
      if (outcome === "done") {
        const s = store.sweep(sweepId)!;
        progress();
        return { status: s.status, error: s.error, done: s.done_cells, total: s.cells };
      }
      if (outcome === "detached") return finish("detached");
      o.onNotice?.(`connection to the agent on ${transport.label} ended before the sweep finished (${outcome}); reconnecting`);
    } catch (e) {
      if (e instanceof FatalAgentError) throw e;
      o.onNotice?.(`agent connection failed: ${(e as Error).message}`);
    }
    if (!gotHello && ++failures >= maxFailures) {
      throw new GaveUpError(`gave up after ${failures} failed connections to the agent; the sweep is recorded as ${sweepId}, `
        + "re-run the same command to resume");
    }
    fruitless = gotHello && sessionEvents > 0 ? 0 : fruitless + 1;
    const delay = Math.min(backoff.max, backoff.first * 2 ** Math.max(0, fruitless - 1));
    await sleep(delay, o.signal);
  }

  function finish(status: "detached"): RunResult {
    const s = store.sweep(sweepId)!;
    return { status, error: null, done: s.done_cells, total: s.cells };
  }

  /** One attach session: resolves "done" at the sweep's done event, "detached" on abort, else why it ended. */
  async function followOnce(transport: Transport, onHello: () => void): Promise<"done" | "detached" | string> {
    const host = transport.label;
    const session = await AttachSession.open(transport, ["--sweep", sweepId, "--since", String(store.cursor(sweepId, host))]);
    let pending: JournalEvent[] = [];
    let finished = false;
    let fatal: Error | null = null;
    // A store error (a cell outside the map, a full disk, a tile whose arrays do not decode) will not go away by
    // reconnecting: it stops the follow, wherever the flush runs.
    // A database locked by another process (a store opened INTERACTIVE_STORE waits only briefly) keeps the batch
    // for a later tick, for up to BUSY_GIVE_UP_MS in all; no thread sleeps meanwhile.
    let busySince: number | null = null;
    const flush = () => {
      if (!pending.length) return;
      const batch = pending;
      pending = [];
      try {
        sessionEvents += store.ingest(sweepId, host, batch).applied;
        busySince = null;
      } catch (e) {
        if (e instanceof StoreBusyError && Date.now() - (busySince ??= Date.now()) < BUSY_GIVE_UP_MS) {
          pending = batch.concat(pending);
          return;
        }
        throw new FatalAgentError(`cannot store the agent's results: ${(e as Error).message}`);
      }
      progress();
    };
    /** Flush until everything is stored, waiting out another process's lock (in turns of the event loop). */
    const drain = async () => {
      flush();
      while (pending.length) { await sleep(100); flush(); }
    };
    const timer = setInterval(() => {
      try { flush(); } catch (e) { fatal = e as Error; session.proc.kill(); }
    }, o.flushMs ?? 200);
    const onAbort = () => session.proc.kill();
    o.signal?.addEventListener("abort", onAbort);
    // Resuming a cancelled or failed sweep: the replay still carries its old done event, which must be stored
    // but must not end this follow. Events before the hello is read are replay; after it, a done at or below
    // the node's last seq at the hello is an old one.
    let helloLastSeq: number | null = null;
    const staleDone = (m: AgentMessage) =>
      o.resume === true && m.status !== "completed" && (helloLastSeq === null || (m.seq as number) <= helloLastSeq);
    let doneSeen: () => void = () => {};
    const doneEvent = new Promise<void>((res) => { doneSeen = res; });
    session.onMessage = (m: AgentMessage) => {
      if (m.type === "warning") { o.onNotice?.(`agent: ${text(m.message)}`); return; }
      if (m.type === "tasks") { // not journalled: a Slurm sweep's array tasks changed
        const t = m.sweep === sweepId ? clusterTasks(m) : null;
        if (t) { tasks = t; progress(); }
        return;
      }
      if (m.type === "reply" && m.ok === false && !/^no sweep /.test(text(m.error))) {
        o.onNotice?.(`agent: ${text(m.error)}`); // e.g. a line it could not read; the "no sweep" of a new sweep is expected
        return;
      }
      if (m.sweep !== sweepId || m.seq === undefined) return; // replayed markers, other sweeps
      if (m.type === "done" && !TERMINAL.includes(m.status as SweepStatus)) {
        // The end of the sweep in words this client cannot store: waiting or reconnecting would never end it.
        fatal = new FatalAgentError(`the agent ended sweep ${sweepId} with status ${text(m.status, 40)}, which this app does not `
          + `know (it knows ${TERMINAL.join(", ")}); is the agent newer than the app? The cells so far are kept`);
        session.proc.kill();
        return;
      }
      const bad = eventProblem(m);
      if (bad) { o.onNotice?.(`agent: ignored a malformed event of sweep ${sweepId}: ${bad}`); return; }
      if (m.type === "sweep" && canonicalJson(m.spec) !== canonicalJson(store.sweep(sweepId)!.spec)) {
        // Both sides normalise specs identically (test/core/spec.test.ts); a difference means mismatched versions.
        o.onNotice?.(`warning: the agent's normalised spec for ${sweepId} differs from this client's; check the agent version`);
      }
      pending.push(m as unknown as JournalEvent);
      if (m.type === "done" && !staleDone(m)) { finished = true; doneSeen(); }
    };
    try {
      const hello = await session.hello();
      if (hello.type === "closed") {
        const st = await session.closed;
        if (st.code === 2) throw new FatalAgentError(`the agent refused the attach: ${tail(st.stderr, 500)}`);
        return `attach exited before saying hello (code ${st.code}${st.stderr ? ": " + tail(st.stderr, 300) : ""})`;
      }
      if (hello.type !== "hello") {
        throw new FatalAgentError(`the agent's first message is not a hello: ${JSON.stringify(hello).slice(0, 300)}`);
      }
      if (typeof hello.protocol !== "number" || hello.protocol > PROTOCOL_VERSION) {
        throw new FatalAgentError(`the agent speaks protocol ${text(hello.protocol)}, newer than this client's ${PROTOCOL_VERSION}; `
          + "upgrade fractal-llm");
      }
      onHello();
      // hello lists the node's sweeps. A known one is already being replayed from our cursor (attach --sweep
      // --since); an unknown one gets a "no sweep" reply (req null, ignored below): submit it, then follow it.
      const entry = (Array.isArray(hello.sweeps) ? hello.sweeps : []).find((x) => typeof x === "object" && x !== null && (x as { sweep?: unknown }).sweep === sweepId) as
        { state?: string; error?: string | null; last_seq?: number; epoch?: unknown } | undefined;
      helloLastSeq = entry?.last_seq ?? 0;
      if (entry?.state === "broken") {
        throw new FatalAgentError(`the agent on ${host} cannot read sweep ${sweepId}'s journal: ${text(entry.error)}`);
      }
      const readEpoch = store.cursorEpoch(sweepId, host);
      if (entry && typeof entry.epoch === "string" && readEpoch !== null && entry.epoch !== readEpoch) {
        // Another journal under the same id (deleted and resubmitted, perhaps from another database): the cursor
        // counts in the old one, and following from it would skip the new one's first events. Read it from seq 1;
        // the cells already here are kept (same spec-hashed id, so the same cells) and each is recorded once. What
        // this session replayed from the old cursor is dropped, or its flush would move the cursor past seq 1 again.
        pending = [];
        store.resetCursor(sweepId, host);
        o.onNotice?.(`the agent on ${host} has another journal for sweep ${sweepId} (epoch ${entry.epoch}, read before: `
          + `${readEpoch}); reading it from the start, cells already here are kept`);
        return "the node's journal was replaced";
      }
      if (entry && typeof entry.last_seq === "number" && entry.last_seq < store.cursor(sweepId, host)) {
        // The node has fewer events than we read: its journal was replaced (deleted and resubmitted, or lost).
        // Events only reach clients once durable, so this is never a crash's unsynced tail. Read it again from
        // seq 1; ingest keeps the cells already here and records each cell once.
        store.resetCursor(sweepId, host);
        o.onNotice?.(`the agent on ${host} has fewer events for sweep ${sweepId} than were read before (its journal was `
          + "replaced); reading it again from the start, cells already here are kept");
        return "the node's journal was replaced";
      }
      if (entry) {
        if (store.sweep(sweepId)!.status === "created") store.setStatus(sweepId, "submitted");
        const lastSeq = (entry as { last_seq?: number }).last_seq ?? Infinity;
        if (o.resume && (entry.state === "cancelled" || entry.state === "failed")) {
          await submit(session, host);
        } else if (["completed", "cancelled", "failed"].includes(entry.state as string) && store.cursor(sweepId, host) >= lastSeq) {
          // Finished on the node and everything is already here: no event will come.
          const st = entry.state as SweepStatus;
          if (store.sweep(sweepId)!.status !== st) store.setStatus(sweepId, st, entry.error ?? null);
          finished = true;
          await session.end();
          return "done";
        }
      } else {
        await submit(session, host);
      }
      await Promise.race([doneEvent, session.closed]);
      if (fatal) throw fatal;
      if (finished) {
        await drain();
        await session.end();
        return "done";
      }
      const st = await session.closed;
      if (fatal) throw fatal;
      if (o.signal?.aborted) return "detached";
      return `attach exited with code ${st.code}${st.signal ? ` (${st.signal})` : ""}${st.stderr ? ": " + tail(st.stderr, 300) : ""}`;
    } finally {
      clearInterval(timer);
      o.signal?.removeEventListener("abort", onAbort);
      if (!finished) session.proc.kill();
      await drain();
    }
  }

  async function submit(session: AttachSession, host: string): Promise<void> {
    const s = store.sweep(sweepId)!;
    const r = await session.request("submit", { ...o.submitFields, sweep: sweepId, spec: s.spec, resume: o.resume === true });
    if (!r.ok) throw new FatalAgentError(`the agent refused sweep ${sweepId}: ${text(r.error)}`);
    if (r.existing === false && store.cursor(sweepId, host) > 0) {
      // A new journal on the node (its agent home was reset): its seqs start again at 1.
      store.resetCursor(sweepId, host);
      o.onNotice?.(`the agent on ${host} had lost sweep ${sweepId}; it starts again there (cells already here are kept)`);
    }
    if (!TERMINAL.includes(s.status) || r.resumed === true) store.setStatus(sweepId, "submitted");
    const f = await session.request("follow", { sweep: sweepId, since: store.cursor(sweepId, host) });
    if (!f.ok) throw new FatalAgentError(`the agent cannot follow sweep ${sweepId}: ${text(f.error)}`);
  }
}

const EVENT_TYPES = ["sweep", "resume", "base", "tile", "done"];

/**
 * What is wrong with a journal event from the node, or null: the shape the store relies on (PROTOCOL.md,
 * "Journal"). The arrays inside a tile are checked where they are decoded (tiles.ts).
 */
export function eventProblem(m: AgentMessage): string | null {
  const seq = m.seq;
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) return `seq ${text(seq, 40)} is not a positive integer`;
  if (!EVENT_TYPES.includes(m.type)) return `seq ${seq}: unknown type ${text(m.type, 40)} (expected ${EVENT_TYPES.join(", ")})`;
  if (m.type === "done") {
    if (m.error !== undefined && m.error !== null && typeof m.error !== "string") return `seq ${seq}: done with an error that is not text`;
  }
  if (m.type === "tile") {
    if (!Number.isSafeInteger(m.count) || (m.count as number) < 0) return `seq ${seq}: tile count ${text(m.count, 40)} is not a count`;
    if (typeof m.fields !== "object" || m.fields === null || Array.isArray(m.fields)) return `seq ${seq}: tile without fields`;
    if (!Number.isSafeInteger(m.level)) return `seq ${seq}: tile level ${text(m.level, 40)} is not an integer`;
  }
  if (m.type === "base" && (typeof m.metrics !== "object" || m.metrics === null)) return `seq ${seq}: base without metrics`;
  return null;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((res) => {
    const t = setTimeout(res, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); res(); }, { once: true });
  });
}
