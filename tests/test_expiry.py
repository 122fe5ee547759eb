"""Expiry as observable in Redis: lazy expiry on access, the active cycle
(keys disappear without being touched), stats and INFO keyspace, and the
keyspace hit/miss counters, compared with a real Redis."""

from __future__ import annotations

import time

import pytest

from support import ServerProcess, wait_until


@pytest.fixture(scope="module")
def server():
    """redpoll with DEBUG enabled (DEBUG SET-ACTIVE-EXPIRE)."""
    with ServerProcess("redpoll", args=["--enable-debug-command", "yes"]) as s:
        yield s


def _info(conn, section):
    t, v = conn.call(["INFO", section])
    assert t == "$", v
    out = {}
    for line in v.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, _, val = line.partition(":")
            out[k] = val
    return out


def test_active_expiry_without_access(server):
    """At hz 10, keys whose TTL passed vanish within a few cron ticks without
    any command touching them; DBSIZE, INFO keyspace and expired_keys agree."""
    r = server.client()
    r.flushall()
    r.config_resetstat()
    r.set("keep", "1")
    p = r.pipeline(transaction=False)
    for i in range(300):
        p.set(f"k{i}", "v", px=150)
    p.execute()
    due = time.monotonic() + 0.15
    assert r.dbsize() == 301
    ks = r.info("keyspace")["db0"]
    assert ks["keys"] == 301 and ks["expires"] == 300
    wait_until(lambda: r.dbsize() == 1, 5, interval=0.01, what="active expiry")
    elapsed = time.monotonic() - due
    assert elapsed < 0.6, f"keys lingered {elapsed:.3f}s after their TTL"
    assert r.info("stats")["expired_keys"] == 300
    ks = r.info("keyspace")["db0"]
    assert ks["keys"] == 1 and ks["expires"] == 0
    assert r.get("keep") == b"1"


def test_lazy_expiry_on_access(server):
    """With the active cycle off, an expired key stays in DBSIZE until a
    command touches it; then it is gone and counted in expired_keys."""
    r = server.client()
    r.flushall()
    r.config_resetstat()
    assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
    try:
        r.set("a", "1", px=30)
        r.set("b", "1", px=30)
        r.set("c", "1", px=30)
        # c was set last: once it is logically expired, so are a and b
        wait_until(lambda: r.pttl("c") == -2, 2, what="c logically expired")
        # the PTTL lookup above deleted "c"; a and b are still stored
        assert r.dbsize() == 2
        assert r.info("stats")["expired_keys"] == 1
        assert r.get("a") is None
        assert r.exists("b") == 0
        assert r.dbsize() == 0
        assert r.info("stats")["expired_keys"] == 3
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_expire_in_past_deletes_and_counts_no_expired(pair):
    """EXPIRE with a past time deletes at once (DEL semantics, not counted
    as an expiry), like Redis."""
    for c in pair.conns:
        c.call(["CONFIG", "RESETSTAT"])
    pair.check([["SET", "k", "v"], ["EXPIRE", "k", "-1"], ["EXISTS", "k"],
                ["SET", "k", "v"], ["PEXPIREAT", "k", "1"], ["GET", "k"],
                ["SET", "k", "v"], ["GETEX", "k", "PXAT", "1"], ["EXISTS", "k"]])
    a, b = (_info(c, "stats") for c in pair.conns)
    assert a["expired_keys"] == b["expired_keys"] == "0"


def test_set_with_past_pxat_expires_lazily(pair):
    for c in pair.conns:
        c.call(["CONFIG", "RESETSTAT"])
    pair.check([["SET", "k", "v", "PXAT", "1"], ["GET", "k"], ["EXISTS", "k"]])
    a, b = (_info(c, "stats") for c in pair.conns)
    assert a["expired_keys"] == b["expired_keys"] == "1"


