"""Runs a sweep's pending cells on worker processes and hands each finished population back.

Cells go out in coarse-to-fine order (spec.coarse_to_fine) so a preview of the whole map arrives
first, in chunks of at most a population (the cells one trainer.run_cells call trains), each
within one level and one tensor shape.
Workers are "spawn" processes (fork after torch has started threads is unsafe): one per visible
CUDA GPU, or N on CPU. Results come back to the calling process, which is the journal's only
writer. Cancelling stops handing out chunks; chunks already running finish and are recorded.
"""
import math
import multiprocessing as mp
import os
import queue
import signal
import time
import traceback

import numpy as np

from .spec import INTEGER_PARAMS, axis_value

# Cells per chunk when the trainer offers no max_population(spec, device) helper. GPT replicas are
# whole models with optimizer state: few at a time. MLP chunks follow mlp.chunk_size but never go
# below MLP_MIN_CHUNK cells: run_cells splits a chunk into cache- or memory-sized populations itself,
# and bigger tiles keep the per-tile overhead (IPC, JSON, fsync) small.
GPT_POPULATION = {"cpu": 4, "cuda": 8}
MLP_MIN_CHUNK = 256
IN_FLIGHT_PER_WORKER = 2  # one training, one queued, so a GPU never waits for the parent


class WorkerError(RuntimeError):
    pass


def devices(device=None, workers=None):
    """Worker devices: one per visible CUDA GPU (at most `workers`), else `workers` (default 1) CPU workers."""
    import torch
    if workers is not None and workers < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if device not in (None, "cpu", "cuda"):
        raise ValueError(f"--device must be cpu or cuda, got {device!r}")
    if device != "cpu":
        n = torch.cuda.device_count()
        if n:
            return [f"cuda:{i}" for i in range(min(n, workers or n))]
        if device == "cuda":
            raise ValueError("--device cuda, but torch sees no CUDA GPU (torch.cuda.device_count() == 0)")
    return ["cpu"] * (workers or 1)


def population_size(spec, device):
    """Most cells one worker trains at once: the trainer's helper if it has one (called in the worker,
    so CUDA is only ever initialised there), else the MLP's memory-based chunk size, else a default."""
    from . import trainer
    if hasattr(trainer, "max_population"):
        return int(trainer.max_population(spec, device))
    if spec["model"]["family"] == "mlp":
        from . import mlp
        sizes = [axis_value(a, i) for a in spec["axes"].values() if a["param"] == "dataset_size"
                 for i in (0, a["points"] - 1)]
        return max(MLP_MIN_CHUNK, int(mlp.chunk_size(spec, device, max(sizes) if sizes else None)))
    return GPT_POPULATION[device.split(":")[0]]


