"""Persistence options compared with real Redis 7.0: incremental fsync of
RDB saves and AOF rewrites (the syscalls, seen with strace),
``sanitize-dump-payload`` (INFO's dump_payload_sanitizations), MISCONF
inside MULTI/EXEC, and appendfsync everysec's postponed writes while the
disk is busy (aof_delayed_fsync)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import time

import pytest

from diff import RespConn
from persist_support import ServerProcess, rewrite_and_wait, save_and_wait
from support import wait_until

DEBUG = ["--enable-debug-command", "yes"]


# -- incremental fsync -----------------------------------------------------------

def _sync_calls(pid: int, action) -> list[str]:
    """The sync_file_range/fsync/fdatasync calls ``pid`` and its children
    make while ``action()`` runs (strace attached for the duration)."""
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), f".strace-{pid}.txt")
    tracer = subprocess.Popen(
        ["strace", "-f", "-e", "trace=sync_file_range,fsync,fdatasync", "-o", out,
         "-p", str(pid)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([tracer.stderr], [], [], 20)
        assert ready, "strace did not attach"
        assert b"attached" in tracer.stderr.readline()
        action()
    finally:
        tracer.terminate()
        tracer.wait(20)
    try:
        with open(out) as f:
            return [line for line in f if "(" in line and "---" not in line]
    finally:
        os.unlink(out)


def _ranges_started(calls: list[str]) -> list[tuple[int, int]]:
    return [(int(m.group(1)), int(m.group(2))) for m in
            (re.search(r"sync_file_range\(\d+, (\d+), (\d+), SYNC_FILE_RANGE_WRITE\)", c)
             for c in calls) if m]


@pytest.mark.parametrize("what", ["rdb", "aof"])
def test_incremental_fsync_like_redis(what):
    """With rdb-save-incremental-fsync / aof-rewrite-incremental-fsync yes
    the child starts the write-out of every 4 MB and waits for the previous
    4 MB (sync_file_range), as Redis 7.0; with no it only fsyncs at the end."""
    option = ("rdb-save-incremental-fsync" if what == "rdb"
              else "aof-rewrite-incremental-fsync")
    extra = ["--appendonly", "yes"] if what == "aof" else []
    seen = {}
    for kind in ("redpoll", "redis"):
        with ServerProcess(kind, args=DEBUG + extra) as srv:
            c = srv.client()
            assert c.execute_command("DEBUG", "POPULATE", 700_000)
            for value in ("yes", "no"):
                c.config_set(option, value)
                calls = _sync_calls(srv.proc.pid, (lambda: save_and_wait(c)) if what == "rdb"
                                    else (lambda: rewrite_and_wait(c)))
                seen[(kind, value)] = calls
            c.close()
    for kind in ("redpoll", "redis"):
        on, off = seen[(kind, "yes")], seen[(kind, "no")]
        started = _ranges_started(on)
        assert len(started) >= 3, (kind, on)
        assert started[0][0] == 0
        assert all(length >= 4 * 1024 * 1024 for _, length in started), (kind, on)
        assert all(b[0] == a[0] + a[1] for a, b in zip(started, started[1:])), (kind, on)
        assert any("SYNC_FILE_RANGE_WAIT_BEFORE|SYNC_FILE_RANGE_WRITE|"
                   "SYNC_FILE_RANGE_WAIT_AFTER" in line for line in on), (kind, on)
        assert not any("sync_file_range" in line for line in off), (kind, off)
        assert any(re.search(r"\bf(data)?sync\(", line) for line in off), (kind, off)


# -- sanitize-dump-payload -----------------------------------------------------------

def _sanitizations(conn: RespConn) -> int:
    t, text = conn.call(["INFO", "stats"])
    return int(re.search(rb"dump_payload_sanitizations:(\d+)", text).group(1))


SANITIZE_KEYS = [
    ["RPUSH", "l", "a", "b", "c"],
    ["HSET", "h", "f", "v"],
    ["SADD", "si", "1", "2", "3"],
    ["SADD", "ss", "a", "b"],
    ["ZADD", "z", "1", "a"],
    ["SET", "s", "v"],
    ["XADD", "x", "1-1", "a", "1"],
    ["XADD", "x", "1-2", "a", "2"],
    ["RPUSH", "big", *[str(i) for i in range(300)]],
    ["RPUSH", "nodes", *[f"{i:03d}" * 70 for i in range(100)]],   # 3 listpack nodes
]
KEYS = ["l", "h", "si", "ss", "z", "s", "x", "big", "nodes"]


def _restore_counts(conn: RespConn) -> list[int]:
    """dump_payload_sanitizations added by RESTORE of each key's DUMP."""
    out = []
    for k in KEYS:
        t, payload = conn.call(["DUMP", k])
        before = _sanitizations(conn)
        assert conn.call(["RESTORE", k + ":copy", "0", payload, "REPLACE"]) == ("+", "OK")
        out.append(_sanitizations(conn) - before)
    return out


