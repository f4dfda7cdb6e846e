// The SSH transport: connect (config, jump hosts, host keys, auth), install the agent, find a
// Python with torch, then run `python -m fractal_agent <args>` on exec channels.
//
//   const t = await openSshTransport("gpu-box", { passphrase: ask, acceptNewHostKey: false });
//   const p = await t.agent(["attach", "--sweep", id, "--since", "0"]);
//
// When the connection drops, running AgentProcesses exit with {code: null, signal: null} and
// `t.closed` resolves to a retryable SshError("dropped"); call `t.reopen()` (or openSshTransport
// again) to reconnect. isRetryable(err) tells network trouble from host key / auth problems.

import { PassThrough } from "node:stream";
import type { AgentProcess, Transport } from "../core/transport.js";
import { connectSsh, type ConnectOptions, type SshConnection } from "./connect.js";
import { SshError } from "./errors.js";
import { installAgent, remoteHome, type AgentSource, type InstallResult } from "./install.js";
import { probe, type AgentEnv, type ProbeResult } from "./probe.js";
import { agentCommand, remotePid } from "./quote.js";

export { connectSsh, SshConnection, type ConnectOptions, type ExitStatus, type RemoteCommand, type RunResult } from "./connect.js";
export { parseAddress, resolveTarget, type ResolvedHost } from "./config.js";
export { HostKeyError, SshError, isRetryable, type HostKeyProblem, type SshErrorKind } from "./errors.js";
export { defaultTrustFile, fingerprint } from "./hostkeys.js";
export { DEFAULT_REMOTE_ROOT, installAgent, verifyRemote, type InstallResult, type AgentSource } from "./install.js";
export { removeRemoteFiles, uploadLine, uploadLocalData, type UploadResult } from "./upload.js";
export { probe, type AgentEnv, type InterpreterReport, type ProbeResult } from "./probe.js";
export { agentCommand, anyShellQuote, loginShellCommand, remotePid, shellJoin, shellQuote } from "./quote.js";

export interface SshTransportOptions extends ConnectOptions {
  /** Python on the node (absolute, ~/..., or a command name); tried first by the probe */
  python?: string;
  /** where agent versions (and a sweep's uploaded laptop data, ssh/upload.ts) live on the node; default ~/.fractal-llm */
  remoteRoot?: string;
  /** local agent sources; default: this repo's remote-agent/ and resources/ */
  agentSource?: AgentSource;
  /** skip the probe and use this interpreter (an earlier transport's python and env; reopen() does this) */
  interpreter?: { python: string; env: AgentEnv };
  /** retries of a connection that failed for a retryable reason (default: 5 attempts, 1 s backoff doubling) */
  retry?: RetryOptions;
}

/** The agent as a process on an exec channel. `exited` never rejects: a dropped connection gives
 *  {code: null, signal: null}; ask the transport's `closed` whether it was a drop.
 *
 *  kill(): sshd refuses "signal" channel requests for root logins ("session signalling requires
 *  privilege separation"), and closing the channel does not stop a process without a tty. So the
 *  command first reports its pid on stderr (a line we strip), and kill() also runs `kill <pid>`. */
export async function channelProcess(conn: SshConnection, command: string): Promise<AgentProcess> {
  const { channel: ch, exited } = await conn.exec(`printf '${PID_TAG}%s\\n' "$$" >&2; ${command}`);
  let done = false;
  void exited.then(() => { done = true; });

  let pid: number | null = null;
  let head = "";
  const stderr = new PassThrough();
  ch.stderr.on("data", (d: Buffer) => {
    if (pid !== null) { stderr.write(d); return; }
    // A login shell's rc files may print before our command runs: pass such lines through.
    head += d.toString("latin1");
    for (let nl = head.indexOf("\n"); nl >= 0 && pid === null; nl = head.indexOf("\n")) {
      const line = head.slice(0, nl);
      head = head.slice(nl + 1);
      if (line.startsWith(PID_TAG)) pid = remotePid(line.slice(PID_TAG.length)) ?? -1; // -1: never killed by pid
      else stderr.write(Buffer.from(line + "\n", "latin1"));
    }
    if (pid !== null && head.length > 0) stderr.write(Buffer.from(head, "latin1"));
  });
  ch.stderr.on("end", () => stderr.end(pid === null ? Buffer.from(head, "latin1") : undefined));

  const signalRemote = (sig: "TERM" | "KILL") => {
    if (done) return;
    ch.signal(sig); // honoured for non-root logins
    // Only a pid that is digits and above 1 goes into the command (kill -1 or kill 0 would hit far more).
    if (pid !== null && pid > 1) void conn.run(`kill -${sig} ${pid} 2>/dev/null`).catch(() => undefined); // connection gone: nothing to kill
  };
  return {
    stdin: ch,
    stdout: ch,
    stderr,
    exited,
    kill() {
      signalRemote("TERM");
      const escalate = setTimeout(() => { signalRemote("KILL"); ch.close(); }, KILL_GRACE_MS);
      escalate.unref();
      void exited.then(() => clearTimeout(escalate));
    },
  };
}

