// `web`: browser mode from the terminal.

import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { seedDemoIfEmpty } from "../core/demo";
import { REPO_ROOT } from "../core/local-transport";
import { defaultDbPath } from "../core/paths";
import { UsageError } from "./errors";

/** Browser mode: serve the UI and the API until interrupted. */
export async function cmdWeb(argv: string[]): Promise<number> {
  const { values: o } = parseArgs({
    args: argv,
    options: { db: { type: "string" }, port: { type: "string" }, "no-open": { type: "boolean" }, python: { type: "string" } },
  });
  const port = o.port === undefined ? 0 : Number(o.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, got ${o.port}`);
  const dbPath = o.db ?? defaultDbPath();
  mkdirSync(dirname(dbPath), { recursive: true });
  // As the desktop app does: a database without sweeps opens on the demo maps, so there is something to explore.
  const seeded = seedDemoIfEmpty(dbPath, join(REPO_ROOT, "resources", "demo.sqlite"));
  if (seeded) process.stdout.write(`no sweeps yet in ${dbPath}; added the ${seeded} demo sweeps (delete them in the library)\n`);
  const { startWebServer } = await import("../web/server");
  const server = await startWebServer({ dbPath, port, open: !o["no-open"], python: o.python });
  process.stdout.write(`Fractal LLM Explorer (browser mode) on ${server.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  return 0;
}
