// The host manager behind the API: hosts named in ~/.ssh/config (Host aliases without wildcards) merged with the
// store's hosts table, and "test connection" = the SSH module's connect + install + probe, turned into a typed,
// JSON-able result. A host key we refuse is a result, not an error, so the UI can show its fingerprint and ask.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import SSHConfig from "ssh-config";
import { type HostRow, type Store, TERMINAL } from "../core/store";
import { SshError } from "../ssh/errors";
import { gpuNames, sshOptions, type TargetOptions } from "../launch/targets";
import { parseScheduler, schedulerSettings } from "../core/scheduler";
import { ApiError, type HostInfo, type HostTestOptions, type HostTestResult, type InterpreterInfo, type NewHost } from "../../src-shared/contract";

export interface HostOptions {
  /** Home directory holding .ssh/config and .ssh/known_hosts (default $HOME). */
  home: string;
  /** The app's host-key trust list (default: the SSH module's per-user file). */
  trustFile?: string;
  /** ssh-agent socket (default $SSH_AUTH_SOCK); null: no agent. */
  agentSocket?: string | null;
}

/** Host aliases in `home`/.ssh/config that name one host (no wildcards or negations), in file order. */
export function configAliases(home: string): string[] {
  const file = join(home, ".ssh", "config");
  if (!existsSync(file)) return [];
  const out: string[] = [];
  for (const line of SSHConfig.parse(readFileSync(file, "utf8"))) {
    if (line.type !== SSHConfig.DIRECTIVE || !/^host$/i.test(line.param)) continue;
    const names = typeof line.value === "string" ? [line.value] : line.value.map((v) => v.val);
    for (const n of names) if (!/[*?!]/.test(n) && !out.includes(n)) out.push(n);
  }
  return out;
}

export function listHosts(store: Store, o: HostOptions): HostInfo[] {
  const saved = new Map(store.hosts().map((h) => [h.alias, h]));
  const hosts: HostInfo[] = [];
  for (const alias of configAliases(o.home)) {
    const h = saved.get(alias);
    saved.delete(alias);
    hosts.push(h ? { ...info(store, h), source: "both" }
      : { alias, source: "ssh-config", hostname: null, port: null, user: null, python: null, ...probed(store, alias) });
  }
  for (const h of saved.values()) hosts.push(info(store, h));
  return hosts;
}

function info(store: Store, h: HostRow): HostInfo {
  return {
    alias: h.alias, source: "store", hostname: h.hostname, port: h.port, user: h.user, python: h.python, ...probed(store, h.alias),
    scheduler: parseScheduler(h.scheduler), partitions: partitions(store, h.alias),
  };
}

/** A Slurm login node's partitions from the last probe's env (the agent's `sinfo`), "name" with "*" for the default. */
function partitions(store: Store, target: string): string[] | null {
  const slurm = store.hostProbe(target)?.env?.slurm as { partitions?: { name: string; default?: boolean }[] } | null | undefined;
  return slurm?.partitions ? slurm.partitions.map((p) => p.name + (p.default ? "*" : "")) : null;
}

/** GPUs found by the last connection test or launch on `target` (launch/targets.ts keeps the probe). */
function probed(store: Store, target: string): { gpus: string[] | null; probedAt: string | null } {
  const p = store.hostProbe(target);
  return p ? { gpus: gpuNames(p.env), probedAt: p.probed_at } : { gpus: null, probedAt: null };
}

export function addHost(store: Store, h: NewHost): HostInfo {
  if (typeof h.alias !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(h.alias) || h.alias === "local") {
    throw new ApiError(`host alias must be letters, digits, '.', '_' or '-' (and not "local"), got ${JSON.stringify(h.alias)}`);
  }
  if (typeof h.hostname !== "string" || !/^[^\s@/]+$/.test(h.hostname)) {
    throw new ApiError(`hostname must be a host name or address without spaces, '@' or '/', got ${JSON.stringify(h.hostname)}`);
  }
  if (!(Number.isInteger(h.port) && h.port >= 1 && h.port <= 65535)) throw new ApiError(`port must be 1-65535, got ${JSON.stringify(h.port)}`);
  const user = h.user?.trim() || null, python = h.python?.trim() || null;
  let scheduler;
  try {
    scheduler = h.scheduler ? schedulerSettings({ ...h.scheduler, scheduler: h.scheduler.kind }) : null;
  } catch (e) {
    throw new ApiError(`scheduler.${(e as Error).message}`);
  }
  store.addHost({ alias: h.alias, hostname: h.hostname, port: h.port, user, python, agent_dir: null });
  store.setHostScheduler(h.alias, scheduler ? JSON.stringify(scheduler) : null);
  return info(store, store.host(h.alias)!);
}


