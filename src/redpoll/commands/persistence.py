"""Persistence commands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF, and DEBUG.

The work is done by the persistence room (``server.snapshots``,
``server.aof``; see :mod:`redpoll.persistence`).

DEBUG lives here because its persistence subcommands (RELOAD, LOADAOF) are
the ones that need the most machinery; other rooms add their own DEBUG
subcommands with :func:`register_debug` (``fn(c, argv)`` returning a reply).
"""

from __future__ import annotations

import os

from redpoll.client import F_MULTI
from redpoll.commands.table import command
from redpoll.errors import SYNTAX, RedisError
from redpoll.log import log
from redpoll.protocol.resp import OK, Status

G = "server"
DEBUG_DISABLED = (
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
    "\"local\", you can run it from a local connection, otherwise you need to set "
    "this option in the configuration file, and then restart the server.")


@command("save", 1, "admin noscript no_async_loading no_multi", group=G,
         summary="Synchronously saves the database(s) to disk.")
def save(c, argv):
    srv = c.server
    ch = srv.snapshots.children
    if ch.active() and ch.kind == "rdb":
        raise RedisError("ERR Background save already in progress")
    try:
        srv.snapshots.save()
    except OSError:
        raise RedisError("ERR")
    return OK


@command("bgsave", -1, "admin noscript no_async_loading", group=G,
         summary="Asynchronously saves the database(s) to disk.")
def bgsave(c, argv):
    schedule = False
    if len(argv) > 1:
        if len(argv) == 2 and argv[1].lower() == b"schedule":
            schedule = True
        else:
            raise RedisError(SYNTAX)
    snaps = c.server.snapshots
    ch = snaps.children
    if ch.active() and ch.kind == "rdb":
        raise RedisError("ERR Background save already in progress")
    if ch.active() or c.flags & F_MULTI:
        if schedule or c.flags & F_MULTI:
            snaps.scheduled = True
            return Status("Background saving scheduled")
        raise RedisError(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. "
            "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")
    if snaps.bgsave():
        return Status("Background saving started")
    raise RedisError("ERR")


@command("lastsave", 1, "loading stale fast", group=G, acl="admin dangerous",
         summary="Returns the Unix timestamp of the last successful save to disk.")
def lastsave(c, argv):
    return c.server.lastsave


@command("bgrewriteaof", 1, "admin noscript no_async_loading", group=G,
         summary="Asynchronously rewrites the append-only file to disk.")
def bgrewriteaof(c, argv):
    aof = c.server.aof
    ch = aof.children
    if ch.active() and ch.kind == "aof":
        raise RedisError("ERR Background append only file rewriting already in progress")
    if ch.active() or c.flags & F_MULTI:
        aof.rewrite_scheduled = True
        return Status("Background append only file rewriting scheduled")
    if aof.rewrite():
        return Status("Background append only file rewriting started")
    raise RedisError("ERR Can't execute an AOF background rewriting. Please check "
                     "the server logs for more information.")


# -- DEBUG -------------------------------------------------------------------------

DEBUG_SUBCOMMANDS: dict[bytes, object] = {}


def register_debug(name: str, fn) -> None:
    """Add a DEBUG subcommand: ``fn(c, argv)`` returns the reply."""
    DEBUG_SUBCOMMANDS[name.lower().encode()] = fn


@command("debug", -2, "admin noscript loading stale", group=G,
         summary="A container for debugging commands.")
def debug(c, argv):
    from redpoll.commands.server import debug_allowed
    if not debug_allowed(c):
        raise RedisError(DEBUG_DISABLED)
    fn = DEBUG_SUBCOMMANDS.get(argv[1].lower())
    if fn is None:
        from redpoll.commands.server import _sub_error
        raise _sub_error(argv[1], "DEBUG")
    return fn(c, argv)


def debug_reload(c, argv):
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, flush, load the RDB."""
    flush, save_first, merge = True, True, False
    for a in argv[2:]:
        o = a.lower()
        if o == b"merge":
            merge = True
        elif o == b"noflush":
            flush = False
        elif o == b"nosave":
            save_first = False
        else:
            raise RedisError("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and "
                             "NOSAVE options.")
    srv = c.server
    snaps = srv.snapshots
    if save_first:
        snaps.kill_child()
        try:
            snaps.save()
        except OSError:
            raise RedisError("ERR")
    from redpoll.persistence import rdb
    path = snaps.path()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        raise RedisError("ERR Error trying to load the RDB dump, check server logs.")
    try:
        info, dbs = rdb.parse_rdb(srv, data)
    except rdb.RDBError as e:
        log.warning(f"Error loading the RDB dump: {e}")
        raise RedisError("ERR Error trying to load the RDB dump, check server logs.")
    if not flush or merge:
        for db in srv.dbs:
            parsed = dbs.get(db.id)
            if parsed is None:
                continue
            for k, v in parsed[0].items():
                if k in db.data and not merge:
                    raise RedisError("ERR Error trying to load the RDB dump, check "
                                     "server logs.")
                db.set(k, v)
                when = parsed[1].get(k)
                if when is not None:
                    db.set_expire(k, when)
    else:
        srv.touch_all_watched(None)
        rdb.install_dbs(srv, dbs)
    log.notice("DB reloaded by DEBUG RELOAD")
    return OK


def debug_loadaof(c, argv):
    """DEBUG LOADAOF: flush the AOF, empty the dataset and load the AOF."""
    from redpoll.persistence.aof import ON, AOFError
    srv = c.server
    aof = srv.aof
    if aof.state == ON:
        aof.fsync_now()
    try:
        aof.load()
    except (AOFError, OSError) as e:
        log.warning(str(e))
        os._exit(1)
    srv.dirty = 0
    log.notice("Append Only File loaded by DEBUG LOADAOF")
    return OK


register_debug("reload", debug_reload)
register_debug("loadaof", debug_loadaof)
