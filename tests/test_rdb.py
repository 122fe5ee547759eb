"""RDB files: interoperability with real Redis 7.0 both ways, the encodings
chosen, corruption handling, SAVE/BGSAVE/LASTSAVE, save points, MISCONF,
DEBUG RELOAD and loading at start-up."""

from __future__ import annotations

import os
import re
import shutil
import struct

import pytest

from persist_support import (
    ServerProcess, build_dataset, check_rdb, dataset, rdb_records, save_and_wait,
    start_with_files, timeless, watch_loading)
from diff import RespConn
from support import wait_until


@pytest.fixture(scope="module")
def real_source(tmp_path_factory):
    """A real Redis holding the reference dataset, and its dump (compressed)."""
    with ServerProcess("redis") as real:
        r = real.client()
        build_dataset(r, streams=True)
        r.save()
        d = tmp_path_factory.mktemp("real")
        shutil.copy(os.path.join(real.dir, "dump.rdb"), d / "real.rdb")
        r.config_set("rdbcompression", "no")
        r.save()
        shutil.copy(os.path.join(real.dir, "dump.rdb"), d / "real-nocomp.rdb")
        yield dataset(r), d
        r.close()


def _roundtrip(src_rdb, redpoll_args=()):
    """real dump -> redpoll (start-up load) -> redpoll SAVE -> its file."""
    with start_with_files("redpoll", {"dump.rdb": str(src_rdb)},
                          args=list(redpoll_args)) as rp:
        c = rp.client()
        assert "DB loaded from disk:" in rp.log_text()
        info = {k: c.dbsize() for k in [0]}
        assert info[0] > 0
        c.save()
        out = os.path.join(rp.dir, "dump.rdb")
        data = open(out, "rb").read()
        keys = {}
        for db in (0, 1, 9):
            c.execute_command("SELECT", db)
            for k in c.keys("*"):
                keys[(db, k)] = (c.type(k).decode(), c.pexpiretime(k))
        c.close()
        return data, keys, rp.log_text()


@pytest.mark.parametrize("which", ["real.rdb", "real-nocomp.rdb"])
def test_real_rdb_loads_in_redpoll_and_redpoll_rdb_loads_in_real(real_source, which,
                                                                 tmp_path):
    expected, d = real_source
    data, keys, log = _roundtrip(d / which)
    # what redpoll loaded: every key with its type and exact expiry
    assert keys == {k: (v[0], v[2]) for k, v in expected.items()}
    assert re.search(r"Done loading RDB, keys loaded: \d+, keys expired: 0\.", log)
    assert "Loading RDB produced by version 7.0.15" in log
    ours = tmp_path / "ours.rdb"
    ours.write_bytes(data)
    check_rdb(str(ours))
    # real Redis loads redpoll's file with identical contents
    with start_with_files("redis", {"dump.rdb": str(ours)}) as real2:
        c = real2.client()
        assert dataset(c) == expected
        c.close()


def test_same_encodings_as_real_redis(real_source, tmp_path):
    """For the same data redpoll writes each key with the record type a real
    7.0 writes (listpack/intset/quicklist/hashtable/skiplist choices)."""
    _, d = real_source
    data, _, _ = _roundtrip(d / "real.rdb")
    theirs = rdb_records((d / "real.rdb").read_bytes())
    ours = rdb_records(data)
    assert ours == theirs


def test_aux_fields_and_header(real_source, tmp_path):
    _, d = real_source
    data, _, _ = _roundtrip(d / "real.rdb")
    assert data.startswith(b"REDIS0010")
    path = tmp_path / "x.rdb"
    path.write_bytes(data)
    text = check_rdb(str(path))
    for field in ("redis-ver = '7.0.15'", "redis-bits = '64'", "ctime = ", "used-mem = ",
                  "aof-base = '0'"):
        assert "AUX FIELD " + field in text
    assert "Checksum OK" in text


