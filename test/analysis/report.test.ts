import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NO, YES, colourLayer } from "../../src-main/analysis/colour";
import { decodePng, decodePngRgba, isPng } from "../../src-main/analysis/png";
import {
  analyse, htmlReport, layerPng, mapToCsv, mapToJson, markdownReport, sequencePngs, sequenceToCsv, sequenceToJson, zoomFrames, zoomView,
} from "../../src-main/analysis/report";
import { writeReport, writeZoomAnimation } from "../../src-main/export/files";
import { axis, rng, syntheticMap } from "./synthetic";

const r = rng(7);
const trains = (x: number, y: number) => x < -1 - 0.5 * y + 0.04 * Math.sin(37 * x + 11 * y) + 0.04 * (r() - 0.5);
const parent = syntheticMap(96, 48, axis("lr", -5, 0), axis("dataset_size", 1, 5), trains);
const child = syntheticMap(96, 48, axis("lr", -3, -2), axis("dataset_size", 2, 3), trains);

describe("CSV and JSON", () => {
  it("CSV has one line per cell with hyperparameter values and blank fields for cells not done", () => {
    const m = syntheticMap(3, 2, axis("lr", -3, 0), axis("w", 0, 1, "linear"), (x) => x < -1.5);
    m.done = Uint8Array.from([1, 1, 1, 1, 1, 0]);
    const lines = mapToCsv(m).trim().split("\n");
    expect(lines[0]).toBe("ix,iy,lr,w,trainable,stable,score,final_loss,heldout_loss,done");
    expect(lines).toHaveLength(7);
    const [ix, iy, lr, w, trainable] = lines[1].split(",");
    expect([ix, iy, trainable]).toEqual(["0", "0", "1"]);
    expect(Number(lr)).toBeCloseTo(10 ** -2.5, 12);
    expect(Number(w)).toBeCloseTo(0.25, 12);
    expect(lines[6]).toMatch(/^2,1,[^,]+,[^,]+,,,,,,0$/);
  });

  it("JSON is plain data: NaN -> null, Infinity -> \"inf\"", () => {
    const m = syntheticMap(2, 2, axis("lr", -3, 0), axis("s", 1, 2), (x) => x < -1.5);
    const back = JSON.parse(JSON.stringify(mapToJson(m)));
    expect(back.nx).toBe(2);
    expect(back.heldoutLoss).toEqual([null, null, null, null]);
    expect(back.finalLoss[1]).toBe("inf");
    expect(back.trainable).toEqual(Array.from(m.trainable));
  });
});

describe("zoom sequence exports", () => {
  it("CSV gets a level column; JSON one entry per level; out-of-window sequences are refused", () => {
    const lines = sequenceToCsv([parent, child]).trim().split("\n");
    expect(lines[0]).toBe("level,ix,iy,lr,dataset_size,trainable,stable,score,final_loss,heldout_loss,done");
    expect(lines).toHaveLength(1 + 2 * 96 * 48);
    expect(lines[1 + 96 * 48].startsWith("1,0,0,")).toBe(true);
    expect((sequenceToJson([parent, child]) as { levels: unknown[] }).levels).toHaveLength(2);
    expect(() => sequenceToCsv([child, parent])).toThrow(/not inside level 0/);
  });
});

describe("PNG exports", () => {
  it("any layer renders to a decodable PNG; a sequence outlines each child window", () => {
    for (const layer of ["score", "trainable", "stable", "finalLoss"] as const) {
      const png = decodePng(layerPng(parent, layer));
      expect(png.width).toBeGreaterThan(512);
    }
    expect(() => layerPng(parent, "heldoutLoss")).toThrow(/no finite positive held-out loss/);
    const pngs = sequencePngs([parent, child], "trainable");
    expect(pngs).toHaveLength(2);
    expect(pngs.every(isPng)).toBe(true);
  });
});

