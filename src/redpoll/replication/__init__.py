"""Primary/replica replication over Redis's PSYNC protocol.

:class:`Replication` (``server.repl``) owns what both roles share: the
replication ID and secondary ID (PSYNC2), ``master_repl_offset``, the
backlog, the role switches done by REPLICAOF, the INFO replication section,
ROLE, and the once-a-second replication cron. The two halves live next to it:

* :mod:`.primary` -- serving replicas: PSYNC answers, full syncs from a
  forked snapshot, streaming writes, WAIT, min-replicas-to-write;
* :mod:`.replica` -- our link to a primary: handshake, loading the payload,
  applying and proxying the stream, ACKs, reconnects.
"""

from __future__ import annotations

import os
import time

from redpoll.client import F_MASTER, F_MULTI
from redpoll.commands import table as T
from redpoll.errors import MASTERDOWN, NOREPLICAS, RedisError
from redpoll.log import log
from redpoll.replication.backlog import Backlog
from redpoll.replication.failover import Failover
from redpoll.replication.primary import PrimarySide
from redpoll.replication.replica import MasterLink

ZERO_ID = "0" * 40
# seconds without WAIT after which clients' c->woff are no longer kept
WOFF_IDLE = 10.0
# commands a client in MULTI runs rather than queues (Server._execute_in_context)
_RUN_IN_MULTI = {"exec", "discard", "multi", "watch", "quit", "reset"}


def new_replid() -> str:
    return os.urandom(20).hex()


