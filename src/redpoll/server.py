"""The server: owns the event loop, the keyspace and every client.

As in Redis, one event loop owns all data and commands run one at a time, so
replication and the AOF see one total order. :meth:`Server.execute` is
``processCommand`` (lookup, arity, auth, ACL, MULTI queueing, OOM, read-only
replica, ...) and :meth:`Server.call` runs the handler, keeps statistics,
then propagates writes to the registered sinks (AOF, replicas) and wakes
blocked clients and WATCHers of the keys the write touched.

Other rooms plug in through small hooks rather than edits here:
``propagation_sinks`` (AOF, replication), ``cron_jobs`` (called every
``1000/hz`` ms), ``shutdown_hooks``, ``info_sections`` and the blocking,
pub/sub and notification state below.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from time import perf_counter_ns
from typing import Callable

from redpoll import REDIS_COMPAT_VERSION, __version__
from redpoll.acl import ACL
from redpoll.client import (
    F_CLOSE_AFTER_REPLY, F_CLOSE_ASAP, F_DIRTY_CAS, F_MASTER, F_MONITOR, F_MULTI,
    F_PUBSUB, F_REPLICA, Client)
from redpoll.commands import table as T
from redpoll.config import Config
from redpoll.errors import (
    NOAUTH, OOM, READONLY, RedisError, unknown_command, unknown_subcommand,
    wrong_arity)
from redpoll.keyspace import Database
from redpoll.listen import listening_socket, parse_bind
from redpoll.log import log
from redpoll.modified_keys import modified_keys
from redpoll.protocol.resp import NO_REPLY, OK, QUEUED  # noqa: F401 (NO_REPLY re-exported)

PROTECTED_MODE_DENIED = (
    "DENIED Redis is running in protected mode because protected mode is enabled "
    "and no password is set for the default user. In this mode connections are "
    "only accepted from the loopback interface. If you want to connect from "
    "external computers to Redis you may adopt one of the following solutions: "
    "1) Just disable protected mode sending the command 'CONFIG SET protected-mode "
    "no' from the loopback interface by connecting to Redis from the same host the "
    "server is running, however MAKE SURE Redis is not publicly accessible from "
    "internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    "Alternatively you can just disable the protected mode by editing the Redis "
    "configuration file, and setting the protected mode option to 'no', and then "
    "restarting the server. 3) If you started the server manually just for "
    "testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    "authentication password for the default user. NOTE: You only need to do one "
    "of the above things in order for the server to start accepting connections "
    "from the outside.")

# Commands allowed while a client is in MULTI without being queued.
_MULTI_DIRECT = {"exec", "discard", "multi", "watch", "quit", "reset"}
# Flags whose commands may be refused by server state (see Server._guard).
_GUARDED = T.WRITE | T.DENYOOM
_PROPAGATED = T.WRITE | T.MAY_REPLICATE
# client flags that rule out the fast path (see Server.plain)
_NOT_PLAIN = F_MULTI | F_PUBSUB | F_CLOSE_AFTER_REPLY | F_CLOSE_ASAP
# Commands never refused for OOM while in MULTI (others are, even reads).
_MULTI_OOM_EXEMPT = {"exec", "discard", "quit", "reset"}
# Commands allowed in a RESP2 subscribed context.
_PUBSUB_ALLOWED = {"subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                   "psubscribe", "punsubscribe", "ping", "quit", "reset"}


class Stats:
    """Counters shown by INFO stats (reset by CONFIG RESETSTAT)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total_connections_received = 0
        self.total_commands_processed = 0
        self.net_input_bytes = 0
        self.net_output_bytes = 0
        self.rejected_connections = 0
        self.expired_keys = 0
        self.expired_stale_perc = 0.0
        self.expired_time_cap_reached_count = 0
        self.evicted_keys = 0
        self.evicted_clients = 0
        self.keyspace_hits = 0
        self.keyspace_misses = 0
        self.pubsub_channels = 0
        self.total_error_replies = 0
        self.unexpected_error_replies = 0
        self.dump_payload_sanitizations = 0
        self.total_reads_processed = 0
        self.total_writes_processed = 0
        self.errors: dict[str, int] = {}        # errorstats: prefix -> count
        self.sync_full = 0
        self.sync_partial_ok = 0
        self.sync_partial_err = 0
        self.ops_samples: list[tuple[float, int]] = []


