// The sweep editor's form (src-renderer/spec-form.ts) against the validator (src-shared/spec.ts): the allowed
// values and defaults it shows, exact round trips (presets, shared fixtures, unknown fields), and local checks
// that never pass a spec the validator rejects and flag the field it names.
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import type { TargetInfo } from "../../src-shared/contract";
import * as S from "../../src-shared/spec";
import { PRESETS } from "../../src-renderer/presets";
import {
  AXIS_PARAMS, EVAL_TASKS, FAMILIES, FIELDS, GROUPS, INIT_OFFSET_FORMS, INTEGER_PARAMS, MAX_POINTS, MLP_ACTIVATIONS, OPTIMIZERS, PRECISIONS,
  SCALES, SCHEDULES, SPEC_VERSION, axisValues, checkForm, defaultOf, editField, errorSlot, formToSpec, parseServerError,
  specToForm, targetOption, withFamily, type Family, type FieldPath, type Form,
} from "../../src-renderer/spec-form";

const FIXTURES = resolve(__dirname, "../fixtures/specs");
const fixtures = (kind: "valid" | "invalid") =>
  readdirSync(join(FIXTURES, kind)).filter((f) => f.endsWith(".json")).sort()
    .map((f) => ({ file: f, json: JSON.parse(readFileSync(join(FIXTURES, kind, f), "utf8")) }));
const VALID = fixtures("valid").map(({ file, json }) => ({ file, spec: json as object }));
const INVALID = fixtures("invalid").map(({ file, json }) => ({ file, ...(json as { field: string; contains: string; spec: object }) }));

/** The field validate() names, or null when the spec is valid. */
function rejects(raw: unknown): string | null {
  try {
    S.validate(raw);
    return null;
  } catch (e) {
    if (e instanceof S.SpecError) return e.field;
    throw e;
  }
}

/** One form edit, as the editor does it: the raw spec after it, and the form. */
function edit(raw: unknown, path: FieldPath, value: string, form: Form = specToForm(raw)): { raw: object; form: Form } {
  const f = editField(form, path, value);
  return { raw: formToSpec(f, raw), form: f };
}

/** The core of the form's promise: local checks silent => the validator accepts; the validator rejects => a message at its field. */
function agrees(raw: unknown, form: Form, what: string): void {
  const field = rejects(raw);
  const local = checkForm(form);
  if (field === null) return;
  const slot = errorSlot(field);
  expect(slot, `${what}: validator names ${field}, which the form has no place for`).not.toBeNull();
  expect(local[slot!], `${what}: validator rejects at ${field}; local checks said ${JSON.stringify(local)}`).toBeDefined();
}

const template = (f: Family) => withFamily({ version: 1, name: "t" }, f);

