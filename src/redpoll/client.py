"""A client connection: reads requests, hands them to the server, writes replies.

Each connection is an asyncio Protocol. Bytes go to a :class:`RequestReader`;
every complete request is executed at once (:meth:`Client.process_input`:
plain data commands right there, everything else by :meth:`Server.execute`;
the event loop runs one command at a time), and the replies of everything
parsed from one read are written back in one ``transport.write`` (at the end
of the loop iteration, after the AOF's write, while the AOF is on).

Clients without a transport (``Client.fake``) run commands for Lua scripts,
the AOF loader and the replication link.
"""

from __future__ import annotations

import asyncio
import socket
import time
from time import perf_counter_ns
from time import time as _now
from typing import TYPE_CHECKING

from redpoll.commands.table import FASTPATH
from redpoll.errors import ProtocolError, RedisError
from redpoll.protocol.quoting import repr_arg
from redpoll.protocol.request import QueryBufferLimit, RequestReader
from redpoll.protocol.resp import NO_REPLY, OK, PONG, encode

if TYPE_CHECKING:
    from redpoll.server import Server

# client flags (CLIENT LIST flags=...)
F_REPLICA = 1 << 0        # S: a replica connected to us
F_MASTER = 1 << 1         # M: our link to the primary
F_MONITOR = 1 << 2        # O
F_MULTI = 1 << 3          # x
F_BLOCKED = 1 << 4        # b
F_DIRTY_CAS = 1 << 5      # d: a watched key changed
F_CLOSE_AFTER_REPLY = 1 << 6  # c
F_UNBLOCKED = 1 << 7
F_PUBSUB = 1 << 8         # P
F_READONLY = 1 << 9
F_NO_EVICT = 1 << 10      # e
F_DIRTY_EXEC = 1 << 11    # queued command had an error
F_LUA = 1 << 12
F_NO_TOUCH = 1 << 13      # T
F_CLOSE_ASAP = 1 << 14    # A

# CLIENT REPLY: SKIP_NEXT is set by CLIENT REPLY SKIP and becomes SKIP for the
# next command (whose replies are dropped), then ON again.
REPLY_ON, REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP = 0, 1, 2, 3

_NEVER = 1 << 62          # a slowlog threshold no command reaches


