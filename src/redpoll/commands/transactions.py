"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

How a transaction runs:

* MULTI sets ``F_MULTI`` and ``c.multi_queue = []``; ``Server.execute``
  then queues every command except EXEC/DISCARD/MULTI/WATCH/QUIT/RESET and
  answers ``+QUEUED``. A command refused while queueing (unknown, arity,
  ACL, ``no_multi``, OOM, READONLY, ...) sets ``F_DIRTY_EXEC`` and EXEC
  answers EXECABORT. EXEC itself refused by those checks discards the
  transaction and answers ``EXECABORT Transaction discarded because of: ...``
  (``Server.reject``).
* EXEC runs the queue through ``Server.call`` inside
  ``server.begin_atomic()`` / ``end_atomic()``, so replicas and the AOF get
  the writes wrapped in MULTI ... EXEC (only when there are two or more, as
  Redis 7.0 does), and blocked clients are served after the whole
  transaction. ``F_MULTI`` stays set while the queue runs: blocking commands
  must test ``c.flags & F_MULTI`` (and ``F_LUA``) and answer at once instead
  of blocking.
* WATCH keeps ``c.watched``: (db id, key) -> "the key was already expired
  when watched" and ``server.watched_keys``: (db id, key) -> clients. The
  server marks watchers ``F_DIRTY_CAS`` when a write touches the key
  (``Server.touch_watched``, also on expiry), on FLUSHDB/FLUSHALL/SWAPDB
  (``Server.touch_all_watched``); EXEC also fails when a watched key expired
  since WATCH, even if nobody deleted it yet.
"""

from __future__ import annotations

from redpoll import acl
from redpoll.client import F_DIRTY_CAS, F_DIRTY_EXEC, F_MULTI
from redpoll.commands.table import command
from redpoll.errors import EXECABORT, RedisError
from redpoll.protocol.resp import NULL_ARRAY, OK, Raw

G = "transactions"

# acl_check's error -> the reason EXEC gives when ACLs changed after queueing
_ACL_REASONS = {
    acl.NOPERM_KEY: "no permission to touch the specified keys",
    acl.NOPERM_CHANNEL: "no permission to access one of the channels used as arguments",
}


def discard_transaction(c) -> None:
    """Leave MULTI state: drop the queue, the dirty flags and every WATCH."""
    c.multi_queue = None
    c.flags &= ~(F_MULTI | F_DIRTY_CAS | F_DIRTY_EXEC)
    c.server.unwatch_all(c)


def exec_abort(c, err: RedisError) -> RedisError:
    """EXEC refused by a pre-execution check: discard, and the error to send."""
    discard_transaction(c)
    msg = err.msg[4:] if err.msg.startswith("ERR ") else err.msg
    return RedisError(f"EXECABORT Transaction discarded because of: {msg}")


def watched_key_expired(c) -> bool:
    """True if a key that was live when watched has expired since."""
    dbs = c.server.dbs
    for (dbid, key), was_expired in c.watched.items():
        if not was_expired and dbs[dbid].is_expired(key):
            return True
    return False


@command("multi", 1, "noscript loading stale fast allow_busy", group=G,
         summary="Starts a transaction.")
def multi(c, argv):
    if c.flags & F_MULTI:
        raise RedisError("ERR MULTI calls can not be nested")
    c.flags |= F_MULTI
    c.multi_queue = []
    return OK


@command("discard", 1, "noscript loading stale fast allow_busy", group=G,
         summary="Discards a transaction.", since="2.0.0")
def discard(c, argv):
    if not c.flags & F_MULTI:
        raise RedisError("ERR DISCARD without MULTI")
    discard_transaction(c)
    return OK


def _acl_recheck(c, cmd, argv) -> RedisError | None:
    srv = c.server
    if srv.acl_check is None or c.user is None or c.user.unrestricted:
        return None
    err = srv.acl_check(c, cmd, argv)
    if err is None:
        return None
    reason = _ACL_REASONS.get(err.msg, "no permission to execute the command or subcommand")
    return RedisError(
        "NOPERM ACLs rules changed between the moment the transaction was "
        "accumulated and the EXEC call. This command is no longer allowed for "
        f"the following reason: {reason}")


@command("exec", 1, "noscript loading stale skip_slowlog", group=G,
         summary="Executes all commands in a transaction.")
def exec_(c, argv):
    from redpoll.server import NO_REPLY
    if not c.flags & F_MULTI:
        raise RedisError("ERR EXEC without MULTI")
    if c.flags & (F_DIRTY_CAS | F_DIRTY_EXEC) or (c.watched and watched_key_expired(c)):
        aborted = c.flags & F_DIRTY_EXEC
        discard_transaction(c)
        if aborted:
            raise RedisError(EXECABORT)
        return NULL_ARRAY
    srv = c.server
    queue = c.multi_queue
    srv.unwatch_all(c)          # our own writes must not dirty us
    c.add_reply(Raw(b"*%d\r\n" % len(queue)))
    srv.begin_atomic()
    try:
        for cmd, args in queue:
            err = _acl_recheck(c, cmd, args)
            if err is not None:
                srv.count_error(err)
                c.add_reply(err)
                continue
            c.prop_argv = None
            srv.call(c, cmd, args)
    finally:
        c.prop_argv = None
        discard_transaction(c)
        srv.end_atomic()
    return NO_REPLY


@command("watch", -2, "noscript loading stale fast allow_busy", keys=(1, -1, 1), group=G,
         summary="Monitors changes to keys to determine the execution of a transaction.",
         since="2.2.0")
def watch(c, argv):
    if c.flags & F_MULTI:
        raise RedisError("ERR WATCH inside MULTI is not allowed")
    if c.flags & F_DIRTY_CAS:       # EXEC will fail anyway
        return OK
    db = c.db
    table = c.server.watched_keys
    for key in argv[1:]:
        wk = (db.id, key)
        if wk in c.watched:
            continue
        c.watched[wk] = key not in db.data or db.is_expired(key)
        s = table.get(wk)
        if s is None:
            table[wk] = s = set()
        s.add(c)
    return OK


@command("unwatch", 1, "noscript loading stale fast allow_busy", group=G,
         summary="Forgets about watched keys of a transaction.", since="2.2.0")
def unwatch(c, argv):
    c.server.unwatch_all(c)
    return OK
