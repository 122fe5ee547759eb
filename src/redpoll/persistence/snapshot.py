"""RDB snapshots of a running server: SAVE, BGSAVE, save points, loading.

:class:`Snapshots` (``server.snapshots``) keeps what INFO persistence shows
about RDB files and does the work of:

* SAVE (synchronous: temp file, fsync, rename) and BGSAVE (a forked child,
  see :mod:`redpoll.persistence.child`), BGSAVE SCHEDULE;
* ``save <seconds> <changes>`` points, checked from the server cron, with
  Redis's 5 s retry delay after a failed background save;
* loading ``dir/dbfilename`` at start-up and DEBUG RELOAD, with Redis's log
  lines ("DB loaded from disk: 0.001 seconds");
* the final save at shutdown and the MISCONF refusal of writes after a failed
  background save (``stop-writes-on-bgsave-error``);
* ``rdb-del-sync-files``: :meth:`Snapshots.maybe_delete_sync_file` is for
  the replication room to call after loading a sync RDB.
"""

from __future__ import annotations

import os
import time

from redpoll.errors import RedisError
from redpoll.log import log
from redpoll.persistence import rdb, run_now
from redpoll.persistence.child import children

BGSAVE_RETRY_DELAY = 5

MISCONF_RDB = (
    "MISCONF Redis is configured to save RDB snapshots, but it's currently "
    "unable to persist to disk. Commands that may modify the data set are "
    "disabled, because this instance is configured to report errors during "
    "writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
    "Please check the Redis logs for details about the RDB error.")


def _loading_check(c, cmd, argv):
    from redpoll.commands.table import LOADING as LOADING_FLAG
    from redpoll.errors import LOADING
    if cmd.flags & LOADING_FLAG or not c.server.loading:
        return None
    return RedisError(LOADING)


