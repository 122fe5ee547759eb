"""Throughput of redpoll against real Redis, side by side, in one run.

Runs redis-benchmark (``-t set,get,incr,mset,ping -n N -c 50``) at ``-P 1``
and ``-P 16`` against a redpoll-server and a real redis-server started on free
ports, and prints requests/s for each and the ratio redpoll/redis. The targets
(issue 2) are a ratio >= 0.70 at -P 1 and >= 0.75 at -P 16 on every test.

    python bench/throughput.py [-n 200000] [--tests core|types|all] [--write docs/benchmarks.md]

``core`` is issue 2's set; ``types`` adds the data type tests of issue 3
(lpush, rpush, lpop, rpop, sadd, hset, spop, zadd: same targets; lrange_100
and lrange_300: ratio >= 0.5).

The two servers are measured alternately test by test, so that a busy
machine affects both alike; with ``--rounds K`` each test runs K times on
each server (alternately) and the best run of each counts, which keeps a
neighbour's burst of CPU out of the ratios.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
import sys
import time

from common import Proc, machine

CORE = ["ping", "set", "get", "incr", "mset"]                       # issue 2
TYPES = ["lpush", "rpush", "lpop", "rpop", "sadd", "hset", "spop", "zadd",
         "lrange_100", "lrange_300"]                                   # issue 3
TARGET = {1: 0.70, 16: 0.75}
LRANGE_TARGET = 0.5             # LRANGE_100 / LRANGE_300 (issue 3)


def target(name: str, pipeline: int) -> float:
    return LRANGE_TARGET if name.startswith("LRANGE") else TARGET[pipeline]


def bench(port: int, test: str, n: int, pipeline: int, clients: int) -> dict[str, float]:
    out = subprocess.run(
        ["redis-benchmark", "-p", str(port), "-t", test, "-n", str(n), "-c", str(clients),
         "-P", str(pipeline), "--csv"],
        capture_output=True, text=True, timeout=600).stdout
    res = {}
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] != "test":
            res[row[0]] = float(row[1])
    return res


def best_of(ports: list[int], test: str, n: int, pipeline: int, clients: int,
            rounds: int) -> list[dict[str, float]]:
    """Run ``test`` ``rounds`` times on each server, alternately, and keep
    each server's best requests/s per benchmark name."""
    best: list[dict[str, float]] = [{} for _ in ports]
    for _ in range(max(1, rounds)):
        for b, port in zip(best, ports):
            for name, rps in bench(port, test, n, pipeline, clients).items():
                b[name] = max(b.get(name, 0.0), rps)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("--tests", choices=("core", "types", "all"), default="all")
    ap.add_argument("--rounds", type=int, default=1,
                    help="runs per test and server; the best of each counts")
    ap.add_argument("--write", help="write the table as Markdown to this file")
    args = ap.parse_args()
    rows = []
    with Proc("redpoll") as rp, Proc("redis") as rd:
        for p in (1, 16):
            for t in {"core": CORE, "types": TYPES, "all": CORE + TYPES}[args.tests]:
                a, b = best_of([rp.port, rd.port], t, args.n, p, args.c, args.rounds)
                for name in a:
                    ratio = a[name] / b[name] if b.get(name) else 0.0
                    rows.append((name, p, a[name], b.get(name, 0.0), ratio))
                    print(f"{name:<16} -P {p:<3} redpoll {a[name]:>11,.0f} rps   "
                          f"redis {b.get(name, 0):>11,.0f} rps   ratio {ratio:5.2f}"
                          f"{'' if ratio >= target(name, p) else '  (below target %.2f)' % target(name, p)}",
                          flush=True)
    if args.write:
        lines = [
            "# Throughput: redpoll vs Redis",
            "",
            f"`python bench/throughput.py -n {args.n} --rounds {args.rounds}` on "
            f"{time.strftime('%Y-%m-%d')}, "
            f"redis-benchmark with {args.c} clients.",
            "",
            f"Machine: {machine()}",
            "",
            "| test | pipeline | redpoll rps | redis rps | ratio | target |",
            "|---|---|---|---|---|---|",
        ]
        for name, p, a, b, r in rows:
            lines.append(f"| {name} | {p} | {a:,.0f} | {b:,.0f} | {r:.2f} | {target(name, p):.2f} |")
        with open(args.write, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
