"""MIGRATE: move keys to another Redis-compatible instance.

    MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
            [AUTH password | AUTH2 username password] [KEYS key ...]

The keys are sent as ``RESTORE key ttl payload [REPLACE]`` commands (DUMP
payloads, see :mod:`redpoll.commands.serialization`), preceded by ``AUTH``
and ``SELECT`` when needed, in one write; each acknowledged key is then
deleted here (unless COPY) and the deletions propagate to replicas and the
AOF as one ``DEL`` of those keys, as Redis rewrites MIGRATE.

Like Redis, MIGRATE is synchronous: the loop thread talks to the target
with a blocking socket, so the server does nothing else for at most about
``timeout`` ms per step (connect, write, each reply). That is what makes it
atomic (no other client can change the keys between the DUMP and the DEL)
and keeps the replies in order. Connections are cached per ``host:port``
(at most 64, each closed after 10 s unused by a cron job registered at the
first MIGRATE) and remember the database last SELECTed.

Replies and errors follow Redis 7.0's migrateCommand, quirks included: the
port is read like C's ``atoi``, a refused connection reports an error
*writing* (a non-blocking connect looks complete once the socket is
writable), a failed step is retried once on a new connection unless it timed
out, and target errors are reported as ``ERR Target instance replied with
error: ...`` (the first one: AUTH's, then SELECT's, then a RESTORE's).
"""

from __future__ import annotations

import errno
import random
import re
import select
import socket
import time

from redpoll.commands.string import parse_int
from redpoll.commands.table import command
from redpoll.errors import SYNTAX, RedisError
from redpoll.notify import GENERIC, notify
from redpoll.persistence import rdb
from redpoll.protocol.resp import OK, Status, encode_command

CACHE_ITEMS = 64        # MIGRATE_SOCKET_CACHE_ITEMS
CACHE_TTL = 10          # seconds (MIGRATE_SOCKET_CACHE_TTL)
CHUNK = 64 * 1024       # the request is written in chunks of this size
MAX_WAIT = 1e9          # the longest wait a socket/select timeout takes (s)
LINE_MAX = 1023         # Redis reads each reply into a 1024-byte buffer

NOKEY = Status("NOKEY")
KEYS_NEEDS_EMPTY = ("ERR When using MIGRATE KEYS option, the key argument must be "
                    "set to the empty string")
IOERR_CONNECT = "IOERR error or timeout connecting to the client"
IOERR = "IOERR error or timeout {} to target instance"

_ATOI = re.compile(rb"\s*([+-]?\d+)")


def _atoi(b: bytes) -> int:
    """C's atoi: leading blanks, a sign and digits; 0 when there are none."""
    m = _ATOI.match(b)
    if m is None:
        return 0
    v = int(m.group(1))
    return (v + 2 ** 31) % 2 ** 32 - 2 ** 31     # a C int


# -- key positions (COMMAND GETKEYS, ACL) ---------------------------------------
_SKIP = {b"copy": 0, b"replace": 0, b"auth": 1, b"auth2": 2}


def migrate_keys(argv) -> list[int]:
    """The key positions, as Redis 7.0 finds them: the key argument unless the
    KEYS key spec matches (a ``KEYS`` searched backwards from the
    next-to-last argument), then the options are walked (skipping AUTH/AUTH2
    values) up to ``KEYS`` and the keys after it (none when the key argument
    is not empty: that is a syntax error MIGRATE itself reports)."""
    n = len(argv)
    if not any(argv[i].lower() == b"keys" for i in range(n - 2, 0, -1)):
        return [3] if n > 3 else []
    i = 6
    while i < n:
        word = argv[i].lower()
        if word == b"keys":
            return list(range(i + 1, n)) if not argv[3] else []
        i += _SKIP.get(word, 0) + 1
    return [3]


def redact(args: list[bytes]) -> list[bytes]:
    """MIGRATE's arguments as MONITOR and the slow log show them: the AUTH /
    AUTH2 values MIGRATE parsed before it stopped (KEYS, a syntax error)
    replaced by ``(redacted)``, as Redis's redactClientCommandArgument."""
    out = list(args)
    n = len(out)
    j = 6
    while j < n:
        opt = out[j].lower()
        if opt == b"auth" and j + 1 < n:
            out[j + 1] = b"(redacted)"
            j += 1
        elif opt == b"auth2" and j + 2 < n:
            out[j + 1] = out[j + 2] = b"(redacted)"
            j += 2
        elif opt not in (b"copy", b"replace"):
            break
        j += 1
    return out


# -- the connection cache -----------------------------------------------------------
class _Link:
    """A cached connection to a target: Redis's migrateCachedSocket."""

    __slots__ = ("sock", "last_dbid", "last_use", "buf")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.last_dbid = -1
        self.last_use = time.time()
        self.buf = b""

    def read_line(self, timeout: float) -> bytes:
        """One reply line without its CRLF (at most LINE_MAX bytes of it)."""
        sock = self.sock
        sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionResetError(errno.ECONNRESET, "connection closed")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        line = line.removesuffix(b"\r")
        if not line:
            raise ConnectionResetError(errno.ECONNRESET, "empty reply line")
        return line[:LINE_MAX]


def _cache(server) -> dict:
    cache = getattr(server, "migrate_links", None)
    if cache is None:
        cache = server.migrate_links = {}
    return cache


def _close(server, name: bytes) -> None:
    link = _cache(server).pop(name, None)
    if link is not None:
        link.sock.close()


def _close_idle(server) -> None:
    """migrateCloseTimedoutSockets: links unused for more than CACHE_TTL s
    (a cron job from the first MIGRATE on)."""
    now = time.time()
    for name, link in list(_cache(server).items()):
        if now - link.last_use > CACHE_TTL:
            _close(server, name)


