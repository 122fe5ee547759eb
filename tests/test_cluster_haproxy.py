"""`redpoll cluster up --haproxy` and the seed's haproxy.cfg.

The generated haproxy.cfg keeps the seed's (docs/sentinel/haproxy.cfg)
timeouts and health check line for line; the only addition is the AUTH step
a password needs. And the seed's file itself, with only its ports and server
addresses replaced, runs as the cluster's HAProxy and routes clients to the
primary before and after a failover.
"""

from __future__ import annotations

import json
import re

import redis

from redpoll.cluster import configs
from support import REPO, free_port, wait_until
from test_cluster_cli import (  # noqa: F401  (cdir: a fixture)
    UP_FLAGS, cdir, cluster, kill_leftovers, ok, redis_cli_line, run_cli, status)
from test_haproxy import _through, haproxy_config

SEED = (REPO / "docs" / "sentinel" / "haproxy.cfg").read_text()


def without_servers(text: str) -> list[str]:
    """The config's lines, bind address and server lines left out."""
    return [ln for ln in text.rstrip("\n").split("\n")
            if not re.match(r"\s*(bind|server) ", ln)]


def test_generated_config_is_the_seeds():
    servers = [("10.0.0.1", 6379), ("10.0.0.2", 6379)]
    plain = configs.haproxy_cfg(bind="*:6380", servers=servers, password="")
    assert without_servers(plain) == without_servers(SEED)
    assert "    bind *:6380 name redis\n" in plain
    assert plain.endswith("    server redis_1 10.0.0.1:6379 check inter 1s\n"
                          "    server redis_2 10.0.0.2:6379 check inter 1s\n")
    # with a password: the seed's lines plus AUTH right after connecting
    authed = without_servers(configs.haproxy_cfg(bind="*:6380", servers=servers,
                                                 password="pw"))
    at = authed.index("    tcp-check connect") + 1
    assert authed[at:at + 2] == ["    tcp-check send AUTH\\ pw\\r\\n",
                                 "    tcp-check expect string +OK"]
    assert authed[:at] + authed[at + 2:] == without_servers(SEED)


def test_seed_config_routes_to_the_primary_before_and_after_failover(cdir):
    # no password, as in the seed (its health check sends no AUTH)
    out = ok("up", "--dir", str(cdir), "--port", str(free_port()), "--replicas", "1",
             "--password", "", "--haproxy", *UP_FLAGS)
    assert " -a " not in out and "requirepass" not in (cdir / "server-1" /
                                                       "redis.conf").read_text()
    layout = json.loads((cdir / "cluster.json").read_text())
    front = next(n["port"] for n in layout["nodes"] if n["kind"] == "haproxy")
    ports = [n["port"] for n in layout["nodes"] if n["kind"] == "server"]
    # run the seed's file itself: only its ports and addresses replaced
    (cdir / "haproxy.cfg").write_text(haproxy_config(front, ports))
    ok("kill", "haproxy-1", "--dir", str(cdir))
    ok("start", "haproxy-1", "--dir", str(cdir))

    def through_is(port: int):
        return all(_through(front) == (run_ids[port], "master") for _ in range(6))

    run_ids = {}
    for p in ports:
        c = redis.Redis(port=p, decode_responses=True, socket_timeout=10)
        run_ids[p] = c.info("server")["run_id"]
        c.close()
    first = int(status(cdir)["primary"].rsplit(":", 1)[1])
    # HAProxy starts with every server up: its checks mark the replica down
    wait_until(lambda: through_is(first), 30, interval=0.3,
               what="the seed's HAProxy routes to the primary")

    out = ok("failover", "--dir", str(cdir))
    assert "failover done: the primary is now server-2" in out
    second = int(status(cdir)["primary"].rsplit(":", 1)[1])
    assert second != first
    wait_until(lambda: through_is(second), 30, interval=0.3,
               what="the seed's HAProxy routes to the new primary")
    c = redis.Redis(port=front, decode_responses=True, socket_timeout=10)
    assert c.get("via-haproxy") == "1"        # written before the failover, replicated
    c.close()


def test_password_and_directory_that_need_quoting(tmp_path):
    """A password with '#', '$', '!' and a backslash, and a cluster directory
    with a space: every file (redis.conf requirepass/masterauth/dir,
    sentinel.conf auth-pass/dir, HAProxy's AUTH check) carries them intact, so
    replication, the sentinel and HAProxy all work, before and after a
    restart (the servers' and sentinel's CONFIG REWRITE). Spaces and quotes
    are refused: Sentinel (as Redis) rewrites auth-pass unquoted."""
    d = tmp_path / "my cluster"
    r = cluster("up", "--dir", str(d), "--password", 'a b')
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "the password cannot contain ' ': Sentinel writes it unquoted" in r.stderr
    assert not d.exists()
    pw = 'p#w$x\\y!'
    try:
        out = ok("up", "--dir", str(d), "--port", str(free_port()), "--replicas", "1",
                 "--sentinels", "1", "--password", pw, "--haproxy", *UP_FLAGS)
        assert "tcp-check send-binary" in (d / "haproxy.cfg").read_text()
        for line in (redis_cli_line(out), redis_cli_line(out.split("HAProxy (")[1])):
            assert run_cli(line, "set", "k", "v") == "OK"
        ok("down", "--dir", str(d))
        out = ok("up", "--dir", str(d), "--password", pw)      # configs rewritten, read back
        assert run_cli(redis_cli_line(out), "get", "k") == "v"
        ok("failover", "--dir", str(d))                       # the sentinel rewrote its file
        st = status(d)
        assert st["servers"][0]["role"] == "replica" and st["servers"][0]["link"] == "up"
    finally:
        if (d / "cluster.json").exists():
            cluster("down", "--dir", str(d), timeout=120)
        kill_leftovers(d)
