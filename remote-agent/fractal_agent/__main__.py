"""CLI: python3 -m fractal_agent env | validate | run | rerun | samples | daemon | attach | pretrain

Exit codes: 0 ok, 1 runtime failure (sweep failed, daemon unreachable, torch missing), 2 bad input
(spec error, unreadable file, bad arguments), 130 interrupted (the sweep is journalled as cancelled).
"""
import argparse
import json
import os
import pathlib
import signal
import sys
import time

# Seconds a daemon lingers with no sweep and no client: $FRACTAL_AGENT_IDLE_TIMEOUT, else an hour (a node's
# daemon; the app's local transport passes --idle-timeout 60, so a laptop's exits within a minute or two).
DEFAULT_IDLE_TIMEOUT = float(os.environ.get("FRACTAL_AGENT_IDLE_TIMEOUT") or 3600.0)

def _json_from_file(path):
    """The JSON of a file ("-": standard input); exits 2 when it cannot be read or parsed."""
    try:
        text = sys.stdin.read() if path == "-" else pathlib.Path(path).read_text()
    except OSError as e:
        sys.exit(_fail(f"error: cannot read spec file {path}: {e.strerror}", 2))
    try:
        return json.loads(text)
    except ValueError as e:
        sys.exit(_fail(f"spec error: (file {path}): not valid JSON: {e}", 2))


def _spec_from_file(path, raw=None):
    """Read and validate a spec file ("-": standard input, so a client needs no file on the node);
    exits 2 with "spec error: <field>: <message>" on bad input."""
    from .spec import SpecError, validate
    if raw is None:
        raw = _json_from_file(path)
    try:
        return validate(raw)
    except SpecError as e:
        sys.exit(_fail(f"spec error: {e.field or '(top level)'}: {e.message}", 2))


def _fail(message, code):
    print(message, file=sys.stderr)
    return code


def cmd_env(args):
    from .envinfo import probe
    info = probe()
    print(json.dumps(info))
    return 1 if info["error"] else 0


def cmd_validate(args):
    print(json.dumps(_spec_from_file(args.spec), indent=1))
    return 0


def _duration(seconds):
    s = int(round(seconds))
    return f"{s // 3600}h{s // 60 % 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


class Progress:
    """cells done/total, rate and ETA on stderr: redrawn in place on a terminal, a line a second otherwise."""

    def __init__(self, sweep_id, total, done):
        self.sweep_id, self.total, self.done = sweep_id, total, done
        self.start_done, self.t0, self.shown, self.shown_done = done, time.monotonic(), 0.0, None
        self.tty = sys.stderr.isatty()

    def update(self, n, final=False):
        self.done += n
        now = time.monotonic()
        if (final and self.shown_done == self.done) or (not final and now - self.shown < (0.1 if self.tty else 1.0)):
            return
        self.shown, self.shown_done = now, self.done
        rate = (self.done - self.start_done) / max(now - self.t0, 1e-9)
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        line = (f"{self.sweep_id}: {self.done}/{self.total} cells ({100 * self.done / max(self.total, 1):.1f}%), "
                f"{rate:.1f} cells/s, ETA {eta}")
        print(("\r" + line + "\x1b[K") if self.tty else line, end="\n" if final or not self.tty else "",
              file=sys.stderr, flush=True)


def cmd_samples(args):
    """Re-run one cell of an SFT sweep and answer prompts with the base and the fine-tuned model.

    The input is a spec, or {"spec": SPEC, "prompts": [TEXT, ...] | null}: what the app sends on stdin
    (`samples -`), so prompt text never appears in a command line (ps, shell history, SSH logs)."""
    raw = _json_from_file(args.spec)
    if isinstance(raw, dict) and "spec" in raw:
        prompts = raw.get("prompts")
        if prompts is not None and (not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts)):
            return _fail("error: prompts must be a list of strings, or null for held-out prompts", 2)
        if prompts is not None and args.prompt is not None:
            return _fail("error: give prompts in the input or as --prompt, not both", 2)
        if prompts:
            args.prompt = prompts
        raw = raw["spec"]
    spec = _spec_from_file(args.spec, raw)
    from .spec import cell_count
    if spec["model"]["family"] != "gpt":
        return _fail(f"error: samples need a language model sweep (model.family gpt), not {spec['model']['family']}", 2)
    if not 0 <= args.cell < cell_count(spec):
        return _fail(f"error: --cell must be in 0..{cell_count(spec) - 1} (row-major: iy * nx + ix), got {args.cell}", 2)
    if args.prompt is None and spec["data"]["heldout"] == 0:
        return _fail("error: give --prompt (repeatable): the sweep holds out no conversations to take prompts from "
                     "(data.heldout is 0)", 2)
    import torch
    from .samples import cell_samples
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    print(json.dumps(cell_samples(spec, args.cell, args.prompt, device, args.max_new_tokens, args.heldout)))
    return 0


