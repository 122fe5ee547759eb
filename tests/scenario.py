"""Multi-connection scenarios, run on redpoll and real Redis and compared.

Pub/Sub and WATCH need several clients: a :class:`Scenario` opens the same
named connections on both servers, runs the same steps on both, and records
every frame each connection received (replies and pushes) after each step.

Steps never sleep: after a command, every connection gets a barrier, a
``PING <marker>``, and frames are read until the marker comes back (in a
RESP2 subscribed context the answer is ``["pong", marker]``, elsewhere the
marker itself). The server handles a connection's commands in order and
queues published messages before it replies to the publisher, so everything
a step caused has arrived once the barriers return. Connections in MULTI
(where PING would be queued) are not pinged: a command sent there reads
exactly one reply (so do not publish to a connection in MULTI); closed
connections are not pinged either.

    sc = Scenario(pair.redpoll.port, pair.redis.port, ["sub", "pub"])
    sc.step("sub", "SUBSCRIBE", "a", "b")
    sc.step("pub", "PUBLISH", "a", "hello")
    sc.assert_same()
"""

from __future__ import annotations

import itertools

from diff import RespConn, render

_marker = itertools.count()


def _name(argv) -> str:
    a = argv[0]
    return (a.decode() if isinstance(a, bytes) else str(a)).lower()


class _Side:
    def __init__(self, port: int, names):
        self.conns = {n: RespConn(port) for n in names}
        self.in_multi: set[str] = set()
        self.closed: set[str] = set()
        self.blocked: set[str] = set()

    def send(self, name, argv) -> None:
        self.conns[name].sock.sendall(_encode(argv))

    def drain(self, name) -> list:
        """Frames received by ``name`` up to a fresh barrier."""
        if name in self.closed or name in self.in_multi or name in self.blocked:
            return []
        c = self.conns[name]
        mark = b"barrier-%d" % next(_marker)
        c.sock.sendall(_encode([b"PING", mark]))
        frames = []
        while True:
            try:
                f = c.reader.read()
            except (ConnectionError, OSError):
                self.closed.add(name)
                frames.append(("closed", None))
                return frames
            if f == ("$", mark) or (f[0] in "*>" and f[1] == [("$", b"pong"), ("$", mark)]):
                return frames
            frames.append(f)

    def close(self) -> None:
        for c in self.conns.values():
            try:
                c.close()
            except OSError:
                pass


def _encode(argv) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)


def _sorted_arrays(frames: list) -> list:
    return [(f[0], sorted(f[1], key=repr)) if f[0] in "*~" and f[1] else f
            for f in frames]


def _unordered(frames: list):
    """Frames as a multiset; the trailing counts of (un)subscribe
    confirmations stay a sequence (they depend on the position only)."""
    items, counts = [], []
    for f in frames:
        if f[0] in "*>" and f[1] and len(f[1]) == 3 and f[1][2][0] == ":":
            counts.append(f[1][2])
            f = (f[0], f[1][:2])
        items.append(repr(f))
    return sorted(items), counts


class Scenario:
    """The same steps on redpoll (side 0) and real Redis (side 1)."""

    def __init__(self, redpoll_port: int, redis_port: int, names):
        self.names = list(names)
        self.sides = [_Side(redpoll_port, self.names), _Side(redis_port, self.names)]
        self.log: list = []      # (step text, [frames per conn] per side)

    def step(self, conn: str, *argv, unordered: bool = False, sort_reply: bool = False,
             blocks: bool = False):
        """Run ``argv`` on connection ``conn`` (on both servers), then collect
        what every connection received. ``unordered`` compares the frames of
        this step as multisets (Redis iterates hash tables: UNSUBSCRIBE with
        no arguments, ...); ``sort_reply`` sorts the elements of array
        replies (PUBSUB CHANNELS). ``blocks``: the command blocks (BLPOP...),
        so ``conn`` is not read until :meth:`unblocked`. Returns redpoll's
        frames per connection."""
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        name = _name(argv)
        got = []
        for side in self.sides:
            if name == "multi":
                side.in_multi.add(conn)
            elif name in ("exec", "discard", "reset", "quit"):
                side.in_multi.discard(conn)
            side.send(conn, argv)
            per = {}
            if blocks:
                side.blocked.add(conn)
                per[conn] = []
            if conn in side.in_multi:      # one reply (+OK, +QUEUED or an error)
                per[conn] = [side.conns[conn].reader.read()]
            for n in [conn] + [n for n in self.names if n != conn]:
                if n not in per:
                    per[n] = side.drain(n)
            got.append(per)
        text = f"{conn}: " + " ".join(a.decode("utf-8", "replace") for a in argv)
        self.log.append((text, got, unordered))
        mine, ref = got
        for n in self.names:
            a, b = mine[n], ref[n]
            if sort_reply:
                a, b = _sorted_arrays(a), _sorted_arrays(b)
            if unordered:
                a, b = _unordered(a), _unordered(b)
            if a != b:
                raise AssertionError(self._report(n, mine[n], ref[n]))
        return mine

    def unblocked(self, conn: str) -> None:
        """Read the reply of ``conn``'s blocked command (it must have been
        served by now) and compare it."""
        got = []
        for side in self.sides:
            side.blocked.discard(conn)
            got.append({conn: [side.conns[conn].reader.read()] + side.drain(conn)})
        self.log.append((f"{conn}: <unblocked>", got, False))
        if got[0] != got[1]:
            raise AssertionError(self._report(conn, got[0][conn], got[1][conn]))

    def setup(self, conn: str, *argv) -> None:
        """Run a command on both sides without comparing (HELLO 3 replies
        carry the connection id, CONFIG SET, ...)."""
        argv = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        for side in self.sides:
            side.send(conn, argv)
            side.drain(conn)

    def _report(self, conn, mine, ref) -> str:
        lines = ["redpoll and redis differ; steps so far:"]
        for text, _, _ in self.log[-12:]:
            lines.append("   " + text)
        lines.append(f"  connection {conn!r} received:")
        lines.append("  redpoll:")
        lines += ["    " + render(f) if f[0] != "closed" else "    <closed>" for f in mine]
        lines.append("  redis:")
        lines += ["    " + render(f) if f[0] != "closed" else "    <closed>" for f in ref]
        return "\n".join(lines)

    def close(self) -> None:
        for s in self.sides:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
