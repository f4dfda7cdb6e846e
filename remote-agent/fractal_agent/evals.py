"""Multiple-choice evaluation of every replica of a population model (spec data.evals).

Tasks and their prompts are lm-evaluation-harness's (v0.4 task configs), scored the way its
`multiple_choice` output type is:
  hellaswag      query  = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize())
                 choices = preprocess(ending) for the 4 endings; gold = int(label)
  arc_challenge  "Question: {question}\nAnswer:"; choices = choices.text; gold = labels.index(answerKey)
  piqa           "Question: {goal}\nAnswer:"; choices = [sol1, sol2]; gold = label
  winogrande     partial scoring: contexts = sentence[:blank] + option (2 of them), one continuation
                 sentence[blank+1:].strip(); gold = answer - 1
Each choice's continuation is " " + choice (the harness's target_delimiter) and its log-likelihood
is the summed log-probability of the continuation tokens given the context (trailing spaces of the
context move to the continuation; the continuation tokens are those of encode(context +
continuation) past encode(context), as the harness's _encode_pair does). Then per item
    acc      = [argmax_i ll_i == gold]
    acc_norm = [argmax_i ll_i / len(choice_i) == gold], len in characters of the choice text, as the
               harness computes completion_len (for winogrande, whose choices share one
               continuation, acc_norm equals acc; the harness reports acc only).
Sequences longer than the model's block_size keep their last block_size + 1 tokens.
A tokenizer's `prefix` (nanochat's <|bos|>) is put before every context; an empty context becomes
the stop token (the harness uses the end-of-text token).

Synthetic tasks (synthetic_arithmetic, synthetic_reverse, ... one per data.py family) are generated, not read:
item j's prompt comes from the family's generator seeded "mc/<family>/<j>" (a stream of its own, not the training
data's), with its right answer and three distractors of the same form in a seeded order; ":n" takes the first n
(default 100). Each is scored as a chat: the context is the user turn as the model's tokenizer renders it, each
choice the assistant's reply with its stop token, so acc reads "answers this family's questions".

Data: spec entries "task:n" use the first n rows of the task's evaluation split (the whole split
without ":n"). Rows come from <dir>/<task>.jsonl, one row per line in the Hugging Face dataset's own
fields (the sources below). dir is the spec's data.evals_dir when set (~ expanded; the file must be
there: the app uploads laptop eval files to a content-addressed ~/.fractal-llm/evals/<hash>/);
otherwise $FRACTAL_AGENT_EVALS or <resources>/evals, and when the file is not there either, the
`datasets` package if it is installed (and has the data cached: GPU nodes are offline).
"""
import importlib.util
import json
import os
import random
import re
import string
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data as D
from .resources import resources_dir

TASKS = {  # task: (HF dataset, config, split)
    "hellaswag": ("Rowan/hellaswag", None, "validation"),
    "arc_challenge": ("allenai/ai2_arc", "ARC-Challenge", "test"),
    "piqa": ("ybisk/piqa", None, "validation"),
    "winogrande": ("allenai/winogrande", "winogrande_xl", "validation"),
}
# Generated multiple-choice tasks over the synthetic chat families (data.py), one per family: offline, so a map
# of the synthetic SFT data has accuracies to put beside the base model's with no benchmark download.
SYNTHETIC_TASKS = tuple(f"synthetic_{f}" for f in D.FAMILIES)
SYNTHETIC_DEFAULT_ITEMS = 100


def parse_eval(entry):
    """("task", n or None) of a data.evals entry "task[:n]"."""
    task, _, n = entry.partition(":")
    if task not in TASKS and task not in SYNTHETIC_TASKS:
        raise ValueError(f"data.evals: unknown task {task!r}; tasks: {', '.join(TASKS)}, {', '.join(SYNTHETIC_TASKS)}")
    if (entry.endswith(":") or n) and not (n and all(c in "0123456789" for c in n) and int(n) > 0):
        raise ValueError(f"data.evals: {entry!r}: the count after ':' must be a positive integer")
    return task, int(n) if n else None


# ----------------------------------------------------------------------------- documents

def _hellaswag_pre(text):
    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def to_item(task, row):
    """{"contexts": [str], "continuations": [str], "lengths": [int], "gold": int}: one (context,
    continuation) pair per choice; lengths are the choices' character counts (acc_norm)."""
    if task == "hellaswag":
        ctx = row["ctx_a"] + " " + row["ctx_b"].capitalize()
        query = _hellaswag_pre(row["activity_label"] + ": " + ctx)
        choices = [_hellaswag_pre(e) for e in row["endings"]]
        return _item([query] * len(choices), choices, int(row["label"]))
    if task == "arc_challenge":
        choices = list(row["choices"]["text"])
        return _item([f"Question: {row['question']}\nAnswer:"] * len(choices), choices,
                     list(row["choices"]["label"]).index(row["answerKey"]))
    if task == "piqa":
        return _item([f"Question: {row['goal']}\nAnswer:"] * 2, [row["sol1"], row["sol2"]], int(row["label"]))
    if task == "winogrande":
        blank = row["sentence"].index("_")
        contexts = [row["sentence"][:blank] + row["option1"], row["sentence"][:blank] + row["option2"]]
        target = row["sentence"][blank + 1:].strip()
        return {"contexts": contexts, "continuations": [" " + target] * 2, "lengths": [len(target)] * 2,
                "gold": {"1": 0, "2": 1}[str(row["answer"])]}
    raise ValueError(f"unknown task {task!r}")


