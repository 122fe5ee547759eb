"""Sorted set commands: ZADD and friends, ranges by rank/score/lex, pops
(including the blocking BZPOPMIN/BZPOPMAX/BZMPOP), random members, the
set algebra (ZUNION/ZINTER/ZDIFF and their STORE forms, ZINTERCARD) and ZSCAN.

Values are :class:`~redpoll.datatypes.zset.ZSet` (dict + SortedList of
(score, member)). Scores are parsed with strtod() rules (:func:`parse_score`
for ZADD-like arguments, :func:`parse_score_range` for range bounds) and
replied as ``Double`` (``%.17g``; a RESP3 double).
"""

from __future__ import annotations

import math
from bisect import bisect_left
import random
import re

from redpoll import blocking
from redpoll.commands.generic import scan_pairs_reply, start_value_scan
from redpoll.commands.list import _mpop_keys, index_range, parse_mpop
from redpoll.commands.set import intercard, parse_intercard_limit, store_collection
from redpoll.commands.string import parse_int, parse_range_int
from redpoll.commands.table import command
from redpoll.datatypes.set import RSet
from redpoll.datatypes.zset import ZSet
from redpoll.errors import NOT_FLOAT, SYNTAX, WRONGTYPE, RedisError
from redpoll.keyspace import scan_cursors
from redpoll.notify import GENERIC, ZSET, notify
from redpoll.protocol.resp import NULL_ARRAY, Double, format_double

G = "sorted_set"
LONG_MAX = 2**63 - 1
INF = math.inf
NAN_ERR = "ERR resulting score is not a number (NaN)"
POSITIVE = "ERR value is out of range, must be positive"


# -- number parsing ---------------------------------------------------------------

_STRTOD_RE = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    rb"|0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)"
    rb"|(inf(?:inity)?)|(nan))", re.I)


def strtod(b: bytes):
    """C strtod() on the whole string (stopping at a NUL byte as C does).

    Returns (value, erange) or None when characters are left over. ``erange``
    tells that the value overflowed to +/-inf or underflowed to 0."""
    nul = b.find(b"\0")
    if nul >= 0:
        b = b[:nul]
    if not b:
        return None
    m = _STRTOD_RE.fullmatch(b)
    if m is None:
        return None
    sign, dec, hexa, inf, nan = m.groups()
    neg = sign == b"-"
    if inf:
        return (-INF if neg else INF), False
    if nan:
        return math.nan, False
    try:
        if dec is not None:
            v = float(dec)
        else:
            v = float.fromhex("0x" + hexa.decode())
    except OverflowError:
        return (-INF if neg else INF), True
    erange = (v == INF) or (v == 0.0 and any(ch in b"123456789abcdefABCDEF"
                                             for ch in (dec or hexa).split(b"e")[0].split(b"E")[0].split(b"p")[0].split(b"P")[0]))
    return (-v if neg else v), erange


_DECIMAL_CHARS = b"0123456789.-+eE"


def parse_score(b: bytes, err: str = NOT_FLOAT) -> float:
    """getDoubleFromObject: strict (no leading space, no overflow, no NaN)."""
    if b.isdigit():                     # the fastest path: digits only
        v = float(b)
        if v != INF:
            return v
    if b and not b.translate(None, _DECIMAL_CHARS):
        try:                            # fast path: a plain decimal number
            v = float(b)
        except ValueError:
            raise RedisError(err) from None
        if v != INF and v != -INF:
            if v or not b.translate(None, b"+-.0"):
                return v                # (a zero is fine unless it underflowed)
    if not b or b[:1].isspace():
        raise RedisError(err)
    r = strtod(b)
    if r is None or r[1] or r[0] != r[0]:
        raise RedisError(err)
    return r[0]


def _range_bound(b: bytes):
    """One zslParseRange() bound: (value, exclusive) or None."""
    ex = b[:1] == b"("
    if ex:
        b = b[1:]
    if not b or b[:1] == b"\0":
        return 0.0, ex                 # strtod("") consumes nothing: 0
    r = strtod(b)
    if r is None or r[0] != r[0]:
        return None
    return r[0], ex


def parse_score_range(bmin: bytes, bmax: bytes):
    """(min, minex, max, maxex) of a score range or "min or max is not a float"."""
    a = _range_bound(bmin)
    z = _range_bound(bmax)
    if a is None or z is None:
        raise RedisError("ERR min or max is not a float")
    return a[0], a[1], z[0], z[1]


# Lex bounds: (kind, value, exclusive) with kind -1 for "-", 1 for "+", 0 otherwise.
def _lex_bound(b: bytes):
    c0 = b[:1]
    if c0 == b"+" or c0 == b"-":
        if len(b) > 1 and b[1] != 0:
            return None
        return (1 if c0 == b"+" else -1), b"", True
    if c0 == b"(":
        return 0, b[1:], True
    if c0 == b"[":
        return 0, b[1:], False
    return None


