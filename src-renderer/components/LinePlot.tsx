// A small SVG line plot (loss curve, grad-norm trace); log y skips non-finite and non-positive points.

export function LinePlot({ x, y, title, log, testId }: { x: ArrayLike<number>; y: ArrayLike<number>; title: string; log?: boolean; testId: string }) {
  const W = 260, H = 110, P = 4;
  const pts: [number, number][] = [];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const v = log ? (y[i] > 0 && Number.isFinite(y[i]) ? Math.log10(y[i]) : NaN) : y[i];
    if (Number.isFinite(v)) pts.push([x[i], v]);
  }
  if (pts.length < 2) return <div className="muted" data-testid={testId}>{title}: no finite values</div>;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  const sx = (v: number) => P + ((v - x0) / (x1 - x0 || 1)) * (W - 2 * P);
  const sy = (v: number) => H - P - ((v - y0) / (y1 - y0 || 1)) * (H - 2 * P);
  const d = pts.map((p, i) => `${i ? "L" : "M"}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join("");
  return (
    <figure className="plot" data-testid={testId}>
      <figcaption>{title}{log ? " (log)" : ""}: {(log ? 10 ** y0 : y0).toPrecision(3)} … {(log ? 10 ** y1 : y1).toPrecision(3)}</figcaption>
      <svg width={W} height={H}><path d={d} fill="none" stroke="currentColor" strokeWidth={1.5} /></svg>
    </figure>
  );
}
