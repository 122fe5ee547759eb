"""`redpoll cluster plan` on real (virtual) hosts: network namespaces.

Three hosts h1..h3 are network namespaces with their own address on a
private 10.77.0.0/24 (which exists only inside them), joined by veth pairs to
a bridge that lives in a fourth, "switch" namespace, so nothing touches the
machine's own network. The files that ``plan`` wrote are run unchanged
(``ip netns exec H redpoll-server H/redis.conf``), under a NOTIFY_SOCKET the
test listens on, so the ``supervised systemd`` READY=1 of every process is
checked too. Then: replication across hosts, failover when the primary's
host is cut off (its link set down), and the old primary rejoining as a
replica when the link comes back. The namespaces are always torn down.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support import wait_until

SUBNET = "10.77.0"
HOSTS = 3


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {r.stderr}")
    return r


class Net:
    """The namespaces, their links, and the processes started inside them."""

    def __init__(self, tag: str):
        self.switch = f"rpsw{tag}"
        self.hosts = [f"rph{tag}{i}" for i in range(1, HOSTS + 1)]
        self.addr = {ns: f"{SUBNET}.{i}" for i, ns in enumerate(self.hosts, 1)}
        self.procs: list[subprocess.Popen] = []

    def build(self) -> None:
        sh("ip", "netns", "add", self.switch)
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")
        for i, ns in enumerate(self.hosts, 1):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth",
               "peer", "name", f"port{i}", "netns", self.switch)
            sh("ip", "-n", self.switch, "link", "set", f"port{i}", "master", "br0")
            sh("ip", "-n", self.switch, "link", "set", f"port{i}", "up")
            sh("ip", "-n", ns, "addr", "add", f"{self.addr[ns]}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")

    def run(self, ns: str, argv: list[str], log: Path, env: dict) -> subprocess.Popen:
        with open(log, "ab") as f:
            p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdout=f,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        self.procs.append(p)
        return p

    def cli(self, ns: str, port: int, *args: str, password: str | None = None) -> str:
        auth = ["-a", password, "--no-auth-warning"] if password else []
        r = sh("ip", "netns", "exec", ns, "redis-cli", "-h", "127.0.0.1", "-p", str(port),
               *auth, *args, check=False)
        return r.stdout.strip()

    def link(self, ns: str, up: bool) -> None:
        sh("ip", "-n", ns, "link", "set", "eth0", "up" if up else "down")

    def teardown(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    pass
        for ns in self.hosts + [self.switch]:
            sh("ip", "netns", "del", ns, check=False)


@pytest.fixture
def net():
    if os.geteuid() != 0:
        raise RuntimeError("the network namespace test needs root (ip netns add)")
    n = Net(str(os.getpid() % 100000))
    try:
        n.build()
        yield n
    finally:
        n.teardown()


def info(text: str) -> dict:
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def test_plan_on_three_namespaced_hosts_failover_and_rejoin(net, tmp_path):
    h1, h2, h3 = net.hosts
    a = net.addr
    out = tmp_path / "plan"
    pw = "netns-secret"
    r = subprocess.run(
        [sys.executable, "-m", "redpoll", "cluster", "plan", "--out", str(out),
         "--primary", a[h1], "--replica", a[h2], "--replica", a[h3],
         *sum((["--sentinel", a[h]] for h in net.hosts), []),
         "--password", pw, "--down-after", "1000", "--failover-timeout", "5000",
         "--data-dir", str(tmp_path / "data" / "{host}" / "{kind}")],
        capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    for h in net.hosts:
        files = sorted(p.name for p in (out / a[h]).iterdir())
        assert files == ["redis.conf", "redpoll-sentinel.service", "redpoll-server.service",
                         "sentinel.conf"]
        for kind in ("server", "sentinel"):
            (tmp_path / "data" / a[h] / kind).mkdir(parents=True)
    unit = (out / a[h1] / "redpoll-server.service").read_text()
    assert "Type=notify" in unit and "Restart=on-failure" in unit and "LimitNOFILE=" in unit
    assert f"server redis_1 {a[h1]}:6379 check" in (out / "haproxy.cfg").read_text()

    # the systemd side of Type=notify: a datagram socket that collects READY=1
    notify_path = str(tmp_path / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(0.5)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    ready: list[str] = []

    def wait_ready(n: int) -> None:
        def got():
            try:
                msg = notify.recv(4096).decode()
            except socket.timeout:
                return False
            ready.extend(line for line in msg.splitlines() if line == "READY=1")
            return len(ready) >= n
        wait_until(got, 90, interval=0, what=f"{n} READY=1 notifications")

    try:
        # the README's order: primary, replicas, then sentinels
        for h in net.hosts:
            net.run(h, [sys.executable, "-m", "redpoll", "server", str(out / a[h] / "redis.conf")],
                    tmp_path / f"{a[h]}-server.log", env)
        wait_ready(3)
        wait_until(lambda: info(net.cli(h1, 6379, "info", "replication", password=pw))
                   .get("connected_slaves") == "2", 60, interval=0.3,
                   what="two replicas across the bridge")
        for h in net.hosts:
            net.run(h, [sys.executable, "-m", "redpoll", "sentinel",
                        str(out / a[h] / "sentinel.conf")], tmp_path / f"{a[h]}-sentinel.log",
                    env)
        wait_ready(6)
        for h in net.hosts:
            wait_until(lambda h=h: _master_field(net, h, "num-other-sentinels") == "2" and
                       _master_field(net, h, "num-slaves") == "2", 60, interval=0.3,
                       what=f"sentinel on {h} sees the others")

        assert net.cli(h1, 6379, "set", "k", "v1", password=pw) == "OK"
        wait_until(lambda: all(net.cli(h, 6379, "get", "k", password=pw) == "v1"
                               for h in (h2, h3)), 30, interval=0.2, what="replicated")
        assert net.cli(h2, 6379, "set", "x", "1", password=pw).startswith("READONLY")

        # cut the primary's host off the network
        net.link(h1, up=False)
        t0 = time.monotonic()

        def new_primary():
            for h in (h2, h3):
                addr = net.cli(h, 26379, "sentinel", "get-master-addr-by-name", "mymaster")
                if addr.split("\n")[0] not in ("", a[h1]):
                    return addr.split("\n")[0]
            return None
        promoted = wait_until(new_primary, 90, interval=0.3, what="failover to h2 or h3")
        ph = next(h for h in (h2, h3) if a[h] == promoted)
        wait_until(lambda: info(net.cli(ph, 6379, "info", "replication", password=pw))
                   .get("role") == "master", 30, interval=0.3, what="promoted")
        print(f"\nfailover after cutting the primary off: {time.monotonic() - t0:.1f}s")
        assert net.cli(ph, 6379, "set", "k", "v2", password=pw) == "OK"
        # the cut-off primary still believes it is the primary
        assert info(net.cli(h1, 6379, "info", "replication", password=pw))["role"] == "master"

        # link back: the old primary is turned into a replica of the new one
        net.link(h1, up=True)

        def rejoined():
            i = info(net.cli(h1, 6379, "info", "replication", password=pw))
            return (i.get("role") == "slave" and i.get("master_host") == promoted
                    and i.get("master_link_status") == "up")
        wait_until(rejoined, 90, interval=0.3, what="old primary rejoins as a replica")
        wait_until(lambda: net.cli(h1, 6379, "get", "k", password=pw) == "v2", 30,
                   interval=0.2, what="old primary has the new data")
        wait_until(lambda: net.cli(h1, 26379, "sentinel", "get-master-addr-by-name",
                                   "mymaster").split("\n")[0] == promoted, 30, interval=0.3,
                   what="h1's sentinel learns the new primary")
    finally:
        notify.close()


def _master_field(net: Net, ns: str, field: str) -> str | None:
    lines = net.cli(ns, 26379, "sentinel", "master", "mymaster").splitlines()
    for k, v in zip(lines[::2], lines[1::2]):
        if k == field:
            return v
    return None
