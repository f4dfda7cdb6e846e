"""Sweeps on a Slurm cluster: the login node's daemon submits a job array, merges its shards.

A sweep submitted with `"scheduler": {"kind": "slurm", "tasks": N, ...}` does not train on the daemon's
own workers. The daemon (on the login node) instead

1. splits the cells its journal lacks into N disjoint shards (cell k of the coarse-to-fine order goes to
   task k % N, so every task starts with its share of the coarse preview),
2. submits them as one job array, `sbatch --array=0-(N-1)` (subprocess argument lists, never a shell
   string), each task running `python -m fractal_agent slurm-task SWEEP_DIR ROUND`,
3. merges the tasks' shard journals into the sweep's own journal as they grow: the same tile events
   with the sweep's increasing seq, each cell once (a cell already recorded is dropped from the tile),
   so clients see exactly what a single node would send,
4. watches the tasks with `squeue`. A task that left the queue without finishing its shard (scancel,
   preemption without requeue, node failure, time limit, a crash) has its unrecorded cells submitted
   again as a new, smaller array (a new "round"); a task Slurm requeues reopens its shard journal and
   trains only what it lacks. Cancelling the sweep `scancel`s every array of the sweep.

Files (the sweep directory must be on a file system the compute nodes share, as the home usually is):

    sweeps/<ID>/scheduler.json          the settings the sweep was submitted with
    sweeps/<ID>/slurm/state.json        the rounds: [{"round", "job", "tasks"}]
    sweeps/<ID>/slurm/r<R>/task.sh      the batch script of round R
    sweeps/<ID>/slurm/r<R>/t<T>.npy     task T's cells and levels, int64 (2, n)
    sweeps/<ID>/slurm/r<R>/t<T>/        task T's shard: a journal directory (journal.py) of its cells
    sweeps/<ID>/slurm/r<R>/logs/        Slurm's stdout/stderr of each task, <job>_<task>.out

Only the daemon writes the sweep's journal; each task writes only its shard (journal.py's flock).
"""
import json
import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
import time

import numpy as np

from . import envinfo, tiles
from .journal import Journal, JournalError, Scan, _write_json_atomic, decode_line
from .spec import sampling

SETTINGS = "scheduler.json"
POLL_SECONDS = 2.0  # squeue at most this often (one call lists every task of the sweep)
MERGE_SECONDS = 0.2
CANCEL_WAIT = 120.0  # seconds to wait for scancelled tasks to leave the queue
MAX_FRUITLESS = 5  # losses of tasks in a row with no cell recorded in between: the sweep fails
SQUEUE_FAILURES = 150  # consecutive failed squeue calls (~5 min) before the sweep fails
TIME_LIMIT = r"^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+|\d+-\d+:\d{2}|\d+-\d+:\d{2}:\d{2})$"


class SlurmError(RuntimeError):
    pass


# ============================================================================ settings

def validate_settings(obj):
    """The `scheduler` of a submit -> normalised settings; ValueError naming the field otherwise."""
    import re
    if not isinstance(obj, dict):
        raise ValueError(f"scheduler: must be an object, got {obj!r}")
    known = {"kind", "tasks", "partition", "gpus_per_task", "cpus_per_task", "time", "account"}
    extra = sorted(set(obj) - known)
    if extra:
        raise ValueError(f"scheduler.{extra[0]}: unknown field; allowed: {', '.join(sorted(known))}")
    if obj.get("kind") != "slurm":
        raise ValueError(f"scheduler.kind: must be \"slurm\", got {obj.get('kind')!r}")

    def integer(name, lo, default):
        v = obj.get(name, default)
        if v is None:
            return None
        if not isinstance(v, int) or isinstance(v, bool) or v < lo:
            raise ValueError(f"scheduler.{name}: must be an integer >= {lo}, got {v!r}")
        return v

    def text(name, pattern, what):
        v = obj.get(name)
        if v is None:
            return None
        if not isinstance(v, str) or not re.match(pattern, v):
            raise ValueError(f"scheduler.{name}: must be {what}, got {v!r}")
        return v

    return {
        "kind": "slurm",
        "tasks": integer("tasks", 1, 1),
        "partition": text("partition", r"^[A-Za-z0-9_.,-]{1,128}$", "a partition name (letters, digits, _ . , -)"),
        "gpus_per_task": integer("gpus_per_task", 0, None),
        "cpus_per_task": integer("cpus_per_task", 1, None),
        "time": text("time", TIME_LIMIT, "a Slurm time limit (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS)"),
        "account": text("account", r"^[A-Za-z0-9_.-]{1,128}$", "an account name (letters, digits, _ . -)"),
    }


