"""DUMP and RESTORE: payloads move between redpoll and real Redis both ways,
options and errors exactly as Redis 7.0.15."""

from __future__ import annotations

import pytest

from persist_support import ServerProcess, build_dataset, dataset


@pytest.fixture(scope="module")
def servers():
    with ServerProcess("redpoll") as rp, ServerProcess("redis") as real:
        yield rp, real


def _payload_roundtrip(src, dst, keys):
    """DUMP every key on ``src`` and RESTORE it under the same name on ``dst``."""
    for db, key in keys:
        src.execute_command("SELECT", db)
        dst.execute_command("SELECT", db)
        payload = src.dump(key)
        pttl = src.pexpiretime(key)
        args = [key, pttl if pttl > 0 else 0, payload]
        if pttl > 0:
            args.append("ABSTTL")
        assert dst.execute_command("RESTORE", *args, "REPLACE") in (b"OK", True)
    src.execute_command("SELECT", 0)
    dst.execute_command("SELECT", 0)


def test_payloads_interoperate_both_ways(servers):
    rp, real = servers
    c = rp.client(single_connection_client=True)
    rc = real.client(single_connection_client=True)
    c.flushall()
    rc.flushall()
    build_dataset(rc, streams=True)
    expected = dataset(rc)
    # real -> redpoll
    _payload_roundtrip(rc, c, expected)
    assert sorted(c.keys("*")) == sorted(k for (db, k) in expected if db == 0)
    # redpoll -> real (after clearing the real one)
    rc.flushall()
    _payload_roundtrip(c, rc, expected)
    assert dataset(rc) == expected
    c.close()
    rc.close()


def test_same_payload_bytes_as_redis(servers):
    """For values whose serialisation is deterministic, redpoll's DUMP is
    byte for byte the same as Redis's (same encoding choices)."""
    rp, real = servers
    c = rp.client(single_connection_client=True)
    rc = real.client(single_connection_client=True)
    for cl in (c, rc):
        cl.flushall()
        cl.set("str", "hello")
        cl.set("int", "12345")
        cl.set("neg", "-5")
        cl.set("big", "1234567890123")
        cl.set("long", "x" * 30)             # compressible
        cl.rpush("list", "a", "1", "-2", "300", "70000", "b" * 100)
        cl.hset("hash", mapping={"f": "v", "n": "10"})
        cl.hset("hashbig", mapping={"f": "v" * 100})
        cl.sadd("intset", 1, 2, 3, 100000)
        cl.zadd("zset", {"a": 1, "b": 1.5, "c": -2})
    for key in ("str", "int", "neg", "big", "long", "list", "hash", "hashbig", "intset",
                "zset"):
        assert c.dump(key) == rc.dump(key), key
    c.close()
    rc.close()


def test_restore_options_and_errors_match_redis(pair):
    good = ["SET", "src", "value"]
    pair.check([good, ["DUMP", "nosuchkey"]])
    # fetch a real payload to play with
    payload = pair.both(["DUMP", "src"])[1][1]
    assert payload
    bad_crc = payload[:-1] + bytes([payload[-1] ^ 1])
    newer = payload[:-10] + (11).to_bytes(2, "little") + payload[-8:]
    cmds = [
        good,
        ["RESTORE", "k", "0", payload],
        ["GET", "k"],
        ["RESTORE", "k", "0", payload],                       # BUSYKEY
        ["RESTORE", "k", "0", payload, "REPLACE"],
        ["RESTORE", "k2", "-1", payload],
        ["RESTORE", "k2", "abc", payload],
        ["RESTORE", "k2", "0", bad_crc],
        ["RESTORE", "k2", "0", newer],
        ["RESTORE", "k2", "0", b"short"],
        ["RESTORE", "k2", "0", payload, "FOO"],
        ["RESTORE", "k2", "0", payload, "IDLETIME"],
        ["RESTORE", "k2", "0", payload, "IDLETIME", "-1"],
        ["RESTORE", "k2", "0", payload, "IDLETIME", "x"],
        ["RESTORE", "k2", "0", payload, "FREQ", "256"],
        ["RESTORE", "k2", "0", payload, "FREQ", "10", "IDLETIME", "10"],
        ["RESTORE", "k2", "0", payload, "IDLETIME", "10", "FREQ", "10"],
        ["RESTORE", "k2", "0", payload, "IDLETIME", "10"],
        ["RESTORE", "k3", "0", payload, "FREQ", "5"],
        ["RESTORE", "k4", "100000", payload],
        ["PTTL", "k4"],
        ["RESTORE", "k5", "1", payload, "ABSTTL"],             # already expired
        ["EXISTS", "k5"],
        ["RESTORE", "k", "1", payload, "ABSTTL", "REPLACE"],  # expired: deletes k
        ["EXISTS", "k"],
        ["RESTORE"],
        ["RESTORE", "a", "0"],
        ["DUMP"],
        ["RPUSH", "l", "a"],
        ["RESTORE", "l", "0", payload],
    ]
    pair.check(cmds)
    # a payload whose checksum is right but whose content is not
    from redpoll.persistence.crc64 import crc64
    body = b"\x00\x05ab" + (10).to_bytes(2, "little")
    broken = body + crc64(body).to_bytes(8, "little")
    pair.check([["RESTORE", "bad", "0", broken], ["GET", "bad"]])
    for body in (b"\x63ab", b"\x04\x01\x01a", b"\x0b\x05abcde", b"\x00\xc3\x05\x40ab"):
        body += (10).to_bytes(2, "little")
        broken = body + crc64(body).to_bytes(8, "little")
        pair.check([["RESTORE", "bad", "0", broken], ["EXISTS", "bad"]])


def test_restore_ttl_propagates_as_absttl(tmp_path):
    """RESTORE with a relative TTL is written to the AOF with an absolute one."""
    import glob
    import os

    from support import wait_until
    with ServerProcess("redpoll", args=["--appendonly", "yes"]) as rp:
        c = rp.client()
        c.set("src", "v")
        payload = c.dump("src")
        c.restore("dst", 5000, payload)
        [incr] = glob.glob(os.path.join(rp.dir, "appendonlydir", "*.incr.aof"))
        wait_until(lambda: b"ABSTTL" in open(incr, "rb").read(), 5)
        data = open(incr, "rb").read()
        assert b"$7\r\nRESTORE\r\n$3\r\ndst\r\n$13\r\n" in data
        assert data.endswith(b"$6\r\nABSTTL\r\n")
        c.close()


def test_restore_freq_and_idletime_match_redis(pair):
    pair.check([["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"], ["SET", "src", "v"]])
    payload = pair.both(["DUMP", "src"])[1][1]
    try:
        pair.check([
            ["RESTORE", "f", "0", payload, "FREQ", "100"],
            ["OBJECT", "FREQ", "f"],
            ["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"],
            ["RESTORE", "i", "0", payload, "IDLETIME", "1000"],
            ["OBJECT", "IDLETIME", "i"],
        ], flush=False)
    finally:
        pair.check([["CONFIG", "SET", "maxmemory-policy", "noeviction"]], flush=False)
