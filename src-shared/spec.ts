// Sweep spec: validation and defaults, a line-by-line mirror of remote-agent/fractal_agent/spec.py.
// Both sides must accept and reject exactly the same fixtures (test/fixtures/specs) and produce the same
// normalised spec; test/core/spec.test.ts checks this against the Python validator. Keep them in step:
// the order of checks matters, because it decides which field an error names.

// The allowed values and defaults live once, in the agent's spec_values.json (spec.py reads the same file).
import VALUES from "../remote-agent/fractal_agent/spec_values.json";

export type Family = "mlp" | "gpt";
export type Scale = "log" | "linear";
type Schedule = "constant" | "cosine" | "wsd";
type Activation = "tanh" | "relu" | "identity";

export const SPEC_VERSION = VALUES.version as 1;
export const MAX_POINTS = VALUES.max_points;

export const FAMILIES = VALUES.families as readonly Family[];
export const MLP_ACTIVATIONS = VALUES.mlp_activations as readonly Activation[];
export const MLP_GROUPS = VALUES.groups.mlp;
export const GPT_GROUPS = VALUES.groups.gpt;
export const OPTIMIZERS: Record<Family, readonly string[]> = VALUES.optimizers;
export const SCHEDULES = VALUES.schedules as readonly Schedule[];
export const PRECISIONS: Record<Family, readonly string[]> = VALUES.precisions;
export const SCALES = VALUES.scales as readonly Scale[];

export const AXIS_PARAMS: Record<Family, readonly string[]> = VALUES.axis_params;
export const INTEGER_PARAMS = VALUES.integer_params;
export const EVAL_TASKS = VALUES.eval_tasks; // multiple-choice data.evals
/** A generated multiple-choice task (the agent's evals.py synthetic_<family>): no file to read or upload. */
export const isSyntheticEval = (task: string): boolean => task.startsWith("synthetic_");
export const LORA_RANK_MAX = VALUES.lora_rank_max;
/** "grid": every cell trained; "boundary": solid guessing, uniform blocks inferred (the agent's sampling.py). */
export type Sampling = "grid" | "boundary";
export const SAMPLINGS = VALUES.samplings as readonly Sampling[];
export const BOUNDARY_AUDIT_FRACTION = VALUES.boundary_audit_fraction;

/** The value a spec gets for an absent field (spec_values.json "defaults"): by spec path, some by family. */
export function defaultOf(path: string, family?: Family): unknown {
  const d = (VALUES.defaults as Record<string, unknown>)[path];
  if (d === undefined) throw new Error(`spec_values.json has no default for ${path}`);
  return d !== null && typeof d === "object" && !Array.isArray(d) ? (d as Record<string, unknown>)[family ?? ""] ?? null : d;
}

const TOP_KEYS = ["version", "name", "model", "data", "train", "axes", "criterion", "parent", "record", "sampling"];
const MLP_MODEL_KEYS = ["family", "width", "activation", "data_multiple", "datapoints", "seed", "init_offset_form"];
/** init_offset added to W0 once at initialisation, or before every training step (the paper's notebook);
 *  kept in the normalised spec only when not the default (spec.py INIT_OFFSET_FORMS). */
export const INIT_OFFSET_FORMS = VALUES.init_offset_forms as readonly ("once" | "every_step")[];
const GPT_MODEL_KEYS = ["family", "checkpoint", "config", "trainable", "lora_rank", "seed"];
const GPT_CONFIG_KEYS = ["n_layer", "n_head", "n_embd", "block_size", "vocab_size"];
const DATA_KEYS = ["dataset", "size", "seq_len", "heldout", "ood", "evals", "evals_dir"];
const TRAIN_KEYS = ["optimizer", "steps", "epochs", "batch_size", "schedule", "warmup", "weight_decay", "grad_clip",
  "precision", "lr", "betas"];
const AXIS_KEYS = ["param", "scale", "range", "points"];
const CRITERION_KEYS = ["window", "threshold"];
const PARENT_KEYS = ["sweep"];
const RECORD_KEYS = ["curves"];
export const DATASET_PREFIXES = VALUES.dataset_prefixes;

