// The `local` target: the agent runs as a Python subprocess of this machine, importable from the repository's
// remote-agent/ directory, with its daemon home in the per-user app-data directory.

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { localAgentHome } from "./paths";
import type { AgentProcess, Transport } from "./transport";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const AGENT_DIR = join(REPO_ROOT, "remote-agent");

/** Interpreters tried, in order, when none is configured. Debian's /usr/bin/python3 is where apt puts torch. */
const CANDIDATES = ["python3", "/usr/bin/python3"];

function canImportTorch(python: string): boolean {
  const r = spawnSync(python, ["-c", "import torch, numpy"], { stdio: "ignore", timeout: 60_000 });
  return r.status === 0;
}

/**
 * The Python that runs the local agent: the configured one (which must import torch), else the first of
 * python3 and /usr/bin/python3 that can import torch and numpy.
 */
export function findLocalPython(configured?: string): string {
  if (configured) {
    if (!canImportTorch(configured)) {
      throw new Error(`--python ${configured} cannot import torch and numpy; install them into it, or name another interpreter`);
    }
    return configured;
  }
  for (const c of CANDIDATES) if (canImportTorch(c)) return c;
  throw new Error(`no Python with torch and numpy found (tried ${CANDIDATES.join(", ")}). Install them `
    + "(Debian/Ubuntu: sudo apt-get install python3-torch python3-numpy) or pass --python /path/to/python");
}

export class LocalTransport implements Transport {
  readonly label = "local";
  readonly python: string;
  readonly home: string;

  constructor(opts: { python: string; home?: string }) {
    this.python = opts.python;
    this.home = opts.home ?? localAgentHome();
  }

  async agent(args: string[]): Promise<AgentProcess> {
    mkdirSync(this.home, { recursive: true, mode: 0o700 });
    const child = spawn(this.python, ["-m", "fractal_agent", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PYTHONPATH: AGENT_DIR, FRACTAL_AGENT_HOME: this.home, PYTHONUNBUFFERED: "1" },
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
