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


# -- the core commands' key specs and tips ----------------------------------------
# Written as "FLAGS@BEGIN:FIND" per spec, specs separated by " | ":
# BEGIN is an index or "KEYWORD,startfrom"; FIND is "lastkey[,keystep,limit]"
# (a range) or "#keynumidx,firstkey,keystep" (a key count); "?" is unknown.
# Commands not listed get the default spec command.py derives from their
# first/last/step key positions. Rooms that call set_specs() win over this.
CORE_SPECS = {
    "bitfield": "RW access update variable_flags@1:0 N",
    "bitop": "OW update@2:0 | RO access@3:-1",
    "blmove": "RW access delete@1:0 | RW insert@2:0",
    "blmpop": "RW access delete@2:#0,1,1",
    "blpop": "RW access delete@1:-2",
    "brpop": "RW access delete@1:-2",
    "brpoplpush": "RW access delete@1:0 | RW insert@2:0",
    "bzmpop": "RW access delete@2:#0,1,1",
    "bzpopmax": "RW access delete@1:-2",
    "bzpopmin": "RW access delete@1:-2",
    "copy": "RO access@1:0 | OW update@2:0",
    "getex": "RW access update@1:0 N",
    "hexists": "RO@1:0",
    "hlen": "RO@1:0",
    "hsetnx": "RW insert@1:0",
    "hstrlen": "RO@1:0",
    "linsert": "RW insert@1:0",
    "llen": "RO@1:0",
    "lmove": "RW access delete@1:0 | RW insert@2:0",
    "lmpop": "RW access delete@1:#0,1,1",
    "lrem": "RW delete@1:0",
    "memory|usage": "RO@2:0",
    "migrate": "RW access delete@3:0 | RW access delete incomplete@KEYS,-2:-1",
    "move": "RW access update@1:0",
    "object|freq": "RO@2:0",
    "object|idletime": "RO@2:0",
    "object|refcount": "RO@2:0",
    "rename": "RW access delete@1:0 | OW update@2:0",
    "renamenx": "RW access delete@1:0 | OW insert@2:0",
    "restore": "OW update@1:0",
    "restore-asking": "OW update@1:0",
    "rpoplpush": "RW access delete@1:0 | RW insert@2:0",
    "scard": "RO@1:0",
    "sdiffstore": "OW update@1:0 | RO access@2:-1",
    "set": "RW access update variable_flags@1:0 N",
    "setbit": "RW access update@1:0",
    "sintercard": "RO access@1:#0,1,1",
    "sinterstore": "RW update@1:0 | RO access@2:-1",
    "sismember": "RO@1:0",
    "smove": "RW access delete@1:0 | RW insert@2:0",
    "sort": "RO access@1:0 | RO access@?:? N | OW update@?:? N",
    "sort_ro": "RO access@1:0 | RO access@?:? N",
    "spublish": "not_key@1:0",
    "ssubscribe": "not_key@1:-1",
    "sunionstore": "OW update@1:0 | RO access@2:-1",
    "sunsubscribe": "not_key@1:-1",
    "watch": "RO@1:-1",
    "zcard": "RO@1:0",
    "zdiff": "RO access@1:#0,1,1",
    "zdiffstore": "OW update@1:0 | RO access@2:#0,1,1",
    "zinter": "RO access@1:#0,1,1",
    "zintercard": "RO access@1:#0,1,1",
    "zinterstore": "OW update@1:0 | RO access@2:#0,1,1",
    "zmpop": "RW access delete@1:#0,1,1",
    "zpopmax": "RW access delete@1:0",
    "zpopmin": "RW access delete@1:0",
    "zrangestore": "OW update@1:0 | RO access@2:0",
    "zremrangebylex": "RW delete@1:0",
    "zremrangebyrank": "RW delete@1:0",
    "zremrangebyscore": "RW delete@1:0",
    "zunion": "RO access@1:#0,1,1",
    "zunionstore": "OW update@1:0 | RO access@2:#0,1,1",
}

# Notes for the specs that need one (our own wording): name -> {spec index: text}.
NOTES = {
    "bitfield": {0: "GET subcommands read the key, SET and INCRBY change it"},
    "getex": {0: "RW and update because the TTL may change"},
    "set": {0: "RW and access because of the optional GET argument"},
    "sort": {1: "the keys named by the BY/GET patterns cannot be found in advance",
             2: "the STORE destination cannot be found in advance"},
    "sort_ro": {1: "the keys named by the BY/GET patterns cannot be found in advance"},
}

