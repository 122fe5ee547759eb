"""Key specifications and tips for COMMAND INFO / COMMAND DOCS, for commands
whose specs are not the default ones ``commands/command.py`` derives from the
first/last/step key positions and the write flag.

    set_specs("xread", spec("RO access", keyword=b"STREAMS", lastkey=-1, limit=2))

attaches the specs (and tips) to the command table entries.
"""

from __future__ import annotations

from redpoll.commands import table as T
from redpoll.protocol.resp import Map, Set, Status


def spec(flags: str, index: int | None = None, keyword: bytes | None = None,
         startfrom: int = 1, lastkey: int = 0, keystep: int = 1, limit: int = 0,
         keynum: tuple | None = None, notes: str | None = None) -> Map:
    """One key specification in Redis 7.0's format.

    ``index`` or ``keyword``/``startfrom`` says where the search begins;
    ``keynum=(keynumidx, firstkey, keystep)`` or ``lastkey/keystep/limit``
    how the keys are found."""
    items = []
    if notes:
        items.append((b"notes", notes.encode()))
    items.append((b"flags", Set([Status(f) for f in flags.split()])))
    if keyword is not None:
        begin = Map([(b"type", b"keyword"),
                     (b"spec", Map([(b"keyword", keyword), (b"startfrom", startfrom)]))])
    else:
        begin = Map([(b"type", b"index"), (b"spec", Map([(b"index", index)]))])
    items.append((b"begin_search", begin))
    if keynum is not None:
        find = Map([(b"type", b"keynum"), (b"spec", Map([
            (b"keynumidx", keynum[0]), (b"firstkey", keynum[1]), (b"keystep", keynum[2])]))])
    else:
        find = Map([(b"type", b"range"), (b"spec", Map([
            (b"lastkey", lastkey), (b"keystep", keystep), (b"limit", limit)]))])
    items.append((b"find_keys", find))
    return Map(items)


def set_specs(name: str, *specs: Map, tips: tuple = ()) -> None:
    """Attach key specs (none given: keep the default) and tips to a command
    (``"xgroup|create"`` names a subcommand)."""
    parent, _, sub = name.partition("|")
    cmd = T.TABLE[parent.encode()]
    if sub:
        cmd = cmd.subcommands[sub.encode()]
    if specs:
        cmd.key_specs = list(specs)
    if tips:
        cmd.tips = tuple(tips)
