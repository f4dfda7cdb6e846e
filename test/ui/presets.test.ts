import { describe, expect, it } from "vitest";
import { validate } from "../../src-main/core/spec";
import { PRESETS } from "../../src-renderer/presets";

describe("sweep editor presets", () => {
  it("every preset is a valid spec, and the list covers the maps the issue names", () => {
    for (const p of PRESETS) expect(() => validate(p.spec), p.label).not.toThrow();
    const axes = PRESETS.map((p) => { const s = validate(p.spec); return `${s.axes.x.param} x ${s.axes.y.param}`; });
    for (const want of ["lr.input x lr.output", "lr.attn x lr.mlp", "lr x dataset_size", "lr x batch_size", "lr x warmup", "lr x weight_decay"]) {
      expect(axes).toContain(want);
    }
  });
});
