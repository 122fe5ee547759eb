"""The replication tutorials users follow, step by step, against redpoll.

* seed 000: three nodes configured with ``bind ::1``, ``protected-mode no``,
  ``requirepass`` + ``replicaof`` + ``masterauth``; a key written on the
  primary is read on both replicas; a replica is promoted with ``replicaof no
  one`` (CONFIG REWRITE drops the ``replicaof`` line so a restart keeps the
  role), the other replica is re-pointed, writes go to the new primary.
* seed 001: a master with ``requirepass``/``tcp-keepalive 60``, a slave
  configured with ``slaveof`` + ``masterauth`` + its own ``requirepass``;
  NOAUTH, ``info replication`` on both (same fields as real Redis 7.0 in the
  same situation), READONLY, ``slaveof no one``, and the flush on resync when
  pointing the slave back to the master.
"""

from __future__ import annotations

import socket

import pytest
import redis

from support import ServerProcess, raw_request, require_redis_server, wait_until

PW = "EXAMPLE_REPL_PASSWORD"


def _wait_v6(s: ServerProcess) -> None:
    def up():
        if s.proc.poll() is not None:
            raise AssertionError(s.log_text()[-2000:])
        with socket.create_connection(("::1", s.port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    wait_until(up, 60, what=f"server on [::1]:{s.port}")


def _v6(s: ServerProcess, password=PW) -> redis.Redis:
    return redis.Redis(host="::1", port=s.port, password=password, socket_timeout=10)


@pytest.fixture
def nodes():
    started = []
    yield started
    for s in started:
        s.cleanup()


def test_seed_000_three_nodes_bind_ipv6(nodes):
    base = f"bind ::1\nprotected-mode no\nrequirepass {PW}\n"
    n1 = ServerProcess("redpoll", config=base)
    nodes.append(n1)
    n1.start(wait=False)
    _wait_v6(n1)
    replica_conf = base + f"replicaof ::1 {n1.port}\nmasterauth {PW}\n"
    n2 = ServerProcess("redpoll", config=replica_conf)
    n3 = ServerProcess("redpoll", config=replica_conf)
    nodes += [n2, n3]
    for n in (n2, n3):
        n.start(wait=False)
    for n in (n2, n3):
        _wait_v6(n)
    # 3. test replication: auth, info replication, set, read on both replicas
    assert raw_request(n1.port, b"info replication\r\nAUTH " + PW.encode() + b"\r\n",
                       host="::1") == b"-NOAUTH Authentication required.\r\n+OK\r\n"
    c1 = _v6(n1)
    wait_until(lambda: c1.info("replication")["connected_slaves"] == 2, 40,
               what="two replicas connected")
    i1 = c1.info("replication")
    assert i1["role"] == "master"
    assert {i1["slave0"]["ip"], i1["slave1"]["ip"]} == {"::1"}
    assert {i1["slave0"]["port"], i1["slave1"]["port"]} == {n2.port, n3.port}
    assert c1.set("test", "The key value was set on the primary node.")
    c2, c3 = _v6(n2), _v6(n3)
    for c in (c2, c3):
        wait_until(lambda c=c: c.get("test") == b"The key value was set on the primary node.",
                   60, what="key on the replica")
        assert c.info("replication")["master_host"] == "::1"
        assert c.info("replication")["master_link_status"] == "up"
    # 4. promote node 2
    assert c2.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert c2.info("replication")["role"] == "master"
    assert c2.execute_command("CONFIG", "REWRITE") == b"OK"
    conf = open(n2.config_path).read()
    assert "replicaof" not in conf.lower() and "slaveof" not in conf.lower()
    n2.stop()
    n2.start(wait=False)
    _wait_v6(n2)
    c2 = _v6(n2)
    assert c2.info("replication")["role"] == "master"          # the role survived
    # node 3 follows the new primary
    assert c3.execute_command("REPLICAOF", "::1", n2.port) == b"OK"
    wait_until(lambda: c2.info("replication")["connected_slaves"] == 1, 40,
               what="node 3 follows node 2")
    i2 = c2.info("replication")
    assert i2["role"] == "master" and i2["slave0"]["port"] == n3.port
    assert c2.set("after", "promotion")
    wait_until(lambda: c3.get("after") == b"promotion", 30, what="write reaches node 3")
    with pytest.raises(redis.ReadOnlyError):
        c3.set("x", "y")


def _fields(d: dict) -> list[str]:
    return sorted(d)


def test_seed_001_master_slave_walkthrough(nodes):
    require_redis_server()
    master_conf = ("tcp-keepalive 60\nrequirepass your_redis_master_password\n"
                   "maxmemory-policy noeviction\n")
    real_m = ServerProcess("redis", config=master_conf + "save \"\"\n")
    m = ServerProcess("redpoll", config=master_conf)
    nodes += [real_m, m]
    real_m.start(timeout=60)
    m.start(timeout=60)
    # Step 4: NOAUTH, then AUTH, then info replication
    assert raw_request(m.port, b"info replication\r\nauth your_redis_master_password\r\n") \
        == b"-NOAUTH Authentication required.\r\n+OK\r\n"
    mc = redis.Redis(port=m.port, password="your_redis_master_password")
    real_mc = redis.Redis(port=real_m.port, password="your_redis_master_password")
    mi, rmi = mc.info("replication"), real_mc.info("replication")
    assert _fields(mi) == _fields(rmi)
    for f in ("role", "connected_slaves", "master_repl_offset", "repl_backlog_active",
              "repl_backlog_size", "repl_backlog_first_byte_offset", "repl_backlog_histlen",
              "second_repl_offset", "master_failover_state"):
        assert mi[f] == rmi[f], f
    assert mi["role"] == "master" and mi["connected_slaves"] == 0
    assert mi["master_repl_offset"] == 0 and mi["repl_backlog_active"] == 0
    assert mi["repl_backlog_size"] == 1048576
    for c in (mc, real_mc):
        assert c.set("test", "this key was defined on the master server")
    # Step 5/6: the slave, first standalone, then configured and restarted
    slave_base = "requirepass your_redis_slave_password\n"
    s = ServerProcess("redpoll", config=slave_base)
    nodes.append(s)
    s.start(timeout=60)
    sc = redis.Redis(port=s.port, password="your_redis_slave_password")
    assert sc.get("test") is None
    s.stop()
    slave_conf = (slave_base + f"slaveof 127.0.0.1 {m.port}\n"
                  "masterauth your_redis_master_password\n")
    with open(s.config_path, "w") as f:
        f.write(slave_conf)
    s.start(timeout=60)
    real_s = ServerProcess("redis", config=slave_base + f"slaveof 127.0.0.1 {real_m.port}\n"
                           "masterauth your_redis_master_password\nsave \"\"\n")
    nodes.append(real_s)
    real_s.start(timeout=60)
    assert raw_request(s.port, b"get test\r\n") == b"-NOAUTH Authentication required.\r\n"
    sc = redis.Redis(port=s.port, password="your_redis_slave_password")
    real_sc = redis.Redis(port=real_s.port, password="your_redis_slave_password")
    for c in (sc, real_sc):
        wait_until(lambda c=c: c.get("test") == b"this key was defined on the master server",
                   30, what="the key on the slave")
    # info replication on the slave: the fields real Redis prints, same values
    wait_until(lambda: sc.info("replication")["slave_repl_offset"]
               == mc.info("replication")["master_repl_offset"], 20, what="slave in sync")
    si, rsi = sc.info("replication"), real_sc.info("replication")
    assert _fields(si) == _fields(rsi)
    assert si["role"] == "slave" and si["master_host"] == "127.0.0.1"
    assert si["master_port"] == m.port and si["master_link_status"] == "up"
    assert si["master_sync_in_progress"] == 0 and si["slave_priority"] == 100
    assert si["slave_read_only"] == 1 and si["connected_slaves"] == 0
    assert si["repl_backlog_active"] == 1
    # ... and on the master
    wait_until(lambda: mc.info("replication")["slave0"]["state"] == "online", 20,
               what="slave online")
    wait_until(lambda: real_mc.info("replication").get("slave0", {}).get("state")
               == "online", 20, what="real slave online")
    mi, rmi = mc.info("replication"), real_mc.info("replication")
    assert _fields(mi) == _fields(rmi)
    assert mi["connected_slaves"] == 1 and mi["repl_backlog_active"] == 1
    assert mi["slave0"]["ip"] == "127.0.0.1" and mi["slave0"]["port"] == s.port
    assert mi["repl_backlog_first_byte_offset"] == rmi["repl_backlog_first_byte_offset"] == 1
    # Step 7: READONLY, slaveof no one, writes accepted
    for c in (sc, real_sc):
        with pytest.raises(redis.ReadOnlyError) as e:
            c.set("test", "this key was overwritten on the slave server")
        assert str(e.value) == "You can't write against a read only replica."
    assert sc.execute_command("SLAVEOF", "NO", "ONE") is True
    si = sc.info("replication")
    assert si["role"] == "master" and si["connected_slaves"] == 0
    assert sc.set("test", "this key was overwritten on the slave server")
    assert sc.get("test") == b"this key was overwritten on the slave server"
    # pointing it back at the master: all its data is flushed and resynced
    sc.set("only-on-interim-master", "x")
    assert sc.execute_command("SLAVEOF", "127.0.0.1", m.port) is True
    wait_until(lambda: sc.get("test") == b"this key was defined on the master server", 30,
               what="original value restored")
    assert sc.get("only-on-interim-master") is None
