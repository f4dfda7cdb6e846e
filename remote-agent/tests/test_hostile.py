"""Hostile conditions on a node, as real processes (issue 21): a submit whose journal cannot be created, a disk
that fills up mid-sweep (a real, small tmpfs), a malformed scheduler.json."""
import json
import os
import subprocess

import pytest

from fractal_agent.journal import Journal, read_events
from conftest import tiny_spec
from test_daemon import Attach, cells_of, journal_of, daemons  # noqa: F401


def statuses(a):
    return {s["sweep"]: s for s in a.request(op="status")["sweeps"]}


def test_a_submit_whose_journal_cannot_be_created_fails_clearly_and_leaves_nothing_queued(daemons):
    (daemons.home / "sweeps").mkdir(parents=True)
    (daemons.home / "sweeps" / "blocked").write_text("a file where the sweep's directory goes\n")
    a = Attach(daemons)
    r = a.request(op="submit", sweep="blocked", spec=tiny_spec(2, 2, steps=30))
    assert r["ok"] is False
    assert "blocked" not in statuses(a), "a sweep without a journal is not listed as queued"
    assert "cannot be created" in r["error"] and "sweeps/blocked" in r["error"] and "nothing was queued" in r["error"]
    assert a.request(op="cancel", sweep="blocked")["error"].startswith("no sweep 'blocked'")
    assert a.request(op="delete", sweep="blocked") == {**a.seen[-1], "ok": True, "existed": False}
    assert (daemons.home / "sweeps" / "blocked").read_text().startswith("a file"), "not ours: left alone"
    # the daemon is not stuck: the same id works once the file is out of the way, and so do other sweeps
    (daemons.home / "sweeps" / "blocked").unlink()
    assert a.request(op="submit", sweep="blocked", spec=tiny_spec(2, 2, steps=30))["ok"]
    assert a.until_done("blocked")["status"] == "completed"
    assert a.close() == 0
