"""Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.

The Lua engine itself lives in :mod:`redpoll.scripting`; this module parses
arguments, keeps the per-server :class:`LuaEngine` (``server.lua``) and
installs the BUSY check that refuses commands while a slow script runs.
"""

from __future__ import annotations

from redpoll.commands.help import help_reply
from redpoll.commands.string import parse_int
from redpoll.commands.table import ALLOW_BUSY, command, subcommand
from redpoll.errors import RedisError, subcommand_syntax
from redpoll.protocol.resp import OK, Map, Set, Status

G = "scripting"
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
BUSY = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL "
        "or SHUTDOWN NOSAVE.")
BUSY_FUNCTION = ("BUSY Redis is busy running a script. You can only call FUNCTION KILL "
                 "or SHUTDOWN NOSAVE.")


def engine(server):
    """The server's Lua engine (created on first use)."""
    eng = server.__dict__.get("lua")
    if eng is None:
        from redpoll.scripting.engine import LuaEngine
        eng = LuaEngine(server)
        server.lua = eng
    return eng


def eval_keys(argv) -> list[int]:
    """Key positions of EVAL-like commands: numkeys at argv[2]."""
    try:
        n = int(argv[2])
    except (ValueError, IndexError):
        return []
    if n < 0 or n > len(argv) - 3:
        return []
    return list(range(3, 3 + n))


# numkeys as usually sent: skips parse_int (same result for these strings)
_SMALL_NUMKEYS = {b"%d" % i: i for i in range(16)}


def _numkeys(argv) -> int:
    """EVAL/FCALL's numkeys (argv[2]), with Redis's errors."""
    numkeys = _SMALL_NUMKEYS.get(argv[2])
    if numkeys is None:
        numkeys = parse_int(argv[2])
    if numkeys > len(argv) - 3:
        raise RedisError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise RedisError("ERR Number of keys can't be negative")
    return numkeys


def _eval(c, argv, by_sha: bool, readonly: bool):
    srv = c.server
    if srv.monitors:            # shown before the commands the script runs
        srv.feed_monitors(c, argv)
    ldb = c.__dict__.get("ldb_mode")
    if by_sha:      # these two before numkeys, as Redis
        if len(argv[1]) != 40:
            raise RedisError(NOSCRIPT)
        if ldb is not None:
            raise RedisError("ERR Please use EVAL instead of EVALSHA for debugging")
    numkeys = _SMALL_NUMKEYS.get(argv[2])
    if numkeys is None or numkeys > len(argv) - 3:
        numkeys = _numkeys(argv)        # parsed, or Redis's error
    eng = srv.__dict__.get("lua") or engine(srv)
    if ldb is not None:
        script = eng.scripts[eng.create(argv[1])]
        c.prop_argv = []
        return eng.debug_run(c, script, numkeys, argv[3:], readonly, forked=ldb == "yes")
    if by_sha:
        script = eng.by_sha.get(argv[1])
        if script is None:
            script = eng.by_sha.get(argv[1].lower())
            if script is None:
                raise RedisError(NOSCRIPT)
    else:
        script = eng.scripts[eng.create(argv[1])]
    c.prop_argv = []          # effects replication: the script's writes propagate
    return eng.execute(c, script.sha, script.flags, readonly, eng._run, script.func,
                       numkeys, argv[3:])


_EVAL_FLAGS = "noscript stale skip_monitor no_mandatory_keys"


@command("eval", -3, _EVAL_FLAGS, group=G, getkeys=eval_keys, since="2.6.0",
         summary="Executes a server-side Lua script.")
def eval_(c, argv):
    return _eval(c, argv, False, False)


@command("evalsha", -3, _EVAL_FLAGS, group=G, getkeys=eval_keys, since="2.6.0",
         summary="Executes a server-side Lua script by SHA1 digest.")
def evalsha(c, argv):
    return _eval(c, argv, True, False)


@command("eval_ro", -3, "readonly " + _EVAL_FLAGS, group=G, getkeys=eval_keys,
         since="7.0.0", summary="Executes a read-only server-side Lua script.")
def eval_ro(c, argv):
    return _eval(c, argv, False, True)


@command("evalsha_ro", -3, "readonly " + _EVAL_FLAGS, group=G, getkeys=eval_keys,
         since="7.0.0", summary="Executes a read-only server-side Lua script by SHA1 digest.")
def evalsha_ro(c, argv):
    return _eval(c, argv, True, True)


