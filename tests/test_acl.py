"""ACL users and permissions compared with a real Redis 7.0: SETUSER rule
syntax, GETUSER/LIST shapes, NOPERM errors, ACL LOG, DRYRUN, categories,
``user`` directives and the ACL file."""

from __future__ import annotations


import pytest
import redis

from diff import RespConn, start_pair
from support import ServerProcess


@pytest.fixture(scope="module")
def pr():
    with start_pair() as p:
        yield p


def _genpass_len(argv, reply):
    """ACL GENPASS is random: compare its length only."""
    if len(argv) > 1 and argv[1].upper() == "GENPASS" and reply[0] == "$":
        return ("$", len(reply[1]))
    return reply


def _log_norm(argv, reply):
    """ACL LOG: compare everything but the time and the client description."""
    if reply[0] != "*" or not isinstance(reply[1], list):
        return reply
    out = []
    for entry in reply[1]:
        items = entry[1]
        flat = items if entry[0] == "*" else [x for kv in items for x in kv]
        keep = []
        for k, v in zip(flat[::2], flat[1::2]):
            if k[1] in (b"age-seconds", b"client-info"):
                v = ("?", type(v[1]).__name__)
            keep.append((k, v))
        out.append(keep)
    return ("*", out)


SETUSER_CASES = [
    ["ACL", "SETUSER", "u1"], ["ACL", "GETUSER", "u1"], ["ACL", "LIST"],
    ["ACL", "SETUSER", "u1", "on", ">p1", ">p2", "<p1", "~k*", "%R~r*", "%W~w*", "&ch*",
     "+@string", "-get", "+config|get", "+select|0", "-@all", "+get"],
    ["ACL", "LIST"], ["ACL", "GETUSER", "u1"],
    ["ACL", "SETUSER", "u1", "+@all", "-get", "+@string"], ["ACL", "LIST"],
    ["ACL", "SETUSER", "u1", "-@all", "+get", "+set", "+get", "-set"], ["ACL", "LIST"],
    ["ACL", "SETUSER", "u1", "badrule"], ["ACL", "SETUSER", "u1", "+nosuch"],
    ["ACL", "SETUSER", "u1", "+@nosuch"], ["ACL", "SETUSER", "u1", "#abc"],
    ["ACL", "SETUSER", "u1", "!abc"], ["ACL", "SETUSER", "u1", "<nosuch"],
    ["ACL", "SETUSER", "u1", "%X~a"], ["ACL", "SETUSER", "u1", "allkeys", "~foo"],
    ["ACL", "SETUSER", "u1", "resetkeys", "allchannels", "nopass"], ["ACL", "LIST"],
    ["ACL", "SETUSER", "u1", "allchannels", "&x"],
    ["ACL", "SETUSER", "u1", "reset"], ["ACL", "LIST"], ["ACL", "GETUSER", "u1"],
    ["ACL", "SETUSER", "u1", "(+get ~x)"], ["ACL", "LIST"], ["ACL", "GETUSER", "u1"],
    ["ACL", "SETUSER", "u1", "(+get", "~y)", "(+set", "~z)"], ["ACL", "LIST"],
    ["ACL", "SETUSER", "u1", "(+get"], ["ACL", "SETUSER", "u1", "clearselectors"],
    ["ACL", "SETUSER", "a b"], ["ACL", "SETUSER", "u1", "+config|nosub"],
    ["ACL", "SETUSER", "u1", "+get|x"], ["ACL", "SETUSER", "u1", "-config|get"],
    ["ACL", "SETUSER", "u1", "+select|0|x"], ["ACL", "SETUSER", "u1", "+config|get|x"],
    ["ACL", "LIST"],
    ["ACL", "SETUSER", "u2", "-@all", "+config"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "-@all", "+config|get"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "+@all", "-config|get"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "-@all", "+@string", "-get"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "-@all", "+select|0", "+select|1"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "nocommands", "+get"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "allcommands", "-get"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "~a", "~a", "~b", "&x", "&x", ">a", ">a"],
    ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "off", "on", "skip-sanitize-payload"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "+@all", "-@read"], ["ACL", "GETUSER", "u2"],
    ["ACL", "SETUSER", "u2", "%RW~*"], ["ACL", "GETUSER", "u2"],
    ["ACL", "DELUSER", "default"], ["ACL", "DELUSER", "u1", "nosuch"], ["ACL", "USERS"],
    ["ACL", "DELUSER", "u2"],
    ["ACL", "WHOAMI"], ["ACL", "GETUSER", "nosuch"], ["ACL", "GETUSER", "default"],
    ["ACL", "CAT"], ["ACL", "CAT", "nosuch"], ["ACL", "CAT", "a", "b"],
    ["ACL", "GENPASS"], ["ACL", "GENPASS", "5"], ["ACL", "GENPASS", "0"],
    ["ACL", "GENPASS", "4097"], ["ACL", "GENPASS", "x"], ["ACL", "GENPASS", "1", "2"],
    ["ACL", "LOG", "x"], ["ACL", "LOG", "RESET"], ["ACL", "LOG", "1", "2"],
    ["ACL", "DRYRUN", "default", "get", "x"], ["ACL", "DRYRUN", "nosuch", "get", "x"],
    ["ACL", "DRYRUN", "default", "nosuch"], ["ACL", "DRYRUN", "default", "get"],
    ["ACL", "LOAD"], ["ACL", "SAVE"], ["ACL", "HELP"], ["ACL"], ["ACL", "NOSUCH"],
]


