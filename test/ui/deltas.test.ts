// Streaming updates: getLayerDelta returns exactly the cells done since a layer version with their layer values
// (the same values a full layer gives them; for the score layer, the rank against the last full ranking).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type LayerDelta, NOT_DONE } from "../../src-shared/contract";
import { rankAgainst, rankLayerWithReference } from "../../src-main/api/layers";
import { ApiService } from "../../src-main/api/service";
import { validate } from "../../src-shared/spec";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells } from "../../src-main/core/tiles";

const spec = validate({
  version: 1, name: "deltas", model: { family: "mlp", width: 4, activation: "tanh" }, train: { optimizer: "gd", steps: 30 },
  axes: { x: { param: "lr.input", scale: "log", range: [-1, 3], points: 8 }, y: { param: "lr.output", scale: "log", range: [-1, 3], points: 8 } },
});
const score = (c: number) => (c % 3 === 0 ? -(c + 1) : 1 / (c + 1));
const loss = (c: number) => (c === 13 ? Infinity : 2 ** c);

let dir: string, store: Store, svc: ApiService, seq = 0;
function ingest(cells: number[]): void {
  store.ingest("s", "local", [{
    seq: ++seq, type: "tile", sweep: "s", level: 0, count: cells.length, curves: null,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(Uint8Array.from(cells, (c) => c % 2), "|u1"),
      stable: encodeArray(Uint8Array.from(cells, () => 1), "|u1"),
      score: encodeArray(Float64Array.from(cells, score), "<f8"),
      final_loss: encodeArray(Float64Array.from(cells, loss), "<f8"),
    },
  }]);
}
const delta = (d: LayerDelta) => { if (d.kind !== "delta") throw new Error("expected a delta"); return d; };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "fractal-deltas-"));
  store = openStore(join(dir, "db.sqlite"));
  store.createSweep({ id: "s", spec, target: "local" });
  seq = 0;
  ingest([0, 1, 2, 3, 4, 5, 6, 7]);
  svc = new ApiService(store, { pollMs: 60_000 });
});
afterEach(() => {
  svc.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("getLayerDelta", () => {
  it("returns the cells done since a version with the values a full layer gives them", async () => {
    const first = await svc.getLayer("s", "finalLoss");
    expect(delta(await svc.getLayerDelta("s", "finalLoss", first.version)).cells).toEqual(new Uint32Array(0));
    ingest([20, 13, 40]);
    const d1 = delta(await svc.getLayerDelta("s", "finalLoss", first.version));
    expect(Array.from(d1.cells)).toEqual([13, 20, 40]);
    expect(d1.doneCells).toBe(11);
    const full = await svc.getLayer("s", "finalLoss");
    expect(Array.from(d1.values)).toEqual(Array.from(d1.cells, (c) => full.values[c]));
    ingest([50]);
    const tr = delta(await svc.getLayerDelta("s", "trainable", d1.version));
    expect([Array.from(tr.cells), Array.from(tr.values)]).toEqual([[50], [0]]);
    // from the first version: both batches
    expect(Array.from(delta(await svc.getLayerDelta("s", "trainable", first.version)).cells)).toEqual([13, 20, 40, 50]);
    // a version this service never handed out: the full layer
    const unknown = await svc.getLayerDelta("s", "trainable", tr.version + 5);
    expect(unknown.kind === "full" && unknown.data.values[50]).toBe(0);
  });

  it("places new scores into the last full ranking (exact for cells the ranking already holds)", async () => {
    const first = await svc.getLayer("s", "score");
    ingest([8, 9, 63]);
    const d = delta(await svc.getLayerDelta("s", "score", first.version));
    expect(Array.from(d.cells)).toEqual([8, 9, 63]);
    // cell 9 scores -10, below every ranked negative score: the most diverged colour, -(-1) = 1
    expect(d.values[1]).toBe(1);
    // 8 and 63 are positive scores among the positives; each is the value rankAgainst gives against cells 0..7
    const done = new Uint8Array(64).fill(0, 0, 64);
    for (let c = 0; c < 8; c++) done[c] = 1;
    const { ref } = rankLayerWithReference(Float64Array.from({ length: 64 }, (_, c) => score(c)), done);
    expect(Array.from(d.values)).toEqual([8, 9, 63].map((c) => Math.fround(rankAgainst(ref, score(c)))));
    // a score already in the ranking gets exactly its full-layer value
    for (let c = 0; c < 8; c++) expect(Math.fround(rankAgainst(ref, score(c)))).toBe(first.values[c]);
    expect(rankAgainst(ref, Number.NaN)).toBe(NOT_DONE);
    // after a full re-rank the delta cursor carries on
    const again = await svc.getLayer("s", "score");
    expect(again.version).toBe(d.version);
  });
});
