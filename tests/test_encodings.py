"""Compact encodings of small collections (issue 3, memory).

OBJECT ENCODING must say what Redis 7.0 says (listpack / hashtable /
skiplist / quicklist / intset) at the same thresholds, including after
CONFIG SET of the thresholds, DEBUG RELOAD and RESTORE of a value dumped by
real Redis. Every check runs against a real redis-server (tests/diff.py).

The redpoll server of this module runs with ``REDPOLL_EXPANDED_VALUES=1``:
only the last value used stays expanded and every other small hash, sorted
set and list is packed into one bytes object (datatypes/compact.py), so each
command below works on a value that was packed by the previous one.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diff import start_pair

DEFAULTS = {
    "hash-max-listpack-entries": "128", "hash-max-listpack-value": "64",
    "zset-max-listpack-entries": "128", "zset-max-listpack-value": "64",
    "set-max-intset-entries": "512",
}
EXACT = {"hgetall": None, "hkeys": None, "hvals": None}   # listpack order matters


@pytest.fixture(scope="module")
def pair():
    old = os.environ.get("REDPOLL_EXPANDED_VALUES")
    os.environ["REDPOLL_EXPANDED_VALUES"] = "1"
    try:
        p = start_pair()
    finally:
        if old is None:
            del os.environ["REDPOLL_EXPANDED_VALUES"]
        else:
            os.environ["REDPOLL_EXPANDED_VALUES"] = old
    try:
        yield p
    finally:
        p.cleanup()


@pytest.fixture(autouse=True)
def default_thresholds(pair):
    yield
    for name, value in DEFAULTS.items():
        pair.check([["CONFIG", "SET", name, value]], flush=False)


def enc(key):
    return ["OBJECT", "ENCODING", key]


def fields(n, prefix="f"):
    return [x for i in range(n) for x in (f"{prefix}{i}", f"v{i}")]


def test_hash_thresholds(pair):
    pair.check([
        ["HSET", "h", *fields(128)], enc("h"), ["HGETALL", "h"],
        ["HSET", "h", "f128", "x"], enc("h"),                   # 129 fields
        ["HDEL", "h", "f0", "f1", "f128"], enc("h"),            # never back
        ["HSET", "v", "a", "x" * 64], enc("v"),
        ["HSET", "v", "b", "y" * 65], enc("v"),
        ["HSET", "w", "k" * 65, "1"], enc("w"),
        ["HSETNX", "n", "a", "1"], enc("n"),
        ["HINCRBY", "i", "c", "5"], ["HINCRBYFLOAT", "i", "d", "1.5"], enc("i"),
        ["HGETALL", "i"], ["HGET", "i", "c"], ["HSTRLEN", "i", "d"],
        # the counters check the field's length too (new key, existing listpack)
        ["HINCRBY", "j", "k" * 65, "1"], enc("j"),
        ["HSET", "k", "a", "1"], ["HINCRBYFLOAT", "k", "k" * 65, "1.5"], enc("k"),
        ["HSET", "m", "a", "1"], ["HINCRBY", "m", "a", "1" * 18], enc("m"),
        ["HINCRBYFLOAT", "m", "b", "1" * 70], enc("m"), ["HGET", "m", "b"],
        ["HINCRBY", "m", "x" * 65, "nope"], enc("m"), ["HINCRBY", "m", "a", "9" * 18],
    ], norm=EXACT)


def test_zset_thresholds(pair):
    members = [x for i in range(128) for x in (str(i % 7), f"m{i}")]
    pair.check([
        ["ZADD", "z", *members], enc("z"), ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZADD", "z", "1", "extra"], enc("z"),
        ["ZREMRANGEBYRANK", "z", "0", "100"], enc("z"),         # never back in place
        ["ZADD", "v", "1", "a" * 64], enc("v"),
        ["ZADD", "v", "2", "b" * 65], enc("v"),
        ["ZINCRBY", "i", "2.5", "x"], enc("i"), ["ZSCORE", "i", "x"],
        ["ZADD", "neg", "-0", "a"], ["ZSCORE", "neg", "a"], enc("neg"),
        ["ZRANGESTORE", "dst", "z", "0", "5"], enc("dst"),
        ["ZUNIONSTORE", "u", "2", "z", "v"], enc("u"),
        ["ZINTERSTORE", "x", "1", "i"], enc("x"),
    ])


def test_list_and_set_encodings(pair):
    pair.check([
        ["RPUSH", "l", *[str(i) for i in range(10)]], enc("l"),
        ["RPUSH", "big", *["x" * 100 for _ in range(200)]], enc("big"),
        ["SADD", "s", *[str(i) for i in range(512)]], enc("s"),
        ["SADD", "s", "512"], enc("s"),
        ["SADD", "t", "1", "2"], enc("t"), ["SADD", "t", "a"], enc("t"),
        ["SADD", "u", "01"], enc("u"),
    ])


def test_config_set_thresholds(pair):
    pair.check([
        ["HSET", "h", *fields(10)], ["ZADD", "z", *[x for i in range(10) for x in (str(i), f"m{i}")]],
        ["CONFIG", "SET", "hash-max-listpack-entries", "4"],
        ["CONFIG", "SET", "zset-max-listpack-entries", "4"],
        enc("h"), enc("z"),                                     # unchanged until written
        ["HSET", "h", "f0", "new"], enc("h"),
        ["ZADD", "z", "100", "m0"], enc("z"),
        ["HSET", "small", *fields(4)], enc("small"),
        ["HSET", "small", "f9", "x"], enc("small"),
        ["CONFIG", "SET", "zset-max-listpack-entries", "0"],
        ["ZADD", "zero", "1", "a"], enc("zero"),
        ["CONFIG", "SET", "hash-max-listpack-value", "2"],
        ["HSET", "short", "ab", "cd"], enc("short"),
        ["HSET", "short", "abc", "d"], enc("short"),
        ["CONFIG", "SET", "set-max-intset-entries", "2"],
        ["SADD", "s", "1", "2"], enc("s"), ["SADD", "s", "3"], enc("s"),
    ])


def test_reload_and_restore_keep_encodings(pair):
    """DEBUG RELOAD (RDB save + load) and RESTORE of Redis's own DUMP payloads
    (listpack encodings) keep the compact encodings and the contents."""
    setup = [
        ["HSET", "h", *fields(10)], ["HSET", "hbig", *fields(200)],
        ["ZADD", "z", "1", "a", "2", "b", "-3.5", "c"],
        ["ZADD", "zbig", *[x for i in range(200) for x in (str(i), f"m{i}")]],
        ["RPUSH", "l", "a", "b", "1", "-20"], ["SADD", "s", "1", "2"], ["SADD", "s2", "x"],
    ]
    reads = [enc(k) for k in ("h", "hbig", "z", "zbig", "l", "s", "s2")] + [
        ["HGETALL", "h"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["LRANGE", "l", "0", "-1"],
        ["HLEN", "hbig"], ["ZCARD", "zbig"]]
    pair.check(setup + reads + [["DEBUG", "RELOAD"]] + reads, norm=EXACT)
    redpoll, redis = pair.conns
    for key in ("h", "hbig", "z", "zbig", "l", "s", "s2"):
        t, payload = redis.call(["DUMP", key])
        assert t == "$"
        assert redpoll.call(["RESTORE", key + ":r", "0", payload]) == ("+", "OK")
        assert redis.call(["RESTORE", key + ":r", "0", payload]) == ("+", "OK")
    pair.check([enc(k + ":r") for k in ("h", "hbig", "z", "zbig", "l", "s", "s2")]
               + [["HGETALL", "h:r"], ["ZRANGE", "z:r", "0", "-1", "WITHSCORES"],
                  ["LRANGE", "l:r", "0", "-1"]], flush=False, norm=EXACT)


def test_many_packed_values(pair):
    """Hundreds of small values (all packed but the last one used), read and
    written one after the other."""
    cmds = []
    for i in range(150):
        cmds += [["HSET", f"h{i}", *fields(3)], ["ZADD", f"z{i}", str(i), "a", "1", "b"],
                 ["RPUSH", f"l{i}", "x", str(i), "y"], ["SADD", f"s{i}", str(i), "7", "-1"],
                 ["SADD", f"t{i}", "a", str(i)]]
    for i in range(0, 150, 7):
        cmds += [["HGET", f"h{i}", "f1"], ["HDEL", f"h{i}", "f0"], ["HGETALL", f"h{i}"],
                 ["HINCRBY", f"h{i}", "n", "3"], ["HEXISTS", f"h{i}", "f2"], ["HLEN", f"h{i}"],
                 ["ZSCORE", f"z{i}", "a"], ["ZRANK", f"z{i}", "b"], ["ZINCRBY", f"z{i}", "1", "c"],
                 ["ZRANGE", f"z{i}", "0", "-1", "WITHSCORES"], ["ZPOPMIN", f"z{i}"],
                 ["LPOP", f"l{i}"], ["LINDEX", f"l{i}", "-1"], ["LSET", f"l{i}", "0", "new"],
                 ["LRANGE", f"l{i}", "0", "-1"], ["LMOVE", f"l{i}", f"l{i + 1}", "LEFT", "RIGHT"],
                 ["LRANGE", f"l{i + 1}", "0", "-1"], ["COPY", f"h{i}", f"hc{i}"],
                 ["HGETALL", f"hc{i}"], ["SORT", f"l{i + 1}", "ALPHA"], enc(f"h{i}"), enc(f"z{i}"),
                 ["HSCAN", f"h{i + 1}", "0"], ["ZSCAN", f"z{i + 1}", "0", "MATCH", "a*"],
                 ["ZRANGE", f"z{i + 2}", "0", "0", "REV"], ["ZMSCORE", f"z{i + 2}", "a", "x"],
                 ["HMGET", f"h{i + 2}", "f0", "x"], ["LPOS", f"l{i + 3}", "y"], ["LLEN", f"l{i + 3}"],
                 ["SMEMBERS", f"s{i}"], ["SISMEMBER", f"s{i}", "7"], ["SMISMEMBER", f"t{i}", "a", "b"],
                 ["SREM", f"s{i}", "7"], ["SADD", f"s{i}", "x"], enc(f"s{i}"), ["SCARD", f"s{i}"],
                 ["SINTER", f"s{i}", f"s{i + 1}", f"s{i + 2}"], ["SUNIONSTORE", f"u{i}", f"s{i}", f"t{i}"],
                 ["SCARD", f"u{i}"], ["SINTERCARD", "2", f"s{i + 1}", f"t{i + 1}"], ["SMEMBERS", f"s{i + 3}"],
                 ["SMOVE", f"s{i + 4}", f"t{i + 4}", "-1"], ["SSCAN", f"s{i + 4}", "0"],
                 ["SPOP", f"s{i + 5}", "3"], ["ZUNION", "2", f"s{i + 6}", f"z{i + 6}", "WITHSCORES"]]
    cmds += [["ZUNIONSTORE", "all", "3", "z0", "z7", "z14"], ["ZRANGE", "all", "0", "-1", "WITHSCORES"],
             ["DBSIZE"]]
    pair.check(cmds, norm=EXACT)



def test_binary_elements_in_packed_values(pair):
    """Elements holding the packed format's separator and escape bytes (0, 1,
    2) and their escaped forms, written and read while packed (this server
    packs every value but the last one used): replies match Redis's."""
    odd = [b"", b"\x00", b"\x01", b"\x02", b"\x01\x10", b"\x01\x11", b"a\x00\x02b", b"\x00\x00",
           b"\x10", b"\x02\x01\x00"]
    cmds = []
    for i, e in enumerate(odd):
        cmds += [["RPUSH", "l", e], ["LPUSH", "l2", e], ["HSET", "h", e, odd[-1 - i]],
                 ["SADD", "s", e], ["ZADD", "z", str(i % 3), e], ["SET", "other", "x"]]
    for e in odd + [b"\x11", b"\x01\x12"]:
        cmds += [["HGET", "h", e], ["HEXISTS", "h", e], ["SISMEMBER", "s", e],
                 ["ZSCORE", "z", e], ["ZRANK", "z", e], ["LPOS", "l", e], ["SET", "other", "x"]]
    cmds += [["LRANGE", "l", "0", "-1"], ["LRANGE", "l2", "0", "-1"], ["LINDEX", "l", "3"],
             ["LINDEX", "l", "-2"], ["HGETALL", "h"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
             ["SMEMBERS", "s"], ["RPOP", "l"], ["LPOP", "l"], ["LPOP", "l2", "3"],
             ["HDEL", "h", b"\x01", b"\x00\x00"], ["SREM", "s", b"\x02", b"\x10"],
             ["ZREM", "z", b"\x01\x10"], ["ZADD", "z", "-1", b"\x00", "2", b"\x02\x01\x00"],
             ["HINCRBY", "h", b"\x00n", "5"], ["LRANGE", "l", "0", "-1"], ["HGETALL", "h"],
             ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["SMEMBERS", "s"], ["DUMP", "h"], ["DUMP", "z"],
             ["DUMP", "l"], enc("h"), enc("z"), enc("s")]
    pair.check(cmds, norm=EXACT)

# -- random sequences with small thresholds: conversions happen all the time ---

KEYS = ["h1", "h2", "z1", "z2", "l1", "l2"]
small = st.sampled_from(["0", "1", "2", "-1", "3", "x", "10", "1.5", "aaaa", "bbbbbbbbbbbbb"])
field = st.sampled_from(["a", "b", "c", "d", "e", "f", "long-field-name"])
hkey = st.sampled_from(["h1", "h2"])
zkey = st.sampled_from(["z1", "z2"])
lkey = st.sampled_from(["l1", "l2"])
command = st.one_of(
    st.tuples(st.just("HSET"), hkey, field, small).map(list),
    st.tuples(st.just("HSETNX"), hkey, field, small).map(list),
    st.tuples(st.just("HDEL"), hkey, field).map(list),
    st.tuples(st.sampled_from(["HGET", "HSTRLEN", "HEXISTS"]), hkey, field).map(list),
    st.tuples(st.just("HINCRBY"), hkey, field, st.sampled_from(["1", "-2", "x"])).map(list),
    st.tuples(st.sampled_from(["HGETALL", "HLEN", "HKEYS"]), hkey).map(list),
    st.tuples(st.just("ZADD"), zkey, st.lists(st.sampled_from(["NX", "XX", "GT", "CH", "INCR"]),
              max_size=2, unique=True), small, field).map(lambda t: ["ZADD", t[1], *t[2], t[3], t[4]]),
    st.tuples(st.just("ZREM"), zkey, field).map(list),
    st.tuples(st.just("ZINCRBY"), zkey, small, field).map(list),
    st.tuples(st.sampled_from(["ZSCORE", "ZRANK", "ZREVRANK"]), zkey, field).map(list),
    st.tuples(st.just("ZRANGE"), zkey, small, small).map(lambda t: [*t, "WITHSCORES"]),
    st.tuples(st.just("ZRANGEBYSCORE"), zkey, st.sampled_from(["-inf", "(1", "0"]),
              st.sampled_from(["+inf", "2", "(3"])).map(list),
    st.tuples(st.sampled_from(["ZPOPMIN", "ZPOPMAX", "ZCARD"]), zkey).map(list),
    st.tuples(st.just("ZUNIONSTORE"), zkey, st.just("2"), zkey, zkey).map(list),
    st.tuples(st.sampled_from(["LPUSH", "RPUSH", "LPUSHX"]), lkey, small).map(list),
    st.tuples(st.sampled_from(["LPOP", "RPOP", "LLEN"]), lkey).map(list),
    st.tuples(st.just("LRANGE"), lkey, small, small).map(list),
    st.tuples(st.just("LREM"), lkey, st.sampled_from(["0", "1", "-1"]), small).map(list),
    st.tuples(st.just("LINSERT"), lkey, st.sampled_from(["BEFORE", "AFTER"]), small, small).map(list),
    st.tuples(st.just("LMOVE"), lkey, lkey, st.sampled_from(["LEFT", "RIGHT"]),
              st.sampled_from(["LEFT", "RIGHT"])).map(list),
    st.sampled_from(KEYS).map(lambda k: ["OBJECT", "ENCODING", k]),
    st.tuples(st.just("COPY"), st.sampled_from(KEYS), st.sampled_from(KEYS)).map(list),
    st.sampled_from(KEYS).map(lambda k: ["DEL", k]),
)
SMALL_LIMITS = [["CONFIG", "SET", "hash-max-listpack-entries", "3"],
                ["CONFIG", "SET", "hash-max-listpack-value", "8"],
                ["CONFIG", "SET", "zset-max-listpack-entries", "3"],
                ["CONFIG", "SET", "zset-max-listpack-value", "8"]]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=st.lists(command, min_size=1, max_size=30))
