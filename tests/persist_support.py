"""Helpers of the persistence tests: datasets with every type and encoding
size, a full dump of a server's dataset for comparison, and an RDB record
walker to see which encoding each key was written with.

Datasets are built with ordinary commands over redis-py, so the same
builder fills a real Redis and redpoll.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess

import redis

from support import ServerProcess as _ServerProcess
from support import wait_until


class ServerProcess(_ServerProcess):
    """A server that counts as started only once its dataset is loaded
    (PING answers PONG, not -LOADING)."""

    def wait_ready(self, timeout: float = 60.0) -> None:
        super().wait_ready(timeout)

        def loaded():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.kind} exited with {self.proc.returncode}:\n"
                                     + self.log_text()[-3000:])
            c = redis.Redis(port=self.port, socket_timeout=5)
            try:
                return c.ping()
            except redis.BusyLoadingError:
                return False
            finally:
                c.close()
        wait_until(loaded, timeout, what=f"{self.kind} to load its dataset")


def build_dataset(r: redis.Redis, seed: int = 7, expire_base_ms: int | None = None,
                  streams: bool = False) -> None:
    """Keys of every type, in both encodings of each (small/large), in three
    databases, a few with TTLs."""
    rnd = random.Random(seed)
    p = r.pipeline(transaction=False)
    p.select(0)
    # strings: raw, int-encoded (8/16/32-bit and too big), LZF-compressible,
    # incompressible, empty, binary, large
    p.set("s:small", "hello")
    p.set("s:int8", "-5")
    p.set("s:int16", "12345")
    p.set("s:int32", "-2000000000")
    p.set("s:int64", "1234567890123456")
    p.set("s:leading0", "007")
    p.set("s:lzf", "ab" * 200)
    p.set("s:random", bytes(rnd.getrandbits(8) for _ in range(300)))
    p.set("s:empty", "")
    p.set("s:binary", b"\x00\xff\r\n\x01")
    p.set("s:large", ("0123456789abcdef" * 8000).encode())
    # lists: one small node, many nodes, big elements
    p.rpush("l:small", "a", "b", "1", "200", "-3000", "70000", "-9000000000", "x")
    p.rpush("l:many", *[("v" * (i % 70)) + str(i) for i in range(2000)])
    p.rpush("l:bigelems", *[bytes([65 + i]) * 9000 for i in range(5)])
    p.rpush("l:ints", *range(-300, 300))
    # sets: intset 16/32/64 bits, hashtable, big intset -> hashtable
    p.sadd("st:int16", 1, 2, 3, -100)
    p.sadd("st:int32", 1, 100000, -3000000)
    p.sadd("st:int64", 1, 2 ** 40, -(2 ** 62))
    p.sadd("st:strings", "a", "b", "c", "hello world")
    p.sadd("st:bigint", *range(1000))
    p.sadd("st:big", *[f"m{i}" for i in range(700)])
    # hashes: listpack, long value -> hashtable, many fields -> hashtable
    p.hset("h:small", mapping={"f": "v", "n": "7", "neg": "-12", "e": ""})
    p.hset("h:longval", mapping={"f": "x" * 65, "g": "y"})
    p.hset("h:big", mapping={f"f{i}": "v" * (i % 40) for i in range(600)})
    # sorted sets: listpack (int/float/inf scores), skiplist by size and by length
    p.zadd("z:small", {"a": 1, "b": 2.5, "c": -1, "d": 0.1, "e": float("inf"),
                       "f": float("-inf"), "g": 1e100, "h": -3.25e-10, "i": 0})
    p.zadd("z:big", {f"m{i}": i * 1.5 for i in range(300)})
    p.zadd("z:longmember", {"m" * 70: 1, "n": 2})
    # expiries
    now = expire_base_ms
    if now is None:
        now = int(r.time()[0]) * 1000
    p.set("ttl:s", "v")
    p.pexpireat("ttl:s", now + 3_600_123)
    p.rpush("ttl:l", "a")
    p.pexpireat("ttl:l", now + 7_200_456)
    p.hset("ttl:h", "f", "v")
    p.pexpireat("ttl:h", now + 100_000_789)
    # other databases
    p.select(1)
    p.set("db1:s", "one")
    p.zadd("db1:z", {"x": 1})
    p.select(9)
    p.set("db9:s", "nine")
    p.sadd("db9:set", "a")
    p.pexpireat("db9:s", now + 50_000_000)
    p.select(0)
    if streams:
        build_streams(p)
    p.execute()


def build_streams(p) -> None:
    """Streams: plain, with deletions, with consumer groups and pending entries."""
    p.select(0)
    for i in range(1, 251):
        p.xadd("x:big", {"field": str(i), "other": "v" * (i % 20)}, id=f"{i}-0")
    p.xadd("x:small", {"a": "1"}, id="1-1")
    p.xadd("x:small", {"a": "2", "b": "3"}, id="1-2")
    p.xadd("x:small", {"a": "4"}, id="5-0")
    p.xdel("x:small", "1-2")
    p.xgroup_create("x:big", "g1", id="0")
    p.xgroup_create("x:big", "g2", id="$")
    p.xreadgroup("g1", "alice", {"x:big": ">"}, count=3)
    p.xreadgroup("g1", "bob", {"x:big": ">"}, count=2)
    p.xgroup_createconsumer("x:big", "g2", "carol")
    p.xadd("x:empty", {"a": "1"}, id="7-7")
    p.xdel("x:empty", "7-7")


def _scan_keys(r: redis.Redis) -> list[bytes]:
    return sorted(set(r.scan_iter(count=1000)))


def dataset(r: redis.Redis, dbs=range(16)) -> dict:
    """Every key of every db: (type, value, absolute expiry ms or -1)."""
    out = {}
    for db in dbs:
        r.execute_command("SELECT", db)
        for k in _scan_keys(r):
            t = r.type(k).decode()
            if t == "string":
                v = r.get(k)
            elif t == "list":
                v = r.lrange(k, 0, -1)
            elif t == "hash":
                v = r.hgetall(k)
            elif t == "set":
                v = sorted(r.smembers(k))
            elif t == "zset":
                v = [(m, repr(float(s))) for m, s in
                     r.zrange(k, 0, -1, withscores=True)]
            elif t == "stream":
                v = stream_state(r, k)
            else:
                raise AssertionError(f"unexpected type {t} of {k!r}")
            out[(db, k)] = (t, v, r.pexpiretime(k))
    r.execute_command("SELECT", 0)
    return out


def stream_state(r: redis.Redis, k) -> tuple:
    """A stream's entries, metadata, groups, PELs and consumers (times too)."""
    full = r.execute_command("XINFO", "STREAM", k, "FULL")
    if isinstance(full, list):
        full = dict(zip(full[::2], full[1::2]))
    groups = []
    for g in full.get(b"groups") or []:
        if isinstance(g, list):
            g = dict(zip(g[::2], g[1::2]))
        consumers = []
        for c in g[b"consumers"]:
            if isinstance(c, list):
                c = dict(zip(c[::2], c[1::2]))
            consumers.append((c[b"name"], c[b"seen-time"],
                              [tuple(p) for p in c[b"pending"]]))
        groups.append((g[b"name"], g[b"last-delivered-id"], g.get(b"entries-read"),
                       [tuple(p) for p in g[b"pending"]], sorted(consumers)))
    entries = [(e[0], tuple(e[1])) for e in r.xrange(k)]
    return (entries, full[b"last-generated-id"], full.get(b"max-deleted-entry-id"),
            full.get(b"entries-added"), full[b"length"], full.get(b"recorded-first-entry-id"),
            sorted(groups))


