"""Trainer benchmarks: each prints its figures (DESIGN.md: timings are printed, never asserted).

    cd remote-agent && /usr/bin/python3 bench.py [--only NAME] [--list] [options]

Benchmarks are named functions in BENCHMARKS, run in order; add a section by decorating a function
with @benchmark("name"). Each takes the parsed arguments and prints its own lines.
"""
import argparse
import multiprocessing as mp
import os
import platform
import time

import numpy as np
import torch

from fractal_agent import mlp
from fractal_agent.spec import GPT_CONFIG_KEYS, cell_count, cell_hparams, validate
from fractal_agent.trainer import run_cells

BENCHMARKS = {}


def benchmark(name):
    def register(fn):
        BENCHMARKS[name] = fn
        return fn
    return register


def paper_mlp_frame(points, steps, width, lr_range=(-1.0, 3.0)):
    """The paper's tanh MLP, full-batch GD, lr.input x lr.output on a log grid straddling the boundary."""
    axis = {"scale": "log", "range": list(lr_range), "points": points}
    return validate({
        "version": 1, "name": f"bench {points}^2 paper MLP",
        "model": {"family": "mlp", "width": width, "activation": "tanh", "seed": 0},
        "train": {"optimizer": "gd", "steps": steps, "precision": "float64"},
        "axes": {"x": {"param": "lr.input", **axis}, "y": {"param": "lr.output", **axis}},
        "criterion": {"window": 20, "threshold": 1.0},
        "record": {"curves": False},
    })


def _cpu_worker(job):
    spec, cells = job
    torch.set_num_threads(1)  # one process per core beats intra-op threads on these small tensors
    rows = run_cells(spec, cells, "cpu")
    return rows["trainable"].sum(), rows["flops"].sum()


def _report(label, cells, seconds, flops, trainable):
    print(f"  {label}: {cells} cells in {seconds:.1f} s = {cells / seconds:,.0f} cells/s, "
          f"{flops / seconds / 1e9:.1f} GFLOP/s (analytic), {trainable / cells:.1%} trainable", flush=True)


