"""run_cells: train a set of cells of one sweep and return one outcome row per cell.

Cells are grouped by the tensor shapes they need (dataset size, batch size, token budget); each group
trains as populations of replicas with stacked weights (mlp.train_population / sft.train_population)
and its traces are summarised by outcome.summarize. See docs/ARCHITECTURE.md for the row fields.
"""
import time

import numpy as np

from . import mlp, outcome, sft
from .spec import cell_hparams

# hyperparameters that change a cell's tensor shapes: only cells agreeing on them share a population
SHAPE_KEYS = {"mlp": ("dataset_size", "batch_size"), "gpt": ("dataset_size", "tokens", "batch_size")}
TRAINERS = {"mlp": mlp.train_population, "gpt": sft.train_population}


def run_cells(spec, cells, device):
    """Train `cells` (int64 row-major indices) of the validated `spec` on `device`.

    Returns a dict of numpy arrays, one row per cell in the order of `cells`: cell, trainable,
    stable, score, first_loss, final_loss, divergence_step, heldout_loss, ood_loss (NaN where not
    configured; always NaN for mlp), wall_time (the population's seconds / K), flops, for each
    multiple-choice task in spec["data"]["evals"]: eval.<task>.acc and eval.<task>.acc_norm, and when
    spec["record"]["curves"]: trace_step (P,), loss_trace (K, P), grad_norm_trace (K, P).
    """
    cells = np.asarray(cells, dtype=np.int64)
    if cells.ndim != 1 or cells.size == 0:
        raise ValueError(f"cells must be a non-empty 1-D array of cell indices, got shape {cells.shape}")
    family = spec["model"]["family"]
    crit = spec["criterion"]
    hparams = [cell_hparams(spec, int(c)) for c in cells]

    groups = {}
    for pos, hp in enumerate(hparams):
        groups.setdefault(tuple(hp[k] for k in SHAPE_KEYS[family]), []).append(pos)

    K = len(cells)
    rows = {
        "cell": cells.copy(),
        "trainable": np.zeros(K, dtype=np.uint8),
        "stable": np.zeros(K, dtype=np.uint8),
        "score": np.zeros(K),
        "first_loss": np.zeros(K),
        "final_loss": np.zeros(K),
        "divergence_step": np.zeros(K, dtype=np.int32),
        "heldout_loss": np.full(K, np.nan),
        "ood_loss": np.full(K, np.nan),
        "wall_time": np.zeros(K),
        "flops": np.zeros(K),
    }
    tasks = [e.split(":", 1)[0] for e in spec["data"]["evals"]] if family == "gpt" else []
    for task in tasks:
        rows[f"eval.{task}.acc"] = np.full(K, np.nan)
        rows[f"eval.{task}.acc_norm"] = np.full(K, np.nan)
    curves = spec["record"]["curves"]
    traces = {}
    train_population = TRAINERS[family]

    for positions in groups.values():
        hp0 = hparams[positions[0]]
        size = mlp.chunk_size(spec, device, hp0["dataset_size"]) if family == "mlp" else len(positions)
        for start in range(0, len(positions), size):
            idx = np.array(positions[start:start + size])
            t0 = time.perf_counter()
            out = train_population(spec, [hparams[i] for i in idx], device)
            wall = time.perf_counter() - t0
            # A run shorter than the criterion window (an epochs-based SFT cell on a small dataset) is
            # judged over all of its losses; the spec cannot know step counts that depend on the data.
            window = min(crit["window"], out["losses"].shape[1])
            summary = outcome.summarize(out["losses"], out["grad_norms"], window, crit["threshold"])
            for name in ("trainable", "stable", "score", "first_loss", "final_loss", "divergence_step"):
                rows[name][idx] = summary[name]
            rows["wall_time"][idx] = wall / len(idx)
            if family == "mlp":
                rows["flops"][idx] = mlp.train_flops(spec, hp0)
            else:
                for name in ("heldout_loss", "ood_loss", "flops"):
                    rows[name][idx] = out[name]
                for task in tasks:
                    for metric in ("acc", "acc_norm"):
                        rows[f"eval.{task}.{metric}"][idx] = out["evals"][task][metric]
            if curves:
                traces.setdefault(summary["trace_step"].tobytes(), []).append((idx, summary))

    if curves:
        if len(traces) != 1:  # gpt cells with different token budgets train for different step counts
            raise ValueError(f"cells of one run_cells call must share a step count to share a curve grid; "
                             f"got {len(traces)} different step counts — run them in separate calls")
        (parts,) = traces.values()
        P = len(parts[0][1]["trace_step"])
        rows["trace_step"] = parts[0][1]["trace_step"]
        rows["loss_trace"] = np.zeros((K, P), dtype=np.float32)
        rows["grad_norm_trace"] = np.zeros((K, P), dtype=np.float32)
        for idx, summary in parts:
            rows["loss_trace"][idx] = summary["loss_trace"]
            rows["grad_norm_trace"][idx] = summary["grad_norm_trace"]
    return rows