def timeless(ds: dict) -> dict:
    """The dataset without stream delivery/seen times (they legitimately
    differ when a stream is rebuilt from commands)."""
    out = {}
    for k, (t, v, ttl) in ds.items():
        if t == "stream":
            entries, last, maxdel, added, length, first, groups = v
            groups = [(name, lid, read, [p[:2] + p[3:] for p in pel],
                       [(cn, [p[:1] + p[2:] for p in cp]) for cn, _, cp in cons])
                      for name, lid, read, pel, cons in groups]
            v = (entries, last, maxdel, added, length, first, groups)
        out[k] = (t, v, ttl)
    return out


def rdb_records(data: bytes) -> dict:
    """Walk an RDB image: (db, key) -> type byte of its record."""
    from redpoll.persistence import rdb as R
    r = R._Reader(data, 9)
    out = {}
    db = 0
    while True:
        t = r.byte()
        if t == R.OP_EOF:
            return out
        if t == R.OP_EXPIRETIME_MS:
            r.take(8)
        elif t == R.OP_EXPIRETIME:
            r.take(4)
        elif t == R.OP_IDLE:
            r.length()
        elif t == R.OP_FREQ:
            r.byte()
        elif t == R.OP_SELECTDB:
            db = r.length()
        elif t == R.OP_RESIZEDB:
            r.length()
            r.length()
        elif t in (R.OP_AUX,):
            r.string()
            r.string()
        elif t == R.OP_FUNCTION2:
            r.string()
        else:
            key = r.string()
            R.read_value(r, t)
            out[(db, key)] = t


