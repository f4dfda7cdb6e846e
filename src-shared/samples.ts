// An SFT cell's samples as the API carries them (src-main/core/samples.ts makes them), and what the inspector
// needs to read them.

/** What to ask: prompts of the user's own, or null for the sweep's first held-out conversations. */
export interface SamplesRequest {
  prompts: string[] | null;
  maxNewTokens: number;
}

export interface Sample { prompt: string; reference: string | null; base: string; tuned: string }

/** A cell's samples as the API and the CLI show them. */
export interface CellSamples {
  sweepId: string;
  cell: number;
  request: SamplesRequest;
  samples: Sample[];
  /** The re-run's last training loss and the one the sweep recorded: equal when the cell reproduced. */
  finalLoss: number;
  recordedFinalLoss: number | null;
  createdAt: string;
}

/** Held-out conversations answered when the request has no prompts (the agent's --heldout). */
export const HELDOUT_PROMPTS = 3;

/** The re-run reproduced the recorded cell (the same final loss up to float rounding): its answers are the sweep's model's. */
export function reproduced(s: CellSamples): boolean {
  return s.recordedFinalLoss !== null && Math.abs(s.finalLoss - s.recordedFinalLoss) <= 1e-6 * Math.max(1, Math.abs(s.recordedFinalLoss));
}

/** Whether the samples' re-run reproduced the recorded cell, and if not what that means for reading its answers. */
export function reproducedText(s: CellSamples): string {
  const formatSig = (v: number, digits: number) => String(Number(v.toPrecision(digits)));
  if (s.recordedFinalLoss === null) return `re-run final loss ${formatSig(s.finalLoss, 6)} (the sweep has no result for this cell)`;
  return reproduced(s) ? `re-run reproduced the cell (final loss ${formatSig(s.finalLoss, 6)})`
    : `re-run final loss ${formatSig(s.finalLoss, 6)}, the sweep recorded ${formatSig(s.recordedFinalLoss, 6)} `
      + `(${formatSig(Math.abs(s.finalLoss - s.recordedFinalLoss) / Math.max(1e-300, Math.abs(s.recordedFinalLoss)), 2)} apart): `
      + "these answers come from the cell trained again on its target, whose numbers differ from the run that drew the map "
      + "(another machine or torch build, or a population of one instead of the sweep's: GPT runs agree to about 2e-6 "
      + "relative across those, far more near divergence), so they show this cell's kind of model, not the map's exact one";
}
