"""Set commands against real Redis 7.0 (tests/diff.py): replies, errors,
RESP3 sets, SPOP/SRANDMEMBER shapes, algebra, SSCAN, encodings, events and
SPOP's propagation."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diff import unordered
from test_lists import EXAMPLES_FACTOR, check_random_calls, random_calls, collect_events, command_table_entry

SET_COMMANDS = ["sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop",
                "srandmember", "smove", "sinter", "sintercard", "sinterstore", "sunion",
                "sunionstore", "sdiff", "sdiffstore", "sscan"]


def test_command_info_matches(pair):
    pair.check([["COMMAND", "INFO", name] for name in SET_COMMANDS],
               norm={"command": command_table_entry})


def test_basic(pair):
    cmds = [["SADD", "s", "a", "b", "c", "a"], ["SADD", "s", "a"], ["SADD", "n", "3", "1", "2"],
            ["SMEMBERS", "n"], ["SMEMBERS", "s"], ["SMEMBERS", "nokey"], ["SISMEMBER", "s", "a"],
            ["SISMEMBER", "s", "z"], ["SISMEMBER", "nokey", "a"], ["SMISMEMBER", "s", "a", "z"],
            ["SMISMEMBER", "nokey", "a", "b"], ["SCARD", "s"], ["SCARD", "nokey"],
            ["SREM", "s", "a", "z", "a"], ["SREM", "nokey", "a"], ["SREM", "s", "b", "c"],
            ["EXISTS", "s"], ["SET", "str", "x"], ["SADD", "str", "a"], ["SREM", "str", "a"],
            ["SMEMBERS", "str"], ["SISMEMBER", "str", "a"], ["SMISMEMBER", "str", "a"],
            ["SCARD", "str"], ["SPOP", "str"], ["SRANDMEMBER", "str"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)


def test_spop_srandmember(pair):
    cmds = [["SADD", "s", "a", "b", "c", "d"], ["SPOP", "s"], ["SPOP", "s", "2"], ["SPOP", "s", "0"],
            ["SPOP", "s", "-1"], ["SPOP", "s", "x"], ["SPOP", "s", "1", "2"], ["SPOP", "s", "5"],
            ["EXISTS", "s"], ["SPOP", "nokey"], ["SPOP", "nokey", "3"],
            ["SADD", "s", "a", "b", "c"], ["SRANDMEMBER", "s"], ["SRANDMEMBER", "s", "2"],
            ["SRANDMEMBER", "s", "-7"], ["SRANDMEMBER", "s", "10"], ["SRANDMEMBER", "s", "0"],
            ["SRANDMEMBER", "s", "x"], ["SRANDMEMBER", "s", "-9223372036854775808"],
            ["SRANDMEMBER", "s", "1", "2"], ["SRANDMEMBER", "nokey"], ["SRANDMEMBER", "nokey", "2"],
            ["SADD", "i", "1", "2", "3"], ["SRANDMEMBER", "i", "5"], ["SPOP", "i", "5"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)
    got = pair.check([["SADD", "i", "3", "1", "2"], ["SRANDMEMBER", "i", "3"], ["SPOP", "i", "3"]],
                     norm={"srandmember": unordered, "spop": unordered})
    assert len(got[1][1]) == 3


def test_smove(pair):
    pair.check([["SADD", "a", "1", "2"], ["SADD", "b", "x"], ["SMOVE", "a", "b", "1"],
                ["SMOVE", "a", "b", "1"], ["SMOVE", "a", "a", "2"], ["SMOVE", "a", "a", "9"],
                ["SMEMBERS", "b"], ["SMOVE", "a", "c", "2"], ["EXISTS", "a"], ["SMEMBERS", "c"],
                ["SMOVE", "nokey", "c", "2"], ["SET", "str", "x"], ["SMOVE", "nokey", "str", "1"],
                ["SMOVE", "c", "str", "2"], ["SMOVE", "str", "c", "2"], ["SMOVE", "c", "b", "zz"],
                ["SADD", "n", "5"], ["SMOVE", "b", "n", "x"], ["OBJECT", "ENCODING", "n"]])


def test_algebra(pair):
    setup = [["SADD", "a", "1", "2", "3", "x"], ["SADD", "b", "2", "3", "4"], ["SADD", "c", "3", "9"],
             ["SADD", "i", "1", "2", "3"], ["SET", "str", "v"]]
    forms = [["SINTER", "a", "b"], ["SINTER", "a", "b", "c"], ["SINTER", "a", "nokey"],
             ["SINTER", "i", "a"], ["SUNION", "a", "b"], ["SUNION", "nokey"], ["SDIFF", "a", "b"],
             ["SDIFF", "a", "b", "c"], ["SDIFF", "nokey", "a"], ["SDIFF", "i", "nokey"],
             ["SINTER", "a", "str"], ["SINTER", "nokey", "str"], ["SUNION", "str"],
             ["SDIFF", "a", "str"],
             ["SINTERCARD", "2", "a", "b"], ["SINTERCARD", "1", "a", "LIMIT", "2"],
             ["SINTERCARD", "2", "a", "b", "LIMIT", "0"], ["SINTERCARD", "2", "a", "b", "LIMIT", "-1"],
             ["SINTERCARD", "2", "a", "b", "LIMIT", "x"], ["SINTERCARD", "0", "a"],
             ["SINTERCARD", "3", "a", "b"], ["SINTERCARD", "x", "a"], ["SINTERCARD", "2", "a", "nokey"],
             ["SINTERCARD", "2", "a", "str"], ["SINTERCARD", "1", "a", "FOO"],
             ["SINTERCARD", "1", "a", "LIMIT"]]
    for op in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
        forms += [[op, "d", "a", "b"], ["SMEMBERS", "d"], ["OBJECT", "ENCODING", "d"],
                  [op, "d", "i"], ["OBJECT", "ENCODING", "d"], [op, "d", "nokey"], ["EXISTS", "d"],
                  [op, "d", "a", "str"], [op, "str", "a"], ["TYPE", "str"], ["SET", "str", "v"],
                  [op, "a", "a", "b"], ["SMEMBERS", "a"], ["DEL", "a"], ["SADD", "a", "1", "2", "3", "x"]]
    pair.check(setup + forms)
    pair.check(setup + forms, proto=3)


def test_sscan(pair):
    cmds = [["SADD", "s", "a", "b", "ab"], ["SADD", "i", "10", "2", "-3"], ["SSCAN", "s", "0"],
            ["SSCAN", "i", "0"], ["SSCAN", "i", "0", "MATCH", "1*"], ["SSCAN", "i", "0", "COUNT", "1"],
            ["SSCAN", "s", "0", "COUNT", "0"], ["SSCAN", "s", "x"], ["SSCAN", "s", "0", "TYPE", "set"],
            ["SSCAN", "nokey", "0"], ["SSCAN", "nokey", "0", "FOO"]]
    pair.check(cmds, norm={"sscan": lambda argv, r: (r[0], [r[1][0], unordered(argv, r[1][1])])
                           if r[0] == "*" else r})


def test_sscan_big_iterates_everything(r):
    members = {f"m{i}".encode() for i in range(1500)}
    r.sadd("big", *members)
    seen = set()
    cursor = 0
    for _ in range(10000):
        cursor, items = r.sscan("big", cursor, count=50)
        seen.update(items)
        if cursor == 0:
            break
    assert seen == members


def test_encodings(pair):
    pair.check([["SADD", "s", "1", "2"], ["OBJECT", "ENCODING", "s"], ["SADD", "s", "a"],
                ["OBJECT", "ENCODING", "s"], ["SREM", "s", "a"], ["OBJECT", "ENCODING", "s"],
                ["SADD", "t", "01"], ["OBJECT", "ENCODING", "t"],
                ["SADD", "u", "9223372036854775807", "-9223372036854775808"], ["OBJECT", "ENCODING", "u"],
                ["SADD", "v", "9223372036854775808"], ["OBJECT", "ENCODING", "v"],
                ["SADD", "w"] + [str(i) for i in range(513)], ["OBJECT", "ENCODING", "w"]])


def test_keyspace_events(pair):
    a, b = collect_events(pair, [
        ["SADD", "s", "a", "b", "c", "d"], ["SADD", "s", "a"], ["SREM", "s", "zz"], ["SREM", "s", "a"],
        ["SPOP", "s"], ["SMOVE", "s", "t", "zz"], ["SADD", "s", "q"], ["SPOP", "s", "5"],
        ["SADD", "s", "x", "y"], ["SMOVE", "s", "t", "x"], ["SMOVE", "s", "t", "y"],
        ["SINTERSTORE", "d", "t"], ["SUNIONSTORE", "d", "t", "nokey"], ["SDIFFSTORE", "d", "t", "t"],
        ["SADD", "p", "1", "2", "3"], ["SPOP", "p", "2"]])
    assert a and a == b


ops = st.sampled_from(["SADD", "SREM", "SISMEMBER", "SMISMEMBER", "SCARD", "SMOVE", "SINTERSTORE",
                       "SUNIONSTORE", "SDIFFSTORE", "SINTERCARD", "SMEMBERS", "SINTER", "SDIFF"])
member = st.sampled_from(["a", "b", "1", "2"])
skey = st.sampled_from(["s1", "s2", "str"])


@st.composite
def set_cmd(draw):
    op = draw(ops)
    k = draw(skey)
    if op in ("SADD", "SREM", "SMISMEMBER"):
        return [op, k] + draw(st.lists(member, min_size=1, max_size=3))
    if op == "SISMEMBER":
        return [op, k, draw(member)]
    if op == "SMOVE":
        return [op, k, draw(skey), draw(member)]
    if op in ("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"):
        return [op, draw(skey), k, draw(skey)]
    if op == "SINTERCARD":
        return [op, "2", k, draw(skey)]
    if op in ("SINTER", "SDIFF"):
        return [op, k, draw(skey)]
    return [op, k]


@settings(max_examples=50 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(set_cmd(), min_size=1, max_size=25))
def test_random_sequences(pair, cmds):
    pair.check([["SET", "str", "x"]] + cmds + [["SMEMBERS", "s1"], ["SMEMBERS", "s2"],
                                             ["OBJECT", "ENCODING", "s1"]])


def test_spop_propagation():
    from test_blocking import propagated
    cmds = [["SADD", "s", "a", "b", "c", "d", "e"], ["SPOP", "s"], ["SPOP", "s", "1"],
            ["SPOP", "s", "2"], ["SPOP", "nokey"], ["SPOP", "s", "0"], ["SADD", "t", "x", "y"],
            ["SPOP", "t", "5"], ["MULTI"], ["SADD", "u", "1", "2", "3"], ["SPOP", "u", "2"], ["EXEC"]]
    a, b = propagated("redpoll", cmds), propagated("redis", cmds)
    # the members popped are random: compare the shapes
    shape = lambda cmds: [(c[0], c[1:2], len(c)) for c in cmds]
    assert shape(a) == shape(b)


@settings(max_examples=40 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(random_calls(SET_COMMANDS), min_size=1, max_size=20))
def test_random_arguments(pair, calls):
    check_random_calls(pair, calls)
