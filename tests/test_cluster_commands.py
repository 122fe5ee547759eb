"""Redis Cluster's commands on a server without cluster support (CLUSTER,
ASKING, READONLY, READWRITE), RESTORE-ASKING and MIGRATE, against real Redis
7.0.15.

MIGRATE scenarios run the same steps on four source -> target combinations
(redis -> redis is the reference; redpoll -> redis, redis -> redpoll and
redpoll -> redpoll must give the same replies, the same data left on both
sides, and the same commands propagated to a replica).
"""

from __future__ import annotations

import socket
import time

import pytest

import test_command_table as command_table
from diff import DEFAULT_NORMALIZERS, Pair, RespConn, command_docs, render
from support import ServerProcess, free_port, keyevents_until, require_redis_server, wait_until

CLUSTER_SUBCOMMANDS = {
    "addslots": ["1"], "addslotsrange": ["1", "2"], "bumpepoch": [],
    "count-failure-reports": ["x"], "countkeysinslot": ["1"], "delslots": ["1"],
    "delslotsrange": ["1", "2"], "failover": [], "flushslots": [], "forget": ["x"],
    "getkeysinslot": ["1", "2"], "help": [], "info": [], "keyslot": ["k"],
    "links": [], "meet": ["127.0.0.1", "1"], "myid": [], "nodes": [],
    "replicas": ["x"], "replicate": ["x"], "reset": [], "saveconfig": [],
    "set-config-epoch": ["1"], "setslot": ["1", "stable"], "shards": [],
    "slaves": ["x"], "slots": [],
}
NEW_COMMANDS = ["asking", "cluster", "migrate", "readonly", "readwrite", "restore-asking"]


@pytest.fixture(scope="module")
def servers():
    require_redis_server()
    procs = {}
    try:
        for name in ("rp_a", "rp_b"):
            procs[name] = ServerProcess("redpoll").start()
        for name in ("rd_a", "rd_b"):
            procs[name] = ServerProcess("redis").start()
        yield procs
    finally:
        for p in procs.values():
            p.cleanup()


@pytest.fixture(scope="module")
def pair(servers):
    p = Pair(servers["rp_a"], servers["rd_a"])
    yield p
    p.close()


# -- the command table -------------------------------------------------------------

def test_command_count_and_entries_match_redis(servers):
    rp, rd = servers["rp_a"].port, servers["rd_a"].port
    a, b = RespConn(rp), RespConn(rd)
    assert a.call(["COMMAND", "COUNT"]) == b.call(["COMMAND", "COUNT"]) == (":", 240)
    a.close()
    b.close()
    mine, ref = command_table._table(rp), command_table._table(rd)
    names = [n for n in ref if n.split("|")[0] in NEW_COMMANDS]
    assert len(names) == len(NEW_COMMANDS) + len(CLUSTER_SUBCOMMANDS)
    for name in names:
        assert mine.get(name) == ref[name], name
    docs_mine, docs_ref = command_docs(rp), command_docs(rd)
    for name in NEW_COMMANDS:
        assert command_table._doc_shape(docs_mine[name]) == \
            command_table._doc_shape(docs_ref[name]), name


def test_getkeys_of_migrate(pair):
    forms = [
        'k 0 0', '"" 0 0 keys a b', '"" 0 0 auth keys a b', '"" 0 0 auth2 keys x a b',
        'k 0 0 keys a b', '"" 0 0 copy replace keys a', '"" 0 0 keys', '"" 0 0',
        'keys 0 0', '"" 0 0 auth pw keys a', '"" 0 0 keys keys',
    ]
    cmds = []
    for form in forms:
        args = ["" if a == '""' else a for a in form.split()]
        for sub in ("GETKEYS", "GETKEYSANDFLAGS"):
            cmds.append(["COMMAND", sub, "migrate", "h", "1", *args])
    pair.check(cmds)


# -- cluster support disabled ------------------------------------------------------

