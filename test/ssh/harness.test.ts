// The sshd harness itself: it must not leak processes, including daemons that detach from sshd.

import { existsSync, readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { connectSsh } from "../../src-main/ssh/index.js";
import { startSshFixture } from "./harness.js";

/** Running (a zombie waiting for its reaper counts as ended). */
function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}/stat`)) return false;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

it("stop() ends the server, its connections and daemons that sessions detached", async () => {
  const fx = await startSshFixture();
  const c = await connectSsh(fx.alias, { home: fx.home, agentSocket: null, trustFile: fx.trustFile });
  const r = await c.run("setsid sleep 41 </dev/null >/dev/null 2>&1 & echo $!");
  const daemon = Number(r.stdout.trim());
  expect(daemon).toBeGreaterThan(1);
  expect(existsSync(`/proc/${daemon}`)).toBe(true);
  await fx.stop();
  expect((await c.closed)?.kind).toBe("dropped");
  for (let i = 0; i < 50 && alive(daemon); i++) await new Promise((res) => setTimeout(res, 20));
  expect(alive(daemon)).toBe(false);
  expect(alive(fx.sshd.pid)).toBe(false);
  expect(existsSync(fx.home)).toBe(false);
});