describe("spec form: what it allows mirrors the validator", () => {
  it("lists the validator's own values, not copies (both read the agent's spec_values.json)", () => {
    expect(SPEC_VERSION).toBe(S.SPEC_VERSION);
    expect(MAX_POINTS).toBe(S.MAX_POINTS);
    for (const [mine, its] of [[FAMILIES, S.FAMILIES], [MLP_ACTIVATIONS, S.MLP_ACTIVATIONS], [GROUPS.mlp, S.MLP_GROUPS], [GROUPS.gpt, S.GPT_GROUPS],
      [AXIS_PARAMS, S.AXIS_PARAMS], [INTEGER_PARAMS, S.INTEGER_PARAMS], [EVAL_TASKS, S.EVAL_TASKS], [INIT_OFFSET_FORMS, S.INIT_OFFSET_FORMS]] as const) {
      expect(mine).toBe(its);
    }
  });

  it("offers exactly the choices the validator accepts (optimizers, schedules, precisions, scales)", () => {
    for (const fam of FAMILIES) {
      const base = template(fam);
      expect(rejects(base), fam).toBeNull();
      const lists: [FieldPath, readonly string[]][] = [
        ["train.optimizer", OPTIMIZERS[fam]], ["train.schedule", SCHEDULES], ["train.precision", PRECISIONS[fam]], ["axes.x.scale", SCALES],
      ];
      for (const [p, choices] of lists) {
        for (const c of choices) {
          let { raw } = edit(base, p, c);
          if (p === "axes.x.scale") raw = edit(edit(raw, "axes.x.lo", "0.1").raw, "axes.x.hi", "0.5").raw; // positive on either scale
          if (c === "sgd" && fam === "mlp") raw = edit(raw, "train.batch_size", "16").raw; // sgd needs a minibatch size
          expect(rejects(raw), `${fam} ${p}=${c}`).toBeNull();
        }
        expect(rejects(edit(base, p, "bogus").raw), `${fam} ${p}=bogus`).toBe(p);
        expect(checkForm(edit(base, p, "bogus").form)[p], `${fam} ${p}=bogus`).toBeDefined();
      }
    }
  });

  it("shows the validator's defaults for absent fields", () => {
    for (const fam of FAMILIES) {
      // A spec with the field removed, normalised: the value filled in must be what the form shows as default.
      let base = fam === "gpt" ? edit(edit(template(fam), "model.trainable", "lora").raw, "data.size", "64").raw : template(fam);
      // Axes whose range is fine on either scale (the default scale is linear).
      for (const [a, param] of [["x", "lr"], ["y", "weight_decay"]] as const) {
        base = edit(edit(edit(base, `axes.${a}.param`, param).raw, `axes.${a}.lo`, "0.1").raw, `axes.${a}.hi`, "0.5").raw;
      }
      for (const p of FIELDS) {
        const d = defaultOf(fam, p);
        if (!d) continue;
        if (fam === "mlp" && (p.startsWith("data.") || ["model.checkpoint", "model.trainable", "model.lora_rank"].includes(p))) continue;
        if (fam === "gpt" && ["model.width", "model.activation", "model.data_multiple"].includes(p)) continue;
        const { raw } = edit(base, p, "");
        const spec = S.validate(raw) as unknown as Record<string, unknown>;
        const v = p.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], spec);
        // The validator drops init_offset_form ("once") and sampling ("grid") when they are the default, so absent means
        // that default (the sweep id of a spec without them stays what it was).
        const dropped: Record<string, string> = { "model.init_offset_form": "once", sampling: "grid" };
        expect(p in dropped && v === undefined ? dropped[p] : String(v), `${fam} ${p}`).toBe(d);
      }
    }
  });
});

