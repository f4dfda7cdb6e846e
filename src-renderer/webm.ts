// A WebM file from encoded VP8 frames: the few Matroska elements a player needs (EBML header, Info with the
// duration, one video track, clusters of SimpleBlocks, Cues for seeking). The zoom video (record.ts) encodes each
// frame with WebCodecs at its own timestamp, so no frame depends on how fast this computer encodes in real time;
// this writes them out. Pure (no DOM), so it is tested on its own.

/** One encoded frame: its bytes, when it shows (microseconds from the start), and whether it is a key frame. */
export interface EncodedFrame { data: Uint8Array; timestampUs: number; key: boolean }

/** Matroska element ids (the Matroska / WebM specifications' names). */
const ID = {
  EBML: 0x1a45dfa3, EBMLVersion: 0x4286, EBMLReadVersion: 0x42f7, EBMLMaxIDLength: 0x42f2, EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282, DocTypeVersion: 0x4287, DocTypeReadVersion: 0x4285,
  Segment: 0x18538067, Info: 0x1549a966, TimecodeScale: 0x2ad7b1, Duration: 0x4489, MuxingApp: 0x4d80, WritingApp: 0x5741,
  Tracks: 0x1654ae6b, TrackEntry: 0xae, TrackNumber: 0xd7, TrackUID: 0x73c5, TrackType: 0x83, CodecID: 0x86,
  Video: 0xe0, PixelWidth: 0xb0, PixelHeight: 0xba,
  Cluster: 0x1f43b675, Timecode: 0xe7, SimpleBlock: 0xa3,
  Cues: 0x1c53bb6b, CuePoint: 0xbb, CueTime: 0xb3, CueTrackPositions: 0xb7, CueTrack: 0xf7, CueClusterPosition: 0xf1,
} as const;

/** Timestamps in milliseconds (TimecodeScale 1e6 ns). */
const TIMECODE_SCALE = 1_000_000;

function idBytes(id: number): number[] {
  const out: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return out;
}

/** An element's size as an 8-byte EBML variable-length integer (always 8 bytes: simple, and valid for any size). */
function sizeBytes(n: number): number[] {
  const out = [0x01];
  for (let i = 6; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function element(id: number, body: Uint8Array | Uint8Array[]): Uint8Array {
  const b = Array.isArray(body) ? concat(body) : body;
  return concat([Uint8Array.from([...idBytes(id), ...sizeBytes(b.length)]), b]);
}

function uint(id: number, v: number): Uint8Array {
  const bytes: number[] = [];
  for (let x = v; x > 0 || bytes.length === 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return element(id, Uint8Array.from(bytes));
}

function float64(id: number, v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v);
  return element(id, b);
}

function text(id: number, s: string): Uint8Array {
  return element(id, new TextEncoder().encode(s));
}

/** A SimpleBlock of track 1 at `relMs` after its cluster's timecode. */
function simpleBlock(f: EncodedFrame, relMs: number): Uint8Array {
  const head = new Uint8Array(4);
  head[0] = 0x81; // track number 1 as a 1-byte variable-length integer
  new DataView(head.buffer).setInt16(1, relMs);
  head[3] = f.key ? 0x80 : 0x00;
  return element(ID.SimpleBlock, [head, f.data]);
}

/**
 * A WebM video of VP8 `frames` (in display order, the first a key frame) of `width` x `height` pixels, lasting until
 * `durationUs`. A cluster starts at every key frame (and at least every 30 s, the reach of a block's 16-bit offset).
 */
export function webmFile(frames: EncodedFrame[], width: number, height: number, durationUs: number): Uint8Array<ArrayBuffer> {
  if (!frames.length || !frames[0].key) throw new Error("a WebM video needs frames, the first of them a key frame");
  const ms = (us: number) => Math.round(us / 1000);
  const header = element(ID.EBML, [
    uint(ID.EBMLVersion, 1), uint(ID.EBMLReadVersion, 1), uint(ID.EBMLMaxIDLength, 4), uint(ID.EBMLMaxSizeLength, 8),
    text(ID.DocType, "webm"), uint(ID.DocTypeVersion, 2), uint(ID.DocTypeReadVersion, 2),
  ]);
  const info = element(ID.Info, [
    uint(ID.TimecodeScale, TIMECODE_SCALE), float64(ID.Duration, durationUs / 1000),
    text(ID.MuxingApp, "fractal-llm webm.ts"), text(ID.WritingApp, "Fractal LLM Explorer"),
  ]);
  const tracks = element(ID.Tracks, element(ID.TrackEntry, [
    uint(ID.TrackNumber, 1), uint(ID.TrackUID, 1), uint(ID.TrackType, 1), text(ID.CodecID, "V_VP8"),
    element(ID.Video, [uint(ID.PixelWidth, width), uint(ID.PixelHeight, height)]),
  ]));

  // Clusters, each remembered with its start time and position in the segment's body (for the Cues).
  const clusters: Uint8Array[] = [];
  const cues: { timeMs: number; position: number }[] = [];
  let position = info.length + tracks.length;
  let start = 0, blocks: Uint8Array[] = [], startMs = 0;
  const close = () => {
    if (!blocks.length) return;
    const c = element(ID.Cluster, [uint(ID.Timecode, startMs), ...blocks]);
    cues.push({ timeMs: startMs, position });
    position += c.length;
    clusters.push(c);
    blocks = [];
  };
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i], t = ms(f.timestampUs);
    if (i === 0 || (f.key && i > start) || t - startMs > 30_000) {
      close();
      start = i;
      startMs = t;
    }
    blocks.push(simpleBlock(f, t - startMs));
  }
  close();
  const cueElement = element(ID.Cues, cues.map((c) => element(ID.CuePoint, [
    uint(ID.CueTime, c.timeMs), element(ID.CueTrackPositions, [uint(ID.CueTrack, 1), uint(ID.CueClusterPosition, c.position)]),
  ])));
  return concat([header, element(ID.Segment, [info, tracks, ...clusters, cueElement])]);
}
