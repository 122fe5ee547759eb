"""Lua scripting (EVAL, EVALSHA, SCRIPT ...) compared with real Redis 7.0."""

from __future__ import annotations

import random
import threading

import pytest
import redis
from redis.lock import Lock

from diff import RespConn
from support import ServerProcess, wait_until
from test_replication import FAST, info, procs, wait_synced  # noqa: F401 (procs: fixture)

SCRIPTS = [
    # replies and conversions
    'return 1', 'return -3.99', 'return 0/0', 'return 1e300', 'return "\\r\\n"',
    'return {1,2,3.7,"x",nil,5}', 'return {1,2,{3,{4,nil,5}},{}}', 'return {false, 1}',
    'return {true, 1}', 'return true', 'return false', 'return nil',
    'return {ok="a"}', 'return {err="bad2"}', 'return {err="x\\r\\ny"}', 'return {ok=1}',
    'return {1, {err="nested"}}', 'return {1, {ok="nested"}}', 'return {double=1.5}',
    'return redis.error_reply("bad")', 'return redis.error_reply("X bad")',
    'return redis.error_reply("-ERR x\\r\\n")', 'return redis.error_reply(1)',
    'return redis.status_reply("FINE x")', 'return redis.status_reply()',
    # redis.call / pcall
    'return redis.call("set","k","v")', 'return redis.call("get","k")',
    'return redis.call("get","nokey")', 'return redis.call("nosuch")',
    'return redis.pcall("nosuch")', 'return redis.call("set","a")',
    'return redis.call("set","k",{})', 'return redis.call()', 'return redis.pcall()',
    'redis.call("set","k",0.1) return redis.call("get","k")',
    'redis.call("set","k",3) return redis.call("incr","k")',
    'redis.call("set","k","x") return redis.pcall("incr","k")',
    'redis.call("set","k","x") return redis.call("incr","k")',
    'return redis.call("multi")', 'return redis.call("script","load","return 1")',
    'return redis.call("select", 1)', 'return redis.call("ping")',
    'return pcall(function() redis.call("nosuch") end)',
    'local ok, e = pcall(function() redis.call("nosuch") end) return e',
    'local ok, e = pcall(function() error("x") end) return e',
    'local ok, e = pcall(function() error({err="x"}) end) return e.err',
    # errors and the sandbox
    'error("boom")', 'error({err="MY custom"})', 'x = 1', 'return 1 +', 'string.x = 1',
    'redis.x = 1', 'cjson.x = 1', 'return type(print)', 'return _G.print',
    'return type(os)', 'return type(debug)', 'return type(getfenv)', 'return rawget(_G, "x")',
    'return loadstring("return 1")()', 'return coroutine.wrap(function() return 5 end)()',
    "rawset(_G, 'x', 1) return 1", "rawset(string, 'x', 1) return string.x",
    "setmetatable(_G, {}) return 1", "getmetatable('').__index.foo = 1 return 1",
    "return type(getmetatable(''))", "return getmetatable(string) == nil",
    "return rawget(string, 'format') ~= nil", "setmetatable(string, {}) return 1",
    "return ('abc'):upper()", "getmetatable('').__index = {} return 1",
    "local t = setmetatable({}, {__index=function() return 7 end}) return t.x",
    'local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return t',
    'local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t',
    'local t = {} for k in pairs(math) do t[#t+1] = k end table.sort(t) return t',
    'local t = {} for k in pairs(string) do t[#t+1] = k end table.sort(t) return t',
    # redis.* helpers
    'return redis.sha1hex("")', 'return redis.sha1hex()', 'return redis.REDIS_VERSION',
    'return redis.REDIS_VERSION_NUM', 'return redis.breakpoint()', 'return redis.replicate_commands()',
    'redis.setresp(4)', 'redis.setresp(3); return {map={a=1}}', 'redis.set_repl(8)',
    'redis.set_repl(redis.REPL_NONE) return 1', 'redis.log(redis.LOG_WARNING, "hello", 1, {}) return 1',
    'redis.log(9, "x")', 'redis.log(1)', 'return tostring(1e15)',
    # libraries
    'return cjson.encode({1,2,{a=1}})', 'return cjson.encode({a={}, b="x/y\\n", c=1.5, d=1e20, e=true})',
    'return cjson.encode(cjson.decode("[1,null,2]"))', 'return cjson.decode("x")',
    'return cjson.encode({[1]=1,[5]=2})', 'return cjson.encode({[1]=1,[20]=2})',
    'return cjson.encode(function() end)', 'return cjson.encode(0/0)',
    'return cjson.encode("\\1\\127\\195\\169")', 'return type(cjson.null)',
    'return cjson.decode("{\\"a\\":[1,2.5,\\"x\\"]}").a[2]',
    "return cjson.encode(cjson.decode('NaN'))", "return tostring(cjson.decode('-Infinity'))",
    "return cjson.encode({[true]=1})", "return cjson.encode({[{}]=1})",
    'return bit.band(1)', 'return bit.band()', 'return bit.tohex(255)', 'return bit.tohex(-1, -4)',
    'return bit.tobit(2^32+5)', 'return bit.bxor(5, 3, 1)', 'return bit.lshift(1, 33)',
    'return bit.arshift(-256, 4)', 'return bit.rol(0x12345678, 12)', 'return bit.bswap(0x12345678)',
    'return cmsgpack.pack({1,2,"a"}, 1.5, -5, 300)',
    'return {cmsgpack.unpack(cmsgpack.pack({1,2,"a"}, 1.5, -5, 300, -100000, 2^40))}',
    'return struct.pack(">I2i4", 5, -1)', 'return {struct.unpack(">I2i4", struct.pack(">I2i4", 5, -1))}',
    'return struct.size("i4d")', 'return struct.pack("z")', 'return {struct.unpack("<hs", "\\1\\0ab\\0")}',
    # shebang
    '#!lua flags=no-writes\nreturn redis.call("set","a","b")', '#!lua flags=bad\nreturn 1',
    '#!lux\nreturn 1', '#!lua name=x\nreturn 1', '#!lua\nreturn 1',
]


