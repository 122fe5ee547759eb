"""Generic keyspace commands compared with real Redis 7.0 (tests/diff.py),
plus SCAN's guarantee under concurrent writes and the command table."""

from __future__ import annotations

import random

import pytest

from diff import unordered
from support import wait_until

MY_COMMANDS = (
    "get set getset getdel getex mget mset msetnx setnx setex psetex append strlen "
    "getrange substr setrange incr decr incrby decrby incrbyfloat lcs setbit getbit "
    "bitcount bitpos bitop bitfield bitfield_ro del unlink exists type keys scan "
    "randomkey rename renamenx copy move swapdb touch object expire pexpire expireat "
    "pexpireat ttl pttl expiretime pexpiretime persist sort sort_ro dbsize "
    "object|encoding object|refcount object|idletime object|freq object|help").split()


def _command_info_core(argv, reply):
    """Name, arity, flags, first/last/step and ACL categories of each entry
    (the key specs and subcommand lists are the COMMAND room's business)."""
    t, v = reply
    if t != "*" or not v:
        return reply
    return (t, [(e[0], e[1][:7]) if e[0] == "*" and e[1] else e for e in v])


def test_command_table(pair):
    """Arity, flags, key positions and ACL categories are Redis's."""
    pair.check([["COMMAND", "INFO", *MY_COMMANDS]], norm={"command": _command_info_core})


def test_del_exists_type_touch(pair):
    pair.check([
        ["MSET", "a", "1", "b", "2", "c", "3"], ["DEL", "a", "a", "x"], ["EXISTS", "a", "b", "b", "x"],
        ["UNLINK", "b", "c", "x"], ["EXISTS", "b", "c"], ["TYPE", "b"], ["SET", "s", "v"],
        ["TYPE", "s"], ["RPUSH", "l", "a"], ["TYPE", "l"], ["SADD", "st", "a"], ["TYPE", "st"],
        ["HSET", "h", "f", "v"], ["TYPE", "h"], ["ZADD", "z", "1", "a"], ["TYPE", "z"],
        ["TOUCH", "s", "l", "x", "s"], ["DBSIZE"], ["DEL"], ["EXISTS"], ["TYPE"], ["TOUCH"],
        ["TYPE", "a", "b"], ["DBSIZE", "x"],
    ])


def test_keys_patterns(pair):
    keys = ["foo", "foobar", "f", "fo", "bar", "b[r", "a*b", "a?b", "h\\llo", "hello", "hallo",
            "hxllo", "", "x y", "FOO"]
    cmds = [["SET", k, "v"] for k in keys]
    for p in ["*", "f*", "*o*", "f?o", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo",
              "a\\*b", "a\\?b", "b[[]r", "h\\\\llo", "*[", "[", "", "?", "\\", "*o", "FOO",
              "[!e]*", "x y", "*\\"]:
        cmds.append(["KEYS", p])
    pair.check(cmds)


def test_scan_basics(pair):
    cmds = [["MSET", *[x for i in range(5) for x in (f"k{i}", "v")]],
            ["RPUSH", "list1", "a"], ["SCAN", "0", "COUNT", "100"],
            ["SCAN", "0", "COUNT", "100", "MATCH", "k[0-2]"],
            ["SCAN", "0", "COUNT", "100", "TYPE", "string", "MATCH", "*"],
            ["SCAN", "0", "COUNT", "100", "TYPE", "LIST"], ["SCAN", "0", "COUNT", "100", "TYPE", "nosuch"],
            ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT", "-1"], ["SCAN", "0", "COUNT", "x"],
            ["SCAN", "0", "MATCH"], ["SCAN", "0", "FOO", "bar"], ["SCAN", "x"], ["SCAN", "-1x"],
            ["SCAN", "18446744073709551616"], ["SCAN", " 0"], ["SCAN", "0 "], ["SCAN", "+"],
            ["SCAN", "", "COUNT", "100"], ["SCAN", "+0", "COUNT", "100"], ["SCAN", "0", "COUNT", "1", "COUNT"], ["SCAN"],
            ["SCAN", "x", "FOO"]]

    def scan_norm(argv, reply):
        t, v = reply
        if t == "*" and v and v[0] == ("$", b"0"):
            return (t, [v[0], unordered(argv, v[1])])
        return reply
    pair.check(cmds, norm={"scan": scan_norm})


