"""Connection commands (PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET, CLIENT ...)
compared with a real Redis 7.0, plus behaviour that needs several clients
(CLIENT KILL, PAUSE, UNBLOCK, REPLY)."""

from __future__ import annotations

import socket
import time

import pytest
import redis

from diff import RespConn, start_pair
from support import ServerProcess, wait_until


@pytest.fixture(scope="module")
def pr():
    with start_pair() as p:
        yield p


def _no_ids(argv, reply):
    """HELLO's map carries the client id, which differs between servers."""
    if reply[0] in ("*", "%") and isinstance(reply[1], list):
        items = list(reply[1])
        flat = items if reply[0] == "*" else [x for kv in items for x in kv]
        out = []
        for i, x in enumerate(flat):
            out.append(("?", 0) if i and flat[i - 1] == ("$", b"id") else x)
        return (reply[0], out)
    return reply


ERRORS_AND_REPLIES = [
    ["HELLO", "3", "SETNAME", "a b", "AUTH", "x", "y"], ["HELLO", "4"], ["HELLO", "x"],
    ["HELLO", "3", "foo"], ["HELLO", "3", "AUTH", "a"], ["HELLO", "3", "SETNAME"],
    ["HELLO", "2", "SETNAME", "foo"], ["CLIENT", "GETNAME"],
    ["CLIENT", "LIST", "ID", "999991", "999992"], ["CLIENT", "LIST", "ID", "x"],
    ["CLIENT", "LIST", "TYPE", "foo"], ["CLIENT", "LIST", "foo"], ["CLIENT", "INFO", "x"],
    ["CLIENT", "KILL"], ["CLIENT", "KILL", "1.2.3.4:5"], ["CLIENT", "KILL", "ID", "999"],
    ["CLIENT", "KILL", "ID", "x"], ["CLIENT", "KILL", "TYPE", "foo"],
    ["CLIENT", "KILL", "foo", "bar"], ["CLIENT", "KILL", "ADDR", "1.1.1.1:1", "SKIPME", "maybe"],
    ["CLIENT", "KILL", "USER", "nouser"], ["CLIENT", "KILL", "skipme"],
    ["CLIENT", "KILL", "ADDR", "1.1.1.1:1", "SKIPME"],
    ["CLIENT", "REPLY"], ["CLIENT", "REPLY", "foo"], ["CLIENT", "NO-EVICT"],
    ["CLIENT", "NO-EVICT", "maybe"], ["CLIENT", "NO-EVICT", "on"], ["CLIENT", "NO-EVICT", "off"],
    ["CLIENT", "PAUSE"], ["CLIENT", "PAUSE", "x"], ["CLIENT", "PAUSE", "-1"],
    ["CLIENT", "PAUSE", "10", "foo"], ["CLIENT", "PAUSE", "10", "write"], ["CLIENT", "UNPAUSE"],
    ["CLIENT", "UNBLOCK"], ["CLIENT", "UNBLOCK", "x"], ["CLIENT", "UNBLOCK", "9999"],
    ["CLIENT", "UNBLOCK", "9999", "foo"], ["CLIENT", "UNBLOCK", "9999", "error"],
    ["CLIENT", "GETREDIR"], ["CLIENT", "TRACKINGINFO"], ["CLIENT", "TRACKING"],
    ["CLIENT", "TRACKING", "maybe"], ["CLIENT", "TRACKING", "on", "redirect", "99999"],
    ["CLIENT", "TRACKING", "on", "prefix", "a"], ["CLIENT", "TRACKING", "on", "bcast", "optin"],
    ["CLIENT", "TRACKING", "on", "optin", "optout"],
    ["CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "ab"],
    ["CLIENT", "TRACKING", "on", "optin"], ["CLIENT", "TRACKINGINFO"], ["CLIENT", "GETREDIR"],
    ["CLIENT", "CACHING", "yes"], ["CLIENT", "CACHING", "no"], ["CLIENT", "CACHING", "maybe"],
    ["CLIENT", "TRACKING", "on", "bcast"], ["CLIENT", "TRACKING", "off"],
    ["CLIENT", "TRACKINGINFO"], ["CLIENT", "CACHING", "yes"],
    ["CLIENT", "SETNAME"], ["CLIENT", "SETNAME", "a b"], ["CLIENT", "SETNAME", ""],
    ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", "n1"], ["CLIENT", "GETNAME"],
    ["CLIENT", "ID", "x"], ["CLIENT", "SETINFO", "lib-name", "x"], ["CLIENT", "HELP"],
    ["CLIENT"], ["CLIENT", "NOSUCH"],
    ["AUTH", "foo"], ["AUTH", "a", "b", "c"], ["AUTH", "default", "x"], ["ECHO"],
    ["PING", "a", "b"], ["PING"], ["PING", "hi"], ["ECHO", "hi"],
    ["SELECT", "x"], ["SELECT", "16"], ["SELECT", "-1"], ["SELECT", "01"], ["SELECT", "1"],
    ["HELLO", "3"], ["PING"], ["ECHO", "x"], ["CLIENT", "TRACKINGINFO"], ["HELLO"],
    ["CLIENT", "GETNAME"], ["RESET"], ["CLIENT", "GETNAME"], ["PING"],
]


@pytest.mark.parametrize("proto", [2, 3])
def test_replies_and_errors_match_redis(pr, proto):
    pr.check(ERRORS_AND_REPLIES, proto=proto, norm={"hello": _no_ids})
    pr.check([["RESET"]], proto=2)


def test_client_list_fields_match_redis(pr):
    def fields(srv, cmd):
        c = srv.client()
        line = c.execute_command(*cmd)
        c.close()
        if isinstance(line, bytes):
            line = line.decode()
        first = line.strip().split("\n")[0]
        return [kv.split("=", 1)[0] for kv in first.split(" ")]
    for cmd in (["CLIENT", "LIST"], ["CLIENT", "INFO"]):
        assert fields(pr.redpoll, cmd) == fields(pr.redis, cmd)


def _last_command_fields(port: int) -> list:
    """cmd= and argv-mem= of an idle client in CLIENT LIST after each of a
    few commands: ran, refused for arity, unknown, unknown subcommand."""
    c = redis.Redis(port=port, protocol=2, single_connection_client=True)
    other = redis.Redis(port=port, protocol=2, single_connection_client=True)
    cid = c.client_id()

    def fields():
        for line in other.execute_command("CLIENT", "LIST").decode().split("\n"):
            if line.startswith(f"id={cid} "):
                return [kv for kv in line.split() if kv.startswith(("cmd=", "argv-mem="))]
    seen = [fields()]
    for cmd in (["SET", "k", "v" * 100], ["GET"], ["FOOBAR", "x"], ["CLIENT", "NOSUCH"],
                ["CLIENT"], ["MULTI"], ["GET", "k"], ["EXEC"]):
        try:
            c.execute_command(*cmd)
        except redis.ResponseError:
            pass
        seen.append(fields())
    c.close()
    other.close()
    return seen


def test_client_list_last_command_matches_redis(pr):
    assert _last_command_fields(pr.redpoll.port) == _last_command_fields(pr.redis.port)


def test_client_info_values(server):
    c = server.client()
    c.execute_command("CLIENT", "SETNAME", "me")
    c.select(3)
    info = c.execute_command("CLIENT", "INFO").decode()
    d = dict(kv.split("=", 1) for kv in info.strip().split(" "))
    assert d["name"] == "me" and d["db"] == "3" and d["cmd"] == "client|info"
    assert d["flags"] == "N" and d["user"] == "default" and d["resp"] in ("2", "3")
    assert d["laddr"] == f"127.0.0.1:{server.port}" and d["id"] == str(c.client_id())
    c.close()


def test_redis_py_default_and_resp3(server, real_redis):
    """redis-py 8 sends HELLO 3 and CLIENT SETINFO on connect: it must work, and
    CLIENT SETINFO gets 7.0's answer (an unknown subcommand)."""
    for srv in (server, real_redis):
        for kw in ({}, {"protocol": 2}, {"protocol": 3}):
            c = redis.Redis(port=srv.port, client_name="pyc", **kw)
            assert c.ping() and c.set("k", "v") and c.get("k") == b"v"
            assert c.client_getname() in ("pyc", b"pyc")
            c.close()
    replies = []
    for srv in (server, real_redis):
        conn = RespConn(srv.port)
        replies.append(conn.call(["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]))
        conn.close()
    assert replies[0] == replies[1]


def _raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def _read_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, "connection closed"
        out += chunk
    return out


def test_client_reply_off_skip_on(pr):
    outs = []
    for port in (pr.redpoll.port, pr.redis.port):
        s = _raw(port)
        s.sendall(b"CLIENT REPLY OFF\r\nPING\r\nSET a 1\r\nCLIENT REPLY ON\r\nPING\r\n"
                  b"CLIENT REPLY SKIP\r\nECHO skipped\r\nECHO shown\r\n")
        outs.append(_read_exact(s, len(b"+OK\r\n+PONG\r\n$5\r\nshown\r\n")))
        s.close()
    assert outs[0] == outs[1] == b"+OK\r\n+PONG\r\n$5\r\nshown\r\n"


def _raw_client(port):
    """A raw connection and its client id."""
    s = _raw(port)
    s.sendall(b"CLIENT ID\r\n")
    line = b""
    while not line.endswith(b"\r\n"):
        line += s.recv(1)
    return s, int(line[1:])


def _is_closed(s) -> bool:
    s.settimeout(5)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True


def test_client_kill_filters(server):
    base = server.client()
    victims = [_raw_client(server.port) for _ in range(3)]
    (s0, id0), (s1, id1), (s2, id2) = victims
    assert base.execute_command("CLIENT", "KILL", "ID", id0) == 1
    assert _is_closed(s0)
    addr = [l for l in base.execute_command("CLIENT", "LIST").decode().split("\n")
            if f"id={id1} " in l][0].split()[1].split("=", 1)[1]
    assert base.execute_command("CLIENT", "KILL", addr) == b"OK"
    assert _is_closed(s1)
    assert base.execute_command("CLIENT", "KILL", "ID", id1) == 0
    # TYPE normal kills everyone but the caller (SKIPME yes by default)
    assert base.execute_command("CLIENT", "KILL", "TYPE", "normal") >= 1
    assert _is_closed(s2)
    assert base.ping()
    # SKIPME no: the caller goes too, after its reply
    me = base.client_id()
    assert base.execute_command("CLIENT", "KILL", "ID", me, "SKIPME", "no") == 1
    assert base.ping()        # redis-py reconnects
    assert base.client_id() != me
    for s, _ in victims:
        s.close()
    base.close()


def test_client_kill_user_and_laddr(server):
    admin = server.client()
    admin.acl_setuser("killme", enabled=True, nopass=True, commands=["+@all"],
                      keys=["*"])
    victim = redis.Redis(port=server.port, username="killme", password="x", socket_timeout=5)
    assert victim.ping()
    assert admin.execute_command("CLIENT", "KILL", "USER", "killme") == 1
    assert admin.execute_command("CLIENT", "KILL", "LADDR", f"127.0.0.1:{server.port}",
                                 "SKIPME", "yes") >= 0
    admin.acl_deluser("killme")
    admin.close()


def test_client_pause_write_postpones_writes_only(server):
    admin = server.client()
    writer = _raw(server.port)
    reader = server.client(socket_timeout=5)
    admin.set("pk", "before")
    assert admin.execute_command("CLIENT", "PAUSE", "10000", "WRITE") == b"OK"
    try:
        writer.sendall(b"SET pk after\r\nGET pk\r\n")
        assert reader.get("pk") == b"before"          # reads still run
        writer.settimeout(0.3)
        with pytest.raises(socket.timeout):
            writer.recv(100)                            # the write is held
        info = admin.execute_command("CLIENT", "LIST").decode()
        assert "cmd=" in info
    finally:
        assert admin.execute_command("CLIENT", "UNPAUSE") == b"OK"
    writer.settimeout(5)
    # the postponed SET runs, then the GET that was buffered behind it
    assert _read_exact(writer, len(b"+OK\r\n$5\r\nafter\r\n")) == b"+OK\r\n$5\r\nafter\r\n"
    writer.close()


def test_client_pause_all_expires_by_itself(server):
    admin = server.client()
    other = _raw(server.port)
    t0 = time.monotonic()
    admin.execute_command("CLIENT", "PAUSE", "400", "ALL")
    other.sendall(b"PING\r\nECHO x\r\n")
    assert _read_exact(other, len(b"+PONG\r\n$1\r\nx\r\n")) == b"+PONG\r\n$1\r\nx\r\n"
    assert time.monotonic() - t0 >= 0.35
    other.close()


def test_short_pauses_always_end(server):
    """Many short pauses in a row: each one ends (a pause timer firing a
    millisecond early must not leave the server paused for good)."""
    admin = server.client()
    other = _raw(server.port)
    for ms in [1, 2, 3, 5, 7, 10] * 8:
        admin.execute_command("CLIENT", "PAUSE", str(ms), "ALL")
        other.sendall(b"PING\r\n")
        assert _read_exact(other, 7) == b"+PONG\r\n"
    other.close()


def test_client_unblock(pr):
    for srv in (pr.redpoll, pr.redis):
        admin = srv.client()
        blocked, cid = _raw_client(srv.port)
        blocked.sendall(b"BLPOP nolist 0\r\n")
        wait_until(lambda: b"flags=b" in admin.execute_command("CLIENT", "LIST", "ID", cid), 5)
        assert admin.execute_command("CLIENT", "UNBLOCK", cid) == 1
        assert _read_exact(blocked, 5) == b"*-1\r\n"
        blocked.sendall(b"BLPOP nolist 0\r\n")
        wait_until(lambda: b"flags=b" in admin.execute_command("CLIENT", "LIST", "ID", cid), 5)
        assert admin.execute_command("CLIENT", "UNBLOCK", cid, "ERROR") == 1
        msg = b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
        assert _read_exact(blocked, len(msg)) == msg
        assert admin.execute_command("CLIENT", "UNBLOCK", cid) == 0
        blocked.close()
        admin.close()


def test_quit_closes_after_reply(pr):
    for port in (pr.redpoll.port, pr.redis.port):
        s = _raw(port)
        s.sendall(b"PING\r\nQUIT\r\nPING\r\n")
        data = b""
        while True:
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
        assert data == b"+PONG\r\n+OK\r\n"
        s.close()


def test_nothing_runs_after_quit_even_with_the_aof_on(tmp_path):
    """QUIT followed by more requests than one read takes: none of them runs
    (the reply may wait for the AOF's write at the end of the loop iteration,
    while more reads of the same client arrive)."""
    flood = b"QUIT\r\n" + b"*3\r\n$3\r\nSET\r\n$2\r\nkq\r\n$1\r\nv\r\n" * 40000
    for kind in ("redpoll", "redis"):
        d = tmp_path / kind
        d.mkdir()
        with ServerProcess(kind, args=["--appendonly", "yes", "--dir", str(d)]) as srv:
            s = _raw(srv.port)
            try:
                s.sendall(flood)
                s.settimeout(10)
                assert s.recv(100).startswith(b"+OK\r\n")
            except ConnectionError:     # the close may beat the rest of the flood
                pass
            s.close()
            c = srv.client()
            assert c.exists("kq") == 0 and c.dbsize() == 0
            c.close()


def test_reset_restores_defaults(server):
    c = RespConn(server.port)
    assert c.call(["HELLO", "3", "SETNAME", "x"])[0] == "%"
    c.proto = 3
    c.call(["SELECT", "2"])
    c.call(["MULTI"])
    c.call(["CLIENT", "NO-EVICT", "on"])
    assert c.call(["RESET"]) == ("+", "RESET")
    info = c.call(["CLIENT", "INFO"])
    text = info[1].decode() if isinstance(info[1], bytes) else str(info[1])
    assert "db=0" in text and "name= " in text and "resp=2" in text and "flags=N" in text
    c.close()


# -- CLIENT TRACKING ----------------------------------------------------------------

def _drain(s, timeout=0.3) -> bytes:
    """Everything the server sends within ``timeout`` of quiet."""
    s.settimeout(timeout)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    return out


def _tracking_session(port: int) -> list[bytes]:
    """A scripted session: what the tracking clients receive at each step."""
    admin = _raw(port)
    t3 = _raw(port)
    sub2, sub_id = _raw_client(port)
    seen = []

    def step(sock, data):
        sock.sendall(data)
        return _drain(sock)
    step(admin, b"FLUSHALL\r\nSET a 1\r\nSET b 2\r\nSET pre:x 3\r\n")
    # RESP3 default mode: GET a, then a write to a -> one invalidate push
    seen.append(step(t3, b"HELLO 3\r\nCLIENT TRACKING on\r\nGET a\r\nMGET b nokey\r\n"
                     ).split(b"modules", 1)[1])
    seen.append(step(admin, b"SET a 10\r\nSET a 11\r\nDEL b\r\n"))
    seen.append(_drain(t3))
    # NOLOOP: own writes are not announced
    seen.append(step(t3, b"CLIENT TRACKING on NOLOOP\r\nGET a\r\nSET a 12\r\n"))
    # RESP2 redirect to a subscriber of __redis__:invalidate
    seen.append(step(sub2, b"SUBSCRIBE __redis__:invalidate\r\n"))
    t3.close()
    t3 = _raw(port)         # a RESP2 connection
    seen.append(step(t3, b"CLIENT TRACKING on REDIRECT "
                     + str(sub_id).encode() + b" BCAST PREFIX pre:\r\nGET a\r\n"))
    seen.append(step(admin, b"SET pre:x 4\r\nSET a 13\r\nSET pre:y 5\r\n"))
    seen.append(_drain(sub2))
    seen.append(step(t3, b"CLIENT TRACKINGINFO\r\nCLIENT GETREDIR\r\nCLIENT TRACKING off\r\n"
                     b"CLIENT TRACKING on OPTIN REDIRECT " + str(sub_id).encode() +
                     b"\r\nGET a\r\nCLIENT CACHING yes\r\nGET pre:x\r\n"))
    seen.append(step(admin, b"SET a 14\r\nSET pre:x 6\r\nFLUSHALL\r\n"))
    seen.append(_drain(sub2))
    for s in (admin, t3, sub2):
        s.close()
    return [x.replace(b":%d\r\n" % sub_id, b":<id>\r\n") for x in seen]


def test_client_tracking_invalidations_match_redis(pr):
    mine = _tracking_session(pr.redpoll.port)
    ref = _tracking_session(pr.redis.port)
    assert mine == ref
    assert b"invalidate" in b"".join(ref)


def _timeout_session(port: int) -> dict:
    """``timeout 1``: an idle client is closed, while a client whose write
    is postponed by CLIENT PAUSE, a MONITOR and a subscriber are kept."""
    admin = redis.Redis(port=port, socket_timeout=5)
    admin.config_set("timeout", "1")
    try:
        idle = _raw(port)
        idle.sendall(b"CLIENT SETNAME idle\r\n")
        assert _read_exact(idle, 5) == b"+OK\r\n"
        mon = _raw(port)
        mon.sendall(b"CLIENT SETNAME mon\r\nMONITOR\r\n")
        assert _read_exact(mon, 10) == b"+OK\r\n+OK\r\n"
        sub = _raw(port)
        sub.sendall(b"CLIENT SETNAME sub\r\nSUBSCRIBE ch\r\n")
        _read_exact(sub, 5 + len(b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"))
        admin.execute_command("CLIENT", "PAUSE", "20000", "WRITE")
        held = _raw(port)
        held.sendall(b"CLIENT SETNAME held\r\nSET tk v\r\n")
        assert _read_exact(held, 5) == b"+OK\r\n"

        def names():
            return {c["name"]: c for c in admin.client_list()}
        wait_until(lambda: "idle" not in names(), 15, what="the idle client's timeout")
        assert _is_closed(idle)
        # two more cron rounds past the idle client's end: the rest stay
        first = time.monotonic()
        wait_until(lambda: time.monotonic() - first > 1.2, 5, interval=0.1)
        left = names()
        admin.execute_command("CLIENT", "UNPAUSE")
        assert _read_exact(held, 5) == b"+OK\r\n"
        idle_after = int(names()["held"]["idle"])
        held.sendall(b"PING\r\n")
        assert _read_exact(held, 7) == b"+PONG\r\n"
        for s in (mon, sub, held):
            s.close()
        return {"kept": sorted(n for n in left if n), "held_flags": left["held"]["flags"],
                "held_idle_after_reply": idle_after}
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.config_set("timeout", "0")
        admin.close()


def test_timeout_spares_paused_monitor_and_pubsub_clients(pr):
    mine, ref = (_timeout_session(p) for p in (pr.redpoll.port, pr.redis.port))
    assert ref == {"kept": ["held", "mon", "sub"], "held_flags": "b",
                   "held_idle_after_reply": 0}
    assert mine == ref


# -- client-output-buffer-limit ---------------------------------------------------

def _closed_within(s, timeout: float) -> bool:
    """Drain ``s`` (never read by the test before) until the server closes it."""
    s.settimeout(0.2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if s.recv(1 << 20) == b"":
                return True
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True
    return False


def _obuf_session(port: int) -> dict:
    admin = redis.Redis(port=port, socket_timeout=10)
    out = {}
    try:
        admin.set("big", b"x" * (3 << 20))
        # hard limit of the normal class: a reader that does not read is closed
        admin.config_set("client-output-buffer-limit", "normal 100kb 0 0")
        ok = redis.Redis(port=port, socket_timeout=10)
        out["small_reply_ok"] = ok.set("small", "v") and ok.get("small") == b"v"
        greedy = _raw(port)
        greedy.sendall(b"GET big\r\n" * 8)
        out["normal_hard_closed"] = _closed_within(greedy, 10)
        admin.config_set("client-output-buffer-limit", "normal 0 0 0")
        # soft limit of the pubsub class: closed once over it for > 1 s
        admin.config_set("client-output-buffer-limit", "pubsub 0 100kb 1")
        sub = _raw(port)
        sub.sendall(b"SUBSCRIBE obuf\r\n")
        wait_until(lambda: admin.pubsub_numsub("obuf")[0][1] == 1, 5)
        t0 = time.monotonic()
        payload = b"y" * (1 << 20)
        while admin.pubsub_numsub("obuf")[0][1] and time.monotonic() - t0 < 15:
            admin.publish("obuf", payload)
            time.sleep(0.1)      # a message every 100 ms: the soft limit's clock runs
        took = time.monotonic() - t0
        out["pubsub_soft_closed"] = admin.pubsub_numsub("obuf")[0][1] == 0
        out["soft_seconds_honoured"] = took >= 1.0
        sub.close()
        greedy.close()
        ok.close()
    finally:
        admin.config_set("client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60")
        admin.delete("big")
        admin.close()
    return out


def test_output_buffer_limits_match_redis(pr):
    mine, ref = (_obuf_session(p) for p in (pr.redpoll.port, pr.redis.port))
    assert ref == dict.fromkeys(ref, True)
    assert mine == ref


def _small_obuf_session(port: int) -> bool:
    admin = redis.Redis(port=port, socket_timeout=10)
    try:
        admin.set("mid", b"x" * (300 << 10))
        admin.config_set("client-output-buffer-limit", "normal 100kb 0 0")
        s = _raw(port)
        s.sendall(b"GET mid\r\n")
        return _closed_within(s, 10)
    finally:
        admin.config_set("client-output-buffer-limit", "normal 0 0 0")
        admin.delete("mid")
        admin.close()


def test_small_output_limit_closes_at_once(pr):
    """A 300 KiB reply over a 100 KiB hard limit closes the client even when
    the socket could take it all (Redis checks the reply as it is queued)."""
    assert [_small_obuf_session(p) for p in (pr.redpoll.port, pr.redis.port)] == [True, True]
