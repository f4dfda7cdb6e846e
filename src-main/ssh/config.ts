// Target parsing: an ~/.ssh/config Host alias, ssh://user@host:port, or user@host[:port].
// The config is read through the `ssh-config` package; `Match exec` is never executed.

import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import { isAbsolute, join } from "node:path";
import SSHConfig from "ssh-config";
import { SshError } from "./errors.js";

export interface ResolvedHost {
  /** what was asked for: an alias, a host name or a URL */
  target: string;
  host: string;
  port: number;
  user: string;
  /** absolute paths, in order: explicit identity first, then IdentityFile lines, else OpenSSH's defaults */
  identityFiles: string[];
  /** IdentityFile came from the user (option or config), not from defaults */
  identitiesExplicit: boolean;
  identitiesOnly: boolean;
  /** jump hosts to go through, first hop first; [] for a direct connection */
  proxyJump: string[];
  /** name to look host keys up under (HostKeyAlias), else the host */
  hostKeyHost: string;
  knownHostsFiles: string[];
  /** ServerAliveInterval in ms, when configured */
  keepaliveMs?: number;
  /** ConnectTimeout in ms, when configured */
  connectTimeoutMs?: number;
}

export interface ConfigOptions {
  /** home directory that holds .ssh/ (default: $HOME) */
  home: string;
  debug?: (msg: string) => void;
}

interface Address { user?: string; host: string; port?: number }

/** ssh://[user@]host[:port] or [user@]host[:port] (the ProxyJump syntax); IPv6 hosts in brackets. */
export function parseAddress(spec: string): Address {
  const s = spec.startsWith("ssh://") ? spec.slice(6).replace(/\/$/, "") : spec;
  const m = /^(?:([^@/\s]+)@)?(\[[^\]]+\]|[^:@/\s[\]]+)(?::(\d+))?$/.exec(s);
  if (!m) {
    throw new SshError("config", spec, `cannot read SSH target "${spec}": use a Host alias from ~/.ssh/config, ssh://user@host:port or user@host:port`);
  }
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) {
    throw new SshError("config", spec, `SSH target "${spec}": port ${port} is outside 1-65535`);
  }
  return { user: m[1] ? decodeURIComponent(m[1]) : undefined, host: m[2]!.replace(/^\[|\]$/g, ""), port };
}

function loadConfig(home: string, debug?: (msg: string) => void): SSHConfig {
  const file = join(home, ".ssh", "config");
  if (!existsSync(file)) return new SSHConfig();
  const config = SSHConfig.parse(readFileSync(file, "utf8"));
  for (const line of config) {
    if (line.type !== SSHConfig.DIRECTIVE) continue;
    if (/^match$/i.test(line.param) && "criteria" in line && Object.keys(line.criteria).some((k) => k.toLowerCase() === "exec")) {
      debug?.(`${file}: "Match ${stringValue(line.value)}" is not executed (we never run commands from ssh config); that block is treated as not matching`);
    }
    if (/^include$/i.test(line.param)) {
      debug?.(`${file}: "Include ${stringValue(line.value)}" is not followed; put the Host block in ${file} itself`);
    }
  }
  return config;
}

function stringValue(v: string | { val: string }[]): string {
  return typeof v === "string" ? v : v.map((x) => x.val).join(" ");
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** OpenSSH's tokens and ~ in paths from ssh config. */
function expandPath(p: string, home: string, tokens: { h: string; r: string; u: string; p: number }): string {
  let s = p.replace(/%([%dhrup])/g, (_, t: string) =>
    t === "%" ? "%" : t === "d" ? home : t === "h" ? tokens.h : t === "r" ? tokens.r : t === "u" ? tokens.u : String(tokens.p));
  if (s === "~" || s.startsWith("~/")) s = home + s.slice(1);
  return isAbsolute(s) ? s : join(home, ".ssh", s);
}

function localUser(): string {
  return process.env.USER ?? userInfo().username;
}

/**
 * Resolve a target through ~/.ssh/config. An alias and a plain host name go through the same
 * Host matching (as with OpenSSH); a user or port written in the target beats the config's.
 */
export function resolveTarget(target: string, opts: ConfigOptions & { identity?: string[] }): ResolvedHost {
  const addr = parseAddress(target);
  const config = loadConfig(opts.home, opts.debug);
  const c = config.compute(addr.host, { ignoreCase: true, matchExec: false }) as Record<string, string | string[] | undefined>;

  const host = first(c.hostname) ?? addr.host;
  const port = addr.port ?? (c.port !== undefined ? Number(first(c.port)) : 22);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new SshError("config", target, `ssh config for "${addr.host}": Port ${String(first(c.port))} is not a port number`);
  }
  const user = addr.user ?? first(c.user) ?? localUser();
  const tokens = { h: host, r: user, u: localUser(), p: port };

  const configured = ((c.identityfile as string[] | undefined) ?? []).map((p) => expandPath(p, opts.home, tokens));
  const explicit = (opts.identity ?? []).map((p) => expandPath(p, opts.home, tokens));
  const identitiesExplicit = explicit.length + configured.length > 0;
  const defaults = ["id_ed25519", "id_ecdsa", "id_rsa"].map((n) => join(opts.home, ".ssh", n));
  const identityFiles = identitiesExplicit ? [...new Set([...explicit, ...configured])] : defaults.filter((p) => existsSync(p));

  const jump = first(c.proxyjump);
  const proxyJump = jump === undefined || jump.toLowerCase() === "none" ? [] : jump.split(",").map((s) => s.trim()).filter(Boolean);

  const knownRaw = c.userknownhostsfile;
  const userKnown = knownRaw === undefined
    ? [join(opts.home, ".ssh", "known_hosts"), join(opts.home, ".ssh", "known_hosts2")]
    : (Array.isArray(knownRaw) ? knownRaw : knownRaw.split(/\s+/)).filter((f) => f.toLowerCase() !== "none").map((f) => expandPath(f, opts.home, tokens));

  const seconds = (v: string | string[] | undefined) => (v === undefined ? undefined : Number(first(v)) * 1000 || undefined);
  return {
    target,
    host,
    port,
    user,
    identityFiles,
    identitiesExplicit,
    identitiesOnly: first(c.identitiesonly)?.toLowerCase() === "yes",
    proxyJump,
    hostKeyHost: first(c.hostkeyalias) ?? host,
    knownHostsFiles: [...userKnown, "/etc/ssh/ssh_known_hosts"],
    keepaliveMs: seconds(c.serveraliveinterval),
    connectTimeoutMs: seconds(c.connecttimeout),
  };
}

export function describe(h: { user: string; host: string; port: number }): string {
  return `${h.user}@${h.host}:${h.port}`;
}
