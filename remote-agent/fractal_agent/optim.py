"""Optimisers and LR schedules of population training, shared by every family (mlp, sft, pretrain).

Hyperparameters that differ between the cells of a population are (K,) tensors: per-group LRs,
warmup fractions and weight decay. Imports only numpy and torch, so the paper's MLP can use the
schedules without importing the language-model stack.
"""
import math

import numpy as np
import torch

WSD_DECAY_FRACTION = 0.2  # wsd: the last 20% of steps decay linearly to 0 (nanochat's warmdown)
ADAM_EPS = 1e-8


# ----------------------------------------------------------------------------- schedules

def lr_schedule(kind, steps, warmup):
    """(K, steps) float64 LR multipliers. warmup: (K,) fractions of steps in [0, 1).

    Linear warmup over round(warmup * steps) steps (step t gets (t+1)/W), then
      constant: 1;  cosine: 0.5 (1 + cos(pi p)), p going 0 -> (n-1)/n over the n remaining steps;
      wsd: 1 until the last WSD_DECAY_FRACTION of steps, then linear towards 0 (last step 1/D)."""
    warmup = np.asarray(warmup, dtype=np.float64)
    t = np.arange(steps, dtype=np.float64)[None, :]
    W = np.round(warmup * steps)[:, None]
    if kind == "constant":
        after = np.ones_like(t)
    elif kind == "cosine":
        n = np.maximum(steps - W, 1.0)
        after = 0.5 * (1.0 + np.cos(math.pi * np.clip(t - W, 0, None) / n))
    elif kind == "wsd":
        D_ = max(1, round(WSD_DECAY_FRACTION * steps))
        after = np.minimum(1.0, (steps - t) / D_)
    else:
        raise ValueError(f"train.schedule: unknown schedule {kind!r}; allowed: constant, cosine, wsd")
    warm = (t + 1) / np.maximum(W, 1.0)
    return np.where(t < W, warm, np.broadcast_to(after, (len(warmup), steps)))


# ----------------------------------------------------------------------------- optimisers

def _per_replica(x, p):
    """(K,) tensor viewed to broadcast against parameter p (K, ...)."""
    return x.view((-1,) + (1,) * (p.dim() - 1))


def _decays(p):
    return p.dim() >= 3  # matrices and embeddings (2-D per replica) decay; biases and LayerNorm do not


class PopulationSGD:
    """Plain SGD with per-replica, per-group LRs and decoupled weight decay: p <- p(1 - lr wd) - lr g."""

    def __init__(self, groups):
        self.groups = groups

    @torch.no_grad()
    def step(self, lrs, weight_decay):
        for g, params in self.groups.items():
            for p in params:
                lr = _per_replica(lrs[g], p)
                if _decays(p):
                    p.mul_(1 - lr * _per_replica(weight_decay, p))
                p.addcmul_(p.grad, lr, value=-1.0)

    def keep_replicas(self, keep):
        """No state to slice (see PopulationAdamW.keep_replicas)."""


class PopulationAdamW:
    """AdamW (Loshchilov & Hutter; torch.optim.AdamW's update) with (K,) LRs per group and (K,)
    decoupled weight decay: p <- p(1 - lr wd) - lr m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, groups, betas):
        self.groups = groups
        self.b1, self.b2 = betas
        self.t = 0
        self.m = {p: torch.zeros_like(p) for ps in groups.values() for p in ps}
        self.v = {p: torch.zeros_like(p) for ps in groups.values() for p in ps}

    def keep_replicas(self, keep):
        """Slice the moments along the replica dim, after the model's keep_replicas (same `keep`)."""
        for state in (self.m, self.v):
            for p in state:
                state[p] = state[p][keep]

    @torch.no_grad()
    def step(self, lrs, weight_decay):
        self.t += 1
        bc1 = 1 - self.b1 ** self.t
        bc2 = 1 - self.b2 ** self.t
        for g, params in self.groups.items():
            for p in params:
                lr = _per_replica(lrs[g], p)
                if _decays(p):
                    p.mul_(1 - lr * _per_replica(weight_decay, p))
                m, v = self.m[p], self.v[p]
                m.lerp_(p.grad, 1 - self.b1)
                v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
                # lr m_hat / (sqrt(v_hat) + eps) = m / ((sqrt(v) + eps sqrt(bc2)) * bc1 / (lr sqrt(bc2))):
                # the per-replica step size folds into the denominator, saving full-size temporaries
                denom = v.sqrt().add_(ADAM_EPS * math.sqrt(bc2)).mul_(bc1 / (lr * math.sqrt(bc2)))
                p.addcdiv_(m, denom, value=-1.0)


def clip_grads(params, max_norm):
    """Per-replica global gradient norm (K,) over `params` (before clipping); when max_norm is set,
    scales each replica's gradients so its norm is at most max_norm."""
    # (a row-wise sum of squares reduces each replica the same way whatever K is: bitwise population == single)
    norm = sum(p.grad.pow(2).flatten(1).sum(1) for p in params).sqrt()
    if max_norm is not None:
        scale = (max_norm / (norm + 1e-6)).clamp(max=1.0)
        for p in params:
            p.grad.mul_(_per_replica(scale, p))
    return norm
