"""Sweeps as Slurm job arrays (slurm.py): settings, de-duplicating merges, and the daemon on a real one-node
cluster (test/slurm/cluster.sh: Debian's slurm-wlm and munge on localhost). The cluster tests skip, saying
why, only where slurmctld cannot start here (not root, packages missing)."""
import json
import os
import pathlib
import shutil
import subprocess
import time

import numpy as np
import pytest

from fractal_agent import slurm, tiles
from fractal_agent.home import node_dir
from fractal_agent.journal import Journal, read_events
from conftest import tiny_spec
from test_daemon import ENV, PYTHON, Attach, Daemons, cells_of, wait_for

REPO = pathlib.Path(__file__).resolve().parents[2]
CLUSTER = REPO / "test" / "slurm" / "cluster.sh"


# ----------------------------------------------------------------------------- pure parts

def test_settings_are_checked_field_by_field():
    s = slurm.validate_settings({"kind": "slurm", "tasks": 4, "partition": "gpu", "gpus_per_task": 1, "time": "1-02:00:00"})
    assert s == {"kind": "slurm", "tasks": 4, "partition": "gpu", "gpus_per_task": 1, "cpus_per_task": None,
                 "time": "1-02:00:00", "account": None}
    assert slurm.validate_settings({"kind": "slurm"})["tasks"] == 1
    for bad, field in [({"kind": "pbs"}, "scheduler.kind"), ({"kind": "slurm", "tasks": 0}, "scheduler.tasks"),
                       ({"kind": "slurm", "tasks": True}, "scheduler.tasks"),
                       ({"kind": "slurm", "partition": "gpu; rm -rf ~"}, "scheduler.partition"),
                       ({"kind": "slurm", "time": "soon"}, "scheduler.time"),
                       ({"kind": "slurm", "nodes": 2}, "scheduler.nodes")]:
        with pytest.raises(ValueError, match=f"^{field}:"):
            slurm.validate_settings(bad)


def test_sbatch_gets_an_argument_list_with_the_settings_and_a_quoted_script(tmp_path):
    rd = tmp_path / "sweep x" / "slurm" / "r0"
    args = slurm.sbatch_args({"partition": "gpu", "account": "lab", "time": "30", "gpus_per_task": 2,
                              "cpus_per_task": 8}, "sw-1", rd, 4)
    assert args[:3] == ["sbatch", "--parsable", "--array=0-3"]
    assert {"--partition=gpu", "--account=lab", "--time=30", "--gres=gpu:2", "--cpus-per-task=8"} <= set(args)
    assert args[-1] == str(rd / "task.sh")
    script = slurm.task_script(tmp_path / "sweep x", 0)
    assert f"'{tmp_path / 'sweep x'}'" in script and "slurm-task" in script


def test_a_merge_records_each_cell_once_whatever_the_shards_repeat(tmp_path):
    from fractal_agent.spec import validate
    spec = validate(tiny_spec(4, 4, steps=30))
    main, _ = Journal.open_or_create(tmp_path / "main", "m", spec, {})
    from fractal_agent import trainer
    res = trainer.run_cells(spec, np.arange(16), "cpu")
    part = lambda idx: {k: (v if k == "trace_step" else v[idx]) for k, v in res.items()}
    main.append_tile(0, part(np.arange(4)))
    # a tile repeating cells 2, 3 (recorded) and 5 (twice in the tile) next to new cells 5, 6
    dup = part(np.array([2, 3, 5, 5, 6]))
    kept = slurm.new_cells_only(dup, main.done)
    assert kept["cell"].tolist() == [5, 6]
    main.append_tile(1, kept)
    assert main.done_count == 6
    main.close()