def test_random_sequences_small_thresholds(pair, cmds):
    pair.check(SMALL_LIMITS + cmds)


def test_values_are_packed_and_expanded_in_place(monkeypatch):
    """The packing itself (in-process, no server): a value leaves the ring of
    expanded values packed, comes back expanded with the same contents and
    order, and stays the same object."""
    from redpoll.datatypes import RHash, RList, RSet, ZSet, compact

    monkeypatch.setattr(compact, "RING_SIZE", 16)

    h = RHash([(b"b", b"1"), (b"a", b"2"), (b"10", b"-3")])
    h.ht = False
    z = ZSet()
    z.big = False
    for m, s in ((b"x", 2.0), (b"y", -1.5), (b"a", 2.0)):
        z.add(m, s)
    lst = RList([b"q", b"1", b""])
    st = RSet([b"1", b"x"])
    big = RHash((b"f%d" % i, b"v") for i in range(5))
    big.ht = True                                # hashtable encoding: never packed
    for _ in range(compact.RING_SIZE + len(compact._ring)):   # out of the ring
        RList()
    assert h.packed and z.packed and lst.packed and st.packed and not big.packed
    assert b"x" in st and len(st) == 2 and sorted(st) == [b"1", b"x"] and st.packed
    st.add(b"y")                                 # adds and removes work packed
    st.discard(b"1")
    assert st.packed and sorted(st) == [b"x", b"y"]
    # reads work on the packed form
    assert list(h.items()) == [(b"b", b"1"), (b"a", b"2"), (b"10", b"-3")]
    assert h.get(b"a") == b"2" and h.get(b"zz") is None and b"10" in h and len(h) == 3
    assert list(z.pairs()) == [(-1.5, b"y"), (2.0, b"a"), (2.0, b"x")]
    assert z.score(b"x") == 2.0 and z.rank(b"x") == 2 and z.rank(b"q") is None and len(z) == 3
    assert list(lst) == [b"q", b"1", b""] and lst[-1] == b"" and len(lst) == 3
    assert h.packed and z.packed and lst.packed
    # so do the simple writes (HSET, ZADD, pushes...)
    h[b"c"] = b"3"
    z.add(b"b", 0.0)
    lst.appendleft(b"0")
    assert h.packed and z.packed and lst.packed
    assert list(z.pairs()) == [(-1.5, b"y"), (0.0, b"b"), (2.0, b"a"), (2.0, b"x")]
    # the others expand
    h.setdefault(b"d", b"4")
    lst.insert(1, b"i")                          # LINSERT (and LSET, LREM) stay packed
    assert lst.packed
    lst.reverse()
    lst.reverse()
    assert list(z.sl) == [(-1.5, b"y"), (0.0, b"b"), (2.0, b"a"), (2.0, b"x")]
    assert not (h.packed or z.packed or lst.packed)
    assert z.dict[b"b"] == 0.0 and list(lst) == [b"0", b"i", b"q", b"1", b""]
    for _ in range(compact.RING_SIZE + len(compact._ring)):
        RList()
    assert h.packed and h.get(b"c") == b"3" and h.get(b"d") == b"4" and len(h) == 5
    assert z.packed and z.rank(b"a") == 2 and lst.packed and list(lst)[0] == b"0"
    # a value used often is expanded (compact.hot)
    for _ in range(compact.HOT_ACCESSES):
        h.get(b"a")
    assert not h.packed and h.get(b"a") == b"2"