def test_rdbcompression_no_and_rdbchecksum_no(real_source, tmp_path):
    _, d = real_source
    comp, _, _ = _roundtrip(d / "real.rdb")
    plain, _, _ = _roundtrip(d / "real.rdb", ["--rdbcompression", "no",
                                              "--rdbchecksum", "no"])
    assert len(plain) > len(comp)
    assert plain[-8:] == b"\x00" * 8           # no checksum written
    path = tmp_path / "plain.rdb"
    path.write_bytes(plain)
    check_rdb(str(path))
    with start_with_files("redis", {"dump.rdb": str(path)}) as real:
        c = real.client()
        assert c.dbsize() > 10
        assert c.get("s:lzf") == b"ab" * 200
        c.close()


def test_redpoll_dataset_loads_in_real_redis(tmp_path):
    """Data written through redpoll's own commands, saved by BGSAVE, is read
    back identically by real Redis; redis-check-rdb accepts the file, and
    every key is written with the record type Redis uses."""
    with ServerProcess("redpoll") as rp, ServerProcess("redis") as ref:
        c, rr = rp.client(), ref.client()
        now = int(rr.time()[0]) * 1000
        build_dataset(c, expire_base_ms=now, streams=True)
        build_dataset(rr, expire_base_ms=now, streams=True)
        save_and_wait(c)
        path = str(tmp_path / "dump.rdb")
        shutil.copy(os.path.join(rp.dir, "dump.rdb"), path)
        check_rdb(path)
        expected = dataset(rr)
        assert rdb_records(open(path, "rb").read()) == _records_of(rr)
        c.close()
        rr.close()
    with start_with_files("redis", {"dump.rdb": path}) as real:
        c = real.client()
        got = dataset(c)
        c.close()
    # consumers' seen-time and delivery times differ between the two servers
    assert timeless(got) == timeless(expected)


def _records_of(r):
    r.save()
    d = r.config_get("dir")["dir"]
    return rdb_records(open(os.path.join(d, "dump.rdb"), "rb").read())


# -- old encodings (Redis <= 6.2 files) --------------------------------------------

def _len(n: int) -> bytes:
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    return b"\x80" + n.to_bytes(4, "big")


def _str(s: bytes) -> bytes:
    return _len(len(s)) + s


def _ziplist(items: list[bytes]) -> bytes:
    """A ziplist as Redis 6 wrote them (strings, and the integer encodings)."""
    body = b""
    prev = 0
    offsets = []
    for it in items:
        pl = bytes([prev]) if prev < 254 else b"\xfe" + struct.pack("<I", prev)
        try:
            v = int(it)
            if str(v).encode() != it or not -(1 << 63) <= v < (1 << 63):
                raise ValueError
        except ValueError:
            v = None
        if v is not None and 0 <= v <= 12:
            enc = bytes([0xF1 + v])
        elif v is not None and -128 <= v <= 127:
            enc = b"\xfe" + struct.pack("<b", v)
        elif v is not None and -32768 <= v <= 32767:
            enc = b"\xc0" + struct.pack("<h", v)
        elif v is not None and -(1 << 23) <= v < (1 << 23):
            enc = b"\xf0" + (v & 0xFFFFFF).to_bytes(3, "little")
        elif v is not None and -(1 << 31) <= v < (1 << 31):
            enc = b"\xd0" + struct.pack("<i", v)
        elif v is not None:
            enc = b"\xe0" + struct.pack("<q", v)
        elif len(it) < 64:
            enc = bytes([len(it)]) + it
        elif len(it) < 16384:
            enc = bytes([0x40 | (len(it) >> 8), len(it) & 0xFF]) + it
        else:
            enc = b"\x80" + len(it).to_bytes(4, "big") + it
        entry = pl + enc
        offsets.append(10 + len(body))
        body += entry
        prev = len(entry)
    total = 10 + len(body) + 1
    tail = offsets[-1] if offsets else 10
    return struct.pack("<IIH", total, tail, len(items)) + body + b"\xff"


