// Block codec: lossless for every dtype (NaN payloads and infinities included); float32 rounding keeps its bound.
import { describe, expect, it } from "vitest";
import { decodeBlock, encodeBlock, roundFloat32, FLOAT32_KEEP_BITS } from "../../src-main/core/codec";

const special = [NaN, Infinity, -Infinity, 0, -0, 5e-324, 1.7976931348623157e308, -1e-310];

describe("block codec", () => {
  it("round-trips f8, f4, i4 and u1 bit for bit", () => {
    const n = 5003;
    const f8 = Float64Array.from({ length: n }, (_, i) => (i < special.length ? special[i] : Math.sin(i) * 10 ** (i % 40 - 20)));
    const f4 = Float32Array.from(f8);
    const i4 = Int32Array.from({ length: n }, (_, i) => (i * 2654435761) | 0);
    const u1 = Uint8Array.from({ length: n }, (_, i) => (i * 7) & 255);
    for (const [a, dt] of [[f8, "f8"], [f4, "f4"], [i4, "i4"], [u1, "u1"]] as const) {
      const back = decodeBlock(encodeBlock(a, dt), dt, n);
      expect(back.constructor).toBe(a.constructor);
      expect(Buffer.from(back.buffer, back.byteOffset, back.byteLength).equals(Buffer.from(a.buffer))).toBe(true);
    }
    // Decoding into a larger array at an offset writes exactly that window.
    const into = new Float64Array(n + 10).fill(7);
    decodeBlock(encodeBlock(f8, "f8"), "f8", n, into, 10);
    expect(Array.from(into.subarray(0, 10))).toEqual(Array(10).fill(7));
    expect(Object.is(into[10], NaN)).toBe(true);
    expect(into[10 + 100]).toBe(f8[100]);
  });

  it("stores a constant field in under 1 KB per block and refuses a block of the wrong dtype", () => {
    const flat = new Float64Array(16384).fill(0.0123);
    expect(encodeBlock(flat, "f8").length).toBeLessThan(1024); // of 131072 raw bytes
    expect(() => decodeBlock(encodeBlock(flat, "f8"), "f4", 16384)).toThrow(/byte planes, expected 4/);
  });

  it("rounds float32 to the kept mantissa bits, leaving NaN and infinities alone", () => {
    const v = Float32Array.from({ length: 10000 }, (_, i) => Math.exp(Math.sin(i) * 30));
    const r = Float32Array.from(v);
    roundFloat32(r);
    for (let i = 0; i < v.length; i++) expect(Math.abs(r[i] - v[i]) / v[i]).toBeLessThanOrEqual(2 ** -(FLOAT32_KEEP_BITS + 1));
    const words = new Uint32Array(r.buffer);
    expect(words.every((w) => (w & 0xff) === 0)).toBe(true);
    const s = Float32Array.from([NaN, Infinity, -Infinity]);
    roundFloat32(s);
    expect([Number.isNaN(s[0]), s[1], s[2]]).toEqual([true, Infinity, -Infinity]);
  });
});
