"""Hash commands against real Redis 7.0 (tests/diff.py): replies, errors,
RESP3 maps, counters, HRANDFIELD shapes, HSCAN, encodings and events."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diff import unordered
from test_lists import EXAMPLES_FACTOR, check_random_calls, random_calls, collect_events, command_table_entry

HASH_COMMANDS = ["hset", "hsetnx", "hget", "hmget", "hmset", "hdel", "hexists", "hlen",
                 "hkeys", "hvals", "hgetall", "hincrby", "hincrbyfloat", "hstrlen",
                 "hrandfield", "hscan"]


def test_command_info_matches(pair):
    pair.check([["COMMAND", "INFO", name] for name in HASH_COMMANDS],
               norm={"command": command_table_entry})


def test_basic(pair):
    cmds = [["HSET", "h", "a", "1", "b", "2"], ["HSET", "h", "a", "3", "c", "4"],
            ["HSET", "h", "a"], ["HSET", "h", "a", "1", "b"], ["HMSET", "h", "d", "5"],
            ["HMSET", "h", "d"], ["HSETNX", "h", "a", "9"], ["HSETNX", "h", "z", "9"],
            ["HSETNX", "new", "f", "v"], ["HGET", "h", "a"], ["HGET", "h", "nope"],
            ["HGET", "nokey", "a"], ["HMGET", "h", "a", "nope", "z"], ["HMGET", "nokey", "a", "b"],
            ["HEXISTS", "h", "a"], ["HEXISTS", "h", "x"], ["HEXISTS", "nokey", "x"],
            ["HLEN", "h"], ["HLEN", "nokey"], ["HSTRLEN", "h", "a"], ["HSTRLEN", "h", "x"],
            ["HKEYS", "h"], ["HVALS", "h"], ["HGETALL", "h"], ["HKEYS", "nokey"],
            ["HGETALL", "nokey"], ["HDEL", "h", "a", "a", "x"], ["HDEL", "nokey", "a"],
            ["HDEL", "h", "b", "c", "d", "z"], ["EXISTS", "h"],
            ["SET", "s", "x"], ["HSET", "s", "a", "1"], ["HGET", "s", "a"], ["HGETALL", "s"],
            ["HDEL", "s", "a"], ["HLEN", "s"], ["HSETNX", "s", "a", "1"], ["HMGET", "s", "a"],
            ["HINCRBY", "s", "a", "1"], ["HSCAN", "s", "0"], ["HRANDFIELD", "s"]]
    pair.check(cmds, norm={"hkeys": None, "hvals": None, "hgetall": None})
    pair.check(cmds, proto=3, norm={"hkeys": None, "hvals": None, "hgetall": None})


def test_counters(pair):
    pair.check([
        ["HINCRBY", "h", "n", "5"], ["HINCRBY", "h", "n", "-10"], ["HINCRBY", "h", "n", "x"],
        ["HINCRBY", "h", "n", "1.5"], ["HSET", "h", "s", "abc", "big", "9223372036854775800",
                                       "f", "1.5", "sp", " 1"],
        ["HINCRBY", "h", "s", "1"], ["HINCRBY", "h", "big", "7"], ["HINCRBY", "h", "big", "8"],
        ["HINCRBY", "h", "f", "1"], ["HINCRBY", "h", "sp", "1"], ["HINCRBY", "new", "n", "x"],
        ["EXISTS", "new"],
        ["HINCRBYFLOAT", "h", "x", "1.1"], ["HINCRBYFLOAT", "h", "x", "2.2"],
        ["HINCRBYFLOAT", "h", "x", "-3.3"], ["HINCRBYFLOAT", "h", "n", "0.5"],
        ["HINCRBYFLOAT", "h", "f", "1e3"], ["HINCRBYFLOAT", "h", "s", "1"],
        ["HINCRBYFLOAT", "h", "x", "abc"], ["HINCRBYFLOAT", "h", "x", "inf"],
        ["HINCRBYFLOAT", "h", "x", "nan"], ["HINCRBYFLOAT", "h", "x", "5.0e3"],
        ["HINCRBYFLOAT", "h", "y", "0x10"], ["HINCRBYFLOAT", "new2", "y", "x"], ["EXISTS", "new2"],
        ["HGETALL", "h"]])


def test_hrandfield(pair):
    cmds = [["HSET", "h", "a", "1", "b", "2", "c", "3"],
            ["HRANDFIELD", "h"], ["HRANDFIELD", "h", "2"], ["HRANDFIELD", "h", "-5"],
            ["HRANDFIELD", "h", "10"], ["HRANDFIELD", "h", "0"], ["HRANDFIELD", "h", "2", "WITHVALUES"],
            ["HRANDFIELD", "h", "-4", "WITHVALUES"], ["HRANDFIELD", "h", "2", "FOO"],
            ["HRANDFIELD", "h", "x"], ["HRANDFIELD", "h", "-9223372036854775808"],
            ["HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"],
            ["HRANDFIELD", "nokey"], ["HRANDFIELD", "nokey", "3"], ["HRANDFIELD", "nokey", "3", "WITHVALUES"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)
    got = pair.check([["HSET", "h", "a", "1", "b", "2"], ["HRANDFIELD", "h", "5", "WITHVALUES"]],
                     norm={"hrandfield": None})
    assert got[1][0] == "*"


def test_hscan(pair):
    cmds = [["HSET", "h", "a", "1", "b", "2", "ab", "3"], ["HSCAN", "h", "0"],
            ["HSCAN", "h", "0", "MATCH", "a*"], ["HSCAN", "h", "0", "COUNT", "1"],
            ["HSCAN", "h", "0", "COUNT", "0"], ["HSCAN", "h", "x"], ["HSCAN", "h", "0", "TYPE", "x"],
            ["HSCAN", "nokey", "0"], ["HSCAN", "nokey", "0", "FOO"], ["HSCAN", "h", "0", "FOO"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)


def test_hscan_big_iterates_everything(r):
    fields = {f"f{i}".encode(): str(i).encode() for i in range(1500)}
    r.hset("big", mapping=fields)
    seen = {}
    cursor = 0
    for _ in range(10000):
        cursor, items = r.hscan("big", cursor, count=50)
        seen.update(items)
        if cursor == 0:
            break
    assert seen == fields


def test_encodings(pair):
    pair.check([["HSET", "h", "a", "1"], ["OBJECT", "ENCODING", "h"],
                ["HSET", "h", "b", "x" * 65], ["OBJECT", "ENCODING", "h"],
                ["HDEL", "h", "b"], ["OBJECT", "ENCODING", "h"],
                ["HSET", "g", "y" * 65, "1"], ["OBJECT", "ENCODING", "g"],
                ["HSET", "k"] + [x for i in range(513) for x in (f"f{i}", "v")],
                ["OBJECT", "ENCODING", "k"],
                ["HINCRBYFLOAT", "e", "x", "1.5"], ["OBJECT", "ENCODING", "e"]])


def test_keyspace_events(pair):
    a, b = collect_events(pair, [
        ["HSET", "h", "a", "1"], ["HSET", "h", "a", "1"], ["HMSET", "h", "b", "2"],
        ["HSETNX", "h", "a", "1"], ["HSETNX", "h", "c", "1"], ["HINCRBY", "h", "n", "1"],
        ["HINCRBYFLOAT", "h", "f", "1.5"], ["HDEL", "h", "zz"], ["HDEL", "h", "a", "b"],
        ["HDEL", "h", "c", "n", "f"]])
    assert a and a == b


ops = st.sampled_from(["HSET", "HSETNX", "HGET", "HMGET", "HDEL", "HEXISTS", "HLEN", "HINCRBY",
                       "HINCRBYFLOAT", "HSTRLEN", "HGETALL", "HKEYS"])
field = st.sampled_from(["a", "b", "c"])
val = st.sampled_from(["1", "-2", "x", "1.5", "", "9223372036854775807"])
hkey = st.sampled_from(["h1", "h2", "str"])


@st.composite
def hash_cmd(draw):
    op = draw(ops)
    k = draw(hkey)
    if op == "HSET":
        pairs = draw(st.lists(st.tuples(field, val), min_size=1, max_size=3))
        return [op, k] + [x for p in pairs for x in p]
    if op == "HSETNX":
        return [op, k, draw(field), draw(val)]
    if op in ("HGET", "HEXISTS", "HSTRLEN"):
        return [op, k, draw(field)]
    if op in ("HMGET", "HDEL"):
        return [op, k] + draw(st.lists(field, min_size=1, max_size=3))
    if op in ("HINCRBY", "HINCRBYFLOAT"):
        return [op, k, draw(field), draw(val)]
    return [op, k]


@settings(max_examples=50 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(hash_cmd(), min_size=1, max_size=25))
def test_random_sequences(pair, cmds):
    pair.check([["SET", "str", "x"]] + cmds + [["HGETALL", "h1"], ["HGETALL", "h2"]],
               norm={"hkeys": unordered})


def test_hincrbyfloat_propagation():
    from test_blocking import propagated
    cmds = [["HINCRBYFLOAT", "h", "f", "1.1"], ["HINCRBYFLOAT", "h", "f", "2e3"],
            ["HINCRBYFLOAT", "h", "f", "x"], ["HINCRBY", "h", "n", "3"]]
    assert propagated("redpoll", cmds) == propagated("redis", cmds)


@settings(max_examples=40 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(random_calls(HASH_COMMANDS), min_size=1, max_size=20))
def test_random_arguments(pair, calls):
    check_random_calls(pair, calls)
