"""The first steps of the seed tutorials, with redpoll in place of redis-server.

The replication tutorial's redis.conf carries ``bind ::1``,
``protected-mode no`` (with the trailing space the tutorial has) and
``requirepass``; then, from redis-cli: ``info replication`` is refused with
``NOAUTH Authentication required.``, ``auth <password>`` is accepted and
``info replication`` works. The same session runs against Debian's
redis-server and the outputs must match (except the replication ids).
"""

from __future__ import annotations

import re
import socket
import subprocess

import pytest
import redis

from support import ServerProcess, wait_until

PASSWORD = "EXAMPLE_REPL_PASSWORD"
SEED_CONF = f"bind ::1\nprotected-mode no \nrequirepass {PASSWORD}\n"


def _start(kind: str) -> ServerProcess:
    srv = ServerProcess(kind, config=SEED_CONF)
    srv.start(wait=False)     # it listens on ::1 only: wait there

    def up():
        assert srv.proc.poll() is None, srv.log_text()[-2000:]
        with socket.create_connection(("::1", srv.port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"-NOAUTH")
    wait_until(up, 15, what=f"{kind} on [::1]:{srv.port}")
    return srv


@pytest.fixture(scope="module")
def servers():
    started = []
    try:
        for kind in ("redpoll", "redis"):
            started.append(_start(kind))
        yield started
    finally:
        for s in started:
            s.cleanup()


def _cli(port: int, *args: str, stdin: str | None = None) -> str:
    r = subprocess.run(["redis-cli", "-h", "::1", "-p", str(port), *args],
                       input=stdin, capture_output=True, text=True, timeout=20)
    return r.stdout


def _mask(text: str) -> str:
    return re.sub(r"master_replid:[0-9a-f]{40}", "master_replid:<id>", text)


def test_tutorial_session_with_redis_cli(servers):
    session = f"info replication\nauth {PASSWORD}\ninfo replication\n"
    mine, ref = (_cli(s.port, stdin=session) for s in servers)
    assert mine.startswith("NOAUTH Authentication required.\nOK\n# Replication\nrole:master\n")
    assert _mask(mine) == _mask(ref)


def test_unauthenticated_info_is_refused(servers):
    for s in servers:
        assert _cli(s.port, "info", "replication").strip() == "NOAUTH Authentication required."
        out = _cli(s.port, "-a", PASSWORD, "--no-auth-warning", "info", "replication")
        assert "role:master" in out


def test_redis_py_over_ipv6(servers):
    for s in servers:
        # RESP2 (redis-py 8 defaults to RESP3, whose HELLO 3 is refused first)
        anon = redis.Redis(host="::1", port=s.port, protocol=2)
        with pytest.raises(redis.AuthenticationError, match="^Authentication required.$"):
            anon.info("replication")
        c = redis.Redis(host="::1", port=s.port, protocol=2)
        assert c.execute_command("AUTH", PASSWORD) in (b"OK", True, "OK")
        assert c.info("replication")["role"] == "master"
        authed = redis.Redis(host="::1", port=s.port, password=PASSWORD, protocol=3)
        assert authed.info("replication")["role"] == "master"


def test_ipv6_client_accepted_and_ipv4_not_listening(servers):
    mine = servers[0]
    c = redis.Redis(host="::1", port=mine.port, password=PASSWORD)
    line = [l for l in c.client_list() if l["id"] == str(c.client_id())][0]
    assert line["addr"].startswith("::1:") and line["laddr"] == f"::1:{mine.port}"
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", mine.port), timeout=2)
