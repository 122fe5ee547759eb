"""List commands against real Redis 7.0 (tests/diff.py): replies, errors,
RESP2/RESP3 null shapes, command table entries, keyspace events and what
gets propagated (via a replica-less AOF-free check: MONITOR is not enough,
so propagation is covered in test_blocking.py)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# REDPOLL_EXAMPLES=10 multiplies the hypothesis examples of the data type tests
EXAMPLES_FACTOR = int(os.environ.get("REDPOLL_EXAMPLES", "1"))

LIST_COMMANDS = ["lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "lrange",
                 "lindex", "linsert", "llen", "lpos", "lrem", "lset", "ltrim",
                 "lmove", "rpoplpush", "lmpop", "blpop", "brpop", "blmove",
                 "brpoplpush", "blmpop"]


def command_table_entry(argv, reply):
    """COMMAND INFO reduced to what this module declares: name, arity, flags,
    first/last/step key positions and ACL categories (key specs and the
    status-vs-bulk encoding of flags belong to COMMAND's implementation)."""
    t, entries = reply
    out = []
    for e in entries:
        f = e[1]
        flat = lambda x: sorted(y[1].decode() if isinstance(y[1], bytes) else y[1]
                                for y in x[1])
        out.append((f[0][1], f[1][1], flat(f[2]), f[3][1], f[4][1], f[5][1], flat(f[6])))
    return out


def test_command_info_matches(pair):
    pair.check([["COMMAND", "INFO", name] for name in LIST_COMMANDS],
               norm={"command": command_table_entry})


def test_push_pop(pair):
    pair.check([
        ["LPUSH", "l", "a", "b", "c"], ["RPUSH", "l", "x", "y"], ["LRANGE", "l", "0", "-1"],
        ["LPUSHX", "nokey", "a"], ["RPUSHX", "nokey", "a"], ["EXISTS", "nokey"],
        ["LPUSHX", "l", "p"], ["RPUSHX", "l", "q", "r"], ["LLEN", "l"],
        ["LPOP", "l"], ["RPOP", "l"], ["LPOP", "l", "2"], ["RPOP", "l", "0"],
        ["LPOP", "l", "-1"], ["LPOP", "l", "x"], ["LPOP", "l", "1", "2"],
        ["RPOP", "l", "100"], ["EXISTS", "l"], ["LPOP", "l"], ["LPOP", "l", "0"],
        ["LPOP", "l", "3"], ["RPOP", "nokey", "1"], ["LLEN", "nokey"],
        ["SET", "s", "v"], ["LPUSH", "s", "a"], ["LPOP", "s"], ["LPOP", "s", "0"],
        ["LLEN", "s"], ["LRANGE", "s", "0", "1"], ["LPUSHX", "s", "a"],
        ["LPUSH", "l"], ["OBJECT", "ENCODING", "l"],
        ["RPUSH", "e", "x"], ["OBJECT", "ENCODING", "e"],
    ])


def test_pop_resp3(pair):
    pair.check([
        ["RPUSH", "l", "a", "b"], ["LPOP", "nokey"], ["LPOP", "nokey", "1"],
        ["LPOP", "l", "0"], ["LPOP", "l", "5"], ["LMPOP", "1", "nokey", "LEFT"],
        ["BLPOP", "nokey", "0.01"], ["BLMOVE", "nokey", "d", "LEFT", "LEFT", "0.01"],
        ["BLMPOP", "0.01", "1", "nokey", "RIGHT"],
    ], proto=3)


def test_ranges_and_index(pair):
    cmds = [["RPUSH", "l"] + [str(i) for i in range(10)]]
    for a, b in [(0, -1), (2, 4), (-3, -1), (5, 2), (-100, 100), (9, 9), (10, 20),
                 (-1, -1), (0, 0), (-11, -10)]:
        cmds.append(["LRANGE", "l", str(a), str(b)])
    for i in [0, 9, 10, -1, -10, -11]:
        cmds.append(["LINDEX", "l", str(i)])
    cmds += [["LRANGE", "l", "a", "1"], ["LINDEX", "l", "1.5"], ["LRANGE", "nokey", "0", "-1"],
             ["LINDEX", "nokey", "0"], ["LRANGE", "l", "01", "2"],
             ["LRANGE", "l", "9223372036854775807", "-9223372036854775808"]]
    pair.check(cmds)


@pytest.mark.parametrize("start,stop", [(0, -1), (1, -2), (3, 1), (-2, -1), (0, 0),
                                        (5, 100), (-100, 2), (20, 30)])
def test_ltrim(pair, start, stop):
    pair.check([["RPUSH", "l", "a", "b", "c", "d", "e"], ["LTRIM", "l", str(start), str(stop)],
                ["LRANGE", "l", "0", "-1"], ["EXISTS", "l"]])


def test_edits(pair):
    pair.check([
        ["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"],
        ["LINSERT", "l", "BEFORE", "b", "X"], ["LINSERT", "l", "after", "c", "Y"],
        ["LINSERT", "l", "middle", "a", "Z"], ["LINSERT", "l", "before", "zz", "Z"],
        ["LINSERT", "nokey", "before", "a", "Z"], ["LRANGE", "l", "0", "-1"],
        ["LREM", "l", "1", "a"], ["LREM", "l", "-1", "a"], ["LRANGE", "l", "0", "-1"],
        ["LREM", "l", "0", "b"], ["LREM", "l", "0", "nothing"], ["LREM", "l", "x", "a"],
        ["LREM", "nokey", "0", "a"], ["LRANGE", "l", "0", "-1"],
        ["LSET", "l", "0", "first"], ["LSET", "l", "-1", "last"], ["LSET", "l", "99", "x"],
        ["LSET", "l", "-99", "x"], ["LSET", "nokey", "0", "x"], ["LSET", "l", "a", "x"],
        ["LRANGE", "l", "0", "-1"], ["LREM", "l", "0", "first"], ["LREM", "l", "0", "last"],
        ["LRANGE", "l", "0", "-1"], ["LREM", "l", "0", "X"], ["LREM", "l", "0", "Y"],
        ["LREM", "l", "0", "c"], ["EXISTS", "l"],
        ["SET", "s", "x"], ["LINSERT", "s", "before", "a", "b"], ["LREM", "s", "0", "a"],
        ["LSET", "s", "0", "a"], ["LTRIM", "s", "0", "1"],
    ])


def test_lpos(pair):
    cmds = [["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"]]
    opts = [[], ["RANK", "2"], ["RANK", "-1"], ["RANK", "-3"], ["RANK", "5"],
            ["COUNT", "0"], ["COUNT", "2"], ["RANK", "-1", "COUNT", "2"],
            ["MAXLEN", "3"], ["RANK", "2", "MAXLEN", "4"], ["RANK", "-1", "MAXLEN", "2"],
            ["COUNT", "0", "MAXLEN", "0"], ["RANK", "0"], ["COUNT", "-1"], ["MAXLEN", "-1"],
            ["RANK"], ["FOO", "1"], ["RANK", "x"], ["RANK", "-9223372036854775808"], ["COUNT", "1", "RANK", "2", "COUNT", "3"]]
    for o in opts:
        for elem in ["a", "c", "zz"]:
            cmds.append(["LPOS", "l", elem] + o)
    cmds += [["LPOS", "nokey", "a"], ["LPOS", "nokey", "a", "COUNT", "1"],
             ["SET", "s", "x"], ["LPOS", "s", "a"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)


def test_moves(pair):
    pair.check([
        ["RPUSH", "src", "1", "2", "3"], ["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        ["LMOVE", "src", "dst", "right", "left"], ["LRANGE", "dst", "0", "-1"],
        ["LMOVE", "src", "src", "LEFT", "RIGHT"], ["LRANGE", "src", "0", "-1"],
        ["LMOVE", "src", "dst", "LEFT", "LEFT"], ["EXISTS", "src"],
        ["LMOVE", "src", "dst", "LEFT", "LEFT"], ["LMOVE", "dst", "dst", "UP", "LEFT"],
        ["RPOPLPUSH", "dst", "dst"], ["LRANGE", "dst", "0", "-1"], ["RPOPLPUSH", "dst", "new"],
        ["RPOPLPUSH", "nokey", "new"], ["SET", "s", "x"], ["RPOPLPUSH", "dst", "s"],
        ["RPOPLPUSH", "s", "dst"], ["LMOVE", "nokey", "s", "LEFT", "LEFT"],
        ["LMOVE", "dst", "s", "LEFT", "LEFT"], ["LRANGE", "dst", "0", "-1"],
        ["RPUSH", "one", "x"], ["LMOVE", "one", "one", "LEFT", "RIGHT"],
        ["LRANGE", "one", "0", "-1"],
    ])


def test_lmpop(pair):
    pair.check([
        ["RPUSH", "b", "1", "2", "3", "4"],
        ["LMPOP", "2", "a", "b", "LEFT"], ["LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2"],
        ["LMPOP", "1", "b", "LEFT", "COUNT", "10"], ["EXISTS", "b"],
        ["LMPOP", "2", "a", "b", "LEFT"], ["LMPOP", "0", "a", "LEFT"],
        ["LMPOP", "-1", "a", "LEFT"], ["LMPOP", "abc", "a", "LEFT"],
        ["LMPOP", "3", "a", "LEFT"], ["LMPOP", "1", "a", "MIDDLE"],
        ["LMPOP", "1", "a", "LEFT", "COUNT", "0"], ["LMPOP", "1", "a", "LEFT", "COUNT", "-1"],
        ["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"],
        ["LMPOP", "1", "a", "LEFT", "FOO"], ["LMPOP", "1", "a", "LEFT", "COUNT"],
        ["LMPOP", "2147483648", "a", "LEFT"], ["LMPOP", "1"],
        ["SET", "s", "x"], ["LMPOP", "2", "a", "s", "LEFT"], ["RPUSH", "a", "z"],
        ["LMPOP", "2", "a", "s", "LEFT"],
        ["BLMPOP", "x", "1", "a", "LEFT"], ["BLMPOP", "0", "0", "a", "LEFT"],
        ["BLMPOP", "-1", "1", "a", "LEFT", "COUNT", "0"], ["BLMPOP", "-1", "1", "a", "LEFT"],
        ["RPUSH", "a", "q", "r"], ["BLMPOP", "0", "1", "a", "RIGHT", "COUNT", "5"],
    ])


def test_blocking_argument_errors(pair):
    pair.check([
        ["BLPOP", "l", "x"], ["BLPOP", "l", "-1"], ["BLPOP", "l", "nan"], ["BLPOP", "l", " 1"],
        ["BLPOP", "l", "inf"], ["BLPOP", "l", "1e300"], ["BRPOP", "l", ""],
        ["BLMOVE", "a", "b", "LEFT", "UP", "0"], ["BLMOVE", "a", "b", "LEFT", "LEFT", "x"],
        ["BRPOPLPUSH", "a", "b", "-0.5"], ["SET", "s", "x"], ["BLPOP", "nokey", "s", "0"],
        ["BRPOPLPUSH", "s", "b", "0"], ["RPUSH", "l", "a", "b"], ["BLPOP", "nokey", "l", "0"],
        ["BRPOP", "l", "0"], ["BRPOP", "l", "0.01"], ["BRPOPLPUSH", "s", "b", "0.01"],
        ["RPUSH", "l", "c"], ["BRPOPLPUSH", "l", "s", "0"], ["BLMOVE", "l", "d", "RIGHT", "LEFT", "0"],
        ["LRANGE", "d", "0", "-1"],
    ])


def collect_events(pair, cmds):
    """Run ``cmds`` on both servers with every keyspace event enabled; the
    (redpoll, redis) lists of (channel, message) received, in order."""
    from diff import RespConn
    events = []
    for srv in (pair.redpoll, pair.redis):
        main = RespConn(srv.port)
        main.call(["FLUSHALL"])
        main.call(["CONFIG", "SET", "notify-keyspace-events", "KEA"])
        sub = RespConn(srv.port)
        sub.call(["PSUBSCRIBE", "__key*__:*"])
        for argv in cmds:
            main.call(argv)
        main.call(["CONFIG", "SET", "notify-keyspace-events", ""])
        sub.call(["PSUBSCRIBE", "marker"])     # its confirmation ends the stream
        got = []
        while True:
            items = sub.reader.read()[1]
            if items[0][1] == b"psubscribe":
                break
            got.append((items[2][1], items[3][1]))
        events.append(got)
        sub.close()
        main.close()
    return events


def test_keyspace_events(pair):
    """The events each command fires, in order."""
    a, b = collect_events(pair, [
        ["RPUSH", "l", "a", "b", "c"], ["LPUSH", "l", "z"], ["LPUSHX", "l", "y"],
        ["RPUSHX", "l", "x"], ["LPOP", "l"], ["RPOP", "l", "2"], ["LINSERT", "l", "BEFORE", "a", "q"],
        ["LSET", "l", "0", "w"], ["LREM", "l", "1", "w"], ["LTRIM", "l", "0", "0"],
        ["RPUSH", "m", "1"], ["LMOVE", "l", "m", "LEFT", "RIGHT"], ["RPOPLPUSH", "m", "m"],
        ["LMPOP", "1", "m", "LEFT", "COUNT", "5"], ["RPUSH", "n", "1"], ["BLPOP", "n", "0"],
        ["RPUSH", "n", "1", "2"], ["LTRIM", "n", "5", "6"], ["DEL", "n"]])
    assert a and a == b


ops = st.sampled_from(["LPUSH", "RPUSH", "LPOP", "RPOP", "LRANGE", "LINDEX", "LINSERT",
                       "LREM", "LSET", "LTRIM", "LPOS", "LMOVE", "RPOPLPUSH", "LMPOP", "LLEN",
                       "LPUSHX", "RPUSHX"])
small = st.sampled_from(["-3", "-1", "0", "1", "2", "5", "x"])
elem = st.sampled_from(["a", "b", "c"])
lkey = st.sampled_from(["k1", "k2", "str"])


@st.composite
def list_cmd(draw):
    op = draw(ops)
    k = draw(lkey)
    if op in ("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"):
        return [op, k] + draw(st.lists(elem, min_size=1, max_size=4))
    if op in ("LPOP", "RPOP"):
        return [op, k] + draw(st.lists(small, max_size=1))
    if op in ("LRANGE", "LTRIM"):
        return [op, k, draw(small), draw(small)]
    if op == "LINDEX":
        return [op, k, draw(small)]
    if op == "LINSERT":
        return [op, k, draw(st.sampled_from(["BEFORE", "AFTER", "x"])), draw(elem), "n"]
    if op == "LREM":
        return [op, k, draw(small), draw(elem)]
    if op == "LSET":
        return [op, k, draw(small), draw(elem)]
    if op == "LPOS":
        return [op, k, draw(elem)] + draw(st.lists(st.sampled_from(
            ["RANK", "COUNT", "MAXLEN", "-1", "2", "0", "1"]), max_size=4))
    if op == "LMOVE":
        return [op, k, draw(lkey), draw(st.sampled_from(["LEFT", "RIGHT"])),
                draw(st.sampled_from(["LEFT", "RIGHT"]))]
    if op == "RPOPLPUSH":
        return [op, k, draw(lkey)]
    if op == "LMPOP":
        return [op, "2", k, draw(lkey), draw(st.sampled_from(["LEFT", "RIGHT"]))] + draw(
            st.lists(st.sampled_from(["COUNT", "2", "0"]), max_size=2))
    return [op, k]


@settings(max_examples=60 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(list_cmd(), min_size=1, max_size=25))
def test_random_sequences(pair, cmds):
    pair.check([["SET", "str", "x"]] + cmds + [["LRANGE", "k1", "0", "-1"],
                                             ["LRANGE", "k2", "0", "-1"]])


def test_propagation():
    from test_blocking import propagated
    cmds = [["RPUSH", "l", "a", "b", "c", "d"], ["LMPOP", "1", "l", "LEFT"],
            ["LMPOP", "2", "nokey", "l", "RIGHT", "COUNT", "2"], ["LPOP", "nokey"],
            ["LMOVE", "l", "m", "left", "RIGHT"], ["RPUSH", "m", "x"],
            ["LMPOP", "1", "m", "LEFT", "COUNT", "10"], ["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            ["ZMPOP", "1", "z", "MIN"], ["ZMPOP", "1", "z", "max", "COUNT", "5"], ["ZPOPMIN", "z"]]
    assert propagated("redpoll", cmds) == propagated("redis", cmds)


# -- random arguments -----------------------------------------------------------------

ARG_TOKENS = ["k1", "k2", "k3", "h", "s", "0", "1", "2", "-1", "3", "x", "a", "b", "LEFT",
              "RIGHT", "MIN", "MAX", "COUNT", "LIMIT", "WITHSCORES", "WITHVALUES", "REV",
              "BYSCORE", "BYLEX", "NX", "XX", "GT", "LT", "CH", "INCR", "WEIGHTS", "AGGREGATE",
              "SUM", "MATCH", "*", "(1", "[a", "-", "+", "inf", "-inf", "1.5", "BEFORE", "AFTER",
              "RANK", "MAXLEN", "", "9223372036854775807", "-9223372036854775808", "0.01"]
ARG_SETUP = [["RPUSH", "k1", "a", "b", "1"], ["ZADD", "k2", "1", "a", "2", "b"],
             ["SADD", "k3", "1", "a"], ["HSET", "h", "a", "1"], ["SET", "s", "x"]]


def random_calls(names):
    """Strategy: calls of the given commands with arguments drawn from
    ARG_TOKENS (blocking ones get a 10 ms timeout so they never wait long)."""
    def build(t):
        name, args = t
        argv = [name] + args
        if name in ("blmpop", "bzmpop"):
            argv[1:2] = ["0.01"]
        elif name.startswith("b"):
            argv.append("0.01")
        return argv
    return st.tuples(st.sampled_from(names),
                     st.lists(st.sampled_from(ARG_TOKENS), max_size=7)).map(build)


def check_random_calls(pair, calls):
    """Every call must get Redis's reply (random replies: the same shape),
    in RESP2 or RESP3 (odd/even number of calls)."""
    pair.check(ARG_SETUP + calls, proto=3 if len(calls) % 2 else 2,
               norm={"hgetall": None, "hkeys": None, "hvals": None, "hscan": None,
                     "sscan": None})


@settings(max_examples=40 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(random_calls(LIST_COMMANDS), min_size=1, max_size=20))
def test_random_arguments(pair, calls):
    check_random_calls(pair, calls)
