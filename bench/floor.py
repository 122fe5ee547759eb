"""How fast can any Python server be? The floor server (bench/floor_server.py:
uvloop + hiredis, a dict and one write per read, no Redis semantics) against
real Redis, with the runner of bench/throughput.py, then redpoll in the same
run. If the floor itself is below a target ratio, no Python implementation
on this runtime meets it; the gap between redpoll and the floor is what
redpoll's own code costs.

    python bench/floor.py [-n 200000] [--rounds K]

With ``--rounds K`` each test runs K times on each server, alternately, and
the best run of each counts (as bench/throughput.py).
"""

from __future__ import annotations

import argparse
import sys

from common import Proc, machine
from throughput import best_of


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    print(f"Machine: {machine()}")
    with Proc("floor") as fl, Proc("redpoll") as rp, Proc("redis") as rd:
        for p in (1, 16):
            for t in ("set", "get"):
                servers = {"floor": fl, "redpoll": rp, "redis": rd}
                r = dict(zip(servers, best_of([s.port for s in servers.values()],
                                              t, args.n, p, args.c, args.rounds)))
                for name, ref in r["redis"].items():
                    f, m = r["floor"].get(name, 0), r["redpoll"].get(name, 0)
                    print(f"{name:<5} -P {p:<3} redis {ref:>11,.0f}   floor {f:>11,.0f} "
                          f"({f / ref:4.2f})   redpoll {m:>11,.0f} ({m / ref:4.2f})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