def test_a_bad_shard_is_reported_never_reaches_the_journal_and_the_other_shards_still_merge(tmp_path):
    """Shards written by a task that does not check what it writes (Journal.append, not append_tile): a cell -1
    (numpy would take it for cell 15), a cell past the end (an IndexError on every merge), an unknown done
    status, another sweep's shard. Each is reported once and skipped from its first bad event on."""
    from fractal_agent import trainer
    from fractal_agent.spec import validate
    spec = validate(tiny_spec(4, 4, steps=30))
    sweep = tmp_path / "sw"
    main, _ = Journal.open_or_create(sweep, "sw", spec, {})
    res = trainer.run_cells(spec, np.arange(16), "cpu")
    part = lambda idx: {k: (v if k == "trace_step" else v[np.asarray(idx)]) for k, v in res.items()}

    def shard(task, shard_spec=spec):
        return Journal.open_or_create(sweep / "slurm" / "r0" / f"t{task}", "sw", shard_spec, {})[0]

    def tile(j, cells, written=None):  # a tile of `cells` whose fields.cell says `written`
        ev = {"type": "tile", "sweep": "sw", "level": 0, **tiles.pack(part(cells))}
        if written is not None:
            ev["fields"]["cell"] = tiles.encode_array(np.array(written, dtype=np.int64))
        j.append(ev)

    t0, t1, t2, t3 = shard(0), shard(1), shard(2), shard(3)
    tile(t0, [0, 1])
    tile(t0, [2, 3], written=[2, -1])
    tile(t0, [4])  # after the bad event: the shard is not trusted any more
    tile(t1, [5, 0], written=[5, 16])
    tile(t2, [6])
    t2.append({"type": "done", "sweep": "sw", "status": "half-done", "error": None, "cells": 16, "recorded": 1})
    tile(t3, [7, 8])
    other = shard(4, validate(tiny_spec(2, 2, steps=30)))
    tile(other, [0])
    for j in (t0, t1, t2, other):
        j.close()

    reports = []
    m = slurm.Merger(sweep, main, {"tasks": 1}, main.append_tile, main.append_base, log=reports.append)
    assert m.merge() == 5
    assert np.flatnonzero(main.done).tolist() == [0, 1, 6, 7, 8]
    tile(t3, [9])  # the good shard grows: merged on the next pass, the bad ones stay skipped
    t3.append_done("completed")
    t3.close()
    assert m.merge() == 1
    bad = [r for r in reports if r.startswith("bad shard")]
    assert len(bad) == 4, reports
    assert "t0/journal.jsonl: seq 3 (tile event) is malformed" in bad[0] and "outside 0..15" in bad[0]
    assert "t1/journal.jsonl: seq 2 (tile event)" in bad[1] and "outside 0..15" in bad[1]
    assert "t2/journal.jsonl: seq 3 (done event)" in bad[2] and "'half-done'" in bad[2]
    assert "t4/journal.jsonl: seq 1" in bad[3] and "not this sweep's" in bad[3]
    # a bad shard never counts as finished (Merger.counts): its task is lost, its cells are trained again
    assert [m.readers[(0, t)].done for t in range(5)] == [None, None, None, "completed", None]
    main.close()
    again = Journal(sweep)  # the sweep's journal stays readable: nothing of a bad event was written
    assert np.flatnonzero(again.done).tolist() == [0, 1, 6, 7, 8, 9]
    again.close()


def test_per_node_runtime_files_on_a_shared_home(tmp_path, monkeypatch):
    monkeypatch.setenv("FRACTAL_AGENT_PER_NODE", "1")
    import socket
    assert node_dir(tmp_path) == tmp_path / "nodes" / socket.gethostname()
    monkeypatch.setenv("FRACTAL_AGENT_PER_NODE", "0")
    assert node_dir(tmp_path) == tmp_path


