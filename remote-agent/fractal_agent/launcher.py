"""Starting the daemon: detached from the caller's session (double fork + setsid), one per node home (flock)."""
import fcntl
import os
import socket
import sys
import traceback

from . import AGENT_VERSION, PROTOCOL_VERSION
from .daemon import Daemon
from .home import ensure_home, node_dir, socket_path


def _daemon_main(home, idle_timeout, workers, device, ready_fd):
    """The detached grandchild: take the lock, bind, report on ready_fd, serve."""
    node = node_dir(home)
    lock_fd = os.open(node / "daemon.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = (node / "daemon.pid").read_text().strip() if (node / "daemon.pid").exists() else "?"
        os.write(ready_fd, f"running {pid}\n".encode())
        return
    (node / "daemon.pid").write_text(f"{os.getpid()}\n")
    path = socket_path(home)
    if os.path.exists(path):
        os.unlink(path)  # left by a daemon that was killed; we hold the lock, so it is not in use
    daemon = Daemon(home, idle_timeout, workers, device)
    daemon.log(f"daemon {os.getpid()} starting: agent {AGENT_VERSION}, protocol {PROTOCOL_VERSION}, "
               f"devices {daemon.devices}, idle timeout {idle_timeout:g} s")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    bound = os.stat(path)
    listener.listen(64)
    os.write(ready_fd, f"ready {os.getpid()}\n".encode())
    os.close(ready_fd)
    try:  # whatever ends the daemon, even while loading, removes its socket and pid file
        daemon.load_sweeps()  # scanning big journals takes a while; clients wait in the listen backlog
        daemon.serve(listener)
    finally:
        listener.close()
        # Only our own: if the home was deleted under us, a newer daemon may hold these paths now.
        if _same_file(path, bound):
            os.unlink(path)
        pid_file = node / "daemon.pid"
        if pid_file.exists() and pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink()


def _same_file(path, st):
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def start(home, idle_timeout, workers=None, device=None):
    """Start the daemon detached (double fork + setsid) unless one runs. Returns (pid, started)."""
    ensure_home(home)
    socket_path(home)  # fail here, not in the detached process
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: new session, then fork again so the daemon can never regain a terminal
        os.close(r)
        os.setsid()
        if os.fork():
            os._exit(0)
        code = 0
        try:
            os.chdir(home)
            os.umask(0o077)
            log = os.open(node_dir(home) / "daemon.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.close(null)
            os.close(log)
            sys.stdout = os.fdopen(1, "w", buffering=1)
            sys.stderr = os.fdopen(2, "w", buffering=1)
            _daemon_main(home, idle_timeout, workers, device, w)
        except BaseException:
            traceback.print_exc()
            try:
                os.write(w, f"error {traceback.format_exc(limit=3)}".encode())
            except OSError:
                pass
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(w)
    os.waitpid(pid, 0)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    msg = b"".join(chunks).decode()
    if msg.startswith("ready "):
        return int(msg.split()[1]), True
    if msg.startswith("running "):
        p = msg.split()[1]
        return (int(p) if p.isdigit() else None), False
    raise RuntimeError(f"the daemon did not start (see {node_dir(home) / 'daemon.log'}): {msg.strip() or 'no report'}")

