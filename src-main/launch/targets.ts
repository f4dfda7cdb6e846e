// Where sweeps run. A target is named by a string, as sweeps.target records it:
//
//   "local"                 the agent as a subprocess of this machine (local-transport.ts)
//   an alias                a host saved in the store (fractal-llm hosts add, the app's host manager) or a Host of
//                           ~/.ssh/config; a saved host wins, as its address, Python and agent directory are explicit
//   ssh://user@host:port    an address typed on the command line
//
// openTarget() is the one place that turns a name into a connection: the SSH options (host keys, identity,
// passphrase, trust list, interpreter, agent directory) are built here for the CLI and the app alike. What the
// connection found (the interpreter and its `env`: torch, CUDA, GPUs) is kept in the store, so the app's target
// pickers show GPUs and estimate cost without connecting. A saved host with a scheduler (a Slurm cluster's login node,
// core/scheduler.ts) opens like any SSH host and carries its settings: its sweeps are submitted as job arrays there.

import { lookup } from "node:dns/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { HostRow, Store } from "../core/store";
import { parseScheduler, type SchedulerSettings } from "../core/scheduler";
import { FatalAgentError } from "../core/sweep-runner";
import { text } from "../core/agent-client";
import { findLocalPythonWithEnv, LocalTransport } from "../core/local-transport";
import type { LocalFile } from "../core/local-data";
import type { Transport } from "../core/transport";
import type { AgentEnv, SshTransport, SshTransportOptions, UploadResult } from "../ssh/index";

export interface TargetOptions {
  /** local: the interpreter (default: the first python3 with torch); SSH: the one the probe tries first */
  python?: string;
  /** SSH: an identity file tried before the config's */
  identity?: string;
  /** SSH: trust an unknown host key whose fingerprint ("SHA256:...") is one of these, the ones the user was shown
   *  (recorded in the trust list; a key with another fingerprint, or a changed key, is refused) */
  acceptHostKeys?: readonly string[];
  /** SSH: trust any unknown host key on first use (the CLI's --accept-new-host-key; a changed key is always refused) */
  acceptNewHostKey?: boolean;
  /** SSH: told about each host key that was recorded in the trust list, so it can be shown */
  onHostKeyAccepted?: (k: { host: string; port: number; keyType: string; fingerprint: string; trustFile: string }) => void;
  /** told what went wrong when a phase (connect, install, probe, data upload) is retried, and when */
  onRetry?: (message: string) => void;
  /** SSH: asked for an encrypted key's passphrase (the app has none: ssh-agent or a plain key) */
  passphrase?: (keyPath: string) => Promise<string>;
  /** SSH: the home whose .ssh/ (config, known_hosts, keys) is read; default $HOME */
  home?: string;
  /** SSH: the app's host-key trust list; default the per-user file */
  trustFile?: string;
  /** SSH: ssh-agent socket; default $SSH_AUTH_SOCK; null: none */
  agentSocket?: string | null;
  /** local: the agent's home (default the per-user app-data directory) */
  localAgentHome?: string;
}

