"""The primary side of replication: the replicas connected to us.

* PSYNC/SYNC: a partial resync (``+CONTINUE``) when our replication ID (or
  the secondary ID, up to ``second_repl_offset``) and the backlog cover the
  replica's offset, else a full one (``+FULLRESYNC <replid> <offset>``) from a
  forked snapshot (:func:`redpoll.persistence.rdb.bgsave_to_fd`). Replicas that
  arrive together share one snapshot: with ``repl-diskless-sync`` the start is
  delayed ``repl-diskless-sync-delay`` seconds to gather them, and the child
  writes ``$EOF:<mark>`` + RDB + mark into a pipe that we relay to each of
  them; otherwise the child writes an RDB file, sent as ``$<len>`` + bytes,
  and replicas arriving while it is written attach to it.
* Every write reaches :meth:`PrimarySide.feed` (a propagation sink) in
  execution order; it is encoded as a RESP multibulk (with a SELECT when the
  db changes) and counted in ``master_repl_offset`` at once; at the end of
  the loop iteration (or before anything that reads the backlog or changes a
  replica's state) the batch goes to the backlog and the online replicas.
  Replicas still waiting for their snapshot buffer what was written since its
  fork; after a diskless payload the stream starts at the replica's first
  ACK, as Redis does.
* Cron: PING every ``repl-ping-replica-period``, newlines to replicas waiting
  for a snapshot, ``repl-timeout`` on ACKs, backlog TTL, the count of good
  replicas for ``min-replicas-to-write``, output-buffer limits.
* WAIT: blocks until enough replicas acknowledged ``c.woff``, the stream
  offset right after the caller's previous command (Redis 7.0's ``c->woff``,
  set after every command a client runs, reads included; the replication
  room's precall hook sets it and notes the running client in
  :attr:`PrimarySide.writer`, and :meth:`PrimarySide.feed` moves it along
  with the writes that command propagates). The hook is installed from the
  first WAIT until none came for ``WOFF_IDLE`` seconds, so a primary whose
  clients never WAIT keeps the server's fast path; a client whose previous
  command ran before that waits for the offset at call time. REPLCONF
  GETACK asks the replicas at once.
"""

from __future__ import annotations

import os
import time

from redpoll.client import F_CLOSE_AFTER_REPLY, F_CLOSE_ASAP, F_LUA, F_MULTI, F_REPLICA
from redpoll.log import log
from redpoll.protocol.resp import encode_command  # RESP, as the AOF writes it

PING = encode_command([b"PING"])
GETACK = encode_command([b"REPLCONF", b"GETACK", b"*"])

# replica states (INFO shows WAIT_*/ACK_WAIT as "wait_bgsave")
WAIT_START, WAIT_END, ONLINE = "wait_bgsave", "wait_bgsave_end", "online"
# diskless payload sent: the stream starts at the replica's first ACK, so the
# bytes after the EOF mark never arrive in the same read as the mark
ACK_WAIT = "wait_first_ack"


def _grow_pipe(fd: int) -> None:
    """A 1 MB pipe (Linux F_SETPIPE_SZ) between the snapshot child and us:
    the child stalls less while we relay (best effort)."""
    try:
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass


class ReplicaInfo:
    """Per-replica state kept on the replica's client (``c.replica_state``)."""

    __slots__ = ("state", "listening_port", "ip", "capa", "ack_off", "ack_time",
                 "pending", "pending_size", "since", "psync", "job", "rdb_only")

    def __init__(self):
        self.state: str | None = None
        self.listening_port = 0
        self.ip: str | None = None          # REPLCONF ip-address
        self.capa: set[str] = set()
        self.ack_off = 0
        self.ack_time = time.time()
        self.pending: list[bytes] | None = None   # stream bytes since the fork
        self.pending_size = 0
        self.since = time.time()
        self.psync = True                   # PSYNC (else the old SYNC)
        self.job = None
        self.rdb_only = False               # REPLCONF rdb-only 1 (redis-cli --rdb)


