// vitest globalSetup: build the UI once into dist/renderer before any test file runs, so the end-to-end files
// (which run in parallel workers) serve the current src-renderer and never rebuild it under each other.
import { buildRenderer } from "../src-main/web/server";

export default async function setup(): Promise<void> {
  await buildRenderer();
}