def test_sanitize_dump_payload_counts_like_redis():
    """yes: every compact blob of a RESTORE and of a loaded RDB is counted;
    clients: RESTORE only, and not for a user with skip-sanitize-payload;
    no: nothing."""
    results = {}
    for kind in ("redpoll", "redis"):
        with ServerProcess(kind, args=DEBUG) as srv:
            conn = RespConn(srv.port)
            for argv in SANITIZE_KEYS:
                assert conn.call(argv)[0] != "-", argv
            got = {}
            for mode in ("no", "yes", "clients"):
                assert conn.call(["CONFIG", "SET", "sanitize-dump-payload", mode]) == ("+", "OK")
                got[mode] = _restore_counts(conn)
                before = _sanitizations(conn)
                assert conn.call(["DEBUG", "RELOAD"]) == ("+", "OK")
                got[mode + ":reload"] = _sanitizations(conn) - before
            assert conn.call(["ACL", "SETUSER", "raw", "on", "nopass", "+@all", "~*",
                              "skip-sanitize-payload"]) == ("+", "OK")
            assert conn.call(["AUTH", "raw", "x"]) == ("+", "OK")
            got["clients:skip"] = _restore_counts(conn)
            conn.close()
            results[kind] = got
    assert results["redpoll"] == results["redis"], repr(results)
    assert sum(results["redis"]["yes"]) > 0 and results["redis"]["yes:reload"] > 0


def test_restore_of_a_corrupt_listpack_is_refused_in_every_mode():
    """A payload with a valid CRC but a broken listpack inside: Redis
    refuses it with sanitize-dump-payload yes; redpoll always checks it
    fully, so it is refused in every mode, never loaded half-broken."""
    with ServerProcess("redpoll") as srv, ServerProcess("redis") as real:
        conns = [RespConn(srv.port), RespConn(real.port)]
        from redpoll.persistence.crc64 import crc64
        for conn in conns:
            conn.call(["HSET", "h", "field", "value"])
        t, payload = conns[1].call(["DUMP", "h"])
        body = bytearray(payload[:-8])
        body[6] = 4                      # the listpack's entry count: 4, not 2
        bad = bytes(body) + crc64(bytes(body)).to_bytes(8, "little")
        conns[1].call(["CONFIG", "SET", "sanitize-dump-payload", "yes"])
        assert conns[1].call(["RESTORE", "h2", "0", bad]) == ("-", "ERR Bad data format")
        for mode in ("no", "yes", "clients"):
            conns[0].call(["CONFIG", "SET", "sanitize-dump-payload", mode])
            assert conns[0].call(["RESTORE", "h2", "0", bad]) == ("-", "ERR Bad data format")
            assert conns[0].call(["EXISTS", "h2"]) == (":", 0)
        for conn in conns:
            conn.close()


# -- MISCONF in MULTI ----------------------------------------------------------------

