"""Replication between redpoll servers: full and partial resyncs, the stream,
INFO replication / ROLE, READONLY, WAIT, promotion with PSYNC2, chains,
min-replicas-to-write, replica-serve-stale-data, link failures.

Every test runs real processes; links are cut with a TCP proxy or by
stopping processes, and every wait is bounded (``wait_until``).

The helpers (``Proxy``, ``info``, ``wait_synced``, ``write_load``,
``dataset``) are shared with the interop and seed tests.
"""

from __future__ import annotations

import random
import signal
import socket
import threading

import pytest
import redis

from support import ServerProcess, wait_until

FAST = ["--repl-diskless-sync-delay", "0"]


# -- helpers -------------------------------------------------------------------------

class Proxy:
    """A TCP forwarder from a free local port to ``port``; ``cut()`` drops
    every connection going through it (new ones are still accepted)."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.target = (host, port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(self.target, timeout=5)
                b.settimeout(None)
            except OSError:
                a.close()
                continue
            with self.lock:
                self.conns += [a, b]
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()
            threading.Thread(target=self._pipe, args=(b, a), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.closed = True
        self.cut()
        self.sock.close()


def info(client, section: str = "replication") -> dict:
    return client.info(section)


def stats(client) -> dict:
    return client.info("stats")


def link_up(client) -> bool:
    return info(client).get("master_link_status") == "up"


def wait_synced(primary, *replicas, timeout: float = 30.0) -> None:
    """Wait until every replica's link is up and it applied the primary's offset."""
    def ok():
        off = info(primary)["master_repl_offset"]
        for r in replicas:
            i = info(r)
            if i.get("master_link_status") != "up" or i.get("slave_repl_offset") != off:
                return False
        return True
    wait_until(ok, timeout, what="replicas in sync")


def available(client) -> set[str]:
    """Command names the server implements, of those the load uses."""
    out = set()
    for name in ("rpush", "lpop", "hset", "sadd", "zadd", "xadd", "setbit"):
        try:
            client.execute_command(name)
        except redis.ResponseError as e:
            if not str(e).startswith("unknown command"):
                out.add(name)
    return out


def write_load(client, n: int = 300, seed: int = 7, prefix: str = "k",
               also=None) -> None:
    """A mixed write load over every data type the server implements (and the
    server ``also``, typically the other end of the link, implements)."""
    rnd = random.Random(seed)
    cmds = available(client)
    if also is not None:
        cmds &= available(also)
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        k = f"{prefix}{rnd.randrange(60)}"
        choice = rnd.randrange(12)
        if choice == 0:
            pipe.set(f"{k}:s", rnd.randbytes(rnd.randrange(1, 40)))
        elif choice == 1:
            pipe.incrby(f"{k}:n", rnd.randrange(-5, 6))
        elif choice == 2 and "rpush" in cmds:
            pipe.rpush(f"{k}:l", *[str(rnd.random()) for _ in range(rnd.randrange(1, 4))])
        elif choice == 3 and "lpop" in cmds:
            pipe.lpop(f"{k}:l")
        elif choice == 4 and "hset" in cmds:
            pipe.hset(f"{k}:h", f"f{rnd.randrange(10)}", rnd.randrange(1000))
        elif choice == 5 and "sadd" in cmds:
            pipe.sadd(f"{k}:t", f"m{rnd.randrange(20)}")
        elif choice == 6 and "zadd" in cmds:
            pipe.zadd(f"{k}:z", {f"m{rnd.randrange(20)}": rnd.random()})
        elif choice == 7 and "xadd" in cmds:
            pipe.xadd(f"{k}:x", {"f": rnd.randrange(100)})
        elif choice == 8:
            pipe.delete(f"{k}:s")
        elif choice == 9:
            pipe.set(f"{k}:e", "v", px=rnd.randrange(50, 400))
        elif choice == 10:
            pipe.append(f"{k}:s", "tail")
        elif choice == 11 and "setbit" in cmds:
            pipe.setbit(f"{k}:b", rnd.randrange(200), 1)
    pipe.execute(raise_on_error=False)


def dataset(client) -> dict:
    """Every live key of the client's db: type, value, and whether it has a TTL."""
    c = client
    out = {}
    for k in c.keys("*"):
        t = c.type(k).decode()
        if t == "string":
            v = c.get(k)
        elif t == "list":
            v = c.lrange(k, 0, -1)
        elif t == "hash":
            v = c.hgetall(k)
        elif t == "set":
            v = sorted(c.smembers(k))
        elif t == "zset":
            v = c.zrange(k, 0, -1, withscores=True)
        elif t == "stream":
            v = c.xrange(k)
        else:
            continue
        out[k] = (t, v, c.pttl(k) != -1)     # volatile: has a TTL or just expired
    return out


