"""redpoll-sentinel: real processes on free ports (redpoll servers, redpoll
sentinels and, for mixed groups and reply comparisons, Debian's
redis-sentinel), real clients (redis-py, its Sentinel client, raw sockets).

Timeouts are small (down-after 1000 ms, failover-timeout 5000 ms) and every
wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
import redis
from redis.sentinel import Sentinel

from support import ServerProcess, free_port, wait_until

NAME = "mymaster"
HAVE_REAL_SENTINEL = shutil.which("redis-server") is not None


def sentinel_conf(master_port: int, quorum: int = 2, down_after: int = 1000,
                  failover_timeout: int = 5000, extra: str = "") -> str:
    return (f"sentinel monitor {NAME} 127.0.0.1 {master_port} {quorum}\n"
            f"sentinel down-after-milliseconds {NAME} {down_after}\n"
            f"sentinel failover-timeout {NAME} {failover_timeout}\n"
            f"sentinel parallel-syncs {NAME} 1\n" + extra)


class Group:
    """A primary, replicas and sentinels; everything stopped by close()."""

    def __init__(self, replicas: int = 2, sentinels: int = 3, real_sentinels: int = 0,
                 server_kind: str = "redpoll", server_args: list[str] | None = None,
                 password: str | None = None, conf_extra: str = "",
                 down_after: int = 1000, failover_timeout: int = 5000, quorum: int = 2,
                 server_config: str | None = None):
        self.procs: list[ServerProcess] = []
        self.server_config = server_config    # servers get a config file with this
        self.password = password
        self.server_args = list(server_args or [])
        self.server_kind = server_kind
        try:
            self._start_all(replicas, sentinels, real_sentinels, server_kind, conf_extra,
                            down_after, failover_timeout, quorum)
        except BaseException:
            self.close()
            raise

    def _start_all(self, replicas, sentinels, real_sentinels, server_kind, conf_extra,
                   down_after, failover_timeout, quorum) -> None:
        self.primary = self._start_server(server_kind, self.server_args)
        self.replicas = [self._start_server(
            server_kind, self.server_args + ["--replicaof", "127.0.0.1",
                                             str(self.primary.port)])
            for _ in range(replicas)]
        conf = sentinel_conf(self.primary.port, quorum, down_after, failover_timeout,
                             conf_extra)
        self.sentinel_password = self.password if "requirepass" in conf_extra else None
        self.sentinels = [self.start_sentinel("redpoll", conf) for _ in range(sentinels)]
        self.sentinels += [self.start_sentinel("redis", conf) for _ in range(real_sentinels)]

    def _start_server(self, kind: str, args: list[str]) -> ServerProcess:
        p = ServerProcess(kind, args=args, password=self.password,
                          config=self.server_config)
        self.procs.append(p)
        return p.start(timeout=60)     # the machine may be busy

    def start_sentinel(self, kind: str, conf: str, port: int | None = None,
                       workdir: str | None = None) -> ServerProcess:
        p = ServerProcess(kind, config=conf, args=["--sentinel"], port=port,
                          workdir=workdir, password=self.sentinel_password)
        self.procs.append(p)
        return p.start(timeout=60)

    def wait_discovered(self, replicas: int | None = None, timeout: float = 20) -> None:
        """Every sentinel knows every replica and every other sentinel."""
        nrep = len(self.replicas) if replicas is None else replicas
        nsen = len(self.sentinels) - 1
        for s in self.sentinels:
            c = s.client(decode_responses=True)
            wait_until(lambda: len(c.execute_command("SENTINEL", "REPLICAS", NAME)) == nrep
                       and len(c.execute_command("SENTINEL", "SENTINELS", NAME)) == nsen,
                       timeout, what=f"discovery by sentinel {s.port}")

    def master_addr(self, s: ServerProcess):
        r = raw_client(s).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
        return (r[0], int(r[1])) if r else None

    def redis_sentinel(self) -> Sentinel:
        return Sentinel([("127.0.0.1", s.port) for s in self.sentinels],
                        socket_timeout=0.5, password=self.password)

    def close(self) -> None:
        for p in self.procs:
            try:
                if p.proc is not None and p.proc.poll() is None:
                    os.kill(p.proc.pid, signal.SIGCONT)
            except OSError:
                pass
            p.cleanup()


@pytest.fixture
def group_factory():
    made: list[Group] = []

    def make(**kw) -> Group:
        g = Group(**kw)
        made.append(g)
        return g
    yield make
    for g in made:
        g.close()


def raw_client(s: ServerProcess) -> redis.Redis:
    """A client that returns replies as sent (no redis-py reply parsing)."""
    c = s.client(decode_responses=True, protocol=2)
    c.response_callbacks.clear()
    return c


def _fields(reply) -> list[str]:
    return [reply[i] for i in range(0, len(reply), 2)]


def _as_dict(reply) -> dict:
    return dict(zip(reply[::2], reply[1::2]))


class EventLog:
    """Every event a sentinel publishes (PSUBSCRIBE *), collected in a thread."""

    def __init__(self, s: ServerProcess):
        self.events: list[tuple[str, str]] = []
        self.c = s.client(decode_responses=True, socket_timeout=None)
        self.ps = self.c.pubsub()
        self.ps.psubscribe(**{"*": self._on})
        wait_until(lambda: self.ps.get_message(timeout=0.1) is not None, 5,
                   what="psubscribe confirmation")
        self.thread = self.ps.run_in_thread(sleep_time=0.05, daemon=True,
                                            exception_handler=lambda *a: None)

    def _on(self, m) -> None:
        self.events.append((m["channel"], m["data"]))

    def has(self, channel: str, contains: str = "") -> bool:
        return any(ch == channel and contains in data for ch, data in self.events)

    def close(self) -> None:
        self.thread.stop()      # also closes the pub/sub connection


# -- discovery, reply shapes --------------------------------------------------------

@pytest.mark.timeout(120)
def test_discovery_mixed_group_and_reply_shapes(group_factory):
    """Two redpoll sentinels and one real redis-sentinel watch redpoll
    servers: all discover each other; redpoll's SENTINEL replies have the
    real sentinel's fields in the same order; errors match."""
    g = group_factory(replicas=2, sentinels=2, real_sentinels=1)
    g.wait_discovered()
    ours = raw_client(g.sentinels[0])
    real = raw_client(g.sentinels[2])
    # the real sentinel knows the redpoll sentinels by their run ids
    ids = {s.client(decode_responses=True).execute_command("SENTINEL", "MYID")
           for s in g.sentinels[:2]}
    known = {_as_dict(x)["runid"] for x in real.execute_command("SENTINEL", "SENTINELS", NAME)}
    assert ids <= known
    for args in (["MASTER", NAME],):
        a, b = ours.execute_command("SENTINEL", *args), real.execute_command("SENTINEL", *args)
        assert _fields(a) == _fields(b)
        da, db = _as_dict(a), _as_dict(b)
        for k in ("name", "ip", "port", "runid", "flags", "quorum", "num-slaves",
                  "num-other-sentinels", "config-epoch", "role-reported"):
            assert da[k] == db[k], k
    for args in (["REPLICAS", NAME], ["SLAVES", NAME], ["SENTINELS", NAME]):
        a = sorted(ours.execute_command("SENTINEL", *args), key=lambda r: _as_dict(r)["port"])
        b = sorted(real.execute_command("SENTINEL", *args), key=lambda r: _as_dict(r)["port"])
        assert [_fields(x) for x in a] == [_fields(x) for x in b[:len(a)]]
    # a replica may still be in its first sync: wait for the INFO that says so
    wait_until(lambda: all(_as_dict(r)["master-link-status"] == "ok" for r in
                           ours.execute_command("SENTINEL", "REPLICAS", NAME)), 20,
               what="replicas' links up in the sentinel's view")
    rep = sorted(ours.execute_command("SENTINEL", "REPLICAS", NAME),
                 key=lambda r: _as_dict(r)["port"])
    d = _as_dict(rep[0])
    assert d["flags"] == "slave" and d["master-link-status"] == "ok"
    assert d["slave-priority"] == "100" and int(d["master-port"]) == g.primary.port
    assert ours.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME) == \
        real.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME)
    assert ours.execute_command("ROLE") == real.execute_command("ROLE") == ["sentinel", [NAME]]
    assert ours.execute_command("SENTINEL", "CKQUORUM", NAME) == \
        real.execute_command("SENTINEL", "CKQUORUM", NAME)
    assert _fields(ours.execute_command("SENTINEL", "DEBUG")) == \
        _fields(real.execute_command("SENTINEL", "DEBUG"))
    assert ours.execute_command("SENTINEL", "CONFIG", "GET", "*") == \
        real.execute_command("SENTINEL", "CONFIG", "GET", "*")
    assert ours.execute_command("SENTINEL", "HELP") == real.execute_command("SENTINEL", "HELP")
    assert ours.execute_command("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1",
                                str(g.primary.port), "0", "*") == [0, "*", 0]
    info = ours.execute_command("INFO", "sentinel")
    assert f"master0:name={NAME},status=ok,address=127.0.0.1:{g.primary.port}," \
           f"slaves=2,sentinels=3" in info
    assert info.startswith("# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n")
    headers = [l for l in ours.execute_command("INFO").split("\r\n") if l.startswith("#")]
    assert headers == [l for l in real.execute_command("INFO").split("\r\n")
                       if l.startswith("#")]
    # errors: the same text from both
    bad = [["GET", "k"], ["CONFIG", "GET", "port"], ["SENTINEL"], ["SENTINEL", "FOO"],
           ["SENTINEL", "MASTER", "nosuch"], ["SENTINEL", "MASTERS", "x"],
           ["SENTINEL", "REPLICAS", "nosuch"], ["SENTINEL", "FAILOVER", "nosuch"],
           ["SENTINEL", "MONITOR", "m2", "127.0.0.1", "abc", "2"],
           ["SENTINEL", "MONITOR", "m2", "127.0.0.1", "6379", "0"],
           ["SENTINEL", "MONITOR", "m2", "127.0.0.1", "6379", "x"],
           ["SENTINEL", "MONITOR", NAME, "127.0.0.1", "6379", "2"],
           ["SENTINEL", "SET", NAME, "quorum", "0"],
           ["SENTINEL", "SET", NAME, "nosuch", "1"],
           ["SENTINEL", "SET", NAME, "notification-script", "/bin/true"],
           ["SENTINEL", "CONFIG", "SET", "announce-port", "70000"],
           ["SENTINEL", "CONFIG", "SET", "nosuch", "1"],
           ["SENTINEL", "CONFIG", "GET"], ["SENTINEL", "CONFIG", "FOO", "x"],
           ["SENTINEL", "SIMULATE-FAILURE", "nope"],
           ["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", "x", "0", "*"],
           ["PUBLISH", "foo", "bar"]]
    for cmd in bad:
        errs = []
        for cl in (ours, real):
            with pytest.raises(redis.ResponseError) as e:
                cl.execute_command(*cmd)
            errs.append(str(e.value))
        assert errs[0] == errs[1], cmd
    assert ours.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuch") is None
    assert ours.execute_command("SENTINEL", "SIMULATE-FAILURE", "HELP") == \
        ["crash-after-election", "crash-after-promotion"]
    assert ours.execute_command("COMMAND", "COUNT") == real.execute_command("COMMAND", "COUNT")
    cache = ours.execute_command("SENTINEL", "INFO-CACHE", NAME, "nosuch")
    assert cache[0] == NAME and len(cache) == 2 and len(cache[1]) == 3
    assert all(isinstance(age, int) and "# Replication" in text for age, text in cache[1])
    assert real.execute_command("SENTINEL", "INFO-CACHE", "nosuch") == \
        ours.execute_command("SENTINEL", "INFO-CACHE", "nosuch") == []
    assert ours.execute_command("SENTINEL", "PENDING-SCRIPTS") == []
    cli = shutil.which("redis-cli")
    if cli:
        out = subprocess.run([cli, "-p", str(g.sentinels[0].port), "sentinel",
                              "get-master-addr-by-name", NAME], capture_output=True,
                             text=True, timeout=10).stdout
        assert out.split() == ["127.0.0.1", str(g.primary.port)]
    assert ours.execute_command("PING") == "PONG"
    assert _as_dict(ours.execute_command("HELLO"))["mode"] == "sentinel"


