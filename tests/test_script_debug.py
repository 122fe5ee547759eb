"""The Lua debugger (SCRIPT DEBUG YES|SYNC, redis-cli --ldb) compared with
real Redis 7.0: the same debugger commands give the same transcript."""

from __future__ import annotations

import subprocess

import pytest

from diff import RespConn

FUNC = b"""local function f(x)
  local y = x * 2
  return y
end
local r = f(3)
redis.debug(r, {1,'a'}, 'multi word')
return r
"""

CALLS = b"""redis.call('set', 'a', 'x')
redis.call('set', KEYS[1], ARGV[1])
redis.breakpoint()
redis.pcall('incr', 'a')
redis.call('get', 'a')
return {1, 'two', {3}}
"""

VALUES = b"""local t = {1, 2, 'x'}
local m = {a=1}
local n = {1, {2, {3, {4}}}}
local f = 1.5
redis.breakpoint()
local z = redis.call('hgetall', 'nokey')
return redis.call('lrange', 'nolist', 0, -1)
"""

LOOP = b"""local x = 0
for i = 1, 3 do
  x = x + i
end
redis.call('set', 'kk', x)
redis.debug(1.5, 123456789, true, nil, {a={b={c=1}}})
return x
"""

SESSIONS = [
    # breakpoints, trace, print, list, maxlen, eval, redis, abort
    (FUNC, [], ["b 99", "b x", "b 2", "b 2", "b", "b -3", "b -2", "b 0", "b 3", "c", "t",
                "p", "p x", "p nope", "l 0 0", "l 99", "l", "l 2 1", "w", "s", "s", "m 70",
                "e return string.rep('a',100)", "r set k v", "m 0", "a"]),
    # stepping logs redis.call and its reply; errors before and after running
    (CALLS, ["k1", "v1"], ["p KEYS", "p ARGV", "n", "n", "n", "r set a", "r incr a",
                           "r hset h f v", "r hgetall h", "r mget a nokey", "e {1,2", "x",
                           "r", "h", "maxlen", "maxlen 10", "n", "n", "n"]),
    # value dumps, redis.breakpoint(), eval's return values, the end of the script
    (VALUES, [], ["c", "p", "p t", "e return {1,nil,3}", "e return {err='x'}",
                  "e return redis.call('ping')", "e return true", "e return nil",
                  "e x=", "e error('z')", "n", "n"]),
    (LOOP, [], ["n"] * 10 + ["p", "c"]),
]


def _session(port: int, mode: str, body: bytes, keys_args: list, commands: list):
    """Run one debugging session; the list of replies, ending with the
    script's reply and "closed" once the server dropped the connection."""
    conn = RespConn(port)
    out = [conn.call(["SCRIPT", "DEBUG", mode])]
    nkeys = len(keys_args) // 2
    out.append(conn.call(["EVAL", body, str(nkeys), *keys_args]))
    try:
        for cmd in commands:
            r = conn.call(cmd.split(" "))
            out.append((cmd, r))
            if r[0] == "*" and ("+", "<endsession>") in r[1]:
                out.append(conn.reader.read())          # the script's reply
                try:
                    conn.reader.read()
                except ConnectionError:
                    out.append("closed")
                break
    finally:
        conn.close()
    return out


@pytest.mark.parametrize("mode", ["sync", "yes"])
@pytest.mark.parametrize("n", range(len(SESSIONS)))
def test_debugger_transcript_matches_redis(pair, mode, n):
    body, keys_args, commands = SESSIONS[n]
    mine = _session(pair.redpoll.port, mode, body, keys_args, commands)
    ref = _session(pair.redis.port, mode, body, keys_args, commands)
    assert mine == ref
    assert mine[-1] == "closed"


def test_yes_rolls_back_sync_keeps(pair):
    for srv in (pair.redpoll, pair.redis):
        c = srv.client()
        c.set("kk", "before")
        _session(srv.port, "yes", LOOP, [], ["c"])
        assert c.get("kk") == b"before"       # the forked child's write is gone
        _session(srv.port, "sync", LOOP, [], ["c"])
        assert c.get("kk") == b"6"


def test_forked_session_leaves_the_server_serving(pair):
    """While a YES session waits for the debugger, other clients are served;
    its child process goes away once the session ends."""
    srv = pair.redpoll
    conn = RespConn(srv.port)
    try:
        assert conn.call(["SCRIPT", "DEBUG", "YES"]) == ("+", "OK")
        first = conn.call(["EVAL", LOOP, "0"])
        assert ("+", "* Stopped at 1, stop reason = step over") in first[1]
        other = srv.client()
        assert other.ping() is True
        assert other.set("during", "1") is True
        r = conn.call(["c"])
        assert ("+", "<endsession>") in r[1]
        assert conn.reader.read() == (":", 6)
    finally:
        conn.close()
    assert srv.client().get("during") == b"1"


