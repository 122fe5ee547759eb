"""MULTI / EXEC / DISCARD / WATCH / UNWATCH against real Redis: queued
replies, EXECABORT, per-command errors inside EXEC, WATCH invalidation by
writes, expiry and FLUSHDB/FLUSHALL, MULTI inside the subscribed context."""

from __future__ import annotations

import time

import pytest

from scenario import Scenario


@pytest.fixture
def sc(pair):
    """Two connections (a, b) on each server; both servers flushed."""
    pair.check([["FLUSHALL"]])
    with Scenario(pair.redpoll.port, pair.redis.port, ["a", "b"]) as s:
        yield s


def test_basic_exec_and_discard(pair):
    pair.check([
        ["MULTI"], ["SET", "k", "1"], ["INCR", "k"], ["GET", "k"], ["PING"],
        ["ECHO", "x"], ["EXEC"],
        ["MULTI"], ["SET", "k", "2"], ["DISCARD"], ["GET", "k"],
        ["MULTI"], ["EXEC"],                               # empty transaction
        ["EXEC"], ["DISCARD"],
        ["MULTI"], ["MULTI"], ["SET", "n", "1"], ["EXEC"],  # nested MULTI: plain error
        ["MULTI"], ["WATCH", "k"], ["UNWATCH"], ["EXEC"],
    ])


@pytest.mark.parametrize("proto", [2, 3])
def test_errors_inside_exec_are_per_command(pair, proto):
    pair.check([
        ["SET", "s", "abc"], ["MULTI"], ["INCR", "s"], ["SET", "t", "1"],
        ["INCRBY", "t", "notanumber"], ["GET", "t"], ["SET", "x", "1", "EX", "0"],
        ["APPEND", "t", "2"], ["EXEC"], ["GET", "t"],
    ], proto=proto)


@pytest.mark.parametrize("bad", [
    ["NOSUCHCOMMAND", "a"],                 # unknown command
    ["GET"],                                # wrong arity
    ["SET", "k"],
    ["CONFIG", "NOSUCHSUB"],                # unknown subcommand
    ["SHUTDOWN"],                           # no_multi
    ["DISCARD", "extra"],
])
def test_queueing_error_aborts_exec(pair, bad):
    pair.check([["MULTI"], ["SET", "a", "1"], bad, ["SET", "b", "2"], ["EXEC"],
                ["EXISTS", "a", "b"], ["PING"]])


def test_exec_refused_discards_transaction(pair):
    pair.check([["MULTI"], ["SET", "a", "1"], ["EXEC", "extra"], ["EXEC"], ["GET", "a"],
                ["MULTI"], ["EXEC", "x", "y"], ["PING"]])


def test_multi_state_cleared_by_reset_and_quit(pair):
    pair.check([["MULTI"], ["SET", "a", "1"], ["RESET"], ["EXEC"], ["GET", "a"]])


def test_watch_basics(sc):
    sc.step("a", "SET", "x", "30")
    sc.step("a", "WATCH", "x")
    sc.step("b", "SET", "x", "40")             # another client touches it
    sc.step("a", "MULTI")
    sc.step("a", "PING")
    sc.step("a", "EXEC")                       # nil array
    sc.step("a", "MULTI")                      # no longer watched
    sc.step("a", "GET", "x")
    sc.step("a", "EXEC")
    sc.step("a", "WATCH", "x", "y", "z")
    sc.step("a", "WATCH", "w")
    sc.step("a", "MULTI")
    sc.step("a", "INCR", "x")
    sc.step("a", "EXEC")                       # untouched: runs
    sc.step("a", "WATCH", "x")
    sc.step("a", "SET", "x", "own write")      # our own write counts too
    sc.step("a", "MULTI")
    sc.step("a", "GET", "x")
    sc.step("a", "EXEC")


def test_watch_unwatch_discard(sc):
    sc.step("a", "SET", "x", "1")
    sc.step("a", "WATCH", "x")
    sc.step("b", "SET", "x", "2")
    sc.step("a", "UNWATCH")
    sc.step("a", "MULTI")
    sc.step("a", "INCR", "x")
    sc.step("a", "EXEC")
    sc.step("a", "UNWATCH")
    sc.step("a", "WATCH", "x")
    sc.step("b", "SET", "x", "10")
    sc.step("a", "MULTI")
    sc.step("a", "DISCARD")                    # clears the dirty flag and the watches
    sc.step("a", "MULTI")
    sc.step("a", "INCR", "x")
    sc.step("a", "EXEC")


