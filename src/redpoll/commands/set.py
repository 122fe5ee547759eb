"""Set commands: membership, SPOP/SRANDMEMBER, SMOVE, the set algebra
(SINTER/SUNION/SDIFF, their STORE forms, SINTERCARD) and SSCAN."""

from __future__ import annotations

import random

from redpoll.commands.generic import start_value_scan
from redpoll.commands.string import parse_int, parse_range_int
from redpoll.commands.table import command
from redpoll.datatypes.set import RSet, is_int_member
from redpoll.errors import SYNTAX, WRONGTYPE, RedisError
from redpoll.keyspace import scan_cursors
from redpoll.notify import GENERIC, SET, notify
from redpoll.protocol.resp import Set

G = "set"
LONG_MAX = 2**63 - 1
POSITIVE = "ERR value is out of range, must be positive"


def _event(c, event: str, key: bytes) -> None:
    if c.server.notify_flags:
        notify(c.server, SET, event, key, c.db.id)


def _del_if_empty(c, key: bytes, s: RSet) -> None:
    if not s:
        c.db.delete(key)
        if c.server.notify_flags:
            notify(c.server, GENERIC, "del", key, c.db.id)


def ordered(s: RSet) -> list:
    """Members in the order Redis returns them for small sets: an intset is
    sorted by value; a hashtable has no meaningful order."""
    if s.ht is False or (s.ht is None and len(s) <= 512 and all(map(is_int_member, s))):
        return sorted(s, key=int)
    return list(s)


def store_collection(c, dst: bytes, value, n: int, event: str, type_flag: int) -> int:
    """Store the result of a *STORE command (sets, sorted sets): ``value``,
    holding ``n`` members, at ``dst`` with keyspace event ``event`` of class
    ``type_flag``; an empty result deletes ``dst`` instead. Returns ``n``."""
    db = c.db
    if n:
        value.update_encoding(c.server.config)
        db.set(dst, value)
        if c.server.notify_flags:
            notify(c.server, type_flag, event, dst, db.id)
        c.server.dirty += 1
    elif db.delete(dst):
        if c.server.notify_flags:
            notify(c.server, GENERIC, "del", dst, db.id)
        c.server.dirty += 1
    return n


def store_set(c, dst: bytes, members, event: str) -> int:
    """Store the members of a *STORE result as a set (deleting dst when empty)."""
    return store_collection(c, dst, RSet(members) if members else None, len(members),
                            event, SET)


