"""Faults a node meets, as real processes: a power loss that cuts the journal's unsynced tail, a
malformed journal on disk, and a daemon left with nothing to do (issue 15, items 5, 7, 13)."""
import json
import os
import pathlib
import signal
import textwrap
import time

from fractal_agent.spec import validate
from conftest import tiny_spec
from test_daemon import ENV, AGENT_DIR, Attach, alive, cells_of, journal_of, wait_for, daemons  # noqa: F401

# Imported into the daemon (and its workers) through PYTHONPATH: records, after every fsync, which
# file it made durable and up to which size, so a test knows what a power cut would have kept.
FSYNC_HOOK = textwrap.dedent("""
    import os
    _real_fsync = os.fsync
    def _logged_fsync(fd):
        _real_fsync(fd)
        log = os.environ.get("FRACTAL_TEST_FSYNC_LOG")
        if log:
            try:
                line = f"{os.readlink(f'/proc/self/fd/{fd}')}\\t{os.fstat(fd).st_size}\\n"
            except OSError:
                return
            fd2 = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd2, line.encode())
            os.close(fd2)
    os.fsync = _logged_fsync
""")


def durable_size(fsync_log, journal):
    """The journal's length after its last fsync (the journal is born by renaming a synced .tmp)."""
    sizes = [int(size) for path, size in (line.split("\t") for line in fsync_log.read_text().splitlines())
             if path in (str(journal), str(journal) + ".tmp")]
    assert sizes, "the journal was never fsynced"
    return max(sizes)


def test_power_loss_cuts_the_unsynced_tail_and_a_client_that_streamed_ends_with_every_cell_once(tmp_path, daemons):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FSYNC_HOOK)
    log = tmp_path / "fsync.log"
    # A long fsync interval: without durable publication the client would see tiles seconds before
    # they are on disk, so the cut below would always remove some it saw.
    env = dict(ENV, PYTHONPATH=f"{AGENT_DIR}{os.pathsep}{hook}", FRACTAL_TEST_FSYNC_LOG=str(log),
               FRACTAL_AGENT_SYNC_SECONDS="3")
    a = Attach(daemons, env=env)
    assert a.request(op="submit", sweep="crash", spec=tiny_spec(8, 8, steps=600))["ok"]
    a.next(lambda m: m.get("type") == "tile", timeout=300)
    a.next(lambda m: m.get("type") == "tile", timeout=300)
    pid = a.hello["pid"]
    os.killpg(os.getpgid(pid), signal.SIGKILL)  # the node loses power: daemon and workers gone at once
    assert a.proc.wait(timeout=30) == 1
    seen = a.events("crash")
    cursor = seen[-1]["seq"]
    assert [e["seq"] for e in seen] == list(range(1, cursor + 1))

    journal = journal_of(daemons, "crash")
    keep = durable_size(log, journal)
    assert keep <= journal.stat().st_size
    with open(journal, "r+b") as f:  # what the disk holds after the power cut: the synced prefix only
        f.truncate(keep)
    on_disk = journal.read_bytes().splitlines()
    assert len(on_disk) >= cursor, (f"the client saw seq {cursor} but only {len(on_disk)} events were durable: "
                                    "after the restart those seqs would name other tiles")

    # The laptop reconnects with its cursor, as sweep-runner.ts does, to a restarted daemon.
    b = Attach(daemons, "--sweep", "crash", "--since", str(cursor), env=env)
    assert b.hello["pid"] != pid
    done = b.next(lambda m: m.get("type") == "done" and m.get("sweep") == "crash", timeout=600)  # a loaded CI box
    assert done["status"] == "completed"
    stream = seen + b.events("crash")
    assert [e["seq"] for e in stream] == list(range(1, len(stream) + 1)), "no seq skipped, none twice"
    cells = cells_of(stream).tolist()
    assert sorted(cells) == list(range(64)), "every cell exactly once: no hole, no repeat"
    assert b.close() == 0


def _write_journal(home, sweep, lines):
    d = home / "sweeps" / sweep
    d.mkdir(parents=True)
    (d / "journal.jsonl").write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))


