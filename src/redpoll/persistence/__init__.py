"""Persistence in Redis's own formats: RDB snapshots and the multi-part AOF.

Modules:

* :mod:`.rdb` — the RDB v10 reader/writer (also DUMP/RESTORE payloads);
* :mod:`.rdb_stream` — streams inside RDB files;
* :mod:`.compact` — listpack, ziplist, intset and zipmap blobs;
* :mod:`.crc64` — Redis's CRC-64;
* :mod:`.child` — forked children (BGSAVE, AOF rewrite) and their reports;
* :mod:`.snapshot` — SAVE/BGSAVE, save points, loading the RDB at start-up;
* :mod:`.aof` — the append-only file.

:func:`install` wires them into a server: loading at start-up (the AOF when
``appendonly yes``, else ``dir/dbfilename``), the cron work (save points,
scheduled BGSAVE/BGREWRITEAOF, automatic AOF rewrite), the AOF as a
propagation sink, INFO persistence, the MISCONF refusal of writes after a
persistence error, and the final save/fsync at shutdown. It leaves
``server.snapshots`` and ``server.aof`` for the commands.

Loading is written once, as a coroutine, for both ways it runs: awaited at
start-up (the event loop answers -LOADING meanwhile) and run to its end at
once with :func:`run_now` (DEBUG RELOAD, DEBUG LOADAOF) when all it awaits
completes immediately.
"""

from __future__ import annotations


def install(server) -> None:
    from redpoll.persistence.aof import AOF
    from redpoll.persistence.snapshot import Snapshots

    snaps = server.snapshots = Snapshots(server)
    aof = server.aof = AOF(server)      # its feed is a sink while the AOF is on
    server.cron_jobs.append(snaps.cron)
    server.cron_jobs.append(aof.cron)
    server.startup_hooks.append(lambda: load_at_startup(server))
    server.shutdown_hooks.append(lambda save: _shutdown(server, save))
    server.info_sections["persistence"] = lambda: _info(server)
    server.persistence_refresh = lambda: refresh_guard(server)


def run_now(coro):
    """Run a coroutine that never waits (everything it awaits completes at
    once) to its end, without an event loop; its return value."""
    try:
        coro.send(None)
    except StopIteration as e:
        return e.value
    coro.close()
    raise RuntimeError("the coroutine waited for something")


def refresh_guard(server) -> None:
    """Install the MISCONF check only while a persistence error is current,
    so the common case costs nothing per command."""
    failing = not server.snapshots.last_bgsave_ok or not server.aof.last_write_ok
    checks = server.precall_checks
    if failing and _misconf_check not in checks:
        checks.append(_misconf_check)
    elif not failing and _misconf_check in checks:
        checks.remove(_misconf_check)


def _info(server) -> list[str]:
    snaps, aof = server.snapshots, server.aof
    return snaps.info_lines() + aof.info_lines() + snaps.loading_lines()


def _shutdown(server, save) -> None:
    server.aof.shutdown()
    server.snapshots.shutdown(save)


def _write_error(server) -> str | None:
    """The MISCONF error writes get now, or None."""
    if server.masterhost is None:
        err = server.snapshots.write_denied()
        if err:
            return err
    return server.aof.write_denied()


def _misconf_check(c, cmd, argv):
    from redpoll.client import F_MASTER
    from redpoll.commands import table as T
    srv = c.server
    snaps = srv.snapshots
    if snaps.last_bgsave_ok and srv.aof.last_write_ok:
        return None
    if c.flags & F_MASTER:
        return None
    # as processCommand: checked before MULTI queues a command (a refused
    # one aborts the EXEC), and an EXEC whose queue holds a write counts
    # as a write
    if not (cmd.flags & T.WRITE or cmd.name == "ping"):
        if cmd.name != "exec" or not any(q.flags & T.WRITE for q, _ in c.multi_queue or ()):
            return None
    err = _write_error(srv)
    if err:
        from redpoll.errors import RedisError
        return RedisError(err)
    return None


async def load_at_startup(server) -> None:
    """Load the dataset before serving: the AOF if enabled, else the RDB."""
    import time

    from redpoll.log import log
    from redpoll.persistence.aof import ON, AOFError
    from redpoll.persistence.rdb import RDBError

    ev = getattr(server, "evictor", None)
    if ev is not None:
        # settle the LRU/LFU tracking first, so the loaded counters stay
        ev.apply_config()
    aof = server.aof
    if aof.state == ON:
        t0 = time.monotonic()
        try:
            loaded = await aof.load_async()
        except (AOFError, RDBError) as e:
            log.warning(str(e))
            raise SystemExit(1)
        except OSError as e:
            log.warning(f"Fatal error loading the AOF: {e.strerror}. Exiting.")
            raise SystemExit(1)
        if loaded:
            log.notice(f"DB loaded from append only file: {time.monotonic() - t0:.3f} seconds")
        try:
            aof.open_on_start()
        except OSError as e:
            log.warning(f"Can't open the append-only file: {e.strerror}")
            raise SystemExit(1)
        return
    try:
        aof.load_manifest()     # as Redis: known even with appendonly no
    except AOFError as e:
        log.warning(str(e))
        raise SystemExit(1)
    except OSError:
        pass
    try:
        await server.snapshots.load_file_async()
    except RDBError as e:
        log.warning(f"Internal error in RDB reading offset 0, function at rdb.c:0 -> {e}")
        log.warning("Terminating server after rdb file reading failure.")
        raise SystemExit(1)
    except OSError as e:
        log.warning(f"Fatal error loading the DB: {e.strerror}. Exiting.")
        raise SystemExit(1)
