// Opening an SSH connection with ssh2: jump hosts, host key checks, authentication, keepalive,
// and errors that say which machine failed and whether trying again can help.

import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import type { Duplex } from "node:stream";
import ssh2, { type AuthenticationType, type Client, type ClientChannel, type ParsedKey, type SFTPWrapper } from "ssh2";
import { describe, resolveTarget, type ResolvedHost } from "./config.js";
import { HostKeyError, SshError } from "./errors.js";
import { loginShellCommand } from "./quote.js";
import { defaultTrustFile, fingerprint, keyTypeOf, knownKeyTypes, verifyHostKey, type HostKeyPolicy } from "./hostkeys.js";

export interface ConnectOptions {
  /** home directory holding .ssh/ (config, known_hosts, default keys); default $HOME */
  home?: string;
  /** identity file(s) for the target, tried before the config's IdentityFile lines */
  identity?: string | string[];
  /** asked for the passphrase of an encrypted key, once per key, only when that key's turn comes */
  passphrase?: (keyPath: string) => Promise<string>;
  /** ssh-agent socket; default $SSH_AUTH_SOCK; null: do not use an agent */
  agentSocket?: string | null;
  /** the app's trust list of host keys (JSON); default: defaultTrustFile() in the per-user app-data dir */
  trustFile?: string;
  /** Trust an unknown host key whose fingerprint ("SHA256:...") is one of these: the fingerprints the user was
   *  shown and accepted (one per ProxyJump hop at most). A key presented with another fingerprint is refused, so
   *  "accept" never trusts a key the user did not see. A changed or revoked key is never accepted. */
  acceptHostKeys?: readonly string[];
  /** Trust any unknown host key on first use (the CLI's --accept-new-host-key); never a changed one.
   *  onHostKeyAccepted hears what was trusted, so it can be shown. */
  acceptNewHostKey?: boolean;
  /** Called for each host key this connection recorded in the trust list. */
  onHostKeyAccepted?: (k: { host: string; port: number; keyType: string; fingerprint: string; trustFile: string }) => void;
  /** handshake time limit per hop (default 15 s, or ConnectTimeout from ssh config) */
  timeoutMs?: number;
  /** keepalive interval (default 15 s, or ServerAliveInterval); 3 missed replies drop the connection */
  keepaliveMs?: number;
  debug?: (msg: string) => void;
}

export interface ExitStatus { code: number | null; signal: string | null }
export interface RunResult extends ExitStatus { stdout: string; stderr: string }

/** A command on an exec channel; `exited` resolves at its exit status, or {code: null, signal: null}
 *  when the channel or the connection closes without one. Never rejects. */
export interface RemoteCommand { channel: ClientChannel; exited: Promise<ExitStatus> }

/** RFC 4254 exit-signal names come without "SIG"; Node's have it. */
export function signalName(name: string | undefined | null): string | null {
  return name ? (name.startsWith("SIG") ? name : `SIG${name}`) : null;
}

/** An authenticated SSH connection to the target (through its jump hosts, if any). */
export class SshConnection {
  /** "user@host:port" of the target */
  readonly label: string;
  /** Resolves when the connection ends: null after close(), a retryable SshError("dropped") otherwise. */
  readonly closed: Promise<SshError | null>;
  private closing = false;
  private ended = false;

  constructor(readonly client: Client, readonly resolved: ResolvedHost, private readonly jumps: Client[]) {
    this.label = describe(resolved);
    let lastError: Error | undefined;
    client.on("error", (err: Error) => { lastError = err; });
    this.closed = new Promise((resolve) => {
      client.once("close", () => {
        this.ended = true;
        for (const j of this.jumps) j.end();
        resolve(this.closing ? null : new SshError(
          "dropped", this.label,
          `Connection to ${this.label} dropped${lastError ? `: ${lastError.message}` : ""}. It can be reopened; the remote agent keeps running.`,
          { cause: lastError },
        ));
      });
    });
    this.jumpsClosed = Promise.all(jumps.map((j) => new Promise<void>((resolve) => j.once("close", () => resolve()))));
  }

  private readonly jumpsClosed: Promise<unknown>;

  private dropped(): SshError | undefined {
    return this.ended ? new SshError("dropped", this.label, `Connection to ${this.label} is closed`) : undefined;
  }

