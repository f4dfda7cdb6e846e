"""Population SFT of a GPT: K cells (hyperparameter settings) train in one batched forward/backward.

train_population(spec, hparams, device) is the gpt family's trainer (docs/ARCHITECTURE.md). The
cells of one call share tensor shapes (dataset_size, tokens, batch_size: the caller groups them),
the initial weights (the checkpoint) and the data order; they differ in per-group LRs, warmup and
weight decay, which the hand-written optimisers hold as (K,) tensors.

Loss trace: losses[:, t] is the masked (assistant-token) training loss of step t's batch under the
weights after t updates, so losses[:, 0] is the loss of the initial weights on the first batch and
losses[:, T] the loss of the final weights on batch T (one extra batch, no update). Every cell sees
the same batches, so traces compare across cells; v_t = losses[:, t] / losses[:, 0] is DESIGN's
convergence measure. grad_norms[:, t] is step t's global gradient norm per replica, before clipping.

Checkpoints: "tiny" is resources/tiny-gpt (resources.py: where it is found and its directory format);
optimisers and schedules are in optim.py, shared with the MLP and pretraining.
"""
import contextlib
import json
import math
import os
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import checkpoints as CK
from . import data as D
from . import evals as E
from .gpt import GPT, GPTConfig, GROUPS, PRESETS, masked_loss
from .lora import add_lora
from .optim import PopulationAdamW, PopulationSGD, clip_grads, lr_schedule  # noqa: F401 (re-exported)
from .resources import load_checkpoint, resources_dir, save_checkpoint  # noqa: F401 (re-exported)
from .tokenizers import ByteChatTokenizer



@lru_cache(maxsize=2)
def _load_pretrained(checkpoint):
    """hf:/nanochat: checkpoints read once per process (every population of a sweep starts from them)."""
    return CK.load(checkpoint)


def build(model_spec, K, device, dtype):
    """(model, tokenizer): K identical replicas of the spec's model (spec["model"] of a validated
    gpt spec) and the tokenizer its data must use (checkpoints.py; byte-level for tiny/scratch)."""
    ckpt = model_spec["checkpoint"]
    if ckpt == "tiny":
        cfg, sd = load_checkpoint(resources_dir() / "tiny-gpt")
        return GPT(cfg, K, device, dtype).load_single_state_dict(sd), ByteChatTokenizer()
    if ckpt == "scratch":
        cfg = GPTConfig(**model_spec["config"])
        return GPT(cfg, K, device, dtype).init_weights(model_spec["seed"]), ByteChatTokenizer()
    if ckpt.startswith("hf:") or ckpt.startswith("nanochat:"):
        loaded = _load_pretrained(ckpt)
        return CK.build(loaded, K, device, dtype), loaded.tokenizer
    raise ValueError(f"model.checkpoint: unknown checkpoint {ckpt!r}")


def build_model(model_spec, K, device, dtype):
    """K identical replicas of the spec's model (without its tokenizer; see build)."""
    return build(model_spec, K, device, dtype)[0]


def _eval_items(entry, spec_dir):
    """(task, items) of a data.evals entry; spec_dir is the spec's data.evals_dir (None: default lookup;
    callers use data_spec.get: a sweep journalled before the field existed resumes with its old spec)."""
    return _eval_items_in(entry, spec_dir, str(E.evals_dir()))


@lru_cache(maxsize=8)
def _eval_items_in(entry, spec_dir, default_dir):  # keyed by the default too: FRACTAL_AGENT_EVALS may change
    return E.load_items(entry, spec_dir)


# ----------------------------------------------------------------------------- data

@lru_cache(maxsize=8)
def _synthetic_split(dataset, size, heldout, seed):
    train, held = D.load_split(dataset, size, heldout, seed)
    return tuple(train), tuple(held)


def _split(dataset, size, heldout, seed):
    if dataset.startswith("synthetic"):  # deterministic and pure: safe to reuse across groups of cells
        train, held = _synthetic_split(dataset, size, heldout, seed)
        return list(train), list(held)
    return D.load_split(dataset, size, heldout, seed)


