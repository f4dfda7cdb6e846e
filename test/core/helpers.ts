// Test helpers: temp directories, small validated specs and agent-shaped tile events built with real encoders.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validate, type Spec } from "../../src-main/core/spec";
import type { JournalEvent } from "../../src-main/core/store";
import { encodeArray, encodeCells, type TileEvent } from "../../src-main/core/tiles";

export function tempDir(prefix = "fractal-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function mlpSpec(nx: number, ny: number, extra: Record<string, unknown> = {}): Spec {
  return validate({
    version: 1, name: `mlp ${nx}x${ny}`, model: { family: "mlp", width: 4 }, train: { steps: 50 },
    axes: { x: { param: "lr.input", scale: "log", range: [-1, 2], points: nx },
      y: { param: "lr.output", scale: "log", range: [-1, 2], points: ny } },
    criterion: { window: 10 }, ...extra,
  });
}

/** A deterministic value for (cell, field): distinct per cell so misplaced writes show. */
export function valueOf(cell: number, field: string): number {
  return field === "score" ? (cell % 3 === 0 ? -1 : 1) * (cell * 1.25 + 0.1) : Math.sqrt(cell + 1) + field.length;
}

export function tile(seq: number, sweep: string, cells: number[], curves = false): TileEvent {
  const K = cells.length, P = 4;
  const f64 = (field: string) => encodeArray(Float64Array.from(cells, (c) => valueOf(c, field)), "<f8");
  return {
    seq, type: "tile", sweep, level: 0, count: K,
    fields: {
      cell: encodeCells(cells),
      trainable: encodeArray(Uint8Array.from(cells, (c) => (c % 3 === 0 ? 1 : 0)), "|u1"),
      stable: encodeArray(Uint8Array.from(cells, (c) => (c % 5 === 0 ? 0 : 1)), "|u1"),
      score: f64("score"), first_loss: f64("first_loss"), final_loss: f64("final_loss"),
      divergence_step: encodeArray(Int32Array.from(cells, (c) => (c % 3 === 0 ? -1 : c % 50)), "<i4"),
    },
    curves: curves ? {
      points: P,
      step: encodeArray(Int32Array.from([0, 1, 2, 3]), "<i4", [P]),
      loss: encodeArray(Float32Array.from({ length: K * P }, (_, i) => cells[Math.floor(i / P)] + (i % P) / 10), "<f4", [K, P]),
      grad_norm: encodeArray(Float32Array.from({ length: K * P }, (_, i) => i), "<f4", [K, P]),
    } : null,
  };
}

/** The journal of a sweep of n cells delivered as tiles of `per` cells (in a shuffled but fixed order). */
export function journal(sweep: string, spec: Spec, n: number, per: number, curves = false): JournalEvent[] {
  const order = Array.from({ length: n }, (_, i) => (i * 7919) % n); // 7919 is prime: a permutation when n is not a multiple
  const events: JournalEvent[] = [{ seq: 1, type: "sweep", sweep, spec, env: { torch: "test" }, cells: n }];
  for (let i = 0; i < n; i += per) events.push(tile(events.length + 1, sweep, order.slice(i, i + per), curves));
  events.push({ seq: events.length + 1, type: "done", sweep, status: "completed", error: null });
  return events;
}