def test_packed_format_is_binary_safe(monkeypatch):
    """Elements with the separator and escape bytes (0, 1, 2) survive the
    packed form and its in-place edits, in order."""
    from redpoll.datatypes import RHash, RList, RSet, ZSet, compact

    monkeypatch.setattr(compact, "HOT_ACCESSES", 1 << 20)
    odd = [b"", b"\x00", b"\x01", b"\x02", b"\x01\x10", b"a\x00\x02b", b"\x00\x00"]
    lst = RList.new(odd)
    lst.append(b"\x02\x01")
    assert lst.packed and list(lst) == odd + [b"\x02\x01"] and lst.pop() == b"\x02\x01"
    assert lst.popleft() == b"" and b"\x01\x10" in lst and b"\x10" not in lst
    h = RHash.new()
    for i, f in enumerate(odd):
        h[f] = odd[-1 - i]
    assert h.packed and [h.get(f) for f in odd] == odd[::-1] and h.get(b"\x03") is None
    st = RSet.new()
    st.update(odd)
    assert st.packed and sorted(st) == sorted(odd) and all(m in st for m in odd)
    z = ZSet.new()
    for f in odd:
        z.add(f, 1.0)
    assert z.packed and [m for _, m in z.pairs()] == sorted(odd)
    assert [z.rank(m) for m in sorted(odd)] == list(range(len(odd)))