def _watch_k_then(sc, setup, write):
    """a WATCHes k after ``setup``, b runs ``write``, a's EXEC succeeds or not."""
    sc.step("a", "FLUSHALL")
    sc.step("a", *setup)
    sc.step("a", "WATCH", "k")
    sc.step("b", *write)
    sc.step("a", "MULTI")
    sc.step("a", "PING")
    sc.step("a", "EXEC")


def test_watch_touched_by_various_writes(sc):
    for setup, write in [
        (["SET", "k", "v"], ["EXPIRE", "k", "100"]),
        (["SET", "k", "v"], ["DEL", "k"]),
        (["SET", "k", "v"], ["APPEND", "k", "x"]),
        (["SET", "k", "1"], ["INCR", "k"]),
        (["SET", "k", "v"], ["RENAME", "k", "k2"]),
        (["SET", "k2", "v"], ["MSET", "j", "1", "k", "2"]),
        (["SET", "k", "v"], ["FLUSHDB"]),
        (["SET", "k", "v"], ["FLUSHALL"]),
    ]:
        _watch_k_then(sc, setup, write)


def test_watch_not_touched(sc):
    for write in [["SET", "other", "v"], ["FLUSHDB"], ["FLUSHALL"],
                  ["SET", "k", "v", "NX"], ["GET", "k"]]:
        sc.step("a", "FLUSHALL")
        sc.step("a", "SET", "k", "v")
        if write[0] in ("FLUSHDB", "FLUSHALL"):
            sc.step("a", "DEL", "k")           # a missing key is not touched by a flush
        sc.step("a", "WATCH", "k")
        sc.step("b", *write)
        sc.step("a", "MULTI")
        sc.step("a", "PING")
        sc.step("a", "EXEC")


def test_watch_only_keys_a_write_modified(sc):
    """Redis signals the keys a command modified: sources of COPY, SORT ...
    STORE and the *STORE commands are only read; deleting a key that is
    missing changes nothing. Watched: k (a source, or missing)."""
    for setup, write in [
        (["SET", "k", "v"], ["COPY", "k", "dst"]),
        (["RPUSH", "k", "3", "1", "2"], ["SORT", "k", "STORE", "dst"]),
        (["SADD", "k", "a"], ["SUNIONSTORE", "dst", "k", "other"]),
        (["SADD", "k", "a"], ["SINTERSTORE", "dst", "k"]),
        (["ZADD", "k", "1", "a"], ["ZUNIONSTORE", "dst", "1", "k"]),
        (["ZADD", "k", "1", "a"], ["ZRANGESTORE", "dst", "k", "0", "-1"]),
        (["SET", "k", "v"], ["BITOP", "OR", "dst", "k"]),
        (["PFADD", "k", "a"], ["PFMERGE", "dst", "k"]),
        (["SET", "j", "v"], ["DEL", "j", "k"]),           # k missing, stays missing
        (["RPUSH", "j", "x"], ["LMPOP", "2", "k", "j", "LEFT"]),
        (["SADD", "k", "a"], ["SMOVE", "k", "dst", "a"]),  # both modified
        (["RPUSH", "k", "x"], ["LMOVE", "k", "dst", "LEFT", "RIGHT"]),
    ]:
        _watch_k_then(sc, setup, write)


def test_watch_remembers_the_db(sc):
    sc.step("a", "SELECT", "5")
    sc.step("a", "SET", "x", "30")
    sc.step("a", "WATCH", "x")
    sc.step("b", "SELECT", "1")
    sc.step("b", "SET", "x", "10")             # same name, another db
    sc.step("a", "MULTI")
    sc.step("a", "PING")
    sc.step("a", "EXEC")
    sc.step("b", "SELECT", "5")
    sc.step("a", "WATCH", "x")
    sc.step("b", "SET", "x", "10")
    sc.step("a", "MULTI")
    sc.step("a", "PING")
    sc.step("a", "EXEC")