/** Sweeps with more cells than this do not journal per-cell curves unless record.curves says so. */
export const CURVES_DEFAULT_MAX_CELLS = VALUES.curves_default_max_cells;


export interface Axis { param: string; scale: Scale; range: [number, number]; points: number }

export interface MlpModel {
  family: "mlp"; width: number; activation: Activation; data_multiple: number;
  datapoints: number | null; seed: number; init_offset_form?: "every_step";
}
export interface GptConfig { n_layer: number; n_head: number; n_embd: number; block_size: number; vocab_size: number }
export interface GptModel {
  family: "gpt"; checkpoint: string; config?: GptConfig; trainable: "all" | "lora" | string[]; lora_rank?: number;
  seed: number;
}
export interface DataSpec {
  dataset: string; size: number | null; seq_len: number; heldout: number; ood: string | null; evals: string[];
  evals_dir: string | null;
}
export interface TrainSpec {
  optimizer: string; steps: number | null; epochs: number | null; batch_size: number | null;
  schedule: Schedule; warmup: number; weight_decay: number; grad_clip: number | null;
  precision: string; betas: [number, number]; lr: Record<string, number>;
}

/** A validated spec with every default filled in (what `validate` returns). */
export interface Spec {
  version: 1;
  name: string;
  model: MlpModel | GptModel;
  data?: DataSpec;
  train: TrainSpec;
  axes: { x: Axis; y: Axis };
  criterion: { window: number; threshold: number };
  parent: { sweep: string } | null;
  record: { curves: boolean };
  /** Present only when not the default "grid" (a grid sweep's id stays what it was before sampling existed). */
  sampling?: "boundary";
}

/** An invalid spec: `field` is the dotted path of the offending field (same as Python's SpecError.field). */
export class SpecError extends Error {
  readonly field: string;
  readonly detail: string;
  constructor(field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.name = "SpecError";
    this.field = field;
    this.detail = detail;
  }
}

// ----------------------------------------------------------------------------- Python look-alikes

type Obj = Record<string, unknown>;

/**
 * A value in a message as JSON writes it (null, true, "abc", [6, -3]), the way the user wrote it in the spec: messages
 * reach the editor and the CLI, so no Python spelling (None, 'abc', 6.0). Mirrors spec.py _show().
 */
export function shown(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return String(v);
  if (Array.isArray(v)) return `[${v.map(shown).join(", ")}]`;
  if (typeof v === "object") return `{${Object.entries(v as Obj).map(([k, x]) => `${JSON.stringify(k)}: ${shown(x)}`).join(", ")}}`;
  return String(v);
}

function pyFloatStr(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  return String(v);
}

