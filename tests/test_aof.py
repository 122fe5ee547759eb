"""The multi-part AOF: same layout and manifest as Redis 7.0, interoperability
with real Redis and redis-check-aof both ways, rewrites that keep accepting
writes, runtime enabling, truncated/corrupt files, timestamps."""

from __future__ import annotations

import glob
import os
import re
import shutil

import pytest

from persist_support import (
    ServerProcess, build_dataset, check_aof, check_rdb, dataset, rewrite_and_wait,
    start_with_files, timeless, watch_loading)
from support import wait_until

AOF_ARGS = ["--appendonly", "yes", "--appendfilename", "redis-staging-ao.aof"]


def _aofdir(s: ServerProcess) -> str:
    return os.path.join(s.dir, "appendonlydir")


def _manifest(s: ServerProcess) -> str:
    return os.path.join(_aofdir(s), "redis-staging-ao.aof.manifest")


def _files(s: ServerProcess) -> list[str]:
    return sorted(os.listdir(_aofdir(s)))


def _incr(s: ServerProcess) -> bytes:
    [path] = glob.glob(os.path.join(_aofdir(s), "*.incr.aof"))
    return open(path, "rb").read()


def _norm_times(b: bytes) -> bytes:
    return re.sub(rb"\$13\r\n\d{13}\r\n", b"$13\r\nTIME\r\n", b)


def _feed(c) -> None:
    c.set("a", "b")
    c.set("c", "d", ex=100)
    c.execute_command("SELECT", 2)
    c.incr("x")
    c.execute_command("SELECT", 0)
    c.expire("a", 1000)
    c.rpush("l", "1", "2", "3")
    c.delete("l")


def test_layout_and_manifest_like_redis():
    with ServerProcess("redpoll", args=AOF_ARGS) as rp, \
            ServerProcess("redis", args=AOF_ARGS) as real:
        c, rc = rp.client(single_connection_client=True), \
            real.client(single_connection_client=True)
        _feed(c)
        _feed(rc)
        wait_until(lambda: _norm_times(_incr(rp)) == _norm_times(_incr(real)), 5,
                   what="same incr file content")
        assert _files(rp) == _files(real) == [
            "redis-staging-ao.aof.1.base.rdb", "redis-staging-ao.aof.1.incr.aof",
            "redis-staging-ao.aof.manifest"]
        assert open(_manifest(rp)).read() == open(_manifest(real)).read() == (
            "file redis-staging-ao.aof.1.base.rdb seq 1 type b\n"
            "file redis-staging-ao.aof.1.incr.aof seq 1 type i\n")
        assert "Creating AOF base file redis-staging-ao.aof.1.base.rdb on server start" \
            in rp.log_text()
        # after a rewrite: seq 2, history removed, same names as Redis
        rewrite_and_wait(c)
        rewrite_and_wait(rc)
        wait_until(lambda: _files(rp) == _files(real), 5)
        assert _files(rp) == ["redis-staging-ao.aof.2.base.rdb",
                              "redis-staging-ao.aof.2.incr.aof",
                              "redis-staging-ao.aof.manifest"]
        assert open(_manifest(rp)).read() == open(_manifest(real)).read()
        log = rp.log_text()
        for line in ("Creating AOF incr file redis-staging-ao.aof.2.incr.aof on "
                     "background rewrite",
                     "Background AOF rewrite terminated with success",
                     "Removing the history file redis-staging-ao.aof.1.incr.aof in the "
                     "background",
                     "Background AOF rewrite finished successfully"):
            assert line in log
        assert re.search(r"Successfully renamed the temporary AOF base file "
                         r"temp-rewriteaof-bg-\d+\.aof into "
                         r"redis-staging-ao\.aof\.2\.base\.rdb", log)
        info = c.info("persistence")
        assert info["aof_enabled"] == 1 and info["aof_rewrites"] == 1
        for f in ("aof_current_size", "aof_base_size", "aof_pending_rewrite",
                  "aof_buffer_length", "aof_pending_bio_fsync", "aof_delayed_fsync"):
            assert f in info
        c.close()
        rc.close()


