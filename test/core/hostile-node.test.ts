// A broken or hostile node behind the local transport: a real process in the agent's place that says hello and
// then sends what no agent would. Nothing it sends may throw out of the stdout handler (which would end the CLI,
// browser mode or Electron's main process); each bad line is a notice, and the sweep goes on or stops with a
// message that says why. Real processes, real stores.
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AttachSession, lineSplitter } from "../../src-main/core/agent-client";
import { followSweep } from "../../src-main/launch/launch";
import { INTERACTIVE_STORE, openStore } from "../../src-main/core/store";
import { ApiService } from "../../src-main/api/service";
import { LocalTransport } from "../../src-main/core/local-transport";
import type { OpenTarget } from "../../src-main/launch/targets";
import { mlpSpec, tempDir, tile } from "./helpers";

const dir = tempDir("fractal-hostile-node-");

/**
 * A fake interpreter: LocalTransport runs `PYTHON -m fractal_agent attach ...`; this one ignores its arguments,
 * prints `lines` (then, if `flood`, that many MiB without a newline) and exits when its stdin closes.
 */
function fakeNode(name: string, lines: string[], flood = 0, lockDb: string | null = null): LocalTransport {
  const js = join(dir, `${name}.js`), sh = join(dir, `${name}.sh`);
  writeFileSync(js, `
    if (process.argv.includes("env")) { // the probe before a local target opens
      console.log(JSON.stringify({ agent: "0.1.0", protocol: 1, torch: "1.13", cpu_count: 2, gpus: [], error: null }));
      process.exit(0);
    }
    const lines = ${JSON.stringify(lines)};
    const say = () => process.stdout.write(lines.map((l) => l + "\\n").join(""));
    if (${JSON.stringify(lockDb)}) {
      // Another program holds the app's database locked for 3 s from here on, past this process's end.
      const holder = require("node:child_process").spawn(process.execPath, ["-e", \`
        const db = new (require(${JSON.stringify(require.resolve("better-sqlite3"))}))(${JSON.stringify(lockDb)});
        db.exec("BEGIN IMMEDIATE"); console.log("locked");
        setTimeout(() => db.exec("COMMIT"), 3000);\`], { stdio: ["ignore", "pipe", "ignore"], detached: true });
      holder.stdout.once("data", () => { holder.unref(); holder.stdout.destroy(); say(); });
    } else say();
    let left = ${flood};
    const mib = Buffer.alloc(1 << 20, 97);
    const more = () => { while (left > 0) { left--; if (!process.stdout.write(mib)) { process.stdout.once("drain", more); return; } } };
    more();
    process.stdin.on("data", () => {});
    process.stdin.on("end", () => process.exit(0));
  `);
  writeFileSync(sh, `#!/bin/sh\nexec "${process.execPath}" "${js}" "$@"\n`);
  chmodSync(sh, 0o755);
  return new LocalTransport({ python: sh, home: join(dir, "home") });
}

/** The fake interpreter's path (for a service, which opens the local target itself). */
const fakePython = (t: LocalTransport) => t.python;

function target(t: LocalTransport): OpenTarget {
  return { connect: async () => t, close: async () => {} } as unknown as OpenTarget;
}

const hello = (sweeps: unknown[]) => JSON.stringify({ type: "hello", protocol: 1, agent: "0.1.0", sweeps });

