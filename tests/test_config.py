"""Configuration: CONFIG GET/SET/REWRITE/RESETSTAT and redis.conf loading,
compared with a real redis-server started with the same arguments."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis

from diff import start_pair
from support import ServerProcess, free_port, require_redis_server, wait_until

# Values that depend on the machine or on the run, not on the implementation.
MACHINE_SPECIFIC = {"port", "dir", "pidfile", "logfile", "unixsocket",
                    "server_cpulist", "bio_cpulist", "aof_rewrite_cpulist",
                    "bgsave_cpulist", "daemonize"}


@pytest.fixture(scope="module")
def cfg_pair():
    p = start_pair()
    yield p
    p.cleanup()


def _config_dict(reply) -> dict:
    kind, items = reply
    assert kind == "*"
    vals = [v[1].decode() for v in items]
    return dict(zip(vals[0::2], vals[1::2]))


def test_config_get_star_matches_redis(cfg_pair):
    mine, ref = (_config_dict(r) for r in cfg_pair.both(["CONFIG", "GET", "*"]))
    for k in MACHINE_SPECIFIC:
        mine.pop(k, None)
        ref.pop(k, None)
    missing = sorted(set(ref) - set(mine))
    extra = sorted(set(mine) - set(ref))
    differ = {k: (mine[k], ref[k]) for k in ref if k in mine and mine[k] != ref[k]}
    assert not missing and not extra and not differ, (
        f"missing: {missing}\nextra: {extra}\ndiffer (ours, redis): {differ}")


def test_config_get_patterns(cfg_pair):
    for argv in (["CONFIG", "GET", "maxmemory*"], ["CONFIG", "GET", "port", "maxmem*", "hz"],
                 ["CONFIG", "GET", "slave*"], ["CONFIG", "GET", "SLAVE-READ-ONLY"],
                 ["CONFIG", "GET", "nosuch"], ["CONFIG", "GET", "*max-*-entries*"],
                 ["CONFIG", "GET", "maxmemory", "maxmemory"], ["CONFIG", "GET", "h?"],
                 ["CONFIG", "GET", "[hp][zo]*"]):
        mine, ref = (_config_dict(r) for r in cfg_pair.both(argv))
        for k in MACHINE_SPECIFIC:
            mine.pop(k, None)
            ref.pop(k, None)
        assert mine == ref, argv


SET_CASES = [
    ["CONFIG", "SET", "foo", "bar"],
    ["CONFIG", "SET", "port"],
    ["CONFIG", "SET", "daemonize", "yes"],
    ["CONFIG", "SET", "dir", "/tmp"],
    ["CONFIG", "SET", "dbfilename", "x.rdb"],
    ["CONFIG", "SET", "maxmemory", "abc"],
    ["CONFIG", "SET", "maxmemory", "1.5mb"],
    ["CONFIG", "SET", "maxmemory", "-1"],
    ["CONFIG", "SET", "maxmemory", "10", "maxmemory", "20"],
    ["CONFIG", "SET", "maxmemory", "10", "MAXMEMORY", "20"],
    ["CONFIG", "SET", "maxmemory", "10", "maxmemory-policy", "bad"],
    ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "SET", "maxmemory", "10", "foo", "bar"],
    ["CONFIG", "SET", "hz", "-1"],
    ["CONFIG", "SET", "hz", "1000000"],
    ["CONFIG", "GET", "hz"],
    ["CONFIG", "SET", "hz", "10"],
    ["CONFIG", "SET", "appendonly", "yes no"],
    ["CONFIG", "SET", "appendonly", "maybe"],
    ["CONFIG", "SET", "save", "1 2 3"],
    ["CONFIG", "SET", "save", "abc"],
    ["CONFIG", "SET", "loglevel", "foo"],
    ["CONFIG", "SET", "notify-keyspace-events", "Q"],
    ["CONFIG", "SET", "notify-keyspace-events", "KEA"],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "Eg$lshzxetmdn"],
    ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", ""],
    ["CONFIG", "SET", "client-output-buffer-limit", "normal 1 2"],
    ["CONFIG", "SET", "client-output-buffer-limit", "slave 1mb 2mb 3"],
    ["CONFIG", "GET", "client-output-buffer-limit"],
    ["CONFIG", "SET", "client-output-buffer-limit", "slave 256mb 64mb 60"],
    ["CONFIG", "SET", "maxmemory-samples", "0"],
    ["CONFIG", "SET", "appendfilename", "x"],
    ["CONFIG", "SET", "unixsocketperm", "700"],
    ["CONFIG", "SET", "oom-score-adj-values", "1 2"],
    ["CONFIG", "SET", "latency-tracking-info-percentiles", "a"],
    ["CONFIG", "SET", "port", "99999"],
    ["CONFIG", "SET", "timeout", "-5"],
    ["CONFIG", "SET", "slave-read-only", "no"],
    ["CONFIG", "GET", "slave-read-only"],
    ["CONFIG", "GET", "replica-read-only"],
    ["CONFIG", "SET", "slave-read-only", "yes", "replica-read-only", "no"],
    ["CONFIG", "SET", "replica-read-only", "yes"],
    ["CONFIG", "SET", "lua-time-limit", "10", "busy-reply-threshold", "20"],
    ["CONFIG", "GET", "lua-time-limit"],
    ["CONFIG", "SET", "busy-reply-threshold", "5000"],
    ["CONFIG", "SET", "maxmemory", "1k"],
    ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "SET", "maxmemory", "1KB"],
    ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "SET", "maxmemory", "0"],
    ["CONFIG", "SET", "save", "100 1 200 2"],
    ["CONFIG", "GET", "save"],
    ["CONFIG", "SET", "save", ""],
    ["CONFIG", "GET"],
    ["CONFIG", "RESETSTAT", "x"],
    ["CONFIG", "REWRITE"],
    ["CONFIG", "FOO"],
    ["CONFIG", "HELP"],
    ["CONFIG"],
]


def test_config_set_errors_match_redis(cfg_pair):
    cfg_pair.check(SET_CASES)


def test_config_set_is_atomic(cfg_pair):
    cfg_pair.check([
        ["CONFIG", "SET", "maxmemory-samples", "7", "hz", "not-a-number"],
        ["CONFIG", "GET", "maxmemory-samples"],
        ["CONFIG", "SET", "maxmemory-samples", "7", "timeout", "3"],
        ["CONFIG", "GET", "maxmemory-samples"],
        ["CONFIG", "GET", "timeout"],
        ["CONFIG", "SET", "maxmemory-samples", "5", "timeout", "0"],
        # a change the server cannot apply undoes the whole call
        ["CONFIG", "SET", "maxmemory-samples", "9", "bind", "192.0.2.1"],
        ["CONFIG", "GET", "maxmemory-samples"],
        ["CONFIG", "GET", "bind"],
        ["PING"],
    ])


def test_config_set_takes_effect(server):
    c = server.client()
    try:
        c.config_set("maxmemory", "3mb")
        assert c.info("memory")["maxmemory"] == 3 * 1024 * 1024
        c.config_set("maxmemory-policy", "allkeys-lru")
        assert c.info("memory")["maxmemory_policy"] == "allkeys-lru"
        c.config_set("hz", "100")
        assert c.info("server")["hz"] == 100
        c.config_set("slowlog-log-slower-than", "0")
        c.slowlog_reset()
        c.set("k", "v")
        assert any(e["command"].lower() == b"set k v" for e in c.slowlog_get())
    finally:
        c.config_set("maxmemory", "0")
        c.config_set("maxmemory-policy", "noeviction")
        c.config_set("hz", "10")
        c.config_set("slowlog-log-slower-than", "10000")
        c.close()


def test_config_resetstat(server):
    c = server.client()
    c.set("a", "1")
    c.get("a")
    try:
        c.execute_command("nosuchcommand")
    except redis.ResponseError:
        pass
    assert c.config_resetstat()
    info = c.info("stats")
    assert info["keyspace_hits"] == 0 and info["total_error_replies"] == 0
    assert "cmdstat_get" not in c.info("commandstats")
    assert "errorstat_ERR" not in c.info("errorstats")
    c.close()


# -- CONFIG REWRITE -------------------------------------------------------------

REWRITE_CONF = """# top comment
port {port}
dir {dir}
  # an indented comment

