"""`python3 -m fractal_agent` as a real process: env, validate, run (resume after kill -9), bad input."""
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from fractal_agent import AGENT_VERSION, PROTOCOL_VERSION, tiles
from fractal_agent import spec as S
from fractal_agent.journal import Journal, read_events
from conftest import tiny_spec

AGENT_DIR = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = AGENT_DIR.parent / "test" / "fixtures" / "specs"
INVALID = sorted((FIXTURES / "invalid").glob("*.json"))
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def agent_env():
    return dict(os.environ, PYTHONPATH=str(AGENT_DIR))


def agent(*args, timeout=120):
    return subprocess.run([PYTHON, "-m", "fractal_agent", *map(str, args)], env=agent_env(),
                          capture_output=True, text=True, timeout=timeout)


def write_spec(tmp_path, spec, name="spec.json"):
    path = tmp_path / name
    path.write_text(json.dumps(spec))
    return path


def recorded_cells(journal):
    """Every cell of every tile event, in journal order (duplicates kept, so a test can see them)."""
    cells = [tiles.unpack(e)["cell"] for e in read_events(journal) if e["type"] == "tile"]
    return np.concatenate(cells) if cells else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------- env / validate

def test_env_prints_one_json_object_with_the_versions():
    r = agent("env")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    import numpy
    import torch
    assert info["agent"] == AGENT_VERSION and info["protocol"] == PROTOCOL_VERSION
    assert info["torch"] == torch.__version__ and info["numpy"] == numpy.__version__
    assert info["python"] == "%d.%d.%d" % sys.version_info[:3]
    assert info["cuda_available"] == torch.cuda.is_available()
    assert len(info["gpus"]) == torch.cuda.device_count()
    assert info["cpu_count"] == os.cpu_count() and info["hostname"] and info["error"] is None


