"""The detached daemon (one per user) and the `attach` bridge that clients talk through.

Home directory (FRACTAL_AGENT_HOME, default ~/.fractal-agent, mode 0700):

    daemon.lock   flock held by the running daemon: at most one per home
    daemon.pid    its pid
    agent.sock    unix socket it listens on (the home's 0700 mode keeps other users out)
    daemon.log    its stdout/stderr
    sweeps/<ID>/  one journal directory per sweep (journal.py)

The daemon runs sweeps one at a time (each uses every worker: all GPUs, or --workers CPU processes)
whether or not a client is attached, and exits after --idle-timeout seconds with no sweep to run
and no client. On start it resumes every sweep whose journal has no "done" event; a cancelled or
failed sweep runs again when a client submits it with "resume": true, and `delete` removes a finished
one (its directory included).

Threads: the accept loop (main), one sweep runner, and a reader + writer per client. One lock
guards the sweep table, the journals' appends and the subscriber sets, so a client that asks for
"everything after seq N" gets the file replay up to the seq current at that moment, then exactly
the live events after it: nothing lost, nothing twice. PROTOCOL.md describes the messages.
"""
import collections
import errno
import fcntl
import json
import os
import pathlib
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback

from . import AGENT_VERSION, PROTOCOL_VERSION, envinfo, scheduler, slurm, wandb_log
from .journal import SYNC_SECONDS, Journal, JournalError, JournalWriteError, encode, read_lines
from .spec import SpecError, cell_count, validate

SWEEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
START_TIMEOUT = 60.0
MAX_BACKLOG = 10000  # messages queued for one client
DELETE_WAIT = 30.0  # seconds `delete` waits for a just-ended sweep's W&B logging before refusing


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


def _send_line(sock, obj):
    sock.sendall(encode(obj))


# ============================================================================ the daemon process

class Sweep:
    def __init__(self, sweep_id, directory):
        self.id, self.dir = sweep_id, directory
        self.state, self.error = "queued", None
        self.total = self.recorded = self.last_seq = 0
        self.spec = None
        self.cancel = threading.Event()
        self.subscribers = set()
        self.ending = 0  # > 0 while its W&B run is being logged after a done event (no delete then)
        self.deleted = False  # removed by `delete`: a replay still queued for a client is skipped
        self.warnings = []  # damage found when a writer opened the journal (e.g. a truncated torn line)
        self.scheduler = None  # Slurm settings of a sweep submitted with a scheduler (slurm.py), else None
        self.settings_error = None  # why its scheduler.json could not be used (it is resumed only with new ones)
        self.tasks = None  # its array tasks while it runs: {"jobs", "pending", "running", "finished", "lost"}
        self.journal = None  # the open Journal while the runner writes it (the flusher syncs it)
        self.epoch = None  # the journal's random id (its sweep event); None for journals written before epochs

    def status(self):
        return {"sweep": self.id, "state": self.state, "cells": self.total, "done": self.recorded,
                "last_seq": self.last_seq, "error": self.error, "epoch": self.epoch,
                **({"tasks": self.tasks} if self.tasks is not None else {})}


def tasks_message(sw):
    """A Slurm sweep's array tasks as last seen in the queue: sent (not journalled) to its followers."""
    return {"type": "tasks", "sweep": sw.id, **sw.tasks}