@subcommand("script", "load", 3, "noscript stale", group=G, since="2.6.0",
            summary="Loads a server-side Lua script to the script cache.")
def script_load(c, argv):
    return engine(c.server).create(argv[2]).encode()


@subcommand("script", "exists", -3, "noscript", group=G, since="2.6.0",
            summary="Determines whether server-side Lua scripts exist in the script cache.")
def script_exists(c, argv):
    scripts = engine(c.server).scripts
    return [1 if a.lower().decode("latin-1") in scripts else 0 for a in argv[2:]]


@subcommand("script", "flush", -2, "noscript", group=G, since="2.6.0",
            summary="Removes all server-side Lua scripts from the script cache.")
def script_flush(c, argv):
    if len(argv) > 3 or (len(argv) == 3 and argv[2].lower() not in (b"sync", b"async")):
        raise RedisError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    engine(c.server).flush()
    return OK


@subcommand("script", "kill", 2, "noscript allow_busy", group=G, since="2.6.0",
            summary="Terminates a server-side Lua script during execution.")
def script_kill(c, argv):
    return _kill(c, True)


def _kill(c, is_eval: bool):
    """scriptKill: SCRIPT KILL stops EVAL scripts, FUNCTION KILL functions."""
    eng = c.server.__dict__.get("lua")
    ctx = eng.ctx if eng is not None else None
    if ctx is None:
        raise RedisError("NOTBUSY No scripts in execution right now.")
    if ctx.caller.flags & _F_MASTER:
        raise RedisError("UNKILLABLE The busy script was sent by a master instance "
                         "in the context of replication and cannot be killed.")
    if ctx.wrote:
        raise RedisError(
            "UNKILLABLE Sorry the script already executed write commands against the "
            "dataset. You can either wait the script termination or kill the server in "
            "a hard way using the SHUTDOWN NOSAVE command.")
    if ctx.is_eval != is_eval:
        # SCRIPT KILL does not stop a function, nor FUNCTION KILL a script
        raise RedisError(BUSY_FUNCTION if is_eval else BUSY)
    eng.kill_requested = True
    return OK


@subcommand("script", "debug", 3, "noscript", group=G, since="3.2.0",
            summary="Sets the debug mode of server-side Lua scripts.")
def script_debug(c, argv):
    """Arm the Lua debugger for this client's next EVAL (see
    redpoll.scripting.debugger): YES forks, SYNC blocks the server."""
    if c.flags & _F_MULTI or c.out:      # clientHasPendingReplies
        raise RedisError("ERR SCRIPT DEBUG must be called outside a pipeline")
    mode = argv[2].lower()
    if mode == b"no":
        c.__dict__.pop("ldb_mode", None)
        return OK
    if mode in (b"yes", b"sync"):
        c.ldb_mode = mode.decode()
        return OK
    raise RedisError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


_HELP = [
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
]


@subcommand("script", "help", 2, "loading stale", group=G, since="5.0.0",
            summary="Returns helpful text about the different subcommands.")
def script_help(c, argv):
    return help_reply(argv, _HELP)


from redpoll.client import F_MASTER as _F_MASTER  # noqa: E402
from redpoll.client import F_MULTI as _F_MULTI  # noqa: E402


def busy_check(c, cmd, argv):
    """While a script runs past lua-time-limit, only allow_busy commands run."""
    srv = c.server
    if not getattr(srv, "script_running", False):
        return None
    ctx = srv.lua.ctx
    busy = BUSY if ctx is None or ctx.is_eval else BUSY_FUNCTION
    if cmd.name == "shutdown":
        # only SHUTDOWN NOSAVE may interrupt a busy script
        if any(a.lower() == b"nosave" for a in argv[1:]):
            return None
        return RedisError(busy)
    if not cmd.flags & ALLOW_BUSY:
        return RedisError(busy)
    return None


def _info_lines(srv) -> list[str]:
    eng = srv.__dict__.get("lua")
    mem = eng.memory() if eng is not None else 37888
    n = len(eng.scripts) if eng is not None else 0
    return [f"used_memory_lua:{mem}", f"number_of_cached_scripts:{n}"]


def install(server) -> None:
    from redpoll.scripting import functions
    server.script_running = False
    server.info_sections.setdefault("scripting", lambda: _info_lines(server))
    functions.install(server)


# -- functions: FCALL, FCALL_RO, FUNCTION ... --------------------------------------

def _registry(server):
    from redpoll.scripting.functions import registry
    return registry(server)


