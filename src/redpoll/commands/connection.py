"""Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET, CLIENT.

Replies and errors follow Redis 7.0.15 (``networking.c``, ``server.c``).
7.0 has no CLIENT SETINFO: like 7.0 it answers ``unknown subcommand``, which
redis-py 8 ignores when it opens a connection.

CLIENT PAUSE postpones requests through ``server.pause_check`` (called by
``Server.execute`` while a pause is on); CLIENT UNBLOCK uses the blocking
room's ``server.unblock_hook``; CLIENT TRACKING keeps its per-client state in
``client.tracking`` and the invalidation machinery in :mod:`redpoll.tracking`.
"""

from __future__ import annotations

import time

from redpoll import REDIS_COMPAT_VERSION
from redpoll.client import (
    F_CLOSE_AFTER_REPLY, F_DIRTY_CAS, F_DIRTY_EXEC, F_MASTER, F_MONITOR, F_MULTI,
    F_NO_EVICT, F_PUBSUB, F_READONLY, F_REPLICA, REPLY_OFF, REPLY_ON, REPLY_SKIP,
    REPLY_SKIP_NEXT)
from redpoll.commands.help import help_reply
from redpoll.commands.string import parse_int
from redpoll.commands.table import MAY_REPLICATE, WRITE, command, subcommand
from redpoll.errors import DB_INDEX, SYNTAX, WRONGPASS, RedisError
from redpoll.protocol.resp import OK, PONG, Map, Set, Status, Verbatim

G = "connection"
RESET_REPLY = Status("RESET")


@command("ping", -1, "fast sentinel", group=G, summary="Returns the server's liveliness response.")
def ping(c, argv):
    if len(argv) > 2:
        raise RedisError("ERR wrong number of arguments for 'ping' command")
    if c.resp == 2 and c.flags & F_PUBSUB:
        return [b"pong", argv[1] if len(argv) == 2 else b""]
    return argv[1] if len(argv) == 2 else PONG


@command("echo", 2, "loading stale fast", group=G, summary="Returns the given string.")
def echo(c, argv):
    return argv[1]


@command("quit", -1, "allow_busy noscript loading stale fast no_auth", group=G,
         summary="Closes the connection.")
def quit_(c, argv):
    c.flags |= F_CLOSE_AFTER_REPLY
    return OK


@command("select", 2, "loading stale fast", group=G, summary="Changes the selected database.")
def select(c, argv):
    idx = parse_int(argv[1])
    if not 0 <= idx < len(c.server.dbs):
        raise RedisError(DB_INDEX)
    c.db = c.server.dbs[idx]
    return OK


# -- authentication --------------------------------------------------------------

def authenticate(c, username: bytes, password: bytes) -> None:
    """AUTH / HELLO AUTH: attach the client to a user or raise WRONGPASS
    (and log the failure in ACL LOG)."""
    srv = c.server
    name = username.decode("utf-8", "surrogateescape")
    user = srv.acl.authenticate(name, password)
    if user is None:
        obj = c.argv[0].decode("utf-8", "replace") if c.argv else "AUTH"
        srv.acl.log_denied(c, "auth", "toplevel", obj, name)
        raise RedisError(WRONGPASS)
    c.user = user
    c.authenticated = True
    c.reader.strict = False


@command("auth", -2, "noscript loading stale fast no_auth allow_busy", group=G,
         summary="Authenticates the connection.")
def auth(c, argv):
    if len(argv) > 3:
        raise RedisError(SYNTAX)
    if len(argv) == 2:
        if c.server.acl.default_user.nopass:
            raise RedisError(
                "ERR AUTH <password> called without any password configured for the "
                "default user. Are you sure your configuration is correct?")
        authenticate(c, b"default", argv[1])
    else:
        authenticate(c, argv[1], argv[2])
    return OK


def hello_map(c) -> Map:
    """HELLO's reply (the same fields and order as Redis 7.0)."""
    srv = c.server
    fields = [(b"server", b"redis"), (b"version", REDIS_COMPAT_VERSION.encode()),
              (b"proto", c.resp), (b"id", c.id),
              (b"mode", b"sentinel" if srv.sentinel_mode else b"standalone")]
    if not srv.sentinel_mode:
        fields.append((b"role", b"replica" if srv.masterhost is not None else b"master"))
    fields.append((b"modules", []))
    return Map(fields)