describe("spec form: round trips", () => {
  it("every preset: spec -> form -> spec unchanged, and the form alone rebuilds it", () => {
    for (const p of PRESETS) {
      const form = specToForm(p.spec);
      expect(formToSpec(form, p.spec), p.label).toEqual(p.spec);
      // From an empty spec: the form holds every field the presets use.
      expect(S.validate(formToSpec(form, {})), p.label).toEqual(S.validate(p.spec));
      expect(S.validate(formToSpec(form, p.spec)), p.label).toEqual(S.validate(p.spec));
    }
  });

  it("every shared fixture, valid or not, comes back exactly (unknown fields, model.config, nulls, bad values)", () => {
    for (const { file, spec } of [...VALID, ...INVALID]) expect(formToSpec(specToForm(spec), spec), file).toEqual(spec);
  });

  it("an edit writes its field and leaves the rest of the raw spec alone", () => {
    const base = { ...structuredClone(PRESETS[5].spec), extra: { keep: [1, 2] } } as Record<string, any>;
    base.model.config = { n_layer: 1 };
    base.train.betas = [0.9, 0.99];
    base.data.evals_dir = null;
    base.data.ood = null;
    const { raw } = edit(base, "model.seed", "3");
    expect(raw).toEqual({ ...base, model: { ...base.model, seed: 3 } });
    // Cleared: the key goes, so the validator's default applies.
    expect((edit(base, "train.warmup", "").raw as any).train).not.toHaveProperty("warmup");
  });

  it("keeps what is being typed in the form, and what does not parse in the raw spec for the server to name", () => {
    const base = PRESETS[0].spec;
    let s = edit(base, "axes.x.lo", "-2.");
    expect(s.form["axes.x.lo"]).toBe("-2.");
    expect((s.raw as any).axes.x.range).toEqual([-2, 6]);
    s = edit(s.raw, "model.width", "abc", s.form);
    expect((s.raw as any).model.width).toBe("abc");
    expect(rejects(s.raw)).toBe("model.width");
    expect(checkForm(s.form)["model.width"]).toMatch(/number/);
    // The JSON view shows "abc"; loaded back, the field shows it quoted and writes it back unchanged.
    expect(specToForm(s.raw)["model.width"]).toBe('"abc"');
    expect(formToSpec(specToForm(s.raw), s.raw)).toEqual(s.raw);
  });

  it("reads and writes the grouped fields: LR per group, trainable groups, LoRA rank, evals", () => {
    const sft = PRESETS.find((p) => p.label === "SFT: attention LR x MLP LR")!.spec;
    const form = specToForm(sft);
    expect([form["train.lr"], form["train.lr.embed"], form["train.lr.norm"]]).toEqual(["", "0.0001", "0.0001"]);
    expect((edit(sft, "train.lr.embed", "0.01").raw as any).train.lr).toEqual({ embed: 0.01, unembed: 1e-4, norm: 1e-4 });

    let s = edit(sft, "model.trainable", "attn, mlp");
    expect((s.raw as any).model.trainable).toEqual(["attn", "mlp"]);
    expect(rejects(s.raw)).toBeNull();
    s = edit(s.raw, "model.trainable", "lora", s.form);
    s = edit(s.raw, "model.lora_rank", "16", s.form);
    expect((s.raw as any).model).toMatchObject({ trainable: "lora", lora_rank: 16 });
    expect(rejects(s.raw)).toBeNull();
    // Leaving LoRA drops the rank (the validator rejects a rank without it).
    s = edit(s.raw, "model.trainable", "all", s.form);
    expect((s.raw as any).model).not.toHaveProperty("lora_rank");
    expect(rejects(s.raw)).toBeNull();

    s = edit(sft, "data.evals", "hellaswag:200, arc_challenge:200");
    expect((s.raw as any).data.evals).toEqual(["hellaswag:200", "arc_challenge:200"]);
    expect(rejects(s.raw)).toBeNull();
    expect(specToForm(s.raw)["data.evals"]).toBe("hellaswag:200, arc_challenge:200");
  });

  it("holds the init-offset form: every_step written and read back, once normalised away, refused for gpt", () => {
    const offset = PRESETS.find((p) => (p.spec as any).axes.x.param === "init_offset")!.spec;
    let s = edit(offset, "model.init_offset_form", "once");
    expect((s.raw as any).model.init_offset_form).toBe("once");
    expect(rejects(s.raw)).toBeNull();
    expect(S.validate(s.raw).model).not.toHaveProperty("init_offset_form"); // the default: absent in the normalised spec
    s = edit(s.raw, "model.init_offset_form", "every_step", s.form);
    expect(S.validate(s.raw).model).toMatchObject({ init_offset_form: "every_step" });
    expect(checkForm(s.form)).toEqual({});
    const bad = edit(s.raw, "model.init_offset_form", "twice", s.form);
    expect(rejects(bad.raw)).toBe("model.init_offset_form");
    expect(checkForm(bad.form)["model.init_offset_form"]).toMatch(/once, every_step/);
    const gpt = edit(PRESETS[5].spec, "model.init_offset_form", "every_step");
    expect(rejects(gpt.raw)).toBe("model.init_offset_form");
    expect(checkForm(gpt.form)["model.init_offset_form"]).toMatch(/only to the mlp family/);
  });

  it("starts an empty spec with version 1, so a form filled from nothing validates", () => {
    let s = { raw: {} as object, form: specToForm({}) };
    s = { raw: withFamily(s.raw, "mlp"), form: specToForm(withFamily(s.raw, "mlp")) };
    s = edit(s.raw, "name", "from scratch", s.form);
    expect(s.raw).toMatchObject({ version: 1, name: "from scratch" });
    expect(rejects(s.raw)).toBeNull();
  });
});

