"""Blocking commands (redpoll/blocking.py with the list and sorted set
commands): FIFO fairness, timeouts, wake-ups by other commands, MULTI/EXEC
and Lua, CLIENT UNBLOCK, disconnects, pipelined input while blocked, and
what gets propagated. Each scenario runs on redpoll and on real Redis 7.0
and the observations must be equal."""

from __future__ import annotations

import glob
import os
import socket
import time

import pytest

from diff import RespConn, encode_command
from support import ServerProcess, wait_until


def blocked_clients(port: int) -> int:
    c = RespConn(port)
    try:
        info = c.call(["INFO", "clients"])[1].decode()
    finally:
        c.close()
    for line in info.splitlines():
        if line.startswith("blocked_clients:"):
            return int(line.split(":")[1])
    raise AssertionError("no blocked_clients in INFO")


class Blocker:
    """A raw connection that sends a blocking command and reads its reply later."""

    def __init__(self, port: int, argv, extra=()):
        self.conn = RespConn(port)
        self.conn.sock.sendall(encode_command(argv) + b"".join(encode_command(a) for a in extra))

    def reply(self):
        return self.conn.reader.read()

    def close(self):
        self.conn.close()


def block_in_order(port: int, cmds, already: int = 0):
    """Start blocking clients one by one (each is blocked before the next)."""
    out = []
    for i, argv in enumerate(cmds):
        out.append(Blocker(port, argv))
        wait_until(lambda: blocked_clients(port) == already + i + 1, 5,
                   what="client blocked")
    return out


@pytest.fixture(scope="module")
def servers(pair):
    return [pair.redpoll.port, pair.redis.port]


def on_both(servers, scenario):
    results = []
    for port in servers:
        c = RespConn(port)
        c.call(["FLUSHALL"])
        c.close()
        results.append(scenario(port))
    assert results[0] == results[1], f"redpoll: {results[0]}\nredis:   {results[1]}"
    return results[0]


def test_fifo_fairness(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "q", "0"], ["BRPOP", "q", "other", "0"],
                                   ["BLPOP", "other", "q", "0"]])
        main = RespConn(port)
        pushed = main.call(["RPUSH", "q", "a", "b"])
        first, second = bs[0].reply(), bs[1].reply()
        still = blocked_clients(port)
        main.call(["LPUSH", "other", "z"])
        third = bs[2].reply()
        for b in bs:
            b.close()
        main.close()
        return pushed, first, second, still, third
    r = on_both(servers, scenario)
    assert r[1] == ("*", [("$", b"q"), ("$", b"a")])


def test_pusher_pipeline_sees_pop(servers):
    """The blocked client is served before the pusher's next command."""
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "q", "0"]])
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(encode_command(["RPUSH", "q", "x"]) + encode_command(["LLEN", "q"]))
        from diff import RespReader
        rd = RespReader(s)
        out = (rd.read(), rd.read(), bs[0].reply())
        s.close()
        bs[0].close()
        return out
    r = on_both(servers, scenario)
    assert r[1] == (":", 0)


def test_timeout_precision(servers):
    def scenario(port):
        c = RespConn(port)
        t0 = time.monotonic()
        r = c.call(["BLPOP", "q", "0.25"])
        dt = time.monotonic() - t0
        t0 = time.monotonic()
        r2 = c.call(["BLMOVE", "q", "d", "LEFT", "LEFT", "0.1"])
        dt2 = time.monotonic() - t0
        c.close()
        # sub-second deadlines: never early; the upper bounds leave room for a busy machine
        return r, r2, 0.24 <= dt < 1.2, 0.09 <= dt2 < 1.0
    assert on_both(servers, scenario) == (("*", None), ("*", None), True, True)


def test_pipelined_input_waits(servers):
    def scenario(port):
        b = Blocker(port, ["BLPOP", "q", "0"], extra=[["PING"], ["LLEN", "q"]])
        wait_until(lambda: blocked_clients(port) == 1, 5)
        main = RespConn(port)
        main.call(["RPUSH", "q", "a", "b"])
        out = (b.reply(), b.reply(), b.reply())
        b.close()
        main.close()
        return out
    assert on_both(servers, scenario)[2] == (":", 1)


