"""`redpoll cluster` driven as a user drives it: subprocesses, reading output.

up -> status --json -> write through the printed redis-cli line -> kill the
primary -> the failover shows in status -> start the old primary -> up again
(idempotent) -> down -> up restarts with the current roles -> down --purge;
plus the failures a user meets: a busy port, a wrong password, a node that
does not come up.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import redis

from support import free_port, wait_until

UP_FLAGS = ["--down-after", "1000", "--failover-timeout", "5000", "--timeout", "120"]


def cluster(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "redpoll", "cluster", *args],
                          capture_output=True, text=True, timeout=timeout)


def ok(*args, timeout: float = 300) -> str:
    r = cluster(*args, timeout=timeout)
    assert r.returncode == 0, f"redpoll cluster {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def status(d: Path) -> dict:
    return json.loads(ok("status", "--json", "--dir", str(d)))


def kill_leftovers(d: Path) -> None:
    """Whatever a failed test left running in the directory."""
    for pidfile in d.glob("*/*.pid"):
        try:
            pid = int(pidfile.read_text())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if str(d).encode() in f.read():
                    os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass


@pytest.fixture
def cdir(tmp_path):
    d = tmp_path / "cl"
    yield d
    if (d / "cluster.json").exists():
        cluster("down", "--dir", str(d), timeout=120)
    kill_leftovers(d)


def redis_cli_line(out: str) -> list[str]:
    lines = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("redis-cli ")]
    assert lines, out
    return shlex.split(lines[0])


def run_cli(line: list[str], *cmd: str) -> str:
    r = subprocess.run(line + list(cmd), capture_output=True, text=True, timeout=30)
    return (r.stdout + r.stderr).strip()


def test_up_write_kill_failover_down_and_up_again(cdir):
    port = free_port()
    out = ok("up", "--dir", str(cdir), "--port", str(port), *UP_FLAGS)
    assert f"primary    127.0.0.1:{port}" in out
    assert "from redis.sentinel import Sentinel" in out and "master_for('mymaster'" in out
    pw = json.loads((cdir / "cluster.json").read_text())["password"]
    assert len(pw) >= 16 and f"password   {pw}" in out

    st = status(cdir)
    assert st["primary"] == st["sentinel_primary"] == f"127.0.0.1:{port}"
    assert [s["role"] for s in st["servers"]] == ["primary", "replica", "replica"]
    assert all(s["link"] == "up" for s in st["servers"][1:])
    assert all(s["replicas_seen"] == 2 and s["sentinels_seen"] == 2 and not s["sdown"]
               for s in st["sentinels"])
    assert st["quorum"] == 2

    # the configs are the seeds' configs
    conf = (cdir / "server-2" / "redis.conf").read_text()
    assert f"requirepass {pw}\nmasterauth {pw}\nreplicaof 127.0.0.1 {port}\n" in conf
    sconf = (cdir / "sentinel-1" / "sentinel.conf").read_text()
    assert f"sentinel monitor mymaster 127.0.0.1 {port} 2" in sconf
    assert f"sentinel auth-pass mymaster {pw}" in sconf

    line = redis_cli_line(out)
    assert run_cli(line, "set", "greeting", "hello") == "OK"
    assert run_cli(line[:-3], "get", "greeting").startswith("NOAUTH")    # without -a
    wait_until(lambda: all(s["keys"] == 1 for s in status(cdir)["servers"]), 30,
               interval=0.5, what="the key on every server")

    text = ok("status", "--dir", str(cdir))      # not a terminal: plain text
    assert "node" in text and "server-1  primary" in text and "sentinel-3" in text

    out = ok("kill", "primary", "--dir", str(cdir))
    assert f"killed server-1 (primary, port {port}" in out

    def failed_over():
        st = status(cdir)
        p = st["primary"]
        return p and p != f"127.0.0.1:{port}" and st["sentinel_primary"] == p and p
    new_primary = wait_until(failed_over, 90, interval=0.5, what="failover in status")
    st = status(cdir)
    assert st["servers"][0]["error"] == "not running"
    new_port = int(new_primary.rsplit(":", 1)[1])
    promoted = [s for s in st["servers"] if s["port"] == new_port][0]
    assert promoted["keys"] == 1

    out = ok("start", "server-1", "--dir", str(cdir))
    assert f"started server-1 on port {port}" in out
    wait_until(lambda: status(cdir)["servers"][0]["link"] == "up"
               and status(cdir)["servers"][0]["master"] == new_primary, 90, interval=0.5,
               what="the old primary rejoins as a replica")

    out = ok("up", "--dir", str(cdir))           # up on a running cluster: nothing to do
    assert "everything already runs" in out and f"primary    {new_primary}" in out

    out = ok("down", "--dir", str(cdir))
    assert "stopped:" in out and "server-1" in out
    st = status(cdir)
    assert not any(n["running"] for n in st["servers"] + st["sentinels"])

    out = ok("up", "--dir", str(cdir))           # restart with the current roles
    assert f"primary    {new_primary}" in out
    line = redis_cli_line(out)
    assert run_cli(line, "get", "greeting") == "hello"    # saved and reloaded

    logs = ok("logs", "sentinel", "1", "--dir", str(cdir), "-n", "200")
    assert "+switch-master" in logs or "+monitor" in logs

    ok("down", "--purge", "--dir", str(cdir))
    assert not cdir.exists()


def test_manual_failover_behind_haproxy(cdir):
    out = ok("up", "--dir", str(cdir), "--port", str(free_port()), "--replicas", "1",
             "--haproxy", *UP_FLAGS)
    assert "HAProxy (always routes to the primary)" in out
    haproxy = redis_cli_line(out.split("HAProxy (always routes to the primary)")[1])
    assert run_cli(haproxy, "set", "k", "1") == "OK"
    before = status(cdir)["primary"]
    out = ok("failover", "--dir", str(cdir))
    assert "failover done: the primary is now server-2" in out
    st = status(cdir)
    assert st["primary"] == st["sentinel_primary"] != before
    assert st["servers"][0]["role"] == "replica" and st["servers"][0]["link"] == "up"
    assert st["haproxy"]["running"] and haproxy[haproxy.index("-p") + 1] == str(
        st["haproxy"]["port"])
    # HAProxy's health check moves clients to the new primary
    wait_until(lambda: run_cli(haproxy, "incr", "k").isdigit(), 60, interval=0.3,
               what="a write through HAProxy after the failover")
    # the vote is only visible while an election runs (Redis resets it on switch-master)
    assert all("leader" in s and s["epoch"] >= 1 for s in st["sentinels"])

    assert "killed server-1 (replica" in ok("kill", "replica", "1", "--dir", str(cdir))
    assert "killed sentinel-2 (sentinel" in ok("kill", "sentinel", "2", "--dir", str(cdir))
    st = status(cdir)
    assert st["servers"][0]["error"] == st["sentinels"][1]["error"] == "not running"
    r = cluster("kill", "sentinel", "2", "--dir", str(cdir))
    assert r.returncode == 1 and "is not running; start it with" in r.stderr
    out = ok("start", "--dir", str(cdir))         # everything that is stopped
    assert "started server-1" in out and "started sentinel-2" in out
    wait_until(lambda: status(cdir)["servers"][0]["link"] == "up", 60, interval=0.5,
               what="the restarted replica in sync")


def test_busy_port(cdir):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        r = cluster("up", "--dir", str(cdir), "--port", str(busy))
    assert r.returncode == 1
    assert f"port {busy} is busy" in r.stderr and "--port" in r.stderr
    assert not (cdir / "cluster.json").exists()


def test_wrong_password_and_node_that_does_not_come_up(cdir):
    port = free_port()
    out = ok("up", "--dir", str(cdir), "--port", str(port), "--replicas", "0",
             "--sentinels", "0", "--password", "s3cret", *UP_FLAGS)
    assert "-a s3cret" in out
    r = cluster("up", "--dir", str(cdir), "--password", "other")
    assert r.returncode == 1 and "wrong password" in r.stderr
    assert "without --password" in r.stderr
    watch = ok("status", "--watch", "--for", "1", "--interval", "0.3", "--dir", str(cdir))
    assert watch.count("server-1  primary") >= 2          # refreshed, plain text in a pipe
    ok("down", "--dir", str(cdir))

    conf = cdir / "server-1" / "redis.conf"
    conf.write_text(conf.read_text() + "no-such-directive yes\n")
    r = cluster("up", "--dir", str(cdir))
    assert r.returncode == 1
    assert "server-1" in r.stderr and "exited while starting" in r.stderr
    assert "no-such-directive" in r.stderr        # the tail of its log


def test_plan_files_and_bad_input(tmp_path):
    out = tmp_path / "plan"
    text = ok("plan", "--out", str(out), "--primary", "127.0.0.1:7001",
              "--replica", "127.0.0.1:7002", "--replica", "10.1.2.3",
              "--sentinel", "127.0.0.1:27001", "--sentinel", "127.0.0.1:27002",
              "--sentinel", "10.1.2.3", "--password", "pw")
    assert "password: pw" in text
    local = sorted(p.name for p in (out / "127.0.0.1").iterdir())
    assert local == ["redis-7001.conf", "redis-7002.conf", "redpoll-sentinel-27001.service",
                     "redpoll-sentinel-27002.service", "redpoll-server-7001.service",
                     "redpoll-server-7002.service", "sentinel-27001.conf",
                     "sentinel-27002.conf"]
    assert "replicaof 127.0.0.1 7001" in (out / "10.1.2.3" / "redis.conf").read_text()
    assert "\nreplicaof" not in (out / "127.0.0.1" / "redis-7001.conf").read_text()
    sconf = (out / "10.1.2.3" / "sentinel.conf").read_text()
    assert "sentinel monitor mymaster 127.0.0.1 7001 2\n" in sconf
    assert "sentinel announce-ip 10.1.2.3" in sconf and "port 26379" in sconf
    unit = (out / "127.0.0.1" / "redpoll-server-7002.service").read_text()
    assert "ExecStart=" in unit and "/etc/redpoll/redis-7002.conf --supervised systemd" in unit
    readme = (out / "README.md").read_text()
    assert "### 10.1.2.3" in readme and "systemctl enable --now redpoll-server.service" in readme
    hap = (out / "haproxy.cfg").read_text()
    assert "bind *:6380" in hap and "server redis_3 10.1.2.3:6379 check" in hap

    r = cluster("plan", "--out", str(out), "--primary", "h1")
    assert r.returncode == 1 and "not empty" in r.stderr
    r = cluster("plan", "--out", str(tmp_path / "p2"), "--primary", "h1:http")
    assert r.returncode == 1 and "bad port in 'h1:http'" in r.stderr
    r = cluster("plan", "--out", str(tmp_path / "p3"), "--primary", "h1", "--replica", "h1")
    assert r.returncode == 1 and "the same server address is given twice" in r.stderr
    r = cluster("plan", "--out", str(tmp_path / "p4"), "--primary", "h1", "--password", "a'b")
    assert r.returncode == 1 and "the password cannot contain \"'\"" in r.stderr
    assert not (tmp_path / "p4").exists()


def test_up_again_refuses_another_layout_and_cli_failures(cdir, tmp_path):
    """A one-server cluster: `up` again with other layout flags is refused (same
    flags are fine), `logs -f` follows the log, and the common mistakes print
    one line on stderr and exit 1."""
    port = free_port()
    ok("up", "--dir", str(cdir), "--port", str(port), "--replicas", "0", "--sentinels", "0",
       *UP_FLAGS)
    before = (cdir / "cluster.json").read_text()

    r = cluster("up", "--dir", str(cdir), "--replicas", "2", "--haproxy")
    assert r.returncode == 1 and r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err and "already holds a cluster (0 replicas, 0 sentinels" in err
    assert "cannot apply --replicas 2 --haproxy" in err
    assert f"redpoll cluster down --purge --dir {cdir}" in err
    assert (cdir / "cluster.json").read_text() == before
    out = ok("up", "--dir", str(cdir), "--replicas", "0", "--port", str(port), *UP_FLAGS)
    assert "everything already runs" in out           # the same layout: accepted

    # logs -f: a line logged after it started shows up on its output
    follow = subprocess.Popen([sys.executable, "-m", "redpoll", "cluster", "logs", "server-1",
                               "-f", "-n", "1", "--dir", str(cdir)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(follow.stdout), daemon=True)
        reader.start()
        wait_until(lambda: lines, 30, what="logs -f prints the last line")
        pw = json.loads((cdir / "cluster.json").read_text())["password"]
        c = redis.Redis(port=port, password=pw, socket_timeout=10)
        assert not any("CONFIG REWRITE" in ln for ln in lines)
        c.config_rewrite()                  # logs "CONFIG REWRITE executed with success."
        c.close()
        wait_until(lambda: any("CONFIG REWRITE executed" in ln for ln in lines), 30,
                   what="the new log line in logs -f")
        assert follow.poll() is None                   # still following
    finally:
        follow.terminate()
        follow.wait(10)
    reader.join(10)

    def fails(*args: str, says: str) -> None:
        r = cluster(*args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert r.stdout == "" and r.stderr.count("\n") == 1, (args, r.stderr)
        assert r.stderr.startswith(f"redpoll cluster {args[0]}: ") and says in r.stderr, \
            (args, r.stderr)

    d = ["--dir", str(cdir)]
    fails("failover", *d, says="this cluster has no sentinels")
    fails("kill", "replica", "1", *d, says="this cluster has no replicas")
    fails("kill", "replica", "x", *d, says="'x' is not a number: use 'replica 1'")
    fails("kill", "sentinel", "1", *d, says="no node named 'sentinel-1'")
    fails("logs", "server-9", *d, says="no node named 'server-9'")
    ok("kill", "primary", *d)
    fails("kill", "server-1", *d, says="server-1 is not running; start it with: "
                                      f"redpoll cluster start server-1 --dir {cdir}")
    fails("kill", "primary", *d, says="no running primary found; see: redpoll cluster status")

    missing = tmp_path / "missing"
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for cmd in ("status", "down", "failover", "logs", "start"):
        fails(cmd, "--dir", str(missing), says=f"no cluster in {missing} (no cluster.json); "
              f"create one with: redpoll cluster up --dir {missing}")
    fails("status", "--dir", str(a_file), says="is a file, not a cluster directory")
    fails("up", "--dir", str(a_file), says="is a file, not a directory; choose another --dir")
    fails("up", "--dir", "/proc/no-such-dir", says="cannot create /proc/no-such-dir")
    fails("up", "--dir", str(tmp_path / "neg"), "--replicas", "-1",
          says="--replicas and --sentinels must be 0 or more")
    assert not (tmp_path / "missing").exists()



class ReplyDroppingProxy:
    """A TCP relay in front of a sentinel that passes everything, except that a
    connection's replies stop once it sent SENTINEL FAILOVER: the reply to it
    is lost, as on a loaded machine where it comes after the client timed out."""

    def __init__(self, target_port: int):
        self.target = target_port
        self.failovers = 0          # SENTINEL FAILOVER commands that went through
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            self.conns += [client, upstream]
            state = {"drop": False}
            threading.Thread(target=self._pump, args=(client, upstream, state, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, state, False),
                             daemon=True).start()

    def _pump(self, src, dst, state, to_sentinel: bool) -> None:
        try:
            while data := src.recv(65536):
                if to_sentinel and b"FAILOVER" in data.upper():
                    self.failovers += 1
                    state["drop"] = True
                if to_sentinel or not state["drop"]:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.listener.close()
        for sock in self.conns:
            sock.close()


def test_failover_with_a_lost_reply_fails_over_once(cdir):
    """SENTINEL FAILOVER reaches the sentinel but its reply is lost: the CLI
    must neither resend it (redis-py retries a timed-out command by default)
    nor ask another sentinel; either would start a second failover, back to
    the old primary (the role flip once seen in CI)."""
    from redpoll.cluster.layout import Cluster
    port = free_port()
    ok("up", "--dir", str(cdir), "--port", str(port), "--replicas", "1", *UP_FLAGS)
    layout = Cluster.load(cdir)
    real = layout.node("sentinel-1").port
    proxy = ReplyDroppingProxy(real)
    try:
        layout.node("sentinel-1").port = proxy.port     # the CLI reaches sentinel-1 via it
        layout.save()
        out = ok("failover", "--dir", str(cdir))
        assert "failover done: the primary is now server-2" in out
        assert proxy.failovers == 1
    finally:
        layout.node("sentinel-1").port = real
        layout.save()
        proxy.close()
    st = status(cdir)
    assert st["primary"] == st["sentinel_primary"] != f"127.0.0.1:{port}"
    assert st["servers"][0]["role"] == "replica"
    assert [s["epoch"] for s in st["sentinels"]] == [1, 1, 1]     # one failover, one epoch
    logs = [(cdir / f"sentinel-{i}" / "sentinel.log").read_text() for i in (1, 2, 3)]
    assert sum(log.count("+failover-end ") for log in logs) == 1
    assert all(log.count("+switch-master") == 1 for log in logs)
