"""Streams compared with real Redis 7.0: replies, errors, trimming, groups,
blocking reads."""

from __future__ import annotations

import random
import threading

import pytest
import redis

from diff import Approx
from support import wait_until
from test_replication import FAST, info, procs, wait_synced  # noqa: F401 (procs: fixture)


def _timeless(argv, reply):
    """Replace wall-clock values: unix ms timestamps and idle times."""
    def walk(r, after_idle=False):
        t, v = r
        if t == ":" and (v > 10 ** 12 or after_idle):
            return (t, Approx(v, 10 ** 15 if v > 10 ** 12 else 1000))
        if t in "*~%" and v:
            out = []
            prev = None
            for x in v:
                if t == "%":
                    k, val = x
                    out.append((walk(k), walk(val, k == ("$", b"idle"))))
                else:
                    out.append(walk(x, prev == ("$", b"idle")))
                    prev = x
            return (t, out)
        return r
    return walk(reply)


def _pending_norm(argv, reply):
    """XPENDING extended: the idle column is time-dependent."""
    t, v = reply
    if t == "*" and v and len(argv) > 3 and all(x[0] == "*" and len(x[1]) == 4 for x in v):
        return (t, [("*", [e[1][0], e[1][1], (":", Approx(e[1][2][1], 1000)), e[1][3]])
                    for e in v])
    return reply


TIMELESS = {"xinfo": _timeless, "xpending": _pending_norm, "xclaim": _timeless,
            "xautoclaim": _timeless}


def test_xadd_ids_and_errors(pair):
    pair.check([
        ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "1-1", "a", "1"],
        ["XADD", "s", "1-0", "a", "1"], ["XADD", "s", "1-*", "b", "2"],
        ["XADD", "s", "5", "c", "3"], ["XADD", "s", "5-*", "c", "3"],
        ["XADD", "s", "0-0", "x", "y"], ["XADD", "s2", "0-0", "x", "y"],
        ["XADD", "s2", "0-*", "x", "y"], ["XADD", "s", "x"], ["XADD", "s", "*", "a"],
        ["XADD", "s", "1-2-3", "a", "b"], ["XADD", "s", "abc", "a", "b"],
        ["XADD", "s", "-1", "a", "b"], ["XADD", "s", "-", "a", "b"],
        ["XADD", "s", "18446744073709551615-18446744073709551615", "a", "b"],
        ["XADD", "s", "*", "a", "b"], ["XADD", "s", "18446744073709551615-*", "a", "b"],
        ["XADD", "s3", "NOMKSTREAM", "*", "a", "b"], ["EXISTS", "s3"],
        ["XADD", "s", "MAXLEN", "-1", "*", "a", "b"],
        ["XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "a", "b"],
        ["XADD", "s", "LIMIT", "10", "*", "a", "b"],
        ["XADD", "s", "MAXLEN", "5", "LIMIT", "10", "*", "a", "b"],
        ["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-1", "*", "a", "b"],
        ["XADD", "s", "MAXLEN", "abc", "*", "a", "b"],
        ["XADD", "s", "MINID", "abc", "*", "a", "b"],
        ["SET", "str", "x"], ["XADD", "str", "*", "a", "b"], ["XLEN", "str"],
        ["XLEN", "s"], ["XLEN", "nokey"], ["XADD", "s"], ["XADD", "s", "*"],
    ])