class Client:
    """One attached connection: commands in, events and replies out (through a queue, in order)."""

    def __init__(self, daemon, sock):
        self.daemon, self.sock = daemon, sock
        self.out = queue.Queue()
        self.follow_all = False
        self.closing = False  # the client closed its side: stop replaying, flush replies, close

    def send(self, line):
        if self.out.qsize() >= MAX_BACKLOG:
            # A client this far behind (a stalled channel) would grow the daemon without bound: cut it
            # off; it reconnects with --since its last seq and loses nothing.
            if not self.closing:
                self.closing = True
                self.daemon.log(f"client {id(self):x}: {MAX_BACKLOG} messages behind; disconnecting it")
                try:
                    self.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return
        self.out.put(("line", line))

    def reply(self, req, ok=True, **fields):
        msg = {"type": "reply", "req": req, "ok": ok, **fields}
        self.send(encode(msg))

    def writer(self):
        try:
            while True:
                kind, *args = self.out.get()
                if kind == "close":
                    break
                if kind == "line":
                    self.sock.sendall(args[0])
                elif kind == "replay":
                    self._replay(*args)
        except OSError:  # the client went away; its reader sees the same
            pass
        finally:
            self.daemon.drop_client(self)
            self.sock.close()

    def _replay(self, sweep, since, until):
        def warn(w):
            if w not in sweep.warnings:  # those were sent already, before the replay
                self.daemon.log(w["message"])
                self.sock.sendall(encode(w))
        if until > since:
            try:
                for _, raw in read_lines(sweep.dir / "journal.jsonl", since, until, warn, sweep.id):
                    if self.closing:
                        return
                    self.sock.sendall(raw)
            except FileNotFoundError:
                if not sweep.deleted:
                    raise
        if sweep.deleted:
            return  # deleted since this replay was queued: the client no longer follows it
        self.sock.sendall(encode({"type": "replayed", "sweep": sweep.id, "last_seq": until, "epoch": sweep.epoch}))

    def reader(self):
        f = self.sock.makefile("rb")
        try:
            first = True
            for raw in f:
                try:
                    msg = json.loads(raw)
                    if not isinstance(msg, dict):
                        raise ValueError("a command is a JSON object")
                except ValueError as e:
                    self.reply(None, False, error=f"not a JSON command ({e}): {raw[:200]!r}")
                    continue
                if first and msg.get("op") != "hello":
                    self.reply(msg.get("req"), False, error='the first command must be {"op":"hello","since":N}')
                    continue
                first = False
                self.daemon.handle(self, msg)
        except OSError:
            pass
        finally:
            self.closing = True
            self.out.put(("close",))


