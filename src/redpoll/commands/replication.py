"""Replication commands: REPLICAOF/SLAVEOF, REPLCONF, PSYNC/SYNC, ROLE, WAIT,
FAILOVER. The machinery is in :mod:`redpoll.replication`."""

from __future__ import annotations

from redpoll.client import F_MASTER, F_REPLICA
from redpoll.commands.string import parse_int, parse_range_int
from redpoll.commands.table import command
from redpoll.errors import SYNTAX, RedisError
from redpoll.log import log
from redpoll.protocol.resp import OK, Status

G = "server"


def _repl(c):
    return c.server.repl


@command("replicaof", 3, "admin noscript stale no_async_loading", group=G,
         summary="Configures a server as replica of another, or promotes it to a master.",
         since="5.0.0")
def replicaof(c, argv):
    srv = c.server
    repl = _repl(c)
    if srv.config["cluster-enabled"]:
        raise RedisError("ERR REPLICAOF not allowed in cluster mode.")
    if repl.failover_state != "no-failover":
        raise RedisError("ERR REPLICAOF not allowed while failing over.")
    if argv[1].lower() == b"no" and argv[2].lower() == b"one":
        if srv.masterhost is not None:
            repl.unset_master()
            log.notice(f"MASTER MODE enabled (user request from '{c.describe()}')")
        return OK
    if c.flags & F_REPLICA:
        raise RedisError("ERR Command is not valid when client is a replica.")
    port = parse_range_int(argv[2], 0, 65535, "ERR Invalid master port")
    host = argv[1].decode("utf-8", "surrogateescape")
    if srv.masterhost == host and repl.masterport == port:
        log.notice("REPLICAOF would result into synchronization with the master we are "
                   "already connected with. No operation performed.")
        return Status("OK Already connected to specified master")
    repl.set_master(host, port)
    log.notice(f"REPLICAOF {host}:{port} enabled (user request from '{c.describe()}')")
    return OK


@command("slaveof", 3, "admin noscript stale no_async_loading", group=G,
         summary="Sets a Redis server as a replica of another, or promotes it to being a master.")
def slaveof(c, argv):
    return replicaof(c, argv)


@command("replconf", -1, "admin noscript loading stale allow_busy", group=G,
         summary="An internal command for configuring the replication stream.",
         since="3.0.0")
def replconf(c, argv):
    from redpoll.replication.primary import ReplicaInfo
    from redpoll.server import NO_REPLY
    if len(argv) % 2 == 0:
        raise RedisError(SYNTAX)
    repl = _repl(c)
    rs = c.replica_state
    if rs is None:
        rs = c.replica_state = ReplicaInfo()
    for i in range(1, len(argv), 2):
        opt = argv[i].lower()
        val = argv[i + 1]
        if opt == b"listening-port":
            rs.listening_port = parse_int(val)
        elif opt == b"ip-address":
            if len(val) >= 46:
                raise RedisError(f"ERR REPLCONF ip-address provided by replica instance "
                                 f"is too long: {len(val)} bytes")
            rs.ip = val.decode("utf-8", "replace")
        elif opt == b"capa":
            rs.capa.add(val.lower().decode("utf-8", "replace"))
        elif opt == b"ack":
            # From a replica only, and never answered.
            if c.flags & F_REPLICA:
                try:
                    offset = parse_int(val)
                except RedisError:
                    return NO_REPLY
                repl.primary.ack(c, offset)
            return NO_REPLY
        elif opt == b"getack":
            if c.flags & F_MASTER and repl.link is not None:
                repl.link.send_ack()
            return NO_REPLY
        elif opt == b"rdb-only":
            # redis-cli --rdb: send the snapshot only, then close
            v = parse_int(val)
            if v not in (0, 1):
                raise RedisError(SYNTAX)
            rs.rdb_only = bool(v)
        else:
            raise RedisError("ERR Unrecognized REPLCONF option: "
                             + argv[i].decode("utf-8", "replace"))
    return OK