def test_multi_exec_wakes_after_exec(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "q", "0"]])
        main = RespConn(port)
        out = [main.call(["MULTI"]), main.call(["RPUSH", "q", "a"]),
               main.call(["LLEN", "q"]), main.call(["RPUSH", "q", "b"]), main.call(["EXEC"])]
        out.append(bs[0].reply())
        out.append(main.call(["LRANGE", "q", "0", "-1"]))
        bs[0].close()
        main.close()
        return out
    r = on_both(servers, scenario)
    assert r[4] == ("*", [(":", 1), (":", 1), (":", 2)])


def test_blocking_inside_multi_does_not_block(servers):
    def scenario(port):
        c = RespConn(port)
        out = [c.call(["MULTI"]), c.call(["BLPOP", "q", "0"]), c.call(["BRPOPLPUSH", "q", "d", "0"]),
               c.call(["BLMPOP", "0", "1", "q", "LEFT"]), c.call(["BZPOPMIN", "z", "0"]),
               c.call(["BZMPOP", "0", "1", "z", "MIN"]), c.call(["BLMOVE", "q", "d", "LEFT", "LEFT", "0"]),
               c.call(["EXEC"])]
        out.append(c.call(["HELLO", "3"])[0])
        out += [c.call(["MULTI"]), c.call(["BLPOP", "q", "0"]), c.call(["EXEC"])]
        c.close()
        return out
    on_both(servers, scenario)


def test_lua_write_wakes_after_script(servers):
    def scenario(port):
        bs = block_in_order(port, [["BRPOP", "q", "0"]])
        main = RespConn(port)
        out = [main.call(["EVAL", "redis.call('rpush', KEYS[1], 'a', 'b'); "
                                  "return redis.call('llen', KEYS[1])", "1", "q"])]
        out.append(bs[0].reply())
        out.append(main.call(["LRANGE", "q", "0", "-1"]))
        # a blocking command inside a script answers at once
        out.append(main.call(["EVAL", "return redis.call('blpop', 'nokey', 0)", "0"]))
        bs[0].close()
        main.close()
        return out
    r = on_both(servers, scenario)
    assert r[0] == (":", 2)


def test_client_unblock(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "q", "0"],
                                   ["BLMOVE", "q", "d", "LEFT", "LEFT", "0"],
                                   ["BZPOPMIN", "z", "0"]])
        main = RespConn(port)
        ids = []
        for line in main.call(["CLIENT", "LIST"])[1].decode().splitlines():
            f = dict(kv.split("=", 1) for kv in line.split(" ") if "=" in kv)
            if "b" in f["flags"]:
                ids.append(int(f["id"]))
        ids.sort()
        out = [len(ids), main.call(["CLIENT", "UNBLOCK", str(ids[0])]), bs[0].reply(),
               main.call(["CLIENT", "UNBLOCK", str(ids[1]), "ERROR"]), bs[1].reply(),
               main.call(["CLIENT", "UNBLOCK", str(ids[2]), "TIMEOUT"]), bs[2].reply(),
               main.call(["CLIENT", "UNBLOCK", str(ids[0])]),
               main.call(["CLIENT", "UNBLOCK", str(ids[0]), "FOO"]), blocked_clients(port)]
        for b in bs:
            b.close()
        main.close()
        return out
    on_both(servers, scenario)


def test_disconnected_blocked_client_is_skipped(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "q", "0"], ["BLPOP", "q", "0"]])
        bs[0].close()
        wait_until(lambda: blocked_clients(port) == 1, 5)
        main = RespConn(port)
        out = [main.call(["RPUSH", "q", "a"]), bs[1].reply(), main.call(["EXISTS", "q"]),
               blocked_clients(port)]
        bs[1].close()
        main.close()
        return out
    on_both(servers, scenario)


def test_wrong_type_keeps_waiting_then_blmove_chain(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "q", "0"], ["BLMOVE", "src", "q", "RIGHT", "LEFT", "0"]])
        main = RespConn(port)
        out = [main.call(["SET", "q", "x"]), blocked_clients(port), main.call(["DEL", "q"])]
        # BLMOVE is served by the push to src, its push to q serves BLPOP
        out.append(main.call(["RPUSH", "src", "1", "2"]))
        out += [bs[1].reply(), bs[0].reply(), main.call(["LRANGE", "src", "0", "-1"]),
                main.call(["EXISTS", "q"]), blocked_clients(port)]
        for b in bs:
            b.close()
        main.close()
        return out
    on_both(servers, scenario)


