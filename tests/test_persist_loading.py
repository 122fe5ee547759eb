"""Loading a dataset while the server runs: DEBUG RELOAD and DEBUG LOADAOF
answer other clients -LOADING (INFO shows the progress) while a big file
loads, and what a reload does to the data and the function libraries,
compared with real Redis 7.0."""

from __future__ import annotations

import os
import threading
import time

import pytest

from diff import RespConn
from persist_support import ServerProcess, rewrite_and_wait

DEBUG = ["--enable-debug-command", "yes"]


def _info_fields(conn: RespConn) -> dict:
    t, text = conn.call(["INFO", "persistence"])
    assert t == "$", text
    out = {}
    for line in text.decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def _watch_while(port: int, argv: list, timeout: float = 120) -> tuple:
    """Send ``argv`` on one connection; meanwhile PING and INFO on another.
    Returns (reply to argv, the INFO fields that showed loading:1 while PING
    got -LOADING, the -LOADING text)."""
    result = {}

    def run():
        conn = RespConn(port, timeout=timeout)
        try:
            result["reply"] = conn.call(argv)
        finally:
            conn.close()
    t = threading.Thread(target=run)
    probe = RespConn(port, timeout=timeout)
    seen_info: list[dict] = []
    loading_err = None
    t.start()
    deadline = time.monotonic() + timeout
    try:
        while t.is_alive() and time.monotonic() < deadline:
            kind, text = probe.call(["PING"])
            if kind == "-":
                loading_err = text
                info = _info_fields(probe)
                if info["loading"] == "1":      # (the load may just have ended)
                    seen_info.append(info)
    finally:
        t.join(timeout)
        probe.close()
    assert "reply" in result, "the command got no reply in time"
    return result["reply"], seen_info, loading_err


def test_big_debug_reload_answers_loading_to_others():
    """While DEBUG RELOAD parses a big RDB, other clients get -LOADING and
    INFO persistence shows loading:1 with the progress fields; the caller
    gets +OK once the dataset is back."""
    with ServerProcess("redpoll", args=DEBUG) as rp:
        c = rp.client()
        assert c.execute_command("DEBUG", "POPULATE", 1_000_000)
        c.save()
        size = os.path.getsize(os.path.join(rp.dir, "dump.rdb"))
        reply, infos, err = _watch_while(rp.port, ["DEBUG", "RELOAD", "NOSAVE"])
        assert reply == ("+", "OK")
        assert err == "LOADING Redis is loading the dataset in memory"
        assert infos, "no client saw the load"
        for info in infos:
            assert int(info["loading_total_bytes"]) == size
            assert 0 <= int(info["loading_loaded_bytes"]) <= size
            assert 0.0 <= float(info["loading_loaded_perc"]) <= 100.0
            assert int(info["loading_eta_seconds"]) >= 0
            assert int(info["loading_rdb_used_mem"]) >= 0
            assert int(info["loading_start_time"]) > 0
        assert c.dbsize() == 1_000_000
        assert c.get("key:123456") == b"value:123456"
        assert c.info("persistence")["loading"] == 0
        c.close()


def test_big_debug_loadaof_answers_loading_to_others():
    """DEBUG LOADAOF of a big AOF (RDB preamble base + incr) serves other
    clients -LOADING meanwhile, then has every key back."""
    with ServerProcess("redpoll", args=DEBUG + ["--appendonly", "yes"]) as rp:
        c = rp.client()
        assert c.execute_command("DEBUG", "POPULATE", 600_000)
        rewrite_and_wait(c)
        c.set("after", "rewrite")
        reply, infos, err = _watch_while(rp.port, ["DEBUG", "LOADAOF"])
        assert reply == ("+", "OK")
        assert err == "LOADING Redis is loading the dataset in memory"
        assert infos, "no client saw the load"
        assert c.dbsize() == 600_001
        assert c.get("after") == b"rewrite"
        assert "Append Only File loaded by DEBUG LOADAOF" in rp.log_text()
        c.close()


