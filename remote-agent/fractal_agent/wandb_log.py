"""Optional Weights & Biases logging: one W&B run per finished sweep, with summary numbers and maps.

On when the `wandb` package is importable and W&B is set up the way wandb itself reads it:
WANDB_API_KEY, WANDB_MODE online / offline / dryrun, or a netrc entry (NETRC, default ~/.netrc) for
the W&B host (WANDB_BASE_URL, default https://api.wandb.ai). WANDB_MODE=disabled turns it off. Runs
go to WANDB_PROJECT (default "fractal-llm") of WANDB_ENTITY when set. wandb is imported only when
it is on: the agent needs nothing beyond stdlib + torch + numpy.

Everything logged is read back from the sweep's journal, so a sweep that ran in several processes
(resumed) logs all of its cells; the W&B run id is the sweep id, so a resumed sweep updates its run.
The maps are also written next to the journal as PNG files, y up (row iy = 0 at the bottom):

    map-score.png      the paper's score colouring (DESIGN "Per-cell outcome"), cells not done grey
    map-trainable.png  trainable blue, untrainable red, cells not done grey
"""
import hashlib
import importlib.util
import netrc
import os
import pathlib
import re
import struct
import threading
import urllib.parse
import zlib

import numpy as np

from .journal import JOURNAL, read_results

DEFAULT_PROJECT = "fractal-llm"
ON_MODES = ("online", "offline", "dryrun")

# The colours of src-main/analysis/colour.ts, so a logged map looks like the app's.
SPECTRAL = np.array([  # matplotlib's Spectral (ColorBrewer, 11 classes), from 0 (red) to 1 (blue)
    [0x9e, 0x01, 0x42], [0xd5, 0x3e, 0x4f], [0xf4, 0x6d, 0x43], [0xfd, 0xae, 0x61], [0xfe, 0xe0, 0x8b],
    [0xff, 0xff, 0xbf], [0xe6, 0xf5, 0x98], [0xab, 0xdd, 0xa4], [0x66, 0xc2, 0xa5], [0x32, 0x88, 0xbd],
    [0x5e, 0x4f, 0xa2]], dtype=np.float64)
NOT_DONE = np.array([0xd9, 0xd9, 0xd9], dtype=np.uint8)
YES, NO = SPECTRAL[9].astype(np.uint8), SPECTRAL[1].astype(np.uint8)

_one_run_at_a_time = threading.Lock()  # wandb keeps one current run per process; the daemon has threads


# ----------------------------------------------------------------------------- configuration

def enabled(environ=os.environ):
    """W&B logging is on: wandb is installed and configured by its own conventions (module docstring).
    Raises netrc.NetrcParseError for a netrc file that cannot be parsed."""
    if importlib.util.find_spec("wandb") is None:
        return False
    mode = environ.get("WANDB_MODE", "")
    if mode == "disabled":
        return False
    if mode in ON_MODES or environ.get("WANDB_API_KEY"):
        return True
    path = pathlib.Path(environ.get("NETRC") or "~/.netrc").expanduser()
    host = urllib.parse.urlparse(environ.get("WANDB_BASE_URL") or "https://api.wandb.ai").netloc
    return path.is_file() and netrc.netrc(path).authenticators(host) is not None


def run_id(sweep_id):
    """The sweep id in W&B's run-id alphabet (letters, digits, '-', '_'; at most 64 characters). An id
    that had to change gets a hash of the original, so two sweeps never share a run."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", sweep_id)
    if safe == sweep_id and len(safe) <= 64:
        return safe
    return f"{safe[:55]}-{hashlib.sha256(sweep_id.encode()).hexdigest()[:8]}"


# ----------------------------------------------------------------------------- summary numbers

def summary(results):
    """Simple numbers of a sweep from journal.read_results(). Numbers that a sweep lacks (no recorded
    cell, no finite held-out loss, no evals) are left out rather than logged as NaN."""
    f, rec, done = results["fields"], results["recorded"], results["done"]
    out = {"cells": int(len(rec)), "recorded": int(rec.sum()), "status": done["status"]}
    if done["error"] is not None:
        out["error"] = done["error"]

    def put(key, values, reduce):
        values = values[np.isfinite(values)]
        if len(values):
            out[key] = float(reduce(values))

    if rec.any():
        trainable = rec & (f["trainable"] == 1)
        out["fraction_trainable"] = float(trainable.sum() / rec.sum())
        out["fraction_stable"] = float((f["stable"][rec] == 1).mean())
        put("final_loss/best", f["final_loss"][rec], np.min)
        put("final_loss/median_trainable", f["final_loss"][trainable], np.median)
        for name in ("heldout_loss", "ood_loss"):
            put(f"{name}/median", f[name][rec], np.median)
        for name in sorted(n for n in f if n.startswith("eval.")):  # eval.<task>.acc / .acc_norm
            task, metric = name[len("eval."):].rsplit(".", 1)
            put(f"eval/{task}/{metric}_mean", f[name][rec], np.mean)
    base = results["base"]  # the untrained model (SFT sweeps): forgetting is the difference from it
    if base is not None:
        for name in ("heldout_loss", "ood_loss"):
            if base[name] is not None:
                out[f"base/{name}"] = base[name]
        for task, m in base["evals"].items():
            out[f"base/eval/{task}/acc"], out[f"base/eval/{task}/acc_norm"] = m["acc"], m["acc_norm"]
    return out


# ----------------------------------------------------------------------------- maps

def rank_equalise(score, include):
    """The paper's rank equalisation, already negated (colour.ts rankEqualise): values in [-1, 1], NaN
    where `include` is false or the score is NaN. Ties share their mean rank. Converged (negative
    score) -> [0.25, 1], diverged -> [-1, -0.25]."""
    out = np.full(len(score), np.nan)
    idx = np.flatnonzero(include & ~np.isnan(score))
    idx = idx[np.argsort(score[idx], kind="stable")]
    s = score[idx]
    n_neg = int((s < 0).sum())
    n_pos = len(s) - n_neg
    _, first, count = np.unique(s, return_index=True, return_counts=True)
    r = np.repeat((first + (first + count - 1)) / 2, count)  # s is sorted: groups are runs
    # Same operations in the same order as colour.ts, so the colours agree to the last bit.
    v = np.where(s < 0, -1 + (0.75 * r) / max(n_neg - 1, 1), 0.25 + (0.75 * (r - n_neg)) / max(n_pos - 1, 1))
    out[idx] = -v
    return out


def spectral(v):
    """(n,) values in [-1 red, 1 blue] -> (n, 3) uint8 by linear interpolation between the stops,
    rounded half up like JavaScript's Math.round."""
    u = np.clip((v + 1) / 2, 0, 1) * (len(SPECTRAL) - 1)
    i = np.minimum(len(SPECTRAL) - 2, np.floor(u).astype(np.int64))
    f = (u - i)[:, None]
    return np.floor(SPECTRAL[i] + f * (SPECTRAL[i + 1] - SPECTRAL[i]) + 0.5).astype(np.uint8)


