// The `local` target: the agent runs as a Python subprocess of this machine, importable from the repository's
// remote-agent/ directory, with its daemon home in the per-user app-data directory.

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { localAgentHome } from "./paths";
import type { AgentProcess, Transport } from "./transport";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The directory that holds the fractal_agent package: $FRACTAL_AGENT_DIR (a packaged app points it at its
 *  unpacked resources/remote-agent, since Python cannot import from inside app.asar), else the checkout's. */
export function agentDir(): string {
  return process.env.FRACTAL_AGENT_DIR ?? join(REPO_ROOT, "remote-agent");
}

/**
 * Seconds the local daemon lingers with no sweep queued and no client before it exits (the agent's --idle-timeout;
 * a node's daemon keeps the agent's default of an hour). $FRACTAL_AGENT_IDLE_TIMEOUT overrides it.
 */
export const LOCAL_IDLE_TIMEOUT_S = 60;

function localIdleTimeout(configured?: number): number {
  const env = Number(process.env.FRACTAL_AGENT_IDLE_TIMEOUT);
  return configured ?? (Number.isFinite(env) && env > 0 ? env : LOCAL_IDLE_TIMEOUT_S);
}

/** Interpreters tried, in order, when none is configured. Debian's /usr/bin/python3 is where apt puts torch. */
const CANDIDATES = ["python3", "/usr/bin/python3"];

/** The agent's `env` probe run by `python` (null if it printed no JSON, e.g. the interpreter does not exist). */
function envOf(python: string): Record<string, unknown> | null {
  const r = spawnSync(python, ["-m", "fractal_agent", "env"], {
    cwd: agentDir(), env: { ...process.env, PYTHONPATH: agentDir() }, encoding: "utf8", timeout: 120_000,
  });
  try {
    return JSON.parse(r.stdout);
  } catch {
    return null;
  }
}

/**
 * The Python that runs the local agent, and its `env`: the configured one (which must have torch), else the
 * first of python3 and /usr/bin/python3 whose `env` reports torch.
 */
export function findLocalPythonWithEnv(configured?: string): { python: string; env: Record<string, unknown> } {
  const tried: string[] = [];
  for (const python of configured ? [configured] : CANDIDATES) {
    const env = envOf(python);
    if (env && env.torch !== null && env.torch !== undefined) return { python, env };
    tried.push(`${python}: ${env ? String(env.error ?? "no torch") : "does not run the agent (not found?)"}`);
  }
  if (configured) throw new Error(`--python ${configured} cannot run the agent: ${tried[0]}. Install torch and numpy into it, or name another interpreter`);
  throw new Error(`no Python with torch and numpy found:\n  ${tried.join("\n  ")}\nInstall them `
    + "(Debian/Ubuntu: sudo apt-get install python3-torch python3-numpy) or pass --python /path/to/python");
}

/** findLocalPythonWithEnv, the interpreter only. */
export function findLocalPython(configured?: string): string {
  return findLocalPythonWithEnv(configured).python;
}

export class LocalTransport implements Transport {
  readonly label = "local";
  readonly python: string;
  readonly home: string;
  /** The idle timeout of a daemon this transport starts (attach and daemon get --idle-timeout unless they carry one). */
  readonly idleTimeout: number;

  constructor(opts: { python: string; home?: string; idleTimeout?: number }) {
    this.python = opts.python;
    this.home = opts.home ?? localAgentHome();
    this.idleTimeout = localIdleTimeout(opts.idleTimeout);
  }

  async agent(args: string[]): Promise<AgentProcess> {
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    if ((args[0] === "attach" || args[0] === "daemon") && !args.includes("--idle-timeout")) {
      // A laptop's daemon holds torch in memory: let it go soon after the last client and sweep.
      args = [...args, "--idle-timeout", String(this.idleTimeout)];
    }
    const child = spawn(this.python, ["-m", "fractal_agent", ...args], {
      cwd: agentDir(),
      env: { ...process.env, PYTHONPATH: agentDir(), FRACTAL_AGENT_HOME: this.home, PYTHONUNBUFFERED: "1" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((res) => {
      child.once("close", (code, signal) => res({ code, signal }));
      child.once("error", () => res({ code: null, signal: null }));
    });
    await new Promise<void>((res, rej) => {
      child.once("spawn", () => res());
      child.once("error", (e) => rej(new Error(`cannot start ${this.python}: ${e.message}`)));
    });
    child.stdin.on("error", () => {}); // EPIPE after the agent exits surfaces as `exited`, not as a crash
    return { stdin: child.stdin, stdout: child.stdout, stderr: child.stderr, exited, kill: () => child.kill("SIGTERM") };
  }

  async close(): Promise<void> {}
}
