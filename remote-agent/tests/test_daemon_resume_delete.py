"""`submit` with `resume: true` (a cancelled or failed sweep runs again) and `delete`, against a real
daemon and its real journals (the helpers are test_daemon.py's)."""
import os
import pathlib
import signal
import time

import numpy as np
import pytest

from fractal_agent.journal import read_events, read_results
from conftest import tiny_spec
from test_daemon import Attach, Daemons, alive, cells_of, journal_of, wait_for

SLOW = dict(nx=8, ny=8, steps=600)  # 64 cells, slow enough to stop mid-run after the first tile


@pytest.fixture
def daemons(tmp_path):
    d = Daemons(tmp_path / "h")
    yield d
    d.kill_all()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    d = Daemons(tmp_path_factory.mktemp("resume") / "h")
    yield d
    d.kill_all()


def workers_of(daemon_pid):
    """The daemon's multiprocessing workers (spawned children; not the semaphore resource tracker)."""
    pids = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == daemon_pid and b"spawn_main" in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def snapshot(daemons, sweep):
    """(recorded mask, fields) of the sweep's journal as it is now."""
    r = read_results(journal_of(daemons, sweep))
    return r["recorded"].copy(), {k: v.copy() for k, v in r["fields"].items()}


def assert_each_cell_once_and_earlier_values_kept(daemons, sweep, before_mask, before_fields):
    events = list(read_events(journal_of(daemons, sweep)))
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1)), "no gap, no repeat"
    cells = cells_of(events)
    assert sorted(cells.tolist()) == list(range(64)), "every cell recorded exactly once"
    after = read_results(journal_of(daemons, sweep))
    assert after["recorded"].all() and after["done"]["status"] == "completed"
    for name, values in before_fields.items():
        np.testing.assert_array_equal(after["fields"][name][before_mask], values[before_mask],
                                      err_msg=f"{name} of a cell recorded before the stop changed")
    return events


def test_a_cancelled_sweep_resumes_where_it_stopped_and_completes(shared):
    a = Attach(shared)
    assert a.request(op="submit", sweep="stop-go", spec=tiny_spec(**SLOW))["ok"]
    a.next(lambda m: m.get("type") == "tile" and m["sweep"] == "stop-go")
    assert a.request(op="cancel", sweep="stop-go")["ok"]
    cancelled = a.until_done("stop-go")
    assert cancelled["status"] == "cancelled" and 0 < cancelled["recorded"] < 64
    mask, fields = snapshot(shared, "stop-go")
    assert mask.sum() == cancelled["recorded"]

    reply = a.request(op="submit", sweep="stop-go", spec=tiny_spec(**SLOW), resume=True)
    assert reply == {"type": "reply", "req": reply["req"], "ok": True, "sweep": "stop-go", "existing": True,
                     "resumed": True, "state": "queued", "cells": 64}
    resume = a.next(lambda m: m.get("type") == "resume" and m["sweep"] == "stop-go")
    assert resume["recorded"] == cancelled["recorded"] and resume["seq"] == cancelled["seq"] + 1
    state = [s for s in a.request(op="status")["sweeps"] if s["sweep"] == "stop-go"][0]["state"]
    assert state in ("running", "completed")
    done = a.until_done("stop-go")
    assert done["status"] == "completed" and done["recorded"] == 64 and done["error"] is None

    events = assert_each_cell_once_and_earlier_values_kept(shared, "stop-go", mask, fields)
    assert [e["status"] for e in events if e["type"] == "done"] == ["cancelled", "completed"]
    assert [e["type"] for e in events].count("resume") == 1
    assert a.events("stop-go") == events, "clients saw the journal as written, resume included"
    assert a.close() == 0