# memory
maxmemory 100mb
save 900 1
save 300 10
save 60 10000
slave-read-only yes
hz 10
include {dir}/inc*.conf
rename-command FLUSHALL ""
tcp-keepalive 300
appendfilename "my.aof"
"""

REWRITE_SETS = [
    ("maxmemory", "0"), ("timeout", "7"), ("save", "100 1"), ("loglevel", "verbose"),
    ("maxmemory-policy", "allkeys-lru"), ("slave-read-only", "no"),
    ("notify-keyspace-events", "KEA"), ("client-output-buffer-limit", "normal 1mb 2mb 3"),
    ("tcp-keepalive", "300"), ("maxmemory-samples", "7"),
]


def _rewrite_on(kind: str) -> str:
    d = tempfile.mkdtemp(prefix=f"rewrite-{kind}-")
    Path(d, "inc1.conf").write_text("timeout 5\n")
    port = free_port()
    conf = REWRITE_CONF.format(port=port, dir=d)
    srv = ServerProcess(kind, config=conf, port=port, workdir=d)
    srv.start()
    try:
        c = srv.client()
        for k, v in REWRITE_SETS:
            assert c.config_set(k, v)
        assert c.config_rewrite()
        first = Path(srv.config_path).read_text()
        c.config_set("maxmemory", "2gb")
        c.config_set("save", "")
        assert c.config_rewrite()
        second = Path(srv.config_path).read_text()
        c.close()
    finally:
        srv.cleanup()
    norm = lambda t: t.replace(d, "<dir>").replace(str(port), "<port>")
    return norm(first), norm(second)


def _split_generated(text: str):
    """(the lines before Redis's marker, the set of lines after it): Redis
    appends new lines in hash-table order, redpoll in table order."""
    lines = text.split("\n")
    if "# Generated by CONFIG REWRITE" in lines:
        i = lines.index("# Generated by CONFIG REWRITE")
        return lines[:i + 1], sorted(lines[i + 1:])
    return lines, []


def test_config_rewrite_matches_redis():
    require_redis_server()
    mine = _rewrite_on("redpoll")
    ref = _rewrite_on("redis")
    for m, r in zip(mine, ref):
        # the ACL room writes the user lines; compare everything else exactly
        m_head, m_tail = _split_generated(m)
        r_head, r_tail = _split_generated(r)
        assert m_head == r_head, "\n".join(m_head) + "\n----- redis:\n" + "\n".join(r_head)
        assert m_tail == r_tail, f"{m_tail}\n----- redis:\n{r_tail}"


def test_config_rewrite_without_file(server):
    c = server.client()
    with pytest.raises(redis.ResponseError, match="The server is running without a config file"):
        c.config_rewrite()
    c.close()


# -- loading ------------------------------------------------------------------

def _start_fail(kind: str, args: list[str], stdin: str | None = None):
    exe = ([sys.executable, "-m", "redpoll", "server"] if kind == "redpoll"
           else ["redis-server"])
    p = subprocess.run(exe + args, input=stdin, capture_output=True, text=True,
                       timeout=90, cwd=tempfile.gettempdir())
    return p.returncode, p.stdout, p.stderr


def _strip_pid_lines(s: str) -> str:
    return re.sub(r"^\d+:C \d\d \w\w\w \d{4} [\d:.]+ ", "<LOG> ", s, flags=re.M)


@pytest.mark.parametrize("conf,args", [
    ("port 0\n# c\nfoo bar\n", []),
    ("port 1234 5\n", []),
    ("maxmemory abc\n", []),
    ('port "1234\n', []),
    ("port 0\n\n# x\n", ["--foo", "bar"]),
    ("port 0\n", ["--port", "5", "--foo", "bar"]),
    ("port 0\n", ["--loglevel"]),
    ("appendonly maybe\n", []),
    ("save 1 2 3\n", []),
    ("include /nonexistent-redpoll.conf\n", []),
    ("include /nonexistent-redpoll*.conf\nfoo\n", []),
    ("hz x\n", []),
    ("bind " + " ".join(f"127.0.0.{i}" for i in range(1, 20)) + "\n", []),
    # user lines are checked while the file is read (ACLAppendUserForLoading)
    ("user alice on badrule\n", []),
    ("user alice on >a\nuser alice off\n", []),
    ("user alice on (~x badrule)\n", []),
    ("user alice on (~x\n", []),
    ("user\n", []),
    ('user alice on ">a b" "~a b"\n', []),
    ("user alice on allkeys ~a\n", []),
])
def test_fatal_config_errors_match_redis(tmp_path, conf, args):
    require_redis_server()
    path = tmp_path / "bad.conf"
    path.write_text(conf)
    got = _start_fail("redpoll", [str(path)] + args)
    want = _start_fail("redis-server", [str(path)] + args)
    assert got[0] == want[0] == 1
    assert _strip_pid_lines(got[2]) == _strip_pid_lines(want[2])
    assert _strip_pid_lines(got[1]) == _strip_pid_lines(want[1])


def test_missing_config_file_matches_redis():
    got = _start_fail("redpoll", ["/nonexistent/redpoll.conf"])
    want = _start_fail("redis-server", ["/nonexistent/redpoll.conf"])
    assert got[0] == want[0] == 1
    assert _strip_pid_lines(got[1] + got[2]) == _strip_pid_lines(want[1] + want[2])


def test_unknown_option_on_command_line_matches_redis():
    got = _start_fail("redpoll", ["--port", "5", "--foo", "bar"])
    want = _start_fail("redis-server", ["--port", "5", "--foo", "bar"])
    assert (got[0], got[2]) == (want[0], want[2])


SEED_CONF = """
     bind ::1 127.0.0.1
     protected-mode no 
     requirepass EXAMPLE_REPL_PASSWORD
    tcp-keepalive 60
    maxmemory-policy noeviction
    appendonly yes
    appendfilename "redis-staging-ao.aof"
    masterauth secret-master
"""


def test_seed_snippets_load():
    srv = ServerProcess("redpoll", config=SEED_CONF, password="EXAMPLE_REPL_PASSWORD")
    with srv:
        c = srv.client()
        cfg = c.config_get("*")
        assert cfg["bind"] == "::1 127.0.0.1"
        assert cfg["protected-mode"] == "no"
        assert cfg["tcp-keepalive"] == "60"
        assert cfg["appendonly"] == "yes"
        assert cfg["appendfilename"] == "redis-staging-ao.aof"
        assert cfg["masterauth"] == "secret-master"
        assert cfg["requirepass"] == "EXAMPLE_REPL_PASSWORD"
        c.close()
        r6 = redis.Redis(host="::1", port=srv.port, password="EXAMPLE_REPL_PASSWORD")
        assert r6.ping()
        r6.close()


@pytest.mark.parametrize("line", ["slaveof 127.0.0.1 1", "replicaof 127.0.0.1 1"])
def test_replicaof_directive_loads(line):
    with ServerProcess("redpoll", config=line + "\n") as srv:
        c = srv.client()
        assert c.config_get("slaveof") == {"slaveof": "127.0.0.1 1"}
        assert c.config_get("replicaof") == {"replicaof": "127.0.0.1 1"}
        c.close()


def _debian_overrides(d: str) -> list[str]:
    return ["--daemonize", "no", "--logfile", "", "--pidfile", os.path.join(d, "r.pid"),
            "--supervised", "no"]


def test_debian_stock_config_loads():
    conf = "/etc/redis/redis.conf"
    assert os.path.exists(conf), "Debian's redis-server package provides it"
    d = tempfile.mkdtemp(prefix="debian-conf-")
    mine = ServerProcess("redpoll", args=[conf] + _debian_overrides(d), workdir=d)
    # ServerProcess puts --port/--dir after the config path: the path must come
    # first, so build the command the way redis-server expects it.
    mine.config_path = None
    ref = ServerProcess("redis", args=[], workdir=tempfile.mkdtemp(prefix="debian-ref-"))
    try:
        cmd_mine = [sys.executable, "-m", "redpoll", "server", conf, "--port", str(mine.port),
                    "--dir", d] + _debian_overrides(d)
        mine.proc = subprocess.Popen(cmd_mine, cwd=d, stdout=open(mine.logfile, "ab"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        mine.wait_ready()
        cmd_ref = ["redis-server", conf, "--port", str(ref.port), "--dir", ref.dir] + \
            _debian_overrides(ref.dir)
        ref.proc = subprocess.Popen(cmd_ref, cwd=ref.dir, stdout=open(ref.logfile, "ab"),
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        ref.wait_ready()
        a, b = mine.client(), ref.client()
        ca, cb = a.config_get("*"), b.config_get("*")
        for k in MACHINE_SPECIFIC:
            ca.pop(k, None)
            cb.pop(k, None)
        assert ca == cb
        # directives redpoll does not act on are named in a WARNING line
        log = mine.log_text()
        assert re.search(r"^\d+:M .* # .*'oom-score-adj'", log, re.M), log
        a.close()
        b.close()
    finally:
        mine.cleanup()
        ref.cleanup()


def test_config_from_stdin():
    srv = ServerProcess("redpoll", stdin_config="maxmemory-samples 9\nhz 33\n")
    with srv:
        c = srv.client()
        assert c.config_get("maxmemory-samples") == {"maxmemory-samples": "9"}
        assert c.config_get("hz") == {"hz": "33"}
        c.close()


def test_include_with_glob(tmp_path):
    (tmp_path / "a.conf").write_text("maxmemory-samples 8\n")
    (tmp_path / "b.conf").write_text("hz 44\n")
    with ServerProcess("redpoll", config=f"include {tmp_path}/*.conf\n") as srv:
        c = srv.client()
        assert c.config_get("maxmemory-samples")["maxmemory-samples"] == "8"
        assert c.config_get("hz")["hz"] == "44"
        c.close()


def test_units_and_booleans(tmp_path):
    conf = ("maxmemory 1k\nrepl-backlog-size 20kb\nproto-max-bulk-len 2MB\n"
            "appendonly YES\nactiverehashing No\n")
    with ServerProcess("redpoll", config=conf) as srv:
        c = srv.client()
        got = c.config_get("*")
        assert got["maxmemory"] == "1000"
        assert got["repl-backlog-size"] == "20480"
        assert got["proto-max-bulk-len"] == str(2 * 1024 * 1024)
        assert got["appendonly"] == "yes" and got["activerehashing"] == "no"
        c.close()


def test_version_help_test_memory():
    out = subprocess.run([sys.executable, "-m", "redpoll", "server", "--version"],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 0 and "v=7.0.15" in out.stdout
    out = subprocess.run([sys.executable, "-m", "redpoll", "server", "--help"],
                         capture_output=True, text=True, timeout=90)
    assert "Usage:" in out.stderr and out.returncode == 1
    out = subprocess.run([sys.executable, "-m", "redpoll", "server", "--test-memory", "10"],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 1 and "not supported" in out.stderr


# Every directive, set to awkward values: the replies (errors or the value
# CONFIG GET shows afterwards) must be Redis's. Directives whose change would
# break the test connection or the process are left out.
_SWEEP_SKIP = {"requirepass", "masterauth", "masteruser", "port", "bind", "dir", "logfile",
               "pidfile", "save", "appendonly", "daemonize", "unixsocket", "replicaof",
               "slaveof", "maxclients", "dbfilename", "appenddirname", "aclfile"}
_SWEEP_VALUES = ["-99999999999", "99999999999999999999", "bogus", "-1", "0", "70000",
                 "2147483648", "007", "1kb", "10%", "yes"]


def _sweep(port: int) -> dict:
    r = redis.Redis(port=port, decode_responses=True)
    cfg = r.config_get("*")
    out = {}
    for name in sorted(cfg):
        if name in _SWEEP_SKIP or name in MACHINE_SPECIFIC:
            continue
        for v in _SWEEP_VALUES:
            try:
                r.config_set(name, v)
                res = "OK -> " + r.config_get(name)[name]
            except redis.ResponseError as e:
                res = str(e)
            out[f"{name} {v}"] = res
            try:
                r.config_set(name, cfg[name])
            except redis.ResponseError:
                pass
    r.close()
    return out


def test_config_set_value_sweep_matches_redis(cfg_pair):
    mine = _sweep(cfg_pair.redpoll.port)
    ref = _sweep(cfg_pair.redis.port)
    bad = [f"CONFIG SET {k}\n    redis:   {ref[k]}\n    redpoll: {mine.get(k)}"
           for k in ref if mine.get(k) != ref[k]]
    assert not bad, f"{len(bad)} differences:\n" + "\n".join(bad)


def test_rename_command(tmp_path):
    conf = ('rename-command FLUSHALL ""\nrename-command CONFIG MYCONFIG\n'
            'rename-command GET MYGET\nrename-command SET MYSET\n')
    with ServerProcess("redpoll", config=conf) as srv:
        c = srv.client()
        with pytest.raises(redis.ResponseError, match="unknown command 'FLUSHALL'"):
            c.execute_command("FLUSHALL")
        with pytest.raises(redis.ResponseError, match="unknown command"):
            c.execute_command("CONFIG", "GET", "port")
        assert c.execute_command("MYCONFIG", "GET", "hz") in ([b"hz", b"10"], {b"hz": b"10"})
        # commands of the fast path (Client.process_input) are renamed too
        with pytest.raises(redis.ResponseError, match="unknown command 'GET'"):
            c.execute_command("GET", "k")
        assert c.execute_command("MYSET", "k", "v") and c.execute_command("MYGET", "k") == b"v"
        with pytest.raises(redis.ResponseError, match="unknown command 'SET'"):
            c.execute_command("SET", "k", "v")
        c.close()


def test_not_implemented_directive_is_logged(tmp_path):
    with ServerProcess("redpoll", config="activerehashing yes\nio-threads 1\n") as srv:
        log = srv.log_text()
        assert re.search(r"# .*'activerehashing'", log), log
        assert re.search(r"# .*'io-threads'", log), log


def _rewrite_users_on(kind: str) -> str:
    d = tempfile.mkdtemp(prefix=f"rewrite-users-{kind}-")
    port = free_port()
    conf = (f"port {port}\nrequirepass foo\nuser alice on >pw ~* +@all\n"
            f"user bob off ~k* +get\n")
    srv = ServerProcess(kind, config=conf, port=port, workdir=d, password="foo")
    srv.start()
    try:
        c = srv.client()
        assert c.config_rewrite()
        c.close()
        text = Path(srv.config_path).read_text()
    finally:
        srv.cleanup()
    return text.replace(d, "<dir>").replace(str(port), "<port>")


def test_config_rewrite_users_match_redis():
    mine, ref = _rewrite_users_on("redpoll"), _rewrite_users_on("redis")
    m_head, m_tail = _split_generated(mine)
    r_head, r_tail = _split_generated(ref)
    assert m_head == r_head, mine + "\n----- redis:\n" + ref
    assert m_tail == r_tail, mine + "\n----- redis:\n" + ref


# -- protected commands and configs (enable-*-command, enable-protected-configs) --

PROTECTED_CHECKS = [
    ["MODULE", "LIST"], ["MODULE", "LOAD", "/nonexistent/x.so", "a"],
    ["MODULE", "LOADEX", "/nonexistent/x.so", "CONFIG", "a"],
    ["MODULE", "LOADEX", "/nonexistent/x.so", "FOO"],
    ["MODULE", "UNLOAD", "x"], ["MODULE", "HELP"], ["MODULE", "FOO"], ["MODULE"],
    ["MODULE", "LIST", "x"], ["DEBUG", "SLEEP", "0"], ["DEBUG"],
    ["CONFIG", "SET", "dbfilename", "other.rdb"], ["CONFIG", "GET", "dbfilename"],
    ["CONFIG", "SET", "enable-debug-command", "yes"],
    ["CONFIG", "SET", "enable-protected-configs", "yes"],
    ["CONFIG", "GET", "enable-*"],
]


def _pairs_sorted(argv, reply):
    """CONFIG GET lists its pairs in hash order: compare them sorted."""
    if reply[0] == "*" and reply[1]:
        items = reply[1]
        return ("*", sorted(zip(items[::2], items[1::2])))
    return reply


@pytest.mark.parametrize("mode", ["no", "yes", "local"])
def test_protected_commands_and_configs_match_redis(mode):
    args = ["--enable-debug-command", mode, "--enable-module-command", mode,
            "--enable-protected-configs", mode]
    p = start_pair(args)
    try:
        p.check(PROTECTED_CHECKS, norm={"config": _pairs_sorted})
    finally:
        p.cleanup()


def test_protected_commands_before_auth_and_in_multi_match_redis():
    """DEBUG/MODULE LOAD are refused by enable-*-command before NOAUTH and
    at MULTI queueing time (processCommand), as in Redis."""
    p = start_pair(["--requirepass", "pw"])
    try:
        p.check([["DEBUG", "SLEEP", "0"], ["MODULE", "LOAD", "/x.so"], ["MODULE", "LIST"],
                 ["AUTH", "pw"], ["MULTI"], ["DEBUG", "SLEEP", "0"], ["PING"], ["EXEC"],
                 ["MULTI"], ["MODULE", "UNLOAD", "x"], ["EXEC"]], flush=False)
    finally:
        p.cleanup()
