"""The per-sweep journal: an append-only JSON-lines file that survives kill -9.

A sweep directory holds

    spec.json      the normalised spec (validate()d)
    env.json       the environment the sweep was started in (envinfo.probe())
    journal.jsonl  one JSON event per line, "seq" = 1, 2, 3, ... (PROTOCOL.md lists the events)

One process writes a journal (an flock on journal.jsonl enforces it). Each event is written with a
single write() so other processes see whole lines, and fsynced in batches (every SYNC_EVENTS events
or SYNC_SECONDS, and at the end of the sweep): a crash of the process loses nothing that was
written, a crash of the machine loses at most the last batch. An event reaches `on_append` (the
daemon streams it to clients from there) only after the fsync that made it durable: nothing a
client has seen can be lost by a power cut, so a seq a client holds never names another event.

Reading tolerates damage instead of giving up on the rest of the file: a line that is not a JSON
event, or whose seq does not increase, is reported (line number and byte offset, as a warning
event) and skipped. A torn final line (the writer was killed mid-write) is reported by readers and
truncated by the next writer before it appends.
"""
import fcntl
import json
import os
import pathlib
import binascii
import re
import secrets
import sys
import time

import numpy as np

from . import tiles
from .spec import cell_count, coarse_to_fine

JOURNAL = "journal.jsonl"
SPEC = "spec.json"
ENV = "env.json"
SYNC_EVENTS = 64
SYNC_SECONDS = float(os.environ.get("FRACTAL_AGENT_SYNC_SECONDS") or 0.1)  # also the most a streamed event waits
EVENT_TYPES = ("sweep", "resume", "base", "tile", "done")
DONE_STATUSES = ("completed", "cancelled", "failed")
_SEQ_PREFIX = re.compile(rb'^\{"seq":(\d+),')


class JournalError(RuntimeError):
    pass


class JournalWriteError(JournalError):
    """An event could not be appended (a full disk): the journal is whole, ending at its last event."""


def stderr_warning(warning):
    print(f"warning: {warning['message']}", file=sys.stderr, flush=True)


