"""The server as a process: log format and levels, log file, daemonize and
pid file, SIGTERM/SIGINT shutdown, systemd supervision."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

from support import ServerProcess, free_port, wait_until

LOG_LINE = re.compile(r"^(\d+):([MCSX]) \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} [.\-*#] .+$")
SERVER = [sys.executable, "-m", "redpoll", "server"]


def _lines(text: str) -> list[str]:
    return [x for x in text.splitlines() if x.strip()]


def test_log_format_and_levels():
    with ServerProcess("redpoll", args=["--loglevel", "verbose"]) as srv:
        c = srv.client()
        c.ping()
        c.config_set("loglevel", "warning")
        c.close()
        wait_until(lambda: "Ready to accept connections" in srv.log_text(), 10)
        lines = _lines(srv.log_text())
        assert lines and all(LOG_LINE.match(x) for x in lines), lines
        assert any(" * Ready to accept connections" in x for x in lines)
        assert any(x.split(":", 1)[0] == str(srv.proc.pid) for x in lines)
        assert any(":C " in x and "Redis is starting" in x for x in lines)


def test_logfile_and_unknown_levels_filtered(tmp_path):
    logfile = tmp_path / "redpoll.log"
    srv = ServerProcess("redpoll", args=["--logfile", str(logfile), "--loglevel", "warning"])
    with srv:
        c = srv.client()
        c.ping()
        c.close()
        wait_until(lambda: logfile.exists() and "Server initialized" in logfile.read_text(), 10)
        text = logfile.read_text()
        assert "Ready to accept connections" not in text    # notice < warning
        assert all(LOG_LINE.match(x) for x in _lines(text))
        # rotation: the file is reopened for each line
        logfile.rename(tmp_path / "old.log")
    assert (tmp_path / "redpoll.log").exists()     # shutdown lines went to a new file
    assert "bye bye" in (tmp_path / "redpoll.log").read_text()


def test_bad_logfile_is_a_fatal_config_error():
    p = subprocess.run(SERVER + ["--port", "0", "--logfile", "/nonexistent/x.log"],
                       capture_output=True, text=True, timeout=90)
    assert p.returncode == 1
    assert p.stderr == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                        "Can't open the log file: No such file or directory\n")


def test_daemonize_pidfile_and_sigterm(tmp_path):
    port = free_port()
    pidfile = tmp_path / "redpoll.pid"
    logfile = tmp_path / "log.txt"
    t0 = time.monotonic()
    p = subprocess.run(SERVER + ["--port", str(port), "--daemonize", "yes",
                                 "--pidfile", str(pidfile), "--logfile", str(logfile),
                                 "--dir", str(tmp_path), "--save", ""],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    # the launcher returns once the daemon is up: pid file written, port open
    pid = int(pidfile.read_text())
    assert os.getpid() != pid
    c = redis.Redis(port=port)
    assert c.ping()
    info = c.info("server")
    assert info["process_id"] == pid
    assert c.config_get("daemonize") == {"daemonize": "yes"}
    c.close()
    # detached: its own session, not our child
    assert os.getsid(pid) == pid or os.getsid(pid) != os.getsid(0)
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not _alive(pid), 15, what="daemon exit")
    assert not pidfile.exists()
    log = logfile.read_text()
    assert "Received SIGTERM scheduling shutdown..." in log
    assert "Redis is now ready to exit, bye bye..." in log
    assert time.monotonic() - t0 < 60


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def test_daemonize_default_pidfile_in_config():
    with ServerProcess("redpoll", args=["--pidfile", ""]) as srv:
        c = srv.client()
        assert c.config_get("pidfile") == {"pidfile": ""}
        c.close()


def test_sigint_runs_shutdown_hooks_and_saves(tmp_path):
    srv = ServerProcess("redpoll", args=["--save", "3600 1"], workdir=str(tmp_path))
    srv.start()
    try:
        c = srv.client()
        c.set("k", "v")
        c.close()
        srv.proc.send_signal(signal.SIGINT)
        assert srv.proc.wait(60) == 0
        assert (tmp_path / "dump.rdb").exists()       # save point: final save
        log = srv.log_text()
        assert "Received SIGINT scheduling shutdown..." in log
        assert "bye bye" in log
    finally:
        srv.cleanup()


def test_sigterm_with_pidfile_removes_it(tmp_path):
    pidfile = tmp_path / "x.pid"
    srv = ServerProcess("redpoll", args=["--pidfile", str(pidfile)], workdir=str(tmp_path))
    srv.start()
    try:
        assert int(pidfile.read_text()) == srv.proc.pid
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(60) == 0
        assert not pidfile.exists()
    finally:
        srv.cleanup()


def test_supervised_systemd_notifies_ready_and_stopping(tmp_path):
    addr = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(addr)
    sock.settimeout(90)
    port = free_port()
    env = dict(os.environ, NOTIFY_SOCKET=addr)
    proc = subprocess.Popen(SERVER + ["--port", str(port), "--supervised", "systemd",
                                      "--daemonize", "yes", "--save", "",
                                      "--dir", str(tmp_path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        got = b""
        while b"READY=1" not in got:
            got += sock.recv(4096)
        # supervised servers do not daemonize: the process we started serves
        assert proc.poll() is None
        c = redis.Redis(port=port)
        assert c.ping()
        assert c.info("server")["process_supervised"] == "systemd"
        c.close()
        proc.send_signal(signal.SIGTERM)
        got = b""
        while b"STOPPING=1" not in got:
            got += sock.recv(4096)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        sock.close()


def test_config_dir_is_used_for_relative_paths(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    conf = tmp_path / "redis.conf"
    conf.write_text(f"dir {d}\nlogfile rel.log\nsave \"\"\n")
    port = free_port()
    proc = subprocess.Popen(SERVER + [str(conf), "--port", str(port)],
                            cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        c = redis.Redis(port=port)
        wait_until(lambda: c.ping(), 90, what="server")
        assert c.config_get("dir") == {"dir": str(d)}
        c.close()
        assert (d / "rel.log").exists()
    finally:
        proc.terminate()
        proc.wait(20)


def test_version():
    out = subprocess.run(SERVER + ["-v"], capture_output=True, text=True, timeout=90)
    assert out.returncode == 0 and out.stdout.startswith("Redis server v=7.0.15 ")
