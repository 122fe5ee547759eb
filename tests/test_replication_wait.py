"""WAIT and min-replicas-to-write, each scenario run against redpoll and
Debian's redis-server 7.0 with the same steps and the same expected replies:

* WAIT waits for the stream offset reached by the calling client's previous
  command (Redis's ``c->woff``: 7.0.15 sets it after every command a client
  runs, reads included), not for the primary's offset at call time;
* a WAIT ended by CLIENT UNBLOCK never answers a later blocking command;
* NOREPLICAS also refuses an EXEC whose queue holds a write;
* a primary restarted from its RDB continues its replicas' history (PSYNC2
  with the repl-id/repl-offset aux fields).
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
import redis

from support import raw_request, require_redis_server, wait_until
from test_replication import FAST, info, procs, wait_synced  # noqa: F401 - fixture

KINDS = ["redpoll", "redis"]


def _need(kind):
    if kind == "redis":
        require_redis_server()


@pytest.mark.parametrize("kind", KINDS)
def test_wait_uses_the_offset_after_the_callers_previous_command(procs, kind):
    """Redis 7.0.15 sets c->woff after every command a client runs (reads
    too; WAIT reads it before its own update)."""
    _need(kind)
    p = procs(*FAST, kind=kind)
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind=kind)
    a, b = p.client(), p.client()
    a.set("a", "1")
    wait_synced(a, r.client())
    assert a.execute_command("WAIT", 1, 10000) == 1
    r.proc.send_signal(signal.SIGSTOP)         # acknowledges nothing more
    try:
        b.set("b", "2")
        # a's last command came before b's write: no wait, although the
        # stream moved on
        t0 = time.monotonic()
        assert a.execute_command("WAIT", 1, 3000) == 1
        assert time.monotonic() - t0 < 2.0
        # but that WAIT ran after b's write: the next one waits for it
        assert a.execute_command("WAIT", 1, 200) == 0
        # a connection that never ran a command: nothing to wait for
        assert raw_request(p.port, b"WAIT 1 3000\r\n") == b":1\r\n"
        # b's write is not acknowledged: times out with 0
        t0 = time.monotonic()
        assert b.execute_command("WAIT", 1, 300) == 0
        assert time.monotonic() - t0 >= 0.25
        # any command (a read too) moves the offset to the primary's
        c = p.client(protocol=2)
        assert c.execute_command("WAIT", 1, 3000) == 1      # nothing ran yet
        assert c.get("b") == b"2"
        assert c.execute_command("WAIT", 1, 200) == 0
        # WAIT in a transaction answers at once (MULTI moved the offset)
        assert raw_request(p.port, b"MULTI\r\nGET b\r\nWAIT 1 0\r\nEXEC\r\n") == (
            b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n$1\r\n2\r\n:0\r\n")
    finally:
        r.proc.send_signal(signal.SIGCONT)
    # once the replica runs again, b's WAIT is satisfied
    assert b.execute_command("WAIT", 1, 20000) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_wait_in_multi_counts_the_transactions_writes(procs, kind):
    _need(kind)
    p = procs(*FAST, kind=kind)
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind=kind)
    pc = p.client()
    pc.set("x", "0")
    wait_synced(pc, r.client())
    assert pc.execute_command("WAIT", 1, 10000) == 1
    r.proc.send_signal(signal.SIGSTOP)
    try:
        pipe = pc.pipeline(transaction=True)
        pipe.set("x", "1")
        pipe.incr("y")
        assert pipe.execute() == [True, 1]
        assert pc.execute_command("WAIT", 1, 200) == 0
    finally:
        r.proc.send_signal(signal.SIGCONT)
    assert pc.execute_command("WAIT", 1, 20000) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_client_unblock_of_wait_then_blpop_gets_its_own_reply(procs, kind):
    _need(kind)
    p = procs(kind=kind)
    c = p.client(socket_timeout=20)
    admin = p.client()
    cid = c.client_id()
    c.set("w", "1")                 # something for WAIT to wait for
    replies = []
    t = threading.Thread(target=lambda: replies.append(c.execute_command("WAIT", 1, 700)))
    t.start()
    try:
        wait_until(lambda: admin.info("clients")["blocked_clients"] == 1, 10,
                   what="WAIT blocked")
        assert admin.client_unblock(cid) is True
    finally:
        t.join(20)
    assert replies == [0]
    # a BLPOP right after: the WAIT's timer (700 ms) must not answer it
    t0 = time.monotonic()
    assert c.blpop(["nothing"], 2) is None
    assert time.monotonic() - t0 >= 1.8
    # CLIENT UNBLOCK ... ERROR on a WAIT
    t = threading.Thread(target=lambda: replies.append(_catch(
        lambda: c.execute_command("WAIT", 1, 0))))
    t.start()
    try:
        wait_until(lambda: admin.info("clients")["blocked_clients"] == 1, 10,
                   what="WAIT blocked")
        assert admin.client_unblock(cid, error=True) is True
    finally:
        t.join(20)
    assert replies[1] == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert c.ping()


def _catch(fn):
    try:
        return fn()
    except redis.ResponseError as e:
        return str(e)


def _exec_reply(client, *cmds):
    """MULTI, the commands, EXEC on one connection: every raw reply."""
    conn = client.connection_pool.get_connection()
    out = []
    try:
        for argv in [("MULTI",), *cmds, ("EXEC",)]:
            conn.send_command(*argv)
            try:
                out.append(conn.read_response())
            except redis.ResponseError as e:
                out.append(f"ERR:{e}")
    finally:
        client.connection_pool.release(conn)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_noreplicas_refuses_exec_with_queued_writes(procs, kind):
    _need(kind)
    p = procs(*FAST, "--min-replicas-to-write", "1", "--min-replicas-max-lag", "10",
              kind=kind)
    pc = p.client()
    # not enough replicas: a queued write is refused, EXEC aborts
    assert _exec_reply(pc, ("SET", "k", "v")) == [
        b"OK", "ERR:NOREPLICAS Not enough good replicas to write.",
        "ERR:Transaction discarded because of previous errors."]
    # reads only: EXEC runs
    assert _exec_reply(pc, ("GET", "k")) == [b"OK", b"QUEUED", [None]]
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind=kind)
    wait_until(lambda: info(pc)["min_slaves_good_slaves"] == 1, 20, what="good replica")
    # queued while the replica was good, executed after it left
    conn = pc.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        assert conn.read_response() == b"OK"
        conn.send_command("SET", "k", "v")
        assert conn.read_response() == b"QUEUED"
        r.kill()
        wait_until(lambda: info(pc)["min_slaves_good_slaves"] == 0, 20,
                   what="replica gone")
        conn.send_command("EXEC")
        with pytest.raises(redis.ResponseError) as e:
            conn.read_response()
    finally:
        pc.connection_pool.release(conn)
    assert str(e.value) == ("Transaction discarded because of: NOREPLICAS Not enough "
                            "good replicas to write.")
    assert pc.get("k") is None
    assert _exec_reply(pc, ("GET", "k")) == [b"OK", b"QUEUED", [None]]


# -- a primary restarted from its RDB continues the history (item: repl-id/offset aux)

@pytest.mark.parametrize("pkind,rkind", [("redpoll", "redpoll"), ("redis", "redis"),
                                         ("redpoll", "redis"), ("redis", "redpoll")])
def test_primary_restarted_from_rdb_partially_resyncs_its_replica(procs, pkind, rkind):
    """SHUTDOWN SAVE on the primary, start it again: the RDB's repl-id and
    repl-offset become its secondary ID (valid up to that offset) and the
    backlog starts there, so the replica continues with +CONTINUE."""
    if "redis" in (pkind, rkind):
        require_redis_server()
    p = procs(*FAST, kind=pkind)
    pc = p.client()
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind=rkind)
    rc = r.client()
    for i in range(50):
        pc.set(f"k{i}", i)
    wait_synced(pc, rc)
    old = info(pc)
    try:
        pc.shutdown(save=True)
    except redis.ConnectionError:
        pass
    p.proc.wait(30)
    p.start(timeout=60)
    pc = p.client()
    i = info(pc)
    assert i["master_replid2"] == old["master_replid"]
    assert i["master_replid"] != old["master_replid"]
    # the offset at shutdown (past the GETACK sent to the replicas before it)
    shut_off = i["second_repl_offset"] - 1
    assert shut_off >= old["master_repl_offset"]
    assert i["repl_backlog_active"] == 1
    assert i["repl_backlog_first_byte_offset"] == shut_off + 1
    pc.set("after", "restart")
    wait_synced(pc, rc, timeout=60)
    st = pc.info("stats")
    assert (st["sync_full"], st["sync_partial_ok"]) == (0, 1)
    assert rc.get("after") == b"restart" and rc.get("k49") == b"49"
    ri = info(rc)
    assert ri["master_replid"] == i["master_replid"]
    assert ri["master_replid2"] == old["master_replid"]
    assert "Successful partial resynchronization with master" in r.log_text()


@pytest.mark.parametrize("kind", KINDS)
def test_primary_without_backlog_saves_no_replication_info(procs, kind):
    """A primary that never had replicas saves no repl-* aux fields: after a
    restart it has no secondary ID."""
    _need(kind)
    p = procs(kind=kind)
    pc = p.client()
    pc.set("k", "v")
    try:
        pc.shutdown(save=True)
    except redis.ConnectionError:
        pass
    p.proc.wait(30)
    p.start(timeout=60)
    i = info(p.client())
    # (redis-py reads the all-zero ID as the number 0)
    assert (str(i["master_replid2"]).strip("0"), i["second_repl_offset"],
            i["repl_backlog_active"]) == ("", -1, 0)
    assert p.client().get("k") == b"v"


@pytest.mark.parametrize("kind", KINDS)
def test_client_unblock_of_wait_answers_the_acks_at_that_time(procs, kind):
    _need(kind)
    p = procs(*FAST, kind=kind)
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind=kind)
    pc, admin = p.client(socket_timeout=30), p.client()
    wait_synced(pc, r.client())
    cid = pc.client_id()
    pc.set("k", "v")
    replies = []
    t = threading.Thread(target=lambda: replies.append(pc.execute_command("WAIT", 2, 0)))
    t.start()
    try:
        # the one replica acknowledges the write (GETACK), WAIT wants two
        wait_until(lambda: admin.info("clients")["blocked_clients"] == 1
                   and info(admin)["slave0"]["offset"] == info(admin)["master_repl_offset"],
                   20, what="replica acknowledged")
        assert admin.client_unblock(cid) is True
    finally:
        t.join(20)
    assert replies == [1]
