// getAnalysis (contract.ts SweepAnalysis) over the store: picks the sweep's maps and hands them to
// src-main/analysis, which computes every number; this file only shapes the result as plain JSON.

import { boundaryPolylines } from "../analysis/boundary";
import { analyse, dimensionSvg } from "../analysis/report";
import { sweepMap, zoomPath } from "../core/sweep-maps";
import type { Store } from "../core/store";
import type { DimensionEstimate } from "../analysis/dimension";
import type { Outcome } from "../analysis/report";
import { layerMask } from "../analysis/map";
import { paperDimension } from "../analysis/paper-dimension";
import { projectWithInterval, resolutionBias, sequenceInterval } from "../analysis/uncertainty";
import type { AnalysisOptions, Computed, SweepAnalysis } from "../../src-shared/contract";

/** A number, or the estimator's reason it has none (never failing the rest of the analysis). */
function computed<T>(f: () => T): Computed<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}

// A slope of exactly 0 comes out of the estimator as -0, which JSON (the WebSocket) carries as 0; +0 here, so
// both transports and a direct call give the same value.
const plusZero = (e: Outcome<DimensionEstimate>): Outcome<DimensionEstimate> =>
  e.ok ? { ok: true, value: { ...e.value, dimension: e.value.dimension + 0, localSlopes: e.value.localSlopes.map((s) => s + 0) } } : e;

export function sweepAnalysis(store: Store, sweepId: string, options: AnalysisOptions): SweepAnalysis {
  const { layer, sequence } = options;
  const ids = sequence ? zoomPath(store, sweepId) : [sweepId];
  const maps = ids.map((id) => sweepMap(store, id));
  const focus = maps[maps.length - 1];
  // The sweep itself: its dimension, rules of thumb and power law; the path (when pooled): every level.
  const own = analyse([focus], { title: sweepId, layer });
  const path = maps.length > 1 ? analyse(maps, { title: sweepId, layer }) : own;
  const plotted = path.levels.flatMap((l, i) => (l.paper.ok ? [{ label: maps.length > 1 ? `level ${i}` : layer, estimate: l.paper.value }] : []));
  return {
    sweepId,
    layer,
    levels: path.levels.map((l, i) => ({ sweepId: ids[i], paper: plusZero(l.paper), leastSquares: plusZero(l.leastSquares) })),
    sequence: path.sequence && (path.sequence.ok
      ? { ok: true, value: { dimension: path.sequence.value.dimension, pooledLeastSquares: path.sequence.value.pooledLeastSquares } }
      : path.sequence),
    plotSvg: plotted.length ? dimensionSvg(plotted, 360, 250) : null,
    boundary: boundaryPolylines(focus, layer),
    edge: own.rows.flatMap((r) => (r.edgeContiguous ? [{ y: r.y, x: r.edgeContiguous.x, censored: r.censored }] : [])),
    powerLaw: own.powerLaw,
    // Every number with its uncertainty: the project's interval, the paper's estimator beside it over the same maps,
    // and the sweep again at half its resolution (analysis/uncertainty.ts).
    projectCi: computed(() => projectWithInterval(layerMask(focus, layer)).ci),
    sequenceCi: maps.length > 1 ? computed(() => sequenceInterval(maps, layer)) : null,
    paperMethod: computed(() => {
      const p = paperDimension(maps.map((m) => layerMask(m, layer)));
      return { dimension: p.dimension + 0, ci: p.ci, frames: maps.length, sizes: p.keyframes[0].sizes, dropped: p.dropped };
    }),
    resolutionBias: resolutionBias(focus, layer),
  };
}
