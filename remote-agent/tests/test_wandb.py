"""Optional W&B logging (fractal_agent/wandb_log.py) through real `run` and daemon processes.

wandb itself cannot be installed here, so each test writes a stand-in `wandb` package that appends
every call it gets (init kwargs, summary updates, images, log, finish) to a JSON-lines file, and
puts it on the agent's PYTHONPATH. Everything else is real: the trainer, the journal, the PNGs.
"""
import json
import os
import struct
import subprocess
import zlib

import numpy as np
import pytest

from fractal_agent import tiles, wandb_log
from fractal_agent.journal import Journal, read_events, read_results
from conftest import mlp_spec, tiny_spec
from test_cli import AGENT_DIR, PYTHON, unloadable_spec, write_spec
from test_daemon import Attach, Daemons, wait_for

FAKE_WANDB = '''
"""Stand-in for wandb: records every call to $FAKE_WANDB_RECORD. A run named fail-log* refuses log(),
one named slow* takes 2 s to finish."""
import json
import os
import time


def _record(call, **fields):
    with open(os.environ["FAKE_WANDB_RECORD"], "a") as f:
        f.write(json.dumps({"call": call, "pid": os.getpid(), **fields}, allow_nan=False) + "\\n")


class Image:
    def __init__(self, path):
        self.path = path
        _record("Image", path=path)


class _Summary:
    def __init__(self, run):
        self.run = run

    def update(self, values):
        _record("summary.update", id=self.run.id, values=values)


class _Run:
    def __init__(self, kwargs):
        self.kwargs, self.id = kwargs, kwargs["id"]
        self.summary = _Summary(self)

    def log(self, data):
        if self.kwargs["name"].startswith("fail-log"):
            raise ConnectionError("fake W&B refused the upload")
        _record("log", id=self.id, images={k: v.path for k, v in data.items()})

    def finish(self):
        if self.kwargs["name"].startswith("slow"):
            time.sleep(2)
        _record("finish", id=self.id)


def init(**kwargs):
    _record("init", kwargs=kwargs)
    return _Run(kwargs)
'''

YES, NO, GREY = (0x32, 0x88, 0xbd), (0xd5, 0x3e, 0x4f), (0xd9, 0xd9, 0xd9)  # colour.ts YES, NO, NOT_DONE


def fake_wandb(tmp_path):
    (tmp_path / "fake" / "wandb").mkdir(parents=True, exist_ok=True)
    (tmp_path / "fake" / "wandb" / "__init__.py").write_text(FAKE_WANDB)
    return tmp_path / "fake"


