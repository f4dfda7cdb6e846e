// A real one-node Slurm cluster for tests: test/slurm/cluster.sh starts munged, slurmctld and slurmd (Debian's
// slurm-wlm and munge) as root in a temp directory, with an oversubscribed partition "debug" so several array tasks
// run at once on 2 cores. Clients (sbatch, squeue, scancel, sinfo) find it through SLURM_CONF.
//
//   const c = startSlurmCluster();           // synchronous; { ok: false, reason } where slurmctld cannot start here
//   if (c.ok) { ...SLURM_CONF=c.conf...; c.stop(); }
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SCRIPT = resolve(__dirname, "cluster.sh");

export type SlurmCluster =
  | { ok: true; dir: string; conf: string; env: Record<string, string>; squeue(): { job: string; task: number; state: string }[]; stop(): void }
  | { ok: false; reason: string };

export function startSlurmCluster(): SlurmCluster {
  const dir = mkdtempSync(join(tmpdir(), "fractal-slurm-"));
  const r = spawnSync(SCRIPT, ["start", dir], { encoding: "utf8", timeout: 120_000 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    if (r.status === 3) return { ok: false, reason: r.stderr.trim() };
    throw new Error(`test/slurm/cluster.sh start failed (${r.status ?? r.signal}): ${r.stderr}`);
  }
  const conf = join(dir, "slurm.conf");
  const env = { SLURM_CONF: conf };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    spawnSync("scancel", ["--partition", "debug"], { env: { ...process.env, ...env } });
    spawnSync(SCRIPT, ["stop", dir], { timeout: 60_000 });
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  const squeue = () => execFileSync("squeue", ["--noheader", "--array", "--format", "%F|%K|%T"], { env: { ...process.env, ...env } })
    .toString().split("\n").filter(Boolean).map((l) => {
      const [job, task, state] = l.trim().split("|");
      return { job, task: Number(task), state };
    });
  return { ok: true, dir, conf, env, squeue, stop };
}