def same_data(a, b) -> bool:
    da, db_ = dataset(a), dataset(b)
    # keys with a TTL may be expiring right now: compare the stable ones
    sa = {k: v for k, v in da.items() if not v[2]}
    sb = {k: v for k, v in db_.items() if not v[2]}
    return sa == sb


@pytest.fixture
def procs():
    """Servers started by a test, cleaned up afterwards (even on failure)."""
    started: list[ServerProcess] = []

    def make(*args, kind="redpoll", **kw):
        s = ServerProcess(kind, args=list(args), **kw)
        started.append(s)
        return s.start(timeout=60)      # the machine may be busy
    yield make
    for s in started:
        try:
            if s.proc is not None and s.proc.poll() is None:
                s.proc.send_signal(signal.SIGCONT)
        except OSError:
            pass
        s.cleanup()


# -- tests -------------------------------------------------------------------------------

def test_full_sync_stream_info_and_readonly(procs):
    p = procs(*FAST)
    pc = p.client()
    pc.set("before", "sync")
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    rc = r.client()
    wait_synced(pc, rc)
    assert rc.get("before") == b"sync"
    write_load(pc, 400)
    wait_synced(pc, rc)
    assert same_data(pc, rc)
    # INFO replication on both sides, the fields Redis 7.0 prints
    pi, ri = info(pc), info(rc)
    assert pi["role"] == "master" and pi["connected_slaves"] == 1
    s0 = pi["slave0"]
    assert s0["ip"] == "127.0.0.1" and s0["port"] == r.port and s0["state"] == "online"
    for f in ("master_failover_state", "master_replid", "master_replid2", "master_repl_offset",
              "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
              "repl_backlog_first_byte_offset", "repl_backlog_histlen"):
        assert f in pi and f in ri
    assert pi["repl_backlog_active"] == 1 and pi["repl_backlog_first_byte_offset"] == 1
    assert ri["role"] == "slave" and ri["master_host"] == "127.0.0.1"
    assert ri["master_port"] == p.port and ri["master_link_status"] == "up"
    assert ri["master_sync_in_progress"] == 0 and ri["slave_read_only"] == 1
    assert ri["slave_priority"] == 100 and ri["replica_announced"] == 1
    assert ri["master_replid"] == pi["master_replid"]
    assert ri["slave_repl_offset"] == ri["slave_read_repl_offset"] == pi["master_repl_offset"]
    assert "master_link_down_since_seconds" not in ri
    # ROLE
    wait_until(lambda: pc.execute_command("ROLE")[2]
               and int(pc.execute_command("ROLE")[2][0][2]) == info(pc)["master_repl_offset"],
               10, what="replica ack in ROLE")
    role = pc.execute_command("ROLE")
    assert role[0] == b"master" and role[2][0][:2] == [b"127.0.0.1", str(r.port).encode()]
    rrole = rc.execute_command("ROLE")
    assert rrole[:4] == [b"slave", b"127.0.0.1", p.port, b"connected"]
    assert rrole[4] == info(pc)["master_repl_offset"]
    # read-only replica, Redis's exact error
    with pytest.raises(redis.ResponseError) as e:
        rc.set("x", "y")
    assert str(e.value) == "You can't write against a read only replica."
    assert stats(pc)["sync_full"] == 1
    # WAIT: the replica acknowledges
    pc.set("w", "1")
    assert pc.execute_command("WAIT", 1, 5000) == 1
    assert pc.execute_command("WAIT", 0, 0) >= 0


def test_expired_keys_are_deleted_by_the_primary(procs):
    p = procs(*FAST)
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    pc, rc = p.client(), r.client()
    wait_synced(pc, rc)
    pc.set("gone", "v", px=2500)
    pc.set("stay", "v")
    wait_synced(pc, rc)
    assert rc.get("gone") == b"v"
    # the primary's active expiry deletes it and the DEL reaches the replica
    wait_until(lambda: rc.dbsize() == 1, 10, what="DEL of the expired key")
    assert rc.get("stay") == b"v"


