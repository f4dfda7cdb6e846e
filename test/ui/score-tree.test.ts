// One colour scale for a zoom tree (issue 25): the scoreTree layer colours every map against its root's ranking, so a
// score has one colour in the parent and in the zoom drawn over it, where the per-map score layer gives it another.
// Full layers, deltas and previews agree.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NOT_DONE } from "../../src-shared/contract";
import { ApiService } from "../../src-main/api/service";
import { zoomSpec } from "../../src-shared/grid";
import { openStore, type Store } from "../../src-main/core/store";
import { encodeArray, encodeCells, type TileEvent } from "../../src-main/core/tiles";
import { mlpSpec, tempDir } from "../core/helpers";

const root = mlpSpec(8, 8);
const zoom = zoomSpec(root, "root", { x0: 0, x1: 1, y0: 0, y1: 1 }, 8);

/** Cells `cells` of `sweep` with scores `score(c)` (negative: diverged). */
function tile(sweep: string, seq: number, cells: number[], score: (c: number) => number): TileEvent {
  return {
    seq, type: "tile", sweep, level: 0, count: cells.length, curves: null,
    fields: {
      cell: encodeCells(cells), score: encodeArray(Float64Array.from(cells, score), "<f8"),
      trainable: encodeArray(Uint8Array.from(cells, (c) => (score(c) > 0 ? 1 : 0)), "|u1"),
    },
  };
}

const all = Array.from({ length: 64 }, (_, i) => i);
const rootScore = (c: number) => (c % 2 ? c + 1 : -(c + 1)); // diverged -1..-63, converged 2..64
// the zoom sees a narrow band of the root's scores: the same numbers as root cells 20..27 and 40..47
const zoomScore = (c: number) => rootScore(c % 2 ? 40 + (c % 8) : 20 + (c % 8));

let store: Store, svc: ApiService;
beforeEach(() => {
  store = openStore(join(tempDir(), "db.sqlite"));
  store.createSweep({ id: "root", spec: root, target: "local" });
  store.createSweep({ id: "zoom", spec: zoom, target: "local" });
  store.ingest("root", "local", [tile("root", 1, all, rootScore)]);
  store.ingest("zoom", "local", [tile("zoom", 1, all.slice(0, 32), zoomScore)]);
  svc = new ApiService(store, { pollMs: 20 });
});
afterEach(() => { svc.close(); store.close(); });

describe("scoreTree", () => {
  it("gives a score the root's colour in the zoom, where the per-map layer stretches the zoom's band over the whole scale", async () => {
    const rootLayer = await svc.getLayer("root", "score");
    const tree = await svc.getLayer("zoom", "scoreTree");
    const own = await svc.getLayer("zoom", "score");
    expect(tree.kind).toBe("rank");
    for (const c of all.slice(0, 32)) {
      const twin = c % 2 ? 40 + (c % 8) : 20 + (c % 8); // the root cell with the same score
      expect(tree.values[c], `zoom cell ${c}`).toBeCloseTo(rootLayer.values[twin], 6);
    }
    // the zoom's converged cells hold a narrow band of the root's scores: per map they spread over half the colour
    // scale, on the tree's scale they keep the narrow band they have in the root
    const spread = (v: Float32Array) => { const c = Array.from(v.slice(0, 32)).filter((x) => x > 0); return Math.max(...c) - Math.min(...c); };
    expect(spread(own.values)).toBeGreaterThan(0.5);
    expect(spread(tree.values)).toBeLessThan(0.1);
    expect(tree.values[40]).toBe(NOT_DONE);
    // the root's own tree layer is its score layer
    expect(Array.from((await svc.getLayer("root", "scoreTree")).values)).toEqual(Array.from(rootLayer.values));
  });

  it("places streamed cells and previews on the same scale as the full layer", async () => {
    const first = await svc.getLayer("zoom", "scoreTree");
    store.ingest("zoom", "local", [tile("zoom", 2, all.slice(32), zoomScore)]);
    const d = await svc.getLayerDelta("zoom", "scoreTree", first.version);
    const full = await svc.getLayer("zoom", "scoreTree");
    if (d.kind !== "delta") throw new Error(`expected a delta, got ${d.kind}`);
    expect(Array.from(d.cells)).toEqual(all.slice(32));
    d.cells.forEach((c, k) => expect(d.values[k]).toBeCloseTo(full.values[c], 6));
    const preview = await svc.getLayerPreview("zoom", "scoreTree", 4); // every second cell
    for (let j = 0; j < preview.ny; j++) for (let i = 0; i < preview.nx; i++) {
      expect(preview.values[j * preview.nx + i]).toBeCloseTo(full.values[2 * j * 8 + 2 * i], 6);
    }
  });
});
