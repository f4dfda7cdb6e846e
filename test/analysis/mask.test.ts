import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseMaskCsv, parseMaskPng, sequenceDimension } from "../../src-main/analysis/mask";
import { readMaskFile } from "../../src-main/export/files";
import { countBoundaryBoxes, fractalDimension, logSpacedSizes } from "../../src-main/analysis/dimension";
import { layerMask } from "../../src-main/analysis/map";
import { crc32, encodePng } from "../../src-main/analysis/png";
import { axis, rng, syntheticMap } from "./synthetic";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

describe("mask CSV", () => {
  it("parses rows of 0/1 in file order, tolerating spaces, CRLF and trailing blank lines", () => {
    const m = parseMaskCsv("0,1,1\r\n1, 0 ,0\n\n");
    expect([m.width, m.height]).toEqual([3, 2]);
    expect(Array.from(m.data)).toEqual([0, 1, 1, 1, 0, 0]);
  });

  it("names the line and the problem for ragged rows and non-0/1 values", () => {
    expect(() => parseMaskCsv("0,1,1\n1,0\n", "m.csv")).toThrow(/m.csv line 2 has 2 values but line 1 has 3/);
    expect(() => parseMaskCsv("0,1\n1,2\n", "m.csv")).toThrow(/line 2, column 2: "2" is not 0 or 1/);
    expect(() => parseMaskCsv("0,1\n\n1,0\n")).toThrow(/line 2 has 1 values/);
    expect(() => parseMaskCsv("\n\n")).toThrow(/empty/);
  });
});

describe("mask PNG", () => {
  const inDisc = (x: number, y: number) => (x - 10) ** 2 + (y - 6) ** 2 < 25;

  it("thresholds gray and RGB at mid-grey and treats transparent pixels as 0", () => {
    for (const name of ["disc-gray.png", "disc-rgb.png", "disc-rgba.png"]) {
      const m = parseMaskPng(fixture(name), name);
      expect([m.width, m.height]).toEqual([20, 12]);
      for (let y = 0; y < 12; y++) for (let x = 0; x < 20; x++) expect(m.data[y * 20 + x], `${name} (${x},${y})`).toBe(inDisc(x, y) ? 1 : 0);
    }
  });

  it("refuses interlaced and low-bit-depth PNGs naming the fix", () => {
    const png = Buffer.from(encodePng({ width: 2, height: 2, data: new Uint8Array(16).fill(255) }));
    png[8 + 8 + 12] = 1; // IHDR interlace byte
    png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
    expect(() => parseMaskPng(png, "x.png")).toThrow(/x.png is interlaced.*without interlacing/);
    expect(() => parseMaskPng(fixture("onebit.png"))).toThrow(/re-save it as 8-bit/);
  });

  it("readMaskFile picks the format from the content", () => {
    const dir = mkdtempSync(join(tmpdir(), "mask-"));
    writeFileSync(join(dir, "a.csv"), "1,0\n0,1\n");
    writeFileSync(join(dir, "b.png"), fixture("disc-gray.png"));
    writeFileSync(join(dir, "c.png"), "1,0\n");
    expect(Array.from(readMaskFile(join(dir, "a.csv")).data)).toEqual([1, 0, 0, 1]);
    expect(readMaskFile(join(dir, "b.png")).data[6 * 20 + 10]).toBe(1);
    expect(() => readMaskFile(join(dir, "c.png"))).toThrow(/named .png but is not a PNG/);
  });
});

