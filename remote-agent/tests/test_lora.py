"""LoRA: population cells (different LRs and ranks) agree with single runs to float32 rounding, re-runs are
bit-identical, adapters start as the base
model, only adapters move, a rank-r replica's update has rank <= r; spec fields and the lora_rank axis."""
import copy

import numpy as np
import pytest
import torch

from fractal_agent import sft
from fractal_agent.gpt import GPT, GPTConfig, masked_loss
from fractal_agent.lora import add_lora
from fractal_agent.spec import SpecError, cell_hparams, validate

RAW = {
    "version": 1, "name": "lora",
    "model": {"family": "gpt", "checkpoint": "scratch", "trainable": "lora", "lora_rank": 2,
              "config": {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 32, "vocab_size": 259}},
    "data": {"dataset": "synthetic:arithmetic,reverse", "size": 24, "seq_len": 16, "heldout": 4, "ood": "synthetic:sort"},
    "train": {"optimizer": "adamw", "steps": 5, "batch_size": 4, "schedule": "constant", "weight_decay": 0.1,
              "grad_clip": 1.0, "precision": "float32"},
    "axes": {"x": {"param": "lr", "scale": "log", "range": [-3, -1], "points": 2},
             "y": {"param": "lora_rank", "scale": "linear", "range": [1, 5], "points": 2}},
    "criterion": {"window": 3},
}
FIELDS = ("losses", "grad_norms", "heldout_loss", "ood_loss", "flops")


def test_lora_cells_in_a_population_equal_single_runs():
    spec = validate(copy.deepcopy(RAW))
    hps = [cell_hparams(spec, i) for i in range(4)]
    assert [h["lora_rank"] for h in hps] == [2, 2, 4, 4]  # y centres 2 and 4
    pop = sft.train_population(spec, hps, "cpu")
    same_rank = sft.train_population(spec, hps[:2], "cpu")
    for k, hp in enumerate(hps):
        one = sft.train_population(spec, [hp], "cpu")
        for f in FIELDS:
            np.testing.assert_allclose(pop[f][k], one[f][0], rtol=2e-6, atol=1e-7, err_msg=f)
    for f in FIELDS:  # cells sharing a rank, other population size: the same tolerance (an optimised BLAS
        # picks its summation order from the shapes; docs/ARCHITECTURE.md "Determinism")
        np.testing.assert_allclose(same_rank[f], pop[f][:2], rtol=2e-6, atol=1e-7, err_msg=f)
    again = sft.train_population(spec, hps, "cpu")
    for f in FIELDS:  # the same population re-run: bit for bit
        np.testing.assert_array_equal(again[f], pop[f], err_msg=f)
    assert not np.allclose(pop["losses"][0], pop["losses"][2])  # ranks really differ
    assert not np.allclose(pop["losses"][0], pop["losses"][1])  # LRs really differ


def test_lora_starts_at_the_base_model_and_trains():
    raw = copy.deepcopy(RAW)
    raw["axes"]["y"] = {"param": "warmup", "range": [0, 0.5], "points": 2}
    spec = validate(raw)
    del raw["model"]["lora_rank"]
    raw["model"]["trainable"] = "all"
    full = validate(raw)
    hp = cell_hparams(spec, 1)
    lo, fu = sft.train_population(spec, [hp], "cpu"), sft.train_population(full, [hp], "cpu")
    assert lo["losses"][0, 0] == fu["losses"][0, 0]  # B = 0: same initial loss as the base model
    assert lo["losses"][0, 1] != lo["losses"][0, 0]


