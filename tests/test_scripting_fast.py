"""The lean EVAL/EVALSHA path (docs/scripting.md, "Performance notes")
compared with real Redis 7.0: the replies whose conversion takes a shortcut
(status and error tables read in Lua, the OK status, numkeys parsed from a
table of small values, redis.call's arguments checked only when one is not a
string) must stay exactly what Redis answers."""

from __future__ import annotations

import hashlib

import pytest

from diff import unordered

# scripts whose result is an {ok=...}/{err=...} table, or looks like one
RESULT_TABLES = [
    "return redis.call('set', KEYS[1], ARGV[1])",
    "return redis.pcall('set', KEYS[1], ARGV[1])",
    "return redis.call('ping')",
    "return redis.call('type', KEYS[1])",
    "return {ok='OK'}", "return {ok='PONG'}", "return {ok=''}", "return {ok='a\\r\\nb'}",
    "return {ok='x\\0y'}", "return {ok='\\0'}", "return {ok='ok', err='both'}",
    "return {err=''}", "return {err='E'}", "return {err='MYERR with words'}",
    "return {err='x\\0y'}", "return {err=5}", "return {ok=5}", "return {ok={}}",
    "return {ok=true}", "return {err=false, ok='fine'}", "return {1, ok='OK'}",
    "return {{ok='OK'}, {err='ERR in array'}, {ok='PONG'}}",
    "return setmetatable({}, {__index=function(t, k) if k == 'ok' then return 'META' end end})",
    "return setmetatable({}, {__index=function(t, k) if k == 'err' then return 'EMETA' end end})",
    "return setmetatable({}, {__index={ok='INDEXED'}})",
    "return setmetatable({1, 2}, {__index=function() return nil end})",
    "return setmetatable({}, {__index=function(t, i) if type(i) == 'number' and i <= 3 "
    "then return i end end})",
    "return {setmetatable({}, {__index={ok='X'}})}",
    "return setmetatable({}, {__index={map={a=1}}})",
    "return setmetatable({}, {__index={double=1.5}})",
    "return setmetatable({verbatim_string={}}, {__index={ok='X'}})",
    "local r = redis.call('set', KEYS[1], ARGV[1]) r.ok = 'CHANGED' return r",
    "local r = redis.call('set', KEYS[1], ARGV[1]) return type(r) .. ':' .. r.ok",
    "local a = redis.call('set', KEYS[1], ARGV[1]) local b = redis.call('set', KEYS[1], "
    "ARGV[1]) a.ok = 'A' return {a.ok, b.ok}",
    "local t = {} for i = 1, 150 do local r = redis.call('set', KEYS[1], i) "
    "r.ok = r.ok .. i t[i] = r end local o = {} for i = 1, 150 do o[i] = t[i].ok end "
    "return o",
    "local seen = {} for i = 1, 130 do local r = redis.pcall('set', KEYS[1], i) "
    "if seen[r] then return 'shared' end seen[r] = true end return 'fresh'",
    "return redis.status_reply('OK')", "return redis.error_reply('OK')",
    "return redis.call('set', KEYS[1], ARGV[1], 'GET')",
    "return redis.call('hset', KEYS[1], 'f', 'v')",
]


@pytest.mark.parametrize("script", RESULT_TABLES)
def test_result_tables(pair, script):
    """EVAL and EVALSHA (by its sha, as sent and upper case) give Redis's reply."""
    sha = hashlib.sha1(script.encode()).hexdigest()
    pair.check([
        ["EVAL", script, "1", "k", "v"],
        ["EVALSHA", sha, "1", "k", "v"],
        ["EVALSHA", sha.upper(), "1", "k2", "v"],
        ["EVALSHA_RO", sha, "1", "k", "v"],
    ])


@pytest.mark.parametrize("script", [
    "return redis.call('set', KEYS[1], ARGV[1])", "return {err='E x'}", "return {ok='FINE'}",
    "return redis.call('get', KEYS[1])"])
def test_result_tables_resp3(pair, script):
    pair.check([["EVAL", script, "1", "k", "v"],
                ["EVAL", "redis.setresp(3) " + script, "1", "k", "v"]], proto=3)


def test_large_arrays(pair):
    """Arrays longer than one batch of items read from Lua (1000)."""
    pair.check([
        ["EVAL", "local t = {} for i = 1, tonumber(ARGV[1]) do t[i] = i end return t", "0", n]
        for n in ("999", "1000", "1001", "2000", "2001", "5003")
    ] + [["EVAL", "local t = {} for i = 1, 2500 do t[i] = {i, {ok='S'}} end t[1200] = nil "
          "return t", "0"]])


def test_numkeys_forms(pair):
    """numkeys: the values looked up in a table and everything parse_int sees."""
    script = "return {#KEYS, #ARGV, KEYS[1], ARGV[1]}"
    cmds = []
    for n in ["0", "1", "2", "15", "16", "17", "01", "00", "-0", "+1", " 1", "1 ", "1.0",
              "-1", "", "x", "99999999999999999999", "18"]:
        cmds.append(["EVAL", script, n] + [f"a{i}" for i in range(17)])
    cmds.append(["EVAL", script, "3", "a", "b"])
    cmds.append(["EVAL", script, "2", "a", "b"])
    pair.check(cmds)


