"""Differential testing: the same commands to redpoll and to a real Redis.

A :class:`Pair` holds one redpoll-server and one Debian redis-server, each
with a raw RESP connection. :meth:`Pair.check` sends a command sequence to
both, in lock step, and fails with a readable side-by-side report at the
first reply that differs::

    def test_append(pair):
        pair.check([["SET", "k", "v"], ["APPEND", "k", "xy"], ["GET", "k"]])
        pair.check([["HELLO", "3"], ["LCS", "a", "b", "IDX"]], proto=3)

Replies are parsed from the raw bytes into exact, typed tuples (``("+", "OK")``,
``("$", b"v")``, ``("$", None)`` for a RESP2 null bulk, ``("*", None)`` for a
null array, ``("%", [...])`` for a RESP3 map, ...), so the reply *type* is
compared too, not only the value: a status vs a bulk string, a RESP2 null bulk
vs a null array, a RESP3 double vs a bulk string all count as differences.
Error replies are compared verbatim.

Replies that legitimately differ between two servers are normalised before
comparing, per command name: :data:`DEFAULT_NORMALIZERS` sorts the replies of
commands whose order is unspecified (KEYS, SMEMBERS, HGETALL, ...) and turns
time-dependent numbers (PTTL, OBJECT IDLETIME, ...) into :class:`Approx`
values that compare equal within a tolerance. ``check(..., norm={...})`` adds
or overrides normalisers (``None`` disables one); a normaliser is
``fn(argv, reply) -> reply`` and sees the parsed reply of one command.

The ``pair`` fixture (module scope) is exported to every test via conftest.
"""

from __future__ import annotations

import os
import socket
from typing import Callable, Iterable

import pytest

from support import ServerProcess, require_redis_server, wait_until

# -- RESP parsing ------------------------------------------------------------


class RespReader:
    """A blocking RESP2/RESP3 reader over a socket producing typed tuples."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buf = b""
        self.pos = 0

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("connection closed by server")
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += chunk

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n + 2
        return data

    def read(self):
        line = self._line()
        t, rest = chr(line[0]), line[1:]
        if t in "+-":
            return (t, rest.decode("utf-8", "replace"))
        if t == ":":
            return (":", int(rest))
        if t in "$=!":
            n = int(rest)
            return (t, None if n < 0 else self._exact(n))
        if t in "*~>%|":
            n = int(rest)
            if n < 0:
                return (t, None)
            if t in "%|":
                return (t, [(self.read(), self.read()) for _ in range(n)])
            return (t, [self.read() for _ in range(n)])
        if t == "_":
            return ("_", None)
        if t == ",":
            return (",", rest.decode())
        if t == "#":
            return ("#", rest == b"t")
        if t == "(":
            return ("(", int(rest))
        raise ValueError(f"bad RESP type byte {line!r}")


def encode_command(argv) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for a in argv:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(out)


class RespConn:
    """One raw connection to a server."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = RespReader(self.sock)
        self.proto = 2

    def call(self, argv):
        self.sock.sendall(encode_command(argv))
        return self.reader.read()

    def close(self) -> None:
        self.sock.close()


def command_docs(port: int) -> dict:
    """COMMAND DOCS of the server on ``port`` (read over RESP3) as plain
    Python: maps as dicts, strings decoded."""
    conn = RespConn(port)
    conn.call(["HELLO", "3"])
    reply = conn.call(["COMMAND", "DOCS"])
    conn.close()

    def conv(r):
        kind, v = r
        if kind in "%|":
            return {conv(a): conv(b) for a, b in v}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v.decode() if isinstance(v, bytes) else v
    return conv(reply)


# -- rendering ---------------------------------------------------------------


