"""Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET, CLIENT."""

from __future__ import annotations

import time

from redpoll import REDIS_COMPAT_VERSION
from redpoll.client import F_CLOSE_AFTER_REPLY, F_MASTER, F_REPLICA
from redpoll.commands.table import command, subcommand
from redpoll.errors import (
    DB_INDEX, NOT_INTEGER, WRONGPASS, RedisError, wrong_arity)
from redpoll.protocol.resp import OK, PONG, Map, Push

G = "connection"


@command("ping", -1, "fast sentinel", group=G, summary="Returns the server's liveliness response.")
def ping(c, argv):
    if len(argv) > 2:
        raise wrong_arity("ping")
    if c.resp == 2 and (c.channels or c.patterns):
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, "fast", group=G, summary="Returns the given string.")
def echo(c, argv):
    return argv[1]


@command("quit", -1, "allow_busy noscript loading stale fast no_auth", group=G,
         summary="Closes the connection.")
def quit_(c, argv):
    c.flags |= F_CLOSE_AFTER_REPLY
    return OK


@command("select", 2, "loading stale fast", group=G, summary="Changes the selected database.")
def select(c, argv):
    try:
        idx = int(argv[1])
    except ValueError:
        raise RedisError(NOT_INTEGER)
    if not 0 <= idx < len(c.server.dbs):
        raise RedisError(DB_INDEX)
    c.db = c.server.dbs[idx]
    return OK


def authenticate(c, username: bytes | None, password: bytes) -> None:
    """AUTH / HELLO AUTH: attach the client to a user or raise WRONGPASS."""
    srv = c.server
    if username is None:
        if not srv.auth_required():
            raise RedisError(
                "ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?")
        name = "default"
    else:
        name = username.decode("utf-8", "surrogateescape")
    user = srv.acl.authenticate(name, password)
    if user is None:
        if hasattr(srv.acl, "log_auth_failure"):
            srv.acl.log_auth_failure(c, name)
        raise RedisError(WRONGPASS)
    c.user = user
    if not c.authenticated:
        c.authenticated = True
        c.reader.strict = False


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group=G,
         summary="Authenticates the connection.")
def auth(c, argv):
    if len(argv) > 3:
        raise RedisError("ERR syntax error")
    if len(argv) == 2:
        authenticate(c, None, argv[1])
    else:
        authenticate(c, argv[1], argv[2])
    return OK


def hello_map(c) -> Map:
    srv = c.server
    role = "replica" if srv.masterhost is not None else "master"
    if srv.sentinel_mode:
        mode = "sentinel"
    else:
        mode = "standalone"
    return Map([(b"server", b"redis"), (b"version", REDIS_COMPAT_VERSION.encode()),
                (b"proto", c.resp), (b"id", c.id), (b"mode", mode.encode()),
                (b"role", role.encode()), (b"modules", [])])


@command("hello", -1, "noscript loading stale fast no_auth sentinel allow_busy", group=G,
         summary="Handshakes with the Redis server.")
def hello(c, argv):
    ver = None
    i = 1
    if len(argv) >= 2:
        try:
            ver = int(argv[1])
        except ValueError:
            raise RedisError("ERR Protocol version is not an integer or out of range")
        i = 2
        if ver < 2 or ver > 3:
            raise RedisError("NOPROTO unsupported protocol version")
    setname = None
    while i < len(argv):
        opt = argv[i].lower()
        more = len(argv) - i - 1
        if opt == b"auth" and more >= 2:
            authenticate(c, argv[i + 1], argv[i + 2])
            i += 3
        elif opt == b"setname" and more >= 1:
            setname = argv[i + 1]
            i += 2
        else:
            raise RedisError(f"ERR Syntax error in HELLO option '{argv[i].decode(errors='replace')}'")
    if not c.authenticated:
        raise RedisError("NOAUTH HELLO must be called with the client already "
                         "authenticated, otherwise the HELLO <proto> AUTH <user> <pass> "
                         "option can be used to authenticate the client and select the "
                         "RESP protocol version at the same time")
    if setname is not None:
        check_client_name(setname)
        c.name = setname or None
    if ver is not None:
        c.resp = ver
    return hello_map(c)


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group=G,
         summary="Resets the connection.")
def reset(c, argv):
    srv = c.server
    if c.flags & 0x8:  # in MULTI
        c.multi_queue = None
    from redpoll.client import F_MULTI, F_DIRTY_EXEC, F_DIRTY_CAS, REPLY_ON
    c.flags &= ~(F_MULTI | F_DIRTY_EXEC | F_DIRTY_CAS)
    c.multi_queue = None
    srv.unwatch_all(c)
    for fn in getattr(srv, "reset_hooks", ()):
        fn(c)
    c.db = srv.dbs[0]
    c.resp = 2
    c.name = None
    c.reply_mode = REPLY_ON
    c.user = srv.acl.default_user
    c.authenticated = not srv.auth_required()
    c.reader.strict = not c.authenticated
    return Status_RESET