def test_packed_values_are_small(monkeypatch):
    """What the memory benchmark relies on: a packed 10-element hash, sorted
    set or list costs a few hundred bytes, several times less than expanded
    (Redis's listpacks of the same data take ~150-250 bytes)."""
    import sys

    from redpoll.datatypes import RHash, RList, ZSet, compact

    monkeypatch.setattr(compact, "RING_SIZE", 4)
    h = RHash((b"field:%d" % i, b"value:%d" % i) for i in range(10))
    h.ht = False
    z = ZSet()
    z.big = False
    for i in range(10):
        z.add(b"member:%d" % i, float(i))
    lst = RList(b"item:%d" % i for i in range(10))

    def expanded_size(v):
        inner = {RHash: lambda: [h._d, *h._d.keys(), *h._d.values()],
                 ZSet: lambda: [z._dict, *z._dict, *z._sl, *(s for s, _ in z._sl)],
                 RList: lambda: [lst._q, *lst._q]}[type(v)]()
        return sys.getsizeof(v) + sum(map(sys.getsizeof, inner))

    before = {type(v): expanded_size(v) for v in (h, z, lst)}
    for _ in range(compact.RING_SIZE + len(compact._ring)):   # out of the ring
        RList()
    for v in (h, z, lst):
        assert v.packed
        packed = sys.getsizeof(v) + sys.getsizeof(v._lp)
        assert packed <= 400, (type(v), packed)
        assert packed * 3 <= before[type(v)], (type(v), packed, before[type(v)])