def render(reply, indent: str = "") -> str:
    """redis-cli-like text of a parsed reply, marking every type."""
    t, v = reply
    if t == "+":
        return f"{indent}+{v}"
    if t == "-":
        return f"{indent}(error) {v}"
    if t == ":":
        return f"{indent}(integer) {v}"
    if t in "$=!":
        return f"{indent}{'(nil bulk)' if v is None else repr(v)}" + ("" if t == "$" else f" [{t}]")
    if t == "_":
        return f"{indent}(null)"
    if t == ",":
        return f"{indent}(double) {v}"
    if t == "#":
        return f"{indent}(bool) {v}"
    if t == "(":
        return f"{indent}(bignum) {v}"
    name = {"*": "array", "~": "set", ">": "push", "%": "map", "|": "attr"}[t]
    if v is None:
        return f"{indent}(nil {name})"
    if not v:
        return f"{indent}(empty {name})"
    lines = [f"{indent}({name} of {len(v)})"]
    for x in v:
        if t in "%|":
            lines.append(render(x[0], indent + "  ") + " =>")
            lines.append(render(x[1], indent + "    "))
        else:
            lines.append(render(x, indent + "  "))
    return "\n".join(lines)


def fmt_argv(argv) -> str:
    parts = []
    for a in argv:
        s = a.decode("utf-8", "backslashreplace") if isinstance(a, bytes) else str(a)
        parts.append(s if s and " " not in s and '"' not in s else repr(s))
    return " ".join(parts)


# -- normalisers ---------------------------------------------------------------


class Approx:
    """A number that compares equal to another within ``tol``."""

    def __init__(self, value: float, tol: float):
        self.value, self.tol = value, tol

    def __eq__(self, other):
        o = other.value if isinstance(other, Approx) else other
        try:
            return abs(self.value - o) <= self.tol
        except TypeError:
            return False

    def __repr__(self):
        return f"~{self.value}±{self.tol}"


def unordered(argv, reply):
    """Sort an array/set reply (or map items) so element order does not matter."""
    t, v = reply
    if t in "*~" and v:
        return (t, sorted(v, key=repr))
    if t == "%" and v:
        return (t, sorted(v, key=repr))
    return reply


def unordered_pairs(argv, reply):
    """Sort a flat RESP2 field/value array by pairs (HGETALL), or a map."""
    t, v = reply
    if t == "*" and v:
        pairs = [tuple(v[i:i + 2]) for i in range(0, len(v), 2)]
        return (t, [x for p in sorted(pairs, key=repr) for x in p])
    return unordered(argv, reply)


def approx_int(tol: int) -> Callable:
    """Integer replies that depend on the clock: equal within ``tol``."""
    def norm(argv, reply):
        t, v = reply
        if t == ":" and v >= 0:
            return (t, Approx(v, tol))
        return reply
    return norm


def length_only(argv, reply):
    """Random replies (RANDOMKEY, SRANDMEMBER...): compare only the shape."""
    t, v = reply
    if t in "*~%" and v is not None:
        return (t, len(v))
    if t == "$" and v is not None:
        return (t, "<some bulk>")
    return reply


DEFAULT_NORMALIZERS: dict[str, Callable | None] = {
    "keys": unordered, "smembers": unordered, "sinter": unordered,
    "sunion": unordered, "sdiff": unordered, "hkeys": unordered,
    "hvals": unordered, "hgetall": unordered_pairs,
    "pttl": approx_int(50), "ttl": approx_int(1), "pexpiretime": approx_int(50),
    "expiretime": approx_int(1),
    "object": None,   # set below: IDLETIME/FREQ depend on timing
    "randomkey": length_only, "srandmember": length_only, "spop": length_only,
    "hrandfield": length_only, "zrandmember": length_only,
}


def _object_norm(argv, reply):
    if len(argv) > 1 and _str(argv[1]).lower() == "idletime":
        return approx_int(2)(argv, reply)
    return reply


DEFAULT_NORMALIZERS["object"] = _object_norm


def _str(a) -> str:
    return a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a)


def _name(argv) -> str:
    return _str(argv[0]).lower()


# -- the pair ----------------------------------------------------------------


# Development aid only (never set in CI): DIFF_DEV_DROP=lpush,sadd drops those
# commands from every sequence on both servers, to work on a command group
# before another group it uses for setup exists.
_DEV_DROP = {x.strip().lower() for x in os.environ.get("DIFF_DEV_DROP", "").split(",") if x.strip()}


class Mismatch(AssertionError):
    pass


