"""The server starts, answers redis-py and redis-cli, and speaks both protocols."""

import subprocess

import redis

from support import raw_request


def test_ping_set_get(r):
    assert r.ping() is True
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert r.get("missing") is None


def test_resp3_hello(server):
    c = redis.Redis(port=server.port, protocol=3)
    assert c.ping()
    info = c.execute_command("HELLO", "3")
    assert info[b"proto"] == 3 and info[b"version"] == b"7.0.15"
    c.close()


def test_redis_cli(server):
    out = subprocess.run(["redis-cli", "-p", str(server.port), "set", "cli", "yes"],
                         capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "OK"
    out = subprocess.run(["redis-cli", "-p", str(server.port), "get", "cli"],
                         capture_output=True, text=True, timeout=10)
    assert out.stdout.strip() == "yes"


def test_inline_and_pipelined(server):
    data = raw_request(server.port, b"PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n")
    assert data == b"+PONG\r\n+PONG\r\n+PONG\r\n"