def _zipmap(pairs: list[tuple[bytes, bytes]], free: int = 0) -> bytes:
    """Lengths of 254 and more in five bytes; ``free`` unused bytes after
    every value."""
    def ln(b: bytes) -> bytes:
        return bytes([len(b)]) if len(b) < 254 else b"\xfe" + struct.pack("<I", len(b))
    out = bytes([len(pairs)])
    for k, v in pairs:
        out += ln(k) + k + ln(v) + bytes([free]) + v + b"\x00" * free
    return out + b"\xff"


def _old_rdb() -> bytes:
    """An RDB v9 file with the encodings Redis 6.x (and older) wrote."""
    from redpoll.persistence.crc64 import crc64
    body = b"REDIS0009" + b"\xfa" + _str(b"redis-ver") + _str(b"6.2.14")
    body += b"\xfe\x00"
    body += bytes([10]) + _str(b"zl:list") + _str(_ziplist(
        [b"a", b"7", b"-100", b"1000", b"100000", b"5000000000", b"x" * 70, b"12"]))
    body += bytes([14]) + _str(b"ql:list") + _len(2) + _str(_ziplist([b"1", b"two"])) \
        + _str(_ziplist([b"three", b"4" * 300]))
    body += bytes([13]) + _str(b"zl:hash") + _str(_ziplist([b"f1", b"v1", b"f2", b"22"]))
    body += bytes([12]) + _str(b"zl:zset") + _str(_ziplist(
        [b"c", b"-3", b"a", b"1", b"b", b"2.5"]))
    body += bytes([9]) + _str(b"zm:hash") + _str(_zipmap(
        [(b"k1", b"v1"), (b"k" * 300, b"v" * 260), (b"k3", b"v3")], free=3))
    body += bytes([1]) + _str(b"ll:list") + _len(2) + _str(b"p") + _str(b"q")
    body += bytes([3]) + _str(b"old:zset") + _len(2) + _str(b"m1") + b"\x031.5" \
        + _str(b"m2") + b"\xfe"
    body += b"\xfd" + struct.pack("<I", 2000000000) + b"\x00" + _str(b"sec:ttl") + _str(b"v")
    body += bytes([11]) + _str(b"is:set") + _str(struct.pack("<II3h", 2, 3, -5, 1, 300))
    body += b"\xff"
    return body + struct.pack("<Q", crc64(body))


def test_old_encodings_load_like_real_redis(tmp_path):
    old = tmp_path / "old.rdb"
    old.write_bytes(_old_rdb())
    with start_with_files("redis", {"dump.rdb": str(old)}) as real:
        c = real.client()
        expected = dataset(c, dbs=[0])
        c.close()
    assert len(expected) == 9
    data, keys, _ = _roundtrip(old)
    assert keys == {k: (v[0], v[2]) for k, v in expected.items()}
    ours = tmp_path / "ours.rdb"
    ours.write_bytes(data)
    check_rdb(str(ours))
    with start_with_files("redis", {"dump.rdb": str(ours)}) as real:
        c = real.client()
        assert dataset(c, dbs=[0]) == expected
        c.close()


# -- corruption ------------------------------------------------------------------------

def _start_fails(files, args=()):
    s = ServerProcess("redpoll", args=list(args))
    for name, data in files.items():
        with open(os.path.join(s.dir, name), "wb") as f:
            f.write(data)
    s.start(wait=False)
    try:
        code = s.proc.wait(30)
        return code, s.log_text()
    finally:
        s.cleanup()