def test_b_a_failed_sweep_resumes_and_completes(shared):
    """A worker killed mid-sweep (as the OOM killer does) fails the sweep; resume finishes it."""
    a = Attach(shared)
    pid = a.hello["pid"]
    assert a.request(op="submit", sweep="oom", spec=tiny_spec(**SLOW))["ok"]
    a.next(lambda m: m.get("type") == "tile" and m["sweep"] == "oom")
    workers = workers_of(pid)
    assert len(workers) == 1, f"one CPU worker expected, found {workers}"
    os.kill(workers[0], signal.SIGKILL)
    failed = a.until_done("oom")
    assert failed["status"] == "failed" and "died with exit code -9" in failed["error"]
    assert 0 < failed["recorded"] < 64
    status = [s for s in a.request(op="status")["sweeps"] if s["sweep"] == "oom"][0]
    assert status["state"] == "failed" and "died" in status["error"]
    mask, fields = snapshot(shared, "oom")

    reply = a.request(op="submit", sweep="oom", spec=tiny_spec(**SLOW), resume=True)
    assert reply["ok"] and reply["existing"] is True and reply["resumed"] is True and reply["state"] == "queued"
    status = [s for s in a.request(op="status")["sweeps"] if s["sweep"] == "oom"][0]
    assert status["error"] is None, "a resumed sweep no longer carries the old failure"
    done = a.until_done("oom")
    assert done["status"] == "completed" and done["recorded"] == 64

    events = assert_each_cell_once_and_earlier_values_kept(shared, "oom", mask, fields)
    assert [e["status"] for e in events if e["type"] == "done"] == ["failed", "completed"]
    assert alive(pid)
    assert a.close() == 0


def test_c_submit_without_resume_does_not_requeue_and_finished_sweeps_are_not_resumed(shared):
    a = Attach(shared)
    spec = tiny_spec(**SLOW)
    assert a.request(op="submit", sweep="stays", spec=spec)["ok"]
    a.next(lambda m: m.get("type") == "tile" and m["sweep"] == "stays")
    assert a.request(op="cancel", sweep="stays")["ok"]
    cancelled = a.until_done("stays")
    journal = journal_of(shared, "stays")
    before = journal.read_bytes()

    for extra in ({}, {"resume": False}):
        again = a.request(op="submit", sweep="stays", spec=spec, **extra)
        assert again["ok"] and again["existing"] is True and again["resumed"] is False
        assert again["state"] == "cancelled"
    bad = a.request(op="submit", sweep="stays", spec=spec, resume="yes")
    assert bad["ok"] is False and bad["error"].startswith("resume: ")
    time.sleep(0.5)  # a re-queued sweep would have appended its resume event by now
    status = [s for s in a.request(op="status")["sweeps"] if s["sweep"] == "stays"][0]
    assert status["state"] == "cancelled" and status["last_seq"] == cancelled["seq"]
    assert journal.read_bytes() == before, "nothing ran"

    # A completed sweep is not run again, resume or not.
    assert a.request(op="submit", sweep="finished", spec=tiny_spec(2, 2))["ok"]
    completed = a.until_done("finished")
    fin = a.request(op="submit", sweep="finished", spec=tiny_spec(2, 2), resume=True)
    assert fin["ok"] and fin["existing"] is True and fin["resumed"] is False and fin["state"] == "completed"
    time.sleep(0.5)
    assert list(read_events(journal_of(shared, "finished")))[-1] == completed
    # Nor is one with another spec under the same id.
    other = a.request(op="submit", sweep="stays", spec=tiny_spec(4, 4), resume=True)
    assert other["ok"] is False and "different spec" in other["error"]
    assert a.close() == 0