def test_loading_a_listpack_checks_only_the_entry_count(pair):
    """Redis 7.0 converts a hash/zset read from a listpack (RDB, RESTORE)
    only when it has too many entries, not when an entry is longer than
    *-max-listpack-value; one read from the hashtable/skiplist encodings is
    checked for both."""
    long = "x" * 100
    pair.check([
        ["CONFIG", "SET", "hash-max-listpack-value", "200"],
        ["CONFIG", "SET", "zset-max-listpack-value", "200"],
        ["HSET", "h", "f", long], ["ZADD", "z", "1", long], ["HSET", "h3", "a", "1", "b", "2", "c", "3"],
        enc("h"), enc("z"),
        ["CONFIG", "SET", "hash-max-listpack-value", "64"],
        ["CONFIG", "SET", "zset-max-listpack-value", "64"],
        ["CONFIG", "SET", "hash-max-listpack-entries", "2"],
        ["DEBUG", "RELOAD"], enc("h"), enc("z"), enc("h3"), ["HGET", "h", "f"],
        ["HSET", "h", "g", "1"], enc("h"),                  # a write checks again
        ["CONFIG", "SET", "hash-max-listpack-entries", "512"],
        ["CONFIG", "SET", "zset-max-listpack-entries", "512"],
        ["HSET", "big", *fields(300)], ["ZADD", "zbig", *[x for i in range(300) for x in (str(i), f"m{i}")]],
        ["HSET", "big", "long", long], ["CONFIG", "SET", "hash-max-listpack-value", "200"],
        ["DEBUG", "RELOAD"], enc("big"), enc("zbig"),
    ])
    redpoll, redis = pair.conns
    for key in ("h3", "z"):
        t, payload = redis.call(["DUMP", key])
        for conn in (redpoll, redis):
            assert conn.call(["RESTORE", key + ":r", "0", payload]) == ("+", "OK")
    pair.check([enc("h3:r"), enc("z:r"), ["CONFIG", "SET", "zset-max-listpack-entries", "0"]],
               flush=False)
    t, payload = redis.call(["DUMP", "z"])
    for conn in (redpoll, redis):
        assert conn.call(["RESTORE", "z:r2", "0", payload]) == ("+", "OK")
    pair.check([enc("z:r2"), ["ZRANGE", "z:r2", "0", "-1", "WITHSCORES"]], flush=False)


