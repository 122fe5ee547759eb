"""Blocking operations: clients waiting for data on keys.

Used by the list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP), the
sorted set ones (BZPOPMIN, BZPOPMAX, BZMPOP) and streams (XREAD/XREADGROUP
BLOCK). The whole API:

``parse_timeout(arg, seconds=True) -> int``
    The timeout argument as Redis parses it (seconds as a long double for the
    list/zset commands, integer milliseconds for XREAD BLOCK), in ms; 0 means
    wait forever. Raises Redis's errors (``timeout is negative`` ...).

``block(c, keys, timeout_ms, serve, timeout_reply=NULL_ARRAY, deny_reply=SAME, on_unblock=None)``
    Called by a handler that found no data. Returns what the handler must
    return: ``NO_REPLY`` (the client now waits), or, when the client may not
    block (inside MULTI/EXEC, a Lua script, a fake client), ``deny_reply``
    at once (by default the same as ``timeout_reply``; BLMOVE answers a null
    bulk there but a null array on timeout, as Redis does).
    While waiting, every time a write touches one of ``keys`` (in the
    client's db) ``serve(c, key)`` is called; it returns the reply, or
    ``NOT_READY`` to keep waiting. Clients blocked on a key are tried in the
    order they blocked (FIFO). ``serve`` does the work like a handler would:
    change the data, ``notify()``, ``c.server.dirty += n`` and set
    ``c.prop_argv`` to the non-blocking equivalent to propagate (BLPOP ->
    ``LPOP key``); it may instead propagate itself and set ``c.prop_argv = []``.
    After a serve that changed data, WATCHers of the propagated command's
    keys are invalidated and clients blocked on them are woken in turn.
    On timeout the client gets ``timeout_reply``. ``on_unblock(c)``, if
    given, is called whenever the client leaves this wait (served, timed
    out, CLIENT UNBLOCK, disconnected) -- for rooms that keep their own
    list of waiters (WAIT). ``c.blocked`` is the wait's state object while
    it lasts, so ``c.blocked is state`` tells whether it is still the same
    wait.

``signal_key_ready(server, dbid, key)`` / ``scan_db_for_ready_keys(server, dbid)``
    For commands that make a key appear without naming it among their keys
    (MOVE's target db, SWAPDB): wake the clients blocked on it.

``unblock(c, reply)``
    Release a blocked client with ``reply`` (any reply value, ``None`` being
    a null bulk string).

Writes performed by ordinary commands are noticed by ``Server.after_write``
(it appends (db id, key) to ``server.ready_keys`` for keys with blocked
clients and calls ``server.serve_blocked_hook``, which :func:`install` sets).
Inside EXEC and scripts the server defers that call to ``end_atomic()``, so
blocked clients are served after the transaction/script, as in Redis.
``CLIENT UNBLOCK`` calls ``server.unblock_hook(c, "timeout"|"error")`` and a
disconnect ``server.unblock_hook(c, None)``.
"""

from __future__ import annotations

import time

from redpoll.client import F_LUA, F_MULTI
from redpoll.commands import table as T
from redpoll.errors import RedisError
from redpoll.protocol.resp import NULL_ARRAY

NOT_READY = object()
UNBLOCKED_ERROR = "UNBLOCKED client unblocked via CLIENT UNBLOCK"

_I64_MAX = 2**63 - 1


class Blocked:
    """What a blocked client waits for (``c.blocked``)."""

    __slots__ = ("dbid", "keys", "serve", "timeout_reply", "timer", "deadline_ms",
                 "on_unblock")

    def __init__(self, dbid, keys, serve, timeout_reply, deadline_ms):
        self.on_unblock = None
        self.dbid = dbid
        self.keys = keys
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.timer = None
        self.deadline_ms = deadline_ms     # absolute unix ms, 0 = forever


