// webm.ts's file read back element by element (the e2e test in start-and-state.test.ts decodes one in Chromium): the
// EBML header, the duration, one VP8 track, a cluster per key frame with each frame's time, and Cues that point at
// the clusters.
import { describe, expect, it } from "vitest";
import { webmFile } from "../../src-renderer/webm";

interface El { id: number; start: number; body: Uint8Array }

/** The elements one after another in `b` (ids as numbers, sizes read as EBML variable-length integers). */
function elements(b: Uint8Array): El[] {
  const out: El[] = [];
  let o = 0;
  const vint = (keepMarker: boolean) => {
    const first = b[o];
    let len = 1;
    while (!(first & (0x80 >> (len - 1)))) len++;
    let v = keepMarker ? first : first & (0xff >> len);
    for (let i = 1; i < len; i++) v = v * 256 + b[o + i];
    o += len;
    return v;
  };
  while (o < b.length) {
    const start = o;
    const id = vint(true), size = vint(false);
    out.push({ id, start, body: b.subarray(o, o + size) });
    o += size;
  }
  return out;
}
const uint = (b: Uint8Array) => b.reduce((v, x) => v * 256 + x, 0);
const child = (els: El[], id: number) => els.find((e) => e.id === id)!;

describe("webmFile", () => {
  const frame = (k: number, key: boolean) => ({ data: Uint8Array.from([k, k, k]), timestampUs: k * 33_333, key });
  const frames = Array.from({ length: 65 }, (_, k) => frame(k, k % 30 === 0));
  const file = webmFile(frames, 640, 480, 65 * 33_333);

  it("writes an EBML header for webm and a segment with the duration and one VP8 track", () => {
    const [ebml, segment] = elements(file);
    expect(ebml.id).toBe(0x1a45dfa3);
    expect(new TextDecoder().decode(child(elements(ebml.body), 0x4282).body)).toBe("webm");
    expect(segment.id).toBe(0x18538067);
    const parts = elements(segment.body);
    const info = elements(child(parts, 0x1549a966).body);
    expect(new DataView(child(info, 0x4489).body.slice().buffer).getFloat64(0)).toBeCloseTo(65 * 33.333, 3);
    const track = elements(child(elements(child(parts, 0x1654ae6b).body), 0xae).body);
    expect(new TextDecoder().decode(child(track, 0x86).body)).toBe("V_VP8");
    const video = elements(child(track, 0xe0).body);
    expect([uint(child(video, 0xb0).body), uint(child(video, 0xba).body)]).toEqual([640, 480]);
  });

  it("starts a cluster at each key frame, keeps every frame at its time, and points the Cues at the clusters", () => {
    const segment = elements(file)[1];
    const parts = elements(segment.body);
    const clusters = parts.filter((e) => e.id === 0x1f43b675);
    expect(clusters).toHaveLength(3); // key frames 0, 30, 60
    const seen: number[] = [];
    for (const c of clusters) {
      const els = elements(c.body);
      const t0 = uint(child(els, 0xe7).body);
      for (const blk of els.filter((e) => e.id === 0xa3)) {
        const rel = new DataView(blk.body.slice(1, 3).buffer).getInt16(0);
        const k = blk.body[4];
        expect(t0 + rel).toBe(Math.round((k * 33_333) / 1000));
        expect(Boolean(blk.body[3] & 0x80)).toBe(k % 30 === 0);
        seen.push(k);
      }
    }
    expect(seen).toEqual(frames.map((_, k) => k));
    const cues = elements(child(parts, 0x1c53bb6b).body).map((p) => elements(p.body));
    expect(cues.map((p) => uint(child(p, 0xb3).body))).toEqual([0, 1000, 2000]);
    // Cluster positions are offsets in the segment's body.
    expect(cues.map((p) => uint(child(elements(child(p, 0xb7).body), 0xf1).body))).toEqual(clusters.map((c) => c.start));
  });

  it("refuses frames that do not start with a key frame", () => {
    expect(() => webmFile([frame(0, false)], 2, 2, 33_333)).toThrow(/first of them a key frame/);
  });
});