describe("a node that sends what no agent would", () => {
  it("turns every line that is not a protocol message into a notice, and the sweep still completes", async () => {
    const store = openStore(join(dir, "a.sqlite"));
    const spec = mlpSpec(2, 2);
    store.createSweep({ id: "s1", spec, target: "local" });
    const t = tile(2, "s1", [0, 1, 2, 3]);
    const nasty = { toString: 1, valueOf: 1 };
    const lines = [
      hello([null, 5, "x", { sweep: "s1", state: "running", cells: 4, done: 0, last_seq: 0, error: null, epoch: null }]),
      "null", "[1, 2]", '"x"', "42", "true", "{", "{}",
      JSON.stringify({ type: nasty }),
      JSON.stringify({ type: "warning", message: nasty }),
      JSON.stringify({ type: "reply", req: 99, ok: false, error: nasty }),
      JSON.stringify({ type: "tasks", sweep: "s1", jobs: [nasty], pending: 0, running: 1, finished: 0, lost: 0 }),
      JSON.stringify({ type: "tile", sweep: "s1", seq: nasty }),
      JSON.stringify({ type: nasty, sweep: "s1", seq: 1 }),
      JSON.stringify({ ...t, seq: 1, count: nasty }),
      JSON.stringify({ ...t, seq: 1, fields: null }),
      JSON.stringify({ type: "done", sweep: "s1", seq: 1, status: "completed", error: nasty }),
      JSON.stringify(t),
      JSON.stringify({ type: "done", sweep: "s1", seq: 3, status: "completed", error: null }),
    ];
    const notices: string[] = [];
    const r = await followSweep(store, "s1", target(fakeNode("nasty", lines)), { onNotice: (m) => notices.push(m), maxFailures: 1 });
    expect(r).toMatchObject({ status: "completed", done: 4, total: 4 });
    const said = notices.join("\n");
    expect(said.match(/not a protocol message/g)?.length).toBe(9); // null … {}, and {"type": {…}}
    expect(said).toMatch(/agent: \{"toString":1,"valueOf":1\}/); // the warning, as JSON
    expect(said).toMatch(/seq \{"toString":1,"valueOf":1\} is not a positive integer/);
    expect(said).toMatch(/tile count .* is not a count/);
    expect(said).toMatch(/tile without fields/);
    expect(said).toMatch(/done with an error that is not text/);
    store.close();
  }, 60_000);

  it("stops at a done event whose status it does not know, once, saying so, and keeps the cells", async () => {
    const store = openStore(join(dir, "b.sqlite"));
    store.createSweep({ id: "s2", spec: mlpSpec(2, 2), target: "local" });
    const lines = [
      hello([{ sweep: "s2", state: "running", cells: 4, done: 0, last_seq: 0, error: null, epoch: null }]),
      JSON.stringify(tile(1, "s2", [0, 1])),
      JSON.stringify({ type: "done", sweep: "s2", seq: 2, status: "exploded", error: null }),
    ];
    let connections = 0;
    const t = fakeNode("unknown-done", lines);
    const counting = { connect: async () => { connections++; return t; }, close: async () => {} } as unknown as OpenTarget;
    await expect(followSweep(store, "s2", counting, { maxFailures: 3 })).rejects.toThrow(/status exploded, which this app does not know/);
    expect(connections).toBe(1);
    expect(store.sweep("s2")!.done_cells).toBe(2);
    store.close();
  }, 60_000);

  it("drops a session whose line never ends, past the cap, instead of buffering it", async () => {
    const session = await AttachSession.open(fakeNode("flood", [hello([])], 300), []);
    const warnings: string[] = [];
    session.onMessage = (m) => warnings.push(String(m.message));
    expect((await session.hello()).type).toBe("hello");
    const st = await session.closed;
    expect(st.signal ?? st.code).toBeTruthy(); // killed, not a clean exit
    expect(warnings.join("\n")).toMatch(/a line of more than \d+ bytes without an end; dropped the connection/);
  }, 60_000);
});

describe("the app's follower", () => {
  it("reports a follow that ends in an error while recording it fails, instead of an unhandled rejection", async () => {
    const path = join(dir, "svc.sqlite");
    const store = openStore(path, INTERACTIVE_STORE);
    store.createSweep({ id: "s3", spec: mlpSpec(2, 2), target: "local" });
    store.setStatus("s3", "submitted", null);
    const lines = [
      hello([{ sweep: "s3", state: "running", cells: 4, done: 0, last_seq: 0, error: null, epoch: null }]),
      JSON.stringify({ type: "done", sweep: "s3", seq: 1, status: "exploded", error: null }),
    ];
    // The node ends the sweep in words the app does not know (a fatal error, recorded as "failed"), while it holds
    // the app's database locked, so recording that fails too.
    const service = new ApiService(store, { python: fakePython(fakeNode("locks-db", lines, 0, path)), localAgentHome: join(dir, "home") });
    const notices: string[] = [];
    service.subscribe((e) => { if (e.type === "notice") notices.push(e.message); });
    expect(service.reattach()).toEqual(["s3"]);
    await expect.poll(() => notices.join("\n"), { timeout: 30_000 }).toMatch(/following sweep "mlp 2x2" ended with an error: .*locked/);
    await service.idle();
    service.close();
    store.close();
  }, 60_000);
});

describe("lineSplitter", () => {
  it("splits lines across chunks, keeps UTF-8 characters cut between chunks, and stops once past the cap", () => {
    const lines: string[] = [];
    let tooLong = 0;
    const feed = lineSplitter((l) => lines.push(l), () => tooLong++, 16);
    const bytes = Buffer.from("ab\nλx\n\n  \nüber\n", "utf8");
    for (let i = 0; i < bytes.length; i++) feed(bytes.subarray(i, i + 1)); // one byte at a time: λ and ü are cut
    expect(lines).toEqual(["ab", "λx", "über"]);
    feed(Buffer.from("0123456789"));
    expect(tooLong).toBe(0);
    feed(Buffer.from("0123456789")); // 20 bytes held, no newline
    expect(tooLong).toBe(1);
    feed(Buffer.from("\nlate\n"));
    expect(lines).toEqual(["ab", "λx", "über"]);
    expect(tooLong).toBe(1);
  });
});
