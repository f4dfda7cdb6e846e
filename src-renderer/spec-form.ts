// The sweep editor's form, without React: a raw spec <-> form (one string per field, as typed), local
// per-field checks, and where the server's "spec field <path>: <detail>" messages go.
//
// The raw spec object stays the source of truth. The form shows the fields it knows; writing it back
// touches only the fields whose text changed, so anything else in the raw object (unknown keys, model.config,
// train.betas, record, an explicit null) survives a round trip byte for byte. Text that does not parse stays
// in the raw spec as a string, so the JSON view shows what was typed and the server names the field too.
//
// The allowed values and defaults are the validator's own (src-shared/spec.ts, from the agent's spec_values.json);
// test/ui/spec-form.test.ts checks every form this module produces against validate().

import { type CostEstimate, formatDuration } from "../src-shared/format";
import type { TargetInfo } from "../src-shared/contract";
import {
  AXIS_PARAMS, DATASET_PREFIXES, defaultOf as specDefault, EVAL_TASKS, type Family, GPT_GROUPS, INIT_OFFSET_FORMS, INTEGER_PARAMS,
  LORA_RANK_MAX, MAX_POINTS, MLP_ACTIVATIONS, MLP_GROUPS, OPTIMIZERS, PRECISIONS, SAMPLINGS, SCALES, SCHEDULES, SPEC_VERSION, FAMILIES,
} from "../src-shared/spec";

// ----------------------------------------------------------------------------- what the spec allows

// What the editor lists, as the validator allows it.
export {
  AXIS_PARAMS, EVAL_TASKS, FAMILIES, type Family, INIT_OFFSET_FORMS, INTEGER_PARAMS, LORA_RANK_MAX, MAX_POINTS, MLP_ACTIVATIONS,
  OPTIMIZERS, PRECISIONS, SAMPLINGS, SCALES, SCHEDULES, SPEC_VERSION,
};
export const GROUPS = { mlp: MLP_GROUPS, gpt: GPT_GROUPS };
/** remote-agent data.py FAMILIES: what synthetic[:families] can list. */
export const SYNTHETIC_FAMILIES = ["arithmetic", "reverse", "copy", "sort", "uppercase", "count"];
/** resources/tiny-gpt/config.json block_size: the built-in model's context. */
export const TINY_BLOCK_SIZE = 128;
export const CHECKPOINT_KINDS = ["tiny", "hf", "nanochat", "scratch"] as const;
export const DATASET_KINDS = DATASET_PREFIXES;

/** The form fields that show the validator's default for an absent value (as a placeholder or the select's choice). */
const SHOWN_DEFAULTS = new Set<string>(["model.width", "model.activation", "model.data_multiple", "model.seed", "model.init_offset_form",
  "model.checkpoint", "model.trainable", "model.lora_rank", "data.dataset", "data.seq_len", "data.heldout", "axes.x.scale", "axes.y.scale",
  "train.optimizer", "train.batch_size", "train.schedule", "train.warmup", "train.weight_decay", "train.precision", "criterion.window",
  "criterion.threshold", "sampling"]);

/** What the validator fills in for an absent field, as the form shows it ("" where it fills in nothing). */
export function defaultOf(family: string, path: FieldPath): string {
  if (!SHOWN_DEFAULTS.has(path) || (path === "model.init_offset_form" && family === "gpt")) return "";
  const v = specDefault(path.replace(/^axes\.[xy]\./, "axes."), family as Family);
  return v === null ? "" : String(v);
}

// ----------------------------------------------------------------------------- the form

const LR_FIELDS = ["train.lr", "train.lr.input", "train.lr.output", "train.lr.attn", "train.lr.mlp", "train.lr.embed",
  "train.lr.unembed", "train.lr.norm"] as const;

