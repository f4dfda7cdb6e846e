"""Sweep spec: validation, defaults and grid maths (DESIGN.md "Sweep spec").

A spec is plain JSON. `validate(raw)` returns a normalised copy with every default filled in, or
raises SpecError naming the field and the allowed values. The TypeScript side
(src-shared/spec.ts) must accept and reject exactly the same fixtures
(test/fixtures/specs/{valid,invalid}); keep the two in step.

Grid: cell i of N on an axis covers [lo + i*w, lo + (i+1)*w], w = (hi - lo)/N, and runs at its
centre. For a log axis the range is in log10 units and the value is 10**centre. Cells are numbered
row-major: index = iy * nx + ix.
"""
import copy
import json
import math
import pathlib

import numpy as np

# The allowed values and defaults, shared with the app (src-shared/spec.ts and the editor form read the same file).
_VALUES = json.loads(pathlib.Path(__file__).with_name("spec_values.json").read_text())

SPEC_VERSION = _VALUES["version"]
MAX_POINTS = _VALUES["max_points"]

FAMILIES = tuple(_VALUES["families"])
MLP_ACTIVATIONS = tuple(_VALUES["mlp_activations"])
MLP_GROUPS = tuple(_VALUES["groups"]["mlp"])
GPT_GROUPS = tuple(_VALUES["groups"]["gpt"])
OPTIMIZERS = {f: tuple(v) for f, v in _VALUES["optimizers"].items()}
SCHEDULES = tuple(_VALUES["schedules"])
PRECISIONS = {f: tuple(v) for f, v in _VALUES["precisions"].items()}
SCALES = tuple(_VALUES["scales"])

# Axis params each family can sweep. Integer params are rounded to the nearest integer at the centre.
AXIS_PARAMS = {f: tuple(v) for f, v in _VALUES["axis_params"].items()}
INTEGER_PARAMS = tuple(_VALUES["integer_params"])
EVAL_TASKS = tuple(_VALUES["eval_tasks"])  # multiple-choice data.evals
LORA_RANK_MAX = _VALUES["lora_rank_max"]
# "grid": every cell trained; "boundary": solid guessing over the coarse-to-fine levels (sampling.py)
SAMPLINGS = tuple(_VALUES["samplings"])
BOUNDARY_AUDIT_FRACTION = _VALUES["boundary_audit_fraction"]


def default(path, family=None):
    """The value a spec gets for an absent field (spec_values.json "defaults")."""
    d = _VALUES["defaults"][path]
    return d[family] if isinstance(d, dict) else d


TOP_KEYS = ("version", "name", "model", "data", "train", "axes", "criterion", "parent", "record", "sampling")
MLP_MODEL_KEYS = ("family", "width", "activation", "data_multiple", "datapoints", "seed", "init_offset_form")
# init_offset added to W0 once at initialisation (DESIGN.md), or before every training step as the paper's
# notebook does (`t += hparams[0]` in train_step); kept in the normalised spec only when not the default
INIT_OFFSET_FORMS = tuple(_VALUES["init_offset_forms"])
GPT_MODEL_KEYS = ("family", "checkpoint", "config", "trainable", "lora_rank", "seed")
GPT_CONFIG_KEYS = ("n_layer", "n_head", "n_embd", "block_size", "vocab_size")
DATA_KEYS = ("dataset", "size", "seq_len", "heldout", "ood", "evals", "evals_dir")
TRAIN_KEYS = ("optimizer", "steps", "epochs", "batch_size", "schedule", "warmup", "weight_decay",
              "grad_clip", "precision", "lr", "betas")
AXIS_KEYS = ("param", "scale", "range", "points")
CRITERION_KEYS = ("window", "threshold")
PARENT_KEYS = ("sweep",)
RECORD_KEYS = ("curves",)
DATASET_PREFIXES = tuple(_VALUES["dataset_prefixes"])

# Sweeps with more cells than this do not journal per-cell curves unless record.curves says so:
# 16M curves of 256 points would not fit the 50 MB budget of a 4096^2 map.
CURVES_DEFAULT_MAX_CELLS = _VALUES["curves_default_max_cells"]


