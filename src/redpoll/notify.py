"""Keyspace notifications (``notify-keyspace-events``).

Every command that changes a key calls :func:`notify` with the event class
and the event name Redis uses (``set``, ``del``, ``expire``, ``lpush`` ...):

    notify(c.server, STRING, "set", key, c.db.id)

It costs one attribute test when notifications are off (the default).
Messages go out through ``server.publish(channel, message)``, provided by the
pub/sub room (:mod:`redpoll.pubsub`); they are not propagated to replicas.

Fired elsewhere, not by command handlers: ``new`` (class n) by
``Database.set/add/rename`` when a key is created, ``keymiss`` (m) by
``Database.read``, ``expired`` (x) by ``Server.on_key_expired`` for lazy and
active expiry. ``A`` does not include ``m`` and ``n``; ``CONFIG GET`` prints
the classes in Redis's canonical order (``config/directives._format_notify``).
"""

from __future__ import annotations

KEYSPACE = 1 << 0     # K
KEYEVENT = 1 << 1     # E
GENERIC = 1 << 2      # g
STRING = 1 << 3       # $
LIST = 1 << 4         # l
SET = 1 << 5          # s
HASH = 1 << 6         # h
ZSET = 1 << 7         # z
EXPIRED = 1 << 8      # x
EVICTED = 1 << 9      # e
STREAM = 1 << 10      # t
KEY_MISS = 1 << 11    # m (not included in A)
MODULE = 1 << 12      # d
NEW = 1 << 13         # n (not included in A)
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE

_CHARS = {"K": KEYSPACE, "E": KEYEVENT, "g": GENERIC, "$": STRING, "l": LIST,
          "s": SET, "h": HASH, "z": ZSET, "x": EXPIRED, "e": EVICTED, "t": STREAM,
          "m": KEY_MISS, "d": MODULE, "n": NEW, "A": ALL}


def parse_flags(s: str) -> int:
    """The bit set for a ``notify-keyspace-events`` string (0 when neither K nor E)."""
    flags = 0
    for ch in s:
        flags |= _CHARS.get(ch, 0)
    if not flags & (KEYSPACE | KEYEVENT):
        return 0
    return flags


def notify(server, type_flag: int, event: str, key: bytes, dbid: int) -> None:
    """Publish a keyspace/keyevent notification if enabled for ``type_flag``."""
    flags = server.notify_flags
    if not flags or not flags & type_flag:
        return
    publish = getattr(server, "publish", None)
    if publish is None:
        return
    ev = event.encode()
    if flags & KEYSPACE:
        publish(b"__keyspace@%d__:%b" % (dbid, key), ev)
    if flags & KEYEVENT:
        publish(b"__keyevent@%d__:%b" % (dbid, ev), key)


def install(server) -> None:
    cfg = server.config
    server.notify_flags = parse_flags(cfg["notify-keyspace-events"])
    cfg.watch("notify-keyspace-events",
              lambda old, new: setattr(server, "notify_flags", parse_flags(new)))