/** Every field the form edits. Most are spec paths; axes.<a>.lo/hi are the two ends of axes.<a>.range. */
export const FIELDS = [
  "name",
  "model.family", "model.width", "model.activation", "model.data_multiple", "model.datapoints", "model.init_offset_form",
  "model.checkpoint", "model.trainable", "model.lora_rank", "model.seed",
  "data.dataset", "data.size", "data.seq_len", "data.heldout", "data.ood", "data.evals",
  "axes.x.param", "axes.x.scale", "axes.x.lo", "axes.x.hi", "axes.x.points",
  "axes.y.param", "axes.y.scale", "axes.y.lo", "axes.y.hi", "axes.y.points",
  "train.steps", "train.epochs", "train.optimizer", "train.batch_size", "train.schedule", "train.warmup",
  "train.weight_decay", "train.grad_clip", "train.precision", ...LR_FIELDS,
  "criterion.window", "criterion.threshold", "sampling",
] as const;
export type FieldPath = (typeof FIELDS)[number];
/** One string per field, exactly as typed; "" means absent (the validator's default applies). */
export type Form = Record<FieldPath, string>;
/** Field messages keyed by slot: a spec path the editor shows a message beside (axes.x.range for lo and hi). */
export type Errors = Record<string, string>;

type Kind = "text" | "num" | "list";
type Obj = Record<string, unknown>;

/** Fields stored at their own path (the rest: axes ranges, train.lr, model.trainable are written as groups). */
const SIMPLE: Partial<Record<FieldPath, Kind>> = {
  "name": "text", "model.family": "text", "model.width": "num", "model.activation": "text",
  "model.data_multiple": "num", "model.datapoints": "num", "model.init_offset_form": "text", "model.checkpoint": "text", "model.seed": "num",
  "data.dataset": "text", "data.size": "num", "data.seq_len": "num", "data.heldout": "num", "data.ood": "text",
  "data.evals": "list",
  "axes.x.param": "text", "axes.x.scale": "text", "axes.x.points": "num",
  "axes.y.param": "text", "axes.y.scale": "text", "axes.y.points": "num",
  "train.steps": "num", "train.epochs": "num", "train.optimizer": "text", "train.batch_size": "num",
  "train.schedule": "text", "train.warmup": "num", "train.weight_decay": "num", "train.grad_clip": "num",
  "train.precision": "text", "criterion.window": "num", "criterion.threshold": "num", "sampling": "text",
};

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function at(root: unknown, path: string[]): unknown {
  let v = root;
  for (const k of path) v = isObj(v) ? v[k] : undefined;
  return v;
}

/** Set (or, for undefined, delete) root[path]; parents are created only to hold a value. */
function put(root: Obj, path: string[], v: unknown): void {
  let o = root;
  for (const k of path.slice(0, -1)) {
    if (!isObj(o[k])) {
      if (v === undefined) return;
      o[k] = {};
    }
    o = o[k] as Obj;
  }
  if (v === undefined) delete o[path[path.length - 1]];
  else o[path[path.length - 1]] = v;
}