@pytest.mark.parametrize("proto", [2, 3])
def test_acl_commands_match_redis(pr, proto):
    pr.check(SETUSER_CASES, proto=proto, norm={"acl": _genpass_len})


PERMISSION_CASES = [
    ["ACL", "SETUSER", "u3", "on", "nopass", "-@all", "+get", "+subscribe", "+publish",
     "+psubscribe", "+multi", "+exec", "+set", "~k*", "&ch*"],
    ["ACL", "SETUSER", "u4", "on", ">pw", "-@all", "+config|get", "+select|0", "%R~r*",
     "%W~w*", "+get", "+set", "+incr", "(+get ~sel*)"],
    ["ACL", "DRYRUN", "u3", "get", "foo"], ["ACL", "DRYRUN", "u3", "lpush", "foo", "x"],
    ["ACL", "DRYRUN", "u3", "publish", "zz", "m"], ["ACL", "DRYRUN", "u3", "get"],
    ["ACL", "DRYRUN", "u3", "get", "k1"], ["ACL", "DRYRUN", "u3", "config", "get", "x"],
    ["ACL", "DRYRUN", "u3", "config", "nosub"], ["ACL", "DRYRUN", "u3", "subscribe", "ch1", "x"],
    ["ACL", "DRYRUN", "u3", "psubscribe", "ch*"], ["ACL", "DRYRUN", "u3", "psubscribe", "c*"],
    ["ACL", "DRYRUN", "u4", "config", "get", "x"], ["ACL", "DRYRUN", "u4", "config", "set", "x", "y"],
    ["ACL", "DRYRUN", "u4", "select", "0"], ["ACL", "DRYRUN", "u4", "select", "1"],
    ["ACL", "DRYRUN", "u4", "get", "r1"], ["ACL", "DRYRUN", "u4", "get", "w1"],
    ["ACL", "DRYRUN", "u4", "set", "w1", "x"], ["ACL", "DRYRUN", "u4", "set", "r1", "x"],
    ["ACL", "DRYRUN", "u4", "get", "sel1"], ["ACL", "DRYRUN", "u4", "set", "sel1", "x"],
    ["ACL", "LOG", "RESET"],
    ["AUTH", "u4", "wrong"], ["AUTH", "nosuch", "pw"], ["AUTH", "u3", "anything"],
    ["ACL", "WHOAMI"], ["GET", "foo"], ["GET", "k1"], ["SET", "k1", "v"], ["LPUSH", "k1", "v"],
    ["MULTI"], ["GET", "foo"], ["GET", "k1"], ["EXEC"],
    ["PUBLISH", "x", "m"], ["PUBLISH", "ch1", "m"], ["PING"], ["ECHO", "x"],
    ["AUTH", "u4", "pw"], ["SET", "r1", "x"], ["SET", "w1", "x"], ["GET", "w1"],
    ["GET", "sel9"], ["CONFIG", "GET", "maxmemory"], ["CONFIG", "SET", "maxmemory", "0"],
    ["SELECT", "1"], ["SELECT", "0"],
    ["AUTH", "default", "x"], ["ACL", "LOG"], ["ACL", "LOG", "2"],
    ["ACL", "DELUSER", "u3", "u4"], ["ACL", "LOG", "RESET"],
]


def test_permissions_and_log_match_redis(pr):
    pr.reconnect()
    pr.check(PERMISSION_CASES, flush=False,
             norm={"acl": lambda argv, r: _log_norm(argv, r)
                   if argv[1].upper() == "LOG" else r})


