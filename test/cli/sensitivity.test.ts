// `fractal-llm sensitivity` end to end through the real agent: a small tanh map and its float32 companion, run over
// the launch path, compared cell by cell; asking again finds the companion in the store.
import Database from "better-sqlite3";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stopAgentDaemon, tempDir } from "../core/helpers";
import { lastLine, PYTHON, run } from "./helpers";

const homes: string[] = [];
afterAll(async () => { for (const h of homes) await stopAgentDaemon(h); });

describe("fractal-llm sensitivity", () => {
  it("runs the float32 companion of a map and says which of its boundary cells flip", async () => {
    const dir = tempDir("fractal-sensitivity-");
    const home = join(dir, "agent-home");
    homes.push(home);
    const env = { FRACTAL_AGENT_HOME: home };
    const db = join(dir, "db.sqlite");
    const spec = {
      version: 1, name: "tanh 16x16", model: { family: "mlp", width: 8 }, train: { steps: 100 }, criterion: { window: 10 },
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points: 16 }, y: { param: "lr.output", scale: "log", range: [-1, 2], points: 16 } },
    };
    writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
    const s = await run(["sweep", "--spec", join(dir, "spec.json"), "--python", PYTHON, "--db", db], env);
    expect(s.code, s.stderr).toBe(0);
    const id = lastLine(s.stdout);

    const r = await run(["sensitivity", "--sweep", id, "--perturb", "precision", "--json", "--python", PYTHON, "--db", db], env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ sweep: id, perturbation: "precision", change: "train.precision float64 -> float32", layer: "trainable" });
    expect(out.boundaryCells).toBeGreaterThan(0); // the map has a boundary to test
    expect(out.boundaryCells + out.interiorCells).toBe(256);
    expect(out.flipped.length).toBe(out.boundaryFlips + out.interiorFlips);
    const d = new Database(db, { readonly: true });
    const row = d.prepare("SELECT status, spec, parent_id FROM sweeps WHERE id = ?").get(out.companion) as { status: string; spec: string; parent_id: string | null };
    d.close();
    expect(row.status).toBe("completed");
    expect(JSON.parse(row.spec).train.precision).toBe("float32");
    expect(row.parent_id).toBeNull();

    const again = await run(["sensitivity", "--sweep", id, "--python", PYTHON, "--db", db], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/boundary cells that flip: \d+ of \d+ \(\d+\.\d%\)/);
    expect((await run(["sensitivity", "--sweep", id, "--perturb", "blas", "--db", db], env)).stderr).toMatch(/--perturb must be precision or seed/);
  }, 300_000);
});
