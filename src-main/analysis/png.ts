/**
 * Minimal PNG codec on node:zlib. The encoder writes 8-bit RGBA; the decoder reads 8-bit
 * gray / gray+alpha / RGB / RGBA, non-interlaced (what mask files and our own exports use).
 */
import { deflateSync, inflateSync } from "node:zlib";

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA, row-major from the top row, length width*height*4. */
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && SIGNATURE.equals(Buffer.from(bytes.buffer, bytes.byteOffset, 8));
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  out.set(data, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export function encodePng(img: RgbaImage): Buffer {
  const { width, height, data } = img;
  if (data.length !== width * height * 4) throw new Error(`RGBA data has ${data.length} bytes, expected ${width}x${height}x4`);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  // compression, filter method and interlace all 0
  const stride = width * 4;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    // Filter "Sub" on every row: maps of flat colour compress far better than unfiltered.
    const o = y * (stride + 1);
    raw[o] = 1;
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = (data[y * stride + i] - (i >= 4 ? data[y * stride + i - 4] : 0)) & 0xff;
  }
  return Buffer.concat([SIGNATURE, chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", new Uint8Array(0))]);
}

export interface DecodedPng {
  width: number;
  height: number;
  /** Samples per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** Unfiltered samples, row-major from the top row. */
  data: Uint8Array;
}

const CHANNELS: Record<number, 1 | 2 | 3 | 4> = { 0: 1, 4: 2, 2: 3, 6: 4 };
const COLOUR_TYPE_NAMES: Record<number, string> = { 0: "gray", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA" };

export function decodePng(bytes: Uint8Array, name = "PNG"): DecodedPng {
  if (!isPng(bytes)) throw new Error(`${name} is not a PNG file (bad signature)`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let pos = 8;
  let header: { width: number; height: number; depth: number; colour: number; interlace: number } | null = null;
  const idat: Buffer[] = [];
  let ended = false;
  while (pos < buf.length && !ended) {
    if (pos + 12 > buf.length) throw new Error(`${name} is truncated inside a chunk header at byte ${pos}`);
    const len = buf.readUInt32BE(pos);
    const type = buf.toString("latin1", pos + 4, pos + 8);
    if (pos + 12 + len > buf.length) throw new Error(`${name} is truncated: chunk ${type} needs ${len} bytes`);
    const body = buf.subarray(pos + 8, pos + 8 + len);
    if (crc32(buf.subarray(pos + 4, pos + 8 + len)) !== buf.readUInt32BE(pos + 8 + len)) {
      throw new Error(`${name} is corrupt: CRC mismatch in chunk ${type}`);
    }
    if (type === "IHDR") {
      header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), depth: body[8], colour: body[9], interlace: body[12] };
    } else if (type === "IDAT") idat.push(body);
    else if (type === "IEND") ended = true;
    pos += 12 + len;
  }
  if (!header) throw new Error(`${name} has no IHDR chunk`);
  const { width, height, depth, colour, interlace } = header;
  const channels = CHANNELS[colour];
  if (depth !== 8 || channels === undefined) {
    const kind = COLOUR_TYPE_NAMES[colour] ?? `colour type ${colour}`;
    throw new Error(`${name} is ${depth}-bit ${kind}; supported: 8-bit gray, gray+alpha, RGB or RGBA — re-save it as 8-bit RGB`);
  }
  if (interlace !== 0) throw new Error(`${name} is interlaced (Adam7); re-save it without interlacing`);
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length !== (stride + 1) * height) {
    throw new Error(`${name} image data has ${raw.length} bytes, expected ${(stride + 1) * height} for ${width}x${height}`);
  }
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? out[dst + i - channels] : 0;
      const b = y > 0 ? out[dst - stride + i] : 0;
      const c = y > 0 && i >= channels ? out[dst - stride + i - channels] : 0;
      const x = raw[src + i];
      let v: number;
      switch (filter) {
        case 0: v = x; break;
        case 1: v = x + a; break;
        case 2: v = x + b; break;
        case 3: v = x + ((a + b) >> 1); break;
        case 4: {
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          v = x + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
          break;
        }
        default:
          throw new Error(`${name} row ${y} has unknown filter type ${filter}`);
      }
      out[dst + i] = v & 0xff;
    }
  }
  return { width, height, channels, data: out };
}

/** Decode to RGBA regardless of the stored colour type. */
export function decodePngRgba(bytes: Uint8Array, name = "PNG"): RgbaImage {
  const p = decodePng(bytes, name);
  const n = p.width * p.height;
  const data = new Uint8Array(n * 4);
  const c = p.channels;
  for (let i = 0; i < n; i++) {
    const s = i * c;
    const o = i * 4;
    const grey = c < 3;
    data[o] = p.data[s];
    data[o + 1] = grey ? p.data[s] : p.data[s + 1];
    data[o + 2] = grey ? p.data[s] : p.data[s + 2];
    data[o + 3] = c === 4 ? p.data[s + 3] : c === 2 ? p.data[s + 1] : 255;
  }
  return { width: p.width, height: p.height, data };
}