def _redpoll_aof_to_real(extra_args, tmp_path, rewrite: bool):
    with ServerProcess("redpoll", args=AOF_ARGS + extra_args) as rp:
        c = rp.client()
        build_dataset(c, streams=True)
        if rewrite:
            rewrite_and_wait(c)
            c.set("after-rewrite", "yes")
            c.rpush("l:many", "tail")
        c.save()
        c.close()
        rp.stop()
        check_aof(_manifest(rp))
        expected_rdb = os.path.join(rp.dir, "dump.rdb")
        shutil.copy(expected_rdb, tmp_path / "dump.rdb")
        shutil.copytree(_aofdir(rp), tmp_path / "appendonlydir")
    # the reference contents: redpoll's own RDB, read by real Redis
    with start_with_files("redis", {"dump.rdb": str(tmp_path / "dump.rdb")}) as ref:
        expected = dataset(ref.client())
    with start_with_files("redis", {"appendonlydir": str(tmp_path / "appendonlydir")},
                          args=AOF_ARGS) as real:
        assert timeless(dataset(real.client())) == timeless(expected)
    return expected


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_redpoll_aof_loads_in_real_redis(tmp_path, preamble):
    expected = _redpoll_aof_to_real(["--aof-use-rdb-preamble", preamble], tmp_path,
                                    rewrite=True)
    assert expected[(0, b"after-rewrite")][1] == b"yes"
    ext = "rdb" if preamble == "yes" else "aof"
    assert os.path.exists(tmp_path / "appendonlydir" / f"redis-staging-ao.aof.2.base.{ext}")


def test_redpoll_incr_only_aof_loads_in_real_redis(tmp_path):
    _redpoll_aof_to_real([], tmp_path, rewrite=False)


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_real_aof_loads_in_redpoll(tmp_path, preamble):
    args = AOF_ARGS + ["--aof-use-rdb-preamble", preamble]
    with ServerProcess("redis", args=args) as real:
        rc = real.client()
        build_dataset(rc, streams=True)
        rewrite_and_wait(rc)
        rc.set("after", "rewrite")
        rc.hset("h:small", "added", "later")
        expected = dataset(rc)
        rc.close()
        real.stop()
        shutil.copytree(_aofdir(real), tmp_path / "appendonlydir")
    with start_with_files("redpoll", {"appendonlydir": str(tmp_path / "appendonlydir")},
                          args=args) as rp:
        c = rp.client()
        log = rp.log_text()
        assert "DB loaded from base file redis-staging-ao.aof.2.base." in log
        assert "DB loaded from incr file redis-staging-ao.aof.2.incr.aof" in log
        assert re.search(r"DB loaded from append only file: \d+\.\d{3} seconds", log)
        # compare everything through redpoll's RDB, read back by real Redis
        c.save()
        shutil.copy(os.path.join(rp.dir, "dump.rdb"), tmp_path / "dump.rdb")
        c.close()
    check_rdb(str(tmp_path / "dump.rdb"))
    with start_with_files("redis", {"dump.rdb": str(tmp_path / "dump.rdb")}) as ref:
        assert timeless(dataset(ref.client())) == timeless(expected)


def test_writes_during_rewrite_are_kept(tmp_path):
    with ServerProcess("redpoll", args=AOF_ARGS) as rp:
        c = rp.client()
        p = c.pipeline(transaction=False)
        for i in range(100000):
            p.set(f"k{i}", i)
        p.execute()
        n = c.info("persistence")["aof_rewrites"]
        c.bgrewriteaof()
        written = 0
        while c.info("persistence")["aof_rewrite_in_progress"] and written < 20000:
            c.set(f"during{written}", written)
            written += 1
        wait_until(lambda: c.info("persistence")["aof_rewrites"] > n, 60)
        c.set("after", 1)
        assert written > 0
        rp.kill()                                   # no shutdown fsync
        rp.start()
        c = rp.client()
        assert c.dbsize() == 100000 + written + 1
        assert c.get(f"during{written - 1}") == str(written - 1).encode()
        c.close()


