"""A RoPE decoder (Llama / SmolLM and nanochat layouts) in population form, like gpt.GPT.

Every parameter has a leading replica dimension K; tokens (K, B, T) -> logits (K, B, T, V). Linear
weights are stored (in, out) and applied as x @ W (Hugging Face nn.Linear stores (out, in): the
converters at the end, llama_from_hf and nanochat_from_state, transpose). No biases.

Two layouts share this module, chosen by RopeConfig fields:
  Llama (SmolLM-135M):  RMSNorm with weights, RoPE (rotate_half convention), grouped-query
                        attention, SwiGLU MLP down(silu(gate(x)) * up(x)), pre-norm blocks, final norm.
  nanochat (its GPT):   RMSNorm without weights (norm_weights False) applied also right after the
                        token embedding (embed_norm), RoPE then RMS QK-norm on q and k (qk_norm),
                        ReLU^2 MLP c_proj(relu(c_fc(x))^2) (mlp "relu2"), untied lm_head,
                        logits soft-capped: softcap * tanh(logits / softcap).

Parameter names (HF Llama's minus the "model." prefix; nanochat's are renamed on load):
  embed_tokens (V, C)                                   group embed
  layers.{i}.input_layernorm.weight (C,)                group norm (absent without norm weights)
  layers.{i}.self_attn.{q,k,v,o}_proj.weight (in, out)  group attn
  layers.{i}.post_attention_layernorm.weight (C,)       group norm
  layers.{i}.mlp.{gate,up,down}_proj.weight (in, out)   group mlp (no gate_proj for relu2)
  norm.weight (C,)                                      group norm
  lm_head (V, C)                                        group unembed (absent when tied)
"""
import math
import re
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .gpt import ConfigDict, ReplicaWeights, require_config

GROUPS = ("attn", "mlp", "embed", "unembed", "norm")
_HAS_SDPA = hasattr(F, "scaled_dot_product_attention")


@dataclass
class RopeConfig(ConfigDict):
    n_layer: int = 2
    n_head: int = 4
    n_kv_head: int = 2
    n_embd: int = 64
    intermediate_size: int = 128
    block_size: int = 256
    vocab_size: int = 259
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    mlp: str = "swiglu"          # "swiglu" (Llama) or "relu2" (nanochat)
    norm_weights: bool = True    # False: parameter-free RMSNorm (nanochat)
    qk_norm: bool = False        # RMS-normalise q and k after RoPE (nanochat)
    embed_norm: bool = False     # RMS-normalise the token embedding (nanochat)
    logit_softcap: float = 0.0   # > 0: softcap * tanh(logits / softcap) (nanochat: 15)
    rope_sign: int = 1           # 1: HF Llama's rotate_half; -1: nanochat's (rotates the other way)

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"RopeConfig: n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head})")
        if self.rope_sign not in (1, -1):
            raise ValueError(f"RopeConfig: rope_sign must be 1 or -1, got {self.rope_sign!r}")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"RopeConfig: n_head ({self.n_head}) must be a multiple of n_kv_head ({self.n_kv_head})")
        if self.mlp not in ("swiglu", "relu2"):
            raise ValueError(f"RopeConfig: mlp must be swiglu or relu2, got {self.mlp!r}")

    @property
    def head_dim(self):
        return self.n_embd // self.n_head

    def num_params(self):
        C, L, I, V = self.n_embd, self.n_layer, self.intermediate_size, self.vocab_size
        kv = self.n_kv_head * self.head_dim
        attn = 2 * C * C + 2 * C * kv
        mlp = (3 if self.mlp == "swiglu" else 2) * C * I
        norms = 2 * C if self.norm_weights else 0
        n = V * C + L * (attn + mlp + norms) + (C if self.norm_weights else 0)
        return n if self.tie_embeddings else n + V * C

    def flops_per_token(self, seq_len):
        """Training FLOPs per token, 6N + 12 L C T, N the matmul parameters (the token embedding is a
        lookup unless tied, when it is also the unembedding)."""
        n_matmul = self.num_params() - (0 if self.tie_embeddings else self.vocab_size * self.n_embd)
        return 6 * n_matmul + 12 * self.n_layer * self.n_embd * seq_len