class Daemon:
    def __init__(self, home, idle_timeout, workers=None, device=None):
        self.home = home
        self.idle_timeout = idle_timeout
        self.devices = scheduler.devices(device, workers)
        self.env = envinfo.probe()
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.sweeps = {}
        self.queue = collections.deque()
        self.clients = set()
        self.ending = 0  # sweeps being logged to W&B after their done event: not idle yet
        self.busy_since_idle = time.monotonic()  # last moment something was running or attached

    def log(self, message):
        try:
            print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", flush=True)
        except OSError:
            # daemon.log's disk is full: the line is lost, but the daemon must go on (end the sweep that
            # hit the full disk as failed, serve its clients); sweep states and warnings still say what happened.
            pass

    def warn(self, sw, warning):
        """Journal damage seen by a writer: logged, kept, and sent to every client that follows the sweep."""
        warning = {**warning, "sweep": sw.id}
        self.log(warning["message"])
        if warning not in sw.warnings:
            sw.warnings.append(warning)

    def notify(self, sw, message):
        """A problem outside the journal (W&B logging failed): logged, and a warning to the sweep's
        clients, now and on every later follow."""
        warning = {"type": "warning", "sweep": sw.id, "line": None, "offset": None, "message": message}
        with self.lock:
            self.warn(sw, warning)
            self.publish(sw, encode(warning))

    # ------------------------------------------------------------------------ startup

    def load_sweeps(self):
        for d in sorted((self.home / "sweeps").iterdir()):
            if not (d / "journal.jsonl").exists():
                continue
            sw = Sweep(d.name, d)
            try:
                sw.scheduler = slurm.load_settings(d)
            except ValueError as e:  # only this sweep: it must not run (here, not on Slurm) until resumed with one
                sw.settings_error = str(e)
                self.log(f"sweep {d.name}: {e}")
            try:
                j = Journal(d, warn=lambda w, sw=sw: self.warn(sw, w))
            except Exception as e:  # JournalError, or anything else one bad journal raises: only it is broken
                sw.state, sw.error = "broken", str(e) if isinstance(e, JournalError) else f"{type(e).__name__}: {e}"
                self.log(f"sweep {d.name}: broken: {sw.error}")
            else:
                sw.spec, sw.total, sw.recorded, sw.last_seq = j.spec, j.total, j.done_count, j.last_seq
                sw.epoch = j.epoch
                sw.state = j.status or "queued"
                if sw.state == "queued" and sw.settings_error:
                    # Unfinished, but where it runs is unknown: it ends failed, and its clients are told why.
                    j.append_done("failed", sw.settings_error)
                    sw.state, sw.error, sw.last_seq = "failed", sw.settings_error, j.last_seq
                j.close()
                if sw.state == "queued":
                    self.queue.append(sw.id)
                    self.log(f"sweep {sw.id}: unfinished ({sw.recorded}/{sw.total} cells); resuming")
            self.sweeps[sw.id] = sw

    # ------------------------------------------------------------------------ clients

    def drop_client(self, client):
        with self.lock:
            self.clients.discard(client)
            for sw in self.sweeps.values():
                sw.subscribers.discard(client)
            self.busy_since_idle = time.monotonic()

    def _follow(self, client, sw, since):
        """Subscribe `client` to `sw`: replay (since, last_seq] from the file, then live events. Holds lock."""
        if client in sw.subscribers:
            return False
        sw.subscribers.add(client)
        for w in sw.warnings:
            client.send(encode(w))
        if sw.tasks is not None:
            client.send(encode(tasks_message(sw)))
        client.out.put(("replay", sw, since, sw.last_seq))
        return True

    def publish(self, sw, line):
        for c in sw.subscribers:
            c.send(line)

    def handle(self, client, msg):
        op, req = msg.get("op"), msg.get("req")
        handler = getattr(self, f"op_{op}", None) if isinstance(op, str) else None
        if handler is None:
            client.reply(req, False, error=f"unknown op {op!r}; ops: hello, submit, cancel, delete, status, follow")
            return
        try:
            handler(client, req, msg)
        except Exception as e:  # a bad command must not take the daemon down; the client gets the error
            self.log(f"op {op} failed: {traceback.format_exc()}")
            client.reply(req, False, error=f"{type(e).__name__}: {e}")

    def op_hello(self, client, req, msg):
        since = msg.get("since", 0)
        if not isinstance(since, int) or since < 0:
            client.reply(req, False, error=f"since must be an integer >= 0, got {since!r}")
            return
        with self.lock:
            client.send(encode({"type": "hello", "protocol": PROTOCOL_VERSION, "agent": AGENT_VERSION,
                                "pid": os.getpid(), "hostname": self.env["hostname"], "home": str(self.home),
                                "devices": self.devices,
                                "sweeps": [sw.status() for sw in self.sweeps.values()]}))
            only = msg.get("sweep")
            if only is not None and only not in self.sweeps:
                client.reply(req, False, error=f"no sweep {only!r} on this node (submit it, then follow it)")
                return
            if only is None:
                client.follow_all = True
                for sw in self.sweeps.values():
                    self._follow(client, sw, since)
            else:
                self._follow(client, self.sweeps[only], since)

    def op_status(self, client, req, msg):
        with self.lock:
            client.reply(req, sweeps=[sw.status() for sw in self.sweeps.values()])

    def op_follow(self, client, req, msg):
        sweep_id, since = msg.get("sweep"), msg.get("since", 0)
        if not isinstance(since, int) or since < 0:
            client.reply(req, False, error=f"since must be an integer >= 0, got {since!r}")
            return
        with self.lock:
            if sweep_id not in self.sweeps:
                client.reply(req, False, error=f"no sweep {sweep_id!r} on this node")
                return
            added = self._follow(client, self.sweeps[sweep_id], since)
            client.reply(req, sweep=sweep_id, already=not added)

    def op_submit(self, client, req, msg):
        sweep_id = msg.get("sweep")
        if not isinstance(sweep_id, str) or not SWEEP_ID.match(sweep_id):
            client.reply(req, False, error=f"sweep: must match {SWEEP_ID.pattern} (it names a directory), got {sweep_id!r}")
            return
        try:
            spec = validate(msg.get("spec"))
        except SpecError as e:
            client.reply(req, False, error=f"spec error: {e}", field=e.field)
            return
        resume = msg.get("resume", False)
        if not isinstance(resume, bool):
            client.reply(req, False, error=f"resume: must be true or false, got {resume!r}")
            return
        try:  # a Slurm cluster's settings: the sweep runs as job arrays (slurm.py)
            sched = None if msg.get("scheduler") is None else slurm.validate_settings(msg["scheduler"])
        except ValueError as e:
            client.reply(req, False, error=str(e), field=str(e).split(":")[0])
            return
        with self.lock:
            sw = self.sweeps.get(sweep_id)
            if sw is not None:
                if sw.state == "broken":
                    client.reply(req, False, error=f"sweep {sweep_id!r} is broken ({sw.error}); it cannot be "
                                                   "resumed or resubmitted: delete it, or choose a new sweep id")
                elif sw.spec != spec:
                    client.reply(req, False, error=f"sweep {sweep_id!r} exists with a different spec; "
                                                   "choose a new sweep id")
                elif resume and sw.settings_error and sched is None:
                    client.reply(req, False, error=f"sweep {sweep_id!r} cannot resume without its scheduler: "
                                                   f"{sw.settings_error}")
                elif resume and sw.state in ("cancelled", "failed"):
                    # Run it again: the runner appends a resume event and trains only the cells its
                    # journal lacks (Journal.pending), so recorded cells stay as they are.
                    self.log(f"sweep {sweep_id}: resumed ({sw.state}, {sw.recorded}/{sw.total} cells recorded)")
                    sw.cancel = threading.Event()
                    sw.state, sw.error = "queued", None
                    if sched is not None:  # settings as given now (e.g. more tasks); shards already run are kept
                        slurm.save_settings(sw.dir, sched)
                        sw.settings_error = None
                    sw.scheduler = sched if sched is not None else sw.scheduler
                    self.queue.append(sweep_id)
                    self.wake.notify_all()
                    client.reply(req, sweep=sweep_id, existing=True, resumed=True, state=sw.state, cells=sw.total)
                else:
                    client.reply(req, sweep=sweep_id, existing=True, resumed=False, state=sw.state, cells=sw.total)
                return
            sw = Sweep(sweep_id, self.home / "sweeps" / sweep_id)
            sw.spec, sw.total = spec, cell_count(spec)
            for c in self.clients:
                if c.follow_all:
                    sw.subscribers.add(c)  # new sweep: its live events are all there is
            # The sweep joins the table only once its files exist: a sweep listed without a journal could be
            # neither run, cancelled nor deleted. scheduler.json first: a journal without it would run here.
            made = not os.path.lexists(sw.dir)
            try:
                if sched is not None:
                    sw.dir.mkdir(mode=0o700, exist_ok=True)
                    slurm.save_settings(sw.dir, sched)
                j, _ = Journal.open_or_create(sw.dir, sweep_id, spec, self.env, warn=lambda w: self.warn(sw, w),
                                              on_append=lambda ev, line: self._recorded(sw, ev, line))
                j.close()
            except OSError as e:  # a full disk, a file in the way, no permission
                if made and os.path.isdir(sw.dir) and not os.path.islink(sw.dir):
                    shutil.rmtree(sw.dir)  # what this submit began; the id stays free
                self.log(f"sweep {sweep_id}: cannot create it: {traceback.format_exc()}")
                client.reply(req, False, error=f"sweep {sweep_id!r} cannot be created in {sw.dir}: "
                                               f"{e.strerror or e}{f' ({e.filename})' if e.filename else ''}; "
                                               "nothing was queued")
                return
            sw.scheduler = sched
            self.sweeps[sweep_id] = sw
            self.queue.append(sweep_id)
            self.wake.notify_all()
            self.log(f"sweep {sweep_id}: submitted, {sw.total} cells{' (Slurm)' if sched else ''}")
            client.reply(req, sweep=sweep_id, existing=False, resumed=False, state=sw.state, cells=sw.total)

    def op_cancel(self, client, req, msg):
        sweep_id = msg.get("sweep")
        with self.lock:
            sw = self.sweeps.get(sweep_id)
            if sw is None:
                client.reply(req, False, error=f"no sweep {sweep_id!r} on this node")
                return
            changed = sw.state in ("queued", "running")
            sw.cancel.set()
            ended = sw.state == "queued"
            if ended:  # never started: record the cancellation here
                self.queue.remove(sweep_id)
                j = Journal(sw.dir, warn=lambda w: self.warn(sw, w),
                            on_append=lambda ev, line: self._recorded(sw, ev, line))
                j.append_done("cancelled")
                j.close()
                self.ending += 1
                sw.ending += 1
            self.log(f"sweep {sweep_id}: cancel requested ({sw.state})")
            client.reply(req, sweep=sweep_id, state="cancelling" if sw.state == "running" else sw.state,
                         changed=changed)
        if ended:
            self.sweep_ended(sw)

    def op_delete(self, client, req, msg):
        sweep_id = msg.get("sweep")
        if not isinstance(sweep_id, str) or not SWEEP_ID.match(sweep_id):
            client.reply(req, False, error=f"sweep: must match {SWEEP_ID.pattern} (it names a directory), got {sweep_id!r}")
            return
        deadline = time.monotonic() + DELETE_WAIT
        with self.lock:
            while True:
                sw = self.sweeps.get(sweep_id)
                if sw is None:
                    client.reply(req, sweep=sweep_id, existed=False)
                    return
                if sw.state in ("queued", "running"):
                    client.reply(req, False, error=f"sweep {sweep_id!r} is {sw.state}; cancel it first, "
                                                   "then delete it once its done event has arrived")
                    return
                if not sw.ending:
                    break
                # Its done event is written but its W&B run is still being logged from the directory
                # (a moment without W&B): wait for that, then look again.
                left = deadline - time.monotonic()
                if left <= 0:
                    client.reply(req, False, error=f"sweep {sweep_id!r} is still being logged to W&B; "
                                                   "try again shortly")
                    return
                self.wake.wait(left)
            # Only ever home/sweeps/<ID> (SWEEP_ID has no "/" and cannot be "." or ".."); a link
            # there is removed itself, never followed.
            sweeps = os.path.realpath(self.home / "sweeps")
            target = os.path.join(sweeps, sweep_id)
            if os.path.realpath(os.path.dirname(sw.dir)) != sweeps or os.path.basename(sw.dir) != sweep_id:
                client.reply(req, False, error=f"sweep {sweep_id!r}: its directory {sw.dir} is not "
                                               f"{target}; not deleting it")
                return
            try:
                if os.path.islink(target):
                    os.unlink(target)
                elif os.path.lexists(target):
                    shutil.rmtree(target)
            except OSError as e:
                sw.state, sw.error = "broken", f"delete failed: {e}"
                self.log(f"sweep {sweep_id}: delete failed: {traceback.format_exc()}")
                client.reply(req, False, error=f"sweep {sweep_id!r}: cannot remove {target}: {e}")
                return
            del self.sweeps[sweep_id]
            sw.deleted = True
            sw.subscribers.clear()
            self.log(f"sweep {sweep_id}: deleted ({sw.state}, {sw.recorded}/{sw.total} cells); removed {target}")
            client.reply(req, sweep=sweep_id, existed=True)

    def _recorded(self, sw, event, line):
        """Journal on_append hook (called with the lock held): update the table, stream the event."""
        sw.last_seq = event["seq"]
        if event["type"] == "sweep":
            sw.epoch = event.get("epoch")
        elif event["type"] == "tile":
            sw.recorded += event["count"]
        elif event["type"] == "done":
            sw.state, sw.error = event["status"], event["error"]
        self.publish(sw, line)

    # ------------------------------------------------------------------------ sweeps

    def runner(self):
        while True:
            with self.lock:
                while not self.queue:
                    self.wake.wait()
                sw = self.sweeps[self.queue.popleft()]
                sw.state = "running"
            try:
                self.run_sweep(sw)
            except JournalWriteError as e:  # no room for its resume event: failed, resumable once there is room
                self.log(f"sweep {sw.id}: cannot start: {e}")
                with self.lock:
                    sw.state, sw.error = "failed", str(e)
            except Exception as e:  # e.g. a journal that cannot be opened: report it, run the next sweep
                self.log(f"sweep {sw.id}: cannot run: {traceback.format_exc()}")
                with self.lock:
                    sw.state, sw.error = "broken", str(e)
            with self.lock:
                self.busy_since_idle = time.monotonic()

    def run_sweep(self, sw):
        with self.lock:
            j = Journal(sw.dir, warn=lambda w: self.warn(sw, w),
                        on_append=lambda ev, line: self._recorded(sw, ev, line))
            if j.last_seq > 1:
                try:
                    j.append_resume(self.env)
                except JournalWriteError:
                    j.close()  # its flock: a resume once there is room opens it again
                    raise
            cells, levels = j.pending()
            sw.journal = j  # from here the flusher makes its appends durable and streams them
        self.log(f"sweep {sw.id}: running {len(cells)} of {sw.total} cells on "
                 f"{'Slurm job arrays' if sw.scheduler else self.devices}")

        def on_tile(level, results):
            with self.lock:
                j.append_tile(level, results)

        def on_idle():
            with self.lock:
                j.sync_if_due()

        error = None
        try:
            def on_base(metrics):
                with self.lock:
                    j.append_base(metrics)

            if sw.scheduler is not None:  # job arrays train the cells; this node merges their shards
                def on_tasks(counts):
                    with self.lock:
                        if counts != sw.tasks:  # followers see the array's tasks change (the app's progress)
                            sw.tasks = counts
                            self.publish(sw, encode(tasks_message(sw)))
                status = slurm.run(sw.dir, j, sw.scheduler, on_tile, on_base, sw.cancel.is_set, on_idle,
                                   log=lambda m: self.log(f"sweep {sw.id}: {m}"), on_tasks=on_tasks,
                                   report=lambda m: self.notify(sw, f"sweep {sw.id}: {m}"))
            else:
                status = scheduler.run(sw.spec, cells, levels, self.devices, on_tile, sw.cancel.is_set, on_idle,
                                       on_base=scheduler.base_wanted(j, on_base))
        except Exception as e:
            status, error = "failed", str(e)
            self.log(f"sweep {sw.id}: failed: {traceback.format_exc()}")
        with self.lock:
            sw.journal = None
            try:
                j.append_done(status, error)
            except JournalWriteError as e:
                # Still no room for the done event (the disk is full): the sweep is failed all the same, and
                # resumable; its journal, unfinished, is resumed by the next daemon too.
                sw.state, sw.error = "failed", f"{error or status}; and its done event could not be written: {e}"
                warning = {"type": "warning", "sweep": sw.id, "line": None, "offset": None,
                           "message": f"sweep {sw.id} failed: {sw.error}"}
                self.warn(sw, warning)
                self.publish(sw, encode(warning))
            j.close()
            self.ending += 1
            sw.ending += 1
        self.log(f"sweep {sw.id}: {status}")
        self.sweep_ended(sw)

    def sweep_ended(self, sw):
        """After the done event (self.ending counted up with it): the sweep's W&B run, when W&B is set
        up on this node. Outside the lock: an upload can take a while, and clients must not wait."""
        try:
            wandb_log.sweep_ended(sw.dir, report=lambda message: self.notify(sw, message))
        finally:
            with self.lock:
                self.ending -= 1
                sw.ending -= 1
                self.busy_since_idle = time.monotonic()
                self.wake.notify_all()  # a delete may be waiting for this

    # ------------------------------------------------------------------------ main loop

    def idle(self):
        with self.lock:
            if self.clients or self.queue or self.ending or any(sw.state == "running" for sw in self.sweeps.values()):
                self.busy_since_idle = time.monotonic()
                return False
            return time.monotonic() - self.busy_since_idle >= self.idle_timeout

    def flusher(self):
        """Clients get an event only once it is fsynced (journal.py): sync the running sweeps' journals
        every SYNC_SECONDS at most, so a result waits at most about that long before it streams."""
        while True:
            time.sleep(SYNC_SECONDS / 2)
            with self.lock:
                for sw in self.sweeps.values():
                    if sw.journal is not None:
                        try:
                            sw.journal.sync_if_due()
                        except OSError as e:
                            self.log(f"sweep {sw.id}: fsync failed: {e}")

    def serve(self, listener):
        threading.Thread(target=self.runner, name="runner", daemon=True).start()
        threading.Thread(target=self.flusher, name="flusher", daemon=True).start()
        listener.settimeout(0.5)
        while not self.idle():
            try:
                sock, _ = listener.accept()
            except socket.timeout:
                continue
            sock.settimeout(None)
            client = Client(self, sock)
            with self.lock:
                self.clients.add(client)
            threading.Thread(target=client.reader, daemon=True).start()
            threading.Thread(target=client.writer, daemon=True).start()
        self.log(f"idle for {self.idle_timeout:g} s with no sweep and no client: exiting")


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
    listener.listen(64)
    os.write(ready_fd, f"ready {os.getpid()}\n".encode())
    os.close(ready_fd)
    try:  # whatever ends the daemon, even while loading, removes its socket and pid file
        daemon.load_sweeps()  # scanning big journals takes a while; clients wait in the listen backlog
        daemon.serve(listener)
    finally:
        listener.close()
        os.unlink(path)
        (node / "daemon.pid").unlink()


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


# ============================================================================ attach

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
    _send_line(sock, {"op": "hello", "req": None, "since": since, "sweep": sweep})
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
