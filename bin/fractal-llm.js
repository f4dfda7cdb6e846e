#!/usr/bin/env node
// `fractal-llm`: runs the TypeScript CLI (src-main/cli/main.ts) through tsx, so no build step is needed.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src-main/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