describe("spec form: every form it produces validates, and its checks agree with the validator", () => {
  it("family switches from every preset keep the name and validate", () => {
    for (const p of PRESETS) {
      for (const fam of FAMILIES) {
        const raw = withFamily(p.spec, fam);
        expect(rejects(raw), `${p.label} -> ${fam}`).toBeNull();
        expect((raw as any).name).toBe((p.spec as any).name);
        if ((p.spec as any).model.family !== fam) expect(checkForm(specToForm(raw)), `${p.label} -> ${fam}`).toEqual({});
      }
    }
  });

  it("local checks pass the valid fixtures and the presets", () => {
    for (const { file, spec } of VALID) expect(checkForm(specToForm(spec)), file).toEqual({});
    for (const p of PRESETS) {
      const local = checkForm(specToForm(p.spec));
      // The SFT presets train on every synthetic family and test OOD on one of them, which the agent refuses
      // when the sweep starts (data.py check_ood); the form says so instead of letting it start.
      if (local["data.ood"]) expect(local["data.ood"], p.label).toMatch(/shares sort with the training set/);
      expect(Object.keys(local).filter((k) => k !== "data.ood"), p.label).toEqual([]);
    }
  });

  it("local checks flag the field of every invalid fixture the form shows", () => {
    for (const { file, field, spec } of INVALID) {
      const slot = errorSlot(field);
      if (slot === null) continue; // version, unknown top-level keys: the server's message, at the top
      expect(checkForm(specToForm(spec))[slot], `${file}: ${field}`).toBeDefined();
    }
  });

  it("every pair of axis params picked in the form: valid unless a local check says why", () => {
    let tried = 0;
    for (const fam of FAMILIES) {
      const variants: [string, (r: unknown, f: Form) => { raw: object; form: Form }][] = [
        ["as is", (r, f) => ({ raw: r as object, form: f })],
        ["fixed lr", (r, f) => edit(r, "train.lr", "0.01", f)],
        fam === "mlp"
          ? ["sgd", (r, f) => { const s = edit(r, "train.optimizer", "sgd", f); return edit(s.raw, "train.batch_size", "8", s.form); }]
          : ["lora", (r, f) => edit(r, "model.trainable", "lora", f)],
      ];
      for (const px of AXIS_PARAMS[fam]) {
        for (const py of AXIS_PARAMS[fam]) {
          for (const [name, variant] of variants) {
            let s = { raw: template(fam) as object, form: specToForm(template(fam)) };
            s = edit(s.raw, "axes.x.param", px, s.form);
            s = edit(s.raw, "axes.y.param", py, s.form);
            s = variant(s.raw, s.form);
            agrees(s.raw, s.form, `${fam} ${px} x ${py} (${name})`);
            if (px !== py && Object.keys(checkForm(s.form)).length === 0) tried++;
          }
        }
      }
    }
    expect(tried).toBeGreaterThan(60); // most combinations are valid maps
  });

  it("typical typing mistakes: the validator's field gets a local message", () => {
    const cases: [number, FieldPath, string][] = [
      [0, "axes.x.points", "0"], [0, "axes.x.points", "1.5"], [0, "axes.y.lo", "7"], [0, "axes.x.hi", ""], [0, "model.width", "0"],
      [0, "model.activation", "gelu"], [0, "train.steps", "-1"], [0, "train.steps", ""], [0, "train.epochs", "1"],
      [0, "criterion.window", "600"], [0, "criterion.threshold", "0"], [0, "name", " "], [0, "model.datapoints", "0.5"],
      [0, "axes.x.param", "init_offset"], [5, "model.checkpoint", "foo"],
      [5, "data.dataset", "jsonl"], [5, "data.dataset", "csv:x"], [5, "data.seq_len", "4"], [5, "data.heldout", "-1"],
      [5, "data.evals", "mmlu"], [5, "data.evals", "piqa:0"], [5, "data.evals", "piqa, piqa:3"], [5, "train.steps", "10"],
      [5, "train.warmup", "1"], [5, "train.weight_decay", "-0.1"], [5, "train.grad_clip", "0"], [5, "train.batch_size", "0"],
      [5, "model.trainable", "attn, heads"], [5, "axes.y.param", "lr"], [5, "axes.y.param", "lr.attn"], [5, "axes.y.param", "lora_rank"],
      [5, "train.precision", "float16"], [4, "train.lr.embed", ""], [4, "train.lr.norm", "-1"],
    ];
    for (const [i, p, v] of cases) {
      const s = edit(PRESETS[i].spec, p, v);
      expect(rejects(s.raw), `${PRESETS[i].label}: ${p}=${JSON.stringify(v)} should be rejected`).not.toBeNull();
      agrees(s.raw, s.form, `${PRESETS[i].label}: ${p}=${JSON.stringify(v)}`);
    }
  });

  it("is stricter than the validator only where the sweep could not work anyway", () => {
    const sft = PRESETS[5].spec;
    expect(checkForm(edit(PRESETS[0].spec, "axes.x.points", "1").form)["axes.x.points"]).toMatch(/≥ 2/);
    expect(checkForm(edit(sft, "data.seq_len", "256").form)["data.seq_len"]).toMatch(/tiny model reads at most 128/);
    const ood = edit(sft, "data.ood", "synthetic:sort,count");
    expect(rejects(ood.raw)).toBeNull();
    expect(checkForm(ood.form)["data.ood"]).toMatch(/synthetic:arithmetic,reverse,copy,uppercase$/);
    expect(checkForm(edit(ood.raw, "data.dataset", "synthetic:arithmetic,copy", ood.form).form)).toEqual({});
  });

  it("picking an axis param gives it a range that makes sense for it", () => {
    const s = edit(PRESETS[5].spec, "axes.y.param", "warmup");
    expect([s.form["axes.y.scale"], s.form["axes.y.lo"], s.form["axes.y.hi"], s.form["axes.y.points"]]).toEqual(["linear", "0", "0.5", "16"]);
    expect(axisValues(s.form, "y")).toBe("0 … 0.5");
    expect(axisValues(s.form, "x")).toBe("0.00001 … 0.1");
    expect(axisValues(edit(s.raw, "axes.y.param", "batch_size", s.form).form, "y")).toBe("1 … 1000");
  });
});