def score_colours(results):
    """(cells, 3) uint8: the paper's colouring of the score, cells without a result grey."""
    rec = results["recorded"]
    rgb = np.tile(NOT_DONE, (len(rec), 1))
    if rec.any():  # (a sweep without a tile has no fields at all)
        v = rank_equalise(results["fields"]["score"], rec)
        ok = ~np.isnan(v)
        rgb[ok] = spectral(v[ok])
    return rgb


def trainable_colours(results):
    """(cells, 3) uint8: trainable blue, untrainable red, cells without a result grey."""
    rec = results["recorded"]
    rgb = np.tile(NOT_DONE, (len(rec), 1))
    if rec.any():
        rgb[rec] = np.where((results["fields"]["trainable"][rec] == 1)[:, None], YES, NO)
    return rgb


def write_png(path, rgb):
    """(height, width, 3) uint8, top row first -> an 8-bit RGB PNG (no imaging library needed)."""
    h, w, _ = rgb.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), rgb.reshape(h, w * 3)], axis=1)  # filter 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    pathlib.Path(path).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                                   + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))


def write_maps(directory, results):
    """Write map-score.png and map-trainable.png (one pixel per cell, y up); returns {name: path}."""
    ax = results["sweep"]["spec"]["axes"]
    nx, ny = ax["x"]["points"], ax["y"]["points"]
    paths = {}
    for name, colours in (("score", score_colours), ("trainable", trainable_colours)):
        paths[name] = pathlib.Path(directory) / f"map-{name}.png"
        write_png(paths[name], colours(results).reshape(ny, nx, 3)[::-1])  # cell iy * nx + ix; iy = 0 at the bottom
    return paths


# ----------------------------------------------------------------------------- logging

def sweep_ended(directory, report):
    """After a sweep's done event: log the sweep in `directory` as one W&B run, when W&B is on.

    Called by whoever wrote the done event (`run`, the daemon). A W&B failure goes to report(message)
    and changes nothing else: the sweep's result is already in its journal. Returns whether it logged.
    """
    try:
        on = enabled()
    except netrc.NetrcParseError as e:
        report(f"W&B: not logging sweep {pathlib.Path(directory).name}: cannot parse {e.filename} "
               f"(line {e.lineno}): {e.msg}")
        return False
    if not on:
        return False
    results = read_results(pathlib.Path(directory) / JOURNAL)
    numbers, images = summary(results), write_maps(directory, results)
    sweep = results["sweep"]
    with _one_run_at_a_time:
        try:
            _log_run(sweep, numbers, images)
        except Exception as e:  # wandb's (network, auth, quota): report it; the sweep stands
            report(f"W&B logging of sweep {sweep['sweep']} failed ({type(e).__name__}: {e}); "
                   f"its results are unaffected in {pathlib.Path(directory) / JOURNAL}")
            return False
    return True


def _log_run(sweep, numbers, images):
    import wandb
    run = wandb.init(project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT,
                     entity=os.environ.get("WANDB_ENTITY") or None, name=sweep["spec"]["name"],
                     id=run_id(sweep["sweep"]), resume="allow", job_type="sweep",
                     config={"spec": sweep["spec"], "env": sweep["env"]})
    try:
        run.summary.update(numbers)
        run.log({f"map/{name}": wandb.Image(str(path)) for name, path in images.items()})
    finally:
        run.finish()  # also after a failure: the daemon logs the next sweep in this same process
