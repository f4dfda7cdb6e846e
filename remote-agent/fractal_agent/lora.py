"""LoRA (Hu et al. 2021) for population models: every attention and MLP matrix W gets a trainable
low-rank update, y = x W + b + (x A) B, A (in, r), B (r, out), while W, embeddings and norms freeze.

Ranks may differ between the replicas of one population (model.lora_rank is sweepable): A and B
are allocated at the largest rank R and replica k's columns r >= rank_k are masked to zero, so they
get exactly zero gradient and never move; replica k computes what a rank_k LoRA computes alone.
Scaling alpha / r uses alpha = r (scale 1), so the rank axis does not also rescale the step size.

Init as in the paper and peft: B = 0 (the adapted model starts equal to the base model) and A
uniform(-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)). Column j of A is drawn from a
generator seeded by (seed, matrix index, j), so a rank-4 A is the first 4 columns of a rank-8 A
and every replica starts from the same A.

Parameters are named <matrix>.lora_A / .lora_B next to the frozen <matrix>.base.weight, so
gpt.param_group / llama.param_group put a matrix's adapters in its group ("attn" or "mlp"), whose
LR (lr.attn, lr.mlp) they train with.
"""
import math

import torch
import torch.nn as nn

from .gpt import PopLinear
from .llama import PopLinearNB


class PopLoRALinear(nn.Module):
    def __init__(self, base, ranks, seed, index):
        super().__init__()
        self.base = base
        K, n_in, n_out = base.weight.shape
        R = max(ranks)
        dev, dt = base.weight.device, base.weight.dtype
        bound = 1.0 / math.sqrt(n_in)
        cols = []
        for j in range(R):
            g = torch.Generator().manual_seed(1_000_003 * seed + 7919 * index + j)
            cols.append(torch.rand(n_in, generator=g, dtype=torch.float64) * 2 * bound - bound)
        A = torch.stack(cols, dim=1).to(dev, dt)  # (in, R)
        self.lora_A = nn.Parameter(A.expand(K, n_in, R).contiguous())
        self.lora_B = nn.Parameter(torch.zeros(K, R, n_out, device=dev, dtype=dt))
        mask = (torch.arange(R)[None, :] < torch.tensor(ranks)[:, None]).to(dev, dt)  # (K, R)
        self.register_buffer("lora_mask", mask)

    def forward(self, x):
        K, B, T, n_in = x.shape
        h = torch.bmm(x.reshape(K, B * T, n_in), self.lora_A) * self.lora_mask[:, None, :]
        return self.base(x) + torch.bmm(h, self.lora_B).view(K, B, T, -1)


def add_lora(model, ranks, seed):
    """Wrap every attention/MLP matrix of `model` (K replicas) with LoRA of per-replica `ranks`
    (K ints >= 1); freeze everything else. Returns the LoRA parameters as {group: [params]}."""
    if len(ranks) != model.K or min(ranks) < 1:
        raise ValueError(f"add_lora: need {model.K} ranks >= 1, got {ranks}")
    for p in model.parameters():
        p.requires_grad_(False)
    targets = [(name, m) for name, m in model.named_modules() if isinstance(m, (PopLinear, PopLinearNB))]
    for index, (name, m) in enumerate(targets):
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name), attr, PopLoRALinear(m, list(ranks), seed, index))
    groups = {}
    for name, p in model.named_parameters():
        if ".lora_" in name:
            p.requires_grad_(True)
            group = "attn" if (".attn." in name or ".self_attn." in name) else "mlp"
            groups.setdefault(group, []).append(p)
    return groups
