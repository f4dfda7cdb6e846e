// `npm start` where Electron cannot run (its package absent, as here, or its binary missing): one line says so,
// browser mode starts on the user's database seeded with the demo sweeps, and its printed URL serves the UI
// and the Api. ELECTRON_OVERRIDE_DIST_PATH points an installed electron package at a directory with no
// binary, so the fallback is exercised on machines where Electron is installed too.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { WebSocket } from "ws";
import { decodeMessage, encodeMessage } from "../../src-main/api/wire";
import { countSweeps } from "../../src-main/core/demo";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let dir: string, child: ChildProcess | undefined;
afterAll(() => {
  // detached: npm, its shell and node share one process group; end all of them.
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM");
  rmSync(dir, { recursive: true, force: true });
});

it("falls back to browser mode, saying so in one line, and serves the demo maps at the printed URL", async () => {
  dir = mkdtempSync(join(tmpdir(), "fractal-start-"));
  const env = {
    ...process.env, XDG_DATA_HOME: join(dir, "data"), FRACTAL_LLM_DB: "", ELECTRON_OVERRIDE_DIST_PATH: join(dir, "no-electron"),
    DISPLAY: "", WAYLAND_DISPLAY: "",
  };
  child = spawn("npm", ["start", "--silent", "--", "--no-open"], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child!.stdout! });
    rl.on("line", (l) => {
      lines.push(l);
      const m = /^Fractal LLM Explorer \(browser mode\) on .*: (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)$/.exec(l);
      if (m) resolve(m[1]);
    });
    child!.once("exit", (code) => reject(new Error(`npm start exited (${code}) before printing a URL:\n${lines.join("\n")}\n${stderr}`)));
  });

  // The one line about Electron comes first, then (first launch) the seeding, then the URL.
  expect(lines[0]).toMatch(/^Electron (is not installed|could not start) .*; starting browser mode instead\.$/);
  expect(lines.filter((l) => /Electron/.test(l))).toHaveLength(1);
  const dbPath = join(dir, "data", "fractal-llm", "fractal-llm.sqlite");
  expect(lines[1]).toBe(`No sweeps yet in ${dbPath}: added the ${countSweeps(join(ROOT, "resources", "demo.sqlite"))} demo sweeps.`);

  const page = await fetch(url);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("<title>Fractal LLM Explorer</title>");

  // The Api at the same address with the URL's token lists the demo sweeps, now in the user's database.
  const { port, searchParams } = new URL(url);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api?token=${searchParams.get("token")}`);
  await new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); });
  const reply = new Promise<{ result: { name: string }[] }>((res) => ws.on("message", (d: Buffer) => {
    const m = decodeMessage(d) as { id?: number; result: { name: string }[] };
    if (m.id === 1) res(m);
  }));
  ws.send(new Uint8Array(encodeMessage({ id: 1, method: "listSweeps", params: [] })));
  const names = (await reply).result.map((s) => s.name);
  ws.close();
  expect(names).toHaveLength(countSweeps(dbPath));
  expect(names.some((n) => n.startsWith("paper MLP"))).toBe(true);
  expect(names.some((n) => n.startsWith("tiny SFT"))).toBe(true);
}, 120_000);
