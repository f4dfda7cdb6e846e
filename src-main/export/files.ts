// The analysis results as files: reports, zoom animation frames, and masks read back. analysis/ computes them in
// memory (pure); this is the one place they meet the file system.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Mask } from "../analysis/dimension";
import { parseMaskCsv, parseMaskPng } from "../analysis/mask";
import { encodePng, isPng } from "../analysis/png";
import type { SweepMap } from "../analysis/map";
import { htmlReport, markdownReport, type ReportData, zoomFrames } from "../analysis/report";

/** Write report.md (+ its images, unless inline) or report.html into dir; returns the paths written. */
export function writeReport(dir: string, data: ReportData, format: "md" | "html", options: { inline?: boolean } = {}): string[] {
  mkdirSync(dir, { recursive: true });
  if (format === "html") {
    const path = join(dir, "report.html");
    writeFileSync(path, htmlReport(data));
    return [path];
  }
  const { markdown, files } = markdownReport(data, options);
  const written = [join(dir, "report.md")];
  writeFileSync(written[0], markdown);
  for (const [name, body] of Object.entries(files)) {
    writeFileSync(join(dir, name), body);
    written.push(join(dir, name));
  }
  return written;
}

/** Write frame-00000.png, frame-00001.png, ... into dir; returns the paths. */
export function writeZoomAnimation(dir: string, maps: readonly SweepMap[], options: Parameters<typeof zoomFrames>[1] = {}): string[] {
  mkdirSync(dir, { recursive: true });
  const paths: string[] = [];
  let n = 0;
  for (const frame of zoomFrames(maps, options)) {
    const path = join(dir, `frame-${String(n++).padStart(5, "0")}.png`);
    writeFileSync(path, encodePng(frame));
    paths.push(path);
  }
  return paths;
}

/** Read a mask file: PNG when it has the PNG signature, otherwise CSV text. */
export function readMaskFile(path: string): Mask {
  const bytes = readFileSync(path);
  if (isPng(bytes)) return parseMaskPng(bytes, path);
  if (/\.png$/i.test(path)) throw new Error(`${path} is named .png but is not a PNG file (bad signature)`);
  return parseMaskCsv(bytes.toString("utf8"), path);
}