def test_subscribe_channels_checked(pr):
    pr.reconnect()
    pr.check([["ACL", "SETUSER", "u5", "on", "nopass", "+@all", "~*", "resetchannels", "&ch*"],
              ["AUTH", "u5", "x"], ["SUBSCRIBE", "ch1", "x"], ["PSUBSCRIBE", "c*"],
              ["PSUBSCRIBE", "ch*"]], flush=False)
    pr.reconnect()
    pr.check([["ACL", "DELUSER", "u5"]], flush=False)


def test_deluser_disconnects_its_clients(server):
    admin = server.client()
    admin.acl_setuser("gone", enabled=True, passwords=["+pw"], commands=["+@all"], keys=["*"])
    victim = RespConn(server.port)
    assert victim.call(["AUTH", "gone", "pw"]) == ("+", "OK")
    assert admin.acl_deluser("gone") == 1
    with pytest.raises((ConnectionError, OSError)):
        victim.call(["PING"])
    admin.close()


# Declarations that differ from Redis 7.0, reported to the owner of
# commands/server.py: (extra categories in redpoll, missing ones). Any other
# difference fails the test.
KNOWN_CATEGORY_MISMATCHES = {
    "memory|usage": (["keyspace"], []),    # declared acl="keyspace"; Redis: @read @slow
    "memory|stats": (["read"], []),        # declared "readonly"; Redis: no flags, @slow
}


def test_acl_categories_match_redis(pr):
    """ACL CAT <category> on both servers, for the commands redpoll knows."""
    mine = redis.Redis(port=pr.redpoll.port, protocol=2)
    ref = redis.Redis(port=pr.redis.port, protocol=2)
    cats = [c.decode() for c in ref.execute_command("ACL", "CAT")]
    assert [c.decode() for c in mine.execute_command("ACL", "CAT")] == cats

    def table(r):
        m: dict[str, set] = {}
        for cat in cats:
            for name in r.execute_command("ACL", "CAT", cat):
                m.setdefault(name.decode(), set()).add(cat)
        return m
    a, b = table(mine), table(ref)
    unknown = sorted(n for n in a if n not in b)
    assert not unknown, f"redpoll has commands Redis 7.0 does not know: {unknown}"
    diffs = {}
    for name in sorted(a):
        if a[name] != b[name]:
            diffs[name] = (sorted(a[name] - b[name]), sorted(b[name] - a[name]))
    unexpected = {n: d for n, d in diffs.items() if KNOWN_CATEGORY_MISMATCHES.get(n) != d}
    assert not unexpected, unexpected


# -- users from the configuration ----------------------------------------------------

def test_user_directives_in_config():
    conf = ("user alice on >alicepw ~a:* +get +set\n"
            "user bob off nopass +@all\n"
            "user default on nopass ~* &* +@all -flushall\n")
    with ServerProcess("redpoll", config=conf) as srv:
        c = srv.client()
        # as Redis 7.0 shows them (the order of single commands is Redis's
        # hash order, so words are compared as sets)
        assert [set(line.split()) for line in c.acl_list()] == [
            set(("user alice on #" + _sha("alicepw") +
                 " ~a:* resetchannels -@all +set +get").split()),
            set("user bob off nopass resetchannels +@all".split()),
            set("user default on nopass sanitize-payload ~* &* +@all -flushall".split())]
        with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
            c.flushall()
        a = redis.Redis(port=srv.port, username="alice", password="alicepw")
        assert a.set("a:1", "x") and a.get("a:1") == b"x"
        with pytest.raises(redis.exceptions.NoPermissionError, match="no permissions"):
            a.get("b:1")
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=srv.port, username="bob", password="x").ping()


def test_user_directive_quoted_rules_are_single_words():
    """Each word of a ``user`` line (after redis.conf's quoting) is one ACL
    rule: a quoted password with spaces stays one ``>`` rule."""
    conf = ('user alice on ">my secret pw" ~key* +@all\n'
            "user bob on '>it\\'s' ~* +get\n")
    lists = []
    for kind in ("redpoll", "redis"):
        with ServerProcess(kind, config=conf) as srv:
            c = srv.client()
            lists.append(c.acl_list())
            a = redis.Redis(port=srv.port, username="alice", password="my secret pw")
            assert a.set("key1", "v")
            with pytest.raises(redis.exceptions.NoPermissionError):
                a.get("other")
            with pytest.raises(redis.AuthenticationError):
                redis.Redis(port=srv.port, username="alice", password="my").ping()
            assert redis.Redis(port=srv.port, username="bob", password="it's").get("x") is None
            a.close()
            c.close()
    assert lists[0] == lists[1]