/** The text a field shows for a raw value. Anything of the wrong type shows as JSON, so it reads back unchanged. */
function toText(v: unknown, kind: Kind): string {
  if (v === undefined || v === null) return "";
  if (kind === "num" && typeof v === "number") return String(v);
  if (kind === "text" && typeof v === "string") return v;
  if (kind === "list" && Array.isArray(v) && v.every((x) => typeof x === "string" && !x.includes(","))) return v.join(", ");
  return JSON.stringify(v);
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** JSON for what looks like it (a quoted string, a list, null), else the text itself. */
function jsonish(t: string): unknown {
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/** The raw value for a field's text; undefined for "" (absent). */
function fromText(text: string, kind: Kind): unknown {
  const t = text.trim();
  if (t === "") return undefined;
  if (kind === "num") return NUMBER.test(t) ? Number(t) : jsonish(t);
  if (kind === "list") return t.startsWith("[") ? jsonish(t) : t.split(",").map((s) => s.trim()).filter(Boolean);
  return text;
}

/** The form for a raw spec (anything: a half-typed JSON object shows what it has). */
export function specToForm(raw: unknown): Form {
  const form = Object.fromEntries(FIELDS.map((p) => [p, ""])) as Form;
  for (const [p, kind] of Object.entries(SIMPLE) as [FieldPath, Kind][]) form[p] = toText(at(raw, p.split(".")), kind);
  for (const a of ["x", "y"] as const) {
    const range = at(raw, ["axes", a, "range"]);
    if (Array.isArray(range) && range.length === 2) {
      form[`axes.${a}.lo`] = toText(range[0], "num");
      form[`axes.${a}.hi`] = toText(range[1], "num");
    } else {
      form[`axes.${a}.lo`] = toText(range, "num"); // not a pair: show it whole, the range check names it
    }
  }
  const lr = at(raw, ["train", "lr"]);
  if (isObj(lr)) {
    for (const p of LR_FIELDS.slice(1)) form[p] = toText(lr[p.slice("train.lr.".length)], "num");
  } else {
    form["train.lr"] = toText(lr, "num");
  }
  const trainable = at(raw, ["model", "trainable"]); // "all", "lora" or a list of groups
  form["model.trainable"] = typeof trainable === "string" ? trainable : toText(trainable, "list");
  form["model.lora_rank"] = toText(at(raw, ["model", "lora_rank"]), "num");
  return form;
}

/**
 * The raw spec for a form: `base` with every field whose text differs from base's own form written back. Fields
 * the form does not know, and known ones left alone, stay exactly as they were. Always returns a new object.
 */
export function formToSpec(form: Form, base: unknown): Obj {
  const out: Obj = isObj(base) ? structuredClone(base) : {};
  const was = specToForm(base);
  let any = false;
  const changed = (...ps: FieldPath[]) => {
    const c = ps.some((p) => form[p] !== was[p]);
    any ||= c;
    return c;
  };
  for (const [p, kind] of Object.entries(SIMPLE) as [FieldPath, Kind][]) {
    if (changed(p)) put(out, p.split("."), fromText(form[p], kind));
  }
  for (const a of ["x", "y"] as const) {
    const lo = `axes.${a}.lo` as const, hi = `axes.${a}.hi` as const;
    if (!changed(lo, hi)) continue;
    const both = [fromText(form[lo], "num"), fromText(form[hi], "num")];
    put(out, ["axes", a, "range"], both.every((v) => v === undefined) ? undefined : both.map((v) => v ?? null));
  }
  if (changed(...LR_FIELDS)) {
    // One number for every group, or {group: lr} for some; unknown keys of an existing object are kept.
    const all = fromText(form["train.lr"], "num");
    const old = at(out, ["train", "lr"]);
    const groups: Obj = isObj(old) ? { ...old } : {};
    for (const p of LR_FIELDS.slice(1)) {
      const v = fromText(form[p], "num");
      const g = p.slice("train.lr.".length);
      if (v === undefined) delete groups[g];
      else groups[g] = v;
    }
    put(out, ["train", "lr"], all !== undefined ? all : Object.keys(groups).length ? groups : undefined);
  }
  if (changed("model.trainable", "model.lora_rank")) {
    const t = form["model.trainable"].trim();
    put(out, ["model", "trainable"], t === "all" || t === "lora" ? t : fromText(t, "list"));
    // lora_rank is an error unless trainable is "lora" (spec.ts), so it goes with it.
    put(out, ["model", "lora_rank"], t === "lora" ? fromText(form["model.lora_rank"], "num") : undefined);
  }
  if (any && out.version === undefined) return { version: SPEC_VERSION, ...out }; // the form has no version field
  return out;
}

// ----------------------------------------------------------------------------- edits with consequences

/** A sensible scale and range (axis units) for a param, so picking "warmup" does not keep lr's log10 range. */
export function axisDefaults(family: string, param: string): { scale: "log" | "linear"; lo: number; hi: number } {
  if (param === "lr" || param.startsWith("lr.")) return family === "mlp" ? { scale: "log", lo: -3, hi: 6 } : { scale: "log", lo: -5, hi: -1 };
  if (param === "init_offset") return { scale: "linear", lo: -1, hi: 1 };
  if (param === "warmup" || param === "weight_decay") return { scale: "linear", lo: 0, hi: 0.5 };
  if (param === "dataset_size") return family === "mlp" ? { scale: "log", lo: 0, hi: 3 } : { scale: "log", lo: 1.5, hi: 3 };
  if (param === "tokens") return { scale: "log", lo: 3, hi: 6 };
  return { scale: "log", lo: 0, hi: 3 }; // batch_size, lora_rank: 1 .. 1000
}

/** The form after the user sets one field, with what follows from it (an axis's param sets its scale and range). */
export function editField(form: Form, path: FieldPath, value: string): Form {
  const next = { ...form, [path]: value };
  const m = /^axes\.([xy])\.param$/.exec(path);
  if (m && value !== form[path]) {
    const d = axisDefaults(form["model.family"], value);
    const a = m[1] as "x" | "y";
    Object.assign(next, { [`axes.${a}.scale`]: d.scale, [`axes.${a}.lo`]: String(d.lo), [`axes.${a}.hi`]: String(d.hi) });
  }
  return next;
}

/** Starting points when the family changes: the two families share no model, data or training fields. */
const TEMPLATES: Record<Family, Obj> = {
  mlp: {
    model: { family: "mlp", width: 16, activation: "tanh", seed: 0 },
    train: { optimizer: "gd", steps: 500 },
    axes: {
      x: { param: "lr.input", scale: "log", range: [-3, 6], points: 64 },
      y: { param: "lr.output", scale: "log", range: [-3, 6], points: 64 },
    },
  },
  gpt: {
    model: { family: "gpt", checkpoint: "tiny", trainable: "all", seed: 0 },
    data: { dataset: "synthetic:arithmetic,reverse,copy,uppercase,count", seq_len: 64, heldout: 32, ood: "synthetic:sort" },
    train: { optimizer: "adamw", batch_size: 8, epochs: 1, schedule: "cosine", warmup: 0.02, weight_decay: 0.1, grad_clip: 1.0, precision: "float32" },
    axes: {
      x: { param: "lr", scale: "log", range: [-5, -1], points: 32 },
      y: { param: "dataset_size", scale: "log", range: [1.5, 3], points: 16 },
    },
  },
};

/** The raw spec switched to another family: its model, data, training and axes from a template; the rest kept. */
export function withFamily(raw: unknown, family: Family): Obj {
  const out: Obj = isObj(raw) ? structuredClone(raw) : {};
  if (at(out, ["model", "family"]) === family) return out;
  for (const k of ["model", "data", "train", "axes"]) delete out[k];
  return { version: SPEC_VERSION, name: `new ${family} sweep`, ...structuredClone(TEMPLATES[family]), ...out };
}

/** "hf:gpt2" -> {kind: "hf", arg: "gpt2"}; "tiny" -> {kind: "tiny", arg: ""}. For checkpoints and datasets. */
export function splitSource(s: string): { kind: string; arg: string } {
  const i = s.indexOf(":");
  return i < 0 ? { kind: s.trim(), arg: "" } : { kind: s.slice(0, i).trim(), arg: s.slice(i + 1) };
}

export function joinSource(kind: string, arg: string): string {
  return kind && arg ? `${kind}:${arg}` : kind;
}

/** The values an axis covers, for the form to show beside log10 units ("1e-5 … 0.1"); null if lo/hi are not numbers. */
export function axisValues(form: Form, a: "x" | "y"): string | null {
  const lo = fromText(form[`axes.${a}.lo`], "num"), hi = fromText(form[`axes.${a}.hi`], "num");
  if (typeof lo !== "number" || typeof hi !== "number") return null;
  const log = form[`axes.${a}.scale`] === "log";
  const round = INTEGER_PARAMS.includes(form[`axes.${a}.param`]);
  const show = (v: number) => {
    const x = log ? 10 ** v : v;
    return String(round ? Math.round(x) : Number(x.toPrecision(3)));
  };
  return `${show(lo)} … ${show(hi)}`;
}

// ----------------------------------------------------------------------------- local checks

/**
 * Field-level messages for a form, checked as the user types (before the server's preview answers). They follow
 * spec.ts's rules, in words a researcher reads without the spec format; the server's validation stays the
 * authority and catches what these do not (e.g. fields the form does not show).
 */
export function checkForm(form: Form): Errors {
  const errs: Errors = {};
  const fail = (slot: string, msg: string) => { errs[slot] ??= msg; };
  const family = form["model.family"];

  // A number from a field; undefined when empty or wrong (then the message is recorded).
  const num = (p: FieldPath, o: { int?: boolean; lo?: number; hi?: number; loOpen?: boolean; hiOpen?: boolean; slot?: string; label?: string } = {}) => {
    const slot = o.slot ?? p, what = o.label ? `${o.label} ` : "";
    const t = form[p].trim();
    if (t === "") return undefined;
    if (!NUMBER.test(t)) return void fail(slot, `${what}must be a number${o.int ? " (a whole number)" : ""}, not "${t}"`);
    const v = Number(t);
    if (o.int && !Number.isInteger(v)) return void fail(slot, `${what}must be a whole number, not ${t}`);
    if (o.lo !== undefined && (v < o.lo || (o.loOpen && v === o.lo))) return void fail(slot, `${what}must be ${o.loOpen ? ">" : "≥"} ${o.lo}`);
    if (o.hi !== undefined && (v > o.hi || (o.hiOpen && v === o.hi))) return void fail(slot, `${what}must be ${o.hiOpen ? "<" : "≤"} ${o.hi}`);
    return v;
  };
  const pick = (p: FieldPath, choices: readonly string[]) => {
    if (form[p] !== "" && !choices.includes(form[p])) fail(p, `must be one of ${choices.join(", ")}`);
  };

  if (!form.name.trim()) fail("name", "give the sweep a name");
  if (family !== "mlp" && family !== "gpt") {
    fail("model.family", "choose mlp or gpt");
    return errs; // every other rule depends on the family
  }
  const axes = [form["axes.x.param"], form["axes.y.param"]];
  const swept = (param: string) => axes.includes(param);

  // model
  const trainable = form["model.trainable"].trim();
  if (family === "mlp") {
    num("model.width", { int: true, lo: 1, hi: 4096 });
    pick("model.activation", MLP_ACTIVATIONS);
    num("model.data_multiple", { lo: 0, loOpen: true });
    num("model.datapoints", { int: true, lo: 1 });
    pick("model.init_offset_form", INIT_OFFSET_FORMS);
  } else {
    if (form["model.init_offset_form"].trim()) fail("model.init_offset_form", "applies only to the mlp family (its init_offset axis); clear it");
    const { kind, arg } = splitSource(form["model.checkpoint"]);
    if (form["model.checkpoint"] !== "" && !["tiny", "scratch", "hf", "nanochat"].includes(kind)) {
      fail("model.checkpoint", "must be tiny, hf:<name or directory> or nanochat:<directory>");
    } else if ((kind === "hf" || kind === "nanochat") && !arg.trim()) {
      fail("model.checkpoint", kind === "hf" ? "give a Hugging Face name (e.g. gpt2) or a directory" : "give the nanochat checkpoint's directory");
    }
    if (trainable !== "" && trainable !== "all" && trainable !== "lora") {
      const groups = trainable.split(",").map((s) => s.trim());
      const bad = groups.filter((g) => !(GROUPS.gpt as readonly string[]).includes(g));
      if (bad.length) fail("model.trainable", `all, lora, or groups from ${GROUPS.gpt.join(", ")} (not ${bad.join(", ") || "an empty name"})`);
    }
    if (trainable === "lora") num("model.lora_rank", { int: true, lo: 1, hi: LORA_RANK_MAX });
    else if (form["model.lora_rank"].trim()) fail("model.lora_rank", "a rank applies only with trainable: LoRA; clear it");
  }
  num("model.seed", { int: true, lo: 0 });

  // data (gpt only)
  if (family === "gpt") {
    const dataset = form["data.dataset"] || "synthetic";
    checkSource(dataset, "data.dataset", fail);
    if (form["data.ood"]) {
      checkSource(form["data.ood"], "data.ood", fail);
      const shared = syntheticFamilies(dataset).filter((f) => syntheticFamilies(form["data.ood"]).includes(f));
      if (dataset.startsWith("synthetic") && form["data.ood"].startsWith("synthetic") && shared.length) {
        // spec.ts lets this through; the agent refuses it when the sweep starts (data.py check_ood).
        fail("data.ood", `shares ${shared.join(", ")} with the training set; list the training families, e.g. synthetic:`
          + syntheticFamilies(dataset).filter((f) => !shared.includes(f)).join(","));
      }
    }
    const size = num("data.size", { int: true, lo: 1 });
    if (size === undefined && !form["data.size"].trim() && !swept("dataset_size")) {
      fail("data.size", "how many training examples? (or sweep dataset_size on an axis)");
    }
    const seqLen = num("data.seq_len", { int: true, lo: 8, hi: 8192 });
    if ((seqLen ?? 128) > TINY_BLOCK_SIZE && (form["model.checkpoint"] || "tiny") === "tiny") {
      fail("data.seq_len", `the tiny model reads at most ${TINY_BLOCK_SIZE} tokens`);
    }
    num("data.heldout", { int: true, lo: 0 });
    const seen = new Set<string>();
    if (/^["[{]/.test(form["data.evals"].trim())) fail("data.evals", "list tasks separated by commas, e.g. hellaswag:200, piqa");
    else for (const e of form["data.evals"].split(",").map((s) => s.trim()).filter(Boolean)) {
      const [task, n] = e.includes(":") ? [e.slice(0, e.indexOf(":")), e.slice(e.indexOf(":") + 1)] : [e, null];
      if (!EVAL_TASKS.includes(task)) fail("data.evals", `"${task}" is not a task; tasks: ${EVAL_TASKS.join(", ")}`);
      else if (n !== null && !(/^[0-9]+$/.test(n) && Number(n) >= 1)) fail("data.evals", `${e}: the count after ":" must be a positive whole number`);
      else if (seen.has(task)) fail("data.evals", `${task} is listed twice`);
      seen.add(task);
    }
  }

  // axes
  const params: readonly string[] = AXIS_PARAMS[family];
  for (const a of ["x", "y"] as const) {
    const param = form[`axes.${a}.param`], scale = form[`axes.${a}.scale`] || "linear";
    if (!params.includes(param)) fail(`axes.${a}.param`, `choose one of ${params.join(", ")}`);
    pick(`axes.${a}.scale`, SCALES);
    const slot = `axes.${a}.range`;
    if (!form[`axes.${a}.lo`].trim() || !form[`axes.${a}.hi`].trim()) fail(slot, "give both ends of the range");
    const lo = num(`axes.${a}.lo`, { slot, label: "lo" }), hi = num(`axes.${a}.hi`, { slot, label: "hi" });
    if (!form[`axes.${a}.points`].trim()) fail(`axes.${a}.points`, "how many points along this axis?");
    num(`axes.${a}.points`, { int: true, lo: 2, hi: MAX_POINTS });
    if (lo !== undefined && hi !== undefined) {
      if (!(lo < hi)) fail(slot, "lo must be below hi");
      const [vlo, vhi] = scale === "log" ? [10 ** lo, 10 ** hi] : [lo, hi];
      const unit = scale === "log" ? " (log10 units: 0 is 1)" : "";
      if (INTEGER_PARAMS.includes(param) && Math.round(vlo) < 1) fail(slot, `${param} must be at least 1 across the range${unit}`);
      if (param === "warmup" && !(vlo >= 0 && vhi < 1)) fail(slot, "warmup is a fraction of the steps: the range must lie in [0, 1)");
      if ((param.startsWith("lr") || param === "weight_decay") && vlo < 0) fail(slot, `${param} cannot be negative`);
    }
    if (param === "init_offset" && scale === "log") fail(`axes.${a}.scale`, "init_offset takes negative values; use linear");
    if (param === "lora_rank" && trainable !== "lora") fail(`axes.${a}.param`, "lora_rank needs trainable: lora");
    if (family === "mlp" && param === "batch_size" && form["train.optimizer"] !== "sgd") {
      fail(`axes.${a}.param`, "batch_size needs minibatch training: set the optimizer to sgd");
    }
  }
  const [px, py] = axes;
  if (px && px === py) fail("axes.y.param", "must differ from x");
  if (axes.includes("lr") && axes.some((p) => p.startsWith("lr."))) fail("axes.y.param", "lr sets every group's LR; it cannot go with a per-group lr.<group> axis");
  if (swept("dataset_size") && swept("tokens")) fail("axes.y.param", "dataset_size and tokens both set the amount of training data; sweep one");

  // training
  pick("train.optimizer", OPTIMIZERS[family]);
  const steps = num("train.steps", { int: true, lo: 1 });
  if (family === "mlp") {
    if (!form["train.steps"].trim()) fail("train.steps", "how many training steps?");
    if (form["train.epochs"].trim()) fail("train.epochs", "the MLP trains for a number of steps; use steps");
  } else {
    num("train.epochs", { lo: 0, loOpen: true });
    if (form["train.steps"].trim() && form["train.epochs"].trim()) fail("train.epochs", "give steps or epochs, not both");
  }
  num("train.batch_size", { int: true, lo: 1 });
  if (family === "mlp" && form["train.optimizer"] === "sgd" && !form["train.batch_size"].trim()) {
    fail("train.batch_size", "sgd draws minibatches: give their size");
  }
  pick("train.schedule", SCHEDULES);
  num("train.warmup", { lo: 0, hi: 1, hiOpen: true });
  num("train.weight_decay", { lo: 0 });
  num("train.grad_clip", { lo: 0, loOpen: true });
  pick("train.precision", PRECISIONS[family]);
  pick("sampling", SAMPLINGS);
  const groups: readonly string[] = GROUPS[family];
  num("train.lr", { lo: 0 });
  for (const g of groups) num(`train.lr.${g}` as FieldPath, { lo: 0 });
  const fixed = (g: string) => form["train.lr"].trim() !== "" || form[`train.lr.${g}` as FieldPath].trim() !== "";
  if (form["train.lr"].trim() && groups.some((g) => form[`train.lr.${g}` as FieldPath].trim())) {
    fail("train.lr", "give one LR for every group or LRs per group, not both");
  }
  const missing = groups.filter((g) => !swept("lr") && !swept(`lr.${g}`) && !fixed(g));
  if (missing.length) fail("train.lr", `no LR for ${missing.join(", ")}: give one here, or sweep it on an axis`);

  // convergence criterion
  const window = num("criterion.window", { int: true, lo: 1 });
  if (window !== undefined && steps !== undefined && window > steps + 1) fail("criterion.window", `must be ≤ steps + 1 = ${steps + 1}`);
  num("criterion.threshold", { lo: 0, loOpen: true });
  return errs;
}

function syntheticFamilies(ds: string): string[] {
  if (!ds.startsWith("synthetic")) return [];
  const { arg } = splitSource(ds);
  return arg.trim() ? arg.split(",").map((s) => s.trim()).filter(Boolean) : SYNTHETIC_FAMILIES;
}

function checkSource(ds: string, slot: string, fail: (slot: string, msg: string) => void): void {
  const { kind, arg } = splitSource(ds);
  if (!(DATASET_KINDS as readonly string[]).includes(kind)) {
    fail(slot, "must be synthetic[:families], smoltalk[:subset], smol-smoltalk or jsonl:<path>");
  } else if (kind === "jsonl" && !arg.trim()) {
    fail(slot, "give the path of a .jsonl file of {\"messages\": [...]} rows");
  } else if (kind === "smol-smoltalk" && arg.trim()) {
    fail(slot, "smol-smoltalk has no subsets");
  } else if (kind === "synthetic") {
    const fams = syntheticFamilies(ds);
    const bad = fams.filter((f) => !SYNTHETIC_FAMILIES.includes(f));
    if (bad.length) fail(slot, `unknown synthetic famil${bad.length > 1 ? "ies" : "y"} ${bad.join(", ")}; families: ${SYNTHETIC_FAMILIES.join(", ")}`);
    else if (new Set(fams).size !== fams.length) fail(slot, "a family is listed twice");
  }
}

// ----------------------------------------------------------------------------- server messages

/** The field and detail of the server's "spec field <path>: <detail>"; null for any other message. */
export function parseServerError(message: string): { path: string; detail: string } | null {
  const m = /^spec field ([^\s:]*): ([\s\S]*)$/.exec(message);
  return m ? { path: m[1], detail: m[2] } : null;
}

const SLOTS = new Set<string>([...FIELDS.filter((p) => !/\.(lo|hi)$/.test(p)), "axes.x.range", "axes.y.range"]);

/**
 * Where a message about spec path `path` shows: the field itself, or the nearest enclosing one the form has
 * (data.evals[1] -> data.evals, axes.x.range[0] -> axes.x.range); null when none (model.config.n_head, version).
 */
export function errorSlot(path: string): string | null {
  let p = path;
  while (p) {
    if (SLOTS.has(p)) return p;
    const stripped = p.replace(/\[\d+\]$/, "");
    p = stripped !== p ? stripped : p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "";
  }
  return null;
}

// ----------------------------------------------------------------------------- targets

/** A target picker option: "gpu-box — 8× NVIDIA H100 (80 GiB)", "local — this computer (CPU)". */
export function targetOption(t: TargetInfo): string {
  if (t.kind === "local") return `${t.target} — ${t.description}`;
  if (t.gpus === null) return `${t.target} — not probed yet (test it in hosts)`;
  if (t.gpus.length === 0) return `${t.target} — no GPU found (CPU)`;
  const counts = new Map<string, number>();
  for (const g of t.gpus) counts.set(g, (counts.get(g) ?? 0) + 1);
  return `${t.target} — ${[...counts].map(([g, n]) => `${n}× ${g}`).join(", ")}`;
}

/** A run estimated longer than this asks before it starts (a typo of 1e9 steps should not start a months-long run). */
export const LONG_RUN_SECONDS = 4 * 3600;
/** Without a time estimate (unknown FLOPs), this many training steps over all cells asks too. */
export const LONG_RUN_STEPS = 1e9;

/**
 * Why a sweep of this cost needs a confirmation before it starts ("~105221h41m on H100 …"), or null when it does not:
 * the measured time on the target when there is one, else the guess from FLOPs, else the total steps.
 */
export function longRun(cost: CostEstimate): string | null {
  const seconds = cost.measured?.seconds ?? cost.seconds;
  if (seconds !== null && seconds > LONG_RUN_SECONDS) return `about ${formatDuration(seconds)} (${cost.cells} cells, ${cost.steps} steps in all)`;
  if (seconds === null && cost.steps > LONG_RUN_STEPS) return `${cost.steps} training steps over ${cost.cells} cells, time unknown`;
  return null;
}