def test_xrange_family(pair):
    cmds = [["XADD", "s", f"{i}-{j}", "f", f"v{i}{j}"] for i in range(1, 6) for j in range(3)]
    cmds += [
        ["XRANGE", "s", "-", "+"], ["XRANGE", "s", "2", "3"], ["XRANGE", "s", "2-1", "3-1"],
        ["XRANGE", "s", "(2-1", "(3-1"], ["XRANGE", "s", "(2", "+"],
        ["XRANGE", "s", "-", "+", "COUNT", "3"], ["XRANGE", "s", "-", "+", "COUNT", "0"],
        ["XRANGE", "s", "-", "+", "COUNT", "-5"], ["XRANGE", "s", "-", "+", "COUNT"],
        ["XRANGE", "s", "-", "+", "FOO", "1"], ["XRANGE", "s", "5", "1"],
        ["XREVRANGE", "s", "+", "-"], ["XREVRANGE", "s", "+", "-", "COUNT", "2"],
        ["XREVRANGE", "s", "(4-2", "(2-0"], ["XRANGE", "s", "(-", "+"],
        ["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"],
        ["XRANGE", "s", "-", "(0-0"], ["XRANGE", "s", "x", "+"],
        ["XRANGE", "nokey", "-", "+"], ["XRANGE", "nokey", "-", "+", "COUNT", "0"],
        ["XDEL", "s", "2-1", "2-1", "9-9"], ["XDEL", "s", "bad"], ["XDEL", "nokey", "1-1"],
        ["XRANGE", "s", "2", "2"], ["XLEN", "s"],
        ["XINFO", "STREAM", "s"], ["XINFO", "STREAM", "s", "FULL"],
        ["XINFO", "STREAM", "s", "FULL", "COUNT", "2"], ["XINFO", "STREAM", "s", "BAD"],
        ["XINFO", "STREAM", "nokey"],
    ]
    pair.check(cmds, norm=TIMELESS)


@pytest.mark.parametrize("node_entries", ["100", "5", "0"])
def test_trimming_exact_and_approximate(pair, node_entries):
    for conn in pair.conns:
        conn.call(["CONFIG", "SET", "stream-node-max-entries", node_entries])
        conn.call(["CONFIG", "SET", "stream-node-max-bytes", "300" if node_entries == "0" else "4096"])
    try:
        rnd = random.Random(int(node_entries) + 11)
        cmds = []
        for i in range(1, 200):
            fields = ["f", "x" * rnd.randrange(30)] if rnd.random() < 0.7 else \
                ["g", str(i), "h", "12345"]
            cmds.append(["XADD", "s", f"{i}-0", *fields])
        cmds += [
            ["XTRIM", "s", "MAXLEN", "~", "150"], ["XLEN", "s"], ["XINFO", "STREAM", "s"],
            ["XTRIM", "s", "MAXLEN", "~", "120", "LIMIT", "10"], ["XLEN", "s"],
            ["XTRIM", "s", "MINID", "~", "100"], ["XLEN", "s"],
            ["XDEL", "s", "150-0", "151-0", "152-0"],
            ["XTRIM", "s", "MAXLEN", "=", "60"], ["XLEN", "s"], ["XINFO", "STREAM", "s"],
            ["XTRIM", "s", "MINID", "170"], ["XLEN", "s"], ["XRANGE", "s", "-", "+", "COUNT", "2"],
            ["XADD", "s", "MAXLEN", "~", "10", "300-0", "a", "b"], ["XLEN", "s"],
            ["XADD", "s", "MAXLEN", "10", "301-0", "a", "b"], ["XLEN", "s"],
            ["XADD", "s", "MINID", "=", "300", "302-0", "a", "b"], ["XLEN", "s"],
            ["XTRIM", "s", "MAXLEN", "0"], ["XLEN", "s"], ["XINFO", "STREAM", "s"],
            ["XTRIM", "s"], ["XTRIM", "s", "FOO", "1"], ["XTRIM", "nokey", "MAXLEN", "1"],
            ["XTRIM", "s", "MAXLEN", "1", "LIMIT", "1"],
        ]
        pair.check(cmds, norm=TIMELESS)
    finally:
        for conn in pair.conns:
            conn.call(["CONFIG", "SET", "stream-node-max-entries", "100"])
            conn.call(["CONFIG", "SET", "stream-node-max-bytes", "4096"])


