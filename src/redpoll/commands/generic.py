"""Generic keyspace commands: DEL, EXISTS, TYPE, KEYS, SCAN, RENAME, COPY,
MOVE, SWAPDB, OBJECT, the EXPIRE/TTL family, SORT, DBSIZE ...

(FLUSHDB/FLUSHALL live in ``commands/server.py``.)
"""

from __future__ import annotations

import copy as _copy
import re

from redpoll import glob
from redpoll.client import F_LUA
from redpoll.commands.help import help_reply
from redpoll.commands.string import already_expired, is_int_string, parse_int
from redpoll.commands.table import TABLE, command, container, subcommand
from redpoll.datatypes import RHash, RList, RSet, Stream, ZSet
from redpoll.errors import (
    DB_INDEX, INVALID_EXPIRE, NO_SUCH_KEY, NOT_INTEGER, SYNTAX, WRONGTYPE,
    RedisError)
from redpoll.keyspace import scan_cursors, type_name
from redpoll.notify import GENERIC, LIST, notify
from redpoll.protocol.resp import OK, Status

G = "generic"
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
SAME_OBJECT = "ERR source and destination objects are the same"


def _int32(b: bytes, err: str | None = None) -> int:
    """getIntFromObjectOrReply: a C int (``err`` replaces both messages)."""
    v = parse_int(b, err or NOT_INTEGER)
    if v < INT_MIN or v > INT_MAX:
        raise RedisError(err or "ERR value is out of range, value must between "
                         f"{INT_MIN} and {INT_MAX}")
    return v


def _categories(name: str, *cats: str) -> None:
    """Set a command's ACL categories exactly (where the group would add
    @keyspace although Redis does not: OBJECT, SORT, SORT_RO)."""
    TABLE[name.encode()].acl_categories = cats


def _db_by_index(c, idx: int):
    dbs = c.server.dbs
    if idx < 0 or idx >= len(dbs):
        raise RedisError(DB_INDEX)
    return dbs[idx]


def _event(c, event: str, key: bytes, dbid: int | None = None) -> None:
    if c.server.notify_flags:
        notify(c.server, GENERIC, event, key, c.db.id if dbid is None else dbid)


# -- DEL / EXISTS / TYPE / TOUCH -------------------------------------------------

def _del(c, argv):
    db = c.db
    n = 0
    for k in argv[1:]:
        if db.get(k) is not None and db.delete(k):
            n += 1
            _event(c, "del", k)
    c.server.dirty += n
    return n


@command("del", -2, "write", keys=(1, -1, 1), group=G, summary="Deletes one or more keys.")
def del_(c, argv):
    return _del(c, argv)


@command("unlink", -2, "write fast", keys=(1, -1, 1), group=G, summary="Asynchronously deletes one or more keys.", since="4.0.0")
def unlink(c, argv):
    return _del(c, argv)


@command("exists", -2, "readonly fast", keys=(1, -1, 1), group=G, summary="Determines whether one or more keys exist.")
def exists(c, argv):
    db = c.db
    return sum(1 for k in argv[1:] if db.read(k) is not None)


@command("touch", -2, "readonly fast", keys=(1, -1, 1), group=G, summary="Returns the number of existing keys out of those specified after updating the time they were last accessed.", since="3.2.1")
def touch(c, argv):
    db = c.db
    return sum(1 for k in argv[1:] if db.read(k) is not None)


