"""COMMAND: the command table against real Redis 7.0.15 (arity, flags, key
positions, ACL categories, tips and key specs of every command both servers
know), and the COMMAND subcommands' replies."""

from __future__ import annotations

import pytest

from diff import RespConn, command_docs, start_pair

# The modules whose commands this test holds to Redis's table exactly; the
# other rooms' commands are compared too, against the list of differences
# their owners know about (KNOWN_ELSEWHERE), so that no new one slips in.
OWN_MODULES = {"redpoll.commands.server", "redpoll.commands.config",
               "redpoll.commands.command"}

# Differences in other rooms' commands, as of this test's writing. Each entry
# is "name: field"; remove it when the owner fixes the command.
KNOWN_ELSEWHERE: set[str] = set()


@pytest.fixture(scope="module")
def cmd_pair():
    p = start_pair()
    yield p
    p.cleanup()


def _plain(reply):
    """A parsed RESP reply from diff.RespConn as plain Python values."""
    kind, v = reply
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, bytes):
        return v.decode()
    return v


def _table(port: int) -> dict:
    conn = RespConn(port)
    raw = _plain(conn.call(["COMMAND"]))
    conn.close()
    out = {}

    def walk(entry):
        name = entry[0]
        out[name] = {
            "arity": entry[1],
            "flags": sorted(entry[2]),
            "keys": (entry[3], entry[4], entry[5]),
            "acl": sorted(entry[6]),
            "tips": entry[7],
            "specs": [_spec_shape(sp) for sp in entry[8]],
        }
        for sub in entry[9] if len(entry) > 9 else []:
            walk(sub)
    for e in raw:
        walk(e)
    return out


def _spec_shape(spec: list) -> list:
    """A key spec with its ``notes`` text replaced by a marker: the notes are
    prose (ours are our own wording), everything else must match."""
    out = list(spec)
    for i in range(0, len(out) - 1, 2):
        if out[i] == "notes":
            out[i + 1] = "<notes>"
    return out


def _owner(name: str) -> str:
    from redpoll.commands import table as T
    T.load_all()
    parts = name.split("|", 1)
    cmd = T.TABLE.get(parts[0].encode())
    if cmd is not None and len(parts) == 2:
        cmd = cmd.subcommands.get(parts[1].encode())
    if cmd is None or cmd.handler is None:
        return ""
    return cmd.handler.__module__


def _mismatches(cmd_pair):
    mine = _table(cmd_pair.redpoll.port)
    ref = _table(cmd_pair.redis.port)
    diffs = {}
    for name in sorted(set(mine) & set(ref)):
        for field in ("arity", "flags", "keys", "acl", "tips", "specs"):
            if mine[name][field] != ref[name][field]:
                diffs[f"{name}: {field}"] = (mine[name][field], ref[name][field])
    return diffs


def test_own_commands_match_redis(cmd_pair):
    diffs = {k: v for k, v in _mismatches(cmd_pair).items()
             if _owner(k.split(":")[0]) in OWN_MODULES}
    assert not diffs, "\n".join(f"{k}: ours {a} redis {b}" for k, (a, b) in diffs.items())


def test_other_rooms_commands_match_redis(cmd_pair):
    diffs = {k: v for k, v in _mismatches(cmd_pair).items()
             if _owner(k.split(":")[0]) not in OWN_MODULES}
    new = {k: v for k, v in diffs.items() if k not in KNOWN_ELSEWHERE}
    assert not new, "differences from Redis's command table:\n" + "\n".join(
        f"  {k}: redpoll {a} / redis {b}  [{_owner(k.split(':')[0])}]"
        for k, (a, b) in sorted(new.items()))


