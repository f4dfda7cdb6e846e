// End to end on the local target: the real CLI drives the real agent (daemon, CPU torch) and the store ends up
// holding exactly what the agent journalled, cell for cell, also when the daemon is killed with -9 mid-sweep.
import Database from "better-sqlite3";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodePng } from "../../src-main/analysis/png";
import { AttachSession } from "../../src-main/core/agent-client";
import { LocalTransport } from "../../src-main/core/local-transport";
import { stopAgentDaemon, tempDir } from "../core/helpers";
import { agentJournal, cli, csvMatchesJournal, doneCellsOf, lastLine, PYTHON, run } from "./helpers";

const homes: string[] = [];

afterAll(async () => {
  // Stop the daemons these tests started (each lingers for its idle timeout otherwise), waiting until they exit,
  for (const home of homes) await stopAgentDaemon(home);
  // and worker processes left without theirs: the daemon runs in its home directory, so its workers are the
  // processes whose cwd is that home (after a kill -9 they outlive their parent; see the report to the agent's author).
  const pids = (home: string) => readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return readlinkSync(`/proc/${p}/cwd`) === home; } catch { return false; }
  }).map(Number);
  for (const home of homes) {
    for (const pid of pids(home)) {
      try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
    }
  }
});

function setup(points: number, steps: number) {
  const dir = tempDir("fractal-e2e-");
  const home = join(dir, "agent-home");
  homes.push(home);
  const spec = {
    version: 1, name: `e2e ${points}x${points}`, model: { family: "mlp", width: 4, activation: "tanh" }, train: { steps },
    axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points }, y: { param: "lr.output", scale: "log", range: [-1, 2], points } },
    criterion: { window: 10 },
  };
  writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
  return { dir, home, db: join(dir, "db.sqlite"), env: { FRACTAL_AGENT_HOME: home, FRACTAL_LLM_DB: join(dir, "db.sqlite") } };
}

