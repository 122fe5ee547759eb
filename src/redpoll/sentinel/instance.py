"""What a sentinel knows about the servers it watches.

:class:`Instance` is one monitored master, one of its replicas, or another
sentinel watching the same master (Redis's ``sentinelRedisInstance``); the
``SRI_*`` bits are its flags. :class:`Link` holds the two outgoing
connections to an instance -- the command link (PING, INFO, PUBLISH of hello
messages, REPLICAOF ...) and, for masters and replicas, the pub/sub link
subscribed to ``__sentinel__:hello`` -- with the timestamps the failure
detector reads. :class:`Conn` is one such connection: a small asyncio RESP
client whose commands are queued (and answered through callbacks, in order)
even before the TCP connection is up, like hiredis's async contexts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import deque
from typing import Callable

import hiredis

from redpoll.protocol.resp import encode_command

SRI_MASTER = 1 << 0
SRI_SLAVE = 1 << 1
SRI_SENTINEL = 1 << 2
SRI_S_DOWN = 1 << 3
SRI_O_DOWN = 1 << 4
SRI_MASTER_DOWN = 1 << 5          # another sentinel says the master is down
SRI_FAILOVER_IN_PROGRESS = 1 << 6
SRI_PROMOTED = 1 << 7
SRI_RECONF_SENT = 1 << 8
SRI_RECONF_INPROG = 1 << 9
SRI_RECONF_DONE = 1 << 10
SRI_FORCE_FAILOVER = 1 << 11
SRI_SCRIPT_KILL_SENT = 1 << 12
SRI_MASTER_REBOOT = 1 << 13
# redpoll: a replica that used to be the master before a failover (demoted
# as soon as it answers again, instead of after Redis's 8 s grace time)
SRI_OLD_MASTER = 1 << 20

_FLAG_NAMES = [(SRI_S_DOWN, "s_down"), (SRI_O_DOWN, "o_down"), (SRI_MASTER, "master"),
               (SRI_SLAVE, "slave"), (SRI_SENTINEL, "sentinel")]
_FLAG_NAMES_2 = [(SRI_MASTER_DOWN, "master_down"),
                 (SRI_FAILOVER_IN_PROGRESS, "failover_in_progress"),
                 (SRI_PROMOTED, "promoted"), (SRI_RECONF_SENT, "reconf_sent"),
                 (SRI_RECONF_INPROG, "reconf_inprog"), (SRI_RECONF_DONE, "reconf_done"),
                 (SRI_FORCE_FAILOVER, "force_failover"),
                 (SRI_SCRIPT_KILL_SENT, "script_kill_sent")]

# failover states
FO_NONE, FO_WAIT_START, FO_SELECT_SLAVE, FO_SEND_SLAVEOF_NOONE, FO_WAIT_PROMOTION, \
    FO_RECONF_SLAVES, FO_UPDATE_CONFIG = range(7)
FO_STATE_NAMES = ["none", "wait_start", "select_slave", "send_slaveof_noone",
                  "wait_promotion", "reconf_slaves", "update_config"]

LINK_UP, LINK_DOWN = 0, 1

DEFAULT_SLAVE_PRIORITY = 100
DEFAULT_PARALLEL_SYNCS = 1
MAX_PENDING_COMMANDS = 100


def mstime() -> int:
    return int(time.time() * 1000)


class CreateError(Exception):
    """Why an instance could not be created (Redis's messages)."""


def resolve(host: str, resolve_hostnames: bool) -> str:
    """The IP address of ``host``; hostnames only when resolve-hostnames is on."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    if not resolve_hostnames:
        raise CreateError("Can't resolve instance hostname.")
    try:
        info = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise CreateError("Can't resolve instance hostname.")
    return info[0][4][0]


class Addr:
    """hostname (as configured or announced), resolved ip, port."""

    __slots__ = ("hostname", "ip", "port")

    def __init__(self, hostname: str, port: int, resolve_hostnames: bool = False):
        if port < 0 or port > 65535:
            raise CreateError("Invalid port number.")
        self.hostname = hostname
        self.ip = resolve(hostname, resolve_hostnames)
        self.port = port

    def copy(self) -> "Addr":
        a = Addr.__new__(Addr)
        a.hostname, a.ip, a.port = self.hostname, self.ip, self.port
        return a

    def same(self, other: "Addr") -> bool:
        return self.port == other.port and self.ip.lower() == other.ip.lower()


class Conn(asyncio.Protocol):
    """One outgoing RESP connection. Commands sent before the connection is
    up are buffered; replies are handed to the callbacks in order (pub/sub
    messages go to ``on_message``)."""

    def __init__(self, link: "Link", pubsub: bool):
        self.link = link
        self.pubsub = pubsub
        self.reader = hiredis.Reader()
        self.callbacks: deque[Callable | None] = deque()
        self.transport: asyncio.Transport | None = None
        self.pending_out: list[bytes] = []
        self.closed = False
        self.on_message: Callable | None = None
        self.sockname = None
        self.task = None

    def start(self, loop, host: str, port: int, timeout: float) -> None:
        self.task = loop.create_task(self._connect(loop, host, port, timeout))

    async def _connect(self, loop, host, port, timeout) -> None:
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: self, host, port), timeout)
        except (OSError, asyncio.TimeoutError) as e:
            if not self.closed:
                self.closed = True
                self.link.conn_lost(self, e)
        except asyncio.CancelledError:
            pass

    # -- asyncio.Protocol --------------------------------------------------
    def connection_made(self, transport) -> None:
        if self.closed:
            transport.abort()
            return
        self.transport = transport
        self.sockname = transport.get_extra_info("sockname")
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if self.pending_out:
            transport.write(b"".join(self.pending_out))
            self.pending_out = []

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            try:
                r = self.reader.gets()
            except hiredis.ProtocolError:
                self.close()
                return
            if r is False:
                return
            if self.pubsub:
                self.link.pc_last_activity = mstime()
                if self.callbacks and not _is_message(r):
                    cb = self.callbacks.popleft()
                else:
                    cb = self.on_message
            else:
                cb = self.callbacks.popleft() if self.callbacks else None
                self.link.pending_commands = max(0, self.link.pending_commands - 1)
            if cb is not None:
                try:
                    cb(r)
                except Exception as e:    # keep the link alive
                    from redpoll.log import log
                    log.warning(f"sentinel: error handling a reply: {e!r}")
            if self.closed:
                return

    def connection_lost(self, exc) -> None:
        if not self.closed:
            self.closed = True
            self.link.conn_lost(self, exc)

    # -- use ----------------------------------------------------------------
    def send(self, argv, callback: Callable | None = None) -> bool:
        if self.closed:
            return False
        data = encode_command(argv)
        if self.transport is None:
            self.pending_out.append(data)
        else:
            self.transport.write(data)
        self.callbacks.append(callback)
        if not self.pubsub:
            self.link.pending_commands += 1
        return True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
        elif self.task is not None:
            self.task.cancel()


def _is_message(r) -> bool:
    return isinstance(r, list) and r and r[0] in (b"message", b"pmessage")


class Link:
    """The connections to one instance and the failure detector's clocks."""

    def __init__(self):
        now = mstime()
        self.disconnected = True
        self.pending_commands = 0
        self.cc: Conn | None = None
        self.pc: Conn | None = None
        self.cc_conn_time = 0
        self.pc_conn_time = 0
        self.pc_last_activity = 0
        # The failure detector's clocks. They are restarted by start_clocks()
        # when the first connection is attempted (not when the config is
        # loaded: a sentinel slow to start must not find everything down).
        self.last_avail_time = now       # last valid PING reply
        self.act_ping_time = now         # time of the oldest unanswered PING (0: none)
        self.last_ping_time = 0
        self.last_pong_time = now        # last reply of any kind to a PING
        self.last_reconn_time = 0        # 0: no connection attempted yet
        self.refcount = 1                # instances sharing this link

    def start_clocks(self, now: int) -> None:
        """The first connection attempt: an instance that cannot be reached
        at all is down ``down-after`` milliseconds from now."""
        self.act_ping_time = self.last_avail_time = self.last_pong_time = now

    def conn_lost(self, conn: Conn, exc=None) -> None:
        if conn is self.cc:
            self.cc = None
            self.pending_commands = 0
        elif conn is self.pc:
            self.pc = None
        else:
            return
        self.disconnected = True

    def close(self, conn: Conn | None) -> None:
        if conn is None:
            return
        if conn is self.cc:
            self.cc = None
            self.pending_commands = 0
        if conn is self.pc:
            self.pc = None
        self.disconnected = True
        conn.close()

    def close_all(self) -> None:
        self.close(self.cc)
        self.close(self.pc)


class Instance:
    """A monitored master, a replica of one, or another sentinel."""

    def __init__(self, name: str | None, flags: int, addr: Addr, quorum: int,
                 master: "Instance | None", default_down_after: int,
                 default_failover_timeout: int):
        now = mstime()
        self.flags = flags
        self.addr = addr
        self.name = name
        self.runid: str | None = None
        self.config_epoch = 0
        self.link = Link()
        self.last_pub_time = now
        self.last_hello_time = now
        self.last_master_down_reply_time = now
        self.s_down_since_time = 0
        self.o_down_since_time = 0
        self.down_after_period = master.down_after_period if master else default_down_after
        self.master_reboot_down_after_period = 0
        self.master_reboot_since_time = 0
        self.info_refresh = 0
        self.renamed_commands: dict[str, str] = {}    # lower-case old -> new
        self.role_reported = flags & (SRI_MASTER | SRI_SLAVE)
        self.role_reported_time = now
        self.slave_conf_change_time = now
        self.sentinels: dict[str, Instance] = {}
        self.slaves: dict[str, Instance] = {}
        self.quorum = quorum
        self.parallel_syncs = DEFAULT_PARALLEL_SYNCS
        self.auth_pass: str | None = None
        self.auth_user: str | None = None
        self.master_link_down_time = 0
        self.slave_priority = DEFAULT_SLAVE_PRIORITY
        self.replica_announced = 1
        self.slave_reconf_sent_time = 0
        self.master = master
        self.slave_master_host: str | None = None
        self.slave_master_port = 0
        self.slave_master_link_status = LINK_DOWN
        self.slave_repl_offset = 0
        self.leader: str | None = None
        self.leader_epoch = 0
        self.failover_epoch = 0
        self.failover_state = FO_NONE
        self.failover_state_change_time = 0
        self.failover_start_time = 0
        self.failover_timeout = default_failover_timeout
        self.failover_delay_logged = 0
        self.promoted_slave: Instance | None = None
        self.notification_script: str | None = None
        self.client_reconfig_script: str | None = None
        self.info: str | None = None
        self.master_repl_offset = 0       # from the master's INFO (manual failover)
        self.info_pending_on: Conn | None = None   # connection with an INFO in flight
        self.asking_on: Conn | None = None         # ... with IS-MASTER-DOWN-BY-ADDR
        # manual failover (see failover.py): writes paused on this master
        self.writes_paused = False
        self.pause_target: int | None = None       # offset the replica must reach
        self.pause_deadline = 0

    @property
    def type_str(self) -> str:
        if self.flags & SRI_MASTER:
            return "master"
        if self.flags & SRI_SLAVE:
            return "slave"
        if self.flags & SRI_SENTINEL:
            return "sentinel"
        return "unknown"

    def flag_string(self) -> str:
        out = [n for bit, n in _FLAG_NAMES if self.flags & bit]
        if self.link.disconnected:
            out.append("disconnected")
        out += [n for bit, n in _FLAG_NAMES_2 if self.flags & bit]
        return ",".join(out)

    def map_command(self, name: str) -> str:
        """rename-command of the master this instance belongs to."""
        ri = self.master if self.master is not None else self
        return ri.renamed_commands.get(name.lower(), name)

    def no_down_for(self, ms: int) -> bool:
        most_recent = max(self.s_down_since_time, self.o_down_since_time)
        return most_recent == 0 or mstime() - most_recent > ms


def addr_and_port(host: str, port: int) -> str:
    """``host:port``, with IPv6 addresses in brackets (a replica's name)."""
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


def atoi(s: str) -> int:
    """C's atoi: leading digits (with a sign), 0 when none."""
    s = s.strip()
    i = 0
    if i < len(s) and s[i] in "+-":
        i += 1
    while i < len(s) and s[i].isdigit():
        i += 1
    try:
        return int(s[:i])
    except ValueError:
        return 0
