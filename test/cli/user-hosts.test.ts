// Saved hosts are the user's, like ~/.ssh/config: one list whichever sweep database is open (--db), with the hosts
// older databases saved themselves copied in, and a name that is no host said at once. Real CLI processes, real files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../../src-main/core/store";
import { mlpSpec, tempDir } from "../core/helpers";
import { run } from "./helpers";

describe("the user's host list", () => {
  it("is the same with any --db, takes in the hosts a database saved itself, and names an unknown alias at once", async () => {
    const dir = tempDir("fractal-user-hosts-");
    const env = { FRACTAL_LLM_HOSTS: join(dir, "user", "hosts.sqlite"), HOME: join(dir, "home") };
    mkdirSync(env.HOME);
    // A database from before the host list was the user's, with a host of its own.
    const old = openStore(join(dir, "old.sqlite"));
    old.addHost({ alias: "legacy", hostname: "10.0.0.9", port: 2222, user: "me", python: null, agent_dir: null });
    old.close();
    const a = join(dir, "a.sqlite"), b = join(dir, "b.sqlite");
    const added = await run(["hosts", "add", "cluster", "--hostname", "127.0.0.1", "--port", "2200", "--db", a], env);
    expect(added.code).toBe(0);
    expect(added.stderr).toContain(`host cluster saved in ${env.FRACTAL_LLM_HOSTS}`); // where it is, not the --db
    const listed = await run(["hosts", "list", "--db", b], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^cluster\t127\.0\.0\.1:2200/m);
    expect((await run(["hosts", "list", "--db", join(dir, "old.sqlite")], env)).stdout).toMatch(/^legacy\tme@10\.0\.0\.9:2222/m);
    expect((await run(["hosts", "list", "--db", b], env)).stdout).toMatch(/^legacy\t/m); // copied in, kept for every database
    expect((await run(["hosts", "list", "--db", b], { ...env, FRACTAL_LLM_HOSTS: join(dir, "other.sqlite") })).stdout).toBe("");

    writeFileSync(join(dir, "spec.json"), JSON.stringify(mlpSpec(2, 2)));
    const r = await run(["sweep", "--spec", join(dir, "spec.json"), "--target", "no-such-box", "--db", b], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/unknown target "no-such-box": it is no saved host \(.*user\/hosts\.sqlite\), no Host in .*\.ssh\/config/);
    expect(r.stderr).not.toMatch(/attempt|retry|reconnecting|ENOTFOUND/i); // refused before any connection attempt
  }, 120_000);
});
