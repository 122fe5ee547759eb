"""DUMP and RESTORE: one key's value in Redis's serialisation format.

The payload is the value as in an RDB file, then the RDB version (2 bytes,
little endian) and a CRC-64 of everything before it (8 bytes), so payloads
move between redpoll and Redis in both directions (see
:mod:`redpoll.persistence.rdb`).
"""

from __future__ import annotations

from redpoll.commands.string import parse_int
from redpoll.commands.table import command
from redpoll.errors import SYNTAX, RedisError
from redpoll.notify import GENERIC, notify
from redpoll.persistence import rdb
from redpoll.protocol.resp import OK

G = "generic"
BUSYKEY = "BUSYKEY Target key name already exists."


@command("dump", 2, "readonly", keys=(1, 1, 1), group=G,
         summary="Returns a serialized representation of the value stored at a key.")
def dump(c, argv):
    v = c.db.get(argv[1])
    if v is None:
        return None
    return rdb.dump_payload(v, rdb.Options.from_config(c.server.config))


@command("restore", -4, "write denyoom", keys=(1, 1, 1), group=G, acl="dangerous",
         summary="Creates a key from the serialized representation of a value.")
def restore(c, argv):
    replace = absttl = False
    idle = freq = -1
    j = 4
    n = len(argv)
    while j < n:
        o = argv[j].lower()
        more = n - j - 1
        if o == b"replace":
            replace = True
        elif o == b"absttl":
            absttl = True
        elif o == b"idletime" and more >= 1 and freq == -1:
            idle = parse_int(argv[j + 1])
            if idle < 0:
                raise RedisError("ERR Invalid IDLETIME value, must be >= 0")
            j += 1
        elif o == b"freq" and more >= 1 and idle == -1:
            freq = parse_int(argv[j + 1])
            if freq < 0 or freq > 255:
                raise RedisError("ERR Invalid FREQ value, must be >= 0 and <= 255")
            j += 1
        else:
            raise RedisError(SYNTAX)
        j += 1
    db = c.db
    key = argv[1]
    srv = c.server
    if not replace and db.get(key) is not None:
        raise RedisError(BUSYKEY)
    ttl = parse_int(argv[2])
    if ttl < 0:
        raise RedisError("ERR Invalid TTL value, must be >= 0")
    payload = argv[3]
    if not rdb.verify_payload(payload):
        raise RedisError("ERR DUMP payload version or checksum are wrong")
    try:
        value = rdb.restore_payload(payload, srv.config, srv, c)
    except (rdb.RDBError, IndexError, ValueError):
        raise RedisError("ERR Bad data format")
    if rdb.is_empty(value):
        raise RedisError("ERR Bad data format")
    deleted = db.delete(key) if replace else False
    if ttl and not absttl:
        ttl += srv.now_ms()
    if ttl and ttl <= srv.now_ms() and not srv.loading and srv.masterhost is None:
        if deleted:
            c.prop_argv = [b"DEL", key]
            notify(srv, GENERIC, "del", key, db.id)
            srv.dirty += 1
        return OK
    db.add(key, value)
    if ttl:
        db.set_expire(key, ttl)
        if not absttl:
            pargv = list(argv)
            pargv[2] = str(ttl).encode()
            pargv.append(b"ABSTTL")
            c.prop_argv = pargv
    if freq != -1 or idle != -1:
        a = rdb.access_entry(srv, freq, idle)
        if a is not None:
            db.access[key] = a
    notify(srv, GENERIC, "restore", key, db.id)
    srv.dirty += 1
    return OK


# What MIGRATE sends to a cluster node importing the slot; the same command
# as RESTORE otherwise (the ``asking`` flag only matters in cluster mode).
command("restore-asking", -4, "write denyoom asking", keys=(1, 1, 1), group=G,
        acl="dangerous", since="3.0.0",
        summary="RESTORE for a key being migrated to a cluster node.")(restore)
