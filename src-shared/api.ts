// The values of the API contract (contract.ts holds its types): layer names, the float32 sentinels of layer
// values, the request methods transports dispatch by name, and the error they carry back.

import type { ApiMethod, LayerName } from "./contract";

export const LAYER_NAMES: readonly LayerName[] = ["score", "scoreTree", "trainable", "stable", "finalLoss", "heldoutLoss", "oodLoss"];

/** Exactly representable in float32, far outside any log10 loss or rank; the shader tests v < -1e29 / v > 1e29. */
export const NOT_DONE = -(2 ** 100);
export const NON_FINITE = 2 ** 100;

/**
 * Opening a map of more than PREVIEW_ABOVE cells draws its preview first (getLayerPreview, at most PREVIEW_SIDE cells
 * a side: a 4096^2 map's every 16th cell), then the full layer. Large maps keep a preview of this side in the store
 * (core/preview.ts), and the server has the one the app opens first ready before the page asks (prefetchFirstFrame).
 */
export const PREVIEW_ABOVE = 1024 * 1024;
export const PREVIEW_SIDE = 256;

/** The request methods (everything but subscribe), for transports that dispatch by name. */
export const API_METHODS: readonly ApiMethod[] = [
  "listSweeps", "getSweep", "getLayer", "getCell", "recomputeCurve", "getAnalysis", "previewSweep", "startSweep", "previewZoom",
  "startZoom", "renameSweep", "setTags", "listBookmarks", "addBookmark", "deleteBookmark", "deleteSweep", "cancelSweep", "resumeSweep", "fillInSweep", "listTargets", "listHosts", "addHost", "deleteHost", "testHost",
  "getLayerDelta", "getLayerPreview", "listSamples", "generateSamples", "startReproduction", "listReproductions",
  "startSensitivity", "getSensitivity", "exportSweep", "getEarlyWarning",
];

/** SensitivityReport.flips values per cell. */
export const FLIP = 1;
export const SAME = 0;
export const NOT_COMPUTED = 2;

/** An error a transport carries back to the caller with its message intact. */
export class ApiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ApiError";
  }
}
