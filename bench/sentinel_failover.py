"""Failover time of redpoll-sentinel against real Redis Sentinel, same run,
same settings (issue 6's speed target).

For each down-after-milliseconds value and each run, two groups are built
one after the other -- redpoll servers watched by redpoll sentinels, then
Debian's redis-server watched by real Redis Sentinels -- each with 1 primary,
2 replicas, 3 sentinels (quorum 2, failover-timeout 5000 ms). A writer goes
through redis-py's ``Sentinel.master_for`` and confirms every write with
``WAIT 1 100``; the primary is killed with SIGKILL and the time from the kill
to the first write accepted again is measured. Afterwards every
acknowledged write is looked up on the new primary (lost = missing).

    python bench/sentinel_failover.py [--down-after 1000 5000] [--runs 3]

Prints a markdown table (the one in docs/sentinel.md) and exits 1 when
redpoll was slower than Redis Sentinel on average for some down-after value,
or lost an acknowledged write.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import redis
from redis.sentinel import Sentinel

from common import free_port, machine

NAME = "mymaster"


class Node:
    """A server or sentinel process on a free port (config file in its own
    directory), killed on close."""

    def __init__(self, kind: str, sentinel: bool = False, conf: str = "",
                 args: list[str] | None = None):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix=f"bench-sentinel-{kind}-")
        path = os.path.join(self.dir, "node.conf")
        with open(path, "w") as f:
            f.write(conf)
        exe = ([sys.executable, "-m", "redpoll", "server"] if kind == "redpoll"
               else [shutil.which("redis-server") or "redis-server"])
        cmd = exe + [path, "--port", str(self.port), "--dir", self.dir]
        cmd += ["--sentinel"] if sentinel else ["--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd + (args or []), cwd=self.dir,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(self._answers, 90, f"{kind} on port {self.port}")

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5, decode_responses=True)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def wait(cond, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except (OSError, redis.RedisError):
            pass
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


def failover_run(kind: str, down_after: int) -> tuple[float, int, int]:
    """(seconds from kill -9 to the first accepted write, acked writes, lost)."""
    nodes: list[Node] = []
    try:
        primary = Node(kind)
        nodes.append(primary)
        for _ in range(2):
            nodes.append(Node(kind, args=["--replicaof", "127.0.0.1", str(primary.port)]))
        conf = (f"sentinel monitor {NAME} 127.0.0.1 {primary.port} 2\n"
                f"sentinel down-after-milliseconds {NAME} {down_after}\n"
                f"sentinel failover-timeout {NAME} 5000\n")
        sentinels = [Node(kind, sentinel=True, conf=conf) for _ in range(3)]
        nodes += sentinels
        for s in sentinels:
            c = s.client()
            wait(lambda: len(c.execute_command("SENTINEL", "REPLICAS", NAME)) == 2
                 and len(c.execute_command("SENTINEL", "SENTINELS", NAME)) == 2, 30,
                 f"discovery by sentinel {s.port}", 0.1)
        sentinel = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=0.5)
        master = sentinel.master_for(NAME, socket_timeout=1, socket_connect_timeout=0.5)
        acked: list[int] = []
        n = 0

        def write() -> bool:
            nonlocal n
            try:
                master.set(f"w{n}", n)
                ok = master.execute_command("WAIT", 1, 100) >= 1
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError,
                    redis.ResponseError):
                return False
            if ok:
                acked.append(n)
            n += 1
            return True
        wait(lambda: write() and len(acked) >= 20, 30, "acknowledged writes", 0)
        primary.proc.send_signal(signal.SIGKILL)
        t0 = time.monotonic()
        wait(write, 60, "a write after the failover", 0.01)
        elapsed = time.monotonic() - t0
        for _ in range(50):
            write()
        host, port = sentinel.discover_master(NAME)
        new = redis.Redis(host=host, port=port, socket_timeout=5)
        lost = sum(1 for k in acked if new.get(f"w{k}") is None)
        return elapsed, len(acked), lost
    finally:
        for node in nodes:
            node.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--down-after", type=int, nargs="+", default=[1000, 5000])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    print("| down-after-milliseconds | run | redpoll | Redis Sentinel "
          "| acknowledged writes lost (redpoll / Redis) |")
    print("|---|---|---|---|---|")
    bad = False
    for down_after in args.down_after:
        ours_t, real_t = [], []
        for run in range(1, args.runs + 1):
            ours = failover_run("redpoll", down_after)
            real = failover_run("redis", down_after)
            ours_t.append(ours[0])
            real_t.append(real[0])
            bad |= ours[2] > 0
            print(f"| {down_after} | {run} | {ours[0]:.2f} s | {real[0]:.2f} s "
                  f"| {ours[2]} / {real[2]} |", flush=True)
        if statistics.mean(ours_t) > statistics.mean(real_t):
            bad = True
        print(f"| {down_after} | mean | {statistics.mean(ours_t):.2f} s "
              f"| {statistics.mean(real_t):.2f} s | |", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