class Replication:
    """Replication state of one server (``server.repl``)."""

    def __init__(self, server):
        self.server = server
        self.replid = new_replid()
        self.replid2 = ZERO_ID
        self.second_replid_offset = -1
        self.master_repl_offset = 0
        self.backlog: Backlog | None = None
        self.primary = PrimarySide(self)
        self.link: MasterLink | None = None
        self.masterport = 0
        self.failover_state = "no-failover"
        self.failover = Failover(self)
        self.no_replicas_since = time.time()
        self.down_since = 0.0           # when the link to our primary went down
        # WAIT's per-client offsets are kept only while WAIT is in use (a
        # precall hook takes the clients off the server's fast path): from a
        # client's first WAIT until none was seen for WOFF_IDLE seconds
        self.woff_tracking = False
        self.last_wait = 0.0
        self._last_cron = 0.0
        # called after a full sync replaced the dataset (e.g. the AOF restarts)
        self.full_sync_hooks: list = []

    # -- ids and backlog -------------------------------------------------------
    def change_replid(self) -> None:
        self.replid = new_replid()

    def clear_replid2(self) -> None:
        self.replid2 = ZERO_ID
        self.second_replid_offset = -1

    def shift_replid(self) -> None:
        """Start a new history; the old ID stays valid up to the current offset
        (so replicas of the old primary can continue with us: PSYNC2)."""
        self.replid2 = self.replid
        self.second_replid_offset = self.master_repl_offset + 1
        self.change_replid()
        log.notice(f"Setting secondary replication ID to {self.replid2}, valid up to "
                   f"offset: {self.second_replid_offset}. New replication ID is {self.replid}")

    def create_backlog(self) -> None:
        self.backlog = Backlog(self.server.config["repl-backlog-size"],
                               self.master_repl_offset + 1)
        self.server.sink_active(self.primary.feed, True)
        self.update_checks()

    def free_backlog(self) -> None:
        self.primary.flush_stream()
        self.backlog = None
        self.server.sink_active(self.primary.feed, bool(self.primary.replicas))
        self.update_checks()

    # -- role switches ---------------------------------------------------------
    @property
    def is_replica(self) -> bool:
        return self.server.masterhost is not None

    def set_master(self, host: str, port: int, from_config: bool = False,
                   failover: bool = False) -> None:
        """REPLICAOF host port (or ``replicaof`` in the config at start-up;
        ``failover``: FAILOVER hands our role to that replica)."""
        srv = self.server
        was_master = srv.masterhost is None
        if self.link is not None:
            self.link.stop()
            self.link = None
        srv.masterhost = host
        srv.epoch += 1          # no client is plain on a replica (Server.plain)
        self.masterport = port
        srv.masterport = port
        srv.config.values["replicaof"] = (host, port)
        # Our replicas must learn about the new history: they reconnect and
        # will hopefully continue with a partial resync.
        self.primary.disconnect_replicas()
        self.primary.abort_waiting_clients()
        self.down_since = 0.0
        cached = not from_config or self._restore_from_rdb()
        self.link = MasterLink(self, host, port, cached=cached, failover=failover)
        if from_config and cached:
            db = getattr(self.server, "rdb_load_info", {}).get("aux", {}).get("repl-stream-db")
            if isinstance(db, int) and 0 <= db < len(self.server.dbs):
                self.link.db_id = db
        if was_master:
            log.role = "S"
        self.update_checks()
        self.link.start()

    def unset_master(self, failover_aborted: bool = False) -> None:
        """REPLICAOF NO ONE: become a primary, keeping the dataset (also when
        a FAILOVER we started is aborted)."""
        srv = self.server
        if srv.masterhost is None:
            return
        if self.link is not None:
            self.link.stop()
            self.link = None
        srv.masterhost = None
        srv.epoch += 1
        srv.masterport = 0
        self.masterport = 0
        srv.config.values["replicaof"] = None
        self.shift_replid()
        self.primary.disconnect_replicas()
        self.primary.seldb = -1
        self.no_replicas_since = time.time()
        self.down_since = 0.0
        log.role = "M"
        self.update_checks()

    # -- replication info in RDB files -----------------------------------------
    def rdb_repl_info(self) -> dict | None:
        """What an RDB saved now records about the replication stream (the
        ``repl-*`` aux fields), as Redis's rdbPopulateSaveInfo."""
        link = self.link
        if self.server.masterhost is None:
            if self.backlog is None:
                return None
            db = max(self.primary.seldb, 0)
        elif link is not None and (link.client is not None or link.cached):
            db = link.client.db.id if link.client is not None else link.db_id
        else:
            return None
        return {"repl-stream-db": db, "repl-id": self.replid,
                "repl-offset": self.master_repl_offset}

    def _rdb_repl_id_offset(self) -> tuple[str, int] | None:
        """The ``repl-id``/``repl-offset`` aux fields of the RDB file loaded at
        start-up (None when there were none, or the dataset came from the
        AOF, as in Redis)."""
        info = getattr(self.server, "rdb_load_info", None)
        aux = info.get("aux", {}) if isinstance(info, dict) else {}
        rid, roff = aux.get("repl-id"), aux.get("repl-offset")
        if not rid or not isinstance(roff, int) or roff < 0:
            return None
        rid = rid.decode("latin-1") if isinstance(rid, bytes) else str(rid)
        if len(rid) != 40:
            return None
        return rid, roff

    def _restore_from_rdb(self) -> bool:
        """At start-up as a replica: the RDB we loaded tells which stream it
        is a snapshot of, so we can ask our primary for a partial resync."""
        saved = self._rdb_repl_id_offset()
        if saved is None:
            return False
        self.replid, self.master_repl_offset = saved
        self.create_backlog()
        return True

    def restore_primary_from_rdb(self) -> None:
        """At start-up as a primary (Redis 7.0's loadDataFromDisk): the
        history the RDB file is a snapshot of becomes our secondary ID, valid
        up to its offset, and the backlog starts there, so replicas of the
        server we were (or of our old primary) continue with ``+CONTINUE``."""
        saved = self._rdb_repl_id_offset()
        if saved is None:
            return
        self.replid2, offset = saved
        self.second_replid_offset = offset + 1
        self.master_repl_offset = offset
        self.create_backlog()
        self.no_replicas_since = time.time()

    # -- checks before commands (MASTERDOWN, NOREPLICAS, WAIT's c->woff) ---------
    def update_checks(self) -> None:
        """Install the precall hooks only while they have something to do, so
        the common case costs nothing on the hot path: ``_precall_check`` can
        refuse a command (MASTERDOWN, NOREPLICAS); ``_note_client`` runs on a
        primary with a stream, whose offsets WAIT needs per client (see
        PrimarySide.feed). The refusal goes first: a refused command does not
        count as run."""
        srv = self.server
        cfg = srv.config
        refuse = ((srv.masterhost is not None and not cfg["replica-serve-stale-data"])
                  or (cfg["min-replicas-to-write"] > 0 and cfg["min-replicas-max-lag"] > 0))
        note = srv.masterhost is None and self.backlog is not None and self.woff_tracking
        checks = srv.precall_checks
        for fn in (self._precall_check, self._note_client):
            if fn in checks:
                checks.remove(fn)
        if refuse:
            checks.append(self._precall_check)
        if note:
            checks.append(self._note_client)

    def _precall_check(self, c, cmd, argv):
        srv = self.server
        cfg = srv.config
        if srv.masterhost is not None:
            if (not cfg["replica-serve-stale-data"] and not cmd.flags & T.STALE
                    and (self.link is None or self.link.state != "connected")):
                return RedisError(MASTERDOWN)
            return None
        if (cfg["min-replicas-to-write"] > 0 and cfg["min-replicas-max-lag"] > 0
                and self.primary.good_replicas < cfg["min-replicas-to-write"]
                and not c.flags & F_MASTER and _is_write(c, cmd)):
            return RedisError(NOREPLICAS)
        return None

    def track_woff(self) -> None:
        """A WAIT: keep (or start keeping) every client's c->woff. Clients
        that ran commands while it was not kept have ``woff = None``: their
        WAIT falls back to the offset at call time."""
        self.last_wait = time.time()
        if not self.woff_tracking:
            for cl in self.server.clients.values():
                cl.woff = None
            self.woff_tracking = True
            self.update_checks()

    def _note_client(self, c, cmd, argv):
        """Redis 7.0 sets c->woff to the stream offset after every command a
        client runs (not the queued ones) and WAIT waits for it. The offset
        now, moved along by PrimarySide.feed with the writes this command
        propagates, is that offset once the command is done (WAIT reads it
        first, then sets it itself)."""
        if c.flags & F_MULTI and cmd.name not in _RUN_IN_MULTI or cmd.name == "wait":
            return None
        c.woff = self.master_repl_offset
        self.primary.writer = c
        return None

    # -- cron --------------------------------------------------------------------
    def cron(self) -> None:
        now = time.time()
        self.primary.fast_cron(now)
        if self.failover_state == "waiting-for-sync":
            self.failover.check()
        if now - self._last_cron < 1.0:
            return
        self._last_cron = now
        if (self.woff_tracking and now - self.last_wait > WOFF_IDLE
                and not self.primary.waiting):
            self.woff_tracking = False
            self.update_checks()
        if self.link is not None:
            self.link.cron(now)
        self.primary.cron(now)

    # -- INFO / ROLE -------------------------------------------------------------
    def info_lines(self) -> list[str]:
        self.primary.flush_stream()
        srv = self.server
        cfg = srv.config
        now = time.time()
        out = []
        if srv.masterhost is None:
            out.append("role:master")
        else:
            link = self.link
            out.append("role:slave")
            out += link.info_lines(now)
            out += [f"slave_priority:{cfg['replica-priority']}",
                    f"slave_read_only:{int(cfg['replica-read-only'])}",
                    f"replica_announced:{int(cfg['replica-announced'])}"]
        out.append(f"connected_slaves:{len(self.primary.replicas)}")
        if cfg["min-replicas-to-write"] and cfg["min-replicas-max-lag"]:
            out.append(f"min_slaves_good_slaves:{self.primary.good_replicas}")
        out += self.primary.replica_info_lines(now)
        bl = self.backlog
        out += [f"master_failover_state:{self.failover_state}",
                f"master_replid:{self.replid}",
                f"master_replid2:{self.replid2}",
                f"master_repl_offset:{self.master_repl_offset}",
                f"second_repl_offset:{self.second_replid_offset}",
                f"repl_backlog_active:{int(bl is not None)}",
                f"repl_backlog_size:{cfg['repl-backlog-size']}",
                f"repl_backlog_first_byte_offset:{bl.first_byte_offset if bl else 0}",
                f"repl_backlog_histlen:{bl.histlen if bl else 0}"]
        return out

    def role_reply(self) -> list:
        srv = self.server
        if srv.masterhost is None:
            return [b"master", self.master_repl_offset, self.primary.role_entries()]
        link = self.link
        return [b"slave", srv.masterhost.encode(), self.masterport,
                link.role_state().encode(),
                link.reploff if link.client is not None else -1]


