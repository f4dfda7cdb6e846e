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
// pickers show GPUs and estimate cost without connecting. Room for a cluster scheduler later: it is one more kind.

import type { HostRow, Store } from "./store";
import { FatalAgentError } from "./sweep-runner";
import { findLocalPythonWithEnv, LocalTransport } from "./local-transport";
import type { LocalFile } from "./local-data";
import type { Transport } from "./transport";
import type { AgentEnv, SshTransport, SshTransportOptions, UploadResult } from "../ssh/index";

export interface TargetOptions {
  /** local: the interpreter (default: the first python3 with torch); SSH: the one the probe tries first */
  python?: string;
  /** SSH: an identity file tried before the config's */
  identity?: string;
  /** SSH: trust an unknown host key (recorded in the trust list; a changed key is always refused) */
  acceptNewHostKey?: boolean;
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
      acceptNewHostKey: o.acceptNewHostKey ?? false, passphrase: o.passphrase,
      python: o.python ?? saved?.python ?? undefined, remoteRoot: saved?.agent_dir ?? undefined,
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
      name: "local", kind: "local", label: "local", python: found.python, env: found.env,
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
  let t: SshTransport | null = await ssh.openSshTransport(address, opts);
  store.setHostProbe(target, t.python, t.env as AgentEnv);
  const first = t;
  const live = async (): Promise<SshTransport> => {
    t ??= await ssh.openSshTransport(address, { ...opts, interpreter: { python: first.python, env: first.env } });
    return t;
  };
  return {
    name: target, kind: "ssh", label: first.label, python: first.python, env: first.env,
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
      await ssh.uploadLocalData((await live()).connection, files, onFile);
    },
    removeRemote: async (paths) => {
      if (!paths.length) return;
      await ssh.removeRemoteFiles((await live()).connection, await remoteRootOf(store, target), paths);
    },
    close: async () => { if (t) await t.close(); t = null; },
  };
}

/** A target's GPUs from a probe's env, as "name (memory GiB)". */
export function gpuNames(env: Record<string, unknown> | null | undefined): string[] {
  const gpus = env && Array.isArray(env.gpus) ? env.gpus as { name?: unknown; memory?: unknown }[] : [];
  return gpus.map((g) => `${String(g.name)}${typeof g.memory === "number" ? ` (${(g.memory / 2 ** 30).toFixed(0)} GiB)` : ""}`);
}
