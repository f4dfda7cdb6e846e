// The analysis commands of the CLI: fractal dimension, reports and zoom animations, over sweeps in the store
// or mask files. The numbers come from src-main/analysis; this file only picks the maps and prints.

import { parseArgs } from "node:util";
import { fractalDimension, fractalDimensionLeastSquares, type DimensionEstimate, type Mask } from "../analysis/dimension";
import { layerMask, type BinaryLayer, type SweepMap } from "../analysis/map";
import { sequenceDimension } from "../analysis/mask";
import { paperDimension, type PaperDimension } from "../analysis/paper-dimension";
import { earlyWarning, type Confusion } from "../analysis/earlywarning";
import { analyse } from "../analysis/report";
import { readMaskFile, writeReport, writeZoomAnimation } from "../export/files";
import type { Store } from "../core/store";
import { UsageError } from "./errors";
import { noCurvesMessage, sweepMap, sweepTraces, zoomPath } from "../core/sweep-maps";


const LAYERS: readonly BinaryLayer[] = ["trainable", "stable"];

function layerArg(v: string | undefined): BinaryLayer {
  const layer = (v ?? "trainable") as BinaryLayer;
  if (!LAYERS.includes(layer)) throw new UsageError(`--layer must be trainable or stable, got ${JSON.stringify(v)}`);
  return layer;
}

