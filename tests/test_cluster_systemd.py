"""The systemd units `redpoll cluster plan` writes.

systemd cannot run here (it is not PID 1 in a container), so the units are
checked the two ways that need no running systemd: ``systemd-analyze
verify`` accepts every unit (when systemd-analyze is installed; it reports
unknown keys, bad values and ExecStart paths that are not executable), and
each unit's ExecStart line is run as written (only /etc/redpoll/ pointed at
the plan's own files) under a stand-in for systemd's NOTIFY_SOCKET: a unit of
Type=notify must send READY=1 from its main process (no fork) once it
serves, STOPPING=1 on SIGTERM (what ``systemctl stop`` sends), and exit 0 so
that Restart=on-failure does not restart a clean stop.
"""

from __future__ import annotations

import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import redis

from redpoll.cluster.status import _pairs
from support import free_port, wait_until


def unit_fields(text: str) -> dict[str, str]:
    return dict(ln.split("=", 1) for ln in text.splitlines() if "=" in ln)


class NotifySocket:
    """What systemd listens on for sd_notify datagrams."""

    def __init__(self, path: Path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[str] = []

    def got(self, line: str) -> bool:
        try:
            self.messages.extend(self.sock.recv(4096).decode().splitlines())
        except socket.timeout:
            pass
        return line in self.messages

    def close(self) -> None:
        self.sock.close()


def test_plan_units_verify_and_notify(tmp_path):
    out = tmp_path / "plan"
    p1, p2, s1 = free_port(), free_port(), free_port()
    subprocess.run([sys.executable, "-m", "redpoll", "cluster", "plan", "--out", str(out),
                    "--primary", f"127.0.0.1:{p1}", "--replica", f"127.0.0.1:{p2}",
                    "--sentinel", f"127.0.0.1:{s1}", "--password", "pw",
                    "--data-dir", str(tmp_path / "data" / "{kind}-{port}")],
                   check=True, capture_output=True, timeout=60)
    host = out / "127.0.0.1"
    # the primary, the replica, the sentinel: the order the plan's README starts them
    units = [host / f"redpoll-server-{p1}.service", host / f"redpoll-server-{p2}.service",
             host / "redpoll-sentinel.service"]
    assert sorted(host.glob("*.service")) == sorted(units)

    analyze = shutil.which("systemd-analyze")
    if analyze:         # not installed: only this step is left out
        for u in units:
            r = subprocess.run([analyze, "verify", str(u)], capture_output=True, text=True,
                               timeout=60)
            assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), \
                f"systemd-analyze verify {u.name}:\n{r.stdout}{r.stderr}"

    procs: list[subprocess.Popen] = []
    socks: list[NotifySocket] = []
    try:
        for u, port in zip(units, (p1, p2, s1)):
            f = unit_fields(u.read_text())
            assert f["Type"] == "notify" and f["Restart"] == "on-failure"
            assert f["LimitNOFILE"] == "65535"
            argv = [a.replace("/etc/redpoll/", f"{host}/") for a in shlex.split(f["ExecStart"])]
            assert Path(argv[0]).name in ("redpoll-server", "redpoll-sentinel")
            assert argv[-4:] == ["--supervised", "systemd", "--daemonize", "no"]
            (tmp_path / "data" / f"{'sentinel' if port == s1 else 'server'}-{port}").mkdir(
                parents=True, exist_ok=True)
            ns = NotifySocket(tmp_path / f"notify-{port}.sock")
            socks.append(ns)
            # systemd's environment is nearly empty: the unit must not need ours
            proc = subprocess.Popen(argv, env={"NOTIFY_SOCKET": ns.path,
                                               "PATH": "/usr/bin:/bin"},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            wait_until(lambda: ns.got("READY=1") or proc.poll() is not None, 90, interval=0,
                       what=f"READY=1 from {u.name}")
            assert proc.poll() is None, f"{u.name} exited: {proc.returncode}"
            c = redis.Redis(port=port, password=None if port == s1 else "pw",
                            socket_timeout=10, decode_responses=True)
            assert c.info("server")["process_id"] == proc.pid     # the main process serves
            if port == p2:
                wait_until(lambda: c.info("replication")["master_link_status"] == "up", 60,
                           interval=0.2, what="the replica's link to the primary")
            if port == s1:
                wait_until(lambda: int(_pairs(c.execute_command(
                    "SENTINEL", "MASTER", "mymaster"))["num-slaves"]) == 1, 60,
                    interval=0.2, what="the sentinel finds the replica")
            c.close()
        for proc, ns in zip(reversed(procs), reversed(socks)):     # systemctl stop
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0
            wait_until(lambda: ns.got("STOPPING=1"), 5, interval=0,
                       what="STOPPING=1 on SIGTERM")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for ns in socks:
            ns.close()