@pytest.mark.parametrize("script", SCRIPTS)
def test_eval_matches_redis(pair, script):
    pair.check([["EVAL", script, "0"]])


def test_keys_argv_and_arg_errors(pair):
    pair.check([
        ["EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #ARGV}", "2", "a", "b", "c", "d"],
        ["EVAL", "KEYS[1] = 5 return KEYS[1]", "1", "k"],
        ["EVAL", "return 1", "-1"], ["EVAL", "return 1", "2", "a"],
        ["EVAL", "return 1", "abc"], ["EVAL", "return 1"],
        ["EVAL_RO", "return redis.call('set','a','b')", "0"],
        ["EVAL_RO", "return redis.call('get','a')", "1", "a"],
        ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
        ["EVALSHA", "ffff", "0"], ["EVALSHA_RO", "abc", "0"],
    ])


def test_script_commands(pair):
    pair.check([
        ["SCRIPT", "LOAD", "return 'hi'"], ["SCRIPT", "LOAD", "x x"],
        ["SCRIPT", "EXISTS", "a4d0d6b47f5fd5f30c8cfbf45cc0c8658cdaf0d8",
         "A4D0D6B47F5FD5F30C8CFBF45CC0C8658CDAF0D8", "nope"],
        ["EVALSHA", "A4D0D6B47F5FD5F30C8CFBF45CC0C8658CDAF0D8", "0"],
        ["EVALSHA_RO", "a4d0d6b47f5fd5f30c8cfbf45cc0c8658cdaf0d8", "0"],
        ["SCRIPT", "FLUSH", "bad"], ["SCRIPT", "FLUSH", "ASYNC", "SYNC"],
        ["SCRIPT", "FLUSH", "SYNC"],
        ["SCRIPT", "EXISTS", "a4d0d6b47f5fd5f30c8cfbf45cc0c8658cdaf0d8"],
        ["EVALSHA", "a4d0d6b47f5fd5f30c8cfbf45cc0c8658cdaf0d8", "0"],
        ["SCRIPT", "EXISTS"], ["SCRIPT", "KILL"], ["SCRIPT", "HELP"], ["SCRIPT", "NOPE"],
        ["SCRIPT", "FLUSH"],
    ])


