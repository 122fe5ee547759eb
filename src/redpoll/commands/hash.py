"""Hash commands: HSET/HGET and friends, counters, HRANDFIELD and HSCAN."""

from __future__ import annotations

import random

from redpoll.commands.generic import scan_pairs_reply, start_value_scan
from redpoll.commands.string import (
    I64_MAX, I64_MIN, format_long_double, parse_int, parse_long_double, round_ld)
from redpoll.commands.table import command
from redpoll.datatypes.hash import RHash
from redpoll.errors import NOT_FLOAT, OVERFLOW, SYNTAX, RedisError, wrong_arity
from redpoll.keyspace import scan_cursors
from redpoll.notify import GENERIC, HASH, notify
from redpoll.protocol.resp import OK, Map

G = "hash"
LONG_MAX = 2**63 - 1


def _event(c, event: str, key: bytes) -> None:
    if c.server.notify_flags:
        notify(c.server, HASH, event, key, c.db.id)


def _hash_for_write(c, key: bytes) -> RHash:
    """hashTypeLookupWriteOrCreate: the hash at key, created if missing."""
    db = c.db
    h = db.get_typed(key, RHash)
    if h is None:
        h = RHash.new()
        db.add(key, h)
    return h


@command("hset", -4, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Creates or modifies the value of a field in a hash.")
def hset(c, argv):
    if len(argv) % 2:
        raise wrong_arity(argv[0].decode(errors="replace").lower())
    key = argv[1]
    srv = c.server
    added = _hash_for_write(c, key).set_pairs(argv[2:], srv.config)
    if srv.notify_flags:
        notify(srv, HASH, "hset", key, c.db.id)
    srv.dirty += (len(argv) - 2) >> 1
    return added


@command("hmset", -4, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Sets the values of multiple fields.")
def hmset(c, argv):
    hset(c, argv)
    return OK


@command("hsetnx", 4, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Sets the value of a field in a hash only when the field doesn't exist.")
def hsetnx(c, argv):
    key = argv[1]
    h = _hash_for_write(c, key)
    if argv[2] in h:
        return 0
    h.set_pairs(argv[2:4], c.server.config)
    _event(c, "hset", key)
    c.server.dirty += 1
    return 1


@command("hget", 3, "readonly fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns the value of a field in a hash.")
def hget(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    return None if h is None else h.get(argv[2])


@command("hmget", -3, "readonly fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns the values of all fields in a hash.")
def hmget(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    if h is None:
        return [None] * (len(argv) - 2)
    get = h.mapping().get
    return [get(f) for f in argv[2:]]


@command("hdel", -3, "write fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.")
def hdel(c, argv):
    key = argv[1]
    h = c.db.get_typed(key, RHash)
    if h is None:
        return 0
    n = 0
    delete = h.delete
    for f in argv[2:]:
        if delete(f):
            n += 1
            if not h:
                break
    if n:
        _event(c, "hdel", key)
        if not h:
            c.db.delete(key)
            if c.server.notify_flags:
                notify(c.server, GENERIC, "del", key, c.db.id)
        c.server.dirty += n
    return n


@command("hexists", 3, "readonly fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Determines whether a field exists in a hash.")
def hexists(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    return 1 if h is not None and argv[2] in h else 0


@command("hlen", 2, "readonly fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns the number of fields in a hash.")
def hlen(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    return 0 if h is None else len(h)


@command("hstrlen", 3, "readonly fast", keys=(1, 1, 1), group=G, since="3.2.0",
         summary="Returns the length of the value of a field.")
def hstrlen(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    v = None if h is None else h.get(argv[2])
    return 0 if v is None else len(v)


@command("hkeys", 2, "readonly", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns all fields in a hash.")
def hkeys(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    return [] if h is None else list(h)


@command("hvals", 2, "readonly", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns all values in a hash.")
def hvals(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    return [] if h is None else list(h.values())


@command("hgetall", 2, "readonly", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns all fields and values in a hash.")
def hgetall(c, argv):
    h = c.db.read_typed(argv[1], RHash)
    return Map() if h is None else Map(h.items())


@command("hincrby", 4, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.")
def hincrby(c, argv):
    incr = parse_int(argv[3])
    key = argv[1]

    def add(cur):
        value = 0 if cur is None else parse_int(cur, "ERR hash value is not an integer")
        new = value + incr
        if new < I64_MIN or new > I64_MAX:
            raise RedisError(OVERFLOW)
        return b"%d" % new
    new = _hash_for_write(c, key).apply(argv[2], add, c.server.config)
    _event(c, "hincrby", key)
    c.server.dirty += 1
    return int(new)


@command("hincrbyfloat", 4, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.6.0",
         summary="Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.")
def hincrbyfloat(c, argv):
    incr = parse_long_double(argv[3])
    if incr is None:
        raise RedisError(NOT_FLOAT)
    if isinstance(incr, float):
        raise RedisError("ERR value is NaN or Infinity")
    key, field = argv[1], argv[2]

    def add(cur):
        if cur is None:
            value = 0
        else:
            value = parse_long_double(cur)
            if value is None:
                raise RedisError("ERR hash value is not a float")
        if isinstance(value, float):
            raise RedisError("ERR increment would produce NaN or Infinity")
        total = round_ld(value + incr)
        if isinstance(total, float):
            raise RedisError("ERR increment would produce NaN or Infinity")
        return format_long_double(total)
    new = _hash_for_write(c, key).apply(field, add, c.server.config)
    _event(c, "hincrbyfloat", key)
    c.server.dirty += 1
    c.prop_argv = [b"HSET", key, field, new]
    return new


@command("hrandfield", -2, "readonly", keys=(1, 1, 1), group=G, since="6.2.0",
         summary="Returns one or more random fields from a hash.")
def hrandfield(c, argv):
    n = len(argv)
    if n == 2:
        h = c.db.read_typed(argv[1], RHash)
        if h is None:
            return None
        return _nth_key(h.mapping(), random.randrange(len(h)))
    count = parse_int(argv[2])
    if count < -LONG_MAX:
        raise RedisError("ERR value is out of range, value must between "
                         "-9223372036854775807 and 9223372036854775807")
    if n > 4 or (n == 4 and argv[3].lower() != b"withvalues"):
        raise RedisError(SYNTAX)
    withvalues = n == 4
    if withvalues and (count < -LONG_MAX // 2 or count > LONG_MAX // 2):
        raise RedisError("ERR value is out of range")
    h = c.db.read_typed(argv[1], RHash)
    if h is None or count == 0:
        return []
    items = list(h.items())
    size = len(items)
    if count < 0:
        picks = [items[random.randrange(size)] for _ in range(-count)]
    elif count >= size:
        picks = items
    else:
        picks = [items[i] for i in random.sample(range(size), count)]
    if not withvalues:
        return [f for f, v in picks]
    if c.resp == 3:
        return [[f, v] for f, v in picks]
    return [x for p in picks for x in p]


def _nth_key(d: dict, i: int):
    for j, k in enumerate(d):
        if j == i:
            return k
    return None


@command("hscan", -3, "readonly", keys=(1, 1, 1), group=G, since="2.8.0",
         summary="Iterates over fields and values of a hash.")
def hscan(c, argv):
    start = start_value_scan(c, argv, RHash)
    if start is None:
        return [b"0", []]
    h, cursor, count, matcher = start
    if h.ht is None:
        h.update_encoding(c.server.config)
    d = h.mapping()
    if not h.ht:                    # listpack: everything at once, in order
        nxt, batch = 0, list(d)
    else:
        nxt, batch = scan_cursors(c.server).scan(cursor, d, count)
    return scan_pairs_reply(nxt, batch, d, matcher)