def test_select_and_transactions_in_stream(procs):
    p = procs(*FAST)
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    pc, rc = p.client(), r.client()
    wait_synced(pc, rc)
    p3 = p.client(db=3)
    p3.set("in3", "yes")
    pipe = pc.pipeline(transaction=True)
    pipe.set("a", "1").incr("a").set("b", "2")
    pipe.execute()
    wait_synced(pc, rc)
    assert r.client(db=3).get("in3") == b"yes"
    assert rc.mget("a", "b") == [b"2", b"2"]
    assert rc.get("in3") is None


def test_partial_resync_after_link_cut(procs):
    p = procs(*FAST)
    pc = p.client()
    proxy = Proxy(p.port)
    try:
        r = procs("--replicaof", "127.0.0.1", str(proxy.port))
        rc = r.client()
        write_load(pc, 100)
        wait_synced(pc, rc)
        proxy.cut()
        wait_until(lambda: not link_up(rc) or stats(pc)["sync_partial_ok"] == 1, 10,
                   what="link down")
        write_load(pc, 200, seed=8)
        wait_synced(pc, rc)
        st = stats(pc)
        assert st["sync_full"] == 1 and st["sync_partial_ok"] == 1
        assert same_data(pc, rc)
        assert info(rc)["master_replid"] == info(pc)["master_replid"]
    finally:
        proxy.close()


def test_promotion_and_psync2_repointing(procs):
    p = procs(*FAST)
    pc = p.client()
    r1 = procs(*FAST, "--replicaof", "127.0.0.1", str(p.port))
    r2 = procs(*FAST, "--replicaof", "127.0.0.1", str(p.port))
    c1, c2 = r1.client(), r2.client()
    write_load(pc, 200)
    wait_synced(pc, c1, c2)
    old_id = info(pc)["master_replid"]
    old_off = info(pc)["master_repl_offset"]
    assert c1.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    i1 = info(c1)
    assert i1["role"] == "master"
    assert i1["master_replid2"] == old_id and i1["second_repl_offset"] == old_off + 1
    assert i1["master_replid"] != old_id
    c1.set("after", "promotion")          # writes accepted on the new primary
    # the other replica and the old primary follow the new one, partially
    c2.execute_command("REPLICAOF", "127.0.0.1", r1.port)
    pc.execute_command("REPLICAOF", "127.0.0.1", r1.port)
    wait_synced(c1, c2, pc)
    st = stats(c1)
    assert st["sync_full"] == 0 and st["sync_partial_ok"] == 2
    assert c2.get("after") == b"promotion" and pc.get("after") == b"promotion"
    assert same_data(c1, c2) and same_data(c1, pc)
    assert info(c1)["connected_slaves"] == 2


def test_chained_replication(procs):
    p = procs(*FAST)
    r1 = procs(*FAST, "--replicaof", "127.0.0.1", str(p.port))
    r2 = procs("--replicaof", "127.0.0.1", str(r1.port),
               "--replica-announce-ip", "10.1.2.3", "--replica-announce-port", "7777")
    pc, c1, c2 = p.client(), r1.client(), r2.client()
    write_load(pc, 300)
    wait_synced(pc, c1)
    wait_synced(c1, c2)
    wait_synced(pc, c2)
    assert same_data(pc, c2)
    # identical offsets and ids along the chain
    assert info(c2)["master_replid"] == info(pc)["master_replid"]
    assert info(c1)["connected_slaves"] == 1
    s0 = info(c1)["slave0"]
    assert (s0["ip"], s0["port"]) == ("10.1.2.3", 7777)   # replica-announce-ip/port
    assert c1.execute_command("ROLE")[0] == b"slave"


def test_disk_sync_shared_by_replicas(procs):
    p = procs("--repl-diskless-sync", "no")
    pc = p.client()
    write_load(pc, 200)
    r1 = procs("--replicaof", "127.0.0.1", str(p.port))
    r2 = procs("--replicaof", "127.0.0.1", str(p.port))
    wait_synced(pc, r1.client(), r2.client())
    assert same_data(pc, r1.client()) and same_data(pc, r2.client())
    assert stats(pc)["sync_full"] == 2