function mapsFor(store: Store, sweepId: string, sequence: boolean): SweepMap[] {
  const ids = sequence ? zoomPath(store, sweepId) : [sweepId];
  if (!sequence && !store.sweep(sweepId)) {
    throw new UsageError(`unknown sweep ${sweepId} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
  }
  return ids.map((id) => sweepMap(store, id));
}

function table(e: DimensionEstimate): string {
  const lines = ["  box size   boxes on the boundary"];
  e.sizes.forEach((s, i) => lines.push(`  ${String(s).padStart(8)}   ${e.counts[i]}`));
  return lines.join("\n");
}

/** `dimension (--sweep ID [--sequence] | --mask FILE) [--layer trainable|stable] [--estimator project|paper] [--json]`:
 *  without --estimator every estimator is printed, each named; with it, that one (the JSON's `dimension`). */
export function cmdDimension(argv: string[], openDb: (path: string | undefined) => Store): number {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, mask: { type: "string" }, sequence: { type: "boolean" },
      layer: { type: "string" }, json: { type: "boolean" }, estimator: { type: "string" }, db: { type: "string" } },
  });
  if (!!o.sweep === !!o.mask) throw new UsageError("dimension needs exactly one of --sweep ID or --mask FILE (CSV of 0/1 rows, or PNG)");
  if (o.estimator !== undefined && o.estimator !== "project" && o.estimator !== "paper") {
    throw new UsageError(`--estimator must be project or paper, got ${JSON.stringify(o.estimator)}`);
  }
  const layer = layerArg(o.layer);
  let mask: Mask;
  if (o.mask) {
    mask = readMaskFile(o.mask);
  } else {
    const store = openDb(o.db);
    try {
      const maps = mapsFor(store, o.sweep!, o.sequence ?? false);
      if (maps.length > 1) return printSequence(maps, layer, o.json ?? false, o.estimator);
      mask = layerMask(maps[0], layer);
    } finally {
      store.close();
    }
  }
  const what = `the ${o.mask ? "mask" : layer} boundary (${mask.width}x${mask.height} cells)`;
  if (o.estimator === "paper") return printPaper(paperDimension([mask]), what, o.json ?? false);
  const project = fractalDimension(mask);
  const lsq = fractalDimensionLeastSquares(mask);
  const paper = o.estimator === undefined ? paperOrReason([mask]) : null;
  if (o.json) {
    process.stdout.write(JSON.stringify({ dimension: project.dimension, estimator: "project", method: project.method, sizes: project.sizes,
      counts: project.counts, localSlopes: project.localSlopes, leastSquares: lsq, ...(paper ? { paper } : {}) }, null, 1) + "\n");
  } else {
    process.stdout.write(`fractal dimension of ${what}\n`
      + `  ${project.dimension.toFixed(3)}  project: median local slope over box sizes ${project.sizes[0]}..${project.sizes[project.sizes.length - 1]} (log-spaced)\n`
      + `  ${lsq.dimension.toFixed(3)}  seed project: least-squares slope over box sizes ${lsq.sizes.join(", ")}\n`
      + (paper ? `  ${paperLine(paper)}\n` : "")
      + table(project) + "\n");
  }
  return 0;
}

/** The paper's estimator, or why it cannot measure these masks (shown beside the others, never failing them). */
function paperOrReason(masks: Mask[]): PaperDimension | { error: string } {
  try {
    return paperDimension(masks);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function paperLine(p: PaperDimension | { error: string }): string {
  if ("error" in p) return `  -    paper: ${p.error}`;
  const s = p.keyframes[0].sizes;
  return `${p.dimension.toFixed(3)}  paper: median np.gradient slope of porespy box counts on the edge image, sizes ${s[0]}..${s[s.length - 1]}, `
    + `${p.keyframes.length} frame(s), 95% CI ${p.ci[0].toFixed(3)}..${p.ci[1].toFixed(3)}`;
}

function printPaper(p: PaperDimension, what: string, json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify({ dimension: p.dimension, estimator: "paper", ci: p.ci, dropped: p.dropped, keyframes: p.keyframes }, null, 1) + "\n");
    return 0;
  }
  process.stdout.write(`fractal dimension of ${what}\n  ${paperLine(p)}\n  box size   boxes (edge, not all edge)   local slope\n`);
  p.keyframes.forEach((k, f) => {
    if (p.keyframes.length > 1) process.stdout.write(`  frame ${f}\n`);
    k.sizes.forEach((s, i) => process.stdout.write(`  ${String(s).padStart(8)}   ${String(k.counts[i]).padStart(26)}   ${k.slopes[i].toFixed(3)}\n`));
  });
  return 0;
}

function printSequence(maps: SweepMap[], layer: BinaryLayer, json: boolean, estimator: string | undefined): number {
  const what = `the ${layer} boundary over a zoom sequence of ${maps.length} sweeps (levels pooled as frames)`;
  if (estimator === "paper") return printPaper(paperDimension(maps.map((m) => layerMask(m, layer))), what, json);
  const seq = sequenceDimension(maps, layer);
  if (json) {
    process.stdout.write(JSON.stringify({ dimension: seq.dimension, pooled: seq.pooled, pooledLeastSquares: seq.pooledLeastSquares,
      levels: seq.levels.map((l) => ({ level: l.level, dimension: l.estimate.dimension, sizes: l.estimate.sizes,
        counts: l.estimate.counts, relativeSizes: l.relativeSizes })) }, null, 1) + "\n");
    return 0;
  }
  process.stdout.write(`fractal dimension of the ${layer} boundary over a zoom sequence of ${maps.length} sweeps\n`
    + `  ${seq.pooled.toFixed(3)}  pooled: median local slope over every level\n`
    + `  ${seq.pooledLeastSquares.toFixed(3)}  pooled least squares (shared slope, one intercept per level)\n`);
  for (const l of seq.levels) {
    process.stdout.write(`level ${l.level}: ${l.estimate.dimension.toFixed(3)} (${maps[l.level].nx}x${maps[l.level].ny} cells)\n${table(l.estimate)}\n`);
  }
  return 0;
}

/** `report --sweep ID [--sequence] --format md|html --out DIR [--layer] [--title T] [--compare ID,ID...]`; --compare
 *  adds the power-law comparison with other models' sweeps of the same two params. */
export function cmdReport(argv: string[], openDb: (path: string | undefined) => Store): number {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, sequence: { type: "boolean" }, format: { type: "string" }, out: { type: "string" },
      layer: { type: "string" }, title: { type: "string" }, inline: { type: "boolean" }, compare: { type: "string" },
      db: { type: "string" } },
  });
  if (!o.sweep || !o.out) throw new UsageError("report needs --sweep ID --out DIR [--format md|html]");
  const format = (o.format ?? "html") as "md" | "html";
  if (format !== "md" && format !== "html") throw new UsageError(`--format must be md or html, got ${JSON.stringify(o.format)}`);
  const store = openDb(o.db);
  try {
    const maps = mapsFor(store, o.sweep, o.sequence ?? false);
    const title = o.title ?? store.sweep(o.sweep)!.name;
    const compare = (o.compare ? o.compare.split(",") : []).map((id) => {
      const other = store.sweep(id);
      if (!other) throw new UsageError(`--compare: unknown sweep ${id} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
      return { label: `${other.name} (${id})`, map: sweepMap(store, id) };
    });
    const data = analyse(maps, { title, layer: layerArg(o.layer), compare, label: `${store.sweep(o.sweep)!.name} (${o.sweep})` });
    const written = writeReport(o.out, data, format, { inline: o.inline ?? false });
    process.stderr.write(`wrote ${written.join(", ")}\n`);
    return 0;
  } finally {
    store.close();
  }
}