class Snapshots:
    def __init__(self, server):
        self.server = server
        self.children = children(server)
        self.last_bgsave_ok = True
        self.last_bgsave_time = -1
        self.bgsave_started = 0.0
        self.last_try = 0.0
        self.dirty_at_start = 0
        self.scheduled = False
        self.saves = 0
        self._killed = False
        self.load_keys_loaded = 0
        self.load_keys_expired = 0
        # loading progress (INFO persistence while loading)
        self.loading_start = 0
        self.loading_total = 0
        self.loading_done = 0
        self.loading_reader = None     # the RDB reader while parsing (progress)
        self.loading_aux: dict = {}    # its aux fields (used-mem)

    # -- paths ---------------------------------------------------------------
    def path(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg["dir"] or os.getcwd(), cfg["dbfilename"])

    # -- saving ----------------------------------------------------------------
    def save(self) -> None:
        """SAVE: write the dataset now, blocking. Raises OSError on failure."""
        srv = self.server
        path = self.path()
        tmp = os.path.join(os.path.dirname(path), f"temp-{os.getpid()}.rdb")
        try:
            rdb.save_file(srv, path, tmp=tmp)
        except OSError as e:
            if not os.path.exists(os.path.dirname(path) or "."):
                log.warning(f"Failed opening the temp RDB file {os.path.basename(tmp)} "
                            f"(in server root dir {os.getcwd()}) for saving: {e.strerror}")
            else:
                log.warning(f"Write error saving DB on disk: {e.strerror}")
            self.last_bgsave_ok = False
            self._refresh()
            raise
        log.notice("DB saved on disk")
        srv.dirty = 0
        srv.lastsave = int(time.time())
        self.last_bgsave_ok = True
        self.saves += 1
        self._refresh()

    def _refresh(self) -> None:
        fn = getattr(self.server, "persistence_refresh", None)
        if fn is not None:
            fn()

    def bgsave(self, reason: str = "") -> bool:
        """Start a background save; False if the fork failed."""
        srv = self.server
        self.dirty_at_start = srv.dirty
        self.last_try = time.time()
        self.scheduled = False
        try:
            pid = rdb.bgsave_to_fd(srv, self.path(), self._bgsave_done)
        except OSError as e:
            self.last_bgsave_ok = False
            self._refresh()
            log.warning(f"Can't save in background: fork: {e.strerror}")
            return False
        self.bgsave_started = time.time()
        log.notice(f"Background saving started by pid {pid}")
        return True

    def _bgsave_done(self, ok: bool) -> None:
        srv = self.server
        elapsed = int(time.time() - self.bgsave_started)
        self.last_bgsave_time = elapsed
        if self._killed:
            self._killed = False
            log.warning("Background saving terminated by signal 10")
        elif ok:
            log.notice("Background saving terminated with success")
            srv.dirty = max(0, srv.dirty - self.dirty_at_start)
            srv.lastsave = int(time.time())
            self.last_bgsave_ok = True
            self.saves += 1
        else:
            log.warning("Background saving error")
            self.last_bgsave_ok = False
        self._refresh()
        for fn in list(getattr(srv, "bgsave_done_hooks", ())):
            fn(ok)

    def kill_child(self) -> None:
        """Stop a running BGSAVE (SIGUSR1): not an error, as in Redis."""
        ch = self.children
        if ch.active() and ch.kind == "rdb":
            pid = ch.pid
            self._killed = True
            ch.kill()
            try:
                os.unlink(os.path.join(os.path.dirname(self.path()), f"temp-{pid}.rdb"))
            except OSError:
                pass

    # -- cron ----------------------------------------------------------------------
    def cron(self) -> None:
        srv = self.server
        if self.children.active() or srv.loading:
            return
        now = time.time()
        retry_ok = now - self.last_try > BGSAVE_RETRY_DELAY or self.last_bgsave_ok
        if self.scheduled and retry_ok:
            self.bgsave()
            return
        for seconds, changes in srv.config["save"] or ():
            if srv.dirty >= changes and now - srv.lastsave > seconds and retry_ok:
                log.notice(f"{changes} changes in {seconds} seconds. Saving...")
                self.bgsave()
                return

    # -- MISCONF -------------------------------------------------------------------
    def write_denied(self) -> str | None:
        srv = self.server
        cfg = srv.config
        if (cfg["stop-writes-on-bgsave-error"] and cfg["save"]
                and not self.last_bgsave_ok):
            return MISCONF_RDB
        return None

    # -- loading -------------------------------------------------------------------
    def load_file(self, path: str | None = None) -> bool:
        """Load ``dir/dbfilename`` now (DEBUG RELOAD). False if the file
        does not exist; raises RDBError on a corrupt file."""
        return run_now(self._load_file(path, self._parse_now))

    async def load_file_async(self, path: str | None = None) -> bool:
        """Load at start-up: the file is parsed in a thread while the event
        loop answers clients -LOADING (INFO and the other ``loading``
        commands work), as Redis does."""
        return await self._load_file(path, self.parse_off_loop)

    async def _load_file(self, path: str | None, parse) -> bool:
        """Read the file, ``await parse(data)`` and install the result."""
        data = self._read(path)
        if data is None:
            return False
        t0 = time.monotonic()
        self.begin_loading(len(data))
        try:
            info, dbs = await parse(data)
        finally:
            self.end_loading()
        self._loaded(info, dbs, t0)
        return True

    async def _parse_now(self, data):
        return rdb.parse_rdb(self.server, data, watch=self.watch)

    async def parse_off_loop(self, data, **kw):
        """``rdb.parse_rdb`` in a thread: the event loop meanwhile answers
        other clients (-LOADING, or INFO with the progress)."""
        import asyncio
        import functools
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(
            rdb.parse_rdb, self.server, data, watch=self.watch, **kw))

    def watch(self, reader, aux: dict) -> None:
        """parse_rdb's ``watch``: keep the reader for the loading progress."""
        self.loading_reader = reader
        self.loading_aux = aux

    def _read(self, path: str | None) -> bytes | None:
        try:
            with open(path or self.path(), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def _loaded(self, info: dict, dbs: dict, t0: float) -> None:
        srv = self.server
        rdb.install_dbs(srv, dbs)
        aux = info["aux"]
        ver = aux.get("redis-ver")
        if ver is not None:
            log.notice(f"Loading RDB produced by version {ver.decode('utf-8', 'replace')}")
        if "ctime" in aux and isinstance(aux["ctime"], int):
            age = int(time.time()) - aux["ctime"]
            log.notice(f"RDB age {max(age, 0)} seconds")
        if "used-mem" in aux and isinstance(aux["used-mem"], int):
            log.notice(f"RDB memory usage when created "
                       f"{aux['used-mem'] / 1024 / 1024:.2f} Mb")
        self.load_keys_loaded = info["keys_loaded"]
        self.load_keys_expired = info["expired_skipped"]
        log.notice(f"Done loading RDB, keys loaded: {info['keys_loaded']}, "
                   f"keys expired: {info['expired_skipped']}.")
        srv.rdb_load_info = info
        rdb.install_functions(srv, info["functions"])
        rdb.count_sanitizations(srv, info["blobs"], loading=True)
        log.notice(f"DB loaded from disk: {time.monotonic() - t0:.3f} seconds")

    def begin_loading(self, total: int) -> None:
        """The dataset is being loaded: commands without the ``loading``
        flag get -LOADING until :meth:`end_loading`."""
        srv = self.server
        srv.loading = True
        self.loading_start = int(time.time())
        self.loading_total = total
        self.loading_done = 0
        self.loading_reader = None
        self.loading_aux = {}
        if _loading_check not in srv.precall_checks:
            srv.precall_checks.insert(0, _loading_check)

    def end_loading(self) -> None:
        srv = self.server
        srv.loading = False
        self.loading_reader = None
        if _loading_check in srv.precall_checks:
            srv.precall_checks.remove(_loading_check)

    def maybe_delete_sync_file(self, path: str | None = None) -> None:
        """rdb-del-sync-files: drop the RDB a replica received when neither
        RDB save points nor the AOF are configured."""
        cfg = self.server.config
        if cfg["rdb-del-sync-files"] and not cfg["save"] and not cfg["appendonly"]:
            path = path or self.path()
            try:
                os.unlink(path)
                log.notice(f"Removing the RDB file used to sync with the master ({path})")
            except OSError:
                pass

    # -- INFO --------------------------------------------------------------------------
    def info_lines(self) -> list[str]:
        srv = self.server
        ch = self.children
        now = time.time()
        active = ch.active()
        rdb_child = active and ch.kind == "rdb"
        perc = (100.0 * ch.keys_processed / ch.keys_total) if active and ch.keys_total else 0.0
        lines = [
            f"loading:{int(srv.loading)}",
            "async_loading:0",
            f"current_cow_peak:{ch.cow_peak if active else 0}",
            f"current_cow_size:{ch.cow_size if active else 0}",
            f"current_cow_size_age:{int(now - ch.cow_updated) if active and ch.cow_size else 0}",
            f"current_fork_perc:{perc:.2f}",
            f"current_save_keys_processed:{ch.keys_processed if active else 0}",
            f"current_save_keys_total:{ch.keys_total if active else 0}",
            f"rdb_changes_since_last_save:{srv.dirty}",
            f"rdb_bgsave_in_progress:{int(rdb_child)}",
            f"rdb_last_save_time:{srv.lastsave}",
            f"rdb_last_bgsave_status:{'ok' if self.last_bgsave_ok else 'err'}",
            f"rdb_last_bgsave_time_sec:{self.last_bgsave_time}",
            f"rdb_current_bgsave_time_sec:{int(now - self.bgsave_started) if rdb_child else -1}",
            f"rdb_saves:{self.saves}",
            f"rdb_last_cow_size:{ch.last_cow['rdb']}",
            f"rdb_last_load_keys_expired:{self.load_keys_expired}",
            f"rdb_last_load_keys_loaded:{self.load_keys_loaded}",
        ]
        return lines

    def loading_lines(self) -> list[str]:
        if not self.server.loading:
            return []
        total = self.loading_total
        reader = self.loading_reader
        done = min(total, reader.pos if reader is not None else self.loading_done)
        perc = 100.0 * done / total if total else 0.0
        elapsed = int(time.time()) - self.loading_start
        # Redis's estimate: the bytes left at the mean speed so far
        eta = 1 if not elapsed or not done else int((total - done) / (done / elapsed))
        try:
            used = int(self.loading_aux.get("used-mem", 0))
        except (TypeError, ValueError):
            used = 0
        return [f"loading_start_time:{self.loading_start}",
                f"loading_total_bytes:{total}",
                f"loading_rdb_used_mem:{used}",
                f"loading_loaded_bytes:{done}",
                f"loading_loaded_perc:{perc:.2f}",
                f"loading_eta_seconds:{eta}"]

    # -- shutdown ----------------------------------------------------------------------
    def shutdown(self, save: bool | None) -> None:
        """Kill a saving child, then do the final save if configured."""
        srv = self.server
        ch = self.children
        if ch.active() and ch.kind == "rdb":
            log.warning("There is a child saving an .rdb. Killing it!")
            self.kill_child()
        if save is False or srv.loading:
            return      # never overwrite the dump with a half-loaded dataset
        if srv.config["save"] or save:
            log.notice("Saving the final RDB snapshot before exiting.")
            try:
                self.save()
            except OSError:
                log.warning("Error trying to save the DB, can't exit.")
                raise RedisError("ERR Errors trying to SHUTDOWN. Check logs.")