def _sync(c, argv, psync: bool):
    from redpoll.server import NO_REPLY
    srv = c.server
    repl = _repl(c)
    if c.flags & F_REPLICA:
        return NO_REPLY
    if psync and len(argv) > 3 and argv[3].lower() == b"failover":
        _failover_request(c, argv)
    if srv.masterhost is not None and (repl.link is None or repl.link.state != "connected"):
        raise RedisError("NOMASTERLINK Can't SYNC while not connected with my master")
    if c.out:
        raise RedisError("ERR SYNC and PSYNC are invalid with pending output")
    if psync:
        replid = argv[1].decode("utf-8", "replace")
        try:
            offset = parse_int(argv[2])
        except RedisError:
            offset = -1
    else:
        replid, offset = None, -1
    repl.primary.sync(c, replid, offset)
    return NO_REPLY


def _failover_request(c, argv) -> None:
    """PSYNC replid offset FAILOVER: our primary hands its role over to us."""
    srv = c.server
    repl = _repl(c)
    if srv.masterhost is None:
        raise RedisError("ERR PSYNC FAILOVER can't be sent to a master.")
    if argv[1].decode("utf-8", "replace") != repl.replid:
        raise RedisError("ERR PSYNC FAILOVER replid must match my replid.")
    log.notice(f"Failover request received for replid {repl.replid}.")
    repl.unset_master()


@command("psync", -3, "admin noscript no_async_loading no_multi", group=G,
         summary="An internal command used in replication.", since="2.8.0")
def psync(c, argv):
    return _sync(c, argv, True)


@command("sync", 1, "admin noscript no_async_loading no_multi", group=G,
         summary="An internal command used in replication.")
def sync(c, argv):
    return _sync(c, argv, False)


@command("role", 1, "noscript loading stale fast", group=G, acl="admin dangerous",
         summary="Returns the replication role.", since="2.8.12")
def role(c, argv):
    return _repl(c).role_reply()


@command("wait", 3, "noscript", group="connection",
         summary="Blocks until the asynchronous replication of all preceding write "
                 "commands sent by the connection is completed.", since="3.0.0")
def wait(c, argv):
    srv = c.server
    if srv.masterhost is not None:
        raise RedisError(
            "ERR WAIT cannot be used with replica instances. Please also note that since "
            "Redis 4.0 if a replica is configured to be writable (which is not the "
            "default) writes to replicas are just local and are not propagated.")
    numreplicas = parse_int(argv[1])
    timeout = parse_int(argv[2], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise RedisError("ERR timeout is negative")
    return _repl(c).primary.wait(c, numreplicas, timeout)


@command("failover", -1, "admin noscript stale", group=G,
         summary="Starts a coordinated failover from a server to one of its replicas.",
         since="6.2.0")
def failover(c, argv):
    srv = c.server
    repl = _repl(c)
    fo = repl.failover
    if srv.config["cluster-enabled"]:
        raise RedisError("ERR FAILOVER not allowed in cluster mode.")
    if len(argv) == 2 and argv[1].lower() == b"abort":
        if repl.failover_state == "no-failover":
            raise RedisError("ERR No failover in progress.")
        fo.abort("Failover manually aborted")
        return OK
    timeout = 0
    force = False
    host, port = None, 0
    j = 1
    while j < len(argv):
        opt = argv[j].lower()
        if opt == b"timeout" and j + 1 < len(argv) and timeout == 0:
            timeout = parse_int(argv[j + 1])
            if timeout <= 0:
                raise RedisError("ERR FAILOVER timeout must be greater than 0")
            j += 2
        elif opt == b"to" and j + 2 < len(argv) and host is None:
            port = parse_int(argv[j + 2])
            host = argv[j + 1].decode("utf-8", "surrogateescape")
            j += 3
        elif opt == b"force" and not force:
            force = True
            j += 1
        else:
            raise RedisError(SYNTAX)
    if repl.failover_state != "no-failover":
        raise RedisError("ERR FAILOVER already in progress.")
    if srv.masterhost is not None:
        raise RedisError("ERR FAILOVER is not valid when server is a replica.")
    if not repl.primary.replicas:
        raise RedisError("ERR FAILOVER requires connected replicas.")
    if force and (not timeout or host is None):
        raise RedisError("ERR FAILOVER with force option requires both a timeout and "
                         "target HOST and IP.")
    if host is not None:
        target = repl.primary.find_replica(host, port)
        if target is None:
            raise RedisError("ERR FAILOVER target HOST and PORT is not a replica.")
        if target.replica_state.state != "online":
            raise RedisError("ERR FAILOVER target replica is not online.")
    fo.start(host, port, timeout, force)
    return OK