def _fcall(c, argv, readonly: bool):
    srv = c.server
    if srv.monitors:
        srv.feed_monitors(c, argv)
    reg = _registry(srv)
    fn = reg.functions.get(argv[1].decode("utf-8", "replace"))
    if fn is None:
        raise RedisError("ERR Function not found")
    numkeys = parse_int(argv[2], "ERR Bad number of keys provided")
    if numkeys > len(argv) - 3:
        raise RedisError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise RedisError("ERR Number of keys can't be negative")
    if readonly and "no-writes" not in fn.flags:
        raise RedisError("ERR Can not execute a script with write flag using *_ro command.")
    c.prop_argv = []          # effects replication
    return engine(srv).run_function(c, fn, numkeys, argv[3:], readonly)


@command("fcall", -3, _EVAL_FLAGS, group=G, getkeys=eval_keys, since="7.0.0",
         summary="Invokes a function.")
def fcall(c, argv):
    return _fcall(c, argv, False)


@command("fcall_ro", -3, "readonly " + _EVAL_FLAGS, group=G, getkeys=eval_keys,
         since="7.0.0", summary="Invokes a read-only function.")
def fcall_ro(c, argv):
    return _fcall(c, argv, True)


@subcommand("function", "load", -3, "write denyoom noscript", group=G, since="7.0.0",
            summary="Creates a library.")
def function_load(c, argv):
    replace = False
    i = 2
    while i < len(argv) - 1:
        if argv[i].lower() == b"replace":
            replace = True
        else:
            raise RedisError(f"ERR Unknown option given: {argv[i].decode('utf-8', 'replace')}")
        i += 1
    name = _registry(c.server).create(argv[-1], replace)
    c.server.dirty += 1
    return name


@subcommand("function", "delete", 3, "write noscript", group=G, since="7.0.0",
            summary="Deletes a library and its functions.")
def function_delete(c, argv):
    _registry(c.server).delete(argv[2])
    c.server.dirty += 1
    return OK


@subcommand("function", "flush", -2, "write noscript", group=G, since="7.0.0",
            summary="Deletes all libraries and functions.")
def function_flush(c, argv):
    if len(argv) > 3:
        raise subcommand_syntax(argv)
    if len(argv) == 3 and argv[2].lower() not in (b"sync", b"async"):
        raise RedisError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    _registry(c.server).flush()
    c.server.dirty += 1
    return OK


@subcommand("function", "list", -2, "noscript", group=G, since="7.0.0",
            summary="Returns information about all libraries.")
def function_list(c, argv):
    from redpoll.glob import match as stringmatch
    withcode = False
    pattern = None
    i = 2
    while i < len(argv):
        o = argv[i].lower()
        if o == b"withcode" and not withcode:
            withcode = True
        elif o == b"libraryname" and pattern is None:
            if i + 1 >= len(argv):
                raise RedisError("ERR library name argument was not given")
            pattern = argv[i + 1]
            i += 1
        else:
            raise RedisError(f"ERR Unknown argument {argv[i].decode('utf-8', 'replace')}")
        i += 1
    out = []
    for name, lib in _registry(c.server).libraries.items():
        if pattern is not None and not stringmatch(pattern, name):
            continue
        funcs = [Map([(b"name", fn.name.encode()),
                      (b"description", fn.description),
                      (b"flags", Set([Status(f) for f in _FLAG_ORDER if f in fn.flags]))])
                 for fn in lib.functions.values()]
        item = [(b"library_name", name), (b"engine", b"LUA"), (b"functions", funcs)]
        if withcode:
            item.append((b"library_code", lib.code))
        out.append(Map(item))
    return out


