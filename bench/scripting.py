"""EVALSHA throughput of redpoll against real Redis, side by side, in one run.

Starts a redpoll-server and a real redis-server on free ports (bench/common.py),
loads a few small scripts with SCRIPT LOAD into both, and runs redis-benchmark
with ``evalsha <sha> ...`` as an arbitrary command at ``-P 1`` and ``-P 16``;
prints requests/s for each server and the ratio redpoll/redis. Plain SET is
measured the same way, as the yardstick of what a command costs us without Lua.

    python bench/scripting.py [-n 100000] [-c 50] [--scripts plain,set,get,ret1] [--rounds 1]
                              [--baseline SRC]

``--inprocess`` measures instead the CPU cost of one call in this process
(a Server with every room installed, ``Server.execute`` on a client whose
transport only counts bytes; time.process_time, best of 7 rounds). Its loop
runs inside ``eval()``, so that callgrind can count the instructions of the
loop alone, deterministically on a busy machine:

    PYTHONHASHSEED=0 valgrind --tool=callgrind --toggle-collect=builtin_eval \
        python bench/scripting.py --inprocess -n 300 --rounds 1 --scripts set

(run with two -n values and divide the difference by the difference of -n).

The servers are measured alternately, script by script, so that a busy
machine affects them alike; with ``--rounds R`` every measurement is repeated
R times and the best of them is kept. ``--baseline SRC`` adds a third server:
redpoll run from another source tree (its ``src`` directory, e.g. from
``git archive <commit> src | tar -x -C /tmp/old``), for before/after tables.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import socket
import subprocess
import sys

from common import Proc
from throughput import bench as bench_test

PLAIN = "plain"     # the yardstick: SET without a script
# name -> (script body, arguments after the sha: numkeys, keys..., args...)
SCRIPTS = {
    "set": (b"return redis.call('SET', KEYS[1], ARGV[1])", ["1", "key:__rand_int__", "val"]),
    "get": (b"return redis.call('GET', KEYS[1])", ["1", "key:__rand_int__"]),
    "ret1": (b"return 1", ["0"]),
}


def script_load(port: int, body: bytes) -> str:
    """SCRIPT LOAD ``body`` over a raw connection; returns the sha1."""
    req = b"*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n$%d\r\n%b\r\n" % (len(body), body)
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        s.sendall(req)
        data = b""
        while not data.endswith(b"\r\n") or data.startswith(b"$") and data.count(b"\r\n") < 2:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"$40\r\n"):
        raise RuntimeError(f"SCRIPT LOAD failed: {data!r}")
    return data[5:45].decode()


def bench_command(port: int, argv: list[str], n: int, pipeline: int, clients: int) -> float:
    """requests/s of redis-benchmark sending ``argv`` (with __rand_int__ keys)."""
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-n", str(n), "-c", str(clients),
         "-P", str(pipeline), "-r", "100000", "--csv", *argv],
        capture_output=True, text=True, timeout=600).stdout
    for line in out.splitlines():
        parts = [p.strip('"') for p in line.split('","')]
        if len(parts) > 1 and parts[0] != "test":
            return float(parts[1])
    raise RuntimeError(f"no result from redis-benchmark: {out!r}")


def redpoll_from(src: str) -> Proc:
    """A redpoll server whose package comes from the source tree ``src``."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.path.abspath(src)
    try:
        return Proc("redpoll")
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


def inprocess(names: list[str], n: int, rounds: int) -> None:
    """CPU per call of EVALSHA (and plain SET) through Server.execute, in process."""
    import asyncio
    import time

    from redpoll import bootstrap
    from redpoll.client import Client
    from redpoll.commands import table
    from redpoll.config.loader import Config
    from redpoll.server import Server

    class CountingTransport:
        def __init__(self):
            self.n = 0

        def write(self, data):
            self.n += len(data)

        def get_write_buffer_size(self):
            return 0

        def get_extra_info(self, *_a, **_k):
            return None

        def close(self):
            pass

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    cfg = Config()
    cfg.load(None, [])
    srv = Server(cfg)
    bootstrap.install(srv)
    srv.loop = loop
    table.load_all()
    c = Client(srv)
    c.transport = CountingTransport()
    srv.clients[c.id] = c
    c._in_batch = True          # replies accumulate in c.out; dropped below
    tests = {}
    for name in names:
        if name == PLAIN:
            tests["SET (plain)"] = [b"SET", b"key:1", b"val"]
            continue
        body, rest = SCRIPTS[name]
        srv.execute(c, [b"SCRIPT", b"LOAD", body])
        sha = hashlib.sha1(body).hexdigest().encode()
        tests[f"evalsha {name}"] = [b"EVALSHA", sha] + [
            a.replace("__rand_int__", "1").encode() for a in rest]
    loop_code = compile("for _ in range(n):\n    execute(c, argv)\n    out.clear()\n",
                        "loop", "exec")
    for label, argv in tests.items():
        for _ in range(100):
            srv.execute(c, argv)
        c.out.clear()
        best = float("inf")
        for _ in range(rounds):
            t0 = time.process_time()
            eval(loop_code, {"n": n, "execute": srv.execute, "c": c, "argv": argv,
                             "out": c.out})
            best = min(best, time.process_time() - t0)
        print(f"{label:<18} {best / n * 1e6:8.2f} µs/call (CPU, in process)", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100000)
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("--scripts", default=",".join([PLAIN, *SCRIPTS]),
                    help=f"comma-separated: {PLAIN} (SET without a script), "
                         f"{', '.join(SCRIPTS)}")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--pipelines", default="1,16")
    ap.add_argument("--baseline", help="also run redpoll from this source tree (its src dir)")
    ap.add_argument("--inprocess", action="store_true",
                    help="CPU per call in this process instead of redis-benchmark")
    args = ap.parse_args()
    names = args.scripts.split(",")
    if args.inprocess:
        inprocess(names, args.n, args.rounds)
        return 0
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(Proc("redpoll")), stack.enter_context(Proc("redis"))]
        labels = ["redpoll rps", "redis rps"]
        if args.baseline:
            servers.append(stack.enter_context(redpoll_from(args.baseline)))
            labels.append("before rps")
        shas = {}
        for name in names:
            if name == PLAIN:
                continue
            body = SCRIPTS[name][0]
            got = {script_load(srv.port, body) for srv in servers}
            assert len(got) == 1, got
            shas[name] = got.pop()
        print(f"{'test':<18} {'pipe':<6} " + " ".join(f"{x:>12}" for x in labels)
              + f" {'ratio':>6}")
        for p in (int(x) for x in args.pipelines.split(",")):
            for name in names:
                best = [0.0] * len(servers)
                for _ in range(args.rounds):
                    for i, srv in enumerate(servers):
                        if name == PLAIN:
                            rps = bench_test(srv.port, "set", args.n, p, args.c).get("SET", 0.0)
                        else:
                            argv = ["evalsha", shas[name], *SCRIPTS[name][1]]
                            rps = bench_command(srv.port, argv, args.n, p, args.c)
                        best[i] = max(best[i], rps)
                label = "SET (plain)" if name == PLAIN else f"evalsha {name}"
                ratio = best[0] / best[1] if best[1] else 0.0
                print(f"{label:<18} -P {p:<3} " + " ".join(f"{x:>12,.0f}" for x in best)
                      + f" {ratio:>6.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
