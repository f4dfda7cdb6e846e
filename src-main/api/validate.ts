// Argument checks of every API request, before it reaches the service: one checker per method, used by both
// transports (Electron IPC, electron/ipc.ts; browser mode's WebSocket, web/server.ts), so whatever a page sends
// over either arrives with the types the contract names, or is refused with a message that says what is wrong.

import { isPaletteName, PALETTES } from "../../src-shared/colours";
import {
  type Api, type ApiMethod, type EarlyWarningOptions, type ExportRequest, LAYER_NAMES, type LayerName, type NewHost, type Perturbation,
  type ReproductionRequest, type SamplesRequest, type ZoomRequest,
} from "../../src-shared/contract";
import { MAX_NEW_TOKENS, MAX_PROMPT_CHARS, MAX_PROMPTS } from "../core/samples";

// Argument validation. Each checker turns the untyped IPC arguments into the method's parameter tuple or throws
// an ArgError naming the argument, what it got and what it needs.

export class ArgError extends Error {}

const show = (v: unknown) => {
  const s = typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? `an array of ${v.length}` : v === null ? "null" : typeof v;
  return s.length > 60 ? s.slice(0, 57) + "..." : s;
};

function arity(method: ApiMethod, args: unknown[], names: string[]): void {
  if (args.length !== names.length) {
    throw new ArgError(`${method} takes ${names.length} argument${names.length === 1 ? "" : "s"} (${names.join(", ") || "none"}), got ${args.length}`);
  }
}

function str(v: unknown, what: string, max = 1000): string {
  if (typeof v !== "string" || v.length === 0 || v.length > max) throw new ArgError(`${what} must be a non-empty string of at most ${max} characters, got ${show(v)}`);
  return v;
}

function int(v: unknown, what: string, min: number): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw new ArgError(`${what} must be an integer >= ${min}, got ${show(v)}`);
  return v;
}

function finite(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) throw new ArgError(`${what} must be a finite number, got ${show(v)}`);
  return v;
}

function plainObject(v: unknown, what: string, allowed: string[], required: string[]): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) {
    throw new ArgError(`${what} must be an object with ${allowed.join(", ")}, got ${show(v)}`);
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw new ArgError(`${what}.${k} is not a field of ${what}; fields: ${allowed.join(", ")}`);
  for (const k of required) if (!(k in o)) throw new ArgError(`${what}.${k} is missing`);
  return o;
}

function optionalStr(v: unknown, what: string, max: number): string | null {
  return v === null ? null : str(v, what, max);
}

function newHost(v: unknown): NewHost {
  const o = plainObject(v, "host", ["alias", "hostname", "port", "user", "python", "scheduler"], ["alias", "hostname", "port", "user", "python"]);
  return {
    alias: str(o.alias, "host.alias", 200), hostname: str(o.hostname, "host.hostname", 500), port: int(o.port, "host.port", 1),
    user: optionalStr(o.user, "host.user", 200), python: optionalStr(o.python, "host.python", 1000),
    ...(o.scheduler === undefined ? {} : { scheduler: hostScheduler(o.scheduler) }),
  };
}

/** NewHost.scheduler: null, or {kind: "slurm", ...} with optional fields (addHost checks their values). */
function hostScheduler(v: unknown): NewHost["scheduler"] {
  if (v === null) return null;
  const fields = ["kind", "tasks", "partition", "gpusPerTask", "cpusPerTask", "time", "account"];
  const o = plainObject(v, "host.scheduler", fields, ["kind"]);
  if (o.kind !== "slurm") throw new ArgError(`host.scheduler.kind must be "slurm", got ${show(o.kind)}`);
  const n = (k: string, min: number) => (o[k] === undefined || o[k] === null ? null : int(o[k], `host.scheduler.${k}`, min));
  const s = (k: string) => (o[k] === undefined ? null : optionalStr(o[k], `host.scheduler.${k}`, 200));
  return {
    kind: "slurm", tasks: n("tasks", 1), partition: s("partition"), gpusPerTask: n("gpusPerTask", 0),
    cpusPerTask: n("cpusPerTask", 1), time: s("time"), account: s("account"),
  };
}