def test_command_subcommands_match_redis(cmd_pair):
    cmd_pair.check([
        ["COMMAND", "INFO", "get", "nosuchcommand", "config|get"],
        ["COMMAND", "INFO", "GET"],
        ["COMMAND", "GETKEYS", "get", "a"],
        ["COMMAND", "GETKEYS", "mset", "a", "b", "c", "d"],
        ["COMMAND", "GETKEYS", "set"],
        ["COMMAND", "GETKEYS", "foo", "a"],
        ["COMMAND", "GETKEYS", "ping"],
        ["COMMAND", "GETKEYS"],
        ["COMMAND", "GETKEYSANDFLAGS", "get", "a"],
        ["COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"],
        # per-key flags from the key specs (several specs, keynum, keyword,
        # variable flags resolved from the arguments)
        *[["COMMAND", "GETKEYSANDFLAGS", *args.split()] for args in (
            "rename a b", "lmove a b left right", "zunionstore d 2 a b", "hlen a",
            "set a b get", "bitfield k get u8 0", "bitfield k incrby u8 0 1",
            "sort k by x store d", "blmpop 0 2 a b left", "xread streams a b 0 0",
            "eval x 1 a", "mset a 1 b 2", "georadius k 0 0 1 km store d",
            "pfcount a b", "object freq k", "copy a b", "smove a b m")],
        ["COMMAND", "LIST", "FILTERBY", "PATTERN", "xyz*"],
        ["COMMAND", "LIST", "FILTERBY", "MODULE", "foo"],
        ["COMMAND", "LIST", "FILTERBY", "foo", "bar"],
        ["COMMAND", "LIST", "foo"],
        ["COMMAND", "HELP"],
        ["COMMAND", "FOO"],
    ], norm={"command": None})


def test_command_list_and_count(cmd_pair):
    a, b = (RespConn(p) for p in (cmd_pair.redpoll.port, cmd_pair.redis.port))
    q = lambda conn, *args: _plain(conn.call(list(args)))  # noqa: E731
    ours, theirs = set(q(a, "COMMAND", "LIST")), set(q(b, "COMMAND", "LIST"))
    assert q(a, "COMMAND", "COUNT") == len(q(a, "COMMAND"))
    # every command of ours is a Redis command (no invented names)
    assert ours <= theirs, ours - theirs
    assert set(q(a, "COMMAND", "LIST", "FILTERBY", "PATTERN", "config*")) == \
        set(q(b, "COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"))
    assert set(q(a, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "hyperloglog")) <= \
        set(q(b, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "hyperloglog"))
    docs = q(a, "COMMAND", "DOCS", "get")
    assert docs[0] == "get" and "summary" in docs[1]
    a.close()
    b.close()


def test_redis_py_command_parsing(server):
    c = server.client()
    cmds = c.command()
    assert "get" in cmds and cmds["get"]["arity"] == 2
    assert "config|get" in [s for s in cmds] or "config" in cmds
    c.close()


# -- COMMAND DOCS ---------------------------------------------------------------

# Prose we do not reproduce (our summaries are our own, complexity and
# history are not given) and per-argument prose.
_DOC_PROSE = {"summary", "complexity", "history", "replaced_by"}
_ARG_PROSE = {"summary", "since", "deprecated_since", "display_text"}


def _arg_shape(args: list) -> list:
    out = []
    for a in args:
        b = {k: v for k, v in a.items() if k not in _ARG_PROSE}
        if "arguments" in b:
            b["arguments"] = _arg_shape(b["arguments"])
        out.append(b)
    return out


def _doc_shape(doc: dict) -> dict:
    d = {k: v for k, v in doc.items() if k not in _DOC_PROSE}
    if "arguments" in d:
        d["arguments"] = _arg_shape(d["arguments"])
    if "subcommands" in d:
        d["subcommands"] = {n: _doc_shape(s) for n, s in d["subcommands"].items()}
    return d


def test_command_docs_structure_matches_redis(cmd_pair):
    """Every command both servers know: the same documentation fields, the
    same since/group/doc flags/deprecated_since and the same argument tree
    (names, types, tokens, flags, key spec indexes, nesting)."""
    mine, ref = command_docs(cmd_pair.redpoll.port), command_docs(cmd_pair.redis.port)
    diffs = []
    for name in sorted(set(mine) & set(ref)):
        a, b = _doc_shape(mine[name]), _doc_shape(ref[name])
        subs_a, subs_b = a.pop("subcommands", {}), b.pop("subcommands", {})
        if a != b:
            diffs.append(f"{name}: ours {a} / redis {b}")
        for s in set(subs_a) & set(subs_b):
            if subs_a[s] != subs_b[s]:
                diffs.append(f"{s}: ours {subs_a[s]} / redis {subs_b[s]}")
    assert not diffs, "\n".join(diffs[:20]) + f"\n({len(diffs)} differences)"
    assert mine["set"]["summary"] and mine["set"]["arguments"][0]["name"] == "key"
