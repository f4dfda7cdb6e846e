"""Byte tokenizer, rendering with assistant-only loss mask, packing, synthetic families, JSONL."""
import importlib.util
import json

import pytest
import torch

from fractal_agent import data as D


def _conv(*turns):
    roles = ["user", "assistant"] * len(turns)
    return {"messages": [{"role": r, "content": c} for r, c in zip(roles, turns)]}


def test_tokenizer_round_trip_bytes_and_unicode():
    for s in ["", "hello world", "naïve café — 漢字 🙂", "<|user|> stays text", "\x00\n\t\xff"]:
        ids = D.encode(s)
        assert all(0 <= i < 256 for i in ids)
        assert D.decode(ids) == s
    assert D.decode([D.USER, 104, 105, D.END]) == "<|user|>hi<|end|>"
    assert D.VOCAB_SIZE == 259 and D.tokenizer_json()["special_tokens"]["<|end|>"] == D.END
    with pytest.raises(ValueError, match="vocab"):
        D.decode([300])


def test_render_masks_assistant_tokens_only():
    ids, mask = D.render(_conv("ab", "xyz", "q", "r"))
    assert ids == [D.USER, 97, 98, D.END, D.ASSISTANT, 120, 121, 122, D.END,
                   D.USER, 113, D.END, D.ASSISTANT, 114, D.END]
    assert mask == [0, 0, 0, 0, 0, 1, 1, 1, 1,
                    0, 0, 0, 0, 1, 1]
    sys_ids, _ = D.render({"messages": [{"role": "system", "content": "S"}] + _conv("ab", "c")["messages"]})
    assert D.decode(sys_ids) == "<|user|>S\n\nab<|end|><|assistant|>c<|end|>"


def test_pack_keeps_every_token_and_mask_once():
    convs = D.synthetic(["reverse", "arithmetic"], 7)
    stream, smask = [], []
    for c in convs:
        i, m = D.render(c)
        stream += i
        smask += m
    seq_len = 16
    tok, mask = D.pack(convs, seq_len)
    assert tok.shape == mask.shape == (-(-(len(stream) - 1) // seq_len), seq_len + 1)
    assert torch.equal(tok[1:, 0], tok[:-1, -1])  # rows overlap by one token
    targets = tok[:, 1:].reshape(-1)
    tmask = mask[:, 1:].reshape(-1)
    n = len(stream) - 1
    assert targets[:n].tolist() == stream[1:] and tmask[:n].tolist() == [bool(m) for m in smask[1:]]
    assert not tmask[n:].any() and (targets[n:] == D.END).all()  # padding is never trained on
    assert tok[0, 0] == D.USER


def test_synthetic_smaller_sets_are_prefixes_and_deterministic():
    fams = ["arithmetic", "reverse", "copy"]
    big = D.synthetic(fams, 90, seed=0)
    assert D.synthetic(fams, 31, seed=0) == big[:31]
    assert D.synthetic(fams, 90, seed=0) == big
    assert D.synthetic(fams, 90, seed=1) != big
    tr_small, ho_small = D.load_split("synthetic:arithmetic,reverse,copy", 10, 8)
    tr_big, ho_big = D.load_split("synthetic:arithmetic,reverse,copy", 50, 8)
    assert tr_small == tr_big[:10] and ho_small == ho_big


def test_heldout_split_is_disjoint_from_training():
    train, held = D.load_split("synthetic", 600, 64)
    prompts = {c["messages"][0]["content"] for c in train}
    assert len(prompts) == 600  # no duplicates inside the training set either
    assert not prompts & {c["messages"][0]["content"] for c in held}


def test_families_answer_correctly_and_ood_family_is_disjoint():
    train, _ = D.load_split("synthetic:arithmetic,reverse,copy", 300, 0)
    _, ood = D.load_split("synthetic:sort", 0, 50)
    assert all(c["messages"][0]["content"].startswith("sort: ") for c in ood)
    assert not any(c["messages"][0]["content"].startswith("sort") for c in train)
    for c in train + ood:
        u, a = c["messages"][0]["content"], c["messages"][1]["content"]
        if u.endswith("="):
            assert int(a) == eval(u[:-1])  # arithmetic: "123+45="
        elif u.startswith("reverse: "):
            assert a == u[len("reverse: "):][::-1]
        elif u.startswith("sort: "):
            assert a == "".join(sorted(u[len("sort: "):]))
        else:
            assert u.startswith("copy: ") and a == u[len("copy: "):]
    with pytest.raises(ValueError, match="shares families"):
        D.check_ood("synthetic", "synthetic:sort")
    with pytest.raises(ValueError, match="unknown synthetic family 'sortt'"):
        D.parse_families("synthetic:sortt")


def test_jsonl_round_trip_and_errors(tmp_path):
    convs = D.synthetic(["uppercase", "count"], 6) + [
        {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"},
                      {"role": "assistant", "content": "héllo"}]}]
    path = tmp_path / "chats.jsonl"
    D.write_jsonl(path, convs)
    assert D.read_jsonl(path) == convs
    train, held = D.load_split(f"jsonl:{path}", 4, 3)
    assert held == convs[:3] and train == convs[3:]
    with pytest.raises(ValueError, match="has 7 conversations, the sweep needs 10"):
        D.load_split(f"jsonl:{path}", 7, 3)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(convs[0]) + "\n" + json.dumps(_conv("a", "b", "c")) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: the conversation must end with an assistant turn"):
        D.read_jsonl(bad)
    bad.write_text("{not json\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: not valid JSON"):
        D.read_jsonl(bad)


def test_jsonl_path_with_a_tilde_is_read_from_the_home(tmp_path, monkeypatch):
    """The app rewrites laptop files to jsonl:~/.fractal-llm/data/<sha256>.jsonl on a node: ~ is the agent's home."""
    monkeypatch.setenv("HOME", str(tmp_path))
    convs = D.synthetic(["copy"], 5)
    (tmp_path / "data").mkdir()
    D.write_jsonl(tmp_path / "data" / "chats.jsonl", convs)
    assert D.load_stream("jsonl:~/data/chats.jsonl", 5) == convs
    train, held = D.load_split("jsonl:~/data/chats.jsonl", 3, 2)
    assert held == convs[:2] and train == convs[2:]
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "missing.jsonl")):  # named as expanded
        D.read_jsonl("~/missing.jsonl")


@pytest.mark.skipif(importlib.util.find_spec("datasets") is not None, reason="`datasets` is installed here")
def test_smoltalk_without_datasets_fails_with_guidance():
    with pytest.raises(RuntimeError, match=r"needs the Hugging Face `datasets` package.*jsonl:<path>"):
        D.load_split("smoltalk", 10, 2)


@pytest.mark.parametrize("dataset", ["smoltalk", "smol-smoltalk"])
def test_hub_datasets_need_the_datasets_package(dataset):
    import importlib.util
    from fractal_agent.spec import validate
    from conftest import fixture_spec
    raw = fixture_spec("gpt-tiny-sft-lr-dataset")
    raw["data"]["dataset"] = dataset
    assert validate(raw)["data"]["dataset"] == dataset
    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("datasets is installed: the refusal path is not reachable")
    with pytest.raises(RuntimeError, match="needs the Hugging Face `datasets` package"):
        D.load_stream(dataset, 4)