function zoomRequest(v: unknown): ZoomRequest {
  const o = plainObject(v, "req", ["parentId", "window", "points", "steps", "target", "name"], ["parentId", "window", "points", "steps", "target"]);
  const w = plainObject(o.window, "req.window", ["x0", "x1", "y0", "y1"], ["x0", "x1", "y0", "y1"]);
  const req: ZoomRequest = {
    parentId: str(o.parentId, "req.parentId", 200),
    window: { x0: finite(w.x0, "req.window.x0"), x1: finite(w.x1, "req.window.x1"), y0: finite(w.y0, "req.window.y0"), y1: finite(w.y1, "req.window.y1") },
    points: int(o.points, "req.points", 1),
    steps: o.steps === null ? null : int(o.steps, "req.steps", 1),
    target: str(o.target, "req.target", 500),
  };
  if (o.name !== undefined) req.name = str(o.name, "req.name", 500);
  return req;
}

/** Types only: the service checks the values (a known experiment, enough points, a form for the init-offset one). */
function reproductionRequest(v: unknown): ReproductionRequest {
  const o = plainObject(v, "req", ["name", "points", "levels", "target", "initOffsetForm", "method", "keyframes"], ["name", "points", "levels", "target"]);
  const form = o.initOffsetForm;
  if (form !== undefined && form !== null && form !== "once" && form !== "every_step") {
    throw new ArgError(`req.initOffsetForm must be null, "once" or "every_step", got ${show(form)}`);
  }
  if (o.method !== undefined && o.method !== "project" && o.method !== "paper") throw new ArgError(`req.method must be "project" or "paper", got ${show(o.method)}`);
  return {
    name: str(o.name, "req.name", 200), points: int(o.points, "req.points", 1), levels: int(o.levels, "req.levels", 0),
    target: str(o.target, "req.target", 500), ...(form === undefined ? {} : { initOffsetForm: form }),
    ...(o.method === undefined ? {} : { method: o.method }), ...(o.keyframes === undefined ? {} : { keyframes: int(o.keyframes, "req.keyframes", 1) }),
  };
}

function perturbation(v: unknown): Perturbation {
  if (v !== "precision" && v !== "seed") throw new ArgError(`perturbation must be "precision" or "seed", got ${show(v)}`);
  return v;
}

function exportRequest(v: unknown): ExportRequest {
  const o = plainObject(v, "request", ["format", "layer", "sequence", "palette"], ["format"]);
  const formats = ["csv", "json", "png", "html", "md"];
  if (!formats.includes(o.format as string)) throw new ArgError(`request.format must be one of ${formats.join(", ")}, got ${show(o.format)}`);
  if (o.layer !== undefined && !LAYER_NAMES.includes(o.layer as never)) throw new ArgError(`request.layer must be one of ${LAYER_NAMES.join(", ")}, got ${show(o.layer)}`);
  if (o.sequence !== undefined && typeof o.sequence !== "boolean") throw new ArgError(`request.sequence must be true or false, got ${show(o.sequence)}`);
  if (o.palette !== undefined && !isPaletteName(o.palette)) {
    throw new ArgError(`request.palette must be one of ${PALETTES.map((p) => p.name).join(", ")}, got ${show(o.palette)}`);
  }
  return { format: o.format as ExportRequest["format"], ...(o.layer === undefined ? {} : { layer: o.layer as LayerName }),
    ...(o.sequence === undefined ? {} : { sequence: o.sequence }), ...(o.palette === undefined ? {} : { palette: o.palette }) };
}

function earlyWarningOptions(v: unknown): EarlyWarningOptions {
  const o = plainObject(v, "options", ["layer", "fraction", "gradGrowth", "lossSpike"], ["layer"]);
  if (o.layer !== "trainable" && o.layer !== "stable") throw new ArgError(`options.layer must be trainable or stable, got ${show(o.layer)}`);
  const opt = (k: "fraction" | "gradGrowth" | "lossSpike") => (o[k] === undefined ? {} : { [k]: finite(o[k], `options.${k}`) });
  return { layer: o.layer, ...opt("fraction"), ...opt("gradGrowth"), ...opt("lossSpike") };
}

function samplesRequest(v: unknown): SamplesRequest {
  const o = plainObject(v, "request", ["prompts", "maxNewTokens"], ["prompts", "maxNewTokens"]);
  const n = int(o.maxNewTokens, "request.maxNewTokens", 1);
  if (n > MAX_NEW_TOKENS) throw new ArgError(`request.maxNewTokens must be at most ${MAX_NEW_TOKENS}, got ${n}`);
  if (o.prompts === null) return { prompts: null, maxNewTokens: n };
  if (!Array.isArray(o.prompts) || o.prompts.length > MAX_PROMPTS) {
    throw new ArgError(`request.prompts must be null or an array of at most ${MAX_PROMPTS} strings, got ${show(o.prompts)}`);
  }
  return { prompts: o.prompts.map((p, i) => str(p, `request.prompts[${i}]`, MAX_PROMPT_CHARS)), maxNewTokens: n };
}

