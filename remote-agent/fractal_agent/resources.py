"""Files shipped beside the agent (resources/) and the tiny checkpoint's directory format.

resources_dir() is $FRACTAL_AGENT_RESOURCES when set (the agent is uploaded alone to a GPU node, so the
client uploads resources/tiny-gpt beside it and points the variable there), else <repo>/resources next
to remote-agent/. The tiny checkpoint format is documented in remote-agent/CHECKPOINT.md.
"""
import json
import os
from pathlib import Path

import torch

from . import data as D
from .gpt import GPTConfig

CHECKPOINT_FORMAT = "fractal-gpt/1"


def resources_dir():
    env = os.environ.get("FRACTAL_AGENT_RESOURCES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "resources"


def save_checkpoint(out_dir, cfg: GPTConfig, state_dict, meta=None):
    """Write config.json, model.pt (float32 state dict, plain names, no replica dim),
    tokenizer.json and meta.json (how it was trained) into out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"format": CHECKPOINT_FORMAT, **cfg.to_dict()}, indent=2) + "\n")
    torch.save({k: v.detach().to("cpu", torch.float32).contiguous() for k, v in state_dict.items()}, out / "model.pt")
    (out / "tokenizer.json").write_text(json.dumps(D.tokenizer_json(), indent=2) + "\n")
    (out / "meta.json").write_text(json.dumps(meta or {}, indent=2) + "\n")


def load_checkpoint(path):
    """(GPTConfig, state dict) of a checkpoint directory written by save_checkpoint."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (config.json missing); set FRACTAL_AGENT_RESOURCES "
                                f"to the directory holding tiny-gpt/, or run `python -m fractal_agent pretrain`")
    cfg = json.loads((path / "config.json").read_text())
    fmt = cfg.pop("format", None)
    if fmt != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}/config.json: format {fmt!r}, this agent reads {CHECKPOINT_FORMAT!r}")
    tok = json.loads((path / "tokenizer.json").read_text())
    if tok.get("type") != "byte" or tok.get("vocab_size") != D.VOCAB_SIZE:
        raise ValueError(f"{path}/tokenizer.json: expected the byte tokenizer with vocab {D.VOCAB_SIZE}, got {tok}")
    sd = torch.load(path / "model.pt", map_location="cpu")
    return GPTConfig.from_dict(cfg), sd
