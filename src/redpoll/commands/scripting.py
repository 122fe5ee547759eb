"""Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT.

The Lua engine itself lives in :mod:`redpoll.scripting`; this module parses
arguments, keeps the per-server :class:`LuaEngine` (``server.lua``) and
installs the BUSY check that refuses commands while a slow script runs.
"""

from __future__ import annotations

from redpoll.commands.string import parse_int
from redpoll.commands.table import ALLOW_BUSY, command, subcommand
from redpoll.errors import RedisError
from redpoll.protocol.resp import OK, Status

G = "scripting"
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
BUSY = ("BUSY Redis is busy running a script. You can only call SCRIPT KILL "
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


def _eval(c, argv, by_sha: bool, readonly: bool):
    srv = c.server
    if srv.monitors:            # shown before the commands the script runs
        srv.feed_monitors(c, argv)
    numkeys = parse_int(argv[2])
    if numkeys > len(argv) - 3:
        raise RedisError("ERR Number of keys can't be greater than number of args")
    if numkeys < 0:
        raise RedisError("ERR Number of keys can't be negative")
    eng = engine(c.server)
    if by_sha:
        sha = argv[1].lower().decode("latin-1")
        if len(sha) != 40 or sha not in eng.scripts:
            raise RedisError(NOSCRIPT)
    else:
        sha = eng.create(argv[1])
    keys = argv[3:3 + numkeys]
    args = argv[3 + numkeys:]
    c.prop_argv = []          # effects replication: the script's writes propagate
    return eng.run(c, sha, keys, args, readonly)


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
    eng.kill_requested = True
    return OK


@subcommand("script", "debug", 3, "noscript", group=G, since="3.2.0",
            summary="Sets the debug mode of server-side Lua scripts.")
def script_debug(c, argv):
    mode = argv[2].lower()
    if mode == b"no":
        return OK
    if mode in (b"yes", b"sync"):
        raise RedisError("ERR redpoll does not support the Lua debugger (LDB)")
    raise RedisError("ERR Use SCRIPT DEBUG YES/SYNC/NO")


_HELP = [
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
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
    "HELP",
    "    Prints this help.",
]


@subcommand("script", "help", 2, "loading stale", group=G, since="5.0.0",
            summary="Returns helpful text about the different subcommands.")
def script_help(c, argv):
    return [Status(s) for s in _HELP]


from redpoll.client import F_MASTER as _F_MASTER  # noqa: E402


def busy_check(c, cmd, argv):
    """While a script runs past lua-time-limit, only allow_busy commands run."""
    srv = c.server
    if not getattr(srv, "script_running", False):
        return None
    if cmd.name == "shutdown":
        # only SHUTDOWN NOSAVE may interrupt a busy script
        if any(a.lower() == b"nosave" for a in argv[1:]):
            return None
        return RedisError(BUSY)
    if not cmd.flags & ALLOW_BUSY:
        return RedisError(BUSY)
    return None


def _info_lines(srv) -> list[str]:
    eng = srv.__dict__.get("lua")
    mem = eng.memory() if eng is not None else 37888
    n = len(eng.scripts) if eng is not None else 0
    return [f"used_memory_lua:{mem}", f"number_of_cached_scripts:{n}"]


def install(server) -> None:
    server.script_running = False
    server.info_sections.setdefault("scripting", lambda: _info_lines(server))


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


_specs()
