// The agent's `rerun` command (remote-agent/fractal_agent/rerun.py) as a long-lived process: single MLP cells re-trained
// with their loss curves, for maps that did not record them (src-main/api/recompute.ts). One process answers every
// request (torch imported once) and ends after a while without any.

import { lineSplitter, text } from "./agent-client";
import type { Spec } from "../../src-shared/spec";
import { decodeTile, type DecodedTile, type TileEvent } from "./tiles";
import type { AgentProcess, Transport } from "./transport";

/** How long an idle `rerun` process is kept for the next inspected cell. */
export const RERUN_IDLE_MS = 120_000;

/** A recompute that cannot be answered: bad input ("input": the sweep or cell) or the agent failed ("agent"). */
export class RerunError extends Error {
  constructor(message: string, readonly kind: "input" | "agent" = "input") {
    super(message);
  }
}

/** A re-run cell: its tile (one row, curves included) and the process's env (agent, torch, numpy and its numerics). */
export interface RerunResult { tile: DecodedTile; env: unknown }

interface Waiting { resolve: (r: RerunResult) => void; reject: (e: Error) => void; cell: number }

/** One `rerun` process and the requests it has not answered yet (it answers in order). */
interface Worker { proc: AgentProcess; label: string; waiting: Waiting[]; stderr: string }

/**
 * The agent's `rerun` on the transport `connect()` gives: one process, started on the first request and told to end
 * (its stdin closed) RERUN_IDLE_MS after its last answer; the next request starts another. close() ends them all.
 */
export class CellRerunner {
  /** The process new requests go to; null until the first request, and once it idled out. */
  private current: Worker | null = null;
  private starting: Promise<Worker> | null = null;
  /** Every process that has not exited yet (one idling out may still be finishing). */
  private readonly live = new Set<Worker>();
  private idle: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly connect: () => Promise<Transport>, private readonly idleMs = RERUN_IDLE_MS) {}

  /** Train `cell` of `spec` alone: its tile (one row, curves included) and the env of the process that trained it. */
  async run(spec: Spec, cell: number): Promise<RerunResult> {
    if (this.closed) throw new RerunError("the service is closing; no more cells are re-run", "agent");
    if (this.idle) { clearTimeout(this.idle); this.idle = null; }
    const w = await this.worker();
    return new Promise<RerunResult>((resolve, reject) => {
      w.waiting.push({ resolve, reject, cell });
      w.proc.stdin.write(JSON.stringify({ spec, cell }) + "\n");
    });
  }

  /** Whether a `rerun` process is still running. */
  get running(): boolean {
    return this.live.size > 0;
  }

  /** End every process now; requests still waiting fail. */
  close(): void {
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    for (const w of this.live) w.proc.kill();
  }

  private worker(): Promise<Worker> {
    if (this.current) return Promise.resolve(this.current);
    this.starting ??= this.start().finally(() => { this.starting = null; });
    return this.starting;
  }

  private async start(): Promise<Worker> {
    const transport = await this.connect();
    let proc: AgentProcess;
    try {
      proc = await transport.agent(["rerun", "--device", "cpu"]);
    } catch (e) {
      await transport.close();
      throw new RerunError(`cannot start the agent's rerun command on ${transport.label}: ${(e as Error).message}`, "agent");
    }
    const w: Worker = { proc, label: transport.label, waiting: [], stderr: "" };
    this.live.add(w);
    this.current = w;
    proc.stdout.on("data", lineSplitter((line) => this.answer(w, line), (bytes) => {
      w.stderr += `\nthe agent's rerun command sent a line of more than ${bytes} bytes without an end`;
      proc.kill();
    }));
    proc.stderr.on("data", (d: Buffer) => { w.stderr = (w.stderr + d.toString("utf8")).slice(-4000); });
    void proc.exited.then(({ code, signal }) => {
      this.live.delete(w);
      if (this.current === w) this.current = null;
      const why = w.stderr.trim().split("\n").slice(-5).join("\n") || `exit ${code ?? signal}`;
      for (const q of w.waiting.splice(0)) {
        q.reject(new RerunError(`the agent's rerun command on ${w.label} ended before answering cell ${q.cell}: ${why}`, "agent"));
      }
      void transport.close();
    });
    if (this.closed) proc.kill(); // closed while it was starting
    return w;
  }

  private answer(w: Worker, line: string): void {
    const q = w.waiting.shift();
    if (!q) return;
    if (!w.waiting.length && w === this.current && !this.closed) {
      this.idle = setTimeout(() => {
        this.idle = null;
        if (this.current !== w || w.waiting.length) return;
        this.current = null; // new requests start a new process while this one finishes
        w.proc.stdin.end(); // the end of its input ends the agent's request loop
      }, this.idleMs);
      this.idle.unref();
    }
    let out: { cell: unknown; tile?: Omit<TileEvent, "seq" | "type" | "sweep" | "level">; env?: unknown; error?: string };
    try {
      out = JSON.parse(line);
    } catch {
      q.reject(new RerunError(`the agent's rerun answer is not JSON: ${JSON.stringify(line.slice(0, 300))}`, "agent"));
      return;
    }
    if (typeof out !== "object" || out === null || Array.isArray(out)) {
      q.reject(new RerunError(`the agent's rerun answer is not a JSON object: ${JSON.stringify(line.slice(0, 300))}`, "agent"));
      return;
    }
    if (out.error !== undefined) { q.reject(new RerunError(`re-running cell ${q.cell}: ${text(out.error)}`, "agent")); return; }
    try {
      const tile = decodeTile({ seq: 0, type: "tile", sweep: "", level: 0, ...out.tile! });
      if (tile.count !== 1 || tile.cells[0] !== q.cell || !tile.curves) throw new Error(`expected cell ${q.cell} with its curves`);
      q.resolve({ tile, env: out.env ?? null });
    } catch (e) {
      q.reject(new RerunError(`the agent's rerun answer is not one cell's tile: ${(e as Error).message}`, "agent"));
    }
  }
}