def test_two_nodes_sharing_a_home_each_run_their_own_daemon(tmp_path):
    """Two hostnames (UTS namespaces, as two login nodes) on one home: two daemons, two locks, one sweeps/."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to give a second process another hostname")
    home = tmp_path / "home"
    env = dict(ENV, FRACTAL_AGENT_PER_NODE="1")
    pids = []
    try:
        for name in ("login1", "login2"):
            r = subprocess.run(["unshare", "--uts", "sh", "-c", f"hostname {name} && exec \"$0\" \"$@\"",
                                PYTHON, "-m", "fractal_agent", "daemon", "--home", str(home), "--idle-timeout", "20"],
                               env=env, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
            out = json.loads(r.stdout)
            assert out["started"] is True, f"{name}: a daemon of the other node held the lock: {out}"
            pids.append(out["pid"])
        assert (home / "nodes" / "login1" / "agent.sock").exists() and (home / "nodes" / "login2" / "agent.sock").exists()
        assert len(set(pids)) == 2
    finally:
        for p in pids:
            try:
                os.kill(p, 9)
            except ProcessLookupError:
                pass


# ----------------------------------------------------------------------------- a real cluster

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("slurm")
    r = subprocess.run([str(CLUSTER), "start", str(d)], capture_output=True, text=True, timeout=120)
    if r.returncode == 3:
        pytest.skip(f"no Slurm cluster here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    conf = str(d / "slurm.conf")
    yield conf
    subprocess.run(["scancel", "--user", str(os.getuid()), "--partition", "debug"], env=dict(os.environ, SLURM_CONF=conf),
                   capture_output=True)
    subprocess.run([str(CLUSTER), "stop", str(d)], capture_output=True, timeout=60)


def squeue(conf):
    out = subprocess.run(["squeue", "--noheader", "--array", "--format", "%F|%K|%T"], capture_output=True, text=True,
                         env=dict(os.environ, SLURM_CONF=conf), check=True).stdout
    return [line.split("|") for line in out.split()]


def test_a_sweep_runs_as_a_job_array_survives_a_scancelled_task_and_records_every_cell_once(tmp_path, cluster):
    env = dict(ENV, SLURM_CONF=cluster)
    d = Daemons(tmp_path / "h")
    try:
        a = Attach(d, env=env)
        spec = tiny_spec(12, 12, steps=12000)  # ~2 s a chunk: task 1 is still training when it is scancelled
        r = a.request(op="submit", sweep="arr", spec=spec, scheduler={"kind": "slurm", "tasks": 3})
        assert r["ok"], r
        # wait until the three tasks run and have recorded something, then scancel one of them
        wait_for(lambda: sum(1 for f in squeue(cluster) if f[2] == "RUNNING") == 3, 60, "three running tasks")
        shard = tmp_path / "h" / "sweeps" / "arr" / "slurm" / "r0" / "t1" / "journal.jsonl"
        wait_for(lambda: shard.exists() and sum(1 for e in read_events(shard) if e["type"] == "tile") >= 1, 120,
                 "task 1's first tile")
        job = json.loads((tmp_path / "h" / "sweeps" / "arr" / "slurm" / "state.json").read_text())["rounds"][0]["job"]
        subprocess.run(["scancel", f"{job}_1"], env=env, check=True)
        done = a.next(lambda m: m.get("type") == "done" and m.get("sweep") == "arr", timeout=300)
        assert done["status"] == "completed" and done["recorded"] == 144
        events = a.events("arr")
        cells = cells_of(events)
        assert sorted(cells.tolist()) == list(range(144)), "every cell exactly once"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        state = json.loads((tmp_path / "h" / "sweeps" / "arr" / "slurm" / "state.json").read_text())
        assert len(state["rounds"]) >= 2, "the cancelled task's cells went to a new round"
        tasks = next(x for x in a.request(op="status")["sweeps"] if x["sweep"] == "arr")["tasks"]
        assert tasks["lost"] == 1 and tasks["finished"] == 2 + len(state["rounds"]) - 1 and tasks["running"] == 0
        assert "ended without finishing its shard" in (node_dir(tmp_path / "h") / "daemon.log").read_text()
        a.close()
    finally:
        d.kill_all()


def test_cancelling_the_sweep_scancels_its_array_and_a_resume_finishes_it_each_cell_once(tmp_path, cluster):
    env = dict(ENV, SLURM_CONF=cluster)
    d = Daemons(tmp_path / "h")
    sweep_dir = tmp_path / "h" / "sweeps" / "cx"
    try:
        a = Attach(d, env=env)
        # Long enough that no task can finish in the few seconds between squeue listing it running and the
        # cancel (~3 s of work per 16-cell chunk here, ~5 chunks a task): with 600 steps a fast machine
        # finished both shards before the cancel arrived, and nothing was left to cancel.
        spec, sched = tiny_spec(12, 12, steps=20000), {"kind": "slurm", "tasks": 2}
        assert a.request(op="submit", sweep="cx", spec=spec, scheduler=sched)["ok"]
        wait_for(lambda: (sweep_dir / "slurm" / "state.json").exists(), 60, "the job array")
        job = json.loads((sweep_dir / "slurm" / "state.json").read_text())["rounds"][0]["job"]
        wait_for(lambda: sum(1 for f in squeue(cluster) if f[0] == job and f[2] == "RUNNING") == 2, 60, "two running tasks")
        wait_for(lambda: (a.request(op="status")["sweeps"][0].get("tasks") or {}).get("running") == 2, 30,
                 "status to show the two running tasks")
        running = {"jobs": [job], "pending": 0, "running": 2, "finished": 0, "lost": 0}
        assert a.request(op="status")["sweeps"][0]["tasks"] == running
        # followers are told as the counts change (the app's progress), and a new follower gets the last counts
        assert {"type": "tasks", "sweep": "cx", **running} in [m for m in a.seen if m.get("type") == "tasks"]
        b = Attach(d, "--sweep", "cx", "--since", "0", env=env)
        assert b.next(lambda m: m.get("type") == "tasks")["running"] == 2
        b.close()
        r = a.request(op="cancel", sweep="cx")
        assert r["ok"] and r["state"] == "cancelling"
        done = a.next(lambda m: m.get("type") == "done" and m.get("sweep") == "cx", timeout=120)
        assert done["status"] == "cancelled" and done["recorded"] < 144, done
        assert not [f for f in squeue(cluster) if f[0] == job], "the array is scancelled"
        assert f"scancel {job}" in (node_dir(tmp_path / "h") / "daemon.log").read_text()

        r = a.request(op="submit", sweep="cx", spec=spec, scheduler=sched, resume=True)
        assert r["ok"] and r["resumed"] is True
        done = a.next(lambda m: m.get("type") == "done" and m.get("sweep") == "cx", timeout=300)
        assert done["status"] == "completed" and done["recorded"] == 144
        assert sorted(cells_of(a.events("cx")).tolist()) == list(range(144))
        a.close()
    finally:
        d.kill_all()


def test_a_submission_slurm_refuses_fails_the_sweep_with_sbatchs_reason(tmp_path, cluster):
    d = Daemons(tmp_path / "h")
    try:
        a = Attach(d, env=dict(ENV, SLURM_CONF=cluster))
        r = a.request(op="submit", sweep="nopart", spec=tiny_spec(4, 4), scheduler={"kind": "slurm", "partition": "nope"})
        assert r["ok"]
        done = a.next(lambda m: m.get("type") == "done" and m.get("sweep") == "nopart", timeout=60)
        assert done["status"] == "failed" and "sbatch failed" in done["error"] and "partition" in done["error"].lower()
        bad = a.request(op="submit", sweep="bad", spec=tiny_spec(4, 4), scheduler={"kind": "slurm", "tasks": 0})
        assert not bad["ok"] and bad["error"] == "scheduler.tasks: must be an integer >= 1, got 0"
        assert bad["field"] == "scheduler.tasks"
        a.close()
    finally:
        d.kill_all()
