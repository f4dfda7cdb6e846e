// The SQLite store on real files: migrations, refusal of a newer schema, idempotent ingest, dense blocks.
import Database from "better-sqlite3";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LARGE_MAP_CELLS, roundFloat32 } from "../../src-main/core/codec";
import { MIGRATIONS } from "../../src-main/core/migrations";
import { BLOCK_CELLS, openStore, SCHEMA_VERSION, StoreError } from "../../src-main/core/store";
import { journal, mlpSpec, tempDir, tile, valueOf } from "./helpers";

function dumpResults(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  const rows = [
    ...db.prepare("SELECT 'block', sweep_id, field, block, dtype, hex(data) FROM result_blocks ORDER BY 2, 3, 4").raw().all(),
    ...db.prepare("SELECT 'done', sweep_id, block, hex(bits), count FROM done_blocks ORDER BY 2, 3").raw().all(),
    ...db.prepare("SELECT 'curve', sweep_id, cell, hex(step), hex(loss), hex(grad_norm) FROM curves ORDER BY 2, 3").raw().all(),
    ...db.prepare("SELECT 'cursor', sweep_id, host, last_seq FROM sync_cursors ORDER BY 2, 3").raw().all(),
    ...db.prepare("SELECT 'sweep', id, status, done_cells, env FROM sweeps ORDER BY 2").raw().all(),
  ];
  db.close();
  return rows;
}

