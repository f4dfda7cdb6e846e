"""What each family guarantees across population sizes (docs/ARCHITECTURE.md "Determinism"), whatever BLAS
torch links: the paper MLP bit for bit (tests/test_mlp.py covers its shapes at K = 1, 2, 7, 33, 256); GPT
cells agree with the same cells in another population to rtol 2e-6 in float32 (1e-12 in float64), and a
re-run of the same population on the same machine is bit-identical."""
import copy

import numpy as np
import pytest

from fractal_agent import sft
from fractal_agent.spec import cell_hparams, validate

RAW = {
    "version": 1, "name": "determinism",
    "model": {"family": "gpt", "checkpoint": "scratch", "trainable": "all", "seed": 0,
              "config": {"n_layer": 2, "n_head": 2, "n_embd": 32, "block_size": 32, "vocab_size": 259}},
    "data": {"dataset": "synthetic:arithmetic,reverse", "size": 32, "seq_len": 24, "heldout": 4, "ood": "synthetic:sort"},
    "train": {"optimizer": "adamw", "steps": 6, "batch_size": 4, "schedule": "cosine", "weight_decay": 0.1,
              "grad_clip": 1.0, "precision": "float32"},
    "axes": {"x": {"param": "lr", "scale": "log", "range": [-3.5, -1.5], "points": 8},
             "y": {"param": "warmup", "scale": "linear", "range": [0, 0.4], "points": 2}},
    "criterion": {"window": 3},
}
FIELDS = ("losses", "grad_norms", "heldout_loss", "ood_loss")
TOLERANCE = {"float32": dict(rtol=2e-6, atol=1e-7), "float64": dict(rtol=1e-12, atol=1e-14)}


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_gpt_cells_agree_across_population_sizes_and_reruns_are_exact(precision):
    raw = copy.deepcopy(RAW)
    raw["train"]["precision"] = precision
    spec = validate(raw)
    hps = [cell_hparams(spec, i) for i in range(16)]
    whole = sft.train_population(spec, hps, "cpu")
    for K, idx in ((1, [9]), (2, [3, 14]), (7, [0, 2, 5, 7, 8, 11, 15])):
        part = sft.train_population(spec, [hps[i] for i in idx], "cpu")
        for f in FIELDS:
            np.testing.assert_allclose(part[f], whole[f][idx], err_msg=f"{f} K={K}", **TOLERANCE[precision])
    again = sft.train_population(spec, hps, "cpu")
    for f in FIELDS:
        np.testing.assert_array_equal(again[f], whole[f], err_msg=f)