def test_watch_key_that_expires(sc):
    """A watched key that expires before EXEC fails the transaction, whether
    or not the server deleted it yet."""
    sc.step("a", "SET", "x", "1", "PX", "30")
    sc.step("a", "WATCH", "x")
    deadline = time.monotonic() + 0.1          # let the TTL run out (no server state to poll)
    while time.monotonic() < deadline:
        time.sleep(0.01)
    sc.step("a", "MULTI")
    sc.step("a", "INCR", "x")
    sc.step("a", "EXEC")
    sc.step("a", "GET", "x")


def test_watch_inside_multi_and_errors(pair):
    pair.check([["MULTI"], ["WATCH", "x"], ["EXEC"], ["WATCH"], ["UNWATCH"],
                ["UNWATCH", "x"]])


def test_multi_while_subscribed_resp2(sc):
    sc.step("a", "SUBSCRIBE", "c")
    sc.step("a", "MULTI")
    sc.step("a", "PING")


def test_exec_reply_when_queued_command_subscribes(sc):
    sc.step("a", "MULTI")
    sc.step("a", "SET", "k", "v")
    sc.step("a", "SUBSCRIBE", "ch")
    sc.step("a", "EXEC")
    sc.step("b", "PUBLISH", "ch", "msg")


def test_transaction_is_atomic_for_other_clients(server):
    """Nothing runs between the commands of one EXEC: pipelined MULTI/EXEC
    from several clients never interleave."""
    import threading
    r = server.client()
    r.delete("ctr", "log")

    def worker(i):
        c = server.client()
        for _ in range(30):
            p = c.pipeline(transaction=True)
            p.incr("ctr")
            p.append("log", b"%d<" % i)
            p.append("log", b">%d;" % i)
            p.execute()
        c.close()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert int(r.get("ctr")) == 120
    for part in r.get("log").split(b";")[:-1]:
        a, b = part.split(b"<>")
        assert a == b
    r.close()


def test_redis_py_optimistic_locking(server):
    """redis-py's WATCH/MULTI helper (transaction with retries)."""
    r = server.client()
    r.set("balance", 100)

    def spend(pipe):
        v = int(pipe.get("balance"))
        pipe.multi()
        pipe.set("balance", v - 10)
    for _ in range(5):
        r.transaction(spend, "balance")
    assert r.get("balance") == b"50"
    r.close()


def _aof_after(kind: str, steps) -> bytes:
    """Run ``steps(client)`` on a fresh server with the AOF on; return the
    incremental AOF once the final marker write has reached it."""
    import glob
    from support import ServerProcess, wait_until
    with ServerProcess(kind, args=["--appendonly", "yes", "--appendfsync", "always"]) as s:
        r = s.client()
        steps(r)
        r.set("end-marker", "1")

        def content():
            files = sorted(glob.glob(s.dir + "/appendonlydir/*.incr.aof"))
            data = open(files[-1], "rb").read() if files else b""
            return data if b"end-marker" in data else None
        data = wait_until(content, what=f"{kind} AOF")
        r.close()
        return data


def test_exec_propagation_matches_redis_aof():
    """The writes of one EXEC reach the AOF wrapped in MULTI/EXEC when there
    are two or more; one write goes alone; reads and no-op writes are not
    propagated; SELECT inside the transaction is kept."""
    def steps(r):
        r.set("before", "1")
        for cmds in ([("set", "a", "1"), ("get", "a"), ("set", "b", "2"), ("incr", "n")],
                     [("set", "c", "1")],
                     [("get", "a")],
                     [],
                     [("del", "nothing")],
                     [("select", "2"), ("set", "x", "1"), ("select", "3"), ("set", "y", "1"),
                      ("select", "0")],
                     [("set", "e", "1"), ("incr", "e"), ("incr", "notanint-is-fine")]):
            r.execute_command("MULTI")
            for c in cmds:
                r.execute_command(*c)
            r.execute_command("EXEC")
    assert _aof_after("redpoll", steps) == _aof_after("redis", steps)