def num_steps(train_spec, packed_rows, batch_size, seq_len, tokens):
    """Steps of a cell: tokens budget if given, else train.steps, else epochs over the packed rows."""
    if tokens is not None:
        return max(1, math.ceil(tokens / (batch_size * seq_len)))
    if train_spec["steps"] is not None:
        return train_spec["steps"]
    return max(1, round(train_spec["epochs"] * math.ceil(packed_rows / batch_size)))


def batch_order(rows, batch_size, steps, seed):
    """(steps, batch_size) row indices: back-to-back random permutations of the rows, cut into
    batches (a batch may straddle two epochs), the same for every cell of a sweep."""
    g = torch.Generator().manual_seed(seed)
    need = steps * batch_size
    perms = [torch.randperm(rows, generator=g) for _ in range(-(-need // rows))]
    return torch.cat(perms)[:need].view(steps, batch_size)


# ----------------------------------------------------------------------------- training

def _shared(hparams, key):
    vals = {h[key] for h in hparams}
    if len(vals) != 1:
        raise ValueError(f"train_population: all cells of one call must share {key} (tensor shapes); got {sorted(vals, key=str)}")
    return vals.pop()


def _dtypes(precision, device):
    """(master weight dtype, autocast context factory)."""
    if precision == "float64":
        return torch.float64, contextlib.nullcontext
    if precision == "bf16" and torch.device(device).type == "cuda":
        return torch.float32, lambda: torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return torch.float32, contextlib.nullcontext  # float32, and bf16 on CPU (trained in float32)


@torch.no_grad()
def _eval_loss(model, tokens, mask, batch_size, device, autocast):
    """(K,) mean masked loss over all rows of a packed set, token-weighted; NaN for an empty set."""
    K = model.K
    if tokens.shape[0] == 0:
        return np.full(K, np.nan)
    total = torch.zeros(K, dtype=torch.float64, device=device)
    count = 0.0
    for i in range(0, tokens.shape[0], batch_size):
        x = tokens[i:i + batch_size, :-1].to(device)
        y = tokens[i:i + batch_size, 1:].to(device)
        m = mask[i:i + batch_size, 1:].to(device)
        with autocast():
            logits = model(x.unsqueeze(0).expand(K, -1, -1))
        n = float(m.sum())
        total += masked_loss(logits, y, m).double() * n
        count += n
    return (total / max(count, 1.0)).cpu().numpy()


# Early exit on CUDA looks for dead replicas every this many steps: each look waits for the GPU.
EXIT_CHECK_EVERY_CUDA = 8


def _dead(params):
    """(K,) bool: replicas with some trainable parameter entirely NaN. NaN is absorbing under both
    optimisers (p(1 - lr wd) - lr u stays NaN whatever lr, wd and u are), and a parameter every token's
    forward passes through (matrix, bias, norm gain, embedding table, LoRA factor) makes every logit NaN
    when it is all NaN (0 * NaN = NaN): such a replica's later losses and grad norms are all NaN and its
    evaluation is that of an all-NaN model, whatever its other weights hold."""
    return torch.stack([p.detach().isnan().flatten(1).all(1) for p in params]).any(0)


def train_population(spec, hparams, device="cpu", keep_model=False, early_exit=True):
    """Train K = len(hparams) cells of a validated gpt spec; see the module docstring.

    Returns numpy arrays: losses (K, T+1) f8, grad_norms (K, T) f8, heldout_loss (K,) f8 (final
    weights, the first data.heldout conversations of data.dataset; NaN when heldout is 0), ood_loss
    (K,) f8 (the same on the first data.heldout conversations of data.ood; NaN when ood is null),
    flops (K,) f8 (training plus evaluation forwards), evals {task: {"acc": (K,), "acc_norm": (K,)}}
    for data.evals (empty when none), and ints steps, tokens_per_step.
    With model.trainable "lora", hparams carry lora_rank (cells of one call may differ in it).
    keep_model: also return the trained population model and its tokenizer ("model", "tokenizer").
    early_exit: drop replicas from the step loop once their future is known (_dead), filling their
    remaining losses and grad norms with the NaN they would have; steps_trained (K,) says how many
    steps each replica was trained. The kept replicas' bits do not change (population == single runs)."""
    model_spec, data_spec, train_spec = spec["model"], spec["data"], spec["train"]
    K = len(hparams)
    batch_size = int(_shared(hparams, "batch_size"))
    size = int(_shared(hparams, "dataset_size"))
    tokens = _shared(hparams, "tokens")
    seq_len, seed = data_spec["seq_len"], model_spec["seed"]

    dtype, autocast = _dtypes(train_spec["precision"], device)
    model, tok = build(model_spec, K, device, dtype)
    cfg = model.cfg
    lora = model_spec["trainable"] == "lora"
    if seq_len > cfg.block_size:
        raise ValueError(f"data.seq_len {seq_len} exceeds the model's block_size {cfg.block_size}")
    if cfg.vocab_size < tok.vocab_size:
        raise ValueError(f"model vocab_size {cfg.vocab_size} is smaller than its {tok.name} tokenizer's {tok.vocab_size}")
    if cfg.tie_embeddings and not lora and any(h["lr.unembed"] != h["lr.embed"] for h in hparams):
        raise ValueError("lr.unembed must equal lr.embed: this model ties its unembedding to the token embedding")

    # data: packed on CPU once, shared by every replica
    D.check_ood(data_spec["dataset"], data_spec["ood"])
    train_convs, held_convs = _split(data_spec["dataset"], size, data_spec["heldout"], seed)
    tr_tok, tr_mask = D.pack(train_convs, seq_len, tok)
    ho_tok, ho_mask = D.pack(held_convs, seq_len, tok) if held_convs else (tr_tok[:0], tr_mask[:0])
    steps = num_steps(train_spec, tr_tok.shape[0], batch_size, seq_len, tokens)
    order = batch_order(tr_tok.shape[0], batch_size, steps + 1, seed + 1)

    # optimiser state: per-group (K,) LRs times a (K, T) schedule
    if lora:  # adapters on attn/mlp matrices, trained with lr.attn / lr.mlp; the rest frozen
        groups = add_lora(model, [int(h["lora_rank"]) for h in hparams], seed)
    else:
        trainable = GROUPS if model_spec["trainable"] == "all" else tuple(model_spec["trainable"])
        groups = {g: ps for g, ps in model.param_groups().items() if g in trainable and ps}
        for g, ps in model.param_groups().items():
            for p in ps:
                p.requires_grad_(g in groups)
    params = [p for ps in groups.values() for p in ps]
    if not params:
        raise ValueError(f"model.trainable {model_spec['trainable']!r} selects no parameters of this model "
                         f"(a tied model has none in unembed)")
    lr = {g: torch.tensor([h[f"lr.{g}"] for h in hparams], dtype=torch.float64) for g in groups}
    sched = torch.from_numpy(lr_schedule(train_spec["schedule"], steps, [h["warmup"] for h in hparams]))
    lr_table = {g: (lr[g][:, None] * sched).to(device, dtype) for g in groups}  # (K, T)
    wd = torch.tensor([h["weight_decay"] for h in hparams], dtype=dtype, device=device)
    opt = PopulationAdamW(groups, train_spec["betas"]) if train_spec["optimizer"] == "adamw" \
        else PopulationSGD(groups)

    # NaN is what a dropped replica's remaining entries are (see _dead below); every kept entry is overwritten
    losses = torch.full((K, steps + 1), math.nan, dtype=torch.float64, device=device)
    grad_norms = torch.full((K, steps), math.nan, dtype=torch.float64, device=device)
    live = torch.arange(K, device=device)       # the original index of each replica still training
    gone = []                                   # (original indices, their tensors when dropped), for evaluation
    steps_trained = np.full(K, steps, dtype=np.int64)
    cuda = torch.device(device).type == "cuda"
    check_every = EXIT_CHECK_EVERY_CUDA if cuda else 1  # the check syncs the GPU with the host
    if cuda:
        torch.cuda.synchronize(device)
    t_loop = time.perf_counter()
    for t in range(steps + 1):
        rows = order[t]
        x = tr_tok[rows, :-1].to(device)
        y = tr_tok[rows, 1:].to(device)
        m = tr_mask[rows, 1:].to(device)
        if t == steps:  # final weights on one more batch, no update
            with torch.no_grad(), autocast():
                losses[live, t] = masked_loss(model(x.unsqueeze(0).expand(model.K, -1, -1)), y, m).double()
            break
        with autocast():
            loss = masked_loss(model(x.unsqueeze(0).expand(model.K, -1, -1)), y, m)
        losses[live, t] = loss.detach().double()
        for p in params:
            p.grad = None
        loss.sum().backward()  # replica k's loss depends only on replica k: independent gradients
        del loss  # frees the graph's gradient accumulators, which remember each parameter's shape (keep_replicas)
        grad_norms[live, t] = clip_grads(params, train_spec["grad_clip"]).double()
        opt.step({g: lr_table[g][:, t] for g in groups}, wd)
        if early_exit and t + 1 < steps and (t + 1) % check_every == 0:
            dead = _dead(params)
            if bool(dead.any()):
                steps_trained[live[dead].cpu().numpy()] = t + 1
                gone.append((live[dead], {n: v[dead].clone() for n, v in model.replica_tensors().items()}))
                keep = (~dead).nonzero().squeeze(1)
                model.keep_replicas(keep)
                opt.keep_replicas(keep)
                lr_table = {g: v[keep] for g, v in lr_table.items()}
                wd, live = wd[keep], live[keep]
                if model.K == 0:
                    break

    if cuda:
        torch.cuda.synchronize(device)
    train_s = time.perf_counter() - t_loop  # the step loop alone (no build, packing or evaluation)
    if gone:  # every replica back at its index: evaluation and keep_model see the population exhaustive training gives
        model.restore_replicas(K, [(live, model.replica_tensors()), *gone])

    heldout_loss = _eval_loss(model, ho_tok, ho_mask, batch_size, device, autocast)
    ood_tok, ood_mask = tr_tok[:0], tr_mask[:0]
    if data_spec["ood"] is not None and data_spec["heldout"] > 0:  # the OOD stream's first `heldout` chats
        _, ood_convs = _split(data_spec["ood"], 0, data_spec["heldout"], seed)
        ood_tok, ood_mask = D.pack(ood_convs, seq_len, tok)
    ood_loss = _eval_loss(model, ood_tok, ood_mask, batch_size, device, autocast)
    items = {e: _eval_items(e, data_spec.get("evals_dir")) for e in data_spec["evals"]}
    mc = E.evaluate(model, tok, data_spec["evals"], batch_size, device, autocast, items) if items else {}

    fpt = cfg.flops_per_token(seq_len)
    train_tokens = steps * batch_size * seq_len
    eval_tokens = (batch_size + ho_tok.shape[0] + ood_tok.shape[0]) * seq_len
    # a forward pass is a third of forward+backward; LoRA skips the frozen weights' gradients (about
    # a third: forward 2N, input gradients 2N, no weight gradients 2N; the adapters' own FLOPs are negligible)
    train_fpt = fpt * 2 / 3 if lora else fpt
    flops = train_fpt * train_tokens + fpt / 3 * eval_tokens
    flops += E.eval_flops(cfg, tok, items) if items else 0.0
    kept = {"model": model, "tokenizer": tok} if keep_model else {}
    return {
        **kept,
        "evals": {task: {"acc": r["acc"], "acc_norm": r["acc_norm"]} for task, r in mc.items()},
        "losses": losses.cpu().numpy(),
        "grad_norms": grad_norms.cpu().numpy(),
        "heldout_loss": np.asarray(heldout_loss, dtype=np.float64),
        "ood_loss": np.asarray(ood_loss, dtype=np.float64),
        "flops": np.full(K, float(flops)),
        "steps": steps,
        "tokens_per_step": batch_size * seq_len,
        "train_s": train_s,
        "steps_trained": steps_trained,
    }


def base_metrics(spec, device="cpu"):
    """The untrained checkpoint's held-out loss, OOD loss and data.evals results (scalars), to be
    recorded once per sweep so that forgetting shows as the difference from each cell's numbers."""
    model_spec, data_spec, train_spec = spec["model"], spec["data"], spec["train"]
    dtype, autocast = _dtypes(train_spec["precision"], device)
    model, tok = build(model_spec, 1, device, dtype)
    seq_len, seed, bs = data_spec["seq_len"], model_spec["seed"], train_spec["batch_size"]
    out = {"heldout_loss": float("nan"), "ood_loss": float("nan"), "evals": {}}
    if data_spec["heldout"] > 0:
        for key, dataset in (("heldout_loss", data_spec["dataset"]), ("ood_loss", data_spec["ood"])):
            if dataset is not None:
                _, held = _split(dataset, 0, data_spec["heldout"], seed)
                t, m = D.pack(held, seq_len, tok)
                out[key] = float(_eval_loss(model, t, m, bs, device, autocast)[0])
    items = {e: _eval_items(e, data_spec.get("evals_dir")) for e in data_spec["evals"]}
    for task, r in E.evaluate(model, tok, data_spec["evals"], bs, device, autocast, items).items():
        out["evals"][task] = {"acc": float(r["acc"][0]), "acc_norm": float(r["acc_norm"][0]), "n": r["n"]}
    return out


# ----------------------------------------------------------------------------- benchmark

# Dense bf16 peak FLOP/s by GPU name fragment (datasheet, no sparsity).
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 125e12, "4090": 165e12}


def bench_sft(device="cpu", shape="tiny", cells=8, steps=12, batch_size=8, seq_len=128,
              precision=None, peak_flops=None):
    """Throughput of population SFT: K = `cells` replicas of a scratch model of PRESETS[shape]
    trained with AdamW on synthetic chat data. A short warm-up run first (allocator, kernels, data
    caches), then a `steps`-step run whose step loop alone is timed (train_population's train_s: no
    model build, data packing or evaluation in it), so the figure is a time, never a difference.

    Returns {shape, cells, params, step_s, tokens_per_s (all replicas), cells_per_s (cell-runs of
    `steps` steps per second), model_flops_per_s, mfu (None when the peak is unknown, e.g. CPU)}."""
    cfg = PRESETS[shape]
    seq_len = min(seq_len, cfg.block_size)
    precision = precision or ("bf16" if torch.device(device).type == "cuda" else "float32")
    spec = {
        "model": {"family": "gpt", "checkpoint": "scratch", "config": cfg.to_dict(), "trainable": "all", "seed": 0},
        "data": {"dataset": "synthetic", "size": 4 * batch_size * (steps + 1), "seq_len": seq_len,
                 "heldout": 0, "ood": None, "evals": []},
        "train": {"optimizer": "adamw", "steps": 2, "epochs": None, "batch_size": batch_size,
                  "schedule": "cosine", "warmup": 0.0, "weight_decay": 0.1, "grad_clip": 1.0,
                  "precision": precision, "lr": {}, "betas": [0.9, 0.95]},
    }
    hp = [{**{f"lr.{g}": 10 ** (-4 + 0.1 * k) for g in GROUPS}, "warmup": 0.0, "weight_decay": 0.1,
           "batch_size": batch_size, "dataset_size": spec["data"]["size"], "tokens": None} for k in range(cells)]
    train_population(spec, hp, device)                    # warm-up
    spec["train"]["steps"] = steps
    out = train_population(spec, hp, device)
    step_s = out["train_s"] / steps  # the loop runs `steps` updates plus one final forward
    tokens_per_s = cells * batch_size * seq_len / step_s
    flops_per_s = tokens_per_s * cfg.flops_per_token(seq_len)
    if peak_flops is None and torch.device(device).type == "cuda":
        name = torch.cuda.get_device_name(torch.device(device))
        peak_flops = next((v for k, v in PEAK_BF16.items() if k in name), None)
    return {"shape": shape, "cells": cells, "params": cfg.num_params(), "batch_size": batch_size,
            "seq_len": seq_len, "precision": precision, "step_s": step_s, "tokens_per_s": tokens_per_s,
            "cells_per_s": cells / (step_s * steps), "model_flops_per_s": flops_per_s,
            "mfu": flops_per_s / peak_flops if peak_flops else None}