def _connect(server, host: bytes, port: bytes, timeout: float) -> _Link | None:
    """The cached link to host:port, or a new one (None: cannot connect)."""
    name = host + b":" + port
    cache = _cache(server)
    link = cache.get(name)
    if link is not None:
        link.last_use = time.time()
        return link
    if len(cache) >= CACHE_ITEMS:
        _close(server, random.choice(list(cache)))
    sock = _nonblocking_connect(host.decode("utf-8", "surrogateescape"),
                                str(_atoi(port)), timeout)
    if sock is None:
        return None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    link = cache[name] = _Link(sock)
    if not getattr(server, "migrate_cron", None):
        server.migrate_cron = True
        server.cron_jobs.append(lambda: _close_idle(server))
    return link


def _nonblocking_connect(host: str, port: str, timeout: float):
    """Redis's blocking connect: a non-blocking connect() to the first
    address that accepts one, then a wait (up to ``timeout``) for the socket
    to be writable; whether the connection really succeeded is only learnt
    when writing (as in Redis)."""
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except (OSError, ValueError):      # ValueError: NUL or bad UTF-8 in the host
        return None
    for family, kind, proto, _, addr in infos:
        try:
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            err = sock.connect_ex(addr)
        except OSError:
            continue
        if err in (0, errno.EINPROGRESS):
            select.select([], [sock], [], timeout)
            return sock
        sock.close()
    return None


# -- the command ---------------------------------------------------------------
@command("migrate", -6, "write", keys=(3, 3, 1), group="generic", acl="dangerous",
         since="2.6.0", getkeys=migrate_keys,
         summary="Moves keys to another Redis instance (DUMP, RESTORE, DEL).")
def migrate(c, argv):
    copy = replace = False
    user = password = None
    first, nkeys = 3, 1
    n = len(argv)
    j = 6
    while j < n:
        opt = argv[j].lower()
        more = n - 1 - j
        if opt == b"copy":
            copy = True
        elif opt == b"replace":
            replace = True
        elif opt == b"auth":
            if not more:
                raise RedisError(SYNTAX)
            j += 1
            password = argv[j]
        elif opt == b"auth2":
            if more < 2:
                raise RedisError(SYNTAX)
            user, password = argv[j + 1], argv[j + 2]
            j += 2
        elif opt == b"keys":
            if argv[3]:
                raise RedisError(KEYS_NEEDS_EMPTY)
            first, nkeys = j + 1, n - j - 1
            break
        else:
            raise RedisError(SYNTAX)
        j += 1
    timeout = parse_int(argv[5])
    dbid = parse_int(argv[4])
    if timeout <= 0:
        timeout = 1000
    db = c.db
    found = []
    for key in argv[first:first + nkeys]:
        value = db.read(key)
        if value is not None:
            found.append((key, value))
    if not found:
        return NOKEY
    # (seconds, within what a socket timeout can express: ~31 years)
    return _transfer(c, argv[1], argv[2], dbid, min(timeout / 1000, MAX_WAIT), found,
                     copy, replace, user, password)


def _transfer(c, host, port, dbid, timeout, found, copy, replace, user, password):
    """Send the keys, read the replies, delete what the target acknowledged."""
    srv = c.server
    db = c.db
    name = host + b":" + port
    opts = rdb.Options.from_config(srv.config)
    retry = True
    while True:
        link = _connect(srv, host, port, timeout)
        if link is None:
            raise RedisError(IOERR_CONNECT)
        cmds = []
        if password is not None:
            cmds.append([b"AUTH", user, password] if user is not None else [b"AUTH", password])
        select_db = link.last_dbid != dbid
        if select_db:
            cmds.append([b"SELECT", b"%d" % dbid])
        keys = []
        now = srv.now_ms()
        for key, value in found:
            ttl = 0
            when = db.expires.get(key) if db.expires else None
            if when is not None:
                ttl = when - now
                if ttl < 0:
                    continue        # expired since it was looked up
                ttl = max(ttl, 1)
            keys.append(key)
            cmd = [b"RESTORE", key, b"%d" % ttl, rdb.dump_payload(value, opts)]
            if replace:
                cmd.append(b"REPLACE")
            cmds.append(cmd)
        req = b"".join(map(encode_command, cmds))
        writing = True
        done = 0                        # RESTORE replies read
        target_error = None
        deleted = []
        try:
            sock = link.sock
            sock.setblocking(True)
            sock.settimeout(timeout)
            for pos in range(0, len(req), CHUNK):
                sock.sendall(req[pos:pos + CHUNK])
            writing = False
            auth_reply = link.read_line(timeout) if password is not None else b"+"
            select_reply = link.read_line(timeout) if select_db else b"+"
            for key in keys:
                reply = link.read_line(timeout)
                done += 1
                err = next((r for r in (auth_reply, select_reply, reply)
                            if r[:1] == b"-"), None)
                if err is not None:
                    if target_error is None:
                        link.last_dbid = -1
                        target_error = err[1:]
                elif not copy:
                    db.delete(key)
                    notify(srv, GENERIC, "del", key, db.id)
                    srv.dirty += 1
                    deleted.append(key)
        except OSError as e:
            timed_out = isinstance(e, TimeoutError)
            _close(srv, name)
            if deleted:
                c.prop_argv = [b"DEL", *deleted]
            if retry and not timed_out and done == 0 and target_error is None:
                retry = False
                continue
            if target_error is not None:
                break
            raise RedisError(IOERR.format("writing" if writing else "reading"))
        if deleted:
            c.prop_argv = [b"DEL", *deleted]
        break
    if target_error is not None:
        text = target_error.decode("utf-8", "replace")
        raise RedisError(f"ERR Target instance replied with error: {text}")
    link.last_dbid = dbid
    return OK