def save_settings(sweep_dir, settings):
    _write_json_atomic(pathlib.Path(sweep_dir) / SETTINGS, settings)


def load_settings(sweep_dir):
    """The settings a sweep was submitted with (checked as a submit's are), None for a sweep without;
    ValueError naming the file when it cannot be read or is not valid settings."""
    path = pathlib.Path(sweep_dir) / SETTINGS
    if not path.exists():
        return None
    try:
        return validate_settings(json.loads(path.read_text()))
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: not valid scheduler settings ({type(e).__name__}: {e}); resume the sweep "
                         "with its scheduler to replace them, or delete it") from None


# ============================================================================ commands

def _run(cmd, timeout=60.0):
    """Run a Slurm command (an argument list, never through a shell); (returncode, stdout, stderr)."""
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise SlurmError(f"{cmd[0]} is not installed on this node (is it the cluster's login node?)") from None
    except subprocess.TimeoutExpired:
        return 124, "", f"{cmd[0]} timed out after {timeout:g} s"
    return r.returncode, r.stdout, r.stderr


def sbatch_args(settings, sweep_id, round_dir, tasks):
    """The sbatch command line for one round (its script last)."""
    args = ["sbatch", "--parsable", f"--array=0-{tasks - 1}", f"--job-name=fractal-{sweep_id}"[:128],
            f"--output={round_dir / 'logs' / '%A_%a.out'}", "--ntasks=1", "--requeue"]
    if settings.get("partition"):
        args.append(f"--partition={settings['partition']}")
    if settings.get("account"):
        args.append(f"--account={settings['account']}")
    if settings.get("time"):
        args.append(f"--time={settings['time']}")
    if settings.get("gpus_per_task"):
        args.append(f"--gres=gpu:{settings['gpus_per_task']}")
    if settings.get("cpus_per_task"):
        args.append(f"--cpus-per-task={settings['cpus_per_task']}")
    return args + [str(round_dir / "task.sh")]


def task_script(sweep_dir, round_):
    """The batch script: this interpreter and this agent, every word quoted for /bin/sh."""
    agent = pathlib.Path(__file__).resolve().parents[1]
    env = {"PYTHONPATH": str(agent)}
    if os.environ.get("FRACTAL_AGENT_RESOURCES"):
        env["FRACTAL_AGENT_RESOURCES"] = os.environ["FRACTAL_AGENT_RESOURCES"]
    lines = ["#!/bin/sh", f"# fractal_agent: sweep {pathlib.Path(sweep_dir).name}, round {round_}"]
    lines += [f"{k}={shlex.quote(v)}; export {k}" for k, v in env.items()]
    lines.append(" ".join(shlex.quote(w) for w in
                          ["exec", sys.executable, "-m", "fractal_agent", "slurm-task", str(sweep_dir), str(round_)]))
    return "\n".join(lines) + "\n"


def queued_tasks(jobs):
    """{(job, task): state} of our arrays' tasks Slurm still lists (pending, running, completing, ...),
    or None when squeue failed (unknown: nothing is reassigned on it)."""
    if not jobs:
        return {}
    code, out, err = _run(["squeue", "--noheader", "--array", "--user", str(os.getuid()),
                           "--format", "%F|%K|%T"], timeout=30.0)
    if code != 0:
        return None
    wanted, found = {str(j) for j in jobs}, {}
    for line in out.splitlines():
        f = line.strip().split("|")
        if len(f) == 3 and f[0] in wanted and f[1].isdigit():
            found[(f[0], int(f[1]))] = f[2]
    return found