class SyncJob:
    """One forked snapshot serving one or more replicas."""

    def __init__(self, diskless: bool, offset: int, replid: str):
        self.diskless = diskless
        self.offset = offset
        self.replid = replid
        self.replicas: list = []
        self.pid = 0
        self.fd = -1                        # diskless: read end of the pipe
        self.path = ""                      # disk: the RDB file
        self.mark = b""


class PrimarySide:
    def __init__(self, repl):
        self.repl = repl
        self.server = repl.server
        self.replicas: list = []            # clients with F_REPLICA
        self.seldb = -1                     # db of the last SELECT in the stream
        # Stream bytes of the current event-loop iteration: the offset grows at
        # once, the backlog and the replicas get them in one piece (flush_stream).
        self._batch: list[bytes] = []
        self._batch_scheduled = False
        self.job: SyncJob | None = None
        self.good_replicas = 0
        self.waiting: list = []             # WAIT: [client, target offset, numreplicas, timer]
        self.writer = None                  # the client whose command runs (see feed)
        self._getack_scheduled = False
        self._last_ping = time.time()

    # -- the stream --------------------------------------------------------------
    def feed(self, dbid: int, argv) -> None:
        """Propagation sink: a write executed here, in execution order."""
        repl = self.repl
        if repl.backlog is None and not self.replicas:
            return
        if self.server.masterhost is not None:
            return      # a replica proxies its primary's stream verbatim instead
        data = encode_command(argv)
        if dbid != self.seldb and dbid >= 0:
            data = encode_command([b"SELECT", str(dbid).encode()]) + data
            self.seldb = dbid
        self.feed_raw(data)
        w = self.writer
        if w is not None:       # c->woff: the offset right after its write
            w.woff = repl.master_repl_offset

    def feed_raw(self, data: bytes) -> None:
        """Add bytes to the stream (``master_repl_offset`` counts them now;
        the backlog and the replicas get them at the end of the iteration)."""
        self.repl.master_repl_offset += len(data)
        self._batch.append(data)
        if not self._batch_scheduled:
            self._batch_scheduled = True
            self.server.loop.call_soon(self.flush_stream)

    def flush_stream(self) -> None:
        """Hand the bytes fed so far to the backlog and the replicas. Called
        before anything that reads the backlog or changes a replica's state,
        so every replica sees the stream in order."""
        self._batch_scheduled = False
        self.writer = None      # later writes (expiry in the cron) are nobody's
        batch = self._batch
        if not batch:
            return
        data = batch[0] if len(batch) == 1 else b"".join(batch)
        batch.clear()
        if self.repl.backlog is not None:
            self.repl.backlog.feed(data)
        for c in self.replicas:
            rs = c.replica_state
            if rs.state is ONLINE:
                c.add_raw(data)
            elif rs.pending is not None:
                rs.pending.append(data)
                rs.pending_size += len(data)

    def disconnect_replicas(self) -> None:
        self.flush_stream()
        for c in list(self.replicas):
            c.close()

    # -- SYNC / PSYNC ------------------------------------------------------------
    def can_partial(self, replid: str, offset: int) -> bool:
        repl = self.repl
        if replid != repl.replid and (replid != repl.replid2
                                      or offset > repl.second_replid_offset):
            return False
        bl = repl.backlog
        return bl is not None and bl.covers(offset)

    def sync(self, c, replid: str | None, offset: int) -> None:
        """Handle PSYNC (replid given) or SYNC (replid None) from client ``c``."""
        srv = self.server
        repl = self.repl
        self.flush_stream()
        rs = c.replica_state or ReplicaInfo()
        c.replica_state = rs
        rs.psync = replid is not None
        desc = self.describe(c)
        if replid is not None:
            if self.can_partial(replid, offset):
                c.flags |= F_REPLICA
                rs.state = ONLINE
                rs.ack_time = time.time()
                rs.ack_off = offset - 1
                self.replicas.append(c)
                reply = (b"+CONTINUE %s\r\n" % repl.replid.encode()
                         if "psync2" in rs.capa else b"+CONTINUE\r\n")
                c.add_raw(reply + repl.backlog.read_from(offset))
                srv.stats.sync_partial_ok += 1
                log.notice(f"Partial resynchronization request from {desc} accepted. "
                           f"Sending {repl.master_repl_offset - offset + 1} bytes of "
                           f"backlog starting from offset {offset}.")
                self.refresh_good()
                return
            if replid != "?":
                srv.stats.sync_partial_err += 1
                if replid != repl.replid and replid != repl.replid2:
                    log.notice(f"Partial resynchronization not accepted: Replication ID "
                               f"mismatch (Replica asked for '{replid}', my replication IDs "
                               f"are '{repl.replid}' and '{repl.replid2}')")
                else:
                    log.notice("Unable to partial resync with replica "
                               f"{desc} for lack of backlog (Replica request was: {offset}).")
            else:
                log.notice(f"Full resync requested by replica {desc}")
        else:
            log.notice(f"Replica {desc} asks for synchronization")
        srv.stats.sync_full += 1
        c.flags |= F_REPLICA
        rs.state = WAIT_START
        rs.since = time.time()
        rs.ack_time = rs.since
        self.replicas.append(c)
        if repl.backlog is None and len(self.replicas) == 1:
            # The first replica of a primary without history: a new history.
            repl.change_replid()
            repl.clear_replid2()
            repl.create_backlog()
            log.notice(f"Replication backlog created, my new replication IDs are "
                       f"'{repl.replid}' and '{repl.replid2}'")
        job = self.job
        if job is not None and not job.diskless:
            # Attach to the snapshot being written: copy what an earlier
            # replica of the same job buffered since the fork.
            peer = next((r for r in job.replicas
                         if r.replica_state.pending is not None), None)
            if peer is not None:
                prs = peer.replica_state
                rs.pending = list(prs.pending)
                rs.pending_size = prs.pending_size
                rs.state = WAIT_END
                rs.job = job
                job.replicas.append(c)
                self._send_fullresync(c, job)
                log.notice("Waiting for end of BGSAVE for SYNC")
                return
        if self.job is None and not self._diskless_delay():
            self.start_sync()
        else:
            log.notice("Delay next BGSAVE for diskless SYNC"
                       if self.job is None else "Can't attach the replica to the "
                       "current BGSAVE. Waiting for next BGSAVE for SYNC")

    def _diskless_delay(self) -> bool:
        cfg = self.server.config
        return bool(cfg["repl-diskless-sync"] and cfg["repl-diskless-sync-delay"])

    def _send_fullresync(self, c, job: SyncJob) -> None:
        if c.replica_state.psync:
            c.add_raw(b"+FULLRESYNC %s %d\r\n" % (job.replid.encode(), job.offset))

    def start_sync(self) -> None:
        """Fork a snapshot for every replica waiting to start one."""
        from redpoll.persistence import rdb
        waiting = [c for c in self.replicas if c.replica_state.state is WAIT_START]
        if not waiting or self.job is not None:
            return
        self.flush_stream()     # written before the fork: not for these replicas
        srv = self.server
        repl = self.repl
        cfg = srv.config
        diskless = cfg["repl-diskless-sync"] and all(
            "eof" in c.replica_state.capa for c in waiting)
        job = SyncJob(diskless, repl.master_repl_offset, repl.replid)
        aux = {"repl-stream-db": max(self.seldb, 0), "repl-id": repl.replid,
               "repl-offset": repl.master_repl_offset}
        w = -1
        try:
            if diskless:
                job.mark = os.urandom(20).hex().encode()
                r, w = os.pipe()
                _grow_pipe(w)
                job.fd = r
                target = w
                prefix, suffix = b"$EOF:" + job.mark + b"\r\n", job.mark
            else:
                job.path = os.path.join(cfg["dir"] or os.getcwd(),
                                        f"temp-repl-{os.getpid()}-{id(job)}.rdb")
                target, prefix, suffix = job.path, b"", b""
            job.pid = rdb.bgsave_to_fd(srv, target, lambda ok: self._job_done(job, ok),
                                       aux=aux, prefix=prefix, suffix=suffix)
        except RuntimeError:
            if job.fd >= 0:
                os.close(job.fd)
                os.close(w)
            return      # another child runs: retried from the cron
        except OSError as e:
            log.warning(f"Can't save in background: fork: {e.strerror}")
            if job.fd >= 0:
                os.close(job.fd)
                os.close(w)
            for c in waiting:
                log.warning(f"SYNC failed. BGSAVE failed for replica {self.describe(c)}")
                c.close()
            return
        if diskless:
            os.close(w)
            os.set_blocking(job.fd, False)
            srv.loop.add_reader(job.fd, self._relay, job)
            log.notice("Starting BGSAVE for SYNC with target: replicas sockets")
        else:
            log.notice("Starting BGSAVE for SYNC with target: disk")
        log.notice(f"Background RDB transfer started by pid {job.pid}")
        self.job = job
        for c in waiting:
            rs = c.replica_state
            rs.state = WAIT_END
            rs.pending = []
            rs.pending_size = 0
            rs.job = job
            job.replicas.append(c)
            self._send_fullresync(c, job)
        # The replica loads a snapshot of every db: make the stream say which
        # db it continues in.
        self.seldb = -1

    def _relay(self, job: SyncJob) -> None:
        """Diskless: forward what the child wrote to every replica of the job."""
        try:
            data = os.read(job.fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.server.loop.remove_reader(job.fd)
            return
        for c in job.replicas:
            if not c.closed:
                c.add_raw(data)

    def _job_done(self, job: SyncJob, ok: bool) -> None:
        srv = self.server
        if self.job is job:
            self.job = None
        payload = None
        if job.diskless:
            # The child has exited: what is left in the pipe is the end.
            try:
                srv.loop.remove_reader(job.fd)
            except Exception:
                pass
            os.set_blocking(job.fd, True)
            while True:
                try:
                    data = os.read(job.fd, 1 << 20)
                except OSError:
                    break
                if not data:
                    break
                for c in job.replicas:
                    if not c.closed:
                        c.add_raw(data)
            os.close(job.fd)
        elif ok:
            try:
                with open(job.path, "rb") as f:
                    payload = f.read()
            except OSError as e:
                log.warning(f"SYNC failed. Can't open/stat DB after BGSAVE: {e.strerror}")
                ok = False
            try:
                os.unlink(job.path)
            except OSError:
                pass
        if ok:
            log.notice("Background RDB transfer terminated with success"
                       if job.diskless else "Background saving terminated with success")
        else:
            log.warning("Background transfer error" if job.diskless
                        else "Background saving error")
        for c in job.replicas:
            if c.closed:
                continue
            if not ok:
                log.warning("SYNC failed. BGSAVE child returned an error")
                c.close()
                continue
            if c.replica_state.rdb_only:
                if payload is not None:
                    c.add_raw(b"$%d\r\n" % len(payload))
                    c.add_raw(payload)
                c.flags |= F_CLOSE_AFTER_REPLY
                c.flush()
                continue
            if payload is not None:
                c.add_raw(b"$%d\r\n" % len(payload))
                c.add_raw(payload)
                self.put_online(c)
            else:
                c.replica_state.state = ACK_WAIT
                c.replica_state.ack_time = time.time()
        # Replicas that arrived meanwhile get the next snapshot.
        if any(c.replica_state.state is WAIT_START for c in self.replicas):
            if not self._diskless_delay():
                self.start_sync()

    def put_online(self, c) -> None:
        self.flush_stream()
        rs = c.replica_state
        rs.state = ONLINE
        rs.ack_time = time.time()
        pending, rs.pending = rs.pending, None
        rs.pending_size = 0
        rs.job = None
        for data in pending or ():
            c.add_raw(data)
        log.notice(f"Synchronization with replica {self.describe(c)} succeeded")
        self.refresh_good()

    # -- acknowledgements --------------------------------------------------------
    def ack(self, c, offset: int) -> None:
        """REPLCONF ACK from a replica."""
        rs = c.replica_state
        if rs is None:
            return
        if offset > rs.ack_off:
            rs.ack_off = offset
        rs.ack_time = time.time()
        if rs.state is ACK_WAIT:
            self.put_online(c)
        if self.waiting:
            self.check_waiting()

    def acked(self, offset: int) -> int:
        return sum(1 for c in self.replicas
                   if c.replica_state.state is ONLINE and c.replica_state.ack_off >= offset)

    def refresh_good(self) -> None:
        lag = self.server.config["min-replicas-max-lag"]
        now = time.time()
        self.good_replicas = sum(
            1 for c in self.replicas
            if c.replica_state.state is ONLINE and now - c.replica_state.ack_time <= lag)

    # -- WAIT ----------------------------------------------------------------------
    # A waiting client is an entry [client, target offset, numreplicas, timer];
    # it leaves self.waiting whenever its wait ends (answered, timed out,
    # CLIENT UNBLOCK, disconnected): blocking.block's on_unblock callback.
    def wait(self, c, numreplicas: int, timeout_ms: int):
        from redpoll import blocking
        self.repl.track_woff()
        target = c.woff
        if target is None:      # ran commands while c->woff was not kept
            target = self.repl.master_repl_offset
        c.woff = self.repl.master_repl_offset
        n = self.acked(target)
        if n >= numreplicas or c.flags & (F_MULTI | F_LUA) or c.transport is None:
            return n
        entry = [c, target, numreplicas, None]
        r = blocking.block(c, [], 0, lambda cl, key: blocking.NOT_READY, timeout_reply=n,
                           on_unblock=lambda cl: self._wait_over(entry))
        if timeout_ms > 0:
            entry[3] = self.server.loop.call_later(timeout_ms / 1000.0,
                                                   self._wait_timeout, entry, c.blocked)
        self.waiting.append(entry)
        self.request_acks()
        return r

    def _wait_over(self, entry) -> None:
        """on_unblock of a WAIT: forget the entry and its timer."""
        try:
            self.waiting.remove(entry)
        except ValueError:
            pass
        if entry[3] is not None:
            entry[3].cancel()
            entry[3] = None

    def request_acks(self) -> None:
        """Send REPLCONF GETACK to the replicas (once per loop iteration)."""
        if not self._getack_scheduled:
            self._getack_scheduled = True
            self.server.loop.call_soon(self._send_getack)

    def _send_getack(self) -> None:
        self._getack_scheduled = False
        if (self.waiting and self.replicas and self.server.masterhost is None
                and self.repl.failover_state == "no-failover"):
            self.feed_raw(GETACK)

    def _wait_timeout(self, entry, st) -> None:
        from redpoll import blocking
        c = entry[0]
        entry[3] = None
        if c.blocked is st:         # still this WAIT (never a later BLPOP)
            blocking.unblock(c, self.acked(entry[1]))

    def check_waiting(self) -> None:
        from redpoll import blocking
        for entry in list(self.waiting):
            c, target, num, _ = entry
            n = self.acked(target)
            if n >= num and entry in self.waiting:
                blocking.unblock(c, n)      # on_unblock drops the entry
            elif c.blocked is not None:
                c.blocked.timeout_reply = n     # what CLIENT UNBLOCK answers now

    def abort_waiting_clients(self) -> None:
        """This server becomes a replica: WAITing clients get their count now."""
        from redpoll import blocking
        for entry in list(self.waiting):
            if entry in self.waiting:
                blocking.unblock(entry[0], self.acked(entry[1]))

    # -- clients going away ----------------------------------------------------------
    def client_gone(self, c) -> None:
        if self.writer is c:
            self.writer = None
        if not c.flags & F_REPLICA or c not in self.replicas:
            return
        self.replicas.remove(c)
        rs = c.replica_state
        job = rs.job
        if job is not None and c in job.replicas:
            job.replicas.remove(c)
        log.notice(f"Connection with replica {self.describe(c)} lost.")
        if not self.replicas:
            self.repl.no_replicas_since = time.time()
        self.refresh_good()

    # -- cron ------------------------------------------------------------------------
    def fast_cron(self, now: float) -> None:
        """Every server cron tick: start a delayed diskless sync when due."""
        if self.job is not None or not self.replicas:
            return
        waiting = [c for c in self.replicas if c.replica_state.state is WAIT_START]
        if not waiting:
            return
        cfg = self.server.config
        oldest = min(c.replica_state.since for c in waiting)
        maxr = cfg["repl-diskless-sync-max-replicas"]
        if (not self._diskless_delay() or now - oldest >= cfg["repl-diskless-sync-delay"]
                or (maxr and len(waiting) >= maxr)):
            self.start_sync()

    def cron(self, now: float) -> None:
        """Once per second."""
        srv = self.server
        cfg = srv.config
        repl = self.repl
        timeout = cfg["repl-timeout"]
        if self.replicas and srv.masterhost is None and repl.failover_state == "no-failover":
            period = cfg["repl-ping-replica-period"]
            if now - self._last_ping >= period:
                self._last_ping = now
                self.feed_raw(PING)
        elif not self.replicas:
            self._last_ping = now
        hard, soft, secs = cfg["client-output-buffer-limit"].get("replica", (0, 0, 0))
        for c in list(self.replicas):
            rs = c.replica_state
            if rs.state is WAIT_START or (rs.state is WAIT_END and rs.job is not None
                                          and not rs.job.diskless):
                c.add_raw(b"\n")        # keep the link alive while waiting
            elif (rs.state is ONLINE or rs.state is ACK_WAIT) and now - rs.ack_time > timeout:
                log.warning(f"Disconnecting timedout replica (streaming sync): "
                            f"{self.describe(c)}")
                c.close()
                continue
            if rs.pending is not None and hard and rs.pending_size >= hard:
                log.warning(f"Client {c.describe()} scheduled to be closed ASAP for "
                            f"overcoming of output buffer limits.")
                c.flags |= F_CLOSE_ASAP
                c.close()
        self.refresh_good()
        # The backlog of a primary without replicas is freed after the TTL.
        ttl = cfg["repl-backlog-ttl"]
        if (srv.masterhost is None and not self.replicas and repl.backlog is not None
                and ttl and now - repl.no_replicas_since > ttl):
            repl.change_replid()
            repl.clear_replid2()
            repl.free_backlog()
            log.notice(f"Replication backlog freed after {ttl} seconds without "
                       f"connected replicas.")

    def find_replica(self, host: str, port: int):
        for c in self.replicas:
            if c.replica_state.listening_port == port and self.address(c) == host:
                return c
        return None

    # -- INFO / ROLE -----------------------------------------------------------------
    @staticmethod
    def address(c) -> str:
        rs = c.replica_state
        if rs is not None and rs.ip:
            return rs.ip
        return c.addr.rsplit(":", 1)[0] if c.addr else ""

    def describe(self, c) -> str:
        rs = c.replica_state
        port = rs.listening_port if rs is not None else 0
        return f"{self.address(c)}:{port}"

    def replica_info_lines(self, now: float) -> list[str]:
        out = []
        i = 0
        for c in self.replicas:
            rs = c.replica_state
            ip = self.address(c)
            if not ip:
                continue
            state = "wait_bgsave" if rs.state in (WAIT_START, WAIT_END, ACK_WAIT) else rs.state
            out.append(f"slave{i}:ip={ip},port={rs.listening_port},state={state},"
                       f"offset={rs.ack_off},lag={int(now - rs.ack_time)}")
            i += 1
        return out

    def role_entries(self) -> list:
        out = []
        for c in self.replicas:
            rs = c.replica_state
            if rs.state is not ONLINE:
                continue
            out.append([self.address(c).encode(), str(rs.listening_port).encode(),
                        str(rs.ack_off).encode()])
        return out
