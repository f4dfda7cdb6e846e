// Run the real CLI (bin/fractal-llm.js through tsx) as a child process.
import { spawn } from "node:child_process";
import { resolve } from "node:path";

export const REPO = resolve(__dirname, "../..");
export const BIN = resolve(REPO, "bin/fractal-llm.js");
export const PYTHON = process.env.FRACTAL_PYTHON ?? "/usr/bin/python3";

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function cli(args: string[], env: Record<string, string>, onStderr?: (s: string) => void): { done: Promise<CliResult>; pid: number } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "", stderr = "";
  child.stdout.on("data", (d: Buffer) => { stdout += d; });
  child.stderr.on("data", (d: Buffer) => { stderr += d; onStderr?.(d.toString()); });
  const done = new Promise<CliResult>((res) => child.on("close", (code) => res({ code, stdout, stderr })));
  return { done, pid: child.pid! };
}

export const run = (args: string[], env: Record<string, string>) => cli(args, env).done;

export function lastLine(s: string): string {
  const lines = s.trimEnd().split("\n");
  return lines[lines.length - 1];
}
