"""COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS,
GETKEYSANDFLAGS, HELP), generated from the command table in Redis 7.0's
reply formats.

Key specifications are derived from each command's (first, last, step) key
positions: an ``index`` begin-search and a ``range`` find-keys spec, with the
access flags Redis uses most for that kind of command (``RO access`` for
read-only commands, ``RW update`` for writes). Commands with movable keys
get an ``unknown`` spec, as modules' commands do in Redis.
"""

from __future__ import annotations

from redpoll import glob
from redpoll.commands import table as T
from redpoll.commands.help import help_reply
from redpoll.commands.argdocs import DOC_GROUP, SINCE, arguments, doc_flags
from redpoll.commands.keyspecs import apply_core
from redpoll.commands.table import command, subcommand
from redpoll.errors import SYNTAX, RedisError
from redpoll.protocol.resp import Map, Set, Status

G = "server"

_HELP = [
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
]


# Key-spec flags of common commands whose keys are not "RO access" (reads)
# or "RW update" (writes), the defaults for the rest.
_KEY_FLAGS = {
    "set": "OW update", "mset": "OW update", "setex": "OW update",
    "psetex": "OW update", "setnx": "OW insert", "msetnx": "OW insert",
    "del": "RM delete", "unlink": "RM delete", "getdel": "RW access delete",
    "incr": "RW access update", "decr": "RW access update",
    "incrby": "RW access update", "decrby": "RW access update",
    "incrbyfloat": "RW access update", "getset": "RW access update",
    "hincrby": "RW access update", "hincrbyfloat": "RW access update",
    "zincrby": "RW access update", "append": "RW insert", "lpush": "RW insert",
    "rpush": "RW insert", "lpushx": "RW insert", "rpushx": "RW insert",
    "sadd": "RW insert", "lpop": "RW access delete", "rpop": "RW access delete",
    "spop": "RW access delete", "srem": "RW delete", "hdel": "RW delete",
    "zrem": "RW delete", "ltrim": "RW delete", "exists": "RO", "type": "RO",
    "strlen": "RO", "touch": "RO", "object|encoding": "RO",
}


def key_flags(cmd) -> list[str]:
    known = _KEY_FLAGS.get(cmd.name)
    if known is not None:
        return known.split()
    if cmd.flags & T.WRITE:
        return ["RW", "update"]
    return ["RO", "access"]


def key_specs(cmd) -> list:
    specs = getattr(cmd, "key_specs", None)
    if specs is not None:
        return specs
    if cmd.flags & T.MOVABLE_KEYS and not cmd.first_key:
        return [Map([(b"flags", Set([Status(f) for f in key_flags(cmd)])),
                     (b"begin_search", Map([(b"type", b"unknown"), (b"spec", Map([]))])),
                     (b"find_keys", Map([(b"type", b"unknown"), (b"spec", Map([]))]))])]
    if not cmd.first_key:
        return []
    last = cmd.last_key
    lastkey = last - cmd.first_key if last >= 0 else last
    return [Map([
        (b"flags", Set([Status(f) for f in key_flags(cmd)])),
        (b"begin_search", Map([(b"type", b"index"),
                               (b"spec", Map([(b"index", cmd.first_key)]))])),
        (b"find_keys", Map([(b"type", b"range"), (b"spec", Map([
            (b"lastkey", lastkey), (b"keystep", cmd.key_step or 1), (b"limit", 0)]))])),
    ])]


# Flags Redis keeps internal (not listed by COMMAND INFO outside sentinel mode).
_HIDDEN_FLAGS = {"sentinel", "only_sentinel", "protected"}


def command_info(cmd) -> list:
    apply_core()
    return [cmd.name.encode(), cmd.arity,
            Set([Status(f) for f in cmd.flag_names() if f not in _HIDDEN_FLAGS]),
            cmd.first_key, cmd.last_key, cmd.key_step,
            Set([Status(f"@{c}") for c in cmd.acl_categories]),
            [t.encode() for t in getattr(cmd, "tips", ())],
            key_specs(cmd),
            [command_info(s) for s in cmd.subcommands.values()]]


