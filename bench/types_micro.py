"""Per-command CPU cost of the data type commands, in process.

A :class:`~redpoll.server.Server` is built without sockets or event loop
(``bootstrap.install`` + the command table) and one
:class:`~redpoll.client.Client` gets a fake transport; request bytes go
through ``Client.data_received``, i.e. the real parser, dispatch, handler
and reply encoding, and CPU time (``time.process_time``) is measured around
the feeding loop. Each figure is the minimum over ``--reps`` repetitions,
in microseconds per command (the machine is shared: the minimum is the
least disturbed run).

Two shapes of keyspace per type, each with small and mid-size values:

* ``many``: ``--keys`` keys (default 10,000) accessed in random order, so
  nearly every command meets a value that is packed at that moment
  (datatypes/compact.py keeps only the most recently used values expanded);
* ``hot``: one key used by every command (it stays expanded).

Workloads keep the sizes steady (a push round is followed by a pop round,
HSET/ZADD update existing fields/members, SADD adds what SPOP removes).

    python bench/types_micro.py [--keys N] [--ops N] [--reps N] [--pipeline N]
                                [--only lpush,hset...] [--json out.json]

``--shapes`` measures instead the requests redis-benchmark sends for issue
3's tests (``LPUSH mylist xxx``, ``SADD myset element:__rand_int__``..., one
key each, in redis-benchmark's order; ``--pipeline 1`` is its -P 1), with
GET as the reference. Its feeding loop runs inside ``eval()``, so that
callgrind can count the instructions of the commands alone, which stays
deterministic on a busy machine:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --toggle-collect=builtin_eval \
        python bench/types_micro.py --shapes --only hset --pipeline 1 --reps 1 --ops 1000

(run it with two --ops values and divide the difference by the difference
of --ops).

``PYTHONPATH=/path/to/other/src python bench/types_micro.py`` measures
another tree with the same harness (e.g. an older commit, via git archive).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time


def _resp(args) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


class FakeTransport:
    """What Client needs of an asyncio transport; counts the bytes written."""

    def __init__(self):
        self.written = 0
        self.last = b""

    def write(self, data: bytes) -> None:
        self.written += len(data)
        self.last = data

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name, default=None):
        return default

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass

    def is_closing(self) -> bool:
        return False


class Harness:
    """A socketless server and one client fed raw request bytes."""

    def __init__(self, pipeline: int = 16):
        import asyncio

        from redpoll import bootstrap
        from redpoll.client import Client
        from redpoll.commands import table
        from redpoll.config import Config
        from redpoll.log import log
        from redpoll.server import Server

        log.configure("warning", "")
        cfg = Config()
        self.server = Server(cfg)
        self.server.loop = asyncio.new_event_loop()     # never run: nothing is scheduled
        bootstrap.install(self.server)
        table.load_all()
        self.transport = FakeTransport()
        self.client = Client(self.server)
        self.client.connection_made(self.transport)
        self.pipeline = pipeline

    def chunks(self, commands) -> list[bytes]:
        """Request lists -> the byte strings fed to data_received, ``pipeline``
        requests each."""
        p = self.pipeline
        enc = [_resp(c) for c in commands]
        return [b"".join(enc[i:i + p]) for i in range(0, len(enc), p)]

    def feed(self, chunks) -> float:
        """Feed every chunk; the CPU seconds it took."""
        feed = self.client.data_received
        t0 = time.process_time()
        for data in chunks:
            feed(data)
        return time.process_time() - t0

    def run(self, commands) -> None:
        """Execute commands (set-up, not measured)."""
        for data in self.chunks(commands):
            self.client.data_received(data)

    def call(self, *args: bytes) -> bytes:
        """One command; its raw reply."""
        self.client.data_received(_resp(list(args)))
        return self.transport.last


# -- workloads ---------------------------------------------------------------------
# Each workload: (setup(h, keys, size), [(name, make(keys, size, rnd) -> commands)])
# where the command rounds of one workload leave the sizes as they found them.


def _list_setup(h, keys, size):
    for k in keys:
        h.run([[b"RPUSH", k] + [b"item:%d" % j for j in range(size)]])


def _hash_setup(h, keys, size):
    for k in keys:
        args = [b"HSET", k]
        for j in range(size):
            args += [b"field:%d" % j, b"value:%d" % j]
        h.run([args])


def _set_setup(h, keys, size):
    for k in keys:
        h.run([[b"SADD", k] + [b"%d" % (1000 + j) for j in range(size)]])


def _zset_setup(h, keys, size):
    for k in keys:
        args = [b"ZADD", k]
        for j in range(size):
            args += [b"%d" % j, b"member:%d" % j]
        h.run([args])


def _pick(keys, n, rnd):
    return [keys[rnd.randrange(len(keys))] for _ in range(n)]


WORKLOADS = {
    "list": (_list_setup, [
        ("lpush", lambda ks, size, r: [[b"LPUSH", k, b"new"] for k in ks]),
        ("lpop", lambda ks, size, r: [[b"LPOP", k] for k in ks]),
        ("rpush", lambda ks, size, r: [[b"RPUSH", k, b"new"] for k in ks]),
        ("rpop", lambda ks, size, r: [[b"RPOP", k] for k in ks]),
        ("lrange", lambda ks, size, r: [[b"LRANGE", k, b"0", b"-1"] for k in ks]),
        ("lindex", lambda ks, size, r: [[b"LINDEX", k, b"%d" % r.randrange(size)]
                                        for k in ks]),
    ]),
    "hash": (_hash_setup, [
        ("hset", lambda ks, size, r: [[b"HSET", k, b"field:%d" % r.randrange(size), b"v%d" % i]
                                      for i, k in enumerate(ks)]),
        ("hget", lambda ks, size, r: [[b"HGET", k, b"field:%d" % r.randrange(size)]
                                      for k in ks]),
        ("hincrby", lambda ks, size, r: [[b"HINCRBY", k, b"n", b"1"] for k in ks]),
        ("hdel+hset", lambda ks, size, r: [c for k in ks for c in (
            [b"HDEL", k, b"field:0"], [b"HSET", k, b"field:0", b"x"])]),
    ]),
    "set": (_set_setup, [
        ("sadd", lambda ks, size, r: [[b"SADD", k, b"%d" % (5000 + i)]
                                      for i, k in enumerate(ks)]),
        ("spop", lambda ks, size, r: [[b"SPOP", k] for k in ks]),
        ("sismember", lambda ks, size, r: [[b"SISMEMBER", k, b"%d" % (1000 + r.randrange(size))]
                                           for k in ks]),
        ("srem+sadd", lambda ks, size, r: [c for k in ks for c in (
            [b"SREM", k, b"1000"], [b"SADD", k, b"1000"])]),
    ]),
    "zset": (_zset_setup, [
        ("zadd", lambda ks, size, r: [[b"ZADD", k, b"%d" % r.randrange(1000),
                                       b"member:%d" % r.randrange(size)] for k in ks]),
        ("zscore", lambda ks, size, r: [[b"ZSCORE", k, b"member:%d" % r.randrange(size)]
                                        for k in ks]),
        ("zrank", lambda ks, size, r: [[b"ZRANK", k, b"member:%d" % r.randrange(size)]
                                       for k in ks]),
        ("zincrby", lambda ks, size, r: [[b"ZINCRBY", k, b"1", b"member:%d" % r.randrange(size)]
                                         for k in ks]),
    ]),
}
SIZES = (10, 100)


def measure(args) -> dict:
    """{"type/shape/size/command": microseconds per command}."""
    only = set(args.only.split(",")) if args.only else None
    results = {}
    for tname, (setup, rounds) in WORKLOADS.items():
        for shape in ("many", "hot"):
            for size in SIZES:
                todo = [(n, mk) for n, mk in rounds if only is None or n in only]
                if not todo:
                    continue
                h = Harness(args.pipeline)
                nkeys = args.keys if shape == "many" else 1
                keys = [b"%s:%d" % (tname.encode(), i) for i in range(nkeys)]
                setup(h, keys, size)
                rnd = random.Random(1)
                ks = _pick(keys, args.ops, rnd)
                batches = [(n, h.chunks(mk(ks, size, rnd))) for n, mk in todo]
                best = {n: float("inf") for n, _ in batches}
                for _ in range(args.reps):
                    for n, chunks in batches:
                        best[n] = min(best[n], h.feed(chunks))
                for n, _ in batches:
                    ncmds = args.ops * (2 if "+" in n else 1)
                    results[f"{tname}/{shape}/{size}/{n}"] = best[n] / ncmds * 1e6
    # the fixed cost of any command (parse, dispatch, reply), for reference
    h = Harness(args.pipeline)
    h.run([[b"SET", b"k", b"v"]])
    chunks = h.chunks([[b"GET", b"k"]] * args.ops)
    results["string/hot/1/get"] = min(h.feed(chunks) for _ in range(args.reps)) / args.ops * 1e6
    return results


# redis-benchmark's requests for the data type tests (without -r it sends
# "__rand_int__" literally), in its order: the pops empty what the pushes
# filled; LRANGE reads a 600-item list (redis-benchmark's is longer still:
# both are expanded deques)
SHAPES = [
    ("get", [b"GET", b"key:__rand_int__"]),
    ("lpush", [b"LPUSH", b"mylist", b"xxx"]),
    ("rpush", [b"RPUSH", b"mylist", b"xxx"]),
    ("lpop", [b"LPOP", b"mylist"]),
    ("rpop", [b"RPOP", b"mylist"]),
    ("sadd", [b"SADD", b"myset", b"element:__rand_int__"]),
    ("hset", [b"HSET", b"myhash", b"element:__rand_int__", b"xxx"]),
    ("spop", [b"SPOP", b"myset"]),
    ("zadd", [b"ZADD", b"myzset", b"0", b"element:__rand_int__"]),
    ("lrange_100", [b"LRANGE", b"biglist", b"0", b"99"]),
    ("lrange_300", [b"LRANGE", b"biglist", b"0", b"299"]),
    ("lrange_600", [b"LRANGE", b"biglist", b"0", b"599"]),
]


def measure_shapes(args) -> dict:
    """{"bench/<test>": microseconds per command} for :data:`SHAPES`."""
    only = set(args.only.split(",")) if args.only else None
    h = Harness(args.pipeline)
    h.run([[b"SET", b"key:__rand_int__", b"xxx"], [b"RPUSH", b"biglist"] + [b"xxx"] * 600])
    results = {}
    for name, request in SHAPES:
        if only is not None and name not in only:
            continue
        if name in ("lpop", "rpop"):    # every pop finds an item
            h.run([[b"DEL", b"mylist"], [b"RPUSH", b"mylist"] + [b"xxx"] * (args.ops * args.reps)])
        chunks = h.chunks([request] * args.ops)
        feed = h.client.data_received
        best = float("inf")
        for _ in range(args.reps):
            t0 = time.process_time()
            eval("[feed(data) for data in chunks]",      # (see the docstring)
                 {"feed": feed, "chunks": chunks})
            best = min(best, time.process_time() - t0)
        results[f"bench/{name}"] = best / args.ops * 1e6
    return results


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--ops", type=int, default=20_000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--only", default="", help="comma-separated command names")
    ap.add_argument("--json", default="", help="also write the results here")
    ap.add_argument("--compare", default="", help="a --json file of an earlier run")
    ap.add_argument("--shapes", action="store_true",
                    help="redis-benchmark's requests for the data type tests instead")
    args = ap.parse_args(argv)
    res = measure_shapes(args) if args.shapes else measure(args)
    old = {}
    if args.compare:
        with open(args.compare) as f:
            old = json.load(f)
    print(f"{'type/keys/size/command':32} {'us/cmd':>8}" + (f" {'before':>8} {'ratio':>6}" if old else ""))
    for name, us in res.items():
        line = f"{name:32} {us:8.2f}"
        if name in old:
            line += f" {old[name]:8.2f} {us / old[name]:6.2f}"
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