def check_rdb(path: str) -> str:
    """Run redis-check-rdb; fail with its output unless the file is OK."""
    out = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True,
                         timeout=120)
    text = out.stdout + out.stderr
    assert out.returncode == 0 and "RDB looks OK" in text, text
    return text


def check_aof(manifest: str) -> str:
    out = subprocess.run(["redis-check-aof", manifest], capture_output=True, text=True,
                         timeout=120)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    return text


def start_with_files(kind: str, files: dict[str, str], args: list[str] | None = None,
                     workdir: str | None = None) -> ServerProcess:
    """Start a server whose dir holds copies of ``files`` (dest name -> source
    path; a source directory is copied whole)."""
    s = ServerProcess(kind, args=args or [], workdir=workdir)
    for name, src in files.items():
        dst = os.path.join(s.dir, name)
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copy(src, dst)
    return s.start()


def save_and_wait(r: redis.Redis) -> None:
    """BGSAVE and wait until it is done (SAVE is simpler but blocks)."""
    before = r.lastsave()
    r.bgsave()
    wait_until(lambda: r.info("persistence")["rdb_bgsave_in_progress"] == 0
               and r.lastsave() >= before, 30, what="BGSAVE to finish")
    assert r.info("persistence")["rdb_last_bgsave_status"] == "ok"


def rewrite_and_wait(r: redis.Redis) -> None:
    n = r.info("persistence")["aof_rewrites"]
    r.bgrewriteaof()
    wait_until(lambda: r.info("persistence")["aof_rewrites"] > n
               and r.info("persistence")["aof_rewrite_in_progress"] == 0, 30,
               what="BGREWRITEAOF to finish")


def watch_loading(port: int, timeout: float = 60) -> tuple[bool, bool]:
    """Poll a starting server with PING until it answers PONG; return whether
    it answered -LOADING meanwhile and whether INFO then showed loading:1."""
    import socket
    import time
    seen_loading = seen_info = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"PING\r\n")
                reply = s.recv(100)
                if reply.startswith(b"-LOADING Redis is loading the dataset in memory"):
                    seen_loading = True
                    s.sendall(b"INFO persistence\r\n")
                    info = s.recv(65536)
                    size = int(info[1:info.index(b"\r\n")])
                    while len(info) < size and (chunk := s.recv(65536)):
                        info += chunk
                    seen_info |= b"loading:1" in info
                elif reply.startswith(b"+PONG"):
                    break
        except OSError:
            time.sleep(0.01)
    return seen_loading, seen_info
