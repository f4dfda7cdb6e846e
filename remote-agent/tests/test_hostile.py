"""Hostile conditions on a node, as real processes (issue 21): a submit whose journal cannot be created, a disk
that fills up mid-sweep (a real, small tmpfs), a malformed scheduler.json."""
import json
import subprocess

import pytest

from fractal_agent.home import node_dir
from fractal_agent.journal import read_events
from conftest import tiny_spec
from test_daemon import Attach, Daemons, cells_of, journal_of, wait_for, daemons  # noqa: F401


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


@pytest.fixture
def small_disk(tmp_path):
    """A real file system that fills up: a 256 KiB tmpfs (needs root, as mount does)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "--lazy", str(mnt)], check=True)


def test_a_disk_that_fills_up_mid_sweep_fails_the_sweep_keeping_its_cells_and_a_resume_completes_it(small_disk):
    d = Daemons(small_disk / "h")  # the whole agent home on the small disk: daemon.log fills up too
    try:
        a = Attach(d)
        spec = {**tiny_spec(32, 32, steps=30), "record": {"curves": True}}  # ~5 kB a tile: full after ~40
        assert a.request(op="submit", sweep="full", spec=spec)["ok"]
        done = a.until_done("full")
        assert done["status"] == "failed" and "No space left on device" in done["error"], done
        assert statuses(a)["full"]["state"] == "failed", "failed, so it can be resumed: not broken"
        journal = journal_of(d, "full")
        before = journal.read_bytes()
        assert before.endswith(b"\n"), "no torn line: the journal ends with its last whole event"
        damage = []
        events = list(read_events(journal, warn=damage.append))
        assert damage == [] and events[-1] == done
        kept = cells_of(events)
        assert 0 < len(kept) < 1024

        # A resume while the disk is still full (to the last byte of the journal's and the log's last blocks:
        # the padding is blank lines, which readers skip): it cannot even write its resume event. The
        # sweep is failed again, never broken.
        filler = fill(small_disk, journal, node_dir(d.home) / "daemon.log")
        assert a.request(op="submit", sweep="full", spec=spec, resume=True)["resumed"] is True
        wait_for(lambda: statuses(a)["full"]["state"] == "failed", 30, "the resume to fail")
        assert "No space left on device" in statuses(a)["full"]["error"]
        filler.unlink()
        before = journal.read_bytes()

        # Room again: a resume trains only the rest; the cells recorded before the disk filled are kept.
        subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
        r = a.request(op="submit", sweep="full", spec=spec, resume=True)
        assert r["ok"] and r["resumed"] is True, r
        assert a.until_done("full")["status"] == "completed"
        after = journal.read_bytes()
        assert after.startswith(before)
        assert sorted(cells_of(list(read_events(journal))).tolist()) == list(range(1024)), "every cell once"
        assert a.close() == 0
    finally:
        d.kill_all()


def fill(disk, *grow):
    """Fill the file system to the last byte; returns the file that does it. Files in `grow` are padded with
    newlines too: a file's last block may have room left on a full disk."""
    filler = disk / "filler"
    for path, size in [(filler, 4096)] + [(g, 1) for g in grow]:
        with open(path, "ab", buffering=0) as f:
            with pytest.raises(OSError, match="No space left on device"):
                while True:
                    f.write(b"\n" * size)
    return filler


def test_a_submit_on_a_full_disk_is_refused_clearly_and_the_daemon_goes_on(small_disk):
    d = Daemons(small_disk / "h")  # daemon.log on the full disk too: logging the refusal fails as well
    try:
        a = Attach(d)
        filler = fill(small_disk, node_dir(d.home) / "daemon.log")
        r = a.request(op="submit", sweep="s1", spec=tiny_spec(2, 2, steps=30))
        assert r["ok"] is False and "No space left on device" in r["error"] and "nothing was queued" in r["error"]
        assert "s1" not in statuses(a)
        assert not (small_disk / "h" / "sweeps" / "s1").exists(), "what the submit began is removed"
        filler.unlink()
        assert a.request(op="submit", sweep="s1", spec=tiny_spec(2, 2, steps=30))["ok"]
        assert a.until_done("s1")["status"] == "completed"
        assert a.close() == 0
    finally:
        d.kill_all()


def test_a_malformed_scheduler_json_fails_only_its_sweep_and_the_daemon_starts(daemons):
    from fractal_agent.journal import Journal
    from fractal_agent.spec import validate
    spec = validate(tiny_spec(2, 2, steps=30))
    sweeps = daemons.home / "sweeps"
    for sweep in ("bad-json", "bad-fields", "fine"):
        Journal.open_or_create(sweeps / sweep, sweep, spec, {})[0].close()
    j = Journal(sweeps / "bad-fields")
    j.append_done("cancelled")
    j.close()
    (sweeps / "bad-json" / "scheduler.json").write_text('{"kind": "slurm", "tasks": ')
    (sweeps / "bad-fields" / "scheduler.json").write_text(json.dumps({"kind": "slurm", "tasks": 0}))

    a = Attach(daemons)
    assert a.hello["type"] == "hello", "the daemon starts despite the bad settings"
    states = {s["sweep"]: s for s in a.hello["sweeps"]}
    bad = states["bad-json"]
    assert bad["state"] == "failed" and "bad-json/scheduler.json" in bad["error"] and "JSONDecodeError" in bad["error"]
    done = a.until_done("bad-json")  # its clients see it end, with the cause
    assert done["status"] == "failed" and done["error"] == bad["error"]
    assert states["bad-fields"]["state"] == "cancelled", "a finished sweep keeps its state"
    assert a.until_done("fine")["status"] == "completed", "the other sweeps load and run"
    r = a.request(op="submit", sweep="bad-fields", spec=tiny_spec(2, 2, steps=30), resume=True)
    assert r["ok"] is False and "cannot resume without its scheduler" in r["error"] and "scheduler.tasks" in r["error"]
    assert a.request(op="delete", sweep="bad-json")["existed"] is True
    assert a.close() == 0