def test_env_without_torch_still_prints_json_and_fails(tmp_path):
    # A directory named torch with a broken __init__ shadows the real one: "torch is not importable".
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "__init__.py").write_text("raise ImportError('no torch on this node')\n")
    r = subprocess.run([PYTHON, "-m", "fractal_agent", "env"], capture_output=True, text=True,
                       env=dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{AGENT_DIR}"))
    assert r.returncode == 1
    info = json.loads(r.stdout)
    assert info["torch"] is None and "torch is not importable" in info["error"]
    assert info["agent"] == AGENT_VERSION


def test_validate_prints_the_normalised_spec(tmp_path):
    r = agent("validate", write_spec(tmp_path, tiny_spec()))
    assert r.returncode == 0, r.stderr
    spec = json.loads(r.stdout)
    assert spec["criterion"] == {"window": 20, "threshold": 1.0} and spec["record"] == {"curves": True}


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_spec_exits_2_naming_the_field_and_writes_nothing(tmp_path, path):
    case = json.loads(path.read_text())
    spec_file = write_spec(tmp_path, case["spec"])
    out = tmp_path / "out"
    r = agent("run", spec_file, "--out", out)
    assert r.returncode == 2
    assert f"spec error: {case['field']}: " in r.stderr and case["contains"] in r.stderr
    assert not out.exists()
    assert r.stdout == ""


def test_validate_reports_the_field_too(tmp_path):
    case = json.loads((FIXTURES / "invalid" / "reversed-range.json").read_text())
    r = agent("validate", write_spec(tmp_path, case["spec"]))
    assert r.returncode == 2 and f"spec error: {case['field']}: " in r.stderr


def test_missing_spec_file(tmp_path):
    r = agent("run", tmp_path / "nope.json", "--out", tmp_path / "out")
    assert r.returncode == 2
    assert "cannot read spec file" in r.stderr and "nope.json" in r.stderr and "No such file" in r.stderr
    assert not (tmp_path / "out").exists()


def test_malformed_json(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 1, "name": ')
    r = agent("run", bad, "--out", tmp_path / "out")
    assert r.returncode == 2 and "not valid JSON" in r.stderr and "line 1" in r.stderr
    assert not (tmp_path / "out").exists()


def test_cuda_requested_without_a_gpu_is_refused_before_writing(tmp_path):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    r = agent("run", write_spec(tmp_path, tiny_spec()), "--out", tmp_path / "out", "--device", "cuda")
    assert r.returncode == 2 and "--device cuda" in r.stderr and "no CUDA GPU" in r.stderr
    assert not (tmp_path / "out").exists()


def test_pretrain_is_wired_to_its_module():
    r = agent("pretrain", "--help")
    assert r.returncode == 0 and "usage: python -m fractal_agent pretrain" in r.stdout


def test_a_different_spec_in_an_existing_sweep_directory_is_refused(tmp_path):
    out = tmp_path / "out"
    Journal.open_or_create(out, "out", S.validate(tiny_spec(2, 2)), {})[0].close()
    before = (out / "journal.jsonl").read_bytes()
    r = agent("run", write_spec(tmp_path, tiny_spec(4, 2), "other.json"), "--out", out)
    assert r.returncode == 2 and "different spec" in r.stderr
    assert (out / "journal.jsonl").read_bytes() == before


# ----------------------------------------------------------------------------- run

def test_run_records_every_cell_exactly_once(tmp_path):
    out = tmp_path / "sweep-a"
    r = agent("run", write_spec(tmp_path, tiny_spec()), "--out", out, "--workers", "2")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary == {"sweep": "sweep-a", "status": "completed", "dir": str(out), "cells": 64,
                       "recorded": 64, "error": None}
    assert "64/64 cells (100.0%)" in r.stderr
    events = list(read_events(out / "journal.jsonl"))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "sweep" and events[-1]["type"] == "done"
    assert events[-1]["status"] == "completed"
    cells = recorded_cells(out / "journal.jsonl")
    assert sorted(cells.tolist()) == list(range(64))
    # tiles are whole CellResults with curves, coarse levels first
    t = tiles.unpack(events[1])
    assert {"trainable", "stable", "score", "final_loss", "loss_trace", "trace_step"} <= set(t)
    order, level_of = S.coarse_to_fine(8, 8)
    level_of = dict(zip(order.tolist(), level_of.tolist()))
    for e in events:
        if e["type"] == "tile":
            assert {level_of[c] for c in tiles.unpack(e)["cell"].tolist()} == {e["level"]}

    again = agent("run", write_spec(tmp_path, tiny_spec()), "--out", out)
    assert again.returncode == 0 and "already completed" in again.stderr
    assert len(list(read_events(out / "journal.jsonl"))) == len(events)


def unloadable_spec(nx=2, ny=2):
    """A GPT sweep whose checkpoint does not exist: the trainer fails before its first cell."""
    return {"version": 1, "name": "unloadable checkpoint",
            "model": {"family": "gpt", "checkpoint": "hf:/nonexistent/checkpoint"}, "data": {"size": 8},
            "train": {"steps": 2}, "criterion": {"window": 2},
            "axes": {"x": {"param": "lr", "scale": "log", "range": [-5, -3], "points": nx},
                     "y": {"param": "warmup", "scale": "linear", "range": [0, 0.5], "points": ny}}}


def test_a_trainer_failure_is_journalled_as_failed(tmp_path):
    out = tmp_path / "out"
    r = agent("run", write_spec(tmp_path, unloadable_spec()), "--out", out)
    assert r.returncode == 1
    assert "error: trainer failed on cpu" in r.stderr and "hf:/nonexistent/checkpoint" in r.stderr
    done = list(read_events(out / "journal.jsonl"))[-1]
    assert done["type"] == "done" and done["status"] == "failed" and "hf:/nonexistent/checkpoint" in done["error"]
    assert json.loads(r.stdout)["status"] == "failed"


def wait_for_tiles(journal, n, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b'"type":"tile"') >= n:
            return
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError(f"no {n} tile(s) in {journal} after {timeout} s")


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = pathlib.Path(f"/proc/{d}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def state(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_kill_9_mid_run_then_rerun_resumes_without_losing_or_repeating_a_cell(tmp_path):
    spec = write_spec(tmp_path, tiny_spec(8, 8, steps=600))
    out = tmp_path / "out"
    cmd = [PYTHON, "-m", "fractal_agent", "run", str(spec), "--out", str(out), "--population", "16"]
    # No pipes: orphaned workers would hold them open.
    proc = subprocess.Popen(cmd, env=agent_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_tiles(out / "journal.jsonl", 1, proc)
        workers = children(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert workers, "the run trains in worker processes"
    deadline = time.monotonic() + 15
    while any(os.path.exists(f"/proc/{w}") and state(w) != "Z" for w in workers):
        assert time.monotonic() < deadline, "orphaned workers must exit once their parent is gone"
        time.sleep(0.1)
    before = recorded_cells(out / "journal.jsonl")
    assert 0 < len(before) < 64, "killed mid-sweep"
    assert len(set(before.tolist())) == len(before)

    r = agent("run", spec, "--out", out, "--population", "16")
    assert r.returncode == 0, r.stderr
    assert f"resuming, {len(before)}/64 cells already recorded" in r.stderr
    cells = recorded_cells(out / "journal.jsonl")
    assert sorted(cells.tolist()) == list(range(64)), "every cell once, none twice"
    assert cells[:len(before)].tolist() == before.tolist(), "recorded cells are kept as they were"
    events = list(read_events(out / "journal.jsonl"))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events].count("resume") == 1 and events[-1]["status"] == "completed"


def test_sigint_cancels_and_a_rerun_finishes(tmp_path):
    spec = write_spec(tmp_path, tiny_spec(8, 8, steps=600))
    out = tmp_path / "out"
    proc = subprocess.Popen([PYTHON, "-m", "fractal_agent", "run", str(spec), "--out", str(out), "--population", "16"],
                            env=agent_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_tiles(out / "journal.jsonl", 1, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert json.loads(stdout)["status"] == "cancelled"
    events = list(read_events(out / "journal.jsonl"))
    assert events[-1]["type"] == "done" and events[-1]["status"] == "cancelled"
    assert events[-1]["recorded"] < 64
    r = agent("run", spec, "--out", out, "--population", "16")
    assert r.returncode == 0, r.stderr
    assert sorted(recorded_cells(out / "journal.jsonl").tolist()) == list(range(64))
