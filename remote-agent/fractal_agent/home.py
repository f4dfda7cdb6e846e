"""The agent's home directory on a node (FRACTAL_AGENT_HOME, default ~/.fractal-agent, mode 0700):

    daemon.lock   flock held by the running daemon: at most one per home
    daemon.pid    its pid
    agent.sock    unix socket it listens on (the home's 0700 mode keeps other users out)
    daemon.log    its stdout/stderr
    sweeps/<ID>/  one journal directory per sweep (journal.py)

The first four live in node_dir(home), which is the home itself unless the home is shared by several machines.
"""
import os
import pathlib
import socket


def home_dir(arg=None):
    # Absolute: the daemon chdirs into it.
    return pathlib.Path(arg or os.environ.get("FRACTAL_AGENT_HOME") or pathlib.Path.home() / ".fractal-agent") \
        .expanduser().absolute()


# File systems that several machines mount (an HPC cluster's home): the runtime files go per node there.
SHARED_FS = ("nfs", "nfs4", "lustre", "gpfs", "beegfs", "ceph", "cifs", "smb3", "glusterfs", "fuse.glusterfs",
             "panfs", "wekafs", "fuse.sshfs")


def _fs_type(path):
    """The file system type of the mount holding `path` (/proc/self/mountinfo), or None."""
    best, kind = "", None
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                mount = left.split()[4].encode().decode("unicode_escape")
                if (path == mount or path.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
                    best, kind = mount, right.split()[0]
    except (OSError, IndexError):
        return None
    return kind


def node_dir(home):
    """Where this node's daemon keeps daemon.lock, daemon.pid, agent.sock and daemon.log: the home itself, or
    home/nodes/<hostname>/ when the home is on a file system several machines share (NFS, Lustre, GPFS, ...;
    FRACTAL_AGENT_PER_NODE=1 or 0 decides instead), so the daemons of two login nodes never fight over one
    lock or socket. sweeps/ stays shared: compute nodes write their shards there (slurm.py)."""
    forced = os.environ.get("FRACTAL_AGENT_PER_NODE")
    shared = forced == "1" if forced in ("0", "1") else _fs_type(os.path.realpath(home)) in SHARED_FS
    return home / "nodes" / socket.gethostname() if shared else home


def ensure_home(home):
    for d in (home, home / "sweeps", node_dir(home)):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(d, 0o700)


def socket_path(home):
    path = str(node_dir(home) / "agent.sock")
    if len(path.encode()) > 100:  # sun_path holds 108 bytes
        raise SystemExit(f"error: socket path {path!r} is too long for a unix socket; use a shorter --home")
    return path