/** `animate --sweep ID --out DIR [--frames N] [--width PX]`: PNG frames zooming down the sweep's zoom path. */
export function cmdAnimate(argv: string[], openDb: (path: string | undefined) => Store): number {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, out: { type: "string" }, frames: { type: "string" }, width: { type: "string" }, db: { type: "string" } },
  });
  if (!o.sweep || !o.out) throw new UsageError("animate needs --sweep ID (the deepest zoom) --out DIR");
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const store = openDb(o.db);
  try {
    const maps = mapsFor(store, o.sweep, true);
    if (maps.length < 2) throw new UsageError(`sweep ${o.sweep} has no parent: an animation zooms from a parent into its zoom sweeps`);
    const written = writeZoomAnimation(o.out, maps, { framesPerLevel: num(o.frames, "frames"), width: num(o.width, "width") });
    process.stderr.write(`wrote ${written.length} frames to ${o.out}\n`);
    return 0;
  } finally {
    store.close();
  }
}

/** `early-warning --sweep ID [--fraction K] [--grad-growth G] [--loss-spike S] [--layer trainable|stable] [--json]`:
 *  did grad-norm growth or loss spikes in the first K of training predict which cells end up diverged? */
export function cmdEarlyWarning(argv: string[], openDb: (path: string | undefined) => Store): number {
  const { values: o } = parseArgs({
    args: argv,
    options: { sweep: { type: "string" }, fraction: { type: "string" }, "grad-growth": { type: "string" },
      "loss-spike": { type: "string" }, layer: { type: "string" }, json: { type: "boolean" }, db: { type: "string" } },
  });
  if (!o.sweep) throw new UsageError("early-warning needs --sweep ID");
  const positive = (v: string | undefined, name: string, max = Infinity) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0 && n <= max)) throw new UsageError(`--${name} must be a number in (0, ${max}], got ${JSON.stringify(v)}`);
    return n;
  };
  const store = openDb(o.db);
  try {
    const sweep = store.sweep(o.sweep);
    if (!sweep) throw new UsageError(`unknown sweep ${o.sweep} in ${store.path}; \`fractal-llm sweeps\` lists them`, 1);
    const map = sweepMap(store, o.sweep);
    const { traces, totalSteps } = sweepTraces(store, o.sweep);
    if (traces.length === 0) throw new UsageError(noCurvesMessage(o.sweep), 1);
    const r = earlyWarning(map, traces, { totalSteps, fraction: positive(o.fraction, "fraction", 1),
      gradGrowth: positive(o["grad-growth"], "grad-growth"), lossSpike: positive(o["loss-spike"], "loss-spike"),
      layer: layerArg(o.layer) });
    if (o.json) {
      process.stdout.write(JSON.stringify({ cells: traces.length, horizon: r.horizon, totalSteps, overall: r.overall,
        gradNorm: r.gradNorm, lossSpike: r.lossSpike }, null, 1) + "\n");
      return 0;
    }
    const pct = (x: number) => (Number.isNaN(x) ? "n/a" : `${(100 * x).toFixed(1)}%`);
    const line = (name: string, c: Confusion) => `  ${name.padEnd(18)} precision ${pct(c.precision).padStart(6)}  recall ${pct(c.recall).padStart(6)}`
      + `  (flagged ${c.truePositive + c.falsePositive}, diverged ${c.truePositive + c.falseNegative})`;
    process.stdout.write(`early warning over the first ${r.horizon} of ${totalSteps} steps, ${traces.length} cells with curves\n`
      + line("either signal", r.overall) + "\n" + line("grad-norm growth", r.gradNorm) + "\n" + line("loss spike", r.lossSpike) + "\n");
    return 0;
  } finally {
    store.close();
  }
}
