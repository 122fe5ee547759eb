"""redis.set_repl(): a script's writes aimed at the AOF only, the replicas
only, both or neither, checked against real Redis 7.0 (same script, same
observations: the replica's keys and the commands in the AOF)."""

from __future__ import annotations

import glob
import os

from support import wait_until
from test_replication import FAST, info, procs, wait_synced  # noqa: F401 (procs: fixture)

SCRIPT = """
redis.set_repl(redis.REPL_AOF)     redis.call('set', 'aof_only', '1')
redis.set_repl(redis.REPL_REPLICA) redis.call('set', 'replica_only', '1')
redis.set_repl(redis.REPL_NONE)    redis.call('set', 'nowhere', '1')
redis.set_repl(redis.REPL_SLAVE)   redis.call('incr', 'replica_n')
redis.set_repl(redis.REPL_ALL)     redis.call('set', 'everywhere', '1')
return 1
"""

# one write per script: Redis propagates it alone (no MULTI/EXEC)
SINGLE = [
    ("redis.set_repl(redis.REPL_AOF) redis.call('set', 's_aof', 'x')", 0),
    ("redis.set_repl(redis.REPL_REPLICA) redis.call('set', 's_rep', 'x')", 0),
    # a REPL_NONE write does not count: the other one goes alone
    ("redis.set_repl(redis.REPL_NONE) redis.call('set', 's_none', 'x') "
     "redis.set_repl(redis.REPL_ALL) redis.call('set', 's_all', 'x')", 0),
]


def _parse_commands(data: bytes) -> list[list[bytes]]:
    """The commands of an AOF file (RESP arrays; #TS annotations skipped)."""
    out, i = [], 0
    while i < len(data):
        if data[i:i + 1] == b"#":
            i = data.index(b"\n", i) + 1
            continue
        assert data[i:i + 1] == b"*", data[i:i + 40]
        j = data.index(b"\r\n", i)
        n, i = int(data[i + 1:j]), j + 2
        argv = []
        for _ in range(n):
            j = data.index(b"\r\n", i)
            ln = int(data[i + 1:j])
            argv.append(data[j + 2:j + 2 + ln])
            i = j + 2 + ln + 2
        out.append(argv)
    return out


def _aof_commands(server_dir: str) -> list[list[bytes]]:
    files = sorted(glob.glob(os.path.join(server_dir, "appendonlydir", "*.incr.aof")))
    cmds = []
    for f in files:
        with open(f, "rb") as fh:
            cmds += _parse_commands(fh.read())
    return [[a.lower() if k == 0 else a for k, a in enumerate(c)] for c in cmds
            if c[0].lower() != b"select"]


def _observe(procs, kind: str):
    p = procs(*FAST, "--appendonly", "yes", "--appendfsync", "always", kind=kind)
    pc = p.client()
    wait_until(lambda: pc.info("persistence")["aof_rewrite_in_progress"] == 0, 30,
               what="initial AOF rewrite")
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind="redis")
    rc = r.client()
    wait_until(lambda: info(rc)["master_link_status"] == "up", 30, what="link up")
    before = len(_aof_commands(p.dir))
    assert pc.eval(SCRIPT, 0) == 1
    for body, n in SINGLE:
        pc.eval(body, n)
    pc.set("marker", "1")
    wait_synced(pc, rc)
    wait_until(lambda: [b"set", b"marker", b"1"] in _aof_commands(p.dir), 10,
               what="marker in the AOF")
    keys = ["aof_only", "replica_only", "nowhere", "replica_n", "everywhere",
            "s_aof", "s_rep", "s_none", "s_all"]
    local = [pc.get(k) for k in keys]
    replica = [rc.get(k) for k in keys]
    aof = _aof_commands(p.dir)[before:]
    return local, replica, aof


def test_set_repl_targets_match_redis(procs):
    mine = _observe(procs, "redpoll")
    ref = _observe(procs, "redis")
    assert mine == ref
    local, replica, aof = mine
    assert all(v is not None for v in local)
    assert replica == [None, b"1", None, b"1", b"1", None, b"x", None, b"x"]
    assert [b"set", b"aof_only", b"1"] in aof and [b"set", b"replica_only", b"1"] not in aof