def _item(contexts, choices, gold):
    if not 0 <= gold < len(choices):
        raise ValueError(f"gold answer {gold} out of range for {len(choices)} choices")
    return {"contexts": contexts, "continuations": [" " + c for c in choices], "lengths": [len(c) for c in choices],
            "gold": gold}


def _distractors(family, rng, prompt, answer):
    """Three wrong answers of the family's own form, near the right one (so the task tests the skill, not the
    format): other sums, the word reversed or sorted or with one letter changed, nearby counts."""
    word = prompt.partition(": ")[2]
    if family == "arithmetic":
        v = int(answer)
        pool = [str(v + d) for d in (1, -1, 10, -10, 100, 2)]
    elif family == "count":
        v = int(answer)
        pool = [str(v + d) for d in (1, -1, 2, 3) if v + d >= 0]
    else:
        changed = list(answer)
        i = rng.randrange(len(changed))
        changed[i] = "z" if changed[i].lower() != "z" else "y"
        changed = "".join(changed).upper() if family == "uppercase" else "".join(changed)
        pool = [word, word[::-1], "".join(sorted(word)), "".join(sorted(word, reverse=True)), answer[::-1],
                word.upper(), changed, answer[1:] + answer[:1]]
    out = []
    for c in pool:
        if c != answer and c not in out:
            out.append(c)
    while len(out) < 3:  # a word whose forms coincide (e.g. "aaa"): letters changed at more places
        c = "".join(rng.choice(string.ascii_lowercase) for _ in answer)
        if c != answer and c not in out:
            out.append(c)
    rng.shuffle(out)
    return out[:3]


def synthetic_items(task, n):
    """The first n items of a synthetic task: a prompt of the family (drawn from its own seed stream "mc/...",
    not the training data's), its right answer and three distractors in a seeded order. Each item is a chat: the
    context is the user turn as the model's tokenizer renders it, a choice is the assistant's reply with its stop
    token (so an answer that stops early or runs on scores lower)."""
    family = task[len("synthetic_"):]
    gen, items, seen, j = D.FAMILIES[family], [], set(), 0
    while len(items) < n:
        rng = random.Random(f"mc/{family}/{j}")
        j += 1
        prompt, answer = gen(rng)
        if prompt in seen:
            continue
        seen.add(prompt)
        choices = [answer] + _distractors(family, rng, prompt, answer)
        order = list(range(4))
        rng.shuffle(order)
        items.append({"chat": [{"role": "user", "content": prompt}], "choices": [choices[k] for k in order],
                      "lengths": [len(choices[k]) for k in order], "gold": order.index(0)})
    return items


def evals_dir():
    if os.environ.get("FRACTAL_AGENT_EVALS"):
        return Path(os.environ["FRACTAL_AGENT_EVALS"])
    return resources_dir() / "evals"


def load_items(entry, directory=None):
    """(task, items) for a data.evals entry; `directory` is the spec's data.evals_dir (None: the
    default lookup, see the module docstring)."""
    task, n = parse_eval(entry)
    if task in SYNTHETIC_TASKS:
        return task, synthetic_items(task, n or SYNTHETIC_DEFAULT_ITEMS)
    path = (Path(os.path.expanduser(directory)) if directory is not None else evals_dir()) / f"{task}.jsonl"
    if directory is not None and not path.is_file():
        raise FileNotFoundError(f"data.evals {entry!r}: no {path} (data.evals_dir is {directory!r}); "
                                f"put the {TASKS[task][0]} {TASKS[task][2]} split there as {task}.jsonl, "
                                f"or drop data.evals_dir to use the agent's default lookup")
    if path.is_file():
        rows = []
        with open(path, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
                if n is not None and len(rows) >= n:
                    break
    elif importlib.util.find_spec("datasets") is not None:
        import datasets  # optional dependency
        name, config, split = TASKS[task]
        ds = datasets.load_dataset(name, config, split=split)
        rows = [ds[i] for i in range(min(n or len(ds), len(ds)))]
    else:
        raise FileNotFoundError(f"data.evals {entry!r}: no {path} and the `datasets` package is not installed; "
                                f"export the {TASKS[task][0]} {TASKS[task][2]} split as JSONL there "
                                f"(or set FRACTAL_AGENT_EVALS to its directory)")
    if n is not None and len(rows) < n:
        raise ValueError(f"data.evals {entry!r}: only {len(rows)} rows available")
    items = []
    for i, row in enumerate(rows):
        try:
            items.append(to_item(task, row))
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"data.evals {entry!r}: row {i} is not in the {TASKS[task][0]} format ({e!r})") from None
    return task, items


