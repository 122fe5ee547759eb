"""Interoperability with Debian's redis-server 7.0, both directions: a real
Redis replica of a redpoll primary and a redpoll replica of a real Redis
primary, with requirepass/masterauth, full and partial resyncs after a link
break, diskless and disk payloads, and a role switch (PSYNC2 continues the
history across servers of both kinds)."""

from __future__ import annotations

import threading

from support import require_redis_server, wait_until
from test_replication import (  # noqa: F401 - fixture
    FAST, Proxy, info, procs, same_data, stats, wait_synced, write_load)

PW = "s3cret-repl"


def _background_writes(client, stop: threading.Event, prefix: str):
    i = 0
    while not stop.is_set() and i < 5000:
        client.set(f"{prefix}{i % 200}", i)
        client.incr(f"{prefix}:ctr")
        i += 1


def test_real_redis_replica_of_redpoll_primary(procs):
    require_redis_server()
    p = procs(*FAST, "--requirepass", PW, password=PW)
    pc = p.client()
    write_load(pc, 300)
    r = procs("--replicaof", "127.0.0.1", str(p.port), "--masterauth", PW,
              "--requirepass", PW, kind="redis", password=PW)
    rc = r.client()
    # a write load while the full sync happens
    stop = threading.Event()
    t = threading.Thread(target=_background_writes, args=(p.client(), stop, "bg"))
    t.start()
    try:
        wait_until(lambda: info(rc)["master_link_status"] == "up", 30, what="link up")
    finally:
        stop.set()
        t.join(30)
    write_load(pc, 300, seed=2)
    wait_synced(pc, rc)
    assert same_data(pc, rc)
    assert info(rc)["master_replid"] == info(pc)["master_replid"]
    assert info(pc)["slave0"]["port"] == r.port
    # cut the link from the replica's side: it continues with a partial resync
    rc.execute_command("CLIENT", "KILL", "TYPE", "master")
    write_load(pc, 200, seed=3)
    wait_synced(pc, rc)
    st = stats(pc)
    assert st["sync_full"] == 1 and st["sync_partial_ok"] == 1
    assert same_data(pc, rc)
    assert "Successful partial resynchronization with master" in r.log_text()


def test_real_redis_replica_partial_through_proxy(procs):
    """(with a disk-based full sync: ``$<len>`` payload)"""
    require_redis_server()
    p = procs("--repl-diskless-sync", "no")
    pc = p.client()
    proxy = Proxy(p.port)
    try:
        r = procs("--replicaof", "127.0.0.1", str(proxy.port), kind="redis")
        rc = r.client()
        write_load(pc, 200)
        wait_synced(pc, rc)
        proxy.cut()
        write_load(pc, 200, seed=4)
        wait_synced(pc, rc)
        assert stats(pc)["sync_partial_ok"] == 1
        assert same_data(pc, rc)
    finally:
        proxy.close()


def test_redpoll_replica_of_real_redis_primary(procs):
    require_redis_server()
    m = procs("--requirepass", PW, "--repl-diskless-sync-delay", "0", kind="redis",
              password=PW)
    mc = m.client()
    r = procs("--replicaof", "127.0.0.1", str(m.port), "--masterauth", PW,
              "--requirepass", PW, password=PW)
    rc = r.client()
    write_load(mc, 300, also=rc)
    stop = threading.Event()
    t = threading.Thread(target=_background_writes, args=(m.client(), stop, "bg"))
    t.start()
    try:
        wait_until(lambda: info(rc)["master_link_status"] == "up", 30, what="link up")
    finally:
        stop.set()
        t.join(30)
    write_load(mc, 300, seed=2, also=rc)
    wait_synced(mc, rc)
    assert same_data(mc, rc)
    ri = info(rc)
    assert ri["master_replid"] == info(mc)["master_replid"]
    assert info(mc)["slave0"]["port"] == r.port
    # REPLCONF GETACK / ACK: WAIT on the real primary counts us
    mc.set("acked", "1")
    assert mc.execute_command("WAIT", 1, 5000) == 1
    # the real primary drops us: partial resync
    mc.execute_command("CLIENT", "KILL", "TYPE", "replica")
    write_load(mc, 200, seed=3, also=rc)
    wait_synced(mc, rc)
    st = stats(mc)
    assert st["sync_full"] == 1 and st["sync_partial_ok"] == 1
    assert same_data(mc, rc)
    # role switch: promote redpoll, the real Redis follows it with PSYNC2
    rc.execute_command("REPLICAOF", "NO", "ONE")
    rc.set("new-primary", "redpoll")
    mc.execute_command("CONFIG", "SET", "masterauth", PW)
    mc.execute_command("REPLICAOF", "127.0.0.1", r.port)
    wait_synced(rc, mc)
    assert mc.get("new-primary") == b"redpoll"
    assert stats(rc)["sync_partial_ok"] == 1 and stats(rc)["sync_full"] == 0
    assert same_data(mc, rc)


