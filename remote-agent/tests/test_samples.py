"""Samples: re-running a cell reproduces it, greedy decoding is deterministic and is the argmax,
an LR-0 cell answers like the base model and a trained one does not."""
import torch

from fractal_agent import samples as SM
from fractal_agent import sft
from fractal_agent.spec import cell_hparams, validate
from fractal_agent.tokenizers import ByteChatTokenizer

SPEC = {
    "version": 1, "name": "samples",
    "model": {"family": "gpt", "checkpoint": "tiny"},
    "data": {"dataset": "synthetic:copy", "size": 32, "seq_len": 32, "heldout": 0},
    "train": {"optimizer": "adamw", "steps": 8, "batch_size": 4, "precision": "float32"},
    "axes": {"x": {"param": "lr", "scale": "linear", "range": [0, 0.02], "points": 2},
             "y": {"param": "warmup", "range": [0, 0.5], "points": 1}},
    "criterion": {"window": 3},
}


def test_cell_samples_reproduce_and_differ_from_base_when_trained():
    spec = validate(SPEC)
    prompts = ["copy: hello", "what is 2+2?"]
    lower = SM.cell_samples(spec, 0, prompts, max_new_tokens=12)  # cell 0: lr 0.005
    trained = SM.cell_samples(spec, 1, prompts, max_new_tokens=12)  # cell 1: lr 0.015
    again = SM.cell_samples(spec, 1, prompts, max_new_tokens=12)
    assert trained == again  # deterministic
    assert [s["base"] for s in lower["samples"]] == [s["base"] for s in trained["samples"]]
    assert any(s["tuned"] != s["base"] for s in trained["samples"])
    sweep = sft.train_population(spec, [cell_hparams(spec, i) for i in (0, 1)], "cpu")
    assert trained["final_loss"] == sweep["losses"][1, -1]


def test_lr_zero_cell_answers_like_the_base_model():
    raw = {**SPEC, "train": {**SPEC["train"], "lr": 0.0},
           "axes": {"x": {"param": "warmup", "range": [0, 0.5], "points": 1},
                    "y": {"param": "weight_decay", "range": [0, 0.1], "points": 1}}}
    out = SM.cell_samples(validate(raw), 0, ["copy: abc"], max_new_tokens=8)
    assert out["hparams"]["lr.attn"] == 0.0
    assert out["samples"][0]["tuned"] == out["samples"][0]["base"]


def test_greedy_is_the_argmax_and_stops_at_the_end_token():
    model, tok = sft.build(validate(SPEC)["model"], 2, "cpu", torch.float32)
    ids = tok.prompt([{"role": "user", "content": "copy: abc"}])
    got = SM.greedy(model, tok, ids, 5)
    seq = list(ids)
    for _ in range(len(got)):
        with torch.no_grad():
            seq.append(int(model(torch.tensor(seq).expand(2, 1, -1))[0, 0, -1].argmax()))
    assert seq[len(ids):] == got

    class EndsAtOnce(torch.nn.Module):  # a model whose argmax is always the end token
        K, cfg = 1, model.cfg

        def forward(self, idx):
            out = torch.zeros(1, 1, idx.shape[-1], 259)
            out[..., ByteChatTokenizer.stop_id] = 1.0
            return out
    assert SM.greedy(EndsAtOnce(), tok, ids, 5) == []