def _doc(cmd) -> Map:
    doc = Map([(b"summary", cmd.summary.encode()),
               (b"since", SINCE.get(cmd.name, cmd.since).encode()),
               (b"group", DOC_GROUP.get(cmd.name, cmd.group).replace("_", "-").encode())])
    if cmd.complexity:
        doc.append((b"complexity", cmd.complexity.encode()))
    doc.extend(doc_flags(cmd.name))
    args = arguments(cmd.name)
    if args is not None:
        doc.append((b"arguments", args))
    if cmd.subcommands:
        doc.append((b"subcommands", Map(
            [(s.name.encode(), _doc(s)) for s in cmd.subcommands.values()])))
    return doc


def find(name: bytes):
    """A command or ``container|sub`` by name, or None."""
    parts = name.lower().split(b"|", 1)
    cmd = T.TABLE.get(parts[0])
    if cmd is not None and len(parts) == 2:
        return cmd.subcommands.get(parts[1])
    return cmd


@command("command", -1, "loading stale sentinel", group=G, acl="connection",
         summary="Returns detailed information about all commands.", since="2.8.13")
def command_(c, argv):
    return [command_info(cmd) for cmd in T.TABLE.values()]


@subcommand("command", "count", 2, "loading stale sentinel", group=G, acl="connection",
            summary="Returns a count of commands.", since="2.8.13")
def command_count(c, argv):
    return len(T.TABLE)


@subcommand("command", "info", -2, "loading stale sentinel", group=G, acl="connection",
            summary="Returns information about one, multiple or all commands.",
            since="2.8.13")
def command_info_cmd(c, argv):
    if len(argv) == 2:
        return [command_info(cmd) for cmd in T.TABLE.values()]
    out = []
    for name in argv[2:]:
        cmd = find(name)
        out.append(command_info(cmd) if cmd is not None else None)
    return out


@subcommand("command", "docs", -2, "loading stale sentinel", group=G, acl="connection",
            summary="Returns documentary information about one, multiple or all commands.",
            since="7.0.0")
def command_docs(c, argv):
    if len(argv) == 2:
        return Map([(cmd.name.encode(), _doc(cmd)) for cmd in T.TABLE.values()])
    out = []
    for n in argv[2:]:
        cmd = find(n)
        if cmd is not None:
            out.append((cmd.name.encode(), _doc(cmd)))
    return Map(out)


@subcommand("command", "list", -2, "loading stale sentinel", group=G, acl="connection",
            summary="Returns a list of command names.", since="7.0.0")
def command_list(c, argv):
    names = [cmd.name for cmd in T.all_commands()]
    if len(argv) == 2:
        return [n.encode() for n in names]
    if len(argv) != 5 or argv[2].lower() != b"filterby":
        raise RedisError(SYNTAX)
    kind, arg = argv[3].lower(), argv[4]
    if kind == b"module":
        return []       # no modules
    if kind == b"aclcat":
        cat = arg.decode("utf-8", "replace").lower()
        return [cmd.name.encode() for cmd in T.all_commands() if cat in cmd.acl_categories]
    if kind == b"pattern":
        match = glob.compile(arg, nocase=True)
        return [n.encode() for n in names if match(n.encode())]
    raise RedisError(SYNTAX)


def _keys_for(argv) -> tuple:
    cmd = T.TABLE.get(argv[0].lower())
    if cmd is None:
        raise RedisError("ERR Invalid command specified")
    if cmd.subcommands and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower(), cmd)
    n = len(argv)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise RedisError("ERR Invalid number of arguments specified for command")
    try:
        idx = cmd.key_indexes(argv)
    except Exception:
        idx = []
    if not idx:
        if cmd.first_key or cmd.getkeys is not None:
            raise RedisError("ERR Invalid arguments specified for command")
        raise RedisError("ERR The command has no key arguments")
    return cmd, idx