def test_consumer_groups(pair):
    cmds = [["XADD", "s", f"{i}-1", "f", str(i)] for i in range(1, 8)]
    cmds += [
        ["XGROUP", "CREATE", "s", "g", "0"], ["XGROUP", "CREATE", "s", "g", "0"],
        ["XGROUP", "CREATE", "s", "g2", "$"], ["XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD", "3"],
        ["XGROUP", "CREATE", "s", "g4", "0", "ENTRIESREAD", "-5"],
        ["XGROUP", "CREATE", "nokey", "g", "0"], ["XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"],
        ["XGROUP", "CREATE", "s", "g5", "0", "BAD"], ["XGROUP", "CREATE", "s", "g5"],
        ["XGROUP", "SETID", "s", "nog", "0"], ["XGROUP", "FOO", "s", "g"],
        ["XINFO", "GROUPS", "s"],
        ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"],
        ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "1-1"],
        ["XREADGROUP", "GROUP", "g", "carol", "NOACK", "COUNT", "1", "STREAMS", "s", ">"],
        ["XINFO", "GROUPS", "s"], ["XINFO", "CONSUMERS", "s", "g"],
        ["XPENDING", "s", "g"], ["XPENDING", "s", "g", "-", "+", "10"],
        ["XPENDING", "s", "g", "-", "+", "10", "bob"], ["XPENDING", "s", "g", "-", "+", "10", "nobody"],
        ["XPENDING", "s", "g", "IDLE", "0", "-", "+", "10"], ["XPENDING", "s", "g", "(1-1", "+", "1"],
        ["XPENDING", "s", "nog"], ["XPENDING", "s", "g", "-", "+"], ["XPENDING", "s", "g", "IDLE", "1", "-"],
        ["XACK", "s", "g", "1-1", "9-9"], ["XACK", "s", "g", "bad"], ["XACK", "s", "nog", "1-1"],
        ["XDEL", "s", "3-1"],
        ["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "s", "0"],
        ["XCLAIM", "s", "g", "dave", "0", "2-1", "3-1", "4-1", "TIME", "1000", "RETRYCOUNT", "7"],
        ["XCLAIM", "s", "g", "dave", "0", "2-1", "JUSTID"],
        ["XCLAIM", "s", "g", "erin", "0", "6-1", "FORCE", "JUSTID", "LASTID", "6-1"],
        ["XCLAIM", "s", "g", "erin", "0", "2-1", "BOGUS"],
        ["XCLAIM", "s", "g", "erin", "abc", "2-1"], ["XCLAIM", "s", "nog", "x", "0", "2-1"],
        ["XCLAIM", "s", "g", "erin", "100000000", "2-1"],
        ["XPENDING", "s", "g"], ["XINFO", "GROUPS", "s"],
        ["XAUTOCLAIM", "s", "g", "frank", "0", "0", "COUNT", "1"],
        ["XAUTOCLAIM", "s", "g", "frank", "0", "0", "JUSTID"],
        ["XAUTOCLAIM", "s", "g", "frank", "0", "0", "COUNT", "0"],
        ["XAUTOCLAIM", "s", "g", "frank", "0", "0", "BAD"],
        ["XAUTOCLAIM", "s", "nog", "frank", "0", "0"],
        ["XGROUP", "CREATECONSUMER", "s", "g", "zed"], ["XGROUP", "CREATECONSUMER", "s", "g", "zed"],
        ["XGROUP", "DELCONSUMER", "s", "g", "frank"], ["XGROUP", "DELCONSUMER", "s", "g", "nobody"],
        ["XGROUP", "SETID", "s", "g", "$"], ["XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "2"],
        ["XINFO", "GROUPS", "s"], ["XINFO", "STREAM", "s", "FULL"],
        ["XGROUP", "DESTROY", "s", "g3"], ["XGROUP", "DESTROY", "s", "g3"],
        ["XINFO", "CONSUMERS", "s", "nog"], ["XINFO", "GROUPS", "nokey"], ["XINFO", "HELP"],
        ["XGROUP", "HELP"],
        ["XREADGROUP", "GROUP", "nog", "a", "STREAMS", "s", ">"],
        ["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", "$"],
        ["XREADGROUP", "STREAMS", "s", ">"], ["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s"],
        ["XREAD", "STREAMS", "s", ">"], ["XREAD", "GROUP", "g", "a", "STREAMS", "s", "0"],
        ["XREAD", "NOACK", "STREAMS", "s", "0"], ["XREAD", "COUNT", "2", "STREAMS", "s", "mk", "0", "0"],
        ["XREAD", "STREAMS", "s", "$"], ["XREAD", "STREAMS", "s", "-"], ["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"],
        ["XSETID", "s", "1-1"], ["XSETID", "s", "99-1", "ENTRIESADDED", "1"],
        ["XSETID", "s", "99-1", "ENTRIESADDED", "50", "MAXDELETEDID", "100-1"],
        ["XSETID", "s", "99-1", "ENTRIESADDED", "50", "MAXDELETEDID", "5-1"],
        ["XSETID", "nokey", "1-1"], ["XINFO", "STREAM", "s"], ["XSETID", "s", "99-1", "FOO"],
    ]
    pair.check(cmds, norm=TIMELESS)
    pair.check([["XADD", "r3", "1-1", "a", "b"],
                ["XREAD", "STREAMS", "r3", "0"], ["XINFO", "STREAM", "r3"],
                ["XGROUP", "CREATE", "r3", "g", "0"],
                ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "r3", ">"],
                ["XINFO", "GROUPS", "r3"], ["XPENDING", "r3", "g"]], proto=3, norm=TIMELESS)


