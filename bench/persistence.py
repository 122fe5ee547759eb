"""Persistence speed of redpoll against real Redis, side by side, in one run.

* BGSAVE time and RDB load time (DEBUG RELOAD NOSAVE) for N keys (default
  1,000,000 ``key:<i>`` -> ``value:<i>`` strings, loaded with redis-cli
  --pipe); target (issue 4): redpoll <= 3x Redis's time;
* SET throughput with ``appendonly yes, appendfsync everysec`` on both
  (redis-benchmark -t set -P 16 -c 50); target: ratio >= 0.65. The same
  without the AOF is shown too, to tell the AOF's own cost from the rest.

    python bench/persistence.py [-n 1000000] [--set-requests 200000]
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import time

from common import Proc, machine


def call(port: int, *argv: str, timeout: float = 600) -> bytes:
    out = subprocess.run(["redis-cli", "-p", str(port), *argv], capture_output=True,
                         timeout=timeout)
    return out.stdout.strip()


def info(port: int, field: str) -> str:
    for line in call(port, "info", "persistence").decode().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return ""


def populate(port: int, n: int) -> None:
    chunks = []
    for i in range(n):
        k = b"key:%d" % i
        v = b"value:%d" % i
        chunks.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    data = b"".join(chunks)
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=data,
                   capture_output=True, timeout=1800, check=True)
    got = int(call(port, "dbsize"))
    if got != n:
        raise RuntimeError(f"populate: {got} keys instead of {n}")


def time_bgsave(port: int) -> float:
    t0 = time.perf_counter()
    call(port, "bgsave")
    deadline = time.monotonic() + 1800
    while info(port, "rdb_bgsave_in_progress") != "0":
        if time.monotonic() > deadline:
            raise RuntimeError("BGSAVE did not finish")
        time.sleep(0.01)
    if info(port, "rdb_last_bgsave_status") != "ok":
        raise RuntimeError("BGSAVE failed")
    return time.perf_counter() - t0


def time_load(port: int) -> float:
    t0 = time.perf_counter()
    r = call(port, "debug", "reload", "nosave")
    if r != b"OK":
        raise RuntimeError(f"DEBUG RELOAD: {r!r}")
    return time.perf_counter() - t0


def set_throughput(port: int, n: int) -> float:
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(n),
                          "-c", "50", "-P", "16", "--csv"],
                         capture_output=True, text=True, timeout=1800).stdout
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] != "test":
            return float(row[1])
    raise RuntimeError("redis-benchmark gave no result")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--set-requests", type=int, default=200_000)
    a = ap.parse_args()
    print(machine())
    results = {}
    servers = {kind: Proc(kind, ["--enable-debug-command", "yes"])
               for kind in ("redis", "redpoll")}
    try:
        for kind, p in servers.items():
            populate(p.port, a.n)
        for kind, p in servers.items():
            results[(kind, "bgsave")] = time_bgsave(p.port)
        for kind, p in servers.items():
            results[(kind, "load")] = time_load(p.port)
            if int(call(p.port, "dbsize")) != a.n:
                raise RuntimeError(f"{kind}: wrong key count after reload")
    finally:
        for p in servers.values():
            p.stop()
    for kind in ("redis", "redpoll"):
        for what, extra in (("set", ["--appendonly", "yes", "--appendfsync", "everysec"]),
                            ("set-noaof", [])):
            with Proc(kind, extra) as p:
                results[(kind, what)] = set_throughput(p.port, a.set_requests)
    ok = True
    for what in ("bgsave", "load"):
        rp, rd = results[("redpoll", what)], results[("redis", what)]
        ratio = rp / rd if rd else float("inf")
        good = ratio <= 3.0
        ok &= good
        print(f"{what:>7} {a.n} keys: redpoll {rp:.2f}s  redis {rd:.2f}s  "
              f"ratio {ratio:.2f}x (target <= 3x) {'OK' if good else 'MISSED'}")
    rp, rd = results[("redpoll", "set")], results[("redis", "set")]
    ratio = rp / rd
    good = ratio >= 0.65
    ok &= good
    print(f"    SET appendonly everysec: redpoll {rp:.0f}/s  redis {rd:.0f}/s  "
          f"ratio {ratio:.2f} (target >= 0.65) {'OK' if good else 'MISSED'}")
    # the AOF's own cost: throughput with the AOF as a share of without it
    for kind in ("redpoll", "redis"):
        on, off = results[(kind, "set")], results[(kind, "set-noaof")]
        print(f"    {kind} SET without AOF {off:.0f}/s: with AOF = {on / off:.0%} of it")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