@pytest.mark.timeout(60)
def test_monitor_set_remove_reset_and_config_rewrite(group_factory):
    g = group_factory(replicas=1, sentinels=1)
    g.wait_discovered()
    s = g.sentinels[0]
    c = raw_client(s)
    other = ServerProcess("redpoll").start()
    g.procs.append(other)
    assert c.execute_command("SENTINEL", "MONITOR", "other", "127.0.0.1",
                             str(other.port), "1") == "OK"
    assert c.execute_command("SENTINEL", "SET", "other", "down-after-milliseconds", "3000",
                             "parallel-syncs", "2", "auth-pass", "secret") == "OK"
    d = _as_dict(c.execute_command("SENTINEL", "MASTER", "other"))
    assert d["down-after-milliseconds"] == "3000" and d["parallel-syncs"] == "2"
    assert [m for m in c.execute_command("ROLE")[1]] == [NAME, "other"]
    text = open(s.config_path).read()
    assert f"sentinel monitor other 127.0.0.1 {other.port} 1" in text
    assert "sentinel down-after-milliseconds other 3000" in text
    assert "sentinel auth-pass other secret" in text
    assert f"sentinel known-replica {NAME} 127.0.0.1 {g.replicas[0].port}" in text
    assert "sentinel myid " + c.execute_command("SENTINEL", "MYID") in text
    assert c.execute_command("SENTINEL", "RESET", "oth*") == 1
    assert c.execute_command("SENTINEL", "REMOVE", "other") == "OK"
    assert c.execute_command("SENTINEL", "MASTERS")[0][1] == NAME
    assert "other" not in open(s.config_path).read()
    assert c.execute_command("SENTINEL", "FLUSHCONFIG") == "OK"
    # default values are not written; the user's lines keep their place
    text = open(s.config_path).read()
    assert text.splitlines()[0] == f"sentinel monitor {NAME} 127.0.0.1 {g.primary.port} 2"
    assert "parallel-syncs" not in text


# -- failover -------------------------------------------------------------------------

def _writer(master, stop: threading.Event, acked: list, errors: list):
    i = 0
    while not stop.is_set():
        try:
            master.set(f"k{i}", i)
            acked.append(i)
            i += 1
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError,
                redis.ResponseError) as e:
            errors.append(repr(e))
            time.sleep(0.02)


