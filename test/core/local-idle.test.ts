// Idle agents do not linger (issue 15, item 13): the local transport starts its daemon with a short idle timeout
// (LOCAL_IDLE_TIMEOUT_S, 60 s), so after the last client leaves with nothing queued the daemon and its torch go away.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LOCAL_IDLE_TIMEOUT_S, LocalTransport } from "../../src-main/core/local-transport";
import type { AgentProcess } from "../../src-main/core/transport";
import { PYTHON } from "../cli/helpers";

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try { process.kill(pid, "SIGKILL"); } catch { /* already gone */ }
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie is gone for our purposes
  try { return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8")); } catch { return false; }
}

/** The daemon's hello (first stdout line of attach). */
async function hello(p: AgentProcess): Promise<{ pid: number }> {
  let buf = "";
  return new Promise((res, rej) => {
    p.stdout.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      const nl = buf.indexOf("\n");
      if (nl >= 0) res(JSON.parse(buf.slice(0, nl)));
    });
    void p.exited.then((st) => rej(new Error(`attach exited before hello: ${JSON.stringify(st)}`)));
  });
}

describe("local daemon idle timeout", () => {
  it("starts the daemon with --idle-timeout 60 by default", async () => {
    const home = mkdtempSync(join(tmpdir(), "fractal-idle-"));
    const t = new LocalTransport({ python: PYTHON, home });
    expect(t.idleTimeout).toBe(LOCAL_IDLE_TIMEOUT_S);
    const p = await t.agent(["attach"]);
    const h = await hello(p);
    started.push(h.pid);
    p.stdin.end();
    expect((await p.exited).code).toBe(0);
    expect(readFileSync(join(home, "daemon.log"), "utf8")).toContain(`idle timeout ${LOCAL_IDLE_TIMEOUT_S} s`);
  }, 60_000);

  it("a daemon it started exits by itself once its last client has left and nothing is queued", async () => {
    const home = mkdtempSync(join(tmpdir(), "fractal-idle-"));
    const t = new LocalTransport({ python: PYTHON, home, idleTimeout: 2 });
    const p = await t.agent(["attach"]);
    const h = await hello(p);
    started.push(h.pid);
    await new Promise((r) => setTimeout(r, 3000));
    expect(alive(h.pid)).toBe(true); // a client is attached: not idle
    p.stdin.end();
    await p.exited;
    const deadline = Date.now() + 20_000;
    while (alive(h.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(h.pid)).toBe(false);
    expect(readFileSync(join(home, "daemon.log"), "utf8")).toMatch(/idle for 2 s with no sweep and no client: exiting/);
  }, 60_000);
});
