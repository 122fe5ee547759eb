"""Client-side caching support (CLIENT TRACKING), as Redis 7.0's tracking.c.

Default mode: the keys a tracking client reads (read-only commands) are
remembered, key -> client ids; the first write to such a key sends each of
those clients an ``invalidate`` message and forgets the key (one-shot, as in
Redis). BCAST mode: every write to a key under one of the client's prefixes
is announced. OPTIN / OPTOUT: reads are remembered only after
``CLIENT CACHING yes`` / unless ``CLIENT CACHING no`` (for the next command).
NOLOOP: a client is not told about its own writes.

Writes are observed as a propagation sink (what goes to replicas and the
AOF, expired keys included); FLUSHDB/FLUSHALL invalidate everything with a
null key list. Messages: a RESP3 push ``invalidate`` to the client itself,
or, with REDIRECT, to the target client (a RESP3 push, or a Pub/Sub message
on ``__redis__:invalidate`` if the target is a RESP2 subscriber of it).

The module is installed lazily, by the first CLIENT TRACKING ON.
"""

from __future__ import annotations

from redpoll.commands import table as T
from redpoll.protocol.resp import Push, encode

CHANNEL = b"__redis__:invalidate"


class Tracking:
    def __init__(self, server):
        self.server = server
        self.keys: dict[bytes, set[int]] = {}        # default mode
        self.prefixes: dict[bytes, set[int]] = {}    # BCAST mode
        self.clients: set[int] = set()               # clients with tracking on
        self.pending: dict[bytes, dict] = {}         # BCAST: prefix -> {key: writer}
        self.flush_scheduled = False
        server.disconnect_hooks.append(self.forget)

    # -- state ---------------------------------------------------------------------
    def enable(self, c) -> None:
        self.clients.add(c.id)
        self.server.sink_active(self.on_write, True)    # while some client tracks
        for p in c.tracking.get("prefixes", ()) if c.tracking.get("bcast") else ():
            self.prefixes.setdefault(p, set()).add(c.id)

    def forget(self, c) -> None:
        """Tracking off or disconnect: stop sending to ``c`` (keys are
        forgotten lazily, when they are invalidated)."""
        self.clients.discard(c.id)
        if not self.clients:
            self.server.sink_active(self.on_write, False)
        for p in list(self.prefixes):
            ids = self.prefixes[p]
            ids.discard(c.id)
            if not ids:
                del self.prefixes[p]

    # -- reads ---------------------------------------------------------------------
    def after_command(self, c, argv) -> None:
        """Called after each command of a tracking client: remember the keys
        of a read-only command, honouring OPTIN/OPTOUT and CLIENT CACHING."""
        t = c.tracking
        cmd = T.lookup(argv)
        if cmd is not None and cmd.name.startswith("client|"):
            return       # CLIENT CACHING's YES/NO survives CLIENT commands (as in Redis)
        caching = t.pop("caching", None)
        if cmd is None or t.get("bcast") or not cmd.flags & T.READONLY:
            return
        if (t.get("optin") and caching is not True) or (t.get("optout") and caching is False):
            return
        for k in cmd.keys(argv):
            self.keys.setdefault(k, set()).add(c.id)

    # -- writes ----------------------------------------------------------------------
    def on_write(self, dbid: int, argv) -> None:
        if not self.clients:
            return
        name = argv[0].lower() if type(argv[0]) is bytes else str(argv[0]).lower().encode()
        if name in (b"flushall", b"flushdb"):
            self.keys.clear()
            for cid in list(self.clients):
                cl = self.server.clients.get(cid)
                if cl is not None and cl.tracking is not None and not cl.tracking.get("bcast"):
                    self.send(cl, None)
            return
        cmd = T.lookup([a if type(a) is bytes else str(a).encode() for a in argv])
        if cmd is None:
            return
        writer = self._writer()
        for key in cmd.keys(argv):
            ids = self.keys.pop(key, None)
            if ids:
                for cid in ids:
                    self._notify(cid, key, writer)
            if self.prefixes:
                for p in self.prefixes:
                    if key.startswith(p):
                        self.pending.setdefault(p, {})[key] = writer
                if self.pending and not self.flush_scheduled:
                    self.flush_scheduled = True
                    self.server.loop.call_soon(self.flush_bcast)

    def flush_bcast(self) -> None:
        """BCAST messages are batched like Redis does before sleeping: one
        message per prefix and client, keys in lexicographic order."""
        self.flush_scheduled = False
        pending, self.pending = self.pending, {}
        clients = self.server.clients
        for p in sorted(pending):
            keys = pending[p]
            for cid in self.prefixes.get(p, ()):
                cl = clients.get(cid)
                if cl is None or cl.tracking is None:
                    continue
                noloop = cl.tracking.get("noloop")
                ks = [k for k in sorted(keys) if not (noloop and keys[k] is cl)]
                if ks:
                    self.send(cl, ks)
                    cl.flush()

    def _writer(self):
        """The client running the current command, if it is a tracking client."""
        clients = self.server.clients
        for cid in self.clients:
            cl = clients.get(cid)
            if cl is not None and cl.argv is not None:
                return cl
        return None

    def _notify(self, cid: int, key: bytes, writer) -> None:
        cl = self.server.clients.get(cid)
        if cl is None or cl.tracking is None or cid not in self.clients:
            return
        if cl is writer and cl.tracking.get("noloop"):
            return
        self.send(cl, [key])

    def send(self, c, keys) -> None:
        """Deliver one invalidation (``keys`` None: everything) for ``c``."""
        redirect = c.tracking.get("redirect", 0)
        target = c
        if redirect:
            target = self.server.clients.get(redirect)
            if target is None:
                if not c.tracking.get("broken"):
                    c.tracking["broken"] = True
                    if c.resp == 3:
                        c.add_raw(encode(Push([b"tracking-redir-broken", redirect]), 3))
                return
        if target.resp == 3:
            target.add_raw(encode(Push([b"invalidate", keys]), 3))
        elif redirect and CHANNEL in target.channels:
            target.add_raw(encode([b"message", CHANNEL, keys], 2))


def get(server) -> Tracking:
    t = getattr(server, "tracking", None)
    if t is None:
        t = server.tracking = Tracking(server)
    return t