class Server:
    """A redpoll server instance (one per process)."""

    def __init__(self, config: Config, sentinel_mode: bool = False):
        self.config = config
        self.sentinel_mode = sentinel_mode
        self.log = log
        self.loop: asyncio.AbstractEventLoop | None = None
        self.start_time = time.time()
        self.unixtime = self.start_time
        self.run_id = os.urandom(20).hex()
        self.pid = os.getpid()
        self.executable = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
        self.stats = Stats()
        self.acl = ACL()
        self.dbs = [Database(self, i) for i in range(config["databases"])]
        self.clients: dict[int, Client] = {}
        self.listeners: list[asyncio.base_events.Server] = []
        self.port = config["port"]
        self.dirty = 0                    # changes since the last save (and call() marker)
        self.lastsave = int(self.start_time)
        self.loading = False
        self.shutdown_asap = False
        self.monitors: list[Client] = []
        self.frozen_ms: int | None = None # time frozen during scripts/MULTI
        self.track_access = False
        self.clients_paused_until = 0.0
        self.pause_write_only = False
        self.paused_clients: list[Client] = []
        # hooks filled by other rooms
        self.propagation_sinks: list[Callable[[int, list], None]] = []
        self.cron_jobs: list[Callable[[], None]] = []
        self.shutdown_hooks: list[Callable[[bool | None], None]] = []
        self.info_sections: dict[str, Callable[[], list[str]]] = {}
        # blocking operations: (db id, key) -> list of blocked clients
        self.blocking_keys: dict[tuple[int, bytes], list[Client]] = {}
        self.ready_keys: list[tuple[int, bytes]] = []
        self.serve_blocked_hook: Callable[[], None] | None = None
        # WATCH: (db id, key) -> set of clients
        self.watched_keys: dict[tuple[int, bytes], set[Client]] = {}
        # keyspace notifications: parsed flag set (see notify.py)
        self.notify_flags = 0
        # replication state (the replication room fills it in)
        self.repl = None
        self.masterhost: str | None = None
        self.startup_hooks: list[Callable] = []
        self.disconnect_hooks: list[Callable[[Client], None]] = []
        self.reset_hooks: list[Callable[[Client], None]] = []   # RESET command
        # pub/sub: name -> {client: None} (see pubsub.py)
        self.pubsub_channels: dict = {}
        self.pubsub_patterns: dict = {}
        self.pubsubshard_channels: dict = {}
        self.precall_checks: list[Callable] = []   # (client, cmd, argv) -> RedisError | None
        # Moves on with every execute() and every other change that can make
        # a client less plain (see plain()): clients cache plain() per epoch.
        self.epoch = 0
        self._replies_waiting: list[Client] = []     # see reply_after_hook
        self.atomic_ops = []                          # see begin_atomic
        self._apply_config()

    # -- configuration -----------------------------------------------------
    def _apply_config(self) -> None:
        cfg = self.config
        self.proto_max_bulk_len = cfg["proto-max-bulk-len"]
        self.client_query_buffer_limit = cfg["client-query-buffer-limit"]
        self.maxmemory = cfg["maxmemory"]
        cfg.watch("maxmemory", lambda o, n: setattr(self, "maxmemory", n))
        self.acl.set_requirepass(cfg["requirepass"])
        log.configure(cfg["loglevel"], cfg["logfile"])
        cfg.watch("requirepass", lambda old, new: self.acl.set_requirepass(new))
        cfg.watch("loglevel", lambda old, new: log.configure(new, cfg["logfile"]))
        cfg.watch("proto-max-bulk-len", lambda o, n: setattr(self, "proto_max_bulk_len", n))
        cfg.watch("client-query-buffer-limit",
                  lambda o, n: setattr(self, "client_query_buffer_limit", n))
        self.update_obuf_threshold()
        cfg.watch("client-output-buffer-limit", self.update_obuf_threshold)

    def auth_required(self) -> bool:
        return self.acl.auth_required()

    # -- time ------------------------------------------------------------------
    def now_ms(self) -> int:
        if self.frozen_ms is not None:
            return self.frozen_ms
        return int(time.time() * 1000)

    # -- replication view ----------------------------------------------------
    def is_replica_readonly_view(self) -> bool:
        """True on a replica: keys are not deleted on expiry, the primary does it."""
        return self.masterhost is not None

    def on_key_expired(self, db: Database, key: bytes) -> None:
        """A key was deleted because it expired: tell replicas/AOF and watchers."""
        self.propagate(db.id, [b"DEL", key])
        self.touch_watched(db.id, key)
        if self.notify_flags:
            from redpoll.notify import EXPIRED, notify
            notify(self, EXPIRED, "expired", key, db.id)

    # -- clients -------------------------------------------------------------
    def client_connected(self, c: Client, peer) -> None:
        self.stats.total_connections_received += 1
        if len(self.clients) >= self.config["maxclients"]:
            self.stats.rejected_connections += 1
            c.transport.write(b"-ERR max number of clients reached\r\n")
            c.closed = True
            c.transport.close()
            return
        # Redis 7.0: bind plays no part; only 127.0.0.1 and ::1 are local.
        if (self.config["protected-mode"] and self.acl.default_user.nopass
                and not _is_loopback(peer)):
            self.stats.rejected_connections += 1
            c.transport.write(b"-" + PROTECTED_MODE_DENIED.encode() + b"\r\n")
            c.closed = True
            c.transport.close()
            return
        self.clients[c.id] = c

    def client_disconnected(self, c: Client) -> None:
        self.clients.pop(c.id, None)
        self.free_client_state(c)

    def free_client_state(self, c: Client) -> None:
        """Drop everything the server keeps about ``c`` (WATCH, blocking, ...)."""
        if c.watched:
            self.unwatch_all(c)
        if c.blocked is not None and self.unblock_hook:
            self.unblock_hook(c, None)
        if c.flags & F_MONITOR and c in self.monitors:
            self.monitors.remove(c)
            self.epoch += 1         # the others may be plain again
        for fn in self.disconnect_hooks:
            fn(c)

    unblock_hook: Callable | None = None

    # client-output-buffer-limit. Client.flush calls check_output_limits()
    # when a client's pending output exceeds ``obuf_threshold`` (the smallest
    # limit configured for any class, so clients under every limit cost one
    # comparison) or while its soft limit clock runs (``c.obuf_soft_since``).
    obuf_threshold = 8 * 1024 * 1024
    # Redis does not count its 16 KiB static reply buffer (c->buf) as
    # output-buffer memory: only what overflows into the reply list counts.
    OBUF_STATIC = 16 * 1024

    def update_obuf_threshold(self, *_args) -> None:
        limits = self.config["client-output-buffer-limit"]
        sizes = [n for hard, soft, _ in limits.values() for n in (hard, soft) if n]
        self.obuf_threshold = (min(sizes) + self.OBUF_STATIC) if sizes else 1 << 62

    def check_output_limits(self, c: Client, pending: int | None = None) -> bool:
        """Redis's checkClientOutputBufferLimits + closeClientOnOutputBufferLimitReached:
        close ``c`` at once when its pending output (``pending`` bytes, or
        what it has queued now) reaches its class's hard limit, or has stayed
        at or over the soft limit for more than the soft seconds. MONITORs
        count as normal clients, replicas' hard limit is at least
        repl-backlog-size. Returns True if the client was closed."""
        if c.flags & F_CLOSE_ASAP or c.transport is None:
            return False
        limits = self.config["client-output-buffer-limit"]
        if c.flags & F_REPLICA and not c.flags & F_MONITOR:
            cls = "replica"
        elif c.flags & F_PUBSUB:
            cls = "pubsub"
        else:
            cls = "normal"
        hard, soft, secs = limits.get(cls, (0, 0, 0))
        if cls == "replica" and hard and hard < self.config["repl-backlog-size"]:
            hard = self.config["repl-backlog-size"]
        size = c.output_buffer_size() if pending is None else pending
        used = max(0, size - self.OBUF_STATIC)
        over = bool(hard) and used >= hard
        if soft and used >= soft:
            now = int(time.time())
            since = c.obuf_soft_since
            if not since:
                c.obuf_soft_since = now         # first time over: start the clock
            elif now - since > secs:
                over = True
        elif c.obuf_soft_since:
            c.obuf_soft_since = 0
        if not over:
            return False
        log.warning(f"Client {c.describe()} scheduled to be closed ASAP for "
                    f"overcoming of output buffer limits.")
        c.flags |= F_CLOSE_ASAP
        self.epoch += 1
        c.abort()
        return True

    # -- command execution -------------------------------------------------
    def execute(self, c: Client, argv: list[bytes]) -> None:
        """processCommand: every check Redis makes before running a command.

        The common case (authenticated unrestricted client, no MULTI, no
        pub/sub context, a primary without maxmemory) costs a lookup, the
        arity test and a handful of attribute tests before call().
        """
        self.epoch += 1         # whatever it does may make clients less plain
        # c.cmd: the command found, refused or not (CLIENT LIST cmd=), as Redis
        cmd = c.cmd = T.DISPATCH.get(argv[0])
        if cmd is None:
            cmd = c.cmd = T.TABLE.get(argv[0].lower())
            if cmd is None:
                return self.reject(c, None, unknown_command(argv))
        if cmd.subcommands:
            if len(argv) < 2:
                if cmd.handler is None:    # COMMAND alone is a command itself
                    return self.reject(c, cmd, wrong_arity(cmd.name))
            else:
                sub = c.cmd = cmd.subcommands.get(argv[1].lower())
                if sub is None:
                    return self.reject(c, cmd, unknown_subcommand(argv[1], cmd.name))
                cmd = sub
        n = len(argv)
        arity = cmd.arity
        if arity != n and (arity > 0 or n < -arity):
            return self.reject(c, cmd, wrong_arity(cmd.name))
        flags = cmd.flags
        if flags & T.PROTECTED:     # DEBUG, MODULE LOAD...: before NOAUTH, as Redis
            from redpoll.commands.server import protected_command_error
            err = protected_command_error(c, cmd)
            if err is not None:
                return self.reject(c, cmd, err)
        if not c.authenticated and not flags & T.NO_AUTH:
            return self.reject(c, cmd, RedisError(NOAUTH))
        if self.acl_check is not None and not c.user.unrestricted:
            err = self.acl_check(c, cmd, argv)
            if err is not None:
                return self.reject(c, cmd, err)
        if self.clients_paused_until and self.pause_check(c, cmd, argv):
            return      # CLIENT PAUSE: postponed (commands/connection.py)
        if c.flags & (F_MULTI | F_PUBSUB):
            return self._execute_in_context(c, cmd, argv, flags)
        if flags & _GUARDED and (self.masterhost is not None or self.maxmemory):
            err = self._guard(c, cmd, flags)
            if err is not None:
                return self.reject(c, cmd, err)
        if self.precall_checks:
            for check in self.precall_checks:
                err = check(c, cmd, argv)
                if err is not None:
                    return self.reject(c, cmd, err)
        self.call(c, cmd, argv)

    def plain(self, c: Client) -> bool:
        """True when execute() cannot refuse, queue or postpone a ``fastpath``
        command of ``c`` (see commands/table.py): the client is authenticated,
        unrestricted, not in MULTI/pub-sub/tracking/CLIENT REPLY, not closing;
        the server is a primary without maxmemory, pause, monitors or precall
        checks. Client.process_input then runs such commands in its own
        copy of :meth:`call`'s steps. Only commands that are not ``fastpath`` (AUTH,
        MULTI, CLIENT, CONFIG, MONITOR, REPLICAOF, EVAL...) can change any of
        this, so it is tested again after each of those."""
        p = c._plain = (
            c.authenticated and not c.flags & _NOT_PLAIN and not c.reply_mode
            and c.tracking is None and c.blocked is None and not c.paused_input
            and (self.acl_check is None or c.user.unrestricted)
            and not self.clients_paused_until and not self.precall_checks
            and self.masterhost is None and not self.maxmemory and not self.monitors)
        c._plain_epoch = self.epoch
        return p

    def _execute_in_context(self, c: Client, cmd, argv, flags: int) -> None:
        """The rest of execute() for a client in MULTI or subscribed (RESP2).

        In MULTI: ``no_multi`` commands are refused, every queued command is
        refused when over maxmemory, and EXEC is checked with the flags of
        the commands it would run (READONLY, OOM); a command that passes is
        queued. Subscribed RESP2 clients may only run (un)subscribe commands,
        PING, QUIT and RESET.
        """
        in_multi = c.flags & F_MULTI
        if in_multi:
            if flags & T.NO_MULTI:
                return self.reject(c, cmd, RedisError(
                    "ERR Command not allowed inside a transaction"))
            name = cmd.name
            if name == "exec":
                for qcmd, _ in c.multi_queue:
                    flags |= qcmd.flags
            elif name not in _MULTI_OOM_EXEMPT:
                flags |= T.DENYOOM
        if flags & _GUARDED and (self.masterhost is not None or self.maxmemory):
            err = self._guard(c, cmd, flags)
            if err is not None:
                return self.reject(c, cmd, err)
        if c.flags & F_PUBSUB and c.resp == 2 and cmd.name not in _PUBSUB_ALLOWED:
            return self.reject(c, cmd, RedisError(
                f"ERR Can't execute '{cmd.name}': only (P|S)SUBSCRIBE / "
                f"(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"))
        if self.precall_checks:
            for check in self.precall_checks:
                err = check(c, cmd, argv)
                if err is not None:
                    return self.reject(c, cmd, err)
        if in_multi and cmd.name not in _MULTI_DIRECT:
            c.multi_queue.append((cmd, argv))
            return c.add_reply(QUEUED)
        self.call(c, cmd, argv)

    def _guard(self, c: Client, cmd, flags: int) -> RedisError | None:
        """The state-dependent refusals: READONLY replica, OOM."""
        if self.masterhost is not None and flags & T.WRITE and not c.flags & F_MASTER:
            if self.config["replica-read-only"]:
                return RedisError(READONLY)
        if flags & T.DENYOOM and self.maxmemory and self.oom_check:
            if self.oom_check():
                return RedisError(OOM)
        return None

    acl_check: Callable | None = None
    pause_check: Callable | None = None   # set with clients_paused_until (CLIENT PAUSE)
    oom_check: Callable | None = None

    def reject(self, c: Client, cmd, err: RedisError) -> None:
        """Reply with an error for a command that was not executed."""
        if cmd is not None:
            cmd.rejected_calls += 1
        if cmd is not None and cmd.name == "exec":
            # rejectCommand: a refused EXEC is EXECABORT, in MULTI or not
            from redpoll.commands.transactions import exec_abort
            err = exec_abort(c, err)
        elif c.flags & F_MULTI:
            from redpoll.client import F_DIRTY_EXEC
            c.flags |= F_DIRTY_EXEC
        self.count_error(err)
        c.add_reply(err)

    def count_error(self, err: RedisError) -> None:
        self.stats.total_error_replies += 1
        prefix = err.prefix
        errs = self.stats.errors
        if prefix in errs or len(errs) < 128:
            errs[prefix] = errs.get(prefix, 0) + 1

    def call(self, c: Client, cmd, argv: list[bytes]) -> None:
        """Run one command and reply; propagate it if it changed the dataset."""
        dirty = self.dirty
        c.argv = argv
        c.cmd = cmd
        t0 = perf_counter_ns()
        try:
            r = cmd.handler(c, argv)
        except RedisError as e:
            r = e
        except Exception as e:  # a bug: report, do not crash the server
            r = self._internal_error(cmd, e)
        dur = perf_counter_ns() - t0
        c.cmd = cmd             # EXEC, not the last command it ran
        cmd.calls += 1
        cmd.usec += dur
        self.stats.total_commands_processed += 1
        t = type(r)
        if c.reply_mode:
            if r is not NO_REPLY:
                c.add_reply(r)
        elif t is bytes:
            c.out.append(b"$%d\r\n%b\r\n" % (len(r), r))
        elif r is OK:
            c.out.append(b"+OK\r\n")
        elif t is int:
            c.out.append(b":%d\r\n" % r)
        elif r is not NO_REPLY:
            if t is RedisError:
                cmd.failed_calls += 1
                self.count_error(r)
            c.add_reply(r)
        if not c._in_batch:
            c._schedule_flush()
        if self.dirty != dirty:
            self.after_write(c, cmd, argv)
        if dur >= self.slowlog_threshold_ns and self.slowlog_hook is not None:
            self.slowlog_hook(c, cmd, argv, dur)
        if self.monitors and not cmd.flags & (T.SKIP_MONITOR | T.ADMIN):
            self.feed_monitors(c, argv)

    def _internal_error(self, cmd, e: Exception) -> RedisError:
        import traceback
        log.warning(f"Error executing '{cmd.name}': {type(e).__name__}: {e}")
        log.verbose(traceback.format_exc())
        return RedisError(f"ERR internal error executing '{cmd.name}': {type(e).__name__}")

    slowlog_hook: Callable | None = None
    slowlog_threshold_ns = 10 ** 18
    # While set (the AOF is on), replies wait for the end of the loop
    # iteration, where this runs once before they are all written (the AOF
    # writes its buffer here, so an acknowledged write is in the kernel: Redis's
    # beforeSleep, one AOF write per iteration instead of one per client).
    before_reply_hook: Callable | None = None

    def reply_after_hook(self, c: Client) -> None:
        """Write ``c``'s replies at the end of this loop iteration, after
        :attr:`before_reply_hook`."""
        if not c._flush_scheduled:
            c._flush_scheduled = True
            waiting = self._replies_waiting
            waiting.append(c)
            if len(waiting) == 1:
                self.loop.call_soon(self.write_waiting_replies)

    def write_waiting_replies(self) -> None:
        """The end of a loop iteration (or of a poll while a busy script
        blocks the loop): :attr:`before_reply_hook`, then the replies that
        wait for it."""
        hook = self.before_reply_hook
        if hook is not None:
            hook()
        clients, self._replies_waiting = self._replies_waiting, []
        for c in clients:
            c.flush()

    def after_write(self, c: Client, cmd, argv) -> None:
        """The command changed data: propagate it, wake blocked clients and
        invalidate WATCHes on its keys."""
        pargv = c.prop_argv
        if pargv is not None:
            c.prop_argv = None
            if pargv:   # [] means "already propagated by the handler"
                self.propagate(c.db.id, pargv)
        elif (self.propagation_sinks or self.atomic_depth) and cmd.flags & _PROPAGATED:
            self.propagate(c.db.id, argv)
        if self.watched_keys or self.blocking_keys:
            dbid = c.db.id
            for k in modified_keys(cmd, argv):
                if self.watched_keys:
                    self.touch_watched(dbid, k)
                if (dbid, k) in self.blocking_keys:
                    self.ready_keys.append((dbid, k))
            if (self.ready_keys and self.serve_blocked_hook is not None
                    and not self.atomic_depth):
                self.serve_blocked_hook()

    def sink_active(self, sink: Callable[[int, list], None], active: bool) -> None:
        """Add ``sink`` to the propagation sinks, or remove it: a room keeps
        its sink registered only while it has something to do (AOF on, a
        backlog or replicas), so writes cost nothing for rooms that are idle."""
        sinks = self.propagation_sinks
        if active:
            if sink not in sinks:
                sinks.append(sink)
        elif sink in sinks:
            sinks.remove(sink)

    def propagate(self, dbid: int, argv: list) -> None:
        """Send a write to the AOF and the replicas, in execution order.
        Nothing is propagated while the dataset is loading (Redis's
        shouldPropagate): what a load replays is already where it came from."""
        if self.loading:
            return
        if self.atomic_depth:
            if self.propagation_sinks:
                self.atomic_ops.append((dbid, argv))
            return
        for sink in self.propagation_sinks:
            sink(dbid, argv)

    # -- atomic units (EXEC, scripts) ------------------------------------------
    atomic_depth = 0          # > 0 while an EXEC or a script runs
    atomic_ops: list          # writes propagated meanwhile: (db id, argv)

    def begin_atomic(self) -> None:
        """Start a unit whose writes must reach replicas and the AOF as one
        transaction (EXEC, EVAL/FCALL). Nestable; see end_atomic()."""
        self.atomic_depth += 1          # atomic_ops is empty between units

    def end_atomic(self) -> None:
        """End the unit: propagate its writes, wrapped in MULTI ... EXEC when
        there are two or more (a single write goes alone, as in Redis 7.0),
        then serve the clients blocked on keys it touched."""
        self.atomic_depth -= 1
        if self.atomic_depth:
            return
        ops = self.atomic_ops
        if ops:                         # (a unit that wrote nothing keeps the empty list)
            self.atomic_ops = []
            if len(ops) > 1:
                ops.insert(0, (ops[0][0], [b"MULTI"]))
                ops.append((ops[-1][0], [b"EXEC"]))
            for op in ops:
                # (dbid, argv), or (dbid, argv, sinks) for a write aimed at some
                # sinks only (a script's redis.set_repl(REPL_AOF|REPL_REPLICA))
                for sink in op[2] if len(op) > 2 else self.propagation_sinks:
                    sink(op[0], op[1])
        if self.ready_keys and self.serve_blocked_hook is not None:
            self.serve_blocked_hook()

    def feed_monitors(self, c: Client, argv) -> None:
        from redpoll.commands.server import monitor_line
        line = monitor_line(c, argv)
        for m in list(self.monitors):
            m.add_raw(line)

    # -- WATCH -----------------------------------------------------------------
    # c.watched maps (db id, key) -> True if the key was missing or already
    # expired (a stale key) when WATCHed: a write that leaves such a key
    # missing (DEL of a missing key, deleting the stale one) is no logical
    # change, as Redis signals only the keys it really modified.
    def touch_watched(self, dbid: int, key: bytes) -> None:
        """A write (or expiry) touched ``key``: its watchers' EXEC will fail."""
        wk = (dbid, key)
        clients = self.watched_keys.get(wk)
        if clients:
            for cl in clients:
                if cl.watched.get(wk) and key not in self.dbs[dbid].data:
                    continue        # missing (or stale) when watched, and still gone
                cl.flags |= F_DIRTY_CAS

    def touch_all_watched(self, dbid: int | None = None,
                          replaced_with: int | None = None) -> None:
        """Call BEFORE emptying db ``dbid`` (every db if None: FLUSHALL) or
        swapping it with db ``replaced_with`` (SWAPDB calls this for both
        directions). Watchers of keys that exist before or after are touched,
        except where a stale key only goes away or stays stale."""
        other = self.dbs[replaced_with] if replaced_with is not None else None
        for wk, clients in list(self.watched_keys.items()):
            d, key = wk
            if dbid is not None and d != dbid:
                continue
            exists = key in self.dbs[d].data
            in_other = other is not None and key in other.data
            if not (exists or in_other):
                continue
            for cl in clients:
                if cl.watched.get(wk):
                    if not in_other:
                        cl.watched[wk] = False
                        continue
                    if other.is_expired(key):
                        continue
                elif not exists and other.is_expired(key):
                    cl.watched[wk] = True
                    continue
                cl.flags |= F_DIRTY_CAS

    def unwatch_all(self, c: Client) -> None:
        for wk in c.watched:
            s = self.watched_keys.get(wk)
            if s is not None:
                s.discard(c)
                if not s:
                    del self.watched_keys[wk]
        c.watched = {}
        c.flags &= ~F_DIRTY_CAS

    # -- cron ----------------------------------------------------------------
    def cron(self) -> None:
        """serverCron: runs ``hz`` times per second."""
        self.unixtime = time.time()
        try:
            self._active_expire()
            self._client_timeouts()
            for job in self.cron_jobs:
                try:
                    job()
                except Exception as e:  # keep the cron alive
                    log.warning(f"cron job {getattr(job, '__name__', job)} failed: {e!r}")
            self._sample_ops()
        finally:
            hz = max(1, min(500, self.config["hz"]))
            self.loop.call_later(1.0 / hz, self.cron)
        if self.shutdown_asap:
            self.shutdown_asap = False
            self.loop.create_task(self.shutdown())

    active_expire_enabled = True      # DEBUG SET-ACTIVE-EXPIRE 0|1

    def _active_expire(self) -> None:
        # never while a dataset loads (the cron runs during async loads)
        if self.masterhost is not None or not self.active_expire_enabled or self.loading:
            return
        now = self.now_ms()
        effort = self.config["active-expire-effort"]
        budget = 200 * effort
        deadline = time.perf_counter() + 0.025 * effort / self.config["hz"] * 10
        for db in self.dbs:
            if db.expires:
                while db.active_expire(now, budget) == budget:
                    if time.perf_counter() > deadline:
                        self.stats.expired_time_cap_reached_count += 1
                        break

    def _client_timeouts(self) -> None:
        timeout = self.config["timeout"]
        if not timeout:
            return
        now = self.unixtime
        for c in list(self.clients.values()):
            # as clientsCronHandleTimeout: no timeout for replicas, monitors
            # (Redis flags them as replicas), the primary, blocked clients
            # (CLIENT PAUSE postpones by blocking) and pub/sub clients
            if c.flags & (F_REPLICA | F_MASTER | F_MONITOR | F_PUBSUB):
                continue
            if c.blocked is not None or c.paused_argv is not None:
                continue
            if now - c.last_interaction > timeout:
                log.verbose("Closing idle client")
                c.close()

    def _sample_ops(self) -> None:
        s = self.stats.ops_samples
        s.append((time.monotonic(), self.stats.total_commands_processed,
                  self.stats.net_input_bytes, self.stats.net_output_bytes))
        if len(s) > 16:
            del s[0]

    def instantaneous(self, idx: int) -> float:
        s = self.stats.ops_samples
        if len(s) < 2:
            return 0.0
        (t0, *a), (t1, *b) = s[0], s[-1]
        if t1 <= t0:
            return 0.0
        return (b[idx - 1] - a[idx - 1]) / (t1 - t0)

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        """Bind the listeners and start the cron (the loop must be running)."""
        self.loop = asyncio.get_running_loop()
        T.load_all()
        cfg = self.config
        port = cfg["port"]
        self.port = port
        if port:
            await self._listen(cfg["bind"], port, cfg["tcp-backlog"])
        for hook in self.startup_hooks:
            r = hook()
            if asyncio.iscoroutine(r):
                await r
        self.loop.call_later(1.0 / max(1, cfg["hz"]), self.cron)
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                self.loop.add_signal_handler(sig, self._on_signal, sig)
            except (NotImplementedError, RuntimeError):
                pass

    async def _listen(self, binds: list[str], port: int, backlog: int) -> None:
        made = 0
        for addr in binds:
            host, optional = parse_bind(addr)
            try:
                sock = listening_socket(host, port, backlog)
            except OSError as e:
                if optional or (e.errno in (97, 99) and not made and host in ("::",)):
                    log.warning(f"Could not create server TCP listening socket "
                                f"{host}:{port}: {e.strerror}")
                    continue
                raise OSError(e.errno, f"Could not create server TCP listening socket "
                              f"{host}:{port}: {e.strerror}")
            srv = await self.loop.create_server(lambda: Client(self), sock=sock)
            self.listeners.append(srv)
            made += 1
        if not made:
            raise OSError(0, "Failed listening on port %d (tcp), aborting." % port)

    def _on_signal(self, sig) -> None:
        name = "SIGTERM" if sig == signal.SIGTERM else "SIGINT"
        log.warning(f"Received {name} scheduling shutdown...")
        self.loop.create_task(self.shutdown())

    async def shutdown(self, save: bool | None = None, exit_code: int = 0) -> None:
        """Stop: run shutdown hooks (final save, AOF fsync), close, exit."""
        log.warning("User requested shutdown...")
        for hook in self.shutdown_hooks:
            try:
                hook(save)
            except Exception as e:
                log.warning(f"Error during shutdown: {e!r}")
                if exit_code == 0 and isinstance(e, RedisError):
                    raise
        pidfile = self.config["pidfile"]
        if pidfile:
            try:
                os.unlink(pidfile)
            except OSError:
                pass
        for srv in self.listeners:
            srv.close()
        for c in list(self.clients.values()):
            c.flush()
        log.warning("Redis is now ready to exit, bye bye...")
        self.exit_code = exit_code
        self.loop.stop()

    exit_code = 0




def _is_loopback(peer) -> bool:
    if not peer or not isinstance(peer, tuple):
        return True   # unix socket
    return peer[0] in ("127.0.0.1", "::1")     # Redis compares the strings