def _fail_bgsave(srv, conn: RespConn) -> None:
    bad = os.path.join(srv.dir, "gone")
    os.mkdir(bad)
    assert conn.call(["CONFIG", "SET", "dir", bad]) == ("+", "OK")
    os.rmdir(bad)
    conn.call(["BGSAVE"])

    def failed():
        t, text = conn.call(["INFO", "persistence"])
        return b"rdb_bgsave_in_progress:0" in text and b"rdb_last_bgsave_status:err" in text
    wait_until(failed, 20, what="the BGSAVE to fail")


def _misconf_session(srv) -> list:
    a, b = RespConn(srv.port), RespConn(srv.port)
    out = [a.call(["SET", "k", "v"]), a.call(["MULTI"]), a.call(["SET", "q", "1"])]
    _fail_bgsave(srv, b)
    out.append(a.call(["EXEC"]))        # a queued write, error since: EXECABORT
    for argv in (["MULTI"], ["SET", "x", "1"], ["PING"], ["GET", "k"], ["EXEC"],
                 ["MULTI"], ["GET", "k"], ["EXEC"],
                 ["SET", "y", "1"], ["GET", "q"], ["GET", "x"]):
        out.append(a.call(argv))
    a.close()
    b.close()
    return out


def test_misconf_inside_multi_like_redis():
    """MISCONF is checked before a command is queued (the EXEC then
    aborts), an EXEC whose queue holds a write is refused, a read-only
    transaction still runs."""
    args = ["--save", "3600 1", "--enable-protected-configs", "yes"]
    with ServerProcess("redpoll", args=args) as rp, ServerProcess("redis", args=args) as real:
        ours, theirs = _misconf_session(rp), _misconf_session(real)
    assert ours == theirs
    assert theirs[3][0] == "-" and theirs[3][1].startswith(
        "EXECABORT Transaction discarded because of: MISCONF")
    assert theirs[5][1].startswith("MISCONF")


# -- appendfsync everysec on a busy disk ---------------------------------------------

def test_everysec_postpones_writes_while_fsync_is_slow():
    """While the background fsync is stuck (DEBUG AOF-FSYNC-STALL simulates
    a busy disk) a write waits in the buffer, up to 2 seconds, then is
    written anyway: aof_delayed_fsync counts it and Redis's line is logged."""
    with ServerProcess("redpoll", args=DEBUG + ["--appendonly", "yes",
                                                "--appendfsync", "everysec"]) as rp:
        c = rp.client()
        info = c.info("persistence")
        assert info["aof_delayed_fsync"] == 0
        c.execute_command("DEBUG", "AOF-FSYNC-STALL", 4000)
        c.set("first", "1")             # leaves data to fsync: the stall starts
        wait_until(lambda: c.info("persistence")["aof_pending_bio_fsync"] == 1, 5,
                   what="the background fsync")
        incr = os.path.join(rp.dir, "appendonlydir", "appendonly.aof.1.incr.aof")
        size = os.path.getsize(incr)
        t0 = time.monotonic()
        c.set("second", "2")            # acknowledged, its write postponed
        assert os.path.getsize(incr) == size
        assert c.info("persistence")["aof_buffer_length"] > 0
        wait_until(lambda: os.path.getsize(incr) > size, 10, what="the delayed write")
        assert time.monotonic() - t0 >= 1.5
        assert c.info("persistence")["aof_delayed_fsync"] == 1
        assert ("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the "
                "AOF buffer without waiting for fsync to complete, this may slow down "
                "Redis.") in rp.log_text()
        c.execute_command("DEBUG", "AOF-FSYNC-STALL", 0)
        wait_until(lambda: c.info("persistence")["aof_pending_bio_fsync"] == 0, 10,
                   what="the fsync to end")
        c.set("third", "3")
        assert c.info("persistence")["aof_delayed_fsync"] == 1
        c.close()
        rp.stop()
        rp.start()
        c = rp.client()
        assert c.mget("first", "second", "third") == [b"1", b"2", b"3"]
        c.close()
