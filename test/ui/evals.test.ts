import { describe, expect, it } from "vitest";
import { evalRows } from "../../src-renderer/evals";

describe("inspector evaluation rows", () => {
  const base = { heldout_loss: 2.0, ood_loss: 3.0, evals: { piqa: { acc: 0.5, acc_norm: 0.75, n: 4 }, arc_challenge: { acc: 0.25, acc_norm: 0.25, n: 4 } } };

  it("put each cell metric beside the base model's with the difference, loss up or accuracy down as forgetting", () => {
    const outcome = { heldout_loss: 1.5, ood_loss: 3.5, "eval.piqa.acc": 0.75, "eval.piqa.acc_norm": 0.5, "eval.arc_challenge.acc": 0.25,
      "eval.arc_challenge.acc_norm": 0.25, final_loss: 1.0 };
    expect(evalRows(outcome, base)).toEqual([
      { metric: "held-out loss", base: 2.0, cell: 1.5, delta: -0.5, verdict: "gained" },
      { metric: "OOD loss", base: 3.0, cell: 3.5, delta: 0.5, verdict: "forgot" },
      { metric: "arc_challenge acc", base: 0.25, cell: 0.25, delta: 0, verdict: "same" },
      { metric: "arc_challenge acc_norm", base: 0.25, cell: 0.25, delta: 0, verdict: "same" },
      { metric: "piqa acc", base: 0.5, cell: 0.75, delta: 0.25, verdict: "gained" },
      { metric: "piqa acc_norm", base: 0.75, cell: 0.5, delta: -0.25, verdict: "forgot" },
    ]);
  });

  it("show what one side has without a difference, and nothing for an MLP cell", () => {
    expect(evalRows({ heldout_loss: 1.0, ood_loss: null }, null)).toEqual([{ metric: "held-out loss", base: null, cell: 1.0, delta: null, verdict: null }]);
    expect(evalRows(null, { heldout_loss: 2.0, ood_loss: null, evals: {} })).toEqual([{ metric: "held-out loss", base: 2.0, cell: null, delta: null, verdict: null }]);
    expect(evalRows({ final_loss: 0.1, heldout_loss: null, ood_loss: null }, null)).toEqual([]);
  });
});