@pytest.mark.timeout(120)
def test_kill_primary_failover_clients_follow_old_primary_rejoins(group_factory):
    g = group_factory(replicas=2, sentinels=3)
    g.wait_discovered()
    events = EventLog(g.sentinels[0])
    rs = g.redis_sentinel()
    assert rs.discover_master(NAME) == ("127.0.0.1", g.primary.port)
    master = rs.master_for(NAME, socket_timeout=0.5, retry_on_timeout=False)
    master.set("before", "1")
    wait_until(lambda: all(r.client().get("before") == b"1" for r in g.replicas), 10,
               what="replication")
    assert sorted(rs.discover_slaves(NAME)) == sorted(("127.0.0.1", r.port)
                                                       for r in g.replicas)
    assert rs.slave_for(NAME, socket_timeout=1).get("before") == b"1"
    old_port = g.primary.port
    g.primary.kill()
    t0 = time.monotonic()
    wait_until(lambda: events.has("+switch-master"), 40, what="+switch-master")
    switched = time.monotonic() - t0
    new_port = int(next(d for ch, d in events.events if ch == "+switch-master").split()[-1])
    assert new_port in [r.port for r in g.replicas]
    # redis-py follows the new primary
    def write_ok():
        try:
            return master.set("after", "2")
        except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
            return False
    wait_until(write_ok, 10, what="write through the Sentinel client")
    assert rs.discover_master(NAME) == ("127.0.0.1", new_port)
    assert master.get("before") == b"1"
    assert switched < 15, switched     # the speed itself: test_failover_time_*
    # every sentinel agrees; the other replica follows the new primary
    for s in g.sentinels:
        wait_until(lambda: g.master_addr(s) == ("127.0.0.1", new_port), 10,
                   what=f"sentinel {s.port} switched")
    other = next(r for r in g.replicas if r.port != new_port)
    wait_until(lambda: other.client().info("replication").get("master_port") == new_port
               and other.client().info("replication")["master_link_status"] == "up",
               15, what="other replica reconfigured")
    for kind in ("+sdown", "+new-epoch", "+switch-master"):
        assert events.has(kind), kind
    # the old primary comes back (empty, no persistence) and is demoted at once
    back = ServerProcess("redpoll", port=old_port)
    g.procs.append(back)
    back.start()
    t1 = time.monotonic()
    wait_until(lambda: back.client().info("replication")["role"] == "slave", 10,
               what="old primary demoted")
    assert time.monotonic() - t1 < 3
    wait_until(lambda: back.client().get("after") == b"2", 10, what="old primary synced")
    wait_until(lambda: sorted(rs.discover_slaves(NAME)) == sorted(
        [("127.0.0.1", old_port)] + [("127.0.0.1", r.port) for r in g.replicas
                                     if r.port != new_port]), 10,
        what="Sentinel client sees the new replica set")
    assert rs.slave_for(NAME, socket_timeout=1).get("after") == b"2"
    # the sentinels' files were rewritten: a restarted sentinel resumes
    s = g.sentinels[1]
    text = open(s.config_path).read()
    assert f"sentinel monitor {NAME} 127.0.0.1 {new_port} 2" in text
    assert "sentinel current-epoch" in text and "sentinel known-sentinel" in text
    s.stop()
    s.start()
    c = s.client(decode_responses=True)
    assert g.master_addr(s) == ("127.0.0.1", new_port)
    wait_until(lambda: len(c.execute_command("SENTINEL", "REPLICAS", NAME)) == 2
               and len(c.execute_command("SENTINEL", "SENTINELS", NAME)) == 2, 10,
               what="restarted sentinel knows the group")
    events.close()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("server_kind", ["redpoll", "redis"])
def test_manual_failover_loses_no_acknowledged_write(group_factory, server_kind):
    """SENTINEL FAILOVER under a write load: writes are paused on the old
    primary until the replica has them all, so none is lost (with redpoll
    servers and with real Redis servers)."""
    g = group_factory(replicas=1, sentinels=1, quorum=1, server_kind=server_kind)
    g.wait_discovered()
    rs = g.redis_sentinel()
    master = rs.master_for(NAME, socket_timeout=1)
    stop = threading.Event()
    acked: list[int] = []
    errors: list[str] = []
    t = threading.Thread(target=_writer, args=(master, stop, acked, errors), daemon=True)
    t.start()
    try:
        _manual_failover_checks(g, acked, stop, t)
    finally:
        stop.set()
    wait_until(lambda: g.primary.client().info("replication")["role"] == "slave", 15,
               what="old primary demoted")


def _manual_failover_checks(g, acked, stop, t) -> None:
    wait_until(lambda: len(acked) > 200, 10, what="writes flowing")
    c = g.sentinels[0].client(decode_responses=True)
    # the sentinel must have read the replica's INFO (else: NOGOODSLAVE)
    wait_until(lambda: _as_dict(raw_client(g.sentinels[0]).execute_command(
        "SENTINEL", "REPLICAS", NAME)[0])["master-link-status"] == "ok", 20,
        what="replica's INFO seen")
    events = EventLog(g.sentinels[0])
    assert c.execute_command("SENTINEL", "FAILOVER", NAME) == "OK"
    with pytest.raises(redis.ResponseError, match="INPROG Failover already in progress"):
        c.execute_command("SENTINEL", "FAILOVER", NAME)
    wait_until(lambda: g.master_addr(g.sentinels[0])[1] == g.replicas[0].port, 15,
               what="manual failover done")
    n = len(acked)
    wait_until(lambda: len(acked) > n + 100, 15, what="writes on the new primary")
    stop.set()
    t.join(5)
    new = g.replicas[0].client()
    missing = [i for i in acked if new.get(f"k{i}") is None]
    events.close()
    assert missing == [], (f"{len(missing)} of {len(acked)} acknowledged writes lost; "
                           f"events: {events.events}; replica: {new.info('replication')}")


@pytest.mark.timeout(90)
def test_replica_priority_zero_is_never_promoted(group_factory):
    g = group_factory(replicas=0, sentinels=3)
    never = ServerProcess("redpoll", args=["--replicaof", "127.0.0.1", str(g.primary.port),
                                           "--replica-priority", "0"]).start()
    ok = ServerProcess("redpoll", args=["--replicaof", "127.0.0.1",
                                        str(g.primary.port)]).start()
    g.procs += [never, ok]
    g.replicas = [never, ok]
    g.wait_discovered()
    d = {_as_dict(r)["port"]: _as_dict(r) for r in raw_client(
        g.sentinels[0]).execute_command("SENTINEL", "REPLICAS", NAME)}
    assert d[str(never.port)]["slave-priority"] == "0"
    g.primary.kill()
    for s in g.sentinels:
        wait_until(lambda: g.master_addr(s) == ("127.0.0.1", ok.port), 40,
                   what="failover to the priority-100 replica")
    wait_until(lambda: never.client().info("replication").get("master_port") == ok.port,
               15, what="priority-0 replica follows")


@pytest.mark.timeout(90)
def test_auth_pass_and_sentinel_requirepass(group_factory):
    g = group_factory(replicas=1, sentinels=3, password="s3cret",
                      server_args=["--requirepass", "s3cret", "--masterauth", "s3cret"],
                      conf_extra=f"sentinel auth-pass {NAME} s3cret\nrequirepass s3cret\n")
    g.wait_discovered()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=g.sentinels[0].port).execute_command("SENTINEL", "MASTERS")
    rs = Sentinel([("127.0.0.1", s.port) for s in g.sentinels], socket_timeout=0.5,
                  sentinel_kwargs={"password": "s3cret"}, password="s3cret")
    assert rs.discover_master(NAME) == ("127.0.0.1", g.primary.port)
    g.primary.kill()
    wait_until(lambda: rs.discover_master(NAME) == ("127.0.0.1", g.replicas[0].port), 40,
               what="failover with auth")
    assert rs.master_for(NAME).set("x", "1")