def test_lag_and_entries_read(pair):
    cmds = [["XADD", "s", f"{i}-1", "f", str(i)] for i in range(1, 6)]
    cmds += [["XGROUP", "CREATE", "s", "g", "0"], ["XINFO", "GROUPS", "s"],
             ["XREADGROUP", "GROUP", "g", "a", "COUNT", "2", "STREAMS", "s", ">"],
             ["XINFO", "GROUPS", "s"], ["XDEL", "s", "4-1"], ["XINFO", "GROUPS", "s"],
             ["XREADGROUP", "GROUP", "g", "a", "COUNT", "1", "STREAMS", "s", ">"],
             ["XINFO", "GROUPS", "s"], ["XDEL", "s", "1-1"], ["XTRIM", "s", "MAXLEN", "1"],
             ["XINFO", "GROUPS", "s"], ["XREADGROUP", "GROUP", "g", "a", "STREAMS", "s", ">"],
             ["XINFO", "GROUPS", "s"], ["XADD", "s", "9-1", "f", "9"], ["XINFO", "GROUPS", "s"],
             ["XGROUP", "SETID", "s", "g", "0"], ["XINFO", "GROUPS", "s"],
             ["XINFO", "STREAM", "s"]]
    pair.check(cmds, norm=TIMELESS)


def test_blocking_xread_and_xreadgroup(server):
    r = server.client()
    r.flushall()
    r.xadd("s", {"a": "1"}, id="1-1")
    results = {}

    def reader(name, fn):
        results[name] = fn(server.client(socket_timeout=20))

    threads = [
        threading.Thread(target=reader, args=("xread", lambda c: c.xread({"s": "$"}, block=10000))),
        threading.Thread(target=reader, args=("other", lambda c: c.xread({"nokey": "$"}, block=150))),
    ]
    r.xgroup_create("s", "g", id="$")
    threads.append(threading.Thread(target=reader, args=(
        "group", lambda c: c.xreadgroup("g", "alice", {"s": ">"}, block=10000))))
    for t in threads:
        t.start()
    wait_until(lambda: len([x for x in r.client_list() if "b" in x["flags"]]) == 3,
               what="three blocked clients")
    r.xadd("s", {"b": "2"}, id="2-1")
    for t in threads:
        t.join(15)
    assert results["xread"] == [[b"s", [(b"2-1", {b"b": b"2"})]]]
    assert results["group"] == [[b"s", [(b"2-1", {b"b": b"2"})]]]
    assert results["other"] == []
    assert r.xpending("s", "g")["pending"] == 1


def test_destroyed_group_unblocks_with_nogroup(server):
    r = server.client()
    r.flushall()
    r.xgroup_create("s", "g", id="$", mkstream=True)
    err = {}

    def reader():
        try:
            server.client(socket_timeout=20).xreadgroup("g", "a", {"s": ">"}, block=0)
        except redis.ResponseError as e:
            err["e"] = str(e)

    t = threading.Thread(target=reader)
    t.start()
    wait_until(lambda: any("b" in x["flags"] for x in r.client_list()), what="blocked")
    r.xgroup_destroy("s", "g")
    t.join(10)
    assert err["e"].startswith("NOGROUP")


def test_stream_commands_in_scripts_and_multi(pair):
    pair.check([
        ["XADD", "s", "1-1", "a", "b"],
        ["EVAL", "return redis.call('xread', 'BLOCK', '0', 'STREAMS', 's', '$')", "0"],
        ["EVAL", "return redis.call('xread', 'STREAMS', 's', '0')", "0"],
        ["MULTI"], ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], ["EXEC"],
    ])