@command("hello", -1, "noscript loading stale fast no_auth sentinel allow_busy", group=G,
         summary="Handshakes with the Redis server.", since="6.0.0")
def hello(c, argv):
    ver = 0
    i = 1
    if len(argv) >= 2:
        ver = parse_int(argv[1], "ERR Protocol version is not an integer or out of range")
        i = 2
        if ver < 2 or ver > 3:
            raise RedisError("NOPROTO unsupported protocol version")
    username = password = setname = None
    while i < len(argv):
        opt = argv[i].lower()
        more = len(argv) - i - 1
        if opt == b"auth" and more >= 2:
            username, password = argv[i + 1], argv[i + 2]
            i += 3
        elif opt == b"setname" and more >= 1:
            setname = argv[i + 1]
            check_client_name(setname)
            i += 2
        else:
            raise RedisError(
                f"ERR Syntax error in HELLO option '{argv[i].decode('utf-8', 'replace')}'")
    if username is not None:
        authenticate(c, username, password)
    if not c.authenticated:
        raise RedisError(
            "NOAUTH HELLO must be called with the client already authenticated, "
            "otherwise the HELLO AUTH <user> <pass> option can be used to "
            "authenticate the client and select the RESP protocol version at the "
            "same time")
    if setname is not None:
        c.name = setname or None
    if ver:
        c.resp = ver
    return hello_map(c)


@command("reset", 1, "noscript loading stale fast no_auth allow_busy", group=G,
         summary="Resets the connection.", since="6.2.0")
def reset(c, argv):
    """clearClientConnectionState: everything back to a fresh connection
    (the library name and version are kept, as in Redis)."""
    srv = c.server
    if c.tracking is not None:
        tracking_off(c)
    c.db = srv.dbs[0]
    c.resp = 2
    acl = srv.acl
    c.user = acl.default_user
    c.authenticated = not acl.auth_required()
    c.reader.strict = not c.authenticated
    c.multi_queue = None
    c.flags &= ~(F_MULTI | F_DIRTY_EXEC | F_DIRTY_CAS)
    srv.unwatch_all(c)
    for fn in getattr(srv, "reset_hooks", ()):
        fn(c)
    if c.flags & F_MONITOR:
        if c in srv.monitors:
            srv.monitors.remove(c)
        c.flags &= ~(F_MONITOR | F_REPLICA)
    c.name = None
    c.flags &= ~(F_READONLY | F_NO_EVICT)
    c.reply_mode = REPLY_ON
    return RESET_REPLY


def check_client_name(name: bytes) -> None:
    for ch in name:
        if ch < 33 or ch > 126:
            raise RedisError("ERR Client names cannot contain spaces, newlines or "
                             "special characters.")


# -- CLIENT: introspection -------------------------------------------------------

def client_type(c) -> str:
    """getClientType: normal, replica, master or pubsub (for TYPE filters)."""
    if c.flags & F_MASTER:
        return "master"
    if c.flags & F_REPLICA and not c.flags & F_MONITOR:
        return "replica"
    if c.flags & F_PUBSUB:
        return "pubsub"
    return "normal"


_TYPE_NAMES = {b"normal": "normal", b"replica": "replica", b"slave": "replica",
               b"master": "master", b"pubsub": "pubsub"}


def _parse_type(arg: bytes) -> str:
    t = _TYPE_NAMES.get(arg.lower())
    if t is None:
        raise RedisError(f"ERR Unknown client type '{arg.decode('utf-8', 'replace')}'")
    return t