def test_only_adapters_move_and_updates_have_the_replicas_rank():
    cfg = GPTConfig(n_layer=1, n_head=2, n_embd=16, block_size=16, vocab_size=259)
    model = GPT(cfg, K=2).init_weights(0)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    groups = add_lora(model, [1, 3], seed=0)
    assert set(groups) == {"attn", "mlp"} and len(groups["attn"]) == 4 and len(groups["mlp"]) == 4
    params = [p for ps in groups.values() for p in ps]
    opt = sft.PopulationAdamW(groups, (0.9, 0.95))
    x = torch.randint(0, 259, (4, 12), generator=torch.Generator().manual_seed(1))
    for _ in range(3):
        loss = masked_loss(model(x[:, :-1].expand(2, -1, -1)), x[:, 1:], torch.ones(4, 11, dtype=torch.bool))
        for p in params:
            p.grad = None
        loss.sum().backward()
        opt.step({g: torch.tensor([1e-2, 1e-2]) for g in groups}, torch.tensor([0.0, 0.0]))
    for n, p in model.named_parameters():
        if ".lora_" not in n:
            assert torch.equal(p, before[n.replace(".base.", ".")]), n
    lin = model.h[0].attn.c_attn
    for k, r in enumerate((1, 3)):
        delta = (lin.lora_A[k].double() * lin.lora_mask[k].double()) @ lin.lora_B[k].double()
        assert torch.linalg.matrix_rank(delta.detach()) == r
        assert torch.equal(lin.lora_B[k, r:], torch.zeros_like(lin.lora_B[k, r:]))  # masked rows never move


def test_spec_lora_fields():
    spec = validate(copy.deepcopy(RAW))
    assert spec["model"]["lora_rank"] == 2
    raw = copy.deepcopy(RAW)
    del raw["model"]["lora_rank"]
    raw["axes"]["y"] = {"param": "warmup", "range": [0, 0.5], "points": 2}
    assert validate(raw)["model"]["lora_rank"] == 8
    raw["model"]["lora_rank"] = 0
    with pytest.raises(SpecError, match="model.lora_rank: must be ≥ 1"):
        validate(raw)
    raw["model"].update(trainable="all", lora_rank=4)
    with pytest.raises(SpecError, match="applies only to model.trainable"):
        validate(raw)
    raw = copy.deepcopy(RAW)
    raw["model"]["trainable"] = "all"
    del raw["model"]["lora_rank"]
    with pytest.raises(SpecError) as e:
        validate(raw)
    assert e.value.field == "axes.y.param" and "lora" in e.value.message
    assert "lora_rank" not in validate({**raw, "axes": {**raw["axes"], "y": {"param": "warmup", "range": [0, 0.5],
                                                                              "points": 2}}})["model"]


@pytest.mark.parametrize("evals, ok", [(["hellaswag:200", "arc_challenge"], True), (["piqa:0"], False),
                                       (["mmlu:5"], False), (["piqa", "piqa:3"], False), ("hellaswag", False),
                                       (["winogrande:"], False), (["piqa:²"], False), (["piqa:-1"], False)])
def test_spec_evals(evals, ok):
    raw = copy.deepcopy(RAW)
    raw["data"]["evals"] = evals
    if ok:
        assert validate(raw)["data"]["evals"] == evals
    else:
        with pytest.raises(SpecError, match="data.evals"):
            validate(raw)


def test_rope_model_replicas_independent_and_lora_covers_its_matrices():
    """RoPE population model: a NaN replica leaves the others' logits and gradients alone; LoRA wraps
    q, k, v, o, gate, up, down of every layer."""
    from fractal_agent.llama import RopeConfig, RopeGPT
    cfg = RopeConfig(n_layer=2, n_head=4, n_kv_head=2, n_embd=16, intermediate_size=24, block_size=16, vocab_size=50)
    single = RopeGPT(cfg, K=1).init_weights(3)
    pop = RopeGPT(cfg, K=2).init_weights(3)
    with torch.no_grad():
        for p in pop.parameters():
            p[1].fill_(float("nan"))
    x = torch.randint(0, 50, (2, 3, 10), generator=torch.Generator().manual_seed(0))
    x[1] = x[0]
    mask = torch.ones(3, 9, dtype=torch.bool)
    lp = masked_loss(pop(x[:, :, :-1]), x[0, :, 1:], mask)
    ls = masked_loss(single(x[:1, :, :-1]), x[0, :, 1:], mask)
    lp.sum().backward()
    ls.sum().backward()
    assert torch.isnan(lp[1])
    torch.testing.assert_close(lp[0], ls[0], rtol=1e-6, atol=1e-6)
    for (name, p), q in zip(pop.named_parameters(), single.parameters()):
        torch.testing.assert_close(p.grad[0], q.grad[0], rtol=1e-5, atol=1e-7, msg=name)
    groups = add_lora(RopeGPT(cfg, K=1).init_weights(0), [2], seed=0)
    assert len(groups["attn"]) == 2 * 4 * 2 and len(groups["mlp"]) == 2 * 3 * 2  # (A, B) per matrix
