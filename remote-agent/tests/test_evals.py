"""Multiple-choice evaluation: harness prompts per task, log-likelihood scoring (batched and padded
== one sequence at a time), acc vs acc_norm on a handmade set with known answers."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

from fractal_agent import evals as E
from fractal_agent import tokenizers as TK
from fractal_agent.gpt import GPT, GPTConfig


class Bigram(nn.Module):
    """A 'population' of K bigram models with a fixed log-prob table per replica: logits[t] =
    table[k, idx[t]], so continuation log-likelihoods are sums of table entries."""

    def __init__(self, tables):
        super().__init__()
        self.table = tables  # (K, V, V) log-probs
        self.K = tables.shape[0]
        self.cfg = GPTConfig(n_layer=1, n_head=1, n_embd=8, block_size=64, vocab_size=tables.shape[1])

    def forward(self, idx):
        return torch.stack([self.table[k][idx[k]] for k in range(self.K)])


def _table(prefs, V=259):
    """Normalised log-prob table (V, V) with prefs {(prev, next): logp}; each row's remaining mass
    goes to token 0 (NUL, used in no text here), every other entry is -inf."""
    t = torch.full((V, V), float("-inf"), dtype=torch.float64)
    t[:, 0] = 0.0
    for (a, b), lp in prefs.items():
        t[a, b] = lp
    for a in {a for a, _ in prefs}:
        rest = 1.0 - sum(np.exp(lp) for (r, _), lp in prefs.items() if r == a)
        t[a, 0] = np.log(rest) if rest > 0 else float("-inf")
    return t


def test_loglikelihood_is_sum_of_continuation_logprobs():
    tok = TK.ByteChatTokenizer()
    table = torch.log_softmax(torch.randn(259, 259, generator=torch.Generator().manual_seed(0), dtype=torch.float64), -1)
    model = Bigram(table[None])
    ctx, cont = E.encode_pair(tok, "ab", " cd")
    assert ctx == [97, 98] and cont == [32, 99, 100]
    ll = E.loglikelihoods(model, [(ctx, cont)])
    want = table[98, 32] + table[32, 99] + table[99, 100]
    assert ll.shape == (1, 1) and ll[0, 0] == pytest.approx(float(want), abs=1e-12)
    # trailing context spaces move to the continuation (harness _encode_pair)
    assert E.encode_pair(tok, "ab ", "cd") == ([97, 98], [32, 99, 100])


def test_acc_and_acc_norm_on_handmade_items_with_known_answers():
    """Item 1: the model prefers the right short answer ("x") by total ll: acc and acc_norm right.
    Item 2: the long right answer "yyyy" has lower total ll than the wrong "z" but higher per
    character: acc wrong, acc_norm right. Replica 1 prefers "z" everywhere: both wrong on item 2."""
    tok = TK.ByteChatTokenizer()
    sp, x, y, z, q = 32, ord("x"), ord("y"), ord("z"), ord("?")
    t0 = _table({(q, sp): 0.0, (sp, x): -1.0, (sp, z): -3.0, (sp, y): -1.0, (y, y): -1.0})
    t1 = _table({(q, sp): 0.0, (sp, x): -5.0, (sp, z): -0.5, (sp, y): -6.0, (y, y): -6.0})
    model = Bigram(torch.stack([t0, t1]))
    items = [E._item(["?"] * 2, ["x", "z"], 0), E._item(["?"] * 2, ["yyyy", "z"], 0)]
    reqs = [E.encode_pair(tok, c, k) for it in items for c, k in zip(it["contexts"], it["continuations"])]
    ll = E.loglikelihoods(model, reqs)
    np.testing.assert_allclose(ll[0], [-1.0, -3.0, -4.0, -3.0], rtol=1e-9)
    acc, acc_norm = E.accuracy(ll, items)
    np.testing.assert_array_equal(acc, [0.5, 0.0])
    np.testing.assert_array_equal(acc_norm, [1.0, 0.0])


def test_batched_padded_scoring_equals_single_sequences():
    cfg = GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=24, vocab_size=259)
    model = GPT(cfg, K=2).init_weights(0)
    with torch.no_grad():
        for p in model.parameters():
            p[1].add_(torch.randn_like(p[1]) * 0.05)
    tok = TK.ByteChatTokenizer()
    reqs = [E.encode_pair(tok, c, k) for c, k in [("Question: hi\nAnswer:", " yes"), ("a", " b"),
                                                  ("a much longer context than the block size allows", " end")]]
    batched = E.loglikelihoods(model, reqs, batch_size=8)
    for r, (ctx, cont) in enumerate(reqs):
        s = (ctx + cont)[-(cfg.block_size + 1):]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor(s[:-1]).expand(2, 1, -1)), -1)
        n = len(cont)
        want = sum(logp[:, 0, len(s) - 1 - n + j, s[len(s) - n + j]] for j in range(n))
        np.testing.assert_allclose(batched[:, r], want.double().numpy(), rtol=1e-5)


def test_task_prompts_follow_the_harness():
    hs = E.to_item("hellaswag", {"activity_label": "Baking", "ctx_a": "She mixes flour.", "ctx_b": "then she",
                                 "endings": ["bakes it [title] done", "x", "y", "z"], "label": "0"})
    assert hs["contexts"][0] == "Baking: She mixes flour. Then she"
    assert hs["continuations"][0] == " bakes it. done" and hs["gold"] == 0
    arc = E.to_item("arc_challenge", {"question": "Why?", "choices": {"text": ["A", "Bb"], "label": ["A", "B"]},
                                      "answerKey": "B"})
    assert arc["contexts"][1] == "Question: Why?\nAnswer:" and arc["gold"] == 1 and arc["lengths"] == [1, 2]
    wg = E.to_item("winogrande", {"sentence": "Tom gave Bob _ book because he", "option1": "Tom", "option2": "Bob",
                                  "answer": "2"})
    assert wg["contexts"] == ["Tom gave Bob Tom", "Tom gave Bob Bob"]
    assert wg["continuations"] == [" book because he"] * 2 and wg["gold"] == 1


def test_evaluate_from_local_jsonl(tmp_path, monkeypatch):
    rows = [{"goal": "open a jar", "sol1": "twist the lid", "sol2": "eat the lid", "label": 0}] * 3
    (tmp_path / "piqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("FRACTAL_AGENT_EVALS", str(tmp_path))
    task, items = E.load_items("piqa:2")
    assert task == "piqa" and len(items) == 2
    cfg = GPTConfig(n_layer=1, n_head=1, n_embd=8, block_size=64, vocab_size=259)
    res = E.evaluate(GPT(cfg, K=3).init_weights(1), TK.ByteChatTokenizer(), ["piqa:2"])
    assert res["piqa"]["n"] == 2 and res["piqa"]["acc"].shape == (3,)
    with pytest.raises(ValueError, match="only 3 rows"):
        E.load_items("piqa:5")
    with pytest.raises(FileNotFoundError, match="hellaswag.jsonl"):
        E.load_items("hellaswag:5")
    with pytest.raises(ValueError, match="unknown task"):
        E.parse_eval("mmlu:5")


def _piqa_rows(path, n, sol1="twist the lid"):
    path.mkdir(parents=True, exist_ok=True)
    rows = [{"goal": f"goal {i}", "sol1": sol1, "sol2": "eat the lid", "label": i % 2} for i in range(n)]
    (path / "piqa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_spec_evals_dir_wins_over_the_default_lookup_and_expands_the_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    _piqa_rows(tmp_path / "spec-evals", 3, sol1="from the spec dir")
    _piqa_rows(tmp_path / "env-evals", 5, sol1="from the env dir")
    (tmp_path / "env-evals" / "hellaswag.jsonl").write_text("")
    monkeypatch.setenv("FRACTAL_AGENT_EVALS", str(tmp_path / "env-evals"))
    task, items = E.load_items("piqa", "~/spec-evals")
    assert task == "piqa" and len(items) == 3 and items[0]["continuations"][0] == " from the spec dir"
    assert len(E.load_items("piqa")[1]) == 5  # no data.evals_dir: $FRACTAL_AGENT_EVALS as before
    # A task missing from data.evals_dir is an error naming it, not a silent fall-back elsewhere.
    with pytest.raises(FileNotFoundError, match=r"spec-evals/hellaswag.jsonl \(data.evals_dir is '~/spec-evals'\)"):
        E.load_items("hellaswag:1", "~/spec-evals")


def test_sft_reads_evals_from_the_specs_evals_dir(tmp_path, monkeypatch):
    """train_population and base_metrics take the eval rows from spec data.evals_dir, not the default
    lookup (whose piqa.jsonl here is not in the PIQA format, so reading it fails)."""
    from fractal_agent import sft
    from fractal_agent.spec import cell_hparams, validate
    _piqa_rows(tmp_path / "spec-evals", 3)
    (tmp_path / "env-evals").mkdir()
    (tmp_path / "env-evals" / "piqa.jsonl").write_text('{"not": "piqa"}\n' * 5)
    monkeypatch.setenv("FRACTAL_AGENT_EVALS", str(tmp_path / "env-evals"))
    spec = validate({
        "version": 1, "name": "evals_dir",
        "model": {"family": "gpt", "checkpoint": "scratch",
                  "config": {"n_layer": 1, "n_head": 1, "n_embd": 8, "block_size": 32, "vocab_size": 259}},
        "data": {"dataset": "synthetic:copy", "size": 4, "seq_len": 16, "heldout": 2, "evals": ["piqa"],
                 "evals_dir": str(tmp_path / "spec-evals")},
        "train": {"optimizer": "sgd", "steps": 1, "batch_size": 2, "precision": "float32"},
        "axes": {"x": {"param": "lr", "scale": "log", "range": [-3, 0], "points": 1},
                 "y": {"param": "weight_decay", "scale": "linear", "range": [0, 0.1], "points": 1}},
        "criterion": {"window": 1}})
    assert sft.base_metrics(spec)["evals"]["piqa"]["n"] == 3
    pop = sft.train_population(spec, [cell_hparams(spec, 0)], "cpu")
    assert pop["evals"]["piqa"]["acc"].shape == (1,)
    env_only = validate({**spec, "data": {**spec["data"], "evals_dir": None}})
    with pytest.raises(ValueError, match="not in the ybisk/piqa format"):
        sft.train_population(env_only, [cell_hparams(env_only, 0)], "cpu")


class Oracle(nn.Module):
    """A 'model' that knows the sequences it should favour: after any prefix of one of them, its next token gets
    logit +20 (every other token 0). Replica k favours sequences[k]."""

    def __init__(self, per_replica, V=259):
        super().__init__()
        self.K, self.V = len(per_replica), V
        self.next = [{tuple(s[:t]): s[t] for s in seqs for t in range(1, len(s))} for seqs in per_replica]
        self.cfg = GPTConfig(n_layer=1, n_head=1, n_embd=8, block_size=256, vocab_size=V)

    def forward(self, idx):
        K, B, T = idx.shape
        out = torch.zeros(K, B, T, self.V, dtype=torch.float64)
        for k in range(K):
            for b in range(B):
                row = idx[k, b].tolist()
                for t in range(T):
                    nxt = self.next[k].get(tuple(row[:t + 1]))
                    if nxt is not None:
                        out[k, b, t, nxt] = 20.0
        return out


@pytest.mark.parametrize("task", E.SYNTHETIC_TASKS)
def test_synthetic_tasks_are_seeded_chats_whose_gold_is_the_familys_answer(task):
    from fractal_agent import data as D
    _, items = E.load_items(f"{task}:30")
    assert E.load_items(f"{task}:30")[1] == items and E.load_items(f"{task}:10")[1] == items[:10]  # stable prefixes
    assert len(E.load_items(task)[1]) == E.SYNTHETIC_DEFAULT_ITEMS
    family = task[len("synthetic_"):]
    train = {c["messages"][0]["content"] for c in D.synthetic_family(family, 200)}
    fresh = 0
    for it in items:
        prompt = it["chat"][0]["content"]
        assert len(it["choices"]) == 4 and len(set(it["choices"])) == 4
        fresh += prompt not in train
        # the gold choice is what the family's generator answers for this prompt
        answers = {p: a for p, a in (D.FAMILIES[family](__import__("random").Random(f"mc/{family}/{j}")) for j in range(200))}
        assert it["choices"][it["gold"]] == answers[prompt]
    assert fresh >= 25  # its own seed stream, not the training data's
    assert len({it["gold"] for it in items}) > 1  # the right answer is not always in one place


def test_synthetic_items_score_as_chats_an_oracle_gets_right_and_an_anti_oracle_wrong():
    tok = TK.ByteChatTokenizer()
    _, items = E.load_items("synthetic_arithmetic:12")
    reqs = [E.item_requests(tok, it) for it in items]
    for it, rs in zip(items, reqs):
        ctx, cont = rs[it["gold"]]
        assert ctx[-1] == 257 and cont[-1] == tok.stop_id  # <|assistant|> then the reply and <|end|>
        assert tok.decode(cont[:-1]) == it["choices"][it["gold"]]
    gold = [rs[it["gold"]][0] + rs[it["gold"]][1] for it, rs in zip(items, reqs)]
    wrong = [rs[(it["gold"] + 1) % 4][0] + rs[(it["gold"] + 1) % 4][1] for it, rs in zip(items, reqs)]
    r = E.evaluate(Oracle([gold, wrong]), tok, ["synthetic_arithmetic:12"])["synthetic_arithmetic"]
    assert r["acc"].tolist() == [1.0, 0.0] and r["n"] == 12


def test_synthetic_tasks_need_no_file_and_are_valid_spec_entries(tmp_path, monkeypatch):
    from fractal_agent import spec as S
    monkeypatch.setenv("FRACTAL_AGENT_EVALS", str(tmp_path))  # empty: nothing to read
    assert E.load_items("synthetic_copy:3", str(tmp_path))[0] == "synthetic_copy"
    assert set(E.SYNTHETIC_TASKS) <= set(S.EVAL_TASKS)
    with pytest.raises(ValueError, match="unknown task 'synthetic_nope'"):
        E.parse_eval("synthetic_nope:3")