  /** Open an exec channel running the POSIX sh `command` (run by `sh -c`, whatever the login shell is; the
   *  caller quotes its words). */
  exec(command: string): Promise<RemoteCommand> {
    const gone = this.dropped();
    if (gone) return Promise.reject(gone);
    return this.whileOpen(new Promise<RemoteCommand>((resolve, reject) => {
      this.client.exec(loginShellCommand(command), (err, channel) => {
        if (err) {
          reject(new SshError("dropped", this.label, `${this.label}: could not start a remote command: ${err.message}`, { cause: err }));
          return;
        }
        // Listen now: a fast command's exit status can arrive in the same packet batch as the
        // exec reply, before any promise continuation runs.
        let status: ExitStatus = { code: null, signal: null };
        const exited = new Promise<ExitStatus>((done) => {
          channel.once("exit", (code: number | null, signal?: string) => { status = { code, signal: signalName(signal) }; done(status); });
          channel.once("close", () => done(status));
          void this.closed.then(() => done(status)); // ssh2 does not close channels when the connection drops
        });
        resolve({ channel, exited });
      });
    }), "starting a remote command");
  }

  /** `p`, or a retryable SshError("dropped") as soon as the connection ends first: an SFTP request in flight
   *  when the connection drops may never be answered (ssh2 leaves it pending). */
  whileOpen<T>(p: Promise<T>, doing: string): Promise<T> {
    return Promise.race([p, this.closed.then((e): never => {
      throw new SshError("dropped", this.label, `Connection to ${this.label} ${e ? "dropped" : "closed"} while ${doing}`, { cause: e ?? undefined });
    })]);
  }

  /** True once the connection has ended (dropped or closed). */
  get isClosed(): boolean { return this.ended; }

  /**
   * Run a command to completion and collect its output. Anything the login shell's start-up files print on
   * stdout before the command starts (a banner) is cut off, so callers parse only the command's own output.
   * A command cut short by a dropped connection throws a retryable SshError("dropped"): it is never a result.
   */
  async run(command: string, stdin?: string | Buffer): Promise<RunResult> {
    const { channel: ch, exited } = await this.exec(`printf '%s\\n' ${RUN_SENTINEL}; ${command}`);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    ch.on("data", (d: Buffer) => out.push(d));
    ch.stderr.on("data", (d: Buffer) => err.push(d));
    if (stdin !== undefined) ch.end(stdin);
    else ch.end();
    const dropped = await new Promise<SshError | null>((resolve) => {
      ch.once("close", () => resolve(null)); // all output read
      void this.closed.then((e) => resolve(e ?? new SshError("dropped", this.label, `Connection to ${this.label} closed while running a command`)));
    });
    if (dropped) throw dropped;
    const { code, signal } = await exited;
    if (code === null && signal === null) {
      // No exit status: the channel went away under the command. When the connection is going down too, say so.
      const gone = await this.droppedSoon();
      if (gone) throw gone;
    }
    let stdout = Buffer.concat(out).toString("utf8");
    const at = stdout.indexOf(RUN_SENTINEL + "\n");
    if (at >= 0) stdout = stdout.slice(at + RUN_SENTINEL.length + 1);
    else if (code === null && signal === null) {
      throw new SshError("dropped", this.label, `${this.label}: a remote command ended before it started (no exit status, no output)`);
    }
    return { code, signal, stdout, stderr: Buffer.concat(err).toString("utf8") };
  }

