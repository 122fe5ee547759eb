"""Randomised differential test: hypothesis generates command sequences over
the string, bitmap and generic key commands - wrong types, wrong arity, bad
numbers, options in odd combinations - and every reply of redpoll must equal
real Redis 7.0's (see tests/diff.py)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEYS = ["a", "b", "c", "{t}x"]
key = st.sampled_from(KEYS + ["nokey"])

integers = st.one_of(
    st.integers(-5, 20),
    st.sampled_from([-9223372036854775808, 9223372036854775807, 2**63, -2**63 - 1, 2**31,
                     4294967296, 536870912, 10**20]),
).map(str)
floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.sampled_from(["0.1", "-0.1", "1e-20", "3.0e3", "1e308", "inf", "-inf", "nan", "5.",
                     ".5", "0x10", "1_0", " 1", "1e", "+2.5", "10.5", "-0", "1e4000"]),
)
junk = st.sampled_from(["", "x", "abc", " ", "1 ", "01", "+1", "-0", "1.5", "1e3", "\x00",
                        "hello world", "é", "9" * 30])
number = st.one_of(integers, floats, junk)
value = st.one_of(integers, floats, junk, st.text(max_size=12),
                  st.binary(max_size=12).map(lambda b: b))
# Expire arguments never give a short positive TTL: a key must not expire on
# one server and not on the other while a sequence runs.
ttl = st.one_of(st.integers(5000, 100000), st.integers(-10, 0),
                st.sampled_from([9223372036854775807, 2**63, -2**63, 10**20])).map(str)
expire_arg = st.one_of(ttl, floats, junk)
abstime = st.one_of(st.integers(1, 100), st.integers(4102444800, 4102444900),
                    st.sampled_from([0, -1, 9223372036854775807])).map(str)


def opt_list(options, extra=st.none()):
    """A sequence of option tokens in any order, some with arguments."""
    return st.lists(st.one_of(st.sampled_from(options), extra), max_size=4).map(
        lambda xs: [x for item in xs if item is not None
                    for x in (item if isinstance(item, list) else [item])])


unit_arg = st.tuples(st.sampled_from(["EX", "PX", "EXAT", "PXAT", "ex", "pX"]),
                     expire_arg).map(list)
set_opts = opt_list(["NX", "XX", "GET", "KEEPTTL", "nx", "get", "BOGUS"], unit_arg)
getex_opts = opt_list(["PERSIST", "persist", "NX", "KEEPTTL"], unit_arg)
expire_flags = opt_list(["NX", "XX", "GT", "LT", "gt", "FOO"])

bit_type = st.one_of(st.sampled_from(["i1", "u1", "i8", "u8", "i16", "u16", "i63", "u63",
                                      "i64", "u64", "i0", "I8", "x8", "i65"]),
                     st.integers(1, 64).map(lambda n: f"i{n}"),
                     st.integers(1, 63).map(lambda n: f"u{n}"))
bit_off = st.one_of(st.integers(0, 100).map(str), st.sampled_from(["#0", "#3", "-1", "x", "#-1"]))
bitfield_ops = st.lists(st.one_of(
    st.tuples(st.just("GET"), bit_type, bit_off).map(list),
    st.tuples(st.sampled_from(["SET", "INCRBY"]), bit_type, bit_off, number).map(list),
    st.tuples(st.just("OVERFLOW"), st.sampled_from(["WRAP", "SAT", "FAIL", "BAD"])).map(list),
), max_size=4).map(lambda ops: [x for op in ops for x in op])

small_int = st.integers(-10, 30).map(str)
db = st.sampled_from(["0", "1", "15", "16", "-1", "x"])

command = st.one_of(
    st.tuples(st.just("SET"), key, value, set_opts).map(lambda t: ["SET", t[1], t[2], *t[3]]),
    st.tuples(st.just("GET"), key).map(list),
    st.tuples(st.sampled_from(["GETSET", "SETNX", "APPEND"]), key, value).map(list),
    st.tuples(st.sampled_from(["GETDEL", "STRLEN", "INCR", "DECR", "TYPE", "TTL", "PTTL",
                               "EXPIRETIME", "PEXPIRETIME", "PERSIST"]), key).map(list),
    st.tuples(st.just("GETEX"), key, getex_opts).map(lambda t: ["GETEX", t[1], *t[2]]),
    st.lists(key, min_size=1, max_size=4).map(lambda ks: ["MGET", *ks]),
    st.lists(st.tuples(key, value), min_size=1, max_size=3).map(
        lambda kv: ["MSET", *[x for p in kv for x in p]]),
    st.lists(st.tuples(key, value), min_size=1, max_size=3).map(
        lambda kv: ["MSETNX", *[x for p in kv for x in p]]),
    st.tuples(st.sampled_from(["SETEX", "PSETEX"]), key, expire_arg, value).map(list),
    st.tuples(st.sampled_from(["GETRANGE", "SUBSTR"]), key, small_int, small_int).map(list),
    st.tuples(st.just("SETRANGE"), key, st.one_of(small_int, number), value).map(list),
    st.tuples(st.sampled_from(["INCRBY", "DECRBY"]), key, number).map(list),
    st.tuples(st.just("INCRBYFLOAT"), key, number).map(list),
    st.tuples(st.just("LCS"), key, key, opt_list(["LEN", "IDX", "WITHMATCHLEN", "FOO"],
              st.tuples(st.just("MINMATCHLEN"), small_int).map(list))).map(
        lambda t: ["LCS", t[1], t[2], *t[3]]),
    st.tuples(st.just("SETBIT"), key, st.one_of(st.integers(0, 200).map(str), number),
              st.sampled_from(["0", "1", "2", "x"])).map(list),
    st.tuples(st.just("GETBIT"), key, st.one_of(st.integers(0, 200).map(str), number)).map(list),
    st.tuples(st.just("BITCOUNT"), key, st.lists(st.one_of(small_int, st.sampled_from(["BIT", "BYTE", "x"])),
                                                  max_size=3)).map(lambda t: ["BITCOUNT", t[1], *t[2]]),
    st.tuples(st.just("BITPOS"), key, st.sampled_from(["0", "1", "2"]),
              st.lists(st.one_of(small_int, st.sampled_from(["BIT", "BYTE"])), max_size=3)).map(
        lambda t: ["BITPOS", t[1], t[2], *t[3]]),
    st.tuples(st.just("BITOP"), st.sampled_from(["AND", "OR", "XOR", "NOT", "NAND"]), key,
              st.lists(key, min_size=1, max_size=3)).map(lambda t: ["BITOP", t[1], t[2], *t[3]]),
    st.tuples(st.sampled_from(["BITFIELD", "BITFIELD_RO"]), key, bitfield_ops).map(
        lambda t: [t[0], t[1], *t[2]]),
    st.lists(key, min_size=1, max_size=3).map(lambda ks: ["DEL", *ks]),
    st.lists(key, min_size=1, max_size=3).map(lambda ks: ["UNLINK", *ks]),
    st.lists(key, min_size=1, max_size=3).map(lambda ks: ["EXISTS", *ks]),
    st.lists(key, min_size=1, max_size=3).map(lambda ks: ["TOUCH", *ks]),
    st.sampled_from([["KEYS", "*"], ["KEYS", "?"], ["KEYS", "[ab]"], ["DBSIZE"], ["RANDOMKEY"],
                     ["SWAPDB", "0", "1"], ["SELECT", "1"], ["SELECT", "0"]]),
    st.tuples(st.sampled_from(["RENAME", "RENAMENX"]), key, key).map(list),
    st.tuples(st.just("COPY"), key, key, opt_list(["REPLACE", "FOO"],
              st.tuples(st.just("DB"), db).map(list))).map(lambda t: ["COPY", t[1], t[2], *t[3]]),
    st.tuples(st.just("MOVE"), key, db).map(list),
    st.tuples(st.sampled_from(["EXPIRE", "PEXPIRE"]), key, expire_arg, expire_flags).map(
        lambda t: [t[0], t[1], t[2], *t[3]]),
    st.tuples(st.sampled_from(["EXPIREAT", "PEXPIREAT"]), key, st.one_of(abstime, expire_arg),
              expire_flags).map(lambda t: [t[0], t[1], t[2], *t[3]]),
    st.tuples(st.just("OBJECT"), st.sampled_from(["ENCODING", "REFCOUNT", "encoding"]), key).map(list),
    st.tuples(st.sampled_from(["RPUSH", "SADD", "HSET"]), key, value, value).map(list),
    st.tuples(st.sampled_from(["SORT", "SORT_RO"]), key,
              opt_list(["DESC", "ALPHA", "ASC"], st.tuples(st.just("LIMIT"), small_int, small_int).map(list))).map(
        lambda t: [t[0], t[1], *t[2]]),
)

# wrong arity: drop or add arguments of a generated command
mutated = st.tuples(command, st.integers(-3, 2), value).map(
    lambda t: t[0][:max(1, len(t[0]) + t[1])] if t[1] < 0 else t[0] + [t[2]] * t[1])
sequences = st.lists(st.one_of(command, command, command, mutated), min_size=1, max_size=20)


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cmds=sequences)
def test_random_sequences_match_redis(pair, cmds):
    pair.check([["SELECT", "0"]] + cmds)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=sequences)
def test_random_sequences_match_redis_resp3(pair, cmds):
    pair.check([["SELECT", "0"]] + cmds, proto=3)