describe("spec form: server messages and targets", () => {
  it("finds the field a server message names and the form's place for it", () => {
    expect(parseServerError("spec field axes.x.points: must be ≥ 1, got 0")).toEqual({ path: "axes.x.points", detail: "must be ≥ 1, got 0" });
    expect(parseServerError("not valid JSON")).toBeNull();
    expect(parseServerError("target \"x\": unknown")).toBeNull();
    const slots: [string, string | null][] = [
      ["axes.x.points", "axes.x.points"], ["axes.y.range[1]", "axes.y.range"], ["axes.y.range", "axes.y.range"],
      ["data.evals[2]", "data.evals"], ["model.trainable[0]", "model.trainable"], ["train.lr.embed", "train.lr.embed"],
      ["train.lr", "train.lr"], ["name", "name"], ["model.config.n_head", null], ["train.betas[1]", null], ["version", null],
      ["axes.x", null], ["extra", null], ["", null], ["parent", null],
    ];
    for (const [path, slot] of slots) expect(errorSlot(path), path).toBe(slot);
    // Every field the validator can name on the invalid fixtures maps to a slot or knowingly to none.
    const unplaced = INVALID.filter(({ field }) => errorSlot(field) === null).map(({ field }) => field);
    expect([...new Set(unplaced)].sort()).toEqual(["data.evals_dir", "extra", "version"]);
  });

  it("labels targets with what runs there", () => {
    const t = (o: Partial<TargetInfo>): TargetInfo => ({
      target: "gpu-box", kind: "ssh", description: "from ~/.ssh/config", gpus: null, device: "h100", count: 1, zoomPoints: 256, probedAt: null, ...o,
    });
    expect(targetOption(t({ target: "local", kind: "local", description: "this computer (CPU)", gpus: [], device: "cpu" }))).toBe("local — this computer (CPU)");
    expect(targetOption(t({ gpus: Array(8).fill("NVIDIA H100 (80 GiB)"), count: 8 }))).toBe("gpu-box — 8× NVIDIA H100 (80 GiB)");
    expect(targetOption(t({ gpus: ["A (40 GiB)", "A (40 GiB)", "B (16 GiB)"] }))).toBe("gpu-box — 2× A (40 GiB), 1× B (16 GiB)");
    expect(targetOption(t({}))).toBe("gpu-box — not probed yet (test it in hosts)");
    expect(targetOption(t({ gpus: [] }))).toBe("gpu-box — no GPU found (CPU)");
  });
});
