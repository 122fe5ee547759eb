"""String commands, compared with real Redis 7.0 (tests/diff.py)."""

from __future__ import annotations

import pytest


def test_set_options(pair):
    pair.check([
        ["SET", "k", "v"], ["SET", "k", "v2", "GET"], ["GET", "k"],
        ["SET", "k", "v", "EX", "10", "EX", "20"], ["TTL", "k"],
        ["SET", "k", "v", "EX", "10", "PX", "20"],
        ["SET", "k", "v", "KEEPTTL", "EX", "10"],
        ["SET", "k", "v", "EX", "10", "KEEPTTL"],
        ["SET", "k", "v", "NX", "NX"], ["SET", "k", "v", "XX", "NX"],
        ["SET", "k", "v", "nx", "xx"], ["SET", "k", "v", "GET", "GET"],
        ["SET", "k", "v", "EX"], ["SET", "k", "v", "EX", "abc", "NX", "XX"],
        ["SET", "k", "v", "EX", "0"], ["SET", "k", "v", "EX", "-5"],
        ["SET", "k", "v", "PX", "0"], ["SET", "k", "v", "exat", "0"],
        ["SET", "k", "v", "EX", "9223372036854775"],
        ["SET", "k", "v", "EX", "9223372036854776"],
        ["SET", "k", "v", "PX", "9223372036854775807"],
        ["SET", "k", "v", "EXAT", "9223372036854775"],
        ["SET", "k", "v", "PXAT", "9223372036854775807"],
        ["SET", "k", "v", "EX", "1.5"], ["SET", "k", "v", "EX", " 1"],
        ["SET", "k", "v", "EX", "+1"], ["SET", "k", "v", "EX", "01"],
        ["SET", "k", "v", "PX", "100000"], ["PTTL", "k"],
        ["SET", "k", "v", "KEEPTTL"], ["PTTL", "k"],
        ["SET", "k", "v"], ["PTTL", "k"],
        ["SET", "n", "v", "XX"], ["EXISTS", "n"], ["SET", "n", "v", "NX"],
        ["SET", "n", "w", "NX"], ["SET", "n", "w", "NX", "GET"],
        ["SET", "m", "w", "XX", "GET"], ["SET", "n", "w", "XX", "GET"],
        ["SET", "k", "v", "bogus"], ["SET", "k"], ["SET"],
        ["LPUSH", "l", "a"], ["SET", "l", "v", "GET"], ["SET", "l", "v"],
        ["TYPE", "l"], ["GET", "l"],
    ])


@pytest.mark.parametrize("proto", [2, 3])
def test_set_get_resp(pair, proto):
    pair.check([["SET", "k", "v"], ["GET", "k"], ["GET", "x"],
                ["SET", "k", "w", "XX", "GET"], ["SET", "x", "w", "XX"],
                ["SET", "x", "w", "XX", "GET"], ["SETNX", "k", "a"],
                ["MGET", "k", "x", "y"], ["GETDEL", "k"], ["GETDEL", "k"],
                ["GETEX", "x"]], proto=proto)


def test_getset_getdel_getex(pair):
    pair.check([
        ["GETSET", "k", "v"], ["GETSET", "k", "w"], ["SET", "t", "v", "EX", "100"],
        ["GETSET", "t", "x"], ["TTL", "t"],
        ["LPUSH", "l", "a"], ["GETSET", "l", "x"], ["GETDEL", "l"],
        ["GETEX", "l"], ["GETEX", "k", "EX", "100"], ["TTL", "k"],
        ["GETEX", "k", "PX", "50000"], ["PTTL", "k"], ["GETEX", "k", "PERSIST"],
        ["TTL", "k"], ["GETEX", "k", "PERSIST"], ["GETEX", "k", "EXAT", "1"],
        ["EXISTS", "k"], ["SET", "k", "v"], ["GETEX", "k", "PXAT", "1"],
        ["EXISTS", "k"], ["SET", "k", "v"], ["GETEX", "k", "PERSIST", "EX", "10"],
        ["GETEX", "k", "EX", "10", "EX", "10"], ["GETEX", "k", "KEEPTTL"],
        ["GETEX", "k", "NX"], ["GETEX", "k", "GET"],
        ["GETEX", "nokey", "EX", "abc"], ["GETEX", "k", "EX", "abc"],
        ["GETEX", "k", "EX", "0"], ["GETEX", "k", "EX", "-1"], ["GETEX", "k", "EX"],
        ["GETEX", "l", "EX", "0"], ["GETEX", "k", "EXAT", "9223372036854775808"],
        ["GETEX", "k", "PX", "9223372036854775807"], ["GETDEL", "nokey"],
        ["GETDEL"], ["GETEX"], ["GETSET", "k"],
    ])


