// The six experiments of Table 1 of Sohl-Dickstein (2024) as raw sweep specs: pure data, shared by the
// reproduction (core/reproduce.ts, which validates them) and the sweep editor's presets (src-renderer/presets.ts), so it
// lives with the code both sides import (src-shared: no imports outside it).
//
// Settings are those of the paper's notebook: width 16, two layers without biases (W0 16x16, W1 16x1:
// 272 parameters), the mean-field network of DESIGN.md, N = 272 training points (identity: 16; single
// datapoint: 1), full-batch gradient descent (minibatch: 16 examples a step, loss on the full batch),
// 500 steps, float64; x = input-layer LR, y = output-layer LR, except the init-offset experiment (x =
// offset added to W0 before every training step, the notebook's form; y = one LR for both layers).
// Root ranges (log10 LR) were chosen from a 16x16 x 200-step scan of each experiment so that the boundary
// crosses the map.

export interface Table1Entry {
  name: string;
  title: string;
  /** the dimension Table 1 reports */
  paper: number;
  model: Record<string, unknown>;
  train?: Record<string, unknown>;
  axes?: { x: Record<string, unknown>; y: Record<string, unknown> };
}

export const DEFAULT_TABLE1_POINTS = 64;
/** Zooms into the boundary after the root map, by default. */
export const DEFAULT_TABLE1_LEVELS = 2;
/** The coarsest map a reproduction measures: box counting needs several box sizes on each level. */
export const MIN_TABLE1_POINTS = 16;

const LR_AXES = { x: { param: "lr.input", scale: "log", range: [0, 3] }, y: { param: "lr.output", scale: "log", range: [0, 3] } };

export const TABLE1: readonly Table1Entry[] = [
  { name: "linear", title: "linear (identity) network", paper: 1.17, model: { activation: "identity" } },
  { name: "relu", title: "ReLU", paper: 1.2, model: { activation: "relu" } },
  { name: "tanh-single", title: "tanh, a single datapoint", paper: 1.41, model: { activation: "tanh", datapoints: 1 } },
  { name: "tanh-minibatch", title: "tanh, minibatch of 16", paper: 1.55, model: { activation: "tanh" },
    train: { optimizer: "sgd", batch_size: 16 } },
  { name: "tanh", title: "tanh, full batch", paper: 1.66, model: { activation: "tanh" } },
  { name: "tanh-init-offset", title: "tanh, init offset x one LR", paper: 1.98,
    model: { activation: "tanh", init_offset_form: "every_step" },
    axes: { x: { param: "init_offset", scale: "linear", range: [-2, 2] }, y: { param: "lr", scale: "log", range: [-1, 3] } } },
];

export const TABLE1_NAMES = TABLE1.map((e) => e.name);

/** The raw (not yet validated) root spec of an experiment at `points` x `points` cells. */
export function table1RawSpec(e: Table1Entry, points = DEFAULT_TABLE1_POINTS): object {
  const axes = e.axes ?? LR_AXES;
  return {
    version: 1, name: `Table 1: ${e.title}`,
    model: { family: "mlp", width: 16, data_multiple: 1.0, seed: 0, ...e.model },
    train: { optimizer: "gd", steps: 500, precision: "float64", ...(e.train ?? {}) },
    axes: { x: { ...axes.x, points }, y: { ...axes.y, points } },
    criterion: { window: 20, threshold: 1.0 },
    record: { curves: false },
  };
}