def parse_timeout(arg: bytes, seconds: bool = True) -> int:
    """getTimeoutFromObjectOrReply: the timeout in ms (0 = forever)."""
    if seconds:
        from redpoll.commands.string import parse_long_double
        v = parse_long_double(arg)
        if v is None:
            raise RedisError("ERR timeout is not a float or out of range")
        if v in (float("inf"), float("-inf")):
            ms = -1                        # (long long) of an out-of-range value
        else:
            ms = -((-v * 1000) // 1)       # ceil, exact
            if ms > _I64_MAX or ms < -_I64_MAX - 1:
                ms = -1                    # the C cast overflows to LLONG_MIN
            ms = int(ms)
    else:
        from redpoll.commands.string import parse_int
        ms = parse_int(arg, "ERR timeout is not an integer or out of range")
    if ms < 0:
        raise RedisError("ERR timeout is negative")
    return ms


SAME = object()


def block(c, keys, timeout_ms: int, serve, timeout_reply=NULL_ARRAY, deny_reply=SAME,
          on_unblock=None):
    """Make ``c`` wait for ``keys``; see the module docstring."""
    from redpoll.server import NO_REPLY
    srv = c.server
    if c.flags & (F_MULTI | F_LUA) or c.transport is None:
        return timeout_reply if deny_reply is SAME else deny_reply
    st = Blocked(c.db.id, list(dict.fromkeys(keys)), serve, timeout_reply, 0)
    st.on_unblock = on_unblock
    table = srv.blocking_keys
    for k in st.keys:
        wk = (st.dbid, k)
        lst = table.get(wk)
        if lst is None:
            table[wk] = [c]
        else:
            lst.append(c)
    if timeout_ms > 0:
        st.deadline_ms = int(time.time() * 1000) + timeout_ms
        loop = srv.loop
        st.timer = loop.call_at(loop.time() + timeout_ms / 1000.0, _timed_out, c, st)
    c.blocked = st
    return NO_REPLY


def _remove(c, st: Blocked) -> None:
    table = c.server.blocking_keys
    for k in st.keys:
        wk = (st.dbid, k)
        lst = table.get(wk)
        if lst is not None:
            try:
                lst.remove(c)
            except ValueError:
                pass
            if not lst:
                del table[wk]
    if st.timer is not None:
        st.timer.cancel()
        st.timer = None


def _release(c, st: Blocked) -> None:
    """Forget the wait ``st`` of ``c`` (no reply)."""
    _remove(c, st)
    c.blocked = None
    if st.on_unblock is not None:
        fn, st.on_unblock = st.on_unblock, None
        fn(c)


def unblock(c, reply) -> None:
    """Release ``c``: send ``reply`` and resume its input."""
    st = c.blocked
    if st is None:
        return
    _release(c, st)
    if not c.closed:
        if isinstance(reply, RedisError):
            c.server.count_error(reply)
        c.add_reply(reply)
        c.resume_input()


def _timed_out(c, st: Blocked) -> None:
    if c.blocked is st:
        st.timer = None
        unblock(c, st.timeout_reply)


def _unblock_hook(c, mode) -> bool:
    """CLIENT UNBLOCK (mode "timeout"/"error") or disconnect (None)."""
    st = c.blocked
    if st is None:
        return False
    if mode is None:
        _release(c, st)
    elif mode == "error":
        unblock(c, RedisError(UNBLOCKED_ERROR))
    else:
        unblock(c, st.timeout_reply)
    return True


def signal_key_ready(server, dbid: int, key: bytes) -> None:
    """A key appeared or changed outside the keys of the running command."""
    if (dbid, key) in server.blocking_keys:
        server.ready_keys.append((dbid, key))
        if not server.atomic_depth:
            serve_ready_keys(server)


def scan_db_for_ready_keys(server, dbid: int) -> None:
    """After SWAPDB/FLUSHDB-like changes: every blocked key of ``dbid`` that
    now exists becomes ready."""
    data = server.dbs[dbid].data
    for d, key in list(server.blocking_keys):
        if d == dbid and key in data:
            server.ready_keys.append((d, key))
    if server.ready_keys and not server.atomic_depth:
        serve_ready_keys(server)


def serve_ready_keys(server) -> None:
    """handleClientsBlockedOnKeys: serve, key by key and in FIFO order, the
    clients blocked on the keys written since the last call."""
    table = server.blocking_keys
    while server.ready_keys:
        ready, server.ready_keys = server.ready_keys, []
        seen = set()
        for wk in ready:
            if wk in seen:
                continue
            seen.add(wk)
            waiting = table.get(wk)
            if not waiting:
                continue
            db = server.dbs[wk[0]]
            key = wk[1]
            for c in list(waiting):
                st = c.blocked
                if st is None or c.closed:
                    continue
                if key not in db.data:
                    break                  # nothing left for the others either
                dirty = server.dirty
                c.prop_argv = None
                try:
                    reply = st.serve(c, key)
                except RedisError as e:
                    reply = e
                except Exception as e:      # a bug: answer, keep the server alive
                    server.log.warning(f"Error serving a blocked client: {e!r}")
                    reply = RedisError(f"ERR internal error serving a blocked client: "
                                       f"{type(e).__name__}")
                if reply is NOT_READY:
                    continue
                unblock(c, reply)
                if server.dirty != dirty:
                    _after_served_write(server, c, key)


def _after_served_write(server, c, key: bytes) -> None:
    """What Server.after_write does for a command, for a served client."""
    pargv, c.prop_argv = c.prop_argv, None
    dbid = c.db.id
    if pargv:
        server.propagate(dbid, pargv)
        cmd = T.lookup(pargv)
        keys = cmd.keys(pargv) if cmd is not None else [key]
    else:
        keys = [key]
    for k in keys:
        if server.watched_keys:
            server.touch_watched(dbid, k)
        if (dbid, k) in server.blocking_keys:
            server.ready_keys.append((dbid, k))


def install(server) -> None:
    server.serve_blocked_hook = lambda: serve_ready_keys(server)
    server.unblock_hook = _unblock_hook