class SpecError(ValueError):
    """An invalid spec: `field` is the dotted path of the offending field."""

    def __init__(self, field, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# ----------------------------------------------------------------------------- field checks

def _show(v):
    """A value in a message as JSON writes it (null, true, "abc", [6, -3]), the way the user wrote it in the spec:
    messages reach the editor and the CLI, so no Python spelling (None, 'abc', 6.0). Mirrored by spec.ts shown()."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
        return str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_show(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_show(x)}" for k, x in v.items()) + "}"
    return str(v)


def _allowed(values):
    return ", ".join(str(v) for v in values)


def _obj(raw, field, keys):
    if not isinstance(raw, dict):
        raise SpecError(field, f"must be an object with keys {_allowed(keys)}")
    for k in raw:
        if k not in keys:
            raise SpecError(f"{field}.{k}" if field else k, f"unknown field; allowed: {_allowed(keys)}")
    return raw


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _num(raw, field, lo=None, hi=None, lo_open=False, hi_open=False):
    if not _is_num(raw):
        raise SpecError(field, f"must be a finite number, got {_show(raw)}")
    if lo is not None and (raw < lo or (lo_open and raw == lo)):
        raise SpecError(field, f"must be {'>' if lo_open else '≥'} {_show(lo)}, got {_show(raw)}")
    if hi is not None and (raw > hi or (hi_open and raw == hi)):
        raise SpecError(field, f"must be {'<' if hi_open else '≤'} {_show(hi)}, got {_show(raw)}")
    return float(raw)


def _int(raw, field, lo=None, hi=None):
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, float) and raw.is_integer())):
        raise SpecError(field, f"must be an integer, got {_show(raw)}")
    raw = int(raw)
    if lo is not None and raw < lo:
        raise SpecError(field, f"must be ≥ {lo}, got {raw}")
    if hi is not None and raw > hi:
        raise SpecError(field, f"must be ≤ {hi}, got {raw}")
    return raw


def _choice(raw, field, choices):
    if raw not in choices:
        raise SpecError(field, f"must be one of {_allowed(choices)}, got {_show(raw)}")
    return raw


def _str(raw, field):
    if not isinstance(raw, str) or not raw.strip():
        raise SpecError(field, f"must be a non-empty string, got {_show(raw)}")
    return raw


# ----------------------------------------------------------------------------- validation

def validate(raw):
    """Return the normalised spec (a new dict with defaults filled in) or raise SpecError."""
    spec = copy.deepcopy(raw)
    _obj(spec, "", TOP_KEYS)
    if "version" not in spec:
        raise SpecError("version", f"required; this agent reads version {SPEC_VERSION}")
    if spec["version"] != SPEC_VERSION:
        raise SpecError("version", f"must be {SPEC_VERSION}, got {_show(spec['version'])}")
    spec["name"] = _str(spec.get("name"), "name")

    model = _obj(spec.get("model"), "model", MLP_MODEL_KEYS + GPT_MODEL_KEYS)
    family = _choice(model.get("family"), "model.family", FAMILIES)
    if family == "mlp":
        _validate_mlp_model(model)
        if "data" in spec:
            raise SpecError("data", "does not apply to model family mlp (its data is drawn from model.seed)")
    else:
        _validate_gpt_model(model)
        spec["data"] = _validate_data(spec.get("data", {}))

    train = spec["train"] = _validate_train(spec.get("train"), family)
    axes = spec["axes"] = _validate_axes(spec.get("axes"), family)
    _validate_lr_coverage(train, axes, family)
    for a in ("x", "y"):
        if axes[a]["param"] == "lora_rank" and model.get("trainable") != "lora":
            raise SpecError(f"axes.{a}.param", "lora_rank applies only with model.trainable \"lora\"")
    swept = (axes["x"]["param"], axes["y"]["param"])
    if family == "mlp" and "batch_size" in swept and train["optimizer"] != "sgd":
        axis = "x" if swept[0] == "batch_size" else "y"
        raise SpecError(f"axes.{axis}.param", "batch_size applies to minibatch training only; set train.optimizer to sgd")
    if family == "gpt" and "dataset_size" not in (axes["x"]["param"], axes["y"]["param"]) \
            and spec["data"]["size"] is None:
        raise SpecError("data.size", "required (number of training examples) unless an axis sweeps dataset_size")

    crit = _obj(spec.get("criterion", {}), "criterion", CRITERION_KEYS)
    crit["window"] = _int(crit.get("window", default("criterion.window")), "criterion.window", lo=1)
    crit["threshold"] = _num(crit.get("threshold", default("criterion.threshold")), "criterion.threshold", lo=0, lo_open=True)
    if train["steps"] is not None and crit["window"] > train["steps"] + 1:
        raise SpecError("criterion.window", f"must be ≤ train.steps + 1 = {train['steps'] + 1}, got {crit['window']}")
    spec["criterion"] = crit

    if "parent" in spec and spec["parent"] is not None:
        parent = _obj(spec["parent"], "parent", PARENT_KEYS)
        _str(parent.get("sweep"), "parent.sweep")
    else:
        spec["parent"] = None

    record = _obj(spec.get("record", {}), "record", RECORD_KEYS)
    curves = record.get("curves")
    if curves is None:
        curves = family == "gpt" or cell_count(spec) <= CURVES_DEFAULT_MAX_CELLS
    elif not isinstance(curves, bool):
        raise SpecError("record.curves", f"must be true or false, got {_show(curves)}")
    spec["record"] = {"curves": curves}

    # Kept in the normalised spec only when not the default, so a grid sweep's id (a hash of the normalised
    # spec) is the one it had before sampling existed.
    mode = _choice(spec.get("sampling", default("sampling")), "sampling", SAMPLINGS)
    if mode == default("sampling"):
        spec.pop("sampling", None)
    else:
        spec["sampling"] = mode
    return spec


def sampling(spec):
    """A validated spec's sampling mode ("grid" when the normalised spec leaves it out)."""
    return spec.get("sampling", default("sampling"))


def _validate_mlp_model(model):
    model["width"] = _int(model.get("width", default("model.width")), "model.width", lo=1, hi=4096)
    model["activation"] = _choice(model.get("activation", default("model.activation")), "model.activation", MLP_ACTIVATIONS)
    model["data_multiple"] = _num(model.get("data_multiple", default("model.data_multiple")), "model.data_multiple", lo=0, lo_open=True)
    if model.get("datapoints") is not None:
        model["datapoints"] = _int(model["datapoints"], "model.datapoints", lo=1)
    else:
        model["datapoints"] = None
    model["seed"] = _int(model.get("seed", default("model.seed")), "model.seed", lo=0)
    form = _choice(model.get("init_offset_form", default("model.init_offset_form")), "model.init_offset_form", INIT_OFFSET_FORMS)
    if form == "once":
        model.pop("init_offset_form", None)
    else:
        model["init_offset_form"] = form
    for k in model:
        if k not in MLP_MODEL_KEYS:
            raise SpecError(f"model.{k}", f"does not apply to model family mlp; allowed: {_allowed(MLP_MODEL_KEYS)}")


def _validate_gpt_model(model):
    for k in model:
        if k not in GPT_MODEL_KEYS:
            raise SpecError(f"model.{k}", f"does not apply to model family gpt; allowed: {_allowed(GPT_MODEL_KEYS)}")
    ckpt = _str(model.get("checkpoint", default("model.checkpoint")), "model.checkpoint")
    if not (ckpt in ("tiny", "scratch") or ckpt.startswith("hf:") or ckpt.startswith("nanochat:")):
        raise SpecError("model.checkpoint", f"must be tiny, scratch, hf:<name or directory> or nanochat:<directory>, got {_show(ckpt)}")
    model["checkpoint"] = ckpt
    if ckpt == "scratch":
        cfg = _obj(model.get("config"), "model.config", GPT_CONFIG_KEYS)
        for k in ("n_layer", "n_head", "n_embd"):
            if k not in cfg:
                raise SpecError(f"model.config.{k}", "required for checkpoint scratch")
            cfg[k] = _int(cfg[k], f"model.config.{k}", lo=1, hi=1 << 16)
        if cfg["n_embd"] % cfg["n_head"]:
            raise SpecError("model.config.n_embd", f"must be a multiple of n_head ({cfg['n_head']})")
        cfg["block_size"] = _int(cfg.get("block_size", 1024), "model.config.block_size", lo=1)
        cfg["vocab_size"] = _int(cfg.get("vocab_size", 50257), "model.config.vocab_size", lo=2)
    elif "config" in model:
        raise SpecError("model.config", "applies only to checkpoint scratch (other checkpoints carry their own)")
    trainable = model.get("trainable", default("model.trainable"))
    if trainable not in ("all", "lora"):
        if not isinstance(trainable, list) or not trainable:
            raise SpecError("model.trainable", f"must be \"all\", \"lora\" or a non-empty list of groups from {_allowed(GPT_GROUPS)}")
        for i, g in enumerate(trainable):
            _choice(g, f"model.trainable[{i}]", GPT_GROUPS)
    model["trainable"] = trainable
    if trainable == "lora":
        model["lora_rank"] = _int(model.get("lora_rank", default("model.lora_rank")), "model.lora_rank", lo=1, hi=LORA_RANK_MAX)
    elif "lora_rank" in model:
        raise SpecError("model.lora_rank", "applies only to model.trainable \"lora\"")
    model["seed"] = _int(model.get("seed", default("model.seed")), "model.seed", lo=0)


def _validate_data(data):
    data = _obj(data, "data", DATA_KEYS)
    ds = _str(data.get("dataset", default("data.dataset")), "data.dataset")
    if ds.split(":", 1)[0] not in DATASET_PREFIXES:
        raise SpecError("data.dataset", f"must be synthetic[:families], smoltalk[:subset], smol-smoltalk or jsonl:<path>, got {_show(ds)}")
    if ds.startswith("jsonl") and not ds.startswith("jsonl:"):
        raise SpecError("data.dataset", "jsonl needs a path: jsonl:<path>")
    data["dataset"] = ds
    data["size"] = _int(data["size"], "data.size", lo=1) if data.get("size") is not None else None
    data["seq_len"] = _int(data.get("seq_len", default("data.seq_len")), "data.seq_len", lo=8, hi=8192)
    data["heldout"] = _int(data.get("heldout", default("data.heldout")), "data.heldout", lo=0)
    ood = data.get("ood")
    if ood is not None:
        ood = _str(ood, "data.ood")
        if ood.split(":", 1)[0] not in DATASET_PREFIXES:
            raise SpecError("data.ood", f"must be synthetic[:families], smoltalk[:subset], smol-smoltalk or jsonl:<path>, got {_show(ood)}")
    data["ood"] = ood
    evals = data.get("evals", [])
    if not isinstance(evals, list):
        raise SpecError("data.evals", f"must be a list of \"task\" or \"task:n\" strings (tasks: {_allowed(EVAL_TASKS)})")
    seen = set()
    for i, e in enumerate(evals):
        task, sep, n = e.partition(":") if isinstance(e, str) else (None, "", "")
        count_ok = not sep or (n != "" and all(c in "0123456789" for c in n) and int(n) >= 1)
        if task not in EVAL_TASKS or not count_ok:
            raise SpecError(f"data.evals[{i}]", f"must be \"task\" or \"task:n\" with task one of {_allowed(EVAL_TASKS)} "
                                                f"and n a positive integer (the first n items), got {_show(e)}")
        if task in seen:
            raise SpecError(f"data.evals[{i}]", f"task {task} is listed twice")
        seen.add(task)
    data["evals"] = list(evals)
    # Directory of <task>.jsonl files (~ allowed); None: $FRACTAL_AGENT_EVALS, <resources>/evals, `datasets`.
    evals_dir = data.get("evals_dir")
    data["evals_dir"] = _str(evals_dir, "data.evals_dir") if evals_dir is not None else None
    return data


def _validate_train(train, family):
    train = _obj(train, "train", TRAIN_KEYS)
    train["optimizer"] = _choice(train.get("optimizer", default("train.optimizer", family)),
                                 "train.optimizer", OPTIMIZERS[family])
    if family == "mlp" and "steps" not in train:
        raise SpecError("train.steps", "required for model family mlp")
    train["steps"] = _int(train["steps"], "train.steps", lo=1) if train.get("steps") is not None else None
    epochs = train.get("epochs")
    if family == "mlp" and epochs is not None:
        raise SpecError("train.epochs", "does not apply to model family mlp; use train.steps")
    if family == "gpt":
        if train["steps"] is not None and epochs is not None:
            raise SpecError("train.epochs", "give train.steps or train.epochs, not both")
        epochs = _num(epochs if epochs is not None else default("train.epochs", family), "train.epochs", lo=0, lo_open=True) \
            if train["steps"] is None else None
    train["epochs"] = epochs
    bs = train.get("batch_size")
    if family == "mlp":
        train["batch_size"] = _int(bs, "train.batch_size", lo=1) if bs is not None else None
        if train["optimizer"] == "sgd" and train["batch_size"] is None:
            raise SpecError("train.batch_size", "required for optimizer sgd (minibatch size)")
    else:
        train["batch_size"] = _int(bs if bs is not None else default("train.batch_size", family), "train.batch_size", lo=1)
    train["schedule"] = _choice(train.get("schedule", default("train.schedule")), "train.schedule", SCHEDULES)
    train["warmup"] = _num(train.get("warmup", default("train.warmup")), "train.warmup", lo=0, hi=1, hi_open=True)
    train["weight_decay"] = _num(train.get("weight_decay", default("train.weight_decay")), "train.weight_decay", lo=0)
    gc = train.get("grad_clip")
    train["grad_clip"] = _num(gc, "train.grad_clip", lo=0, lo_open=True) if gc is not None else None
    train["precision"] = _choice(train.get("precision", default("train.precision", family)),
                                 "train.precision", PRECISIONS[family])
    betas = train.get("betas", default("train.betas"))
    if not (isinstance(betas, list) and len(betas) == 2):
        raise SpecError("train.betas", "must be a list of two numbers in [0, 1)")
    train["betas"] = [_num(b, f"train.betas[{i}]", lo=0, hi=1, hi_open=True) for i, b in enumerate(betas)]
    groups = MLP_GROUPS if family == "mlp" else GPT_GROUPS
    lr = train.get("lr")
    if lr is None:
        train["lr"] = {}
    elif isinstance(lr, dict):
        for g, v in lr.items():
            _choice(g, "train.lr", groups)
            _num(v, f"train.lr.{g}", lo=0)
        train["lr"] = {g: float(v) for g, v in lr.items()}
    else:
        train["lr"] = {g: _num(lr, "train.lr", lo=0) for g in groups}
    return train


def _validate_axes(axes, family):
    axes = _obj(axes, "axes", ("x", "y"))
    out = {}
    for name in ("x", "y"):
        f = f"axes.{name}"
        if name not in axes:
            raise SpecError(f, "required")
        ax = _obj(axes[name], f, AXIS_KEYS)
        param = ax.get("param")
        if param not in AXIS_PARAMS[family]:
            other = [fam for fam in FAMILIES if fam != family and param in AXIS_PARAMS[fam]]
            why = f"does not apply to model family {family}" if other else "unknown parameter"
            raise SpecError(f"{f}.param", f"{why} {_show(param)}; allowed for {family}: {_allowed(AXIS_PARAMS[family])}")
        scale = _choice(ax.get("scale", default("axes.scale")), f"{f}.scale", SCALES)
        rng = ax.get("range")
        if not (isinstance(rng, list) and len(rng) == 2):
            raise SpecError(f"{f}.range", "must be [lo, hi] with lo < hi (log10 units for a log axis)")
        lo = _num(rng[0], f"{f}.range[0]")
        hi = _num(rng[1], f"{f}.range[1]")
        if not lo < hi:
            raise SpecError(f"{f}.range", f"must be [lo, hi] with lo < hi, got {_show([lo, hi])} (empty or reversed)")
        points = _int(ax.get("points"), f"{f}.points", lo=1, hi=MAX_POINTS)
        _check_param_values(param, scale, lo, hi, f)
        out[name] = {"param": param, "scale": scale, "range": [lo, hi], "points": points}
    px, py = out["x"]["param"], out["y"]["param"]
    if px == py:
        raise SpecError("axes.y.param", f"must differ from axes.x.param ({_show(px)})")
    if {px, py} & {"lr"} and (px.startswith("lr.") or py.startswith("lr.")):
        raise SpecError("axes.y.param", "lr sets every group's LR; it cannot be combined with a per-group lr.<group> axis")
    if {px, py} == {"dataset_size", "tokens"}:
        raise SpecError("axes.y.param", "dataset_size and tokens both set the amount of training data; sweep one")
    return out


def _check_param_values(param, scale, lo, hi, field):
    """Reject ranges whose values are meaningless for the param (the whole range is checked)."""
    vlo, vhi = (10.0 ** lo, 10.0 ** hi) if scale == "log" else (lo, hi)
    if scale == "log" and param == "init_offset":
        raise SpecError(f"{field}.scale", "init_offset takes negative values; use scale linear")
    if param in INTEGER_PARAMS and round(vlo) < 1:
        raise SpecError(f"{field}.range", f"{param} must be ≥ 1 across the range, lowest value is {vlo:g}")
    if param == "warmup" and not (0 <= vlo and vhi < 1):
        raise SpecError(f"{field}.range", f"warmup is a fraction of steps in [0, 1), range gives [{vlo:g}, {vhi:g}]")
    if (param.startswith("lr") or param == "weight_decay") and vlo < 0:
        raise SpecError(f"{field}.range", f"{param} must be ≥ 0, lowest value is {vlo:g}")


def _validate_lr_coverage(train, axes, family):
    groups = MLP_GROUPS if family == "mlp" else GPT_GROUPS
    swept = {axes[a]["param"] for a in ("x", "y")}
    if "lr" in swept:
        return
    for g in groups:
        if f"lr.{g}" not in swept and g not in train["lr"]:
            raise SpecError("train.lr", f"required: no axis sets the LR of group {_show(g)} (give a number or {{{_show(g)}: ...}})")


# ----------------------------------------------------------------------------- grid maths

def cell_count(spec):
    return spec["axes"]["x"]["points"] * spec["axes"]["y"]["points"]


def axis_centres(axis):
    """Float64 cell centres in axis units (log10 for a log axis)."""
    lo, hi = axis["range"]
    n = axis["points"]
    w = (hi - lo) / n
    return [lo + (i + 0.5) * w for i in range(n)]


def axis_value(axis, i):
    """The hyperparameter value at cell i's centre (10**centre for a log axis)."""
    lo, hi = axis["range"]
    c = lo + (i + 0.5) * (hi - lo) / axis["points"]
    v = 10.0 ** c if axis["scale"] == "log" else c
    return int(round(v)) if axis["param"] in INTEGER_PARAMS else v


def cell_hparams(spec, index):
    """Every hyperparameter of cell `index` (row-major) as a flat dict of group LRs and scalars."""
    ax, ay = spec["axes"]["x"], spec["axes"]["y"]
    ix, iy = index % ax["points"], index // ax["points"]
    train, family = spec["train"], spec["model"]["family"]
    groups = MLP_GROUPS if family == "mlp" else GPT_GROUPS
    hp = {f"lr.{g}": train["lr"].get(g) for g in groups}
    hp.update(warmup=train["warmup"], weight_decay=train["weight_decay"], batch_size=train["batch_size"])
    if family == "mlp":
        hp.update(init_offset=0.0, dataset_size=None)
    else:
        hp.update(dataset_size=spec["data"]["size"], tokens=None, lora_rank=spec["model"].get("lora_rank"))
    for axis, i in ((ax, ix), (ay, iy)):
        v = axis_value(axis, i)
        if axis["param"] == "lr":
            hp.update({f"lr.{g}": v for g in groups})
        else:
            hp[axis["param"]] = v
    return hp


def top_level(n):
    """The last coarse-to-fine level of an axis of n points: its level-0 stride is 2**top_level(n), the largest
    power of two s with 4*s <= n (at least 1), and level L's stride is 2**max(top_level(n) - L, 0)."""
    top = 0
    while (2 << top) * 4 <= n:
        top += 1
    return top


def coarse_to_fine(nx, ny):
    """Cell indices ordered so that a low-resolution preview of the whole map comes first.

    Per axis, the level-0 stride is the largest power of two s with 4*s <= points (at least 1);
    each later level halves the strides and adds the cells new to that lattice. A cell's level is
    the later of the levels at which its x and its y coordinate appear.
    Returns (order, levels): int64 arrays of cell indices and their level, covering every cell once.
    """
    def coordinate_levels(n):
        top = top_level(n)
        i = np.arange(n, dtype=np.int64)
        level = np.zeros(n, dtype=np.int64)
        for b in range(top):  # coordinates not divisible by 2**(top-b) appear at level b+1 or later
            level[(i % (1 << (top - b))) != 0] = b + 1
        return level

    level = np.maximum(coordinate_levels(ny)[:, None], coordinate_levels(nx)[None, :]).reshape(-1)
    order = np.argsort(level, kind="stable")
    return order, level[order]
