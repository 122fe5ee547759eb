"""Replication speed of redpoll against real Redis, side by side, in one run.

For each kind of server (redpoll, then redis) it reports:

* full sync time: a primary holding ``-n`` keys (default 1,000,000) and a
  fresh replica; time from ``REPLICAOF`` until the replica's link is up with
  every key (target: redpoll <= 3x Redis);
* SET throughput of the primary (redis-benchmark ``-t set -c 50 -P 16``)
  with no replica and with 2 replicas attached (target: <= 15% slower),
  measured on two primaries in turns so both see the same machine load;
* replication lag under that full write load: how far behind, in seconds,
  the replicas' acknowledged stream is from the primary's (sampled every
  50 ms), and how long they need to catch up once the load stops
  (target: within 1 second).

Every measurement runs ``--repeat`` times (redpoll and redis in turns) and
the best is kept: on a shared machine the noise only ever slows a run down.

    python bench/replication.py [-n 1000000] [--ops 300000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import bisect
import csv
import io
import subprocess
import sys
import threading
import time

import redis

from common import Proc, machine
from memory import load, strings     # SET key:<i> value:<i>, pipelined


def info(port: int) -> dict:
    return redis.Redis(port=port, socket_timeout=30).info("replication")


def wait(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except redis.RedisError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def set_throughput(port: int, ops: int) -> float:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(ops), "-c", "50",
         "-P", "16", "-r", "100000", "--csv"],
        capture_output=True, text=True, timeout=1200).stdout
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] != "test":
            return float(row[1])
    return 0.0


def full_sync(kind: str, n: int) -> float:
    with Proc(kind, ["--repl-diskless-sync-delay", "0"]) as p, Proc(kind) as r:
        load(p.port, n, strings, batch=10000)
        rc = redis.Redis(port=r.port, socket_timeout=60)
        t0 = time.monotonic()
        rc.execute_command("REPLICAOF", "127.0.0.1", p.port)
        wait(lambda: info(r.port)["master_link_status"] == "up" and rc.dbsize() == n,
             1800, "full sync")
        return time.monotonic() - t0


def load_with_replicas(kind: str, ops: int, repeat: int) -> tuple[list, list, float, float]:
    """SET/s of a primary alone and of one with 2 replicas, measured in turns
    (``repeat`` times each, so both see the same machine load), the max
    replication lag during the runs with replicas and the catch-up time after
    the last one: ([alone...], [with 2...], max lag s, catch-up s)."""
    fast = ["--repl-diskless-sync-delay", "0"]
    with Proc(kind, fast) as solo, Proc(kind, fast) as p, \
            Proc(kind, ["--replicaof", "127.0.0.1", str(p.port)]) as r1, \
            Proc(kind, ["--replicaof", "127.0.0.1", str(p.port)]) as r2:
        for r in (r1, r2):
            wait(lambda r=r: info(r.port)["master_link_status"] == "up", 600, "sync")
        alone, with2, lags = [], [], []
        for _ in range(repeat):
            alone.append(set_throughput(solo.port, ops))
            samples: list[tuple[float, int]] = []      # primary (time, offset)
            stop = threading.Event()

            def sample():
                while not stop.is_set():
                    now = time.monotonic()
                    off = info(p.port)["master_repl_offset"]
                    samples.append((now, off))
                    offs = [o for _, o in samples]
                    for r in (r1, r2):
                        roff = info(r.port).get("slave_repl_offset", 0)
                        # when did the primary reach what the replica applied?
                        i = bisect.bisect_left(offs, roff)
                        if i < len(samples):
                            lags.append(max(0.0, time.monotonic() - samples[i][0]))
                    time.sleep(0.05)
            t = threading.Thread(target=sample, daemon=True)
            t.start()
            with2.append(set_throughput(p.port, ops))
            stop.set()
            t.join()
        t0 = time.monotonic()
        target = info(p.port)["master_repl_offset"]
        wait(lambda: all(info(r.port).get("slave_repl_offset", 0) >= target
                         for r in (r1, r2)), 600, "catch-up")
        catch_up = time.monotonic() - t0
    return alone, with2, max(lags, default=0.0), catch_up


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000, help="keys for the full sync")
    ap.add_argument("--ops", type=int, default=300_000, help="SETs per benchmark run")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs of each measurement, redpoll and redis in turns (best kept)")
    args = ap.parse_args()
    print(f"Machine: {machine()}")
    syncs = {"redpoll": [], "redis": []}
    for _ in range(args.repeat):
        for kind in ("redpoll", "redis"):
            syncs[kind].append(full_sync(kind, args.n))
    res = {}
    for kind in ("redpoll", "redis"):
        alone, with2, lag, catch = load_with_replicas(kind, args.ops, args.repeat)
        sync, a, w = min(syncs[kind]), max(alone), max(with2)
        res[kind] = (sync, a, w, lag, catch)
        print(f"{kind:8} full sync of {args.n:,} keys: {sync:7.2f} s "
              f"(runs: {', '.join(f'{x:.2f}' for x in syncs[kind])}) | SET/s alone {a:8.0f}, "
              f"with 2 replicas {w:8.0f} ({100 * (1 - w / a) if a else 0:5.1f}% slower; runs "
              f"{', '.join(f'{x:.0f}' for x in alone)} / {', '.join(f'{x:.0f}' for x in with2)})"
              f" | max lag {lag:.2f} s, catch-up {catch:.2f} s")
    rp, rd = res["redpoll"], res["redis"]
    print(f"full sync time redpoll/redis: {rp[0] / rd[0]:.2f} (target <= 3)")
    print(f"redpoll SET slowdown with 2 replicas: "
          f"{100 * (1 - rp[2] / rp[1]) if rp[1] else 0:.1f}% (target <= 15%); "
          f"redis: {100 * (1 - rd[2] / rd[1]) if rd[1] else 0:.1f}%")
    print(f"redpoll max replication lag: {rp[3]:.2f} s (target <= 1 s); redis: {rd[3]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
