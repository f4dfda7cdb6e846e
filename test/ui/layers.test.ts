import { describe, expect, it } from "vitest";
import { rankEqualise } from "../../src-main/analysis/colour";
import { NOT_DONE, NON_FINITE } from "../../src-shared/contract";
import { buildLayer, rankLayer } from "../../src-main/api/layers";
import { decodeMessage, encodeMessage } from "../../src-main/api/wire";

describe("layers", () => {
  it("ranks scores exactly as analysis/colour.ts rankEqualise (ties, sign split, not-done cells)", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const n = 5000;
    const score = new Float64Array(n).map(() => (rnd() < 0.5 ? -1 : 1) * Math.round(rnd() * 300) / 7);
    const done = new Uint8Array(n).map(() => (rnd() < 0.9 ? 1 : 0));
    score[3] = NaN; done[3] = 1;
    const ref = rankEqualise(score, done);
    const got = rankLayer(score, done);
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(ref[i])) expect(got[i]).toBe(NOT_DONE);
      else expect(got[i]).toBeCloseTo(ref[i], 6);
    }
    expect(got.some((v) => v > 0.25 - 1e-7) && got.some((v) => v < -0.25 + 1e-7)).toBe(true);
  });

  it("keeps NaN out of loss layers with sentinels and reports the finite range", () => {
    const l = buildLayer({ sweepId: "s", layer: "finalLoss", nx: 2, ny: 2, field: new Float64Array([1, 100, Infinity, NaN]), done: new Uint8Array([1, 1, 1, 0]) });
    expect(Array.from(l.values)).toEqual([0, 2, NON_FINITE, NOT_DONE]);
    expect([l.lo, l.hi, l.doneCells, l.kind]).toEqual([0, 2, 3, "log"]);
  });
});

describe("wire", () => {
  it("round-trips typed arrays inside JSON, aligned", () => {
    const msg = { id: 3, result: { a: new Float32Array([1.5, NaN, -2]), b: [new Uint8Array([1, 2, 3]), new Float64Array([Math.PI])], s: "x" } };
    const back = decodeMessage(new Uint8Array(encodeMessage(msg))) as typeof msg;
    expect(back.id).toBe(3);
    expect(back.result.a).toBeInstanceOf(Float32Array);
    expect(Array.from(back.result.a)).toEqual([1.5, NaN, -2]);
    expect(Array.from(back.result.b[0] as Uint8Array)).toEqual([1, 2, 3]);
    expect((back.result.b[1] as Float64Array)[0]).toBe(Math.PI);
    expect(back.result.s).toBe("x");
    // a view into a larger buffer at an odd offset (as Node's ws hands out Buffers from its pool)
    const enc = new Uint8Array(encodeMessage(msg));
    const pool = new Uint8Array(enc.length + 13);
    pool.set(enc, 5);
    const again = decodeMessage(pool.subarray(5, 5 + enc.length)) as typeof msg;
    expect(Array.from(again.result.a)).toEqual([1.5, NaN, -2]);
  });
});