describe("zoom sequence dimension", () => {
  const lineTrains = (x: number, y: number) => y < 0.2 + 0.7 * x;
  const windows: [number, number, number, number][] = [
    [0, 1, 0, 1],
    [0.4, 0.6, 0.4, 0.6],
    [0.45, 0.5, 0.5, 0.55],
  ];

  it("a straight boundary measures ≈ 1 at every level and pooled", () => {
    const maps = windows.map(([x0, x1, y0, y1]) => syntheticMap(256, 256, axis("a", x0, x1, "linear"), axis("b", y0, y1, "linear"), lineTrains));
    const seq = sequenceDimension(maps);
    expect(seq.levels).toHaveLength(3);
    for (const l of seq.levels) expect(l.estimate.dimension).toBeCloseTo(1, 0);
    expect(Math.abs(seq.pooled - 1)).toBeLessThan(0.1);
    expect(seq.dimension).toBe(seq.pooled);
    expect(Math.abs(seq.pooledLeastSquares - 1)).toBeLessThan(0.1);
  });

  it("independent random cells measure ≈ 2 pooled (0.15: at 256² the largest boxes lose a partial row)", () => {
    const r = rng(3);
    const maps = windows.map(([x0, x1, y0, y1]) => syntheticMap(256, 256, axis("a", x0, x1, "linear"), axis("b", y0, y1, "linear"), () => r() < 0.5));
    const seq = sequenceDimension(maps);
    expect(Math.abs(seq.pooled - 2)).toBeLessThan(0.15);
    expect(Math.abs(seq.pooledLeastSquares - 2)).toBeLessThan(0.15);
  });

  it("leaves out the box sizes at which a zoom holds no boundary box, instead of failing the sequence", () => {
    const root = syntheticMap(64, 64, axis("a", 0, 1, "linear"), axis("b", 0, 1, "linear"), lineTrains);
    // A zoom whose only boundary (a 5x5 untrainable spot) lies in the far columns that boxes of 8, 11, 13 and 16 drop:
    // boxes tile from the origin and partial ones are not counted, so at those sizes it holds no boundary box.
    const zoom = syntheticMap(64, 64, axis("a", 0.4, 0.6, "linear"), axis("b", 0.4, 0.6, "linear"),
      (_x, _y, ix, iy) => !(ix >= 58 && ix <= 62 && iy >= 10 && iy <= 14));
    const seq = sequenceDimension([root, zoom]);
    expect(seq.levels[0].estimate).toEqual(fractalDimension(layerMask(root, "trainable"))); // a level with boundary everywhere: as before
    expect(seq.levels[0].emptySizes).toBeUndefined();
    expect(seq.levels[1].emptySizes).toEqual([8, 11, 13, 16]);
    const z = seq.levels[1].estimate, all = logSpacedSizes(layerMask(zoom, "trainable"));
    expect(z.sizes).toEqual(all.filter((sz) => ![8, 11, 13, 16].includes(sz)));
    expect(z.counts).toEqual(countBoundaryBoxes(layerMask(zoom, "trainable"), z.sizes));
    expect(z.localSlopes).toHaveLength(z.sizes.length - 1);
    for (const v of z.localSlopes) expect(Number.isFinite(v)).toBe(true);
    const slopes = [...seq.levels[0].estimate.localSlopes, ...z.localSlopes].sort((a, b) => a - b);
    const mid = slopes.length / 2;
    expect(seq.pooled).toBeCloseTo(slopes.length % 2 ? slopes[Math.floor(mid)] : (slopes[mid - 1] + slopes[mid]) / 2, 12);
    // Nothing to measure at two sizes anywhere: named, not NaN.
    const flat = syntheticMap(64, 64, axis("a", 0, 1, "linear"), axis("b", 0, 1, "linear"), () => true);
    expect(() => sequenceDimension([flat])).toThrow(/no level of the sequence has boundary boxes at two box sizes/);
  });

  it("refuses a sequence that is not nested or changes params, and a partial map", () => {
    const a = syntheticMap(64, 64, axis("lr", 0, 1), axis("size", 0, 1), lineTrains);
    const outside = syntheticMap(64, 64, axis("lr", 0.5, 1.5), axis("size", 0, 1), lineTrains);
    const other = syntheticMap(64, 64, axis("wd", 0, 1), axis("size", 0, 1), lineTrains);
    expect(() => sequenceDimension([a, outside])).toThrow(/level 1 x range \[0.5, 1.5\] is not inside/);
    expect(() => sequenceDimension([a, other])).toThrow(/sweeps x = wd/);
    const partial = { ...a, done: new Uint8Array(64 * 64).fill(1) };
    partial.done[5] = 0;
    expect(() => sequenceDimension([partial])).toThrow(/incomplete \(4095 of 4096 cells done\)/);
  });
});