  /** The dropped error when the connection has ended or ends within `ms` (an SFTP or channel error often
   *  arrives just before the connection's own close event), else null. */
  async droppedSoon(ms = 1000): Promise<SshError | null> {
    if (this.closing) return null;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      this.closed,
      new Promise<"alive">((res) => { timer = setTimeout(() => res("alive"), this.ended ? 0 : ms); }),
    ]);
    clearTimeout(timer);
    return r === "alive" || r === null ? null : r;
  }

  /** `err` as a retryable "dropped" error naming what was cut short, when the connection went away under it
   *  (an SFTP "No response from server", a command without exit status); otherwise `err` itself. */
  async explainDrop(err: unknown, doing: string): Promise<unknown> {
    if (err instanceof SshError && err.retryable && err.kind !== "dropped") return err;
    if (err instanceof SshError && err.kind === "dropped") {
      const detail = err.message.startsWith(`Connection to ${this.label} `) ? err.message.slice(`Connection to ${this.label} `.length) : err.message;
      return new SshError("dropped", this.label, `Connection to ${this.label} dropped while ${doing} (${detail})`, { cause: err });
    }
    if (err instanceof SshError && err.kind !== "remote") return err;
    const gone = await this.droppedSoon();
    if (!gone) return err;
    return new SshError("dropped", this.label,
      `Connection to ${this.label} dropped while ${doing}${err instanceof Error ? ` (${err.message})` : ""}`, { cause: err });
  }

  sftp(): Promise<SFTPWrapper> {
    return this.whileOpen(new Promise((resolve, reject) => {
      this.client.sftp((err, sftp) => {
        if (err) reject(new SshError("remote", this.label, `${this.label}: SFTP is not available (${err.message}); the server needs "Subsystem sftp" enabled`, { cause: err }));
        else resolve(sftp);
      });
    }), "starting SFTP");
  }

  async close(): Promise<void> {
    this.closing = true;
    this.client.end();
    await this.closed;
    await this.jumpsClosed;
  }
}

/** Printed by run() before its command, after whatever the login shell's start-up files print. */
const RUN_SENTINEL = "fractal-llm-output-begins";

// ssh2 is CommonJS; Node's ESM loader cannot see all its named exports.
const { Client: SshClient, utils } = ssh2;

// ---- opening ----------------------------------------------------------------------------------

const HOST_KEY_ALGORITHMS = [
  "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
  "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa",
] as const;
type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

/** Prefer the key types we already know for the host, as OpenSSH does, so a server with several
 *  host keys shows us the one on record instead of looking "changed". */
function hostKeyAlgorithms(known: string[]): HostKeyAlgorithm[] {
  const preferred = known.flatMap((t): HostKeyAlgorithm[] =>
    t === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"] : HOST_KEY_ALGORITHMS.filter((a) => a === t));
  return [...new Set([...preferred, ...HOST_KEY_ALGORITHMS])];
}

function home(opts: ConnectOptions): string {
  return opts.home ?? process.env.HOME ?? homedir();
}

/** Connect to a target (alias, ssh:// URL or user@host:port), through its ProxyJump chain. */
export async function connectSsh(target: string, opts: ConnectOptions = {}): Promise<SshConnection> {
  const identity = opts.identity === undefined ? [] : Array.isArray(opts.identity) ? opts.identity : [opts.identity];
  const resolved = resolveTarget(target, { home: home(opts), debug: opts.debug, identity });
  const opened: Client[] = [];
  try {
    const client = await openHop(resolved, resolved.proxyJump, opts, opened, 0);
    return new SshConnection(client, resolved, opened.slice(0, -1).reverse());
  } catch (err) {
    for (const c of opened) c.end();
    throw err;
  }
}

/** Open `h`, going through `jumps` (first hop first). Every client opened is pushed to `opened`. */
async function openHop(h: ResolvedHost, jumps: string[], opts: ConnectOptions, opened: Client[], depth: number): Promise<Client> {
  if (depth > 8) throw new SshError("config", h.target, `ProxyJump chain for ${h.target} is longer than 8 hops; is there a loop in ~/.ssh/config?`);
  let sock: Duplex | undefined;
  if (jumps.length > 0) {
    // `ProxyJump a,b`: reach b through a, then the target through b. The first hop uses its own config.
    const last = resolveTarget(jumps[jumps.length - 1]!, { home: home(opts), debug: opts.debug });
    const before = jumps.slice(0, -1);
    const via = await openHop(last, before.length > 0 ? before : last.proxyJump, opts, opened, depth + 1);
    sock = await forward(via, describe(last), h);
  }
  const client = await handshake(h, sock, opts, depth === 0 ? opts : { ...opts, identity: undefined });
  opened.push(client);
  return client;
}

function forward(via: Client, viaLabel: string, to: ResolvedHost): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut("127.0.0.1", 0, to.host, to.port, (err, stream) => {
      if (err) {
        reject(new SshError("unreachable", `${to.host}:${to.port}`,
          `Jump host ${viaLabel} could not open a connection to ${to.host}:${to.port}: ${err.message}`, { cause: err }));
      } else resolve(stream);
    });
  });
}