def test_patterns_with_spaces_are_refused(pr):
    """Key and channel patterns cannot hold spaces (they would not survive
    ACL LIST / the ACL file); passwords can."""
    pr.check([["ACL", "SETUSER", "sp", "~a b"], ["ACL", "SETUSER", "sp", "%R~a b"],
              ["ACL", "SETUSER", "sp", "&a b"], ["ACL", "SETUSER", "sp", "(~a b)"],
              ["ACL", "SETUSER", "sp", "~a\tb"], ["ACL", "SETUSER", "sp", ">a b"],
              ["ACL", "SETUSER", "sp", "(~a +nosuch)"], ["ACL", "SETUSER", "sp", "(bad)"],
              ["ACL", "GETUSER", "sp"], ["ACL", "DELUSER", "sp"]])


def _sha(pw: str) -> str:
    import hashlib
    return hashlib.sha256(pw.encode()).hexdigest()


def test_user_directive_errors_are_fatal():
    srv = ServerProcess("redpoll", config="user alice on badrule\n")
    srv.start(wait=False)
    try:
        assert srv.proc.wait(15) != 0
        assert "badrule" in srv.log_text()
    finally:
        srv.cleanup()


def test_user_directive_unknown_command_fails_at_startup():
    """An unknown command in a ``user`` line passes the config file check
    and stops the server when the users are loaded, as in Redis."""
    want = ("Error loading ACL rule '+nosuch' for the user named 'alice': "
            "Unknown command or category name in ACL")
    for kind in ("redpoll", "redis"):
        srv = ServerProcess(kind, config="user alice on +nosuch\n")
        srv.start(wait=False)
        try:
            assert srv.proc.wait(30) != 0
            assert want in srv.log_text(), (kind, srv.log_text())
            assert "Critical error while loading ACLs. Exiting." in srv.log_text()
        finally:
            srv.cleanup()


@pytest.mark.parametrize("content", [
    'user default on nopass ~* &* +@all\nuser alice on ">a b" ~* +@all\n',
    "user alice on badrule\n",
    "user alice on +nosuch -nosuch2 badrule other\n",
    "foo bar\n",
    "user alice on\nuser alice off\n",
    'user alice on "x\n',
])
def test_aclfile_errors_match_redis(tmp_path, content):
    """ACL file lines are split on spaces (no quoting) and errors are
    reported in Redis's words, at start-up and by ACL LOAD."""
    path = tmp_path / "users.acl"
    path.write_text(content)
    lines = []
    for kind in ("redpoll", "redis"):
        srv = ServerProcess(kind, args=["--aclfile", str(path)])
        srv.start(wait=False)
        try:
            assert srv.proc.wait(30) != 0
            lines.append([ln.split("# ", 1)[1] for ln in srv.log_text().splitlines()
                          if "because of ACL errors" in ln])
        finally:
            srv.cleanup()
    assert lines[0] == lines[1] and len(lines[0]) == 1
    # ACL LOAD gives the same text as its error reply
    ok = tmp_path / "ok.acl"
    ok.write_text("user default on nopass ~* &* +@all\n")
    replies = []
    for kind in ("redpoll", "redis"):
        with ServerProcess(kind, args=["--aclfile", str(ok)]) as srv:
            c = srv.client()
            ok.write_text(content)
            with pytest.raises(redis.ResponseError) as e:
                c.execute_command("ACL", "LOAD")
            replies.append(str(e.value))
            ok.write_text("user default on nopass ~* &* +@all\n")
            c.close()
    assert replies[0] == replies[1]