def test_diskless_delay_gathers_replicas(procs):
    p = procs("--repl-diskless-sync-delay", "2")
    pc = p.client()
    pc.set("k", "v")
    r1 = ServerProcess("redpoll", args=[])
    r2 = ServerProcess("redpoll", args=[])
    for r in (r1, r2):
        r.args = ["--replicaof", "127.0.0.1", str(p.port)]
    try:
        r1.start(wait=False)
        r2.start(wait=False)
        r1.wait_ready(60)
        r2.wait_ready(60)
        wait_synced(pc, r1.client(), r2.client())
        assert p.log_text().count("Starting BGSAVE for SYNC") == 1
        assert r1.client().get("k") == r2.client().get("k") == b"v"
    finally:
        r1.cleanup()
        r2.cleanup()


def test_flush_on_resync(procs):
    p = procs("--repl-diskless-sync-delay", "2")
    pc = p.client()
    pc.set("test", "this key was defined on the master server")
    r = procs()
    rc = r.client()
    rc.set("local", "only here")
    rc.set("test", "local value")
    rc.execute_command("SLAVEOF", "127.0.0.1", p.port)
    # while the primary prepares the sync the old data is still served
    assert rc.get("local") == b"only here"
    assert info(rc)["master_link_status"] == "down"
    wait_synced(pc, rc)
    assert rc.get("local") is None
    assert rc.get("test") == b"this key was defined on the master server"
    # slaveof no one keeps the data and accepts writes
    assert rc.execute_command("SLAVEOF", "NO", "ONE") is True   # +OK
    rc.set("test", "this key was overwritten on the slave server")
    assert rc.get("test") == b"this key was overwritten on the slave server"
    rc.execute_command("SLAVEOF", "127.0.0.1", p.port)
    wait_until(lambda: rc.get("test") == b"this key was defined on the master server", 20,
               what="resync")


def test_min_replicas_to_write(procs):
    p = procs(*FAST, "--min-replicas-to-write", "1", "--min-replicas-max-lag", "10")
    pc = p.client()
    with pytest.raises(redis.ResponseError) as e:
        pc.set("k", "v")
    assert str(e.value) == "NOREPLICAS Not enough good replicas to write."
    assert pc.get("k") is None                      # reads are fine
    assert info(pc)["min_slaves_good_slaves"] == 0
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    wait_until(lambda: info(pc)["min_slaves_good_slaves"] == 1, 15, what="good replica")
    assert pc.set("k", "v")
    pc.config_set("min-replicas-to-write", "0")
    assert "min_slaves_good_slaves" not in info(pc)
    wait_synced(pc, r.client())


def test_serve_stale_data_no_and_link_down_fields(procs):
    from support import free_port
    dead = free_port()
    r = ServerProcess("redpoll", args=["--replicaof", "127.0.0.1", str(dead),
                                       "--replica-serve-stale-data", "no"])
    r.start(wait=False)
    try:
        _stale_checks(r)
    finally:
        r.cleanup()


def _stale_checks(r):
    rc = r.client()
    wait_until(lambda: info(rc), 20, what="server up")        # INFO is allowed
    with pytest.raises(redis.ResponseError) as e:
        rc.get("k")
    assert "Link with MASTER is down and replica-serve-stale-data is set to 'no'." in str(e.value)
    i = info(rc)
    assert i["master_link_status"] == "down" and i["master_last_io_seconds_ago"] == -1
    assert i["master_link_down_since_seconds"] == -1 and i["slave_repl_offset"] == 1
    assert rc.execute_command("ROLE")[3] in (b"connect", b"connecting")
    rc.config_set("replica-serve-stale-data", "yes")
    assert rc.get("k") is None
    assert rc.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
    assert info(rc)["role"] == "master"


def test_primary_paused_beyond_repl_timeout(procs):
    p = procs(*FAST, "--repl-ping-replica-period", "1")
    r = procs("--replicaof", "127.0.0.1", str(p.port), "--repl-timeout", "2")
    pc, rc = p.client(), r.client()
    write_load(pc, 100)
    wait_synced(pc, rc)
    p.proc.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: not link_up(rc), 15, what="replica notices the timeout")
        assert "MASTER timeout" in r.log_text()
    finally:
        p.proc.send_signal(signal.SIGCONT)
    write_load(pc, 100, seed=3)
    wait_synced(pc, rc)
    assert stats(pc)["sync_partial_ok"] >= 1 and stats(pc)["sync_full"] == 1
    assert same_data(pc, rc)


