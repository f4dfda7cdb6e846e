// Boundary sampling end to end on the local target: the real CLI drives the real agent (daemon, CPU torch); the
// exports mark the inferred cells as the journal does, and `fill-in` trains exactly those, giving the exhaustive map.
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stopAgentDaemon, tempDir } from "../core/helpers";
import { agentJournal, csvMatchesJournal, FIELDS, lastLine, PYTHON, run } from "./helpers";

const homes: string[] = [];

afterAll(async () => {
  for (const home of homes) await stopAgentDaemon(home);
  // workers left by a daemon (their cwd is its home), as local-sweep.test.ts does
  for (const home of homes) {
    for (const p of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try { if (readlinkSync(`/proc/${p}/cwd`) === home) process.kill(Number(p), "SIGKILL"); } catch { /* gone */ }
    }
  }
});

const POINTS = 32;
const spec = (sampling: "grid" | "boundary") => ({
  version: 1, name: "boundary e2e", model: { family: "mlp", width: 4, activation: "tanh" }, train: { steps: 40 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: POINTS }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: POINTS } },
  criterion: { window: 10 }, sampling,
});

/** CSV rows by cell, the columns that hold the outcome (not wall_time/flops, which say what a run cost). */
function outcomes(csv: string): Map<string, string> {
  const [header, ...rows] = csv.trimEnd().split("\n");
  const cols = header.split(",");
  const keep = ["trainable", "stable", "score", "first_loss", "final_loss", "divergence_step"].map((f) => cols.indexOf(f));
  return new Map(rows.map((r) => { const v = r.split(","); return [`${v[0]},${v[1]}`, keep.map((i) => v[i]).join(",")]; }));
}

describe("fractal-llm sweep with sampling boundary, and fill-in", () => {
  it("journals inferred cells, exports them flagged, and fill-in trains only those into the exhaustive map", async () => {
    const dir = tempDir("fractal-boundary-");
    const home = join(dir, "agent-home");
    homes.push(home);
    const env = { FRACTAL_AGENT_HOME: home, FRACTAL_LLM_DB: join(dir, "db.sqlite") };
    writeFileSync(join(dir, "boundary.json"), JSON.stringify(spec("boundary")));
    writeFileSync(join(dir, "grid.json"), JSON.stringify(spec("grid")));

    const b = await run(["sweep", "--spec", join(dir, "boundary.json"), "--python", PYTHON], env);
    expect(b.code, b.stderr).toBe(0);
    const id = lastLine(b.stdout);
    const j = agentJournal(home, id);
    expect(Object.keys(j.counts)).toHaveLength(POINTS * POINTS);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);

    const csv = join(dir, "b.csv"), json = join(dir, "b.json");
    for (const [fmt, out] of [["csv", csv], ["json", json]]) {
      const e = await run(["export", "--sweep", id, "--format", fmt, "--out", out], env);
      expect(e.code, e.stderr).toBe(0);
    }
    const text = readFileSync(csv, "utf8");
    csvMatchesJournal(text, j, POINTS * POINTS); // the `inferred` column included, cell for cell
    const col = FIELDS.indexOf("inferred") + 4;
    const inferred = text.trimEnd().split("\n").slice(1).filter((r) => r.split(",")[col] === "1").length;
    expect(inferred).toBeGreaterThan(0);
    expect(inferred).toBeLessThan(POINTS * POINTS);
    const doc = JSON.parse(readFileSync(json, "utf8"));
    expect(doc.sampling).toBe("boundary");
    expect(doc.fields.inferred.filter((v: number) => v === 1)).toHaveLength(inferred);

    // fill-in: the grid sweep of the same spec, started from the boundary sweep's trained cells
    const f = await run(["fill-in", "--sweep", id, "--python", PYTHON], env);
    expect(f.code, f.stderr).toBe(0);
    const filled = lastLine(f.stdout);
    expect(filled).not.toBe(id);
    const log = readdirSync(home, { recursive: true }).map(String).filter((p) => p.endsWith(".log"))
      .map((p) => readFileSync(join(home, p), "utf8")).join("\n");
    expect(log).toContain(`sweep ${filled}: fills in ${id}: ${POINTS * POINTS - inferred} trained cells copied`);
    const fcsv = join(dir, "filled.csv");
    expect((await run(["export", "--sweep", filled, "--format", "csv", "--out", fcsv], env)).code).toBe(0);
    const filledText = readFileSync(fcsv, "utf8");
    expect(filledText.trimEnd().split("\n").slice(1).every((r) => r.split(",")[col] === "0")).toBe(true);
    // the grid spec's own sweep is the fill-in (same id), and an exhaustive run from scratch gives the same map
    const again = await run(["sweep", "--spec", join(dir, "grid.json"), "--python", PYTHON], env);
    expect([again.code, lastLine(again.stdout)]).toEqual([0, filled]);
    const fresh = await run(["sweep", "--spec", join(dir, "grid.json"), "--new", "--python", PYTHON], env);
    expect(fresh.code, fresh.stderr).toBe(0);
    const ecsv = join(dir, "exhaustive.csv");
    expect((await run(["export", "--sweep", lastLine(fresh.stdout), "--format", "csv", "--out", ecsv], env)).code).toBe(0);
    expect(outcomes(filledText)).toEqual(outcomes(readFileSync(ecsv, "utf8")));

    const refused = await run(["fill-in", "--sweep", filled], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/nothing to fill in/);
  }, 300_000); // four small sweeps on the real agent: minutes on a loaded 2-core machine
});
