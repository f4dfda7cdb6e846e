"""Pretrains the tiny base GPT shipped in resources/tiny-gpt/ (`python -m fractal_agent pretrain`).

Corpus: every *.txt file in the corpus directory (plain English prose, split into paragraphs at blank
lines) and every *.jsonl file (SmolTalk-style chats, rendered with the chat template of data.py),
shuffled by document with the seed and concatenated into one byte-token stream. The last 5% of the
stream is held out. Training is next-token prediction on every token (a base model: it learns
bytes, words and the chat format, not the synthetic SFT tasks, so SFT from it has work to do).
The model trains as a population of K = 1 with the same AdamW, clipping and schedule code as SFT.
"""
import argparse
import json
import random
import sys
import time
from pathlib import Path

import torch

from . import data as D
from .gpt import GPT, GPTConfig, masked_loss
from .optim import PopulationAdamW, clip_grads, lr_schedule
from .resources import resources_dir, save_checkpoint

HELDOUT_FRACTION = 0.05


def corpus_stream(corpus_dir, seed):
    """(train, heldout) int64 token streams of a corpus directory."""
    corpus_dir = Path(corpus_dir)
    docs = []
    for path in sorted(corpus_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        docs += [D.encode(p.strip() + "\n\n") for p in text.split("\n\n") if p.strip()]
    for path in sorted(corpus_dir.glob("*.jsonl")):
        docs += [D.render(c)[0] for c in D.read_jsonl(path)]
    if not docs:
        raise FileNotFoundError(f"corpus directory {corpus_dir} has no *.txt or *.jsonl files")
    random.Random(seed).shuffle(docs)
    stream = torch.tensor([t for d in docs for t in d], dtype=torch.int64)
    cut = int(len(stream) * (1 - HELDOUT_FRACTION))
    return stream[:cut], stream[cut:]


def random_windows(stream, batch_size, seq_len, g):
    starts = torch.randint(0, len(stream) - seq_len - 1, (batch_size,), generator=g)
    rows = stream[starts[:, None] + torch.arange(seq_len + 1)[None, :]]
    return rows[:, :-1], rows[:, 1:]


@torch.no_grad()
def heldout_loss(model, stream, seq_len):
    """Mean next-token loss over the held-out stream cut into consecutive windows."""
    n = (len(stream) - 1) // seq_len
    x = stream[:n * seq_len].view(n, seq_len)
    y = stream[1:n * seq_len + 1].view(n, seq_len)
    losses = [masked_loss(model(x[i:i + 32].unsqueeze(0)), y[i:i + 32], torch.ones_like(y[i:i + 32], dtype=torch.bool))
              for i in range(0, n, 32)]
    weights = [min(32, n - i) for i in range(0, n, 32)]
    return float(sum(l[0] * w for l, w in zip(losses, weights)) / n)


def pretrain(out, steps=800, seed=0, batch_size=16, seq_len=64, lr=3e-3, warmup=0.05, weight_decay=0.1,
             corpus=None, cfg=None, log_every=50, log=sys.stderr):
    """Train a tiny GPT from seeded init on the corpus and save it to `out`; returns the meta dict."""
    corpus = Path(corpus) if corpus else resources_dir() / "corpus"
    cfg = cfg or GPTConfig(n_layer=2, n_head=4, n_embd=64, block_size=128, vocab_size=D.VOCAB_SIZE)
    if seq_len > cfg.block_size:
        raise ValueError(f"--seq-len {seq_len} exceeds --block-size {cfg.block_size}")
    torch.manual_seed(seed)
    train, held = corpus_stream(corpus, seed)
    model = GPT(cfg, K=1).init_weights(seed)
    params = list(model.parameters())
    opt = PopulationAdamW(model.param_groups(), (0.9, 0.95))
    sched = torch.from_numpy(lr_schedule("cosine", steps, [warmup]))[0].float() * lr
    wd = torch.tensor([weight_decay])
    g = torch.Generator().manual_seed(seed + 1)
    initial = heldout_loss(model, held, seq_len)
    curve, t0 = [], time.time()
    for t in range(steps):
        x, y = random_windows(train, batch_size, seq_len, g)
        loss = masked_loss(model(x.unsqueeze(0)), y, torch.ones_like(y, dtype=torch.bool))
        for p in params:
            p.grad = None
        loss.sum().backward()
        clip_grads(params, 1.0)
        opt.step({grp: sched[t:t + 1] for grp in opt.groups}, wd)
        if t % log_every == 0 or t == steps - 1:
            curve.append([t, float(loss[0])])
            print(f"pretrain step {t}/{steps} loss {float(loss[0]):.4f} ({time.time() - t0:.0f}s)", file=log)
    final = heldout_loss(model, held, seq_len)
    meta = {"steps": steps, "seed": seed, "batch_size": batch_size, "seq_len": seq_len, "lr": lr,
            "schedule": "cosine", "warmup": warmup, "weight_decay": weight_decay, "grad_clip": 1.0,
            "optimizer": "adamw", "betas": [0.9, 0.95], "params": cfg.num_params(),
            "corpus": sorted(p.name for p in corpus.iterdir() if p.suffix in (".txt", ".jsonl")),
            "train_tokens": len(train), "heldout_tokens": len(held),
            "heldout_loss_initial": initial, "heldout_loss_final": final, "train_loss_curve": curve,
            "seconds": round(time.time() - t0, 1), "torch": torch.__version__}
    save_checkpoint(out, cfg, model.single_state_dict(0), meta)
    print(f"pretrain: held-out loss {initial:.4f} -> {final:.4f}; saved {out}", file=log)
    return meta


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m fractal_agent pretrain",
                                 description="Pretrain the tiny byte-level GPT on resources/corpus and save a checkpoint.")
    ap.add_argument("--out", default=str(resources_dir() / "tiny-gpt"), help="checkpoint directory to write")
    ap.add_argument("--corpus", default=None, help="directory of *.txt and *.jsonl files (default resources/corpus)")
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--seq-len", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=64)
    ap.add_argument("--block-size", type=int, default=128)
    args = ap.parse_args(argv)
    if args.steps < 1:
        ap.error("--steps must be >= 1")
    cfg = GPTConfig(n_layer=args.n_layer, n_head=args.n_head, n_embd=args.n_embd, block_size=args.block_size,
                    vocab_size=D.VOCAB_SIZE)
    meta = pretrain(args.out, steps=args.steps, seed=args.seed, batch_size=args.batch_size, seq_len=args.seq_len,
                    lr=args.lr, corpus=args.corpus, cfg=cfg)
    print(json.dumps({"out": args.out, "heldout_loss_initial": meta["heldout_loss_initial"],
                      "heldout_loss_final": meta["heldout_loss_final"], "steps": meta["steps"]}))
    return 0