def parse_lex_range(bmin: bytes, bmax: bytes):
    a = _lex_bound(bmin)
    z = _lex_bound(bmax)
    if a is None or z is None:
        raise RedisError("ERR min or max not valid string range item")
    return a, z


# -- range selection over the SortedList ----------------------------------------

def score_span(sl, lo: float, loex: bool, hi: float, hiex: bool):
    """Index span [i, j) of the members whose score is in the range, in
    ``sl`` (a zset's pairs: :meth:`ZSet.ordered`)."""
    if lo > hi or (lo == hi and (loex or hiex)):
        return 0, 0
    i = _bisect_score(sl, lo, loex)
    j = _bisect_score(sl, hi, not hiex)
    return i, max(i, j)


class _Above:
    """Sorts after every member: ``(score, ABOVE)`` follows every pair with
    that score, so a bisect finds the first pair with a greater score."""

    __slots__ = ()

    def __lt__(self, other):
        return False

    __le__ = __lt__

    def __gt__(self, other):
        return True

    __ge__ = __gt__


ABOVE = _Above()


def _bisect_score(sl, score: float, after: bool) -> int:
    """First index whose score is > score (after) or >= score (not after)."""
    key = (score, ABOVE if after else b"")
    return bisect_left(sl, key) if type(sl) is tuple else sl.bisect_left(key)


def _lex_gte_min(m: bytes, a) -> bool:
    kind, v, ex = a
    if kind == -1:
        return True
    if kind == 1:
        return False
    return m > v if ex else m >= v


def _lex_lte_max(m: bytes, z) -> bool:
    kind, v, ex = z
    if kind == 1:
        return True
    if kind == -1:
        return False
    return m < v if ex else m <= v


def _lex_empty(a, z) -> bool:
    """zslIsInLexRange's quick rejection of an empty range."""
    if a[0] == 1 or z[0] == -1:
        return True
    if a[0] == 0 and z[0] == 0:
        if a[1] > z[1] or (a[1] == z[1] and (a[2] or z[2])):
            return True
    return False


def lex_span(z: ZSet, sl, a, b, rev: bool = False):
    """Index span [i, j) of the members in the lex range, in ``sl`` (z's
    pairs: :meth:`ZSet.ordered`).

    The lex commands assume one score for all members. When that does not
    hold the result depends on how the range is walked: a listpack zset is
    scanned linearly from the head (or from the tail for REV), as Redis
    does, so small zsets answer exactly like Redis even then."""
    n = len(sl)
    if _lex_empty(a, b) or not n:
        return 0, 0
    if not z.big:
        if not _lex_gte_min(sl[-1][1], a) or not _lex_lte_max(sl[0][1], b):
            return 0, 0
        members = [m for s, m in sl]
        if not rev:
            i = next((k for k in range(n) if _lex_gte_min(members[k], a)), n)
            j = i
            while j < n and _lex_lte_max(members[j], b):
                j += 1
            return i, j
        j = next((k for k in range(n - 1, -1, -1) if _lex_lte_max(members[k], b)), -1)
        i = j
        while i >= 0 and _lex_gte_min(members[i], a):
            i -= 1
        return i + 1, j + 1
    lo, hi = 0, n
    while lo < hi:                      # first member >= min
        mid = (lo + hi) // 2
        if _lex_gte_min(sl[mid][1], a):
            hi = mid
        else:
            lo = mid + 1
    i = lo
    lo, hi = i, n
    while lo < hi:                      # first member > max
        mid = (lo + hi) // 2
        if _lex_lte_max(sl[mid][1], b):
            lo = mid + 1
        else:
            hi = mid
    return i, max(i, lo)


def rank_span(n: int, start: int, end: int):
    """Redis's rank normalisation: (i, j) half-open, possibly empty."""
    r = index_range(n, start, end)
    return (0, 0) if r is None else (r[0], r[1] + 1)


def parse_range(kind: str, lo: bytes, hi: bytes) -> tuple:
    """The bounds of a RANK (two integers), SCORE or LEX range, as the range
    commands parse them (the first bound's error first)."""
    if kind == RANK:
        start = parse_int(lo)
        return start, parse_int(hi)
    if kind == SCORE:
        return parse_score_range(lo, hi)
    return parse_lex_range(lo, hi)


def range_span(z: ZSet, sl, kind: str, bounds: tuple, rev: bool = False):
    """Index span [i, j) of ``z``'s members within ``bounds`` (from
    :func:`parse_range`), counted from the lowest score; ``sl`` is the
    sequence of z's pairs the caller will slice (its length for RANK)."""
    if kind == RANK:
        return rank_span(len(sl), *bounds)
    if kind == SCORE:
        return score_span(sl, *bounds)
    return lex_span(z, sl, *bounds, rev)