def test_keyspace_events_and_type(pair):
    pair.check([["XADD", "s", "1-1", "a", "b"], ["TYPE", "s"], ["SET", "x", "y"],
                ["XRANGE", "x", "-", "+"], ["XINFO", "STREAM", "x"], ["XGROUP", "CREATE", "x", "g", "0"],
                ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"], ["PFADD", "s", "a"]])


def test_group_reads_replicate_to_a_real_redis_replica(procs):
    """XREADGROUP/XCLAIM/XAUTOCLAIM propagate as Redis does: a real Redis
    replica ends with the same groups, PELs and counters."""
    p = procs(*FAST)
    pc = p.client()
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind="redis")
    rc = r.client()
    wait_until(lambda: info(rc)["master_link_status"] == "up", 30, what="link up")
    for i in range(10):
        pc.xadd("s", {"f": i})
    pc.xadd("s", {"f": "x"}, maxlen=8, approximate=True)
    pc.xgroup_create("s", "g", id="0")
    pc.xreadgroup("g", "alice", {"s": ">"}, count=3)
    pc.xreadgroup("g", "bob", {"s": ">"}, count=2, noack=True)
    pc.xreadgroup("g", "carol", {"s": ">"}, count=2)
    first = pc.xrange("s", count=1)[0][0]
    pc.xclaim("s", "g", "dave", 0, [first], retrycount=5)
    pc.xautoclaim("s", "g", "erin", 0, "0-0", count=1)
    pc.xack("s", "g", pc.xrange("s")[1][0])
    pc.xdel("s", pc.xrange("s")[2][0])
    pc.xgroup_createconsumer("s", "g", "zed")
    wait_synced(pc, rc)

    def view(c):
        groups = [{k: v for k, v in g.items()} for g in c.xinfo_groups("s")]
        pel = [(e["message_id"], e["consumer"], e["times_delivered"])
               for e in c.xpending_range("s", "g", "-", "+", 100)]
        cons = sorted((x["name"], x["pending"]) for x in c.xinfo_consumers("s", "g"))
        st = c.xinfo_stream("s")
        st = {k: v for k, v in st.items() if k not in ("radix-tree-nodes",)}
        return groups, pel, cons, st, c.xrange("s")
    assert view(pc) == view(rc)


@pytest.mark.parametrize("seed", range(12))
def test_random_sequences(pair, seed):
    """Random stream and consumer-group operations with explicit IDs and
    times, replies compared with Redis one by one."""
    rnd = random.Random(seed)
    cmds = [["CONFIG", "SET", "stream-node-max-entries", str(rnd.choice([3, 10, 100]))]]
    ms = 0
    consumers = ["alice", "bob", "carol"]

    def some_id():
        return f"{rnd.randrange(0, ms + 2)}-{rnd.randrange(0, 3)}"
    for step in range(250):
        op = rnd.random()
        if op < 0.35:
            ms += rnd.randrange(0, 3)
            idarg = rnd.choice([f"{ms}-*", f"{ms}-{rnd.randrange(5)}", f"{ms}"])
            trim = rnd.choice([[], [], ["MAXLEN", "~", "20"], ["MAXLEN", "25"],
                               ["MINID", "~", some_id()], ["MINID", some_id()]])
            fields = rnd.choice([["a", "1"], ["a", "2", "b", "x"], ["c", str(step)]])
            cmds.append(["XADD", "s", *trim, idarg, *fields])
        elif op < 0.45:
            cmds.append(["XDEL", "s", *[some_id() for _ in range(rnd.randrange(1, 4))]])
        elif op < 0.5:
            cmds.append(["XTRIM", "s", *rnd.choice([["MAXLEN", "~", "10"], ["MAXLEN", "15"],
                                                    ["MINID", some_id()]])])
        elif op < 0.58:
            lo, hi = sorted([some_id(), some_id()])
            cmds.append(["XRANGE", "s", rnd.choice([lo, "-", "(" + lo]), rnd.choice([hi, "+"]),
                         "COUNT", str(rnd.randrange(1, 10))])
        elif op < 0.62:
            cmds.append(["XGROUP", "CREATE", "s", rnd.choice(["g1", "g2"]),
                         rnd.choice(["0", "$", some_id()]), "MKSTREAM"])
        elif op < 0.75:
            cmds.append(["XREADGROUP", "GROUP", rnd.choice(["g1", "g2"]), rnd.choice(consumers),
                         "COUNT", str(rnd.randrange(1, 5)), *(["NOACK"] if rnd.random() < 0.1 else []),
                         "STREAMS", "s", rnd.choice([">", ">", "0"])])
        elif op < 0.8:
            cmds.append(["XACK", "s", rnd.choice(["g1", "g2"]), some_id(), some_id()])
        elif op < 0.85:
            cmds.append(["XCLAIM", "s", rnd.choice(["g1", "g2"]), rnd.choice(consumers), "0",
                         some_id(), some_id(), "TIME", "12345", *rnd.choice([[], ["JUSTID"], ["FORCE"]])])
        elif op < 0.88:
            cmds.append(["XAUTOCLAIM", "s", rnd.choice(["g1", "g2"]), rnd.choice(consumers), "0",
                         rnd.choice(["0", some_id()]), "COUNT", str(rnd.randrange(1, 4))])
        elif op < 0.92:
            cmds.append(["XINFO", "GROUPS", "s"])
        elif op < 0.95:
            cmds.append(["XINFO", "STREAM", "s"])
        elif op < 0.97:
            cmds.append(["XPENDING", "s", rnd.choice(["g1", "g2"])])
        else:
            cmds.append(["XGROUP", "SETID", "s", rnd.choice(["g1", "g2"]), some_id()])
        cmds.append(["XLEN", "s"])
    cmds.append(["XINFO", "STREAM", "s", "FULL"])
    try:
        pair.check(cmds, norm=TIMELESS)
    finally:
        for conn in pair.conns:
            conn.call(["CONFIG", "SET", "stream-node-max-entries", "100"])


def _events(port, cmds):
    c = redis.Redis(port=port)
    c.flushall()
    c.config_set("notify-keyspace-events", "KEA")
    p = c.pubsub()
    p.psubscribe("__keyevent@0__:*")
    p.get_message(timeout=2)
    for cmd in cmds:
        try:
            c.execute_command(*cmd)
        except redis.ResponseError:
            pass
    c.execute_command("SET", "end-marker", "1")
    out = []

    def until_marker():
        m = p.get_message(timeout=0.1)
        if m:
            out.append((m["channel"].split(b":", 1)[1], m["data"]))
        return out and out[-1][1] == b"end-marker"
    wait_until(until_marker, 10, what="all notifications")
    c.config_set("notify-keyspace-events", "")
    p.close()
    return out


def test_keyspace_notifications_of_streams_hll_geo(pair):
    cmds = [["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "MAXLEN", "1", "2-1", "a", "1"],
            ["XDEL", "s", "2-1"], ["XADD", "s", "3-1", "a", "b"], ["XTRIM", "s", "MAXLEN", "0"],
            ["XGROUP", "CREATE", "s", "g", "0"], ["XADD", "s", "4-1", "a", "b"],
            ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"],
            ["XGROUP", "CREATECONSUMER", "s", "g", "d"], ["XCLAIM", "s", "g", "e", "0", "4-1"],
            ["XAUTOCLAIM", "s", "g", "f", "0", "0"], ["XGROUP", "DELCONSUMER", "s", "g", "d"],
            ["XGROUP", "SETID", "s", "g", "0"], ["XSETID", "s", "10-1"], ["XACK", "s", "g", "4-1"],
            ["XGROUP", "DESTROY", "s", "g"], ["XGROUP", "CREATE", "s2", "g", "$", "MKSTREAM"],
            ["PFADD", "h", "a"], ["PFADD", "h", "a"], ["PFMERGE", "h2", "h"], ["PFCOUNT", "h2"],
            ["GEOADD", "g", "1", "1", "m"],
            ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "10", "km"],
            ["GEORADIUS", "g", "1", "1", "10", "km", "STORE", "d2"],
            ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "50", "50", "BYRADIUS", "1", "km"],
            ["EVAL", "redis.call('set','x','1') redis.call('del','x')", "0"]]
    assert _events(pair.redpoll.port, cmds) == _events(pair.redis.port, cmds)