HIT_MISS_SEQUENCE = [
    ["SET", "s", "v"], ["GET", "s"], ["GET", "nokey"], ["MGET", "s", "nokey", "s"],
    ["EXISTS", "s", "nokey"], ["TYPE", "s"], ["TYPE", "nokey"], ["STRLEN", "s"],
    ["STRLEN", "nokey"], ["GETRANGE", "s", "0", "1"], ["GETRANGE", "nokey", "0", "1"],
    ["TTL", "s"], ["PTTL", "nokey"], ["EXPIRETIME", "s"], ["TOUCH", "s", "nokey"],
    ["SET", "s", "w"], ["SET", "s", "x", "GET"], ["SET", "n", "x", "GET"], ["GETSET", "s", "y"],
    ["GETDEL", "n"], ["GETDEL", "nokey"], ["GETEX", "s"], ["GETEX", "nokey", "EX", "10"],
    ["APPEND", "s", "z"], ["INCR", "cnt"], ["INCRBYFLOAT", "f", "1"], ["SETRANGE", "s", "1", "x"],
    ["DEL", "nokey"], ["EXPIRE", "s", "100"], ["PERSIST", "s"], ["RENAME", "s", "s2"],
    ["COPY", "s2", "s3"], ["COPY", "nokey", "x"], ["OBJECT", "ENCODING", "s2"],
    ["OBJECT", "ENCODING", "nokey"], ["LCS", "s2", "nokey"], ["SETBIT", "b", "1", "1"],
    ["GETBIT", "b", "1"], ["GETBIT", "nokey", "1"], ["BITCOUNT", "b"], ["BITCOUNT", "nokey"],
    ["BITPOS", "b", "1"], ["BITPOS", "nokey", "1"], ["BITOP", "OR", "d", "b", "nokey"],
    ["BITFIELD", "b", "GET", "u8", "0"], ["BITFIELD", "b", "SET", "u8", "0", "1"],
    ["BITFIELD_RO", "nokey", "GET", "u8", "0"], ["KEYS", "*"], ["DBSIZE"], ["RANDOMKEY"],
    ["SORT", "nokey"], ["MSETNX", "s2", "1"], ["SETNX", "s2", "1"], ["MOVE", "s2", "1"],
    ["RENAMENX", "s3", "s4"],
]


@pytest.mark.parametrize("proto", [2])
def test_keyspace_hits_misses_like_redis(pair, proto):
    for c in pair.conns:
        c.call(["FLUSHALL"])
        c.call(["CONFIG", "RESETSTAT"])
    pair.check(HIT_MISS_SEQUENCE, flush=False, proto=proto)
    a, b = (_info(c, "stats") for c in pair.conns)
    assert (a["keyspace_hits"], a["keyspace_misses"]) == (b["keyspace_hits"], b["keyspace_misses"])


def test_ttl_countdown_matches_redis(pair):
    """TTL/PTTL rounding while a key counts down."""
    pair.check([["SET", "k", "v", "PX", "1600"], ["TTL", "k"], ["SET", "k", "v", "PX", "1400"],
                ["TTL", "k"], ["SET", "k", "v", "PX", "499"], ["TTL", "k"],
                ["SET", "k", "v", "PX", "50000"], ["PTTL", "k"]])


def test_expired_key_not_reported_by_keys_scan_exists(server):
    r = server.client()
    r.flushall()
    r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        r.set("gone", "1", px=20)
        r.set("stay", "1")
        wait_until(lambda: time.sleep(0.03) or True, 1)
        assert r.keys("*") == [b"stay"]
        r.set("gone2", "1", px=1)
        time.sleep(0.01)
        assert r.scan(0, count=100)[1] == [b"stay"]
        assert r.randomkey() == b"stay"
        assert r.dbsize() == 1
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_active_expiry_many_keys_and_hz():
    """A larger set of volatile keys in several databases all expire, with
    hz 100, and INFO keyspace drops the emptied databases."""
    with ServerProcess("redpoll", args=["--hz", "100"]) as s:
        r = s.client()
        for db in (0, 3):
            c = s.client(db=db)
            p = c.pipeline(transaction=False)
            for i in range(5000):
                p.set(f"k{i}", "v", px=2500 + i % 100)
            p.execute()
        assert set(r.info("keyspace")) == {"db0", "db3"}
        wait_until(lambda: r.info("keyspace") == {}, 5, what="all volatile keys expired")
        assert r.info("stats")["expired_keys"] == 10000