def shape_keys(spec, cells):
    """An int per cell: cells with equal keys need the same tensor shapes (the axes that sweep a
    shape parameter - dataset_size, tokens, batch_size - agree), so they can share one population.
    run_cells needs this for GPT cells of different token budgets (different step counts)."""
    key = np.zeros(len(cells), dtype=np.int64)
    ax, ay = spec["axes"]["x"], spec["axes"]["y"]
    for axis, coord in ((ax, cells % ax["points"]), (ay, cells // ax["points"])):
        if axis["param"] in INTEGER_PARAMS:
            values = np.array([axis_value(axis, i) for i in range(axis["points"])], dtype=np.int64)
            _, ids = np.unique(values, return_inverse=True)
            key = key * axis["points"] + ids[coord]
    return key


def chunks(spec, cells, levels, population, n_workers):
    """Split coarse-to-fine ordered cells into (level, cells) chunks that never straddle a level or
    a tensor shape. Small levels are split finer than a population so every worker gets a share."""
    keys = shape_keys(spec, cells)
    boundaries = np.flatnonzero(np.diff(levels)) + 1
    for lc, ll, lk in zip(np.split(cells, boundaries), np.split(levels, boundaries), np.split(keys, boundaries)):
        if len(lc) == 0:
            continue
        size = min(population, max(16, math.ceil(len(lc) / (4 * n_workers))))
        for k in np.unique(lk):
            group = lc[lk == k]
            for i in range(0, len(group), size):
                yield int(ll[0]), group[i:i + size]


def _worker(spec, device, threads, tasks, results, parent_pid):
    """Worker process: train chunks until told to stop or the parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (it cancels)
    import torch
    torch.set_num_threads(threads)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    try:
        from . import trainer
        results.put(("ready", device, population_size(spec, device)))
    except Exception:
        results.put(("error", None, device, traceback.format_exc()))
        return
    while True:
        try:
            task = tasks.get(timeout=1.0)
        except queue.Empty:
            task = "poll"
        if os.getppid() != parent_pid:
            # The parent was killed (kill -9): nobody reads `results`, so a pending put would block
            # the exit forever. Leave at once rather than linger holding a GPU.
            os._exit(0)
        if task == "poll":
            continue
        if task is None:
            return
        if task == "base":
            try:
                from . import sft
                results.put(("base", _plain(sft.base_metrics(spec, device))))
            except Exception:
                results.put(("error", None, device, traceback.format_exc()))
                return
            continue
        chunk_id, level, cells = task
        try:
            results.put(("ok", chunk_id, level, trainer.run_cells(spec, cells, device)))
        except Exception:
            results.put(("error", chunk_id, device, traceback.format_exc()))
            return


def _plain(x):
    """Base metrics -> JSON the journal accepts: numpy scalars to Python numbers, NaN (a loss that
    is not configured) to null, since JSON has no NaN."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (np.floating, np.integer)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def base_wanted(journal, record):
    """`record` when the journal's sweep is an SFT sweep whose base metrics are not recorded yet, else None."""
    return record if journal.spec["model"]["family"] == "gpt" and journal.base is None else None


def run(spec, cells, levels, devs, on_tile, should_stop=lambda: False, on_idle=lambda: None, population=None,
        on_base=None, plan=None):
    """Train `cells` (coarse-to-fine, with their `levels`) on workers for `devs`.

    With `plan` (a sampling.BoundaryPlan: a boundary sweep), `cells` and `levels` are unused: the plan names
    the cells round by round, each round once the one before it has finished (its decisions read the finished
    coarser level), gets every finished population through plan.take, and its inferred cells are passed to
    on_tile like trained ones (with `inferred` = 1; trained rows get `inferred` = 0).

    With `on_base`, the first worker also measures the untrained model (sft.base_metrics) before any
    cell and on_base(metrics) is called with the result (GPT sweeps record it once per sweep).

    Calls on_tile(level, results) in this process for every finished chunk, on_idle() about every
    0.2 s while waiting. Returns "completed", or "cancelled" when should_stop() turned true before
    every chunk was handed out. Raises WorkerError when a worker fails (its traceback in the message).
    `population` caps the cells per chunk (default: the smallest population_size() of the workers).
    """
    if plan is None and len(cells) == 0 and on_base is None:
        return "completed"
    ctx = mp.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    # The MLP's tensors are too small for a thread pool (numerics.THREADS): one torch thread per CPU worker.
    # A transformer's are not: its CPU workers share the cores. A GPU worker keeps two for its host-side work.
    mlp = spec["model"]["family"] == "mlp"
    cpu_threads = 1 if mlp else max(1, (os.cpu_count() or 1) // len(devs))
    procs = [ctx.Process(target=_worker, daemon=True, name=f"fractal-worker-{d}",
                         args=(spec, d, cpu_threads if d == "cpu" else 2, tasks, results, os.getpid()))
             for d in devs]
    for p in procs:
        p.start()
    ready, todo = [], None
    handed, in_flight, stopping = 0, 0, False
    finished = plan is None  # a plan is finished once next_round() says so

    def next_round():
        """The plan's next cells to train as chunks; inferred cells are journaled on the way."""
        nonlocal finished
        while True:
            step = plan.next_round()
            if step is None:
                finished = True
                return []
            kind, level, payload = step
            if kind == "infer":
                for rows in payload:
                    on_tile(level, rows)
                continue
            return list(chunks(spec, payload, np.full(len(payload), level), population, len(devs)))
    if on_base is not None:
        tasks.put("base")
        in_flight += 1
    try:
        while True:
            stopping = stopping or should_stop()
            if todo is None and len(ready) == len(procs):  # every worker is up and knows its capacity
                population = population or min(ready)
                todo = next_round() if plan is not None else \
                    list(chunks(spec, np.asarray(cells, dtype=np.int64), np.asarray(levels), population, len(devs)))
            while plan is not None and not finished and not stopping and todo is not None \
                    and handed == len(todo) and in_flight == 0:
                todo, handed = next_round(), 0  # the round before is finished: the plan may decide the next
            while todo is not None and not stopping and handed < len(todo) \
                    and in_flight < IN_FLIGHT_PER_WORKER * len(procs):
                level, c = todo[handed]
                tasks.put((handed, level, c))
                handed, in_flight = handed + 1, in_flight + 1
            if in_flight == 0 and (stopping or todo is not None):
                break
            try:
                msg = results.get(timeout=0.2)
            except queue.Empty:
                on_idle()
                dead = [(p, d) for p, d in zip(procs, devs) if p.exitcode is not None]
                if not dead:
                    continue
                try:  # a worker that failed sent its traceback before exiting
                    msg = results.get(timeout=1.0)
                except queue.Empty:
                    p, d = dead[0]
                    raise WorkerError(f"worker on {d} (pid {p.pid}) died with exit code {p.exitcode}") from None
            if msg[0] == "error":
                raise WorkerError(f"trainer failed on {msg[2]}:\n{msg[3]}")
            if msg[0] == "ready":
                ready.append(msg[2])
                continue
            if msg[0] == "base":
                in_flight -= 1
                on_base(msg[1])
                continue
            in_flight -= 1
            if plan is not None:
                plan.take(msg[3])
                on_tile(msg[2], plan.mark_trained(msg[3]))
            else:
                on_tile(msg[2], msg[3])
        return "cancelled" if todo is None or handed < len(todo) or not finished else "completed"
    finally:
        for _ in procs:
            tasks.put(None)
        deadline = time.monotonic() + 5
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