def test_redpoll_replica_of_real_redis_disk_sync_with_masteruser(procs):
    require_redis_server()
    m = procs("--repl-diskless-sync", "no", kind="redis")
    mc = m.client()
    mc.execute_command("ACL", "SETUSER", "repl", "on", ">replpw", "+psync", "+replconf",
                       "+ping")
    r = procs("--replicaof", "127.0.0.1", str(m.port), "--masteruser", "repl",
              "--masterauth", "replpw")
    rc = r.client()
    write_load(mc, 200, also=rc)
    wait_synced(mc, rc)
    assert same_data(mc, rc)
    assert "bytes from master to disk" in r.log_text()
    assert [c for c in mc.client_list() if "S" in c["flags"]][0]["user"] == "repl"


def test_real_redis_primary_promoted_replica_psync2(procs):
    """Real primary, real replica and redpoll replica; the real replica is
    promoted and redpoll follows it with a partial resync."""
    require_redis_server()
    m = procs("--repl-diskless-sync-delay", "0", kind="redis")
    r1 = procs("--replicaof", "127.0.0.1", str(m.port), "--repl-diskless-sync-delay", "0",
               kind="redis")
    r2 = procs("--replicaof", "127.0.0.1", str(m.port))
    mc, c1, c2 = m.client(), r1.client(), r2.client()
    write_load(mc, 300, also=c2)
    wait_synced(mc, c1, c2)
    c1.execute_command("REPLICAOF", "NO", "ONE")
    c2.execute_command("REPLICAOF", "127.0.0.1", r1.port)
    c1.set("after", "switch")
    wait_synced(c1, c2)
    assert c2.get("after") == b"switch"
    assert stats(c1)["sync_partial_ok"] == 1 and stats(c1)["sync_full"] == 0
    assert same_data(c1, c2)


def test_failover_between_redpoll_and_real_redis(procs):
    """FAILOVER from a redpoll primary to a real replica, then back from the
    real primary to redpoll (PSYNC ... FAILOVER understood both ways)."""
    require_redis_server()
    p = procs(*FAST)
    r = procs("--replicaof", "127.0.0.1", str(p.port), "--repl-diskless-sync-delay", "0",
              kind="redis")
    pc, rc = p.client(), r.client()
    write_load(pc, 200)
    wait_synced(pc, rc)
    assert pc.execute_command("FAILOVER", "TO", "127.0.0.1", r.port) == b"OK"
    wait_until(lambda: info(rc)["role"] == "master" and info(pc)["role"] == "slave"
               and info(pc)["master_link_status"] == "up", 30, what="real Redis promoted")
    rc.set("on-real", "1")
    wait_synced(rc, pc)
    assert pc.get("on-real") == b"1" and same_data(pc, rc)
    assert stats(rc)["sync_full"] == 0
    assert rc.execute_command("FAILOVER") == b"OK"
    wait_until(lambda: info(pc)["role"] == "master" and info(rc)["role"] == "slave"
               and info(rc)["master_link_status"] == "up", 30, what="redpoll promoted back")
    pc.set("on-redpoll", "1")
    wait_synced(pc, rc)
    assert rc.get("on-redpoll") == b"1"
    assert stats(pc)["sync_partial_ok"] >= 1