def test_restarted_replica_resyncs(procs):
    p = procs(*FAST)
    pc = p.client()
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    write_load(pc, 100)
    wait_synced(pc, r.client())
    r.kill()
    write_load(pc, 100, seed=5)
    r.start(timeout=60)
    wait_synced(pc, r.client())
    assert same_data(pc, r.client())


def test_many_replicas_under_load(procs):
    p = procs(*FAST)
    pc = p.client()
    reps = [ServerProcess("redpoll", args=["--replicaof", "127.0.0.1", str(p.port)])
            for _ in range(8)]
    try:
        for r in reps:
            r.start(wait=False)
        for r in reps:
            r.wait_ready(60)
        write_load(pc, 300)
        clients = [r.client() for r in reps]
        wait_synced(pc, *clients, timeout=90)
        write_load(pc, 300, seed=11)
        wait_synced(pc, *clients, timeout=60)
        assert all(same_data(pc, c) for c in clients)
        assert info(pc)["connected_slaves"] == 8
    finally:
        for r in reps:
            r.cleanup()


def test_replica_output_buffer_limit(procs):
    p = procs(*FAST, "--client-output-buffer-limit", "replica 256kb 128kb 1")
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    pc, rc = p.client(), r.client()
    wait_synced(pc, rc)
    r.proc.send_signal(signal.SIGSTOP)
    try:
        big = b"x" * 100_000
        for i in range(200):
            pc.set(f"big{i}", big)
        wait_until(lambda: info(pc)["connected_slaves"] == 0, 20,
                   what="replica dropped for its output buffer")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    wait_synced(pc, rc)
    assert rc.get("big199") == b"x" * 100_000


def test_command_errors_match_redis(procs):
    p = procs()
    real = procs(kind="redis")
    cases = [
        ("REPLICAOF", "a", "b"), ("REPLICAOF", "h", "70000"), ("REPLICAOF", "x"),
        ("REPLCONF", "a"), ("REPLCONF", "foo", "bar"), ("REPLCONF", "listening-port", "x"),
        ("REPLCONF",), ("WAIT", "a", "0"), ("WAIT", "1", "-1"), ("WAIT", "0", "0"),
        ("ROLE", "x"), ("REPLICAOF", "no", "one"), ("SLAVEOF", "NO", "ONE"),
    ]
    for args in cases:
        got = []
        for c in (p.client(), real.client()):
            try:
                got.append(("ok", c.execute_command(*args)))
            except redis.ResponseError as e:
                got.append(("err", str(e)))
        assert got[0] == got[1], args
    assert p.client().execute_command("ROLE") == [b"master", 0, []]
    assert real.client().execute_command("ROLE") == [b"master", 0, []]


def test_failover_switches_roles(procs):
    p = procs(*FAST)
    r = procs(*FAST, "--replicaof", "127.0.0.1", str(p.port))
    pc, rc = p.client(), r.client()
    writer = redis.Redis(port=p.port, single_connection_client=True)
    write_load(pc, 200)
    writer.set("before", "1")               # a connection that wrote on the primary...
    wait_synced(pc, rc)
    assert pc.execute_command("FAILOVER", "TO", "127.0.0.1", r.port, "TIMEOUT", 10000) == b"OK"
    wait_until(lambda: info(rc)["role"] == "master" and info(pc)["role"] == "slave", 20,
               what="roles switched")
    wait_until(lambda: info(pc)["master_failover_state"] == "no-failover", 10,
               what="failover finished")
    with pytest.raises(redis.ReadOnlyError):    # ...is refused once it is a replica
        writer.set("after", "1")
    writer.close()
    rc.set("written", "on the new primary")
    wait_synced(rc, pc)
    assert pc.get("written") == b"on the new primary"
    assert stats(rc)["sync_partial_ok"] == 1 and stats(rc)["sync_full"] == 0
    assert same_data(pc, rc)
    # and back, to any replica
    assert rc.execute_command("FAILOVER") == b"OK"
    wait_until(lambda: info(pc)["role"] == "master" and info(rc)["role"] == "slave", 20,
               what="roles switched back")
    pc.set("back", "1")
    wait_synced(pc, rc)
    assert rc.get("back") == b"1"


