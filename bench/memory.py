"""Memory of redpoll against real Redis for the same dataset.

Two datasets, each loaded through pipelined raw RESP into a fresh
redpoll-server and a fresh real redis-server, side by side:

* ``strings``: N keys ``SET key:N value:N`` (default 1,000,000), target RSS
  ratio <= 2.5;
* ``collections`` (issue 3): 100,000 hashes of 10 fields, 100,000 sorted sets
  of 10 members and 100,000 lists of 10 items (and 100,000 sets of 10
  integers), one type per server pair, target RSS ratio <= 3 for each.

For each it prints INFO used_memory and the process RSS of both servers, and
the RSS ratio.

    python bench/memory.py [strings|collections|all] [-n N] [--write docs/memory-benchmark.md]
"""

from __future__ import annotations

import argparse
import socket
import sys
import time

from common import Proc, machine

MB = 1 << 20


def _resp(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in args)


def strings(i: int) -> bytes:
    return _resp(b"SET", b"key:%d" % i, b"value:%d" % i)


def hashes(i: int) -> bytes:
    args = [b"HSET", b"hash:%d" % i]
    for j in range(10):
        args += [b"field:%d" % j, b"value:%d:%d" % (i, j)]
    return _resp(*args)


def zsets(i: int) -> bytes:
    args = [b"ZADD", b"zset:%d" % i]
    for j in range(10):
        args += [b"%d" % (i + j), b"member:%d" % j]
    return _resp(*args)


def lists(i: int) -> bytes:
    return _resp(b"RPUSH", b"list:%d" % i, *[b"item:%d:%d" % (i, j) for j in range(10)])


def sets(i: int) -> bytes:
    return _resp(b"SADD", b"set:%d" % i, *[b"%d" % (i * 10 + j) for j in range(10)])


def load(port: int, n: int, make, batch: int = 5000) -> None:
    """Send n commands (one reply line each), pipelined by batch."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        for start in range(0, n, batch):
            end = min(n, start + batch)
            s.sendall(b"".join(make(i) for i in range(start, end)))
            want, got = end - start, 0
            while got < want:
                chunk = s.recv(1 << 20)
                if not chunk:
                    raise RuntimeError("connection closed")
                got += chunk.count(b"\r\n")


def used_memory(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"INFO memory\r\n")
        data = b""
        deadline = time.monotonic() + 10
        while b"used_memory:" not in data and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    for line in data.decode().split("\r\n"):
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def measure(n: int, make) -> dict:
    """{kind: (used_memory, rss, rss_empty, load_seconds)}"""
    res = {}
    for kind in ("redpoll", "redis"):
        with Proc(kind) as p:
            base = p.rss()
            t0 = time.monotonic()
            load(p.port, n, make)
            res[kind] = (used_memory(p.port), p.rss(), base, time.monotonic() - t0)
    return res


def table(rows: list) -> str:
    out = ["| dataset | server | used_memory | RSS | RSS empty | load time | RSS ratio |",
           "|---|---|---|---|---|---|---|"]
    for name, res, target in rows:
        ratio = res["redpoll"][1] / res["redis"][1]
        for kind in ("redpoll", "redis"):
            u, r, b, t = res[kind]
            cell = f"**{ratio:.2f}** (target <= {target})" if kind == "redpoll" else ""
            out.append(f"| {name} | {kind} | {u / MB:.1f} MiB | {r / MB:.1f} MiB | "
                       f"{b / MB:.1f} MiB | {t:.1f} s | {cell} |")
    return "\n".join(out) + "\n"


def write_section(path: str, name: str, section: str) -> None:
    """Replace (or add) the ``## name`` section of the results file."""
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = ""
    parts = doc.split("\n## ")
    head = parts[0] if not parts[0].startswith("## ") else ""
    if not head.startswith("# "):
        head = "# Memory: redpoll vs Redis\n"
    sections = {p.split("\n", 1)[0].strip(): "## " + p for p in parts[1:]}
    sections[name] = section
    with open(path, "w") as f:
        f.write(head.rstrip("\n") + "\n\n" + "\n".join(
            sections[k].rstrip("\n") + "\n" for k in sorted(sections)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", nargs="?", default="all", choices=["strings", "collections", "all"])
    ap.add_argument("-n", type=int, help="keys (default 1,000,000 strings, 100,000 per collection)")
    ap.add_argument("--write")
    args = ap.parse_args()
    rows = []
    if args.dataset in ("strings", "all"):
        n = args.n or 1_000_000
        rows.append((f"{n:,} strings", measure(n, strings), 2.5))
    if args.dataset in ("collections", "all"):
        n = args.n or 100_000
        for name, make in ((f"{n:,} hashes x 10 fields", hashes),
                           (f"{n:,} sorted sets x 10 members", zsets),
                           (f"{n:,} lists x 10 items", lists),
                           (f"{n:,} sets x 10 integers", sets)):
            rows.append((name, measure(n, make), 3))
            print(table(rows[-1:]), flush=True)
    text = table(rows)
    print(text)
    if args.write:
        section = (f"## {args.dataset}\n\n`python bench/memory.py {args.dataset}"
                   f"{' -n %d' % args.n if args.n else ''}` on {time.strftime('%Y-%m-%d')}.\n\n"
                   f"Machine: {machine()}\n\n{text}")
        write_section(args.write, args.dataset, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