def test_resp3_conversions(pair):
    pair.check([
        ["EVAL", "redis.setresp(3) return redis.call('get','nokey')", "0"],
        ["EVAL", "return {double=1.5}", "0"],
        ["EVAL", "return true", "0"], ["EVAL", "return false", "0"],
        ["EVAL", "return {map={a=1}}", "0"],
        ["EVAL", "return {set={a=true}}", "0"],
        ["EVAL", "return redis.call('get','nokey')", "0"],
        ["EVAL", "return {1, nil, 2}", "0"],
    ], proto=3)


def test_random_sequence_matches(pair):
    # Redis's PRNG: same sequence as a freshly started real Redis.
    p = ServerProcess("redis").start()
    q = ServerProcess("redpoll").start()
    try:
        a, b = RespConn(p.port), RespConn(q.port)
        for _ in range(5):
            cmd = ["EVAL", "return {math.random(1000), math.random(3, 7), "
                           "tostring(math.random())}", "0"]
            assert a.call(cmd) == b.call(cmd)
        cmd = ["EVAL", "math.randomseed(5) return math.random(1000)", "0"]
        assert a.call(cmd) == b.call(cmd)
    finally:
        p.cleanup()
        q.cleanup()


def test_redis_py_lock(r):
    lock = Lock(r, "resource", timeout=10)
    assert lock.acquire(blocking=False)
    assert r.get("resource") == lock.local.token
    other = Lock(r, "resource", timeout=10)
    assert not other.acquire(blocking=False)
    assert lock.extend(5)
    assert 10000 < r.pttl("resource") <= 15000
    assert lock.reacquire()
    assert lock.owned()
    lock.release()
    assert r.get("resource") is None
    assert other.acquire(blocking=False)
    r.set("resource", "stolen")
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        other.release()
    third = Lock(r, "other", timeout=10)
    assert third.acquire(blocking=False)
    r.set("other", "stolen")
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        third.extend(5)
    with r.lock("ctx", timeout=5, blocking_timeout=1):
        assert r.exists("ctx")
    assert not r.exists("ctx")


def test_select_inside_script_does_not_leak(r):
    assert r.eval("redis.call('select', 3) redis.call('set', 'x', 'y') return 1", 0) == 1
    assert r.get("x") is None
    r.execute_command("SELECT", 3)
    assert r.get("x") == b"y"


def _busy_script_check(srv: ServerProcess, kill: bool):
    """Run an endless script; other clients get BUSY until SCRIPT KILL."""
    c = srv.client()
    c.config_set("lua-time-limit", 100)
    result = {}

    def run():
        try:
            srv.client(socket_timeout=30).eval("local i = 0 while true do i = i + 1 end", 0)
        except redis.exceptions.ResponseError as e:
            result["err"] = str(e)

    t = threading.Thread(target=run)
    t.start()
    try:
        def busy():
            try:
                c.ping()
            except redis.exceptions.BusyLoadingError as e:
                return str(e)
            except redis.exceptions.ResponseError as e:
                return str(e)
            return None
        busy_msg = wait_until(busy, 10, what="BUSY reply")
        fresh = srv.client()
        with pytest.raises(redis.exceptions.ResponseError) as e:
            fresh.get("k")
        assert str(e.value).startswith("BUSY Redis is busy running a script")
        assert fresh.execute_command("SCRIPT", "KILL") in (b"OK", True)
    finally:
        t.join(20)
    assert not t.is_alive()
    # the connection accepted while the script ran keeps working afterwards
    assert wait_until(lambda: fresh.ping(), 10, what="fresh connection usable")
    assert fresh.set("after", "1") and fresh.get("after") == b"1"
    c.config_set("lua-time-limit", 5000)
    assert c.ping()
    return busy_msg, result.get("err", "")


