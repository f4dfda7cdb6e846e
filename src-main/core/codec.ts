// How a block of one field is stored: a typed array, XOR-delta against the previous cell (neighbouring cells of a
// map hold similar numbers, so most high bytes become zero), byte-shuffled (all first bytes, then all second
// bytes, ...) and deflated. Lossless for every dtype.
//
// Precision: sweeps up to LARGE_MAP_CELLS (1024^2) keep the agent's numbers bit for bit. Larger maps (the
// 4096^2 paper frames) store floats as float32 rounded to 15 mantissa bits (relative error <= 1.5e-5, about
// 4.5 significant digits): what fits the 50 MB budget of a 4096^2 map and loads for display in time.
// Integers and flags are always stored as sent. A plane that deflate cannot shrink is stored raw.

import { deflateRawSync, inflateRawSync } from "node:zlib";
import type { Numeric } from "./tiles";

export type BlockDtype = "f8" | "f4" | "i4" | "u1";

export const LARGE_MAP_CELLS = 1024 * 1024;
const DEFLATE_LEVEL = 1; // ingest speed matters more than the last few percent of size

const SIZE: Record<BlockDtype, number> = { f8: 8, f4: 4, i4: 4, u1: 1 };

/** The dtype a field is stored in, from the array the agent sent and the sweep's size. */
export function storedDtype(sent: Numeric, cells: number): BlockDtype {
  if (sent instanceof Float64Array) return cells > LARGE_MAP_CELLS ? "f4" : "f8";
  if (sent instanceof Float32Array) return "f4";
  if (sent instanceof Uint32Array) return "f8"; // does not fit i4
  if (sent instanceof Uint8Array || sent instanceof Int8Array) return "u1";
  return "i4";
}

/** Whether a sweep of `cells` cells stores rounded float32 (see the top of this file). */
export function roundsFloats(cells: number): boolean {
  return cells > LARGE_MAP_CELLS;
}

/**
 * Round float32 values to FLOAT32_KEEP_BITS mantissa bits (round to nearest; NaN and infinities untouched), so
 * the lowest byte plane is all zero and costs nothing on disk. Relative error <= 2^-(bits+1).
 */
export const FLOAT32_KEEP_BITS = 15;
export function roundFloat32(values: Float32Array): void {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const drop = 23 - FLOAT32_KEEP_BITS, half = 1 << (drop - 1), mask = ~((1 << drop) - 1);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if ((w & 0x7f800000) === 0x7f800000) continue;
    words[i] = ((w + half) & mask) >>> 0;
  }
}

// Block layout: [u8 plane count] then per plane [u8 kind, u32le length], then the planes' bytes.
// kind 0: all zero (no bytes), 1: deflated, 2: raw (noise that deflate cannot shrink; also fastest to read).
const ZERO = 0, DEFLATED = 1, RAW = 2;

export function encodeBlock(values: Numeric, dtype: BlockDtype): Buffer {
  const size = SIZE[dtype];
  const n = values.length;
  const planes = new Uint8Array(n * size);
  if (size === 1) {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, n);
    planes[0] = bytes[0];
    for (let i = 1; i < n; i++) planes[i] = bytes[i] ^ bytes[i - 1];
  } else {
    const words = new Uint32Array(values.buffer, values.byteOffset, (n * size) >> 2);
    const w = size >> 2; // 32-bit words per value
    for (let j = 0; j < w; j++) {
      const p0 = (j * 4) * n, p1 = p0 + n, p2 = p1 + n, p3 = p2 + n;
      let prev = 0;
      for (let i = 0; i < n; i++) {
        const cur = words[i * w + j];
        const x = cur ^ prev;
        prev = cur;
        planes[p0 + i] = x;
        planes[p1 + i] = x >>> 8;
        planes[p2 + i] = x >>> 16;
        planes[p3 + i] = x >>> 24;
      }
    }
  }
  const header = Buffer.alloc(1 + 5 * size);
  header[0] = size;
  const parts: Uint8Array[] = [header];
  for (let b = 0; b < size; b++) {
    const plane = planes.subarray(b * n, (b + 1) * n);
    let kind = ZERO, data: Uint8Array = new Uint8Array(0);
    if (plane.some((v) => v !== 0)) {
      const z = deflateRawSync(plane, { level: DEFLATE_LEVEL });
      [kind, data] = z.length < 0.8 * n ? [DEFLATED, z] : [RAW, plane];
    }
    header[1 + 5 * b] = kind;
    header.writeUInt32LE(data.length, 2 + 5 * b);
    parts.push(data);
  }
  return Buffer.concat(parts);
}