describe("reports", () => {
  const data = analyse([parent, child], {
    title: "SFT sweep",
    label: "tiny",
    compare: [{ label: "bigger", map: syntheticMap(96, 48, axis("lr", -5, 0), axis("dataset_size", 1, 5), (x, y) => x < -0.5 - 0.8 * y) }],
  });
  const dim = data.levels[0].paper;
  const law = data.powerLaw;

  it("computes what the report shows", () => {
    expect(dim.ok && dim.value.dimension).toBeGreaterThan(0.9);
    expect(law.ok && law.value.exponentCI[0] < -0.5 && law.value.exponentCI[1] > -0.5).toBe(true);
    expect(data.sequence?.ok).toBe(true);
    expect(data.comparison?.ok && data.comparison.value.differences[0].significant).toBe(true);
  });

  it("HTML is self-contained and contains the figures it names", () => {
    const html = htmlReport(data);
    if (!dim.ok || !law.ok || !data.sequence?.ok) throw new Error("analysis failed");
    expect(html).toContain(dim.value.dimension.toFixed(3));
    expect(html).toContain(`b = ${law.value.exponent.toFixed(3)}`);
    expect(html).toContain(data.sequence.value.pooled.toFixed(3));
    expect(html).toContain("bigger");
    const uris = [...html.matchAll(/<img alt="([^"]*)" src="data:image\/png;base64,([^"]+)">/g)];
    expect(uris).toHaveLength(4); // 2 levels x (score, trainable)
    for (const [, , b64] of uris) {
      const png = decodePngRgba(Buffer.from(b64, "base64"));
      expect(png.width * png.height).toBeGreaterThan(512 * 256);
    }
    // The log-log plot: one point per box size per level.
    const svg = html.slice(html.indexOf("<svg"), html.indexOf("</svg>"));
    const sizes = data.levels.reduce((n, l) => n + (l.paper.ok ? l.paper.value.sizes.length : 0), 0);
    expect(svg.match(/<circle /g)).toHaveLength(sizes);
    expect(html).not.toMatch(/src="(?!data:)/); // nothing fetched from outside
  });

  it("Markdown links every image it ships, and the files are written next to it", () => {
    const md = markdownReport(data);
    const links = [...md.markdown.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(links.sort()).toEqual(Object.keys(md.files).sort());
    expect(links).toContain("dimension.svg");
    expect(md.markdown).toContain(dim.ok ? dim.value.dimension.toFixed(3) : "?");
    const dir = mkdtempSync(join(tmpdir(), "report-"));
    const written = writeReport(dir, data, "md");
    expect(written).toContain(join(dir, "report.md"));
    for (const l of links.filter((l) => l.endsWith(".png"))) expect(isPng(readFileSync(join(dir, l)))).toBe(true);
    expect(writeReport(dir, data, "html")).toEqual([join(dir, "report.html")]);
  });

  it("inline Markdown is one file with data URIs that decode", () => {
    const md = markdownReport(data, { inline: true });
    expect(md.files).toEqual({});
    const pngs = [...md.markdown.matchAll(/\]\(data:image\/png;base64,([^)]+)\)/g)];
    expect(pngs).toHaveLength(4);
    for (const [, b64] of pngs) expect(isPng(Buffer.from(b64, "base64"))).toBe(true);
    const svg = md.markdown.match(/\]\(data:image\/svg\+xml;base64,([^)]+)\)/)!;
    expect(Buffer.from(svg[1], "base64").toString()).toMatch(/^<svg /);
  });

  it("a map without a boundary says why instead of showing a number", () => {
    const flat = syntheticMap(64, 64, axis("lr", -5, 0), axis("dataset_size", 1, 5), () => true);
    const md = markdownReport(analyse([flat], { title: "flat" })).markdown;
    expect(md).toMatch(/not measurable: no boundary boxes/);
    expect(md).toMatch(/No power law: too few rows: 0 of \d+ rows are done and cross/);
  });

  it("names where each sweep trained, and says so when it is not known", () => {
    const where = "AMD EPYC (x86-64-v4) · OpenBLAS 0.3.21 Haswell kernel (pinned) · torch 1.13.0a0 · numpy 1.24.2 · agent 0.1.0";
    const md = markdownReport(analyse([{ ...parent, ranOn: where }, child], { title: "where" })).markdown;
    expect(md).toContain("| trained on |");
    expect(md).toContain(`| ${where} |`);
    expect(md.split("\n").find((l) => l.startsWith("| 1 |"))).toMatch(/\| — \|$/);
  });
});

describe("zoom animation", () => {
  it("zooms exponentially about a fixed point from the parent's window to the child's", () => {
    const from = { x: [0, 8] as [number, number], y: [0, 4] as [number, number] };
    const to = { x: [5, 6] as [number, number], y: [1, 1.5] as [number, number] };
    expect(zoomView(from, to, 0).x).toEqual([0, 8]);
    const end = zoomView(from, to, 1);
    expect(end.x[0]).toBeCloseTo(5, 12);
    expect(end.y[1]).toBeCloseTo(1.5, 12);
    const mid = zoomView(from, to, 0.5);
    expect(mid.x[1] - mid.x[0]).toBeCloseTo(Math.sqrt(8 * 1), 12);
    // The fixed point (x = 40/7: its relative position is 5/7 in both windows) stays put.
    const rel = (v: { x: [number, number] }) => (40 / 7 - v.x[0]) / (v.x[1] - v.x[0]);
    for (const t of [0, 0.3, 0.7, 1]) expect(rel(zoomView(from, to, t))).toBeCloseTo(5 / 7, 12);
  });

  it("frames start on the parent and end inside the child, written as PNGs", () => {
    const p = syntheticMap(40, 20, axis("lr", -4, 0), axis("s", 0, 2), () => true);
    const c = syntheticMap(40, 20, axis("lr", -3, -2), axis("s", 0.5, 1), () => false);
    const frames = [...zoomFrames([p, c], { layer: "trainable", framesPerLevel: 6, width: 80 })];
    expect(frames).toHaveLength(7);
    expect([frames[0].width, frames[0].height]).toEqual([80, 40]);
    expect(frames[0].get(0, 0)).toEqual(YES); // parent, outside the child's window
    expect(frames[0].get(25, 25)).toEqual(NO); // inside the child's window: x=-2.7, y=0.74
    for (let j = 0; j < 40; j += 7) for (let i = 0; i < 80; i += 9) expect(frames[6].get(i, j)).toEqual(NO);
    const colours = colourLayer(p, "trainable").rgba;
    expect(Array.from(colours.subarray(0, 3))).toEqual(YES);
    const dir = mkdtempSync(join(tmpdir(), "zoom-"));
    const paths = writeZoomAnimation(dir, [p, c], { layer: "trainable", framesPerLevel: 3, width: 40 });
    expect(paths.map((q) => q.slice(dir.length + 1))).toEqual(["frame-00000.png", "frame-00001.png", "frame-00002.png", "frame-00003.png"]);
    expect(existsSync(paths[3]) && decodePng(readFileSync(paths[3])).width).toBe(40);
    expect(() => [...zoomFrames([c, p])]).toThrow(/not inside level 0/);
  });
});
