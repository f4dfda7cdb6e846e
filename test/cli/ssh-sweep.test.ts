// The CLI against a real sshd on 127.0.0.1 (test/ssh/harness.ts): `--target <ssh config alias>` installs the
// agent over SSH, runs the sweep in the node's daemon, and survives the connection being dropped mid-sweep.
import Database from "better-sqlite3";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../core/helpers";
import { startSshFixture, type SshFixture } from "../ssh/harness";
import { agentJournal, cli, csvMatchesJournal, doneCellsOf, lastLine, PYTHON, run } from "./helpers";

let fx: SshFixture;
beforeAll(async () => { fx = await startSshFixture({ alias: "gpu-node" }); });
afterAll(async () => { await fx?.stop(); }); // also ends the node's daemon (it carries the sessions' HOME)

describe("fractal-llm hosts", () => {
  it("saves a host and tests it through the SSH module: agent installed, interpreter probed", async () => {
    const dir = tempDir("fractal-ssh-hosts-");
    const env = { HOME: fx.home, SSH_AUTH_SOCK: "", XDG_DATA_HOME: dir, FRACTAL_LLM_DB: join(dir, "db.sqlite") };
    const add = await run(["hosts", "add", "node1", "--hostname", "127.0.0.1", "--port", String(fx.port), "--user", fx.user, "--python", PYTHON], env);
    expect(add.code, add.stderr).toBe(0);
    const t = await run(["hosts", "test", "node1"], env);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toMatch(/agent installed in .*\.fractal-llm\/agent\//);
    const out = JSON.parse(t.stdout);
    expect(out).toMatchObject({ host: "node1", python: PYTHON, env: { protocol: 1, error: null } });
    expect(out.env.torch).toBeTruthy();
  });
});

describe("fractal-llm sweep --target <ssh alias>", () => {
  it("runs on the node and completes after the SSH connection is dropped mid-sweep", async () => {
    const dir = tempDir("fractal-ssh-cli-");
    const spec = {
      version: 1, name: "over ssh", model: { family: "mlp", width: 4 }, train: { steps: 1200 }, // still training when the link is cut
      axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points: 16 }, y: { param: "lr.output", scale: "log", range: [-1, 2], points: 16 } },
      criterion: { window: 10 },
    };
    writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
    const db = join(dir, "db.sqlite");
    mkdirSync(join(dir, "data"));
    // The client's HOME holds ~/.ssh/config (the alias), known_hosts and the key; no ssh-agent.
    const env = { HOME: fx.home, SSH_AUTH_SOCK: "", XDG_DATA_HOME: join(dir, "data"), FRACTAL_LLM_DB: db };
    const doneCells = () => doneCellsOf(db);
    const proc = cli(["sweep", "--spec", join(dir, "spec.json"), "--target", "gpu-node", "--python", PYTHON], env);
    let dropped = 0;
    for (let i = 0; i < 1200 && !dropped; i++) {
      await new Promise((res) => setTimeout(res, 100));
      if (doneCells() > 0) dropped = fx.killServingProcesses(); // every SSH connection drops; the daemon lives on
    }
    expect(dropped).toBeGreaterThan(0);
    const r = await proc.done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/reconnecting|connection failed/);
    const id = lastLine(r.stdout);
    const d = new Database(db, { readonly: true });
    expect(d.prepare("SELECT status, done_cells, target FROM sweeps WHERE id = ?").get(id)).toEqual({ status: "completed", done_cells: 256, target: "gpu-node" });
    d.close();
    const j = agentJournal(join(fx.remoteHome, ".fractal-agent"), id);
    expect(Object.keys(j.counts)).toHaveLength(256);
    expect(Object.values(j.counts).every((c) => c === 1)).toBe(true);
    const csv = join(dir, "map.csv");
    const e = await run(["export", "--sweep", id, "--format", "csv", "--out", csv], env);
    expect(e.code, e.stderr).toBe(0);
    const { readFileSync } = await import("node:fs");
    csvMatchesJournal(readFileSync(csv, "utf8"), j, 256);
  }, 240_000); // the wait for the first cells alone may take 120 s on a busy machine (was the 60 s default: timed out under load)
});