# -- replies --------------------------------------------------------------------------

def with_scores(c, pairs) -> list:
    """(member, score) pairs as WITHSCORES replies them (RESP3: pairs)."""
    if c.resp == 3:
        return [[m, Double(s)] for m, s in pairs]
    out = []
    for m, s in pairs:
        out.append(m)
        out.append(Double(s))
    return out


def _event(c, event: str, key: bytes) -> None:
    if c.server.notify_flags:
        notify(c.server, ZSET, event, key, c.db.id)


def _del_if_empty(c, key: bytes, z: ZSet) -> None:
    if not z:
        c.db.delete(key)
        if c.server.notify_flags:
            notify(c.server, GENERIC, "del", key, c.db.id)


def _new_zset(c, key: bytes) -> ZSet:
    z = ZSet.new()
    c.db.add(key, z)
    return z


def store_result(c, dst: bytes, z: ZSet, event: str) -> int:
    """Store a computed zset at ``dst`` (deleting dst when it is empty)."""
    return store_collection(c, dst, z, len(z), event, ZSET)


# -- ZADD / ZINCRBY ---------------------------------------------------------------

_ZADD_FLAGS = {b"nx", b"xx", b"ch", b"incr", b"gt", b"lt"}


def _zadd(c, argv, incr_cmd: bool):
    key = argv[1]
    flags = set()
    i = 2
    n = len(argv)
    if incr_cmd:
        flags.add(b"incr")
    while i < n:                        # ZINCRBY goes through this loop too
        o = argv[i].lower()
        if o not in _ZADD_FLAGS:
            break
        flags.add(o)
        i += 1
    elements = n - i
    if elements % 2 or not elements:
        raise RedisError(SYNTAX)
    elements //= 2
    nx, xx, gt, lt = b"nx" in flags, b"xx" in flags, b"gt" in flags, b"lt" in flags
    incr, ch = b"incr" in flags, b"ch" in flags
    if nx and xx:
        raise RedisError("ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise RedisError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and elements > 1:
        raise RedisError("ERR INCR option supports a single increment-element pair")
    scores = [parse_score(argv[i + 2 * j]) for j in range(elements)]
    db = c.db
    z = db.get_typed(key, ZSet)
    added = updated = processed = 0
    score = None
    if z is None:
        if xx:
            return None if incr else 0
        z = _new_zset(c, key)
    cfg = c.server.config
    if z.big is None:
        z.update_encoding(cfg)
    bulk = elements > 1 and z.packed
    if bulk:                # several members: one decode and one encode
        z.unpack()
    get = z.score
    try:
        for j in range(elements):
            member = argv[i + 2 * j + 1]
            score = scores[j]
            cur = get(member)
            if cur is not None:
                if nx:
                    continue
                if incr:
                    score = cur + score
                    if score != score:
                        raise RedisError(NAN_ERR)
                if (lt and score >= cur) or (gt and score <= cur):
                    continue
                processed += 1
                if score != cur:
                    z.add(member, score)
                    updated += 1
            else:
                if xx:
                    continue
                z.will_add(member, cfg)
                z.add(member, score)
                added += 1
                processed += 1
    finally:
        if bulk:
            z.pack()
        if added or updated:
            _event(c, "zincr" if incr else "zadd", key)
            c.server.dirty += added + updated
    if incr:
        return Double(score) if processed else None
    return added + updated if ch else added


def _zadd_handler(incr: bool):
    """The handler of ZADD (``incr`` False) or ZINCRBY: one score/member
    pair without options (``ZINCRBY key incr member`` is ``ZADD key INCR
    incr member``) is served right here, the write lookup inlined;
    everything else by :func:`_zadd`."""
    event = "zincr" if incr else "zadd"

    def handler(c, argv):
        if len(argv) != 4 or argv[2].lower() in _ZADD_FLAGS:
            return _zadd(c, argv, incr)
        score = parse_score(argv[2])
        key, member = argv[1], argv[3]
        db = c.db
        srv = c.server
        z = db.get_typed(key, ZSet)
        if z is None:
            z = _new_zset(c, key)
        elif z.big is None:
            z.update_encoding(srv.config)
        cur = z.score(member)
        if cur is None:
            z.will_add(member, srv.config)
        else:
            if incr:
                score += cur
                if score != score:
                    raise RedisError(NAN_ERR)
            if cur == score:
                return Double(score) if incr else 0
        z.add(member, score)
        if srv.notify_flags:
            notify(srv, ZSET, event, key, db.id)
        srv.dirty += 1
        if incr:
            return Double(score)
        return 1 if cur is None else 0
    return handler


command("zadd", -4, "write denyoom fast", keys=(1, 1, 1), group=G, since="1.2.0",
        summary="Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
        )(_zadd_handler(False))
command("zincrby", 4, "write denyoom fast", keys=(1, 1, 1), group=G, since="1.2.0",
        summary="Increments the score of a member in a sorted set.",
        )(_zadd_handler(True))


# -- simple reads ---------------------------------------------------------------------

@command("zcard", 2, "readonly fast", keys=(1, 1, 1), group=G, since="1.2.0",
         summary="Returns the number of members in a sorted set.")
def zcard(c, argv):
    z = c.db.read_typed(argv[1], ZSet)
    return 0 if z is None else len(z)


@command("zscore", 3, "readonly fast", keys=(1, 1, 1), group=G, since="1.2.0",
         summary="Returns the score of a member in a sorted set.")
def zscore(c, argv):
    z = c.db.read_typed(argv[1], ZSet)
    if z is None:
        return None
    s = z.score(argv[2])
    return None if s is None else Double(s)


@command("zmscore", -3, "readonly fast", keys=(1, 1, 1), group=G, since="6.2.0",
         summary="Returns the score of one or more members in a sorted set.")
def zmscore(c, argv):
    z = c.db.read_typed(argv[1], ZSet)
    d = z.scores() if z is not None else {}
    out = []
    for m in argv[2:]:
        s = d.get(m)
        out.append(None if s is None else Double(s))
    return out


def _zrank(c, argv, rev: bool):
    z = c.db.read_typed(argv[1], ZSet)
    if z is None:
        return None
    r = z.rank(argv[2])
    if r is None:
        return None
    return len(z) - 1 - r if rev else r


@command("zrank", 3, "readonly fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns the index of a member in a sorted set ordered by ascending scores.")
def zrank(c, argv):
    return _zrank(c, argv, False)


@command("zrevrank", 3, "readonly fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns the index of a member in a sorted set ordered by descending scores.")
def zrevrank(c, argv):
    return _zrank(c, argv, True)


@command("zcount", 4, "readonly fast", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Returns the count of members in a sorted set that have scores within a range.")
def zcount(c, argv):
    lo, loex, hi, hiex = parse_score_range(argv[2], argv[3])
    z = c.db.read_typed(argv[1], ZSet)
    if z is None:
        return 0
    i, j = score_span(z.ordered(), lo, loex, hi, hiex)
    return j - i


@command("zlexcount", 4, "readonly fast", keys=(1, 1, 1), group=G, since="2.8.9",
         summary="Returns the number of members in a sorted set within a lexicographical range.")
def zlexcount(c, argv):
    a, b = parse_lex_range(argv[2], argv[3])
    z = c.db.read_typed(argv[1], ZSet)
    if z is None:
        return 0
    i, j = lex_span(z, z.ordered(), a, b)
    return j - i


# -- ZRANGE and its legacy forms ---------------------------------------------------------

RANK, SCORE, LEX = "rank", "score", "lex"


def _zrange_generic(c, argv, key_idx: int, rangetype, rev, store: bytes | None = None):
    """zrangeGenericCommand: every ZRANGE form; ``rangetype``/``rev`` are
    None when the options may choose them (ZRANGE, ZRANGESTORE)."""
    key = argv[key_idx]
    minidx, maxidx = key_idx + 1, key_idx + 2
    withscores = False
    offset, limit = 0, -1
    j, n = key_idx + 3, len(argv)
    while j < n:
        o = argv[j].lower()
        left = n - j - 1
        if o == b"withscores":
            withscores = True
        elif o == b"limit" and left >= 2:
            offset = parse_int(argv[j + 1])
            limit = parse_int(argv[j + 2])
            j += 2
        elif rev is None and o == b"rev":
            rev = True
        elif rangetype is None and o == b"bylex":
            rangetype = LEX
        elif rangetype is None and o == b"byscore":
            rangetype = SCORE
        else:
            raise RedisError(SYNTAX)
        j += 1
    rev = bool(rev)
    rangetype = rangetype or RANK
    if limit != -1 and rangetype == RANK:
        raise RedisError("ERR syntax error, LIMIT is only supported in combination "
                         "with either BYSCORE or BYLEX")
    if withscores and rangetype == LEX:
        raise RedisError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    if store is not None and withscores:
        raise RedisError(SYNTAX)
    if rev and rangetype != RANK:
        minidx, maxidx = maxidx, minidx
    bounds = parse_range(rangetype, argv[minidx], argv[maxidx])
    z = c.db.read_typed(key, ZSet)
    if z is None:
        if store is not None:
            return store_result(c, store, ZSet(), "zrangestore")
        return []
    sl = z.ordered()
    i, k = range_span(z, sl, rangetype, bounds, rev)
    if rangetype == RANK:
        if rev:
            size = len(sl)
            i, k = size - k, size - i
        items = _slice(sl, i, k, rev, 0, -1)
    elif rangetype == LEX and offset > 0 and not z.big:
        items = _lex_walk(sl, i, k, rev, offset, limit, *bounds)
    else:
        items = _slice(sl, i, k, rev, offset, limit)
    if store is not None:
        out = ZSet()
        out.dict = {m: s for s, m in items}
        out.sl.update(items)
        return store_result(c, store, out, "zrangestore")
    if withscores:
        return with_scores(c, ((m, s) for s, m in items))
    return [m for s, m in items]


def _lex_walk(sl, i: int, k: int, rev: bool, offset: int, limit: int, a, b) -> list:
    """BYLEX ... LIMIT over a listpack zset as Redis walks it: from the first
    member in range (the span [i, k) from :func:`lex_span`), OFFSET steps
    without looking, then members while within the far bound. The same as
    slicing the span when the members are in lex order; not otherwise."""
    out = []
    if i >= k:
        return out
    if rev:
        p = k - 1 - offset
        while p >= 0 and limit != 0 and _lex_gte_min(sl[p][1], a):
            out.append(sl[p])
            p -= 1
            limit -= 1
        return out
    p, n = i + offset, len(sl)
    while p < n and limit != 0 and _lex_lte_max(sl[p][1], b):
        out.append(sl[p])
        p += 1
        limit -= 1
    return out


def _slice(sl, i: int, k: int, rev: bool, offset: int, limit: int) -> list:
    """Items of sl[i:k] in the requested direction, after OFFSET/LIMIT."""
    if i >= k or offset < 0:
        return []
    count = k - i
    if offset >= count:
        return []
    take = count - offset if limit < 0 else min(limit, count - offset)
    if take <= 0:
        return []
    if rev:
        hi = k - offset
        if type(sl) is tuple:           # a packed zset's pairs
            return list(sl[hi - 1:hi - take - 1 if hi > take else None:-1])
        return list(sl.islice(hi - take, hi, reverse=True))
    lo = i + offset
    if type(sl) is tuple:
        return list(sl[lo:lo + take])
    return list(sl.islice(lo, lo + take))


@command("zrange", -4, "readonly", keys=(1, 1, 1), group=G, since="1.2.0",
         summary="Returns members in a sorted set within a range of indexes.")
def zrange(c, argv):
    return _zrange_generic(c, argv, 1, None, None)


@command("zrangestore", -5, "write denyoom", keys=(1, 2, 1), group=G, since="6.2.0",
         summary="Stores a range of members from sorted set in a key.")
def zrangestore(c, argv):
    return _zrange_generic(c, argv, 2, None, None, store=argv[1])


@command("zrevrange", -4, "readonly", keys=(1, 1, 1), group=G, since="1.2.0",
         summary="Returns members in a sorted set within a range of indexes in reverse order.")
def zrevrange(c, argv):
    return _zrange_generic(c, argv, 1, RANK, True)


@command("zrangebyscore", -4, "readonly", keys=(1, 1, 1), group=G, since="1.0.5",
         summary="Returns members in a sorted set within a range of scores.")
def zrangebyscore(c, argv):
    return _zrange_generic(c, argv, 1, SCORE, False)


@command("zrevrangebyscore", -4, "readonly", keys=(1, 1, 1), group=G, since="2.2.0",
         summary="Returns members in a sorted set within a range of scores in reverse order.")
def zrevrangebyscore(c, argv):
    return _zrange_generic(c, argv, 1, SCORE, True)


@command("zrangebylex", -4, "readonly", keys=(1, 1, 1), group=G, since="2.8.9",
         summary="Returns members in a sorted set within a lexicographical range.")
def zrangebylex(c, argv):
    return _zrange_generic(c, argv, 1, LEX, False)


@command("zrevrangebylex", -4, "readonly", keys=(1, 1, 1), group=G, since="2.8.9",
         summary="Returns members in a sorted set within a lexicographical range in reverse order.")
def zrevrangebylex(c, argv):
    return _zrange_generic(c, argv, 1, LEX, True)


# -- removals ------------------------------------------------------------------------

@command("zrem", -3, "write fast", keys=(1, 1, 1), group=G, since="1.2.0",
         summary="Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.")
def zrem(c, argv):
    key = argv[1]
    z = c.db.get_typed(key, ZSet)
    if z is None:
        return 0
    n = 0
    for m in argv[2:]:
        if z.remove(m):
            n += 1
            if not z:
                break
    if n:
        _event(c, "zrem", key)
        _del_if_empty(c, key, z)
        c.server.dirty += n
    return n


def _zremrange(c, argv, kind: str):
    key = argv[1]
    bounds = parse_range(kind, argv[2], argv[3])
    z = c.db.get_typed(key, ZSet)
    if z is None:
        return 0
    i, k = range_span(z, z.ordered(), kind, bounds)
    if i >= k:
        return 0
    z.remove_span(i, k)
    _event(c, "zremrangeby" + kind, key)
    _del_if_empty(c, key, z)
    c.server.dirty += k - i
    return k - i


@command("zremrangebyrank", 4, "write", keys=(1, 1, 1), group=G, since="2.0.0",
         summary="Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.")
def zremrangebyrank(c, argv):
    return _zremrange(c, argv, RANK)


@command("zremrangebyscore", 4, "write", keys=(1, 1, 1), group=G, since="1.2.0",
         summary="Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.")
def zremrangebyscore(c, argv):
    return _zremrange(c, argv, SCORE)


@command("zremrangebylex", 4, "write", keys=(1, 1, 1), group=G, since="2.8.9",
         summary="Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.")
def zremrangebylex(c, argv):
    return _zremrange(c, argv, LEX)


# -- pops --------------------------------------------------------------------------------

def pop_items(c, key: bytes, z: ZSet, is_max: bool, count: int) -> list:
    """Pop up to ``count`` (member, score) pairs; events, dirty, deletion."""
    size = len(z)
    n = min(count, size)
    if is_max:
        out = [(m, s) for s, m in reversed(z.remove_span(size - n, size))]
    else:
        out = [(m, s) for s, m in z.remove_span(0, n)]
    if out:
        _event(c, "zpopmax" if is_max else "zpopmin", key)
        _del_if_empty(c, key, z)
        c.server.dirty += len(out)
    return out


def _zpop(c, argv, is_max: bool):
    if len(argv) > 3:
        raise RedisError(SYNTAX)
    count = None
    if len(argv) == 3:
        count = parse_range_int(argv[2], 0, LONG_MAX, POSITIVE)
    key = argv[1]
    z = c.db.get_typed(key, ZSet)
    if z is None or count == 0:
        return []
    items = pop_items(c, key, z, is_max, 1 if count is None else count)
    if count is None or c.resp == 2:
        out = []
        for m, s in items:
            out.append(m)
            out.append(Double(s))
        return out
    return with_scores(c, items)


@command("zpopmin", -2, "write fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.")
def zpopmin(c, argv):
    return _zpop(c, argv, False)


@command("zpopmax", -2, "write fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.")
def zpopmax(c, argv):
    return _zpop(c, argv, True)


def ready_zset(c, key: bytes):
    """For serve callbacks: the zset at ``key`` or None (other types wait)."""
    v = c.db.get(key)
    return v if type(v) is ZSet and v else None


def _bzpop(c, argv, is_max: bool):
    timeout = blocking.parse_timeout(argv[-1])
    keys = argv[1:-1]
    name = b"ZPOPMAX" if is_max else b"ZPOPMIN"

    def serve(cl, key):
        z = ready_zset(cl, key)
        if z is None:
            return blocking.NOT_READY
        (m, s), = pop_items(cl, key, z, is_max, 1)
        cl.prop_argv = [name, key]
        return [key, m, Double(s)]
    for key in keys:
        z = c.db.get_typed(key, ZSet)
        if z:
            return serve(c, key)
    return blocking.block(c, keys, timeout, serve)


@command("bzpopmin", -3, "write noscript blocking fast", keys=(1, -2, 1), group=G,
         since="5.0.0",
         summary="Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.")
def bzpopmin(c, argv):
    return _bzpop(c, argv, False)


@command("bzpopmax", -3, "write noscript blocking fast", keys=(1, -2, 1), group=G,
         since="5.0.0",
         summary="Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.")
def bzpopmax(c, argv):
    return _bzpop(c, argv, True)


def _mpop_serve(is_max: bool, count: int):
    name = b"ZPOPMAX" if is_max else b"ZPOPMIN"

    def serve(c, key):
        z = ready_zset(c, key)
        if z is None:
            return blocking.NOT_READY
        items = pop_items(c, key, z, is_max, count)
        c.prop_argv = [name, key, str(len(items)).encode()]
        return [key, [[m, Double(s)] for m, s in items]]
    return serve


def _zmpop(c, keys, is_max, count):
    serve = _mpop_serve(is_max, count)
    for key in keys:
        z = c.db.get_typed(key, ZSet)
        if z:
            return serve(c, key)
    return None


@command("zmpop", -4, "write", keys=(0, 0, 0), group=G, since="7.0.0",
         getkeys=lambda argv: _mpop_keys(argv, 1),
         summary="Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.")
def zmpop(c, argv):
    keys, where, count = parse_mpop(argv, 1, (b"min", b"max"))
    r = _zmpop(c, keys, where == b"max", count)
    return NULL_ARRAY if r is None else r


@command("bzmpop", -5, "write blocking", keys=(0, 0, 0), group=G, since="7.0.0",
         getkeys=lambda argv: _mpop_keys(argv, 2),
         summary="Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.")
def bzmpop(c, argv):
    keys, where, count = parse_mpop(argv, 2, (b"min", b"max"))
    timeout = blocking.parse_timeout(argv[1])
    r = _zmpop(c, keys, where == b"max", count)
    if r is not None:
        return r
    return blocking.block(c, keys, timeout, _mpop_serve(where == b"max", count))


# -- ZRANDMEMBER -------------------------------------------------------------------------

@command("zrandmember", -2, "readonly", keys=(1, 1, 1), group=G, since="6.2.0",
         summary="Returns one or more random members from a sorted set.")
def zrandmember(c, argv):
    n = len(argv)
    if n == 2:
        z = c.db.read_typed(argv[1], ZSet)
        if z is None:
            return None
        sl = z.ordered()
        return sl[random.randrange(len(sl))][1]
    count = parse_int(argv[2])
    if count < -LONG_MAX:
        raise RedisError("ERR value is out of range, value must between "
                         "-9223372036854775807 and 9223372036854775807")
    if n > 4 or (n == 4 and argv[3].lower() != b"withscores"):
        raise RedisError(SYNTAX)
    withscores = n == 4
    if withscores and (count < -LONG_MAX // 2 or count > LONG_MAX // 2):
        raise RedisError("ERR value is out of range")
    z = c.db.read_typed(argv[1], ZSet)
    if z is None or count == 0:
        return []
    sl = z.ordered()
    size = len(sl)
    if count < 0:
        picks = [sl[random.randrange(size)] for _ in range(-count)]
    elif count >= size:
        picks = list(reversed(sl))      # the whole zset, as Redis: highest score first
    else:
        picks = [sl[i] for i in random.sample(range(size), count)]
    if withscores:
        return with_scores(c, ((m, s) for s, m in picks))
    return [m for s, m in picks]


# -- set algebra --------------------------------------------------------------------------

def _input_scores(c, key: bytes):
    """A ZUNION/ZINTER/ZDIFF input: member -> score (sets count as score 1).
    Looked up as a read (keyspace hits/misses), even by the STORE forms."""
    v = c.db.read(key)
    if v is None:
        return None
    t = type(v)
    if t is ZSet:
        return v.scores()
    if t is RSet:
        return dict.fromkeys(v, 1.0)
    raise RedisError(WRONGTYPE)


def _parse_setop(c, argv, numkeys_idx: int, op: str, cmdname: str, store: bool):
    """(inputs, weights, aggregate, withscores) of ZUNION/ZINTER/ZDIFF(STORE)."""
    numkeys = parse_int(argv[numkeys_idx])
    if numkeys < 1:
        raise RedisError(f"ERR at least 1 input key is needed for '{cmdname}' command")
    first = numkeys_idx + 1
    if numkeys > len(argv) - first:
        raise RedisError(SYNTAX)
    keys = argv[first:first + numkeys]
    inputs = [_input_scores(c, k) for k in keys]      # type errors come first
    weights = [1.0] * numkeys
    agg = b"sum"
    withscores = False
    j, n = first + numkeys, len(argv)
    while j < n:
        o = argv[j].lower()
        left = n - j - 1
        if op != "diff" and o == b"weights" and left >= numkeys:
            for k in range(numkeys):
                weights[k] = parse_score(argv[j + 1 + k], "ERR weight value is not a float")
            j += numkeys
        elif op != "diff" and o == b"aggregate" and left >= 1:
            a = argv[j + 1].lower()
            if a not in (b"sum", b"min", b"max"):
                raise RedisError(SYNTAX)
            agg = a
            j += 1
        elif not store and o == b"withscores":
            withscores = True
        else:
            raise RedisError(SYNTAX)
        j += 1
    return inputs, weights, agg, withscores


def _weighted(s: float, w: float) -> float:
    v = s * w
    return 0.0 if v != v else v


def _aggregate(agg: bytes, a: float, b: float) -> float:
    if agg == b"sum":
        v = a + b
        return 0.0 if v != v else v
    if agg == b"min":                   # a tie keeps the score so far (-0 vs 0)
        return b if b < a else a
    return b if b > a else a


def compute_setop(op: str, inputs, weights, agg) -> dict:
    """member -> score of the union/intersection/difference."""
    if op == "union":
        out: dict = {}
        # smallest input first, as Redis (the order of the sums and ties)
        for k in sorted(range(len(inputs)), key=lambda k: len(inputs[k] or ())):
            src, w = inputs[k], weights[k]
            if not src:
                continue
            for m, s in src.items():
                v = _weighted(s, w)
                cur = out.get(m)
                out[m] = v if cur is None else _aggregate(agg, cur, v)
        return out
    if op == "inter":
        if any(not src for src in inputs):
            return {}
        order = sorted(range(len(inputs)), key=lambda k: len(inputs[k]))
        base = order[0]
        out = {}
        for m, s in inputs[base].items():
            v = _weighted(s, weights[base])
            for k in order[1:]:
                other = inputs[k].get(m)
                if other is None:
                    break
                # not NaN-cleaned, unlike the first input's (Redis): 0 * inf
                # makes a SUM 0 and is ignored by MIN/MAX
                v = _aggregate(agg, v, other * weights[k])
            else:
                out[m] = v
        return out
    first = inputs[0]
    if not first:
        return {}
    rest = [src for src in inputs[1:] if src]
    return {m: s for m, s in first.items() if not any(m in src for src in rest)}


def _zset_from(scores: dict) -> ZSet:
    z = ZSet()
    z.dict = scores
    z.sl.update((s, m) for m, s in scores.items())
    return z


def _setop(c, argv, op: str, store: bool):
    name = argv[0].decode(errors="replace").lower()
    idx = 2 if store else 1
    inputs, weights, agg, withscores = _parse_setop(c, argv, idx, op, name, store)
    scores = compute_setop(op, inputs, weights, agg)
    if store:
        return store_result(c, argv[1], _zset_from(scores), "z" + op + "store")
    items = sorted(scores.items(), key=lambda x: (x[1], x[0]))
    if withscores:
        return with_scores(c, items)
    return [m for m, s in items]


def _setop_keys(numkeys_idx: int, store: bool):
    def getkeys(argv):
        keys = _mpop_keys(argv, numkeys_idx)
        return ([1] + keys) if store else keys
    return getkeys


@command("zunion", -3, "readonly", keys=(0, 0, 0), group=G, since="6.2.0",
         getkeys=_setop_keys(1, False), summary="Returns the union of multiple sorted sets.")
def zunion(c, argv):
    return _setop(c, argv, "union", False)


@command("zinter", -3, "readonly", keys=(0, 0, 0), group=G, since="6.2.0",
         getkeys=_setop_keys(1, False), summary="Returns the intersect of multiple sorted sets.")
def zinter(c, argv):
    return _setop(c, argv, "inter", False)


@command("zdiff", -3, "readonly", keys=(0, 0, 0), group=G, since="6.2.0",
         getkeys=_setop_keys(1, False), summary="Returns the difference between multiple sorted sets.")
def zdiff(c, argv):
    return _setop(c, argv, "diff", False)


@command("zunionstore", -4, "write denyoom", keys=(1, 1, 1), group=G, since="2.0.0",
         getkeys=_setop_keys(2, True),
         summary="Stores the union of multiple sorted sets in a key.")
def zunionstore(c, argv):
    return _setop(c, argv, "union", True)


@command("zinterstore", -4, "write denyoom", keys=(1, 1, 1), group=G, since="2.0.0",
         getkeys=_setop_keys(2, True),
         summary="Stores the intersect of multiple sorted sets in a key.")
def zinterstore(c, argv):
    return _setop(c, argv, "inter", True)


@command("zdiffstore", -4, "write denyoom", keys=(1, 1, 1), group=G, since="6.2.0",
         getkeys=_setop_keys(2, True),
         summary="Stores the difference of multiple sorted sets in a key.")
def zdiffstore(c, argv):
    return _setop(c, argv, "diff", True)


@command("zintercard", -3, "readonly", keys=(0, 0, 0), group=G, since="7.0.0",
         getkeys=_setop_keys(1, False),
         summary="Returns the number of members of the intersect of multiple sorted sets.")
def zintercard(c, argv):
    numkeys = parse_int(argv[1])
    if numkeys < 1:
        raise RedisError("ERR at least 1 input key is needed for 'zintercard' command")
    if numkeys > len(argv) - 2:
        raise RedisError(SYNTAX)
    inputs = [_input_scores(c, k) for k in argv[2:2 + numkeys]]   # type errors first
    return intercard(inputs, parse_intercard_limit(argv, 2 + numkeys))


# -- ZSCAN ---------------------------------------------------------------------------------

@command("zscan", -3, "readonly", keys=(1, 1, 1), group=G, since="2.8.0",
         summary="Iterates over members and scores of a sorted set.")
def zscan(c, argv):
    start = start_value_scan(c, argv, ZSet)
    if start is None:
        return [b"0", []]
    z, cursor, count, matcher = start
    if z.big is None:
        z.update_encoding(c.server.config)
    d = z.scores()
    if not z.big:                      # listpack: everything at once, in order
        nxt, batch = 0, [m for s, m in z.pairs()]
    else:
        nxt, batch = scan_cursors(c.server).scan(cursor, d, count)
    return scan_pairs_reply(nxt, batch, d, matcher, format_double)