def wandb_env(tmp_path, fake=True, **extra):
    """The agent's environment: our own HOME (no real ~/.netrc), none of the caller's W&B settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_") and k != "NETRC"}
    (tmp_path / "home").mkdir(exist_ok=True)
    path = ([str(fake_wandb(tmp_path))] if fake else []) + [str(AGENT_DIR)]
    env.update(PYTHONPATH=os.pathsep.join(path), HOME=str(tmp_path / "home"),
               FAKE_WANDB_RECORD=str(tmp_path / "wandb-calls.jsonl"), **extra)
    return env


def calls(tmp_path):
    path = tmp_path / "wandb-calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run_agent(tmp_path, spec, out, env, *args):
    return subprocess.run([PYTHON, "-m", "fractal_agent", "run", str(write_spec(tmp_path, spec)), "--out", str(out),
                           *args], env=env, capture_output=True, text=True, timeout=180)


def read_png(path):
    """A strict reader of what a PNG writer must produce: signature, CRCs, IHDR, IDAT, IEND."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        assert struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])[0] == zlib.crc32(kind + body), kind
        chunks.append((kind, body))
        pos += 12 + n
    assert chunks[0][0] == b"IHDR" and chunks[-1] == (b"IEND", b"") and pos == len(data)
    w, h, depth, colour, compression, filtering, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, compression, filtering, interlace) == (8, 2, 0, 0, 0)  # 8-bit RGB, plain
    rows = np.frombuffer(zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT")), np.uint8)
    rows = rows.reshape(h, 1 + 3 * w)
    assert (rows[:, 0] == 0).all(), "this reader only knows filter 0 (none), which the agent writes"
    return rows[:, 1:].reshape(h, w, 3)


def pixel(image, cell, nx):
    """The pixel of a cell (row-major iy * nx + ix) in an image with y up."""
    iy, ix = divmod(cell, nx)
    return tuple(int(c) for c in image[image.shape[0] - 1 - iy, ix])


def journal_cells(out):
    """Per-cell fields straight from the journal's tiles (the writer records each cell once)."""
    tl = [tiles.unpack(e) for e in read_events(out / "journal.jsonl") if e["type"] == "tile"]
    cat = {k: np.concatenate([t[k] for t in tl]) for k in tl[0] if k not in tiles.CURVES}
    order = np.argsort(cat["cell"])
    return {k: v[order] for k, v in cat.items()}


# ----------------------------------------------------------------------------- through `run`

def test_run_logs_one_wandb_run_with_the_spec_summary_and_both_maps(tmp_path):
    out = tmp_path / "sweep"
    r = run_agent(tmp_path, tiny_spec(), out, wandb_env(tmp_path, WANDB_MODE="offline"), "--sweep", "tiny.1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "completed" and "W&B" not in r.stderr

    got = calls(tmp_path)
    assert [c["call"] for c in got] == ["init", "summary.update", "Image", "Image", "log", "finish"]
    events = list(read_events(out / "journal.jsonl"))
    init = got[0]["kwargs"]
    assert init["config"] == {"spec": events[0]["spec"], "env": json.loads((out / "env.json").read_text())}
    assert init["config"]["spec"]["criterion"] == {"window": 20, "threshold": 1.0}  # normalised, not the raw file
    assert {k: init[k] for k in ("project", "entity", "name", "resume", "job_type")} == \
        {"project": "fractal-llm", "entity": None, "name": "tiny", "resume": "allow", "job_type": "sweep"}
    assert init["id"] == wandb_log.run_id("tiny.1") and init["id"].startswith("tiny-1-")
    assert set(init["id"]) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")

    c = journal_cells(out)
    assert c["cell"].tolist() == list(range(64))
    trainable = c["trainable"] == 1
    assert 0 < trainable.sum() < 64, "the test needs both kinds of cells"
    summary = got[1]["values"]
    assert set(summary) == {"cells", "recorded", "status", "fraction_trainable", "fraction_stable",
                            "final_loss/best", "final_loss/median_trainable"}  # MLP: no held-out loss, no evals
    assert (summary["cells"], summary["recorded"], summary["status"]) == (64, 64, "completed")
    assert summary["fraction_trainable"] == pytest.approx(trainable.mean(), rel=1e-12)
    assert summary["fraction_stable"] == pytest.approx((c["stable"] == 1).mean(), rel=1e-12)
    final = c["final_loss"]
    assert summary["final_loss/best"] == pytest.approx(final[np.isfinite(final)].min(), rel=1e-12)
    assert summary["final_loss/median_trainable"] == pytest.approx(np.median(final[trainable]), rel=1e-12)

    logged = got[4]["images"]
    assert logged == {"map/score": str(out / "map-score.png"), "map/trainable": str(out / "map-trainable.png")}
    assert [got[2]["path"], got[3]["path"]] == list(logged.values())
    grid = trainable.reshape(8, 8)
    assert not np.array_equal(grid, grid[::-1]) and not np.array_equal(grid, grid.T), \
        "an up-down symmetric map could not catch a flipped image"
    binary = read_png(out / "map-trainable.png")
    assert binary.shape == (8, 8, 3)
    assert all(pixel(binary, i, 8) == (YES if trainable[i] else NO) for i in range(64))
    score = read_png(out / "map-score.png")
    assert score.shape == (8, 8, 3)
    for i in range(64):
        r_, g_, b_ = pixel(score, i, 8)
        # Spectral's converged half (t >= 0.625) is green to blue, its diverged half red to yellow.
        assert (r_ < max(g_, b_)) if trainable[i] else (r_ > g_ and r_ > b_), (i, (r_, g_, b_))
    assert pixel(score, int(np.argmin(c["score"])), 8) == (0x5e, 0x4f, 0xa2)  # most converged: Spectral's end
    assert pixel(score, int(np.argmax(c["score"])), 8) == (0x9e, 0x01, 0x42)  # longest lasting divergence


def test_without_wandb_or_with_wandb_disabled_nothing_is_logged_and_the_results_are_the_same(tmp_path):
    runs = {"logged": wandb_env(tmp_path, WANDB_MODE="offline"),
            "no wandb": wandb_env(tmp_path, fake=False, WANDB_MODE="offline", WANDB_API_KEY="k"),
            "disabled": wandb_env(tmp_path, WANDB_MODE="disabled", WANDB_API_KEY="k")}
    results = {}
    for name, env in runs.items():
        out = tmp_path / name.replace(" ", "-")
        before = len(calls(tmp_path))
        r = run_agent(tmp_path, tiny_spec(4, 4, 20), out, env)
        assert r.returncode == 0 and json.loads(r.stdout)["status"] == "completed", r.stderr
        logged = len(calls(tmp_path)) > before
        assert logged == (name == "logged") and (out / "map-score.png").exists() == logged, name
        results[name] = {k: v for k, v in journal_cells(out).items() if k != "wall_time"}  # wall time is a timing
    for name in ("no wandb", "disabled"):
        assert results[name].keys() == results["logged"].keys()
        for k, v in results["logged"].items():
            np.testing.assert_array_equal(results[name][k], v, err_msg=f"{name}: {k}")


def test_a_wandb_failure_leaves_the_sweep_completed_and_says_so_on_stderr(tmp_path):
    out = tmp_path / "sweep"
    r = run_agent(tmp_path, {**tiny_spec(4, 4, 20), "name": "fail-log"}, out, wandb_env(tmp_path, WANDB_API_KEY="k"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"sweep": "sweep", "status": "completed", "dir": str(out), "cells": 16,
                                    "recorded": 16, "error": None}
    done = list(read_events(out / "journal.jsonl"))[-1]
    assert done["type"] == "done" and done["status"] == "completed" and done["recorded"] == 16
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "W&B" in errors[0] and "fake W&B refused the upload" in errors[0], r.stderr
    assert [c["call"] for c in calls(tmp_path)][-1] == "finish", "the run is finished even after a failure"


def test_a_failed_sweep_without_any_cell_is_logged_with_its_error_and_a_grey_map(tmp_path):
    out = tmp_path / "out"
    r = run_agent(tmp_path, unloadable_spec(nx=3), out, wandb_env(tmp_path, WANDB_MODE="offline"))
    assert r.returncode == 1 and "W&B" not in r.stderr, r.stderr
    summary = next(c for c in calls(tmp_path) if c["call"] == "summary.update")["values"]
    assert summary.keys() == {"cells", "recorded", "status", "error"}
    assert (summary["cells"], summary["recorded"], summary["status"]) == (6, 0, "failed")
    assert "hf:/nonexistent/checkpoint" in summary["error"]
    for name in ("score", "trainable"):
        assert (read_png(out / f"map-{name}.png").reshape(-1, 3) == GREY).all() and \
            read_png(out / f"map-{name}.png").shape == (2, 3, 3)


# ----------------------------------------------------------------------------- maps and numbers from a journal

def test_maps_and_summary_of_a_hand_made_journal(tmp_path):
    """Known scores -> known colours (worked out by hand from colour.ts), ties, a cell recorded twice,
    a cell not done, base metrics and evals."""
    spec = mlp_spec(x=("lr.input", "log", [-2.0, 1.0], 3), y=("lr.output", "log", [-2.0, 1.0], 2))
    j, _ = Journal.open_or_create(tmp_path / "s", "hand", spec, {"agent": "test"})
    nan = float("nan")
    j.append_base({"heldout_loss": 2.5, "ood_loss": None, "evals": {"piqa": {"acc": 0.5, "acc_norm": 0.625, "n": 8}}})
    j.append_tile(0, {"cell": np.arange(5, dtype=np.int64),
                      "trainable": np.array([1, 1, 1, 0, 0], np.uint8), "stable": np.array([1, 1, 1, 1, 0], np.uint8),
                      "score": np.array([-3.0, -1.0, -1.0, 0.5, 2.0]),
                      "final_loss": np.array([0.1, 0.4, 0.3, 5.0, np.inf]),
                      "heldout_loss": np.array([1.0, 2.0, 4.0, nan, nan]), "ood_loss": np.full(5, nan),
                      "eval.piqa.acc": np.array([0.5, 0.75, 1.0, 0.25, nan]),
                      "eval.piqa.acc_norm": np.array([0.25, 0.5, 0.5, 0.25, nan])})
    # A second record of cell 0 (a damaged journal; the writer never does this): the first one counts.
    j.append({"type": "tile", "sweep": "hand", "level": 0, **tiles.pack({
        "cell": np.array([0]), "trainable": np.array([0], np.uint8), "stable": np.array([0], np.uint8),
        "score": np.array([9.0]), "final_loss": np.array([0.0]), "heldout_loss": np.array([0.0]),
        "ood_loss": np.array([nan]), "eval.piqa.acc": np.array([0.0]), "eval.piqa.acc_norm": np.array([0.0])})})
    j.append_done("cancelled")
    j.close()

    results = read_results(tmp_path / "s" / "journal.jsonl")
    assert wandb_log.summary(results) == {
        "cells": 6, "recorded": 5, "status": "cancelled", "fraction_trainable": 0.6, "fraction_stable": 0.8,
        "final_loss/best": 0.1, "final_loss/median_trainable": 0.3, "heldout_loss/median": 2.0,
        "eval/piqa/acc_mean": 0.625, "eval/piqa/acc_norm_mean": 0.375,
        "base/heldout_loss": 2.5, "base/eval/piqa/acc": 0.5, "base/eval/piqa/acc_norm": 0.625}

    paths = wandb_log.write_maps(tmp_path / "s", results)
    score = read_png(paths["score"])
    assert score.shape == (2, 3, 3)
    # Negatives -3 < -1 = -1 rank 0, 1.5, 1.5 of 3 -> 1, 0.4375, 0.4375; positives 0.5, 2 -> -0.25, -1.
    expected = {0: (0x5e, 0x4f, 0xa2),  # t = 1
                1: (158, 216, 164), 2: (158, 216, 164),  # t = 0.71875: 0.1875 of the way from abdda4 to 66c2a5
                3: (254, 212, 129),  # t = 0.375: halfway from fdae61 to fee08b, .5 rounds up (as Math.round)
                4: (0x9e, 0x01, 0x42),  # t = 0
                5: GREY}  # not done
    assert {i: pixel(score, i, 3) for i in range(6)} == expected
    binary = read_png(paths["trainable"])
    assert [pixel(binary, i, 3) for i in range(6)] == [YES, YES, YES, NO, NO, GREY]


def test_enabled_follows_wandbs_own_conventions(tmp_path, monkeypatch):
    assert not wandb_log.enabled({"WANDB_API_KEY": "k", "WANDB_MODE": "online"}), "not without the package"
    monkeypatch.syspath_prepend(str(fake_wandb(tmp_path)))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine api.wandb.ai\n  login user\n  password k\n")
    other = tmp_path / "netrc-other"
    other.write_text("machine example.org login user password k\n")
    cases = [({}, False), ({"WANDB_API_KEY": "k"}, True), ({"WANDB_MODE": "offline"}, True),
             ({"WANDB_MODE": "dryrun"}, True), ({"WANDB_MODE": "online"}, True),
             ({"WANDB_MODE": "disabled", "WANDB_API_KEY": "k"}, False),
             ({"NETRC": str(netrc)}, True), ({"NETRC": str(netrc), "WANDB_MODE": "disabled"}, False),
             ({"NETRC": str(other)}, False), ({"NETRC": str(tmp_path / "missing")}, False),
             ({"NETRC": str(other), "WANDB_BASE_URL": "https://example.org"}, True)]
    for env, on in cases:
        assert wandb_log.enabled({"HOME": str(tmp_path), **env}) == on, env
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".netrc").write_text(netrc.read_text())
    assert wandb_log.enabled({}), "~/.netrc is the default netrc"


def test_run_ids_are_in_wandbs_alphabet_and_never_shared():
    assert wandb_log.run_id("s0123abcd-9f") == "s0123abcd-9f"
    ids = {wandb_log.run_id(s) for s in ("a.b", "a-b", "a b", "a/b", "x" * 128, "x" * 127)}
    assert len(ids) == 6 and "a-b" in ids
    assert all(len(i) <= 64 and set(i) <= set("abx-_0123456789abcdef") for i in ids)


# ----------------------------------------------------------------------------- through the daemon

def test_the_daemon_logs_each_finished_sweep_and_warns_its_clients_when_wandb_fails(tmp_path):
    d = Daemons(tmp_path / "h")
    env = wandb_env(tmp_path, WANDB_MODE="offline")
    try:
        a = Attach(d, env=env)
        assert a.request(op="submit", sweep="wb-ok", spec=tiny_spec(4, 4, 20))["ok"]
        assert a.request(op="submit", sweep="wb-fail", spec={**tiny_spec(4, 4, 20), "name": "fail-log"})["ok"]
        a.until_done("wb-ok")
        a.until_done("wb-fail")
        warning = a.next(lambda m: m.get("type") == "warning")
        assert warning["sweep"] == "wb-fail" and "W&B" in warning["message"]
        assert "fake W&B refused the upload" in warning["message"]
        wait_for(lambda: sum(c["call"] == "finish" for c in calls(tmp_path)) == 2, what="both W&B runs finished")
        got = calls(tmp_path)
        assert {c["pid"] for c in got} == {a.hello["pid"]}, "the daemon, the done event's writer, logs"
        ok = [c for c in got if c.get("id") == "wb-ok" or c.get("kwargs", {}).get("id") == "wb-ok"]
        assert [c["call"] for c in ok] == ["init", "summary.update", "log", "finish"]
        assert ok[1]["values"]["recorded"] == 16 and ok[1]["values"]["status"] == "completed"
        assert ok[2]["images"]["map/score"] == str(d.home / "sweeps" / "wb-ok" / "map-score.png")
        assert read_png(d.home / "sweeps" / "wb-ok" / "map-score.png").shape == (4, 4, 3)
        assert warning["message"] in (d.home / "daemon.log").read_text()
        states = {s["sweep"]: s["state"] for s in a.request(op="status")["sweeps"]}
        assert states == {"wb-ok": "completed", "wb-fail": "completed"}
        assert not [m for m in a.seen if m.get("type") == "warning" and m is not warning]
        assert a.close() == 0
        later = Attach(d, "--sweep", "wb-fail", env=env)  # a client that follows later hears it too
        assert later.next(lambda m: m.get("type") == "warning")["message"] == warning["message"]
        assert later.close() == 0
    finally:
        d.kill_all()


def test_an_idle_daemon_waits_for_a_slow_wandb_upload_before_it_exits(tmp_path):
    d = Daemons(tmp_path / "h")
    try:
        a = Attach(d, "--idle-timeout", "0.3", env=wandb_env(tmp_path, WANDB_MODE="offline"))
        assert a.request(op="submit", sweep="slow", spec={**tiny_spec(2, 2, 20), "name": "slow"})["ok"]
        a.until_done("slow")
        assert a.close() == 0  # no client, no sweep: idle from here, but for the W&B run still finishing
        wait_for(lambda: [c["call"] for c in calls(tmp_path)][-1:] == ["finish"], what="the W&B run to finish")
        wait_for(lambda: not (d.home / "daemon.pid").exists(), what="the daemon to exit on idle")
    finally:
        d.kill_all()
