// Store benchmark (DESIGN "Numbers the product must reach"): ingest rate of tile events (cells/s), load time
// of a 4096^2 map for display, and its size on disk without curves.
//
//   npx tsx scripts/bench-store.ts [--n 4096] [--tile 16384] [--batch 16] [--dir .bench]
//
// The map is not random noise (which no store can compress) but a real trainability map: two-parameter
// gradient descent on L(a, b) = (a*b - 1)^2 / 2 with one learning rate per parameter (x, y), 50 steps,
// summarised per cell exactly like the agent does (trainable, stable, score, first/final loss,
// divergence step). Tiles arrive in the agent's coarse-to-fine order with the MLP trainer's fields.

import { mkdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { roundFloat32 } from "../src-main/core/codec";
import { coarseToFine } from "../src-shared/grid";
import { type JournalEvent, openStore } from "../src-main/core/store";
import { validate } from "../src-shared/spec";
import { encodeArray, encodeCells, type TileEvent } from "../src-main/core/tiles";

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "4096" },
    tile: { type: "string", default: "16384" },
    batch: { type: "string", default: "16" },
    dir: { type: "string", default: ".bench" },
  },
});
const N = Number(args.n), TILE = Number(args.tile), BATCH = Number(args.batch);
const STEPS = 50, WINDOW = 10;

function generateMap(n: number) {
  const cells = n * n;
  const trainable = new Uint8Array(cells), stable = new Uint8Array(cells), div = new Int32Array(cells);
  const score = new Float64Array(cells), first = new Float64Array(cells), final = new Float64Array(cells);
  const lrs = Float64Array.from({ length: n }, (_, i) => 10 ** (-1.5 + (i + 0.5) * (1.5 / n)));
  for (let iy = 0; iy < n; iy++) {
    for (let ix = 0; ix < n; ix++) {
      const la = lrs[ix], lb = lrs[iy];
      let a = 0.3, b = 1.7;
      const l0 = 0.5 * (a * b - 1) ** 2;
      let sumV = 0, sumInv = 0, tail = 0, ok = true, d = -1, loss = l0;
      for (let t = 0; t <= STEPS; t++) {
        loss = 0.5 * (a * b - 1) ** 2;
        let v = loss / l0;
        if (!Number.isFinite(v) || v > 1e6) v = 1e6;
        if (!(Number.isFinite(loss) && loss < 1e6 * l0)) { ok = false; if (d < 0) d = t; }
        sumV += v;
        sumInv += 1 / v;
        if (t > STEPS - WINDOW) tail += v;
        const r = a * b - 1;
        const ga = r * b, gb = r * a;
        a -= la * ga;
        b -= lb * gb;
      }
      const c = iy * n + ix;
      trainable[c] = tail / WINDOW < 1 ? 1 : 0;
      stable[c] = ok ? 1 : 0;
      score[c] = trainable[c] ? -sumV : sumInv;
      first[c] = l0;
      final[c] = Number.isFinite(loss) ? loss : Infinity;
      div[c] = d;
    }
  }
  return { trainable, stable, score, first, final, div };
}

function tileEvent(seq: number, sweep: string, m: ReturnType<typeof generateMap>, cells: Int32Array): TileEvent {
  const K = cells.length;
  const pick = <T extends Float64Array | Int32Array | Uint8Array>(src: T, make: (k: number) => T): T => {
    const out = make(K);
    for (let k = 0; k < K; k++) out[k] = src[cells[k]];
    return out;
  };
  const f64 = (k: number) => new Float64Array(k);
  const nan = new Float64Array(K).fill(NaN);
  return {
    seq, type: "tile", sweep, level: 0, count: K, curves: null,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(pick(m.trainable, (k) => new Uint8Array(k)), "|u1"),
      stable: encodeArray(pick(m.stable, (k) => new Uint8Array(k)), "|u1"),
      score: encodeArray(pick(m.score, f64), "<f8"),
      first_loss: encodeArray(pick(m.first, f64), "<f8"),
      final_loss: encodeArray(pick(m.final, f64), "<f8"),
      divergence_step: encodeArray(pick(m.div, (k) => new Int32Array(k)), "<i4"),
      heldout_loss: encodeArray(nan, "<f8"),
      ood_loss: encodeArray(nan, "<f8"),
      wall_time: encodeArray(new Float64Array(K).fill(0.0123), "<f8"),
      flops: encodeArray(new Float64Array(K).fill(6 * 272 * 272 * 500), "<f8"),
    },
  };
}

