// A Slurm cluster as a target (issue 12, docs/SLURM.md), all real parts: a one-node Slurm cluster (cluster.ts) and
// an sshd on 127.0.0.1 as its login node (test/ssh/harness.ts). `hosts add --scheduler slurm` registers it;
// `sweep --target` submits the sweep there as a job array; one task is scancelled mid-run and its cells run
// again; the CLI is stopped and re-run (resume); every cell is recorded exactly once; and the export matches a
// single-node (local) run of the same spec cell for cell.
import Database from "better-sqlite3";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopAgentDaemon, tempDir } from "../core/helpers";
import { startSshFixture, type SshFixture } from "../ssh/harness";
import { agentJournal, cli, FIELDS, lastLine, PYTHON, run } from "../cli/helpers";
import { startSlurmCluster } from "./cluster";
import { listHosts } from "../../src-main/api/hosts";
import { openStore } from "../../src-main/core/store";
import { userHostsPath } from "../../src-main/core/paths";

const cluster = startSlurmCluster();
if (!cluster.ok) console.warn(`skipping the Slurm tests: slurmctld cannot start here: ${cluster.reason}`);

const SPEC = {
  // 8000 steps: over a second a 16-cell chunk here, so task 1 is still training its shard when it is scancelled
  // after its first tile (with 400 steps a quiet machine finishes the shard first, and there is nothing to rerun).
  version: 1, name: "on slurm", model: { family: "mlp", width: 4 }, train: { steps: 8000 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points: 12 }, y: { param: "lr.output", scale: "log", range: [-1, 2], points: 12 } },
  criterion: { window: 10 },
};
const CELLS = 144;