def test_many_keys_and_args(pair):
    keys = [f"k{i}" for i in range(40)]
    pair.check([
        ["EVAL", "return {#KEYS, #ARGV, KEYS[40], ARGV[1], ARGV[#ARGV]}", "40", *keys,
         *[f"v{i}" for i in range(25)]],
        ["EVAL", "for i = 1, #KEYS do redis.call('set', KEYS[i], ARGV[i]) end "
         "return redis.call('mget', unpack(KEYS))", "40", *keys,
         *[f"v{i}" for i in range(40)]],
    ])


def test_call_argument_conversion(pair):
    """Arguments that are not strings take the converting branch of redis.call."""
    pair.check([
        ["EVAL", "return redis.call('set', KEYS[1], 1.5)", "1", "k"],
        ["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
        ["EVAL", "return redis.call('set', KEYS[1], 10000000000000001)", "1", "k"],
        ["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
        ["EVAL", "return redis.call('incrby', KEYS[1], 3)", "1", "n"],
        ["EVAL", "return redis.call('set', KEYS[1], true)", "1", "k"],
        ["EVAL", "return redis.pcall('set', KEYS[1], nil)", "1", "k"],
        ["EVAL", "return redis.pcall('set', 'k', {})", "0"],
        ["EVAL", "return redis.call(1)", "0"],
        ["EVAL", "return redis.pcall('SET', 'k', 'v', 'EX', 100) ", "0"],
    ])


def test_functions_result_tables(pair):
    lib = ("#!lua name=fastlib\n"
           "redis.register_function('okf', function(k, a) return redis.call('set', k[1], a[1]) end)\n"
           "redis.register_function('errf', function(k, a) return {err='FERR ' .. a[1]} end)\n"
           "redis.register_function('stf', function(k, a) return {ok=a[1]} end)\n"
           "redis.register_function{function_name='rof', callback=function(k, a) "
           "return redis.call('get', k[1]) end, flags={'no-writes'}}\n")
    pair.check([
        ["FUNCTION", "LOAD", "REPLACE", lib],
        ["FCALL", "okf", "1", "k", "v"], ["FCALL", "errf", "0", "x\r\ny"],
        ["FCALL", "stf", "0", "FINE"], ["FCALL", "stf", "0", "OK"],
        ["FCALL_RO", "rof", "1", "k"], ["FCALL_RO", "okf", "1", "k", "v"],
        ["FUNCTION", "DELETE", "fastlib"],
    ])


def _commandstats(reply) -> dict[str, str]:
    """cmdstat_<name> -> 'calls=..,failed_calls=..,rejected_calls=..' (usec dropped)
    from an INFO commandstats reply."""
    out = {}
    text = reply[1]
    if isinstance(text, bytes):
        text = text.decode()
    for line in text.splitlines():
        if line.startswith("cmdstat_"):
            name, _, rest = line.partition(":")
            fields = dict(f.split("=") for f in rest.split(","))
            out[name] = ",".join(f"{k}={fields[k]}" for k in
                                 ("calls", "failed_calls", "rejected_calls"))
    return out


def test_commandstats_count_script_calls(pair):
    """The commands a script runs are counted (calls and failures) as in Redis."""
    set_script = "return redis.call('set', KEYS[1], ARGV[1])"
    sha = hashlib.sha1(set_script.encode()).hexdigest()
    pair.check([["CONFIG", "RESETSTAT"], ["SCRIPT", "LOAD", set_script],
                ["EVALSHA", sha, "1", "k", "v"], ["EVALSHA", sha, "1", "k", "v"],
                ["EVAL", "return redis.pcall('incr', KEYS[1])", "1", "k"],
                ["EVAL", "return redis.call('get', KEYS[1])", "1", "k"],
                ["EVAL", "return {err='X'}", "0"],
                ["EVALSHA", "0" * 40, "0"]])
    mine, ref = (_commandstats(r) for r in pair.both(["INFO", "commandstats"]))
    assert mine == ref


def test_keys_stay_sorted(pair):
    pair.check([["EVAL", "redis.call('sadd', KEYS[1], 'b', 'a', 'c') "
                 "return redis.call('smembers', KEYS[1])", "1", "s"]],
               norm={"eval": unordered})


def test_timeout_hook_after_kills(server):
    """The timeout hook stays installed between runs (prelude.lua `armed`):
    after a kill, which replaces it, the next slow script is detected and
    killed again, also after lua-time-limit was switched off and on."""
    from test_scripting import _busy_script_check
    r = server.client()
    for limit in (5000, 0, 5000):
        r.config_set("lua-time-limit", limit)
        assert r.eval("local n = 0 for i = 1, 300000 do n = n + 1 end return n", 0) == 300000
        assert r.eval("return redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v") in (b"OK", True)
        busy, err = _busy_script_check(server, True)
        assert "busy" in busy.lower()
        assert "Script killed by user with SCRIPT KILL" in err
    assert r.eval("return redis.call('get', KEYS[1])", 1, "k") == b"v"