@pytest.mark.timeout(300)
def test_repeated_kill_failovers_never_fail_over_twice(group_factory):
    """Kill the current primary again and again: each kill gives exactly one
    failover (one +switch-master), never a second one right after it."""
    g = group_factory(replicas=2, sentinels=3)
    g.wait_discovered()
    events = EventLog(g.sentinels[0])
    servers = {p.port: p for p in [g.primary] + g.replicas}
    current = g.primary.port
    for round_ in range(5):
        n = sum(1 for ch, _ in events.events if ch == "+switch-master")
        servers[current].kill()
        wait_until(lambda: sum(1 for ch, _ in events.events if ch == "+switch-master") > n,
                   40, what=f"failover {round_}")
        new = int([d for ch, d in events.events if ch == "+switch-master"][-1].split()[-1])
        # bring the killed one back; it rejoins as a replica
        back = ServerProcess("redpoll", port=current)
        g.procs.append(back)
        back.start()
        servers[current] = back
        wait_until(lambda: back.client().info("replication")["role"] == "slave"
                   and back.client().info("replication")["master_link_status"] == "up",
                   30, what="killed primary rejoins")
        # a few down-after periods later there was no second failover
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert sum(1 for ch, _ in events.events if ch == "+switch-master") == n + 1
            time.sleep(0.1)
        current = new
        for s in g.sentinels:
            wait_until(lambda: g.master_addr(s) == ("127.0.0.1", new), 10,
                       what="all sentinels agree")
    events.close()


