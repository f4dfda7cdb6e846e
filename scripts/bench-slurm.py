"""Scale-out benchmark: cells/s of one sweep run as a Slurm job array of 1, 2 and 4 tasks (docs/BENCHMARKS.md).

    /usr/bin/python3 scripts/bench-slurm.py [--tasks 1,2,4] [--points 48] [--steps 1000] [--width 16]

Starts a real one-node Slurm cluster (test/slurm/cluster.sh: root, slurm-wlm and munge), starts the agent's
daemon in a temporary home as the login node does, and submits the same MLP sweep (the paper's tanh network,
lr.input x lr.output, full-batch GD) once per task count, under a new sweep id each time. Each task asks for one
CPU (torch uses one thread). Printed per run: wall time from submit to the done event, cells/s, the speed-up
over one task and the scaling efficiency (speed-up / tasks), and the time until the first merged tile (sbatch,
scheduling, interpreter and torch start-up). A timing is a measurement of this machine, never an assertion.
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import queue
import re
import threading
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
AGENT = REPO / "remote-agent"
CLUSTER = REPO / "test" / "slurm" / "cluster.sh"


class Attach:
    """The agent's `attach`: JSON lines in and out."""

    def __init__(self, home, env):
        self.proc = subprocess.Popen([sys.executable, "-m", "fractal_agent", "attach", "--home", str(home),
                                      "--idle-timeout", "60"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.n = 0

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put((time.monotonic(), json.loads(raw)))
        self.lines.put((time.monotonic(), None))

    def next(self, pred, timeout=3600):
        deadline = time.monotonic() + timeout
        while True:
            t, m = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if m is None:
                raise SystemExit("attach ended")
            if pred(m):
                return t, m

    def request(self, **msg):
        self.n += 1
        msg["req"] = req = f"r{self.n}"
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()
        return self.next(lambda m: m.get("type") == "reply" and m.get("req") == req)

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def spec(points, steps, width):
    axis = {"scale": "log", "range": [-1.0, 3.0], "points": points}
    return {"version": 1, "name": f"bench-slurm {points}^2", "model": {"family": "mlp", "width": width,
                                                                         "activation": "tanh", "seed": 0},
            "train": {"optimizer": "gd", "steps": steps}, "criterion": {"window": 20, "threshold": 1.0},
            "axes": {"x": {"param": "lr.input", **axis}, "y": {"param": "lr.output", **axis}}, "record": {"curves": False}}


def merge_cost(k=4096, rounds=50):
    """Seconds per cell the login node spends merging a shard's tile: parse the line, drop recorded cells,
    re-pack and encode it with the sweep's seq (the journal write and fsync not included)."""
    import numpy as np
    from fractal_agent import slurm, tiles
    from fractal_agent.journal import encode
    res = {"cell": np.arange(k, dtype=np.int64), "trainable": np.ones(k, np.uint8), "stable": np.ones(k, np.uint8),
           "divergence_step": np.full(k, -1, np.int32)}
    for f in ("score", "first_loss", "final_loss", "heldout_loss", "ood_loss", "wall_time", "flops"):
        res[f] = np.random.default_rng(0).random(k)
    line = encode({"seq": 5, "type": "tile", "sweep": "x", "level": 3, **tiles.pack(res)})
    recorded = np.zeros(1 << 20, dtype=bool)
    t = time.perf_counter()
    for _ in range(rounds):
        kept = slurm.new_cells_only(tiles.unpack(json.loads(line)), recorded)
        encode({"seq": 6, "type": "tile", "sweep": "x", "level": 3, **tiles.pack(kept)})
    return (time.perf_counter() - t) / rounds / k


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default="1,2,4")
    ap.add_argument("--points", type=int, default=48)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--width", type=int, default=16)
    args = ap.parse_args()
    tasks = [int(t) for t in args.tasks.split(",")]
    sys.path.insert(0, str(AGENT))
    print(f"merge on the login node: {merge_cost() * 1e6:.1f} us per cell (4096-cell tiles, no curves; "
          f"parse, de-duplicate, re-pack, encode)", flush=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="bench-slurm-"))
    r = subprocess.run([str(CLUSTER), "start", str(work / "slurm")], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"cannot start the test cluster: {r.stderr.strip()}")
    env = dict(os.environ, SLURM_CONF=str(work / "slurm" / "slurm.conf"), PYTHONPATH=str(AGENT))
    a = None
    try:
        a = Attach(work / "home", env)
        a.next(lambda m: m.get("type") == "hello")
        s = spec(args.points, args.steps, args.width)
        cells = args.points ** 2
        print(f"bench-slurm: {cells} cells ({args.points}^2 tanh MLP, width {args.width}, {args.steps} steps, float64), "
              f"1 CPU per task; {platform.node()}, {os.cpu_count()} CPUs, python {platform.python_version()}", flush=True)
        base = None
        for n in tasks:
            sweep = f"bench-{n}-{int(time.time())}"
            t0, reply = a.request(op="submit", sweep=sweep, spec=s,
                                  scheduler={"kind": "slurm", "tasks": n, "cpus_per_task": 1})
            if not reply["ok"]:
                raise SystemExit(f"submit refused: {reply}")
            t1, _ = a.next(lambda m: m.get("type") == "tile" and m.get("sweep") == sweep)
            t2, done = a.next(lambda m: m.get("type") == "done" and m.get("sweep") == sweep)
            if done["status"] != "completed" or done["recorded"] != cells:
                raise SystemExit(f"sweep {sweep} ended {done}")
            wall = t2 - t0
            rate = cells / wall
            # CPU seconds the tasks used (each task prints them last in its Slurm log): unlike wall time, this does
            # not depend on what else the machine runs, so cells per CPU-second shows the work added per task.
            cpu = 0.0
            for log in (work / "home" / "sweeps" / sweep / "slurm").glob("r*/logs/*.out"):
                m = re.search(r"cpu ([0-9.]+) s", log.read_text())
                cpu += float(m.group(1)) if m else 0.0
            base = base or rate * 1  # the first entry (1 task by default) is the reference
            speedup = rate / base
            print(f"  {n} task(s): {wall:6.1f} s, {rate:7.1f} cells/s, speed-up {speedup:4.2f}x, "
                  f"efficiency {speedup / (n / tasks[0]):4.0%}, first tile after {t1 - t0:4.1f} s, "
                  f"tasks' CPU {cpu:6.1f} s = {cells / cpu if cpu else float('nan'):6.1f} cells per CPU-second, "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        if a is not None:
            a.close()
        subprocess.run(["scancel", "--partition", "debug"], env=env, capture_output=True)
        subprocess.run([str(CLUSTER), "stop", str(work / "slurm")], capture_output=True)


if __name__ == "__main__":
    main()
