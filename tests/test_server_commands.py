"""SLOWLOG, MONITOR, DEBUG, MEMORY, LATENCY, SHUTDOWN, TIME, FLUSHDB/FLUSHALL
against real Redis 7.0.15."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from diff import RespConn, start_pair
from support import ServerProcess, wait_until


@pytest.fixture(scope="module")
def dbg_pair():
    p = start_pair(["--enable-debug-command", "yes"])
    yield p
    p.cleanup()


def test_error_replies_match_redis(dbg_pair):
    dbg_pair.check([
        ["SLOWLOG", "GET", "-2"], ["SLOWLOG", "GET", "abc"], ["SLOWLOG", "GET", "1", "2"],
        ["SLOWLOG", "LEN", "x"], ["SLOWLOG", "RESET", "x"], ["SLOWLOG", "HELP"],
        ["SLOWLOG", "FOO"], ["SLOWLOG"],
        ["LATENCY", "HELP"], ["LATENCY", "LATEST"], ["LATENCY", "HISTORY"],
        ["LATENCY", "HISTORY", "foo"], ["LATENCY", "RESET"], ["LATENCY", "DOCTOR"],
        ["LATENCY", "GRAPH", "command"], ["LATENCY", "FOO"],
        ["MEMORY", "HELP"], ["MEMORY", "USAGE"], ["MEMORY", "USAGE", "nokey"],
        ["MEMORY", "DOCTOR", "x"], ["MEMORY", "STATS", "x"], ["MEMORY", "PURGE"],
        ["MEMORY", "FOO"],
        ["SET", "foo", "bar"],
        ["MEMORY", "USAGE", "foo", "SAMPLES"], ["MEMORY", "USAGE", "foo", "SAMPLES", "-1"],
        ["MEMORY", "USAGE", "foo", "bar"], ["MEMORY", "USAGE", "foo", "SAMPLES", "x"],
        ["TIME", "x"], ["FLUSHALL", "foo"], ["FLUSHALL", "ASYNC"], ["FLUSHDB", "SYNC", "x"],
        ["FLUSHDB", "sync"], ["MONITOR", "x"],
        ["SHUTDOWN", "ABORT"], ["SHUTDOWN", "NOSAVE", "SAVE"], ["SHUTDOWN", "ABORT", "NOW"],
        ["SHUTDOWN", "FOO"],
        ["DEBUG", "SLEEP"], ["DEBUG", "SLEEP", "0"], ["DEBUG", "SLEEP", "abc"],
        ["DEBUG", "OBJECT", "nokey"], ["DEBUG", "OBJECT", "foo", "x"],
        ["DEBUG", "ERROR", "my error"], ["DEBUG", "ERROR"], ["DEBUG", "JMAP"],
        ["DEBUG", "LOG", "hello"], ["DEBUG", "CHANGE-REPL-ID"],
        ["DEBUG", "PROTOCOL", "foo"], ["DEBUG", "PROTOCOL", "string"],
        ["DEBUG", "PROTOCOL", "integer"], ["DEBUG", "PROTOCOL", "null"],
        ["DEBUG", "PROTOCOL", "array"], ["DEBUG", "PROTOCOL", "true"],
        ["DEBUG", "POPULATE", "3"], ["DBSIZE"], ["GET", "key:1"],
        ["DEBUG", "POPULATE", "2", "pfx", "10"], ["GET", "pfx:0"],
        ["DEBUG", "FOO"], ["DEBUG"],
    ])



def test_help_of_every_container_matches_redis(dbg_pair):
    """Every container's HELP (one help_reply): the header names the command
    as sent, upper-cased; then the container's lines and HELP's own entry.
    (DEBUG HELP lists only the subcommands redpoll has: not compared.)"""
    dbg_pair.check([[name, "help"] for name in (
        "slowlog", "Latency", "mEmOrY", "module", "client", "object", "pubsub",
        "script", "function", "xgroup", "XINFO", "acl", "config", "command")])

def test_memory_usage_matches_redis(dbg_pair):
    cmds = [["SET", "foo", "bar"], ["SET", "n", "12345"], ["SET", "big", "x" * 100],
            ["SET", "huge", "y" * 10000], ["RPUSH", "l", *"abcdefghij"],
            ["HSET", "h", "f1", "v1", "f2", "v2"], ["SADD", "s", "1", "2", "3"],
            ["SADD", "s2", "a", "b", "c"], ["ZADD", "z", "1", "a", "2", "b"]]
    dbg_pair.check(cmds + [["MEMORY", "USAGE", k] for k in
                           ("foo", "n", "big", "huge", "l", "h", "s", "s2", "z")])


def test_debug_disabled_by_default():
    with start_pair() as pair:
        pair.check([["DEBUG", "SLEEP", "0"], ["DEBUG", "HELP"]])


def test_debug_object_and_sleep(dbg_pair):
    c = redis.Redis(port=dbg_pair.redpoll.port)
    c.set("k", "v")
    line = c.execute_command("DEBUG", "OBJECT", "k")
    assert "encoding:embstr" in str(line) and "lru_seconds_idle:" in str(line)
    t = time.monotonic()
    c.execute_command("DEBUG", "SLEEP", "0.2")
    assert time.monotonic() - t >= 0.19
    c.close()


def _slowlog_entries(port: int):
    c = redis.Redis(port=port)
    c.config_set("slowlog-log-slower-than", "0")
    c.slowlog_reset()
    c.client_setname("slowpoke")
    c.set("a" * 200, "b")
    c.execute_command("RPUSH", "list", *[str(i) for i in range(40)])
    raw = c.execute_command("SLOWLOG", "GET", "-1")
    n = c.slowlog_len()
    c.config_set("slowlog-log-slower-than", "10000")
    c.close()
    return raw, n


def test_slowlog_entries_match_redis(dbg_pair):
    mine, n_mine = _slowlog_entries(dbg_pair.redpoll.port)
    ref, n_ref = _slowlog_entries(dbg_pair.redis.port)
    assert n_mine == n_ref

    def shape(entries):
        out = []
        for e in entries:
            eid, ts, dur, args, addr, name = e
            assert isinstance(eid, int) and abs(ts - time.time()) < 60 and dur >= 0
            assert addr.startswith(b"127.0.0.1:")
            out.append((args, name))
        return out
    assert shape(mine) == shape(ref)
    # ids increase, newest first
    assert [e[0] for e in mine] == sorted((e[0] for e in mine), reverse=True)


def test_slowlog_max_len_and_reset(server):
    c = server.client()
    c.config_set("slowlog-max-len", "3")
    c.config_set("slowlog-log-slower-than", "0")
    for i in range(10):
        c.set(f"k{i}", i)
    assert c.slowlog_len() == 3
    assert c.slowlog_reset()
    assert c.slowlog_len() <= 1        # the CONFIG/RESET themselves may be logged
    c.config_set("slowlog-log-slower-than", "-1")
    c.slowlog_reset()
    c.set("x", 1)
    assert c.slowlog_len() == 0
    c.config_set("slowlog-log-slower-than", "10000")
    c.config_set("slowlog-max-len", "128")
    c.close()


def _monitor_lines(port: int) -> list[bytes]:
    mon = socket.create_connection(("127.0.0.1", port), timeout=5)
    mon.sendall(b"MONITOR\r\n")
    assert mon.recv(100) == b"+OK\r\n"
    c = redis.Redis(port=port, protocol=2)
    c.execute_command("SELECT", "2")
    c.set("key", "va\"l\n")
    c.execute_command("CONFIG", "GET", "maxmemory")      # admin: not shown
    c.execute_command("PING")
    buf = b""

    def done():
        nonlocal buf
        buf += mon.recv(4096)
        return buf.count(b"\r\n") >= 3
    wait_until(done, 5)
    mon.close()
    c.close()
    return buf.split(b"\r\n")[:3]


def test_monitor_format_matches_redis(dbg_pair):
    import re
    pat = re.compile(rb'^\+\d{10}\.\d{6} \[(\d+) 127\.0\.0\.1:\d+\] (.*)$')
    mine = [pat.match(x).groups() for x in _monitor_lines(dbg_pair.redpoll.port)]
    ref = [pat.match(x).groups() for x in _monitor_lines(dbg_pair.redis.port)]
    assert mine == ref



def _monitored_set(port: int, value: bytes) -> bytes:
    """The MONITOR line of SET k <value>, without its timestamp and client."""
    mon = socket.create_connection(("127.0.0.1", port), timeout=5)
    mon.sendall(b"MONITOR\r\n")
    assert mon.recv(100) == b"+OK\r\n"
    c = redis.Redis(port=port, protocol=2)
    c.set("k", value)
    buf = b""

    def done():
        nonlocal buf
        buf += mon.recv(4096)
        return b"\r\n" in buf
    wait_until(done, 5)
    mon.close()
    c.close()
    return buf.split(b"] ", 1)[1].split(b"\r\n")[0]


def test_monitor_quotes_every_byte_as_redis(dbg_pair):
    """sdscatrepr of all 256 byte values (escapes, printable, \\xHH)."""
    value = bytes(range(256))
    assert (_monitored_set(dbg_pair.redpoll.port, value)
            == _monitored_set(dbg_pair.redis.port, value))

def _latency_events(port: int):
    c = redis.Redis(port=port)
    c.config_set("latency-monitor-threshold", "50")
    c.execute_command("LATENCY", "RESET")
    c.execute_command("DEBUG", "SLEEP", "0.12")
    latest = c.execute_command("LATENCY", "LATEST")
    history = c.execute_command("LATENCY", "HISTORY", "command")
    doctor = c.execute_command("LATENCY", "DOCTOR")
    c.config_set("latency-monitor-threshold", "0")
    c.close()
    return latest, history, doctor


def test_latency_monitor_matches_redis(dbg_pair):
    for port in (dbg_pair.redpoll.port, dbg_pair.redis.port):
        latest, history, doctor = _latency_events(port)
        assert [e[0] for e in latest] == [b"command"], latest
        event, ts, last_ms, max_ms = latest[0]
        assert abs(ts - time.time()) < 30 and 110 <= last_ms <= max_ms
        assert len(history) == 1 and history[0][1] == last_ms
        assert b"latency spikes" in doctor or "latency spikes" in str(doctor)


def test_latency_histogram_and_latencystats(server):
    c = server.client()
    c.execute_command("LATENCY", "HISTOGRAM")     # starts recording
    for i in range(20):
        c.set("h", i)
    conn = RespConn(server.port)
    kind, hist = conn.call(["LATENCY", "HISTOGRAM", "set"])
    conn.close()
    assert kind == "*" and hist[0] == ("$", b"set")
    body = hist[1][1]
    assert body[0] == ("$", b"calls") and body[1][1] >= 20
    assert body[2] == ("$", b"histogram_usec")
    stats = c.info("latencystats")
    assert "latency_percentiles_usec_set" in stats
    assert set(stats["latency_percentiles_usec_set"]) == {"p50", "p99", "p99.9"}
    c.close()


def test_time(server):
    c = server.client()
    secs, usecs = c.time()
    assert abs(secs - time.time()) < 5 and 0 <= usecs < 1_000_000
    c.close()


def test_shutdown_nosave_and_abort(tmp_path):
    srv = ServerProcess("redpoll").start()
    try:
        c = srv.client()
        with pytest.raises(redis.ResponseError, match="No shutdown in progress"):
            c.execute_command("SHUTDOWN", "ABORT")
        with pytest.raises(redis.ConnectionError):
            c.execute_command("SHUTDOWN", "NOSAVE")
        assert srv.proc.wait(10) == 0
    finally:
        srv.cleanup()


def test_shutdown_save_writes_rdb():
    srv = ServerProcess("redpoll").start()
    try:
        c = srv.client()
        c.set("persist-me", "1")
        with pytest.raises(redis.ConnectionError):
            c.execute_command("SHUTDOWN", "SAVE")
        assert srv.proc.wait(10) == 0
        import os
        assert os.path.exists(os.path.join(srv.dir, "dump.rdb"))
    finally:
        srv.cleanup()


def test_raw_monitor_sees_lua_and_redacts_auth(server):
    conn = RespConn(server.port)
    assert conn.call(["MONITOR"]) == ("+", "OK")
    c = server.client()
    try:
        c.execute_command("AUTH", "secret")
    except redis.RedisError:
        pass
    c.set("after", "auth")
    conn.sock.settimeout(5)
    buf = b""

    def got():
        nonlocal buf
        buf += conn.sock.recv(4096)
        return b'"after"' in buf
    wait_until(got, 5)
    assert b'"AUTH" "(redacted)"' in buf or b'"auth" "(redacted)"' in buf
    conn.close()
    c.close()


def _fake_replica(port: int) -> socket.socket:
    """A replica that syncs but never acknowledges the stream."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"REPLCONF listening-port 1\r\n")
    buf = b""
    while b"+OK\r\n" not in buf:
        buf += s.recv(100)
    s.sendall(b"PSYNC ? -1\r\n")
    buf = b""
    while b"+FULLRESYNC" not in buf:
        buf += s.recv(65536)
    return s