def test_failover_timeout_aborts_and_errors(procs):
    p = procs(*FAST)
    pc = p.client()
    real = procs(kind="redis")
    for args in [("FAILOVER",), ("FAILOVER", "ABORT"), ("FAILOVER", "TIMEOUT", "0"),
                 ("FAILOVER", "FOO"), ("FAILOVER", "TO", "h", "x"),
                 ("FAILOVER", "ABORT", "1"), ("FAILOVER", "TIMEOUT", "1", "TIMEOUT", "1")]:
        got = []
        for c in (pc, real.client()):
            try:
                got.append(c.execute_command(*args))
            except redis.ResponseError as e:
                got.append(str(e))
        assert got[0] == got[1], args
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    rc = r.client()
    wait_synced(pc, rc)
    with pytest.raises(redis.ResponseError, match="not a replica"):
        pc.execute_command("FAILOVER", "TO", "127.0.0.1", 1)
    with pytest.raises(redis.ResponseError, match="requires both a timeout"):
        pc.execute_command("FAILOVER", "FORCE")
    with pytest.raises(redis.ResponseError, match="not valid when server is a replica"):
        rc.execute_command("FAILOVER")
    # the replica cannot catch up while it is stopped: the failover times out
    r.proc.send_signal(signal.SIGSTOP)
    try:
        pc.set("unacked", "1")                  # the stopped replica cannot ack this
        pc.execute_command("FAILOVER", "TIMEOUT", 1500)
        assert info(pc)["master_failover_state"] == "waiting-for-sync"
        with pytest.raises(redis.ResponseError, match="already in progress"):
            pc.execute_command("FAILOVER")
        with pytest.raises(redis.ResponseError, match="not allowed while failing over"):
            pc.execute_command("REPLICAOF", "NO", "ONE")
        wait_until(lambda: info(pc)["master_failover_state"] == "no-failover", 15,
                   what="failover timed out")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    assert info(pc)["role"] == "master"
    assert pc.set("still", "primary")
    assert "Replica never caught up before timeout" in p.log_text()


def test_replica_restart_after_shutdown_save_resyncs_partially(procs):
    p = procs(*FAST)
    pc = p.client()
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    write_load(pc, 200)
    wait_synced(pc, r.client())
    try:
        r.client().shutdown(save=True)
    except redis.ConnectionError:
        pass
    r.proc.wait(20)
    write_load(pc, 100, seed=9)
    r.start(timeout=60)
    wait_synced(pc, r.client())
    assert stats(pc)["sync_full"] == 1 and stats(pc)["sync_partial_ok"] == 1
    assert same_data(pc, r.client())


def test_old_sync_command(procs):
    """SYNC (pre-PSYNC replicas): the payload comes without +FULLRESYNC, in
    the disk format since the client did not announce capa eof."""
    p = procs(*FAST)
    pc = p.client()
    pc.set("k", "v")
    with socket.create_connection(("127.0.0.1", p.port), timeout=20) as s:
        s.sendall(b"SYNC\r\n")
        data = b""
        while b"\r\n" not in data.lstrip(b"\n"):
            data += s.recv(65536)
        data = data.lstrip(b"\n")
        assert data.startswith(b"$") and not data.startswith(b"$EOF:")
        size = int(data[1:data.index(b"\r\n")])
        body = data[data.index(b"\r\n") + 2:]
        while len(body) < size:
            body += s.recv(65536)
        assert body[:9] == b"REDIS0010"
        pc.set("after", "sync")
        stream = body[size:]
        while b"after" not in stream:
            stream += s.recv(65536)
        assert b"$5\r\nafter\r\n$4\r\nsync\r\n" in stream
    assert stats(pc)["sync_full"] == 1


