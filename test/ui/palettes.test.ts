// The map's palettes (src-shared/colours.ts): matplotlib's published colours at the ends and in between, lightness
// monotone along the sequential maps, the binary and sentinel colours; the choice as the link and storage spell it
// (src-renderer/palette-choice.ts); a PNG export and the 3-D surface in the chosen palette.
import { describe, expect, it } from "vitest";
import {
  CIVIDIS, DEFAULT_PALETTES, GREYS, MAGMA, MAX_STOPS, NO, NON_FINITE, NOT_DONE, PALETTES, paletteOf, RDBU, type Rgb, sampleColourMap, SPECTRAL,
  VIRIDIS, YES,
} from "../../src-shared/colours";
import { colourLayer } from "../../src-main/analysis/colour";
import { formatPalettes, layerKind, parsePalettes, writePaletteParam } from "../../src-renderer/palette-choice";
import { axis, syntheticMap } from "../analysis/synthetic";
import { checkArgs } from "../../src-main/api/validate";
import type { LayerData } from "../../src-shared/contract";
import { heightField } from "../../src-renderer/surface";

const hex = (c: Rgb) => `#${c.map((x) => x.toString(16).padStart(2, "0")).join("")}`;

/** CIE L* of an sRGB colour (D65): the lightness a reader sees. */
function lightness(c: Rgb): number {
  const lin = c.map((x) => { const v = x / 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
  const y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
  return y > 216 / 24389 ? 116 * Math.cbrt(y) - 16 : (24389 / 27) * y;
}

describe("palette stops (matplotlib's values)", () => {
  it("start and end where matplotlib's maps do", () => {
    const ends: [readonly Rgb[], string, string][] = [
      [SPECTRAL, "#9e0142", "#5e4fa2"], [VIRIDIS, "#440154", "#fde725"], [CIVIDIS, "#00224e", "#fee838"],
      [MAGMA, "#000004", "#fcfdbf"], [RDBU, "#67001f", "#053061"], [GREYS, "#ffffff", "#000000"],
    ];
    for (const [stops, lo, hi] of ends) {
      expect(hex(sampleColourMap(stops, 0))).toBe(lo);
      expect(hex(sampleColourMap(stops, 1))).toBe(hi);
    }
    // RdBu and Spectral are diverging: white-ish and pale yellow at the centre
    expect(hex(sampleColourMap(RDBU, 0.5))).toBe("#f7f7f7");
    expect(hex(sampleColourMap(SPECTRAL, 0.5))).toBe("#ffffbf");
  });

  it("interpolate close to matplotlib's 256-entry lists between the samples", () => {
    // matplotlib's cmap(t) for t between this module's samples (entry floor(256 t), to 8 bits)
    const refs: [readonly Rgb[], number, Rgb][] = [
      [VIRIDIS, 0.13, [71, 46, 124]], [VIRIDIS, 0.37, [45, 113, 142]], [VIRIDIS, 0.62, [38, 173, 129]], [VIRIDIS, 0.88, [176, 221, 47]],
      [CIVIDIS, 0.13, [28, 57, 111]], [CIVIDIS, 0.37, [95, 99, 111]], [CIVIDIS, 0.62, [153, 146, 119]], [CIVIDIS, 0.88, [223, 202, 87]],
      [MAGMA, 0.13, [30, 17, 73]], [MAGMA, 0.37, [128, 37, 130]], [MAGMA, 0.62, [228, 79, 100]], [MAGMA, 0.88, [254, 198, 138]],
    ];
    for (const [stops, t, want] of refs) {
      const got = sampleColourMap(stops, t);
      for (let k = 0; k < 3; k++) expect(Math.abs(got[k] - want[k]), `${hex(want)} at ${t}: got ${hex(got)}`).toBeLessThanOrEqual(4);
    }
  });

  it("grow in lightness all along for viridis, cividis, magma; fall for Greys", () => {
    for (const [stops, sign] of [[VIRIDIS, 1], [CIVIDIS, 1], [MAGMA, 1], [GREYS, -1]] as const) {
      let last = sign * -Infinity;
      for (let i = 0; i <= 200; i++) {
        const l = lightness(sampleColourMap(stops, i / 200));
        // 8-bit rounding of interpolated colours may leave a step flat, never reversed by more than a hair
        if (sign > 0) expect(l).toBeGreaterThan(last - 0.3); else expect(l).toBeLessThan(last + 0.3);
        last = l;
      }
      expect(sign * (lightness(stops[stops.length - 1]) - lightness(stops[0]))).toBeGreaterThan(60);
    }
  });

  it("fit the shader's palette uniform, and the defaults are the paper's", () => {
    for (const p of PALETTES) {
      expect(p.stops.length).toBeGreaterThanOrEqual(9);
      expect(p.stops.length).toBeLessThanOrEqual(MAX_STOPS);
    }
    expect(DEFAULT_PALETTES).toEqual({ rank: "spectral", binary: "spectral", log: "viridis" });
    // Spectral's outcomes are the paper's blue and red; fixed colours stay unless a palette has them in its ramp
    const spectral = paletteOf("spectral");
    expect([spectral.yes, spectral.no, spectral.notDone, spectral.nonFinite]).toEqual([YES, NO, NOT_DONE, NON_FINITE]);
    const greys = paletteOf("greys");
    expect(GREYS).toContainEqual(NOT_DONE); // why Greys shows not-done cells in another colour
    expect(greys.notDone).not.toEqual(NOT_DONE);
    expect(paletteOf("no-such", "log").name).toBe("viridis");
  });
});

describe("the palette choice in links and storage", () => {
  it("spells only the kinds off their default, and reads back what it wrote", () => {
    expect(formatPalettes({ ...DEFAULT_PALETTES })).toBe("");
    const p = { rank: "cividis", binary: "spectral", log: "magma" } as const;
    expect(formatPalettes(p)).toBe("rank.cividis,log.magma");
    expect(parsePalettes(formatPalettes(p))).toEqual({ rank: "cividis", log: "magma" });
    expect(parsePalettes("rank.jet,nope.viridis,binary.greys,")).toEqual({ binary: "greys" }); // unknowns dropped
    expect(parsePalettes(null)).toEqual({});
  });

  it("keeps an old link as it was when the palettes are the defaults", () => {
    const u = new URL("http://127.0.0.1/?sweep=a&view=1,2,3,4&palette=rank.greys");
    writePaletteParam(u, { ...DEFAULT_PALETTES });
    expect(u.search).toBe("?sweep=a&view=1%2C2%2C3%2C4");
    writePaletteParam(u, { ...DEFAULT_PALETTES, log: "rdbu" });
    expect(u.searchParams.get("palette")).toBe("log.rdbu");
  });

  it("names each layer's kind", () => {
    expect(["score", "scoreTree", "trainable", "stable", "finalLoss", "heldoutLoss", "oodLoss"].map((l) => layerKind(l as never)))
      .toEqual(["rank", "rank", "binary", "binary", "log", "log", "log"]);
  });
});

describe("exported colours follow the palette", () => {
  const px = (rgba: Uint8Array, i: number) => Array.from(rgba.subarray(i * 4, i * 4 + 3));

  it("colours the score, outcome and loss layers with the chosen palette", () => {
    const map = syntheticMap(4, 1, axis("a", 0, 1), axis("b", 0, 1), (x) => x < 0.5);
    map.score.set([-3, -1, 2, 5]);
    map.finalLoss.set([0.01, 0.1, 1, Infinity]);
    const magma = paletteOf("magma"), greys = paletteOf("greys");
    const score = colourLayer(map, "score", magma);
    expect(px(score.rgba, 0)).toEqual(MAGMA[MAGMA.length - 1]); // the most converged cell: the top of the ramp
    expect(px(score.rgba, 3)).toEqual(MAGMA[0]);
    expect(score.legend.kind === "continuous" && score.legend.colours).toBe(MAGMA);
    const outcome = colourLayer(map, "trainable", greys);
    expect([px(outcome.rgba, 0), px(outcome.rgba, 3)]).toEqual([greys.yes, greys.no]);
    const loss = colourLayer(map, "finalLoss", paletteOf("cividis"));
    expect([px(loss.rgba, 0), px(loss.rgba, 2), px(loss.rgba, 3)]).toEqual([CIVIDIS[0], CIVIDIS[CIVIDIS.length - 1], paletteOf("cividis").nonFinite]);
    // without a palette: the paper's, as before
    expect(px(colourLayer(map, "score").rgba, 0)).toEqual(SPECTRAL[10]);
  });
});

describe("the palette reaches the PNG and the 3-D view", () => {
  it("the API takes a palette for a PNG and names the choices for a bad one", () => {
    expect(checkArgs("exportSweep", ["s", { format: "png", layer: "finalLoss", palette: "magma" }])).toEqual(["s", { format: "png", layer: "finalLoss", palette: "magma" }]);
    expect(() => checkArgs("exportSweep", ["s", { format: "png", palette: "jet" }])).toThrow(/request\.palette must be one of spectral, viridis, cividis, magma, rdbu, greys, got "jet"/);
  });

  it("colours a score surface as the map colours the cell, a loss surface along the palette", () => {
    const l = (values: number[], kind: "rank" | "binary" | "log") => ({ sweepId: "s", layer: kind === "binary" ? "trainable" : kind === "rank" ? "score" : "finalLoss",
      kind, nx: 2, ny: 2, values: Float32Array.from(values), lo: 0, hi: 1, doneCells: 4, version: 0 }) as LayerData;
    const t = l([1, 1, 1, 0], "binary");
    const magma = paletteOf("magma");
    const score = heightField(l([1, 0.25, 0.5, -1], "rank"), t, magma, paletteOf("greys").no);
    const rgb = (f: typeof score, k: number) => Array.from(f.colours.subarray(3 * k, 3 * k + 3), (x) => Math.round(x * 255));
    expect(rgb(score, 0)).toEqual(sampleColourMap(MAGMA, 1));
    expect(rgb(score, 1)).toEqual(sampleColourMap(MAGMA, 0.625));
    expect(rgb(score, 3)).toEqual(paletteOf("greys").no); // diverged: the plateau in the outcome palette's "no"
    const loss = heightField(l([-1, 0, 1, 2], "log"), l([1, 1, 1, 1], "binary"), paletteOf("cividis"));
    expect(rgb(loss, 0)).toEqual(CIVIDIS[0]);
    expect([loss.tLo, loss.tHi]).toEqual([0, 1]);
  });
});