@benchmark("mlp-cpu")
def bench_mlp_cpu(args):
    """A 256^2 paper-MLP frame (width 8, 200 steps) on CPU, one worker process per core."""
    spec = paper_mlp_frame(256, 200, 8)
    cells = np.arange(cell_count(spec), dtype=np.int64)
    if args.cpu_cells:  # an evenly strided sample of the frame, for a quick look
        cells = cells[:: max(1, len(cells) // args.cpu_cells)][: args.cpu_cells]
    workers = args.workers or os.cpu_count()
    size = mlp.chunk_size(spec, "cpu")
    jobs = [(spec, cells[i:i + size]) for i in range(0, len(cells), size)]
    print(f"mlp-cpu: 256^2 paper MLP frame (width 8, N = {mlp.data_size(spec['model'])}, 200 steps, float64), "
          f"{len(cells)} cells, {workers} worker process(es), populations of {size}; "
          f"{platform.processor() or platform.machine()}, torch {torch.__version__}, load {os.getloadavg()[0]:.1f}")
    t0 = time.perf_counter()
    if workers == 1:
        results = [_cpu_worker(j) for j in jobs]
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            results = pool.map(_cpu_worker, jobs, chunksize=1)
    seconds = time.perf_counter() - t0
    trainable, flops = (sum(r[i] for r in results) for i in (0, 1))
    _report("frame", len(cells), seconds, flops, trainable)
    if len(cells) < cell_count(spec):
        print(f"  projected full 256^2 frame: {cell_count(spec) / (len(cells) / seconds):.0f} s")


@benchmark("mlp-cuda")
def bench_mlp_cuda(args):
    """A 4096^2 paper-MLP frame x 1000 steps in float64 on one GPU (target <= 3 minutes on an H100)."""
    if not torch.cuda.is_available():
        print("mlp-cuda: skipped (torch sees no CUDA device)")
        return
    spec = paper_mlp_frame(4096, 1000, args.width)
    total = cell_count(spec)
    size = mlp.chunk_size(spec, "cuda")
    print(f"mlp-cuda: 4096^2 paper MLP frame (width {args.width}, 1000 steps, float64) on "
          f"{torch.cuda.get_device_name()}, torch {torch.__version__}, populations of {size}")
    run_cells(spec, np.arange(min(size, 1024), dtype=np.int64), "cuda")  # warm-up: CUDA context, kernels
    torch.cuda.synchronize()
    done, trainable, flops = 0, 0, 0.0
    t0 = time.perf_counter()
    while done < total:
        cells = np.arange(done, min(total, done + size), dtype=np.int64)
        rows = run_cells(spec, cells, "cuda")
        done += len(cells)
        trainable += int(rows["trainable"].sum())
        flops += float(rows["flops"].sum())
        seconds = time.perf_counter() - t0
        print(f"  {done}/{total} cells, {seconds:.1f} s, projected frame {total * seconds / done:.0f} s", flush=True)
        if args.max_seconds and seconds > args.max_seconds:
            break
    _report("frame" if done == total else "partial frame", done, time.perf_counter() - t0, flops, trainable)
    if done < total:
        print(f"  projected full 4096^2 x 1000-step frame: {total * (time.perf_counter() - t0) / done:.0f} s")
    else:
        print(f"  4096^2 x 1000-step frame: {time.perf_counter() - t0:.0f} s (target <= 180 s)")


def _report_sft(label, r):
    mfu = f"{r['mfu']:.1%} MFU" if r["mfu"] is not None else "MFU n/a (no known peak for this device)"
    print(f"  {label}: {r['cells']} cells x {r['params']:,} params, batch {r['batch_size']} x {r['seq_len']} tokens, "
          f"{r['precision']}: {r['step_s'] * 1e3:.0f} ms/step, {r['tokens_per_s']:,.0f} tokens/s, "
          f"{r['model_flops_per_s'] / 1e9:,.1f} GFLOP/s, {mfu}", flush=True)


@benchmark("gpt-cpu")
def bench_gpt_cpu(args):
    """Tiny-GPT SFT cells on CPU: a population of 8 replicas of the ~140K-parameter model, AdamW."""
    from fractal_agent.sft import bench_sft
    torch.set_num_threads(os.cpu_count())
    print(f"gpt-cpu: tiny GPT population SFT on {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f}")
    for cells in (1, 8):
        _report_sft(f"K={cells}", bench_sft("cpu", "tiny", cells=cells, batch_size=8, seq_len=128))


@benchmark("gpt-cuda")
def bench_gpt_cuda(args):
    """GPT-2-124M-shape SFT cells in bf16 on one GPU (target >= 45% MFU)."""
    if not torch.cuda.is_available():
        print("gpt-cuda: skipped (torch sees no CUDA device)")
        return
    from fractal_agent.sft import bench_sft
    print(f"gpt-cuda: GPT-2-124M-shape population SFT on {torch.cuda.get_device_name()}, torch {torch.__version__}")
    for cells in (1, 4, 8):
        _report_sft(f"K={cells}", bench_sft("cuda", "gpt2-124m", cells=cells, batch_size=8, seq_len=128))


def sft_cells_spec(shape, cells, tokens, seq_len=128, batch_size=8, precision="bf16", evals=()):
    """A validated SFT sweep of `cells` LRs at one training-token budget: a scratch model of
    gpt.PRESETS[shape] on synthetic chat data, with 64 held-out and 64 OOD conversations and the
    multiple-choice `evals` ("task:n") scored after training, as a real LR x tokens sweep runs them."""
    from fractal_agent.gpt import PRESETS
    cfg = PRESETS[shape]
    u = float(np.log10(tokens))
    return validate({
        "version": 1, "name": f"bench {shape} {tokens} tokens",
        "model": {"family": "gpt", "checkpoint": "scratch", "trainable": "all",
                  "config": {k: getattr(cfg, k) for k in GPT_CONFIG_KEYS}},
        "data": {"dataset": "synthetic:arithmetic,copy,reverse", "size": 1024, "seq_len": min(seq_len, cfg.block_size),
                 "heldout": 64, "ood": "synthetic:sort", "evals": list(evals)},
        "train": {"optimizer": "adamw", "batch_size": batch_size, "schedule": "cosine", "warmup": 0.02,
                  "weight_decay": 0.1, "grad_clip": 1.0, "precision": precision},
        "axes": {"x": {"param": "lr", "scale": "log", "range": [-5, -3], "points": cells},
                 "y": {"param": "tokens", "scale": "log", "range": [u - 1e-3, u + 1e-3], "points": 1}},
        "criterion": {"window": 1},
    })


def _eval_entries(n=200):
    """The multiple-choice tasks whose JSONL is in $FRACTAL_AGENT_EVALS (the first n items of each)."""
    from fractal_agent import evals as E
    d = os.environ.get("FRACTAL_AGENT_EVALS")
    return [f"{t}:{n}" for t in E.TASKS if d and os.path.isfile(os.path.join(d, f"{t}.jsonl"))]


@benchmark("gpt-cells")
def bench_gpt_cells(args):
    """Whole SFT cells (train + held-out, OOD and multiple-choice evaluation) at 1K, 10K and 100K training
    tokens, seq_len 128: cells per hour and MFU counting evaluation FLOPs. GPT-2-124M shape in bf16 on a
    GPU; the tiny shape in float32 on CPU (there to check the script; its MFU has no peak)."""
    from fractal_agent.sft import PEAK_BF16
    cuda = torch.cuda.is_available()
    device, shape, precision = ("cuda", "gpt2-124m", "bf16") if cuda else ("cpu", "tiny", "float32")
    peak = next((v for k, v in PEAK_BF16.items() if k in torch.cuda.get_device_name()), None) if cuda else None
    evals = _eval_entries()
    print(f"gpt-cells: {shape} SFT cells on {torch.cuda.get_device_name() if cuda else platform.processor() or 'cpu'}, "
          f"torch {torch.__version__}, {args.cells} cells per population, evals: {', '.join(evals) or 'none ($FRACTAL_AGENT_EVALS has no task files)'}",
          flush=True)
    for tokens in (1_000, 10_000, 100_000):
        spec = sft_cells_spec(shape, args.cells, tokens, precision=precision, evals=evals)
        cells = np.arange(cell_count(spec))
        run_cells(spec, cells[:1], device)  # warm-up: CUDA context, kernels, data caches
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        rows = run_cells(spec, cells, device)
        if cuda:
            torch.cuda.synchronize()
        wall = time.perf_counter() - t0
        flops = float(rows["flops"].sum())
        mfu = f"{flops / wall / peak:.1%} MFU" if peak else "MFU n/a (no known peak for this device)"
        print(f"  {tokens:>7,} tokens: {len(cells)} cells in {wall:.2f} s = {len(cells) / wall * 3600:,.0f} cells/h, "
              f"{flops / wall / 1e9:,.1f} GFLOP/s incl. evaluation, {mfu}", flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run only this benchmark (repeatable)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--workers", type=int, default=None, help="mlp-cpu: worker processes (default: one per core)")
    p.add_argument("--cpu-cells", type=int, default=None, help="mlp-cpu: time an evenly strided sample of this many cells")
    p.add_argument("--width", type=int, default=8, help="mlp-cuda: MLP width (8 as the CPU frame; the paper uses 16)")
    p.add_argument("--max-seconds", type=float, default=None, help="mlp-cuda: stop after this long and project the frame time")
    p.add_argument("--cells", type=int, default=8, help="gpt-cells: cells trained together in one population")
    args = p.parse_args(argv)
    if args.list:
        for name, fn in BENCHMARKS.items():
            print(f"{name}: {fn.__doc__}")
        return
    for name, fn in BENCHMARKS.items():
        if args.only is None or name in args.only:
            fn(args)


if __name__ == "__main__":
    main()