# ============================================================================ the login node's side

class ShardReader:
    """Reads a task's shard journal as it grows: complete lines only, from where it left off.

    Every event is checked by the journal's own scan (journal.Scan) against the sweep's spec and cell
    count before it is passed on: a shard written by a broken or hostile task (a cell -1, which numpy
    would take for the last cell, a cell past the end, an unknown done status) must never reach the
    sweep's journal, which would then be unreadable. The first malformed event makes the whole shard
    `bad`: it is reported once and read no further; its cells the journal lacks are trained again
    when its task has left the queue."""

    def __init__(self, path, spec, total, report):
        self.path, self.offset = path, 0
        self.spec, self.total, self.report = spec, total, report
        self.scan = Scan(path, warn=lambda w: report(w["message"]))
        self.bad = None  # why the shard is not merged, once a malformed event was found

    @property
    def done(self):
        """Status of the shard's last done event (None: unfinished, or bad)."""
        return None if self.bad else self.scan.status

    def events(self):
        if self.bad:
            return
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a torn or still growing last line waits for the next read
        start, self.offset = self.offset, self.offset + end
        for raw in data[:end].splitlines(keepends=True):
            ev, problem = decode_line(raw, self.scan.last_seq)
            if problem is not None:  # damage: reported and skipped; the cells are trained again
                self.report(f"{self.path}: byte {start}: {problem}")
            start += len(raw)
            if ev is None:
                continue
            try:
                self.scan.add(ev)
                if ev["type"] == "sweep" and (self.scan.spec != self.spec or self.scan.total != self.total):
                    raise JournalError(f"{self.path}: seq {ev['seq']}: the shard's sweep event is not this sweep's "
                                       f"(another spec, or {self.scan.total} cells instead of {self.total})")
            except JournalError as e:
                self.bad = str(e)
                self.report(f"bad shard, not merged: {e}; its cells are trained again")
                return
            yield ev


def new_cells_only(results, recorded):
    """A tile's CellResults without the cells `recorded` (bool per cell) has, nor repeats within it."""
    cells = np.asarray(results["cell"])
    _, first = np.unique(cells, return_index=True)
    keep = np.zeros(len(cells), dtype=bool)
    keep[first] = True
    keep &= ~recorded[cells]
    if keep.all():
        return results
    return {k: (v if k == "trace_step" else np.asarray(v)[keep]) for k, v in results.items()}