def _full_scan(r, **kw):
    seen = set()
    cursor = 0
    for _ in range(100000):
        cursor, keys = r.scan(cursor, **kw)
        seen.update(keys)
        if cursor == 0:
            return seen
    raise AssertionError("SCAN did not terminate")


def test_scan_guarantee_under_writes(r):
    """Every key present for the whole iteration is returned, even with
    inserts and deletes between calls."""
    rnd = random.Random(1)
    r.mset({f"stable:{i}": i for i in range(3000)})
    r.mset({f"temp:{i}": i for i in range(3000)})
    seen = set()
    cursor = 0
    n = 0
    while True:
        cursor, keys = r.scan(cursor, count=rnd.randint(1, 50))
        seen.update(keys)
        # churn: delete some temp keys, add new ones, re-add others
        r.delete(*[f"temp:{rnd.randrange(3000)}" for _ in range(20)])
        r.mset({f"new:{n}:{j}": 1 for j in range(10)})
        r.set(f"temp:{rnd.randrange(3000)}", 1)
        n += 1
        if cursor == 0:
            break
        assert n < 10000
    stable = {f"stable:{i}".encode() for i in range(3000)}
    assert stable <= seen


def test_scan_small_and_expired(r):
    r.set("a", 1)
    r.set("b", 1, px=1)
    wait_until(lambda: r.pttl("b") == -2, 2, what="b expired")
    assert r.scan(0) == (0, [b"a"])
    assert _full_scan(r, match="a") == {b"a"}
    r.mset({f"m{i}": 1 for i in range(500)})
    assert len(_full_scan(r, count=7)) == 501
    assert _full_scan(r, count=7, match="m1*") == {f"m{i}".encode() for i in range(500)
                                                   if str(i).startswith("1")}
    # an unknown cursor restarts rather than skipping keys
    cursor, _ = r.scan(987654321987, count=1000)
    assert cursor == 0


def test_randomkey(pair, r):
    pair.check([["RANDOMKEY"], ["SET", "a", "1"], ["RANDOMKEY"], ["RANDOMKEY", "x"]])
    r.mset({f"k{i}": 1 for i in range(50)})
    got = {r.randomkey() for _ in range(400)}
    assert len(got) > 30 and got <= {f"k{i}".encode() for i in range(50)}
    r.delete(*[f"k{i}" for i in range(49)])
    assert {r.randomkey() for _ in range(20)} == {b"k49"}


def test_rename(pair):
    pair.check([
        ["RENAME", "nokey", "x"], ["RENAMENX", "nokey", "x"], ["RENAME", "nokey", "nokey"],
        ["SET", "a", "1", "EX", "100"], ["RENAME", "a", "a"], ["RENAMENX", "a", "a"],
        ["TTL", "a"], ["RENAME", "a", "b"], ["TTL", "b"], ["EXISTS", "a"], ["GET", "b"],
        ["SET", "c", "2"], ["RENAMENX", "b", "c"], ["RENAMENX", "b", "d"], ["GET", "d"],
        ["RENAME", "d", "c"], ["GET", "c"], ["TTL", "c"], ["RPUSH", "l", "x"],
        ["RENAME", "l", "c"], ["TYPE", "c"], ["LRANGE", "c", "0", "-1"], ["RENAME", "a"],
    ])


