// A sweep's row as the API names it: looked up with the API's error for a bad or unknown id, and its SweepSummary
// (what the library lists and change events carry). Shared by every part of the service.

import type { Store, SweepRow } from "../core/store";
import { ranOn } from "../core/numerics";
import { ApiError, LAYER_NAMES, type LayerName, type SweepSummary } from "../../src-shared/contract";

export function sweepRow(store: Store, id: string): SweepRow {
  if (typeof id !== "string") throw new ApiError(`sweep id must be a string, got ${JSON.stringify(id)}`);
  const s = store.sweep(id);
  if (!s) throw new ApiError(`unknown sweep ${id} in ${store.path}`);
  return s;
}

export function sweepSummary(store: Store, s: SweepRow): SweepSummary {
  return {
    id: s.id, name: s.name, parentId: s.parent_id, family: s.spec.model.family, window: s.window, nx: s.nx, ny: s.ny, cells: s.cells,
    doneCells: s.done_cells, status: s.status, target: s.target, error: s.error,
    xAxis: { param: s.spec.axes.x.param, scale: s.spec.axes.x.scale },
    yAxis: { param: s.spec.axes.y.param, scale: s.spec.axes.y.scale },
    tags: store.tags(s.id), createdAt: s.created_at, updatedAt: s.updated_at, ranOn: ranOn(s.env)?.summary ?? null,
  };
}

export function checkLayer(layer: LayerName): void {
  if (!LAYER_NAMES.includes(layer)) throw new ApiError(`unknown layer ${JSON.stringify(layer)}; layers: ${LAYER_NAMES.join(", ")}`);
}