describe.skipIf(!cluster.ok)("a Slurm cluster through its login node", () => {
  let fx: SshFixture;
  beforeAll(async () => {
    fx = await startSshFixture({ alias: "login" });
    // As on a cluster whose ~/.bashrc loads Slurm's environment (bash reads it for sshd's commands).
    writeFileSync(join(fx.remoteHome, ".bashrc"), `export SLURM_CONF=${cluster.ok ? cluster.conf : ""}\n`);
  });
  const localHomes: string[] = []; // the single-node comparison run's local agent
  afterAll(async () => {
    for (const h of localHomes) await stopAgentDaemon(h);
    await fx?.stop();
    if (cluster.ok) cluster.stop();
  });

  it("runs a sweep as a job array, reruns a scancelled task's cells, resumes, and matches a single-node run", async () => {
    if (!cluster.ok) return;
    const dir = tempDir("fractal-slurm-cli-");
    writeFileSync(join(dir, "spec.json"), JSON.stringify(SPEC));
    const db = join(dir, "db.sqlite");
    const env = { HOME: fx.home, SSH_AUTH_SOCK: "", XDG_DATA_HOME: join(dir, "data"), FRACTAL_LLM_DB: db };
    localHomes.push(join(dir, "data", "fractal-llm", "agent-home"));

    const add = await run(["hosts", "add", "cluster", "--hostname", "127.0.0.1", "--port", String(fx.port), "--user", fx.user,
      "--python", PYTHON, "--scheduler", "slurm", "--tasks", "3", "--partition", "debug", "--time", "30"], env);
    expect(add.code, add.stderr).toBe(0);
    const bad = await run(["hosts", "add", "c2", "--hostname", "h", "--scheduler", "slurm", "--time", "soon"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--time must be a Slurm time limit/);
    const list = await run(["hosts", "list"], env);
    expect(list.stdout).toMatch(/^cluster\t.*\tscheduler=slurm: 3 tasks, partition debug, time 30$/m);

    // First run: wait for the three tasks, scancel one of them mid-shard, then stop following (Ctrl-C).
    const first = cli(["sweep", "--spec", join(dir, "spec.json"), "--target", "cluster"], env);
    const sweeps = join(fx.remoteHome, ".fractal-agent", "sweeps");
    let sweepDir = "";
    const until = async (what: string, ok: () => boolean, ms = 120_000) => {
      for (const end = Date.now() + ms; !ok(); await new Promise((r) => setTimeout(r, 200))) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      }
    };
    await until("the job array", () => {
      const ids = existsSync(sweeps) ? execFileSync("ls", [sweeps]).toString().split("\n").filter(Boolean) : [];
      sweepDir = ids.length ? join(sweeps, ids[0]) : "";
      return sweepDir !== "" && existsSync(join(sweepDir, "slurm", "state.json"));
    });
    const job = JSON.parse(readFileSync(join(sweepDir, "slurm", "state.json"), "utf8")).rounds[0].job as string;
    await until("three running tasks", () => cluster.squeue().filter((t) => t.job === job && t.state === "RUNNING").length === 3);
    const shard = join(sweepDir, "slurm", "r0", "t1", "journal.jsonl");
    await until("task 1's first tile", () => existsSync(shard) && readFileSync(shard, "utf8").includes('"type":"tile"'));
    execFileSync("scancel", [`${job}_1`], { env: { ...process.env, ...cluster.env } });
    process.kill(first.pid, "SIGINT");
    const r1 = await first.done;
    expect(r1.code, r1.stderr).toBe(130);
    expect(r1.stderr).toMatch(/the agent keeps running the sweep/);
    const id = lastLine(r1.stdout);

    // Re-running the command resumes the same sweep and follows it to the end.
    const r2 = await run(["sweep", "--spec", join(dir, "spec.json"), "--target", "cluster"], env);
    expect(r2.code, r2.stderr).toBe(0);
    expect(lastLine(r2.stdout)).toBe(id);
    expect(r2.stderr).toMatch(/resuming sweep/);
    const d = new Database(db, { readonly: true });
    expect(d.prepare("SELECT status, done_cells, target FROM sweeps WHERE id = ?").get(id)).toEqual({ status: "completed", done_cells: CELLS, target: "cluster" });
    d.close();
    // The app's host list: the settings, and the partitions sinfo listed on the login node when the sweep connected.
    const store = openStore(db, { hostsPath: userHostsPath() });
    expect(listHosts(store, { home: fx.home }).find((h) => h.alias === "cluster")).toMatchObject({
      source: "store", scheduler: { kind: "slurm", tasks: 3, partition: "debug", time: "30" }, partitions: ["debug*"],
    });
    store.close();

    // The login node's journal: every cell exactly once, seqs 1, 2, 3, ...; the cancelled task's cells ran in a later round.
    const j = agentJournal(join(fx.remoteHome, ".fractal-agent"), id);
    expect(Object.keys(j.counts)).toHaveLength(CELLS);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
    const state = JSON.parse(readFileSync(join(sweepDir, "slurm", "state.json"), "utf8"));
    expect(state.rounds[0]).toMatchObject({ job, tasks: 3 });
    expect(state.rounds.length).toBeGreaterThanOrEqual(2);
    expect(readFileSync(join(fx.remoteHome, ".fractal-agent", "daemon.log"), "utf8")).toMatch(/task \d+_1 \(round 0\) ended without finishing its shard/);

    // The same spec on one node (local): the exports agree cell for cell (all but the wall time).
    const local = await run(["sweep", "--spec", join(dir, "spec.json"), "--target", "local", "--python", PYTHON], env);
    expect(local.code, local.stderr).toBe(0);
    const csv = async (sweep: string) => {
      const out = join(dir, `${sweep}.csv`);
      const e = await run(["export", "--sweep", sweep, "--format", "csv", "--out", out], env);
      expect(e.code, e.stderr).toBe(0);
      const [header, ...rows] = readFileSync(out, "utf8").trimEnd().split("\n");
      const wall = header.split(",").indexOf("wall_time");
      expect(wall).toBe(4 + FIELDS.indexOf("wall_time"));
      return { header, rows: rows.map((r) => r.split(",").filter((_, i) => i !== wall).join(",")) };
    };
    const a = await csv(id), b = await csv(lastLine(local.stdout));
    expect(a.header).toBe(b.header);
    expect(a.rows).toHaveLength(CELLS);
    expect(a.rows).toEqual(b.rows);
  }, 600_000);
});
