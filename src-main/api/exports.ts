// Files and early warning from the app (the Api's exportSweep and getEarlyWarning): the same bytes `fractal-llm
// export` and `fractal-llm report` write (export/sweep.ts, analysis/report.ts) and the same early-warning numbers as
// `fractal-llm early-warning`, handed to the page, which downloads them (browser mode) or saves them (Electron).

import { earlyWarning, type Confusion } from "../analysis/earlywarning";
import { COLOUR_LAYERS } from "../analysis/colour";
import { analyse, htmlReport, markdownReport } from "../analysis/report";
import type { Store } from "../core/store";
import { noCurvesMessage, sweepMap, sweepTraces, zoomPath } from "../core/sweep-maps";
import { sweepFile } from "../export/sweep";
import {
  ApiError, type EarlyWarningCounts, type EarlyWarningOptions, type EarlyWarningReport, type ExportFile, type ExportRequest,
} from "../../src-shared/contract";
import { sweepRow } from "./sweep-rows";

/** Most cells a CSV or JSON export from the app holds (a 1024^2 map); larger maps are the CLI's to write. */
export const MAX_TABLE_CELLS = 1024 * 1024;

const MIME = { csv: "text/csv", json: "application/json", png: "image/png", html: "text/html", md: "text/markdown" } as const;

/** A file name from the sweep's name and id: letters, digits and dashes only, so every browser and file system takes it. */
export function exportName(name: string, id: string, ext: string): string {
  const stem = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "sweep";
  return `${stem}-${id.slice(0, 8)}.${ext}`;
}

export function exportFile(store: Store, id: string, req: ExportRequest): ExportFile {
  const row = sweepRow(store, id);
  const format = req.format;
  if (!(format in MIME)) throw new ApiError(`format must be one of ${Object.keys(MIME).join(", ")}, got ${JSON.stringify(format)}`);
  if (format === "csv" || format === "json" || format === "png") {
    // The API's layer names are the analysis code's colour layers (the same words).
    const layer: string = req.layer ?? "score";
    if (format === "png" && !(COLOUR_LAYERS as readonly string[]).includes(layer)) {
      throw new ApiError(`layer must be one of ${COLOUR_LAYERS.join(", ")} for a PNG, got ${JSON.stringify(req.layer)}`);
    }
    // A table of every cell travels through the page's memory: above a 1024^2 map (about 130 MB of CSV) the CLI,
    // which streams to a file, is the tool. A PNG is one pixel per cell and always fits.
    if (format !== "png" && row.cells > MAX_TABLE_CELLS) {
      throw new ApiError(`a ${row.nx}x${row.ny} map is too large to download as ${format.toUpperCase()} from the app (over `
        + `${MAX_TABLE_CELLS} cells); write it to a file with \`fractal-llm export --sweep ${id} --format ${format} --out FILE\``);
    }
    const { data, cells } = sweepFile(store, id, format, { layer, palette: req.palette });
    return { name: exportName(row.name, id, format), mime: MIME[format], data, cells };
  }
  const layer = req.layer ?? "trainable";
  if (layer !== "trainable" && layer !== "stable") throw new ApiError(`a report measures the trainable or stable boundary, got layer ${JSON.stringify(layer)}`);
  const maps = (req.sequence ? zoomPath(store, id) : [id]).map((s) => sweepMap(store, s));
  const data = analyse(maps, { title: row.name, layer, label: `${row.name} (${id})` });
  // Markdown with its images inline: one self-contained file to download, as `report --format md --inline`.
  const text = format === "html" ? htmlReport(data) : markdownReport(data, { inline: true }).markdown;
  return { name: exportName(row.name, id, format === "html" ? "html" : "md"), mime: MIME[format], data: new TextEncoder().encode(text), cells: null };
}

/** NaN (nothing flagged, nothing diverged) as null: JSON has no NaN. */
function counts(c: Confusion): EarlyWarningCounts {
  const n = (v: number) => (Number.isFinite(v) ? v : null);
  return { truePositive: c.truePositive, falsePositive: c.falsePositive, falseNegative: c.falseNegative, trueNegative: c.trueNegative,
    precision: n(c.precision), recall: n(c.recall) };
}

export function earlyWarningReport(store: Store, id: string, o: EarlyWarningOptions): EarlyWarningReport {
  sweepRow(store, id);
  const { traces, totalSteps } = sweepTraces(store, id);
  if (!traces.length) throw new ApiError(noCurvesMessage(id));
  let r;
  try {
    r = earlyWarning(sweepMap(store, id), traces, { totalSteps, fraction: o.fraction, gradGrowth: o.gradGrowth, lossSpike: o.lossSpike, layer: o.layer });
  } catch (e) {
    throw new ApiError((e as Error).message); // a bad option, named by the analysis
  }
  return { sweepId: id, cells: traces.length, horizon: r.horizon, totalSteps, overall: counts(r.overall), gradNorm: counts(r.gradNorm), lossSpike: counts(r.lossSpike) };
}