def test_blmpop_and_bzmpop_served(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "2"],
                                   ["BZMPOP", "0", "2", "z1", "z2", "MAX", "COUNT", "5"],
                                   ["BZPOPMIN", "z2", "0"]])
        main = RespConn(port)
        out = [main.call(["RPUSH", "b", "1", "2", "3"]), bs[0].reply(),
               main.call(["ZADD", "z2", "1", "a", "2", "b"]), bs[1].reply(),
               main.call(["ZADD", "z2", "1.5", "c"]), bs[2].reply()]
        for b in bs:
            b.close()
        main.close()
        return out
    on_both(servers, scenario)


def test_rename_move_swapdb_wake(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "q", "0"], ["BLPOP", "r", "0"], ["BZPOPMIN", "z", "0"]])
        main = RespConn(port)
        out = [main.call(["RPUSH", "tmp", "v"]), main.call(["RENAME", "tmp", "q"]), bs[0].reply(),
               main.call(["SELECT", "1"]), main.call(["RPUSH", "r", "w"]),
               main.call(["MOVE", "r", "0"]), bs[1].reply(),
               main.call(["ZADD", "z", "1", "m"]), main.call(["SWAPDB", "0", "1"]), bs[2].reply(),
               blocked_clients(port)]
        for b in bs:
            b.close()
        main.close()
        return out
    on_both(servers, scenario)


def _aof_commands(dirpath: str):
    files = sorted(glob.glob(os.path.join(dirpath, "appendonlydir", "*.incr.aof")))
    data = b"".join(open(f, "rb").read() for f in files)
    cmds, i = [], 0
    while i < len(data):
        assert data[i:i + 1] == b"*"
        j = data.index(b"\r\n", i)
        n = int(data[i + 1:j])
        i = j + 2
        argv = []
        for _ in range(n):
            j = data.index(b"\r\n", i)
            ln = int(data[i + 1:j])
            argv.append(data[j + 2:j + 2 + ln])
            i = j + 4 + ln
        if argv[0].upper() != b"SELECT":
            cmds.append([a.decode() for a in argv])
    return cmds


def propagated(kind: str, cmds) -> list:
    """Run ``cmds`` on a fresh ``kind`` server with the AOF on; the commands
    it wrote to the AOF (what replicas get too), SELECTs left out."""
    with ServerProcess(kind, args=["--appendonly", "yes", "--appendfsync", "always"]) as srv:
        main = RespConn(srv.port)
        for argv in cmds:
            main.call(argv)
        main.call(["RPUSH", "marker", "end"])
        wait_until(lambda: _aof_commands(srv.dir) and _aof_commands(srv.dir)[-1][1] == "marker", 5)
        main.close()
        return [[a.lower() if k == 0 else a for k, a in enumerate(cmd)]
                for cmd in _aof_commands(srv.dir)]


def test_propagation_of_served_commands():
    """What reaches the AOF (= replicas): the non-blocking equivalent."""
    results = []
    for kind in ("redpoll", "redis"):
        with ServerProcess(kind, args=["--appendonly", "yes", "--appendfsync", "always"]) as srv:
            port = srv.port
            main = RespConn(port)
            bs = block_in_order(port, [["BLPOP", "l1", "0"],
                                       ["BLMOVE", "m1", "m2", "left", "RIGHT", "0"],
                                       ["BRPOPLPUSH", "p1", "p2", "0"],
                                       ["BLMPOP", "0", "1", "mp", "LEFT", "COUNT", "3"],
                                       ["BZPOPMIN", "z1", "0"],
                                       ["BZMPOP", "0", "1", "z2", "MAX", "COUNT", "2"]])
            for argv in (["RPUSH", "l1", "a", "b"], ["RPUSH", "m1", "q"], ["RPUSH", "p1", "z"],
                         ["RPUSH", "mp", "1", "2", "3", "4"], ["ZADD", "z1", "1", "a", "2", "b"],
                         ["ZADD", "z2", "1", "a", "2", "b", "3", "c"]):
                main.call(argv)
            for b in bs:
                b.reply()
                b.close()
            for argv in (["RPUSH", "imm", "1", "2", "3"], ["BLMPOP", "1", "1", "imm", "RIGHT", "COUNT", "2"],
                         ["BLPOP", "imm", "1"], ["LMPOP", "2", "nokey", "imm", "LEFT"],
                         ["ZADD", "zi", "1", "a", "2", "b"], ["BZPOPMAX", "zi", "1"],
                         ["BZMPOP", "1", "1", "zi", "MIN"], ["BLPOP", "nokey", "0.01"]):
                main.call(argv)
            main.call(["RPUSH", "marker", "end"])
            wait_until(lambda: _aof_commands(srv.dir) and _aof_commands(srv.dir)[-1][1] == "marker", 5)
            results.append([[a.lower() if k == 0 else a for k, a in enumerate(cmd)]
                            for cmd in _aof_commands(srv.dir)])
            main.close()
    assert results[0] == results[1]