def test_small_debug_reload_pipelined_after_it():
    """A small reload runs at once; the caller's pipelined commands after
    DEBUG RELOAD see the reloaded data (in order), as in Redis."""
    with ServerProcess("redpoll", args=DEBUG) as rp:
        c = rp.client()
        c.set("a", "1")
        p = c.pipeline(transaction=False)
        p.execute_command("DEBUG", "RELOAD")
        p.get("a")
        p.dbsize()
        assert p.execute() == [b"OK", b"1", 1]
        c.close()


LIB1 = ("#!lua name=lib1\n"
        "redis.register_function('f1', function(keys, args) return 1 end)")
LIB2 = ("#!lua name=lib2\n"
        "redis.register_function('f2', function(keys, args) return 2 end)")


def _libs(conn: RespConn) -> list:
    t, items = conn.call(["FUNCTION", "LIST"])
    names = []
    for lib in items:
        fields = lib[1]
        for i in range(0, len(fields), 2):
            if fields[i][1] == b"library_name":
                names.append(fields[i + 1][1])
    return sorted(names)


@pytest.fixture(scope="module")
def reload_pair():
    with ServerProcess("redpoll", args=DEBUG) as rp, \
            ServerProcess("redis", args=DEBUG) as real:
        conns = [RespConn(rp.port), RespConn(real.port)]
        yield conns, (rp, real)
        for conn in conns:
            conn.close()


def _same(conns, argv):
    replies = [conn.call(argv) for conn in conns]
    assert replies[0] == replies[1], (argv, replies)
    return replies[0]


def test_reload_replaces_function_libraries_like_redis(reload_pair):
    """The libraries after DEBUG RELOAD are exactly the file's: one loaded
    after the save is gone; NOFLUSH with a library that exists fails; MERGE
    replaces; MERGE without NOFLUSH still empties first."""
    conns, _ = reload_pair
    for argv in (["FLUSHALL"], ["FUNCTION", "FLUSH"], ["FUNCTION", "LOAD", LIB1],
                 ["SAVE"], ["FUNCTION", "LOAD", LIB2]):
        _same(conns, argv)
    assert _same(conns, ["DEBUG", "RELOAD", "NOSAVE"]) == ("+", "OK")
    assert [_libs(c) for c in conns] == [[b"lib1"]] * 2
    _same(conns, ["FUNCTION", "LOAD", LIB2])
    err = _same(conns, ["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH"])
    assert err == ("-", "ERR Error trying to load the RDB dump")
    assert [_libs(c) for c in conns] == [[b"lib1", b"lib2"]] * 2
    assert _same(conns, ["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]) == ("+", "OK")
    assert [_libs(c) for c in conns] == [[b"lib1", b"lib2"]] * 2
    _same(conns, ["FLUSHALL"])                     # FLUSHALL keeps functions
    assert [_libs(c) for c in conns] == [[b"lib1", b"lib2"]] * 2
    assert _same(conns, ["DEBUG", "RELOAD", "NOSAVE", "MERGE"]) == ("+", "OK")
    assert [_libs(c) for c in conns] == [[b"lib1"]] * 2
    assert _same(conns, ["FCALL", "f1", "0"]) == (":", 1)
    _same(conns, ["FCALL", "f2", "0"])             # both: no such function


def test_reload_of_a_missing_or_corrupt_file_like_redis(reload_pair):
    """The dataset is emptied before loading: a file that is missing or
    corrupt leaves nothing, with the same error."""
    conns, servers = reload_pair
    for garbage in (None, b"garbage"):
        for argv in (["FLUSHALL"], ["SET", "a", "1"], ["SAVE"]):
            _same(conns, argv)
        for srv in servers:
            path = os.path.join(srv.dir, "dump.rdb")
            os.unlink(path)
            if garbage is not None:
                with open(path, "wb") as f:
                    f.write(garbage)
        assert _same(conns, ["DEBUG", "RELOAD", "NOSAVE"]) == (
            "-", "ERR Error trying to load the RDB dump")
        assert _same(conns, ["DBSIZE"]) == (":", 0)
        assert _same(conns, ["PING"]) == ("+", "PONG")
