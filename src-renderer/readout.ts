// What the hover read-out and the inspector say about a cell's hyperparameters, without React.

/**
 * The value of an axis's hyperparameter in a cell's hparams. An `lr` axis sets every parameter group's LR
 * (grid.ts cellHparams writes lr.<group>, not lr), so its value is theirs when they agree.
 */
export function axisParamValue(hparams: Record<string, number | null>, param: string): number | null {
  if (hparams[param] !== undefined) return hparams[param];
  if (param === "lr") {
    const groups = Object.keys(hparams).filter((k) => k.startsWith("lr.")).map((k) => hparams[k]);
    if (groups.length && groups.every((v) => v !== null && v === groups[0])) return groups[0];
  }
  return null;
}

/** Keys of hparams that an axis sets (lr: every lr.<group>), so the inspector can highlight them. */
export function axisKeys(hparams: Record<string, number | null>, params: string[]): string[] {
  return Object.keys(hparams).filter((k) => params.includes(k) || (params.includes("lr") && k.startsWith("lr.")));
}

/** A scale bar's label: decades on a log axis, axis units on a linear one. */
export function scaleLabel(units: number, scale: string): string {
  const n = Number(units.toPrecision(3));
  const s = Math.abs(n) >= 1e-3 ? String(n) : n.toExponential(0);
  return scale === "log" ? `${s} decade${n === 1 ? "" : "s"}` : s;
}
