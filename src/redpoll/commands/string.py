"""String commands: GET, SET and friends, counters, ranges, LCS.

Also home of the number helpers other modules reuse:

* :func:`parse_int` - Redis's strict ``string2ll`` integer parsing;
* :func:`parse_long_double`, :func:`format_long_double`, :func:`round_ld` -
  Redis's ``long double`` arithmetic for INCRBYFLOAT/HINCRBYFLOAT, emulated
  exactly (x87 80-bit extended precision: 64-bit significand, round to nearest
  even) with ``Fraction`` so results and ``%.17Lf`` formatting match Redis
  digit for digit;
* :func:`parse_set_options` / :func:`expire_ms_from` - the SET/GETEX option
  grammar and expire-time validation.

Writes with a relative expire are propagated with an absolute time, as Redis
7.0 does (``SET k v PXAT ms``, ``PEXPIREAT k ms``), via ``c.prop_argv``.
"""

from __future__ import annotations

import re
from fractions import Fraction

from redpoll.client import F_MASTER
from redpoll.commands.table import command
from redpoll.errors import (
    INVALID_EXPIRE, NOT_FLOAT, NOT_INTEGER, OVERFLOW, SYNTAX, WRONGTYPE,
    RedisError, wrong_arity)
from redpoll.notify import GENERIC, STRING, notify
from redpoll.persistence.compact import as_int
from redpoll.protocol.resp import OK, Map

G = "string"
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
STRING_TOO_BIG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"


# -- helpers -------------------------------------------------------------------

def get_string(db, key):
    """The string at key, None if missing, WRONGTYPE for other types
    (a write-side lookup: no keyspace hit/miss accounting)."""
    v = db.get(key)
    if v is not None and type(v) is not bytes:
        raise RedisError(WRONGTYPE)
    return v


def read_string(db, key):
    """Like :func:`get_string` for read commands (counts hits/misses)."""
    v = db.read(key)
    if v is not None and type(v) is not bytes:
        raise RedisError(WRONGTYPE)
    return v


def parse_int(b: bytes, err: str = NOT_INTEGER) -> int:
    """string2ll: Redis's strict integer parsing (ASCII digits, optional '-',
    no spaces, no '+', no leading zeros, within a signed 64-bit range);
    ``RedisError(err)`` otherwise. The one implementation is ``as_int``."""
    v = as_int(b)
    if v is None:
        raise RedisError(err)
    return v


def parse_range_int(b: bytes, lo: int, hi: int, err: str = NOT_INTEGER) -> int:
    """An integer that must be within [lo, hi] (e.g. a C ``long`` or ``int``)."""
    v = parse_int(b, err)
    if v < lo or v > hi:
        raise RedisError(err)
    return v


def is_int_string(b: bytes) -> bool:
    """True if ``b`` would be stored by Redis with the ``int`` encoding."""
    return as_int(b) is not None


# -- long double emulation (x87 80-bit extended precision) ---------------------

_LD_MANT = 64                 # significand bits
_LD_MIN_EXP = -16445          # exponent of the smallest denormal's unit
_LD_MAX = Fraction(2**64 - 1) * Fraction(2) ** (16384 - 64)
INF = float("inf")
_DEC_RE = re.compile(rb"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_RE = re.compile(rb"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))"
                     rb"(?:[pP]([+-]?[0-9]+))?")
_INF_RE = re.compile(rb"([+-]?)(?:inf|infinity)", re.I)


def round_ld(x: Fraction):
    """Round an exact value to the nearest long double (ties to even);
    +/-inf (floats) on overflow."""
    if x == 0:
        return Fraction(0)
    neg = x < 0
    a = -x if neg else x
    n, d = a.numerator, a.denominator
    e = n.bit_length() - d.bit_length() - _LD_MANT
    if e < 0:
        num, den = n << -e, d
    else:
        num, den = n, d << e
    if num >= den << _LD_MANT:
        e += 1
        den <<= 1
    if e < _LD_MIN_EXP:                 # denormal: fewer significant bits
        shift = _LD_MIN_EXP - e
        den <<= shift
        e = _LD_MIN_EXP
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    v = Fraction(q) * (Fraction(2) ** e if e >= 0 else Fraction(1, 2 ** -e))
    if v > _LD_MAX:
        return -INF if neg else INF
    return -v if neg else v