def test_copy_move(pair):
    pair.check([
        ["SET", "s", "v", "EX", "100"], ["COPY", "s", "s2"], ["GET", "s2"], ["TTL", "s2"],
        ["COPY", "s", "s2"], ["COPY", "s", "s2", "REPLACE"], ["COPY", "s", "s"],
        ["COPY", "s", "s", "DB", "0"], ["COPY", "s", "s", "DB", "1"], ["COPY", "nokey", "x"],
        ["COPY", "s", "x", "DB", "16"], ["COPY", "s", "x", "DB", "-1"], ["COPY", "s", "x", "DB", "a"],
        ["COPY", "s", "x", "DB"], ["COPY", "s", "x", "FOO"], ["COPY", "s", "x", "REPLACE", "REPLACE"],
        ["RPUSH", "l", "a", "b"], ["COPY", "l", "l2"], ["RPUSH", "l2", "c"],
        ["LRANGE", "l", "0", "-1"], ["LRANGE", "l2", "0", "-1"],
        ["HSET", "h", "f", "v"], ["COPY", "h", "h2"], ["HSET", "h2", "g", "w"], ["HLEN", "h"],
        ["SADD", "st", "1", "2"], ["COPY", "st", "st2"], ["SADD", "st2", "3"], ["SCARD", "st"],
        ["ZADD", "z", "1", "a"], ["COPY", "z", "z2"], ["ZADD", "z2", "2", "b"], ["ZCARD", "z"],
        ["ZRANGE", "z2", "0", "-1", "WITHSCORES"],
        ["SET", "i", "12"], ["APPEND", "i", "3"], ["COPY", "i", "i2"], ["OBJECT", "ENCODING", "i2"],
        ["MOVE", "s", "1"], ["EXISTS", "s"], ["SELECT", "1"], ["GET", "s"], ["TTL", "s"],
        ["MOVE", "s", "1"], ["SET", "dup", "1"], ["SELECT", "0"], ["SET", "dup", "0"],
        ["MOVE", "dup", "1"], ["GET", "dup"], ["MOVE", "nokey", "1"], ["MOVE", "dup", "0"],
        ["MOVE", "dup", "16"], ["MOVE", "dup", "-1"], ["MOVE", "dup", "x"],
        ["MOVE", "dup", "99999999999"], ["SWAPDB", "99999999999", "0"], ["COPY", "dup", "dup", "DB", "1", "REPLACE"],
        ["SELECT", "1"], ["GET", "dup"], ["SELECT", "0"],
    ])


def test_swapdb(pair):
    pair.check([
        ["SET", "a", "0"], ["SELECT", "1"], ["SET", "a", "1"], ["SET", "b", "1"],
        ["SWAPDB", "0", "1"], ["DBSIZE"], ["GET", "a"], ["SELECT", "0"], ["DBSIZE"],
        ["GET", "a"], ["SWAPDB", "0", "0"], ["SWAPDB", "0", "16"], ["SWAPDB", "-1", "0"],
        ["SWAPDB", "x", "0"], ["SWAPDB", "0", "y"], ["SWAPDB", "0"],
    ])


def test_swapdb_touches_watch(server):
    import redis
    a = server.client()
    b = server.client()
    a.flushall()
    a.set("k", "v")
    p = a.pipeline()
    p.watch("k")
    b.swapdb(0, 1)
    p.multi()
    p.set("k", "x")
    with pytest.raises(redis.WatchError):
        p.execute()