def _is_write(c, cmd) -> bool:
    """A write command, or an EXEC whose queue holds one (processCommand's
    is_write_command)."""
    if cmd.flags & T.WRITE:
        return True
    if cmd.name == "exec" and c.multi_queue:
        return any(q.flags & T.WRITE for q, _ in c.multi_queue)
    return False


def _rewrite_replicaof_as_redis() -> None:
    """CONFIG REWRITE on a primary removes every ``replicaof`` line (so a
    promoted replica stays a primary after a restart), as Redis does."""
    from redpoll.config.directives import DIRECTIVES
    d = DIRECTIVES["replicaof"]
    if getattr(d, "rewrite_fn", None) is None:
        d.rewrite_fn = lambda name, v: [] if v is None else [f"replicaof {v[0]} {v[1]}"]


def install(server) -> None:
    repl = Replication(server)
    server.repl = repl
    server.in_master_stream = False     # True while the link applies the stream
    server.masterport = 0
    # repl.primary.feed is a propagation sink while there is a backlog (see
    # create_backlog / free_backlog): with neither backlog nor replicas a
    # write costs the replication room nothing
    server.cron_jobs.append(repl.cron)
    server.info_sections["replication"] = repl.info_lines
    server.disconnect_hooks.append(repl.primary.client_gone)
    cfg = server.config
    _rewrite_replicaof_as_redis()
    cfg.watch("repl-backlog-size", lambda old, new: repl.backlog and repl.backlog.resize(new))
    for name in ("min-replicas-to-write", "min-replicas-max-lag", "replica-serve-stale-data"):
        cfg.watch(name, lambda old, new: repl.update_checks())
    repl.update_checks()

    server.rdb_repl_info = repl.rdb_repl_info

    def after_full_sync():
        # The AOF describes the old dataset: start it over from the new one
        # (Redis's restartAOFAfterSYNC); rdb-del-sync-files.
        aof = getattr(server, "aof", None)
        if aof is not None and hasattr(aof, "rebuild"):
            aof.rebuild()
        snaps = getattr(server, "snapshots", None)
        if (snaps is not None and hasattr(snaps, "maybe_delete_sync_file")
                and repl.link is not None and repl.link.loaded_from_disk):
            snaps.maybe_delete_sync_file()
    repl.full_sync_hooks.append(after_full_sync)

    def start_replication():
        # (runs after the persistence room loaded the dataset)
        target = cfg["replicaof"]
        if target is not None and server.masterhost is None:
            repl.set_master(target[0], target[1], from_config=True)
        elif target is None:
            repl.restore_primary_from_rdb()
    server.startup_hooks.append(start_replication)
