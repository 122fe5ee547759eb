"""Test support: real server processes on free ports, and bounded waiting.

Tests never mock the server: they start ``redpoll-server`` (and, for the
differential tests, Debian's ``redis-server``) as processes and talk to them
over TCP with real clients.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 and ::1 right now."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET6) as s6:
                s6.bind(("::1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


def wait_until(cond, timeout: float = 10.0, interval: float = 0.02, what: str = "condition"):
    """Poll ``cond()`` until it returns a truthy value; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # the condition may fail while things start
            last_exc = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_exc!r})" if last_exc else ""))


def keyevents_until(sub, last: tuple[bytes, bytes], timeout: float = 5.0) -> list:
    """The (channel, data) pairs a redis-py pattern subscriber ``sub``
    receives, up to and including ``last`` (a marker event the test fires
    after what it watches); fails if ``last`` does not come within ``timeout``."""
    got: list = []

    def arrived() -> bool:
        m = sub.get_message(timeout=0.2)
        if m and m["type"] == "pmessage":
            got.append((m["channel"], m["data"]))
        return last in got
    wait_until(arrived, timeout=timeout, interval=0, what=f"event {last!r}")
    return got


class ServerProcess:
    """A redis-compatible server process (redpoll or real redis) on a free port."""

    def __init__(self, kind: str = "redpoll", args: list[str] | None = None,
                 config: str | None = None, port: int | None = None,
                 workdir: str | None = None, password: str | None = None,
                 stdin_config: str | None = None):
        self.kind = kind
        self.port = port or free_port()
        self.args = list(args or [])
        self.password = password
        self._own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix=f"{kind}-test-")
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.dir, "redis.conf")
            Path(self.config_path).write_text(config)
        self.stdin_config = stdin_config
        self.proc: subprocess.Popen | None = None
        self.logfile = os.path.join(self.dir, "server.log")

    @property
    def command(self) -> list[str]:
        if self.kind == "redpoll":
            exe = [sys.executable, "-m", "redpoll", "server"]
        else:
            exe = [shutil.which("redis-server") or "/usr/bin/redis-server"]
        cmd = exe[:]
        if self.config_path:
            cmd.append(self.config_path)
        cmd += ["--port", str(self.port), "--dir", self.dir]
        if not any(a == "--save" for a in self.args) and not self.config_path:
            cmd += ["--save", ""]
        cmd += self.args
        if self.stdin_config is not None:
            cmd.append("-")
        return cmd

    def start(self, wait: bool = True, timeout: float = 60.0) -> "ServerProcess":
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError(f"{self.kind} on port {self.port} is already running")
        log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            self.command, cwd=self.dir, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE if self.stdin_config is not None else subprocess.DEVNULL)
        _started.append(self)
        if self.stdin_config is not None:
            self.proc.stdin.write(self.stdin_config.encode())
            self.proc.stdin.close()
        log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.kind} exited with {self.proc.returncode}:\n"
                                     + self.log_text()[-3000:])
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith((b"+PONG", b"-NOAUTH", b"-LOADING"))
        try:
            wait_until(up, timeout, what=f"{self.kind} on port {self.port}")
        except AssertionError as e:
            if self.proc.poll() is not None:
                raise
            raise AssertionError(f"{e}\n{self.log_text()[-3000:]}")

    def log_text(self) -> str:
        try:
            return Path(self.logfile).read_text(errors="replace")
        except OSError:
            return ""

    def client(self, **kw) -> redis.Redis:
        kw.setdefault("password", self.password)
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, **kw)

    def stop(self, sig=signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        if self.proc is not None and self.proc.poll() is None:
            return self             # ``with s.start():`` — already running
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


# Every server process started by this test process: whatever a test left
# running is killed when the session ends (conftest's pytest_sessionfinish).
_started: list = []


def kill_leftovers() -> int:
    """Kill the servers still running; returns how many there were."""
    n = 0
    for s in _started:
        if s.proc is not None and s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(5)
            n += 1
    _started.clear()
    return n


def raw_request(port: int, data: bytes, host: str = "127.0.0.1",
                timeout: float = 2.0, until_close: bool = False) -> bytes:
    """Send raw bytes, return what comes back (until close or a quiet 0.2 s)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        s.settimeout(timeout if until_close else 0.3)
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out


def require_redis_server() -> str:
    """Path of Debian's redis-server; the comparison tests need it (CI installs it)."""
    path = shutil.which("redis-server")
    if not path:
        raise RuntimeError("redis-server is not installed: run .ci/run or "
                           "apt-get install redis-server redis-tools")
    return path