def test_acl_rules_changed_before_exec(sc):
    sc.step("b", "ACL", "SETUSER", "u1", "on", ">pw", "+@all", "~*", "&*")
    sc.step("a", "AUTH", "u1", "pw")
    sc.step("a", "MULTI")
    sc.step("a", "GET", "k")
    sc.step("a", "SET", "k2", "v")
    sc.step("a", "PUBLISH", "ch", "m")
    sc.step("a", "PING")
    sc.step("b", "ACL", "SETUSER", "u1", "-get", "resetkeys", "~k", "resetchannels")
    sc.step("a", "EXEC")
    sc.step("b", "ACL", "DELUSER", "u1")


@pytest.fixture
def no_active_expire(pair):
    pair.check([["DEBUG", "SET-ACTIVE-EXPIRE", "0"]], flush=False)
    yield
    pair.check([["DEBUG", "SET-ACTIVE-EXPIRE", "1"]], flush=False)


def _stale(sc, conn, key):
    """Make ``key`` exist but be expired (not deleted: active expiry is off)."""
    sc.step(conn, "SET", key, "foo", "PX", "1")
    deadline = time.monotonic() + 0.02        # wait out the TTL (no state to poll)
    while time.monotonic() < deadline:
        time.sleep(0.005)


def _exec_ping(sc):
    sc.step("a", "MULTI")
    sc.step("a", "PING")
    sc.step("a", "EXEC")


def test_watch_stale_key_does_not_fail_exec(sc, no_active_expire):
    _stale(sc, "a", "x")
    sc.step("a", "WATCH", "x")
    _exec_ping(sc)


def test_deleting_watched_stale_key_does_not_fail_exec(sc, no_active_expire):
    _stale(sc, "a", "x")
    sc.step("a", "WATCH", "x")
    sc.step("b", "EXISTS", "x")                # lazy expiry deletes it
    _exec_ping(sc)


def test_flushdb_with_watched_stale_key(sc, no_active_expire):
    _stale(sc, "a", "x")
    sc.step("a", "WATCH", "x")
    sc.step("b", "FLUSHDB")
    _exec_ping(sc)


def test_watched_stale_key_then_recreated(sc, no_active_expire):
    _stale(sc, "a", "x")
    sc.step("a", "WATCH", "x")
    sc.step("b", "SET", "x", "new")            # a real change
    _exec_ping(sc)


def test_swapdb_touches_watched_keys(sc):
    sc.step("a", "SET", "x", "30")
    sc.step("a", "WATCH", "x")
    sc.step("b", "SWAPDB", "0", "1")           # x disappears from db 0
    _exec_ping(sc)
    sc.step("b", "FLUSHALL")
    sc.step("b", "SELECT", "1")
    sc.step("b", "SET", "y", "1")
    sc.step("a", "WATCH", "y")                 # missing in db 0, exists in db 1
    sc.step("b", "SWAPDB", "0", "1")
    _exec_ping(sc)
    sc.step("a", "WATCH", "nowhere")
    sc.step("b", "SWAPDB", "0", "1")
    _exec_ping(sc)


def test_blocking_commands_inside_multi_do_not_block(pair):
    pair.check([["MULTI"], ["BLPOP", "empty", "0"], ["BRPOP", "empty", "0"],
                ["BRPOPLPUSH", "e1", "e2", "0"], ["BLMOVE", "e1", "e2", "LEFT", "LEFT", "0"],
                ["BLPOP", "empty", "5"], ["EXEC"]])


def test_blocked_clients_are_served_after_the_whole_exec(sc):
    sc.step("b", "BLPOP", "l", "0", blocks=True)
    sc.step("a", "MULTI")
    sc.step("a", "LPUSH", "l", "x")
    sc.step("a", "LPOP", "l")
    sc.step("a", "EXEC")                       # the list is empty again: b keeps waiting
    sc.step("a", "LPUSH", "l", "y")
    sc.unblocked("b")                          # b gets y, never x
    sc.step("b", "BLPOP", "l", "0", blocks=True)
    sc.step("a", "MULTI")
    sc.step("a", "RPUSH", "l", "1", "2")
    sc.step("a", "RPUSH", "l", "3")
    sc.step("a", "EXEC")
    sc.unblocked("b")
    sc.step("a", "LRANGE", "l", "0", "-1")
