"""Memory of redpoll against real Redis for the same dataset.

Loads N keys (``SET key:N value:N``, default 1,000,000) into a redpoll-server
and a real redis-server through pipelined raw RESP, then prints INFO
used_memory and the process RSS of both, and the RSS ratio (target: <= 2.5).

    python bench/memory.py [-n 1000000] [--write docs/memory-benchmark.md]
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from common import Proc, machine


def load(port: int, n: int, batch: int = 10000) -> None:
    with socket.create_connection(("127.0.0.1", port)) as s:
        for start in range(0, n, batch):
            parts = []
            for i in range(start, min(n, start + batch)):
                k = b"key:%d" % i
                v = b"value:%d" % i
                parts.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$%d\r\n%b\r\n" % (len(k), k, len(v), v))
            s.sendall(b"".join(parts))
            want = 5 * (min(n, start + batch) - start)
            got = 0
            while got < want:
                got += len(s.recv(1 << 20))


def used_memory(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"INFO memory\r\n")
        data = b""
        deadline = time.monotonic() + 10
        while b"used_memory:" not in data or not data.endswith(b"\r\n\r\n") and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if data.count(b"\r\n") > 5 and b"used_memory:" in data:
                break
    for line in data.decode().split("\r\n"):
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--write")
    args = ap.parse_args()
    res = {}
    for kind in ("redpoll", "redis"):
        with Proc(kind) as p:
            base = p.rss()
            t0 = time.monotonic()
            load(p.port, args.n)
            res[kind] = (used_memory(p.port), p.rss(), base, time.monotonic() - t0)
    (ru, rr, rb, rt), (du, dr, db, dt) = res["redpoll"], res["redis"]
    mb = 1 << 20
    print(f"{args.n:,} keys")
    print(f"redpoll: used_memory {ru / mb:8.1f} MiB  RSS {rr / mb:8.1f} MiB (empty {rb / mb:.1f})  load {rt:.1f}s")
    print(f"redis:   used_memory {du / mb:8.1f} MiB  RSS {dr / mb:8.1f} MiB (empty {db / mb:.1f})  load {dt:.1f}s")
    print(f"RSS ratio redpoll/redis: {rr / dr:.2f} (target <= 2.5)")
    if args.write:
        with open(args.write, "w") as f:
            f.write(f"# Memory: redpoll vs Redis\n\n`python bench/memory.py -n {args.n}` on "
                    f"{time.strftime('%Y-%m-%d')}.\n\nMachine: {machine()}\n\n"
                    "| server | used_memory | RSS | RSS empty | load time |\n|---|---|---|---|---|\n"
                    f"| redpoll | {ru / mb:.1f} MiB | {rr / mb:.1f} MiB | {rb / mb:.1f} MiB | {rt:.1f} s |\n"
                    f"| redis | {du / mb:.1f} MiB | {dr / mb:.1f} MiB | {db / mb:.1f} MiB | {dt:.1f} s |\n\n"
                    f"RSS ratio redpoll/redis: **{rr / dr:.2f}** (target <= 2.5)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
