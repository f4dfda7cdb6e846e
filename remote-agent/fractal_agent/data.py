"""Chat data for SFT: byte tokenizer, synthetic task families, SmolTalk-style JSONL, rendering, packing.

Tokenizer: the 256 byte values plus three special tokens, vocab 259:
    <|user|> = 256, <|assistant|> = 257, <|end|> = 258.
A conversation renders as
    <|user|> text <|end|> <|assistant|> text <|end|> <|user|> ...
and the loss mask marks the tokens the model must learn to produce: the bytes of every assistant
reply and the <|end|> that closes it (not the <|assistant|> marker, which the prompt supplies).
There is no separate <|bos|>: when conversations are packed back to back, the <|end|> closing one
conversation followed by the next <|user|> is the document boundary.

Datasets (spec data.dataset / data.ood):
    synthetic[:fam1,fam2]  deterministic generated chats, families listed in FAMILIES (default all)
    jsonl:<path>           one {"messages": [{"role": "user"|"assistant"|"system", "content": str}]} per line
                           (a leading ~ is expanded)
    smoltalk[:subset]      HuggingFaceTB/smoltalk through the `datasets` package (if installed)
    smol-smoltalk          HuggingFaceTB/smol-smoltalk (SmolTalk filtered for small models), the same way
Every dataset is an ordered stream of conversations. The held-out split is the first `heldout`
conversations of the stream and the training set the next `size`, so a smaller training set is an
exact prefix of a larger one and never overlaps the held-out split. Synthetic streams contain no
duplicate conversations.
"""
import importlib.util
import json
import os
import random

import torch

# ----------------------------------------------------------------------------- tokenizer

USER, ASSISTANT, END = 256, 257, 258
SPECIAL_TOKENS = {"<|user|>": USER, "<|assistant|>": ASSISTANT, "<|end|>": END}
VOCAB_SIZE = 259


def encode(text):
    """UTF-8 bytes of `text` as token ids (special-token spellings in text stay plain bytes)."""
    return list(text.encode("utf-8"))


def decode(ids):
    """Token ids back to text; special tokens print as their names, invalid UTF-8 as U+FFFD."""
    names = {v: k for k, v in SPECIAL_TOKENS.items()}
    out, buf = [], bytearray()
    for i in ids:
        i = int(i)
        if i < 256:
            buf.append(i)
            continue
        if i not in names:
            raise ValueError(f"token id {i} is outside the byte tokenizer's vocab of {VOCAB_SIZE}")
        out.append(buf.decode("utf-8", errors="replace"))
        buf = bytearray()
        out.append(names[i])
    out.append(buf.decode("utf-8", errors="replace"))
    return "".join(out)


def tokenizer_json():
    """The tokenizer description saved next to a checkpoint (tokenizer.json)."""
    return {"type": "byte", "vocab_size": VOCAB_SIZE, "bytes": 256, "special_tokens": SPECIAL_TOKENS,
            "template": "<|user|>{user}<|end|><|assistant|>{assistant}<|end|> per turn; loss on assistant bytes + <|end|>"}


# ----------------------------------------------------------------------------- rendering

def check_conversation(conv, where):
    """Raise ValueError (naming `where`) unless conv is {"messages": [...]} with alternating
    user/assistant turns (an optional leading system message) ending in an assistant turn."""
    if not isinstance(conv, dict) or not isinstance(conv.get("messages"), list) or not conv["messages"]:
        raise ValueError(f"{where}: expected an object {{\"messages\": [{{\"role\": ..., \"content\": ...}}, ...]}}")
    msgs = conv["messages"]
    for j, m in enumerate(msgs):
        if not isinstance(m, dict) or not isinstance(m.get("content"), str) or m.get("role") not in ("system", "user", "assistant"):
            raise ValueError(f"{where}: messages[{j}] must be {{\"role\": \"system\"|\"user\"|\"assistant\", \"content\": str}}")
    turns = msgs[1:] if msgs[0]["role"] == "system" else msgs
    for j, m in enumerate(turns):
        want = "user" if j % 2 == 0 else "assistant"
        if m["role"] != want:
            raise ValueError(f"{where}: turns must alternate user, assistant, ...; turn {j} is {m['role']!r}, expected {want!r}")
    if not turns or turns[-1]["role"] != "assistant":
        raise ValueError(f"{where}: the conversation must end with an assistant turn (nothing to learn otherwise)")