def test_object(pair):
    long = "x" * 45
    cmds = [
        ["SET", "i", "12345"], ["SET", "neg", "-5"], ["SET", "z", "0123"], ["SET", "e", "abc"],
        ["SET", "e44", "y" * 44], ["SET", "r", long], ["SET", "big", "123456789012345678901"],
        ["SET", "sp", " 1"], ["INCR", "c"], ["APPEND", "ap", "1"], ["SET", "ap2", "1"],
        ["APPEND", "ap2", "2"], ["SETRANGE", "sr", "0", "a"], ["SETBIT", "sb", "1", "1"],
        ["INCRBYFLOAT", "fl", "1.5"], ["INCRBYFLOAT", "fi", "15"], ["SET", "ex", "1", "EX", "100"],
        ["RPUSH", "l", "a"], ["SADD", "si", "1", "2"], ["SADD", "ss", "a"], ["HSET", "h", "f", "v"],
        ["HSET", "hb", "f", long * 2], ["ZADD", "zs", "1", "a"], ["ZADD", "zb", "1", long * 2],
    ]
    for k in ["i", "neg", "z", "e", "e44", "r", "big", "sp", "c", "ap", "ap2", "sr", "sb", "fl", "fi",
              "ex", "l", "si", "ss", "h", "hb", "zs", "zb", "nokey"]:
        cmds.append(["OBJECT", "ENCODING", k])
    cmds += [["OBJECT", "REFCOUNT", "i"], ["OBJECT", "REFCOUNT", "e"], ["SET", "n1", "1"],
             ["OBJECT", "REFCOUNT", "n1"], ["SET", "n2", "10000"], ["OBJECT", "REFCOUNT", "n2"],
             ["OBJECT", "REFCOUNT", "nokey"], ["OBJECT", "IDLETIME", "i"], ["OBJECT", "IDLETIME", "nokey"],
             ["OBJECT", "FREQ", "i"], ["OBJECT", "FREQ", "nokey"], ["OBJECT", "HELP"],
             ["OBJECT", "help", "x"], ["OBJECT"], ["OBJECT", "ENCODING"], ["OBJECT", "FOO", "x"],
             ["OBJECT", "ENCODING", "a", "b"]]
    pair.check(cmds)
    pair.check([["SADD", "s", *[str(i) for i in range(513)]], ["OBJECT", "ENCODING", "s"],
                ["HSET", "h", *[f"f{i // 2}" if i % 2 == 0 else "v" for i in range(1026)]],
                ["OBJECT", "ENCODING", "h"],
                ["ZADD", "z", *[x for i in range(129) for x in (str(i), f"m{i}")]],
                ["OBJECT", "ENCODING", "z"],
                # conversions are one way, and COPY keeps the encoding
                ["HDEL", "h", *[f"f{i}" for i in range(500)]], ["OBJECT", "ENCODING", "h"],
                ["COPY", "h", "h2"], ["OBJECT", "ENCODING", "h2"],
                ["SREM", "s", *[str(i) for i in range(510)]], ["OBJECT", "ENCODING", "s"], ["COPY", "s", "s2"],
                ["OBJECT", "ENCODING", "s2"], ["ZREMRANGEBYRANK", "z", "0", "120"],
                ["OBJECT", "ENCODING", "z"], ["COPY", "z", "z2"], ["OBJECT", "ENCODING", "z2"],
                ["XADD", "st", "1-1", "f", "v"], ["COPY", "st", "st2"], ["XADD", "st2", "2-1", "g", "w"],
                ["XLEN", "st"], ["XRANGE", "st2", "-", "+"], ["OBJECT", "ENCODING", "st2"]])