const dir = resolve(args.dir);
mkdirSync(dir, { recursive: true });
const dbPath = join(dir, `bench-store-${N}.sqlite`);
for (const suffix of ["", "-wal", "-shm"]) rmSync(dbPath + suffix, { force: true });

console.log(`map ${N}x${N} = ${N * N} cells, tiles of ${TILE} cells in coarse-to-fine order, ${BATCH} tiles per transaction`);
let t0 = performance.now();
const map = generateMap(N);
console.log(`generated the map (GD on (ab-1)^2, ${STEPS} steps per cell) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const spec = validate({
  version: 1, name: "bench", model: { family: "mlp", width: 16 }, train: { steps: 500 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1.5, 0], points: N },
    y: { param: "lr.output", scale: "log", range: [-1.5, 0], points: N } },
});
const store = openStore(dbPath);
store.createSweep({ id: "bench", spec, target: "local" });
const { order } = coarseToFine(N, N);

let ingestMs = 0, seq = 1, batch: JournalEvent[] = [];
const flush = () => {
  const s = performance.now();
  store.ingest("bench", "local", batch);
  ingestMs += performance.now() - s;
  batch = [];
};
for (let start = 0; start < order.length; start += TILE) {
  batch.push(tileEvent(seq++, "bench", map, order.subarray(start, start + TILE)));
  if (batch.length === BATCH) flush();
}
if (batch.length) flush();
const done = store.sweep("bench")!.done_cells;
if (done !== N * N) throw new Error(`ingested ${done} cells, expected ${N * N}`);
console.log(`ingest: ${(N * N / (ingestMs / 1000)).toFixed(0)} cells/s (${(ingestMs / 1000).toFixed(2)} s for ${N * N} cells, `
  + `base64 decode + block update + compression + SQLite commit)`);
store.db.pragma("wal_checkpoint(TRUNCATE)");
store.close();
const sizeAfterIngest = statSync(dbPath).size;

// Display load on a freshly opened database: the layers the map view draws first.
const reopened = openStore(dbPath);
t0 = performance.now();
const score = reopened.loadField("bench", "score");
const trainable = reopened.loadField("bench", "trainable");
const doneFlags = reopened.loadDone("bench");
const loadS = (performance.now() - t0) / 1000;
let mismatch = 0;
// Above 1024^2 cells floats are stored as float32 rounded to 15 mantissa bits (codec.ts).
const asStored = (v: number) => {
  if (!(score instanceof Float32Array)) return v;
  const a = new Float32Array([v]);
  roundFloat32(a);
  return a[0];
};
for (let c = 0; c < N * N; c++) {
  if (asStored(map.score[c]) !== score[c] || map.trainable[c] !== trainable[c] || doneFlags[c] !== 1) mismatch++;
}
if (mismatch) throw new Error(`${mismatch} cells read back differently`);
console.log(`display load (score + trainable + done of ${N}x${N}): ${loadS.toFixed(3)} s`);
t0 = performance.now();
for (const f of Object.keys(reopened.fields("bench"))) reopened.loadField("bench", f);
console.log(`full load (all ${Object.keys(reopened.fields("bench")).length} fields): ${((performance.now() - t0) / 1000).toFixed(3)} s`);
reopened.db.exec("VACUUM");
reopened.close();
const mb = (b: number) => (b / 1e6).toFixed(1);
console.log(`size on disk: ${mb(sizeAfterIngest)} MB after ingest, ${mb(statSync(dbPath).size)} MB after VACUUM (no curves)`);