type AuthStep =
  | { type: "agent"; username: string; agent: string }
  | { type: "publickey"; username: string; key: ParsedKey };

function handshake(h: ResolvedHost, sock: Duplex | undefined, opts: ConnectOptions, hopOpts: ConnectOptions): Promise<Client> {
  const where = describe(h);
  const hostPort = `${h.host}:${h.port}`;
  const policy: HostKeyPolicy = {
    knownHostsFiles: h.knownHostsFiles,
    trustFile: opts.trustFile ?? defaultTrustFile(opts.home),
    acceptNewHostKey: opts.acceptNewHostKey === true,
    acceptFingerprints: opts.acceptHostKeys ?? [],
  };
  const timeoutMs = opts.timeoutMs ?? h.connectTimeoutMs ?? 15_000;
  const debug = opts.debug;

  // Authentication methods, in OpenSSH's order: the agent, then identity files.
  const agent = opts.agentSocket === undefined ? process.env.SSH_AUTH_SOCK : opts.agentSocket ?? undefined;
  const explicit = hopOpts.identity === undefined ? [] : Array.isArray(hopOpts.identity) ? hopOpts.identity : [hopOpts.identity];
  for (const p of explicit) {
    if (!existsSync(p)) throw new SshError("config", where, `identity file ${p} does not exist`);
  }
  const useAgent = agent !== undefined && agent !== "" && !(h.identitiesOnly && h.identitiesExplicit);
  const methods: ({ kind: "agent"; socket: string } | { kind: "key"; path: string })[] = [
    ...(useAgent ? [{ kind: "agent" as const, socket: agent }] : []),
    ...h.identityFiles.map((path) => ({ kind: "key" as const, path })),
  ];
  const tried: string[] = [];
  let next = 0;
  let authError: SshError | undefined;
  let hostKeyError: SshError | undefined;

  async function nextAuth(): Promise<AuthStep | false> {
    while (next < methods.length) {
      const m = methods[next++]!;
      if (m.kind === "agent") {
        tried.push(`ssh-agent at ${m.socket}`);
        return { type: "agent", username: h.user, agent: m.socket };
      }
      if (!existsSync(m.path)) { tried.push(`${m.path} (not found)`); continue; }
      const data = readFileSync(m.path);
      let key = utils.parseKey(data);
      if (key instanceof Error && /no passphrase given/i.test(key.message)) {
        if (!opts.passphrase) { tried.push(`${m.path} (encrypted, and no passphrase prompt available)`); continue; }
        const pass = await opts.passphrase(m.path);
        key = utils.parseKey(data, pass);
        if (key instanceof Error) {
          throw new SshError("auth", where, `Wrong passphrase for ${m.path} (logging in to ${where}): ${key.message}`);
        }
      }
      if (key instanceof Error) { tried.push(`${m.path} (not a usable private key: ${key.message})`); continue; }
      const parsed = (Array.isArray(key) ? key[0] : key) as ParsedKey;
      tried.push(`${m.path} (${parsed.type})`);
      return { type: "publickey", username: h.user, key: parsed };
    }
    return false;
  }

  return new Promise((resolve, reject) => {
    const client = new SshClient();
    let settled = false;
    // Our own handshake timer (not ssh2's readyTimeout): it stops once authentication begins, so a
    // person typing a passphrase is not cut off. The server's LoginGraceTime bounds that part.
    const handshakeTimer = setTimeout(() => {
      fail(new SshError("timeout", hostPort, `Timed out after ${timeoutMs / 1000} s connecting to ${hostPort} (no SSH handshake): is the host up, the port right, and SSH not firewalled?`));
      client.destroy();
    }, timeoutMs);
    const fail = (err: SshError) => {
      clearTimeout(handshakeTimer);
      if (settled) return;
      settled = true;
      client.end();
      reject(err);
    };
    client.once("ready", () => {
      clearTimeout(handshakeTimer);
      settled = true;
      debug?.(`${where}: authenticated with ${tried[tried.length - 1] ?? "none"}`);
      resolve(client);
    });
    client.on("error", (err: Error & { level?: string; code?: string }) => {
      if (settled) return; // after ready, SshConnection reports errors through `closed`
      fail(hostKeyError ?? authError ?? classify(err, h, where, hostPort, tried, timeoutMs));
    });
    client.once("close", () => fail(hostKeyError ?? authError ??
      new SshError("unreachable", hostPort, `${hostPort} closed the connection before SSH login finished`)));

    client.connect({
      host: h.host,
      port: h.port,
      username: h.user,
      sock: sock as never, // ssh2 accepts any connected duplex (a forwarded channel for jump hosts)
      readyTimeout: 0, // see handshakeTimer
      keepaliveInterval: opts.keepaliveMs ?? h.keepaliveMs ?? 15_000,
      keepaliveCountMax: 3,
      algorithms: { serverHostKey: hostKeyAlgorithms(knownKeyTypes(h.hostKeyHost, h.port, policy)) },
      hostVerifier: (key: Buffer) => {
        try {
          const verdict = verifyHostKey(h.hostKeyHost, h.port, key, policy);
          debug?.(`${hostPort}: host key accepted (${verdict})`);
          if (verdict === "accepted-new") {
            opts.onHostKeyAccepted?.({ host: h.hostKeyHost, port: h.port, keyType: keyTypeOf(key), fingerprint: fingerprint(key), trustFile: policy.trustFile });
          }
          return true;
        } catch (err) {
          // A trust list we cannot read is a refusal too, with its own message.
          hostKeyError = err instanceof HostKeyError ? err : new SshError("config", hostPort, `${hostPort}: cannot check the host key: ${(err as Error).message}`);
          return false;
        }
      },
      authHandler: (_left: AuthenticationType[] | null, _partial: boolean | null, cb: (next: AuthStep | false) => void) => {
        clearTimeout(handshakeTimer); // handshake done, host key accepted
        nextAuth().then(cb, (err: unknown) => {
          authError = err instanceof SshError ? err : new SshError("auth", where, String(err));
          cb(false);
        });
      },
      debug: debug ? (msg: string) => debug(`[${hostPort}] ${msg}`) : undefined,
    } as never);
  });
}

