// The service's large-map paths: ranking and analysis in the worker thread give what the in-thread code gives,
// a preview is every stride-th cell ranked among themselves, a cell read from its block alone matches the whole
// field, and a write to the database reaches subscribers without waiting for the poll timer.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sweepAnalysis } from "../../src-main/api/analysis";
import type { ApiEvent } from "../../src-shared/contract";
import { buildLayer } from "../../src-main/api/layers";
import { ApiService } from "../../src-main/api/service";
import { validate } from "../../src-shared/spec";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";

const N = 160; // 25,600 cells: two store blocks, so block reads cross a boundary
const spec = validate({
  version: 1, name: "offload", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 30 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: N }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: N } },
});
const trainable = (c: number) => ((c % N) + Math.floor(c / N) * 0.7 + Math.sin(c) * 9 < 130 ? 1 : 0);
const score = (c: number) => (trainable(c) ? -(1 + ((c * 7919) % 1000)) : 1 / (1 + ((c * 104729) % 997)));

let dir: string, store: Store, svc: ApiService, seq = 0;
function ingest(cells: number[]): void {
  store.ingest("s", "local", [{
    seq: ++seq, type: "tile", sweep: "s", level: 0, count: cells.length, curves: null,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(Uint8Array.from(cells, trainable), "|u1"),
      stable: encodeArray(Uint8Array.from(cells, () => 1), "|u1"),
      score: encodeArray(Float64Array.from(cells, score), "<f8"),
      final_loss: encodeArray(Float64Array.from(cells, (c) => 1 + c), "<f8"),
    },
  }]);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-offload-"));
  store = openStore(join(dir, "db.sqlite"));
  store.createSweep({ id: "s", spec, target: "local" });
  seq = 0;
  ingest(Array.from({ length: N * N - 3 * N }, (_, c) => c)); // the last three rows not done yet
  svc = new ApiService(store, { pollMs: 60_000, offloadCells: 0 });
});
afterEach(() => {
  svc.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("large-map paths of the service", () => {
  it("ranks the score layer and computes the analysis in the worker exactly as in-thread", async () => {
    const got = await svc.getLayer("s", "score");
    const want = buildLayer({ sweepId: "s", layer: "score", nx: N, ny: N, field: store.loadField("s", "score"), done: store.loadDone("s") });
    expect(got.doneCells).toBe(want.doneCells);
    expect(Buffer.from(got.values.buffer, got.values.byteOffset, got.values.byteLength).equals(
      Buffer.from(want.values.buffer, want.values.byteOffset, want.values.byteLength))).toBe(true);
    expect((svc as unknown as { ranker: { broken: boolean } }).ranker.broken).toBe(false); // it ran in the worker
    expect(await svc.getLayer("s", "score")).toBe(got); // unchanged map: the kept layer
    const a = await svc.getAnalysis("s", { layer: "trainable", sequence: false });
    expect(JSON.parse(JSON.stringify(a))).toEqual(JSON.parse(JSON.stringify(sweepAnalysis(store, "s", { layer: "trainable", sequence: false }))));
    // streaming deltas are placed against the worker's ranking
    ingest([N * N - 1]);
    const d = await svc.getLayerDelta("s", "score", got.version);
    expect(d.kind).toBe("delta");
  });

  it("previews every stride-th cell, ranked among themselves", async () => {
    const p = await svc.getLayerPreview("s", "score", 50);
    expect(p.stride).toBe(4);
    expect([p.nx, p.ny]).toEqual([40, 40]);
    const full = store.loadField("s", "score"), done = store.loadDone("s");
    const f = new Float64Array(40 * 40), dn = new Uint8Array(40 * 40);
    for (let j = 0; j < 40; j++) for (let i = 0; i < 40; i++) { f[j * 40 + i] = full[j * 4 * N + i * 4]; dn[j * 40 + i] = done[j * 4 * N + i * 4]; }
    expect(Array.from(p.values)).toEqual(Array.from(buildLayer({ sweepId: "s", layer: "score", nx: 40, ny: 40, field: f, done: dn }).values));
    const small = await svc.getLayerPreview("s", "trainable", 1000);
    expect(small.stride).toBeUndefined();
    expect(small.nx).toBe(N);
  });

  it("reads one cell from its block", async () => {
    for (const cell of [0, 16383, 16384, N * N - 3 * N - 1]) {
      const d = await svc.getCell("s", cell);
      expect(d.done).toBe(true);
      expect(d.outcome!.score).toBe(score(cell));
      expect(d.outcome!.trainable).toBe(trainable(cell));
      expect(d.outcome!.final_loss).toBe(1 + cell);
    }
    expect((await svc.getCell("s", N * N - 1)).outcome).toBeNull();
  });

  it("pushes a change to subscribers on a database write, long before the poll timer", async () => {
    const events: ApiEvent[] = [];
    svc.subscribe((e) => events.push(e));
    const t0 = Date.now();
    ingest([N * N - 2]);
    await expect.poll(() => events.some((e) => e.type === "sweep-updated"), { timeout: 5000, interval: 10 }).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000); // the poll timer is 60 s here
  });
});