def test_corrupt_rdb_refused_at_startup(real_source):
    _, d = real_source
    good = (d / "real.rdb").read_bytes()
    # truncated file
    code, log = _start_fails({"dump.rdb": good[:len(good) // 2]})
    assert code == 1
    assert "Unexpected EOF reading RDB file" in log
    assert "Terminating server after rdb file reading failure." in log
    # one flipped byte in a value: the checksum catches it
    bad = bytearray(good)
    i = bad.index(b"s:small\x05hello") + 8
    bad[i] ^= 0x20
    code, log = _start_fails({"dump.rdb": bytes(bad)})
    assert code == 1
    assert "Wrong RDB checksum expected" in log
    # not an RDB at all
    code, log = _start_fails({"dump.rdb": b"hello world, not an rdb"})
    assert code == 1 and "Wrong signature trying to load DB from file" in log


def test_checksum_disabled_loads_flipped_value(real_source):
    """With rdbchecksum no the CRC is not verified (as in Redis)."""
    _, d = real_source
    bad = bytearray((d / "real.rdb").read_bytes())
    i = bad.index(b"s:small\x05hello") + 8
    bad[i] = ord("j")
    s = ServerProcess("redpoll", args=["--rdbchecksum", "no"])
    with open(os.path.join(s.dir, "dump.rdb"), "wb") as f:
        f.write(bytes(bad))
    with s:
        assert s.client().get("s:small") == b"jello"


# -- SAVE / BGSAVE / LASTSAVE / save points ------------------------------------------------

def test_save_bgsave_lastsave_and_info(tmp_path):
    with ServerProcess("redpoll") as rp:
        c = rp.client()
        info = c.info("persistence")
        for field in ("loading", "async_loading", "current_cow_peak", "current_cow_size",
                      "current_cow_size_age", "current_fork_perc",
                      "current_save_keys_processed", "current_save_keys_total",
                      "rdb_changes_since_last_save", "rdb_bgsave_in_progress",
                      "rdb_last_save_time", "rdb_last_bgsave_status",
                      "rdb_last_bgsave_time_sec", "rdb_current_bgsave_time_sec",
                      "rdb_saves", "rdb_last_cow_size", "rdb_last_load_keys_expired",
                      "rdb_last_load_keys_loaded", "aof_enabled",
                      "aof_rewrite_in_progress", "aof_last_bgrewrite_status",
                      "aof_last_write_status", "module_fork_in_progress"):
            assert field in info, field
        for i in range(5000):
            c.set(f"k{i}", i)
        assert c.info("persistence")["rdb_changes_since_last_save"] == 5000
        before = c.lastsave()
        save_and_wait(c)
        info = c.info("persistence")
        assert info["rdb_changes_since_last_save"] == 0
        assert info["rdb_saves"] == 1
        assert info["rdb_last_bgsave_time_sec"] >= 0
        assert c.lastsave() >= before
        log = rp.log_text()
        assert re.search(r"Background saving started by pid \d+", log)
        assert re.search(r"\d+:C .* DB saved on disk", log)
        assert re.search(r"\d+:C .* Fork CoW for RDB: current \d+ MB, peak \d+ MB, "
                         r"average \d+ MB", log)
        assert "Background saving terminated with success" in log
        assert not [f for f in os.listdir(rp.dir) if f.startswith("temp-")]
        assert c.save() is True
        assert c.info("persistence")["rdb_saves"] == 2
        raw = RespConn(rp.port)
        assert raw.call(["BGSAVE", "SCHEDULE"]) == ("+", "Background saving started")
        assert raw.call(["BGSAVE", "NOW"]) == ("-", "ERR syntax error")
        assert raw.call(["LASTSAVE"])[0] == ":"
        raw.close()
        c.close()


def test_bgsave_errors_match_redis():
    """While a BGSAVE runs: BGSAVE, SAVE and BGSAVE SCHEDULE answer as Redis."""
    with ServerProcess("redpoll") as rp:
        c = rp.client()
        p = c.pipeline(transaction=False)
        for i in range(200000):
            p.set(f"key:{i}", "x" * 20)
        p.execute()
        raw = RespConn(rp.port)
        assert raw.call(["BGSAVE"]) == ("+", "Background saving started")
        assert raw.call(["BGSAVE"]) == ("-", "ERR Background save already in progress")
        assert raw.call(["SAVE"]) == ("-", "ERR Background save already in progress")
        assert raw.call(["BGREWRITEAOF"]) == (
            "+", "Background append only file rewriting scheduled")
        assert raw.call(["BGSAVE", "SCHEDULE"]) == (
            "-", "ERR Background save already in progress")
        raw.close()
        wait_until(lambda: c.info("persistence")["aof_rewrites"] == 1, 60,
                   what="the scheduled rewrite")
        c.close()


def test_save_points_trigger_bgsave():
    with ServerProcess("redpoll", args=["--save", "1 3"]) as rp:
        c = rp.client()
        c.set("a", 1)
        c.set("b", 2)
        c.set("c", 3)
        wait_until(lambda: os.path.exists(os.path.join(rp.dir, "dump.rdb")), 10,
                   what="the save point")
        wait_until(lambda: "3 changes in 1 seconds. Saving..." in rp.log_text(), 5)
        wait_until(lambda: c.info("persistence")["rdb_changes_since_last_save"] == 0, 10)
        c.close()


def test_shutdown_saves_and_restart_loads():
    with ServerProcess("redpoll", args=["--save", "3600 1"]) as rp:
        c = rp.client()
        c.set("persist", "me")
        c.set("ttl", "x", px=500000)
        c.rpush("list", "a", "b")
        rp.stop()
        assert "Saving the final RDB snapshot before exiting." in rp.log_text()
        rp.start()
        c = rp.client()
        assert c.get("persist") == b"me"
        assert 0 < c.pttl("ttl") <= 500000
        assert c.lrange("list", 0, -1) == [b"a", b"b"]
        assert c.info("persistence")["rdb_last_load_keys_loaded"] == 3
        assert re.search(r"DB loaded from disk: \d+\.\d{3} seconds", rp.log_text())
        c.close()


def test_expired_keys_skipped_on_load():
    with ServerProcess("redpoll") as rp:
        c = rp.client()
        c.set("gone", "x", px=300)
        c.set("kept", "y")
        c.save()
        wait_until(lambda: c.pttl("gone") == -2, 5)
        rp.stop()
        rp.start()
        c = rp.client()
        # the key had already expired when the file was saved? it is saved only
        # if it was alive; either way it must not come back
        assert c.get("gone") is None
        assert c.get("kept") == b"y"
        c.close()


def test_debug_reload_keeps_data():
    with ServerProcess("redpoll", args=["--enable-debug-command", "yes"]) as rp:
        c = rp.client()
        c.set("a", "1")
        c.rpush("l", *range(100))
        c.set("t", "v", px=1000000)
        assert c.execute_command("DEBUG", "RELOAD") in (b"OK", "OK", True)
        assert c.get("a") == b"1"
        assert c.lrange("l", 0, -1) == [str(i).encode() for i in range(100)]
        assert 0 < c.pttl("t") <= 1000000
        assert "DB reloaded by DEBUG RELOAD" in rp.log_text()
        c.close()


def test_debug_disabled_by_default():
    with ServerProcess("redpoll") as rp, ServerProcess("redis") as real:
        for srv in (rp, real):
            c = srv.client()
            with pytest.raises(Exception) as e:
                c.execute_command("DEBUG", "RELOAD")
            assert "DEBUG command not allowed" in str(e.value)
            c.close()


def test_misconf_after_failed_bgsave():
    """A failed background save refuses writes with MISCONF (and PING), like
    Redis, until a save succeeds; stop-writes-on-bgsave-error no lifts it."""
    with ServerProcess("redpoll", args=["--save", "3600 1",
                                        "--enable-protected-configs", "yes"]) as rp:
        c = rp.client()
        c.set("a", 1)
        bad = os.path.join(rp.dir, "gone")
        os.mkdir(bad)
        c.config_set("dir", bad)
        os.rmdir(bad)
        c.bgsave()
        wait_until(lambda: c.info("persistence")["rdb_last_bgsave_status"] == "err", 10)
        with pytest.raises(Exception) as e:
            c.set("b", 2)
        assert str(e.value).startswith("MISCONF Redis is configured to save RDB "
                                       "snapshots, but it's currently unable to persist")
        with pytest.raises(Exception) as e:
            c.ping()
        assert "MISCONF" in str(e.value)
        assert c.get("a") == b"1"                      # reads still work
        c.config_set("stop-writes-on-bgsave-error", "no")
        assert c.set("b", 2)
        c.config_set("stop-writes-on-bgsave-error", "yes")
        c.config_set("dir", rp.dir)
        save_and_wait(c)
        assert c.set("c", 3)
        c.close()


def test_lfu_counters_survive_save_and_load_in_both(tmp_path):
    """Under an LFU policy the counters are written (RDB_OPCODE_FREQ) and read
    back, by redpoll and by real Redis."""
    lfu = ["--maxmemory-policy", "allkeys-lfu"]
    with ServerProcess("redpoll", args=lfu) as rp:
        c = rp.client()
        c.set("src", "v")
        c.restore("hot", 0, c.dump("src"), frequency=200)
        assert c.object("freq", "hot") == 200
        c.save()
        shutil.copy(os.path.join(rp.dir, "dump.rdb"), tmp_path / "dump.rdb")
        rp.stop()
        rp.start()
        c = rp.client()
        assert c.object("freq", "hot") == 200
        c.close()
    with start_with_files("redis", {"dump.rdb": str(tmp_path / "dump.rdb")},
                          args=lfu) as real:
        assert real.client().object("freq", "hot") == 200


def test_bgsave_progress_and_cow_in_info():
    """While the child saves, INFO shows its progress; afterwards the
    copy-on-write size it measured."""
    with ServerProcess("redpoll") as rp:
        c = rp.client()
        p = c.pipeline(transaction=False)
        for i in range(200000):
            p.set(f"k{i}", "v" * 10)
        p.execute()
        c.bgsave()
        seen = []
        while True:
            info = c.info("persistence")
            if not info["rdb_bgsave_in_progress"]:
                break
            seen.append((info["current_save_keys_total"], info["current_fork_perc"],
                         info["rdb_current_bgsave_time_sec"]))
        assert seen, "the BGSAVE finished before INFO could see it"
        assert all(total == 200000 for total, _, _ in seen)
        assert all(0.0 <= perc <= 100.0 and secs >= 0 for _, perc, secs in seen)
        info = c.info("persistence")
        assert info["rdb_last_cow_size"] > 0
        assert info["current_save_keys_total"] == 0 and info["current_cow_size"] == 0
        assert c.info("stats")["total_forks"] >= 1
        c.close()


def test_clients_get_loading_while_the_rdb_loads():
    """During the start-up load the server answers -LOADING (INFO works and
    shows loading:1), then serves the loaded data."""
    with ServerProcess("redpoll") as rp:
        c = rp.client()
        p = c.pipeline(transaction=False)
        for i in range(400000):
            p.set(f"k{i}", i)
        p.execute()
        c.save()
        c.close()
        rp.stop()
        rp.start(wait=False)
        assert watch_loading(rp.port) == (True, True)
        assert rp.client().dbsize() == 400000


LIB = ("#!lua name=mylib\n"
       "redis.register_function('myfunc', function(keys, args) return args[1] end)")


def test_functions_in_rdb_both_ways(tmp_path):
    """Function libraries are saved (RDB_OPCODE_FUNCTION2) and loaded, by
    redpoll and by real Redis."""
    with ServerProcess("redpoll") as rp:
        c = rp.client()
        c.function_load(LIB)
        c.set("k", "v")
        c.save()
        shutil.copy(os.path.join(rp.dir, "dump.rdb"), tmp_path / "ours.rdb")
        rp.stop()
        rp.start()
        assert rp.client().fcall("myfunc", 0, "hello") == b"hello"
    check_rdb(str(tmp_path / "ours.rdb"))
    with start_with_files("redis", {"dump.rdb": str(tmp_path / "ours.rdb")}) as real:
        rc = real.client()
        assert rc.fcall("myfunc", 0, "x") == b"x"
        rc.save()
        shutil.copy(os.path.join(real.dir, "dump.rdb"), tmp_path / "theirs.rdb")
    with start_with_files("redpoll", {"dump.rdb": str(tmp_path / "theirs.rdb")}) as rp:
        assert rp.client().fcall("myfunc", 0, "y") == b"y"
