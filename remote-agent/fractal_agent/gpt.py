"""A decoder-only transformer (GPT-2 layout) written directly in population form.

Every parameter carries a leading replica dimension K: K independent models ("cells" of a sweep)
live in one module and run in one forward/backward through batched matmuls (torch.baddbmm /
torch.bmm), so cells that differ only in hyperparameters share the GPU's work. K = 1 is a single
model. Tokens (K, B, T) -> logits (K, B, T, V).

Layout is GPT-2's, so Hugging Face GPT-2 weights map onto it name for name (drop "transformer."):
pre-LayerNorm blocks, GELU (tanh approximation, "gelu_new") MLP of width 4C, learned position
embeddings, Conv1D-style weights stored (in, out). Unembedding is tied to wte (GPT-2) or a separate
lm_head (default here, so that the "embed" and "unembed" parameter groups can take different LRs).

Replicas never mix: every op is either elementwise, a per-replica batched matmul, or a reduction
inside one replica, so a replica's output (and gradient) does not depend on its neighbours.
"""
import math
from dataclasses import dataclass, asdict, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

GROUPS = ("attn", "mlp", "embed", "unembed", "norm")


class ConfigDict:
    """JSON round trip for a config dataclass (config.json of a checkpoint); unknown keys are refused."""

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}; allowed: {sorted(known)}")
        return cls(**d)


@dataclass
class GPTConfig(ConfigDict):
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 64
    block_size: int = 64
    vocab_size: int = 259
    tie_embeddings: bool = False

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")

    def num_params(self):
        """Parameter count of one replica, by formula (no allocation)."""
        C, L = self.n_embd, self.n_layer
        per_block = 12 * C * C + 13 * C  # qkv 3C^2+3C, proj C^2+C, fc 4C^2+4C, proj 4C^2+C, 2 LN 4C
        n = self.vocab_size * C + self.block_size * C + L * per_block + 2 * C
        return n if self.tie_embeddings else n + self.vocab_size * C

    def flops_per_token(self, seq_len):
        """Training FLOPs per token (forward + backward), PaLM appendix B: 6N + 12 L C T.

        N counts the parameters used in matmuls: position embeddings and (untied) token embeddings
        are lookups, the unembedding is a matmul."""
        n_matmul = self.num_params() - self.block_size * self.n_embd
        if not self.tie_embeddings:
            n_matmul -= self.vocab_size * self.n_embd
        return 6 * n_matmul + 12 * self.n_layer * self.n_embd * seq_len



# Named shapes. "tiny" is the ~100K-parameter 2-layer model of arXiv:2501.04286's scale.
PRESETS = {
    "tiny": GPTConfig(n_layer=2, n_head=2, n_embd=64, block_size=64, vocab_size=259),
    "gpt2-124m": GPTConfig(n_layer=12, n_head=12, n_embd=768, block_size=1024, vocab_size=50257,
                           tie_embeddings=True),
}

# torch >= 2.0 has a fused (flash) attention kernel; 1.13 gets the explicit softmax below.
_HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


