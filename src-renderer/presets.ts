// Starting points for the sweep editor: the paper's MLP variants, the transformer paper's attention-LR x
// MLP-LR map, and the SFT maps researchers ask for. Each is a raw spec (validate() fills the rest);
// test/ui/presets.test.ts checks every one validates.

import { TABLE1, table1RawSpec } from "../src-shared/table1";

const axis = (param: string, scale: "log" | "linear", range: [number, number], points: number) => ({ param, scale, range, points });
const tinySft = (name: string, x: object, y: object, train: object = {}) => ({
  version: 1, name,
  model: { family: "gpt", checkpoint: "tiny", trainable: "all", seed: 0 },
  // Training families exclude sort: it is the OOD set, and the agent refuses an OOD family it also trains on.
  data: { dataset: "synthetic:arithmetic,reverse,copy,uppercase,count", size: 256, seq_len: 64, heldout: 32, ood: "synthetic:sort" },
  train: { optimizer: "adamw", batch_size: 8, epochs: 1, schedule: "cosine", warmup: 0.02, weight_decay: 0.1, grad_clip: 1.0, precision: "float32", ...train },
  axes: { x, y },
});

export const PRESETS: { label: string; spec: object }[] = [
  {
    label: "paper MLP: tanh, full batch",
    spec: {
      version: 1, name: "paper MLP tanh", model: { family: "mlp", width: 16, activation: "tanh", seed: 0 },
      train: { optimizer: "gd", steps: 500, precision: "float64" },
      axes: { x: axis("lr.input", "log", [-3, 6], 256), y: axis("lr.output", "log", [-3, 6], 256) },
    },
  },
  {
    label: "paper MLP: relu",
    spec: {
      version: 1, name: "paper MLP relu", model: { family: "mlp", width: 16, activation: "relu", seed: 0 },
      train: { optimizer: "gd", steps: 500 }, axes: { x: axis("lr.input", "log", [-3, 6], 256), y: axis("lr.output", "log", [-3, 6], 256) },
    },
  },
  {
    label: "paper MLP: identity, one datapoint",
    spec: {
      version: 1, name: "paper MLP identity N=1", model: { family: "mlp", width: 16, activation: "identity", datapoints: 1, seed: 0 },
      train: { optimizer: "gd", steps: 500 }, axes: { x: axis("lr.input", "log", [-3, 6], 256), y: axis("lr.output", "log", [-3, 6], 256) },
    },
  },
  {
    label: "paper MLP: tanh, minibatch 16",
    spec: {
      version: 1, name: "paper MLP tanh minibatch", model: { family: "mlp", width: 16, activation: "tanh", seed: 0 },
      train: { optimizer: "sgd", batch_size: 16, steps: 500 }, axes: { x: axis("lr.input", "log", [-3, 6], 256), y: axis("lr.output", "log", [-3, 6], 256) },
    },
  },
  {
    label: "transformer paper: attention LR x MLP LR",
    spec: {
      version: 1, name: "attn LR x MLP LR", model: { family: "gpt", checkpoint: "tiny", trainable: "all", seed: 0 },
      data: { dataset: "synthetic", size: 256, seq_len: 64, heldout: 32 },
      train: { optimizer: "sgd", steps: 100, batch_size: 8, precision: "float32", lr: { embed: 0.01, unembed: 0.01, norm: 0.01 } },
      axes: { x: axis("lr.attn", "log", [-4, 1], 64), y: axis("lr.mlp", "log", [-4, 1], 64) },
    },
  },
  { label: "SFT: LR x dataset size", spec: tinySft("SFT LR x dataset size", axis("lr", "log", [-5, -1], 32), axis("dataset_size", "log", [1.5, 3], 16)) },
  { label: "SFT: LR x batch size", spec: tinySft("SFT LR x batch size", axis("lr", "log", [-5, -1], 32), axis("batch_size", "log", [0, 5], 16)) },
  { label: "SFT: LR x warmup", spec: tinySft("SFT LR x warmup", axis("lr", "log", [-5, -1], 32), axis("warmup", "linear", [0, 0.5], 16)) },
  {
    label: "SFT: attention LR x MLP LR",
    spec: tinySft("SFT attn LR x MLP LR", axis("lr.attn", "log", [-5, -1], 32), axis("lr.mlp", "log", [-5, -1], 32),
      { lr: { embed: 1e-4, unembed: 1e-4, norm: 1e-4 } }),
  },
  { label: "SFT: LR x weight decay", spec: tinySft("SFT LR x weight decay", axis("lr", "log", [-5, -1], 32), axis("weight_decay", "linear", [0, 0.5], 16)) },
  // Table 1 of Sohl-Dickstein (2024), all six as `fractal-llm reproduce` and the app's Table 1 view run them
  // (src-shared/table1.ts); the init-offset one in the notebook's form (offset added before every step).
  ...TABLE1.map((e) => ({ label: `Table 1: ${e.title} (paper D = ${e.paper.toFixed(2)})`, spec: table1RawSpec(e, 256) })),
  {
    // "Mapping the edge of chaos" (arXiv 2501.04286): a 2-layer, d = 64 character-level decoder trained with Adam,
    // attention LR x feed-forward LR, on the shipped corpus's conversations (a path relative to the repository:
    // start the app from there, or pick the file again). The model is the shipped tiny checkpoint (that very
    // architecture, byte-level); their from-scratch runs need checkpoint "scratch" with model.config, which the
    // editor form cannot hold yet (every preset must round-trip through it). float64: their deepest zooms go
    // below float32's LR resolution (the editor's precision guard warns when a zoom does).
    label: "transformer map: attention LR x FC LR (2-layer d=64 char-level, Adam, float64)",
    spec: {
      version: 1, name: "edge of chaos: attention LR x FC LR",
      model: { family: "gpt", checkpoint: "tiny", trainable: "all", seed: 0 },
      data: { dataset: "jsonl:resources/corpus/chat.jsonl", size: 64, seq_len: 64, heldout: 16 },
      train: { optimizer: "adamw", steps: 200, batch_size: 8, schedule: "constant", weight_decay: 0, grad_clip: null,
        precision: "float64", lr: { embed: 1e-3, unembed: 1e-3, norm: 1e-3 } },
      axes: { x: axis("lr.attn", "log", [-4, 0], 64), y: axis("lr.mlp", "log", [-4, 0], 64) },
    },
  },
];
