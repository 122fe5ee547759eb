"""The command table.

Every command is declared once, next to its handler, with the ``@command``
decorator (and ``@subcommand`` for container commands such as CONFIG GET).
The declaration carries what Redis's command table carries: name, arity,
flags, key positions, ACL categories, group and a one-line summary.
Dispatch, ``COMMAND``, ACL categories, read-only replicas, MULTI, and
propagation to replicas and the AOF all read from :data:`TABLE`.

Arity follows Redis: a positive number is an exact argument count (command
name included), a negative one a minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# -- flags (bit masks, tested on the hot path) -----------------------------
WRITE = 1 << 0
READONLY = 1 << 1
DENYOOM = 1 << 2
ADMIN = 1 << 3
PUBSUB = 1 << 4
NOSCRIPT = 1 << 5
BLOCKING = 1 << 6
LOADING = 1 << 7          # allowed while loading the dataset
STALE = 1 << 8            # allowed on a replica with a broken link
SKIP_MONITOR = 1 << 9
SKIP_SLOWLOG = 1 << 10
FAST = 1 << 11
NO_AUTH = 1 << 12         # allowed before AUTH
MAY_REPLICATE = 1 << 13
SENTINEL = 1 << 14        # also available in sentinel mode
ONLY_SENTINEL = 1 << 15
NO_MANDATORY_KEYS = 1 << 16
PROTECTED = 1 << 17
NO_ASYNC_LOADING = 1 << 18
NO_MULTI = 1 << 19
MOVABLE_KEYS = 1 << 20
ALLOW_BUSY = 1 << 21
TOUCHES_ARBITRARY_KEYS = 1 << 22
ASKING = 1 << 23          # RESTORE-ASKING: served for importing slots (cluster)

FLAG_NAMES = {
    "write": WRITE, "readonly": READONLY, "denyoom": DENYOOM, "admin": ADMIN,
    "pubsub": PUBSUB, "noscript": NOSCRIPT, "blocking": BLOCKING,
    "loading": LOADING, "stale": STALE, "skip_monitor": SKIP_MONITOR,
    "skip_slowlog": SKIP_SLOWLOG, "fast": FAST, "no_auth": NO_AUTH,
    "may_replicate": MAY_REPLICATE, "sentinel": SENTINEL,
    "only_sentinel": ONLY_SENTINEL, "no_mandatory_keys": NO_MANDATORY_KEYS,
    "protected": PROTECTED, "no_async_loading": NO_ASYNC_LOADING,
    "no_multi": NO_MULTI, "movablekeys": MOVABLE_KEYS,
    "allow_busy": ALLOW_BUSY, "asking": ASKING,
}
# Order in which COMMAND INFO lists flags (as Redis does).
FLAG_ORDER = ["write", "readonly", "denyoom", "admin", "pubsub", "noscript",
              "blocking", "loading", "stale", "skip_monitor", "skip_slowlog",
              "asking", "fast", "no_auth", "may_replicate", "sentinel", "only_sentinel",
              "no_mandatory_keys", "protected", "no_async_loading", "no_multi",
              "movablekeys", "allow_busy"]

# ACL categories (ACL CAT lists them in this order).
ACL_CATEGORIES = ["keyspace", "read", "write", "set", "sortedset", "list",
                  "hash", "string", "bitmap", "hyperloglog", "geo", "stream",
                  "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
                  "connection", "transaction", "scripting"]

# Command group -> ACL category implied by it.
_GROUP_CATEGORY = {
    "string": "string", "list": "list", "set": "set", "sorted_set": "sortedset",
    "hash": "hash", "bitmap": "bitmap", "hyperloglog": "hyperloglog",
    "geo": "geo", "stream": "stream", "pubsub": "pubsub",
    "generic": "keyspace", "connection": "connection",
    "transactions": "transaction", "scripting": "scripting",
}


@dataclass(eq=False)
class Command:
    """One entry of the command table."""

    name: str                                   # lower case, e.g. "get" or "config|get"
    handler: Callable | None
    arity: int
    flags: int = 0
    first_key: int = 0
    last_key: int = 0
    key_step: int = 0
    acl_categories: tuple[str, ...] = ()
    group: str = "generic"
    summary: str = ""
    since: str = "1.0.0"
    complexity: str = ""
    getkeys: Callable | None = None             # for movable keys: argv -> key indexes
    subcommands: dict[bytes, "Command"] = field(default_factory=dict)
    parent: "Command | None" = None
    # statistics (INFO commandstats)
    calls: int = 0
    usec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    id: int = 0                                 # index used by ACL bitmaps
    # whether a key spec marks some key read-only (modified_keys.py), worked
    # out on first use because the core key specs are attached lazily
    has_read_only_keys: bool | None = None

    @property
    def fullname(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """How Redis names it in errors and stats: ``config|get``."""
        return self.name

    def key_indexes(self, argv) -> list[int]:
        """Positions of the keys in ``argv`` (like Redis's getKeysFromCommand)."""
        if self.getkeys is not None:
            return self.getkeys(argv)
        if self.first_key == 0:
            return []
        last = self.last_key
        if last < 0:
            last = len(argv) + last
        step = self.key_step or 1
        return list(range(self.first_key, min(last, len(argv) - 1) + 1, step))

    def keys(self, argv) -> list[bytes]:
        return [argv[i] for i in self.key_indexes(argv)]

    def has_flag(self, flag: int) -> bool:
        return bool(self.flags & flag)

    def flag_names(self) -> list[str]:
        return [n for n in FLAG_ORDER if self.flags & FLAG_NAMES[n]]


# name (bytes, lower case) -> Command
TABLE: dict[bytes, Command] = {}
# Dispatch shortcut: the lower- and upper-case spellings of every name (most
# clients send one of the two), so the hot path skips bytes.lower().
DISPATCH: dict[bytes, Command] = {}
# The same, for the ``fastpath`` commands only (fastpath_eligible; Client.process_input).
FASTPATH: dict[bytes, Command] = {}


def _parse_flags(flags: str) -> int:
    mask = 0
    for f in flags.split():
        mask |= FLAG_NAMES[f]
    return mask


def _categories(flags: int, group: str, acl: str) -> tuple[str, ...]:
    cats = []
    if flags & WRITE:
        cats.append("write")
    if flags & READONLY and group != "scripting":
        cats.append("read")
    if flags & ADMIN:
        cats += ["admin", "dangerous"]
    if flags & PUBSUB:
        cats.append("pubsub")
    if flags & FAST:
        cats.append("fast")
    if flags & BLOCKING:
        cats.append("blocking")
    if not flags & FAST:
        cats.append("slow")
    g = _GROUP_CATEGORY.get(group)
    if g:
        cats.append(g)
    for c in acl.split():
        c = c.lstrip("@")
        if c not in cats:
            cats.append(c)
    return tuple(c for c in ACL_CATEGORIES if c in cats)


def _make(name, handler, arity, flags, keys, group, acl, summary, since,
          complexity, getkeys) -> Command:
    mask = _parse_flags(flags)
    if getkeys is not None:
        mask |= MOVABLE_KEYS
    first, last, step = keys
    return Command(
        name=name, handler=handler, arity=arity, flags=mask,
        first_key=first, last_key=last, key_step=step,
        acl_categories=_categories(mask, group, acl), group=group,
        summary=summary, since=since, complexity=complexity, getkeys=getkeys)


def command(name: str, arity: int, flags: str = "", keys: tuple = (0, 0, 0),
            group: str = "generic", acl: str = "", summary: str = "",
            since: str = "1.0.0", complexity: str = "", getkeys=None):
    """Declare a command and register its handler.

    The handler is called as ``handler(client, argv)`` and returns the reply
    (see :mod:`redpoll.protocol.resp`) or raises ``RedisError``.
    """
    def deco(fn):
        cmd = _make(name.lower(), fn, arity, flags, keys, group, acl, summary,
                    since, complexity, getkeys)
        key = name.lower().encode()
        old = TABLE.get(key)
        if old is not None and old.subcommands:
            cmd.subcommands = old.subcommands
        TABLE[key] = cmd
        return fn
    return deco


def container(name: str, arity: int = -2, group: str = "server",
              summary: str = "", since: str = "1.0.0", flags: str = ""):
    """Declare a container command (CONFIG, CLIENT, ...) whose work is done by
    subcommands; dispatch picks the subcommand from ``argv[1]``."""
    key = name.lower().encode()
    cmd = TABLE.get(key)
    if cmd is None:
        cmd = _make(name.lower(), None, arity, flags, (0, 0, 0), group, "",
                    summary, since, "", None)
        # Redis gives a pure container only the categories of its flags
        # (CLIENT, SCRIPT, ... are just @slow), not its group's.
        cmd.acl_categories = _categories(cmd.flags, "", "")
        TABLE[key] = cmd
    return cmd


def subcommand(parent: str, name: str, arity: int, flags: str = "",
               keys: tuple = (0, 0, 0), group: str | None = None,
               acl: str = "", summary: str = "", since: str = "1.0.0",
               complexity: str = "", getkeys=None):
    """Declare ``PARENT NAME`` (e.g. ``CONFIG GET``); arity counts the parent."""
    def deco(fn):
        p = container(parent, group=group or "server")
        sub = _make(f"{parent.lower()}|{name.lower()}", fn, arity, flags, keys,
                    group or p.group, acl, summary, since, complexity, getkeys)
        sub.parent = p
        p.subcommands[name.lower().encode()] = sub
        return fn
    return deco


def lookup(argv) -> Command | None:
    """The Command for ``argv`` (resolving subcommands), or None."""
    cmd = TABLE.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        return cmd.subcommands.get(argv[1].lower(), cmd)
    return cmd


def all_commands():
    """Every command and subcommand, in table order."""
    for cmd in TABLE.values():
        yield cmd
        yield from cmd.subcommands.values()


# Commands that may change what the fast path's precondition (Server.plain)
# tests, or that need execute()'s per-command checks: never on the fast path.
_SLOW_FLAGS = ADMIN | NOSCRIPT | BLOCKING | PUBSUB | NO_MULTI


def fastpath_eligible(cmd: Command) -> bool:
    """A data command the fast path may run for a plain client: no
    subcommands, and none of the flags of commands that change a client's or
    the server's state (AUTH, MULTI, SUBSCRIBE, CLIENT, CONFIG, MONITOR,
    REPLICAOF, EVAL... are all ``noscript`` or ``admin``) or that block."""
    return (cmd.handler is not None and not cmd.subcommands
            and not cmd.flags & _SLOW_FLAGS)


def rebuild_dispatch() -> None:
    """DISPATCH and FASTPATH from TABLE (after load_all, rename-command, or
    the sentinel's own table)."""
    DISPATCH.clear()
    for name, cmd in TABLE.items():
        DISPATCH[name] = cmd
        DISPATCH[name.upper()] = cmd
    FASTPATH.clear()
    FASTPATH.update((name, cmd) for name, cmd in DISPATCH.items() if fastpath_eligible(cmd))


def load_all() -> None:
    """Import every command module so their declarations run."""
    import importlib
    import pkgutil

    import redpoll.commands as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name != "table":
            importlib.import_module(f"redpoll.commands.{mod.name}")
    for i, cmd in enumerate(all_commands()):
        cmd.id = i
    rebuild_dispatch()
