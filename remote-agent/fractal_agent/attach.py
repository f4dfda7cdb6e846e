"""The `attach` bridge: stdin and stdout of this process to the node's daemon socket, starting the daemon
when none listens. Clients (the app, over SSH or as a local subprocess) talk to the daemon through it."""
import errno
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

from .home import node_dir, socket_path
from .journal import encode

START_TIMEOUT = 60.0


def _connect(home, no_start, idle_timeout, workers, device):
    path = socket_path(home)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError as e:
            sock.close()
            if e.errno not in (errno.ENOENT, errno.ECONNREFUSED):
                raise
            if no_start:
                raise SystemExit(f"error: no daemon is listening on {path} (and --no-start was given)")
            if time.monotonic() > deadline:
                raise SystemExit(f"error: could not connect to a daemon on {path} within {START_TIMEOUT:g} s; "
                                 f"see {node_dir(home) / 'daemon.log'}")
        # Start it in a child process, so this one keeps clean stdio (it is the client's channel).
        cmd = [sys.executable, "-m", "fractal_agent", "daemon", "--home", str(home),
               "--idle-timeout", str(idle_timeout)]
        if workers is not None:
            cmd += ["--workers", str(workers)]
        if device is not None:
            cmd += ["--device", device]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(pathlib.Path(__file__).resolve().parents[1])] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        if r.returncode != 0:
            raise SystemExit(f"error: starting the daemon failed: {r.stderr.decode().strip()}")
        time.sleep(0.05)


def attach(home, sweep, since, no_start, idle_timeout, workers=None, device=None):
    """Bridge stdin (commands) and stdout (events, replies) to the daemon; returns the exit code."""
    sock = _connect(home, no_start, idle_timeout, workers, device)
    sock.sendall(encode({"op": "hello", "req": None, "since": since, "sweep": sweep}))
    stdin_closed = threading.Event()

    def pump_stdin():
        # Raw reads of fd 0: a thread blocked in a buffered stdin read would abort interpreter exit.
        try:
            while True:
                data = os.read(0, 1 << 16)
                if not data:
                    break
                sock.sendall(data)
        except OSError:
            pass
        stdin_closed.set()
        try:
            sock.shutdown(socket.SHUT_WR)  # the daemon flushes pending replies, then closes
        except OSError:
            pass

    threading.Thread(target=pump_stdin, daemon=True).start()
    out = sys.stdout.buffer
    while True:
        try:
            data = sock.recv(1 << 16)
        except ConnectionResetError:
            data = b""
        if not data:
            break
        try:
            out.write(data)
            out.flush()
        except BrokenPipeError:
            return 0  # the client stopped reading: it is gone
    if stdin_closed.is_set():
        return 0
    print("error: the daemon closed the connection (it exited or was killed)", file=sys.stderr)
    return 1
