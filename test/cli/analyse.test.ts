// The CLI's analysis commands (dimension, report, animate, web) run as real processes on a real SQLite file.
// The maps are ingested through the store's own tile path with a boundary whose dimension is known.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { zoomSpec } from "../../src-shared/grid";
import { countSweeps, openStore } from "../../src-main/core/store";
import { encodeArray, encodeCells, type TileEvent } from "../../src-main/core/tiles";
import { mlpSpec, tempDir } from "../core/helpers";
import { BIN, REPO, run } from "./helpers";

const dir = tempDir("fractal-analyse-");
const db = join(dir, "maps.sqlite");
const env = { FRACTAL_LLM_DB: db };

/** A tile for every cell of an nx x ny sweep whose trainable cells lie below a tilted straight line. */
function lineTile(sweep: string, nx: number, ny: number): TileEvent {
  return edgeTile(sweep, nx, ny, (ix, iy) => iy < 0.37 * ix + 0.3 * ny);
}

/** A tile for every cell of an nx x ny sweep, trainable where `trains(ix, iy)`. */
function edgeTile(sweep: string, nx: number, ny: number, trains: (ix: number, iy: number) => boolean): TileEvent {
  const cells = Array.from({ length: nx * ny }, (_, i) => i);
  const trainable = Uint8Array.from(cells, (c) => (trains(c % nx, (c / nx) | 0) ? 1 : 0));
  const score = Float64Array.from(trainable, (t, c) => (t ? -1 - c / 1e4 : 1 + c / 1e4));
  return {
    seq: 2, type: "tile", sweep, level: 0, count: cells.length,
    fields: {
      cell: encodeCells(cells), trainable: encodeArray(trainable, "|u1"), stable: encodeArray(trainable, "|u1"),
      score: encodeArray(score, "<f8"), first_loss: encodeArray(new Float64Array(cells.length).fill(1), "<f8"),
      final_loss: encodeArray(Float64Array.from(trainable, (t) => (t ? 0.1 : 1e6)), "<f8"),
    },
    curves: null,
  };
}

const parentSpec = mlpSpec(256, 256);
const childSpec = zoomSpec(parentSpec, "parent", { x0: 0.5, x1: 1.25, y0: -0.5, y1: 0.25 }, 128);
{
  const store = openStore(db);
  for (const [id, spec, n] of [["parent", parentSpec, 256], ["child", { ...childSpec, record: { curves: false } }, 128]] as const) {
    store.createSweep({ id, spec: spec as typeof parentSpec, target: "local" });
    store.ingest(id, "local", [{ seq: 1, type: "sweep", sweep: id, spec, env: {}, cells: n * n }, lineTile(id, n, n),
      { seq: 3, type: "done", sweep: id, status: "completed", error: null }]);
  }
  store.close();
}

describe("fractal-llm dimension", () => {
  it("measures a mask file: a straight edge is about 1, with the box table in --json", async () => {
    const n = 128;
    const rows = Array.from({ length: n }, (_, y) => Array.from({ length: n }, (_, x) => (y < 0.37 * x + 40 ? 1 : 0)).join(","));
    const csv = join(dir, "edge.csv");
    writeFileSync(csv, rows.join("\n") + "\n");
    const r = await run(["dimension", "--mask", csv, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Math.abs(out.dimension - 1)).toBeLessThan(0.15);
    expect(out.sizes.length).toBe(out.counts.length);
    expect(out.sizes.length).toBeGreaterThanOrEqual(3);
    expect(out.estimator).toBe("project");
    expect(Math.abs(out.paper.dimension - 1)).toBeLessThan(0.15); // the paper's estimator beside it

    // --estimator paper: the notebook's edge image and porespy's sizes from 10, with a 95% interval.
    const p = await run(["dimension", "--mask", csv, "--estimator", "paper", "--json"], env);
    expect(p.code, p.stderr).toBe(0);
    const paper = JSON.parse(p.stdout);
    expect(paper.estimator).toBe("paper");
    expect(paper.keyframes[0].sizes[0]).toBe(10);
    expect(paper.ci[0]).toBeLessThanOrEqual(paper.dimension);
    expect(paper.ci[1]).toBeGreaterThanOrEqual(paper.dimension);
    const text = await run(["dimension", "--mask", csv], env);
    expect(text.stdout).toMatch(/ project: median local slope/);
    expect(text.stdout).toMatch(/ paper: median np\.gradient slope .* 95% CI/);
    expect((await run(["dimension", "--mask", csv, "--estimator", "mine"], env)).stderr).toMatch(/--estimator must be project or paper/);
  });

  it("measures a stored sweep, and a zoom sequence level by level", async () => {
    const one = await run(["dimension", "--sweep", "parent", "--json"], env);
    expect(one.code, one.stderr).toBe(0);
    expect(Math.abs(JSON.parse(one.stdout).dimension - 1)).toBeLessThan(0.15);

    const seq = await run(["dimension", "--sweep", "child", "--sequence", "--json"], env);
    expect(seq.code, seq.stderr).toBe(0);
    const out = JSON.parse(seq.stdout);
    expect(out.levels.map((l: { level: number }) => l.level)).toEqual([0, 1]);
    expect(Math.abs(out.dimension - 1)).toBeLessThan(0.15);

    const text = await run(["dimension", "--sweep", "parent"], env);
    expect(text.stdout).toMatch(/median local slope/);
    expect(text.stdout).toMatch(/box size/);
  });

  it("refuses bad input with a message and a non-zero exit", async () => {
    const ragged = join(dir, "ragged.csv");
    writeFileSync(ragged, "0,1,1\n0,1\n");
    const r1 = await run(["dimension", "--mask", ragged], env);
    expect(r1.code).not.toBe(0);
    expect(r1.stderr).toMatch(/ragged\.csv/);
    const r2 = await run(["dimension", "--sweep", "nope"], env);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toMatch(/unknown sweep nope/);
    const r3 = await run(["dimension", "--sweep", "parent", "--mask", ragged], env);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/exactly one of --sweep/);
  });
});