def test_shutdown_waits_for_lagging_replica_and_abort():
    srv = ServerProcess("redpoll", args=["--shutdown-timeout", "30"]).start()
    try:
        rep = _fake_replica(srv.port)
        a = srv.client()
        a.set("k", "v")
        blocked = RespConn(srv.port, timeout=30)
        blocked.sock.sendall(b"SHUTDOWN\r\n")
        wait_until(lambda: "Waiting for replicas before shutting down." in srv.log_text(), 20)
        assert srv.proc.poll() is None
        assert a.execute_command("SHUTDOWN", "ABORT") in (b"OK", "OK", True)
        assert blocked.reader.read() == ("-", "ERR Errors trying to SHUTDOWN. Check logs.")
        assert a.ping()
        # NOW skips the wait
        with pytest.raises(redis.ConnectionError):
            a.execute_command("SHUTDOWN", "NOW", "NOSAVE")
        assert srv.proc.wait(20) == 0
        rep.close()
        blocked.close()
    finally:
        srv.cleanup()


def test_shutdown_lets_replica_catch_up():
    primary = ServerProcess("redpoll").start()
    replica = ServerProcess("redpoll", args=["--replicaof", "127.0.0.1",
                                             str(primary.port)]).start()
    try:
        p, r = primary.client(), replica.client()
        wait_until(lambda: r.info("replication")["master_link_status"] == "up", 30)
        pipe = p.pipeline(transaction=False)
        for i in range(2000):
            pipe.set(f"k{i}", i)
        pipe.execute()
        with pytest.raises(redis.ConnectionError):
            p.execute_command("SHUTDOWN", "NOSAVE")
        assert primary.proc.wait(30) == 0
        assert r.dbsize() == 2000
        log = primary.log_text()
        assert "Waiting for replicas before shutting down." in log
        assert "Lagging replica" not in log
        r.close()
    finally:
        replica.cleanup()
        primary.cleanup()


def test_debug_change_repl_id(dbg_pair):
    c = redis.Redis(port=dbg_pair.redpoll.port)
    before = c.info("replication")["master_replid"]
    assert c.execute_command("DEBUG", "CHANGE-REPL-ID")
    info = c.info("replication")
    assert info["master_replid"] != before and int(info["master_replid2"]) == 0
    c.close()
