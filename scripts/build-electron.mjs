// Bundles the Electron shell: src-main/electron/main.ts -> dist/electron/main.mjs (ESM; node_modules stay
// external, so better-sqlite3 is the one electron-builder rebuilt for Electron) and preload.ts ->
// dist/electron/preload.cjs (one CommonJS file: a sandboxed preload can require only `electron`).
// main.mjs sits two levels below the repo root like src-main/core/*.ts, so the core's REPO_ROOT
// (resolved from import.meta.url) means the same thing bundled as from source.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

export async function buildElectron() {
  const common = { absWorkingDir: root, bundle: true, platform: "node", target: "node20", sourcemap: true, logLevel: "warning" };
  await build({ ...common, entryPoints: ["src-main/electron/main.ts"], outfile: "dist/electron/main.mjs", format: "esm", packages: "external" });
  await build({ ...common, entryPoints: ["src-main/electron/preload.ts"], outfile: "dist/electron/preload.cjs", format: "cjs", external: ["electron"] });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildElectron();