def test_blmove_to_wrong_type_destination(servers):
    """The served BLMOVE answers WRONGTYPE and leaves the source alone; the
    next client waiting on the source gets the element."""
    def scenario(port):
        main = RespConn(port)
        main.call(["SET", "dst", "str"])
        bs = block_in_order(port, [["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"],
                                   ["BLPOP", "src", "0"]])
        out = [main.call(["RPUSH", "src", "x"]), bs[0].reply(), bs[1].reply(),
               main.call(["EXISTS", "src"]), blocked_clients(port)]
        for b in bs:
            b.close()
        main.close()
        return out
    on_both(servers, scenario)


def test_other_db_does_not_wake(servers):
    def scenario(port):
        b = RespConn(port)
        b.call(["SELECT", "1"])
        b.sock.sendall(encode_command(["BLPOP", "q", "0"]))
        wait_until(lambda: blocked_clients(port) == 1, 5)
        main = RespConn(port)
        out = [main.call(["RPUSH", "q", "in-db0"]), blocked_clients(port),
               main.call(["SELECT", "1"]), main.call(["RPUSH", "q", "in-db1"]), b.reader.read(),
               main.call(["SELECT", "0"]), main.call(["LRANGE", "q", "0", "-1"])]
        b.close()
        main.close()
        return out
    on_both(servers, scenario)


def test_same_key_twice_and_many_keys(servers):
    def scenario(port):
        bs = block_in_order(port, [["BLPOP", "a", "a", "b", "0"],
                                   ["BZPOPMAX", "z", "z", "0"]])
        main = RespConn(port)
        out = [main.call(["RPUSH", "b", "1"]), bs[0].reply(),
               main.call(["ZADD", "z", "1", "m"]), bs[1].reply(), blocked_clients(port)]
        for b in bs:
            b.close()
        main.close()
        return out
    on_both(servers, scenario)


def test_events_of_served_commands(servers):
    """A served BLMOVE/BZPOPMIN fires the same keyspace events as Redis."""
    def scenario(port):
        main = RespConn(port)
        main.call(["CONFIG", "SET", "notify-keyspace-events", "KEA"])
        sub = RespConn(port)
        sub.call(["PSUBSCRIBE", "__keyevent*__:*"])
        bs = block_in_order(port, [["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"],
                                   ["BZPOPMIN", "z", "0"], ["BLMPOP", "0", "1", "l", "LEFT", "COUNT", "9"]])
        main.call(["RPUSH", "src", "x"])
        main.call(["ZADD", "z", "1", "m"])
        main.call(["RPUSH", "l", "1", "2"])
        replies = [b.reply() for b in bs]
        main.call(["CONFIG", "SET", "notify-keyspace-events", ""])
        sub.call(["PSUBSCRIBE", "marker"])
        events = []
        while True:
            items = sub.reader.read()[1]
            if items[0][1] == b"psubscribe":
                break
            events.append((items[2][1], items[3][1]))
        for b in bs:
            b.close()
        sub.close()
        main.close()
        return replies, events
    replies, events = on_both(servers, scenario)
    assert (b"__keyevent@0__:lpush", b"dst") in events