def test_redis_cli_rdb_snapshot(procs, tmp_path):
    """redis-cli --rdb: REPLCONF rdb-only 1 + SYNC, a payload then the end."""
    import subprocess
    p = procs(*FAST)
    pc = p.client()
    write_load(pc, 100)
    out = tmp_path / "snap.rdb"
    res = subprocess.run(["redis-cli", "-p", str(p.port), "--rdb", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert "Transfer finished with success" in res.stdout + res.stderr
    check = subprocess.run(["redis-check-rdb", str(out)], capture_output=True, text=True,
                           timeout=60)
    assert "RDB looks OK!" in check.stdout, check.stdout
    assert info(pc)["connected_slaves"] == 0


def test_replica_aof_rewritten_after_full_sync(procs):
    p = procs(*FAST)
    pc = p.client()
    write_load(pc, 200)
    r = procs("--replicaof", "127.0.0.1", str(p.port), "--appendonly", "yes")
    rc = r.client()
    wait_synced(pc, rc)
    wait_until(lambda: rc.info("persistence")["aof_rewrite_in_progress"] == 0
               and "rewrite" in r.log_text().lower(), 30, what="AOF rewrite after sync")
    write_load(pc, 100, seed=12)
    wait_synced(pc, rc)
    expected = dataset(pc)
    r.kill()
    r.args = ["--appendonly", "yes"]                # restart as a standalone server
    r.start(timeout=60)
    got = dataset(r.client())
    assert {k: v for k, v in got.items() if not v[2]} == \
        {k: v for k, v in expected.items() if not v[2]}


def test_backlog_ring():
    from redpoll.replication.backlog import Backlog
    bl = Backlog(10, 1)
    assert bl.histlen == 0 and bl.first_byte_offset == 1 and bl.covers(1)
    bl.feed(b"abcdef")                          # offsets 1..6
    assert bl.read_from(3) == b"cdef" and bl.covers(7) and not bl.covers(8)
    for i in range(10):
        bl.feed(b"0123456789")                  # 100 more bytes: offsets 7..106
    assert bl.histlen == 10 and bl.first_byte_offset == 97 and bl.end_offset == 106
    assert bl.read_from(97) == b"0123456789" and not bl.covers(96)
    assert len(bl.buf) <= 20                    # memory stays bounded
    bl.resize(4)
    assert bl.histlen == 4 and bl.read_from(103) == b"6789"


def test_backlog_too_small_means_full_resync(procs):
    p = procs(*FAST, "--repl-backlog-size", "16kb")
    pc = p.client()
    proxy = Proxy(p.port)
    try:
        r = procs("--replicaof", "127.0.0.1", str(proxy.port))
        rc = r.client()
        wait_synced(pc, rc)
        proxy.close()                           # cut, and refuse reconnections
        wait_until(lambda: not link_up(rc), 10, what="link down")
        for i in range(40):
            pc.set(f"fill{i}", "x" * 1000)      # more than the backlog holds
        proxy = Proxy(p.port)
        rc.execute_command("REPLICAOF", "127.0.0.1", proxy.port)
        wait_synced(pc, rc)
        st = stats(pc)
        assert st["sync_full"] == 2 and st["sync_partial_err"] == 1
        assert st["sync_partial_ok"] == 0
        assert rc.get("fill39") == b"x" * 1000
        assert info(pc)["repl_backlog_histlen"] <= 16 * 1024
    finally:
        proxy.close()


def test_backlog_ttl_frees_backlog(procs):
    p = procs(*FAST, "--repl-backlog-ttl", "1")
    pc = p.client()
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    rc = r.client()
    wait_synced(pc, rc)
    old_id = info(pc)["master_replid"]
    assert info(pc)["repl_backlog_active"] == 1
    rc.execute_command("REPLICAOF", "NO", "ONE")
    wait_until(lambda: info(pc)["repl_backlog_active"] == 0, 15, what="backlog freed")
    assert info(pc)["master_replid"] != old_id


def test_scripts_and_transactions_replicate_by_effects(procs):
    p = procs(*FAST)
    r = procs("--replicaof", "127.0.0.1", str(p.port))
    pc, rc = p.client(), r.client()
    wait_synced(pc, rc)
    pc.eval("redis.call('set', KEYS[1], 'x'); redis.call('incrby', KEYS[2], 5); "
            "return redis.call('get', KEYS[1])", 2, "s1", "s2")
    pipe = pc.pipeline(transaction=True)
    pipe.execute_command("SELECT", 2).set("in2", "v").execute_command("SELECT", 0)
    pipe.set("ex", "v", ex=1000)
    pipe.execute()
    wait_synced(pc, rc)
    assert rc.mget("s1", "s2") == [b"x", b"5"]
    assert r.client(db=2).get("in2") == b"v"
    assert 990 <= rc.ttl("ex") <= 1000
    # a read-only script is not propagated
    off = info(pc)["master_repl_offset"]
    pc.eval("return redis.call('get', KEYS[1])", 1, "s1")
    assert info(pc)["master_repl_offset"] == off