def parse_long_double(b: bytes):
    """string2ld: the long double in ``b`` (Fraction, or +/-inf as a float);
    None when Redis would reject it ("value is not a valid float")."""
    if not b or len(b) >= 5 * 1024 or b[:1].isspace():
        return None
    if _DEC_RE.fullmatch(b):
        exact = Fraction(b.decode())
    else:
        m = _HEX_RE.fullmatch(b)
        if m:
            sign, mant, exp = m.groups()
            ip, _, fp = mant.partition(b".")
            digits = (ip + fp) or b"0"
            exact = Fraction(int(digits, 16), 16 ** len(fp)) * Fraction(2) ** int(exp or 0)
            if sign == b"-":
                exact = -exact
        elif _INF_RE.fullmatch(b):
            return -INF if b[:1] == b"-" else INF
        else:
            return None
    v = round_ld(exact)
    if v in (INF, -INF) or (v == 0 and exact != 0):
        return None                   # ERANGE overflow / underflow to zero
    return v


def format_long_double(v: Fraction) -> bytes:
    """ld2string(..., LD_STR_HUMAN): ``%.17Lf`` with trailing zeros and a
    trailing dot removed, ``-0`` printed as ``0``."""
    neg = v < 0
    a = -v if neg else v
    den = a.denominator
    q, r = divmod(a.numerator * 10**17, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    s = str(q).rjust(18, "0")
    ip, fp = s[:-17], s[-17:].rstrip("0")
    out = ip + "." + fp if fp else ip
    if neg and out != "0":
        out = "-" + out
    return out.encode()


def incr_long_double(cur: bytes | None, incr: bytes) -> bytes:
    """INCRBYFLOAT's arithmetic on the stored string ``cur`` (None = 0)."""
    value = Fraction(0) if cur is None else parse_long_double(cur)
    by = parse_long_double(incr)
    if value is None or by is None:
        raise RedisError(NOT_FLOAT)
    if isinstance(value, float) or isinstance(by, float):
        raise RedisError("ERR increment would produce NaN or Infinity")
    total = round_ld(value + by)
    if isinstance(total, float):
        raise RedisError("ERR increment would produce NaN or Infinity")
    return format_long_double(total)


# -- SET / GETEX options -------------------------------------------------------

_EXPIRE_UNITS = (b"ex", b"px", b"exat", b"pxat")


def parse_set_options(argv, start: int, for_getex: bool):
    """Parse SET's (or GETEX's) options from argv[start:] like Redis does.

    Returns (nx, xx, get, keepttl, persist, unit, expire_arg). Repeating an
    option is allowed; conflicting ones are a syntax error."""
    nx = xx = get = keepttl = persist = False
    unit = expire = None
    n = len(argv)
    j = start
    while j < n:
        o = argv[j].lower()
        if o == b"nx" and not xx and not for_getex:
            nx = True
        elif o == b"xx" and not nx and not for_getex:
            xx = True
        elif o == b"get" and not for_getex:
            get = True
        elif o == b"keepttl" and not persist and unit is None and not for_getex:
            keepttl = True
        elif o == b"persist" and for_getex and unit is None and not keepttl:
            persist = True
        elif (o in _EXPIRE_UNITS and not keepttl and not persist
              and (unit is None or unit == o) and j + 1 < n):
            unit = o
            expire = argv[j + 1]
            j += 1
        else:
            raise RedisError(SYNTAX)
        j += 1
    return nx, xx, get, keepttl, persist, unit, expire


def expire_ms_from(c, unit: bytes, arg: bytes, cmdname: str) -> int:
    """The absolute expire time in ms for ``unit`` (ex/px/exat/pxat) and its
    argument, validated as Redis does (``invalid expire time in '<cmd>'``)."""
    ms = parse_int(arg)
    seconds = unit in (b"ex", b"exat")
    if ms <= 0 or (seconds and ms > I64_MAX // 1000):
        raise RedisError(INVALID_EXPIRE.format(cmdname))
    if seconds:
        ms *= 1000
    if unit in (b"ex", b"px"):
        ms += c.server.now_ms()
    if ms > I64_MAX:
        raise RedisError(INVALID_EXPIRE.format(cmdname))
    return ms


def already_expired(c, when_ms: int) -> bool:
    """checkAlreadyExpired: a past deadline deletes at once on a primary
    (not while loading, not on replicas)."""
    srv = c.server
    return when_ms <= srv.now_ms() and not srv.loading and srv.masterhost is None


def _check_len(c, size: int) -> None:
    if size > c.server.proto_max_bulk_len and not c.flags & F_MASTER:
        raise RedisError(STRING_TOO_BIG)


# -- GET / SET family ----------------------------------------------------------

@command("get", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the string value of a key.")
def get(c, argv):
    v = c.db.get(argv[1])
    if v is None:
        c.server.stats.keyspace_misses += 1
        if c.server.notify_flags:
            c.db.notify_miss(argv[1])
        return None
    c.server.stats.keyspace_hits += 1
    if type(v) is not bytes:
        raise RedisError(WRONGTYPE)
    return v


def _set_generic(c, key, val, nx=False, xx=False, getold=False, keepttl=False,
                 expire_at=None, ok_reply=OK, abort_reply=None):
    """setGenericCommand: the shared body of SET, SETNX, SETEX, PSETEX."""
    db = c.db
    old = None
    if getold:
        old = read_string(db, key)
    if nx or xx:
        found = db.get(key) is not None
        if (nx and found) or (xx and not found):
            return old if getold else abort_reply
    db.set(key, val, keep_ttl=keepttl)
    srv = c.server
    srv.dirty += 1
    if srv.notify_flags:
        notify(srv, STRING, "set", key, db.id)
    if expire_at is not None:
        db.set_expire(key, expire_at)
        c.prop_argv = [b"SET", key, val, b"PXAT", str(expire_at).encode()]
        if srv.notify_flags:
            notify(srv, GENERIC, "expire", key, db.id)
    return old if getold else ok_reply


@command("set", -3, "write denyoom", keys=(1, 1, 1), group=G, summary="Sets the string value of a key, ignoring its type.")
def set_(c, argv):
    if len(argv) == 3:
        db = c.db
        db.set(argv[1], argv[2])
        c.server.dirty += 1
        if c.server.notify_flags:
            notify(c.server, STRING, "set", argv[1], db.id)
        return OK
    nx, xx, getold, keepttl, _, unit, expire = parse_set_options(argv, 3, False)
    expire_at = expire_ms_from(c, unit, expire, "set") if unit is not None else None
    r = _set_generic(c, argv[1], argv[2], nx, xx, getold, keepttl, expire_at)
    if getold and expire_at is None:
        # propagate without the GET argument(s)
        c.prop_argv = argv[:3] + [a for a in argv[3:] if a.lower() != b"get"]
    return r


@command("setnx", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Set the string value of a key only when the key doesn't exist.")
def setnx(c, argv):
    return _set_generic(c, argv[1], argv[2], nx=True, ok_reply=1, abort_reply=0)


def _setex(c, argv, unit):
    name = argv[0].decode("utf-8", "replace").lower()
    when = expire_ms_from(c, unit, argv[2], name)
    return _set_generic(c, argv[1], argv[3], expire_at=when)


@command("setex", 4, "write denyoom", keys=(1, 1, 1), group=G, summary="Sets the string value and expiration time of a key. Creates the key if it doesn't exist.")
def setex(c, argv):
    return _setex(c, argv, b"ex")


@command("psetex", 4, "write denyoom", keys=(1, 1, 1), group=G, summary="Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.")
def psetex(c, argv):
    return _setex(c, argv, b"px")


@command("getset", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Returns the previous string value of a key after setting it to a new value.")
def getset(c, argv):
    db = c.db
    old = read_string(db, argv[1])
    db.set(argv[1], argv[2])
    c.server.dirty += 1
    if c.server.notify_flags:
        notify(c.server, STRING, "set", argv[1], db.id)
    return old


@command("getdel", 2, "write fast", keys=(1, 1, 1), group=G, summary="Returns the string value of a key after deleting the key.")
def getdel(c, argv):
    db = c.db
    v = read_string(db, argv[1])
    if v is not None:
        db.delete(argv[1])
        c.prop_argv = [b"DEL", argv[1]]
        c.server.dirty += 1
        if c.server.notify_flags:
            notify(c.server, GENERIC, "del", argv[1], db.id)
    return v


@command("getex", -2, "write fast", keys=(1, 1, 1), group=G, summary="Returns the string value of a key after setting its expiration time.")
def getex(c, argv):
    _, _, _, _, persist, unit, expire = parse_set_options(argv, 2, True)
    db = c.db
    key = argv[1]
    v = read_string(db, key)
    if v is None:
        return None
    when = expire_ms_from(c, unit, expire, "getex") if unit is not None else None
    srv = c.server
    if when is not None:
        if already_expired(c, when):
            db.delete(key)
            c.prop_argv = [b"DEL", key]
            event = "del"
        else:
            db.set_expire(key, when)
            c.prop_argv = [b"PEXPIREAT", key, str(when).encode()]
            event = "expire"
    elif persist and db.persist(key):
        c.prop_argv = [b"PERSIST", key]
        event = "persist"
    else:
        return v
    srv.dirty += 1
    if srv.notify_flags:
        notify(srv, GENERIC, event, key, db.id)
    return v


@command("mget", -2, "readonly fast", keys=(1, -1, 1), group=G, summary="Atomically returns the string values of one or more keys.")
def mget(c, argv):
    db = c.db
    out = []
    for k in argv[1:]:
        v = db.read(k)
        out.append(v if type(v) is bytes else None)
    return out


def _mset(c, argv, nx: bool):
    if len(argv) % 2 == 0:
        raise wrong_arity(argv[0].decode("utf-8", "replace").lower())
    db = c.db
    if nx:
        for i in range(1, len(argv), 2):
            if db.get(argv[i]) is not None:
                return 0
    srv = c.server
    if srv.notify_flags:
        for i in range(1, len(argv), 2):
            db.set(argv[i], argv[i + 1])
            notify(srv, STRING, "set", argv[i], db.id)
    else:
        db.set_many(argv[1::2], argv[2::2])
    srv.dirty += (len(argv) - 1) // 2
    return 1 if nx else OK


@command("mset", -3, "write denyoom", keys=(1, -1, 2), group=G, summary="Atomically creates or modifies the string values of one or more keys.")
def mset(c, argv):
    return _mset(c, argv, False)


@command("msetnx", -3, "write denyoom", keys=(1, -1, 2), group=G, summary="Atomically modifies the string values of one or more keys only when all keys don't exist.")
def msetnx(c, argv):
    return _mset(c, argv, True)


# -- counters ------------------------------------------------------------------

def _incr(c, key: bytes, delta: int) -> int:
    db = c.db
    v = get_string(db, key)
    cur = 0 if v is None else parse_int(v)
    new = cur + delta
    if new < I64_MIN or new > I64_MAX:
        raise RedisError(OVERFLOW)
    db.set(key, b"%d" % new, keep_ttl=True)
    c.server.dirty += 1
    if c.server.notify_flags:
        notify(c.server, STRING, "incrby", key, db.id)
    return new


@command("incr", 2, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Increments the integer value of a key by one.")
def incr(c, argv):
    return _incr(c, argv[1], 1)


@command("decr", 2, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Decrements the integer value of a key by one.")
def decr(c, argv):
    return _incr(c, argv[1], -1)


@command("incrby", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.")
def incrby(c, argv):
    return _incr(c, argv[1], parse_int(argv[2]))


@command("decrby", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.")
def decrby(c, argv):
    d = parse_int(argv[2])
    if d == I64_MIN:
        raise RedisError("ERR decrement would overflow")
    return _incr(c, argv[1], -d)


@command("incrbyfloat", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.")
def incrbyfloat(c, argv):
    db = c.db
    key = argv[1]
    new = incr_long_double(get_string(db, key), argv[2])
    db.set(key, new, keep_ttl=True)
    if len(new) <= 44:
        db.mark_encoding(key, "embstr")    # never "int", even for "15"
    c.server.dirty += 1
    # replicate the final value so float formatting can never diverge
    c.prop_argv = [b"SET", key, new, b"KEEPTTL"]
    if c.server.notify_flags:
        notify(c.server, STRING, "incrbyfloat", key, db.id)
    return new


# -- ranges and lengths --------------------------------------------------------

@command("append", 3, "write denyoom fast", keys=(1, 1, 1), group=G, summary="Appends a string to the value of a key. Creates the key if it doesn't exist.")
def append(c, argv):
    db = c.db
    v = get_string(db, argv[1])
    if v is None:
        new = argv[2]
        db.set(argv[1], new)
    else:
        _check_len(c, len(v) + len(argv[2]))
        new = v + argv[2]
        db.set(argv[1], new, keep_ttl=True)
        db.mark_raw(argv[1])
    c.server.dirty += 1
    if c.server.notify_flags:
        notify(c.server, STRING, "append", argv[1], db.id)
    return len(new)


@command("strlen", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the length of a string value.")
def strlen(c, argv):
    v = read_string(c.db, argv[1])
    return 0 if v is None else len(v)


def clamp_range(start: int, end: int, n: int) -> tuple[int, int]:
    """GETRANGE/BITCOUNT/BITPOS's index normalisation over ``n`` units:
    negatives count from the end, then both are clamped to [0, n - 1]; the
    inclusive (start, end) is empty when start > end."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    start = max(start, 0)
    end = max(end, 0)
    if end >= n:
        end = n - 1
    return start, end


def _getrange(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    v = read_string(c.db, argv[1])
    if v is None:
        return b""
    n = len(v)
    if start < 0 and end < 0 and start > end:
        return b""
    start, end = clamp_range(start, end, n)
    if start > end or n == 0:
        return b""
    return v[start:end + 1]


@command("getrange", 4, "readonly", keys=(1, 1, 1), group=G, summary="Returns a substring of the string stored at a key.")
def getrange(c, argv):
    return _getrange(c, argv)


@command("substr", 4, "readonly", keys=(1, 1, 1), group=G, summary="Returns a substring from a string value.", since="1.0.0")
def substr(c, argv):
    return _getrange(c, argv)


@command("setrange", 4, "write denyoom", keys=(1, 1, 1), group=G, summary="Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.")
def setrange(c, argv):
    offset = parse_int(argv[2])
    if offset < 0:
        raise RedisError("ERR offset is out of range")
    value = argv[3]
    db = c.db
    key = argv[1]
    v = get_string(db, key)
    if v is None:
        if not value:
            return 0
        _check_len(c, offset + len(value))
        v = b""
    else:
        if not value:
            return len(v)
        _check_len(c, offset + len(value))
    if len(v) < offset:
        new = v + bytes(offset - len(v)) + value
    else:
        new = v[:offset] + value + v[offset + len(value):]
    db.set(key, new, keep_ttl=True)
    db.mark_raw(key)
    c.server.dirty += 1
    if c.server.notify_flags:
        notify(c.server, STRING, "setrange", key, db.id)
    return len(new)


# -- LCS -------------------------------------------------------------------------

def lcs_rows(a: bytes, b: bytes) -> list[int]:
    """The LCS table of ``a`` and ``b`` in bit-parallel form (Hyyro's
    algorithm, big-int operations at C speed): ``rows[j]`` has a 0 bit at
    position i where LCS(a[:i+1], b[:j]) grows by one, so
    LCS(a[:i], b[:j]) = :func:`lcs_at` (rows, i, j). Same values as Redis's
    uint32 table, in 1/32 of the memory."""
    masks: dict[int, int] = {}
    for i, ch in enumerate(a):
        masks[ch] = masks.get(ch, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    rows = [v]
    for ch in b:
        u = v & masks.get(ch, 0)
        v = ((v + u) | (v - u)) & full
        rows.append(v)
    return rows


def lcs_at(rows: list[int], i: int, j: int) -> int:
    """LCS length of a[:i] and b[:j] from :func:`lcs_rows`."""
    return i - (rows[j] & ((1 << i) - 1)).bit_count()


@command("lcs", -3, "readonly", keys=(1, 2, 1), group=G, summary="Finds the longest common substring.", since="7.0.0")
def lcs(c, argv):
    db = c.db
    a = db.read(argv[1])
    b = db.read(argv[2])
    if (a is not None and type(a) is not bytes) or (b is not None and type(b) is not bytes):
        raise RedisError("ERR The specified keys must contain string values")
    a = a or b""
    b = b or b""
    getlen = getidx = withmatchlen = False
    minmatchlen = 0
    j = 3
    n = len(argv)
    while j < n:
        o = argv[j].lower()
        if o == b"idx":
            getidx = True
        elif o == b"len":
            getlen = True
        elif o == b"withmatchlen":
            withmatchlen = True
        elif o == b"minmatchlen" and j + 1 < n:
            minmatchlen = max(0, parse_int(argv[j + 1]))
            j += 1
        else:
            raise RedisError(SYNTAX)
        j += 1
    if getlen and getidx:
        raise RedisError("ERR If you want both the length and indexes, please just use IDX.")
    alen, blen = len(a), len(b)
    if (alen + 1) * (blen + 1) * 4 > c.server.proto_max_bulk_len:
        raise RedisError("ERR Insufficient memory, transient memory for LCS "
                         "exceeds proto-max-bulk-len")
    rows = lcs_rows(a, b)
    total = lcs_at(rows, alen, blen)
    if getlen:
        return total
    # Walk back from the end, building the string and the matching ranges
    # (emitted from the last to the first, as Redis does).
    out = bytearray(total)
    idx = total
    matches = []
    i, j = alen, blen
    astart = alen                    # alen means "no range open"
    aend = bstart = bend = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            out[idx - 1] = a[i - 1]
            if astart == alen:
                astart = aend = i - 1
                bstart = bend = j - 1
            elif astart == i and bstart == j:
                astart -= 1
                bstart -= 1
            else:
                emit = True
            if astart == 0 or bstart == 0:
                emit = True
            idx -= 1
            i -= 1
            j -= 1
        else:
            if lcs_at(rows, i - 1, j) > lcs_at(rows, i, j - 1):
                i -= 1
            else:
                j -= 1
            if astart != alen:
                emit = True
        if emit:
            mlen = aend - astart + 1
            if getidx and (minmatchlen == 0 or mlen >= minmatchlen):
                m = [[astart, aend], [bstart, bend]]
                if withmatchlen:
                    m.append(mlen)
                matches.append(m)
            astart = alen
    if getidx:
        return Map([(b"matches", matches), (b"len", total)])
    return bytes(out)
