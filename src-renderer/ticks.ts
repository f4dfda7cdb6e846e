// Axis ticks in hyperparameter units. Tick positions are picked on the axis-unit line (log10 units on a log
// axis), at a 1-2-5 step, computed as k*step (never accumulated) so they stay exact deep in a zoom; labels show
// the hyperparameter value (10^u on a log axis) with just enough significant digits for neighbours to differ.

export interface Tick { u: number; label: string }

export function niceStep(span: number, target: number): number {
  const raw = span / Math.max(1, target);
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/** Format v with `digits` significant digits, plain for moderate magnitudes, else exponent form. */
/** `v.toFixed(digits)` without a sign on a value that rounds to zero: an interval reads "[0.00, 0.12]", not "[-0.00, …]". */
export function formatFixed(v: number, digits: number): string {
  const s = v.toFixed(digits);
  return /^-0(\.0*)?$/.test(s) ? s.slice(1) : s;
}

export function formatSig(v: number | null, digits: number): string {
  if (v === null) return "n/a";
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const e = Math.floor(Math.log10(Math.abs(v)));
  if (e >= -4 && e < 6) {
    const s = v.toPrecision(Math.min(100, Math.max(1, digits)));
    return s.includes("e") ? String(Number(s)) : s.includes(".") ? s.replace(/\.?0+$/, "") : s;
  }
  const [m, x] = v.toExponential(Math.min(100, Math.max(0, digits - 1))).split("e");
  return `${m.includes(".") ? m.replace(/\.?0+$/, "") : m}e${x}`;
}

export function axisTicks(lo: number, hi: number, scale: "log" | "linear", target = 6): Tick[] {
  if (!(hi > lo)) return [];
  const step = niceStep(hi - lo, target);
  const k0 = Math.ceil(lo / step), k1 = Math.floor(hi / step);
  const us: number[] = [];
  for (let k = k0; k <= k1 && us.length < 50; k++) us.push(k * step);
  const values = us.map((u) => (scale === "log" ? 10 ** u : u));
  // Fewest digits with which every pair of neighbouring labels differs (at most 17: a double's full precision).
  let digits = 1;
  for (; digits < 17; digits++) {
    const labels = values.map((v) => formatSig(v, digits));
    if (labels.every((l, i) => i === 0 || l !== labels[i - 1]) && (scale === "log" || labelsExact(values, labels, step))) break;
  }
  return us.map((u, i) => ({ u, label: formatSig(values[i], digits) }));
}

/** On a linear axis the labels must also read back within a tenth of a step of the tick. */
function labelsExact(values: number[], labels: string[], step: number): boolean {
  return values.every((v, i) => Math.abs(Number(labels[i]) - v) <= step / 10);
}

/** A hyperparameter value with full precision for the readout (round-trips to the same double). */
export function formatExact(v: number | null): string {
  if (v === null) return "—";
  return String(v);
}
