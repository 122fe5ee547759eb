"""Sorted set commands against real Redis 7.0 (tests/diff.py): score parsing
and formatting, ZADD option combinations, every range form, pops, set
algebra, ZSCAN, RESP3 shapes, events, encodings and random sequences."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from diff import unordered
from test_lists import EXAMPLES_FACTOR, check_random_calls, random_calls, command_table_entry

ZSET_COMMANDS = ["zadd", "zincrby", "zscore", "zmscore", "zcard", "zcount", "zlexcount",
                 "zrank", "zrevrank", "zrange", "zrangestore", "zrangebyscore",
                 "zrevrangebyscore", "zrangebylex", "zrevrangebylex", "zrevrange", "zrem",
                 "zremrangebyrank", "zremrangebyscore", "zremrangebylex", "zpopmin", "zpopmax",
                 "bzpopmin", "bzpopmax", "zmpop", "bzmpop", "zrandmember", "zunion", "zinter",
                 "zdiff", "zunionstore", "zinterstore", "zdiffstore", "zintercard", "zscan"]


def test_command_info_matches(pair):
    pair.check([["COMMAND", "INFO", name] for name in ZSET_COMMANDS],
               norm={"command": command_table_entry})
    # key positions of the movable-keys commands (COMMAND GETKEYS is not
    # available yet: the table's extraction is checked directly)
    from redpoll.commands import table as T
    T.load_all()
    for argv, keys in [
            (["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"], ["d", "a", "b"]),
            (["ZUNION", "2", "a", "b"], ["a", "b"]), (["ZINTERCARD", "2", "a", "b"], ["a", "b"]),
            (["ZMPOP", "2", "a", "b", "MIN"], ["a", "b"]), (["BZMPOP", "0", "1", "a", "MIN"], ["a"]),
            (["ZDIFFSTORE", "d", "1", "a"], ["d", "a"]), (["ZRANGESTORE", "d", "s", "0", "1"], ["d", "s"]),
            (["LMPOP", "2", "a", "b", "LEFT"], ["a", "b"]), (["BLMPOP", "0", "1", "a", "LEFT"], ["a"])]:
        bargv = [x.encode() for x in argv]
        assert T.lookup(bargv).keys(bargv) == [k.encode() for k in keys]


SCORES = ["1", "-1", "0", "-0", "1.1", "0.1", "1e10", "1.5e-5", "123456789012345678",
          "inf", "+inf", "-inf", "Infinity", "0x10", "0x1p-3", "1e308", "4.9e-324",
          "3.14159265358979323846", ".5", "5.", "+3", "1e500", "1e-400", "nan", "", " 1",
          "1 ", "1_0", "abc", "1e", "0x", "--1", "\x00",
          # digits only (the fast path) and zeros that did or did not underflow
          "007", "9" * 308, "9" * 309, "1" * 400, "0e5", "0.0e-400", "-0.0", "+0", "0."]


def test_score_parsing_and_formatting(pair):
    cmds = [["SET", "s0", "str"]]
    for i, s in enumerate(SCORES):
        cmds.append(["ZADD", "z", s, f"m{i}"])
        cmds.append(["ZSCORE", "z", f"m{i}"])
    cmds += [["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["ZINCRBY", "z", "0.1", "m4"],
             ["ZINCRBY", "z", "1", "nope"], ["ZINCRBY", "z", "x", "m1"], ["ZINCRBY", "z", "LT", "m1"],
             ["ZINCRBY", "z", "nx", "1"], ["ZINTER", "2", "s0", "z", "FOO"],
             ["ZINTERCARD", "2", "z", "s0", "LIMIT", "x"], ["ZRANDMEMBER", "z", "x", "y"],
             ["HRANDFIELD", "z", "x", "y"], ["SRANDMEMBER", "z", "x", "y"],
             ["ZADD", "i", "inf", "a"], ["ZINCRBY", "i", "-inf", "a"], ["ZSCORE", "i", "a"],
             ["ZADD", "i", "INCR", "-inf", "a"], ["ZINCRBY", "i", "1", "a"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)


def test_zadd_options(pair):
    opts = [[], ["NX"], ["XX"], ["CH"], ["INCR"], ["GT"], ["LT"], ["NX", "XX"], ["GT", "LT"],
            ["NX", "GT"], ["NX", "LT"], ["XX", "GT", "CH"], ["XX", "LT", "CH"], ["GT", "CH"],
            ["LT", "INCR"], ["GT", "INCR"], ["NX", "INCR"], ["XX", "INCR"], ["incr", "ch"],
            ["CH", "CH", "nx"]]
    cmds = []
    for o in opts:
        cmds += [["ZADD", "z", "5", "a", "3", "b"],
                 ["ZADD", "z"] + o + ["4", "a"],
                 ["ZADD", "z"] + o + ["6", "b", "1", "c"],
                 ["ZADD", "z"] + o + ["7", "a"],
                 ["ZADD", "z"] + o + ["7", "a", "8"],
                 ["ZADD", "z"] + o + ["x", "a"],
                 ["ZADD", "nokey"] + o + ["1", "a"],
                 ["ZRANGE", "z", "0", "-1", "WITHSCORES"], ["EXISTS", "nokey"], ["DEL", "z", "nokey"]]
    cmds += [["ZADD", "z"], ["ZADD", "z", "NX"], ["ZADD", "z", "1"], ["ZADD", "z", "FOO", "1", "a"],
             ["SET", "s", "x"], ["ZADD", "s", "1", "a"], ["ZADD", "s", "x", "a"],
             ["ZINCRBY", "s", "1", "a"]]
    pair.check(cmds)
    pair.check(cmds[:40], proto=3)


def _fill():
    return [["ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d", "-inf", "lo", "inf", "hi",
             "2.5", "e"],
            ["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "dd", "0", "e", "0", "f"]]


def test_reads(pair):
    cmds = _fill()
    for m in ["a", "c", "hi", "lo", "zz"]:
        cmds += [["ZRANK", "z", m], ["ZREVRANK", "z", m], ["ZSCORE", "z", m]]
    cmds += [["ZMSCORE", "z", "a", "zz", "hi"], ["ZMSCORE", "nokey", "a"], ["ZCARD", "z"],
             ["ZCARD", "nokey"], ["ZRANK", "nokey", "a"], ["ZSCORE", "nokey", "a"]]
    for lo, hi in [("-inf", "+inf"), ("1", "2"), ("(1", "2"), ("1", "(2"), ("(2", "(2"),
                   ("2", "2"), ("3", "1"), ("", "5"), ("(", "5"), (" 1", "2"), ("x", "1"),
                   ("1", "nan"), ("-inf", "-inf"), ("(-inf", "inf"), ("1e500", "inf"),
                   ("2\x00x", "3")]:
        cmds.append(["ZCOUNT", "z", lo, hi])
    for lo, hi in [("-", "+"), ("[b", "[dd"), ("(b", "(dd"), ("[a", "(a"), ("[e", "[c"),
                   ("+", "-"), ("-", "-"), ("[", "+"), ("b", "c"), ("-x", "+"), ("(c", "+"),
                   ("-", "[c")]:
        cmds.append(["ZLEXCOUNT", "lex", lo, hi])
    cmds += [["ZCOUNT", "nokey", "0", "1"], ["ZLEXCOUNT", "nokey", "-", "+"],
             ["SET", "s", "x"], ["ZCARD", "s"], ["ZSCORE", "s", "a"], ["ZCOUNT", "s", "0", "1"],
             ["ZRANK", "s", "a"], ["ZMSCORE", "s", "a"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)


RANGE_FORMS = [
    ["ZRANGE", "z", "0", "-1"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    ["ZRANGE", "z", "2", "4", "REV", "WITHSCORES"], ["ZRANGE", "z", "-2", "100"],
    ["ZRANGE", "z", "5", "2"], ["ZRANGE", "z", "x", "2"],
    ["ZRANGE", "z", "1", "3", "BYSCORE"], ["ZRANGE", "z", "(1", "3", "BYSCORE", "WITHSCORES"],
    ["ZRANGE", "z", "3", "1", "BYSCORE", "REV"], ["ZRANGE", "z", "1", "3", "BYSCORE", "REV"],
    ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
    ["ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "1", "3", "WITHSCORES"],
    ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"],
    ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "-1"],
    ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "2", "0"],
    ["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "20", "5"],
    ["ZRANGE", "z", "0", "1", "LIMIT", "0", "1"], ["ZRANGE", "z", "0", "1", "LIMIT", "0", "-1"],
    ["ZRANGE", "lex", "[b", "(e", "BYLEX"], ["ZRANGE", "lex", "(e", "[b", "BYLEX", "REV"],
    ["ZRANGE", "lex", "-", "+", "BYLEX", "LIMIT", "1", "2"],
    ["ZRANGE", "lex", "+", "-", "BYLEX", "REV", "LIMIT", "0", "2"],
    ["ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"], ["ZRANGE", "lex", "a", "b", "BYLEX"],
    ["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"], ["ZRANGE", "z", "0", "1", "REV", "REV"],
    ["ZRANGE", "z", "0", "1", "FOO"], ["ZRANGE", "z", "0", "1", "LIMIT", "1"],
    ["ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1"],
    ["ZRANGE", "z", "a", "b", "BYSCORE"], ["ZRANGE", "nokey", "0", "-1"],
    ["ZREVRANGE", "z", "0", "2"], ["ZREVRANGE", "z", "0", "2", "WITHSCORES"],
    ["ZREVRANGE", "z", "0", "2", "BYSCORE"], ["ZREVRANGE", "z", "-3", "-1"],
    ["ZRANGEBYSCORE", "z", "2", "3"], ["ZRANGEBYSCORE", "z", "-inf", "inf", "WITHSCORES", "LIMIT", "1", "2"],
    ["ZRANGEBYSCORE", "z", "(2", "+inf", "LIMIT", "0", "1"], ["ZRANGEBYSCORE", "z", "0", "1", "REV"],
    ["ZRANGEBYSCORE", "z", "0", "1", "BYLEX"], ["ZRANGEBYSCORE", "z", "a", "1"],
    ["ZREVRANGEBYSCORE", "z", "3", "2"], ["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"],
    ["ZREVRANGEBYSCORE", "z", "(3", "(1", "LIMIT", "1", "1"], ["ZREVRANGEBYSCORE", "z", "1", "3"],
    ["ZRANGEBYLEX", "lex", "-", "+"], ["ZRANGEBYLEX", "lex", "[c", "+", "LIMIT", "1", "10"],
    ["ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"], ["ZRANGEBYLEX", "lex", "x", "+"],
    ["ZREVRANGEBYLEX", "lex", "+", "-"], ["ZREVRANGEBYLEX", "lex", "[dd", "(a", "LIMIT", "0", "2"],
    ["ZREVRANGEBYLEX", "lex", "-", "+"],
]


def test_ranges(pair):
    cmds = _fill() + RANGE_FORMS + [["SET", "s", "x"], ["ZRANGE", "s", "0", "1"],
                                    ["ZRANGEBYSCORE", "s", "0", "1"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)


def test_zrangestore(pair):
    cmds = _fill() + [
        ["ZRANGESTORE", "d", "z", "0", "2"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZRANGESTORE", "d", "z", "(1", "3", "BYSCORE", "LIMIT", "1", "1"],
        ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        ["ZRANGESTORE", "d", "lex", "[f", "[b", "BYLEX", "REV"], ["ZRANGE", "d", "0", "-1"],
        ["ZRANGESTORE", "d", "z", "5", "1"], ["EXISTS", "d"],
        ["ZRANGESTORE", "d", "z", "0", "1", "WITHSCORES"], ["ZRANGESTORE", "d", "nokey", "0", "1"],
        ["ZRANGESTORE", "z", "z", "0", "0"], ["ZRANGE", "z", "0", "-1"],
        ["SET", "s", "x"], ["ZRANGESTORE", "d", "s", "0", "1"], ["ZRANGESTORE", "s", "lex", "0", "1"],
        ["TYPE", "s"], ["OBJECT", "ENCODING", "s"]]
    pair.check(cmds)


def test_removals(pair):
    cmds = []
    for cmd in [["ZREM", "z", "a", "zz", "b"], ["ZREM", "z", "a"],
                ["ZREMRANGEBYRANK", "z", "1", "2"], ["ZREMRANGEBYRANK", "z", "-2", "-1"],
                ["ZREMRANGEBYRANK", "z", "5", "1"], ["ZREMRANGEBYRANK", "z", "0", "-1"],
                ["ZREMRANGEBYRANK", "z", "x", "1"],
                ["ZREMRANGEBYSCORE", "z", "2", "3"], ["ZREMRANGEBYSCORE", "z", "(2", "+inf"],
                ["ZREMRANGEBYSCORE", "z", "-inf", "+inf"], ["ZREMRANGEBYSCORE", "z", "x", "1"],
                ["ZREMRANGEBYLEX", "lex", "[b", "(e"], ["ZREMRANGEBYLEX", "lex", "-", "+"],
                ["ZREMRANGEBYLEX", "lex", "b", "c"], ["ZREMRANGEBYLEX", "lex", "(f", "[a"]]:
        cmds += _fill() + [cmd, ["ZRANGE", cmd[1], "0", "-1"], ["EXISTS", cmd[1]], ["DEL", "z", "lex"]]
    cmds += [["ZREM", "nokey", "a"], ["ZREMRANGEBYRANK", "nokey", "0", "1"], ["SET", "s", "x"],
             ["ZREM", "s", "a"], ["ZREMRANGEBYSCORE", "s", "0", "1"], ["ZREMRANGEBYLEX", "s", "-", "+"]]
    pair.check(cmds)


def test_pops(pair):
    cmds = []
    for proto in (2, 3):
        cmds = _fill() + [
            ["ZPOPMIN", "z"], ["ZPOPMAX", "z"], ["ZPOPMIN", "z", "2"], ["ZPOPMAX", "z", "1"],
            ["ZPOPMIN", "z", "0"], ["ZPOPMIN", "z", "-1"], ["ZPOPMIN", "z", "x"],
            ["ZPOPMIN", "z", "1", "2"], ["ZPOPMAX", "z", "100"], ["EXISTS", "z"],
            ["ZPOPMIN", "z"], ["ZPOPMIN", "z", "3"], ["ZPOPMAX", "nokey", "0"],
            ["ZMPOP", "2", "nokey", "lex", "MIN"], ["ZMPOP", "2", "nokey", "lex", "MAX", "COUNT", "2"],
            ["ZMPOP", "1", "lex", "min", "COUNT", "100"], ["ZMPOP", "1", "lex", "MIN"],
            ["ZMPOP", "1", "lex", "LEFT"], ["ZMPOP", "0", "lex", "MIN"],
            ["ZMPOP", "1", "lex", "MIN", "COUNT", "0"], ["ZMPOP", "2", "lex", "MIN"],
            ["BZPOPMIN", "nokey", "0.01"], ["BZPOPMAX", "nokey", "x"], ["BZPOPMIN", "nokey", "-1"],
            ["ZADD", "q", "1", "x", "2", "y"], ["BZPOPMIN", "nokey", "q", "0"],
            ["BZPOPMAX", "q", "0"], ["BZPOPMAX", "q", "0.01"],
            ["BZMPOP", "0.01", "1", "q", "MIN"], ["BZMPOP", "x", "1", "q", "MIN"],
            ["ZADD", "q", "1", "x", "2", "y"], ["BZMPOP", "0", "1", "q", "MAX", "COUNT", "5"],
            ["SET", "s", "x"], ["ZPOPMIN", "s"], ["ZMPOP", "1", "s", "MIN"], ["BZPOPMIN", "s", "0"]]
        pair.check(cmds, proto=proto)


def test_randmember(pair):
    cmds = _fill() + [
        ["ZRANDMEMBER", "z"], ["ZRANDMEMBER", "z", "3"], ["ZRANDMEMBER", "z", "-20"],
        ["ZRANDMEMBER", "z", "20"], ["ZRANDMEMBER", "z", "0"], ["ZRANDMEMBER", "z", "2", "WITHSCORES"],
        ["ZRANDMEMBER", "z", "-5", "WITHSCORES"], ["ZRANDMEMBER", "z", "20", "WITHSCORES"],
        ["ZRANDMEMBER", "z", "2", "FOO"], ["ZRANDMEMBER", "z", "2", "WITHSCORES", "X"],
        ["ZRANDMEMBER", "z", "x"], ["ZRANDMEMBER", "z", "-9223372036854775808"],
        ["ZRANDMEMBER", "z", "9223372036854775807", "WITHSCORES"],
        ["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"],
        ["ZRANDMEMBER", "nokey"], ["ZRANDMEMBER", "nokey", "5"], ["ZRANDMEMBER", "nokey", "x"],
        ["ZRANDMEMBER", "nokey", "5", "WITHSCORES"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)
    got = pair.check([["ZADD", "u", "1", "a", "2", "b", "3", "c"], ["ZRANDMEMBER", "u", "3"]],
                     norm={"zrandmember": unordered})
    assert len(got[1][1]) == 3


def test_set_algebra(pair):
    setup = [["ZADD", "a", "1", "x", "2", "y", "3", "z"], ["ZADD", "b", "10", "y", "20", "z", "30", "w"],
             ["SADD", "s", "x", "w", "v"], ["ZADD", "inf", "inf", "x", "-inf", "y"],
             ["ZADD", "ninf", "-inf", "x", "inf", "y"]]
    forms = []
    for op in ("ZUNION", "ZINTER"):
        forms += [[op, "2", "a", "b"], [op, "2", "a", "b", "WITHSCORES"],
                  [op, "3", "a", "b", "s", "WITHSCORES"],
                  [op, "2", "a", "b", "WEIGHTS", "2", "0.5", "WITHSCORES"],
                  [op, "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"],
                  [op, "2", "a", "b", "AGGREGATE", "max", "WEIGHTS", "-1", "1", "WITHSCORES"],
                  [op, "2", "inf", "ninf", "WITHSCORES"], [op, "2", "inf", "a", "WEIGHTS", "0", "1", "WITHSCORES"],
                  [op, "2", "a", "nokey", "WITHSCORES"], [op, "1", "nokey"],
                  [op, "0", "a"], [op, "-1", "a"], [op, "x", "a"], [op, "3", "a", "b"],
                  [op, "2", "a", "b", "WEIGHTS", "1"], [op, "2", "a", "b", "WEIGHTS", "1", "x"],
                  [op, "2", "a", "b", "AGGREGATE", "AVG"], [op, "2", "a", "b", "AGGREGATE"],
                  [op, "2", "a", "b", "WITHSCORES", "WITHSCORES"], [op, "2", "a", "b", "FOO"]]
    forms += [["ZDIFF", "2", "a", "b"], ["ZDIFF", "3", "a", "s", "nokey", "WITHSCORES"],
              ["ZDIFF", "1", "nokey"], ["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"],
              ["ZDIFF", "2", "a", "b", "AGGREGATE", "SUM"], ["ZDIFF", "2", "s", "a", "WITHSCORES"],
              ["ZINTERCARD", "2", "a", "b"], ["ZINTERCARD", "2", "a", "s"],
              ["ZINTERCARD", "2", "a", "b", "LIMIT", "1"], ["ZINTERCARD", "2", "a", "b", "LIMIT", "0"],
              ["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"], ["ZINTERCARD", "2", "a", "b", "LIMIT", "x"],
              ["ZINTERCARD", "0", "a"], ["ZINTERCARD", "3", "a", "b"], ["ZINTERCARD", "1", "nokey"],
              ["ZINTERCARD", "2", "a", "b", "FOO", "1"]]
    for op in ("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"):
        forms += [[op, "d", "2", "a", "b"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                  [op, "d", "2", "a", "s"], ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
                  [op, "d", "2", "nokey", "nokey2"], ["EXISTS", "d"],
                  [op, "d", "1", "a", "WITHSCORES"], [op, "d", "0", "a"], [op, "a", "2", "a", "b"],
                  ["ZRANGE", "a", "0", "-1", "WITHSCORES"], ["ZADD", "a", "1", "x", "2", "y", "3", "z"],
                  ["OBJECT", "ENCODING", "d"]]
    forms += [["SET", "str", "v"], ["ZUNION", "2", "a", "str"], ["ZUNIONSTORE", "str", "1", "a"],
              ["TYPE", "str"], ["ZINTERCARD", "2", "a", "str"], ["ZDIFF", "2", "str", "a"],
              ["HSET", "h", "f", "v"], ["ZINTER", "2", "nokey", "h"]]
    pair.check(setup + forms, norm={"zunion": None, "zinter": None, "zdiff": None})
    pair.check(setup + forms, proto=3, norm={"zunion": None, "zinter": None, "zdiff": None})


def test_zscan(pair):
    cmds = _fill() + [["ZSCAN", "z", "0"], ["ZSCAN", "z", "0", "MATCH", "*o"],
                      ["ZSCAN", "z", "0", "COUNT", "1"], ["ZSCAN", "z", "0", "COUNT", "0"],
                      ["ZSCAN", "z", "0", "TYPE", "zset"], ["ZSCAN", "z", "x"],
                      ["ZSCAN", "z", "0", "MATCH"], ["ZSCAN", "nokey", "0"],
                      ["ZSCAN", "nokey", "0", "COUNT", "0"], ["ZSCAN", "nokey", "x"],
                      ["SET", "s", "x"], ["ZSCAN", "s", "0"]]
    pair.check(cmds)
    pair.check(cmds, proto=3)


def test_zscan_big_iterates_everything(r):
    members = {f"m{i}".encode(): float(i) for i in range(1000)}
    r.zadd("big", members)
    assert r.object("encoding", "big") == b"skiplist"
    seen = {}
    cursor = 0
    for _ in range(10000):
        cursor, items = r.zscan("big", cursor, count=37)
        seen.update(dict(items))
        if cursor == 0:
            break
    assert seen == members


def test_encodings(pair):
    long = "x" * 65
    pair.check([["ZADD", "z", "1", "a"], ["OBJECT", "ENCODING", "z"],
                ["ZADD", "z", "1", long], ["OBJECT", "ENCODING", "z"],
                ["ZREM", "z", long], ["OBJECT", "ENCODING", "z"],
                ["ZADD", "y"] + [x for i in range(129) for x in (str(i), f"m{i}")],
                ["OBJECT", "ENCODING", "y"], ["ZREMRANGEBYRANK", "y", "0", "100"],
                ["OBJECT", "ENCODING", "y"], ["ZUNIONSTORE", "u", "1", "y"],
                ["OBJECT", "ENCODING", "u"], ["CONFIG", "SET", "zset-max-listpack-entries", "2"],
                ["ZADD", "w", "1", "a", "2", "b"], ["OBJECT", "ENCODING", "w"],
                ["ZADD", "w", "3", "c"], ["OBJECT", "ENCODING", "w"],
                ["CONFIG", "SET", "zset-max-listpack-entries", "128"]])


def test_keyspace_events(pair):
    from test_lists import collect_events
    cmds = _fill() + [["ZADD", "z", "5", "a"], ["ZADD", "z", "5", "a"], ["ZINCRBY", "z", "1", "a"],
                      ["ZADD", "z", "INCR", "1", "a"], ["ZREM", "z", "a", "b"], ["ZREM", "z", "zz"],
                      ["ZREMRANGEBYRANK", "z", "0", "0"], ["ZREMRANGEBYSCORE", "z", "2", "2"],
                      ["ZREMRANGEBYLEX", "lex", "-", "[b"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "2"],
                      ["ZMPOP", "1", "z", "MIN", "COUNT", "10"], ["ZUNIONSTORE", "u", "1", "lex"],
                      ["ZINTERSTORE", "i", "1", "lex"], ["ZDIFFSTORE", "d", "1", "lex"],
                      ["ZRANGESTORE", "r", "lex", "0", "1"], ["ZUNIONSTORE", "u", "1", "nokey"],
                      ["ZADD", "q", "1", "a"], ["BZPOPMIN", "q", "0"],
                      ["ZADD", "q", "1", "a"], ["BZMPOP", "0", "1", "q", "MAX"],
                      ["ZREMRANGEBYLEX", "lex", "-", "+"]]
    a, b = collect_events(pair, cmds)
    assert a == b


ops = st.sampled_from(["ZADD", "ZINCRBY", "ZREM", "ZRANGE", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE",
                       "ZRANGEBYLEX", "ZCOUNT", "ZRANK", "ZREVRANK", "ZPOPMIN", "ZPOPMAX",
                       "ZREMRANGEBYSCORE", "ZREMRANGEBYRANK", "ZUNIONSTORE", "ZINTERSTORE",
                       "ZDIFFSTORE", "ZMSCORE", "ZCARD", "ZRANGESTORE", "ZMPOP",
                       "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"])
score = st.sampled_from(["1", "2", "2.5", "-1", "0", "inf", "-inf", "0.1", "(1", "(2.5", "x",
                         "1e3", "-0"])
member = st.sampled_from(["a", "b", "c", "d"])
zkey = st.sampled_from(["z1", "z2", "str"])
idx = st.sampled_from(["0", "1", "-1", "2", "-2", "10"])
zopt = st.sampled_from(["NX", "XX", "GT", "LT", "CH", "INCR"])


@st.composite
def zset_cmd(draw):
    op = draw(ops)
    k = draw(zkey)
    if op == "ZADD":
        pairs = draw(st.lists(st.tuples(score, member), min_size=1, max_size=3))
        return [op, k] + draw(st.lists(zopt, max_size=2)) + [x for p in pairs for x in p]
    if op == "ZINCRBY":
        return [op, k, draw(score), draw(member)]
    if op in ("ZREM", "ZMSCORE"):
        return [op, k] + draw(st.lists(member, min_size=1, max_size=3))
    if op == "ZRANGE":
        return [op, k, draw(st.one_of(idx, score)), draw(st.one_of(idx, score))] + draw(
            st.lists(st.sampled_from(["BYSCORE", "BYLEX", "REV", "WITHSCORES", "LIMIT", "1", "-1",
                                      "0", "[b", "-", "+"]),
                     max_size=4))
    if op in ("ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZCOUNT", "ZREMRANGEBYSCORE"):
        return [op, k, draw(score), draw(score)]
    if op in ("ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"):
        lex = st.sampled_from(["-", "+", "[a", "(b", "[c", "(d", "x"])
        return [op, k, draw(lex), draw(lex)]
    if op in ("ZRANK", "ZREVRANK"):
        return [op, k, draw(member)]
    if op in ("ZPOPMIN", "ZPOPMAX"):
        return [op, k] + draw(st.lists(idx, max_size=1))
    if op in ("ZREMRANGEBYRANK",):
        return [op, k, draw(idx), draw(idx)]
    if op in ("ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"):
        return [op, draw(zkey), "2", k, draw(zkey)]
    if op == "ZRANGESTORE":
        return [op, draw(zkey), k, draw(idx), draw(idx)]
    if op == "ZMPOP":
        return [op, "2", k, draw(zkey), draw(st.sampled_from(["MIN", "MAX"])), "COUNT", draw(idx)]
    return [op, k]


@settings(max_examples=60 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(zset_cmd(), min_size=1, max_size=25))
def test_random_sequences(pair, cmds):
    pair.check([["SET", "str", "x"]] + cmds + [["ZRANGE", "z1", "0", "-1", "WITHSCORES"],
                                             ["ZRANGE", "z2", "0", "-1", "WITHSCORES"]])




@settings(max_examples=30 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(zset_cmd().filter(lambda c: "LEX" not in c[0] and "BYLEX" not in c),
                min_size=1, max_size=25))
def test_random_sequences_skiplist(pair, cmds):
    """The same with every zset in the skiplist encoding (-0 is kept there)."""
    try:
        pair.check([["CONFIG", "SET", "zset-max-listpack-entries", "0"], ["SET", "str", "x"]]
                   + cmds + [["ZRANGE", "z1", "0", "-1", "WITHSCORES"],
                             ["ZRANGE", "z2", "0", "-1", "WITHSCORES"],
                             ["OBJECT", "ENCODING", "z1"]])
    finally:
        pair.check([["CONFIG", "SET", "zset-max-listpack-entries", "128"]], flush=False)


def test_keyspace_hits_and_misses(pair):
    """Read commands count hits/misses like Redis; write commands do not."""
    from diff import RespConn

    def stats(port):
        c = RespConn(port)
        info = c.call(["INFO", "stats"])[1].decode()
        c.close()
        f = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        return int(f["keyspace_hits"]), int(f["keyspace_misses"])
    cmds = [["ZADD", "z", "1", "a"], ["SADD", "s", "1"], ["HSET", "h", "f", "v"], ["RPUSH", "l", "x"],
            ["ZSCORE", "z", "a"], ["ZSCORE", "nz", "a"], ["ZUNION", "2", "z", "nz"],
            ["ZINTERCARD", "2", "z", "s"], ["ZUNIONSTORE", "d", "2", "z", "nz"],
            ["ZRANGESTORE", "d2", "z", "0", "-1"], ["ZRANGE", "z", "0", "-1"], ["ZRANDMEMBER", "z"],
            ["ZMPOP", "1", "nz", "MIN"], ["ZPOPMIN", "nz"], ["SINTER", "s", "ns"], ["SINTERSTORE", "d3", "s"],
            ["SMEMBERS", "s"], ["SINTERCARD", "1", "s"], ["SMOVE", "s", "s2", "1"], ["HGET", "h", "f"],
            ["HGETALL", "nh"], ["HINCRBY", "h", "n", "1"], ["LRANGE", "l", "0", "-1"], ["LPOS", "l", "x"],
            ["LINDEX", "nl", "0"], ["BLPOP", "l", "0"], ["LMPOP", "1", "nl", "LEFT"], ["SSCAN", "s2", "0"],
            ["HSCAN", "h", "0"], ["ZSCAN", "z", "0"], ["LLEN", "l"], ["SCARD", "s"], ["HLEN", "nh"]]
    deltas = []
    for srv in (pair.redpoll, pair.redis):
        c = RespConn(srv.port)
        c.call(["FLUSHALL"])
        before = stats(srv.port)
        for argv in cmds:
            c.call(argv)
        after = stats(srv.port)
        c.close()
        deltas.append((after[0] - before[0], after[1] - before[1]))
    assert deltas[0] == deltas[1]


@settings(max_examples=40 * EXAMPLES_FACTOR, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(random_calls(ZSET_COMMANDS), min_size=1, max_size=20))
def test_random_arguments(pair, calls):
    check_random_calls(pair, calls)
