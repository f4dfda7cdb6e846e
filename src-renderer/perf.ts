// Diagnostics for scripts/bench-ui.ts, read from the page as window.__fractalPerf: when each sweep's texture
// (first, and after each streaming update) first went to the GPU, and a hook that draws one frame
// synchronously and waits for the GPU, to time frames without the display's vsync in the way.

export interface FractalPerf {
  /** performance.now() of the first frame that drew each sweep (a preview, for a large map). */
  firstFrame: Record<string, number>;
  /** performance.now() of the first frame that drew each sweep's full-resolution layer. */
  fullFrame: Record<string, number>;
  /** Epoch ms (timeOrigin + now) when each sweep's latest layer data was first drawn. */
  layerDrawn: Record<string, number>;
  /** Epoch ms when each sweep's latest full-resolution layer data was first drawn. */
  fullDrawn: Record<string, number>;
  /** Draw one frame now (useFrame callbacks + render) and wait for the GPU; returns milliseconds. */
  frame: (() => number) | null;
  /** Texels re-uploaded by streaming deltas (partial texture updates), all levels, per sweep. */
  patchTexels: Record<string, number>;
  /** performance.now() at the first time each step of opening the app happened (bench-ui's first-frame breakdown). */
  marks: Record<string, number>;
}

/** Note when `name` first happened (later calls keep the first time). */
export function mark(name: string): void {
  perf.marks[name] ??= performance.now();
}

export const perf: FractalPerf = { firstFrame: {}, fullFrame: {}, layerDrawn: {}, fullDrawn: {}, frame: null, patchTexels: {}, marks: {} };
(globalThis as unknown as { __fractalPerf: FractalPerf }).__fractalPerf = perf;