def test_expire_family(pair):
    pair.check([
        ["SET", "k", "v"], ["EXPIRE", "k", "100"], ["TTL", "k"], ["PTTL", "k"],
        ["EXPIRE", "k", "200", "NX"], ["EXPIRE", "k", "200", "XX"], ["TTL", "k"],
        ["EXPIRE", "k", "100", "GT"], ["EXPIRE", "k", "300", "GT"], ["TTL", "k"],
        ["EXPIRE", "k", "400", "LT"], ["EXPIRE", "k", "50", "LT"], ["TTL", "k"],
        ["PERSIST", "k"], ["PERSIST", "k"], ["TTL", "k"], ["EXPIRE", "k", "100", "XX"],
        ["EXPIRE", "k", "100", "GT"], ["EXPIRE", "k", "100", "LT"], ["TTL", "k"],
        ["EXPIRE", "k", "100", "NX"], ["EXPIRE", "k", "10", "NX", "XX"],
        ["EXPIRE", "k", "10", "GT", "LT"], ["EXPIRE", "k", "10", "NX", "GT"],
        ["EXPIRE", "k", "10", "xx", "gt"], ["EXPIRE", "k", "10", "FOO"],
        ["EXPIRE", "k", "x", "FOO"], ["EXPIRE", "k", "x"], ["EXPIRE", "k", "1.5"],
        ["EXPIRE", "k", "9223372036854775807"], ["EXPIRE", "k", "-9223372036854775808"],
        ["PEXPIRE", "k", "9223372036854775807"], ["EXPIREAT", "k", "9223372036854775807"],
        ["PEXPIREAT", "k", "9223372036854775807"], ["PEXPIRETIME", "k"], ["EXPIRETIME", "k"],
        ["EXPIREAT", "k", "4102444800"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"],
        ["PEXPIREAT", "k", "4102444800499"], ["EXPIRETIME", "k"],
        ["PEXPIREAT", "k", "4102444800500"], ["EXPIRETIME", "k"],
        ["PEXPIRE", "k", "100000"], ["PTTL", "k"], ["EXPIRE", "nokey", "10"],
        ["TTL", "nokey"], ["PTTL", "nokey"], ["EXPIRETIME", "nokey"], ["PERSIST", "nokey"],
        ["EXPIRE", "k", "0"], ["EXISTS", "k"], ["SET", "k", "v"], ["EXPIRE", "k", "-10"],
        ["EXISTS", "k"], ["SET", "k", "v"], ["PEXPIREAT", "k", "1"], ["EXISTS", "k"],
        ["SET", "k", "v"], ["EXPIRE", "k", "-1", "LT"], ["EXISTS", "k"], ["SET", "k", "v"],
        ["EXPIRE", "k", "-1", "GT"], ["EXISTS", "k"], ["EXPIRE", "k"], ["TTL"], ["PERSIST"],
    ])


def test_sort(pair):
    nums = ["3", "1", "2", "10", "-5", "2.5", "1e1"]
    setup = [["RPUSH", "l", *nums], ["RPUSH", "la", "b", "a", "c", "B", "aa"],
             ["SADD", "s", *nums], ["ZADD", "z", "3", "a", "1", "b", "2", "c", "2", "d"],
             ["MSET", "w_3", "30", "w_1", "10", "w_2", "-1", "w_10", "5", "o_3", "three",
              "o_1", "one"],
             ["HSET", "h_3", "f", "9", "name", "c"], ["HSET", "h_1", "f", "1", "name", "a"],
             ["SET", "bad", "x"]]
    cmds = setup + [
        ["SORT", "l"], ["SORT", "l", "DESC"], ["SORT", "l", "LIMIT", "1", "3"],
        ["SORT", "l", "LIMIT", "-1", "2"], ["SORT", "l", "LIMIT", "5", "-1"],
        ["SORT", "l", "LIMIT", "100", "3"], ["SORT", "l", "LIMIT", "0", "0"],
        ["SORT", "la"], ["SORT", "la", "ALPHA"], ["SORT", "la", "ALPHA", "DESC", "LIMIT", "1", "2"],
        ["SORT", "s"], ["SORT", "s", "DESC"], ["SORT", "z"], ["SORT", "z", "ALPHA"],
        ["SORT", "z", "BY", "nosort"], ["SORT", "z", "BY", "nosort", "DESC"],
        ["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"], ["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        ["SORT", "l", "BY", "nosort"], ["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "2", "3"],
        ["SORT", "l", "BY", "w_*"], ["SORT", "l", "BY", "w_*", "DESC"],
        ["SORT", "l", "BY", "w_*", "GET", "#", "GET", "o_*", "GET", "w_*"],
        ["SORT", "l", "BY", "h_*->f", "GET", "h_*->name", "GET", "#"],
        ["SORT", "l", "BY", "o_*", "ALPHA"], ["SORT", "l", "GET", "nostar"],
        ["SORT", "l", "BY", "w_*", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"], ["TYPE", "dst"],
        ["SORT", "l", "GET", "o_*", "STORE", "dst2"], ["LRANGE", "dst2", "0", "-1"],
        ["SORT", "s", "BY", "nosort", "STORE", "dst3"], ["LRANGE", "dst3", "0", "-1"],
        ["SORT", "nokey", "STORE", "dst"], ["EXISTS", "dst"], ["SORT", "nokey"],
        ["SORT", "la"], ["SORT", "bad"], ["SORT", "h_1"], ["SORT", "l", "LIMIT", "1"],
        ["SORT", "l", "LIMIT", "a", "b"], ["SORT", "l", "FOO"], ["SORT", "l", "BY"],
        ["SORT", "l", "STORE"], ["SORT_RO", "l", "STORE", "x"], ["SORT_RO", "l", "DESC", "BY", "w_*"],
        ["SORT", "l", "ASC", "DESC", "ASC"],
        ["COMMAND", "GETKEYS", "SORT", "l", "STORE", "a", "BY", "x", "STORE", "b"],
        ["COMMAND", "GETKEYS", "SORT_RO", "l", "BY", "x"],
        ["RPUSH", "sp", "1", "", " 2", "0x10", "inf", "-inf"], ["SORT", "sp"],
        ["RPUSH", "sp2", "nan"], ["SORT", "sp2"], ["RPUSH", "sp3", "1e400"], ["SORT", "sp3"],
    ]
    pair.check(cmds, norm={"sort": lambda argv, r: unordered(argv, r)
                           if "nosort" in argv and "s" in argv else r})


def test_sort_nosort_set_in_script_is_ordered(pair):
    pair.check([["SADD", "s", "c", "a", "b", "10", "2"],
                ["EVAL", "return redis.call('sort', KEYS[1], 'by', 'nosort')", "1", "s"],
                ["EVAL", "return redis.call('sort', KEYS[1], 'by', 'nosort', 'desc')", "1", "s"],
                ["EVAL", "return redis.call('sort_ro', KEYS[1], 'by', 'nosort', 'limit', '1', '2')", "1", "s"]])


def test_dbsize_and_wrong_arity(pair):
    pair.check([["DBSIZE"], ["SET", "a", "1"], ["DBSIZE"], ["SELECT", "3"], ["DBSIZE"],
                ["KEYS"], ["RENAME", "a"], ["MOVE", "a"], ["COPY", "a"], ["SWAPDB"],
                ["EXPIRETIME"], ["SORT"], ["SORT_RO"], ["RANDOMKEY", "a"]])


@pytest.mark.parametrize("proto", [2, 3])
def test_resp_versions(pair, proto):
    pair.check([["SET", "a", "1"], ["RPUSH", "l", "x"], ["SCAN", "0", "COUNT", "100", "TYPE", "list"],
                ["OBJECT", "ENCODING", "nokey"], ["OBJECT", "HELP"], ["TYPE", "a"],
                ["RANDOMKEY"], ["DEL", "a", "l"], ["RANDOMKEY"], ["SORT", "nokey"]], proto=proto)


NOTIFY_SEQUENCE = [
    ["SET", "a", "1"], ["SET", "a", "2", "EX", "100"], ["SETNX", "a", "x"], ["SETEX", "b", "100", "v"],
    ["GETSET", "b", "w"], ["GETDEL", "b"], ["GETEX", "a", "PX", "100000"], ["GETEX", "a", "PERSIST"],
    ["GETEX", "a", "EXAT", "1"], ["MSET", "c", "1", "d", "2"], ["MSETNX", "c", "1", "e", "2"],
    ["INCR", "c"], ["DECRBY", "c", "5"], ["INCRBYFLOAT", "c", "1.5"], ["APPEND", "d", "x"],
    ["SETRANGE", "d", "5", "y"], ["SETRANGE", "d", "0", ""], ["SETBIT", "bits", "3", "1"],
    ["SETBIT", "bits", "3", "1"], ["BITFIELD", "bits", "SET", "u8", "0", "7"],
    ["BITOP", "NOT", "nb", "bits"], ["BITOP", "AND", "nb", "nokey"],
    ["DEL", "nb", "nokey", "d"], ["EXPIRE", "c", "100"], ["PEXPIRE", "c", "-1"], ["SET", "c", "1"],
    ["EXPIREAT", "c", "4102444800"], ["PERSIST", "c"], ["RENAME", "c", "c2"], ["RENAMENX", "c2", "c3"],
    ["COPY", "c3", "c4"], ["COPY", "c3", "c4", "DB", "1"], ["MOVE", "c4", "2"], ["UNLINK", "c3"],
    ["RPUSH", "l", "3", "1", "2"], ["SORT", "l", "STORE", "sorted"], ["SORT", "nokey", "STORE", "sorted"],
    ["SWAPDB", "0", "0"], ["SET", "end", "1"],
]


def test_keyspace_notifications_like_redis(pair):
    """The events string/bitmap/generic commands publish, in order."""
    from diff import RespConn
    subs = []
    for c, srv in zip(pair.conns, (pair.redpoll, pair.redis)):
        c.call(["FLUSHALL"])
        c.call(["CONFIG", "SET", "notify-keyspace-events", "KEA"])
        s = RespConn(srv.port)
        s.sock.sendall(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$4\r\n__k*\r\n")
        assert s.reader.read()[0] == "*"
        subs.append(s)
    try:
        pair.check(NOTIFY_SEQUENCE, flush=False)
        streams = []
        for s in subs:
            msgs = []
            while True:
                t, v = s.reader.read()
                msgs.append((v[2][1], v[3][1]))
                if v[2][1] == b"__keyevent@0__:set" and v[3][1] == b"end":
                    break
                assert len(msgs) < 1000
            streams.append(msgs)
        assert len(streams[1]) > 60
        assert streams[0] == streams[1]
    finally:
        for c in pair.conns:
            c.call(["CONFIG", "SET", "notify-keyspace-events", ""])
        for s in subs:
            s.close()


def test_scan_cursor_table_bounds():
    """The snapshot table of SCAN cursors is bounded (count, entries, idle
    time); an evicted cursor restarts instead of skipping keys."""
    from redpoll.keyspace import ScanCursors
    sc = ScanCursors()
    data = {f"k{i}".encode(): 1 for i in range(100)}
    cursors = [sc.scan(0, data, 10)[0] for _ in range(5)]
    assert len(sc.snaps) == 5 and sc.entries == 500
    sc.MAX = 3
    sc.scan(0, data, 10)
    assert len(sc.snaps) == 3 and sc.entries == 300
    # an evicted cursor starts over: every key still comes back
    seen, cur = set(), cursors[0]
    for _ in range(100):
        cur, keys = sc.scan(cur, data, 10)
        seen.update(keys)
        if cur == 0:
            break
    assert seen == set(data)
    sc.IDLE_SECONDS = 0
    sc.scan(0, data, 10)
    assert len(sc.snaps) == 1        # the others were idle "too long"


def test_object_freq_idletime_policies(pair):
    try:
        pair.check([["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"], ["SET", "k", "v"],
                    ["OBJECT", "FREQ", "k"], ["OBJECT", "IDLETIME", "k"], ["OBJECT", "FREQ", "nokey"],
                    ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"], ["OBJECT", "FREQ", "k"],
                    # (IDLETIME of k now reads LFU data as an LRU clock in Redis)
                    ["SET", "n", "5"], ["OBJECT", "REFCOUNT", "n"], ["OBJECT", "IDLETIME", "n"],
                    ["CONFIG", "SET", "maxmemory", "100mb"], ["SET", "n2", "6"],
                    ["OBJECT", "REFCOUNT", "n2"], ["CONFIG", "SET", "maxmemory", "0"]])
    finally:
        for c in pair.conns:
            c.call(["CONFIG", "SET", "maxmemory-policy", "noeviction"])
            c.call(["CONFIG", "SET", "maxmemory", "0"])


def test_randomkey_sees_new_keys(r):
    """RANDOMKEY keeps picking among current keys under churn (the sampling
    cache refreshes)."""
    r.mset({f"old{i}": 1 for i in range(200)})
    for _ in range(50):
        r.randomkey()
    r.delete(*[f"old{i}" for i in range(100)])
    r.mset({f"new{i}": 1 for i in range(100)})
    got = {r.randomkey() for _ in range(400)}
    assert any(k.startswith(b"new") for k in got)
    assert all(not k.startswith(b"old") or int(k[3:]) >= 100 for k in got)
