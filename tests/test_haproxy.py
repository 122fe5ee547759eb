"""HAProxy in front of a Sentinel-managed redpoll group, with the seed's
configuration (docs/sentinel/haproxy.cfg) as written: only its ports and
server addresses are replaced by the test's free ports. HAProxy's tcp-check
(PING / +PONG, ``info replication`` / role:master, QUIT / +OK) must route
clients to the primary, and to the new primary after a Sentinel failover.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import redis

from support import REPO, ServerProcess, free_port, wait_until
from test_sentinel import Group

CFG = REPO / "docs" / "sentinel" / "haproxy.cfg"


def haproxy_config(front_port: int, servers: list[int]) -> str:
    text = CFG.read_text()
    text = text.replace("bind *:6380 ", f"bind *:{front_port} ")
    lines = text.split("\n")
    i = 0
    for n, line in enumerate(lines):
        m = re.match(r"(\s*server \S+ )\S+( check inter 1s)$", line)
        if m:
            lines[n] = f"{m.group(1)}127.0.0.1:{servers[i]}{m.group(2)}"
            i += 1
    assert i == len(servers)
    return "\n".join(lines)


class HAProxy:
    def __init__(self, config: str):
        self.dir = tempfile.mkdtemp(prefix="haproxy-test-")
        self.path = Path(self.dir) / "haproxy.cfg"
        self.path.write_text(config)
        exe = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self.proc = subprocess.Popen([exe, "-db", "-f", str(self.path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


def _through(port: int):
    """(run_id, role) of the server a new connection through HAProxy reaches,
    after a write; None when the connection fails."""
    c = redis.Redis(port=port, socket_timeout=2, socket_connect_timeout=2,
                    decode_responses=True)
    try:
        c.set("via-haproxy", "1")
        return c.info("server")["run_id"], c.info("replication")["role"]
    except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
        return None
    finally:
        c.close()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("down_after", [1000, 5000])
def test_haproxy_routes_to_primary_and_follows_failover(down_after):
    """The seed's layout: a primary, a replica and three sentinels (quorum 2)."""
    g = Group(replicas=1, sentinels=3, down_after=down_after, failover_timeout=10000)
    front = free_port()
    hp = None
    try:
        g.wait_discovered()
        hp = HAProxy(haproxy_config(front, [g.primary.port, g.replicas[0].port]))
        primary_id = g.primary.client(decode_responses=True).info("server")["run_id"]
        replica_id = g.replicas[0].client(decode_responses=True).info("server")["run_id"]
        # servers start "up" in HAProxy: wait until its checks have marked
        # the replica down (fall 3 x inter 1s) and every connection lands right
        wait_until(lambda: all(_through(front) == (primary_id, "master")
                               for _ in range(6)), 20,
                   what="HAProxy routes to the primary")
        for _ in range(10):
            assert _through(front) == (primary_id, "master")
        g.primary.kill()
        wait_until(lambda: all(_through(front) == (replica_id, "master")
                               for _ in range(6)), 30 + down_after / 1000,
                   what="HAProxy routes to the new primary")
        # the old primary returns and is demoted: HAProxy keeps it out
        back = ServerProcess("redpoll", port=g.primary.port)
        g.procs.append(back)
        back.start()
        wait_until(lambda: back.client().info("replication")["role"] == "slave", 15,
                   what="old primary demoted")
        for _ in range(10):
            assert _through(front) == (replica_id, "master")
    finally:
        if hp is not None:
            hp.stop()
        g.close()