def cmd_rerun(args):
    """Answer {"spec", "cell"} request lines on stdin with each cell's tile (curves included), until EOF."""
    from .rerun import serve
    serve(sys.stdin, sys.stdout, args.device)
    return 0


def cmd_run(args):
    spec = _spec_from_file(args.spec)  # exits before anything is written
    from . import envinfo, sampling, scheduler, wandb_log
    from .journal import Journal, JournalError
    try:
        devs = scheduler.devices(args.device, args.workers)
    except ValueError as e:
        return _fail(f"error: {e}", 2)
    out = pathlib.Path(args.out)
    sweep_id = args.sweep or out.resolve().name
    env = envinfo.probe()
    try:
        j, existing = Journal.open_or_create(out, sweep_id, spec, env)
    except JournalError as e:
        return _fail(f"error: {e}", 2)
    try:
        if existing and j.status == "completed":
            print(f"{j.sweep_id}: already completed ({j.done_count}/{j.total} cells) in {out}", file=sys.stderr)
            print(json.dumps({"sweep": j.sweep_id, "status": "completed", "dir": str(out),
                              "cells": j.total, "recorded": j.done_count, "error": None}))
            return 0
        if existing and j.last_seq > 1:
            print(f"{j.sweep_id}: resuming, {j.done_count}/{j.total} cells already recorded", file=sys.stderr)
            j.append_resume(env)
        cells, levels = j.pending()
        progress = Progress(j.sweep_id, j.total, j.done_count)
        stop = {"signal": None}

        def on_signal(signum, frame):
            stop["signal"] = signum
            print(f"\n{j.sweep_id}: {signal.Signals(signum).name}: finishing the chunks in flight, then stopping",
                  file=sys.stderr, flush=True)

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        def on_tile(level, results):
            j.append_tile(level, results)
            progress.update(len(results["cell"]))

        error = None
        try:
            status = scheduler.run(spec, cells, levels, devs, on_tile, lambda: stop["signal"] is not None,
                                   j.sync_if_due, population=args.population, on_base=scheduler.base_wanted(j, j.append_base),
                                   plan=sampling.plan_for(spec, j))
        except scheduler.WorkerError as e:
            status, error = "failed", str(e)
        j.append_done(status, error)
        progress.update(0, final=True)
        print(json.dumps({"sweep": j.sweep_id, "status": status, "dir": str(out),
                          "cells": j.total, "recorded": j.done_count, "error": error}), flush=True)
        wandb_log.sweep_ended(out, report=lambda message: print(f"error: {message}", file=sys.stderr, flush=True))
        if error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 130 if status == "cancelled" else 0
    finally:
        j.close()


def cmd_daemon(args):
    from .home import home_dir
    from .launcher import start
    home = home_dir(args.home)
    pid, started = start(home, args.idle_timeout, args.workers, args.device)
    print(json.dumps({"pid": pid, "started": started, "home": str(home), "socket": str(home / "agent.sock")}))
    return 0


def cmd_attach(args):
    from .attach import attach
    from .home import home_dir
    home = home_dir(args.home)
    return attach(home, args.sweep, args.since, args.no_start, args.idle_timeout, args.workers, args.device)


def cmd_pretrain(args, rest):
    from . import pretrain
    return pretrain.main(rest)


def positive_float(s):
    v = float(s)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {s}")
    return v


def positive_int(s):
    v = int(s)
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {s}")
    return v


def cmd_slurm_task(args):
    from . import slurm
    return slurm.task_main(args.sweep_dir, args.round, args.task)