def test_auto_rewrite():
    with ServerProcess("redpoll", args=AOF_ARGS + [
            "--auto-aof-rewrite-min-size", "100kb",
            "--auto-aof-rewrite-percentage", "50"]) as rp:
        c = rp.client()
        for i in range(3000):
            c.set(f"key{i}", "x" * 50)
        wait_until(lambda: c.info("persistence")["aof_rewrites"] >= 1, 20,
                   what="automatic rewrite")
        assert re.search(r"Starting automatic rewriting of AOF on \d+% growth",
                         rp.log_text())
        c.close()


def test_config_set_appendonly_builds_aof_from_dataset():
    with ServerProcess("redpoll", args=["--appendfilename", "redis-staging-ao.aof"]) as rp:
        c = rp.client()
        c.set("before", "1")
        c.rpush("list", "a", "b")
        assert c.info("persistence")["aof_enabled"] == 0
        assert c.config_set("appendonly", "yes")
        wait_until(lambda: c.info("persistence")["aof_rewrites"] == 1, 20)
        c.set("after", "2")
        wait_until(lambda: b"after" in _incr(rp), 5)
        assert _files(rp) == ["redis-staging-ao.aof.1.base.rdb",
                              "redis-staging-ao.aof.1.incr.aof",
                              "redis-staging-ao.aof.manifest"]
        c.close()
        rp.kill()
        rp.args += ["--appendonly", "yes"]
        rp.start()
        c = rp.client()
        assert c.get("before") == b"1" and c.get("after") == b"2"
        assert c.lrange("list", 0, -1) == [b"a", b"b"]
        # and off again: the AOF is closed, writes no longer reach it
        size = len(_incr(rp))
        assert c.config_set("appendonly", "no")
        c.set("not-in-aof", 1)
        assert len(_incr(rp)) == size
        assert c.info("persistence")["aof_enabled"] == 0
        c.close()


def _append_to_incr(s: ServerProcess, data: bytes) -> str:
    [path] = glob.glob(os.path.join(_aofdir(s), "*.incr.aof"))
    with open(path, "ab") as f:
        f.write(data)
    return path


