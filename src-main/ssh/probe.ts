// Which Python on the node can run the agent? Try the configured one, then `python3` / `python`
// as a login shell finds them (conda and module setups live in the profile), then usual places.
// Each is asked through the agent's own `env` command, so "works" means the agent really runs.

import type { SshConnection } from "./connect.js";
import { SshError } from "./errors.js";
import { agentCommand, shellQuote } from "./quote.js";

/** The agent's `env` JSON (python, torch, cuda, gpus, versions); torch is null when it is missing. */
export type AgentEnv = Record<string, unknown> & { torch: unknown };

export interface InterpreterReport {
  /** how it was named: the configured path, "python3 (login shell)", "/usr/bin/python3", ... */
  candidate: string;
  /** absolute path on the node; null when not found */
  path: string | null;
  env: AgentEnv | null;
  /** has torch: the agent can train with it */
  ok: boolean;
  /** why not ok: "not found", "missing torch", or the agent's error */
  problem: string | null;
}

export interface ProbeResult {
  chosen: InterpreterReport | null;
  tried: InterpreterReport[];
  /** one line per interpreter tried, for messages */
  summary: string;
}

export interface ProbeOptions {
  /** configured interpreter (absolute, ~/..., or a command name): tried first */
  python?: string;
  /** probe every candidate instead of stopping at the first that has torch */
  all?: boolean;
}

const LOGIN_NAMES = ["python3", "python"];
const USUAL_PATHS = [
  "/usr/bin/python3", "/usr/local/bin/python3", "/opt/conda/bin/python",
  "~/miniconda3/bin/python", "~/anaconda3/bin/python", "~/miniforge3/bin/python", "~/mambaforge/bin/python",
  "~/.venv/bin/python", "~/venv/bin/python",
];

/** One shell line that prints "@@<i>=<absolute path or nothing>" for a candidate. */
function lookup(i: number, name: string, home: string): string {
  const p = name === "~" || name.startsWith("~/") ? home + name.slice(1) : name;
  if (p.includes("/")) return `if [ -x ${shellQuote(p)} ]; then printf '@@%s=%s\\n' ${i} ${shellQuote(p)}; else printf '@@%s=\\n' ${i}; fi`;
  // Ask a login shell (bash, else sh), so PATH includes what the user's profile adds.
  const inner = shellQuote(`printf '@@%s\\n' "$(command -v ${shellQuote(p)})"`);
  return `printf '@@%s=%s\\n' ${i} "$( (bash -lc ${inner} || sh -lc ${inner}) </dev/null 2>/dev/null | sed -n 's/^@@//p' | tail -n 1)"`;
}

function describeEnv(env: AgentEnv | null): string {
  if (!env) return "";
  const py = env.python;
  const version = typeof py === "string" ? py : typeof py === "object" && py !== null && "version" in py ? String((py as { version: unknown }).version) : "?";
  return `python ${version}, torch ${env.torch === null ? "missing" : JSON.stringify(env.torch)}`;
}

export async function probe(conn: SshConnection, agentDir: string, home: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const names = [
    ...(opts.python ? [{ candidate: opts.python, name: opts.python }] : []),
    ...LOGIN_NAMES.map((n) => ({ candidate: `${n} (login shell)`, name: n })),
    ...USUAL_PATHS.map((n) => ({ candidate: n, name: n })),
  ];
  const script = names.map((n, i) => lookup(i, n.name, home)).join("; ");
  const found = new Map<number, string>();
  const looked = await conn.run(script);
  if (looked.code === null && looked.signal === null) {
    throw new SshError("dropped", conn.label, `${conn.label}: looking for Python interpreters was cut short (no exit status)`);
  }
  for (const line of looked.stdout.split("\n")) {
    const m = /^@@(\d+)=(\/.*)$/.exec(line);
    if (m) found.set(Number(m[1]), m[2]!);
  }

  const tried: InterpreterReport[] = [];
  const seen = new Set<string>();
  let chosen: InterpreterReport | null = null;
  for (const [i, n] of names.entries()) {
    const path = found.get(i) ?? null;
    if (path === null) {
      // Only the configured interpreter is worth reporting as missing; the guesses are guesses.
      if (i === 0 && opts.python) tried.push({ candidate: n.candidate, path, env: null, ok: false, problem: "not found" });
      continue;
    }
    if (seen.has(path)) continue; // symlinked venv pythons keep their own path: dedupe by path, not target
    seen.add(path);
    const report = await runEnv(conn, agentDir, n.candidate, path);
    tried.push(report);
    if (report.ok && !chosen) {
      chosen = report;
      if (!opts.all) break;
    }
  }
  const summary = tried.map((t) => `${t.candidate}${t.path && t.path !== t.candidate ? ` -> ${t.path}` : ""}: ${t.ok ? describeEnv(t.env) : `${t.problem}${t.env ? ` (${describeEnv(t.env)})` : ""}`}`).join("\n");
  return { chosen, tried, summary };
}

async function runEnv(conn: SshConnection, agentDir: string, candidate: string, path: string): Promise<InterpreterReport> {
  // conn.run throws a retryable SshError("dropped") when the connection goes away under the command, so a probe
  // cut short is never mistaken for an interpreter that is missing or broken.
  const r = await conn.run(agentCommand(agentDir, path, ["env"]));
  if (r.code === null && r.signal === null) {
    throw new SshError("dropped", conn.label, `${conn.label}: probing ${path} was cut short (the command ended without an exit status)`);
  }
  const jsonLine = r.stdout.split("\n").reverse().find((l) => l.trim().startsWith("{"));
  let env: AgentEnv | null = null;
  if (jsonLine) {
    try { env = JSON.parse(jsonLine) as AgentEnv; } catch { env = null; }
  }
  if (env && env.torch !== null && env.torch !== undefined && r.code === 0) return { candidate, path, env, ok: true, problem: null };
  if (env && (env.torch === null || env.torch === undefined)) {
    return { candidate, path, env, ok: false, problem: `missing torch${typeof env.error === "string" ? `: ${env.error}` : ""}` };
  }
  const tail = (r.stderr.trim() || r.stdout.trim()).split("\n").slice(-3).join(" | ");
  return { candidate, path, env, ok: false, problem: `the agent's env command failed (exit ${r.code}): ${tail}` };
}