def main(argv=None):
    from . import AGENT_VERSION
    ap = argparse.ArgumentParser(prog="python3 -m fractal_agent",
                                 description=f"Fractal LLM Explorer remote agent {AGENT_VERSION}")
    sub = ap.add_subparsers(dest="command", required=True)

    sub.add_parser("env", help="print one JSON object: python, torch, CUDA, GPUs, versions")

    p = sub.add_parser("validate", help="print the normalised spec, or the error naming the field")
    p.add_argument("spec")

    workers_help = "CPU: worker processes (default 1); CUDA: use at most N GPUs (default all)"
    p = sub.add_parser("run", help="run a sweep in the foreground; re-running with the same --out resumes")
    p.add_argument("spec")
    p.add_argument("--out", required=True, help="sweep directory (journal.jsonl, spec.json, env.json)")
    p.add_argument("--sweep", help="sweep id recorded in the journal (default: the --out directory's name)")
    p.add_argument("--workers", type=positive_int, help=workers_help)
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when a GPU is visible, else cpu")
    p.add_argument("--population", type=positive_int,
                   help="most cells trained together in one chunk (default: the trainer's maximum)")

    p = sub.add_parser("rerun", help="re-run single MLP cells with their loss curves: one {\"spec\", \"cell\"} "
                                     "request a line on stdin, one JSON answer a line on stdout, until EOF")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="where to train (default %(default)s)")

    p = sub.add_parser("samples", help="re-run one SFT cell; print base and fine-tuned answers to prompts as JSON")
    p.add_argument("spec", help='spec file, or - to read it from standard input; either may hold '
                                '{"spec": SPEC, "prompts": [TEXT, ...]} instead of the bare spec')
    p.add_argument("--cell", type=int, required=True, help="cell index, row-major (iy * nx + ix)")
    p.add_argument("--prompt", action="append", help="a user message to answer (repeatable; default: held-out prompts)")
    p.add_argument("--heldout", type=positive_int, default=3,
                   help="without --prompt: answer the first N held-out conversations (default %(default)s)")
    p.add_argument("--max-new-tokens", type=positive_int, default=64)
    p.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when a GPU is visible, else cpu")

    home_help = "daemon home (default $FRACTAL_AGENT_HOME or ~/.fractal-agent)"
    p = sub.add_parser("daemon", help="start the detached daemon (one per user) unless it runs")
    p.add_argument("--home", help=home_help)
    p.add_argument("--idle-timeout", type=positive_float, default=DEFAULT_IDLE_TIMEOUT,
                   help="exit after this many seconds with no sweep and no client (default %(default)g)")
    p.add_argument("--workers", type=positive_int, help=workers_help)
    p.add_argument("--device", choices=("cpu", "cuda"))

    p = sub.add_parser("attach", help="bridge stdio to the daemon (starting it): replay after --since, then live")
    p.add_argument("--sweep", help="only this sweep (default: every sweep, and new ones)")
    p.add_argument("--since", type=int, default=0, help="replay journal events with seq > N (default 0)")
    p.add_argument("--home", help=home_help)
    p.add_argument("--no-start", action="store_true", help="fail instead of starting a daemon")
    p.add_argument("--idle-timeout", type=positive_float, default=DEFAULT_IDLE_TIMEOUT,
                   help="for a daemon this starts (default %(default)g)")
    p.add_argument("--workers", type=positive_int, help="for a daemon this starts: " + workers_help)
    p.add_argument("--device", choices=("cpu", "cuda"), help="for a daemon this starts")

    sub.add_parser("pretrain", help="train the tiny base checkpoint (see its --help)", add_help=False)

    p = sub.add_parser("slurm-task", help="one task of a sweep's Slurm job array (slurm.py submits it)")
    p.add_argument("sweep_dir")
    p.add_argument("round", type=int)
    p.add_argument("--task", type=int, help="array task id (default $SLURM_ARRAY_TASK_ID)")

    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["pretrain"]:
        return cmd_pretrain(None, argv[1:])
    args = ap.parse_args(argv)
    if args.command == "attach" and args.since < 0:
        ap.error(f"--since must be >= 0, got {args.since}")
    return {"env": cmd_env, "validate": cmd_validate, "run": cmd_run, "rerun": cmd_rerun, "samples": cmd_samples, "daemon": cmd_daemon,
            "attach": cmd_attach, "slurm-task": cmd_slurm_task}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
