// The store's delta log: the cells each ingest added, per sweep (core/ingest-log.ts). What getLayerDelta streams is
// exactly what the ingests added, read from the log without diffing done bits; cells another connection wrote are
// not in this store's log, and the stream still carries exactly them (the diff of the changed blocks).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it, vi } from "vitest";
import type { LayerDelta } from "../../src-shared/contract";
import { ApiService } from "../../src-main/api/service";
import { validate } from "../../src-shared/spec";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";

const spec = validate({
  version: 1, name: "delta-log", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 30 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: 8 }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: 8 } },
});

let dir: string, store: Store, svc: ApiService, seq = 0;
function ingest(into: Store, cells: number[]) {
  return into.ingest("s", "local", [{
    seq: ++seq, type: "tile", sweep: "s", level: 0, count: cells.length, curves: null,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(Uint8Array.from(cells, (c) => c % 2), "|u1"),
      final_loss: encodeArray(Float64Array.from(cells, (c) => c), "<f8"),
    },
  }]);
}
const delta = (d: LayerDelta) => { if (d.kind !== "delta") throw new Error("expected a delta"); return d; };
const cellsOf = (d: LayerDelta) => Array.from(delta(d).cells);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-delta-log-"));
  store = openStore(join(dir, "db.sqlite"));
  store.createSweep({ id: "s", spec, target: "local" });
  seq = 0;
  svc = new ApiService(store, { pollMs: 60_000 });
});
afterEach(() => {
  svc.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

it("records the cells each ingest added, and getLayerDelta streams exactly those without reading done bits", async () => {
  ingest(store, [3, 1, 2]);
  expect(Array.from(store.cellsAddedSince("s", 0)!)).toEqual([1, 2, 3]);
  const first = await svc.getLayer("s", "finalLoss");
  // cells already done are not added again; the new ones are, per ingest, in order
  ingest(store, [2, 40, 9]);
  ingest(store, [63]);
  expect(Array.from(store.cellsAddedSince("s", 3)!)).toEqual([9, 40, 63]);
  expect(Array.from(store.cellsAddedSince("s", 5)!)).toEqual([63]);
  expect(store.cellsAddedSince("s", 6)).toEqual(new Uint32Array(0));
  expect(store.cellsAddedSince("s", 4)).toBeNull(); // not a done count an ingest left: unknown
  const counts = vi.spyOn(store, "doneCounts"), bits = vi.spyOn(store, "doneBits");
  const d = await svc.getLayerDelta("s", "finalLoss", first.version);
  expect(cellsOf(d)).toEqual([9, 40, 63]);
  expect(Array.from(delta(d).values)).toEqual([9, 40, 63].map((c) => Math.fround(Math.log10(c))));
  expect([counts.mock.calls.length, bits.mock.calls.length]).toEqual([0, 0]); // from the log, no bitmap read
  store.deleteSweeps(["s"]);
  expect(store.cellsAddedSince("s", 0)).toBeNull();
});

it("leaves cells another connection wrote to the diff, and streams them all the same", async () => {
  ingest(store, [0, 1]);
  const first = await svc.getLayer("s", "trainable");
  const other = openStore(join(dir, "db.sqlite"));
  try {
    ingest(other, [5, 7]);
  } finally {
    other.close();
  }
  expect(store.cellsAddedSince("s", 2)).toBeNull(); // not this process's ingest
  const d1 = await svc.getLayerDelta("s", "trainable", first.version);
  expect(cellsOf(d1)).toEqual([5, 7]);
  // an ingest here after the other's starts a new chain: from its own start it is known, from before the gap not
  ingest(store, [8, 6]);
  expect(store.cellsAddedSince("s", 2)).toBeNull();
  expect(Array.from(store.cellsAddedSince("s", 4)!)).toEqual([6, 8]);
  const d2 = await svc.getLayerDelta("s", "trainable", delta(d1).version);
  expect(cellsOf(d2)).toEqual([6, 8]);
  expect(cellsOf(await svc.getLayerDelta("s", "trainable", first.version))).toEqual([5, 7, 6, 8]);
  const full = await svc.getLayer("s", "trainable");
  expect([0, 1, 5, 6, 7, 8].map((c) => full.values[c])).toEqual([0, 1, 1, 0, 1, 0]);
});
