// The client side of the agent protocol (remote-agent/PROTOCOL.md) over any Transport:
//
//   `env`     one JSON object: python, torch, CUDA, GPUs, agent and protocol versions
//   `attach`  newline-delimited JSON both ways: the first line is {"type":"hello","protocol":1,"sweeps":[...]},
//             then journal events {"seq","type","sweep",...}, markers ({"type":"replayed"}, {"type":"warning"})
//             and replies {"type":"reply","req","ok",...} to our commands
//             {"op":"submit"|"follow"|"status"|"cancel","req",...}.

import type { AgentProcess, Transport } from "./transport";

export const PROTOCOL_VERSION = 1;

export type AgentMessage = Record<string, unknown> & { type: string };

/** A plain JSON object with a string `type`: the only shape of message the protocol has. */
export function isMessage(m: unknown): m is AgentMessage {
  return typeof m === "object" && m !== null && !Array.isArray(m) && typeof (m as { type?: unknown }).type === "string";
}

/** Run `env` and return its JSON (the agent prints it even when torch is missing, with `error` set). */
export async function probeEnv(transport: Transport): Promise<Record<string, unknown>> {
  const p = await transport.agent(["env"]);
  p.stdin.end();
  const [out, err] = await Promise.all([collect(p.stdout), collect(p.stderr)]);
  const { code } = await p.exited;
  let env: Record<string, unknown>;
  try {
    env = JSON.parse(out);
  } catch {
    throw new Error(`the agent's env probe on ${transport.label} printed no JSON (exit ${code}): ${tail(err || out)}`);
  }
  if (env.protocol !== PROTOCOL_VERSION) {
    throw new Error(`the agent on ${transport.label} speaks protocol ${text(env.protocol)}, this client ${PROTOCOL_VERSION}; `
      + "install the matching agent version");
  }
  return env;
}

function collect(s: NodeJS.ReadableStream): Promise<string> {
  return new Promise((res) => {
    const chunks: Buffer[] = [];
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("end", () => res(Buffer.concat(chunks).toString("utf8")));
    s.on("error", () => res(Buffer.concat(chunks).toString("utf8")));
  });
}

/**
 * A value from the node as text for a message. Values from the node are never trusted to stringify themselves
 * (`{"toString": 1}` makes String() throw); JSON.stringify cannot throw on what JSON.parse made.
 */
export function text(v: unknown, n = 500): string {
  const t = typeof v === "string" ? v : JSON.stringify(v) ?? "undefined";
  return t.length > n ? t.slice(0, n) + "..." : t;
}

/** The longest line taken from an agent: a tile of the largest population with curves is tens of MB. */
export const MAX_LINE_BYTES = 256 << 20;

/**
 * Splits a byte stream into lines. Each chunk is scanned once, for its own newlines (a line arriving in many chunks
 * is not rescanned from its start each time), and bytes are joined before decoding, so a UTF-8 character split
 * across chunks survives. A line longer than `maxBytes` calls `tooLong` once and nothing after it is read.
 */
export function lineSplitter(onLine: (line: string) => void, tooLong: (bytes: number) => void, maxBytes = MAX_LINE_BYTES):
    (chunk: Buffer) => void {
  let parts: Buffer[] = [], held = 0, dead = false;
  return (chunk: Buffer) => {
    if (dead) return;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      const line = (parts.length ? Buffer.concat([...parts, chunk.subarray(start, nl)]) : chunk.subarray(start, nl)).toString("utf8");
      parts = []; held = 0; start = nl + 1;
      if (line.trim()) onLine(line);
      if (dead) return;
    }
    if (start < chunk.length) { parts.push(chunk.subarray(start)); held += chunk.length - start; }
    if (held > maxBytes) { dead = true; parts = []; tooLong(held); }
  };
}

export function tail(s: string, n = 2000): string {
  const t = s.trim();
  return t.length > n ? "..." + t.slice(-n) : t;
}

/**
 * One `attach` session. Messages other than replies go to `onMessage` in arrival order; `request` sends a
 * command and resolves with its reply. `closed` resolves when the process exits (replies still pending are
 * rejected then).
 */
export class AttachSession {
  readonly proc: AgentProcess;
  readonly closed: Promise<{ code: number | null; signal: string | null; stderr: string }>;
  private nextReq = 1;
  private readonly pending = new Map<number, { resolve: (m: AgentMessage) => void; reject: (e: Error) => void }>();
  private stderrText = "";
  private first: Promise<AgentMessage>;
  private resolveFirst!: (m: AgentMessage) => void;
  private gotFirst = false;
  onMessage: (m: AgentMessage) => void = () => {};

  constructor(proc: AgentProcess) {
    this.proc = proc;
    this.first = new Promise((res) => { this.resolveFirst = res; });
    proc.stderr.on("data", (d: Buffer) => { this.stderrText = (this.stderrText + d.toString("utf8")).slice(-8000); });
    // A line past the cap is no protocol line: the session is dropped (the runner reconnects), its memory freed.
    proc.stdout.on("data", lineSplitter((line) => this.dispatch(line), (bytes) => {
      this.onMessage({ type: "warning", message: `the agent sent a line of more than ${bytes} bytes without an end; dropped the connection` });
      proc.kill();
    }));
    this.closed = proc.exited.then((st) => {
      const err = new Error(`the agent's attach exited (code ${st.code}, signal ${st.signal})${this.stderrText ? ": " + tail(this.stderrText, 500) : ""}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      if (!this.gotFirst) this.resolveFirst({ type: "closed" });
      return { ...st, stderr: this.stderrText };
    });
  }

  static async open(transport: Transport, args: string[]): Promise<AttachSession> {
    return new AttachSession(await transport.agent(["attach", ...args]));
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The first message: {"type":"hello",...}, or {"type":"closed"} if the process died before sending one. */
  hello(): Promise<AgentMessage> {
    return this.first;
  }

  private dispatch(line: string): void {
    let m: unknown;
    try {
      m = JSON.parse(line);
    } catch {
      m = undefined;
    }
    // A node's shell start-up files may print on stdout (a banner, a `conda activate` message), and a broken node
    // anything at all (`null`, `[1]`, `"x"`): not the agent's, and no reason to drop the session. Passed on as a
    // warning; it never counts as the hello. Every message handed on is a plain object with a string `type`.
    if (!isMessage(m)) {
      this.onMessage({ type: "warning", message: `ignored a line on the agent's stdout that is not a protocol message: ${line.slice(0, 200)}` });
      return;
    }
    if (!this.gotFirst) {
      this.gotFirst = true;
      this.resolveFirst(m);
      return;
    }
    if (m.type === "reply" && typeof m.req === "number" && this.pending.has(m.req)) {
      const p = this.pending.get(m.req)!;
      this.pending.delete(m.req);
      p.resolve(m);
      return;
    }
    this.onMessage(m);
  }

  request(op: string, fields: Record<string, unknown> = {}): Promise<AgentMessage> {
    const req = this.nextReq++;
    return new Promise((resolve, reject) => {
      this.pending.set(req, { resolve, reject });
      this.proc.stdin.write(JSON.stringify({ op, req, ...fields }) + "\n");
    });
  }

  /** Close our side; the bridge flushes pending replies and exits. Kills it if it has not gone in `graceMs`. */
  async end(graceMs = 5000): Promise<void> {
    this.proc.stdin.end();
    const t = setTimeout(() => this.proc.kill(), graceMs);
    await this.closed;
    clearTimeout(t);
  }
}
