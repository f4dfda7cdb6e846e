// Draws the app icon from a real map: the demo database's top-level paper-MLP sweep (resources/demo.sqlite),
// in the paper's colouring (rank-equalised score, Spectral), inside a rounded square. Writes
// resources/icon.png (512x512: macOS and Windows builds convert it) and resources/icons/NxN.png (Linux).
//
//   npm run icons        # after `npm run demo:db`

import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { colourLayer } from "../src-main/analysis/colour";
import { encodePng } from "../src-main/analysis/png";
import { sweepMap } from "../src-main/core/sweep-maps";
import { openStore } from "../src-main/core/store";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];

/** The map as RGB at `size`x`size`: each pixel averages the cells it covers (area sampling), y up. */
function resample(rgba: Uint8Array, nx: number, ny: number, size: number): Float64Array {
  const out = new Float64Array(size * size * 3);
  const ss = 4; // 4x4 samples per pixel: smooth edges at every size
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const ix = Math.min(nx - 1, Math.floor(((px + (sx + 0.5) / ss) / size) * nx));
          const iy = Math.min(ny - 1, Math.floor((1 - (py + (sy + 0.5) / ss) / size) * ny)); // row 0 is the top
          for (let c = 0; c < 3; c++) out[(py * size + px) * 3 + c] += rgba[(iy * nx + ix) * 4 + c] / (ss * ss);
        }
      }
    }
  }
  return out;
}

/** Coverage of pixel (px, py) by a rounded square with corner radius 18% of the side (4x4 supersampled). */
function roundedCoverage(px: number, py: number, size: number): number {
  const r = 0.18 * size, ss = 4;
  let n = 0;
  for (let sy = 0; sy < ss; sy++) {
    for (let sx = 0; sx < ss; sx++) {
      const x = px + (sx + 0.5) / ss, y = py + (sy + 0.5) / ss;
      const dx = Math.max(r - x, x - (size - r), 0), dy = Math.max(r - y, y - (size - r), 0);
      if (dx * dx + dy * dy <= r * r) n++;
    }
  }
  return n / (ss * ss);
}

export function drawIcon(rgba: Uint8Array, nx: number, ny: number, size: number): Buffer {
  const rgb = resample(rgba, nx, ny, size);
  const data = new Uint8Array(size * size * 4);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = Math.round(rgb[p * 3 + c]);
    data[p * 4 + 3] = Math.round(255 * roundedCoverage(p % size, Math.floor(p / size), size));
  }
  return encodePng({ width: size, height: size, data });
}

function main(): void {
  // A private copy: opening through the store may migrate the file, and the shipped one stays as generated.
  const tmp = join(tmpdir(), `fractal-icon-${process.pid}.sqlite`);
  copyFileSync(join(ROOT, "resources", "demo.sqlite"), tmp);
  const store = openStore(tmp);
  try {
    const root = store.sweeps().find((s) => s.parent_id === null && s.spec.model.family === "mlp");
    if (!root) throw new Error("resources/demo.sqlite has no top-level MLP sweep; run `npm run demo:db` first");
    const map = sweepMap(store, root.id);
    const { rgba } = colourLayer(map, "score");
    mkdirSync(join(ROOT, "resources", "icons"), { recursive: true });
    for (const size of ICON_SIZES) writeFileSync(join(ROOT, "resources", "icons", `${size}x${size}.png`), drawIcon(rgba, map.nx, map.ny, size));
    writeFileSync(join(ROOT, "resources", "icon.png"), drawIcon(rgba, map.nx, map.ny, 512));
    process.stderr.write(`icons from sweep ${root.id} (${map.nx}x${map.ny}) written to resources/icon.png and resources/icons/\n`);
  } finally {
    store.close();
    for (const s of ["", "-wal", "-shm"]) rmSync(tmp + s, { force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