def client_info_line(c) -> str:
    """One line of CLIENT LIST / CLIENT INFO: Redis 7.0's fields, in its order.
    Memory figures are estimates of what this client holds."""
    now = c.server.unixtime
    name = (c.name or b"").decode("utf-8", "replace")
    multi = len(c.multi_queue) if c.multi_queue is not None else -1
    multi_mem = sum(sum(len(a) for a in q[1]) for q in c.multi_queue) if c.multi_queue else 0
    qbuf = c.reader.pending() if c.reader is not None else 0
    argv_mem = sum(len(a) for a in c.argv) if c.argv else 0
    obl = sum(len(x) for x in c.out)
    omem = c.output_buffer_size()
    qbuf_free = 20474 - qbuf if qbuf < 20474 else 0
    last = c.cmd.name if c.cmd is not None else "NULL"   # the last (or running) command
    sub = len(c.channels)
    psub = len(c.patterns)
    ssub = len(getattr(c, "shard_channels", ()))
    redir = c.tracking.get("redirect", 0) if c.tracking is not None else -1
    events = "rw" if c.out else "r"
    return (f"id={c.id} addr={c.addr} laddr={c.laddr} fd={c.fd} name={name} "
            f"age={int(now - c.ctime)} idle={int(now - c.last_interaction)} "
            f"flags={c.flag_string()} db={c.db.id} sub={sub} psub={psub} ssub={ssub} "
            f"multi={multi} qbuf={qbuf} qbuf-free={qbuf_free} argv-mem={argv_mem} "
            f"multi-mem={multi_mem} rbs=16384 rbp=16384 obl={obl} oll=0 omem={omem} "
            f"tot-mem={22000 + qbuf + argv_mem + multi_mem + omem} events={events} "
            f"cmd={last} user={c.user.name if c.user is not None else 'default'} "
            f"redir={redir} resp={c.resp}")


@subcommand("client", "id", 2, "noscript loading stale", group=G,
            summary="Returns the unique client ID of the connection.", since="5.0.0")
def client_id(c, argv):
    return c.id


@subcommand("client", "setname", 3, "noscript loading stale", group=G,
            summary="Sets the connection name.", since="2.6.9")
def client_setname(c, argv):
    check_client_name(argv[2])
    c.name = argv[2] or None
    return OK


@subcommand("client", "getname", 2, "noscript loading stale", group=G,
            summary="Returns the name of the connection.", since="2.6.9")
def client_getname(c, argv):
    return c.name


@subcommand("client", "info", 2, "noscript loading stale", group=G,
            summary="Returns information about the connection.", since="6.2.0")
def client_info(c, argv):
    return Verbatim((client_info_line(c) + "\n").encode())


@subcommand("client", "list", -2, "admin noscript loading stale", group=G,
            summary="Lists open connections.", since="2.4.0")
def client_list(c, argv):
    clients = sorted(c.server.clients.values(), key=lambda x: x.id)
    n = len(argv)
    if n == 4 and argv[2].lower() == b"type":
        t = _parse_type(argv[3])
        clients = [x for x in clients if client_type(x) == t]
    elif n > 3 and argv[2].lower() == b"id":
        ids = set()
        for a in argv[3:]:
            try:
                v = int(a)
            except ValueError:
                v = 0
            if v <= 0:
                raise RedisError("ERR Invalid client ID")
            ids.add(v)
        clients = [x for x in clients if x.id in ids]
    elif n != 2:
        raise RedisError(SYNTAX)
    return Verbatim("".join(client_info_line(x) + "\n" for x in clients).encode())


# -- CLIENT KILL -----------------------------------------------------------------

@subcommand("client", "kill", -3, "admin noscript loading stale", group=G,
            summary="Terminates open connections.", since="2.4.0")
def client_kill(c, argv):
    srv = c.server
    if len(argv) == 3:                       # the old form: CLIENT KILL addr
        addr = argv[2].decode("utf-8", "replace")
        for x in list(srv.clients.values()):
            if x.addr == addr:
                _kill(c, x)
                return OK
        raise RedisError("ERR No such client")
    if len(argv) % 2:
        raise RedisError(SYNTAX)
    filters = []
    skipme = True
    for i in range(2, len(argv), 2):
        opt, val = argv[i].lower(), argv[i + 1]
        if opt == b"id":
            cid = parse_int(val, "ERR client-id should be greater than 0")
            if cid <= 0:
                raise RedisError("ERR client-id should be greater than 0")
            filters.append(lambda x, cid=cid: x.id == cid)
        elif opt == b"type":
            t = _parse_type(val)
            filters.append(lambda x, t=t: client_type(x) == t)
        elif opt == b"addr":
            a = val.decode("utf-8", "replace")
            filters.append(lambda x, a=a: x.addr == a)
        elif opt == b"laddr":
            a = val.decode("utf-8", "replace")
            filters.append(lambda x, a=a: x.laddr == a)
        elif opt == b"user":
            name = val.decode("utf-8", "surrogateescape")
            user = srv.acl.users.get(name)
            if user is None:
                raise RedisError(f"ERR No such user '{val.decode('utf-8', 'replace')}'")
            filters.append(lambda x, u=user: x.user is u)
        elif opt == b"skipme":
            v = val.lower()
            if v == b"yes":
                skipme = True
            elif v == b"no":
                skipme = False
            else:
                raise RedisError(SYNTAX)
        else:
            raise RedisError(SYNTAX)
    killed = 0
    for x in list(srv.clients.values()):
        if x is c and skipme:
            continue
        if all(f(x) for f in filters):
            _kill(c, x)
            killed += 1
    return killed


