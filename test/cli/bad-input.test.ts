// Bad input to the CLI: a clear message naming the problem, a non-zero exit, and nothing half-written.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore, SCHEMA_VERSION } from "../../src-main/core/store";
import { mlpSpec, tempDir } from "../core/helpers";
import { run } from "./helpers";

describe("fractal-llm bad input", () => {
  it("rejects a malformed spec naming the field, before any database exists", async () => {
    const dir = tempDir();
    const db = join(dir, "db.sqlite");
    const spec = JSON.parse(readFileSync(join(__dirname, "../fixtures/specs/invalid/bad-activation.json"), "utf8")).spec;
    writeFileSync(join(dir, "bad.json"), JSON.stringify(spec));
    writeFileSync(join(dir, "notjson.json"), "{ version: 1");
    const r = await run(["sweep", "--spec", join(dir, "bad.json"), "--db", db], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/spec error: model.activation: must be one of tanh, relu, identity, got "gelu"/);
    expect(r.stdout).toBe("");
    expect(existsSync(db)).toBe(false);
    const j = await run(["sweep", "--spec", join(dir, "notjson.json"), "--db", db], {});
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/not valid JSON/);
    const m = await run(["sweep", "--spec", join(dir, "missing.json"), "--db", db], {});
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/cannot read spec file .*missing.json: ENOENT/);
    expect(existsSync(db)).toBe(false);
  });

  it("answers --help on every command with its usage and exit 0, touching no database", async () => {
    const dir = tempDir();
    const env = { FRACTAL_LLM_DB: join(dir, "db.sqlite") };
    for (const cmd of ["sweep", "zoom", "sweeps", "export", "hosts", "dimension", "report", "animate", "early-warning",
      "samples", "reproduce", "web"]) {
      for (const flag of ["--help", "-h"]) {
        const r = await run([cmd, flag], env);
        expect([r.code, r.stderr], `${cmd} ${flag}`).toEqual([0, ""]);
        expect(r.stdout).toMatch(new RegExp(`^usage:\\n  fractal-llm ${cmd}( |\\n)`));
        expect(r.stdout).not.toMatch(/Unknown option/);
      }
    }
    expect((await run(["hosts", "add", "x", "--help"], env)).stdout).toMatch(/fractal-llm hosts add ALIAS --hostname HOST/);
    expect(existsSync(env.FRACTAL_LLM_DB)).toBe(false);
  }, 120_000);

  it("names unknown sweeps, host aliases, bad windows and bad flags", async () => {
    const dir = tempDir();
    const db = join(dir, "db.sqlite");
    const s = openStore(db);
    s.createSweep({ id: "parent", spec: mlpSpec(8, 8), target: "local" });
    s.close();
    const env = { FRACTAL_LLM_DB: db };
    const e = await run(["export", "--sweep", "nope", "--format", "csv", "--out", join(dir, "x.csv")], env);
    expect([e.code, e.stderr]).toEqual([1, expect.stringMatching(/unknown sweep nope/)]);
    expect(existsSync(join(dir, "x.csv"))).toBe(false);
    const f = await run(["export", "--sweep", "parent", "--format", "xls", "--out", join(dir, "x.xls")], env);
    expect([f.code, f.stderr]).toEqual([2, expect.stringMatching(/--format must be csv, json or png/)]);
    const h = await run(["hosts", "test", "gpu-box"], env);
    expect([h.code, h.stderr]).toEqual([1, expect.stringMatching(/unknown host alias "gpu-box"/)]);
    const z = await run(["zoom", "--sweep", "parent", "--window", "0,3,0,1", "--points", "8"], env);
    expect([z.code, z.stderr]).toEqual([2, expect.stringMatching(/not inside the parent's window -1,2,-1,2/)]);
    const p = await run(["zoom", "--sweep", "parent", "--window", "0,1,0,1", "--points", "0"], env);
    expect([p.code, p.stderr]).toEqual([2, expect.stringMatching(/--points: must be ≥ 1/)]);
    const u = await run(["sweeps", "--colour"], env);
    expect([u.code, u.stderr]).toEqual([2, expect.stringMatching(/Unknown option '--colour'/)]);
    const l = await run(["sweeps"], env);
    expect(l.code).toBe(0);
    expect(l.stdout).toMatch(/parent\s+created\s+0\/64\s+8x8\s+local/);
  });

  it("saves and lists hosts without secrets", async () => {
    const db = join(tempDir(), "db.sqlite");
    const a = await run(["hosts", "add", "gpu", "--hostname", "10.1.2.3", "--port", "2222", "--user", "me", "--db", db], {});
    expect(a.code).toBe(0);
    const l = await run(["hosts", "list", "--db", db], {});
    expect(l.stdout).toBe("gpu\tme@10.1.2.3:2222\tpython=(probe)\tagent_dir=(default)\n");
    const bad = await run(["hosts", "add", "gpu2", "--hostname", "h", "--port", "99999", "--db", db], {});
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/--port must be 1-65535/)]);
  });

  it("refuses a database written by a newer version and leaves it unchanged", async () => {
    const db = join(tempDir(), "db.sqlite");
    const s = openStore(db);
    s.db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
    s.close();
    const before = readFileSync(db);
    const r = await run(["sweeps", "--db", db], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/newer than this fractal-llm understands.*not modified/);
    expect(readFileSync(db).equals(before)).toBe(true);
  });
});