describe("schema", () => {
  it("migrates a new database to the latest user_version with WAL and foreign keys", () => {
    const path = join(tempDir(), "a.sqlite");
    const s = openStore(path);
    expect(s.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(MIGRATIONS.length);
    expect(s.db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(s.db.pragma("foreign_keys", { simple: true })).toBe(1);
    const tables = (s.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(["cell_samples", "curves", "done_blocks", "host_probes", "hosts", "preview_blocks", "preview_done", "result_blocks", "sweeps", "sync_cursors", "ui_bookmarks", "ui_sweep_tags"]);
    // Foreign keys are enforced: a cursor for a sweep that does not exist is refused.
    expect(() => s.db.prepare("INSERT INTO sync_cursors (sweep_id, host, last_seq, updated_at) VALUES ('nope', 'local', 1, 'now')").run()).toThrow(/FOREIGN KEY/);
    s.close();
    const again = openStore(path); // reopening an up-to-date database changes nothing
    expect(again.db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
    again.close();
  });

  it("refuses a database from a newer version and leaves the file byte for byte unchanged", () => {
    const path = join(tempDir(), "newer.sqlite");
    const s = openStore(path);
    s.addHost({ alias: "gpu", hostname: "10.0.0.1", port: 22, user: "me", python: null, agent_dir: null });
    s.db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    s.close();
    const before = readFileSync(path);
    expect(() => openStore(path)).toThrow(StoreError);
    expect(() => openStore(path)).toThrow(new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than .*not modified`));
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it("refuses a file that is not a database without creating tables in it", () => {
    const path = join(tempDir(), "junk.sqlite");
    writeFileSync(path, "this is not sqlite, it is long enough to have a header ".repeat(4));
    const before = readFileSync(path);
    expect(() => openStore(path)).toThrow(/not a database/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });
});

describe("ingest", () => {
  it("stores every cell's fields densely and reads them back exactly", () => {
    const s = openStore(join(tempDir(), "d.sqlite"));
    const spec = mlpSpec(37, 29); // not a multiple of anything: partial last block
    s.createSweep({ id: "sw", spec, target: "local" });
    const events = journal("sw", spec, 37 * 29, 50, true);
    const r = s.ingest("sw", "local", events);
    expect(r).toMatchObject({ applied: events.length, skipped: 0, newCells: 37 * 29, doneCells: 37 * 29, lastSeq: events.length });
    const row = s.sweep("sw")!;
    expect(row.status).toBe("completed");
    expect(row.env).toEqual({ torch: "test" });
    const score = s.loadField("sw", "score"), div = s.loadField("sw", "divergence_step"), tr = s.loadField("sw", "trainable");
    expect(score).toBeInstanceOf(Float64Array);
    for (let c = 0; c < 37 * 29; c++) {
      expect(score[c]).toBe(valueOf(c, "score"));
      expect(div[c]).toBe(c % 3 === 0 ? -1 : c % 50);
      expect(tr[c]).toBe(c % 3 === 0 ? 1 : 0);
    }
    expect(s.loadDone("sw").every((d) => d === 1)).toBe(true);
    const curve = s.curve("sw", 100)!;
    expect(Array.from(curve.step)).toEqual([0, 1, 2, 3]);
    expect(Array.from(curve.loss)).toEqual([100, 100.1, 100.2, 100.3].map(Math.fround));
    expect(() => s.loadField("sw", "nonexistent")).toThrow(/no field "nonexistent"/);
    s.close();
  });

  it("is idempotent: replaying every event, in any batching, leaves identical rows", () => {
    const path = join(tempDir(), "i.sqlite");
    const s = openStore(path);
    const spec = mlpSpec(64, 48);
    s.createSweep({ id: "sw", spec, target: "local" });
    const events = journal("sw", spec, 64 * 48, 100, true);
    s.ingest("sw", "local", events.slice(0, 10));
    s.ingest("sw", "local", events.slice(5)); // overlaps the first batch
    s.close();
    const once = dumpResults(path);

    const again = openStore(path);
    const r = again.ingest("sw", "local", events); // the whole journal again
    expect(r).toMatchObject({ applied: 0, skipped: events.length, newCells: 0 });
    again.close();
    expect(dumpResults(path)).toEqual(once);
  });

  it("records a cell once even when a later event (new seq) carries it again: the first record counts", () => {
    const s = openStore(join(tempDir(), "f.sqlite"));
    const spec = mlpSpec(8, 8);
    s.createSweep({ id: "sw", spec, target: "local" });
    s.ingest("sw", "local", [tile(1, "sw", [1, 2, 3])]);
    const dup = tile(2, "sw", [3, 4]);
    // The duplicate carries different numbers for cell 3; they must not replace the first record.
    dup.fields.score = { dtype: "<f8", data: Buffer.from(new Float64Array([999, valueOf(4, "score")]).buffer).toString("base64") };
    const r = s.ingest("sw", "local", [dup]);
    expect(r.newCells).toBe(1);
    expect(s.sweep("sw")!.done_cells).toBe(4);
    const score = s.loadField("sw", "score");
    expect(score[3]).toBe(valueOf(3, "score"));
    expect(score[4]).toBe(valueOf(4, "score"));
    expect(Number.isNaN(score[5])).toBe(true);
    expect(Array.from(s.loadDone("sw").slice(0, 6))).toEqual([0, 1, 1, 1, 1, 0]);
    s.close();
  });

  it("rejects cells outside the map and events of another sweep, applying nothing of the batch", () => {
    const s = openStore(join(tempDir(), "r.sqlite"));
    s.createSweep({ id: "sw", spec: mlpSpec(4, 4), target: "local" });
    expect(() => s.ingest("sw", "local", [tile(1, "sw", [1]), tile(2, "sw", [16])])).toThrow(/outside 0..15/);
    expect(() => s.ingest("sw", "local", [tile(1, "other", [1])])).toThrow(/for sweep other/);
    expect(s.sweep("sw")!.done_cells).toBe(0);
    expect(s.cursor("sw", "local")).toBe(0);
    s.close();
  });

  it("keeps cursors per host", () => {
    const s = openStore(join(tempDir(), "c.sqlite"));
    s.createSweep({ id: "sw", spec: mlpSpec(4, 4), target: "local" });
    s.ingest("sw", "a", [tile(1, "sw", [0]), tile(2, "sw", [1])]);
    s.ingest("sw", "b", [tile(1, "sw", [2])]);
    expect([s.cursor("sw", "a"), s.cursor("sw", "b"), s.cursor("sw", "c")]).toEqual([2, 1, 0]);
    expect(s.sweep("sw")!.done_cells).toBe(3);
    s.close();
  });

  it("stores large maps' floats as rounded float32 in blocks of BLOCK_CELLS", () => {
    const s = openStore(join(tempDir(), "l.sqlite"));
    const n = 1100; // 1100^2 > LARGE_MAP_CELLS
    expect(n * n).toBeGreaterThan(LARGE_MAP_CELLS);
    s.createSweep({ id: "big", spec: mlpSpec(n, n), target: "local" });
    const cells = [0, 1, BLOCK_CELLS - 1, BLOCK_CELLS, n * n - 1];
    s.ingest("big", "local", [tile(1, "big", cells)]);
    expect(s.fields("big")).toMatchObject({ score: "f4", trainable: "u1", divergence_step: "i4" });
    const score = s.loadField("big", "score");
    for (const c of cells) expect(Math.abs(score[c] - valueOf(c, "score")) / Math.abs(valueOf(c, "score"))).toBeLessThan(2 ** -15);
    const blocks = s.db.prepare("SELECT DISTINCT block FROM result_blocks WHERE sweep_id = 'big' ORDER BY block").all() as { block: number }[];
    expect(blocks.map((b) => b.block)).toEqual([0, 1, Math.floor((n * n - 1) / BLOCK_CELLS)]);
    s.close();
  });

  it("rounds a completed sweep's chosen float fields to the large-map precision, and only those", () => {
    const s = openStore(join(tempDir(), "r.sqlite"));
    const spec = mlpSpec(200, 200); // 40,000 cells: three blocks, below LARGE_MAP_CELLS so stored float64
    const cells = 200 * 200, done = Array.from({ length: cells - 7 }, (_, i) => i); // the last 7 cells never ran
    s.createSweep({ id: "run", spec, target: "local" });
    s.ingest("run", "local", [tile(1, "run", done)]);
    expect(() => s.roundFloats("run", ["score"])).toThrow(/sweep run is running; round its floats once it has completed/);
    s.setStatus("run", "completed");
    expect(() => s.roundFloats("run", ["nope"])).toThrow(/no field "nope" to round/);
    const before = s.loadField("run", "final_loss");
    expect(s.roundFloats("run", ["score"])).toBe(3);
    expect(s.fields("run")).toMatchObject({ score: "f4", final_loss: "f8", trainable: "u1", divergence_step: "i4" });
    const score = s.loadField("run", "score");
    const expected = Float32Array.from(done, (c) => valueOf(c, "score"));
    roundFloat32(expected);
    expect(Array.from(score.subarray(0, done.length))).toEqual(Array.from(expected));
    expect(Array.from(score.subarray(done.length)).every(Number.isNaN)).toBe(true); // cells without a result stay NaN
    expect(s.loadField("run", "final_loss")).toEqual(before); // untouched, bit for bit
    expect(s.roundFloats("run", ["score"])).toBe(0); // already rounded
    s.close();
  });

  it("refuses a zoom whose parent is not in the database, writing nothing", () => {
    const s = openStore(join(tempDir(), "p.sqlite"));
    const child = mlpSpec(4, 4, { parent: { sweep: "missing" } });
    expect(() => s.createSweep({ id: "child", spec: child, target: "local" })).toThrow(/parent sweep missing .* is not in/);
    expect(s.sweeps()).toEqual([]);
    s.close();
  });
});