from redpoll.protocol.resp import Status  # noqa: E402

Status_RESET = Status("RESET")


def check_client_name(name: bytes) -> None:
    for ch in name:
        if ch < 33 or ch > 126:
            raise RedisError("ERR Client names cannot contain spaces, newlines or special characters.")


# -- CLIENT ----------------------------------------------------------------------

def client_info_line(c) -> str:
    now = time.time()
    db = c.db.id if c.db is not None else 0
    name = (c.name or b"").decode("utf-8", "replace")
    multi = len(c.multi_queue) if c.multi_queue is not None else -1
    user = c.user.name if c.user is not None else "default"
    qbuf = c.reader.pending() if c.reader is not None else 0
    obl = sum(len(x) for x in c.out)
    last = c.last_cmd if isinstance(c.last_cmd, str) else c.last_cmd.decode("utf-8", "replace")
    return (f"id={c.id} addr={c.addr} laddr={c.laddr} fd={c.fd} name={name} "
            f"age={int(now - c.ctime)} idle={int(now - c.last_interaction)} "
            f"flags={c.flag_string()} db={db} sub={len(c.channels)} psub={len(c.patterns)} "
            f"ssub=0 multi={multi} qbuf={qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 "
            f"rbs=1024 rbp=0 obl={obl} oll=0 omem=0 tot-mem=0 events=r "
            f"cmd={last} user={user} redir=-1 resp={c.resp}"
            + (f" lib-name={(c.lib_name or b'').decode(errors='replace')}"
               f" lib-ver={(c.lib_ver or b'').decode(errors='replace')}"))


@subcommand("client", "id", 2, "noscript loading stale", group=G, summary="Returns the unique client ID of the connection.")
def client_id(c, argv):
    return c.id


@subcommand("client", "setname", 3, "noscript loading stale", group=G, summary="Sets the connection name.")
def client_setname(c, argv):
    check_client_name(argv[2])
    c.name = argv[2] or None
    return OK


@subcommand("client", "getname", 2, "noscript loading stale", group=G, summary="Returns the name of the connection.")
def client_getname(c, argv):
    return c.name


@subcommand("client", "setinfo", 4, "noscript loading stale", group=G, summary="Sets information specific to the client or connection.")
def client_setinfo(c, argv):
    attr = argv[2].lower()
    val = argv[3]
    if attr not in (b"lib-name", b"lib-ver"):
        raise RedisError(f"ERR Unrecognized option '{argv[2].decode(errors='replace')}'")
    for ch in val:
        if ch < 33 or ch > 126:
            raise RedisError(f"ERR {attr.decode()} cannot contain spaces, newlines or special characters.")
    if attr == b"lib-name":
        c.lib_name = val
    else:
        c.lib_ver = val
    return OK


@subcommand("client", "info", 2, "noscript loading stale", group=G, summary="Returns information about the connection.")
def client_info(c, argv):
    from redpoll.protocol.resp import Verbatim
    return Verbatim((client_info_line(c) + "\n").encode())


@subcommand("client", "list", -2, "admin noscript loading stale", group=G, summary="Lists open connections.")
def client_list(c, argv):
    from redpoll.protocol.resp import Verbatim
    clients = sorted(c.server.clients.values(), key=lambda x: x.id)
    if len(argv) > 2:
        opt = argv[2].lower()
        if opt == b"type" and len(argv) == 4:
            t = argv[3].lower()
            want = {b"normal": lambda x: not x.flags & (F_REPLICA | F_MASTER) and not (x.channels or x.patterns),
                    b"replica": lambda x: x.flags & F_REPLICA, b"slave": lambda x: x.flags & F_REPLICA,
                    b"master": lambda x: x.flags & F_MASTER,
                    b"pubsub": lambda x: x.channels or x.patterns}.get(t)
            if want is None:
                raise RedisError(f"ERR Unknown client type '{argv[3].decode(errors='replace')}'")
            clients = [x for x in clients if want(x)]
        elif opt == b"id" and len(argv) >= 4:
            ids = set()
            for a in argv[3:]:
                try:
                    v = int(a)
                except ValueError:
                    raise RedisError("ERR Invalid client ID")
                if v <= 0:
                    raise RedisError("ERR Invalid client ID")
                ids.add(v)
            clients = [x for x in clients if x.id in ids]
        else:
            raise RedisError("ERR syntax error")
    return Verbatim("".join(client_info_line(x) + "\n" for x in clients).encode())