def test_busy_script_and_script_kill(server, real_redis):
    mine = _busy_script_check(server, True)
    ref = _busy_script_check(real_redis, True)
    assert mine[0] == ref[0]
    # the killed script's error names the line it was killed on
    assert mine[1] == ref[1]


def test_busy_script_with_the_aof_on(procs):
    """Replies wait for the AOF's write at the end of the loop iteration;
    while a script blocks the loop, BUSY replies must still go out."""
    p = procs("--appendonly", "yes")
    p.client().set("before", "1")
    busy_msg, err = _busy_script_check(p, True)
    assert busy_msg.startswith("BUSY Redis is busy running a script")
    assert "killed by user" in err


def test_unkillable_after_write(server):
    c = server.client()
    c.config_set("lua-time-limit", 100)
    done = threading.Event()

    def run():
        try:
            srv = server.client(socket_timeout=30)
            srv.eval("redis.call('set','w','1') local t = redis.call('time') "
                     "local s = tonumber(t[1]) while true do "
                     "local n = redis.call('time') if tonumber(n[1]) > s + 1 then break end end "
                     "return 1", 0)
        finally:
            done.set()

    t = threading.Thread(target=run)
    t.start()
    try:
        def unkillable():
            try:
                c.execute_command("SCRIPT", "KILL")
            except redis.exceptions.ResponseError as e:
                return str(e).startswith("UNKILLABLE") and str(e)
            return False
        msg = wait_until(unkillable, 10, what="UNKILLABLE")
        assert "already executed write commands" in msg
    finally:
        t.join(20)
    c.config_set("lua-time-limit", 5000)
    assert c.get("w") == b"1"


def test_effects_replication_through_monitor(server):
    """Writes made by a script are fed as separate commands (no EVAL replay)."""
    c = server.client()
    c.flushall()
    assert c.eval("redis.call('set', KEYS[1], 'a') redis.call('incr', 'n') return 1",
                  1, "k") == 1
    assert c.get("k") == b"a" and c.get("n") == b"1"


def test_effects_replicate_to_a_real_redis_replica(procs):
    """The writes a script makes (not the script) reach a real Redis replica,
    as one MULTI/EXEC: random values and SELECT inside the script included."""
    p = procs(*FAST)
    pc = p.client()
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind="redis")
    rc = r.client()
    wait_until(lambda: info(rc)["master_link_status"] == "up", 30, what="link up")
    pc.eval("redis.call('set', KEYS[1], tostring(math.random())) "
            "redis.call('incr', 'n') redis.call('select', 3) "
            "redis.call('set', 'in3', redis.call('time')[1])", 1, "k")
    pc.eval("redis.call('set', 'only', 'one')", 0)
    pc.eval("redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', '1')", 0)
    pc.eval_ro("return redis.call('get', 'k')", 1, "k")
    wait_synced(pc, rc)
    assert rc.get("k") == pc.get("k") and rc.get("n") == b"1" and rc.get("only") == b"one"
    assert pc.get("hidden") == b"1" and rc.get("hidden") is None    # REPL_NONE
    rc.execute_command("SELECT", 3)
    pc.execute_command("SELECT", 3)
    assert rc.get("in3") == pc.get("in3")


def test_script_writes_wake_blocked_clients_after_the_script(server):
    r = server.client()
    r.flushall()
    got = {}

    def pop():
        got["v"] = server.client(socket_timeout=20).blpop(["q"], timeout=10)

    t = threading.Thread(target=pop)
    t.start()
    wait_until(lambda: any("b" in x["flags"] for x in r.client_list()), what="blocked")
    # pushed and popped inside one script: nothing for the blocked client
    assert r.eval("redis.call('lpush', 'q', 'a') return redis.call('lpop', 'q')", 0) == b"a"
    assert any("b" in x["flags"] for x in r.client_list())
    r.eval("redis.call('lpush', 'q', 'x') redis.call('lpush', 'q', 'y')", 0)
    t.join(10)
    assert got["v"] == (b"q", b"y")
    assert r.lrange("q", 0, -1) == [b"x"]