@command("type", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Determines the type of value stored at a key.")
def type_(c, argv):
    v = c.db.read(argv[1])
    return Status("none" if v is None else type_name(v))


@command("dbsize", 1, "readonly fast", group="server", acl="keyspace", summary="Returns the number of keys in the database.")
def dbsize(c, argv):
    return len(c.db)


# -- KEYS / SCAN / RANDOMKEY ---------------------------------------------------------

def _live(db, key: bytes) -> bool:
    """True if key exists and is not expired (an expired key is deleted
    here on a primary, as Redis's expireIfNeeded)."""
    if key not in db.data:
        return False
    if db.expires and key in db.expires and db.is_expired(key):
        db.expire_now(key)
        return False
    return True


@command("keys", 2, "readonly", group=G, acl="dangerous", summary="Returns all key names that match a pattern.")
def keys(c, argv):
    db = c.db
    pat = argv[1]
    allkeys = pat == b"*"
    m = None if allkeys else glob.compile(pat)
    out = []
    for k in db.keys():
        if (allkeys or m(k)) and _live(db, k):
            out.append(k)
    return out


_ULONG_RE = re.compile(rb"([+-]?)([0-9]+)")


def parse_scan_cursor(b: bytes) -> int:
    """parseScanCursorOrReply: strtoul() semantics (a sign wraps around, an
    empty string is 0), but no leading space, as Redis checks."""
    if not b:
        return 0
    m = _ULONG_RE.fullmatch(b)
    if not m:
        raise RedisError("ERR invalid cursor")
    v = int(m.group(2))
    if v > 2**64 - 1:
        raise RedisError("ERR invalid cursor")
    if m.group(1) == b"-" and v:
        v = 2**64 - v
    return v


def parse_scan_options(argv, start: int):
    """(count, match function or None, type name or None) of a *SCAN."""
    count = 10
    matcher = None
    typename = None
    i = start
    n = len(argv)
    while i < n:
        o = argv[i].lower()
        left = n - i
        if o == b"count" and left >= 2:
            count = parse_int(argv[i + 1])
            if count < 1:
                raise RedisError(SYNTAX)
        elif o == b"match" and left >= 2:
            pat = argv[i + 1]
            matcher = None if pat == b"*" else glob.compile(pat)
        elif o == b"type" and left >= 2:
            typename = argv[i + 1].decode("utf-8", "replace").lower()
        else:
            raise RedisError(SYNTAX)
        i += 2
    return count, matcher, typename


def start_value_scan(c, argv, typ):
    """HSCAN/SSCAN/ZSCAN's arguments, checked in Redis's order: the cursor,
    the value at ``argv[1]`` (wrong type: error), then COUNT/MATCH (TYPE is a
    syntax error). None when the key is missing (reply ``[0, []]``), else
    (value, cursor, count, matcher)."""
    cursor = parse_scan_cursor(argv[2])
    v = c.db.read_typed(argv[1], typ)
    if v is None:
        return None
    count, matcher, typename = parse_scan_options(argv, 3)
    if typename is not None:
        raise RedisError(SYNTAX)
    return v, cursor, count, matcher


def scan_pairs_reply(nxt: int, batch, d: dict, matcher, fmt=None) -> list:
    """HSCAN/ZSCAN's reply: the next cursor, then the name and value of each
    name of ``batch`` still in ``d`` that matches (the value through ``fmt``
    when given)."""
    out = []
    for k in batch:
        v = d.get(k)
        if v is None or (matcher is not None and not matcher(k)):
            continue
        out.append(k)
        out.append(v if fmt is None else fmt(v))
    return [str(nxt).encode(), out]


@command("scan", -2, "readonly", group=G, summary="Iterates over the key names in the database.", since="2.8.0")
def scan(c, argv):
    cursor = parse_scan_cursor(argv[1])
    count, matcher, typename = parse_scan_options(argv, 2)
    db = c.db
    nxt, batch = scan_cursors(c.server).scan(cursor, db.data, count)
    out = []
    data = db.data
    for k in batch:
        if matcher is not None and not matcher(k):
            continue
        if not _live(db, k):
            continue
        if typename is not None and type_name(data[k]) != typename:
            continue
        out.append(k)
    return [str(nxt).encode(), out]


@command("randomkey", 1, "readonly", group=G, summary="Returns a random key name from the database.")
def randomkey(c, argv):
    return c.db.random_key()


# -- RENAME / MOVE / COPY / SWAPDB -----------------------------------------------------

def _rename(c, argv, nx: bool):
    db = c.db
    src, dst = argv[1], argv[2]
    if db.get(src) is None:
        raise RedisError(NO_SUCH_KEY)
    if src == dst:
        return 0 if nx else OK
    if db.get(dst) is not None and nx:
        return 0
    db.rename(src, dst)
    srv = c.server
    if srv.watched_keys:
        srv.touch_watched(db.id, src)
    _event(c, "rename_from", src)
    _event(c, "rename_to", dst)
    srv.dirty += 1
    return 1 if nx else OK


@command("rename", 3, "write", keys=(1, 2, 1), group=G, summary="Renames a key and overwrites the destination.")
def rename(c, argv):
    return _rename(c, argv, False)


@command("renamenx", 3, "write fast", keys=(1, 2, 1), group=G, summary="Renames a key only when the target key name doesn't exist.")
def renamenx(c, argv):
    return _rename(c, argv, True)


def _cluster_enabled(c) -> bool:
    try:
        return bool(c.server.config["cluster-enabled"])
    except KeyError:
        return False


@command("move", 3, "write fast", keys=(1, 1, 1), group=G, summary="Moves a key to another database.")
def move(c, argv):
    if _cluster_enabled(c):
        raise RedisError("ERR MOVE is not allowed in cluster mode")
    src = c.db
    dst = _db_by_index(c, _int32(argv[2]))
    if src is dst:
        raise RedisError(SAME_OBJECT)
    key = argv[1]
    v = src.get(key)
    if v is None:
        return 0
    if dst.get(key) is not None:
        return 0
    when = src.ttl_ms(key)
    enc = src.forced_encoding(key)
    src.delete(key)
    dst.add(key, v)
    if when is not None:
        dst.set_expire(key, when)
    if enc is not None:
        dst.mark_encoding(key, enc)
    srv = c.server
    if srv.watched_keys:
        srv.touch_watched(dst.id, key)
    _wake(srv, dst.id, key)
    _event(c, "move_from", key, src.id)
    _event(c, "move_to", key, dst.id)
    srv.dirty += 1
    return 1


def _wake(srv, dbid: int, key: bytes) -> None:
    """A key appeared in another db than the client's: serve blocked clients."""
    if (dbid, key) in srv.blocking_keys:
        srv.ready_keys.append((dbid, key))
        if srv.serve_blocked_hook is not None:
            srv.serve_blocked_hook()


def copy_value(v):
    """A deep copy of a value of any type (COPY): containers are new objects,
    members (immutable bytes) are shared."""
    t = type(v)
    if t is bytes:
        return v
    if t is RList:
        return RList(v)
    if t is RSet or t is RHash:
        new = t(v)
        ht = getattr(v, "ht", None)      # the encoding survives a copy
        if ht is not None:
            new.ht = ht
        return new
    method = getattr(v, "copy", None)
    if method is not None and t in (ZSet, Stream):
        r = method()
        if type(r) is t:
            return r
    if t is ZSet and hasattr(v, "sl") and hasattr(v, "dict"):
        new = ZSet()
        new.dict = dict(v.dict)
        new.sl = v.sl.copy()
        return new
    return _copy.deepcopy(v)


@command("copy", -3, "write denyoom", keys=(1, 2, 1), group=G, summary="Copies the value of a key to a new key.", since="6.2.0")
def copy(c, argv):
    src = dst = c.db
    replace = False
    j = 3
    n = len(argv)
    while j < n:
        o = argv[j].lower()
        if o == b"replace":
            replace = True
        elif o == b"db" and j + 1 < n:
            idx = parse_int(argv[j + 1])
            dst = _db_by_index(c, idx)
            j += 1
        else:
            raise RedisError(SYNTAX)
        j += 1
    if _cluster_enabled(c) and (src.id != 0 or dst.id != 0):
        raise RedisError("ERR Copying to another database is not allowed in cluster mode")
    key, newkey = argv[1], argv[2]
    if src is dst and key == newkey:
        raise RedisError(SAME_OBJECT)
    v = src.read(key)
    if v is None:
        return 0
    when = src.ttl_ms(key)
    if dst.get(newkey) is not None:
        if not replace:
            return 0
        dst.delete(newkey)
    dst.add(newkey, copy_value(v))
    if when is not None:
        dst.set_expire(newkey, when)
    enc = src.forced_encoding(key)
    if enc is not None:
        dst.mark_encoding(newkey, enc)
    srv = c.server
    if dst is not src:
        if srv.watched_keys:
            srv.touch_watched(dst.id, newkey)
        _wake(srv, dst.id, newkey)
    _event(c, "copy_to", newkey, dst.id)
    srv.dirty += 1
    return 1


@command("swapdb", 3, "write fast", group="server", acl="keyspace dangerous", summary="Swaps two Redis databases.", since="4.0.0")
def swapdb(c, argv):
    if _cluster_enabled(c):
        raise RedisError("ERR SWAPDB is not allowed in cluster mode")
    id1 = _int32(argv[1], "ERR invalid first DB index")
    id2 = _int32(argv[2], "ERR invalid second DB index")
    srv = c.server
    n = len(srv.dbs)
    if id1 < 0 or id1 >= n or id2 < 0 or id2 >= n:
        raise RedisError(DB_INDEX)
    if id1 != id2:
        a, b = srv.dbs[id1], srv.dbs[id2]
        a.swap(b)
        # WATCHed keys that exist on either side now see a different value
        for (d, key), clients in list(srv.watched_keys.items()):
            if d in (id1, id2) and (key in a.data or key in b.data):
                srv.touch_watched(d, key)
        # clients blocked on keys that now exist can be served
        for (d, key) in list(srv.blocking_keys):
            if d in (id1, id2) and key in srv.dbs[d].data:
                srv.ready_keys.append((d, key))
        if srv.ready_keys and srv.serve_blocked_hook is not None:
            srv.serve_blocked_hook()
    srv.dirty += 1
    return OK


# -- OBJECT --------------------------------------------------------------------------

container("object", -2, group=G, summary="A container for object introspection commands.", since="2.2.3")
_categories("object", "slow")

_OBJECT_HELP = [
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
]

_LFU_NO_IDLE = ("ERR An LFU maxmemory policy is selected, idle time not tracked. "
                "Please note that when switching between policies at runtime LRU "
                "and LFU data will take some time to adjust.")
_LRU_NO_FREQ = ("ERR An LFU maxmemory policy is not selected, access frequency not "
                "tracked. Please note that when switching between policies at "
                "runtime LRU and LFU data will take some time to adjust.")


def _is_int_member(m: bytes) -> bool:
    return is_int_string(m)


def object_encoding(c, db, key: bytes, v) -> str:
    """The encoding Redis 7.0 reports for ``v`` (OBJECT ENCODING), from the
    value and the ``*-max-*`` thresholds. A value class may track its own
    (conversions are one-way in Redis) through an ``encoding`` attribute."""
    t = type(v)
    if t is bytes:
        forced = db.forced_encoding(key)
        if forced is not None:
            return forced
        if is_int_string(v):
            return "int"
        return "embstr" if len(v) <= 44 else "raw"
    cfg = c.server.config
    # the value class knows best: ``encoding`` is the name when known, else
    # a function of the config deciding it (see datatypes/list.py)
    enc = getattr(v, "encoding", None)
    if isinstance(enc, str):
        return enc
    if callable(enc):
        return enc(cfg)
    if t is RList:
        return "quicklist"
    if t is RHash:
        if (len(v) <= cfg["hash-max-listpack-entries"]
                and all(len(f) <= cfg["hash-max-listpack-value"]
                        and len(x) <= cfg["hash-max-listpack-value"]
                        for f, x in v.items())):
            return "listpack"
        return "hashtable"
    if t is RSet:
        if len(v) <= cfg["set-max-intset-entries"] and all(map(_is_int_member, v)):
            return "intset"
        return "hashtable"
    if t is ZSet:
        members = v.dict if hasattr(v, "dict") else ()
        if (len(v) <= cfg["zset-max-listpack-entries"]
                and all(len(m) <= cfg["zset-max-listpack-value"] for m in members)):
            return "listpack"
        return "skiplist"
    if t is Stream:
        return "stream"
    return "raw"


def _lfu_policy(c) -> bool:
    try:
        return "lfu" in str(c.server.config["maxmemory-policy"])
    except KeyError:
        return False


@subcommand("object", "encoding", 3, "readonly", keys=(2, 2, 1), group=G, summary="Returns the internal encoding of a Redis object.", since="2.2.3")
def object_encoding_cmd(c, argv):
    v = c.db.read(argv[2])
    if v is None:
        return None
    return object_encoding(c, c.db, argv[2], v)


@subcommand("object", "refcount", 3, "readonly", keys=(2, 2, 1), group=G, summary="Returns the reference count of a value of a key.", since="2.2.3")
def object_refcount(c, argv):
    v = c.db.read(argv[2])
    if v is None:
        return None
    # small integers are shared objects in Redis (unless an LRU/LFU policy
    # needs per-object access data)
    if (type(v) is bytes and c.db.forced_encoding(argv[2]) is None
            and is_int_string(v)
            and 0 <= int(v) < 10000):
        policy = str(c.server.config["maxmemory-policy"])
        if not c.server.config["maxmemory"] or ("lru" not in policy and "lfu" not in policy):
            return INT_MAX
    return 1


@subcommand("object", "idletime", 3, "readonly", keys=(2, 2, 1), group=G, summary="Returns the time since the last access to a Redis object.", since="2.2.3")
def object_idletime(c, argv):
    db = c.db
    v = db.read(argv[2])
    if v is None:
        return None
    if _lfu_policy(c):
        raise RedisError(_LFU_NO_IDLE)
    idle = getattr(c.server, "idle_ms", None)
    if idle is not None:
        return idle(db, argv[2]) // 1000
    return 0


@subcommand("object", "freq", 3, "readonly", keys=(2, 2, 1), group=G, summary="Returns the logarithmic access frequency counter of a Redis object.", since="4.0.0")
def object_freq(c, argv):
    db = c.db
    v = db.read(argv[2])
    if v is None:
        return None
    if not _lfu_policy(c):
        raise RedisError(_LRU_NO_FREQ)
    freq = getattr(c.server, "lfu_freq", None)
    return freq(db, argv[2]) if freq is not None else 0


@subcommand("object", "help", 2, "loading stale", group=G, summary="Returns helpful text about the different subcommands.", since="6.2.0")
def object_help(c, argv):
    return help_reply(argv, _OBJECT_HELP)


# -- EXPIRE family ---------------------------------------------------------------------

_EXPIRE_FLAGS = {b"nx", b"xx", b"gt", b"lt"}


def _expire_generic(c, argv, basetime: int, seconds: bool):
    name = c.cmd.name if c.cmd is not None else argv[0].decode().lower()
    flags = set()
    for a in argv[3:]:
        o = a.lower()
        if o not in _EXPIRE_FLAGS:
            raise RedisError(f"ERR Unsupported option {a.decode('utf-8', 'replace')}")
        flags.add(o)
    if b"nx" in flags and flags & {b"xx", b"gt", b"lt"}:
        raise RedisError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if b"gt" in flags and b"lt" in flags:
        raise RedisError("ERR GT and LT options at the same time are not compatible")
    when = parse_int(argv[2])
    if seconds:
        if when > I64_MAX // 1000 or when < -(-I64_MIN // 1000):
            raise RedisError(INVALID_EXPIRE.format(name))
        when *= 1000
    if when > I64_MAX - basetime:
        raise RedisError(INVALID_EXPIRE.format(name))
    when += basetime
    db = c.db
    key = argv[1]
    if db.get(key) is None:
        return 0
    if flags:
        cur = db.ttl_ms(key)
        if b"nx" in flags and cur is not None:
            return 0
        if b"xx" in flags and cur is None:
            return 0
        if b"gt" in flags and (cur is None or when <= cur):
            return 0
        if b"lt" in flags and cur is not None and when >= cur:
            return 0
    srv = c.server
    if already_expired(c, when):
        db.delete(key)
        c.prop_argv = [b"DEL", key]
        _event(c, "del", key)
    else:
        db.set_expire(key, when)
        c.prop_argv = [b"PEXPIREAT", key, str(when).encode()] + argv[3:]
        _event(c, "expire", key)
    srv.dirty += 1
    return 1


@command("expire", -3, "write fast", keys=(1, 1, 1), group=G, summary="Sets the expiration time of a key in seconds.")
def expire(c, argv):
    return _expire_generic(c, argv, c.server.now_ms(), True)


@command("pexpire", -3, "write fast", keys=(1, 1, 1), group=G, summary="Sets the expiration time of a key in milliseconds.", since="2.6.0")
def pexpire(c, argv):
    return _expire_generic(c, argv, c.server.now_ms(), False)


@command("expireat", -3, "write fast", keys=(1, 1, 1), group=G, summary="Sets the expiration time of a key to a Unix timestamp.", since="1.2.0")
def expireat(c, argv):
    return _expire_generic(c, argv, 0, True)


@command("pexpireat", -3, "write fast", keys=(1, 1, 1), group=G, summary="Sets the expiration time of a key to a Unix milliseconds timestamp.", since="2.6.0")
def pexpireat(c, argv):
    return _expire_generic(c, argv, 0, False)


def _ttl_generic(c, key: bytes, ms: bool, absolute: bool) -> int:
    db = c.db
    if db.read(key) is None:
        return -2
    when = db.ttl_ms(key)
    if when is None:
        return -1
    ttl = when if absolute else when - c.server.now_ms()
    if ttl < 0:
        ttl = 0
    return ttl if ms else (ttl + 500) // 1000


@command("ttl", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the expiration time in seconds of a key.")
def ttl(c, argv):
    return _ttl_generic(c, argv[1], False, False)


@command("pttl", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the expiration time in milliseconds of a key.", since="2.6.0")
def pttl(c, argv):
    return _ttl_generic(c, argv[1], True, False)


@command("expiretime", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the expiration time of a key as a Unix timestamp.", since="7.0.0")
def expiretime(c, argv):
    return _ttl_generic(c, argv[1], False, True)


@command("pexpiretime", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the expiration time of a key as a Unix milliseconds timestamp.", since="7.0.0")
def pexpiretime(c, argv):
    return _ttl_generic(c, argv[1], True, True)


@command("persist", 2, "write fast", keys=(1, 1, 1), group=G, summary="Removes the expiration time of a key.", since="2.2.0")
def persist(c, argv):
    db = c.db
    if db.get(argv[1]) is None or not db.persist(argv[1]):
        return 0
    _event(c, "persist", argv[1])
    c.server.dirty += 1
    return 1


# -- SORT ----------------------------------------------------------------------------------

_STRTOD_RE = re.compile(
    rb"[ \t\n\v\f\r]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    rb"|0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    rb"|inf|infinity)", re.I)


def _sort_score(b: bytes):
    """strtod() of the whole string as SORT does; None on a conversion error."""
    if not b:
        return 0.0                    # strtod("") consumes nothing: score 0
    if b"\0" in b:
        b = b[:b.index(b"\0")]
        if not b:
            return 0.0
    if not _STRTOD_RE.fullmatch(b):
        return None
    s = b.strip(b" \t\n\v\f\r")
    try:
        if b"x" in s.lower() and b"inf" not in s.lower():
            v = float.fromhex(s.decode())
        else:
            v = float(s)
    except (ValueError, OverflowError):
        return None
    if v in (float("inf"), float("-inf")) and b"inf" not in s.lower():
        return None                   # ERANGE overflow
    if v == 0.0 and any(ch in b"123456789" for ch in s.split(b"e")[0].split(b"E")[0]):
        return None                   # ERANGE underflow
    return v


def _by_pattern(db, pattern: bytes, subst: bytes):
    """lookupKeyByPattern: ``#`` is the element itself; ``key*`` (or
    ``key*->field`` for a hash field) substitutes the element for ``*``."""
    if pattern == b"#":
        return subst
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2:]
        keyname = pattern[:star] + subst + pattern[star + 1:arrow]
    else:
        keyname = pattern[:star] + subst + pattern[star + 1:]
    v = db.read(keyname)
    if v is None:
        return None
    if field is not None:
        if type(v) is not RHash:
            return None
        return v.get(field)
    return v if type(v) is bytes else None


def sort_getkeys(argv) -> list[int]:
    """sortGetKeys: the sorted key and the (last) STORE destination."""
    keys = [1]
    store = None
    i = 2
    n = len(argv)
    skip = {b"limit": 2, b"get": 1, b"by": 1}
    while i < n:
        o = argv[i].lower()
        if o in skip:
            i += skip[o]
        elif o == b"store" and i + 1 < n:
            store = i + 1
        i += 1
    if store is not None:
        keys.append(store)
    return keys


def _zset_items_ascending(z):
    """Members of a ZSet by ascending (score, member)."""
    if hasattr(z, "sl"):
        return [m for _, m in z.sl]
    return [m for m, _ in sorted(z.dict.items(), key=lambda kv: (kv[1], kv[0]))]


def _sort(c, argv, readonly: bool):
    db = c.db
    desc = alpha = False
    limit_start, limit_count = 0, -1
    storekey = None
    sortby = None
    dontsort = False
    gets = []
    j = 2
    n = len(argv)
    while j < n:
        o = argv[j].lower()
        left = n - j - 1
        if o == b"asc":
            desc = False
        elif o == b"desc":
            desc = True
        elif o == b"alpha":
            alpha = True
        elif o == b"limit" and left >= 2:
            limit_start = parse_int(argv[j + 1])
            limit_count = parse_int(argv[j + 2])
            j += 2
        elif o == b"store" and left >= 1 and not readonly:
            storekey = argv[j + 1]
            j += 1
        elif o == b"by" and left >= 1:
            sortby = argv[j + 1]
            if b"*" not in sortby:
                dontsort = True
            elif _cluster_enabled(c):
                raise RedisError("ERR BY option of SORT denied in Cluster mode.")
            j += 1
        elif o == b"get" and left >= 1:
            if _cluster_enabled(c):
                raise RedisError("ERR GET option of SORT denied in Cluster mode.")
            gets.append(argv[j + 1])
            j += 1
        else:
            raise RedisError(SYNTAX)
        j += 1
    v = db.read(argv[1])
    t = type(v)
    if v is not None and t not in (RList, RSet, ZSet):
        raise RedisError(WRONGTYPE)
    if v is None:
        v, t = RList(), RList
    if t is ZSet and v.big is not True:
        # Redis converts a sorted set to a skiplist for SORT (and SORT_RO)
        v.big = True
        v.unpack()                      # a skiplist is never packed
    if dontsort and t is RSet and (storekey is not None or c.flags & F_LUA):
        # a stored (replicated) or scripted result must not depend on set order
        dontsort = False
        alpha = True
        sortby = None
    vlen = len(v)
    start = max(limit_start, 0)
    end = vlen - 1 if limit_count < 0 else start + limit_count - 1
    if start >= vlen:
        start, end = vlen - 1, vlen - 2
    if end >= vlen:
        end = vlen - 1
    # the elements to sort, in the order Redis loads them
    if t is RList:
        if dontsort:
            elems = list(reversed(v)) if desc else list(v)
            if end >= start:
                elems = elems[start:end + 1]
            else:
                elems = []
            end -= start
            start = 0
        else:
            elems = list(v)
    elif t is RSet:
        elems = list(v)
    else:
        if dontsort:
            ordered = _zset_items_ascending(v)
            if desc:
                ordered.reverse()
            elems = ordered[start:end + 1] if end >= start else []
            end -= start
            start = 0
        else:
            elems = list(v.dict)
    if not dontsort:
        if alpha:
            if sortby is not None:
                keyed = [(_by_pattern(db, sortby, e), e) for e in elems]
                # missing BY values sort first (NULL < anything)
                keyed.sort(key=lambda p: (p[0] is not None, p[0] or b""), reverse=desc)
                elems = [e for _, e in keyed]
            else:
                elems.sort(reverse=desc)
        else:
            scored = []
            bad = False
            for e in elems:
                if sortby is not None:
                    byval = _by_pattern(db, sortby, e)
                    if byval is None:
                        scored.append((0.0, e))
                        continue
                else:
                    byval = e
                s = _sort_score(byval)
                if s is None:
                    bad = True
                    s = 0.0
                scored.append((s, e))
            if bad:
                raise RedisError("ERR One or more scores can't be converted into double")
            scored.sort(reverse=desc)
            elems = [e for _, e in scored]
    selected = elems[start:end + 1] if end >= start else []
    if storekey is None:
        if not gets:
            return selected
        out = []
        for e in selected:
            for g in gets:
                out.append(_by_pattern(db, g, e))
        return out
    # STORE: the result becomes a list (or deletes the destination)
    if gets:
        result = []
        for e in selected:
            for g in gets:
                val = _by_pattern(db, g, e)
                result.append(b"" if val is None else val)
    else:
        result = selected
    srv = c.server
    if result:
        db.set(storekey, RList(result))
        if srv.notify_flags:
            notify(srv, LIST, "sortstore", storekey, db.id)
        srv.dirty += len(result)
    elif db.get(storekey) is not None and db.delete(storekey):
        _event(c, "del", storekey)
        srv.dirty += 1
    return len(result)


@command("sort", -2, "write denyoom", keys=(1, 1, 1), group=G, acl="set sortedset list dangerous", summary="Sorts the elements in a list, a set, or a sorted set, optionally storing the result.", getkeys=sort_getkeys)
def sort(c, argv):
    return _sort(c, argv, False)


@command("sort_ro", -2, "readonly", keys=(1, 1, 1), group=G, acl="set sortedset list dangerous", summary="Returns the sorted elements of a list, a set, or a sorted set.", since="7.0.0", getkeys=lambda argv: [1])
def sort_ro(c, argv):
    return _sort(c, argv, True)


_categories("sort", "write", "set", "sortedset", "list", "slow", "dangerous")
_categories("sort_ro", "read", "set", "sortedset", "list", "slow", "dangerous")


__all__ = ["copy_value", "object_encoding", "parse_scan_cursor",
           "parse_scan_options", "scan_pairs_reply", "sort_getkeys", "start_value_scan"]


# -- DEBUG SET-ACTIVE-EXPIRE (expiry is this module's concern) ----------------------

def _debug_set_active_expire(c, argv):
    """DEBUG SET-ACTIVE-EXPIRE 0|1: switch the active expiry cycle off/on
    (lazy expiry on access keeps working), as Redis's tests use it."""
    if len(argv) != 3:
        raise RedisError("ERR unknown subcommand or wrong number of arguments for "
                         "'set-active-expire'. Try DEBUG HELP.")
    try:
        on = int(argv[2])
    except ValueError:
        on = 0
    c.server.active_expire_enabled = bool(on)
    return OK


def _register_debug() -> None:
    try:
        from redpoll.commands.persistence import register_debug
    except ImportError:          # DEBUG not available in this build
        return
    register_debug("set-active-expire", _debug_set_active_expire)


_register_debug()