def test_aclfile_load_and_save(tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user default on nopass ~* &* +@all\n"
                    "user carol on >c1 ~c* +@read\n")
    with ServerProcess("redpoll", args=["--aclfile", str(path)]) as srv:
        c = srv.client()
        assert c.acl_users() == ["carol", "default"]
        carol = redis.Redis(port=srv.port, username="carol", password="c1")
        assert carol.get("c1") is None
        c.acl_setuser("dave", enabled=True, passwords=["+d1"], commands=["+ping"])
        assert c.execute_command("ACL", "SAVE") == b"OK"
        saved = path.read_text().splitlines()
        assert saved[1].startswith("user dave on #") and saved[0].startswith("user carol on #")
        # edit the file and reload: carol is gone (and disconnected), erin appears
        path.write_text("user default on nopass ~* &* +@all\nuser erin on nopass +@all ~*\n")
        assert c.execute_command("ACL", "LOAD") == b"OK"
        assert c.acl_users() == ["default", "erin"]
        with pytest.raises(redis.ConnectionError):
            carol.connection_pool.get_connection().send_command("PING") or \
                carol.connection_pool.get_connection().read_response()
        # a bad file is refused as a whole
        path.write_text("user default on nopass ~* &* +@all\nuser frank on badrule\n")
        with pytest.raises(redis.ResponseError,
                           match=r"users.acl:2: Syntax error\. WARNING: ACL errors detected"):
            c.execute_command("ACL", "LOAD")
        assert c.acl_users() == ["default", "erin"]


def test_users_and_aclfile_together_is_fatal(tmp_path):
    path = tmp_path / "users.acl"
    path.write_text("user default on nopass ~* &* +@all\n")
    srv = ServerProcess("redpoll", config=f"aclfile {path}\nuser x on\n")
    srv.start(wait=False)
    try:
        assert srv.proc.wait(15) != 0
        assert "at the same setting an ACL file path is invalid" in srv.log_text()
    finally:
        srv.cleanup()


def test_setuser_kills_subscribers_losing_their_channels(pr):
    import socket
    for srv in (pr.redpoll, pr.redis):
        admin = srv.client()
        admin.execute_command("ACL", "SETUSER", "subber", "on", "nopass", "+@all", "~*",
                              "resetchannels", "&news*")
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"AUTH subber x\r\nSUBSCRIBE news1\r\n")
        got = b""
        while got.count(b"\r\n") < 7:
            got += s.recv(1000)
        admin.execute_command("ACL", "SETUSER", "subber", "&news*")     # still allowed
        assert admin.publish("news1", "m") == 1
        admin.execute_command("ACL", "SETUSER", "subber", "resetchannels", "&other")
        s.settimeout(5)
        data = b""
        try:
            while True:
                chunk = s.recv(1000)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pass
        assert admin.publish("news1", "m") == 0
        s.close()
        admin.execute_command("ACL", "DELUSER", "subber")
        admin.close()


def test_key_permissions_by_access_match_redis(pr):
    """%R~ / %W~ patterns: for every command with keys that redpoll knows,
    ACL DRYRUN as a write-only, a read-only and a no-keys user gives Redis's
    answer (which follows its key specs: ACCESS needs R, INSERT/DELETE/UPDATE
    need W)."""
    conns = [RespConn(pr.redpoll.port), RespConn(pr.redis.port)]
    users = {"wonly": "%W~*", "ronly": "%R~*", "nokeys": "resetkeys"}
    try:
        for c in conns:
            for u, keys in users.items():
                assert c.call(["ACL", "SETUSER", u, "on", "nopass", "+@all", "&*",
                               keys]) == ("+", "OK")
        argvs = []
        for info in conns[0].call(["COMMAND", "INFO"])[1]:
            if info[1] is None:
                continue
            fields = info[1]
            entries = [fields] + [s[1] for s in fields[9][1]] if len(fields) > 9 else [fields]
            for e in entries:
                name, arity, first = e[0][1].decode(), e[1][1], e[3][1]
                if first == 0 or name == "pfmerge":
                    continue
                argv = name.split("|")
                argvs.append(argv + ["1"] * (max(arity, -arity) - len(argv)))
        argvs += [["SET", "k", "v", "GET"], ["SET", "k", "v"], ["SORT", "k", "STORE", "d"],
                  ["BITFIELD", "k", "INCRBY", "u8", "0", "1"], ["BITFIELD", "k", "GET", "u8", "0"],
                  ["COPY", "a", "b"], ["BITOP", "AND", "d", "s"], ["LMOVE", "a", "b", "LEFT", "LEFT"],
                  ["PFMERGE", "d", "s"]]
        assert len(argvs) > 50
        diffs = []
        for argv in argvs:
            for u in users:
                mine, ref = (c.call(["ACL", "DRYRUN", u] + argv) for c in conns)
                if mine != ref:
                    diffs.append((u, argv, mine, ref))
        assert not diffs, "\n".join(map(repr, diffs))
    finally:
        for c in conns:
            c.call(["ACL", "DELUSER", *users])
            c.close()