def rms_norm(x, eps):
    # F.rms_norm exists only in torch >= 2.4: write it out (float32 statistics, as HF Llama does)
    xf = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def rope_tables(T, head_dim, theta, device):
    """cos, sin (T, head_dim/2) in float32."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=device) / head_dim))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32, device=device), inv_freq)
    return freqs.cos(), freqs.sin()


def apply_rope(x, cos, sin):
    """x (..., T, H, D): rotate the pairs (x1, x2) = (x[:D/2], x[D/2:]) by the position's angles:
    y1 = x1 cos - x2 sin, y2 = x2 cos + x1 sin (HF Llama's q * cos + rotate_half(q) * sin).
    nanochat rotates the other way (y1 = x1 cos + x2 sin): pass -sin."""
    d = x.shape[-1] // 2
    x1, x2 = x[..., :d], x[..., d:]
    cos, sin = cos[:, None, :].to(x.dtype), sin[:, None, :].to(x.dtype)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


class PopLinearNB(nn.Module):
    """K bias-free linear maps, weight (K, in, out): (K, B, T, in) -> (K, B, T, out)."""

    def __init__(self, K, n_in, n_out, device=None, dtype=None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(K, n_in, n_out, device=device, dtype=dtype))

    def forward(self, x):
        K, B, T, n_in = x.shape
        return torch.bmm(x.reshape(K, B * T, n_in), self.weight).view(K, B, T, -1)


class PopRMSNorm(nn.Module):
    def __init__(self, K, n, eps, with_weight, device=None, dtype=None):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(K, n, device=device, dtype=dtype)) if with_weight else None

    def forward(self, x):
        y = rms_norm(x, self.eps)
        return y if self.weight is None else y * self.weight[:, None, None, :]


class RopeAttention(nn.Module):
    def __init__(self, K, cfg, device=None, dtype=None):
        super().__init__()
        self.cfg = cfg
        C, kv = cfg.n_embd, cfg.n_kv_head * cfg.head_dim
        self.q_proj = PopLinearNB(K, C, C, device, dtype)
        self.k_proj = PopLinearNB(K, C, kv, device, dtype)
        self.v_proj = PopLinearNB(K, C, kv, device, dtype)
        self.o_proj = PopLinearNB(K, C, C, device, dtype)

    def forward(self, x, cos, sin):
        K, B, T, C = x.shape
        cfg = self.cfg
        H, Hkv, D = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        q = apply_rope(self.q_proj(x).view(K * B, T, H, D), cos, sin)
        k = apply_rope(self.k_proj(x).view(K * B, T, Hkv, D), cos, sin)
        v = self.v_proj(x).view(K * B, T, Hkv, D)
        if cfg.qk_norm:
            q, k = rms_norm(q, cfg.norm_eps), rms_norm(k, cfg.norm_eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (K*B, heads, T, D)
        if Hkv != H:  # grouped-query attention: each kv head serves H / Hkv query heads
            k = k.repeat_interleave(H // Hkv, dim=1)
            v = v.repeat_interleave(H // Hkv, dim=1)
        if _HAS_SDPA:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            y = att.masked_fill(~causal, float("-inf")).softmax(dim=-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(K, B, T, C))


class RopeMLP(nn.Module):
    def __init__(self, K, cfg, device=None, dtype=None):
        super().__init__()
        self.kind = cfg.mlp
        C, I = cfg.n_embd, cfg.intermediate_size
        if self.kind == "swiglu":
            self.gate_proj = PopLinearNB(K, C, I, device, dtype)
        self.up_proj = PopLinearNB(K, C, I, device, dtype)
        self.down_proj = PopLinearNB(K, I, C, device, dtype)

    def forward(self, x):
        if self.kind == "swiglu":
            return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))
        return self.down_proj(F.relu(self.up_proj(x)).square())


class RopeBlock(nn.Module):
    def __init__(self, K, cfg, device=None, dtype=None):
        super().__init__()
        self.input_layernorm = PopRMSNorm(K, cfg.n_embd, cfg.norm_eps, cfg.norm_weights, device, dtype)
        self.self_attn = RopeAttention(K, cfg, device, dtype)
        self.post_attention_layernorm = PopRMSNorm(K, cfg.n_embd, cfg.norm_eps, cfg.norm_weights, device, dtype)
        self.mlp = RopeMLP(K, cfg, device, dtype)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class RopeGPT(ReplicaWeights, nn.Module):
    """K replicas of a RoPE decoder; same interface as gpt.GPT (param_groups, init_weights,
    single_state_dict, load_single_state_dict, forward)."""

    def __init__(self, cfg: RopeConfig, K=1, device=None, dtype=None):
        super().__init__()
        self.cfg, self.K = cfg, K
        C = cfg.n_embd
        self.embed_tokens = nn.Parameter(torch.empty(K, cfg.vocab_size, C, device=device, dtype=dtype))
        self.layers = nn.ModuleList(RopeBlock(K, cfg, device, dtype) for _ in range(cfg.n_layer))
        self.norm = PopRMSNorm(K, C, cfg.norm_eps, cfg.norm_weights, device, dtype)
        self.lm_head = None if cfg.tie_embeddings else \
            nn.Parameter(torch.empty(K, cfg.vocab_size, C, device=device, dtype=dtype))

    def param_groups(self):
        groups = {g: [] for g in GROUPS}
        for name, p in self.named_parameters():
            groups[param_group(name)].append(p)
        return groups

    @torch.no_grad()
    def init_weights(self, seed):
        """Normal(0, 0.02) matrices, unit norm weights; identical in every replica."""
        g = torch.Generator().manual_seed(seed)
        for name, p in self.named_parameters():
            w = torch.ones(p.shape[1:]) if name.endswith("norm.weight") else torch.randn(p.shape[1:], generator=g) * 0.02
            p.copy_(w.to(p.dtype).expand_as(p))
        return self

    def forward(self, idx):
        K, B, T = idx.shape
        cfg = self.cfg
        x = self.token_embeddings(idx, self.embed_tokens)
        if cfg.embed_norm:
            x = rms_norm(x, cfg.norm_eps)
        cos, sin = rope_tables(T, cfg.head_dim, cfg.rope_theta, idx.device)
        sin = sin * cfg.rope_sign
        for layer in self.layers:
            x = layer(x, cos, sin)
        x = self.norm(x)
        w_out = self.embed_tokens if self.lm_head is None else self.lm_head
        logits = torch.bmm(x.reshape(K, B * T, cfg.n_embd), w_out.transpose(1, 2)).view(K, B, T, cfg.vocab_size)
        if cfg.logit_softcap > 0:
            logits = cfg.logit_softcap * torch.tanh(logits / cfg.logit_softcap)
        return logits


def param_group(name):
    if ".self_attn." in name:
        return "attn"
    if ".mlp." in name:
        return "mlp"
    if name == "embed_tokens":
        return "embed"
    if name == "lm_head":
        return "unembed"
    if name.endswith("layernorm.weight") or name == "norm.weight":
        return "norm"
    raise ValueError(f"parameter {name!r} belongs to no group")


# ----------------------------------------------------------------------------- Hugging Face Llama and nanochat weights

LLAMA_MAP = {"q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
             "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
             "down_proj": "mlp.down_proj"}


def llama_from_hf(hf_cfg, sd, where):
    """(RopeConfig, state dict in llama.RopeGPT names) from an HF Llama-style config + weights."""
    require_config(hf_cfg, "hidden_act", "silu", where)
    require_config(hf_cfg, "rope_scaling", None, where)
    require_config(hf_cfg, "attention_bias", False, where)
    require_config(hf_cfg, "mlp_bias", False, where)
    C, H = hf_cfg["hidden_size"], hf_cfg["num_attention_heads"]
    if hf_cfg.get("head_dim", C // H) != C // H:
        raise ValueError(f"{where}: head_dim {hf_cfg['head_dim']} != hidden_size / num_attention_heads is not supported")
    tie = hf_cfg.get("tie_word_embeddings", False)
    cfg = RopeConfig(n_layer=hf_cfg["num_hidden_layers"], n_head=H, n_kv_head=hf_cfg.get("num_key_value_heads", H),
                     n_embd=C, intermediate_size=hf_cfg["intermediate_size"],
                     block_size=hf_cfg["max_position_embeddings"], vocab_size=hf_cfg["vocab_size"],
                     rope_theta=float(hf_cfg.get("rope_theta", 10000.0)), norm_eps=float(hf_cfg.get("rms_norm_eps", 1e-6)),
                     tie_embeddings=tie, mlp="swiglu")
    out = {}
    for name, t in sd.items():
        t = t.float()
        if name.endswith("rotary_emb.inv_freq"):
            continue  # a buffer recomputed from rope_theta
        if name == "lm_head.weight":
            if not tie:
                out["lm_head"] = t
            continue
        n = name[len("model."):] if name.startswith("model.") else name
        if n == "embed_tokens.weight":
            out["embed_tokens"] = t
            continue
        m = re.fullmatch(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.weight", n)
        if m and m.group(2) in LLAMA_MAP:
            out[f"layers.{m.group(1)}.{LLAMA_MAP[m.group(2)]}.weight"] = t.t().contiguous()  # (out, in) -> (in, out)
        else:
            out[n] = t  # norms keep their names; anything unknown fails in load_single_state_dict
    return cfg, out


def nanochat_from_state(model_config, sd):
    """(RopeConfig, state dict in RopeGPT names) from a nanochat checkpoint (its format: checkpoints.py)."""
    mc = model_config
    cfg = RopeConfig(n_layer=mc["n_layer"], n_head=mc["n_head"], n_kv_head=mc.get("n_kv_head", mc["n_head"]),
                     n_embd=mc["n_embd"], intermediate_size=4 * mc["n_embd"], block_size=mc["sequence_len"],
                     vocab_size=mc["vocab_size"], rope_theta=10000.0, norm_eps=float(torch.finfo(torch.float32).eps),
                     tie_embeddings=False, mlp="relu2", norm_weights=False, qk_norm=True, embed_norm=True,
                     logit_softcap=15.0, rope_sign=-1)
    names = {"attn.c_q": "self_attn.q_proj", "attn.c_k": "self_attn.k_proj", "attn.c_v": "self_attn.v_proj",
             "attn.c_proj": "self_attn.o_proj", "mlp.c_fc": "mlp.up_proj", "mlp.c_proj": "mlp.down_proj"}
    out = {}
    for name, t in sd.items():
        n = name[len("_orig_mod."):] if name.startswith("_orig_mod.") else name
        t = t.float()
        if n == "transformer.wte.weight":
            out["embed_tokens"] = t
        elif n == "lm_head.weight":
            out["lm_head"] = t
        else:
            m = re.fullmatch(r"transformer\.h\.(\d+)\.(attn\.c_\w+|mlp\.c_\w+)\.weight", n)
            if not m or m.group(2) not in names:
                raise ValueError(f"nanochat checkpoint: unexpected tensor {name!r}")
            out[f"layers.{m.group(1)}.{names[m.group(2)]}.weight"] = t.t().contiguous()
    return cfg, out