# ----------------------------------------------------------------------------- scoring

def item_requests(tokenizer, item):
    """One (context ids, continuation ids) request per choice of an item: text pairs as the harness encodes them,
    a chat item as the tokenizer renders the conversation (the continuation: the reply's tokens after the prompt)."""
    if "chat" in item:
        ctx = tokenizer.prompt(item["chat"])
        out = []
        for c in item["choices"]:
            whole, _ = tokenizer.render({"messages": item["chat"] + [{"role": "assistant", "content": c}]})
            if whole[:len(ctx)] != ctx:
                raise ValueError(f"tokenizer {tokenizer.name}: a rendered reply does not start with its prompt")
            out.append((ctx, whole[len(ctx):]))
        return out
    return [encode_pair(tokenizer, c, k) for c, k in zip(item["contexts"], item["continuations"])]


def encode_pair(tokenizer, context, continuation):
    """(context ids, continuation ids) as the harness's _encode_pair, with the tokenizer's prefix."""
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = tokenizer.encode(context + continuation)
    ctx = tokenizer.encode(context)
    cont = whole[len(ctx):]
    ctx = list(tokenizer.prefix) + ctx
    return (ctx or [tokenizer.stop_id]), cont


@torch.no_grad()
def loglikelihoods(model, requests, batch_size=16, device="cpu", autocast=None):
    """(K, R) float64 summed log-probabilities of each request's continuation ids given its context ids,
    for each of the model's K replicas."""
    K, block = model.K, model.cfg.block_size
    out = np.zeros((K, len(requests)))
    for start in range(0, len(requests), batch_size):
        chunk = requests[start:start + batch_size]
        seqs = [(ctx + cont)[-(block + 1):] for ctx, cont in chunk]
        T = max(len(s) for s in seqs) - 1
        x = torch.zeros(len(seqs), T, dtype=torch.int64)
        for b, s in enumerate(seqs):
            x[b, :len(s) - 1] = torch.tensor(s[:-1])  # right padding: causal attention never sees it
        x = x.to(device)
        if autocast is None:
            logits = model(x.unsqueeze(0).expand(K, -1, -1))
        else:
            with autocast():
                logits = model(x.unsqueeze(0).expand(K, -1, -1))
        logp = F.log_softmax(logits.float() if logits.dtype != torch.float64 else logits, dim=-1)
        for b, ((ctx, cont), s) in enumerate(zip(chunk, seqs)):
            n = len(cont)
            pos = torch.arange(len(s) - 1 - n, len(s) - 1, device=device)
            tgt = torch.tensor(s[-n:], device=device)
            out[:, start + b] = logp[:, b, pos, tgt].double().sum(-1).cpu().numpy()
    return out


def accuracy(ll, items):
    """(acc, acc_norm), each (K,), from (K, R) log-likelihoods laid out item by item, choice by choice."""
    K = ll.shape[0]
    acc, acc_norm, r = np.zeros(K), np.zeros(K), 0
    for it in items:
        n = len(it["lengths"])
        block = ll[:, r:r + n]
        acc += np.argmax(block, axis=1) == it["gold"]
        acc_norm += np.argmax(block / np.asarray(it["lengths"], dtype=np.float64), axis=1) == it["gold"]
        r += n
    return acc / len(items), acc_norm / len(items)


def evaluate(model, tokenizer, entries, batch_size=16, device="cpu", autocast=None, items_by_task=None):
    """{task: {"acc": (K,), "acc_norm": (K,), "n": items}} for data.evals entries."""
    results = {}
    for entry in entries:
        task, items = items_by_task[entry] if items_by_task else load_items(entry)
        reqs = [r for it in items for r in item_requests(tokenizer, it)]
        acc, acc_norm = accuracy(loglikelihoods(model, reqs, batch_size, device, autocast), items)
        results[task] = {"acc": acc, "acc_norm": acc_norm, "n": len(items)}
    return results


def eval_flops(model_cfg, tokenizer, items_by_task):
    """Forward FLOPs of scoring these items (a third of the training FLOPs per token, at the mean
    request length), for the cell's FLOP count."""
    lengths = [len(c) + len(k) for _, items in items_by_task.values() for it in items for c, k in item_requests(tokenizer, it)]
    if not lengths:
        return 0.0
    mean = min(model_cfg.block_size, round(sum(lengths) / len(lengths)))
    return model_cfg.flops_per_token(mean) / 3 * sum(lengths)