PROPAGATION_SEQUENCE = [
    ["SET", "a", "v", "EX", "100"], ["SET", "b", "v", "PX", "100000", "GET"],
    ["SETEX", "c", "100", "v"], ["PSETEX", "d", "100000", "v"], ["GETEX", "a", "EX", "200"],
    ["GETEX", "a", "PERSIST"], ["GETEX", "a"], ["EXPIRE", "b", "300"],
    ["PEXPIRE", "b", "350000", "GT"], ["EXPIRE", "b", "400", "GT"],
    ["EXPIREAT", "c", "4102444800"], ["INCRBYFLOAT", "f", "1.5"], ["INCRBYFLOAT", "f", "0.1"],
    ["SET", "g", "v", "GET", "get"], ["GETDEL", "g"], ["EXPIRE", "d", "-1"],
    ["GETEX", "c", "PXAT", "1"], ["SET", "h", "1", "KEEPTTL", "GET"], ["SET", "i", "v", "EXAT", "4102444800"],
    ["SETRANGE", "h", "3", "x"], ["PERSIST", "b"], ["PERSIST", "b"], ["SET", "end", "1"],
]


def _aof_commands(dirpath):
    import glob
    import os
    from diff import RespReader
    out = []
    for f in sorted(glob.glob(os.path.join(dirpath, "appendonlydir", "*.incr.aof"))):
        data = open(f, "rb").read()

        class _Buf:
            def __init__(self, d):
                self.d = d

            def recv(self, n):
                d, self.d = self.d[:n], self.d[n:]
                return d
        reader = RespReader(_Buf(data))
        while reader.pos < len(reader.buf) or reader.sock.d:
            try:
                t, v = reader.read()
            except ConnectionError:
                break
            out.append([x[1] for x in v])
    return out


def test_expiry_propagates_as_absolute_times():
    """What reaches the AOF (and replicas) is what Redis 7.0 writes: relative
    expiries as SET ... PXAT / PEXPIREAT, past ones as DEL, INCRBYFLOAT as
    SET ... KEEPTTL, SET ... GET without GET."""
    from diff import RespConn
    streams = []
    for kind in ("redpoll", "redis"):
        with ServerProcess(kind, args=["--appendonly", "yes", "--appendfsync", "always"]) as s:
            conn = RespConn(s.port)
            for cmd in PROPAGATION_SEQUENCE:
                conn.call(cmd)
            wait_until(lambda: any(c[:2] == [b"SET", b"end"] for c in _aof_commands(s.dir)), 10,
                       what=f"{kind} AOF written")
            conn.close()
            streams.append(_aof_commands(s.dir))

    def norm(cmds):
        # absolute times taken "now" differ by the run's offset: compare them
        # as relative to the first one
        base = None
        out = []
        for cmd in cmds:
            row = []
            for a in cmd:
                if a.isdigit() and len(a) == 13 and not a.startswith(b"4102"):
                    base = base or int(a)
                    row.append(("t", round((int(a) - base) / 1000)))
                else:
                    row.append(a)
            out.append(row)
        return out
    assert norm(streams[0]) == norm(streams[1])


def test_replica_never_deletes_expired_keys():
    """A replica hides logically expired keys from reads but keeps them
    (DBSIZE, no expired_keys) until its primary's DEL arrives."""
    with ServerProcess("redpoll", args=["--enable-debug-command", "yes"]) as primary, \
            ServerProcess("redpoll", args=["--replicaof", "127.0.0.1", str(primary.port)]) as replica:
        p, r = primary.client(), replica.client()
        wait_until(lambda: r.info("replication")["master_link_status"] == "up", 15,
                   what="replica link up")
        p.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        try:
            p.set("k", "v", px=200)
            p.set("other", "1")
            wait_until(lambda: r.dbsize() == 2, 10, what="keys replicated")
            wait_until(lambda: r.pttl("k") == -2, 5, what="k logically expired on the replica")
            assert r.get("k") is None and r.exists("k") == 0
            assert r.dbsize() == 2                      # still stored
            assert r.info("stats")["expired_keys"] == 0
            assert p.dbsize() == 2                      # the primary did not look yet
            assert p.get("k") is None                   # primary expires it: DEL propagates
            wait_until(lambda: r.dbsize() == 1, 10, what="DEL from the primary")
            assert p.info("stats")["expired_keys"] == 1
        finally:
            p.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")