class Pair:
    """A redpoll server and a real Redis, side by side."""

    def __init__(self, redpoll: ServerProcess, redis: ServerProcess):
        self.redpoll = redpoll
        self.redis = redis
        self.conns = [RespConn(redpoll.port), RespConn(redis.port)]

    def reconnect(self) -> None:
        for c in self.conns:
            c.close()
        self.conns = [RespConn(self.redpoll.port), RespConn(self.redis.port)]

    def both(self, argv) -> tuple:
        """Send one command to both; (redpoll reply, redis reply), unnormalised."""
        return tuple(c.call(argv) for c in self.conns)

    def _setup(self, proto: int, flush: bool, db: int) -> None:
        for c in self.conns:
            if c.proto != proto:
                r = c.call(["HELLO", str(proto)])
                assert r[0] != "-", f"HELLO {proto} failed on port {c.port}: {r}"
                c.proto = proto
            if flush:
                assert c.call(["FLUSHALL"]) == ("+", "OK")
            c.call(["SELECT", str(db)])

    def check(self, cmds: Iterable, proto: int = 2, norm: dict | None = None,
              flush: bool = True, db: int = 0) -> list:
        """Run ``cmds`` on both servers; fail at the first differing reply.

        ``proto`` is the RESP version used (HELLO is sent when it changes);
        ``flush`` empties both servers first; ``norm`` maps lower-case command
        names to normalisers (merged over :data:`DEFAULT_NORMALIZERS`).
        Returns the parsed replies of the real Redis.
        """
        norms = dict(DEFAULT_NORMALIZERS)
        if norm:
            norms.update(norm)
        self._setup(proto, flush, db)
        cmds = [list(c) for c in cmds]
        if _DEV_DROP:
            cmds = [c for c in cmds if _name(c) not in _DEV_DROP]
        history = []
        out = []
        for i, argv in enumerate(cmds):
            try:
                mine, ref = self.both(argv)
            except (ConnectionError, OSError) as e:
                raise Mismatch(self._report(history, argv, f"<{e!r}>", "?", proto))
            fn = norms.get(_name(argv))
            if fn is not None:
                n_mine, n_ref = fn(argv, mine), fn(argv, ref)
            else:
                n_mine, n_ref = mine, ref
            if n_mine != n_ref:
                raise Mismatch(self._report(history, argv, mine, ref, proto))
            history.append((argv, ref))
            out.append(ref)
            if _name(argv) == "hello" and ref[0] != "-" and len(argv) > 1:
                for c in self.conns:
                    c.proto = int(argv[1])
        return out

    def _report(self, history, argv, mine, ref, proto) -> str:
        lines = [f"redpoll and redis differ (RESP{proto}); commands so far:"]
        for a, r in history[-15:]:
            first = render(r).split("\n")
            lines.append(f"   ok  {fmt_argv(a)}  ->  {first[0]}{' ...' if len(first) > 1 else ''}")
        lines.append(f"  >>>  {fmt_argv(argv)}")
        lines.append("  redpoll:")
        lines.append(render(mine, "    ") if isinstance(mine, tuple) else f"    {mine}")
        lines.append("  redis:")
        lines.append(render(ref, "    ") if isinstance(ref, tuple) else f"    {ref}")
        return "\n".join(lines)

    def close(self) -> None:
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass

    def cleanup(self) -> None:
        """Close the connections and stop both servers."""
        self.close()
        self.redpoll.cleanup()
        self.redis.cleanup()

    def __enter__(self) -> "Pair":
        return self

    def __exit__(self, *exc) -> None:
        self.cleanup()


def start_pair(redpoll_args: list[str] | None = None,
               redis_args: list[str] | None = None) -> Pair:
    """Start both servers with the same extra arguments (both by default)."""
    require_redis_server()
    a = ServerProcess("redpoll", args=redpoll_args).start()
    try:
        b = ServerProcess("redis", args=redis_args if redis_args is not None
                          else redpoll_args).start()
    except Exception:
        a.cleanup()
        raise
    return Pair(a, b)


@pytest.fixture(scope="module")
def pair():
    """A redpoll/redis pair shared by the tests of one module."""
    with start_pair() as p:
        yield p


__all__ = ["Pair", "pair", "start_pair", "Approx", "unordered",
           "unordered_pairs", "approx_int", "length_only", "render",
           "DEFAULT_NORMALIZERS", "RespConn", "wait_until"]