function classify(err: Error & { level?: string; code?: string }, h: ResolvedHost, where: string, hostPort: string, tried: string[], timeoutMs: number): SshError {
  const code = err.code;
  if (err.level === "client-authentication") {
    const list = tried.length > 0 ? tried.join("; ") : "nothing (no ssh-agent, no identity files found)";
    return new SshError("auth", where,
      `Authentication failed for ${where}. Tried: ${list}. ` +
      `Fix: put your public key in ~/.ssh/authorized_keys of ${h.user} on ${h.host}, ` +
      `or name the right key (IdentityFile in ~/.ssh/config, or --identity), or load it into ssh-agent.`, { cause: err });
  }
  if (code === "ECONNREFUSED") {
    return new SshError("unreachable", hostPort, `Connection refused by ${hostPort}: nothing accepts SSH connections on port ${h.port} there (is sshd running? is the port right?)`, { cause: err });
  }
  if (code === "ENOTFOUND") {
    return new SshError("unknown-host", hostPort, `No such host: DNS does not know the name "${h.host}" (${code}) of ${hostPort}. `
      + "Check the spelling, HostName in ~/.ssh/config, or the VPN the name needs", { cause: err });
  }
  if (code === "EAI_AGAIN") {
    return new SshError("unreachable", hostPort, `Cannot resolve host name "${h.host}" (${code}, a temporary DNS failure) for ${hostPort}: check your network`, { cause: err });
  }
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EHOSTDOWN") {
    return new SshError("unreachable", hostPort, `${hostPort} is unreachable (${code}): check the address and your network / VPN`, { cause: err });
  }
  if (code === "ETIMEDOUT" || err.level === "client-timeout") {
    return new SshError("timeout", hostPort, `Timed out after ${timeoutMs / 1000} s connecting to ${hostPort} (no SSH handshake): is the host up, the port right, and SSH not firewalled?`, { cause: err });
  }
  if (err.level === "client-socket") {
    return new SshError("unreachable", hostPort, `Connection to ${hostPort} failed: ${err.message}`, { cause: err });
  }
  return new SshError("protocol", hostPort, `SSH handshake with ${hostPort} failed: ${err.message}`, { cause: err });
}