def test_debug_mode_errors_match_redis(pair):
    pair.check([
        ["SCRIPT", "DEBUG", "maybe"], ["SCRIPT", "DEBUG"], ["SCRIPT", "DEBUG", "YES"],
        ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        ["SCRIPT", "DEBUG", "NO"], ["EVAL", "return 1", "0"],
        ["MULTI"], ["SCRIPT", "DEBUG", "YES"], ["EXEC"],
        ["EVAL", "return redis.breakpoint()", "0"], ["EVAL", "redis.debug('x') return 2", "0"],
    ])


@pytest.mark.parametrize("sync", [False, True])
def test_redis_cli_ldb_over_stdin(pair, tmp_path, sync):
    """redis-cli --ldb / --ldb-sync-mode --eval driven over stdin prints the
    same session against both servers."""
    script = tmp_path / "script.lua"
    script.write_bytes(LOOP)
    keys = "k1 , a1".split()
    outs = []
    for srv in (pair.redpoll, pair.redis):
        p = subprocess.run(
            ["redis-cli", "-p", str(srv.port), "--ldb-sync-mode" if sync else "--ldb",
             "--eval", str(script), *keys],
            input=b"s\np\nb 5\nc\np x\nw\nr get kk\nc\n", capture_output=True, timeout=60)
        outs.append(p.stdout)
    assert outs[0] == outs[1]
    text = outs[0].decode()
    assert "* Stopped at 5, stop reason = break point" in text and "(integer) 6" in text
    assert ("(Lua debugging session ended)" if sync else "dataset changes rolled back") in text


@pytest.mark.parametrize("mode", ["yes", "sync"])
def test_client_gone_mid_session(pair, mode):
    """The debugging client disconnects while stopped: the script runs to its
    end (its write stays in SYNC mode only) and the server keeps serving;
    garbage instead of a command ends the script."""
    seen = []
    for srv in (pair.redpoll, pair.redis):
        c = srv.client()
        c.delete("gone")
        conn = RespConn(srv.port)
        conn.call(["SCRIPT", "DEBUG", mode])
        conn.call(["EVAL", "redis.call('set','gone','1')\nreturn 1", "0"])
        conn.close()
        # SYNC: this waits for the server, busy until the script ends
        first = c.ping(), c.get("gone")
        conn = RespConn(srv.port)
        conn.call(["SCRIPT", "DEBUG", mode])
        conn.call(["EVAL", "return 1", "0"])
        conn.sock.sendall(b"hello\r\n")
        end = conn.reader.read(), conn.reader.read()
        conn.close()
        seen.append((first, end, c.ping()))
    assert seen[0] == seen[1]
    assert seen[0][0][1] == (b"1" if mode == "sync" else None)


def test_timeout_stops_an_endless_loop(pair):
    """A script running past lua-time-limit in `continue` mode stops again
    in the debugger ("timeout reached, infinite loop?"), as in Redis."""
    body = b"local i = 0\nwhile true do\n  i = i + 1\nend\n"
    seen = []
    for srv in (pair.redpoll, pair.redis):
        c = srv.client()
        c.config_set("lua-time-limit", 100)
        try:
            conn = RespConn(srv.port, timeout=30)
            conn.call(["SCRIPT", "DEBUG", "SYNC"])
            conn.call(["EVAL", body, "0"])
            stop = conn.call(["c"])
            end = conn.call(["a"])
            reply = conn.reader.read()
            conn.close()
        finally:
            c.config_set("lua-time-limit", 5000)
        seen.append((stop[1][0][1].split(", ", 1)[1], len(stop[1]), end,
                     reply[1].split(" script: ")[0]))
    assert seen[0] == seen[1]
    assert seen[0][0] == "stop reason = timeout reached, infinite loop?"


def test_shutdown_kills_forked_sessions():
    """SHUTDOWN ends the forked debugging sessions too (their client sees
    the connection close), as Redis does."""
    from support import ServerProcess, wait_until
    srv = ServerProcess("redpoll").start()
    try:
        conn = RespConn(srv.port)
        conn.call(["SCRIPT", "DEBUG", "YES"])
        first = conn.call(["EVAL", LOOP, "0"])
        assert first[0] == "*"
        try:
            srv.client().shutdown(nosave=True)
        except Exception:       # redis-py sees the connection drop
            pass
        wait_until(lambda: srv.proc.poll() is not None, 30, what="server exit")
        conn.sock.settimeout(10)
        assert conn.sock.recv(100) == b""       # the child is gone as well
        conn.close()
    finally:
        srv.cleanup()