@pytest.mark.timeout(60)
def test_sentinel_mode_entry_points_and_missing_config(tmp_path):
    """redpoll-sentinel and redpoll-server --sentinel both run a sentinel; a
    sentinel without a config file refuses to start, as Redis does."""
    r = subprocess.run([sys.executable, "-m", "redpoll", "sentinel"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 1
    assert "Sentinel needs config file on disk to save state. Exiting..." in r.stdout
    conf = tmp_path / "s.conf"
    conf.write_text("sentinel monitor m 127.0.0.1 1 0\n")
    r = subprocess.run([sys.executable, "-m", "redpoll", "server", str(conf), "--sentinel"],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert ">>> 'sentinel monitor m 127.0.0.1 1 0'\nQuorum must be 1 or greater." in r.stderr
    exe = shutil.which("redpoll-sentinel")
    if exe is None:
        exe_cmd = [sys.executable, "-m", "redpoll.sentinel_main"]
    else:
        exe_cmd = [exe]
    port = free_port()
    conf.write_text("sentinel monitor m 127.0.0.1 1 2\n")
    p = subprocess.Popen(exe_cmd + [str(conf), "--port", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        c = redis.Redis(port=port, decode_responses=True)
        wait_until(lambda: c.ping(), 15, what="redpoll-sentinel up")
        assert c.execute_command("ROLE") == ["sentinel", ["m"]]
        assert c.info("server")["redis_mode"] == "sentinel"
    finally:
        p.terminate()
        p.wait(10)


# -- failover time against real Redis Sentinel ------------------------------------------

def _failover_run(kind: str, down_after: int) -> tuple[float, int, int]:
    """Kill -9 the primary of a 1 primary + 2 replicas + 3 sentinels group of
    ``kind`` under a write load (each write confirmed with WAIT 1); return
    (seconds from the kill to the first write accepted through redis-py's
    Sentinel client, acknowledged writes, acknowledged writes lost)."""
    g = Group(replicas=2, sentinels=3 if kind == "redpoll" else 0,
              real_sentinels=3 if kind == "redis" else 0, server_kind=kind,
              down_after=down_after, failover_timeout=5000)
    try:
        g.wait_discovered()
        master = g.redis_sentinel().master_for(NAME, socket_timeout=1,
                                               socket_connect_timeout=0.5)
        acked: list[int] = []
        i = 0

        def write() -> bool:
            nonlocal i
            try:
                master.set(f"w{i}", i)
                ok = master.execute_command("WAIT", 1, 100) >= 1
            except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError,
                    redis.ResponseError):
                return False
            if ok:
                acked.append(i)
            i += 1
            return True
        wait_until(lambda: write() and len(acked) >= 20, 20, interval=0,
                   what=f"{kind}: writes acknowledged")
        g.primary.kill()
        t0 = time.monotonic()
        wait_until(write, 60, interval=0.01, what=f"{kind}: write after failover")
        elapsed = time.monotonic() - t0
        for _ in range(50):
            write()
        host, port = g.redis_sentinel().discover_master(NAME)
        new = redis.Redis(host=host, port=port)
        lost = sum(1 for k in acked if new.get(f"w{k}") is None)
        return elapsed, len(acked), lost
    finally:
        g.close()


@pytest.mark.timeout(240)
@pytest.mark.parametrize("down_after", [1000, 5000])
def test_failover_time_not_worse_than_redis_sentinel(down_after):
    ours = _failover_run("redpoll", down_after)
    real = _failover_run("redis", down_after)
    print(f"\nfailover (kill -9 to first write through redis-py Sentinel), "
          f"down-after {down_after} ms: redpoll {ours[0]:.2f}s "
          f"({ours[1]} acked, {ours[2]} lost), Redis Sentinel {real[0]:.2f}s "
          f"({real[1]} acked, {real[2]} lost)")
    assert ours[2] == 0, "an acknowledged (WAIT 1) write was lost"
    # at most real Redis's time (with a little slack for a loaded machine)
    assert ours[0] <= real[0] + 0.5, (ours, real)


@pytest.mark.timeout(120)
def test_sigstopped_primary_is_demoted_as_soon_as_it_answers(group_factory):
    """A primary that hangs (SIGSTOP) is failed over; when it comes back
    (SIGCONT) it is turned into a replica of the new primary at once."""
    g = group_factory(replicas=2, sentinels=3)
    g.wait_discovered()
    old = g.primary
    os.kill(old.proc.pid, signal.SIGSTOP)
    try:
        for s in g.sentinels:
            wait_until(lambda: g.master_addr(s)[1] != old.port, 40,
                       what=f"sentinel {s.port} switched")
        new_port = g.master_addr(g.sentinels[0])[1]
        # stay stopped a little, as a hung process would
        wait_until(lambda: all(
            _as_dict(r).get("flags", "").startswith("s_down")
            for r in raw_client(g.sentinels[0]).execute_command("SENTINEL", "REPLICAS", NAME)
            if int(_as_dict(r)["port"]) == old.port), 10, what="old primary seen down")
    finally:
        os.kill(old.proc.pid, signal.SIGCONT)
    t0 = time.monotonic()
    c = old.client(decode_responses=True, socket_timeout=5)
    wait_until(lambda: c.info("replication")["role"] == "slave", 10, interval=0.01,
               what="hung primary demoted")
    assert time.monotonic() - t0 < 2.5
    assert c.info("replication")["master_port"] == new_port


@pytest.mark.timeout(150)
@pytest.mark.skipif(not HAVE_REAL_SENTINEL, reason="needs Debian's redis-server")
def test_mixed_sentinels_fail_over_real_redis_servers(group_factory):
    """Two redpoll sentinels and a real Redis Sentinel watch real Redis
    servers: they agree on ODOWN, elect one leader and fail over once."""
    g = group_factory(replicas=2, sentinels=2, real_sentinels=1, server_kind="redis")
    g.wait_discovered()
    events = [EventLog(s) for s in g.sentinels]
    g.primary.kill()
    for s in g.sentinels:
        wait_until(lambda: g.master_addr(s) is not None
                   and g.master_addr(s)[1] != g.primary.port, 40,
                   what=f"sentinel {s.port} switched")
    addrs = {g.master_addr(s) for s in g.sentinels}
    assert len(addrs) == 1
    new_port = addrs.pop()[1]
    leaders = [e for e in events if e.has("+elected-leader")]
    assert len(leaders) == 1
    other = next(r for r in g.replicas if r.port != new_port)
    wait_until(lambda: other.client().info("replication").get("master_port") == new_port,
               15, what="other replica follows")
    for e in events:
        wait_until(lambda: e.has("+switch-master"), 15, what="+switch-master everywhere")
    for e in events:
        assert sum(1 for ch, _ in e.events if ch == "+switch-master") == 1
        e.close()


@pytest.mark.timeout(150)
def test_leader_killed_during_failover_others_finish_and_it_catches_up(group_factory):
    """kill -9 the sentinel elected to fail over, right after its election:
    the two others still hold a majority and complete the failover; the
    killed one, restarted from its rewritten sentinel.conf, learns the new
    primary from their hello messages."""
    g = group_factory(replicas=2, sentinels=3)
    g.wait_discovered()
    events = {s.port: EventLog(s) for s in g.sentinels}
    old_port = g.primary.port
    g.primary.kill()
    leader = wait_until(lambda: next((s for s in g.sentinels
                                      if events[s.port].has("+elected-leader")), None),
                        20, interval=0.005, what="a leader")
    leader.kill()
    others = [s for s in g.sentinels if s is not leader]
    for s in others:
        wait_until(lambda: g.master_addr(s)[1] != old_port
                   and events[s.port].has("+switch-master"), 40,
                   what=f"sentinel {s.port} completes the failover")
    new = g.master_addr(others[0])
    assert g.master_addr(others[1]) == new
    leader.start(timeout=60)
    wait_until(lambda: g.master_addr(leader) == new, 20, what="restarted leader catches up")
    for e in events.values():
        e.close()


@pytest.mark.timeout(90)
def test_notification_and_client_reconfig_scripts(group_factory, tmp_path):
    out = tmp_path / "calls.txt"
    script = tmp_path / "record.sh"
    script.write_text(f'#!/bin/sh\necho "$(basename "$0") $*" >> {out}\n')
    script.chmod(0o755)
    reconf = tmp_path / "reconf.sh"
    reconf.write_text(f'#!/bin/sh\necho "reconf $*" >> {out}\n')
    reconf.chmod(0o755)
    g = group_factory(replicas=1, sentinels=1, quorum=1,
                      conf_extra=f"sentinel notification-script {NAME} {script}\n"
                                 f"sentinel client-reconfig-script {NAME} {reconf}\n")
    g.wait_discovered()
    d = _as_dict(raw_client(g.sentinels[0]).execute_command("SENTINEL", "MASTER", NAME))
    assert d["notification-script"] == str(script)
    assert d["client-reconfig-script"] == str(reconf)
    old, new = g.primary.port, g.replicas[0].port
    g.primary.kill()
    wait_until(lambda: out.exists() and "+switch-master" in out.read_text(), 40,
               what="scripts run")
    wait_until(lambda: f"reconf {NAME} leader start 127.0.0.1 {old} 127.0.0.1 {new}"
               in out.read_text(), 10, what="client-reconfig-script arguments")
    lines = out.read_text().splitlines()
    assert f"record.sh +sdown master {NAME} 127.0.0.1 {old}" in lines
    assert f"record.sh +switch-master {NAME} 127.0.0.1 {old} 127.0.0.1 {new}" in lines
    c = raw_client(g.sentinels[0])
    with pytest.raises(redis.ResponseError, match="Reconfiguration of scripts path is denied"):
        c.execute_command("SENTINEL", "SET", NAME, "notification-script", str(script))
    pending = c.execute_command("SENTINEL", "PENDING-SCRIPTS")
    for job in pending:
        assert _fields(job) in (["argv", "flags", "pid", "run-time", "retry-num"],
                                ["argv", "flags", "pid", "run-delay", "retry-num"])
    wait_until(lambda: c.execute_command("SENTINEL", "PENDING-SCRIPTS") == [], 10,
               what="every script finished")


@pytest.mark.timeout(60)
def test_tilt_mode_after_a_clock_jump(group_factory):
    """A sentinel that did not run for longer than the tilt trigger (here it
    is stopped) enters TILT mode, as Redis does; SENTINEL DEBUG shortens the
    tilt period so it also leaves it."""
    g = group_factory(replicas=0, sentinels=1, quorum=1)
    s = g.sentinels[0]
    c = raw_client(s)
    assert c.execute_command("SENTINEL", "DEBUG", "tilt-period", "1500") == "OK"
    assert _as_dict(c.execute_command("SENTINEL", "DEBUG"))["TILT-PERIOD"] == "1500"
    events = EventLog(s)
    os.kill(s.proc.pid, signal.SIGSTOP)
    time.sleep(2.5)     # the "clock jump" itself: the process does not run
    os.kill(s.proc.pid, signal.SIGCONT)
    wait_until(lambda: events.has("+tilt", "#tilt mode entered"), 10, what="+tilt")
    assert "sentinel_tilt:1" in c.execute_command("INFO", "sentinel") or \
        events.has("-tilt")
    wait_until(lambda: events.has("-tilt", "#tilt mode exited"), 10, what="-tilt")
    assert "sentinel_tilt:0" in c.execute_command("INFO", "sentinel")
    events.close()



@pytest.mark.timeout(60)
def test_bad_switch_values_refused_like_redis_sentinel(tmp_path):
    """A yes/no sentinel switch given anything else stops the start with
    Redis's message (each has its own wording)."""
    conf = tmp_path / "s.conf"
    for line in ("sentinel deny-scripts-reconfig maybe", "sentinel resolve-hostnames 1",
                 "sentinel announce-hostnames on"):
        conf.write_text(line + "\n")
        outs = []
        for exe in ([sys.executable, "-m", "redpoll", "server"], ["redis-server"]):
            r = subprocess.run(exe + [str(conf), "--sentinel", "--port", "0"],
                               capture_output=True, text=True, timeout=20)
            assert r.returncode == 1
            outs.append((r.stdout + r.stderr).strip().split("\n")[-3:])
        assert outs[0] == outs[1]
        assert outs[0][1] == f">>> '{line}'"

@pytest.mark.timeout(90)
@pytest.mark.skipif(not HAVE_REAL_SENTINEL, reason="needs Debian's redis-server")
def test_config_rewrite_matches_redis_sentinel(group_factory):
    """The same sentinel.conf (comments, defaults, an empty announce-ip),
    loaded by a real Redis Sentinel and by redpoll, is rewritten the same way
    (sentinel lines, comments and blank lines; ids and ports normalised)."""
    conf = ("# Example sentinel.conf\n\n# protected-mode no\nprotected-mode no\n\n"
            "# the master\n" + sentinel_conf(0, down_after=5000, failover_timeout=10000)
            + 'sentinel announce-ip ""\nsentinel deny-scripts-reconfig no\n'
            + 'sentinel resolve-hostnames yes\nsentinel announce-hostnames no\n')
    g = group_factory(replicas=1, sentinels=0)
    conf = conf.replace("127.0.0.1 0 2", f"127.0.0.1 {g.primary.port} 2")
    g.sentinels = [g.start_sentinel("redpoll", conf), g.start_sentinel("redis", conf)]
    g.wait_discovered()

    def shape(s):
        ids = {p.client(decode_responses=True).execute_command("SENTINEL", "MYID"): "ID"
               for p in g.sentinels}
        out = []
        for line in open(s.config_path).read().split("\n"):
            if line and not line.startswith(("#", "sentinel ")):
                continue
            for k, v in ids.items():
                line = line.replace(k, v)
            if line.startswith("sentinel known-sentinel"):
                line = " ".join(line.split()[:3])
            out.append(line)
        return out
    wait_until(lambda: shape(g.sentinels[0]) == shape(g.sentinels[1]), 10,
               what=f"same rewrite:\n{shape(g.sentinels[0])}\n{shape(g.sentinels[1])}")


@pytest.mark.timeout(90)
@pytest.mark.skipif(not HAVE_REAL_SENTINEL, reason="needs Debian's redis-server")
def test_hostnames_like_redis_sentinel(group_factory):
    """resolve-hostnames / announce-hostnames: a master given as "localhost"
    is refused without them, and shown by name with them, as Redis does."""
    g = group_factory(replicas=1, sentinels=0)
    conf = (f"sentinel resolve-hostnames yes\nsentinel announce-hostnames yes\n"
            f"sentinel monitor {NAME} localhost {g.primary.port} 2\n"
            f"sentinel down-after-milliseconds {NAME} 1000\n")
    g.sentinels = [g.start_sentinel("redpoll", conf), g.start_sentinel("redis", conf)]
    g.wait_discovered()
    ours, real = (raw_client(s) for s in g.sentinels)
    for cmd in (["SENTINEL", "GET-MASTER-ADDR-BY-NAME", NAME],
                ["SENTINEL", "CONFIG", "GET", "*hostnames"]):
        assert ours.execute_command(*cmd) == real.execute_command(*cmd), cmd
    a = _as_dict(ours.execute_command("SENTINEL", "MASTER", NAME))
    b = _as_dict(real.execute_command("SENTINEL", "MASTER", NAME))
    assert a["ip"] == b["ip"] == "localhost"
    assert [l for l in ours.execute_command("INFO", "sentinel").split("\r\n")
            if l.startswith("master0")] == \
        [l for l in real.execute_command("INFO", "sentinel").split("\r\n")
         if l.startswith("master0")]
    bad = ["SENTINEL", "MONITOR", "m2", "no-such-host.invalid", "6379", "1"]
    errs = []
    for cl in (ours, real):
        cl.execute_command("SENTINEL", "CONFIG", "SET", "resolve-hostnames", "no")
        with pytest.raises(redis.ResponseError) as e:
            cl.execute_command(*bad)
        errs.append(str(e.value))
    assert errs[0] == errs[1]


@pytest.mark.timeout(60)
def test_announce_ip_and_port_in_hello_messages(group_factory):
    """announce-ip / announce-port replace the address a sentinel puts in
    its hello messages; the other sentinels list it under that address."""
    g = group_factory(replicas=0, sentinels=1, quorum=1)
    port = free_port()
    conf = sentinel_conf(g.primary.port, quorum=1) + \
        f"sentinel announce-ip 127.0.0.2\nsentinel announce-port {port}\n"
    g.sentinels.append(g.start_sentinel("redpoll", conf, port=port))
    g.wait_discovered(replicas=0)
    seen = [_as_dict(r) for r in raw_client(g.sentinels[0]).execute_command(
        "SENTINEL", "SENTINELS", NAME)]
    assert [(d["ip"], int(d["port"])) for d in seen] == [("127.0.0.2", port)]
    c = raw_client(g.sentinels[1])
    assert c.execute_command("SENTINEL", "CONFIG", "GET", "announce-*") == \
        ["announce-hostnames", "no", "announce-ip", "127.0.0.2", "announce-port", str(port)]
    text = open(g.sentinels[1].config_path).read()
    assert 'sentinel announce-ip "127.0.0.2"' in text
    assert f"sentinel announce-port {port}" in text


@pytest.mark.timeout(90)
def test_no_good_replica_aborts_failover(group_factory):
    """Only a priority-0 replica: SENTINEL FAILOVER answers NOGOODSLAVE (as
    Redis Sentinel does) and a real failure ends in -failover-abort-no-good-slave."""
    g = group_factory(replicas=0, sentinels=1, real_sentinels=1 if HAVE_REAL_SENTINEL else 0,
                      quorum=1)
    rep = ServerProcess("redpoll", args=["--replicaof", "127.0.0.1", str(g.primary.port),
                                         "--replica-priority", "0"]).start()
    g.procs.append(rep)
    g.replicas = [rep]
    g.wait_discovered()
    errs = set()
    for s in g.sentinels:
        with pytest.raises(redis.ResponseError) as e:
            raw_client(s).execute_command("SENTINEL", "FAILOVER", NAME)
        errs.add(str(e.value))
    assert errs == {"NOGOODSLAVE No suitable replica to promote"}
    events = [EventLog(s) for s in g.sentinels]
    g.primary.kill()
    # whichever sentinel wins the election aborts
    wait_until(lambda: any(e.has("-failover-abort-no-good-slave") for e in events), 30,
               what="failover aborted")
    assert g.master_addr(g.sentinels[0]) == ("127.0.0.1", g.primary.port)
    for e in events:
        e.close()


@pytest.mark.timeout(120)
def test_config_rewrite_sent_to_promoted_and_reconfigured_servers(group_factory):
    """The sentinel sends CONFIG REWRITE with every REPLICAOF: after a
    failover the servers' own config files hold the new roles, so a
    restarted server keeps its role."""
    g = group_factory(replicas=2, sentinels=3, server_config='save ""\n')
    g.wait_discovered()
    g.primary.kill()
    s0 = g.sentinels[0]
    wait_until(lambda: g.master_addr(s0)[1] != g.primary.port, 40, what="failover")
    new_port = g.master_addr(s0)[1]
    promoted = next(r for r in g.replicas if r.port == new_port)
    other = next(r for r in g.replicas if r.port != new_port)
    wait_until(lambda: f"replicaof 127.0.0.1 {new_port}" in open(other.config_path).read(),
               15, what="reconfigured replica's config rewritten")
    wait_until(lambda: "replicaof" not in open(promoted.config_path).read()
               and "save" in open(promoted.config_path).read(), 15,
               what="promoted replica's config rewritten")
    # without the sentinels, restarted servers come back in their new roles
    for sp in g.sentinels:
        sp.stop()
    for srv in (promoted, other):
        srv.stop()
        srv.args = []      # no --replicaof on the command line: the file decides
        srv.start(timeout=60)
    assert promoted.client().info("replication")["role"] == "master"
    info = other.client().info("replication")
    assert info["role"] == "slave" and info["master_port"] == new_port


@pytest.mark.timeout(60)
def test_simulate_failure_crash_after_election(group_factory):
    g = group_factory(replicas=1, sentinels=1, quorum=1)
    g.wait_discovered()
    s = g.sentinels[0]
    c = raw_client(s)
    assert c.execute_command("SENTINEL", "SIMULATE-FAILURE", "crash-after-election") == "OK"
    assert "sentinel_simulate_failure_flags:1" in c.execute_command("INFO", "sentinel")
    g.primary.kill()
    wait_until(lambda: s.proc.poll() is not None, 40, what="sentinel crash")
    assert s.proc.returncode == 99
    assert "Sentinel CRASH because of SENTINEL simulate-failure" in s.log_text()


# -- a second failover must not undo the first ---------------------------------------

@pytest.mark.timeout(90)
def test_failover_not_started_yet_is_dropped_when_the_master_answers_again(group_factory):
    """A master that stalls for about down-after (a loaded machine) and
    answers again before a replica was promoted keeps its role: the failover
    is aborted with -failover-abort-master-is-back (redpoll; Redis Sentinel
    goes on and replaces a healthy master). The other sentinels are stopped
    so that the election cannot end before the master is back."""
    g = group_factory(replicas=1, sentinels=3, quorum=1)
    g.wait_discovered()
    s = g.sentinels[0]
    events = EventLog(s)
    others = g.sentinels[1:]
    for o in others:
        os.kill(o.proc.pid, signal.SIGSTOP)
    try:
        os.kill(g.primary.proc.pid, signal.SIGSTOP)
        try:
            wait_until(lambda: events.has("+try-failover"), 20, interval=0.01,
                       what="+try-failover")
        finally:
            os.kill(g.primary.proc.pid, signal.SIGCONT)
        wait_until(lambda: events.has("-failover-abort-master-is-back")
                   or events.has("-failover-abort-not-elected"), 20, what="failover aborted")
        assert events.has("-failover-abort-master-is-back")
    finally:
        for o in others:
            os.kill(o.proc.pid, signal.SIGCONT)
    assert not events.has("+elected-leader") and not events.has("+switch-master")
    assert g.master_addr(s) == ("127.0.0.1", g.primary.port)
    assert g.primary.client(decode_responses=True).info("replication")["role"] == "master"
    # no retry delay after such an abort: a master that now goes down for
    # good is failed over at once, not after 2 x failover-timeout (10 s)
    os.kill(g.primary.proc.pid, signal.SIGSTOP)
    t0 = time.monotonic()
    wait_until(lambda: events.has("+switch-master"), 30, what="+switch-master")
    assert time.monotonic() - t0 < 7, events.events
    events.close()


@pytest.mark.timeout(150)
def test_failover_back_to_the_former_primary_is_not_undone(group_factory):
    """Manual failover A -> B, then B -> A. Every sentinel had A flagged as
    the former master of the first switch; once A followed B that flag must
    be gone, or a sentinel that polls A before hearing of the second switch
    demotes it at once (+convert-to-slave) and undoes the failover (seen in
    CI: roles flipped back after a completed failover)."""
    g = group_factory(replicas=1, sentinels=3)
    g.wait_discovered()
    a, b = g.primary, g.replicas[0]
    logs = [EventLog(s) for s in g.sentinels]
    c0 = raw_client(g.sentinels[0])

    def switched_to(p):
        return all(g.master_addr(s) == ("127.0.0.1", p.port) for s in g.sentinels) and \
            p.client(decode_responses=True).info("replication")["role"] == "master"

    def follows(r, p):
        info = r.client(decode_responses=True).info("replication")
        return (info["role"] == "slave" and info["master_port"] == p.port
                and info["master_link_status"] == "up")

    assert c0.execute_command("SENTINEL", "FAILOVER", NAME) == "OK"
    wait_until(lambda: switched_to(b) and follows(a, b), 40, what="first failover")
    # every sentinel has polled A as a replica (the INFO after the switch)
    for s in g.sentinels:
        cs = raw_client(s)
        wait_until(lambda: any(
            int(_as_dict(r)["port"]) == a.port and _as_dict(r)["role-reported"] == "slave"
            for r in cs.execute_command("SENTINEL", "REPLICAS", NAME)), 20,
            what=f"sentinel {s.port} saw the former primary as a replica")
    seen = [len(log.events) for log in logs]
    wait_until(lambda: c0.execute_command("SENTINEL", "FAILOVER", NAME) == "OK", 20,
               interval=0.5, what="second failover accepted")
    wait_until(lambda: switched_to(a) and follows(b, a), 40, what="second failover")
    # make every sentinel poll the servers again; the roles must stay put
    for s in g.sentinels:
        raw_client(s).execute_command("SENTINEL", "DEBUG", "info-period", "100")
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert a.client(decode_responses=True).info("replication")["role"] == "master"
        time.sleep(0.1)
    assert follows(b, a)
    for log, n in zip(logs, seen):
        assert not any(ch == "+convert-to-slave" and f" {a.port} @" in data
                       for ch, data in log.events[n:]), log.events[n:]
        log.close()


@pytest.mark.timeout(90)
def test_slow_starting_sentinel_does_not_find_everything_down(group_factory):
    """The down-detection clocks start at the first connection attempt, not
    when sentinel.conf is read. The sentinel is held between reading its
    config and starting its timer (its pid file is a FIFO nobody reads yet)
    for twice down-after; it must not greet the healthy servers with +sdown."""
    g = group_factory(replicas=1, sentinels=0)
    fifo_dir = tempfile.mkdtemp(prefix="sentinel-fifo-")
    fifo = os.path.join(fifo_dir, "sentinel.pid")
    os.mkfifo(fifo)
    try:
        s = ServerProcess("redpoll", config=sentinel_conf(g.primary.port) + f"pidfile {fifo}\n",
                          args=["--sentinel"])
        g.procs.append(s)
        s.start(wait=False)
        time.sleep(2.0)     # the slow start itself: the process waits on the FIFO
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            got = b""

            def pid_written():
                nonlocal got
                try:
                    got += os.read(fd, 64)
                except BlockingIOError:
                    pass
                return got.endswith(b"\n")
            wait_until(pid_written, 30, what="the sentinel's pid in the FIFO")
        finally:
            os.close(fd)
        assert int(got) == s.proc.pid
        s.wait_ready(30)
        c = raw_client(s)
        wait_until(lambda: _as_dict(c.execute_command("SENTINEL", "MASTER", NAME))
                   ["role-reported"] == "master"
                   and len(c.execute_command("SENTINEL", "REPLICAS", NAME)) == 1, 20,
                   what="first INFO replies")
        master = _as_dict(c.execute_command("SENTINEL", "MASTER", NAME))
        assert master["flags"] == "master", master
        assert "+sdown" not in s.log_text(), s.log_text()
    finally:
        shutil.rmtree(fifo_dir, ignore_errors=True)


# -- master-reboot-down-after-period, +fix-slave-config ------------------------------

@pytest.mark.timeout(90)
def test_master_reboot_down_after_period(group_factory):
    """A master that restarted (new run id) is subjectively down once it has
    been rebooting for master-reboot-down-after-period without a PONG, even
    though its -LOADING replies count as "available" for down-after (Redis's
    SRI_MASTER_REBOOT). A real Redis master reloading 2000 keys slowly
    (key-load-delay) answers -LOADING for about 4 s."""
    g = group_factory(replicas=0, sentinels=1, quorum=2, server_kind="redis",
                      down_after=10000,
                      conf_extra=f"sentinel master-reboot-down-after-period {NAME} 1000\n")
    s = g.sentinels[0]
    c = raw_client(s)
    c.execute_command("SENTINEL", "DEBUG", "info-period", "300")   # INFO sees the reboot soon
    m = g.primary.client()
    pipe = m.pipeline(transaction=False)
    for i in range(2000):
        pipe.set(f"k{i}", "v")
    pipe.execute()
    old_runid = m.info("server")["run_id"]
    wait_until(lambda: _as_dict(c.execute_command("SENTINEL", "MASTER", NAME))
               ["runid"] == old_runid, 20, what="the sentinel knows the run id")
    events = EventLog(s)
    m.shutdown(save=True)
    wait_until(lambda: g.primary.proc.poll() is not None, 10, what="master stopped")
    slow = ServerProcess("redis", port=g.primary.port, workdir=g.primary.dir,
                         args=["--key-load-delay", "2000",
                               "--loading-process-events-interval-bytes", "1024"])
    g.procs.append(slow)
    slow.start(timeout=30)
    sc = slow.client(decode_responses=True)
    wait_until(lambda: events.has("+reboot", f"master {NAME}"), 10, interval=0.05,
               what="+reboot")
    wait_until(lambda: events.has("+sdown", f"master {NAME}"), 10, interval=0.05,
               what="+sdown while the master is loading")
    assert sc.info("persistence")["loading"] == 1     # down-after (10 s) has not elapsed
    assert "s_down" in _as_dict(c.execute_command("SENTINEL", "MASTER", NAME))["flags"]
    # loaded: the first PONG ends the reboot state
    wait_until(lambda: events.has("-sdown", f"master {NAME}"), 30, what="-sdown")
    assert sc.dbsize() == 2000
    events.close()


@pytest.mark.timeout(90)
def test_fix_slave_config_points_a_misconfigured_replica_back(group_factory):
    """A replica that follows another server than the master (here chained
    behind the other replica) is sent back to the master with +fix-slave-config
    once failover-timeout has passed since its configuration changed."""
    g = group_factory(replicas=2, sentinels=1, quorum=1, failover_timeout=3000)
    g.wait_discovered()
    s = g.sentinels[0]
    raw_client(s).execute_command("SENTINEL", "DEBUG", "info-period", "300")
    events = EventLog(s)
    r1, r2 = g.replicas
    c2 = r2.client(decode_responses=True)
    assert c2.execute_command("REPLICAOF", "127.0.0.1", str(r1.port)) == "OK"
    t0 = time.monotonic()
    wait_until(lambda: events.has("+fix-slave-config", f"127.0.0.1 {r2.port} @"), 30,
               what="+fix-slave-config")
    assert time.monotonic() - t0 >= 2.5          # not before failover-timeout
    info = wait_until(lambda: (lambda i: i if i["master_port"] == g.primary.port
                               and i["master_link_status"] == "up" else None)(
        c2.info("replication")), 20, what="replica back on the master")
    assert info["role"] == "slave"
    assert r1.client(decode_responses=True).info("replication")["master_port"] == \
        g.primary.port
    events.close()


# -- shared links -------------------------------------------------------------------

@pytest.mark.timeout(120)
def test_sentinel_link_shared_between_masters(group_factory):
    """Two masters watched by the same sentinels: each sentinel keeps one
    link to each other sentinel, shared by both masters (link-refcount 2, one
    command connection), as Redis Sentinel does; removing one master releases
    its share and the link stays up for the other."""
    g = group_factory(replicas=0, sentinels=0)
    p2 = g._start_server("redpoll", [])
    conf = (sentinel_conf(g.primary.port) +
            sentinel_conf(p2.port).replace(NAME, "other"))
    kinds = ["redpoll", "redpoll"] + (["redis"] if HAVE_REAL_SENTINEL else [])
    sentinels = [g.start_sentinel(k, conf) for k in kinds]
    n = len(sentinels) - 1

    def refcounts(s, name):
        return [_as_dict(r)["link-refcount"]
                for r in raw_client(s).execute_command("SENTINEL", "SENTINELS", name)]
    for s in sentinels:
        wait_until(lambda: refcounts(s, NAME) == ["2"] * n
                   and refcounts(s, "other") == ["2"] * n, 30,
                   what=f"sentinel {s.port} shares its links")
    a, b = sentinels[0], sentinels[1]
    a_id = raw_client(a).execute_command("SENTINEL", "MYID")
    name = f"sentinel-{a_id[:8]}-cmd"

    def cmd_links_from_a():
        return sum(1 for cl in b.client().client_list() if cl["name"] == name)
    wait_until(lambda: cmd_links_from_a() == 1, 10, what="one command link from a to b")
    assert raw_client(a).execute_command("SENTINEL", "REMOVE", "other") == "OK"
    removed = time.monotonic()
    assert refcounts(a, NAME) == ["1"] * n

    def pinged_since_removal():
        since = (time.monotonic() - removed) * 1000
        return all(_as_dict(r)["flags"] == "sentinel"
                   and int(_as_dict(r)["last-ok-ping-reply"]) < since - 50
                   for r in raw_client(a).execute_command("SENTINEL", "SENTINELS", NAME))
    # the remaining link is still up: PINGs sent after the removal are answered
    wait_until(pinged_since_removal, 10, what="PING replies after the removal")
    assert cmd_links_from_a() == 1


@pytest.mark.timeout(60)
def test_time_the_sentinel_was_stalled_is_not_counted_against_the_master(group_factory):
    """The machine stalls (here: the master and then the sentinel are
    stopped) for less than the TILT trigger but longer than down-after: the
    sentinel did not run meanwhile, so that time does not count, and the
    master that answers as soon as both run again is not +sdown. (Without
    this a stalled sentinel saw every instance down at once.)"""
    g = group_factory(replicas=0, sentinels=1, quorum=1)
    s = g.sentinels[0]
    c = raw_client(s)
    def linked():
        m = _as_dict(c.execute_command("SENTINEL", "MASTER", NAME))
        return (m["flags"] == "master" and int(m["last-ping-sent"]) == 0
                and int(m["last-ok-ping-reply"]) < 1000 and int(m["info-refresh"]) < 10000)
    wait_until(linked, 20, what="the link up, PING answered")
    os.kill(g.primary.proc.pid, signal.SIGSTOP)
    try:
        # a PING is waiting for its answer (but for well under down-after)
        wait_until(lambda: 150 <= int(_as_dict(c.execute_command(
            "SENTINEL", "MASTER", NAME))["last-ping-sent"]) <= 500, 10, interval=0.01,
            what="an unanswered PING")
        os.kill(s.proc.pid, signal.SIGSTOP)
        time.sleep(1.3)     # the stall itself: neither process runs
        os.kill(s.proc.pid, signal.SIGCONT)
        time.sleep(0.15)    # the master is a little slower to get going again
    finally:
        os.kill(g.primary.proc.pid, signal.SIGCONT)
        os.kill(s.proc.pid, signal.SIGCONT)
    # the PING is answered; the sentinel has run a while since
    wait_until(lambda: int(_as_dict(c.execute_command("SENTINEL", "MASTER", NAME))
                           ["last-ping-sent"]) == 0, 10, what="PING answered")
    assert "+sdown master" not in s.log_text(), s.log_text()
    assert "+tilt" not in s.log_text()