def _kill(me, target) -> None:
    """Close ``target``; the calling client itself is closed after its reply."""
    if target is me:
        me.flags |= F_CLOSE_AFTER_REPLY
    else:
        target.abort()


# -- CLIENT REPLY / NO-EVICT / UNBLOCK ------------------------------------------

@subcommand("client", "reply", 3, "noscript loading stale", group=G,
            summary="Instructs the server whether to reply to commands.", since="3.2.0")
def client_reply(c, argv):
    from redpoll.server import NO_REPLY
    mode = argv[2].lower()
    if mode == b"on":
        c.reply_mode = REPLY_ON
        return OK
    if mode == b"off":
        c.reply_mode = REPLY_OFF
        return NO_REPLY
    if mode == b"skip":
        if c.reply_mode != REPLY_OFF:
            c.reply_mode = REPLY_SKIP_NEXT
        return NO_REPLY
    raise RedisError(SYNTAX)


@subcommand("client", "no-evict", 3, "admin noscript loading stale", group=G,
            summary="Set client eviction mode for the current connection.", since="7.0.0")
def client_no_evict(c, argv):
    v = argv[2].lower()
    if v == b"on":
        c.flags |= F_NO_EVICT
    elif v == b"off":
        c.flags &= ~F_NO_EVICT
    else:
        raise RedisError(SYNTAX)
    return OK


@subcommand("client", "unblock", -3, "admin noscript loading stale", group=G,
            summary="Unblocks a client blocked by a blocking command from a different "
                    "connection.", since="5.0.0")
def client_unblock(c, argv):
    cid = parse_int(argv[2])
    mode = "timeout"
    if len(argv) == 4:
        how = argv[3].lower()
        if how == b"error":
            mode = "error"
        elif how != b"timeout":
            raise RedisError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
    elif len(argv) > 4:
        raise RedisError(SYNTAX)
    srv = c.server
    target = srv.clients.get(cid)
    if target is None or target.blocked is None or srv.unblock_hook is None:
        return 0
    # blocking.py answers like a timeout, or with -UNBLOCKED for "error"
    return 1 if srv.unblock_hook(target, mode) else 0


# -- CLIENT PAUSE / UNPAUSE ------------------------------------------------------

@subcommand("client", "pause", -3, "admin noscript loading stale", group=G,
            summary="Suspends commands processing.", since="3.0.0")
def client_pause(c, argv):
    ms = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if ms < 0:
        raise RedisError("ERR timeout is negative")
    write_only = False
    if len(argv) == 4:
        mode = argv[3].lower()
        if mode == b"write":
            write_only = True
        elif mode != b"all":
            raise RedisError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    elif len(argv) > 4:
        raise RedisError(SYNTAX)
    pause_clients(c.server, time.time() + ms / 1000.0, write_only)
    return OK


@subcommand("client", "unpause", 2, "admin noscript loading stale", group=G,
            summary="Resumes processing of clients that were paused.", since="6.2.0")
def client_unpause(c, argv):
    unpause_clients(c.server)
    return OK


def pause_clients(srv, until: float, write_only: bool) -> None:
    """Pause clients until ``until`` (a time.time()). As in Redis, a new pause
    keeps the more restrictive mode and the later end of the two."""
    if srv.clients_paused_until:
        write_only = write_only and srv.pause_write_only
        until = max(until, srv.clients_paused_until)
    srv.clients_paused_until = until
    srv.pause_write_only = write_only
    srv.pause_check = _postpone_if_paused
    if _forget_paused not in srv.disconnect_hooks:
        srv.disconnect_hooks.append(_forget_paused)
    handle = getattr(srv, "_pause_timer", None)
    if handle is not None:
        handle.cancel()
    srv._pause_timer = srv.loop.call_later(max(0.0, until - time.time()),
                                           _pause_expired, srv)