/** Python's `format(v, "g")`: 6 significant digits, trailing zeros dropped. */
export function pyG(v: number): string {
  if (!Number.isFinite(v)) return pyFloatStr(v);
  if (v === 0) return "0";
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(6)))));
  if (exp < -4 || exp >= 6) {
    const [m, e] = v.toExponential(5).split("e");
    const mant = m.includes(".") ? m.replace(/\.?0+$/, "") : m;
    const n = Number(e);
    return `${mant}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  const s = v.toFixed(Math.max(0, 5 - exp));
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

/** Python's round(): half to even (integer params use it, so cells agree on e.g. round(2.5) == 2). */
export function pyRound(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

function has(o: Obj, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** dict.get(k, dflt): the default applies only when the key is absent (an explicit null stays null). */
function get(o: Obj, k: string, dflt: unknown = null): unknown {
  return has(o, k) ? o[k] : dflt;
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function allowed(values: readonly unknown[]): string {
  return values.map((v) => String(v)).join(", ");
}

// ----------------------------------------------------------------------------- field checks

function obj(raw: unknown, field: string, keys: readonly string[]): Obj {
  if (!isObj(raw)) throw new SpecError(field, `must be an object with keys ${allowed(keys)}`);
  for (const k of Object.keys(raw)) {
    if (!keys.includes(k)) throw new SpecError(field ? `${field}.${k}` : k, `unknown field; allowed: ${allowed(keys)}`);
  }
  return raw;
}

function isNum(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}

function num(raw: unknown, field: string, o: { lo?: number; hi?: number; loOpen?: boolean; hiOpen?: boolean } = {}): number {
  if (!isNum(raw)) throw new SpecError(field, `must be a finite number, got ${shown(raw)}`);
  if (o.lo !== undefined && (raw < o.lo || (o.loOpen && raw === o.lo))) {
    throw new SpecError(field, `must be ${o.loOpen ? ">" : "≥"} ${o.lo}, got ${shown(raw)}`);
  }
  if (o.hi !== undefined && (raw > o.hi || (o.hiOpen && raw === o.hi))) {
    throw new SpecError(field, `must be ${o.hiOpen ? "<" : "≤"} ${o.hi}, got ${shown(raw)}`);
  }
  return raw;
}

function int(raw: unknown, field: string, lo?: number, hi?: number): number {
  if (typeof raw !== "number" || !Number.isInteger(raw)) throw new SpecError(field, `must be an integer, got ${shown(raw)}`);
  if (lo !== undefined && raw < lo) throw new SpecError(field, `must be ≥ ${lo}, got ${raw}`);
  if (hi !== undefined && raw > hi) throw new SpecError(field, `must be ≤ ${hi}, got ${raw}`);
  return raw;
}

function choice<T extends string>(raw: unknown, field: string, choices: readonly T[]): T {
  if (!(choices as readonly unknown[]).includes(raw)) {
    throw new SpecError(field, `must be one of ${allowed(choices)}, got ${shown(raw)}`);
  }
  return raw as T;
}

function str(raw: unknown, field: string): string {
  if (typeof raw !== "string" || !raw.trim()) throw new SpecError(field, `must be a non-empty string, got ${shown(raw)}`);
  return raw;
}

// ----------------------------------------------------------------------------- validation

/** Return the normalised spec (a new object with defaults filled in) or throw SpecError. */
export function validate(raw: unknown): Spec {
  const spec = obj(raw === undefined ? raw : structuredClone(raw), "", TOP_KEYS);
  if (!has(spec, "version")) throw new SpecError("version", `required; this agent reads version ${SPEC_VERSION}`);
  if (spec.version !== SPEC_VERSION) throw new SpecError("version", `must be ${SPEC_VERSION}, got ${shown(spec.version)}`);
  spec.name = str(get(spec, "name"), "name");

  const model = obj(get(spec, "model"), "model", [...MLP_MODEL_KEYS, ...GPT_MODEL_KEYS]);
  const family = choice(get(model, "family"), "model.family", FAMILIES);
  if (family === "mlp") {
    validateMlpModel(model);
    if (has(spec, "data")) throw new SpecError("data", "does not apply to model family mlp (its data is drawn from model.seed)");
  } else {
    validateGptModel(model);
    spec.data = validateData(get(spec, "data", {}));
  }

  const train = (spec.train = validateTrain(get(spec, "train"), family));
  const axes = (spec.axes = validateAxes(get(spec, "axes"), family));
  validateLrCoverage(train, axes, family);
  for (const a of ["x", "y"] as const) {
    if (axes[a].param === "lora_rank" && model.trainable !== "lora") {
      throw new SpecError(`axes.${a}.param`, 'lora_rank applies only with model.trainable "lora"');
    }
  }
  if (family === "mlp" && train.optimizer !== "sgd" && (axes.x.param === "batch_size" || axes.y.param === "batch_size")) {
    const axis = axes.x.param === "batch_size" ? "x" : "y";
    throw new SpecError(`axes.${axis}.param`, "batch_size applies to minibatch training only; set train.optimizer to sgd");
  }
  if (family === "gpt" && axes.x.param !== "dataset_size" && axes.y.param !== "dataset_size"
      && (spec.data as DataSpec).size === null) {
    throw new SpecError("data.size", "required (number of training examples) unless an axis sweeps dataset_size");
  }

  const crit = obj(get(spec, "criterion", {}), "criterion", CRITERION_KEYS);
  crit.window = int(get(crit, "window", defaultOf("criterion.window")), "criterion.window", 1);
  crit.threshold = num(get(crit, "threshold", defaultOf("criterion.threshold")), "criterion.threshold", { lo: 0, loOpen: true });
  if (train.steps !== null && (crit.window as number) > train.steps + 1) {
    throw new SpecError("criterion.window", `must be ≤ train.steps + 1 = ${train.steps + 1}, got ${crit.window}`);
  }
  spec.criterion = crit;

  if (has(spec, "parent") && spec.parent !== null) {
    const parent = obj(spec.parent, "parent", PARENT_KEYS);
    str(get(parent, "sweep"), "parent.sweep");
  } else {
    spec.parent = null;
  }

  const record = obj(get(spec, "record", {}), "record", RECORD_KEYS);
  let curves = get(record, "curves");
  if (curves === null) {
    curves = family === "gpt" || axes.x.points * axes.y.points <= CURVES_DEFAULT_MAX_CELLS;
  } else if (typeof curves !== "boolean") {
    throw new SpecError("record.curves", `must be true or false, got ${shown(curves)}`);
  }
  spec.record = { curves };

  // Kept in the normalised spec only when not the default, so a grid sweep's id (a hash of it) does not change.
  const mode = choice(get(spec, "sampling", defaultOf("sampling")), "sampling", SAMPLINGS);
  if (mode === defaultOf("sampling")) delete spec.sampling;
  else spec.sampling = mode;
  return spec as unknown as Spec;
}

/** A validated spec's sampling mode ("grid" when the normalised spec leaves it out). */
export function samplingOf(spec: Pick<Spec, "sampling">): Sampling {
  return spec.sampling ?? (defaultOf("sampling") as Sampling);
}

function validateMlpModel(model: Obj): void {
  model.width = int(get(model, "width", defaultOf("model.width")), "model.width", 1, 4096);
  model.activation = choice(get(model, "activation", defaultOf("model.activation")), "model.activation", MLP_ACTIVATIONS);
  model.data_multiple = num(get(model, "data_multiple", defaultOf("model.data_multiple")), "model.data_multiple", { lo: 0, loOpen: true });
  model.datapoints = get(model, "datapoints") !== null ? int(model.datapoints, "model.datapoints", 1) : null;
  model.seed = int(get(model, "seed", defaultOf("model.seed")), "model.seed", 0);
  const form = choice(get(model, "init_offset_form", defaultOf("model.init_offset_form")), "model.init_offset_form", INIT_OFFSET_FORMS);
  if (form === "once") delete model.init_offset_form;
  else model.init_offset_form = form;
  for (const k of Object.keys(model)) {
    if (!MLP_MODEL_KEYS.includes(k)) {
      throw new SpecError(`model.${k}`, `does not apply to model family mlp; allowed: ${allowed(MLP_MODEL_KEYS)}`);
    }
  }
}

function validateGptModel(model: Obj): void {
  for (const k of Object.keys(model)) {
    if (!GPT_MODEL_KEYS.includes(k)) {
      throw new SpecError(`model.${k}`, `does not apply to model family gpt; allowed: ${allowed(GPT_MODEL_KEYS)}`);
    }
  }
  const ckpt = str(get(model, "checkpoint", defaultOf("model.checkpoint")), "model.checkpoint");
  if (!(ckpt === "tiny" || ckpt === "scratch" || ckpt.startsWith("hf:") || ckpt.startsWith("nanochat:"))) {
    throw new SpecError("model.checkpoint",
      `must be tiny, scratch, hf:<name or directory> or nanochat:<directory>, got ${shown(ckpt)}`);
  }
  model.checkpoint = ckpt;
  if (ckpt === "scratch") {
    const cfg = obj(get(model, "config"), "model.config", GPT_CONFIG_KEYS);
    for (const k of ["n_layer", "n_head", "n_embd"]) {
      if (!has(cfg, k)) throw new SpecError(`model.config.${k}`, "required for checkpoint scratch");
      cfg[k] = int(cfg[k], `model.config.${k}`, 1, 1 << 16);
    }
    if ((cfg.n_embd as number) % (cfg.n_head as number)) {
      throw new SpecError("model.config.n_embd", `must be a multiple of n_head (${cfg.n_head})`);
    }
    cfg.block_size = int(get(cfg, "block_size", 1024), "model.config.block_size", 1);
    cfg.vocab_size = int(get(cfg, "vocab_size", 50257), "model.config.vocab_size", 2);
  } else if (has(model, "config")) {
    throw new SpecError("model.config", "applies only to checkpoint scratch (other checkpoints carry their own)");
  }
  const trainable = get(model, "trainable", defaultOf("model.trainable"));
  if (trainable !== "all" && trainable !== "lora") {
    if (!Array.isArray(trainable) || trainable.length === 0) {
      throw new SpecError("model.trainable", `must be "all", "lora" or a non-empty list of groups from ${allowed(GPT_GROUPS)}`);
    }
    trainable.forEach((g, i) => choice(g, `model.trainable[${i}]`, GPT_GROUPS));
  }
  if (trainable === "lora") {
    model.lora_rank = int(get(model, "lora_rank", defaultOf("model.lora_rank")), "model.lora_rank", 1, LORA_RANK_MAX);
  } else if (has(model, "lora_rank")) {
    throw new SpecError("model.lora_rank", 'applies only to model.trainable "lora"');
  }
  model.trainable = trainable;
  model.seed = int(get(model, "seed", defaultOf("model.seed")), "model.seed", 0);
}

function datasetOk(ds: string): boolean {
  return DATASET_PREFIXES.includes(ds.split(":", 1)[0]);
}

function validateData(raw: unknown): DataSpec {
  const data = obj(raw, "data", DATA_KEYS);
  const ds = str(get(data, "dataset", defaultOf("data.dataset")), "data.dataset");
  if (!datasetOk(ds)) {
    throw new SpecError("data.dataset", `must be synthetic[:families], smoltalk[:subset], smol-smoltalk or jsonl:<path>, got ${shown(ds)}`);
  }
  if (ds.startsWith("jsonl") && !ds.startsWith("jsonl:")) throw new SpecError("data.dataset", "jsonl needs a path: jsonl:<path>");
  data.dataset = ds;
  data.size = get(data, "size") !== null ? int(data.size, "data.size", 1) : null;
  data.seq_len = int(get(data, "seq_len", defaultOf("data.seq_len")), "data.seq_len", 8, 8192);
  data.heldout = int(get(data, "heldout", defaultOf("data.heldout")), "data.heldout", 0);
  let ood = get(data, "ood");
  if (ood !== null) {
    ood = str(ood, "data.ood");
    if (!datasetOk(ood as string)) {
      throw new SpecError("data.ood", `must be synthetic[:families], smoltalk[:subset], smol-smoltalk or jsonl:<path>, got ${shown(ood)}`);
    }
  }
  data.ood = ood;
  const evals = get(data, "evals", []);
  if (!Array.isArray(evals)) {
    throw new SpecError("data.evals", `must be a list of "task" or "task:n" strings (tasks: ${allowed(EVAL_TASKS)})`);
  }
  const seen = new Set<string>();
  evals.forEach((e: unknown, i: number) => {
    const [task, n] = typeof e === "string" ? [e.split(":", 1)[0], e.includes(":") ? e.slice(e.indexOf(":") + 1) : null] : [null, null];
    const countOk = n === null || (/^[0-9]+$/.test(n) && Number(n) >= 1);
    if (task === null || !EVAL_TASKS.includes(task) || !countOk) {
      throw new SpecError(`data.evals[${i}]`, `must be "task" or "task:n" with task one of ${allowed(EVAL_TASKS)} `
        + `and n a positive integer (the first n items), got ${shown(e)}`);
    }
    if (seen.has(task)) throw new SpecError(`data.evals[${i}]`, `task ${task} is listed twice`);
    seen.add(task);
  });
  data.evals = [...evals];
  // Directory of <task>.jsonl files (~ allowed); null: $FRACTAL_AGENT_EVALS, <resources>/evals, `datasets`.
  const evalsDir = get(data, "evals_dir");
  data.evals_dir = evalsDir !== null ? str(evalsDir, "data.evals_dir") : null;
  return data as unknown as DataSpec;
}

function validateTrain(raw: unknown, family: Family): TrainSpec {
  const train = obj(raw, "train", TRAIN_KEYS);
  train.optimizer = choice(get(train, "optimizer", defaultOf("train.optimizer", family)), "train.optimizer",
    OPTIMIZERS[family] as readonly string[]);
  if (family === "mlp" && !has(train, "steps")) throw new SpecError("train.steps", "required for model family mlp");
  train.steps = get(train, "steps") !== null ? int(train.steps, "train.steps", 1) : null;
  let epochs = get(train, "epochs");
  if (family === "mlp" && epochs !== null) throw new SpecError("train.epochs", "does not apply to model family mlp; use train.steps");
  if (family === "gpt") {
    if (train.steps !== null && epochs !== null) throw new SpecError("train.epochs", "give train.steps or train.epochs, not both");
    epochs = train.steps === null ? num(epochs !== null ? epochs : defaultOf("train.epochs", family), "train.epochs", { lo: 0, loOpen: true }) : null;
  }
  train.epochs = epochs;
  const bs = get(train, "batch_size");
  if (family === "mlp") {
    train.batch_size = bs !== null ? int(bs, "train.batch_size", 1) : null;
    if (train.optimizer === "sgd" && train.batch_size === null) {
      throw new SpecError("train.batch_size", "required for optimizer sgd (minibatch size)");
    }
  } else {
    train.batch_size = int(bs !== null ? bs : defaultOf("train.batch_size", family), "train.batch_size", 1);
  }
  train.schedule = choice(get(train, "schedule", defaultOf("train.schedule")), "train.schedule", SCHEDULES);
  train.warmup = num(get(train, "warmup", defaultOf("train.warmup")), "train.warmup", { lo: 0, hi: 1, hiOpen: true });
  train.weight_decay = num(get(train, "weight_decay", defaultOf("train.weight_decay")), "train.weight_decay", { lo: 0 });
  const gc = get(train, "grad_clip");
  train.grad_clip = gc !== null ? num(gc, "train.grad_clip", { lo: 0, loOpen: true }) : null;
  train.precision = choice(get(train, "precision", defaultOf("train.precision", family)), "train.precision",
    PRECISIONS[family] as readonly string[]);
  const betas = get(train, "betas", defaultOf("train.betas"));
  if (!(Array.isArray(betas) && betas.length === 2)) throw new SpecError("train.betas", "must be a list of two numbers in [0, 1)");
  train.betas = betas.map((b, i) => num(b, `train.betas[${i}]`, { lo: 0, hi: 1, hiOpen: true }));
  const groups: readonly string[] = family === "mlp" ? MLP_GROUPS : GPT_GROUPS;
  const lr = get(train, "lr");
  if (lr === null) {
    train.lr = {};
  } else if (isObj(lr)) {
    for (const [g, v] of Object.entries(lr)) {
      choice(g, "train.lr", groups);
      num(v, `train.lr.${g}`, { lo: 0 });
    }
    train.lr = { ...lr };
  } else {
    const v = num(lr, "train.lr", { lo: 0 });
    train.lr = Object.fromEntries(groups.map((g) => [g, v]));
  }
  return train as unknown as TrainSpec;
}

function validateAxes(raw: unknown, family: Family): { x: Axis; y: Axis } {
  const axes = obj(raw, "axes", ["x", "y"]);
  const out: Partial<Record<"x" | "y", Axis>> = {};
  for (const name of ["x", "y"] as const) {
    const f = `axes.${name}`;
    if (!has(axes, name)) throw new SpecError(f, "required");
    const ax = obj(axes[name], f, AXIS_KEYS);
    const param = get(ax, "param");
    const params: readonly string[] = AXIS_PARAMS[family];
    if (!params.includes(param as string)) {
      const other = FAMILIES.some((fam) => fam !== family && (AXIS_PARAMS[fam] as readonly string[]).includes(param as string));
      const why = other ? `does not apply to model family ${family}` : "unknown parameter";
      throw new SpecError(`${f}.param`, `${why} ${shown(param)}; allowed for ${family}: ${allowed(params)}`);
    }
    const scale = choice(get(ax, "scale", defaultOf("axes.scale")), `${f}.scale`, SCALES);
    const rng = get(ax, "range");
    if (!(Array.isArray(rng) && rng.length === 2)) {
      throw new SpecError(`${f}.range`, "must be [lo, hi] with lo < hi (log10 units for a log axis)");
    }
    const lo = num(rng[0], `${f}.range[0]`);
    const hi = num(rng[1], `${f}.range[1]`);
    if (!(lo < hi)) {
      throw new SpecError(`${f}.range`, `must be [lo, hi] with lo < hi, got ${shown([lo, hi])} (empty or reversed)`);
    }
    const points = int(get(ax, "points"), `${f}.points`, 1, MAX_POINTS);
    checkParamValues(param as string, scale, lo, hi, f);
    out[name] = { param: param as string, scale, range: [lo, hi], points };
  }
  const { x, y } = out as { x: Axis; y: Axis };
  const px = x.param, py = y.param;
  if (px === py) throw new SpecError("axes.y.param", `must differ from axes.x.param (${shown(px)})`);
  if ((px === "lr" || py === "lr") && (px.startsWith("lr.") || py.startsWith("lr."))) {
    throw new SpecError("axes.y.param", "lr sets every group's LR; it cannot be combined with a per-group lr.<group> axis");
  }
  if (new Set([px, py]).size === 2 && [px, py].includes("dataset_size") && [px, py].includes("tokens")) {
    throw new SpecError("axes.y.param", "dataset_size and tokens both set the amount of training data; sweep one");
  }
  return { x, y };
}

/** Reject ranges whose values are meaningless for the param (the whole range is checked). */
function checkParamValues(param: string, scale: Scale, lo: number, hi: number, field: string): void {
  const [vlo, vhi] = scale === "log" ? [10.0 ** lo, 10.0 ** hi] : [lo, hi];
  if (scale === "log" && param === "init_offset") throw new SpecError(`${field}.scale`, "init_offset takes negative values; use scale linear");
  if (INTEGER_PARAMS.includes(param) && pyRound(vlo) < 1) {
    throw new SpecError(`${field}.range`, `${param} must be ≥ 1 across the range, lowest value is ${pyG(vlo)}`);
  }
  if (param === "warmup" && !(0 <= vlo && vhi < 1)) {
    throw new SpecError(`${field}.range`, `warmup is a fraction of steps in [0, 1), range gives [${pyG(vlo)}, ${pyG(vhi)}]`);
  }
  if ((param.startsWith("lr") || param === "weight_decay") && vlo < 0) {
    throw new SpecError(`${field}.range`, `${param} must be ≥ 0, lowest value is ${pyG(vlo)}`);
  }
}

function validateLrCoverage(train: TrainSpec, axes: { x: Axis; y: Axis }, family: Family): void {
  const groups: readonly string[] = family === "mlp" ? MLP_GROUPS : GPT_GROUPS;
  const swept = new Set([axes.x.param, axes.y.param]);
  if (swept.has("lr")) return;
  for (const g of groups) {
    if (!swept.has(`lr.${g}`) && !has(train.lr, g)) {
      throw new SpecError("train.lr", `required: no axis sets the LR of group ${shown(g)} (give a number or {${shown(g)}: ...})`);
    }
  }
}

/**
 * Every error of a raw spec, not only the first validate() stops at: each error's field is taken out of a copy (so its
 * default applies) and the copy is checked again, up to `max` errors. An error that taking its field out does not clear
 * (a required field) ends the list, so each one listed is the validator's own, as the agent would say it.
 */
export function specErrors(raw: unknown, max = 20): SpecError[] {
  const out: SpecError[] = [];
  const copy: unknown = structuredClone(raw);
  while (out.length < max) {
    try {
      validate(copy);
      return out;
    } catch (e) {
      if (!(e instanceof SpecError)) throw e;
      if (out.some((o) => o.field === e.field)) return out;
      out.push(e);
      if (!removeField(copy, e.field)) return out;
    }
  }
  return out;
}

/** Delete the field at dotted `path` ("axes.x.points") of `o`; whether there was one to delete. */
function removeField(o: unknown, path: string): boolean {
  const keys = path.split(".");
  let at: unknown = o;
  for (const k of keys.slice(0, -1)) {
    if (!isObj(at)) return false;
    at = at[k];
  }
  const last = keys[keys.length - 1];
  if (!isObj(at) || !has(at, last)) return false;
  delete at[last];
  return true;
}

/** Deterministic JSON (sorted keys) of a normalised spec: the basis of sweep ids and equality checks. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (isObj(v)) {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
