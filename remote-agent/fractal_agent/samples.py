"""Samples for the inspector: re-run one cell of a sweep and answer a few prompts with the base and
the fine-tuned model, greedily (argmax at every step), so the same cell always gives the same text.

Each prompt is a user message rendered with the checkpoint's chat template (tokenizers.py) up to
the assistant opener. Without prompts of its own the caller gets the sweep's first held-out
conversations (data.heldout, never trained on): their first user turn as the prompt, their first
assistant turn as the reference answer. Generation stops at the template's end-of-reply token, after
max_new_tokens, or when the context would exceed block_size (the window slides: the oldest
tokens drop). No KV cache: every step is a full forward, which is fine for a few short answers.
"""
import numpy as np
import torch

from . import data as D
from . import sft
from .spec import cell_hparams


@torch.no_grad()
def greedy(model, tokenizer, prompt_ids, max_new_tokens, device="cpu", replica=0):
    """Token ids generated greedily after prompt_ids by replica `replica` (end token excluded)."""
    K, block = model.K, model.cfg.block_size
    ids = list(prompt_ids)
    out = []
    for _ in range(max_new_tokens):
        x = torch.tensor(ids[-block:], dtype=torch.int64, device=device)
        logits = model(x.expand(K, 1, -1))[replica, 0, -1]
        nxt = int(torch.argmax(logits.float()))
        if nxt == tokenizer.stop_id:
            break
        out.append(nxt)
        ids.append(nxt)
    return out


def heldout_prompts(spec, n):
    """(prompt, reference) pairs from the first n held-out conversations of a validated gpt spec: the
    first user turn (a leading system message joined to it, as rendering does) and the first reply."""
    data = spec["data"]
    if data["heldout"] == 0:
        raise ValueError("the sweep holds out no conversations (data.heldout is 0): give prompts of your own")
    _, held = sft._split(data["dataset"], 0, min(n, data["heldout"]), spec["model"]["seed"])
    pairs = []
    return [(msgs[0]["content"], msgs[1]["content"]) for msgs in (D.merge_system(c["messages"]) for c in held)]


def cell_samples(spec, cell, prompts=None, device="cpu", max_new_tokens=64, heldout=3):
    """Re-train cell `cell` of a validated gpt spec alone and answer `prompts` (strings; None: the
    first `heldout` held-out conversations) with the base model and the fine-tuned one. Returns
    {"cell", "hparams", "final_loss", "max_new_tokens", "samples": [{"prompt", "reference", "base",
    "tuned"}]} (reference: the held-out reply, null for a prompt of the caller's); final_loss is the
    re-run's last training loss, the same as the sweep's (runs are deterministic), so the caller can
    check it reproduced the cell."""
    pairs = heldout_prompts(spec, heldout) if prompts is None else [(p, None) for p in prompts]
    hp = cell_hparams(spec, cell)
    run = sft.train_population(spec, [hp], device, keep_model=True)
    tuned, tok = run["model"], run["tokenizer"]
    dtype = next(tuned.parameters()).dtype
    base, _ = sft.build(spec["model"], 1, device, dtype)
    tuned.eval()
    samples = []
    for prompt, reference in pairs:
        ids = tok.prompt([{"role": "user", "content": prompt}])
        samples.append({"prompt": prompt, "reference": reference,
                        "base": tok.decode(greedy(base, tok, ids, max_new_tokens, device)),
                        "tuned": tok.decode(greedy(tuned, tok, ids, max_new_tokens, device))})
    return {"cell": int(cell), "hparams": hp, "final_loss": float(np.asarray(run["losses"])[0, -1]),
            "max_new_tokens": max_new_tokens, "samples": samples}