class Client(asyncio.Protocol):
    """One connection (or a fake client used to run commands internally)."""

    next_id = 1

    def __init__(self, server: "Server"):
        self.server = server
        self.id = Client.next_id
        Client.next_id += 1
        self.transport: asyncio.Transport | None = None
        self.db = server.dbs[0]
        self.resp = 2
        self.flags = 0
        self.name: bytes | None = None
        self.lib_name: bytes | None = None
        self.lib_ver: bytes | None = None
        self.user = server.acl.default_user if hasattr(server, "acl") else None
        self.authenticated = not server.auth_required()
        self.reader = RequestReader(server.proto_max_bulk_len,
                                    server.client_query_buffer_limit,
                                    strict=not self.authenticated)
        self.out: list[bytes] = []
        self._flush_scheduled = False
        self._in_batch = False
        self.reply_mode = REPLY_ON
        self.addr = ""
        self.laddr = ""
        self.fd = -1
        self.ctime = time.time()
        self.last_interaction = self.ctime
        self.argv: list[bytes] | None = None    # the request being executed
        self.cmd = None                          # its Command entry (kept: the last one)
        self._plain = False                      # Server.plain(self), as of
        self._plain_epoch = -1                   # this Server.epoch
        self.multi_queue: list | None = None     # MULTI: queued (cmd, argv)
        self.watched: dict = {}                  # WATCH: (db id, key) -> was stale
        self.channels: set[bytes] = set()        # SUBSCRIBE
        self.patterns: set[bytes] = set()        # PSUBSCRIBE
        self.shard_channels: set[bytes] = set()  # SSUBSCRIBE
        self.blocked = None                      # blocking state (see blocking.py)
        self.closed = False
        self.paused_input = False
        self.paused_argv: list | None = None     # CLIENT PAUSE: the postponed request
        self.tracking: dict | None = None        # CLIENT TRACKING state
        self.prop_argv = None                    # argv to propagate instead of argv
        self.replica_state = None                # replication room's per-replica state
        self.woff = 0        # WAIT: stream offset after its previous command (replication room)
        self.obuf_soft_since = 0                 # over the soft output limit since (s)
        self.tot_net_in = 0
        self.tot_net_out = 0
        self.tot_cmds = 0

    # -- construction helpers ---------------------------------------------
    @classmethod
    def fake(cls, server: "Server", flags: int = 0) -> "Client":
        c = cls(server)
        c.authenticated = True
        c.flags |= flags
        c.reply_mode = REPLY_ON
        c.fd = -1
        return c

    @property
    def is_fake(self) -> bool:
        return self.transport is None

    # -- asyncio.Protocol ---------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        srv = self.server
        sock = transport.get_extra_info("socket")
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.addr = _fmt_addr(peer)
        self.laddr = _fmt_addr(local)
        if sock is not None:
            self.fd = sock.fileno()
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                ka = srv.config["tcp-keepalive"]
                if ka > 0 and sock.family in (socket.AF_INET, socket.AF_INET6):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
                    if hasattr(socket, "TCP_KEEPIDLE"):
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, ka)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL,
                                        max(1, ka // 3))
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
            except OSError:
                pass
        srv.client_connected(self, peer)

    def _query_buffer_limit(self) -> None:
        self.server.log.warning(
            f"Closing client that reached max query buffer length: {self.describe()} "
            f"(qbuf initial bytes: {repr_arg(self.reader.query_head(64))})")
        self.abort()

    def connection_lost(self, exc) -> None:
        if not self.closed:
            self.closed = True
            self.server.client_disconnected(self)

    # -- input ---------------------------------------------------------------
    def process_input(self, data: bytes | None = None) -> None:
        """Run every complete request in the input buffer (after ``data``,
        a read, is added to it), then flush. This is also the Protocol's
        ``data_received`` (one Python call per read); without ``data`` it
        continues with what is buffered (after unblocking or unpausing).

        The fast path: while the client is plain (:meth:`Server.plain`), a
        ``fastpath`` command (commands/table.py) with the right arity skips
        :meth:`Server.execute`'s checks, none of which could refuse it, and
        runs in this loop, which is :meth:`Server.call` specialized for a
        client in a batch with replies on and no monitors (keep the two in
        step). Everything else goes through execute(), after which the
        client's plainness is tested again.
        """
        srv = self.server
        reader = self.reader
        if data is not None:    # a read
            self.last_interaction = _now()
            size = len(data)
            self.tot_net_in += size
            srv.stats.net_input_bytes += size
            if self.closed or self.flags & (F_CLOSE_AFTER_REPLY | F_CLOSE_ASAP):
                return          # (QUIT, a protocol error: the reply may still wait)
            if self.blocked is not None or self.paused_input:
                try:            # kept for when the client is unblocked or resumed
                    reader.feed(data)
                except QueryBufferLimit:
                    self._query_buffer_limit()
                return
        out = self.out
        slow_ns = srv.slowlog_threshold_ns if srv.slowlog_hook is not None else _NEVER
        n = 0                   # fast commands not yet counted in the stats
        self._in_batch = True
        try:
            batch = reader.get_all() if data is None else reader.take(data)
            # Server.plain(), cached until the server's epoch moves on
            plain = (self._plain if self._plain_epoch == srv.epoch and not srv.precall_checks
                     else srv.plain(self))
            while True:
                if batch is None:               # the Python parser's mode
                    argv = reader.get()
                    if argv is None:
                        break
                    batch = (argv,)
                elif not batch:
                    break
                for argv in batch:
                    if plain:
                        cmd = FASTPATH.get(argv[0])
                        if cmd is not None:
                            na = len(argv)
                            ar = cmd.arity
                            if ar == na or (ar < 0 and na >= -ar):
                                dirty = srv.dirty
                                self.argv = argv
                                self.cmd = cmd
                                t0 = perf_counter_ns()
                                try:
                                    r = cmd.handler(self, argv)
                                except RedisError as e:
                                    r = e
                                except Exception as e:  # a bug: report, keep serving
                                    r = srv._internal_error(cmd, e)
                                dur = perf_counter_ns() - t0
                                cmd.calls += 1
                                cmd.usec += dur
                                n += 1
                                t = type(r)
                                if t is bytes:
                                    out.append(b"$%d\r\n%b\r\n" % (len(r), r))
                                elif r is OK:
                                    out.append(b"+OK\r\n")
                                elif t is int:
                                    out.append(b":%d\r\n" % r)
                                elif r is None:
                                    out.append(b"$-1\r\n" if self.resp == 2 else b"_\r\n")
                                elif r is PONG:
                                    out.append(b"+PONG\r\n")
                                elif r is not NO_REPLY:
                                    if t is RedisError:
                                        cmd.failed_calls += 1
                                        srv.count_error(r)
                                    self.add_reply(r)
                                if srv.dirty != dirty:
                                    srv.after_write(self, cmd, argv)
                                if dur >= slow_ns:
                                    srv.slowlog_hook(self, cmd, argv, dur)
                                continue
                    if n:
                        srv.stats.total_commands_processed += n
                        n = 0
                    srv.execute(self, argv)
                    if self.tracking is not None:       # CLIENT TRACKING: remember reads
                        srv.tracking.after_command(self, argv)
                    if self.reply_mode >= REPLY_SKIP_NEXT:
                        # CLIENT REPLY SKIP applies to the command after it
                        self.reply_mode = REPLY_SKIP if self.reply_mode == REPLY_SKIP_NEXT \
                            else REPLY_ON
                    if self.blocked is not None or self.paused_input or self.flags & (
                            F_CLOSE_AFTER_REPLY | F_CLOSE_ASAP):
                        i = next(j for j, a in enumerate(batch) if a is argv)
                        reader.hold(list(batch[i + 1:]))
                        break
                    plain = srv.plain(self)
                    out = self.out
                    slow_ns = (srv.slowlog_threshold_ns if srv.slowlog_hook is not None
                               else _NEVER)
                else:
                    if reader.more:
                        batch = reader.get_all()
                        continue
                break
        except ProtocolError as e:
            self.protocol_error(*e.args)
        except QueryBufferLimit:
            self._in_batch = False
            return self._query_buffer_limit()
        except BaseException:
            self._in_batch = False
            raise
        # the end of the batch: count the fast commands, write the replies
        self._in_batch = False
        self.argv = None        # idle: no argv-mem in CLIENT LIST (Redis's resetClient)
        if n:
            srv.stats.total_commands_processed += n
        self.write_replies()

    data_received = process_input

    def protocol_error(self, msg: str, why: str | None = None) -> None:
        """Reply Redis's protocol error and close after the reply (``why`` is
        the reason Redis logs, when it differs from the reply text)."""
        self.add_reply(RedisError(f"ERR Protocol error: {msg}"))
        log = self.server.log
        if log.level <= 1:    # verbose (logged after the reply is queued, as Redis)
            head = self.reader.query_head(128)
            log.verbose(f"Protocol error ({why or msg}) from client: {self.describe()}. "
                        f"Query buffer during protocol error: "
                        f"'{''.join(chr(b) if 32 <= b < 127 else '.' for b in head)}'")
        self.flags |= F_CLOSE_AFTER_REPLY

    # -- output --------------------------------------------------------------
    def add_reply(self, value) -> None:
        """Queue a reply value (encoded for this client's protocol)."""
        if self.reply_mode:         # CLIENT REPLY OFF|SKIP
            return
        try:
            data = encode(value, self.resp)
        except TypeError as e:      # a handler bug: answer an error, keep serving
            self.server.log.warning(f"Cannot encode reply: {e}")
            data = b"-ERR internal error: unencodable reply\r\n"
        self.out.append(data)
        if not self._in_batch:
            self._schedule_flush()

    def add_raw(self, data: bytes) -> None:
        """Queue bytes already encoded (pub/sub messages, monitor lines)."""
        self.out.append(data)
        if not self._in_batch:
            self._schedule_flush()

    def write_replies(self) -> None:
        """Write the replies of a batch: now, or at the end of the loop
        iteration after the AOF's write while it is on (Server.reply_after_hook)."""
        srv = self.server
        if srv.before_reply_hook is None:
            self.flush()
        else:
            srv.reply_after_hook(self)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and self.transport is not None:
            srv = self.server
            if srv.before_reply_hook is not None:
                srv.reply_after_hook(self)
            else:
                self._flush_scheduled = True
                srv.loop.call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        out = self.out
        t = self.transport
        if out and t is not None and not self.closed:
            data = b"".join(out)     # one item: that same bytes object
            self.out = []
            n = len(data)
            srv = self.server
            self.tot_net_out += n
            srv.stats.net_output_bytes += n
            # client-output-buffer-limit, counted as the reply is queued (as
            # Redis does), before the socket takes it: see Server.obuf_threshold
            pending = n + t.get_write_buffer_size()
            if ((pending > srv.obuf_threshold or self.obuf_soft_since)
                    and srv.check_output_limits(self, pending)):
                return
            t.write(data)
        if self.flags & (F_CLOSE_AFTER_REPLY | F_CLOSE_ASAP) and t is not None:
            self.close()

    def take_output(self) -> list[bytes]:
        """For fake clients: the encoded replies produced so far."""
        out, self.out = self.out, []
        return out

    def output_buffer_size(self) -> int:
        n = sum(len(x) for x in self.out)
        if self.transport is not None and not self.closed:
            n += self.transport.get_write_buffer_size()
        return n

    def close(self) -> None:
        """Close the connection (pending output is still sent)."""
        if self.transport is not None and not self.closed:
            self.transport.close()
            self.closed = True
            self.server.client_disconnected(self)

    def abort(self) -> None:
        """Close at once, dropping pending output (Redis's freeClient)."""
        if self.transport is not None and not self.closed:
            self.out = []
            self.transport.abort()
            self.closed = True
            self.server.client_disconnected(self)

    def resume_input(self) -> None:
        """Continue with buffered requests (after unblocking or unpausing)."""
        if self.closed or self.transport is None:
            return
        if self.blocked is None and not self.paused_input:
            self.server.loop.call_soon(self.process_input)

    # -- introspection -----------------------------------------------------
    def flag_string(self) -> str:
        """CLIENT LIST flags, in Redis 7.0's order."""
        f = self.flags
        s = ""
        if f & F_MONITOR:
            s += "O"
        elif f & F_REPLICA:
            s += "S"
        if f & F_MASTER:
            s += "M"
        if f & F_PUBSUB:
            s += "P"
        if f & F_MULTI:
            s += "x"
        if self.blocked is not None or self.paused_argv is not None:
            s += "b"
        if self.tracking is not None:
            s += "t"
            if self.tracking.get("broken"):
                s += "R"
            if self.tracking.get("bcast"):
                s += "B"
        if f & F_DIRTY_CAS:
            s += "d"
        if f & F_CLOSE_AFTER_REPLY:
            s += "c"
        if f & F_UNBLOCKED:
            s += "u"
        if f & F_CLOSE_ASAP:
            s += "A"
        if f & F_READONLY:
            s += "r"
        if f & F_NO_EVICT:
            s += "e"
        return s or "N"

    def describe(self) -> str:
        """One CLIENT LIST line."""
        from redpoll.commands.connection import client_info_line
        return client_info_line(self)


def _fmt_addr(a) -> str:
    if not a:
        return ""
    if isinstance(a, tuple):
        host, port = a[0], a[1]
        if ":" in host:
            return f"{host}:{port}"  # Redis prints IPv6 without brackets
        return f"{host}:{port}"
    return str(a)
