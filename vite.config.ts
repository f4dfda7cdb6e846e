// Builds the renderer (src-renderer) into dist/renderer; browser mode serves it, Electron loads it.
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL("./src-renderer", import.meta.url));

export default defineConfig({
  root,
  base: "./",
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL("./dist/renderer", import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