/** An opened target: transports to the agent there, and what the node needs from the laptop. */
export interface OpenTarget {
  /** the name it was opened by ("local", an alias, an ssh:// address) */
  readonly name: string;
  readonly kind: "local" | "ssh";
  /** the transport's label ("local", "user@host:port"): sync cursors are kept per label */
  readonly label: string;
  /** the interpreter that runs the agent there, and its `env` */
  readonly python: string;
  readonly env: Record<string, unknown>;
  /** a cluster's scheduler settings (a host saved with --scheduler slurm): sweeps go to it as job arrays */
  readonly scheduler: SchedulerSettings | null;
  /** A transport for attempt n of a run: 0 reuses the open one; after a failure SSH connects afresh. */
  connect(attempt: number): Promise<Transport>;
  /** SSH: put laptop files on the node (verified, atomic); local reads them in place. */
  upload(files: readonly LocalFile[], onFile?: (r: UploadResult) => void): Promise<void>;
  /** SSH: remove files or directories under the node's agent root (uploads no sweep needs any more). */
  removeRemote(paths: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** ssh:// address of a saved host (what the SSH module connects to). */
export function hostAddress(h: HostRow): string {
  return `ssh://${h.user ? encodeURIComponent(h.user) + "@" : ""}${h.hostname.includes(":") ? `[${h.hostname}]` : h.hostname}:${h.port}`;
}

/** Where the node keeps the agent and uploads for `target` (the saved host's agent_dir, else the default). */
export async function remoteRootOf(store: Store, target: string): Promise<string> {
  const { DEFAULT_REMOTE_ROOT } = await import("../ssh/index");
  return store.host(target)?.agent_dir ?? DEFAULT_REMOTE_ROOT;
}

/** The SSH module's address and options for a target name: a saved host's address, else the name as given. */
export async function sshOptions(store: Store, target: string, o: TargetOptions): Promise<{ address: string; opts: SshTransportOptions }> {
  const saved = store.host(target);
  return {
    address: saved ? hostAddress(saved) : target,
    opts: {
      home: o.home, trustFile: o.trustFile, agentSocket: o.agentSocket, identity: o.identity,
      acceptNewHostKey: o.acceptNewHostKey ?? false, acceptHostKeys: o.acceptHostKeys ?? [],
      onHostKeyAccepted: o.onHostKeyAccepted, passphrase: o.passphrase,
      python: o.python ?? saved?.python ?? undefined, remoteRoot: saved?.agent_dir ?? undefined,
      retry: o.onRetry ? { onRetry: (r) => o.onRetry!(r.message) } : undefined,
    },
  };
}

/**
 * Open a target: find the local Python, or connect over SSH, install the agent (idempotent) and probe the
 * interpreters. Fails, before anything is recorded, when the target cannot run the agent. The probe is kept in
 * the store under the target's name.
 */
export async function openTarget(store: Store, target: string, o: TargetOptions = {}): Promise<OpenTarget> {
  if (target === "local") {
    const found = findLocalPythonWithEnv(o.python);
    store.setHostProbe("local", found.python, found.env);
    const t = new LocalTransport({ python: found.python, home: o.localAgentHome });
    return {
      name: "local", kind: "local", label: "local", python: found.python, env: found.env, scheduler: null,
      connect: async () => t,
      upload: async (files) => {
        if (files.length) throw new Error("local sweeps read laptop files in place; nothing to upload");
      },
      removeRemote: async (paths) => {
        if (paths.length) throw new Error("local sweeps have no uploads to remove");
      },
      close: async () => {},
    };
  }
  const ssh = await import("../ssh/index");
  const { address, opts } = await sshOptions(store, target, o);
  await refuseUnknownName(store, target, o.home ?? process.env.HOME ?? homedir(), ssh.resolveTarget);
  let t: SshTransport | null = await ssh.openSshTransport(address, opts);
  store.setHostProbe(target, t.python, t.env as AgentEnv);
  const first = t;
  const live = async (): Promise<SshTransport> => {
    t ??= await ssh.openSshTransport(address, { ...opts, interpreter: { python: first.python, env: first.env } });
    return t;
  };
  return {
    name: target, kind: "ssh", label: first.label, python: first.python, env: first.env,
    scheduler: parseScheduler(store.host(target)?.scheduler),
    connect: async (attempt) => {
      if (attempt > 0 && t) {
        const old = t;
        t = null;
        await old.close();
      }
      try {
        return await live();
      } catch (e) {
        // A host key or login problem does not go away by retrying: stop the run with the reason.
        if (e instanceof ssh.SshError && !ssh.isRetryable(e)) throw new FatalAgentError(e.message);
        throw e;
      }
    },
    upload: async (files, onFile) => {
      // A drop under the upload reconnects and uploads again (files already there with their sha256 are kept).
      let delay = 1000;
      for (let attempt = 1; ; attempt++) {
        const conn = (await live()).connection;
        try {
          await ssh.uploadLocalData(conn, files, onFile);
          return;
        } catch (e) {
          const err = await conn.explainDrop(e, "uploading the sweep's data");
          if (!ssh.isRetryable(err) || attempt >= UPLOAD_ATTEMPTS) throw err;
          o.onRetry?.(`${(err as Error).message}; reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${UPLOAD_ATTEMPTS})`);
          const old = t;
          t = null;
          await old?.close().catch(() => undefined);
          await new Promise((res) => setTimeout(res, delay));
          delay = Math.min(15_000, delay * 2);
        }
      }
    },
    removeRemote: async (paths) => {
      if (!paths.length) return;
      await ssh.removeRemoteFiles((await live()).connection, await remoteRootOf(store, target), paths);
    },
    close: async () => { if (t) await t.close(); t = null; },
  };
}

const UPLOAD_ATTEMPTS = 5;

/**
 * A bare name that is no saved host, no Host of ~/.ssh/config and no host name DNS knows is a typo or a host saved
 * elsewhere: said at once, with where the app looked, rather than after the connection's retries.
 */
async function refuseUnknownName(store: Store, target: string, home: string,
    resolveTarget: (t: string, o: { home: string }) => { host: string }): Promise<void> {
  if (target.startsWith("ssh://") || /[@:[]/.test(target) || store.host(target)) return;
  if (resolveTarget(target, { home }).host !== target) return; // the ssh config names its HostName
  const err = await lookup(target).then(() => null, (e: NodeJS.ErrnoException) => e);
  if (err?.code !== "ENOTFOUND") return;
  throw new Error(`unknown target "${target}": it is no saved host (${store.hostsPath ?? store.path}), no Host in `
    + `${join(home, ".ssh", "config")}, and no host name DNS knows. Save it with \`fractal-llm hosts add ${target} --hostname HOST\` `
    + "(or in the app's Hosts panel), or give ssh://user@host:port");
}

/** A target's GPUs from a probe's env, as "name (memory GiB)". */
export function gpuNames(env: Record<string, unknown> | null | undefined): string[] {
  // The env comes from the node: entries that are not objects are skipped, names never trusted to stringify.
  const gpus = (env && Array.isArray(env.gpus) ? env.gpus as unknown[] : [])
    .filter((g): g is { name?: unknown; memory?: unknown } => typeof g === "object" && g !== null);
  return gpus.map((g) => `${text(g.name, 80)}${typeof g.memory === "number" ? ` (${(g.memory / 2 ** 30).toFixed(0)} GiB)` : ""}`);
}

/** Points per axis a zoom scan defaults to: a GPU node takes hundreds, a CPU a few dozen (about a minute). */
export const ZOOM_POINTS = { gpu: 256, cpu: 32 } as const;

/** What estimates and defaults assume about a target, from its last probe (targets never probed: see below). */
export interface TargetProfile {
  /** GPUs the last probe found, [] for none; null when never probed */
  gpus: string[] | null;
  /** the cost model's device (cost.ts DEVICES) and how many run at once */
  device: string;
  count: number;
  zoomPoints: number;
  cpuCount: number | null;
  probedAt: string | null;
}

/**
 * The CLI's and the app's one view of a target for cost, ETA and zoom resolution. The laptop and a node
 * without GPUs are one CPU; a node never probed is taken as one H100, what these hosts usually are, until a
 * connection says otherwise.
 */
export function targetProfile(store: Store, target: string): TargetProfile {
  const probe = store.hostProbe(target);
  const gpus = probe ? gpuNames(probe.env) : null;
  const cpuCount = typeof probe?.env.cpu_count === "number" ? probe.env.cpu_count : null;
  const probedAt = probe?.probed_at ?? null;
  if (target === "local" || (gpus !== null && gpus.length === 0)) {
    return { gpus, device: "cpu", count: 1, zoomPoints: ZOOM_POINTS.cpu, cpuCount, probedAt };
  }
  const name = (gpus?.[0] ?? "").toLowerCase();
  const device = ["h200", "h100", "a100"].find((d) => name.includes(d)) ?? "h100";
  return { gpus, device, count: Math.max(1, gpus?.length ?? 1), zoomPoints: ZOOM_POINTS.gpu, cpuCount, probedAt };
}