const PID_TAG = "fractal-remote-pid ";
const KILL_GRACE_MS = 5000;

export class SshTransport implements Transport {
  readonly label: string;
  /** Resolves when the connection ends: null after close(), a retryable SshError("dropped") otherwise. */
  readonly closed: Promise<SshError | null>;

  constructor(
    readonly connection: SshConnection,
    readonly install: InstallResult,
    readonly probeResult: ProbeResult,
    /** absolute path of the Python that runs the agent */
    readonly python: string,
    /** that Python's `env` (record it with each sweep) */
    readonly env: AgentEnv,
    private readonly target: string,
    private readonly opts: SshTransportOptions,
  ) {
    this.label = connection.label;
    this.closed = connection.closed;
  }

  agent(args: string[]): Promise<AgentProcess> {
    return channelProcess(this.connection, agentCommand(this.install.dir, this.python, args));
  }

  /** A fresh connection with the same target and options, after a drop. The install is re-checked
   *  (quick when nothing changed); the interpreter found before is reused without probing again. */
  reopen(): Promise<SshTransport> {
    return openSshTransport(this.target, { ...this.opts, interpreter: { python: this.python, env: this.env } });
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** How openSshTransport retries a connection that failed for a reason trying again can fix. */
export interface RetryOptions {
  /** connection attempts in all (default 5) */
  attempts?: number;
  /** wait before the second attempt, doubled for each one after, up to maxDelayMs (default 1 s, 15 s) */
  delayMs?: number;
  maxDelayMs?: number;
  /** told about each failed attempt that will be retried: what happened and how long until the next try */
  onRetry?: (info: { error: SshError; attempt: number; attempts: number; delayMs: number; message: string }) => void;
}

/** Connect, install the agent (idempotent), and pick a Python with torch.
 *
 *  Every phase (connect, install/upload, probe) is retried with backoff when it fails for a reason that trying
 *  again can fix (isRetryable: the connection dropped, refused, timed out), and `retry.onRetry` hears what
 *  happened. A host key or login problem, or a node without a usable Python, is never retried. */
export async function openSshTransport(target: string, opts: SshTransportOptions = {}): Promise<SshTransport> {
  const attempts = Math.max(1, opts.retry?.attempts ?? 5);
  let delay = opts.retry?.delayMs ?? 1000;
  const maxDelay = opts.retry?.maxDelayMs ?? 15_000;
  // A key accepted on an attempt is in the trust list afterwards; later attempts find it there.
  for (let attempt = 1; ; attempt++) {
    try {
      return await openOnce(target, opts);
    } catch (err) {
      if (!(err instanceof SshError) || !err.retryable || attempt >= attempts) {
        if (err instanceof SshError && err.retryable && attempts > 1) {
          throw new SshError(err.kind, err.where, `${err.message} (gave up after ${attempts} attempts)`, { cause: err });
        }
        throw err;
      }
      const message = `${err.message}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})`;
      opts.debug?.(message);
      opts.retry?.onRetry?.({ error: err, attempt, attempts, delayMs: delay, message });
      await new Promise((res) => setTimeout(res, delay));
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}

async function openOnce(target: string, opts: SshTransportOptions): Promise<SshTransport> {
  const conn = await connectSsh(target, opts);
  let phase = "installing the agent";
  try {
    const install = await installAgent(conn, { remoteRoot: opts.remoteRoot, source: opts.agentSource, debug: opts.debug });
    phase = "probing the node's Python interpreters";
    const result: ProbeResult = opts.interpreter
      ? { chosen: { candidate: opts.interpreter.python, path: opts.interpreter.python, env: opts.interpreter.env, ok: true, problem: null }, tried: [], summary: "" }
      : await probe(conn, install.dir, await remoteHome(conn), { python: opts.python });
    if (!result.chosen || !result.chosen.path || !result.chosen.env) {
      throw new SshError("remote", conn.label,
        `No Python with torch on ${conn.label} can run the agent. Tried:\n${result.summary || "(no python found)"}\n` +
        `Install PyTorch into one of them, or name the right interpreter with --python /path/to/python.`);
    }
    opts.debug?.(`${conn.label}: agent runs with ${result.chosen.path}`);
    return new SshTransport(conn, install, result, result.chosen.path, result.chosen.env, target, opts);
  } catch (err) {
    // A drop under an upload or a probe surfaces as an SFTP or command error: name it as the drop it is.
    const explained = await conn.explainDrop(err, phase);
    await conn.close();
    throw explained;
  }
}
