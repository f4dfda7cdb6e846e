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


def test_heldout_prompts_are_the_held_out_conversations_with_their_replies():
    from fractal_agent import data as D
    raw = {**SPEC, "data": {**SPEC["data"], "dataset": "synthetic:copy,reverse", "heldout": 4}}
    spec = validate(raw)
    _, held = D.load_split("synthetic:copy,reverse", 32, 4, 0)
    pairs = SM.heldout_prompts(spec, 2)
    assert pairs == [(c["messages"][0]["content"], c["messages"][1]["content"]) for c in held[:2]]
    out = SM.cell_samples(spec, 1, None, max_new_tokens=6, heldout=2)
    assert [(s["prompt"], s["reference"]) for s in out["samples"]] == pairs
    assert out["max_new_tokens"] == 6
    assert SM.heldout_prompts(spec, 10) == SM.heldout_prompts(spec, 4)  # at most data.heldout of them
    spec_none = validate({**SPEC, "data": {**SPEC["data"], "heldout": 0}})
    try:
        SM.heldout_prompts(spec_none, 2)
    except ValueError as e:
        assert "data.heldout is 0" in str(e)
    else:
        raise AssertionError("no held-out conversations must be refused")


def test_a_system_message_joins_the_first_user_turn_of_a_held_out_prompt(tmp_path):
    from fractal_agent import data as D
    convs = [{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"q{i}"},
                           {"role": "assistant", "content": f"a{i}"}]} for i in range(6)]
    D.write_jsonl(tmp_path / "chat.jsonl", convs)
    spec = validate({**SPEC, "data": {**SPEC["data"], "dataset": f"jsonl:{tmp_path / 'chat.jsonl'}", "size": 4,
                                      "heldout": 2}})
    assert SM.heldout_prompts(spec, 2) == [("be brief\n\nq0", "a0"), ("be brief\n\nq1", "a1")]
