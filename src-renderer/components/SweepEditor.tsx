// Sweep editor: start from a preset, change it in a form (spec-form.ts) or, in the advanced view, as JSON (the two
// stay in step both ways), and pick where it runs. Fields are checked as you type; the server's preview
// (debounced) validates the whole spec and estimates its cost on the chosen target, and its "spec field <path>:"
// errors show beside the field they name.

import { useEffect, useMemo, useState, type ReactNode } from "react";
import type { SweepPreview, TargetInfo } from "../../src-shared/contract";
import { formatCost } from "../../src-shared/format";
import { PRESETS } from "../presets";
import {
  AXIS_PARAMS, CHECKPOINT_KINDS, DATASET_KINDS, EVAL_TASKS, FAMILIES, GROUPS, INIT_OFFSET_FORMS, MLP_ACTIVATIONS, OPTIMIZERS, PRECISIONS, SAMPLINGS,
  SCALES, SCHEDULES, SYNTHETIC_FAMILIES, axisValues, checkForm, defaultOf, editField, errorSlot, formToSpec,
  joinSource, longRun, parseServerError, specToForm, splitSource, targetOption, withFamily, type FieldPath, type Form,
} from "../spec-form";
import { specErrors } from "../../src-shared/spec";
import { openSweep, useUi } from "../state";

/** Shown until listTargets answers (or when the server is too old to have it). */
const LOCAL: TargetInfo = {
  target: "local", kind: "local", description: "this computer (CPU)", gpus: [], device: "cpu", count: 1, zoomPoints: 24, probedAt: null,
};

const SOURCE_HINTS: Record<string, string> = {
  hf: "gpt2, HuggingFaceTB/SmolLM2-135M or a directory",
  nanochat: "checkpoint directory on the target",
  synthetic: `families, blank for all: ${SYNTHETIC_FAMILIES.join(",")}`,
  smoltalk: "subset, blank for all",
  jsonl: "path of a .jsonl of {\"messages\": [...]} rows",
};

function Row({ label, hint, children }: { label: string; hint?: string; children: ReactNode }) {
  return (
    <div className="form-row">
      <span className="form-label" title={hint}>{label}</span>
      <div className="form-input">{children}</div>
    </div>
  );
}