/**
 * Forget a saved host. Refused while a sweep on it is unfinished (it would have no address to be followed or cancelled
 * by); finished sweeps keep their results and the target's name. A ~/.ssh/config alias is that file's to remove.
 */
export function deleteHost(store: Store, alias: string): void {
  if (!store.host(alias)) throw new ApiError(`${JSON.stringify(alias)} is no saved host; a ~/.ssh/config alias is removed from that file`);
  const busy = store.sweeps().filter((s) => s.target === alias && !TERMINAL.includes(s.status));
  if (busy.length) {
    throw new ApiError(`host ${alias} has unfinished sweeps (${busy.map((s) => `${s.name} ${s.id}`).join(", ")}): cancel them or let them `
      + "finish, then delete the host");
  }
  store.removeHost(alias);
}

/** Connect to a host for a test: the core's SSH options (targets.ts), no passphrase prompt (the UI has none). */
async function openForTest(store: Store, alias: string, acceptHostKeys: readonly string[], o: HostOptions) {
  const ssh = await import("../ssh/index");
  const { address, opts } = await sshOptions(store, alias, { ...uiTargetOptions(o), acceptHostKeys });
  const t = await ssh.openSshTransport(address, opts);
  store.setHostProbe(alias, t.python, t.env);
  return t;
}

/** Target options for the app: its home, trust list and agent, and no passphrase prompt (ssh-agent or a plain key). */
export function uiTargetOptions(o: HostOptions): TargetOptions {
  return {
    home: o.home, trustFile: o.trustFile, agentSocket: o.agentSocket,
    passphrase: async (key) => { throw new SshError("auth", key, `${key} is encrypted; load it into ssh-agent to use it from the app`); },
  };
}

/** Connect, install the agent and probe its interpreters; report what was found, or why it could not.
 *  `accept`: the fingerprints the user was shown and accepted (HostTestOptions.acceptHostKeys), or the options
 *  object itself; only a key with one of them is trusted. (A boolean, the contract before fingerprints, accepts
 *  nothing: "accept" must name the key the user saw.) */
export async function testHost(store: Store, alias: string, accept: readonly string[] | HostTestOptions | boolean, o: HostOptions): Promise<HostTestResult> {
  const given: unknown = typeof accept === "object" && accept !== null && !Array.isArray(accept) ? (accept as HostTestOptions).acceptHostKeys : accept;
  const acceptHostKeys = Array.isArray(given) ? given.filter((k): k is string => typeof k === "string") : [];
  if (!store.host(alias) && !configAliases(o.home).includes(alias)) {
    throw new ApiError(`unknown host ${JSON.stringify(alias)}: not in ${join(o.home, ".ssh", "config")} nor saved in ${store.path}; add it first`);
  }
  const ssh = await import("../ssh/index");
  let t;
  try {
    t = await openForTest(store, alias, acceptHostKeys, o);
  } catch (e) {
    if (e instanceof ssh.HostKeyError) {
      return {
        status: "host-key", alias, message: e.message,
        hostKey: { problem: e.problem, host: e.host, port: e.port, keyType: e.keyType, fingerprint: e.fingerprint, knownFingerprints: e.knownFingerprints },
      };
    }
    if (e instanceof ssh.SshError) return { status: "error", alias, kind: e.kind, message: e.message };
    throw e;
  }
  try {
    return {
      status: "ok", alias, label: t.label, installDir: t.install.dir, python: t.python,
      interpreters: t.probeResult.tried.map(interpreter),
    };
  } finally {
    await t.close();
  }
}

function interpreter(r: { candidate: string; path: string | null; env: Record<string, unknown> | null; ok: boolean; problem: string | null }): InterpreterInfo {
  const e = r.env ?? {};
  const s = (v: unknown) => (typeof v === "string" ? v : null);
  const gpus = gpuNames(e);
  return {
    candidate: r.candidate, path: r.path, ok: r.ok, problem: r.problem,
    python: s(e.python), torch: s(e.torch), cuda: s(e.cuda), cudaAvailable: e.cuda_available === true, gpus,
  };
}
