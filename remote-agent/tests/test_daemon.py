"""The detached daemon and `attach`, as real processes on a unix socket in a temporary home."""
import json
import os
import pathlib
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from fractal_agent import AGENT_VERSION, PROTOCOL_VERSION, tiles
from fractal_agent.journal import read_events
from conftest import tiny_spec

AGENT_DIR = pathlib.Path(__file__).resolve().parents[1]
FIXTURES = AGENT_DIR.parent / "test" / "fixtures" / "specs"
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
ENV = dict(os.environ, PYTHONPATH=str(AGENT_DIR))


class Daemons:
    """Every daemon a test talks to, so the finalizer can kill them (and their workers)."""

    def __init__(self, home):
        self.home, self.pids = home, set()

    def kill_all(self):
        for pid in self.pids:
            try:
                os.killpg(os.getpgid(pid), signal.SIGKILL)  # the daemon's session: it and its workers
            except ProcessLookupError:
                pass


@pytest.fixture
def daemons(tmp_path):
    d = Daemons(tmp_path / "h")
    yield d
    d.kill_all()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One daemon for the tests that only need some daemon (starting one costs a torch import)."""
    d = Daemons(tmp_path_factory.mktemp("shared") / "h")
    yield d
    d.kill_all()


class Attach:
    """`attach` as a client uses it: JSON lines in on stdin, JSON lines out on stdout."""

    def __init__(self, daemons, *args, env=ENV):
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "fractal_agent", "attach", "--home", str(daemons.home), "--idle-timeout", "30",
             "--workers", "1", *args],
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines, self.seen, self.n = queue.Queue(), [], 0
        threading.Thread(target=self._read, daemon=True).start()
        self.hello = self.next()
        if self.hello.get("type") == "hello":
            daemons.pids.add(self.hello["pid"])

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(json.loads(raw))
        self.lines.put(None)

    def next(self, pred=lambda m: True, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                m = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"timed out; last messages: {self.seen[-3:]}") from None
            if m is None:
                raise AssertionError(f"attach ended: {self.proc.wait()} {self.proc.stderr.read().decode()}")
            self.seen.append(m)
            if pred(m):
                return m

    def request(self, **msg):
        self.n += 1
        msg["req"] = req = f"r{self.n}"
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()
        return self.next(lambda m: m.get("type") == "reply" and m.get("req") == req)

    def until_done(self, sweep):
        return self.next(lambda m: m.get("type") == "done" and m.get("sweep") == sweep)

    def events(self, sweep):
        return [m for m in self.seen if "seq" in m and m.get("sweep") == sweep]

    def close(self):
        self.proc.stdin.close()
        rc = self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc


def journal_of(daemons, sweep):
    return daemons.home / "sweeps" / sweep / "journal.jsonl"


def cells_of(events):
    return np.concatenate([tiles.unpack(e)["cell"] for e in events if e["type"] == "tile"])


def wait_for(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


# ----------------------------------------------------------------------------- tests

def test_a_sweep_completes_with_no_client_attached_and_a_fresh_attach_replays_every_cell(shared):
    a = Attach(shared)
    assert a.hello["type"] == "hello" and a.hello["protocol"] == PROTOCOL_VERSION
    assert a.hello["agent"] == AGENT_VERSION and a.hello["devices"] == ["cpu"]
    reply = a.request(op="submit", sweep="replay", spec=tiny_spec())
    assert reply["ok"] and reply["existing"] is False and reply["cells"] == 64
    assert a.close() == 0, "attach exits when its stdin closes"
    pid = a.hello["pid"]
    assert alive(pid), "the daemon outlives the client"

    journal = journal_of(shared, "replay")
    wait_for(lambda: b'"type":"done"' in journal.read_bytes(), what="the sweep to finish unattended")
    on_disk = list(read_events(journal))
    assert on_disk[-1]["status"] == "completed"

    b = Attach(shared, "--since", "0", "--no-start")
    assert b.hello["pid"] == pid
    b.next(lambda m: m.get("type") == "replayed" and m["sweep"] == "replay")
    assert b.events("replay") == on_disk, "replay is the journal, event for event"
    assert sorted(cells_of(b.events("replay")).tolist()) == list(range(64))
    assert b.close() == 0

    c = Attach(shared, "--sweep", "replay", "--since", "3", "--no-start")
    end = c.next(lambda m: m.get("type") == "replayed")
    assert end == {"type": "replayed", "sweep": "replay", "last_seq": on_disk[-1]["seq"], "epoch": on_disk[0]["epoch"]}
    assert c.events("replay") == on_disk[3:], "exactly the events after seq 3"
    follow = c.request(op="follow", sweep="replay", since=0)
    assert follow["ok"] and follow["already"] is True
    assert c.close() == 0

    # Damage in the journal reaches the client as a warning with its position; the rest still replays.
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + b"#garbage\n" + b"".join(lines[1:]))
    d = Attach(shared, "--sweep", "replay", "--since", "0", "--no-start")
    d.next(lambda m: m.get("type") == "replayed")
    warnings = [m for m in d.seen if m["type"] == "warning"]
    assert len(warnings) == 1 and warnings[0]["sweep"] == "replay"
    assert warnings[0]["line"] == 2 and warnings[0]["offset"] == len(lines[0])
    assert d.events("replay") == on_disk
    assert d.close() == 0


def test_submit_is_idempotent_and_bad_submissions_are_refused_writing_nothing(shared):
    a = Attach(shared)
    first = a.request(op="submit", sweep="idem", spec=tiny_spec(2, 2))
    again = a.request(op="submit", sweep="idem", spec=tiny_spec(2, 2))
    assert first["ok"] and not first["existing"]
    assert again["ok"] and again["existing"] is True
    other = a.request(op="submit", sweep="idem", spec=tiny_spec(4, 2))
    assert other["ok"] is False and "different spec" in other["error"]

    case = json.loads((FIXTURES / "invalid" / "steps-zero.json").read_text())
    bad = a.request(op="submit", sweep="bad-spec", spec=case["spec"])
    assert bad["ok"] is False and bad["field"] == case["field"]
    assert bad["error"].startswith(f"spec error: {case['field']}: ") and case["contains"] in bad["error"]
    assert not (shared.home / "sweeps" / "bad-spec").exists()

    bad_id = a.request(op="submit", sweep="../escape", spec=tiny_spec(2, 2))
    assert bad_id["ok"] is False and bad_id["error"].startswith("sweep: ")
    assert not (shared.home / "escape").exists()

    unknown = a.request(op="launch")
    assert unknown["ok"] is False and "unknown op" in unknown["error"]
    a.proc.stdin.write(b"{not json\n")
    a.proc.stdin.flush()
    garbage = a.next(lambda m: m.get("type") == "reply" and m["req"] is None)
    assert garbage["ok"] is False and "not a JSON command" in garbage["error"]

    a.until_done("idem")
    assert a.request(op="submit", sweep="idem-b", spec=tiny_spec(2, 1))["ok"]
    a.until_done("idem-b")

    # `follow` adds a sweep to a connection: its replay, then its live events
    x = Attach(shared, "--sweep", "idem", "--since", "1", "--no-start")
    x.next(lambda m: m.get("type") == "replayed")
    follow = x.request(op="follow", sweep="idem-b", since=0)
    assert follow["ok"] and follow["already"] is False
    assert x.seen[-2] == {"type": "replayed", "sweep": "idem-b", "last_seq": 3,
                          "epoch": x.events("idem-b")[0]["epoch"]}, "the replay precedes the reply"
    assert x.events("idem-b") == list(read_events(journal_of(shared, "idem-b")))
    assert x.events("idem") == list(read_events(journal_of(shared, "idem")))[1:]
    assert x.request(op="follow", sweep="nope")["ok"] is False
    assert x.close() == 0
    y = Attach(shared, "--sweep", "nope", "--no-start")
    assert y.hello["type"] == "hello", "hello comes first even when the sweep is unknown"
    err = y.next()
    assert err["type"] == "reply" and err["ok"] is False and "no sweep 'nope'" in err["error"]
    assert y.close() == 0

    status = a.request(op="status")
    idem = [s for s in status["sweeps"] if s["sweep"] == "idem"]
    assert idem == [{"sweep": "idem", "state": "completed", "cells": 4, "done": 4,
                     "last_seq": a.events("idem")[-1]["seq"], "error": None, "epoch": a.events("idem")[0]["epoch"]}]
    assert a.close() == 0


def test_cancel_stops_a_running_sweep(shared):
    a = Attach(shared)
    assert a.request(op="submit", sweep="cancel-me", spec=tiny_spec(8, 8, steps=600))["ok"]
    a.next(lambda m: m.get("type") == "tile" and m["sweep"] == "cancel-me")
    reply = a.request(op="cancel", sweep="cancel-me")
    assert reply["ok"] and reply["changed"] is True and reply["state"] == "cancelling"
    done = a.until_done("cancel-me")
    assert done["status"] == "cancelled" and 0 < done["recorded"] < 64
    recorded = cells_of(a.events("cancel-me"))
    assert len(recorded) == done["recorded"] == len(set(recorded.tolist()))
    again = a.request(op="cancel", sweep="cancel-me")
    assert again["ok"] and again["changed"] is False and again["state"] == "cancelled"
    missing = a.request(op="cancel", sweep="no-such-sweep")
    assert missing["ok"] is False and "no sweep" in missing["error"]
    assert a.close() == 0


def test_kill_9_of_the_daemon_mid_sweep_then_a_restart_resumes_it(daemons):
    a = Attach(daemons)
    assert a.request(op="submit", sweep="survivor", spec=tiny_spec(8, 8, steps=600))["ok"]
    a.next(lambda m: m.get("type") == "tile")
    first_pid = a.hello["pid"]
    os.kill(first_pid, signal.SIGKILL)
    assert a.proc.wait(timeout=30) == 1, "attach reports the lost daemon"
    assert b"daemon closed the connection" in a.proc.stderr.read()
    before = cells_of(list(read_events(journal_of(daemons, "survivor"))))
    assert 0 < len(before) < 64, "killed mid-sweep"
    with open(journal_of(daemons, "survivor"), "ab") as f:  # as if killed in the middle of a write
        f.write(b'{"seq":999,"type":"tile","sweep":"survivor","level":1,"cou')

    b = Attach(daemons, "--since", "0")  # starts a new daemon, which resumes the sweep
    assert b.hello["pid"] != first_pid
    assert b.until_done("survivor")["status"] == "completed"
    stream = b.events("survivor")
    assert [e["seq"] for e in stream] == list(range(1, len(stream) + 1)), "no gap, no repeat"
    assert stream == list(read_events(journal_of(daemons, "survivor")))
    cells = cells_of(stream)
    assert sorted(cells.tolist()) == list(range(64)), "no cell lost, none twice"
    assert cells[:len(before)].tolist() == before.tolist()
    assert [e["type"] for e in stream].count("resume") == 1
    torn = [m for m in b.seen if m["type"] == "warning"]
    assert len(torn) == 1 and "truncating a torn final line" in torn[0]["message"]
    assert b.close() == 0


def test_one_daemon_per_home_private_home_and_idle_exit(tmp_path, daemons):
    cmd = [PYTHON, "-m", "fractal_agent", "daemon", "--home", str(daemons.home), "--idle-timeout", "4"]
    first = json.loads(subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=True).stdout)
    daemons.pids.add(first["pid"])
    second = json.loads(subprocess.run(cmd, env=ENV, capture_output=True, text=True, check=True).stdout)
    assert first["started"] is True and second == {**first, "started": False}
    assert os.stat(daemons.home).st_mode & 0o777 == 0o700
    assert os.stat(daemons.home / "sweeps").st_mode & 0o777 == 0o700
    assert (daemons.home / "daemon.pid").read_text().strip() == str(first["pid"])
    wait_for(lambda: not alive(first["pid"]), timeout=30, what="the idle daemon to exit")
    assert not (daemons.home / "agent.sock").exists() and not (daemons.home / "daemon.pid").exists()
    r = subprocess.run([PYTHON, "-m", "fractal_agent", "attach", "--home", str(daemons.home), "--no-start"],
                       env=ENV, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode != 0 and "no daemon is listening" in r.stderr


def test_a_daemon_whose_home_was_deleted_leaves_the_next_daemons_socket_alone(tmp_path, daemons):
    # The home is removed while its daemon idles (a user's `rm -rf ~/.fractal-agent`), and a new daemon starts
    # there; when the old one times out it must not unlink the new one's socket or pid file.
    cmd = [PYTHON, "-m", "fractal_agent", "daemon", "--home", str(daemons.home)]
    old = json.loads(subprocess.run(cmd + ["--idle-timeout", "3"], env=ENV, capture_output=True, text=True, check=True).stdout)
    daemons.pids.add(old["pid"])
    shutil.rmtree(daemons.home)
    new = json.loads(subprocess.run(cmd + ["--idle-timeout", "60"], env=ENV, capture_output=True, text=True, check=True).stdout)
    daemons.pids.add(new["pid"])
    assert new["started"] is True and new["pid"] != old["pid"]
    wait_for(lambda: not alive(old["pid"]), timeout=30, what="the old daemon's idle exit")
    assert (daemons.home / "agent.sock").exists()
    assert (daemons.home / "daemon.pid").read_text().strip() == str(new["pid"])
    r = subprocess.run([PYTHON, "-m", "fractal_agent", "attach", "--home", str(daemons.home), "--no-start"],
                       env=ENV, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode == 0, r.stderr
