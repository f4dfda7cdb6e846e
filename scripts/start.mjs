// `npm start [-- --db FILE] [--port N] [--no-open] [--browser]`: opens the desktop app, or browser mode where
// Electron cannot run.
//
// Electron is an optional dependency: its binary download fails on machines without access to GitHub, and it
// cannot open a window without a display. So we try it, and if its package or binary is missing, or it exits
// before its window has loaded (main.ts prints READY_LINE then), we say so in one line and serve the same UI
// and Api in browser mode (src-main/web) on 127.0.0.1, printing the URL. Either way the database is the
// user's (--db, else $FRACTAL_LLM_DB, else the per-user app-data one), seeded with the demo sweeps while it
// has none (src-main/core/demo.ts). `--browser` skips Electron.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { register } from "tsx/esm/api";

const root = fileURLToPath(new URL("..", import.meta.url));
const READY_LINE = "fractal-llm: desktop window open"; // src-main/electron/main.ts
/** How long Electron gets to open its window before we stop waiting for it (a cold start on a slow disk). */
const ELECTRON_START_S = 60;

const { values: opts } = parseArgs({
  options: {
    db: { type: "string" }, port: { type: "string" }, "no-open": { type: "boolean" }, browser: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});
if (opts.help) {
  process.stdout.write("npm start [-- --db FILE] [--port N] [--no-open] [--browser]\n");
  process.exit(0);
}
const port = opts.port === undefined ? 0 : Number(opts.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be an integer in 0..65535 (0: any free port), got ${JSON.stringify(opts.port)}\n`);
  process.exit(2);
}

register();
const { ensureRendererBuilt, startWebServer } = await import("../src-main/web/server.ts");
const { defaultDbPath } = await import("../src-main/core/paths.ts");
const { seedDemoIfEmpty } = await import("../src-main/core/demo.ts");
const dbPath = opts.db ?? defaultDbPath();
await ensureRendererBuilt();

/** The Electron binary, or why there is none. */
function electronBinary() {
  let bin;
  try {
    bin = createRequire(import.meta.url)("electron"); // the package's index.js: the binary's path
  } catch (e) {
    if (e.code === "MODULE_NOT_FOUND") return { why: "is not installed (the optional `electron` package or its binary download is missing)" };
    return { why: `is not usable (${e.message.split("\n")[0]})` };
  }
  return typeof bin === "string" ? { bin } : { why: "is not usable (require('electron') did not give a binary path)" };
}

/** Run Electron; resolves "ready" once its window loaded (then follows it to exit), or the reason it failed. */
async function runElectron(bin) {
  const { buildElectron } = await import("./build-electron.mjs");
  await buildElectron();
  const args = [join(root, "dist", "electron", "main.mjs"), ...(opts.db ? ["--db", opts.db] : [])];
  const child = spawn(bin, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let errTail = "";
  return await new Promise((resolve) => {
    let ready = false;
    const timer = setTimeout(() => { if (!ready) { child.kill(); resolve({ why: `did not open a window within ${ELECTRON_START_S} s` }); } }, ELECTRON_START_S * 1000);
    child.stdout.on("data", (d) => {
      process.stdout.write(d);
      if (!ready && d.toString().includes(READY_LINE)) { ready = true; clearTimeout(timer); }
    });
    child.stderr.on("data", (d) => {
      if (ready) process.stderr.write(d);
      else errTail = (errTail + d.toString()).slice(-2000);
    });
    child.once("error", (e) => { clearTimeout(timer); resolve({ why: `could not start (${e.message})` }); });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (ready) { process.exitCode = code ?? 1; resolve({ ready: true }); return; }
      const last = errTail.trim().split("\n").filter(Boolean).pop() ?? "no output";
      resolve({ why: `could not start (exit ${code ?? signal}: ${last.slice(0, 200)})` });
    });
  });
}

const found = opts.browser ? { why: "was skipped (--browser)" } : electronBinary();
const ran = found.bin ? await runElectron(found.bin) : found;
if (ran.ready) process.exit();

process.stdout.write(`Electron ${ran.why}; starting browser mode instead.\n`);
const seeded = seedDemoIfEmpty(dbPath, join(root, "resources", "demo.sqlite"));
if (seeded) process.stdout.write(`No sweeps yet in ${dbPath}: added the ${seeded} demo sweeps.\n`);
const server = await startWebServer({ dbPath, port, open: !opts["no-open"] });
process.stdout.write(`Fractal LLM Explorer (browser mode) on ${dbPath}: ${server.url}\n`);
process.stdout.write("Press Ctrl-C to stop.\n");
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
