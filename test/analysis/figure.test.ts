import { describe, expect, it } from "vitest";
import { YES, NO } from "../../src-main/analysis/colour";
import { axisTicks, renderFigure } from "../../src-main/analysis/figure";
import { fontCharacters, glyph, textWidth } from "../../src-main/analysis/font";
import { decodePngRgba, encodePng } from "../../src-main/analysis/png";
import { axis, syntheticMap } from "./synthetic";

describe("axis ticks", () => {
  it("whole decades on a log axis, labelled in hyperparameter units", () => {
    expect(axisTicks(axis("lr", -5, 0)).map((t) => t.label)).toEqual(["1e-5", "1e-4", "0.001", "0.01", "0.1", "1"]);
    expect(axisTicks(axis("w", 0, 1, "linear")).map((t) => t.u)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1]);
  });

  it("a deep zoom gets enough digits to tell ticks apart", () => {
    const ticks = axisTicks(axis("lr", -2.000001, -2.0000005));
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ticks.map((t) => t.label)).size).toBe(ticks.length);
    for (const t of ticks) expect(Math.abs(Number(t.label) - 10 ** t.u) / 10 ** t.u).toBeLessThan(1e-7);
  });
});

describe("font", () => {
  it("every glyph is 5x7 and unknown characters fail loudly", () => {
    for (const c of fontCharacters()) {
      expect(glyph(c), c).toHaveLength(7);
      for (const row of glyph(c)) expect(row, c).toHaveLength(5);
    }
    expect(glyph("e")).toBe(glyph("E"));
    expect(() => glyph("€")).toThrow(/no glyph for "€"/);
    expect(textWidth("ab", 2)).toBe(22);
  });
});

describe("figure", () => {
  const map = syntheticMap(32, 16, axis("lr", -4, 0), axis("dataset_size", 1, 3), (x) => x < -2);

  it("draws each cell at its place (y up), survives a PNG round trip, and has axes and a legend", () => {
    const fig = renderFigure(map, "trainable", { size: 256, title: "lr sweep" });
    const { x, y, w, h } = fig.plot;
    expect([w, h]).toEqual([256, 128]);
    const png = decodePngRgba(encodePng(fig.image));
    expect([png.width, png.height]).toEqual([fig.image.width, fig.image.height]);
    const at = (px: number, py: number) => Array.from(png.data.subarray((py * png.width + px) * 4, (py * png.width + px) * 4 + 4));
    const cell = (ix: number, iy: number) => at(x + ix * 8 + 4, y + (map.ny - 1 - iy) * 8 + 4);
    expect(cell(0, 0)).toEqual([...YES, 255]); // bottom-left trains
    expect(cell(31, 15)).toEqual([...NO, 255]); // top-right does not
    expect(cell(15, 3)).toEqual([...YES, 255]); // x centre -2.0625 < -2
    expect(cell(16, 3)).toEqual([...NO, 255]);
    // Ink in the left margin (y tick labels), below the plot (x ticks and label), and right (legend).
    const inkIn = (x0: number, y0: number, x1: number, y1: number) => {
      for (let j = y0; j < y1; j++) for (let i = x0; i < x1; i++) if (at(i, j)[0] < 100 && at(i, j)[1] < 100 && at(i, j)[2] < 100) return true;
      return false;
    };
    expect(inkIn(0, y, x - 2, y + h)).toBe(true);
    expect(inkIn(x, y + h + 2, x + w, png.height)).toBe(true);
    expect(inkIn(x + w + 2, y, png.width, y + h)).toBe(true);
    // The legend's swatch for "trainable" sits right of the plot.
    let found = false;
    for (let j = y; j < y + h && !found; j++) for (let i = x + w + 2; i < png.width; i++) if (at(i, j).join() === [...YES, 255].join()) found = true;
    expect(found).toBe(true);
  });

  it("draws overlays in axis units, clipped to the plot", () => {
    const fig = renderFigure(map, "trainable", { size: 256, overlays: [{ points: [[-3, 1], [-3, 3]], rgb: [0, 0, 0], thickness: 1 }, { points: [[-9, 2], [9, 2]], rgb: [255, 0, 255] }] });
    const { x, y, w, h } = fig.plot;
    expect(fig.image.get(x + 64, y + 100)).toEqual([0, 0, 0]); // x = -3 is a quarter of the way
    expect(fig.image.get(x + 200, y + 64)).toEqual([255, 0, 255]); // y = 2 is half way up
    expect(fig.image.get(x - 5, y + 64)).not.toEqual([255, 0, 255]); // clipped outside the plot
    expect(fig.image.get(x + w + 3, y + h / 2)).not.toEqual([255, 0, 255]);
  });
});

describe("axis ticks on zoomed log axes", () => {
  it("one decade gets 1-2-5 ticks; a fraction of a decade gets evenly spaced values", () => {
    expect(axisTicks(axis("lr", -3, -2)).map((t) => t.label)).toEqual(["0.001", "0.002", "0.005", "0.01"]);
    const narrow = axisTicks(axis("lr", Math.log10(0.0031), Math.log10(0.0039)));
    expect(narrow.map((t) => t.label)).toEqual(["0.0032", "0.0034", "0.0036", "0.0038"]);
    for (const t of narrow) expect(10 ** t.u).toBeCloseTo(Number(t.label), 12);
  });
});