def test_cluster_commands_without_cluster_support(pair):
    cmds = [["ASKING"], ["ASKING", "x"], ["READONLY"], ["READONLY", "x"],
            ["READWRITE"], ["READWRITE", "x"], ["CLUSTER"], ["CLUSTER", "nosuch"],
            ["cluster", "INFO"]]
    for sub, args in CLUSTER_SUBCOMMANDS.items():
        cmds.append(["CLUSTER", sub, *args])
        cmds.append(["CLUSTER", sub, *args, "extra", "more", "x", "y"])
        if args:
            cmds.append(["CLUSTER", sub])
    # in a transaction: queued, then the same errors at EXEC
    cmds += [["MULTI"], ["CLUSTER", "INFO"], ["ASKING"], ["CLUSTER", "KEYSLOT"],
             ["EXEC"], ["MULTI"], ["CLUSTER", "MYID"], ["READONLY"], ["EXEC"]]
    pair.check(cmds)


def test_cluster_commands_in_scripts_and_acl(pair):
    pair.check([
        ["EVAL", "return redis.pcall('cluster', 'info')", "0"],
        ["EVAL", "return redis.pcall('asking')", "0"],
        ["EVAL", "return redis.pcall('cluster', 'reset')", "0"],
        ["ACL", "SETUSER", "u1", "on", "nopass", "+@all", "-cluster|nodes", "~*"],
        ["ACL", "DRYRUN", "u1", "cluster", "nodes"],
        ["ACL", "DRYRUN", "u1", "cluster", "info"],
        ["ACL", "DRYRUN", "u1", "asking"],
        ["ACL", "SETUSER", "u2", "on", "nopass", "+@all", "~a*"],
        ["ACL", "DRYRUN", "u2", "migrate", "h", "1", "b", "0", "0"],
        ["ACL", "DRYRUN", "u2", "migrate", "h", "1", "", "0", "0", "KEYS", "a1", "b1"],
        ["ACL", "DRYRUN", "u2", "migrate", "h", "1", "", "0", "0", "KEYS", "a1", "a2"],
        ["ACL", "DELUSER", "u1", "u2"],
    ])


def test_restore_asking_is_restore(pair):
    a, b = RespConn(pair.redpoll.port), RespConn(pair.redis.port)
    a.call(["SET", "src", "value"])
    b.call(["SET", "src", "value"])
    payload = b.call(["DUMP", "src"])[1]
    a.close()
    b.close()
    pair.check([
        ["RESTORE-ASKING", "k", "0", payload],
        ["GET", "k"],
        ["RESTORE-ASKING", "k", "0", payload],
        ["RESTORE-ASKING", "k", "5000", payload, "REPLACE"],
        ["PTTL", "k"],
        ["RESTORE-ASKING", "k", "0", payload, "REPLACE", "IDLETIME", "10"],
        ["RESTORE-ASKING", "k", "0", payload, "REPLACE", "FREQ", "300"],
        ["RESTORE-ASKING", "k", "0", payload, "REPLACE", "FOO"],
        ["RESTORE-ASKING", "k", "-1", payload, "REPLACE"],
        ["RESTORE-ASKING", "k", "0", b"bad payload", "REPLACE"],
        ["RESTORE-ASKING", "k", "0"],
    ])


# -- MIGRATE ---------------------------------------------------------------------

def _norm(argv, reply):
    fn = DEFAULT_NORMALIZERS.get(str(argv[0]).lower())
    return fn(argv, reply) if fn is not None else reply


def _run(src: int, tgt: int, steps, tgt_password: str | None = None) -> list:
    """Run ``steps`` ((side, argv) with side "src" or "tgt", "tgt?" for a
    reply not to compare; ``$PORT`` in an
    argv is the target's port); the normalised replies."""
    conns = {"src": RespConn(src), "tgt": RespConn(tgt)}
    out = []
    try:
        for side, argv in steps:
            argv = [str(tgt) if a == "$PORT" else a for a in argv]
            reply = conns[side.rstrip("?")].call(argv)
            # "side?": a reply that legitimately differs, not compared
            out.append((side, argv, None if side.endswith("?") else _norm(argv, reply)))
    finally:
        for c in conns.values():
            c.close()
    return out


def _combos(servers):
    """(label, source port, target port); the reference first."""
    s = servers
    return [("redis->redis", s["rd_a"].port, s["rd_b"].port),
            ("redpoll->redis", s["rp_a"].port, s["rd_b"].port),
            ("redis->redpoll", s["rd_a"].port, s["rp_b"].port),
            ("redpoll->redpoll", s["rp_a"].port, s["rp_b"].port)]