def encode(event):
    """One journal line: compact JSON, seq first, no NaN (JSON has none), newline-terminated."""
    return (json.dumps(event, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def read_events(path, since=0, until=None, warn=stderr_warning, sweep=None):
    """Yield the events of a journal with since < seq (<= until), in file order."""
    for event, _ in read_lines(path, since, until, warn, sweep):
        yield event


def read_lines(path, since=0, until=None, warn=stderr_warning, sweep=None):
    """Yield (event, raw line) of a journal with since < seq (<= until), in file order.

    Damaged lines are passed to `warn` as {"type": "warning", "sweep", "line", "offset", "message"}
    and skipped. Lines at or before `since` are checked only for their seq (they are not decoded).
    With `until`, reading stops at that seq: a writer may be appending beyond it.
    """
    def warning(line, offset, message):
        warn({"type": "warning", "sweep": sweep, "line": line, "offset": offset,
              "message": f"{path}: line {line} (byte {offset}): {message}"})

    last, offset = 0, 0
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.endswith(b"\n"):
                warning(lineno, start, f"torn final line ({len(raw)} bytes without a newline: the writer "
                                       "stopped mid-write); ignored, the next writer truncates it")
                return
            m = _SEQ_PREFIX.match(raw)
            if m and last < int(m.group(1)) <= since:
                last = int(m.group(1))
                continue
            event, problem = decode_line(raw, last)
            if problem is not None:
                warning(lineno, start, problem)
            if event is None:
                continue
            last = event["seq"]
            if last > since:
                yield event, raw
            if until is not None and last >= until:
                return


def decode_line(raw, last):
    """One whole journal line after seq `last` -> (event, None); (None, why it is skipped); or (event, a
    warning) for an event kept despite a seq that jumps ahead."""
    try:
        event = json.loads(raw)
    except ValueError as e:
        return None, f"not JSON ({e}); skipped"
    seq = event.get("seq") if isinstance(event, dict) else None
    if not isinstance(seq, int) or isinstance(seq, bool) or event.get("type") not in EVENT_TYPES:
        return None, f"not a journal event (needs an integer seq and a type in {', '.join(EVENT_TYPES)}); skipped"
    if seq <= last:
        return None, f"seq {seq} does not follow seq {last}; skipped"
    if seq != last + 1:
        return event, f"seq jumps from {last} to {seq} (events {last + 1}..{seq - 1} are missing or damaged)"
    return event, None


def read_results(path, warn=stderr_warning):
    """A sweep as its journal holds it, for readers that want the whole map (W&B logging):

        {"sweep": the sweep event, "base": base metrics or None, "done": the last done event or None,
         "recorded": bool per cell, "fields": {name: one value per cell, in cell order}}

    A field is NaN (floats) or 0 (integers) where no tile recorded the cell. A cell recorded twice
    keeps its first record, as PROTOCOL.md asks of every reader. Curves are not decoded.
    """
    out = {"sweep": None, "base": None, "done": None, "recorded": None, "fields": {}}
    for ev in read_events(path, warn=warn):
        if ev["type"] == "sweep" and out["sweep"] is None:
            out["sweep"], out["recorded"] = ev, np.zeros(ev["cells"], dtype=bool)
        elif out["sweep"] is None:
            raise JournalError(f"{path}: the first event is {ev['type']!r}, not the sweep event")
        elif ev["type"] == "base":
            out["base"] = ev["metrics"]
        elif ev["type"] == "done":
            out["done"] = ev
        elif ev["type"] == "resume":
            out["done"] = None  # restarted: unfinished until its next done event
        elif ev["type"] == "tile":
            out["done"] = None
            tile = {name: tiles.decode_array(a) for name, a in ev["fields"].items()}
            cells = tile.pop("cell")
            first = ~out["recorded"][cells]
            for name, values in tile.items():
                if name not in out["fields"]:
                    empty = np.nan if values.dtype.kind == "f" else 0
                    out["fields"][name] = np.full(len(out["recorded"]), empty, dtype=values.dtype)
                out["fields"][name][cells[first]] = values[first]
            out["recorded"][cells[first]] = True
    if out["sweep"] is None:
        raise JournalError(f"{path}: no sweep event; this is not a sweep journal")
    return out


def _write_all(fd, data):
    view = memoryview(data)
    while view:  # a short write (the disk filled up) is followed by the write that fails with the reason
        view = view[os.write(fd, view):]


def _write_json_atomic(path, obj):
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Scan:
    """A journal's state, built event by event with every event checked: what a writer (Journal) reads on
    open, and what the Slurm merge checks each shard's events with before any reaches the sweep's journal.

    State: sweep_id, spec, epoch, total, done (bool per cell), last_seq, base, status (None while
    unfinished, else the status of the last "done" event).
    """

    def __init__(self, path, warn=stderr_warning):
        self.path, self.warn = path, warn
        self.sweep_id = self.spec = self.base = self.epoch = None
        self.last_seq, self.status, self.done, self.total = 0, None, None, 0

    def add(self, ev):
        """Take the next event (as read_events yields it); JournalError when it is malformed."""
        try:
            self._scan_event(ev)
        except JournalError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, binascii.Error) as e:
            # A well-formed line holding a malformed event (a tile without fields.cell, bad base64,
            # cells outside the map): this journal cannot be trusted; the caller marks it broken.
            raise JournalError(f"{self.path}: seq {ev.get('seq')} ({ev.get('type')} event) is malformed: "
                               f"{type(e).__name__}: {e}") from None

    def _scan_event(self, ev):
        self.last_seq = ev["seq"]
        if ev["type"] == "sweep":
            if self.sweep_id is not None:
                self._warn_event(ev, "a second sweep event; ignored")
                return
            sweep_id, spec, total = ev["sweep"], ev["spec"], ev["cells"]
            if not isinstance(sweep_id, str) or not isinstance(spec, dict) or not isinstance(total, int) \
                    or isinstance(total, bool) or total < 0:
                raise ValueError("the sweep event needs a string sweep, an object spec and an integer cells >= 0")
            self.sweep_id, self.spec, self.total = sweep_id, spec, total
            self.epoch = ev.get("epoch") if isinstance(ev.get("epoch"), str) else None  # None: an older journal
            self.done = np.zeros(self.total, dtype=bool)
        elif self.sweep_id is None:
            raise JournalError(f"{self.path}: the first event is {ev['type']!r}, not the sweep event; "
                               "this is not a sweep journal")
        elif ev["type"] == "tile":
            count = ev["count"]
            for name, arr in ev["fields"].items():  # every field decodes, one value per cell
                n = len(tiles.decode_array(arr))
                if n != count:
                    raise ValueError(f"fields.{name} has {n} values for count {count}")
            cells = tiles.decode_array(ev["fields"]["cell"])
            if cells.dtype.kind not in "iu":
                raise ValueError(f"fields.cell is {cells.dtype}, not integers")
            if len(cells) and (cells.min() < 0 or cells.max() >= self.total):
                raise ValueError(f"fields.cell holds cells outside 0..{self.total - 1}")
            seen = self.done[cells]
            if seen.any():
                self._warn_event(ev, f"{int(seen.sum())} cell(s) already recorded by an earlier tile "
                                     f"(e.g. cell {int(cells[seen][0])}); the first record counts")
            self.done[cells] = True
            self.status = None
        elif ev["type"] == "resume":
            self.status = None
        elif ev["type"] == "base":
            self.base = ev["metrics"]
        elif ev["type"] == "done":
            if ev["status"] not in DONE_STATUSES:
                raise ValueError(f"status {ev['status']!r} is not one of {', '.join(DONE_STATUSES)}")
            self.status = ev["status"]

    def _warn_event(self, ev, message):
        self.warn({"type": "warning", "sweep": self.sweep_id, "line": None, "offset": None,
                   "message": f"{self.path}: seq {ev['seq']}: {message}"})


class Journal(Scan):
    """The single writer of one sweep directory, and the sweep state derived from its journal.

    Journal.open_or_create(...) for a new or resumed sweep; Journal(directory) to append to an
    existing one. State: sweep_id, spec, total, done (bool per cell), last_seq, status (None while
    unfinished, else the status of the last "done" event).
    """

    def __init__(self, directory, warn=stderr_warning, on_append=None):
        self.dir = pathlib.Path(directory)
        self.path = self.dir / JOURNAL
        self.warn = warn
        # on_append(event, line) once the event is durable (after the fsync of its batch; the daemon
        # streams it from there), in seq order.
        self.on_append = on_append
        self._unpublished = []
        self.fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            raise JournalError(f"{self.path} is being written by another process "
                               "(a running daemon or `run`); stop it or use another directory")
        self._truncate_torn_tail()
        self._scan()
        os.lseek(self.fd, 0, os.SEEK_END)
        self._unsynced, self._synced_at = 0, time.monotonic()

    @classmethod
    def open_or_create(cls, directory, sweep_id, spec, env, warn=stderr_warning, on_append=None):
        """Open the sweep in `directory`, creating it (mode 0700) if it does not exist.

        Returns (journal, existing). An existing sweep must hold the same normalised spec.
        """
        directory = pathlib.Path(directory)
        if (directory / JOURNAL).exists():
            j = cls(directory, warn, on_append)
            if j.spec != spec:
                j.close()
                raise JournalError(f"{directory} holds sweep {j.sweep_id!r} with a different spec; "
                                   "use another directory (or the same spec to resume)")
            return j, True
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _write_json_atomic(directory / SPEC, spec)
        _write_json_atomic(directory / ENV, env)
        # The journal appears atomically with its first event: a crash here leaves no half-made sweep.
        # epoch: a random id of this journal, so a client can tell it from an earlier one under the same id
        first = {"seq": 1, "type": "sweep", "sweep": sweep_id, "epoch": secrets.token_hex(8), "spec": spec, "env": env,
                 "cells": cell_count(spec)}
        tmp = directory / (JOURNAL + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            _write_all(fd, encode(first))  # on a full disk: an error here, never a journal with half an event
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, directory / JOURNAL)
        dfd = os.open(directory, os.O_RDONLY)
        os.fsync(dfd)  # make the rename itself durable
        os.close(dfd)
        j = cls(directory, warn, on_append)
        if on_append is not None:
            on_append(first, encode(first))
        return j, False

    # ------------------------------------------------------------------------- reading the state

    def _scan(self):
        Scan.__init__(self, self.path, self.warn)
        for ev in read_events(self.path, warn=self.warn):
            self.add(ev)
        if self.sweep_id is None:
            raise JournalError(f"{self.path}: no sweep event; this is not a sweep journal")

    def _truncate_torn_tail(self):
        size = os.fstat(self.fd).st_size
        if size == 0 or os.pread(self.fd, 1, size - 1) == b"\n":
            return
        # Walk back to the last newline; everything after it is the torn line.
        end, block = size, 1 << 16
        while end > 0:
            start = max(0, end - block)
            chunk = os.pread(self.fd, end - start, start)
            i = chunk.rfind(b"\n")
            if i >= 0:
                end = start + i + 1
                break
            end = start
        self.warn({"type": "warning", "sweep": None, "line": None, "offset": end,
                   "message": f"{self.path}: truncating a torn final line at byte {end} "
                              f"({size - end} bytes without a newline: the last writer was killed mid-write)"})
        os.ftruncate(self.fd, end)
        os.fsync(self.fd)

    @property
    def done_count(self):
        return int(self.done.sum())

    def pending(self):
        """(cells, levels) not yet recorded, in coarse-to-fine order."""
        ax = self.spec["axes"]
        order, levels = coarse_to_fine(ax["x"]["points"], ax["y"]["points"])
        keep = ~self.done[order]
        return order[keep], levels[keep]

    # ------------------------------------------------------------------------- writing

    def append(self, event):
        """Append an event (seq assigned here); returns (event with seq, its encoded line)."""
        event = {"seq": self.last_seq + 1, **event}
        line = encode(event)
        end = os.lseek(self.fd, 0, os.SEEK_CUR)
        try:
            _write_all(self.fd, line)
        except OSError as e:
            # A full disk (or a file size limit) mid-line: cut the part written, so the journal still ends
            # with its last whole event; the sweep stays readable and resumes from there, cells kept.
            os.ftruncate(self.fd, end)
            os.lseek(self.fd, end, os.SEEK_SET)
            raise JournalWriteError(f"{self.path}: cannot append seq {event['seq']} ({event['type']} event): "
                               f"{e.strerror or e}; the journal ends at its last whole event, seq {self.last_seq}") from e
        self.last_seq = event["seq"]
        self._unsynced += 1
        if self.on_append is not None:
            self._unpublished.append((event, line))
        if event["type"] == "done":
            self.status = event["status"]
            self.sync()
        elif event["type"] in ("tile", "resume"):
            self.status = None
        self.sync_if_due()
        return event, line

    def append_tile(self, level, results):
        cells = np.asarray(results["cell"])
        if self.done[cells].any() or len(np.unique(cells)) != len(cells):
            raise JournalError(f"refusing to record cell(s) twice: {cells[self.done[cells]][:5].tolist()}")
        out = self.append({"type": "tile", "sweep": self.sweep_id, "level": int(level), **tiles.pack(results)})
        self.done[cells] = True
        return out

    def append_base(self, metrics):
        """The untrained model's numbers (held-out and OOD loss, evals), recorded once per sweep so
        that each cell's forgetting shows as its difference from them."""
        if self.base is not None:
            raise JournalError(f"{self.path}: base metrics are already recorded")
        out = self.append({"type": "base", "sweep": self.sweep_id, "metrics": metrics})
        self.base = metrics
        return out

    def append_resume(self, env):
        """Marks a restart of an unfinished (or cancelled / failed) sweep, in possibly another environment."""
        return self.append({"type": "resume", "sweep": self.sweep_id, "env": env,
                            "cells": self.total, "recorded": self.done_count})

    def append_done(self, status, error=None):
        if status not in DONE_STATUSES:
            raise ValueError(f"status must be one of {DONE_STATUSES}, got {status!r}")
        return self.append({"type": "done", "sweep": self.sweep_id, "status": status, "error": error,
                            "cells": self.total, "recorded": self.done_count})

    def sync(self):
        """fsync the appended events, then hand them to on_append (never before: see the module doc)."""
        if self._unsynced:
            os.fsync(self.fd)
            self._unsynced, self._synced_at = 0, time.monotonic()
        published, self._unpublished = self._unpublished, []
        for event, line in published:
            self.on_append(event, line)

    def sync_if_due(self):
        """Sync when SYNC_EVENTS events or SYNC_SECONDS have passed since the last fsync; a writer that
        streams calls this at least every SYNC_SECONDS / 2 while appending (the daemon's flusher)."""
        if self._unsynced >= SYNC_EVENTS or (self._unsynced and time.monotonic() - self._synced_at >= SYNC_SECONDS):
            self.sync()

    def close(self):
        if self.fd is not None:
            self.sync()
            os.close(self.fd)  # releases the flock
            self.fd = None