class Merger:
    """State of a sweep's arrays on the login node: rounds, shard readers, which task owns which cells."""

    def __init__(self, sweep_dir, journal, settings, on_tile, on_base, log, report=None):
        self.dir = pathlib.Path(sweep_dir)
        self.slurm = self.dir / "slurm"
        self.journal, self.settings = journal, settings
        self.on_tile, self.on_base, self.log = on_tile, on_base, log
        self.report = report or log  # damage in a shard: the daemon also tells the sweep's clients
        state = self.slurm / "state.json"
        self.rounds = json.loads(state.read_text())["rounds"] if state.exists() else []
        self.readers = {}  # (round, task) -> ShardReader
        self.ended = set()  # (round, task) seen gone from the queue and dealt with
        self.added = 0  # cells merged by this run
        for r in self.rounds:
            for t in range(r["tasks"]):
                self.readers[(r["round"], t)] = self._reader(self._shard(r["round"], t) / "journal.jsonl")
        # Shards on disk that state.json does not list (the daemon died between sbatch and recording the round):
        # merged like the others (each cell once), their cells otherwise trained again.
        for path in sorted(self.slurm.glob("r*/t*/journal.jsonl")):
            r, t = path.parent.parent.name[1:], path.parent.name[1:]
            if r.isdigit() and t.isdigit():
                self.readers.setdefault((int(r), int(t)), self._reader(path))

    def _reader(self, path):
        return ShardReader(path, self.journal.spec, self.journal.total, self.report)

    def _round_dir(self, round_):
        return self.slurm / f"r{round_}"

    def _shard(self, round_, task):
        return self._round_dir(round_) / f"t{task}"

    def plan(self, round_, task):
        return np.load(self._round_dir(round_) / f"t{task}.npy")

    def merge(self):
        """Copy every new tile of every shard into the journal (each cell once); returns cells added."""
        return sum(self.merge_reader(r) for r in self.readers.values())

    def merge_reader(self, reader):
        added = 0
        for ev in reader.events():
            if ev.get("type") == "base" and self.journal.base is None:
                self.on_base(ev["metrics"])
            elif ev.get("type") == "tile":
                results = new_cells_only(tiles.unpack(ev), self.journal.done)
                if len(results["cell"]):
                    self.on_tile(ev["level"], results)
                    added += len(results["cell"])
        self.added += added
        return added

    def submit(self, cells, levels, tasks):
        """Submit `cells` (coarse-to-fine, with their levels) as a new array of `tasks` tasks."""
        tasks = max(1, min(tasks, len(cells)))
        used = [r["round"] for r in self.rounds] + [int(p.name[1:]) for p in self.slurm.glob("r*") if p.name[1:].isdigit()]
        round_ = max(used) + 1 if used else 0  # never a directory an unrecorded array may still write into
        rd = self._round_dir(round_)
        (rd / "logs").mkdir(mode=0o700, parents=True, exist_ok=True)
        base = self.journal.spec["model"]["family"] == "gpt" and self.journal.base is None
        for t in range(tasks):
            np.save(rd / f"t{t}.npy", np.stack([cells[t::tasks], levels[t::tasks]]).astype(np.int64))
        _write_json_atomic(rd / "plan.json", {"round": round_, "tasks": tasks, "base_task": 0 if base else None})
        script = rd / "task.sh"
        script.write_text(task_script(self.dir, round_))
        os.chmod(script, 0o700)
        args = sbatch_args(self.settings, self.dir.name, rd, tasks)
        code, out, err = _run(args)
        if code != 0:
            raise SlurmError(f"sbatch failed (exit {code}): {err.strip() or out.strip()} [{' '.join(args)}]")
        job = out.strip().split(";")[0]
        if not job.isdigit():
            raise SlurmError(f"sbatch printed {out.strip()!r}, not a job id")
        self.rounds.append({"round": round_, "job": job, "tasks": tasks, "cells": int(len(cells))})
        _write_json_atomic(self.slurm / "state.json", {"rounds": self.rounds})
        for t in range(tasks):
            self.readers[(round_, t)] = self._reader(self._shard(round_, t) / "journal.jsonl")
        self.log(f"submitted job array {job} (round {round_}): {len(cells)} cells on {tasks} task(s)")
        return job

    def jobs(self):
        return [r["job"] for r in self.rounds]

    def live(self, queued):
        """(round, task) of every task Slurm still lists."""
        by_job = {r["job"]: r["round"] for r in self.rounds}
        return {(by_job[j], t) for (j, t) in queued if j in by_job}

    def unfinished_of_ended(self, queued):
        """Tasks that left the queue since the last look: their cells the journal still lacks."""
        live = self.live(queued)
        lost = []
        for key, reader in self.readers.items():
            if key in live or key in self.ended:
                continue
            self.ended.add(key)
            self.merge_reader(reader)  # to its end: the task has exited, its last tiles are written
            cells = self.plan(*key)[0]
            missing = cells[~self.journal.done[cells]]
            job = next(r["job"] for r in self.rounds if r["round"] == key[0])
            if len(missing):
                self.log(f"task {job}_{key[1]} (round {key[0]}) ended without finishing its shard "
                         f"(shard status {'bad' if reader.bad else reader.done or 'unfinished'}): "
                         f"{len(missing)} cell(s) to run again")
                lost.append((key, missing))
        return lost

    def counts(self, queued):
        """The sweep's tasks for status: pending / running (as squeue lists them), finished (left the queue
        with their shard done), lost (left it unfinished: their cells went to a later round)."""
        by_job = {r["job"]: r["round"] for r in self.rounds}
        out = {"jobs": self.jobs(), "pending": 0, "running": 0, "finished": 0, "lost": 0}
        for (j, _), state in queued.items():
            if j in by_job:
                out["running" if state in ("RUNNING", "COMPLETING", "CONFIGURING") else "pending"] += 1
        live = self.live(queued)
        for key in self.ended - live:
            if key[0] in by_job.values():
                out["finished" if self.readers[key].done == "completed" else "lost"] += 1
        return out

    def log_tail(self, key, n=20):
        job = next(r["job"] for r in self.rounds if r["round"] == key[0])
        path = self._round_dir(key[0]) / "logs" / f"{job}_{key[1]}.out"
        try:
            return f"{path}:\n" + "\n".join(path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return f"{path}: (no log)"

    def cancel(self):
        jobs = self.jobs()
        if jobs:
            code, out, err = _run(["scancel", *jobs])
            if code != 0:
                self.log(f"scancel {' '.join(jobs)} failed (exit {code}): {err.strip()}")
            else:
                self.log(f"scancel {' '.join(jobs)}")


def run(sweep_dir, journal, settings, on_tile, on_base, should_stop=lambda: False, on_idle=lambda: None,
        log=print, on_tasks=lambda counts: None, report=None):
    """Train the cells `journal` lacks as Slurm job arrays (module docstring). on_tile(level, results) and
    on_base(metrics) append to the journal (the daemon's callbacks); `journal` is read for .done/.base/.spec
    and pending(). on_tasks(counts) gets Merger.counts() after each look at the queue; report(message) a bad
    shard (default: log). Returns "completed" or "cancelled"; raises SlurmError when tasks keep failing."""
    if sampling(journal.spec) != "grid":
        # A boundary sweep decides each level from the finished level before it; job arrays are submitted
        # up front with their cells fixed, so they would have to wait a whole round of the queue per level.
        raise SlurmError(f"\"sampling\": \"{sampling(journal.spec)}\" is not supported on a Slurm scheduler (job arrays are "
                         "submitted with their cells fixed; boundary sampling picks each level's cells from the level "
                         "before). Fix: set \"sampling\": \"grid\" in the spec, or run the sweep on a host registered "
                         "without --scheduler")
    m = Merger(sweep_dir, journal, settings, on_tile, on_base, log, report)
    m.merge()  # shards of an earlier run of this sweep (a restarted daemon, a resume)
    queued = queued_tasks(m.jobs()) if m.rounds else {}
    if queued is None:
        raise SlurmError("squeue failed; cannot tell which of the sweep's tasks still run")
    live = m.live(queued)
    owned = np.zeros(len(journal.done), dtype=bool)
    for key in live:
        owned[m.plan(*key)[0]] = True
    m.ended = set(m.readers) - live  # earlier tasks that are gone: their cells are in `pending` below
    cells, levels = journal.pending()
    keep = ~owned[cells]
    if keep.any():
        m.submit(cells[keep], levels[keep], settings["tasks"])
    elif live:
        log(f"following {len(live)} task(s) already in the queue")
    squeue_failures, last_poll, cancelled = 0, 0.0, False
    fruitless, added_at_loss = 0, m.added  # losses of tasks in a row with no cell merged in between
    while True:
        if should_stop() and not cancelled:
            cancelled = True
            m.cancel()
            deadline = time.monotonic() + CANCEL_WAIT
        m.merge()
        now = time.monotonic()
        if now - last_poll >= POLL_SECONDS:
            last_poll = now
            queued = queued_tasks(m.jobs())
            if queued is None:
                squeue_failures += 1
                if squeue_failures >= SQUEUE_FAILURES:
                    raise SlurmError(f"squeue failed {squeue_failures} times in a row")
            else:
                squeue_failures = 0
                lost = m.unfinished_of_ended(queued)
                on_tasks(m.counts(queued))
                if cancelled:
                    if not m.live(queued) or now > deadline:
                        m.merge()
                        return "cancelled"
                elif lost:
                    fruitless = 1 if m.added > added_at_loss else fruitless + 1
                    added_at_loss = m.added
                    if fruitless >= MAX_FRUITLESS:
                        raise SlurmError(f"tasks ended unfinished {fruitless} times in a row without a cell recorded "
                                         f"in between; the last one's log: {m.log_tail(lost[-1][0])}")
                    missing = np.zeros(len(journal.done), dtype=bool)
                    for _, c in lost:
                        missing[c] = True
                    cells, levels = journal.pending()
                    sel = missing[cells]
                    m.submit(cells[sel], levels[sel], min(settings["tasks"], len(lost)))
                elif not m.live(queued):
                    if journal.done.all():
                        return "completed"
                    # Nothing queued and cells missing that no task was given (cannot happen unless a
                    # shard plan was lost): give them to a new round.
                    cells, levels = journal.pending()
                    m.submit(cells, levels, settings["tasks"])
        on_idle()
        time.sleep(MERGE_SECONDS)


# ============================================================================ a task on a compute node

def task_main(sweep_dir, round_, task=None):
    """One array task: train its shard's unrecorded cells into its shard journal. Exit code 0 when the
    shard is complete, 143 when stopped by SIGTERM (scancel, preemption), 1 on failure."""
    from . import scheduler
    sweep_dir = pathlib.Path(sweep_dir)
    if task is None:
        task = int(os.environ["SLURM_ARRAY_TASK_ID"])
    rd = sweep_dir / "slurm" / f"r{round_}"
    plan = np.load(rd / f"t{task}.npy")
    meta = json.loads((rd / "plan.json").read_text())
    spec = json.loads((sweep_dir / "spec.json").read_text())
    started = time.monotonic()
    env = envinfo.probe()
    stop = {"now": False}

    def on_term(signum, frame):
        stop["now"] = True
        print(f"task {task}: signal {signum}: stopping after the chunks in flight", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    j, existing = Journal.open_or_create(rd / f"t{task}", sweep_dir.name, spec, env)
    try:
        if existing:
            j.append_resume(env)  # requeued by Slurm: the shard keeps what it has
        todo = ~j.done[plan[0]]
        cells, levels = plan[0][todo], plan[1][todo]
        want_base = meta.get("base_task") == task and j.base is None
        print(f"task {task} of round {round_} on {env['hostname']}: {len(cells)} of {plan.shape[1]} cells",
              file=sys.stderr, flush=True)
        devs = scheduler.devices(None, None)
        if devs == ["cpu"]:
            status = _train_here(spec, cells, levels, j, want_base, lambda: stop["now"])
        else:
            status = scheduler.run(spec, cells, levels, devs, j.append_tile, lambda: stop["now"], j.sync_if_due,
                                   on_base=j.append_base if want_base else None)
        j.append_done(status)
    except Exception as e:
        j.append_done("failed", f"{type(e).__name__}: {e}")
        raise
    finally:
        j.close()
    t = os.times()  # this process and its joined GPU workers
    print(f"task {task}: {status}, {len(cells)} cells, cpu {t.user + t.system + t.children_user + t.children_system:.1f} s, "
          f"wall {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
    return 0 if status == "completed" else 143


def _train_here(spec, cells, levels, j, want_base, should_stop):
    """One CPU task: train in this process (no worker to spawn), with the CPUs Slurm gave the task."""
    import torch

    from . import scheduler, trainer
    torch.set_num_threads(int(os.environ.get("SLURM_CPUS_PER_TASK") or 1))
    if want_base:
        from . import sft
        j.append_base(scheduler._plain(sft.base_metrics(spec, "cpu")))
    population = scheduler.population_size(spec, "cpu")
    for level, chunk in scheduler.chunks(spec, np.asarray(cells, dtype=np.int64), np.asarray(levels), population, 1):
        if should_stop():
            return "cancelled"
        j.append_tile(level, trainer.run_cells(spec, chunk, "cpu"))
    return "completed"
