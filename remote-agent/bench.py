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

import fractal_agent  # noqa: F401 -- first: it pins the BLAS kernel and one OpenMP thread (numerics.py) before torch
import numpy as np
import torch

from fractal_agent import mlp, numerics
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


# One process per kernel: OpenBLAS picks its kernel when it loads, so the CPU's own choice is measured in a child
# that loads torch before fractal_agent can pin it (numerics.pin then says it was too late), with the variable unset.
_KERNEL_CHILD = """
import sys, time, json
if sys.argv[1] == "own":
    import torch
import fractal_agent, numpy as np, torch
from fractal_agent import mlp, numerics
from fractal_agent.spec import cell_hparams, validate
torch.set_num_threads(1)
a, b = torch.randn(1024, 1024, dtype=torch.float64), torch.randn(1024, 1024, dtype=torch.float64)
a @ b
t = time.perf_counter(); [a @ b for _ in range(10)]; gemm = 10 * 2 * 1024 ** 3 / (time.perf_counter() - t) / 1e9
axis = {"scale": "log", "range": [-1.0, 3.0], "points": 16}
spec = validate({"version": 1, "name": "pin", "model": {"family": "mlp", "width": 16, "activation": "tanh", "seed": 0},
                 "train": {"steps": 100}, "axes": {"x": {"param": "lr.input", **axis}, "y": {"param": "lr.output", **axis}},
                 "criterion": {"window": 20, "threshold": 1.0}})
hp = [cell_hparams(spec, c) for c in range(256)]
best = float("inf")
for _ in range(3):
    t = time.perf_counter(); mlp.train_population(spec, hp); best = min(best, time.perf_counter() - t)
print(json.dumps({"kernel": numerics.blas_info(torch)["kernel"], "gemm": gemm, "cell_steps": 256 * 100 / best}))
"""


