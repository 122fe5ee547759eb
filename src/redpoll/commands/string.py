"""String commands: GET, SET and friends, counters, ranges."""

from __future__ import annotations

from redpoll.commands.table import command
from redpoll.errors import (
    INVALID_EXPIRE, NOT_INTEGER, OVERFLOW, SYNTAX, WRONGTYPE, RedisError)
from redpoll.protocol.resp import OK

G = "string"
I64_MIN, I64_MAX = -(2**63), 2**63 - 1


def get_string(db, key):
    """The string at key, None if missing, WRONGTYPE for other types."""
    v = db.get(key)
    if v is not None and type(v) is not bytes:
        raise RedisError(WRONGTYPE)
    return v


def parse_int(b: bytes, err: str = NOT_INTEGER) -> int:
    """string2ll: Redis's strict integer parsing (no spaces, no '+', no leading zeros)."""
    try:
        if not b or len(b) > 20 or b[0] in b" +\t" or b[-1] in b" \t\r\n":
            raise ValueError
        v = int(b)
        if len(b) > 1 and (b[0] == 48 or b[:2] == b"-0"):
            raise ValueError
    except ValueError:
        raise RedisError(err)
    if v < I64_MIN or v > I64_MAX:
        raise RedisError(err)
    return v


@command("get", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the string value of a key.")
def get(c, argv):
    db = c.db
    v = db.get(argv[1])
    if v is None:
        c.server.stats.keyspace_misses += 1
        return None
    c.server.stats.keyspace_hits += 1
    if type(v) is not bytes:
        raise RedisError(WRONGTYPE)
    return v


_SET_FLAGS = {b"nx", b"xx", b"get", b"keepttl", b"ex", b"px", b"exat", b"pxat"}


@command("set", -3, "write denyoom", keys=(1, 1, 1), group=G, summary="Sets the string value of a key, ignoring its type.")
def set_(c, argv):
    db = c.db
    key, val = argv[1], argv[2]
    if len(argv) == 3:
        db.set(key, val)
        c.server.dirty += 1
        return OK
    nx = xx = getold = keepttl = False
    unit = None
    when = None
    i = 3
    n = len(argv)
    while i < n:
        o = argv[i].lower()
        if o == b"nx" and not xx:
            nx = True
        elif o == b"xx" and not nx:
            xx = True
        elif o == b"get":
            getold = True
        elif o == b"keepttl" and unit is None:
            keepttl = True
        elif o in (b"ex", b"px", b"exat", b"pxat") and unit is None and not keepttl and i + 1 < n:
            unit = o
            i += 1
            when = parse_int(argv[i])
        else:
            raise RedisError(SYNTAX)
        i += 1
    expire_at = None
    if unit is not None:
        if when <= 0 or (unit in (b"ex", b"exat") and when > I64_MAX // 1000):
            raise RedisError(INVALID_EXPIRE.format("set"))
        if unit == b"ex":
            expire_at = c.server.now_ms() + when * 1000
        elif unit == b"px":
            expire_at = c.server.now_ms() + when
        elif unit == b"exat":
            expire_at = when * 1000
        else:
            expire_at = when
        if expire_at > I64_MAX or expire_at < 0:
            raise RedisError(INVALID_EXPIRE.format("set"))
    old = None
    if getold:
        old = get_string(db, key)
        exists = old is not None or db.get(key) is not None
    else:
        exists = (nx or xx) and db.get(key) is not None
    if (nx and exists) or (xx and not exists):
        return old if getold else None
    db.set(key, val, keep_ttl=keepttl)
    if expire_at is not None:
        db.set_expire(key, expire_at)
        c.prop_argv = [b"SET", key, val, b"PXAT", str(expire_at).encode()]
    elif getold:
        c.prop_argv = [b"SET", key, val] + ([b"KEEPTTL"] if keepttl else [])
    c.server.dirty += 1
    return old if getold else OK


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Set the string value of a key only when the key doesn't exist.")
def setnx(c, argv):
    if c.db.get(argv[1]) is not None:
        return 0
    c.db.set(argv[1], argv[2])
    c.server.dirty += 1
    return 1


def _incr(c, key: bytes, delta: int) -> int:
    db = c.db
    v = get_string(db, key)
    cur = 0 if v is None else parse_int(v)
    new = cur + delta
    if new < I64_MIN or new > I64_MAX:
        raise RedisError(OVERFLOW)
    db.set(key, str(new).encode(), keep_ttl=True)
    c.server.dirty += 1
    return new


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Increments the integer value of a key by one.")
def incr(c, argv):
    return _incr(c, argv[1], 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Decrements the integer value of a key by one.")
def decr(c, argv):
    return _incr(c, argv[1], -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Increments the integer value of a key by a number.")
def incrby(c, argv):
    return _incr(c, argv[1], parse_int(argv[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Decrements a number from the integer value of a key.")
def decrby(c, argv):
    d = parse_int(argv[2])
    if d == I64_MIN:
        raise RedisError("ERR decrement would overflow")
    return _incr(c, argv[1], -d)


@command("mget", -2, "readonly fast", keys=(1, -1, 1), group=G, summary="Atomically returns the string values of one or more keys.")
def mget(c, argv):
    db = c.db
    out = []
    for k in argv[1:]:
        v = db.get(k)
        out.append(v if type(v) is bytes else None)
    return out


@command("mset", -3, "write denyoom", keys=(1, -1, 2), group=G, summary="Atomically creates or modifies the string values of one or more keys.")
def mset(c, argv):
    if len(argv) % 2 == 0:
        from redpoll.errors import wrong_arity
        raise wrong_arity("mset")
    db = c.db
    for i in range(1, len(argv), 2):
        db.set(argv[i], argv[i + 1])
    c.server.dirty += (len(argv) - 1) // 2
    return OK


@command("append", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Appends a string to the value of a key. Creates the key if it doesn't exist.")
def append(c, argv):
    db = c.db
    v = get_string(db, argv[1])
    new = argv[2] if v is None else v + argv[2]
    db.set(argv[1], new, keep_ttl=True)
    c.server.dirty += 1
    return len(new)


@command("strlen", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the length of a string value.")
def strlen(c, argv):
    v = get_string(c.db, argv[1])
    return 0 if v is None else len(v)