describe("fractal-llm early-warning", () => {
  it("reads a real sweep's curves and scores the early signals against the outcomes the store holds", async () => {
    const t = setup(8, 50);
    const r = await run(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    expect(r.code, r.stderr).toBe(0);
    const id = lastLine(r.stdout);
    const w = await run(["early-warning", "--sweep", id, "--fraction", "0.2", "--json"], t.env);
    expect(w.code, w.stderr).toBe(0);
    const out = JSON.parse(w.stdout);
    expect(out).toMatchObject({ cells: 64, totalSteps: 50, horizon: 10 });
    const c = out.overall;
    expect(c.truePositive + c.falsePositive + c.falseNegative + c.trueNegative).toBe(64);
    // Every diverged cell is a true positive or a missed one: their sum is the map's untrainable count.
    const exported = join(t.dir, "ew.csv");
    expect((await run(["export", "--sweep", id, "--format", "csv", "--out", exported], t.env)).code).toBe(0);
    const untrainable = readFileSync(exported, "utf8").trim().split("\n").slice(1).filter((l) => l.split(",")[4] === "0").length;
    expect(c.truePositive + c.falseNegative).toBe(untrainable);
    expect(untrainable).toBeGreaterThan(0);
    const text = await run(["early-warning", "--sweep", id], t.env);
    expect(text.stdout).toMatch(/precision .* recall/);
  });
});

describe("fractal-llm sweep --target local", () => {
  it("runs a small MLP sweep on the real agent; CSV, JSON and PNG exports match its journal; zoom runs a child", async () => {
    const t = setup(8, 50);
    const r = await run(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    expect(r.code, r.stderr).toBe(0);
    const id = lastLine(r.stdout);
    expect(id).toMatch(/^s[0-9a-f]{16}$/);
    expect(r.stderr).toMatch(/64\/64 cells \(100.0%\)/);
    const j = agentJournal(t.home, id);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);

    const csv = join(t.dir, "map.csv"), json = join(t.dir, "map.json"), png = join(t.dir, "map.png");
    for (const [fmt, out] of [["csv", csv], ["json", json], ["png", png]]) {
      const e = await run(["export", "--sweep", id, "--format", fmt, "--out", out], t.env);
      expect(e.code, e.stderr).toBe(0);
    }
    csvMatchesJournal(readFileSync(csv, "utf8"), j, 64);
    const doc = JSON.parse(readFileSync(json, "utf8"));
    expect(doc).toMatchObject({ sweep: id, status: "completed", nx: 8, ny: 8, done_cells: 64 });
    expect(doc.fields.score[9]).toBe(j.cells["9"].score);
    expect(doc.env.torch).toBeTruthy();
    // Where it ran: the CPU, its ISA level and the BLAS kernel the agent pinned, in the env and in one line.
    expect(doc.env.numerics).toMatchObject({ machine: expect.any(String), isa: expect.any(String), blas_kernel: expect.any(String) });
    expect(doc.ran_on).toMatch(/^.+ \(.+\) · .+ kernel .*· torch .+ · numpy .+ · agent /);
    const img = decodePng(readFileSync(png));
    expect(img.width).toBeGreaterThan(8);

    // Re-running the same spec finds the finished sweep: same id, nothing new.
    const again = await run(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    expect([again.code, lastLine(again.stdout)]).toEqual([0, id]);
    expect(again.stderr).toMatch(/already completed/);

    // A zoom: a child sweep on a window inside the parent, same settings, run on the same target.
    const z = await run(["zoom", "--sweep", id, "--window", "0,0.75,0.375,1.125", "--points", "4", "--python", PYTHON], t.env);
    expect(z.code, z.stderr).toBe(0);
    const child = lastLine(z.stdout);
    expect(child).not.toBe(id);
    const db = new Database(t.db, { readonly: true });
    const row = db.prepare("SELECT parent_id, x0, x1, y0, y1, nx, ny, status, done_cells, spec FROM sweeps WHERE id = ?").get(child) as Record<string, unknown>;
    db.close();
    expect(row).toMatchObject({ parent_id: id, x0: 0, x1: 0.75, y0: 0.375, y1: 1.125, nx: 4, ny: 4, status: "completed", done_cells: 16 });
    const childSpec = JSON.parse(row.spec as string);
    expect(childSpec.model).toEqual(doc.spec.model);
    expect(childSpec.train).toEqual(doc.spec.train);
    const cj = agentJournal(t.home, child);
    expect(Object.keys(cj.counts)).toHaveLength(16);
  }, 240_000); // real training through several agent restarts: minutes on a loaded 2-core machine

  it("survives kill -9 of the daemon mid-sweep and a Ctrl-C of the CLI: every cell exactly once", async () => {
    const t = setup(16, 1200); // ~3 s of training when quiet: the kill or cancel lands mid-sweep
    const doneCells = () => doneCellsOf(t.db);
    const waitFor = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 1200; i++) {
        if (ok()) return;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`timed out waiting for ${what}`);
    };
    const first = cli(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    // Some cells in the store: kill the daemon (not its workers: they notice and stop on their own).
    await waitFor("the first cells", () => doneCells() > 0 && existsSync(join(t.home, "daemon.pid")));
    const atKill = doneCells();
    expect(atKill).toBeLessThan(256);
    process.kill(Number(readFileSync(join(t.home, "daemon.pid"), "utf8").trim()), "SIGKILL");
    // The CLI reconnects (attach starts a new daemon, which resumes the sweep) and cells keep arriving.
    await waitFor("cells after the kill", () => doneCells() > atKill);
    process.kill(first.pid, "SIGINT");
    const r1 = await first.done;
    expect(r1.stderr).toMatch(/reconnecting/);
    expect([r1.code, r1.stderr]).toEqual([130, expect.stringMatching(/the agent keeps running the sweep. Re-run the same command to resume/)]);
    const id = lastLine(r1.stdout);

    // Re-running the same command resumes the same sweep and follows it to the end.
    const r2 = await run(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(new RegExp(`resuming sweep ${id}`));
    expect(lastLine(r2.stdout)).toBe(id);
    const db = new Database(t.db, { readonly: true });
    expect(db.prepare("SELECT status, done_cells FROM sweeps WHERE id = ?").get(id)).toEqual({ status: "completed", done_cells: 256 });
    db.close();
    const j = agentJournal(t.home, id);
    expect(Object.keys(j.counts)).toHaveLength(256);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
    const csv = join(t.dir, "map.csv");
    const e = await run(["export", "--sweep", id, "--format", "csv", "--out", csv], t.env);
    expect(e.code, e.stderr).toBe(0);
    csvMatchesJournal(readFileSync(csv, "utf8"), j, 256);
  }, 240_000); // real training through several agent restarts: minutes on a loaded 2-core machine

  it("a sweep cancelled on the agent while the CLI was away resumes on the re-run, keeping its finished cells", async () => {
    const t = setup(16, 1200); // ~3 s of training when quiet: the kill or cancel lands mid-sweep
    const first = cli(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    for (let i = 0; i < 1200 && doneCellsOf(t.db) === 0; i++) await new Promise((res) => setTimeout(res, 100));
    process.kill(first.pid, "SIGINT");
    const r1 = await first.done;
    expect(r1.code, r1.stderr).toBe(130);
    const id = lastLine(r1.stdout);

    // Cancel it through the protocol, as another client would, and wait for its done event.
    const session = await AttachSession.open(new LocalTransport({ python: PYTHON, home: t.home }), ["--sweep", id, "--since", "0"]);
    const done = new Promise<Record<string, unknown>>((res) => { session.onMessage = (m) => { if (m.type === "done") res(m); }; });
    expect((await session.hello()).type).toBe("hello");
    expect(await session.request("cancel", { sweep: id })).toMatchObject({ ok: true, sweep: id });
    expect(await done).toMatchObject({ status: "cancelled" });
    await session.end();
    const atCancel = Object.keys(agentJournal(t.home, id).counts).length;
    expect(atCancel).toBeLessThan(256);

    // Re-running the command re-queues it on the agent: only the missing cells run, each once.
    const r2 = await run(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toMatch(new RegExp(`sweep ${id}: completed \\(256/256 cells\\)`));
    const j = agentJournal(t.home, id);
    expect(Object.keys(j.counts)).toHaveLength(256);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
    const db = new Database(t.db, { readonly: true });
    expect(db.prepare("SELECT status, done_cells FROM sweeps WHERE id = ?").get(id)).toEqual({ status: "completed", done_cells: 256 });
    db.close();
    // Finished now: a further re-run says so without training anything.
    const r3 = await run(["sweep", "--spec", join(t.dir, "spec.json"), "--python", PYTHON], t.env);
    expect([r3.code, lastLine(r3.stdout)]).toEqual([0, id]);
    expect(r3.stderr).toMatch(/already completed/);
  }, 240_000); // real training through several agent restarts: minutes on a loaded 2-core machine
});