describe("fractal-llm report and animate", () => {
  it("writes an HTML report holding the dimension it measured and the maps as PNG", async () => {
    const out = join(dir, "report");
    const r = await run(["report", "--sweep", "child", "--sequence", "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(out, "report.html"), "utf8");
    const dim = JSON.parse((await run(["dimension", "--sweep", "child", "--sequence", "--json"], env)).stdout).dimension;
    expect(html).toContain(dim.toFixed(3));
    expect(html).toMatch(/<img[^>]+src="data:image\/png;base64,/);
  });

  it("compares the edge-of-stability power law with another model's sweep", async () => {
    const store = openStore(db);
    // Two "models": the largest trainable x falls with y at different rates (log axes: power laws).
    for (const [id, slope] of [["model-a", 0.5], ["model-b", 0.25]] as const) {
      const spec = { ...mlpSpec(64, 64), name: id };
      store.createSweep({ id, spec, target: "local" });
      store.ingest(id, "local", [{ seq: 1, type: "sweep", sweep: id, spec, env: {}, cells: 64 * 64 },
        edgeTile(id, 64, 64, (ix, iy) => ix < 56 - slope * iy), { seq: 3, type: "done", sweep: id, status: "completed", error: null }]);
    }
    store.close();
    const out = join(dir, "compare");
    const r = await run(["report", "--sweep", "model-a", "--compare", "model-b", "--out", out], env);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(out, "report.html"), "utf8");
    expect(html).toContain("<h3>Across models</h3>");
    expect(html).toContain("model-a (model-a)");
    expect(html).toContain("model-b (model-b)");
    const bad = await run(["report", "--sweep", "model-a", "--compare", "nope", "--out", join(dir, "x")], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--compare: unknown sweep nope/);
  });

  it("writes zoom animation frames from the parent into its zoom", async () => {
    const out = join(dir, "frames");
    const r = await run(["animate", "--sweep", "child", "--out", out, "--frames", "3", "--width", "64"], env);
    expect(r.code, r.stderr).toBe(0);
    const frames = readdirSync(out).filter((f) => f.endsWith(".png"));
    expect(frames.length).toBe(4); // 3 frames for the one parent -> child step, plus the final view
    expect(readFileSync(join(out, frames[0])).subarray(1, 4).toString()).toBe("PNG");
    const root = await run(["animate", "--sweep", "parent", "--out", join(dir, "none")], env);
    expect(root.code).toBe(2);
    expect(existsSync(join(dir, "none"))).toBe(false);
  });
});

describe("fractal-llm web", () => {
  /** Start `fractal-llm web` with `args`, wait for its URL, run `check` on it and what it printed, then stop it. */
  async function withWeb(args: string[], check: (url: string, stdout: string) => Promise<void>): Promise<void> {
    const child = spawn(process.execPath, [BIN, "web", "--no-open", "--port", "0", ...args], {
      cwd: REPO, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
    });
    try {
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (d: Buffer) => { stderr += d; });
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d: Buffer) => {
          stdout += d;
          const m = /(http:\/\/127\.0\.0\.1:\d+\/\S*token=\S+)/.exec(stdout);
          if (m) resolve(m[1]);
        });
        child.on("exit", (code) => reject(new Error(`web exited ${code} before printing its URL: ${stderr}`)));
      });
      await check(url, stdout);
    } finally {
      child.kill("SIGINT");
      await new Promise((r) => child.once("exit", r));
    }
  }

  it("serves the explorer on 127.0.0.1 and prints its URL with a token; a database with sweeps gets no demo", async () => {
    const before = countSweeps(db);
    await withWeb([], async (url, stdout) => {
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<div id="root"|<script/);
      expect(stdout).not.toMatch(/demo/);
    });
    expect(countSweeps(db)).toBe(before);
  }, 240_000);

  it("opens a new database on the demo maps, as the desktop app does", async () => {
    const fresh = join(tempDir(), "fresh.sqlite");
    const demo = countSweeps(join(REPO, "resources", "demo.sqlite"));
    await withWeb(["--db", fresh], async (_url, stdout) => {
      expect(stdout).toContain(`no sweeps yet in ${fresh}; added the ${demo} demo sweeps`);
    });
    expect(countSweeps(fresh)).toBe(demo);
  }, 240_000);
});