_FLAG_ORDER = ["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]


@subcommand("function", "stats", 2, "noscript allow_busy", group=G, since="7.0.0",
            summary="Returns information about a function during execution.")
def function_stats(c, argv):
    import time as _time
    srv = c.server
    reg = _registry(srv)
    eng = srv.__dict__.get("lua")
    running = None
    ctx = eng.ctx if eng is not None else None
    if ctx is not None and not ctx.is_eval:
        running = Map([(b"name", ctx.sha.encode()), (b"command", list(ctx.caller.argv or [])),
                       (b"duration_ms", int((_time.monotonic() - ctx.start) * 1000))])
    engines = Map([(b"LUA", Map([(b"libraries_count", len(reg.libraries)),
                                 (b"functions_count", len(reg.functions))]))])
    return Map([(b"running_script", running), (b"engines", engines)])


@subcommand("function", "kill", 2, "noscript allow_busy", group=G, since="7.0.0",
            summary="Terminates a function during execution.")
def function_kill(c, argv):
    return _kill(c, False)


@subcommand("function", "dump", 2, "noscript", group=G, since="7.0.0",
            summary="Dumps all libraries into a serialized binary payload.")
def function_dump(c, argv):
    from redpoll.persistence import rdb
    from redpoll.persistence.crc64 import crc64
    body = b"".join(b"\xf5" + rdb.enc_str_lzf(lib.code)
                    for lib in _registry(c.server).libraries.values())
    body += rdb.RDB_VERSION.to_bytes(2, "little")
    return body + crc64(body).to_bytes(8, "little")


@subcommand("function", "restore", -3, "write denyoom noscript", group=G, since="7.0.0",
            summary="Restores all libraries from a payload.")
def function_restore(c, argv):
    from redpoll.persistence import rdb
    policy = b"append"
    if len(argv) > 4:
        raise subcommand_syntax(argv)
    if len(argv) == 4:
        policy = argv[3].lower()
        if policy not in (b"flush", b"append", b"replace"):
            raise RedisError("ERR Wrong restore policy given, value should be either "
                             "FLUSH, APPEND or REPLACE.")
    data = argv[2]
    if not rdb.verify_payload(data, c.server.config["rdbchecksum"]):
        raise RedisError("ERR DUMP payload version or checksum are wrong")
    codes = []
    r = rdb._Reader(data, 0, len(data) - 10)
    try:
        while r.pos < r.end:
            op = r.byte()
            if op != rdb.OP_FUNCTION2:
                raise RedisError("ERR given type is not a function")
            codes.append(r.string())
    except rdb.RDBError:
        raise RedisError("ERR payload version or checksum are wrong")
    reg = _registry(c.server)
    snap = reg.snapshot()
    try:
        if policy == b"flush":
            reg.flush()
        for code in codes:
            reg.create(code, replace=policy == b"replace", restoring=True)
    except RedisError:
        reg.restore(snap)
        raise
    c.server.dirty += 1
    return OK


_FUNCTION_HELP = [
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored "
    "using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a "
    "restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
    "replace the old",
    "      libraries with the new libraries (notice that even on this option there is a "
    "chance of failure",
    "      in case of functions name collision with another library).",
]


@subcommand("function", "help", 2, "loading stale", group=G, since="7.0.0",
            summary="Returns helpful text about the different subcommands.")
def function_help(c, argv):
    return help_reply(argv, _FUNCTION_HELP)


# -- COMMAND INFO key specs and tips ---------------------------------------------

def _specs():
    from redpoll.commands.keyspecs import set_specs, spec
    rw = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"
    ro = "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS"
    set_specs("eval", spec("RW access update", 2, keynum=(0, 1, 1), notes=rw))
    set_specs("evalsha", spec("RW access update", 2, keynum=(0, 1, 1)))
    set_specs("eval_ro", spec("RO access", 2, keynum=(0, 1, 1), notes=ro))
    set_specs("evalsha_ro", spec("RO access", 2, keynum=(0, 1, 1)))
    nodes = ("request_policy:all_nodes", "response_policy:all_succeeded")
    set_specs("script|load", tips=nodes)
    set_specs("script|flush", tips=nodes)
    set_specs("script|kill", tips=("request_policy:all_shards", "response_policy:one_succeeded"))
    set_specs("script|exists", tips=("request_policy:all_shards",
                                     "response_policy:agg_logical_and"))
    fnotes = "We cannot tell how the keys will be used so we assume the worst, RW and UPDATE"
    set_specs("fcall", spec("RW access update", 2, keynum=(0, 1, 1), notes=fnotes))
    set_specs("fcall_ro", spec("RO access", 2, keynum=(0, 1, 1), notes=(
        "We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")))
    shards = ("request_policy:all_shards", "response_policy:all_succeeded")
    set_specs("function|load", tips=("request_policy:all_shards",
                                     "response_policy:all_succeeded"))
    set_specs("function|delete", tips=shards)
    set_specs("function|flush", tips=shards)
    set_specs("function|restore", tips=shards)
    set_specs("function|list", tips=("nondeterministic_output_order",))
    set_specs("function|stats", tips=("nondeterministic_output", "request_policy:all_shards",
                                      "response_policy:special"))
    set_specs("function|kill", tips=("request_policy:all_shards",
                                     "response_policy:one_succeeded"))


_specs()