/** A JSON value (what a spec is): no functions, Maps, Dates, typed arrays or non-finite numbers; bounded depth. */
function jsonValue(v: unknown, what: string, depth = 0): unknown {
  if (depth > 32) throw new ArgError(`${what} is nested deeper than 32 levels`);
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return finite(v, what);
  if (Array.isArray(v)) return v.map((x, i) => jsonValue(x, `${what}[${i}]`, depth + 1));
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) jsonValue(x, `${what}.${k}`, depth + 1);
    return v;
  }
  throw new ArgError(`${what} must be JSON (objects, arrays, strings, numbers, booleans, null), got ${show(v)}`);
}

function specObject(v: unknown): unknown {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new ArgError(`spec must be a sweep spec object, got ${show(v)}`);
  return jsonValue(v, "spec");
}

type Checker<M extends ApiMethod> = (args: unknown[]) => Parameters<Api[M]>;

/** One checker per request method; the mapped type makes a method without a checker a compile error. */
export const ARG_CHECKS: { [M in ApiMethod]: Checker<M> } = {
  listSweeps: (a) => (arity("listSweeps", a, []), []),
  getSweep: (a) => (arity("getSweep", a, ["id"]), [str(a[0], "id", 200)]),
  getLayer: (a) => {
    arity("getLayer", a, ["id", "layer"]);
    const layer = a[1];
    if (!LAYER_NAMES.includes(layer as never)) throw new ArgError(`layer must be one of ${LAYER_NAMES.join(", ")}, got ${show(layer)}`);
    return [str(a[0], "id", 200), layer as (typeof LAYER_NAMES)[number]];
  },
  getCell: (a) => (arity("getCell", a, ["id", "cell"]), [str(a[0], "id", 200), int(a[1], "cell", 0)]),
  recomputeCurve: (a) => (arity("recomputeCurve", a, ["id", "cell"]), [str(a[0], "id", 200), int(a[1], "cell", 0)]),
  getLayerDelta: (a) => {
    arity("getLayerDelta", a, ["id", "layer", "since"]);
    const layer = a[1];
    if (!LAYER_NAMES.includes(layer as never)) throw new ArgError(`layer must be one of ${LAYER_NAMES.join(", ")}, got ${show(layer)}`);
    return [str(a[0], "id", 200), layer as (typeof LAYER_NAMES)[number], int(a[2], "since", 0)];
  },
  getLayerPreview: (a) => {
    arity("getLayerPreview", a, ["id", "layer", "maxSide"]);
    const layer = a[1];
    if (!LAYER_NAMES.includes(layer as never)) throw new ArgError(`layer must be one of ${LAYER_NAMES.join(", ")}, got ${show(layer)}`);
    return [str(a[0], "id", 200), layer as (typeof LAYER_NAMES)[number], int(a[2], "maxSide", 1)];
  },
  getAnalysis: (a) => {
    arity("getAnalysis", a, ["id", "options"]);
    const o = plainObject(a[1], "options", ["layer", "sequence"], ["layer", "sequence"]);
    if (o.layer !== "trainable" && o.layer !== "stable") throw new ArgError(`options.layer must be trainable or stable, got ${show(o.layer)}`);
    if (typeof o.sequence !== "boolean") throw new ArgError(`options.sequence must be true or false, got ${show(o.sequence)}`);
    return [str(a[0], "id", 200), { layer: o.layer, sequence: o.sequence }];
  },
  previewSweep: (a) => (arity("previewSweep", a, ["spec", "target"]), [specObject(a[0]), str(a[1], "target", 500)]),
  startSweep: (a) => (arity("startSweep", a, ["spec", "target"]), [specObject(a[0]), str(a[1], "target", 500)]),
  previewZoom: (a) => (arity("previewZoom", a, ["req"]), [zoomRequest(a[0])]),
  startZoom: (a) => (arity("startZoom", a, ["req"]), [zoomRequest(a[0])]),
  renameSweep: (a) => (arity("renameSweep", a, ["id", "name"]), [str(a[0], "id", 200), str(a[1], "name", 500)]),
  setTags: (a) => {
    arity("setTags", a, ["id", "tags"]);
    const tags = a[1];
    if (!Array.isArray(tags) || tags.length > 100) throw new ArgError(`tags must be an array of at most 100 strings, got ${show(tags)}`);
    return [str(a[0], "id", 200), tags.map((t, i) => str(t, `tags[${i}]`, 100))];
  },
  deleteSweep: (a) => {
    // The options are optional; a WebSocket client may send an absent one as null.
    if (a.length === 1 || (a.length === 2 && (a[1] === null || a[1] === undefined))) return [str(a[0], "id", 200)];
    arity("deleteSweep", a, ["id", "options"]);
    const o = plainObject(a[1], "options", ["localOnly"], ["localOnly"]);
    if (typeof o.localOnly !== "boolean") throw new ArgError(`options.localOnly must be true or false, got ${show(o.localOnly)}`);
    return [str(a[0], "id", 200), { localOnly: o.localOnly }];
  },
  listBookmarks: (a) => (arity("listBookmarks", a, []), []),
  addBookmark: (a) => {
    arity("addBookmark", a, ["bookmark"]);
    const o = plainObject(a[0], "bookmark", ["sweepId", "name", "view"], ["sweepId", "name", "view"]);
    const v = plainObject(o.view, "bookmark.view", ["cx", "cy", "sx", "sy"], ["cx", "cy", "sx", "sy"]);
    const name = str(o.name, "bookmark.name", 200).trim();
    if (!name) throw new ArgError("bookmark.name must not be empty: name the view");
    const view = { cx: finite(v.cx, "bookmark.view.cx"), cy: finite(v.cy, "bookmark.view.cy"), sx: finite(v.sx, "bookmark.view.sx"), sy: finite(v.sy, "bookmark.view.sy") };
    if (!(view.sx > 0 && view.sy > 0)) throw new ArgError(`bookmark.view.sx and .sy are axis units per pixel and must be > 0, got ${show(view.sx)}, ${show(view.sy)}`);
    return [{ sweepId: str(o.sweepId, "bookmark.sweepId", 200), name, view }];
  },
  deleteBookmark: (a) => (arity("deleteBookmark", a, ["id"]), [int(a[0], "id", 1)]),
  cancelSweep: (a) => (arity("cancelSweep", a, ["id"]), [str(a[0], "id", 200)]),
  resumeSweep: (a) => (arity("resumeSweep", a, ["id"]), [str(a[0], "id", 200)]),
  fillInSweep: (a) => (arity("fillInSweep", a, ["id"]), [str(a[0], "id", 200)]),
  listTargets: (a) => (arity("listTargets", a, []), []),
  listHosts: (a) => (arity("listHosts", a, []), []),
  addHost: (a) => (arity("addHost", a, ["host"]), [newHost(a[0])]),
  deleteHost: (a) => (arity("deleteHost", a, ["alias"]), [str(a[0], "alias", 200)]),
  listSamples: (a) => (arity("listSamples", a, ["id", "cell"]), [str(a[0], "id", 200), int(a[1], "cell", 0)]),
  generateSamples: (a) => (arity("generateSamples", a, ["id", "cell", "request"]), [str(a[0], "id", 200), int(a[1], "cell", 0), samplesRequest(a[2])]),
  startReproduction: (a) => (arity("startReproduction", a, ["req"]), [reproductionRequest(a[0])]),
  listReproductions: (a) => (arity("listReproductions", a, []), []),
  startSensitivity: (a) => (arity("startSensitivity", a, ["id", "perturbation"]), [str(a[0], "id", 200), perturbation(a[1])]),
  getSensitivity: (a) => (arity("getSensitivity", a, ["id", "perturbation"]), [str(a[0], "id", 200), perturbation(a[1])]),
  exportSweep: (a) => (arity("exportSweep", a, ["id", "request"]), [str(a[0], "id", 200), exportRequest(a[1])]),
  getEarlyWarning: (a) => (arity("getEarlyWarning", a, ["id", "options"]), [str(a[0], "id", 200), earlyWarningOptions(a[1])]),
  testHost: (a) => {
    arity("testHost", a, ["alias", "options"]);
    const o = plainObject(a[1], "options", ["acceptHostKeys"], ["acceptHostKeys"]);
    const keys = o.acceptHostKeys;
    if (!Array.isArray(keys) || keys.length > 8 || !keys.every((k) => typeof k === "string" && /^SHA256:[A-Za-z0-9+/]{43}$/.test(k))) {
      throw new ArgError(`options.acceptHostKeys must be a list of at most 8 fingerprints as shown ("SHA256:" and 43 characters), got ${show(keys)}`);
    }
    return [str(a[0], "alias", 200), { acceptHostKeys: [...keys] as string[] }];
  },
};


/** The method's parameters from untrusted arguments, or an ArgError naming the bad one. */
export function checkArgs(method: ApiMethod, args: unknown[]): unknown[] {
  return (ARG_CHECKS[method] as Checker<ApiMethod>)(args);
}