interface StoredPlane { kind: number; bytes: Buffer }

function storedPlanes(data: Uint8Array, dtype: BlockDtype): StoredPlane[] {
  const size = SIZE[dtype];
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf[0] !== size) throw new Error(`stored block has ${buf[0]} byte planes, expected ${size} for ${dtype}`);
  const out: StoredPlane[] = [];
  let off = 1 + 5 * size;
  for (let b = 0; b < size; b++) {
    const len = buf.readUInt32LE(2 + 5 * b);
    out.push({ kind: buf[1 + 5 * b], bytes: buf.subarray(off, off + len) });
    off += len;
  }
  return out;
}

/**
 * Decode a block of n values. With `into` (an array of the block's dtype) the values are written there at
 * `offset` (how whole maps are assembled without an extra copy), and `into` is returned.
 */
export function decodeBlock(data: Uint8Array, dtype: BlockDtype, n: number, into?: Numeric, offset = 0): Numeric {
  const planes = storedPlanes(data, dtype).map((p) => (p.kind === ZERO ? null : p.kind === RAW ? p.bytes : inflateRawSync(p.bytes)));
  return assemble(planes, dtype, n, into, offset);
}

function assemble(planes: (Uint8Array | null)[], dtype: BlockDtype, n: number, into: Numeric | undefined, offset: number): Numeric {
  const size = SIZE[dtype];
  planes.forEach((p, b) => {
    if (p && p.length !== n) throw new Error(`stored block plane ${b} has ${p.length} bytes, expected ${n}`);
  });
  const out = into ?? emptyArray(dtype, n);
  if (out.BYTES_PER_ELEMENT !== size) throw new Error(`decodeBlock: target array does not hold ${dtype}`);
  const zero = new Uint8Array(n);
  if (size === 1) {
    const o = new Uint8Array(out.buffer, out.byteOffset + offset, n), p = planes[0] ?? zero;
    let prev = 0;
    for (let i = 0; i < n; i++) prev = o[i] = p[i] ^ prev;
  } else {
    const words = new Uint32Array(out.buffer, out.byteOffset + offset * size, (n * size) >> 2);
    const w = size >> 2;
    for (let j = 0; j < w; j++) {
      const [p0, p1, p2, p3] = [0, 1, 2, 3].map((b) => planes[j * 4 + b] ?? zero);
      let prev = 0;
      if (planes[j * 4] === null) { // the rounded float32 case: lowest plane all zero
        for (let i = 0; i < n; i++) {
          prev ^= (p1[i] << 8) | (p2[i] << 16) | (p3[i] << 24);
          words[i * w + j] = prev;
        }
      } else {
        for (let i = 0; i < n; i++) {
          prev ^= p0[i] | (p1[i] << 8) | (p2[i] << 16) | (p3[i] << 24);
          words[i * w + j] = prev;
        }
      }
    }
  }
  return out;
}

function emptyArray(dtype: BlockDtype, n: number): Numeric {
  switch (dtype) {
    case "f8": return new Float64Array(n);
    case "f4": return new Float32Array(n);
    case "i4": return new Int32Array(n);
    case "u1": return new Uint8Array(n);
  }
}

/** A block before any result: NaN for floats (so a missing value never reads as a real one), 0 otherwise. */
export function emptyBlock(dtype: BlockDtype, n: number): Numeric {
  switch (dtype) {
    case "f8": return new Float64Array(n).fill(NaN);
    case "f4": return new Float32Array(n).fill(NaN);
    case "i4": return new Int32Array(n);
    case "u1": return new Uint8Array(n);
  }
}