def test_shutdown_nosave_interrupts_a_busy_script(procs):
    p = procs()
    c = p.client()
    c.config_set("lua-time-limit", 50)

    def run():
        try:
            p.client(socket_timeout=20).eval("while true do end", 0)
        except (redis.exceptions.ResponseError, redis.exceptions.ConnectionError):
            pass

    t = threading.Thread(target=run)
    t.start()
    try:
        def busy():
            try:
                c.ping()
            except redis.exceptions.ResponseError as e:
                return "BUSY" in str(e)
            return False
        wait_until(busy, 10, what="BUSY")
        with pytest.raises(redis.exceptions.ResponseError, match="BUSY"):
            c.shutdown(save=True)
        try:
            c.shutdown(nosave=True)
        except redis.exceptions.ConnectionError:
            pass
        wait_until(lambda: p.proc.poll() is not None, 10, what="server exit")
    finally:
        t.join(20)


def test_acl_inside_scripts(pair):
    for conn in pair.conns:
        assert conn.call(["ACL", "SETUSER", "lim", "on", "nopass", "+@all", "-set", "~*"])[0] == "+"
        assert conn.call(["AUTH", "lim", "x"])[0] == "+"
    try:
        pair.check([
            ["EVAL", "return redis.call('set','a','b')", "0"],
            ["EVAL", "return redis.pcall('set','a','b')", "0"],
            ["EVAL", "return redis.acl_check_cmd('set','a','b')", "0"],
            ["EVAL", "return redis.acl_check_cmd('get','a')", "0"],
            ["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
            ["EVAL", "return redis.acl_check_cmd()", "0"],
        ], flush=False)
    finally:
        pair.reconnect()
        for conn in pair.conns:
            conn.call(["ACL", "DELUSER", "lim"])


def test_monitor_shows_eval_before_its_commands(pair):
    lines = []
    for srv in (pair.redpoll, pair.redis):
        mon = RespConn(srv.port)
        assert mon.call(["MONITOR"]) == ("+", "OK")
        cli = RespConn(srv.port)
        cli.call(["EVAL", "redis.call('set', 'mk', '1') return 1", "1", "mk"])
        cli.call(["EVAL", "return 1", "-1"])
        got = []
        for _ in range(3):
            t, v = mon.reader.read()
            got.append(v.split(" ", 1)[1].replace(f":{cli.sock.getsockname()[1]}", ""))
        lines.append(got)
        mon.close()
        cli.close()
    assert lines[0] == lines[1]
    assert "[0 lua]" in lines[0][1]


def _lua_value(rnd, depth=0):
    k = rnd.randrange(8 if depth < 3 else 5)
    if k == 0:
        return str(rnd.randrange(-300, 300))
    if k == 1:
        return repr(rnd.choice([0.5, -2.25, 1e10, 3.14159, 1e-3, 2 ** 40, -(2 ** 33), 1e300]))
    if k == 2:
        return rnd.choice(['"abc"', '""', '"a\\"b\\\\c/d\\n"', '"\\1\\31"', '"ünï"', '"x"'])
    if k == 3:
        return rnd.choice(["true", "false"])
    if k == 4:
        return '"' + "y" * rnd.choice([31, 32, 255, 256, 70000]) + '"'
    if k in (5, 6):
        return "{" + ",".join(_lua_value(rnd, depth + 1) for _ in range(rnd.randrange(0, 5))) + "}"
    items = [f"k{rnd.randrange(5)}={_lua_value(rnd, depth + 1)}" for _ in range(rnd.randrange(1, 2))]
    return "{" + ",".join(items) + "}"



def test_msgpack_sized_types(pair):
    """cmsgpack.unpack of the types a 1/2/4-byte length or count follows
    (str 8/16/32, bin 8/16/32, array 16/32, map 16/32), whole and cut short."""
    def unpack(*byte_values, then="cjson.encode(v)"):
        chars = ",".join(str(b) for b in byte_values)
        return ["EVAL", f"local v = cmsgpack.unpack(string.char({chars})) return {then}", "0"]
    pair.check([
        unpack(0xD9, 2, 104, 105), unpack(0xDA, 0, 2, 104, 105), unpack(0xDB, 0, 0, 0, 2, 104, 105),
        unpack(0xC4, 2, 104, 105), unpack(0xC5, 0, 2, 104, 105), unpack(0xC6, 0, 0, 0, 2, 104, 105),
        unpack(0xDC, 0, 16, *[7] * 16), unpack(0xDD, 0, 0, 0, 2, 5, 6),
        unpack(0xDE, 0, 1, 0xA1, 97, 7), unpack(0xDF, 0, 0, 0, 1, 0xA1, 97, 7),
        unpack(0xDC, 0), unpack(0xDC, 0, 2, 1), unpack(0xDF, 0, 0, 0, 1, 0xA1, 97),
        unpack(0xDB, 0, 0, 0, 3, 104), unpack(0xC5, 1),
        ["EVAL", "return cmsgpack.pack({1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17})", "0"],
        ["EVAL", "return cjson.encode(cmsgpack.unpack(cmsgpack.pack("
                 "{1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17})))", "0"],
    ])

@pytest.mark.parametrize("seed", range(4))
def test_random_library_values(pair, seed):
    rnd = random.Random(seed)
    cmds = []
    for _ in range(60):
        v = _lua_value(rnd)
        cmds.append(["EVAL", f"return cjson.encode({v})", "0"])
        cmds.append(["EVAL", f"return cmsgpack.pack({v})", "0"])
        cmds.append(["EVAL", f"return cjson.encode(cmsgpack.unpack(cmsgpack.pack({v})))", "0"])
        cmds.append(["EVAL", f"return cjson.encode(cjson.decode(cjson.encode({v})))", "0"])
        n = rnd.choice([0, 1, -1, 255, 65536, -70000, 2 ** 31, 3.7, -(2 ** 52)])
        cmds.append(["EVAL", f"return {{bit.tobit({n}), bit.bnot({n}), bit.tohex({n}), "
                             f"bit.rshift({n}, 3), bit.arshift({n}, 3), bit.lshift({n}, 5)}}", "0"])
        fmt = rnd.choice(["<i4", ">I2", "b", "B", "h", "<H", "l", ">L", "<d", ">f", "i3", "I1"])
        cmds.append(["EVAL", f"return {{struct.unpack('{fmt}', struct.pack('{fmt}', {n}))}}", "0"])
    pair.check(cmds)


LIB = ("#!lua name=mylib\n"
       "redis.register_function('setget', function(keys, args) "
       "redis.call('set', keys[1], args[1]) return redis.call('get', keys[1]) end)\n"
       "redis.register_function{function_name='ro', callback=function(keys, args) "
       "return redis.call('get', keys[1]) end, flags={'no-writes'}, description='read'}\n"
       "redis.register_function('boom', function(keys, args) error('boom') end)\n")


def _fn_list_norm(argv, reply):
    """FUNCTION LIST: libraries and their functions come in hash order."""
    t, v = reply
    if t != "*" or not v or len(argv) < 2 or str(argv[1]).lower() != "list":
        return reply
    libs = []
    for lt, lv in v:
        lv = list(lv)
        for i in range(0, len(lv) - 1, 2):
            if lv[i] == ("$", b"functions"):
                lv[i + 1] = (lv[i + 1][0], sorted(lv[i + 1][1], key=repr))
        libs.append((lt, lv))
    return (t, sorted(libs, key=repr))


def test_functions(pair):
    bad = [
        "return 1", "#!lua", "#!lua name=", "#!lua name=a-b", "#!lua foo=bar", "#!lux name=x",
        "#!lua name=x\nreturn +", "#!lua name=x\nerror('boom')",
        "#!lua name=x\nredis.register_function()", "#!lua name=x\nredis.register_function(1, 2)",
        "#!lua name=x\nredis.register_function('a', 2)",
        "#!lua name=x\nredis.register_function{function_name='a'}",
        "#!lua name=x\nredis.register_function{callback=function() end}",
        "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, flags={'bad'}}",
        "#!lua name=x\nredis.register_function{function_name='a', callback=function() end, foo=1}",
        "#!lua name=x\nredis.register_function('a-b', function() end)",
        "#!lua name=x\nredis.register_function('a', function() end) redis.register_function('a', function() end)",
        "#!lua name=x\nlocal t = {} for k in pairs(redis) do t[#t+1]=k end",
        "#!lua name=x\nredis.call('set', 'a', 'b')", "#!lua name=x\nlocal s = string.len('x')",
        "#!lua name=x\nlocal y = 1",
    ]
    cmds = [["FUNCTION", "FLUSH"], ["FUNCTION", "LOAD", LIB], ["FUNCTION", "LOAD", LIB]]
    cmds += [["FUNCTION", "LOAD", code] for code in bad]
    cmds += [
        ["FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('ro', function() end)"],
        ["FUNCTION", "LOAD", "REPLACE", LIB], ["FUNCTION", "LOAD", "BAD", LIB],
        ["FCALL", "setget", "1", "k", "v"], ["FCALL_RO", "setget", "1", "k", "v"],
        ["FCALL_RO", "ro", "1", "k"], ["FCALL", "boom", "0"], ["FCALL", "nosuch", "0"],
        ["FCALL", "setget", "abc"], ["FCALL", "setget", "-1"], ["FCALL", "setget", "3", "a"],
        ["FUNCTION", "LIST"], ["FUNCTION", "LIST", "WITHCODE"],
        ["FUNCTION", "LIST", "LIBRARYNAME", "my*"], ["FUNCTION", "LIST", "LIBRARYNAME", "zz*"],
        ["FUNCTION", "LIST", "LIBRARYNAME"], ["FUNCTION", "LIST", "FOO"],
        ["FUNCTION", "STATS"], ["FUNCTION", "KILL"], ["FUNCTION", "HELP"],
        ["FUNCTION", "RESTORE", "abc"], ["FUNCTION", "RESTORE", "abc", "BAD"],
        ["FUNCTION", "FLUSH", "BAD"], ["FUNCTION", "DELETE", "nolib"],
        ["FUNCTION", "DUMP"],
        ["EVAL", "return redis.register_function('a', function() end)", "0"],
        ["FUNCTION", "LOAD", "#!lua name=p\nredis.register_function('probe', function() "
         "local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t end)"],
        ["FCALL", "probe", "0"], ["FUNCTION", "STATS"],
        ["FUNCTION", "DELETE", "mylib"], ["FCALL", "setget", "1", "k", "v"], ["FUNCTION", "FLUSH"],
        ["FUNCTION", "LIST"],
    ]
    pair.check(cmds, norm={"function": _fn_list_norm})



def test_strict_globals(pair):
    """Scripts, library loading and functions see strict, read-only globals:
    a nonexistent name read and any assignment fail with Redis's errors
    (EVAL's env, the load-time redis table, the functions' environment
    whose lookups change between load and call)."""
    lib = ("#!lua name=strict\n"
           "redis.register_function('rd', function() return nosuch end)\n"
           "redis.register_function('wr', function() newglobal = 1 end)\n"
           "redis.register_function('ok', function() return {type(_G), type(redis), "
           "_G.string.upper('a')} end)")
    pair.check([
        ["FUNCTION", "FLUSH"],
        ["EVAL", "return nosuch", "0"], ["EVAL", "return _G.nosuch", "0"],
        ["EVAL", "return redis.nosuch", "0"], ["EVAL", "_G.x = 1", "0"],
        ["FUNCTION", "LOAD", "#!lua name=l1\nreturn nosuch"],
        ["FUNCTION", "LOAD", "#!lua name=l2\nlocal x = redis.nosuch"],
        ["FUNCTION", "LOAD", "#!lua name=l3\nlocal x = string.len('a')"],
        ["FUNCTION", "LOAD", "#!lua name=l4\nredis.x = 1"],
        ["FUNCTION", "LOAD", "#!lua name=l5\ny = 1"],
        ["FUNCTION", "LOAD", lib],
        ["FCALL", "rd", "0"], ["FCALL", "wr", "0"], ["FCALL", "ok", "0"],
        ["FUNCTION", "FLUSH"],
    ])

def test_function_dump_restore_between_servers(pair):
    a, b = pair.conns
    pair.check([["FUNCTION", "FLUSH"], ["FUNCTION", "LOAD", LIB]])
    for src, dst in ((a, b), (b, a)):
        payload = src.call(["FUNCTION", "DUMP"])[1]
        assert dst.call(["FUNCTION", "RESTORE", payload])[1] == "ERR Library mylib already exists"
        assert dst.call(["FUNCTION", "RESTORE", payload, "REPLACE"]) == ("+", "OK")
        assert dst.call(["FUNCTION", "RESTORE", payload, "FLUSH"]) == ("+", "OK")
        assert dst.call(["FCALL", "setget", "1", "x", "y"]) == ("$", b"y")
    assert a.call(["FUNCTION", "DUMP"]) == b.call(["FUNCTION", "DUMP"])
    pair.check([["FUNCTION", "FLUSH"]])


def test_functions_replicate_and_persist(procs):
    p = procs(*FAST, "--appendonly", "yes", "--enable-debug-command", "yes")
    pc = p.client()
    r = procs("--replicaof", "127.0.0.1", str(p.port), kind="redis")
    rc = r.client()
    wait_until(lambda: info(rc)["master_link_status"] == "up", 30, what="link up")
    pc.function_load(LIB)
    assert pc.fcall("setget", 1, "k", "v1") == b"v1"
    wait_synced(pc, rc)
    assert rc.get("k") == b"v1"
    assert rc.fcall_ro("ro", 1, "k") == b"v1"
    pc.execute_command("DEBUG", "RELOAD")
    assert pc.fcall("setget", 1, "k", "v2") == b"v2"
    wait_synced(pc, rc)
    assert rc.get("k") == b"v2"


def _busy_function_check(srv: ServerProcess):
    c = srv.client()
    c.config_set("lua-time-limit", 100)
    c.function_load("#!lua name=spin\nredis.register_function('spin', function() "
                    "local i = 0 while true do i = i + 1 end end)", replace=True)
    result = {}

    def run():
        try:
            srv.client(socket_timeout=30).fcall("spin", 0)
        except redis.exceptions.ResponseError as e:
            result["err"] = str(e)

    t = threading.Thread(target=run)
    t.start()
    try:
        def busy():
            try:
                c.ping()
            except redis.exceptions.ResponseError as e:
                return str(e)
            return None
        msg = wait_until(busy, 10, what="BUSY reply")
        fresh = srv.client()
        with pytest.raises(redis.exceptions.ResponseError) as e:
            fresh.execute_command("SCRIPT", "KILL")
        script_kill_err = str(e.value)
        stats = fresh.execute_command("FUNCTION", "STATS")
        assert fresh.execute_command("FUNCTION", "KILL") in (b"OK", True)
    finally:
        t.join(20)
    c.config_set("lua-time-limit", 5000)
    c.function_delete("spin")
    return msg, script_kill_err, stats[1][b"name"] if isinstance(stats, list) else None, \
        result.get("err")


def test_busy_function_and_function_kill(server, real_redis):
    mine = _busy_function_check(server)
    ref = _busy_function_check(real_redis)
    assert mine[0] == ref[0] and mine[1] == ref[1] and mine[3] == ref[3]
