"""Pub/Sub state: who listens to which channel, and message delivery.

The server keeps three maps (their sizes are INFO stats' ``pubsub_channels``,
``pubsub_patterns`` and ``pubsubshard_channels``):

* ``server.pubsub_channels``: channel -> {client: None} (SUBSCRIBE);
* ``server.pubsub_patterns``: pattern -> {client: None} (PSUBSCRIBE);
* ``server.pubsubshard_channels``: shard channel -> {client: None} (SSUBSCRIBE).

The inner dicts are insertion-ordered sets, so subscribers get messages in
subscription order, as in Redis 7.0. Each client mirrors its own
subscriptions in ``c.channels``, ``c.patterns`` and ``c.shard_channels`` and
carries ``F_PUBSUB`` while it has any (the RESP2 subscribed context, the
``pubsub`` output-buffer class and the ``P`` flag of CLIENT LIST).

:func:`publish` (installed as ``server.publish(channel, message)``) is what
PUBLISH and keyspace notifications call; messages are encoded once per
protocol version and queued with ``add_raw`` (pushes are delivered even with
CLIENT REPLY OFF, as in Redis). Replies to (un)subscribe go through
:func:`push` for the same reason.
"""

from __future__ import annotations

from redpoll import glob
from redpoll.client import F_PUBSUB

_MESSAGE = b"$7\r\nmessage\r\n"
_PMESSAGE = b"$8\r\npmessage\r\n"
_SMESSAGE = b"$8\r\nsmessage\r\n"


def _bulk(b: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(b), b)


def push(c, kind: bytes, name: bytes | None, count: int) -> None:
    """Send a (un)subscribe confirmation: [kind, name or null, count]."""
    head = b"*3\r\n" if c.resp == 2 else b">3\r\n"
    if name is None:
        nm = b"$-1\r\n" if c.resp == 2 else b"_\r\n"
    else:
        nm = _bulk(name)
    c.add_raw(b"%b$%d\r\n%b\r\n%b:%d\r\n" % (head, len(kind), kind, nm, count))


def subscription_count(c) -> int:
    """Channels + patterns (the count in (P)SUBSCRIBE replies)."""
    return len(c.channels) + len(c.patterns)


def _deliver(clients, body: bytes, n: int) -> int:
    """Queue one message (array of ``n`` elements whose encoding is ``body``)."""
    m2 = m3 = None
    for c in clients:
        if c.resp == 2:
            if m2 is None:
                m2 = b"*%d\r\n%b" % (n, body)
            c.add_raw(m2)
        else:
            if m3 is None:
                m3 = b">%d\r\n%b" % (n, body)
            c.add_raw(m3)
    return len(clients)


def publish(server, channel: bytes, message: bytes) -> int:
    """Deliver ``message`` to the subscribers of ``channel`` and of matching
    patterns; return the number of deliveries (PUBLISH's reply)."""
    n = 0
    subs = server.pubsub_channels.get(channel)
    tail = _bulk(channel) + _bulk(message)
    if subs:
        n = _deliver(list(subs), _MESSAGE + tail, 3)
    if server.pubsub_patterns:
        for pat, clients in list(server.pubsub_patterns.items()):
            if glob.match(pat, channel):
                n += _deliver(list(clients), _PMESSAGE + _bulk(pat) + tail, 4)
    return n


def spublish(server, channel: bytes, message: bytes) -> int:
    """SPUBLISH: shard channels only (patterns never match them)."""
    subs = server.pubsubshard_channels.get(channel)
    if not subs:
        return 0
    return _deliver(list(subs), _SMESSAGE + _bulk(channel) + _bulk(message), 3)


# -- subscribe / unsubscribe (the reply is sent here) --------------------------

class _Kind:
    """One of the three subscription namespaces: the client's own set
    (``mine``), the server's map (``table``), the confirmation words, and the
    count the confirmations carry."""

    __slots__ = ("mine", "table", "sub", "unsub", "count")

    def __init__(self, mine: str, table: str, sub: bytes, unsub: bytes, count) -> None:
        self.mine = mine
        self.table = table
        self.sub = sub
        self.unsub = unsub
        self.count = count


def _shard_count(c) -> int:
    return len(c.shard_channels)


_CHANNELS = _Kind("channels", "pubsub_channels",
                  b"subscribe", b"unsubscribe", subscription_count)
_PATTERNS = _Kind("patterns", "pubsub_patterns",
                  b"psubscribe", b"punsubscribe", subscription_count)
_SHARD = _Kind("shard_channels", "pubsubshard_channels",
               b"ssubscribe", b"sunsubscribe", _shard_count)


def _subscribe(c, kind: _Kind, name: bytes) -> None:
    mine = getattr(c, kind.mine)
    if name not in mine:
        mine.add(name)
        getattr(c.server, kind.table).setdefault(name, {})[c] = None
    c.flags |= F_PUBSUB
    push(c, kind.sub, name, kind.count(c))


def _unsubscribe(c, kind: _Kind, name: bytes, notify: bool) -> bool:
    mine = getattr(c, kind.mine)
    found = name in mine
    if found:
        mine.discard(name)
        table = getattr(c.server, kind.table)
        clients = table.get(name)
        if clients is not None:
            clients.pop(c, None)
            if not clients:
                del table[name]
    if notify:
        push(c, kind.unsub, name, kind.count(c))
    return found


def _unsubscribe_all(c, kind: _Kind, notify: bool) -> None:
    names = list(getattr(c, kind.mine))
    for name in names:
        _unsubscribe(c, kind, name, notify)
    if notify and not names:
        push(c, kind.unsub, None, kind.count(c))


def subscribe(c, channel: bytes) -> None:
    _subscribe(c, _CHANNELS, channel)


def psubscribe(c, pattern: bytes) -> None:
    _subscribe(c, _PATTERNS, pattern)


def ssubscribe(c, channel: bytes) -> None:
    _subscribe(c, _SHARD, channel)


def unsubscribe(c, channel: bytes, notify: bool = True) -> bool:
    return _unsubscribe(c, _CHANNELS, channel, notify)


def punsubscribe(c, pattern: bytes, notify: bool = True) -> bool:
    return _unsubscribe(c, _PATTERNS, pattern, notify)


def sunsubscribe(c, channel: bytes, notify: bool = True) -> bool:
    return _unsubscribe(c, _SHARD, channel, notify)


def unsubscribe_all(c, notify: bool = True) -> None:
    _unsubscribe_all(c, _CHANNELS, notify)


def punsubscribe_all(c, notify: bool = True) -> None:
    _unsubscribe_all(c, _PATTERNS, notify)


def sunsubscribe_all(c, notify: bool = True) -> None:
    _unsubscribe_all(c, _SHARD, notify)


def update_flag(c) -> None:
    """Leave the subscribed context once nothing is subscribed any more."""
    if not (c.channels or c.patterns or c.shard_channels):
        c.flags &= ~F_PUBSUB


def forget_client(c) -> None:
    """Disconnect / RESET: drop every subscription silently."""
    if c.channels or c.patterns or c.shard_channels:
        unsubscribe_all(c, False)
        punsubscribe_all(c, False)
        sunsubscribe_all(c, False)
    c.flags &= ~F_PUBSUB


def install(server) -> None:
    server.pubsub_channels = {}
    server.pubsub_patterns = {}
    server.pubsubshard_channels = {}
    server.publish = lambda channel, message: publish(server, channel, message)
    server.disconnect_hooks.append(forget_client)
    if not hasattr(server, "reset_hooks"):
        server.reset_hooks = []
    server.reset_hooks.append(forget_client)