@benchmark("blas-pin")
def bench_blas_pin(args):
    """What pinning OpenBLAS to its Haswell kernel costs (numerics.py): the CPU's own kernel vs the pinned one, one
    thread each, on a 1024^2 float64 GEMM and on a paper-MLP population (width 16, N = 272, 256 replicas, 100 steps)."""
    import json
    import subprocess
    import sys
    # drop the kernel pins only: both children keep one BLAS and one OpenMP thread, so only the kernel differs
    env = {k: v for k, v in os.environ.items() if k not in numerics.PINS and k != "OPENBLAS_L2_SIZE"} | numerics.THREADS
    env["PYTHONPATH"] = os.path.dirname(os.path.abspath(__file__))
    print(f"blas-pin: {numerics.cpu_info()[0]} ({numerics.isa_level(platform.machine(), numerics.cpu_info()[1])}), "
          f"torch {torch.__version__}, load {os.getloadavg()[0]:.1f}", flush=True)
    runs = {}
    for which in ("own", "pinned", "own", "pinned"):  # interleaved, best of two each
        out = subprocess.run([sys.executable, "-c", _KERNEL_CHILD, which], env=env, capture_output=True, text=True,
                             check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        best = runs.setdefault(which, r)
        best.update(gemm=max(best["gemm"], r["gemm"]), cell_steps=max(best["cell_steps"], r["cell_steps"]))
    for which, r in runs.items():
        print(f"  {which:6s} kernel {r['kernel']:10s}: 1024^2 GEMM {r['gemm']:.1f} GFLOP/s, "
              f"paper MLP {r['cell_steps']:,.0f} cell-steps/s", flush=True)
    own, pinned = runs["own"], runs["pinned"]
    print(f"  pinned / own: GEMM {pinned['gemm'] / own['gemm']:.2f}x, paper MLP {pinned['cell_steps'] / own['cell_steps']:.2f}x")


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
        _report_sft(f"K={cells}", bench_sft("cpu", "tiny", cells=cells, batch_size=8, seq_len=128, steps=8))


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


# ----------------------------------------------------------------------------- the GPU suite

def table1_tanh(points):
    """Table 1's tanh experiment (Sohl-Dickstein 2024: D = 1.66): width 16, N = 272, full-batch GD, 500 steps,
    float64, lr.input x lr.output (the same spec as `fractal-llm reproduce tanh`'s root map)."""
    axis = {"scale": "log", "range": [-1.0, 3.0], "points": points}
    return validate({
        "version": 1, "name": f"Table 1 tanh {points}^2",
        "model": {"family": "mlp", "width": 16, "activation": "tanh", "data_multiple": 1.0, "seed": 0},
        "train": {"optimizer": "gd", "steps": 500, "precision": "float64"},
        "axes": {"x": {"param": "lr.input", **axis}, "y": {"param": "lr.output", **axis}},
        "criterion": {"window": 20, "threshold": 1.0}, "record": {"curves": False},
    })


def box_dimension(mask):
    """Box-counting dimension of a trainable map's boundary (one frame): boxes of side 2^k cells that hold
    both outcomes, slope of log count against log(1 / side) fitted over the sides 2 .. side/8. A check of
    the frame only; the paper's estimator over a zoom sequence is `fractal-llm reproduce`'s."""
    n = mask.shape[0]
    sides, counts = [], []
    s = 2
    while s <= n // 8:
        m = mask[: n // s * s, : n // s * s].reshape(n // s, s, n // s, s)
        mixed = m.any(axis=(1, 3)) & ~m.all(axis=(1, 3))
        sides.append(s)
        counts.append(max(int(mixed.sum()), 1))
        s *= 2
    if len(sides) < 2:
        return float("nan")
    return float(-np.polyfit(np.log(sides), np.log(counts), 1)[0])


def _time_slice(spec, device, budget_s, cells_cap):
    """Train populations of the frame in index order until `budget_s` passes; (cells done, seconds, rows)."""
    total = cell_count(spec)
    size = min(mlp.chunk_size(spec, device), cells_cap)
    run_cells(spec, np.arange(min(size, 64), dtype=np.int64), device)  # warm-up: CUDA context, kernels
    if device == "cuda":
        torch.cuda.synchronize()
    done, trainable, flops = 0, 0, 0.0
    t0 = time.perf_counter()
    while done < total and time.perf_counter() - t0 < budget_s:
        rows = run_cells(spec, np.arange(done, min(total, done + size), dtype=np.int64), device)
        done += len(rows["cell"])
        trainable += int(rows["trainable"].sum())
        flops += float(rows["flops"].sum())
    if device == "cuda":
        torch.cuda.synchronize()
    return done, time.perf_counter() - t0, trainable, flops


@benchmark("gpu-suite")
def bench_gpu_suite(args):
    """One command for a lent GPU, about 8 minutes on an H100/H200: (1) the 4096^2 x 1000-step float64 paper
    MLP frame (width 16), timed on a slice and extrapolated; (2) GPT-2-124M-shape SFT cells in bf16 with
    held-out/OOD (and $FRACTAL_AGENT_EVALS multiple-choice) evaluation at 10K training tokens: cells/h and
    MFU counting evaluation FLOPs; (3) Table 1's tanh experiment at 1024^2 (500 steps), timed, with its
    frame's box-counting dimension. --smoke: the same on CPU at tiny sizes (checks the script, not a figure)."""
    smoke = args.smoke or not torch.cuda.is_available()
    if not args.smoke and not torch.cuda.is_available():
        print("gpu-suite: torch sees no CUDA device; running the --smoke sizes on CPU instead")
    device = "cpu" if smoke else "cuda"
    where = torch.cuda.get_device_name() if device == "cuda" else (platform.processor() or platform.machine())
    print(f"gpu-suite{' (smoke, CPU)' if smoke else ''}: {where}, torch {torch.__version__}", flush=True)
    t_suite = time.perf_counter()

    # (1) the paper frame, on a slice
    points, steps, budget = (64, 20, 5.0) if smoke else (4096, 1000, 150.0)
    spec = paper_mlp_frame(points, steps, 16)
    done, secs, trainable, flops = _time_slice(spec, device, budget, 256 if smoke else 1 << 18)
    total = cell_count(spec)
    print(f"  (1) {points}^2 x {steps}-step float64 MLP frame (width 16, N = {mlp.data_size(spec['model'])}): "
          f"{done} cells in {secs:.1f} s = {done / secs:,.0f} cells/s, {flops / secs / 1e12:.2f} TFLOP/s (analytic); "
          f"projected frame {total * secs / done:.0f} s (target <= 180 s at 4096^2 x 1000)", flush=True)

    # (2) GPT-2-124M-shape SFT cells with evaluation
    from fractal_agent.sft import PEAK_BF16
    shape, precision, tokens = ("tiny", "float32", 1_000) if smoke else ("gpt2-124m", "bf16", 10_000)
    gspec = sft_cells_spec(shape, args.cells, tokens, precision=precision, evals=_eval_entries())
    cells = np.arange(cell_count(gspec))
    run_cells(gspec, cells[:1], device)  # warm-up
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    rows = run_cells(gspec, cells, device)
    if device == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t0
    flops = float(rows["flops"].sum())
    peak = next((v for k, v in PEAK_BF16.items() if k in where), None) if device == "cuda" else None
    mfu = f"{flops / wall / peak:.1%} MFU incl. evaluation" if peak else "MFU n/a (no known peak)"
    print(f"  (2) {shape} SFT, {precision}, {tokens:,} tokens per cell, {len(cells)} cells per population, evals: "
          f"{', '.join(gspec['data']['evals']) or 'held-out + OOD loss only'}: {wall:.1f} s = "
          f"{len(cells) / wall * 3600:,.0f} cells/h, {flops / wall / 1e12:.2f} TFLOP/s, {mfu}", flush=True)

    # (3) one Table-1 experiment, whole frame
    points = 32 if smoke else 1024
    tspec = table1_tanh(points)
    if smoke:
        tspec["train"]["steps"] = 20
    t0 = time.perf_counter()
    mask = np.zeros(cell_count(tspec), dtype=bool)
    size = mlp.chunk_size(tspec, device)
    for start in range(0, len(mask), size):
        r = run_cells(tspec, np.arange(start, min(len(mask), start + size), dtype=np.int64), device)
        mask[r["cell"]] = r["trainable"].astype(bool)
    secs = time.perf_counter() - t0
    D = box_dimension(mask.reshape(points, points))
    print(f"  (3) Table 1 tanh at {points}^2 x {tspec['train']['steps']} steps: {secs:.1f} s, "
          f"{mask.mean():.1%} trainable, frame box-counting D = {D:.2f} (paper, over a zoom sequence: 1.66)", flush=True)
    print(f"  suite: {time.perf_counter() - t_suite:.0f} s", flush=True)


# ----------------------------------------------------------------------------- issue 23: cheaper maps

def _finite(x):
    return x if np.isfinite(x) else None  # JSON has no NaN

@benchmark("cheaper-maps")
def bench_cheaper_maps(args):
    """The paper's tanh map (width 16, N = 272, full-batch GD, 500 steps, float64, lr.input x lr.output over
    [-3, 6]^2) at --points^2 on one core, four ways: exhaustive in the stacked form (one GEMM per replica, in
    populations of 256: the trainer before issue 23), the shared form (one GEMM for the population, populations
    of mlp.CPU_MAX_POPULATION), early exit (stacked), both; then boundary sampling (spec "sampling": "boundary",
    shared form) and all together (boundary + shared + early exit). Timings move with the machine's load. Prints
    cell-steps, wall time, cells/s, GFLOP/s (analytic, of the cell-steps spent), mask agreement with the exhaustive
    map and the frame's box-counting dimension; the last line is one JSON object."""
    import json
    from fractal_agent import outcome
    torch.set_num_threads(1)
    points = args.points or 48
    axis = {"scale": "log", "range": [-3.0, 6.0], "points": points}
    spec = validate({
        "version": 1, "name": f"cheaper maps {points}^2",
        "model": {"family": "mlp", "width": 16, "activation": "tanh", "data_multiple": 1.0, "seed": 0},
        "train": {"optimizer": "gd", "steps": 500, "precision": "float64"},
        "axes": {"x": {"param": "lr.input", **axis}, "y": {"param": "lr.output", **axis}},
        "criterion": {"window": 20, "threshold": 1.0}, "record": {"curves": False},
    })
    T, size = spec["train"]["steps"], mlp.chunk_size(spec, "cpu")
    hps = [cell_hparams(spec, i) for i in range(cell_count(spec))]
    step_flops = (mlp.train_flops(spec, hps[0]) - mlp.train_flops({**spec, "train": {**spec["train"], "steps": 0}}, hps[0])) / T
    print(f"cheaper-maps: {points}^2 tanh map (width 16, N = {mlp.data_size(spec['model'])}, {T} steps, [-3, 6]^2), "
          f"populations of {size}, one thread; {numerics.cpu_info()[0]}, torch {torch.__version__}, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    mlp.train_population(spec, hps[:size])  # warm-up: allocator, BLAS buffers
    runs, masks = {}, {}

    def record(name, mask, steps, wall, **how):
        """One way's figures, against the exhaustive map (the first way recorded)."""
        masks[name] = mask
        runs[name] = {**how, "cell_steps": steps, "cell_steps_fraction": steps / (len(hps) * T),
                      "wall_s": round(wall, 2), "cells_per_s": round(len(hps) / wall, 1),
                      "gflops": round(steps * step_flops / wall / 1e9, 2),
                      "agreement": float((mask == masks["exhaustive"]).mean()),
                      "dimension": _finite(round(box_dimension(mask), 4))}
        return runs[name]

    # "exhaustive" is the trainer before issue 23: stacked form, populations of 256 (its CPU_MAX_POPULATION)
    for name, form, early, pop in (("exhaustive", "stacked", False, 256), ("shared", "shared", False, size),
                                   ("early-exit", "stacked", True, 256), ("both", "shared", True, size)):
        t0, steps, trainable = time.perf_counter(), 0, []
        for s0 in range(0, len(hps), pop):
            out = mlp.train_population(spec, hps[s0:s0 + pop], form=form, early_exit=early)
            steps += int(out["steps_trained"].sum())
            trainable.append(outcome.summarize(out["losses"], out["grad_norms"], 20, 1.0)["trainable"])
        wall = time.perf_counter() - t0
        r = record(name, np.concatenate(trainable).reshape(points, points), steps, wall,
                   form=form, early_exit=early, population=pop)
        print(f"  {name:10s}: {r['cell_steps']:,} cell-steps ({r['cell_steps_fraction']:.1%}), {wall:.1f} s, "
              f"{r['cells_per_s']:,.0f} cells/s, {r['gflops']:.1f} GFLOP/s, agreement {r['agreement']:.2%}, "
              f"D = {r['dimension']}", flush=True)
    # Boundary sampling (sampling.py): the plan picks the cells, trained in the shared form, then also with early exit
    from fractal_agent import sampling
    bspec = validate({**spec, "sampling": "boundary"})
    for name, early in (("boundary", False), ("all", True)):
        t0, spent = time.perf_counter(), [0]

        def train(cells):
            rows = {"cell": cells, "trainable": np.zeros(len(cells), np.uint8), "score": np.zeros(len(cells))}
            for s0 in range(0, len(cells), size):
                part = cells[s0:s0 + size]
                out = mlp.train_population(spec, [hps[c] for c in part], form="shared", early_exit=early)
                spent[0] += int(out["steps_trained"].sum())
                summary = outcome.summarize(out["losses"], out["grad_norms"], 20, 1.0)
                rows["trainable"][s0:s0 + len(part)] = summary["trainable"]
                rows["score"][s0:s0 + len(part)] = summary["score"]
            return rows

        plan = sampling.run_in_process(bspec, train)
        r = record(name, plan.outcome.reshape(points, points).astype(np.uint8), spent[0], time.perf_counter() - t0,
                   form="shared", early_exit=early, population=size, sampling="boundary",
                   cells_trained=int(plan.trained.sum()), cells_inferred=int(plan.inferred.sum()),
                   audit_misses=len(plan.misses))
        print(f"  {name:10s}: {r['cells_trained']:,} cells trained, {r['cells_inferred']:,} inferred, "
              f"{r['audit_misses']} audit misses; {r['cell_steps']:,} cell-steps ({r['cell_steps_fraction']:.1%}), "
              f"{r['wall_s']:.1f} s, agreement {r['agreement']:.2%}, D = {r['dimension']}", flush=True)
    base = runs["exhaustive"]["wall_s"]
    for r in runs.values():
        r["speedup"] = round(base / r["wall_s"], 2)
    print(json.dumps({"benchmark": "cheaper-maps", "points": points, "steps": T, "population": size,
                      "cpu": numerics.cpu_info()[0], "torch": torch.__version__, "runs": runs}))


@benchmark("mlp-rate")
def bench_mlp_rate(args):
    """Issue 23 item 1's measure: the CPU population trainer's rate on the paper MLP (tanh, width 16, N = 272,
    float64, full-batch GD) against a 1024^2 float64 GEMM in the same torch on one core, and against the trainer
    before issue 23 (stacked form, populations of 256). 256 cells of the 64^2 tanh map over [-3, 6]^2 (cells
    1000..1255), 50 steps, early exit off; every (way, population) is timed --reps times in alternation with the
    others and the GEMM, keeping each one's minimum, on the CPU-time clock (less moved by other processes on a
    shared machine than wall time; --wall for wall time). GFLOP/s are analytic: 4 N n^2 + 6 N n per cell-step."""
    import json
    torch.set_num_threads(1)
    clock = time.perf_counter if args.wall else time.process_time
    axis = {"scale": "log", "range": [-3.0, 6.0], "points": 64}
    spec = validate({"version": 1, "name": "mlp rate", "model": {"family": "mlp", "width": 16, "activation": "tanh",
                     "data_multiple": 1.0, "seed": 0}, "train": {"optimizer": "gd", "steps": 50, "precision": "float64"},
                     "axes": {"x": {"param": "lr.input", **axis}, "y": {"param": "lr.output", **axis}},
                     "criterion": {"window": 20, "threshold": 1.0}, "record": {"curves": False}})
    hps, T, N, n = [cell_hparams(spec, i) for i in range(1000, 1256)], 50, 272, 16
    ways = [("before: stacked, 256", "stacked", 256)] + [(f"shared, {k}", "shared", k) for k in (64, 32, 128)]
    print(f"mlp-rate: {numerics.cpu_info()[0]}, torch {torch.__version__}, one thread, "
          f"{'wall' if args.wall else 'CPU-time'} clock, best of {args.reps}; load {os.getloadavg()[0]:.1f}", flush=True)
    A, B = torch.randn(1024, 1024, dtype=torch.float64), torch.randn(1024, 1024, dtype=torch.float64)
    best, gemm = {}, float("inf")
    for rep in range(args.reps + 1):   # the first round warms up and is not counted
        t = clock(); torch.mm(A, B); gemm = min(gemm, clock() - t) if rep else gemm
        for name, form, pop in ways:
            for s in range(0, len(hps), pop):
                t = clock(); mlp.train_population(spec, hps[s:s + pop], form=form, early_exit=False)
                if rep:
                    best[name, s] = min(best.get((name, s), float("inf")), clock() - t)
    gemm_gf, flop = 2 * 1024 ** 3 / gemm / 1e9, 4 * N * n * n + 6 * N * n
    rate = {name: len(hps) * T / sum(v for (w, _), v in best.items() if w == name) for name, _, _ in ways}
    out = {"gemm_gflops": round(gemm_gf, 1), "load": os.getloadavg()[0], "ways": {}}
    print(f"  1024^2 float64 GEMM: {gemm_gf:.1f} GFLOP/s")
    for name, r in rate.items():
        out["ways"][name] = {"cell_steps_per_s": round(r), "gflops": round(r * flop / 1e9, 2),
                             "of_gemm": round(r * flop / 1e9 / gemm_gf, 3), "vs_before": round(r / rate[ways[0][0]], 2)}
        w = out["ways"][name]
        print(f"  {name:20s}: {r:8,.0f} cell-steps/s, {w['gflops']:5.1f} GFLOP/s = {w['of_gemm']:.0%} of the GEMM, "
              f"{w['vs_before']:.2f}x before", flush=True)
    print(json.dumps({"benchmark": "mlp-rate", **out}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run only this benchmark (repeatable)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument("--workers", type=int, default=None, help="mlp-cpu: worker processes (default: one per core)")
    p.add_argument("--cpu-cells", type=int, default=None, help="mlp-cpu: time an evenly strided sample of this many cells")
    p.add_argument("--width", type=int, default=8, help="mlp-cuda: MLP width (8 as the CPU frame; the paper uses 16)")
    p.add_argument("--max-seconds", type=float, default=None, help="mlp-cuda: stop after this long and project the frame time")
    p.add_argument("--cells", type=int, default=8, help="gpt-cells, gpu-suite: cells trained together in one population")
    p.add_argument("--json", action="store_true", help="cheaper-maps: (its last line is one JSON object either way)")
    p.add_argument("--points", type=int, default=None, help="cheaper-maps: cells per axis (default 48; the issue's 256 takes hours on one core)")
    p.add_argument("--smoke", action="store_true", help="gpu-suite: tiny sizes on CPU (checks the script)")
    p.add_argument("--reps", type=int, default=7, help="mlp-rate: timed rounds (each way's best is kept)")
    p.add_argument("--wall", action="store_true", help="mlp-rate: wall time instead of this process's CPU time")
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
