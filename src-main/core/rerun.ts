// The agent's `rerun` command (remote-agent/fractal_agent/rerun.py) as a long-lived process: single MLP cells re-trained
// with their loss curves, for maps that did not record them (src-main/api/recompute.ts). One process answers every
// request (torch imported once) and ends after a while without any.

import type { Spec } from "./spec";
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

interface Waiting { resolve: (tile: DecodedTile) => void; reject: (e: Error) => void; cell: number }

/**
 * One `rerun` agent process on the transport `connect()` gives, started on the first request and ended RERUN_IDLE_MS
 * after the last answer (or by close()). Requests are answered in the order they were sent.
 */
export class CellRerunner {
  private proc: AgentProcess | null = null;
  private starting: Promise<AgentProcess> | null = null;
  private readonly waiting: Waiting[] = [];
  private stderr = "";
  private idle: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly connect: () => Promise<Transport>, private readonly idleMs = RERUN_IDLE_MS) {}

  /** Train `cell` of `spec` alone; its tile (one row, curves included). */
  async run(spec: Spec, cell: number): Promise<DecodedTile> {
    if (this.closed) throw new RerunError("the service is closing; no more cells are re-run", "agent");
    if (this.idle) { clearTimeout(this.idle); this.idle = null; }
    const proc = await this.process();
    return new Promise<DecodedTile>((resolve, reject) => {
      this.waiting.push({ resolve, reject, cell });
      proc.stdin.write(JSON.stringify({ spec, cell }) + "\n");
    });
  }

  /** Whether a `rerun` process is running now (tests). */
  get running(): boolean {
    return this.proc !== null;
  }

  /** End the process now; requests still waiting fail. */
  close(): void {
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    this.proc?.kill();
  }

  private process(): Promise<AgentProcess> {
    if (this.proc) return Promise.resolve(this.proc);
    this.starting ??= this.start().finally(() => { this.starting = null; });
    return this.starting;
  }

  private async start(): Promise<AgentProcess> {
    const transport = await this.connect();
    let proc: AgentProcess;
    try {
      proc = await transport.agent(["rerun", "--device", "cpu"]);
    } catch (e) {
      await transport.close();
      throw new RerunError(`cannot start the agent's rerun command on ${transport.label}: ${(e as Error).message}`, "agent");
    }
    this.proc = proc;
    this.stderr = "";
    let buf = "";
    proc.stdout.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim()) this.answer(line);
      }
    });
    proc.stderr.on("data", (d: Buffer) => { this.stderr = (this.stderr + d.toString("utf8")).slice(-4000); });
    void proc.exited.then(({ code, signal }) => {
      if (this.proc === proc) this.proc = null;
      const why = this.stderr.trim().split("\n").slice(-5).join("\n") || `exit ${code ?? signal}`;
      for (const w of this.waiting.splice(0)) {
        w.reject(new RerunError(`the agent's rerun command on ${transport.label} ended before answering cell ${w.cell}: ${why}`, "agent"));
      }
      void transport.close();
    });
    return proc;
  }

  private answer(line: string): void {
    const w = this.waiting.shift();
    if (!w) return;
    if (!this.waiting.length && !this.closed) {
      // Closing stdin ends the agent's request loop; the next request starts a new process.
      this.idle = setTimeout(() => { this.idle = null; this.proc?.stdin.end(); }, this.idleMs);
      this.idle.unref();
    }
    let out: { cell: unknown; tile?: Omit<TileEvent, "seq" | "type" | "sweep" | "level">; error?: string };
    try {
      out = JSON.parse(line);
    } catch {
      w.reject(new RerunError(`the agent's rerun answer is not JSON: ${JSON.stringify(line.slice(0, 300))}`, "agent"));
      return;
    }
    if (out.error !== undefined) { w.reject(new RerunError(`re-running cell ${w.cell}: ${out.error}`, "agent")); return; }
    try {
      const tile = decodeTile({ seq: 0, type: "tile", sweep: "", level: 0, ...out.tile! });
      if (tile.count !== 1 || tile.cells[0] !== w.cell || !tile.curves) throw new Error(`expected cell ${w.cell} with its curves`);
      w.resolve(tile);
    } catch (e) {
      w.reject(new RerunError(`the agent's rerun answer is not one cell's tile: ${(e as Error).message}`, "agent"));
    }
  }
}

