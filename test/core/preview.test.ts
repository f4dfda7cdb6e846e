// Kept previews (core/preview.ts): a map wider than PREVIEW_SIDE keeps a strided copy of its fields and done flags,
// written at ingest. Whatever path a preview takes (written tile by tile, built for a sweep from before migration 6,
// rebuilt after floats are rounded, carried by an import), it must equal what reading the map's own blocks gives,
// and the service's preview must be the same layer either way.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { strided } from "../../src-main/api/cells";
import { buildLayer } from "../../src-main/api/layers";
import { ApiService } from "../../src-main/api/service";
import { forCoarseCells, keptStride, PREVIEW_SIDE, previewStride } from "../../src-main/core/preview";
import { BLOCK_CELLS, openStore, type Store } from "../../src-main/core/store";
import { journal, mlpSpec, tempDir } from "./helpers";

// 600 x 520: 19 store blocks whose rows do not line up with the stride (600 is not a power of two), a kept stride
// of 4 (150 x 130 coarse cells, 5 preview blocks), a last block shorter than the others.
const NX = 600, NY = 520, CELLS = NX * NY;
const FIELDS = ["score", "trainable", "final_loss", "divergence_step"];

let dir: string, store: Store;
beforeEach(() => {
  dir = tempDir("fractal-preview-");
  store = openStore(join(dir, "db.sqlite"));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Ingest the sweep's journal up to (not including) event `upto`, a tile of 5000 shuffled cells at a time. */
function record(id: string, upto = Infinity): void {
  const spec = mlpSpec(NX, NY, { name: id });
  if (!store.sweep(id)) store.createSweep({ id, spec, target: "local" });
  const events = journal(id, spec, CELLS, 5000);
  store.ingest(id, "local", events.slice(0, Math.min(upto, events.length)));
}

/** The kept preview equals the strided read of the map's blocks, for the done flags and every field. */
function expectPreviewMatchesBlocks(id: string): void {
  const stride = keptStride(NX, NY)!;
  for (const field of FIELDS) {
    const kept = store.preview(id, field)!;
    const read = strided(store, id, NX, NY, stride, field);
    expect([kept.cx, kept.cy]).toEqual([read.cx, read.cy]);
    expect(Buffer.from(kept.done).equals(Buffer.from(read.done))).toBe(true);
    // NaN-aware: a cell not done reads NaN for a float field in both.
    expect(Array.from(kept.values)).toEqual(Array.from(read.values));
  }
}

const previewRows = (id: string) =>
  (store.db.prepare("SELECT (SELECT count(*) FROM preview_blocks WHERE sweep_id = ?) + (SELECT count(*) FROM preview_done WHERE sweep_id = ?) AS n")
    .get(id, id) as { n: number }).n;

describe("kept previews", () => {
  it("visit exactly the cells (i*stride, j*stride), each once", () => {
    const g = { id: "g", nx: NX, ny: NY, stride: 4 };
    const seen = new Map<number, number>();
    for (let first = 0; first < CELLS; first += BLOCK_CELLS) {
      forCoarseCells(g, first, Math.min(BLOCK_CELLS, CELLS - first), (c, off) => {
        expect(seen.has(c)).toBe(false);
        seen.set(c, first + off);
      });
    }
    expect(seen.size).toBe(150 * 130);
    for (const [c, cell] of seen) expect(cell).toBe(Math.floor(c / 150) * 4 * NX + (c % 150) * 4);
  });

  it("are kept only for maps wider than PREVIEW_SIDE, at the stride of a PREVIEW_SIDE preview", () => {
    expect(keptStride(PREVIEW_SIDE, PREVIEW_SIDE)).toBeNull();
    expect(keptStride(PREVIEW_SIDE + 1, 3)).toBe(2);
    expect(keptStride(4096, 4096)).toBe(16);
    expect(keptStride(NX, NY)).toBe(previewStride(NX, NY, PREVIEW_SIDE));
    store.createSweep({ id: "small", spec: mlpSpec(256, 256), target: "local" });
    expect(store.sweep("small")!.preview_stride).toBeNull();
    expect(store.preview("small", "score")).toBeUndefined();
  });

  it("are written tile by tile at ingest, and match the blocks part-way and at the end", () => {
    record("s", 30); // 29 of 63 tiles: holes everywhere
    expect(store.sweep("s")!.preview_stride).toBe(4);
    expect(previewRows("s")).toBeGreaterThan(0); // written by ingest, not by the read below
    const part = store.preview("s", "score")!;
    expect(part.done.some((d) => d === 0) && part.done.some((d) => d === 1)).toBe(true);
    expectPreviewMatchesBlocks("s");
    record("s");
    expect(store.preview("s", null)!.done.every((d) => d === 1)).toBe(true);
    expectPreviewMatchesBlocks("s");
  });

  it("are built once for a sweep recorded before they were kept, then kept up by ingest", () => {
    record("old", 30);
    // As migration 6 leaves a sweep recorded before it: no stride, no rows.
    store.db.prepare("UPDATE sweeps SET preview_stride = NULL WHERE id = 'old'").run();
    store.db.prepare("DELETE FROM preview_blocks WHERE sweep_id = 'old'").run();
    store.db.prepare("DELETE FROM preview_done WHERE sweep_id = 'old'").run();
    record("old", 35); // ingest without a kept preview writes none
    expect(previewRows("old")).toBe(0);
    expectPreviewMatchesBlocks("old"); // the first read builds it
    expect(store.sweep("old")!.preview_stride).toBe(4);
    record("old");
    expectPreviewMatchesBlocks("old");
  });

  it("follow floats rounded to float32, go with an import, and go with a deleted sweep", () => {
    record("s");
    expect(store.roundFloats("s", ["score", "final_loss"])).toBeGreaterThan(0);
    expect(store.fields("s").score).toBe("f4");
    expectPreviewMatchesBlocks("s");

    store.checkpoint(); // the import copies the file: the WAL's pages first
    const other = openStore(join(dir, "other.sqlite"));
    other.importFrom(store.path);
    const rows = store.db.prepare("SELECT field, block, dtype, data FROM preview_blocks ORDER BY field, block").all();
    expect(other.db.prepare("SELECT field, block, dtype, data FROM preview_blocks ORDER BY field, block").all()).toEqual(rows);
    expect(other.preview("s", "score")!.values).toEqual(store.preview("s", "score")!.values);
    other.close();

    store.deleteSweeps(["s"]);
    expect(previewRows("s")).toBe(0);
  });

  it("give the service's previews the layer the blocks give, at the kept stride and at coarser ones", async () => {
    record("s", 40);
    const svc = new ApiService(store, { pollMs: 60_000 });
    try {
      for (const [maxSide, stride] of [[256, 4], [150, 4], [64, 16], [100, 8]] as const) {
        const got = await svc.getLayerPreview("s", "score", maxSide);
        expect(got.stride).toBe(stride);
        const read = strided(store, "s", NX, NY, stride, "score");
        const want = buildLayer({ sweepId: "s", layer: "score", nx: read.cx, ny: read.cy, field: read.values, done: read.done, version: 0 });
        expect([got.nx, got.ny, got.doneCells]).toEqual([want.nx, want.ny, want.doneCells]);
        expect(Array.from(got.values)).toEqual(Array.from(want.values));
      }
      // Finer than the kept preview: read from the blocks.
      const fine = await svc.getLayerPreview("s", "trainable", 300);
      expect(fine.stride).toBe(2);
    } finally {
      svc.close();
    }
  });

  it("are ready before the page asks: the server prefetches the previews of the large maps updated last", async () => {
    record("s", 40);
    // 1100 x 1000: more cells than PREVIEW_ABOVE, so the app opens it with a preview.
    store.createSweep({ id: "big", spec: mlpSpec(1100, 1000), target: "local" });
    store.ingest("big", "local", journal("big", mlpSpec(1100, 1000), 1100 * 1000, 50_000).slice(0, 5));
    const svc = new ApiService(store, { pollMs: 60_000 });
    try {
      const cache = (svc as unknown as { previewCache: Map<string, { data: unknown }> }).previewCache;
      await svc.prefetchFirstFrame();
      expect([...cache.keys()].map((k) => k.split("\u0000"))).toEqual([["big", "score", String(PREVIEW_SIDE)]]); // "s" is small
      const first = await svc.getLayerPreview("big", "score", PREVIEW_SIDE);
      expect(first).toBe(cache.get(`big\u0000score\u0000${PREVIEW_SIDE}`)!.data); // served from the prefetch
      // A new result makes it stale: the next request builds it again, with the new cell.
      store.ingest("big", "local", journal("big", mlpSpec(1100, 1000), 1100 * 1000, 50_000).slice(5, 6));
      const again = await svc.getLayerPreview("big", "score", PREVIEW_SIDE);
      expect(again).not.toBe(first);
      expect(again.doneCells).toBeGreaterThan(first.doneCells);
    } finally {
      svc.close();
    }
  });
});