def _pause_expired(srv) -> None:
    srv._pause_timer = None
    if not srv.clients_paused_until:
        return
    left = srv.clients_paused_until - time.time()
    if left > 0.0005:
        # the loop's timers have a millisecond grain and may fire a little
        # early: wait for the rest rather than stay paused for good
        srv._pause_timer = srv.loop.call_later(left, _pause_expired, srv)
        return
    unpause_clients(srv)


def unpause_clients(srv) -> None:
    """End the pause: run every postponed request, in arrival order, then
    the input each of those clients buffered meanwhile."""
    srv.clients_paused_until = 0.0
    srv.pause_write_only = False
    srv.epoch += 1              # clients may be plain again (Server.plain)
    handle = getattr(srv, "_pause_timer", None)
    if handle is not None:
        handle.cancel()
        srv._pause_timer = None
    waiting, srv.paused_clients = srv.paused_clients, []
    for cl in waiting:
        argv, cl.paused_argv = cl.paused_argv, None
        cl.paused_input = False
        if cl.closed or argv is None:
            continue
        cl._in_batch = True
        try:
            srv.execute(cl, argv)
            # what Client.process_input does after each command
            if cl.tracking is not None:
                srv.tracking.after_command(cl, argv)
            if cl.reply_mode >= REPLY_SKIP_NEXT:
                cl.reply_mode = REPLY_SKIP if cl.reply_mode == REPLY_SKIP_NEXT else REPLY_ON
        finally:
            cl._in_batch = False
        if cl.paused_argv is None:
            cl.resume_input()
        if cl.out:      # a reply written is an interaction (as Redis's
            cl.last_interaction = time.time()   # writeToClient): no idle kill
        cl.write_replies()


def _postpone_if_paused(c, cmd, argv) -> bool:
    """processCommand's pause check: True if the request was postponed.
    Replicas are never paused; WRITE pauses writes, may-replicate commands
    (PUBLISH, EVAL, ...) and an EXEC whose queue holds any of them."""
    srv = c.server
    if c.flags & F_REPLICA and not c.flags & F_MONITOR:
        return False
    if srv.pause_write_only:
        flags = cmd.flags
        if cmd.name == "exec" and c.multi_queue:
            for qcmd, _ in c.multi_queue:
                flags |= qcmd.flags
        if not flags & (WRITE | MAY_REPLICATE):
            return False
    c.paused_argv = argv
    c.paused_input = True
    srv.paused_clients.append(c)
    return True


def _forget_paused(c) -> None:
    """A disconnecting client: drop its postponed request."""
    srv = c.server
    if c.paused_argv is not None and c in srv.paused_clients:
        srv.paused_clients.remove(c)


# -- CLIENT TRACKING -------------------------------------------------------------

def tracking_off(c) -> None:
    if c.tracking is not None:
        t = getattr(c.server, "tracking", None)
        if t is not None:
            t.forget(c)
    c.tracking = None


@subcommand("client", "tracking", -3, "noscript loading stale", group=G,
            summary="Controls server-assisted client-side caching for the connection.",
            since="6.0.0")
def client_tracking(c, argv):
    srv = c.server
    redirect = 0
    opts = set()
    prefixes: list[bytes] = []
    i = 3
    n = len(argv)
    while i < n:
        o = argv[i].lower()
        more = n - 1 - i
        if o == b"redirect" and more:
            i += 1
            if redirect:
                raise RedisError("ERR A client can only redirect to a single other client")
            redirect = parse_int(argv[i])
            if redirect not in srv.clients:
                raise RedisError("ERR The client ID you want redirect to does not exist")
        elif o in (b"bcast", b"optin", b"optout", b"noloop"):
            opts.add(o.decode())
        elif o == b"prefix" and more:
            i += 1
            prefixes.append(argv[i])
        else:
            raise RedisError(SYNTAX)
        i += 1
    mode = argv[2].lower()
    if mode == b"on":
        cur = c.tracking
        if "bcast" not in opts and prefixes:
            raise RedisError("ERR PREFIX option requires BCAST mode to be enabled")
        if cur is not None and bool(cur.get("bcast")) != ("bcast" in opts):
            raise RedisError(
                "ERR You can't switch BCAST mode on/off before disabling tracking for "
                "this client, and then re-enabling it with a different mode.")
        if "bcast" in opts and opts & {"optin", "optout"}:
            raise RedisError("ERR OPTIN and OPTOUT are not compatible with BCAST")
        if {"optin", "optout"} <= opts:
            raise RedisError("ERR You can't specify both OPTIN mode and OPTOUT mode")
        if cur is not None and (("optin" in opts and cur.get("optout"))
                                or ("optout" in opts and cur.get("optin"))):
            raise RedisError(
                "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for "
                "this client, and then re-enabling it with a different mode.")
        if "bcast" in opts:
            _check_prefix_collisions(cur.get("prefixes", []) if cur else [], prefixes)
        state = dict(cur or {})
        state.update({o: True for o in opts})
        state["redirect"] = redirect
        if "bcast" in opts:
            state["prefixes"] = list(dict.fromkeys(
                (cur.get("prefixes", []) if cur else []) + (prefixes or [b""])))
        c.tracking = state
        from redpoll import tracking
        tracking.get(srv).enable(c)
    elif mode == b"off":
        tracking_off(c)
    else:
        raise RedisError(SYNTAX)
    return OK