# Command tips (ND: nondeterministic_output, NDO: nondeterministic_output_order).
CORE_TIPS = {
    "client|info": "ND",
    "client|list": "ND",
    "cluster|bumpepoch": "ND",
    "cluster|count-failure-reports": "ND",
    "cluster|getkeysinslot": "ND",
    "cluster|info": "ND",
    "cluster|links": "ND",
    "cluster|nodes": "ND",
    "cluster|replicas": "ND",
    "cluster|shards": "ND",
    "cluster|slaves": "ND",
    "cluster|slots": "ND",
    "command": "NDO",
    "command|docs": "NDO",
    "command|info": "NDO",
    "command|list": "NDO",
    "config|set": "request_policy:all_nodes response_policy:all_succeeded",
    "dbsize": "request_policy:all_shards response_policy:agg_sum",
    "del": "request_policy:multi_shard response_policy:agg_sum",
    "dump": "ND",
    "exists": "request_policy:multi_shard response_policy:agg_sum",
    "flushall": "request_policy:all_shards response_policy:all_succeeded",
    "flushdb": "request_policy:all_shards response_policy:all_succeeded",
    "function|delete": "request_policy:all_shards response_policy:all_succeeded",
    "function|flush": "request_policy:all_shards response_policy:all_succeeded",
    "function|kill": "request_policy:all_shards response_policy:one_succeeded",
    "function|list": "NDO",
    "function|load": "request_policy:all_shards response_policy:all_succeeded",
    "function|restore": "request_policy:all_shards response_policy:all_succeeded",
    "function|stats": "ND request_policy:all_shards response_policy:special",
    "hgetall": "NDO",
    "hkeys": "NDO",
    "hrandfield": "ND",
    "hscan": "ND",
    "hvals": "NDO",
    "info": "ND request_policy:all_shards response_policy:special",
    "keys": "request_policy:all_shards NDO",
    "lastsave": "ND",
    "latency|doctor": "ND request_policy:all_nodes response_policy:special",
    "latency|graph": "ND request_policy:all_nodes response_policy:special",
    "latency|histogram": "ND request_policy:all_nodes response_policy:special",
    "latency|history": "ND request_policy:all_nodes response_policy:special",
    "latency|latest": "ND request_policy:all_nodes response_policy:special",
    "latency|reset": "request_policy:all_nodes response_policy:all_succeeded",
    "memory|doctor": "ND request_policy:all_shards response_policy:special",
    "memory|malloc-stats": "ND request_policy:all_shards response_policy:special",
    "memory|purge": "request_policy:all_shards response_policy:all_succeeded",
    "memory|stats": "ND request_policy:all_shards response_policy:special",
    "migrate": "ND",
    "mget": "request_policy:multi_shard",
    "module|list": "NDO",
    "mset": "request_policy:multi_shard response_policy:all_succeeded",
    "msetnx": "request_policy:multi_shard response_policy:agg_min",
    "object|encoding": "ND",
    "object|freq": "ND",
    "object|idletime": "ND",
    "object|refcount": "ND",
    "ping": "request_policy:all_shards response_policy:all_succeeded",
    "pttl": "ND",
    "randomkey": "request_policy:all_shards ND",
    "scan": "ND request_policy:special",
    "script|exists": "request_policy:all_shards response_policy:agg_logical_and",
    "script|flush": "request_policy:all_nodes response_policy:all_succeeded",
    "script|kill": "request_policy:all_shards response_policy:one_succeeded",
    "script|load": "request_policy:all_nodes response_policy:all_succeeded",
    "sdiff": "NDO",
    "sinter": "NDO",
    "slowlog|get": "request_policy:all_nodes ND",
    "slowlog|len": "request_policy:all_nodes response_policy:agg_sum ND",
    "slowlog|reset": "request_policy:all_nodes response_policy:all_succeeded",
    "smembers": "NDO",
    "spop": "ND",
    "srandmember": "ND",
    "sscan": "ND",
    "sunion": "NDO",
    "time": "ND",
    "touch": "request_policy:multi_shard response_policy:agg_sum",
    "ttl": "ND",
    "unlink": "request_policy:multi_shard response_policy:agg_sum",
    "wait": "request_policy:all_shards response_policy:agg_min",
    "xadd": "ND",
    "xautoclaim": "ND",
    "xclaim": "ND",
    "xinfo|consumers": "ND",
    "xpending": "ND",
    "xtrim": "ND",
    "zrandmember": "ND",
    "zscan": "ND",
}
_TIP_NAMES = {"ND": "nondeterministic_output", "NDO": "nondeterministic_output_order"}


def _parse_compact(name: str, text: str) -> list:
    out = []
    notes = NOTES.get(name, {})
    for i, part in enumerate(text.split(" | ")):
        part = part.removesuffix(" N")
        flags, _, where = part.partition("@")
        begin, _, find = where.partition(":")
        note = notes.get(i)
        if begin == "?":
            out.append(unknown_spec(flags, note))
            continue
        kw = dict(notes=note)
        if "," in begin:
            word, start = begin.split(",")
            kw.update(keyword=word.encode(), startfrom=int(start))
        else:
            kw["index"] = int(begin)
        if find.startswith("#"):
            kw["keynum"] = tuple(int(x) for x in find[1:].split(","))
        else:
            nums = [int(x) for x in find.split(",")]
            kw["lastkey"] = nums[0]
            if len(nums) == 3:
                kw["keystep"], kw["limit"] = nums[1], nums[2]
        out.append(spec(flags, **kw))
    return out


def unknown_spec(flags: str, notes: str | None = None) -> Map:
    """A spec whose keys cannot be found from the arguments' positions."""
    items = [(b"notes", notes.encode())] if notes else []
    items += [(b"flags", Set([Status(f) for f in flags.split()])),
              (b"begin_search", Map([(b"type", b"unknown"), (b"spec", Map([]))])),
              (b"find_keys", Map([(b"type", b"unknown"), (b"spec", Map([]))]))]
    return Map(items)


_applied = [0]


def apply_core() -> None:
    """Attach CORE_SPECS and CORE_TIPS to the table (once per table size:
    commands are declared at import time)."""
    if _applied[0] == len(T.TABLE):
        return
    _applied[0] = len(T.TABLE)
    for name, text in CORE_SPECS.items():
        cmd = _find(name)
        if cmd is not None and getattr(cmd, "key_specs", None) is None:
            cmd.key_specs = _parse_compact(name, text)
    for name, text in CORE_TIPS.items():
        cmd = _find(name)
        if cmd is not None and not getattr(cmd, "tips", ()):
            cmd.tips = tuple(_TIP_NAMES.get(t, t) for t in text.split())


def _find(name: str):
    parent, _, sub = name.partition("|")
    cmd = T.TABLE.get(parent.encode())
    if cmd is not None and sub:
        cmd = cmd.subcommands.get(sub.encode())
    return cmd