def test_d_delete_refused_while_running_then_removes_the_sweep_and_is_idempotent(shared):
    a = Attach(shared)
    sweeps = shared.home / "sweeps"
    spec = tiny_spec(**SLOW)
    assert a.request(op="submit", sweep="doomed", spec=spec)["ok"]
    a.next(lambda m: m.get("type") == "tile" and m["sweep"] == "doomed")
    refused = a.request(op="delete", sweep="doomed")
    assert refused["ok"] is False and "cancel it first" in refused["error"] and "running" in refused["error"]
    assert (sweeps / "doomed" / "journal.jsonl").exists()

    assert a.request(op="cancel", sweep="doomed")["ok"]
    assert a.until_done("doomed")["status"] == "cancelled"
    gone = a.request(op="delete", sweep="doomed")
    assert gone == {"type": "reply", "req": gone["req"], "ok": True, "sweep": "doomed", "existed": True}
    assert not (sweeps / "doomed").exists() and sweeps.is_dir()
    twice = a.request(op="delete", sweep="doomed")
    assert twice["ok"] is True and twice["existed"] is False
    assert all(s["sweep"] != "doomed" for s in a.request(op="status")["sweeps"])
    assert a.request(op="follow", sweep="doomed")["ok"] is False
    bad = a.request(op="delete", sweep="../resume")
    assert bad["ok"] is False and bad["error"].startswith("sweep: ")
    assert sweeps.is_dir()
    assert a.close() == 0

    b = Attach(shared, "--since", "0", "--no-start")
    assert all(s["sweep"] != "doomed" for s in b.hello["sweeps"]), "hello no longer lists it"
    # The id is free again: a new sweep under it starts from scratch.
    fresh = b.request(op="submit", sweep="doomed", spec=tiny_spec(2, 2))
    assert fresh["ok"] and fresh["existing"] is False
    assert b.until_done("doomed")["status"] == "completed"
    assert [e["seq"] for e in read_events(journal_of(shared, "doomed"))] == [1, 2, 3]
    assert b.close() == 0


def test_d_a_queued_sweep_is_not_deleted_and_a_broken_one_is_not_resumed_but_deletes(daemons):
    broken = daemons.home / "sweeps" / "broken"
    broken.mkdir(parents=True)
    (broken / "journal.jsonl").write_text('{"seq":1,"type":"done","sweep":"broken","status":"completed"}\n')
    a = Attach(daemons)
    assert [s["state"] for s in a.hello["sweeps"] if s["sweep"] == "broken"] == ["broken"]
    resumed = a.request(op="submit", sweep="broken", spec=tiny_spec(2, 2), resume=True)
    assert resumed["ok"] is False and "broken" in resumed["error"] and "not the sweep event" in resumed["error"]

    # Two sweeps: the second waits in the queue behind the first, and a queued one is not deleted either.
    assert a.request(op="submit", sweep="first", spec=tiny_spec(**SLOW))["ok"]
    assert a.request(op="submit", sweep="second", spec=tiny_spec(2, 2))["ok"]
    queued = a.request(op="delete", sweep="second")
    assert queued["ok"] is False and "queued" in queued["error"] and "cancel it first" in queued["error"]
    assert a.request(op="cancel", sweep="second")["ok"]
    assert a.request(op="delete", sweep="second")["existed"] is True
    assert not (daemons.home / "sweeps" / "second").exists()

    outside = daemons.home / "keep.txt"
    outside.write_text("not a sweep")
    gone = a.request(op="delete", sweep="broken")
    assert gone["ok"] and gone["existed"] is True
    assert not broken.exists() and outside.exists() and (daemons.home / "sweeps" / "first").exists()
    assert a.request(op="cancel", sweep="first")["ok"]
    assert a.until_done("first")["status"] == "cancelled"
    names = {s["sweep"] for s in a.request(op="status")["sweeps"]}
    assert names == {"first"}
    assert a.close() == 0


def test_delete_right_after_done_waits_for_the_sweeps_wandb_logging(tmp_path):
    """The done event comes before the sweep's W&B run is logged from its directory (the fake wandb
    of test_wandb.py takes 2 s to finish a run named slow*): delete waits for that, then removes it."""
    from test_wandb import calls, wandb_env
    d = Daemons(tmp_path / "h")
    try:
        a = Attach(d, env=wandb_env(tmp_path, WANDB_MODE="offline"))
        assert a.request(op="submit", sweep="slow-wb", spec={**tiny_spec(2, 2, 20), "name": "slow"})["ok"]
        a.until_done("slow-wb")
        assert [c["call"] for c in calls(tmp_path)][-1:] != ["finish"], "the W&B run is still being logged"
        gone = a.request(op="delete", sweep="slow-wb")
        assert gone["ok"] is True and gone["existed"] is True
        assert [c["call"] for c in calls(tmp_path)][-1:] == ["finish"], "delete waited for the W&B run"
        assert not (d.home / "sweeps" / "slow-wb").exists(), "and nothing (map PNGs) was left behind"
        assert a.close() == 0
    finally:
        d.kill_all()