class PopLinear(nn.Module):
    """K independent affine maps: (K, B, T, n_in) -> (K, B, T, n_out), weight stored (in, out)."""

    def __init__(self, K, n_in, n_out, device=None, dtype=None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(K, n_in, n_out, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(K, n_out, device=device, dtype=dtype))

    def forward(self, x):
        K, B, T, n_in = x.shape
        y = torch.baddbmm(self.bias.unsqueeze(1), x.reshape(K, B * T, n_in), self.weight)
        return y.view(K, B, T, -1)


class PopLayerNorm(nn.Module):
    def __init__(self, K, n, device=None, dtype=None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(K, n, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.empty(K, n, device=device, dtype=dtype))

    def forward(self, x):  # normalise over the last dim only, then a per-replica affine
        x = F.layer_norm(x, x.shape[-1:], eps=1e-5)
        return x * self.weight[:, None, None, :] + self.bias[:, None, None, :]


class PopAttention(nn.Module):
    def __init__(self, K, cfg, device=None, dtype=None):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = PopLinear(K, cfg.n_embd, 3 * cfg.n_embd, device, dtype)
        self.c_proj = PopLinear(K, cfg.n_embd, cfg.n_embd, device, dtype)

    def forward(self, x):
        K, B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(x).split(C, dim=-1)
        # replicas and batch fold into one batch dim: (K*B, H, T, head_dim)
        q, k, v = (t.reshape(K * B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        if _HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
            y = att @ v
        y = y.transpose(1, 2).reshape(K, B, T, C)
        return self.c_proj(y)


class PopMLP(nn.Module):
    def __init__(self, K, cfg, device=None, dtype=None):
        super().__init__()
        self.c_fc = PopLinear(K, cfg.n_embd, 4 * cfg.n_embd, device, dtype)
        self.c_proj = PopLinear(K, 4 * cfg.n_embd, cfg.n_embd, device, dtype)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, K, cfg, device=None, dtype=None):
        super().__init__()
        self.ln_1 = PopLayerNorm(K, cfg.n_embd, device, dtype)
        self.attn = PopAttention(K, cfg, device, dtype)
        self.ln_2 = PopLayerNorm(K, cfg.n_embd, device, dtype)
        self.mlp = PopMLP(K, cfg, device, dtype)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class ReplicaWeights:
    """Checkpoint I/O and token lookup for a population model, whose every parameter has a leading
    replica dim K (the model has self.K and a self.cfg with vocab_size, n_embd and block_size)."""

    def token_embeddings(self, idx, table):
        """idx (K, B, T) int64 -> (K, B, T, n_embd) rows of the (K, V, C) `table`, each replica its own."""
        K, B, T = idx.shape
        cfg = self.cfg
        if K != self.K:
            raise ValueError(f"input has {K} replicas, model has {self.K}")
        if T > cfg.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size {cfg.block_size}")
        # one embedding table of K*V rows: replica k's token t is row k*V + t
        offsets = (torch.arange(K, device=idx.device) * cfg.vocab_size).view(K, 1, 1)
        return F.embedding(idx + offsets, table.reshape(K * cfg.vocab_size, cfg.n_embd))

    @torch.no_grad()
    def keep_replicas(self, keep):
        """Keep only replicas `keep` (int64 index tensor, in order): every parameter and buffer is sliced
        along its replica dim in place (the Parameter objects stay, so optimiser state keyed by them
        stays valid). sft.train_population drops replicas whose future is known this way."""
        for t in [*self.parameters(), *self.buffers()]:
            if t.shape[0] != self.K:
                raise ValueError(f"keep_replicas: a tensor of shape {tuple(t.shape)} has no leading replica dim {self.K}")
            t.data = t.data[keep]
        self.K = len(keep)
        return self

    @torch.no_grad()
    def restore_replicas(self, order, parts):
        """Undo keep_replicas: `parts` are (replica indices, {name: tensor}) pieces from replica_tensors,
        `order` the original count; the model again holds every replica, each at its original index."""
        named = {**dict(self.named_parameters()), **dict(self.named_buffers())}
        for name, t in named.items():
            full = torch.empty((order,) + tuple(t.shape[1:]), dtype=t.dtype, device=t.device)
            for idx, tensors in parts:
                full[idx] = tensors[name]
            t.data = full
        self.K = order
        return self

    def replica_tensors(self):
        """{name: tensor} of every parameter and buffer (detached), for restore_replicas."""
        return {n: t.detach() for n, t in [*self.named_parameters(), *self.named_buffers()]}

    def single_state_dict(self, k=0):
        """Replica k's weights with plain names and no replica dim (the checkpoint format)."""
        return {name: p.detach()[k].clone() for name, p in self.named_parameters()}

    @torch.no_grad()
    def load_single_state_dict(self, sd):
        """Copy one model's weights (plain names, no replica dim) into every replica."""
        own = dict(self.named_parameters())
        if set(sd) != set(own):
            raise ValueError(f"state dict mismatch: missing {sorted(set(own) - set(sd))}, "
                             f"unexpected {sorted(set(sd) - set(own))}")
        for name, p in own.items():
            if tuple(sd[name].shape) != tuple(p.shape[1:]):
                raise ValueError(f"state dict {name}: shape {tuple(sd[name].shape)}, model wants {tuple(p.shape[1:])}")
            p.copy_(sd[name].to(device=p.device, dtype=p.dtype).expand_as(p))
        return self


class GPT(ReplicaWeights, nn.Module):
    """K replicas of a GPT. Parameters are allocated uninitialised: call init_weights(seed) or
    load_single_state_dict(sd) (the meta device works for counting without allocation)."""

    def __init__(self, cfg: GPTConfig, K=1, device=None, dtype=None):
        super().__init__()
        self.cfg, self.K = cfg, K
        C = cfg.n_embd
        self.wte = nn.Parameter(torch.empty(K, cfg.vocab_size, C, device=device, dtype=dtype))
        self.wpe = nn.Parameter(torch.empty(K, cfg.block_size, C, device=device, dtype=dtype))
        self.h = nn.ModuleList(Block(K, cfg, device, dtype) for _ in range(cfg.n_layer))
        self.ln_f = PopLayerNorm(K, C, device, dtype)
        self.lm_head = None if cfg.tie_embeddings else \
            nn.Parameter(torch.empty(K, cfg.vocab_size, C, device=device, dtype=dtype))

    # ------------------------------------------------------------------ parameters

    def param_groups(self):
        """{group: [params]} for the groups of spec.GPT_GROUPS. With tied embeddings the shared
        matrix wte is in "embed" and "unembed" is empty."""
        groups = {g: [] for g in GROUPS}
        for name, p in self.named_parameters():
            groups[param_group(name)].append(p)
        return groups

    @torch.no_grad()
    def init_weights(self, seed):
        """GPT-2 init, drawn once per parameter from a seeded CPU generator and copied to every
        replica, so all replicas (and all devices) start from identical weights."""
        g = torch.Generator().manual_seed(seed)
        for name, p in self.named_parameters():
            shape = p.shape[1:]
            if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
                w = torch.ones(shape)
            elif name.endswith(".bias"):
                w = torch.zeros(shape)
            else:
                std = 0.02
                if name.endswith("c_proj.weight"):  # residual projections, scaled by depth (GPT-2)
                    std = 0.02 / math.sqrt(2 * self.cfg.n_layer)
                w = torch.randn(shape, generator=g) * std
            p.copy_(w.to(p.dtype).expand_as(p))
        return self

    # ------------------------------------------------------------------ forward

    def forward(self, idx):
        """idx (K, B, T) int64 -> logits (K, B, T, V)."""
        K, B, T = idx.shape
        cfg = self.cfg
        x = self.token_embeddings(idx, self.wte) + self.wpe[:, None, :T, :]
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        w_out = self.wte if self.lm_head is None else self.lm_head  # (K, V, C)
        logits = torch.bmm(x.reshape(K, B * T, cfg.n_embd), w_out.transpose(1, 2))
        return logits.view(K, B, T, cfg.vocab_size)


def param_group(name):
    """The parameter group ("attn", "mlp", "embed", "unembed", "norm") a parameter name belongs to."""
    if ".attn." in name:
        return "attn"
    if ".mlp." in name:
        return "mlp"
    if name in ("wte", "wpe"):
        return "embed"
    if name == "lm_head":
        return "unembed"
    if ".ln_" in name or name.startswith("ln_f."):
        return "norm"
    raise ValueError(f"parameter {name!r} belongs to no group")


def masked_loss(logits, targets, mask):
    """Per-replica mean cross-entropy over masked targets.

    logits (K, B, T, V), targets (B, T) int64 shared by all replicas, mask (B, T) bool.
    Returns (K,) in float32 (float64 for a float64 model). Summing the result and calling backward gives each replica its own
    gradient, since replica k's loss depends only on replica k's weights."""
    K, B, T, V = logits.shape
    tgt = targets.unsqueeze(0).expand(K, B, T).reshape(-1)
    if logits.dtype != torch.float64:  # bf16 logits: take the softmax in float32
        logits = logits.float()
    nll = F.cross_entropy(logits.reshape(-1, V), tgt, reduction="none").view(K, B, T)
    m = mask.to(nll.dtype)
    return (nll * m).sum(dim=(1, 2)) / m.sum().clamp(min=1.0)


# ----------------------------------------------------------------------------- Hugging Face GPT-2 weights

def require_config(cfg, key, want, where):
    have = cfg.get(key, want)
    if have != want:
        raise ValueError(f"{where}: {key} = {have!r} is not supported (this agent implements {want!r})")


def gpt2_from_hf(hf_cfg, sd, where):
    """(GPTConfig, state dict in gpt.GPT names) from HF GPT-2 config + weights."""
    require_config(hf_cfg, "activation_function", "gelu_new", where)
    require_config(hf_cfg, "layer_norm_epsilon", 1e-5, where)
    require_config(hf_cfg, "scale_attn_weights", True, where)
    for key in ("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"):
        require_config(hf_cfg, key, False, where)
    tie = hf_cfg.get("tie_word_embeddings", True)
    cfg = GPTConfig(n_layer=hf_cfg["n_layer"], n_head=hf_cfg["n_head"], n_embd=hf_cfg["n_embd"],
                    block_size=hf_cfg["n_positions"], vocab_size=hf_cfg["vocab_size"], tie_embeddings=tie)
    out = {}
    for name, t in sd.items():
        n = name[len("transformer."):] if name.startswith("transformer.") else name
        if n.endswith(".attn.bias") or n.endswith(".attn.masked_bias"):
            continue  # causal-mask buffers of older checkpoints, not parameters
        if n == "lm_head.weight":
            if tie:
                continue  # the tied copy of wte
            n = "lm_head"
        elif n in ("wte.weight", "wpe.weight"):
            n = n[:-len(".weight")]
        out[n] = t.float() if t.is_floating_point() else t
    return cfg, out