@subcommand("command", "getkeys", -4, "loading stale sentinel", group=G, acl="connection",
            summary="Extracts the key names from an arbitrary command.", since="2.8.13")
def command_getkeys(c, argv):
    cmd, idx = _keys_for(argv[2:])
    return [argv[2 + i] for i in idx]


def _spec_positions(spec: Map, argv) -> list[int] | None:
    """The argument positions one key spec finds in ``argv`` (None when its
    search is ``unknown``)."""
    d = dict(spec)
    begin, find = dict(d[b"begin_search"]), dict(d[b"find_keys"])
    bs, fs = dict(begin[b"spec"]), dict(find[b"spec"])
    n = len(argv)
    if begin[b"type"] == b"index":
        start = bs[b"index"]
    elif begin[b"type"] == b"keyword":
        word, frm = bs[b"keyword"].lower(), bs[b"startfrom"]
        rng = range(frm, n) if frm > 0 else range(n + frm, 0, -1)
        start = next((i + 1 for i in rng if argv[i].lower() == word), None)
        if start is None:
            return []
    else:
        return None
    if find[b"type"] == b"range":
        last, step, limit = fs[b"lastkey"], fs[b"keystep"], fs[b"limit"]
        if last >= 0:
            end = start + last
        elif limit > 1:
            end = start + (n - start) // limit - 1
        else:
            end = n + last
        return list(range(start, min(end, n - 1) + 1, step or 1))
    if find[b"type"] == b"keynum":
        try:
            count = int(argv[start + fs[b"keynumidx"]])
        except (ValueError, IndexError):
            return []
        first = start + fs[b"firstkey"]
        return list(range(first, min(first + count * fs[b"keystep"], n), fs[b"keystep"]))
    return None


def _variable_flags(cmd, argv) -> list[str] | None:
    """Key flags of the commands whose spec says ``variable_flags``: they
    depend on the arguments (Redis's getkeys procs)."""
    if cmd.name == "set":
        get = any(a.lower() == b"get" for a in argv[3:])
        return ["RW", "access", "update"] if get else ["OW", "update"]
    if cmd.name == "bitfield":
        ops = {a.lower() for a in argv[2:]}
        write = ops & {b"set", b"incrby"}
        return ["RW", "access", "update"] if write else ["RO", "access"]
    return None


def key_flags_by_position(cmd, argv, idx: list[int]) -> dict[int, list[str]]:
    """Each key position's access flags, from the command's key specs (the
    first spec that finds a position gives its flags; positions no spec
    finds take the flags of the last ``unknown`` spec)."""
    specs = key_specs(cmd)
    if not specs:
        flags = key_flags(cmd)
        return {i: flags for i in idx}
    found: dict[int, list[str]] = {}
    fallback = None
    for spec in specs:
        flags = [str(f) for f in dict(spec)[b"flags"]]
        if "variable_flags" in flags:
            flags = _variable_flags(cmd, argv) or [f for f in flags if f != "variable_flags"]
        if "incomplete" in flags:       # Redis then asks the command's getkeys proc
            flags = [f for f in flags if f != "incomplete"]
        pos = _spec_positions(spec, argv)
        if pos is None:
            fallback = flags
            continue
        for i in pos:
            found.setdefault(i, flags)
    return {i: found.get(i, fallback or key_flags(cmd)) for i in idx}


@subcommand("command", "getkeysandflags", -4, "loading stale sentinel", group=G,
            acl="connection", summary="Extracts the key names and access flags for an "
            "arbitrary command.", since="7.0.0")
def command_getkeysandflags(c, argv):
    cmd, idx = _keys_for(argv[2:])
    apply_core()
    flags = key_flags_by_position(cmd, argv[2:], idx)
    return [[argv[2 + i], Set([Status(f) for f in flags[i]])] for i in idx]


@subcommand("command", "help", 2, "loading stale sentinel", group=G, acl="connection",
            summary="Returns helpful text about the different subcommands.", since="5.0.0")
def command_help(c, argv):
    return help_reply(argv, _HELP)