def test_truncated_last_command(tmp_path):
    with ServerProcess("redpoll", args=AOF_ARGS) as rp:
        c = rp.client()
        c.set("a", "1")
        c.set("b", "2")
        c.close()
        rp.stop()
        path = _append_to_incr(rp, b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$2\r\n3")
        good = os.path.getsize(path) - len(b"*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$2\r\n3")
        # aof-load-truncated no: refused, with Redis's message
        rp.args += ["--aof-load-truncated", "no"]
        rp.start(wait=False)
        assert rp.proc.wait(30) == 1
        assert "Unexpected end of file reading the append only file " \
               "redis-staging-ao.aof.1.incr.aof" in rp.log_text()
        # aof-load-truncated yes (the default): the torn command is dropped
        rp.args = AOF_ARGS
        rp.start()
        c = rp.client()
        assert c.get("a") == b"1" and c.get("b") == b"2" and c.get("c") is None
        log = rp.log_text()
        assert "!!! Warning: short read while loading the AOF file " \
               "redis-staging-ao.aof.1.incr.aof!!!" in log
        assert f"!!! Truncating the AOF redis-staging-ao.aof.1.incr.aof at offset {good} !!!" \
            in log
        assert "AOF redis-staging-ao.aof.1.incr.aof loaded anyway because " \
               "aof-load-truncated is enabled" in log
        c.set("d", "4")
        c.close()
        rp.stop()
        check_aof(_manifest(rp))


def test_truncated_file_same_as_real_redis(tmp_path):
    """Real Redis and redpoll keep the same keys from the same torn AOF."""
    with ServerProcess("redis", args=AOF_ARGS) as real:
        rc = real.client()
        for i in range(50):
            rc.set(f"k{i}", i)
        rc.close()
        real.stop()
        _append_to_incr(real, b"*2\r\n$3\r\nDEL\r\n$2\r\nk1")
        shutil.copytree(_aofdir(real), tmp_path / "appendonlydir")
        real.start()
        expected = dataset(real.client())
    with start_with_files("redpoll", {"appendonlydir": str(tmp_path / "appendonlydir")},
                          args=AOF_ARGS) as rp:
        c = rp.client()
        assert c.dbsize() == len(expected) == 50
        c.close()


def test_bad_format_and_unknown_command_refused():
    with ServerProcess("redpoll", args=AOF_ARGS) as rp:
        rp.client().set("a", "1")
        rp.stop()
        path = _append_to_incr(rp, b"garbage\r\n*1\r\n$4\r\nPING\r\n")
        rp.start(wait=False)
        assert rp.proc.wait(30) == 1
        assert "Bad file format reading the append only file " \
               "redis-staging-ao.aof.1.incr.aof: make a backup of your AOF file, then " \
               "use ./redis-check-aof --fix <filename.manifest>" in rp.log_text()
        data = open(path, "rb").read().replace(b"garbage\r\n", b"")
        data = data.replace(b"PING", b"NOPE")
        open(path, "wb").write(data)
        rp.start(wait=False)
        assert rp.proc.wait(30) == 1
        assert "Unknown command 'NOPE' reading the append only file " \
               "redis-staging-ao.aof.1.incr.aof" in rp.log_text()


def test_incomplete_multi_is_reverted():
    with ServerProcess("redpoll", args=AOF_ARGS) as rp:
        rp.client().set("a", "1")
        rp.stop()
        _append_to_incr(rp, b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")
        rp.start()
        c = rp.client()
        assert c.get("a") == b"1" and c.get("b") is None
        assert "Revert incomplete MULTI/EXEC transaction in AOF file " \
               "redis-staging-ao.aof.1.incr.aof" in rp.log_text()
        c.close()


def test_timestamp_annotations(tmp_path):
    args = AOF_ARGS + ["--aof-timestamp-enabled", "yes"]
    with ServerProcess("redpoll", args=args) as rp:
        c = rp.client()
        c.set("a", "1")
        c.set("b", "2")
        wait_until(lambda: b"$1\r\nb\r\n" in _incr(rp), 5)
        assert re.match(rb"#TS:\d{10}\r\n\*2\r\n\$6\r\nSELECT", _incr(rp))
        c.close()
        rp.stop()
        check_aof(_manifest(rp))
        shutil.copytree(_aofdir(rp), tmp_path / "appendonlydir")
        rp.start()
        assert rp.client().mget("a", "b") == [b"1", b"2"]
    with start_with_files("redis", {"appendonlydir": str(tmp_path / "appendonlydir")},
                          args=args) as real:
        assert real.client().mget("a", "b") == [b"1", b"2"]


def test_appendfsync_policies_all_persist():
    for policy in ("always", "everysec", "no"):
        with ServerProcess("redpoll", args=AOF_ARGS + ["--appendfsync", policy]) as rp:
            c = rp.client()
            for i in range(200):
                c.set(f"k{i}", i)
            assert c.config_get("appendfsync") == {"appendfsync": policy}
            c.close()
            rp.kill()
            rp.start()
            assert rp.client().dbsize() == 200


def test_old_single_file_aof_is_upgraded(tmp_path):
    """A Redis 6-style appendonly.aof in dir is loaded and moved into the
    AOF directory as its base."""
    s = ServerProcess("redpoll", args=["--appendonly", "yes"])
    with open(os.path.join(s.dir, "appendonly.aof"), "wb") as f:
        f.write(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$3\r\nyes\r\n")
    with s:
        assert s.client().get("old") == b"yes"
        assert open(os.path.join(s.dir, "appendonlydir", "appendonly.aof.manifest")).read() \
            == "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
        log = s.log_text()
        assert "Successfully migrated an old-style AOF file (appendonly.aof) into the AOF " \
               "directory (appendonlydir)." in log
        assert "DB loaded from base file appendonly.aof: " in log
        assert "Creating AOF incr file appendonly.aof.1.incr.aof on server start" in log


def test_bgrewriteaof_with_appendonly_off_like_redis():
    """With appendonly no, BGREWRITEAOF writes a base file and a manifest
    without incr files, as Redis 7.0 does."""
    with ServerProcess("redpoll") as rp, ServerProcess("redis") as real:
        for s in (rp, real):
            c = s.client()
            c.set("a", "1")
            rewrite_and_wait(c)
            rewrite_and_wait(c)
            c.close()
        assert os.listdir(_aofdir(rp)) and sorted(os.listdir(_aofdir(rp))) == \
            sorted(os.listdir(_aofdir(real))) == ["appendonly.aof.2.base.rdb",
                                                  "appendonly.aof.manifest"]
        assert open(os.path.join(_aofdir(rp), "appendonly.aof.manifest")).read() == \
            "file appendonly.aof.2.base.rdb seq 2 type b\n"


def test_clients_get_loading_while_the_aof_loads():
    with ServerProcess("redpoll", args=AOF_ARGS) as rp:
        c = rp.client()
        p = c.pipeline(transaction=False)
        for i in range(300000):
            p.set(f"k{i}", i)
        p.execute()
        c.close()
        rp.stop()
        rp.start(wait=False)
        assert watch_loading(rp.port) == (True, True)
        assert rp.client().dbsize() == 300000


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_functions_survive_aof_rewrite(preamble, tmp_path):
    lib = ("#!lua name=mylib\n"
           "redis.register_function('myfunc', function(keys, args) return args[1] end)")
    args = AOF_ARGS + ["--aof-use-rdb-preamble", preamble]
    with ServerProcess("redpoll", args=args) as rp:
        c = rp.client()
        c.function_load(lib)
        rewrite_and_wait(c)
        c.close()
        rp.kill()
        shutil.copytree(_aofdir(rp), tmp_path / "appendonlydir")
        rp.start()
        assert rp.client().fcall("myfunc", 0, "a") == b"a"
    with start_with_files("redis", {"appendonlydir": str(tmp_path / "appendonlydir")},
                          args=args) as real:
        assert real.client().fcall("myfunc", 0, "b") == b"b"


def test_publish_is_not_written_to_the_aof_like_redis():
    """Redis propagates PUBLISH to replicas only: its AOF never holds it."""
    with ServerProcess("redpoll", args=AOF_ARGS) as rp, \
            ServerProcess("redis", args=AOF_ARGS) as real:
        for s in (rp, real):
            c = s.client(single_connection_client=True)
            c.publish("news", "hello")
            c.set("k", "v")
            c.execute_command("MULTI")
            c.execute_command("PUBLISH", "news", "again")
            c.execute_command("SET", "k2", "v2")
            c.execute_command("EXEC")
            wait_until(lambda: b"k2" in _incr(s), 10, what="AOF written")
        ours, theirs = _incr(rp), _incr(real)
        assert b"PUBLISH" not in ours.upper() and b"PUBLISH" not in theirs.upper()
        assert b"$1\r\nk\r\n" in ours and b"$2\r\nk2\r\n" in ours


def _resp(*argv) -> bytes:
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


def test_nothing_expires_while_the_aof_loads_like_redis():
    """A key whose absolute expiry has passed is not expired while the AOF
    replays (later commands see it, as when they were written), then is
    gone once loaded, as in Redis; it is not recreated without a TTL."""
    incr = (_resp("SELECT", 0) + _resp("SET", "k", "v", "PXAT", 1000)
            + _resp("APPEND", "k", "x") + _resp("INCR", "n")
            + _resp("PEXPIREAT", "n", 1000) + _resp("INCR", "n")
            + _resp("SET", "live", "1"))
    seen = {}
    for kind in ("redpoll", "redis"):
        s = ServerProcess(kind, args=["--appendonly", "yes"])
        d = os.path.join(s.dir, "appendonlydir")
        os.makedirs(d)
        with open(os.path.join(d, "appendonly.aof.manifest"), "w") as f:
            f.write("file appendonly.aof.1.incr.aof seq 1 type i\n")
        with open(os.path.join(d, "appendonly.aof.1.incr.aof"), "wb") as f:
            f.write(incr)
        with s.start():
            c = s.client()
            seen[kind] = (c.get("k"), c.get("n"), c.get("live"), c.exists("k", "n"))
            c.close()
    assert seen["redpoll"] == seen["redis"] == (None, None, b"1", 0)