export function SweepEditor() {
  const api = useUi((s) => s.api);
  // The raw spec is what preview and start send; the form and the JSON text are two views of it.
  const [raw, setRaw] = useState<unknown>(() => structuredClone(PRESETS[0].spec));
  const [form, setForm] = useState<Form>(() => specToForm(PRESETS[0].spec));
  const [json, setJson] = useState(() => JSON.stringify(PRESETS[0].spec, null, 2));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [advanced, setAdvanced] = useState(false);
  const [targets, setTargets] = useState<TargetInfo[]>([LOCAL]);
  const [target, setTarget] = useState("local");
  const [preview, setPreview] = useState<SweepPreview | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // The sweep the last start made, with the spec it was started from: until its agent reports (status running or a
  // first cell) the button stays busy for that spec, so nothing invites a second click during the agent's start-up.
  const [launched, setLaunched] = useState<{ id: string; raw: unknown } | null>(null);
  const launchedSweep = useUi((s) => (launched ? s.sweeps[launched.id] : undefined));

  // Targets again on every mount: a host tested in the host manager since may have GPUs now.
  useEffect(() => {
    if (!api) return;
    let live = true;
    api.listTargets().then((list) => { if (live && list.length) setTargets(list); }, () => { /* older server: local only */ });
    return () => { live = false; };
  }, [api]);

  useEffect(() => {
    if (!api || jsonError) return;
    let live = true;
    const t = setTimeout(() => {
      api.previewSweep(raw, target).then(
        (p) => { if (live) { setPreview(p); setServerError(null); } },
        (e: Error) => { if (live) { setPreview(null); setServerError(e.message); } },
      );
    }, 250);
    return () => { live = false; clearTimeout(t); };
  }, [api, raw, target, jsonError]);

  /** Replace the whole spec (a preset, a family switch): the form and JSON follow it. */
  const load = (next: unknown) => {
    setRaw(next);
    setForm(specToForm(next));
    setJson(JSON.stringify(next, null, 2));
    setJsonError(null);
  };
  /** One form field changed: write it into the raw spec, leaving every other field of it as it was. */
  const edit = (path: FieldPath, value: string) => {
    const f = editField(form, path, value);
    const r = formToSpec(f, raw);
    setForm(f);
    setRaw(r);
    setJson(JSON.stringify(r, null, 2));
    setJsonError(null);
  };
  const editJson = (text: string) => {
    setJson(text);
    let r: unknown;
    try {
      r = JSON.parse(text);
    } catch (e) {
      setPreview(null);
      setJsonError(`not valid JSON: ${(e as Error).message}`);
      return;
    }
    setRaw(r);
    setForm(specToForm(r));
    setJsonError(null);
  };

  // A very long run (a typo of 1e9 steps) asks first: the reason shown, "start anyway" or back to the form.
  const [confirming, setConfirming] = useState<string | null>(null);
  useEffect(() => setConfirming(null), [raw, target]);
  useEffect(() => {
    if (!confirming) return;
    const onKey = (e: KeyboardEvent) => { if (e.key === "Escape") setConfirming(null); };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [confirming]);
  const ask = () => {
    const why = preview ? longRun(preview.cost) : null;
    if (why) setConfirming(why);
    else void start();
  };

  const start = async () => {
    if (busy) return;
    setConfirming(null);
    setBusy(true);
    try {
      const s = await api!.startSweep(raw, target);
      setLaunched({ id: s.id, raw });
      useUi.setState((st) => ({ sweeps: { ...st.sweeps, [s.id]: s } }));
      await openSweep(s.id);
    } catch (e) {
      setServerError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  // Messages: this module's checks first; the server's one beside the field it names (and always at the bottom).
  const local = useMemo(() => checkForm(form), [form]);
  // The JSON view lists every problem at once: the form's checks (the words shown beside its fields), then the
  // validator's errors about fields the form does not check (an unknown field, a wrong type).
  const jsonProblems = useMemo(() => {
    if (!advanced || jsonError) return [];
    const bySlot = new Map<string, string>(Object.entries(local).map(([slot, m]) => [slot, `${slot}: ${m}`]));
    for (const e of specErrors(raw)) {
      const slot = errorSlot(e.field) ?? e.field;
      if (!bySlot.has(slot)) bySlot.set(slot, `${e.field}: ${e.detail}`);
    }
    return [...bySlot.values()];
  }, [advanced, jsonError, local, raw]);
  const server = serverError ? parseServerError(serverError) : null;
  const serverSlot = server ? errorSlot(server.path) : null;
  const messageAt = (slot: string) => local[slot] ?? (slot === serverSlot ? server!.detail : undefined);
  const shown = new Set<string>(); // slots the form has a place for (the rest are listed at the bottom)
  const err = (slot: string) => {
    shown.add(slot);
    const m = messageAt(slot);
    return m ? <div className="field-error" data-testid={`field-error-${slot}`}>{m}</div> : null;
  };

  const family = form["model.family"];
  const gpt = family === "gpt";
  const axes = [form["axes.x.param"], form["axes.y.param"]];
  const sweptOn = (param: string) => (form["axes.x.param"] === param ? "x" : form["axes.y.param"] === param ? "y" : null);

  const input = (p: FieldPath, o: { placeholder?: string; slot?: string; size?: "s" } = {}) => (
    <input
      data-testid={`form-${p}`} value={form[p]} placeholder={o.placeholder ?? defaultOf(family, p)} spellCheck={false}
      className={[messageAt(o.slot ?? p) ? "bad" : "", o.size === "s" ? "small" : ""].join(" ").trim() || undefined}
      onChange={(e) => edit(p, e.target.value)}
    />
  );
  // A select shows the value in force: the field's, else the validator's default (marked). A value the spec does
  // not allow (loaded from JSON) stays listed so the select does not silently show something else.
  const choose = (p: FieldPath, choices: readonly string[], pick: (v: string) => void = (v) => edit(p, v), small = false) => {
    const dflt = defaultOf(family, p);
    const value = form[p] || dflt;
    const opts = value === "" || choices.includes(value) ? choices : [...choices, value];
    return (
      <select data-testid={`form-${p}`} value={value} className={[messageAt(p) ? "bad" : "", small ? "small" : ""].join(" ").trim() || undefined}
        onChange={(e) => pick(e.target.value)}>
        {value === "" && <option value="" disabled>choose…</option>}
        {opts.map((c) => (
          <option key={c} value={c}>{c}{!choices.includes(c) ? " (not allowed)" : c === dflt ? " (default)" : ""}</option>
        ))}
      </select>
    );
  };
  // checkpoint / dataset / ood: a kind, and for most kinds a name or path after the colon.
  const source = (p: FieldPath, kinds: readonly string[], labels: Record<string, string>, fallback: string) => {
    const { kind, arg } = splitSource(form[p] || fallback);
    const opts = kinds.includes(kind) ? kinds : [...kinds, kind];
    return (
      <>
        <select data-testid={`form-${p}`} value={kind} className={messageAt(p) ? "bad" : undefined}
          onChange={(e) => edit(p, e.target.value)}>
          {opts.map((k) => <option key={k} value={k}>{labels[k] ?? k}</option>)}
        </select>
        {SOURCE_HINTS[kind] && (
          <input data-testid={`form-${p}.arg`} value={arg} placeholder={SOURCE_HINTS[kind]} title={SOURCE_HINTS[kind]} spellCheck={false}
            onChange={(e) => edit(p, joinSource(kind, e.target.value))} />
        )}
        {err(p)}
      </>
    );
  };

  const trainable = form["model.trainable"].trim();
  const trainMode = trainable === "" || trainable === "all" ? "all" : trainable === "lora" ? "lora" : "groups";
  const trainGroups = trainable.split(",").map((s) => s.trim());
  const setGroup = (g: string, on: boolean) =>
    edit("model.trainable", GROUPS.gpt.filter((x) => (x === g ? on : trainGroups.includes(x))).join(", "));

  const axisRows = (a: "x" | "y") => {
    const values = axisValues(form, a);
    return (
      <div className="axis-form" key={a}>
        <Row label={`${a} axis`} hint="the hyperparameter this axis sweeps, and how its points are spaced">
          {choose(`axes.${a}.param`, AXIS_PARAMS[family === "gpt" ? "gpt" : "mlp"])}
          {choose(`axes.${a}.scale`, SCALES, undefined, true)}
          {err(`axes.${a}.param`)}{err(`axes.${a}.scale`)}
        </Row>
        <Row label="range" hint="lo and hi; on a log axis in log10 units (-3 is 0.001)">
          {input(`axes.${a}.lo`, { slot: `axes.${a}.range`, size: "s" })} to {input(`axes.${a}.hi`, { slot: `axes.${a}.range`, size: "s" })}
          {values && <div className="muted">{form[`axes.${a}.param`] || "values"}: {values}</div>}
          {err(`axes.${a}.range`)}
        </Row>
        <Row label="points" hint="cells along this axis (2 to 8192)">{input(`axes.${a}.points`, { size: "s" })}{err(`axes.${a}.points`)}</Row>
      </div>
    );
  };

  const lrRows = () => {
    const all = sweptOn("lr");
    if (all) return <Row label="lr"><span className="muted">every group's LR is swept on {all}</span>{err("train.lr")}</Row>;
    return (
      <>
        <Row label="lr (all groups)" hint="one fixed LR for every parameter group not swept on an axis">
          {input("train.lr", { placeholder: "—" })}{err("train.lr")}
        </Row>
        {GROUPS[gpt ? "gpt" : "mlp"].map((g) => {
          const p = `train.lr.${g}` as FieldPath;
          const on = sweptOn(`lr.${g}`);
          return <Row key={g} label={`lr.${g}`}>{input(p, { placeholder: on ? `swept on ${on}` : "—" })}{err(p)}</Row>;
        })}
      </>
    );
  };

  const formView = (
    <div className="editor-form">
      <fieldset>
        <legend>sweep</legend>
        <Row label="name">{input("name", { placeholder: "what this map shows" })}{err("name")}</Row>
        <Row label="model family" hint="mlp: the paper's two-layer network; gpt: supervised fine-tuning of a language model">
          {choose("model.family", FAMILIES, (v) => load(withFamily(raw, v as "mlp" | "gpt")))}{err("model.family")}
        </Row>
      </fieldset>

      {family === "mlp" && (
        <fieldset>
          <legend>model</legend>
          <Row label="width" hint="n: hidden units = input dimension">{input("model.width", { size: "s" })}{err("model.width")}</Row>
          <Row label="activation">{choose("model.activation", MLP_ACTIVATIONS)}{err("model.activation")}</Row>
          <Row label="data multiple" hint="datapoints = multiple × parameter count (× n for identity)">
            {input("model.data_multiple", { size: "s" })}{err("model.data_multiple")}
          </Row>
          <Row label="datapoints" hint="an exact number of datapoints instead (1 for the single-datapoint variant)">
            {input("model.datapoints", { size: "s", placeholder: "from multiple" })}{err("model.datapoints")}
          </Row>
          {/* Only matters with an init_offset axis; shown then, or when the spec sets it (a preset, JSON). */}
          {(sweptOn("init_offset") || form["model.init_offset_form"]) && (
            <Row label="offset added" hint="when the init_offset axis's offset is added to W0: once at initialisation, or before every training step as the paper's notebook does (Table 1's 1.98)">
              {choose("model.init_offset_form", INIT_OFFSET_FORMS)}{err("model.init_offset_form")}
            </Row>
          )}
          <Row label="seed">{input("model.seed", { size: "s" })}{err("model.seed")}</Row>
        </fieldset>
      )}

      {gpt && (
        <fieldset>
          <legend>model</legend>
          <Row label="checkpoint">
            {source("model.checkpoint", form["model.checkpoint"].startsWith("scratch") ? CHECKPOINT_KINDS : CHECKPOINT_KINDS.filter((k) => k !== "scratch"),
              { tiny: "tiny (built in)", hf: "Hugging Face", nanochat: "nanochat", scratch: "scratch (config in JSON)" }, "tiny")}
          </Row>
          <Row label="trainable" hint="which weights fine-tuning changes">
            <select data-testid="form-model.trainable" value={trainMode} className={messageAt("model.trainable") ? "bad" : undefined}
              onChange={(e) => edit("model.trainable", e.target.value === "groups" ? "attn, mlp" : e.target.value)}>
              <option value="all">all weights</option>
              <option value="lora">LoRA adapters</option>
              <option value="groups">some groups…</option>
            </select>
            {trainMode === "groups" && (
              <div className="checks">
                {GROUPS.gpt.map((g) => {
                  const on = trainGroups.includes(g);
                  return (
                    <label key={g}>
                      <input type="checkbox" data-testid={`form-model.trainable.${g}`} checked={on} disabled={on && trainGroups.length === 1}
                        onChange={(e) => setGroup(g, e.target.checked)} />{g}
                    </label>
                  );
                })}
              </div>
            )}
            {err("model.trainable")}
          </Row>
          {(trainMode === "lora" || form["model.lora_rank"] !== "") && (
            <Row label="LoRA rank" hint="adapter rank (1 to 4096); sweep it with the lora_rank axis">
              {input("model.lora_rank", { size: "s" })}{err("model.lora_rank")}
            </Row>
          )}
          {/* Only matters with an init_offset axis; shown then, or when the spec sets it (a preset, JSON). */}
          {(sweptOn("init_offset") || form["model.init_offset_form"]) && (
            <Row label="offset added" hint="when the init_offset axis's offset is added to W0: once at initialisation, or before every training step as the paper's notebook does (Table 1's 1.98)">
              {choose("model.init_offset_form", INIT_OFFSET_FORMS)}{err("model.init_offset_form")}
            </Row>
          )}
          <Row label="seed">{input("model.seed", { size: "s" })}{err("model.seed")}</Row>
        </fieldset>
      )}

      {gpt && (
        <fieldset>
          <legend>data</legend>
          <Row label="dataset">{source("data.dataset", DATASET_KINDS, {}, "synthetic")}</Row>
          <Row label="examples" hint="training examples (data.size)">
            {input("data.size", { size: "s", placeholder: sweptOn("dataset_size") ? `swept on ${sweptOn("dataset_size")}` : "" })}{err("data.size")}
          </Row>
          <Row label="seq len" hint="tokens per training row">{input("data.seq_len", { size: "s" })}{err("data.seq_len")}</Row>
          <Row label="held out" hint="examples kept out of training for the held-out loss">{input("data.heldout", { size: "s" })}{err("data.heldout")}</Row>
          <Row label="OOD set" hint="a second data set whose loss shows forgetting">
            {source("data.ood", ["", ...DATASET_KINDS], { "": "none" }, "")}
          </Row>
          <Row label="evals" hint={`multiple-choice benchmarks, task or task:n (first n items); tasks: ${EVAL_TASKS.join(", ")}`}>
            {input("data.evals", { placeholder: "e.g. hellaswag:200, piqa, or generated: synthetic_arithmetic:100" })}{err("data.evals")}
          </Row>
        </fieldset>
      )}

      {(family === "mlp" || gpt) && (
        <fieldset>
          <legend>axes</legend>
          {axisRows("x")}
          {axisRows("y")}
        </fieldset>
      )}

      {(family === "mlp" || gpt) && (
        <fieldset>
          <legend>training</legend>
          <Row label="length" hint={gpt ? "steps, or epochs over the training set (neither: 1 epoch)" : "training steps"}>
            {input("train.steps", { size: "s", placeholder: "steps" })}
            {gpt && <> or {input("train.epochs", { size: "s", placeholder: form["train.steps"].trim() ? "epochs" : "1 epoch" })}</>}
            {axes.includes("tokens") && <div className="muted">the tokens axis sets each cell's budget</div>}
            {err("train.steps")}{err("train.epochs")}
          </Row>
          <Row label="optimizer">{choose("train.optimizer", OPTIMIZERS[gpt ? "gpt" : "mlp"])}{err("train.optimizer")}</Row>
          <Row label="batch size" hint={gpt ? "sequences per step" : "minibatch size for sgd; gd uses the full batch"}>
            {input("train.batch_size", { size: "s", placeholder: gpt ? "8" : "full batch" })}{err("train.batch_size")}
          </Row>
          <Row label="schedule">{choose("train.schedule", SCHEDULES)}{err("train.schedule")}</Row>
          <Row label="warmup" hint="fraction of the steps, in [0, 1)">{input("train.warmup", { size: "s" })}{err("train.warmup")}</Row>
          <Row label="weight decay">{input("train.weight_decay", { size: "s" })}{err("train.weight_decay")}</Row>
          <Row label="grad clip" hint="clip the gradient norm to this; blank: no clipping">
            {input("train.grad_clip", { size: "s", placeholder: "none" })}{err("train.grad_clip")}
          </Row>
          <Row label="precision">{choose("train.precision", PRECISIONS[gpt ? "gpt" : "mlp"])}{err("train.precision")}</Row>
          <Row label="sampling" hint="grid: every cell trained; boundary: a coarse lattice, refined where outcomes disagree, uniform blocks inferred (drawn hatched; fill in trains them later)">
            {choose("sampling", SAMPLINGS)}{err("sampling")}
          </Row>
          {lrRows()}
        </fieldset>
      )}

      {(family === "mlp" || gpt) && (
        <fieldset>
          <legend>convergence</legend>
          <Row label="window" hint="a cell trains if its mean loss / initial loss over the last `window` steps is below the threshold">
            {input("criterion.window", { size: "s" })}{err("criterion.window")}
          </Row>
          <Row label="threshold">{input("criterion.threshold", { size: "s" })}{err("criterion.threshold")}</Row>
        </fieldset>
      )}
    </div>
  );

  // Built after the form, so `shown` knows which local messages have no field on screen (e.g. another family's).
  const unshown = Object.entries(local).filter(([slot]) => !shown.has(slot));
  const localCount = Object.keys(local).length;
  // The server's message about a field the form's own check already flags is the same problem said twice (and the
  // form's check can be stricter: "≥ 2" beside the validator's "≥ 1"): the field's message alone stands.
  const problem = jsonError ?? (serverSlot && local[serverSlot] ? null : serverError);
  const waiting = !!launched && launched.raw === raw && !!launchedSweep && launchedSweep.doneCells === 0
    && (launchedSweep.status === "created" || launchedSweep.status === "submitted");
  return (
    <div className="editor" data-testid="editor">
      <div className="editor-top">
        <select data-testid="editor-preset" defaultValue="" onChange={(e) => { const p = PRESETS[Number(e.target.value)]; if (p) load(structuredClone(p.spec)); }}>
          <option value="" disabled>start from a preset…</option>
          {PRESETS.map((p, i) => <option key={p.label} value={i}>{p.label}</option>)}
        </select>
        <button data-testid="editor-advanced" className={advanced ? "on" : undefined} title="the spec as JSON (kept in step with the form)"
          onClick={() => setAdvanced(!advanced)}>{advanced ? "hide JSON" : "JSON"}</button>
      </div>
      {advanced && <textarea data-testid="editor-spec" spellCheck={false} value={json} onChange={(e) => editJson(e.target.value)} rows={18} />}
      {advanced && jsonProblems.length > 0 && (
        <ul className="error json-problems" data-testid="editor-json-errors">
          {jsonProblems.map((m) => <li key={m}>{m}</li>)}
        </ul>
      )}
      {formView}
      <div className="editor-status">
        <label className="target-pick">run on
          <select data-testid="editor-target" value={target} onChange={(e) => setTarget(e.target.value)}>
            {(targets.some((t) => t.target === target) ? targets : [LOCAL, ...targets]).map((t) => (
              <option key={t.target} value={t.target}>{targetOption(t)}</option>
            ))}
          </select>
        </label>
        {preview && <div data-testid="editor-cost">{formatCost(preview.cost)}</div>}
        {preview?.warnings.map((w) => <div key={w} className="warning">{w}</div>)}
        {unshown.map(([slot, m]) => <div key={slot} className="error" data-testid={`field-error-${slot}`}>{slot}: {m}</div>)}
        {problem && <div className="error" data-testid="editor-error">{problem}</div>}
        {launched && launchedSweep && launched.raw === raw && (
          <div className="muted" data-testid="editor-started">
            started <b>{launchedSweep.name}</b> ({launchedSweep.id}) on {launchedSweep.target}{waiting ? ": waiting for its first results…" : ""}
          </div>
        )}
        {confirming && (
          <div className="warning confirm-long" role="alertdialog" data-testid="editor-confirm">
            This sweep would run {confirming} on {target}. Start it anyway?
            <div className="buttons">
              <button data-testid="editor-confirm-cancel" onClick={() => setConfirming(null)}>no, back to the spec</button>
              <button data-testid="editor-confirm-start" onClick={() => void start()}>start anyway</button>
            </div>
          </div>
        )}
        <div className="buttons">
          <span className="muted">{localCount ? `${localCount} field${localCount > 1 ? "s" : ""} to fix` : ""}</span>
          <button data-testid="editor-start" disabled={!preview || busy || waiting || !!confirming || !!jsonError || localCount > 0} aria-busy={busy || waiting}
            onClick={ask}>
            {busy ? <><span className="spinner" aria-hidden />starting…</> : waiting ? <><span className="spinner" aria-hidden />waiting for the agent…</> : "start sweep"}
          </button>
        </div>
      </div>
    </div>
  );
}
