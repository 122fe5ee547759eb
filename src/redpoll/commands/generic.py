"""Generic keyspace commands: DEL, EXISTS, EXPIRE, TTL, TYPE, KEYS, ..."""

from __future__ import annotations

import fnmatch

from redpoll.commands.table import command
from redpoll.keyspace import type_name

G = "generic"


@command("del", -2, "write", keys=(1, -1, 1), group=G, summary="Deletes one or more keys.")
def del_(c, argv):
    db = c.db
    n = 0
    for k in argv[1:]:
        if db.get(k) is not None and db.delete(k):
            n += 1
    c.server.dirty += n
    return n


@command("exists", -2, "readonly fast", keys=(1, -1, 1), group=G, summary="Determines whether one or more keys exist.")
def exists(c, argv):
    db = c.db
    return sum(1 for k in argv[1:] if db.get(k) is not None)


@command("type", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Determines the type of value stored at a key.")
def type_(c, argv):
    from redpoll.protocol.resp import Status
    v = c.db.get(argv[1])
    return Status("none" if v is None else type_name(v))


@command("ttl", 2, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns the expiration time in seconds of a key.")
def ttl(c, argv):
    db = c.db
    if db.get(argv[1]) is None:
        return -2
    when = db.ttl_ms(argv[1])
    if when is None:
        return -1
    return max(0, (when - c.server.now_ms() + 500) // 1000)


@command("dbsize", 1, "readonly fast", group="server", summary="Returns the number of keys in the database.")
def dbsize(c, argv):
    return len(c.db)


@command("keys", 2, "readonly", group=G, summary="Returns all key names that match a pattern.")
def keys(c, argv):
    db = c.db
    pat = argv[1]
    out = []
    for k in db.keys():
        if (pat == b"*" or fnmatch.fnmatchcase(k, pat)) and not db.is_expired(k):
            out.append(k)
    return out