def merge_system(msgs):
    """The messages with a leading system message joined to the first user turn (as nanochat does)."""
    msgs = list(msgs)
    if msgs and msgs[0]["role"] == "system":
        msgs = [{"role": "user", "content": msgs[0]["content"] + "\n\n" + msgs[1]["content"]}] + msgs[2:]
    return msgs


def render(conv):
    """(ids, mask): token ids of one conversation and a same-length 0/1 list, 1 where the token is
    one the model is trained to predict (assistant reply bytes and their closing <|end|>).
    A system message is prepended to the first user message, as nanochat does."""
    msgs = merge_system(conv["messages"])
    ids, mask = [], []
    for m in msgs:
        body = encode(m["content"]) + [END]
        if m["role"] == "user":
            ids += [USER] + body
            mask += [0] * (1 + len(body))
        else:
            ids += [ASSISTANT] + body
            mask += [0] + [1] * len(body)
    return ids, mask


def pack(convs, seq_len, tokenizer=None):
    """Pack rendered conversations back to back into rows for next-token training.

    tokenizer: any tokenizer of tokenizers.py (its render() and pad_id); default this module's
    byte tokenizer.

    Returns (tokens, mask), both (P, seq_len + 1): inputs are tokens[:, :-1], targets tokens[:, 1:]
    and the loss mask for those targets is mask[:, 1:]. The mask travels token by token with the
    stream, so slicing the stream into rows keeps every token's mask; consecutive rows overlap by
    one token (row r is stream[r*seq_len : r*seq_len + seq_len + 1]) so each stream token is a
    target exactly once, and the tail is padded with <|end|> at mask 0. Attention may cross a
    conversation boundary inside a row (as in nanoGPT); the boundary is <|end|><|user|>."""
    render_, pad = (render, END) if tokenizer is None else (tokenizer.render, tokenizer.pad_id)
    ids, mask = [], []
    for c in convs:
        i, m = render_(c)
        ids += i
        mask += m
    if len(ids) < 2:
        raise ValueError("pack: need at least one conversation")
    rows = -(-(len(ids) - 1) // seq_len)  # ceil
    total = rows * seq_len + 1
    ids += [pad] * (total - len(ids))
    mask += [0] * (total - len(mask))
    ids_t = torch.tensor(ids, dtype=torch.int64)
    mask_t = torch.tensor(mask, dtype=torch.bool)
    starts = torch.arange(rows) * seq_len
    index = starts[:, None] + torch.arange(seq_len + 1)[None, :]
    return ids_t[index], mask_t[index]


# ----------------------------------------------------------------------------- synthetic families

_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _word(rng, lo, hi, alphabet=_LETTERS):
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def _arithmetic(rng):
    a, b = rng.randint(0, 999), rng.randint(0, 999)
    if rng.random() < 0.5:
        return f"{a}+{b}=", str(a + b)
    return f"{a}-{b}=", str(a - b)


def _reverse(rng):
    w = _word(rng, 3, 12)
    return f"reverse: {w}", w[::-1]


def _copy(rng):
    w = _word(rng, 3, 12)
    return f"copy: {w}", w


def _sort(rng):
    w = _word(rng, 3, 12)
    return f"sort: {w}", "".join(sorted(w))


def _uppercase(rng):
    w = _word(rng, 3, 12)
    return f"uppercase: {w}", w.upper()


def _count(rng):
    w = _word(rng, 5, 16, "abcde")
    c = rng.choice("abcde")
    return f"count {c}: {w}", str(w.count(c))


FAMILIES = {"arithmetic": _arithmetic, "reverse": _reverse, "copy": _copy, "sort": _sort,
            "uppercase": _uppercase, "count": _count}


def synthetic_family(name, n, seed=0):
    """The first n conversations of family `name`'s stream: example j is drawn from a generator
    seeded by (seed, name, j); duplicates of earlier examples are skipped, so the stream is
    duplicate-free and its prefixes are stable."""
    gen = FAMILIES[name]
    out, seen, j = [], set(), 0
    while len(out) < n:
        user, assistant = gen(random.Random(f"{seed}/{name}/{j}"))
        j += 1
        if user in seen:
            continue
        seen.add(user)
        out.append({"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]})
        if j > 100 * (n + 100):
            raise RuntimeError(f"synthetic family {name}: too many duplicates drawing {n} examples")
    return out


def synthetic(families, n, seed=0):
    """First n conversations of the interleaved stream: example i is family families[i % F]'s
    (i // F)-th example. Families are disjoint (each has its own prompt form)."""
    F_ = len(families)
    per = {f: synthetic_family(f, -(-(n - k) // F_) if n > k else 0, seed) for k, f in enumerate(families)}
    return [per[families[i % F_]][i // F_] for i in range(n)]


# ----------------------------------------------------------------------------- dataset specs

def parse_families(dataset):
    """Family names of a synthetic[:a,b] spec string (all families when none are listed)."""
    _, _, rest = dataset.partition(":")
    if not rest:
        return list(FAMILIES)
    fams = [f.strip() for f in rest.split(",") if f.strip()]
    for f in fams:
        if f not in FAMILIES:
            raise ValueError(f"dataset {dataset!r}: unknown synthetic family {f!r}; families: {', '.join(FAMILIES)}")
    if len(set(fams)) != len(fams):
        raise ValueError(f"dataset {dataset!r}: a family is listed twice")
    return fams


def read_jsonl(path):
    """Conversations of a SmolTalk-style JSONL file (blank lines skipped); errors name path:line.
    A leading ~ is the agent's home: the app uploads laptop files to ~/.fractal-llm/data/ on a node."""
    path = os.path.expanduser(path)
    out = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
            check_conversation(row, f"{path}:{lineno}")
            out.append({"messages": row["messages"]})
    return out


def write_jsonl(path, convs):
    with open(path, "w", encoding="utf-8") as f:
        for c in convs:
            f.write(json.dumps({"messages": c["messages"]}, ensure_ascii=False) + "\n")


def _smoltalk(subset, n, repo="HuggingFaceTB/smoltalk"):
    if importlib.util.find_spec("datasets") is None:
        raise RuntimeError(
            f"dataset {repo} needs the Hugging Face `datasets` package (with the dataset in its local "
            "cache, since GPU nodes have no internet), which is not installed here. Install it, or "
            "export the rows to a SmolTalk-style file and use data.dataset = \"jsonl:<path>\".")
    import datasets  # optional dependency, only for this dataset
    ds = datasets.load_dataset(repo, subset or "all", split="train") if repo.endswith("/smoltalk") \
        else datasets.load_dataset(repo, split="train")
    out = []
    for i in range(min(n, len(ds))):
        row = {"messages": [{"role": m["role"], "content": m["content"]} for m in ds[i]["messages"]]}
        check_conversation(row, f"smoltalk row {i}")
        out.append(row)
    return out


def load_stream(dataset, n, seed=0):
    """The first n conversations of a dataset spec string (error if it has fewer)."""
    kind, _, arg = dataset.partition(":")
    if kind == "synthetic":
        return synthetic(parse_families(dataset), n, seed)
    if kind == "jsonl":
        if not arg:
            raise ValueError("dataset jsonl needs a path: jsonl:<path>")
        rows = read_jsonl(arg)
    elif kind == "smoltalk":
        rows = _smoltalk(arg, n)
    elif kind == "smol-smoltalk":
        if arg:
            raise ValueError(f"dataset {dataset!r}: smol-smoltalk has no subsets")
        rows = _smoltalk(None, n, "HuggingFaceTB/smol-smoltalk")
    else:
        raise ValueError(f"dataset {dataset!r}: must be synthetic[:families], smoltalk[:subset], smol-smoltalk or jsonl:<path>")
    if len(rows) < n:
        raise ValueError(f"dataset {dataset!r} has {len(rows)} conversations, the sweep needs {n} "
                         f"(data.heldout + the largest dataset_size)")
    return rows[:n]


def load_split(dataset, size, heldout, seed=0):
    """(train, heldout) conversation lists: the stream's first `heldout` conversations are held out,
    the next `size` are the training set."""
    rows = load_stream(dataset, heldout + size, seed)
    return rows[heldout:], rows[:heldout]


def check_ood(dataset, ood):
    """An OOD set must not share synthetic families with the training set."""
    if ood is None or not (dataset.startswith("synthetic") and ood.startswith("synthetic")):
        return
    shared = set(parse_families(dataset)) & set(parse_families(ood))
    if shared:
        raise ValueError(f"data.ood {ood!r} shares families {sorted(shared)} with data.dataset {dataset!r}; "
                         f"list the training families explicitly, e.g. synthetic:"
                         + ",".join(f for f in parse_families(dataset) if f not in shared))
