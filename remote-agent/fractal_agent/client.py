"""One client connection to the daemon: a reader thread takes commands in, a writer thread sends events,
replays and replies out, through one queue so they leave in the order the daemon produced them."""
import json
import queue
import socket

from .journal import encode, read_lines

MAX_BACKLOG = 10000  # messages queued for one client


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

