"""Loaders for pretrained checkpoints, all becoming a population model with named parameter groups.

model.checkpoint (spec) -> load(checkpoint) -> Loaded(kind, cfg, state_dict, tokenizer, source):
    tiny                  resources/tiny-gpt (resources.load_checkpoint), byte tokenizer
    hf:<dir or org/name>  Hugging Face GPT-2 family (model_type "gpt2") or Llama-style (model_type
                          "llama", e.g. SmolLM-135M): config.json + model.safetensors (or sharded
                          model.safetensors.index.json, or pytorch_model.bin); tokenizer from the
                          same directory (GPT-2: vocab.json + merges.txt; Llama-style: tokenizer.json)
    nanochat:<dir>        model_<step>.pt + meta_<step>.json (the highest step) + tokenizer.pkl
Then build(loaded, K, device, dtype) makes K identical replicas (gpt.GPT or llama.RopeGPT).

Where hf:<name>[@<revision>] is looked for, and how it is downloaded: hub.py. Weights are loaded
without running code (weights.py). Each model's converter sits beside it: gpt.gpt2_from_hf (GPT-2's
Conv1D weights are stored (in, out), which is gpt.GPT's layout already), llama.llama_from_hf (Llama's
nn.Linear weights are (out, in) and are transposed to llama.RopeGPT's (in, out)) and
llama.nanochat_from_state.

nanochat format (taken from nanochat's checkpoint_manager.py and gpt.py, Oct 2025): model_NNNNNN.pt
is torch.save(model.state_dict()) with names transformer.wte.weight, transformer.h.{i}.attn.
c_{q,k,v,proj}.weight, transformer.h.{i}.mlp.c_{fc,proj}.weight, lm_head.weight (nn.Linear
(out, in); a torch.compile'd model's names start with _orig_mod.); meta_NNNNNN.json holds
{"model_config": {sequence_len, vocab_size, n_layer, n_head, n_kv_head, n_embd}, ...}. The
tokenizer is tokenizer.pkl in the checkpoint directory, its tokenizer/ subdirectory, or nanochat's
base directory two levels up (~/.cache/nanochat/tokenizer/ for .../chatsft_checkpoints/d20).
Later nanochat versions (per-layer resid/x0 lambdas, value embeddings, padded vocabularies) have
extra tensors and are refused naming the first unexpected one.
Architecture: see llama.py (RoPE with nanochat's rotation sign, QK RMS-norm, ReLU^2 MLP of width
4C, weightless RMSNorm with eps = float32 machine epsilon (F.rms_norm's default), norm after the
embedding, logits soft-capped at 15, untied). nanochat keeps its RoPE tables in bf16; here they
are float32, a difference of the order of bf16 rounding.
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import resources as R
from . import tokenizers as TK
from .gpt import GPT, gpt2_from_hf
from .hub import resolve_hf
from .llama import RopeGPT, llama_from_hf, nanochat_from_state
from .weights import load_torch_weights, read_weights

# ----------------------------------------------------------------------------- nanochat

def nanochat_files(directory):
    """(model_*.pt, meta_*.json, step) of the highest step in a nanochat checkpoint directory."""
    d = Path(directory)
    steps = sorted(int(m.group(1)) for p in d.glob("model_*.pt") if (m := re.fullmatch(r"model_(\d+)\.pt", p.name)))
    if not steps:
        raise FileNotFoundError(f"nanochat:{d}: no model_<step>.pt files")
    step = steps[-1]
    model = next(p for p in d.glob("model_*.pt") if int(p.stem[len("model_"):]) == step)
    meta = d / f"meta_{model.stem[len('model_'):]}.json"
    if not meta.is_file():
        raise FileNotFoundError(f"nanochat:{d}: {model.name} has no {meta.name}")
    return model, meta, step


def nanochat_tokenizer_path(directory):
    d = Path(directory)
    for p in (d / "tokenizer.pkl", d / "tokenizer" / "tokenizer.pkl", d.parent.parent / "tokenizer" / "tokenizer.pkl"):
        if p.is_file():
            return p
    raise FileNotFoundError(f"nanochat:{d}: tokenizer.pkl not found in the directory, its tokenizer/ or "
                            f"{d.parent.parent / 'tokenizer'}")


# ----------------------------------------------------------------------------- entry points

@dataclass
class Loaded:
    kind: str        # "gpt" (gpt.GPT) or "rope" (llama.RopeGPT)
    cfg: object      # GPTConfig or RopeConfig
    state_dict: dict
    tokenizer: object
    source: str      # the directory or file it came from


def load(checkpoint, resources=None):
    """Loaded for a spec's model.checkpoint other than "scratch"."""
    if checkpoint == "tiny":
        path = (resources or R.resources_dir()) / "tiny-gpt"
        cfg, sd = R.load_checkpoint(path)
        return Loaded("gpt", cfg, sd, TK.ByteChatTokenizer(), str(path))
    if checkpoint.startswith("hf:"):
        d = resolve_hf(checkpoint[3:])
        hf_cfg = json.loads((d / "config.json").read_text())
        where = f"{d}/config.json"
        kind = hf_cfg.get("model_type")
        sd = read_weights(d)
        if kind == "gpt2":
            cfg, sd = gpt2_from_hf(hf_cfg, sd, where)
            return Loaded("gpt", cfg, sd, TK.load_gpt2_tokenizer(d), str(d))
        if kind == "llama":
            cfg, sd = llama_from_hf(hf_cfg, sd, where)
            return Loaded("rope", cfg, sd, TK.load_llama_tokenizer(d), str(d))
        raise ValueError(f"{where}: model_type {kind!r} is not supported; supported: gpt2, llama")
    if checkpoint.startswith("nanochat:"):
        d = Path(checkpoint[len("nanochat:"):]).expanduser()
        model_path, meta_path, _ = nanochat_files(d)
        meta = json.loads(meta_path.read_text())
        if "model_config" not in meta:
            raise ValueError(f"{meta_path}: no model_config")
        cfg, sd = nanochat_from_state(meta["model_config"], load_torch_weights(model_path))
        return Loaded("rope", cfg, sd, TK.load_nanochat_tokenizer(nanochat_tokenizer_path(d)), str(model_path))
    raise ValueError(f"model.checkpoint: unknown checkpoint {checkpoint!r}; use tiny, scratch, hf:<dir or name> "
                     f"or nanochat:<dir>")


def build(loaded, K, device=None, dtype=None):
    """K identical replicas of a Loaded checkpoint."""
    cls = GPT if loaded.kind == "gpt" else RopeGPT
    return cls(loaded.cfg, K, device, dtype).load_single_state_dict(loaded.state_dict)
