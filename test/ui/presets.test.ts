import { describe, expect, it } from "vitest";
import { TABLE1, table1RawSpec } from "../../src-shared/table1";
import { validate } from "../../src-shared/spec";
import { PRESETS } from "../../src-renderer/presets";
import { formToSpec, specToForm } from "../../src-renderer/spec-form";

describe("sweep editor presets", () => {
  it("every preset is a valid spec, and the list covers the maps the issue names", () => {
    for (const p of PRESETS) expect(() => validate(p.spec), p.label).not.toThrow();
    const axes = PRESETS.map((p) => { const s = validate(p.spec); return `${s.axes.x.param} x ${s.axes.y.param}`; });
    for (const want of ["lr.input x lr.output", "lr.attn x lr.mlp", "lr x dataset_size", "lr x batch_size", "lr x warmup", "lr x weight_decay"]) {
      expect(axes).toContain(want);
    }
  });

  // Every preset's exact round trip through the form: test/ui/spec-form.test.ts.
  it("all six Table 1 experiments are presets the form alone rebuilds, the init-offset one in the notebook's every-step form", () => {
    for (const e of TABLE1) {
      const preset = PRESETS.find((p) => p.label.includes(e.title) && p.label.includes(e.paper.toFixed(2)));
      expect(preset, e.name).toBeDefined();
      expect(validate(preset!.spec), e.name).toEqual(validate(table1RawSpec(e, 256)));
      expect(validate(formToSpec(specToForm(preset!.spec), {})), e.name).toEqual(validate(preset!.spec));
    }
    const offset = PRESETS.find((p) => validate(p.spec).axes.x.param === "init_offset");
    expect(offset, "the init-offset preset").toBeDefined();
    const spec = validate(offset!.spec);
    expect(spec.model).toMatchObject({ family: "mlp", init_offset_form: "every_step" });
    expect(specToForm(offset!.spec)["model.init_offset_form"]).toBe("every_step");
  });
});