def test_a_malformed_journal_marks_only_its_sweep_broken_and_the_others_load_and_run(daemons):
    spec = validate(tiny_spec(2, 2, steps=30))
    first = lambda sweep: {"seq": 1, "type": "sweep", "sweep": sweep, "spec": spec, "env": {}, "cells": 4}
    (daemons.home / "sweeps").mkdir(parents=True)
    # A tile without fields.cell (KeyError), and one whose cell array is not base64 (binascii.Error).
    _write_journal(daemons.home, "no-cell", [first("no-cell"), {
        "seq": 2, "type": "tile", "sweep": "no-cell", "level": 0, "count": 1,
        "fields": {"score": {"dtype": "<f8", "data": "AAAAAAAA8D8="}}, "curves": None}])
    _write_journal(daemons.home, "bad-base64", [first("bad-base64"), {
        "seq": 2, "type": "tile", "sweep": "bad-base64", "level": 0, "count": 1,
        "fields": {"cell": {"dtype": "<i8", "data": "AAA"}}, "curves": None}])
    _write_journal(daemons.home, "unfinished", [first("unfinished")])  # valid: the daemon resumes it

    a = Attach(daemons)
    assert a.hello["type"] == "hello", "the daemon starts despite the bad journals"
    states = {s["sweep"]: s for s in a.hello["sweeps"]}
    assert states["no-cell"]["state"] == "broken" and "KeyError" in states["no-cell"]["error"]
    assert "seq 2" in states["no-cell"]["error"] and "no-cell/journal.jsonl" in states["no-cell"]["error"]
    assert states["bad-base64"]["state"] == "broken" and "Error" in states["bad-base64"]["error"]
    assert "seq 2" in states["bad-base64"]["error"]
    assert states["unfinished"]["state"] in ("queued", "running")
    assert a.until_done("unfinished")["status"] == "completed"
    assert a.request(op="submit", sweep="fresh", spec=tiny_spec(2, 2, steps=30))["ok"]
    assert a.until_done("fresh")["status"] == "completed"
    again = a.request(op="submit", sweep="no-cell", spec=tiny_spec(2, 2, steps=30), resume=True)
    assert again["ok"] is False and "broken" in again["error"]
    assert a.close() == 0


def test_a_daemon_exits_soon_after_its_last_client_leaves_with_nothing_queued(daemons):
    """FRACTAL_AGENT_IDLE_TIMEOUT sets the default idle timeout (the local transport passes
    --idle-timeout 60 itself); a daemon with a short one outlives a client's sweep, then exits."""
    env = dict(ENV, FRACTAL_AGENT_IDLE_TIMEOUT="2")
    import subprocess
    from test_daemon import PYTHON
    proc = subprocess.Popen([PYTHON, "-m", "fractal_agent", "attach", "--home", str(daemons.home), "--workers", "1"],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    hello = json.loads(proc.stdout.readline())
    daemons.pids.add(hello["pid"])
    proc.stdin.write((json.dumps({"op": "submit", "req": "s", "sweep": "idle",
                                  "spec": tiny_spec(2, 2, steps=30)}) + "\n").encode())
    proc.stdin.flush()
    for raw in proc.stdout:
        if json.loads(raw).get("type") == "done":
            break
    time.sleep(4)
    assert alive(hello["pid"]), "a daemon with a client attached does not go idle"
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    proc.stdout.close()
    proc.stderr.close()
    wait_for(lambda: not alive(hello["pid"]), timeout=20, what="the idle daemon to exit")
    assert not (daemons.home / "agent.sock").exists() and not (daemons.home / "daemon.pid").exists()
    assert "idle for 2 s" in (daemons.home / "daemon.log").read_text()


def test_a_journal_epoch_tells_a_client_its_cursor_came_from_another_journal(daemons):
    """A sweep deleted and submitted again under the same id starts again at seq 1 with a new epoch:
    a client holding a cursor of the old journal sees the change in hello and in `replayed`."""
    a = Attach(daemons)
    assert a.request(op="submit", sweep="again", spec=tiny_spec(2, 2, steps=30))["ok"]
    a.until_done("again")
    old = a.events("again")
    e1 = old[0]["epoch"]
    assert isinstance(e1, str) and len(e1) == 16
    assert [s["epoch"] for s in a.request(op="status")["sweeps"] if s["sweep"] == "again"] == [e1]
    assert a.request(op="delete", sweep="again")["existed"] is True
    assert a.request(op="submit", sweep="again", spec=tiny_spec(2, 2, steps=30))["ok"]
    a.next(lambda m: m.get("type") == "done" and m.get("sweep") == "again")
    assert a.close() == 0

    b = Attach(daemons, "--sweep", "again", "--since", str(old[-1]["seq"]), "--no-start")
    e2 = [s["epoch"] for s in b.hello["sweeps"] if s["sweep"] == "again"][0]
    assert isinstance(e2, str) and e2 != e1, "a new journal, a new epoch"
    end = b.next(lambda m: m.get("type") == "replayed")
    assert end["epoch"] == e2
    assert b.close() == 0