def _check_prefix_collisions(existing: list, new: list) -> None:
    def txt(b):
        return b.decode("utf-8", "replace")
    for i, p in enumerate(new):
        for q in existing:
            if p.startswith(q) or q.startswith(p):
                raise RedisError(
                    f"ERR Prefix '{txt(p)}' overlaps with an existing prefix '{txt(q)}'. "
                    "Prefixes for a single client must not overlap.")
        for q in new[i + 1:]:
            if p.startswith(q) or q.startswith(p):
                raise RedisError(
                    f"ERR Prefix '{txt(p)}' overlaps with another provided prefix "
                    f"'{txt(q)}'. Prefixes for a single client must not overlap.")


@subcommand("client", "trackinginfo", 2, "noscript loading stale", group=G,
            summary="Returns information about server-assisted client-side caching for "
                    "the connection.", since="6.2.0")
def client_trackinginfo(c, argv):
    t = c.tracking
    if t is None:
        return Map([(b"flags", Set([b"off"])), (b"redirect", -1), (b"prefixes", [])])
    flags = [b"on"]
    for name in ("bcast", "optin", "optout"):
        if t.get(name):
            flags.append(name.encode())
    if t.get("optin") and t.get("caching") is True:
        flags.append(b"caching-yes")
    if t.get("optout") and t.get("caching") is False:
        flags.append(b"caching-no")
    if t.get("noloop"):
        flags.append(b"noloop")
    if t.get("broken"):
        flags.append(b"broken_redirect")
    redirect = t.get("redirect", 0)
    return Map([(b"flags", Set(flags)), (b"redirect", redirect),
                (b"prefixes", list(t.get("prefixes", [])) if t.get("bcast") else [])])


@subcommand("client", "getredir", 2, "noscript loading stale", group=G,
            summary="Returns the client ID to which the connection's tracking "
                    "notifications are redirected.", since="6.0.0")
def client_getredir(c, argv):
    if c.tracking is None:
        return -1
    return c.tracking.get("redirect", 0)


@subcommand("client", "caching", 3, "noscript loading stale", group=G,
            summary="Instructs the server whether to track the keys in the next request.",
            since="6.0.0")
def client_caching(c, argv):
    t = c.tracking
    if t is None or not (t.get("optin") or t.get("optout")):
        raise RedisError(
            "ERR CLIENT CACHING can be called only when the client is in tracking "
            "mode with OPTIN or OPTOUT mode enabled")
    v = argv[2].lower()
    if v == b"yes":
        if not t.get("optin"):
            raise RedisError("ERR CLIENT CACHING YES is only valid when tracking is "
                             "enabled in OPTIN mode.")
        t["caching"] = True
    elif v == b"no":
        if not t.get("optout"):
            raise RedisError("ERR CLIENT CACHING NO is only valid when tracking is "
                             "enabled in OPTOUT mode.")
        t["caching"] = False
    else:
        raise RedisError(SYNTAX)
    return OK


_CLIENT_HELP = [
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
]


@subcommand("client", "help", 2, "loading stale", group=G,
            summary="Returns helpful text about the different subcommands.", since="5.0.0")
def client_help(c, argv):
    return help_reply(argv, _CLIENT_HELP)

