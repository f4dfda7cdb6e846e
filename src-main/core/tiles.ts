// Decoding the agent's tiles (remote-agent/fractal_agent/tiles.py): base64 of little-endian typed arrays with
// numpy dtype strings. A tile is one finished population: per-cell fields of length K and, when recorded,
// curves of shape (K, P) sharing one step axis.

export type Numeric = Float64Array | Float32Array | Int32Array | Uint8Array | Int16Array | Uint16Array | Uint32Array | Int8Array;

export interface EncodedArray { dtype: string; data: string; shape?: number[] }

export interface TileEvent {
  seq: number;
  type: "tile";
  sweep: string;
  level: number;
  count: number;
  fields: Record<string, EncodedArray>;
  curves: null | { points: number; step: EncodedArray; loss: EncodedArray; grad_norm: EncodedArray };
}

export interface DecodedTile {
  count: number;
  /** Cell indices (row-major), as doubles: exact for every map up to 8192^2. */
  cells: Float64Array;
  /** Per-cell fields other than `cell`, each of length `count`. */
  fields: Record<string, Numeric>;
  curves: null | { points: number; step: Int32Array; loss: Float32Array; gradNorm: Float32Array };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!LITTLE_ENDIAN) throw new Error("fractal-llm reads little-endian tiles into typed arrays and needs a little-endian host");

/** Aligned copy of the decoded bytes (Buffer.from may hand back a view into a shared, unaligned pool). */
function bytesOf(b64: string, itemSize: number, name: string): ArrayBuffer {
  const buf = Buffer.from(b64, "base64");
  if (buf.length % itemSize) throw new Error(`tile array ${name}: ${buf.length} bytes is not a multiple of ${itemSize}`);
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
}

/** Decode one array; int64 is converted to float64 (exact below 2^53), which every consumer here accepts. */
export function decodeArray(a: EncodedArray, name = "array"): Numeric {
  switch (a.dtype) {
    case "<f8": return new Float64Array(bytesOf(a.data, 8, name));
    case "<f4": return new Float32Array(bytesOf(a.data, 4, name));
    case "<i4": return new Int32Array(bytesOf(a.data, 4, name));
    case "<u4": return new Uint32Array(bytesOf(a.data, 4, name));
    case "<i2": return new Int16Array(bytesOf(a.data, 2, name));
    case "<u2": return new Uint16Array(bytesOf(a.data, 2, name));
    case "|u1": case "|b1": return new Uint8Array(bytesOf(a.data, 1, name));
    case "|i1": return new Int8Array(bytesOf(a.data, 1, name));
    case "<i8": {
      const words = new Int32Array(bytesOf(a.data, 8, name));
      const out = new Float64Array(words.length / 2);
      for (let i = 0; i < out.length; i++) out[i] = words[2 * i + 1] * 4294967296 + (words[2 * i] >>> 0);
      return out;
    }
    default:
      throw new Error(`tile array ${name}: unsupported dtype ${JSON.stringify(a.dtype)} (expected <f8, <f4, <i8, <i4, |u1, ...)`);
  }
}

export function decodeTile(ev: TileEvent): DecodedTile {
  const count = ev.count;
  if (!ev.fields?.cell) throw new Error(`tile seq ${ev.seq}: no "cell" field`);
  const cellsRaw = decodeArray(ev.fields.cell, "cell");
  const cells = cellsRaw instanceof Float64Array ? cellsRaw : Float64Array.from(cellsRaw);
  if (cells.length !== count) throw new Error(`tile seq ${ev.seq}: ${cells.length} cells, count says ${count}`);
  const fields: Record<string, Numeric> = {};
  for (const [name, enc] of Object.entries(ev.fields)) {
    if (name === "cell") continue;
    const a = decodeArray(enc, name);
    if (a.length !== count) throw new Error(`tile seq ${ev.seq}: field ${name} has ${a.length} values, count says ${count}`);
    fields[name] = a;
  }
  let curves: DecodedTile["curves"] = null;
  if (ev.curves) {
    const P = ev.curves.points;
    const step = Int32Array.from(decodeArray(ev.curves.step, "curves.step"));
    const loss = Float32Array.from(decodeArray(ev.curves.loss, "curves.loss"));
    const gradNorm = Float32Array.from(decodeArray(ev.curves.grad_norm, "curves.grad_norm"));
    if (step.length !== P || loss.length !== count * P || gradNorm.length !== count * P) {
      throw new Error(`tile seq ${ev.seq}: curves do not have shape (${count}, ${P})`);
    }
    curves = { points: P, step, loss, gradNorm };
  }
  return { count, cells, fields, curves };
}

/** Encode a typed array as the agent does (tests and benchmarks build tiles with it). */
export function encodeArray(a: Numeric, dtype: string, shape?: number[]): EncodedArray {
  const out: EncodedArray = { dtype, data: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64") };
  if (shape) out.shape = shape;
  return out;
}

/** Encode cell indices as <i8 (how the agent sends them). */
export function encodeCells(cells: ArrayLike<number>): EncodedArray {
  const words = new Int32Array(cells.length * 2);
  for (let i = 0; i < cells.length; i++) {
    words[2 * i] = cells[i] % 4294967296;
    words[2 * i + 1] = Math.floor(cells[i] / 4294967296);
  }
  return encodeArray(words, "<i8");
}