def _differential(servers, steps) -> list:
    """The steps on every combination; fail at the first reply that differs
    from redis -> redis. Returns the reference replies."""
    combos = _combos(servers)
    ref = _run(combos[0][1], combos[0][2], steps)
    for label, src, tgt in combos[1:]:
        got = _run(src, tgt, steps)
        for (side, argv, want), (_, _, mine) in zip(ref, got):
            assert mine == want, (
                f"{label}: {side} {' '.join(map(str, argv))}\n"
                f"  ours:  {render(mine)}\n  redis: {render(want)}")
    return [r for _, _, r in ref]


def _mig(key, *opts, db="0", timeout="5000"):
    return ("src", ["MIGRATE", "127.0.0.1", "$PORT", key, db, timeout, *opts])


FLUSH = [("src", ["FLUSHALL"]), ("tgt", ["FLUSHALL"])]


def test_migrate_every_type_and_keys_form(servers):
    replies = _differential(servers, FLUSH + [
        ("src", ["SET", "s", "v"]),
        ("src", ["SET", "n", "12345"]),
        ("src", ["RPUSH", "l", "a", "b", "c"]),
        ("src", ["HSET", "h", "f", "v", "g", "w"]),
        ("src", ["SADD", "st", "x", "y", "1"]),
        ("src", ["ZADD", "z", "1", "a", "2.5", "b"]),
        ("src", ["XADD", "x", "1-1", "f", "v"]),
        ("src", ["PFADD", "hll", "a", "b"]),
        ("src", ["SET", "t", "v", "PX", "100000"]),
        _mig("s"),
        ("src", ["EXISTS", "s"]),
        ("tgt", ["GET", "s"]),
        ("tgt", ["TTL", "s"]),
        _mig("missing"),
        _mig("", "KEYS", "n", "l", "h", "st", "z", "x", "hll", "t", "missing"),
        ("src", ["KEYS", "*"]),
        ("tgt", ["KEYS", "*"]),
        ("tgt", ["GET", "n"]),
        ("tgt", ["OBJECT", "ENCODING", "n"]),
        ("tgt", ["LRANGE", "l", "0", "-1"]),
        ("tgt", ["HGETALL", "h"]),
        ("tgt", ["SMEMBERS", "st"]),
        ("tgt", ["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        ("tgt", ["XRANGE", "x", "-", "+"]),
        ("tgt", ["PFCOUNT", "hll"]),
        ("tgt", ["PTTL", "t"]),
        _mig("", "KEYS", "gone1", "gone2"),
        ("src", ["DBSIZE"]),
    ])
    assert ("+", "OK") in replies and ("+", "NOKEY") in replies


def test_migrate_copy_replace_busykey(servers):
    _differential(servers, FLUSH + [
        ("src", ["SET", "k", "v1"]),
        ("tgt", ["SET", "k", "old"]),
        _mig("k"),
        _mig("k", "COPY"),
        ("src", ["GET", "k"]),
        ("tgt", ["GET", "k"]),
        _mig("k", "COPY", "REPLACE"),
        ("src", ["GET", "k"]),
        ("tgt", ["GET", "k"]),
        ("src", ["SET", "k", "v2"]),
        _mig("k", "replace"),
        ("src", ["EXISTS", "k"]),
        ("tgt", ["GET", "k"]),
        # several keys, one refused: the others move, the first error is told
        ("src", ["MSET", "a", "1", "b", "2", "c", "3"]),
        ("tgt", ["SET", "b", "taken"]),
        _mig("", "KEYS", "a", "b", "c"),
        ("src", ["KEYS", "*"]),
        ("tgt", ["MGET", "a", "b", "c"]),
        _mig("", "COPY", "KEYS", "b"),
        ("src", ["GET", "b"]),
    ])


def test_migrate_destination_db(servers):
    _differential(servers, FLUSH + [
        ("src", ["MSET", "k1", "a", "k2", "b", "k3", "c", "k4", "d", "k5", "e"]),
        _mig("k1", db="3"),
        ("tgt", ["SELECT", "3"]),
        ("tgt", ["GET", "k1"]),
        _mig("k2", db="3"),         # the link remembers db 3: no SELECT
        ("tgt", ["GET", "k2"]),
        _mig("k3", db="99"),        # SELECT refused; the link forgets its db
        ("src", ["EXISTS", "k3"]),
        _mig("k3", db="0"),
        ("tgt", ["SELECT", "0"]),
        ("tgt", ["GET", "k3"]),
        _mig("k4", db="-1"),        # SELECT -1 refused
        _mig("k4", db="-1"),        # last db is -1 now: no SELECT, restored in db 0
        ("tgt", ["GET", "k4"]),
        ("tgt", ["FLUSHALL"]),
    ])


def test_migrate_syntax_and_argument_errors(servers):
    _differential(servers, FLUSH + [
        ("src", ["SET", "k", "v"]),
        ("src", ["MIGRATE", "127.0.0.1", "$PORT", "k", "0"]),
        _mig("k", "foo"),
        _mig("k", "AUTH"),
        _mig("k", "AUTH2", "user"),
        _mig("k", "KEYS", "a"),
        _mig("k", "KEYS"),
        _mig("k", "COPY", "KEYS", "k", "foo"),
        _mig("", "KEYS"),
        _mig("", "KEYS", "a", "AUTH"),
        _mig("k", timeout="x"),
        _mig("k", db="x"),
        _mig("k", db="1.5"),
        _mig("k", timeout="99999999999999999999"),
        _mig("nokey", "foo"),
        _mig("nokey", timeout="x"),
        _mig("nokey"),
        ("src", ["GET", "k"]),
        ("src", ["SET", "x", "v"]),
        ("src", ["MIGRATE", "127.0.0.1", "$PORT", "x", "0", "0", "COPY"]),  # timeout 0: 1 s
        ("tgt", ["GET", "x"]),
    ])


def test_migrate_authentication(servers):
    try:
        _differential(servers, FLUSH + [
            ("src", ["MSET", "k1", "1", "k2", "2", "k3", "3", "k4", "4", "k5", "5"]),
            ("tgt", ["ACL", "SETUSER", "mig", "on", ">pw", "~*", "+@all"]),
            _mig("k1", "AUTH2", "mig", "pw"),
            ("tgt", ["GET", "k1"]),
            _mig("k2", "AUTH2", "mig", "bad"),
            ("src", ["EXISTS", "k2"]),
            _mig("k2", "AUTH", "pw"),       # the default user has no password
            # the cached link is authenticated as mig: the target closes it,
            # so the next MIGRATE is retried on a new connection
            ("tgt", ["ACL", "DELUSER", "mig"]),
            _mig("k2"),
            ("tgt", ["GET", "k2"]),
            ("tgt", ["CONFIG", "SET", "requirepass", "secret"]),
            _mig("k3"),                     # the link was authenticated before
            # a new link (the count of links killed depends on other tests)
            ("tgt?", ["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]),
            _mig("k4"),                     # NOAUTH
            ("src", ["EXISTS", "k4"]),
            _mig("k4", "AUTH", "secret"),
            _mig("k5", "AUTH2", "default", "nope"),
            ("tgt", ["CONFIG", "SET", "requirepass", ""]),
            _mig("k5", "AUTH", "secret"),   # a password the target no longer wants
            ("src", ["KEYS", "*"]),
            ("tgt", ["KEYS", "*"]),
        ])
    finally:
        for name in ("rd_b", "rp_b"):
            c = RespConn(servers[name].port)
            c.call(["AUTH", "secret"])
            c.call(["CONFIG", "SET", "requirepass", ""])
            c.close()


def test_migrate_io_errors(servers):
    """No listener: the write fails; a listener that never answers: the read
    times out. The key stays where it was."""
    dead = free_port()
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(32)
    try:
        mute_port = str(mute.getsockname()[1])
        steps = FLUSH + [
            ("src", ["SET", "k", "v"]),
            ("src", ["MIGRATE", "127.0.0.1", str(dead), "k", "0", "200"]),
            ("src", ["MIGRATE", "127.0.0.1", "not-a-port", "k", "0", "200"]),
            ("src", ["MIGRATE", "127.0.0.1", "-1", "k", "0", "200"]),
            ("src", ["MIGRATE", "127.0.0.1", str(dead), "k", "0", "9223372036854775807"]),
            ("src", ["MIGRATE", "127.0.0.1\x00x", str(dead), "k", "0", "200"]),
            ("src", ["MIGRATE", "127.0.0.1", mute_port, "k", "0", "200"]),
            ("src", ["MIGRATE", "127.0.0.1", mute_port, "", "0", "200", "KEYS", "k"]),
            ("src", ["GET", "k"]),
        ]
        t0 = time.monotonic()
        _differential(servers, steps)
        # two timed-out reads per combination, 200 ms each (no retry on timeout)
        assert time.monotonic() - t0 >= 4 * 2 * 0.2
    finally:
        mute.close()


def test_migrate_with_redis_py(servers):
    src, tgt = servers["rp_a"].client(), servers["rd_b"].client()
    src.flushall()
    tgt.flushall()
    src.mset({"a": "1", "b": "2"})
    src.rpush("l", "x", "y")
    assert src.migrate("127.0.0.1", servers["rd_b"].port, ["a", "b", "l"], 0, 5000)
    assert src.dbsize() == 0
    assert tgt.mget("a", "b") == [b"1", b"2"] and tgt.lrange("l", 0, -1) == [b"x", b"y"]
    src.close()
    tgt.close()


def _replica_stream(primary_kind: str, target_port: int, steps) -> list[str]:
    """Run ``steps`` on a fresh primary of ``primary_kind`` with a real Redis
    replica; the commands the replica received from it (MONITOR), after
    the replica's full sync."""
    primary = ServerProcess(primary_kind).start()
    replica = ServerProcess("redis", args=["--replicaof", "127.0.0.1", str(primary.port)]).start()
    try:
        rc = replica.client()
        wait_until(lambda: rc.info("replication")["master_link_status"] == "up",
                   what="replica link up")
        mon = socket.create_connection(("127.0.0.1", replica.port))
        mon.sendall(b"MONITOR\r\n")
        buf = b""
        while b"+OK\r\n" not in buf:
            buf += mon.recv(4096)
        pc = RespConn(primary.port)
        for argv in steps:
            pc.call([str(target_port) if a == "$PORT" else a for a in argv])
        pc.call(["SET", "end-marker", "1"])
        pc.close()
        mon.settimeout(10)
        deadline = time.monotonic() + 10
        while b"end-marker" not in buf and time.monotonic() < deadline:
            buf += mon.recv(65536)
        mon.close()
        lines = buf.decode().split("\r\n")[1:]
        out = [ln.split("] ", 1)[1] for ln in lines if "] " in ln]
        rc.close()
        return [ln for ln in out if not ln.startswith('"PING"')]
    finally:
        replica.cleanup()
        primary.cleanup()


def test_migrate_propagates_del_of_the_moved_keys(servers):
    target = servers["rd_b"]
    steps = [
        ["MSET", "a", "1", "b", "2", "c", "3", "d", "4"],
        ["MIGRATE", "127.0.0.1", "$PORT", "a", "0", "5000"],
        ["MIGRATE", "127.0.0.1", "$PORT", "b", "0", "5000", "COPY"],
        ["MIGRATE", "127.0.0.1", "$PORT", "nokey", "0", "5000"],
        ["SELECT", "2"],
        ["MSET", "e", "5", "f", "6"],
        ["MIGRATE", "127.0.0.1", "$PORT", "", "0", "5000", "REPLACE", "KEYS", "e", "f", "nokey"],
        ["SELECT", "0"],
        ["MIGRATE", "127.0.0.1", "$PORT", "c", "0", "5000"],    # BUSYKEY: nothing moves
    ]
    target.client().flushall()
    target.client().set("c", "taken")
    ours = _replica_stream("redpoll", target.port, steps)
    target.client().flushall()
    target.client().set("c", "taken")
    theirs = _replica_stream("redis", target.port, steps)
    assert ours == theirs
    assert '"DEL" "a"' in ours and '"DEL" "e" "f"' in ours


def test_migrate_notifies_and_touches_watched_keys(servers):
    """The moved keys fire ``del`` (keyspace events) and make a WATCHing
    client's EXEC fail; with COPY nothing happens to them. Same events as
    Redis."""
    import redis as redis_py

    seen = {}
    for kind, tgt in (("rd_a", "rd_b"), ("rp_a", "rd_b")):
        src = servers[kind].client()
        src.flushall()
        servers[tgt].client().flushall()
        src.config_set("notify-keyspace-events", "KEA")
        try:
            sub = src.pubsub()
            sub.psubscribe("__key*__:*")
            wait_until(lambda: sub.get_message(timeout=0.1), what="psubscribe")
            src.mset({"a": "1", "b": "2"})
            watcher = src.pipeline()
            watcher.watch("b")
            src.migrate("127.0.0.1", servers[tgt].port, "b", 0, 5000, copy=True)
            watcher.multi()
            watcher.set("x", "1")
            assert watcher.execute() == [True]          # COPY touched nothing
            watcher.watch("a")
            src.migrate("127.0.0.1", servers[tgt].port, ["a", "b"], 0, 5000, replace=True)
            watcher.multi()
            watcher.set("x", "2")
            with pytest.raises(redis_py.WatchError):
                watcher.execute()
            src.set("end", "1")
            events = keyevents_until(sub, (b"__keyevent@0__:set", b"end"))
            seen[kind] = events
            sub.close()
        finally:
            src.config_set("notify-keyspace-events", "")
            src.close()
    assert seen["rp_a"] == seen["rd_a"]
    assert (b"__keyevent@0__:del", b"a") in seen["rp_a"]


def test_migrate_passwords_are_redacted_in_monitor_and_slowlog(servers):
    """MONITOR and SLOWLOG GET show MIGRATE's AUTH/AUTH2 values as
    ``(redacted)``, exactly the ones Redis redacts (those parsed before a
    syntax error or KEYS)."""
    calls = [
        ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH", "pw1"],
        ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "COPY", "AUTH2", "u", "pw2"],
        ["MIGRATE", "127.0.0.1", "1", "", "0", "100", "AUTH", "pw3", "KEYS", "auth", "x"],
        ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "FOO", "AUTH", "pw4"],
        ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "AUTH2", "u"],
        ["MIGRATE", "127.0.0.1", "1", "nokey", "0", "100", "REPLACE"],
    ]
    seen = {}
    for name in ("rd_a", "rp_a"):
        port = servers[name].port
        mon = socket.create_connection(("127.0.0.1", port), timeout=10)
        mon.sendall(b"MONITOR\r\n")
        buf = b""
        while b"+OK\r\n" not in buf:
            buf += mon.recv(4096)
        buf = b""
        conn = RespConn(port)
        conn.call(["CONFIG", "SET", "slowlog-log-slower-than", "0"])
        conn.call(["SLOWLOG", "RESET"])
        for argv in calls:
            conn.call(argv)
        slowlog = conn.call(["SLOWLOG", "GET", "100"])
        conn.call(["CONFIG", "SET", "slowlog-log-slower-than", "10000"])
        conn.call(["PING", "end-marker"])
        deadline = time.monotonic() + 10
        while b"end-marker" not in buf and time.monotonic() < deadline:
            buf += mon.recv(65536)
        mon.close()
        conn.close()
        lines = [ln.split("] ", 1)[1] for ln in buf.decode().split("\r\n")
                 if '"MIGRATE"' in ln]
        entries = [e[1][3] for e in slowlog[1] if e[1][3][1][0][1] == b"MIGRATE"]
        seen[name] = (lines, entries)
    assert seen["rp_a"] == seen["rd_a"]
    assert '"AUTH" "(redacted)"' in seen["rp_a"][0][0]


def test_migrate_link_is_cached_then_closed_when_idle(servers):
    """One connection per target, reused by later MIGRATEs, closed after
    10 s without use (Redis's MIGRATE_SOCKET_CACHE_TTL)."""
    with ServerProcess("redis") as target:
        src = servers["rp_a"].client()
        tc = target.client()
        src.flushall()
        src.mset({"a": "1", "b": "2"})

        def links():
            return [c for c in tc.client_list() if c["cmd"] in ("restore", "select")]
        assert src.migrate("127.0.0.1", target.port, "a", 0, 5000)
        assert src.migrate("127.0.0.1", target.port, "b", 0, 5000)
        assert len(links()) == 1
        t0 = time.monotonic()
        wait_until(lambda: not links(), timeout=20, what="idle MIGRATE link closed")
        assert time.monotonic() - t0 >= 8
        src.close()
        tc.close()
