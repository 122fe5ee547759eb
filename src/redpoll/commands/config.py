"""CONFIG GET / SET / RESETSTAT / REWRITE."""

from __future__ import annotations

import fnmatch

from redpoll.commands import table as T
from redpoll.commands.table import subcommand
from redpoll.config import DIRECTIVES, ConfigError
from redpoll.errors import RedisError
from redpoll.protocol.resp import OK, Map

G = "server"


# -- CONFIG ------------------------------------------------------------------------

@subcommand("config", "get", -3, "admin noscript loading stale", group=G, summary="Returns the effective values of configuration parameters.")
def config_get(c, argv):
    cfg = c.server.config
    out = {}
    for pat in argv[2:]:
        p = pat.decode("utf-8", "surrogateescape").lower()
        for name, d in DIRECTIVES.items():
            if name in out:
                continue
            if fnmatch.fnmatchcase(name, p):
                out[name] = cfg.format(name)
        from redpoll.config.directives import ALIASES
        for alias, name in ALIASES.items():
            if alias not in out and fnmatch.fnmatchcase(alias, p):
                out[alias] = cfg.format(name)
    return Map([(k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in out.items()])


@subcommand("config", "set", -4, "admin noscript loading stale", group=G, summary="Sets configuration parameters in-flight.")
def config_set(c, argv):
    if len(argv) % 2:
        from redpoll.errors import wrong_arity
        raise wrong_arity("config|set")
    pairs = []
    for i in range(2, len(argv), 2):
        pairs.append((argv[i].decode("utf-8", "surrogateescape"),
                      [argv[i + 1].decode("utf-8", "surrogateescape")]))
    try:
        c.server.config.set_many(pairs)
    except ConfigError as e:
        raise RedisError(f"ERR {e}")
    return OK


@subcommand("config", "resetstat", 2, "admin noscript loading stale", group=G, summary="Resets the server's statistics.")
def config_resetstat(c, argv):
    srv = c.server
    srv.stats.reset()
    for cmd in T.all_commands():
        cmd.calls = cmd.usec = cmd.rejected_calls = cmd.failed_calls = 0
    return OK


