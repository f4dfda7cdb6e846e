// Binary framing of API messages for the WebSocket transport: JSON with typed arrays lifted out into one
// binary frame, so a 4096^2 float layer travels as 64 MB of floats, not as JSON numbers. Pure (no Node or DOM
// APIs beyond TextEncoder), used by the server and by the renderer (src-shared: imports nothing outside it).
//
// Frame: u32 little-endian header length | header JSON (UTF-8) | zero padding to 8 | array bytes, each
// starting on an 8-byte boundary. In the header, a typed array is {"$typed": kind, "o": offset, "n": length}.

type Typed = Float64Array | Float32Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Uint8Array | Int8Array;

const KINDS = {
  Float64Array, Float32Array, Int32Array, Uint32Array, Int16Array, Uint16Array, Uint8Array, Int8Array,
} as const;
type Kind = keyof typeof KINDS;

const align8 = (n: number) => (n + 7) & ~7;

export function encodeMessage(value: unknown): ArrayBuffer {
  const arrays: Typed[] = [];
  const offsets: number[] = [];
  let size = 0;
  const header = JSON.stringify(value, function (this: unknown, _key, v: unknown) {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const a = v as Typed;
      const kind = a.constructor.name as Kind;
      if (!(kind in KINDS)) throw new Error(`wire: cannot send a ${kind}`);
      arrays.push(a);
      offsets.push(size);
      const o = size;
      size = align8(size + a.byteLength);
      return { $typed: kind, o, n: a.length };
    }
    return v;
  }) ?? "null";
  const head = new TextEncoder().encode(header);
  const base = align8(4 + head.length);
  const out = new Uint8Array(base + size);
  new DataView(out.buffer).setUint32(0, head.length, true);
  out.set(head, 4);
  arrays.forEach((a, k) => out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), base + offsets[k]));
  return out.buffer;
}

export function decodeMessage(buf: ArrayBuffer | Uint8Array): unknown {
  // Copy into a fresh, 8-aligned ArrayBuffer so typed views over it are aligned (Node hands out pooled slices).
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let own: ArrayBuffer;
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) own = bytes.buffer as ArrayBuffer;
  else {
    const copy = new Uint8Array(bytes.byteLength); // not bytes.slice(): on a Node Buffer that is a view, not a copy
    copy.set(bytes);
    own = copy.buffer;
  }
  if (own.byteLength < 4) throw new Error("wire: message shorter than its header length");
  const headLen = new DataView(own).getUint32(0, true);
  if (4 + headLen > own.byteLength) throw new Error("wire: header runs past the end of the message");
  const header = new TextDecoder().decode(new Uint8Array(own, 4, headLen));
  const base = align8(4 + headLen);
  return JSON.parse(header, (_key, v: unknown) => {
    if (v && typeof v === "object" && "$typed" in v) {
      const { $typed, o, n } = v as { $typed: Kind; o: number; n: number };
      const Ctor = KINDS[$typed];
      if (!Ctor) throw new Error(`wire: unknown array kind ${JSON.stringify($typed)}`);
      if (base + o + n * Ctor.BYTES_PER_ELEMENT > own.byteLength) throw new Error("wire: array runs past the end of the message");
      return new Ctor(own, base + o, n);
    }
    return v;
  });
}

/** Request and reply shapes on the socket. */
export type WireRequest = { id: number; method: string; params: unknown[] };
export type WireReply = { id: number; result?: unknown; error?: string } | { event: unknown };
