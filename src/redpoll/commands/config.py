"""CONFIG GET / SET / RESETSTAT / REWRITE / HELP."""

from __future__ import annotations

from redpoll.commands import table as T
from redpoll.commands.help import help_reply
from redpoll.commands.table import subcommand
from redpoll.config import DIRECTIVES, ConfigError
from redpoll.config.directives import ALIASES, FILE_ONLY
from redpoll.errors import RedisError, wrong_arity
from redpoll import glob
from redpoll.protocol.resp import OK, Map

G = "server"

_HELP = [
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
]


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@subcommand("config", "get", -3, "admin noscript loading stale", group=G,
            summary="Returns the effective values of configuration parameters.",
            since="2.0.0")
def config_get(c, argv):
    cfg = c.server.config
    out: dict[str, str] = {}
    names = [n for n in DIRECTIVES if n not in FILE_ONLY]
    for pat in argv[2:]:
        p = pat.lower()
        match = glob.compile(p, nocase=True)
        if not any(ch in p for ch in b"*?[\\"):
            # an exact name (or alias): no need to scan the table
            name = _decode(p)
            canon = ALIASES.get(name, name)
            if canon in DIRECTIVES and canon not in FILE_ONLY and name not in out:
                out[_decode(pat)] = cfg.format(canon)   # Redis echoes the name as sent
            continue
        for name in names:
            if name not in out and match(name.encode()):
                out[name] = cfg.format(name)
        for alias, name in ALIASES.items():
            if alias not in out and match(alias.encode()):
                out[alias] = cfg.format(name)
    return Map([(k.encode(), v.encode("utf-8", "surrogateescape")) for k, v in out.items()])


@subcommand("config", "set", -4, "admin noscript loading stale", group=G,
            summary="Sets configuration parameters in-flight.", since="2.0.0")
def config_set(c, argv):
    if len(argv) % 2:
        raise wrong_arity("config|set")
    pairs = [(_decode(argv[i]), [_decode(argv[i + 1])]) for i in range(2, len(argv), 2)]
    try:
        c.server.config.set_many(pairs)
    except ConfigError as e:
        raise RedisError(f"ERR {e}")
    return OK


@subcommand("config", "resetstat", 2, "admin noscript loading stale", group=G,
            summary="Resets the server's statistics.", since="2.0.0")
def config_resetstat(c, argv):
    srv = c.server
    srv.stats.reset()
    for cmd in T.all_commands():
        cmd.calls = cmd.usec = cmd.rejected_calls = cmd.failed_calls = 0
    for fn in getattr(srv, "resetstat_hooks", ()):
        fn()
    return OK


@subcommand("config", "rewrite", 2, "admin noscript loading stale", group=G,
            summary="Persists the effective configuration to file.", since="2.8.0")
def config_rewrite(c, argv):
    from redpoll.config.rewrite import rewrite_file
    srv = c.server
    try:
        rewrite_file(srv.config, _user_lines(srv))
    except ConfigError as e:
        if srv.config.file:
            srv.log.warning(f"CONFIG REWRITE failed: {e}")
        raise RedisError(f"ERR {e}")
    srv.log.notice("CONFIG REWRITE executed with success.")
    return OK


def _user_lines(srv) -> list[str] | None:
    """``user`` lines for CONFIG REWRITE: every ACL user, sorted by name, as
    Redis writes them when no aclfile is used (none when one is)."""
    if srv.config["aclfile"]:
        return []
    users = getattr(srv.acl, "users", None)
    if not isinstance(users, dict):
        return None         # fall back to the rewrite module's own lines
    from redpoll.commands.acl import user_lines
    return user_lines(users)


@subcommand("config", "help", 2, "loading stale", group=G,
            summary="Returns helpful text about the different subcommands.",
            since="5.0.0")
def config_help(c, argv):
    return help_reply(argv, _HELP)