def test_packed_zset_ranges_and_removals_stay_packed(monkeypatch):
    """ZSet.ordered (range reads, ZRANDMEMBER) and ZSet.remove_span (ZPOP*,
    ZREMRANGEBY*) work on a packed zset without expanding it, and agree
    with the expanded form, escaped members included."""
    import random

    from redpoll.datatypes import ZSet, compact

    monkeypatch.setattr(compact, "HOT_ACCESSES", 16)     # never hot here
    rnd = random.Random(7)
    names = [b"a", b"b\x00", b"\x01c", b"d\x02", b"", b"ee"]
    for _ in range(300):
        packed, ref = ZSet.new(), ZSet()
        ref.big = False
        for j in range(rnd.randrange(12)):
            m, s = rnd.choice(names) + b"%d" % j, float(rnd.randrange(-2, 3))
            packed.add(m, s)
            ref.add(m, s)
        assert packed.packed and list(packed.ordered()) == list(ref.sl)
        n = len(ref)
        i = rnd.randrange(n + 1)
        k = rnd.randrange(i, n + 1)
        assert packed.remove_span(i, k) == ref.remove_span(i, k)
        assert packed.packed and list(packed.ordered()) == list(ref.sl)
        assert len(packed) == len(ref) and all(packed.score(m) == s for s, m in ref.sl)
        assert packed.packed


def test_packed_list_edits_stay_packed(monkeypatch):
    """LSET, LINSERT and LREM (RList.__setitem__, insert, remove_matches)
    edit a packed list in place of expanding it, with the deque's results."""
    import random

    from redpoll.datatypes import RList, compact

    monkeypatch.setattr(compact, "HOT_ACCESSES", 16)     # never hot here
    rnd = random.Random(11)
    for _ in range(1000):
        items = [rnd.choice([b"a", b"b", b"\x00", b"\x01x", b""]) for _ in range(rnd.randrange(10))]
        packed, ref = RList.new(list(items)), RList(items)
        op = rnd.randrange(3)
        if op == 0 and items:
            i = rnd.randrange(-len(items), len(items))
            packed[i] = ref[i] = b"N\x02"
        elif op == 1:
            i = rnd.randrange(len(items) + 1)
            packed.insert(i, b"I")
            ref.insert(i, b"I")
        else:
            count, x = rnd.randrange(-3, 4), rnd.choice([b"a", b"\x00", b"zz"])
            assert packed.remove_matches(x, count) == ref.remove_matches(x, count)
        assert packed.packed and list(packed) == list(ref) and len(packed) == len(ref)