def test_mset_msetnx_setex(pair):
    pair.check([
        ["MSET", "a"], ["MSET", "a", "1", "b"], ["MSET", "a", "1", "b", "2"],
        ["MGET", "a", "b", "c"], ["MSETNX", "a", "3", "c", "4"], ["MGET", "a", "c"],
        ["MSETNX", "c", "4", "d", "5"], ["MSETNX", "c"], ["MSETNX", "x", "1", "x", "2"],
        ["GET", "x"], ["LPUSH", "l", "x"], ["MGET", "l", "a"],
        ["SETEX", "e", "100", "v"], ["TTL", "e"], ["SETEX", "e", "0", "v"],
        ["SETEX", "e", "-1", "v"], ["SETEX", "e", "x", "v"],
        ["PSETEX", "e", "100000", "v"], ["PTTL", "e"], ["PSETEX", "e", "0", "v"],
        ["SETEX", "e", "9223372036854775", "v"], ["SETEX", "l", "10", "v"],
        ["TYPE", "l"], ["SETNX", "l", "v"], ["SETNX", "z", "v"], ["SETNX", "z", "w"],
        ["GET", "z"],
    ])


def test_incr_decr(pair):
    big = "9223372036854775807"
    pair.check([
        ["INCR", "n"], ["INCRBY", "n", "10"], ["DECR", "n"], ["DECRBY", "n", "3"],
        ["INCRBY", "n", "-100"], ["GET", "n"], ["SET", "n", big], ["INCR", "n"],
        ["SET", "n", "-9223372036854775808"], ["DECR", "n"],
        ["DECRBY", "n", "-9223372036854775808"], ["INCRBY", "n", "9223372036854775808"],
        ["SET", "n", "abc"], ["INCR", "n"], ["SET", "n", " 1"], ["INCR", "n"],
        ["SET", "n", "1 "], ["INCR", "n"], ["SET", "n", "+1"], ["INCR", "n"],
        ["SET", "n", "01"], ["INCR", "n"], ["SET", "n", "-0"], ["INCR", "n"],
        ["SET", "n", "0"], ["INCR", "n"], ["SET", "n", "1_0"], ["INCR", "n"],
        ["SET", "n", ""], ["INCR", "n"], ["SET", "n", "1.5"], ["INCR", "n"],
        ["INCRBY", "n", "1.5"], ["INCRBY", "m", "abc"], ["INCRBY", "m", ""],
        ["SET", "t", "5", "EX", "100"], ["INCR", "t"], ["TTL", "t"],
        ["LPUSH", "l", "1"], ["INCR", "l"], ["DECRBY", "l", "x"],
        ["INCR"], ["INCRBY", "n"], ["DECR", "a", "b"],
    ])


