"""Persistence commands: SAVE, BGSAVE, LASTSAVE, BGREWRITEAOF, and DEBUG.

The work is done by the persistence room (``server.snapshots``,
``server.aof``; see :mod:`redpoll.persistence`).

DEBUG lives here because its persistence subcommands (RELOAD, LOADAOF) are
the ones that need the most machinery; other rooms add their own DEBUG
subcommands with :func:`register_debug` (``fn(c, argv)`` returning a reply).
"""

from __future__ import annotations

import contextlib
import os

from redpoll.client import F_LUA, F_MULTI
from redpoll.commands.table import command
from redpoll.errors import LOADING, SYNTAX, RedisError, subcommand_syntax
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


@command("debug", -2, "admin noscript loading stale protected", group=G,
         summary="A container for debugging commands.")
def debug(c, argv):
    from redpoll.commands.server import debug_allowed
    if not debug_allowed(c):
        raise RedisError(DEBUG_DISABLED)
    fn = DEBUG_SUBCOMMANDS.get(argv[1].lower())
    if fn is None:
        raise subcommand_syntax(argv)
    return fn(c, argv)


RELOAD_ERROR = "ERR Error trying to load the RDB dump"
# Like Redis (loading_process_events_interval_bytes), a load smaller than
# this runs at once; a bigger one lets the loop serve other clients.
ASYNC_LOAD_BYTES = 2 * 1024 * 1024


def _load_in_background(c) -> bool:
    """Whether a load for ``c`` may run while the loop serves others: a
    real connection, not inside MULTI/EXEC or a script."""
    return c.transport is not None and not c.flags & (F_MULTI | F_LUA)


def _run_blocking_load(c, work):
    """Run the coroutine ``work`` (which returns the reply or raises
    RedisError) as a task; ``c`` reads no further requests until it is done
    and gets the reply then."""
    from redpoll.server import NO_REPLY
    c.paused_input = True

    async def run():
        try:
            reply = await work
        except RedisError as e:
            reply = e
            c.server.count_error(e)
        finally:
            c.paused_input = False
        c.add_reply(reply)
        c.resume_input()
    c.server.loop.create_task(run())
    return NO_REPLY


def debug_reload(c, argv):
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, flush, load the RDB.

    As in Redis, the dataset and the function libraries are emptied before
    loading (so a failed load leaves them empty) unless NOFLUSH; MERGE lets
    the file's keys and libraries replace existing ones. A big file is
    parsed in a thread while other clients get -LOADING."""
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
    if srv.loading:
        raise RedisError(LOADING)
    snaps = srv.snapshots
    if save_first:
        snaps.kill_child()
        try:
            snaps.save()
        except OSError:
            raise RedisError("ERR")
    from redpoll.persistence import rdb
    if flush:
        srv.touch_all_watched(None)
        rdb.install_dbs(srv, {})
        rdb.flush_functions(srv)
    try:
        with open(snaps.path(), "rb") as f:
            data = f.read()
    except OSError as e:
        log.warning(f"Error loading the RDB dump: {e.strerror}")
        raise RedisError(RELOAD_ERROR)
    snaps.begin_loading(len(data))
    if len(data) < ASYNC_LOAD_BYTES or not _load_in_background(c):
        with _reload_errors(snaps):
            parsed = rdb.parse_rdb(srv, data, watch=snaps.watch)
        return _reloaded(srv, parsed, flush, merge)

    async def work():
        with _reload_errors(snaps):
            parsed = await snaps.parse_off_loop(data)
        return _reloaded(srv, parsed, flush, merge)
    return _run_blocking_load(c, work())


@contextlib.contextmanager
def _reload_errors(snaps):
    """Around DEBUG RELOAD's parse (here or off the loop): a bad file is
    Redis's reload error, and the loading state ends either way."""
    from redpoll.persistence import rdb
    try:
        yield
    except rdb.RDBError as e:
        log.warning(f"Error loading the RDB dump: {e}")
        raise RedisError(RELOAD_ERROR)
    finally:
        snaps.end_loading()


def _reloaded(srv, parsed, flush: bool, merge: bool):
    """Install what DEBUG RELOAD parsed: replace the (emptied) dataset, or
    add to it with NOFLUSH (a key or library that exists is an error,
    unless MERGE)."""
    from redpoll.persistence import rdb
    info, dbs = parsed
    if flush:
        rdb.install_dbs(srv, dbs)
        rdb.install_functions(srv, info["functions"])
    else:
        if not merge:
            _check_no_library_clash(srv, info["functions"])
        rdb.install_functions(srv, info["functions"], flush=False)
        for db in srv.dbs:
            part = dbs.get(db.id)
            if part is None:
                continue
            for k, v in part[0].items():
                if not merge and k in db.data:
                    log.warning(f"RDB has duplicated key '{k.decode('utf-8', 'replace')}' "
                                f"in DB {db.id}")
                    raise RedisError(RELOAD_ERROR)
                db.set(k, v)
                when = part[1].get(k)
                if when is not None:
                    db.set_expire(k, when)
    rdb.count_sanitizations(srv, info["blobs"], loading=True)
    log.notice("DB reloaded by DEBUG RELOAD")
    return OK


def _check_no_library_clash(srv, codes) -> None:
    reg = getattr(srv, "function_registry", None)
    if reg is None or not codes:
        return
    from redpoll.scripting.functions import parse_metadata
    for code in codes:
        try:
            name = parse_metadata(code)
        except RedisError:
            continue
        if name in reg.libraries:
            log.warning(f"Failed loading library: Library '{name.decode('utf-8', 'replace')}'"
                        f" already exists")
            raise RedisError(RELOAD_ERROR)


def debug_loadaof(c, argv):
    """DEBUG LOADAOF: flush the AOF, empty the dataset and load the AOF (a
    big one while other clients get -LOADING). A failure exits, as Redis."""
    from redpoll.persistence.aof import ON, AOFError
    srv = c.server
    if srv.loading:
        raise RedisError(LOADING)
    aof = srv.aof
    if aof.state == ON:
        aof.fsync_now()

    def failed(e):
        log.warning(str(e))
        os._exit(1)

    def loaded():
        srv.dirty = 0
        log.notice("Append Only File loaded by DEBUG LOADAOF")
        return OK
    if aof._files_size() < ASYNC_LOAD_BYTES or not _load_in_background(c):
        try:
            aof.load()
        except (AOFError, OSError) as e:
            failed(e)
        return loaded()

    async def work():
        try:
            await aof.load_async()
        except (AOFError, OSError) as e:
            failed(e)
        return loaded()
    return _run_blocking_load(c, work())


def debug_aof_fsync_stall(c, argv):
    """DEBUG AOF-FSYNC-STALL <ms> (redpoll only): each background fsync of
    the AOF first waits <ms>, as on a busy disk (0 ends it). For tests of
    appendfsync everysec's postponed writes (aof_delayed_fsync)."""
    from redpoll.commands.string import parse_int
    if len(argv) != 3:
        raise RedisError(SYNTAX)
    ms = parse_int(argv[2])
    if ms < 0:
        raise RedisError("ERR value is out of range, must be positive")
    c.server.aof.fsync_stall = ms / 1000.0
    return OK


register_debug("reload", debug_reload)
register_debug("loadaof", debug_loadaof)
register_debug("aof-fsync-stall", debug_aof_fsync_stall)
