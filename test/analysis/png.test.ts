import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { crc32, decodePng, decodePngRgba, encodePng } from "../../src-main/analysis/png";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe("png codec", () => {
  it("crc32 matches the standard check value", () => {
    expect(crc32(Buffer.from("123456789"))).toBe(0xcbf43926);
  });

  it("round-trips RGBA through our own decoder", () => {
    const width = 7;
    const height = 5;
    const data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) data.set([(i * 37) & 255, (i * 11) & 255, 255 - i, i % 2 ? 255 : 128], i * 4);
    const png = encodePng({ width, height, data });
    const back = decodePng(png);
    expect([back.width, back.height, back.channels]).toEqual([width, height, 4]);
    expect(Buffer.from(back.data).equals(Buffer.from(data))).toBe(true);
  });

  it("reads PNGs written by another encoder (PIL, adaptive filters): gray, RGB, RGBA", () => {
    const inDisc = (x: number, y: number) => (x - 10) ** 2 + (y - 6) ** 2 < 25;
    const gray = decodePng(fixture("disc-gray.png"));
    expect([gray.width, gray.height, gray.channels]).toEqual([20, 12, 1]);
    for (const [x, y] of [[0, 0], [10, 6], [3, 2], [12, 7], [19, 11]]) {
      const expected = (x + y) % 3 ? (inDisc(x, y) ? 255 : 0) : inDisc(x, y) ? 200 : 60;
      expect(gray.data[y * 20 + x]).toBe(expected);
    }
    const rgb = decodePngRgba(fixture("disc-rgb.png"));
    const p = (img: { data: Uint8Array }, x: number, y: number) => Array.from(img.data.subarray((y * 20 + x) * 4, (y * 20 + x) * 4 + 4));
    expect(p(rgb, 10, 6)).toEqual([255, 127 + 50, 200, 255]);
    expect(p(rgb, 1, 1)).toEqual([0, 5, 255, 255]);
    const rgba = decodePngRgba(fixture("disc-rgba.png"));
    expect(p(rgba, 10, 6)).toEqual([255, 255, 255, 255]);
    expect(p(rgba, 0, 0)).toEqual([255, 255, 255, 0]);
  });

  it("rejects corrupt and unsupported files with a reason", () => {
    const png = encodePng({ width: 2, height: 2, data: new Uint8Array(16) });
    const corrupt = Buffer.from(png);
    corrupt[40] ^= 0xff;
    expect(() => decodePng(corrupt)).toThrow(/CRC mismatch/);
    expect(() => decodePng(Buffer.from("hello, not a png"))).toThrow(/not a PNG/);
    expect(() => decodePng(fixture("onebit.png"))).toThrow(/1-bit gray; supported: 8-bit/);
  });
});
