"""The detached daemon (one per user) that runs sweeps and serves the clients attached to it.

The daemon runs sweeps one at a time (each uses every worker: all GPUs, or --workers CPU processes)
whether or not a client is attached, and exits after --idle-timeout seconds with no sweep to run
and no client. On start it resumes every sweep whose journal has no "done" event; a cancelled or
failed sweep runs again when a client submits it with "resume": true, and `delete` removes a finished
one (its directory included). Its files are in the agent home (home.py); launcher.py starts it,
attach.py is the bridge clients talk through, client.py one attached connection.

Threads: the accept loop (main), one sweep runner, and a reader + writer per client. One lock
guards the sweep table, the journals' appends and the subscriber sets, so a client that asks for
"everything after seq N" gets the file replay up to the seq current at that moment, then exactly
the live events after it: nothing lost, nothing twice. PROTOCOL.md describes the messages.
"""
import collections
import os
import re
import shutil
import socket
import threading
import time
import traceback

from . import AGENT_VERSION, PROTOCOL_VERSION, envinfo, sampling, scheduler, slurm, wandb_log
from .client import Client
from .journal import JOURNAL, SYNC_SECONDS, Journal, JournalError, JournalWriteError, encode
from .spec import SpecError, cell_count, validate

SWEEP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DELETE_WAIT = 30.0  # seconds `delete` waits for a just-ended sweep's W&B logging before refusing


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
        fill_from = msg.get("fill_from")  # a boundary sweep whose trained cells this grid sweep starts from
        source = None
        with self.lock:
            if fill_from is not None:
                if not isinstance(fill_from, str):
                    client.reply(req, False, error=f"fill_from: must be a sweep id, got {fill_from!r}", field="fill_from")
                    return
                source, problem = self.sweeps.get(fill_from), None
                if source is None:  # deleted here since (the laptop still lists it): every cell is trained
                    self.log(f"sweep {sweep_id}: fill_from {fill_from!r} is not on this node; training every cell")
                else:
                    try:
                        if sampling.fill_in_spec(source.spec) != spec:
                            problem = f"the spec is not sweep {fill_from!r}'s with \"sampling\" left out (the grid sweep of it)"
                    except ValueError as e:
                        problem = str(e)
                if problem:
                    client.reply(req, False, error=f"fill_from: {problem}", field="fill_from")
                    return
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
                try:
                    if source is not None:  # the boundary sweep's trained cells, so only its inferred ones train
                        copied = sampling.copy_trained(source.dir / JOURNAL, j)
                        self.log(f"sweep {sweep_id}: fills in {fill_from}: {copied} trained cells copied")
                finally:
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
                                       on_base=scheduler.base_wanted(j, on_base), plan=sampling.plan_for(sw.spec, j))
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