def test_incrbyfloat(pair):
    pair.check([
        ["INCRBYFLOAT", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"],
        ["INCRBYFLOAT", "f", "-10.6"], ["GET", "f"], ["INCRBYFLOAT", "f", "1e308"],
        ["INCRBYFLOAT", "g", "1e4000"], ["INCRBYFLOAT", "g", "1e5000"],
        ["INCRBYFLOAT", "h", "inf"], ["INCRBYFLOAT", "h", "-inf"],
        ["INCRBYFLOAT", "h", "nan"], ["INCRBYFLOAT", "h", "0x10"],
        ["INCRBYFLOAT", "h", "0x1.8p1"], ["INCRBYFLOAT", "h", " 1"],
        ["INCRBYFLOAT", "h", "1 "], ["INCRBYFLOAT", "h", ""],
        ["INCRBYFLOAT", "h", "1e"], ["INCRBYFLOAT", "h", ".5"],
        ["INCRBYFLOAT", "h", "5."], ["INCRBYFLOAT", "h", "+3"],
        ["INCRBYFLOAT", "h", "1_0"], ["INCRBYFLOAT", "h", "1e-20"],
        ["INCRBYFLOAT", "i", "1e-20"], ["INCRBYFLOAT", "i", "-1e-20"],
        ["INCRBYFLOAT", "j", "3.0e3"], ["INCRBYFLOAT", "j", "1.23456789012345678"],
        ["INCRBYFLOAT", "k", "0.1"], ["INCRBYFLOAT", "k", "0.2"],
        ["INCRBYFLOAT", "k", "1e-5000"], ["INCRBYFLOAT", "k", "123456789012345678901234567890"],
        ["SET", "s", "abc"], ["INCRBYFLOAT", "s", "1"], ["SET", "s", "inf"],
        ["INCRBYFLOAT", "s", "1"], ["SET", "s", "1.5", "EX", "100"],
        ["INCRBYFLOAT", "s", "1"], ["TTL", "s"], ["LPUSH", "l", "1"],
        ["INCRBYFLOAT", "l", "1"], ["INCRBYFLOAT", "l", "x"],
        ["SET", "z", "-0.0"], ["INCRBYFLOAT", "z", "0"],
        ["SET", "z", "7"], ["INCRBYFLOAT", "z", "-7"], ["SETBIT", "z", "8", "0"],
        ["INCRBYFLOAT", "z", "0"], ["INCRBYFLOAT", "y", b"1\x00"], ["INCR", "z"],
    ])


def test_append_strlen_ranges(pair):
    pair.check([
        ["APPEND", "k", "hello"], ["APPEND", "k", " world"], ["STRLEN", "k"],
        ["STRLEN", "nokey"], ["GETRANGE", "k", "0", "4"], ["GETRANGE", "k", "-5", "-1"],
        ["GETRANGE", "k", "5", "3"], ["GETRANGE", "k", "-1", "-5"],
        ["GETRANGE", "k", "0", "-100"], ["GETRANGE", "k", "-100", "100"],
        ["GETRANGE", "k", "100", "200"], ["GETRANGE", "nokey", "0", "-1"],
        ["GETRANGE", "k", "a", "1"], ["SUBSTR", "k", "0", "2"],
        ["GETRANGE", "k", "0", "9223372036854775807"],
        ["GETRANGE", "k", "-9223372036854775808", "2"],
        ["SETRANGE", "k", "6", "WORLD"], ["GET", "k"], ["SETRANGE", "k", "20", "!"],
        ["GET", "k"], ["SETRANGE", "n", "3", "abc"], ["GET", "n"],
        ["SETRANGE", "n", "0", ""], ["SETRANGE", "e", "5", ""], ["EXISTS", "e"],
        ["SETRANGE", "k", "-1", "x"], ["SETRANGE", "k", "x", "x"],
        ["SETRANGE", "k", "536870912", "x"], ["SETRANGE", "e", "536870912", "x"],
        ["SETRANGE", "e", "536870911", ""],
        ["SET", "i", "123"], ["APPEND", "i", "4"], ["GET", "i"],
        ["SET", "t", "a", "EX", "100"], ["APPEND", "t", "b"], ["TTL", "t"],
        ["SETRANGE", "t", "0", "z"], ["TTL", "t"], ["GET", "t"],
        ["LPUSH", "l", "a"], ["APPEND", "l", "x"], ["STRLEN", "l"],
        ["GETRANGE", "l", "0", "1"], ["SETRANGE", "l", "0", "x"],
        ["SETRANGE", "l", "0", ""], ["SETRANGE", "l", "-1", "x"],
    ])


def test_lcs(pair):
    a, b = "ohmytext", "mynewtext"
    base = [["MSET", "a", a, "b", b, "c", ""]]
    cmds = base + [
        ["LCS", "a", "b"], ["LCS", "a", "b", "LEN"], ["LCS", "a", "b", "IDX"],
        ["LCS", "a", "b", "IDX", "MINMATCHLEN", "4"],
        ["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        ["LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "-4"],
        ["LCS", "a", "b", "LEN", "IDX"], ["LCS", "a", "b", "foo"],
        ["LCS", "a", "b", "MINMATCHLEN"], ["LCS", "a", "b", "MINMATCHLEN", "x"],
        ["LCS", "a", "nokey"], ["LCS", "a", "c", "IDX"], ["LCS", "x", "y", "LEN"],
        ["LPUSH", "l", "x"], ["LCS", "a", "l"], ["LCS", "l", "a", "foo"],
        ["LCS", "a"], ["LCS", "a", "b", "WITHMATCHLEN"],
    ]
    pair.check(cmds)
    pair.check(cmds, proto=3)
    pair.check([["MSET", "a", "rosettacode" * 3, "b", "raisethysword" * 3],
                ["LCS", "a", "b"], ["LCS", "a", "b", "IDX", "WITHMATCHLEN"],
                ["MSET", "a", "aaaa", "b", "aa"], ["LCS", "a", "b", "IDX"],
                ["MSET", "a", "abcabcabc", "b", "cbacbacba"], ["LCS", "a", "b", "IDX"]])


def test_wrong_arity(pair):
    cmds = [["GET"], ["GET", "a", "b"], ["SETNX", "a"], ["SETEX", "a", "1"],
            ["PSETEX", "a"], ["APPEND", "a"], ["STRLEN"], ["GETRANGE", "a", "1"],
            ["SUBSTR", "a"], ["SETRANGE", "a", "1"], ["INCRBYFLOAT", "a"],
            ["MGET"], ["LCS", "a"], ["GETSET", "a", "b", "c"]]
    pair.check(cmds)


def test_lcs_random_and_large(pair):
    """LCS on random strings (ties broken as Redis does) and on 5 KB strings
    (bit-parallel table: fast enough not to stall the server)."""
    import random
    import time
    rnd = random.Random(3)
    cmds = []
    for _ in range(40):
        a = "".join(rnd.choice("abc") for _ in range(rnd.randint(0, 30)))
        b = "".join(rnd.choice("abc") for _ in range(rnd.randint(0, 30)))
        cmds += [["MSET", "a", a, "b", b], ["LCS", "a", "b"],
                 ["LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", str(rnd.randint(0, 3))]]
    pair.check(cmds)
    big_a = "".join(rnd.choice("acgt") for _ in range(5000))
    big_b = "".join(rnd.choice("acgt") for _ in range(5000))
    t0 = time.monotonic()
    pair.check([["MSET", "a", big_a, "b", big_b], ["LCS", "a", "b", "LEN"], ["LCS", "a", "b"],
                ["LCS", "a", "b", "IDX", "MINMATCHLEN", "8"]])
    assert time.monotonic() - t0 < 20