@command("sadd", -3, "write denyoom fast", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Adds one or more members to a set. Creates the key if it doesn't exist.")
def sadd(c, argv):
    key = argv[1]
    db = c.db
    srv = c.server
    s = db.get_typed(key, RSet)
    if s is None:
        s = RSet.new()
        db.add(key, s)
    n = s.add_many(argv[2:], srv.config)
    if n:
        if srv.notify_flags:
            notify(srv, SET, "sadd", key, db.id)
        srv.dirty += n
    return n


@command("srem", -3, "write fast", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Removes one or more members from a set. Deletes the set if the last member was removed.")
def srem(c, argv):
    key = argv[1]
    s = c.db.get_typed(key, RSet)
    if s is None:
        return 0
    n = s.remove_many(argv[2:])
    if n:
        _event(c, "srem", key)
        _del_if_empty(c, key, s)
        c.server.dirty += n
    return n


@command("smembers", 2, "readonly", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Returns all members of a set.")
def smembers(c, argv):
    s = c.db.read_typed(argv[1], RSet)
    return Set() if s is None else Set(ordered(s))


@command("sismember", 3, "readonly fast", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Determines whether a member belongs to a set.")
def sismember(c, argv):
    s = c.db.read_typed(argv[1], RSet)
    return 1 if s is not None and argv[2] in s else 0


@command("smismember", -3, "readonly fast", keys=(1, 1, 1), group=G, since="6.2.0",
         summary="Determines whether multiple members belong to a set.")
def smismember(c, argv):
    s = c.db.read_typed(argv[1], RSet)
    if s is None:
        return [0] * (len(argv) - 2)
    ms = s.seq()
    return [1 if m in ms else 0 for m in argv[2:]]


@command("scard", 2, "readonly fast", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Returns the number of members in a set.")
def scard(c, argv):
    s = c.db.read_typed(argv[1], RSet)
    return 0 if s is None else len(s)


def _sample(s: RSet, k: int) -> list:
    return random.sample(list(s), k)


@command("spop", -2, "write fast", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.")
def spop(c, argv):
    if len(argv) > 3:
        raise RedisError(SYNTAX)
    key = argv[1]
    db = c.db
    srv = c.server
    if len(argv) == 2:
        s = db.get_typed(key, RSet)
        if s is None:
            return None
        m = s.pop_random()
        _event(c, "spop", key)
        _del_if_empty(c, key, s)
        srv.dirty += 1
        c.prop_argv = [b"SREM", key, m]
        return m
    count = parse_range_int(argv[2], 0, LONG_MAX, POSITIVE)
    s = db.get_typed(key, RSet)
    if s is None or count == 0:
        return Set()
    if count >= len(s):
        out = ordered(s)
        db.delete(key)
        _event(c, "spop", key)
        if srv.notify_flags:
            notify(srv, GENERIC, "del", key, db.id)
        srv.dirty += 1
        c.prop_argv = [b"DEL", key]
        return Set(out)
    out = _sample(s, count)
    s.difference_update(out)
    if len(s) * 5 <= count:     # Redis's CASE 3 rebuilds the set: fresh encoding
        s.ht = None
    _event(c, "spop", key)
    srv.dirty += 1
    # replicated as one SREM per member, in a MULTI/EXEC when several
    srv.begin_atomic()
    try:
        for m in out:
            srv.propagate(db.id, [b"SREM", key, m])
    finally:
        c.prop_argv = []
        srv.end_atomic()
    return Set(out)


@command("srandmember", -2, "readonly", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Get one or multiple random members from a set")
def srandmember(c, argv):
    n = len(argv)
    if n > 3:
        raise RedisError(SYNTAX)
    if n == 2:
        s = c.db.read_typed(argv[1], RSet)
        if s is None:
            return None
        return _sample(s, 1)[0]
    count = parse_int(argv[2])
    if count < -LONG_MAX:
        raise RedisError("ERR value is out of range, value must between "
                         "-9223372036854775807 and 9223372036854775807")
    s = c.db.read_typed(argv[1], RSet)
    if s is None or count == 0:
        return []
    if count < 0:
        members = list(s)
        return [random.choice(members) for _ in range(-count)]
    if count >= len(s):
        return ordered(s)
    return _sample(s, count)


@command("smove", 4, "write fast", keys=(1, 2, 1), group=G, since="1.0.0",
         summary="Moves a member from one set to another.")
def smove(c, argv):
    src, dst, m = argv[1], argv[2], argv[3]
    db = c.db
    ss = db.get(src)
    ds = db.get(dst)
    if ss is None:
        return 0
    if type(ss) is not RSet or (ds is not None and type(ds) is not RSet):
        raise RedisError(WRONGTYPE)
    if src == dst:
        return 1 if m in ss else 0
    if m not in ss:
        return 0
    ss.remove(m)
    _event(c, "srem", src)
    _del_if_empty(c, src, ss)
    if ds is None:
        ds = RSet.new()
        db.add(dst, ds)
    if ds.add_many((m,), c.server.config):
        _event(c, "sadd", dst)
    c.server.dirty += 1
    return 1


# -- algebra --------------------------------------------------------------------------

def _inputs(c, keys):
    """The input sets (None for missing keys), looked up as reads even by
    the STORE forms, as Redis does (keyspace hits/misses)."""
    read = c.db.read_typed
    return [read(k, RSet) for k in keys]


def compute(op: str, sets) -> set:
    if op == "inter":
        if any(s is None or not s for s in sets):
            return set()
        sets = sorted(sets, key=len)
        out = set(sets[0])
        for s in sets[1:]:
            out.intersection_update(s.seq())
            if not out:
                break
        return out
    if op == "union":
        out = set()
        for s in sets:
            if s:
                out.update(s.seq())
        return out
    first = sets[0]
    if not first:
        return set()
    out = set(first)
    for s in sets[1:]:
        if s:
            out.difference_update(s.seq())
    return out


def _reply_order(members: set) -> list:
    """Like Redis: an all-integer result small enough is an intset (sorted)."""
    if len(members) <= 512 and all(map(is_int_member, members)):
        return sorted(members, key=int)
    return list(members)


def _algebra(c, argv, op: str):
    sets = _inputs(c, argv[1:])
    return Set(_reply_order(compute(op, sets)))


def _algebra_store(c, argv, op: str):
    sets = _inputs(c, argv[2:])
    return store_set(c, argv[1], compute(op, sets), "s" + op + "store")


@command("sinter", -2, "readonly", keys=(1, -1, 1), group=G, since="1.0.0",
         summary="Returns the intersect of multiple sets.")
def sinter(c, argv):
    return _algebra(c, argv, "inter")


@command("sunion", -2, "readonly", keys=(1, -1, 1), group=G, since="1.0.0",
         summary="Returns the union of multiple sets.")
def sunion(c, argv):
    return _algebra(c, argv, "union")


@command("sdiff", -2, "readonly", keys=(1, -1, 1), group=G, since="1.0.0",
         summary="Returns the difference of multiple sets.")
def sdiff(c, argv):
    return _algebra(c, argv, "diff")


@command("sinterstore", -3, "write denyoom", keys=(1, -1, 1), group=G, since="1.0.0",
         summary="Stores the intersect of multiple sets in a key.")
def sinterstore(c, argv):
    return _algebra_store(c, argv, "inter")


@command("sunionstore", -3, "write denyoom", keys=(1, -1, 1), group=G, since="1.0.0",
         summary="Stores the union of multiple sets in a key.")
def sunionstore(c, argv):
    return _algebra_store(c, argv, "union")


@command("sdiffstore", -3, "write denyoom", keys=(1, -1, 1), group=G, since="1.0.0",
         summary="Stores the difference of multiple sets in a key.")
def sdiffstore(c, argv):
    return _algebra_store(c, argv, "diff")


def _sintercard_keys(argv):
    try:
        n = int(argv[1])
    except (ValueError, IndexError):
        return []
    if n < 1 or n + 2 > len(argv):
        return []
    return list(range(2, 2 + n))


@command("sintercard", -3, "readonly", keys=(0, 0, 0), group=G, since="7.0.0",
         getkeys=_sintercard_keys,
         summary="Returns the number of members of the intersect of multiple sets.")
def sintercard(c, argv):
    numkeys = parse_range_int(argv[1], 1, LONG_MAX, "ERR numkeys should be greater than 0")
    if numkeys > len(argv) - 2:
        raise RedisError("ERR Number of keys can't be greater than number of args")
    limit = parse_intercard_limit(argv, 2 + numkeys)
    return intercard([s and s.seq() for s in _inputs(c, argv[2:2 + numkeys])], limit)


def parse_intercard_limit(argv, j: int) -> int:
    """SINTERCARD/ZINTERCARD's options from ``argv[j]`` on: ``[LIMIT n]``
    (0 means no limit)."""
    limit = 0
    n = len(argv)
    while j < n:
        if argv[j].lower() == b"limit" and j + 1 < n:
            limit = parse_int(argv[j + 1], "ERR LIMIT can't be negative")
            if limit < 0:
                raise RedisError("ERR LIMIT can't be negative")
            j += 2
        else:
            raise RedisError(SYNTAX)
    return limit


def intercard(inputs: list, limit: int) -> int:
    """How many members are in every one of ``inputs`` (containers; None for
    a missing key), counting up to ``limit`` (0: no limit); the smallest
    input is walked."""
    if any(not src for src in inputs):
        return 0
    inputs = sorted(inputs, key=len)
    rest = inputs[1:]
    count = 0
    for m in inputs[0]:
        if all(m in src for src in rest):
            count += 1
            if limit and count >= limit:
                break
    return count


@command("sscan", -3, "readonly", keys=(1, 1, 1), group=G, since="2.8.0",
         summary="Iterates over members of a set.")
def sscan(c, argv):
    start = start_value_scan(c, argv, RSet)
    if start is None:
        return [b"0", []]
    s, cursor, count, matcher = start
    if s.ht is None:
        s.update_encoding(c.server.config)
    if not s.ht:                    # intset: everything at once, sorted
        nxt, batch = 0, ordered(s)
    else:
        nxt, batch = scan_cursors(c.server).scan(cursor, s, count)
    ms = s.seq()
    out = [m for m in batch if m in ms and (matcher is None or matcher(m))]
    return [str(nxt).encode(), out]
