"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

The state and delivery live in :mod:`redpoll.pubsub`. Subscribe-type
commands send their confirmations themselves (one per channel) and return
``NO_REPLY``. Shard channels follow Redis's non-cluster semantics: a second,
independent namespace with its own counts, never matched by patterns.
"""

from __future__ import annotations

from redpoll import glob
from redpoll import pubsub as P
from redpoll.client import F_LUA, F_MULTI
from redpoll.commands.help import help_reply
from redpoll.commands.table import TABLE, command, subcommand
from redpoll.errors import RedisError, subcommand_syntax

G = "pubsub"


def _no_reply():
    from redpoll.server import NO_REPLY
    return NO_REPLY


@command("subscribe", -2, "pubsub noscript loading stale", group=G,
         summary="Listens for messages published to channels.", since="2.0.0")
def subscribe(c, argv):
    for ch in argv[1:]:
        P.subscribe(c, ch)
    return _no_reply()


@command("psubscribe", -2, "pubsub noscript loading stale", group=G,
         summary="Listens for messages published to channels that match one or more patterns.",
         since="2.0.0")
def psubscribe(c, argv):
    for pat in argv[1:]:
        P.psubscribe(c, pat)
    return _no_reply()


@command("ssubscribe", -2, "pubsub noscript loading stale", keys=(1, -1, 1), group=G,
         summary="Listens for messages published to shard channels.", since="7.0.0")
def ssubscribe(c, argv):
    # Redis denies it to "deny blocking" clients, which includes a client
    # running EXEC (unlike SUBSCRIBE, kept working in MULTI for compatibility).
    if c.flags & (F_MULTI | F_LUA):
        raise RedisError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    for ch in argv[1:]:
        P.ssubscribe(c, ch)
    return _no_reply()


def _unsubscribe(c, argv, one, every):
    """(P|S)UNSUBSCRIBE: the names given, or every one of the kind."""
    if len(argv) == 1:
        every(c)
    else:
        for name in argv[1:]:
            one(c, name)
    P.update_flag(c)
    return _no_reply()


@command("unsubscribe", -1, "pubsub noscript loading stale", group=G,
         summary="Stops listening to messages posted to channels.", since="2.0.0")
def unsubscribe(c, argv):
    return _unsubscribe(c, argv, P.unsubscribe, P.unsubscribe_all)


@command("punsubscribe", -1, "pubsub noscript loading stale", group=G,
         summary="Stops listening to messages published to channels that match one or more patterns.",
         since="2.0.0")
def punsubscribe(c, argv):
    return _unsubscribe(c, argv, P.punsubscribe, P.punsubscribe_all)


@command("sunsubscribe", -1, "pubsub noscript loading stale", keys=(1, -1, 1), group=G,
         summary="Stops listening to messages posted to shard channels.", since="7.0.0")
def sunsubscribe(c, argv):
    return _unsubscribe(c, argv, P.sunsubscribe, P.sunsubscribe_all)


def _propagate_publish(c, argv) -> None:
    # Redis forwards PUBLISH to replicas (PROPAGATE_REPL only: AOF sinks skip
    # publish/spublish), so that their subscribers get the message too.
    srv = c.server
    if srv.propagation_sinks or srv.atomic_depth:
        srv.propagate(c.db.id, argv)


@command("publish", 3, "pubsub loading stale fast sentinel", group=G,
         summary="Posts a message to a channel.", since="2.0.0")
def publish(c, argv):
    n = P.publish(c.server, argv[1], argv[2])
    _propagate_publish(c, argv)
    return n


@command("spublish", 3, "pubsub loading stale fast", keys=(1, 1, 1), group=G,
         summary="Post a message to a shard channel", since="7.0.0")
def spublish(c, argv):
    n = P.spublish(c.server, argv[1], argv[2])
    _propagate_publish(c, argv)
    return n


# -- PUBSUB introspection --------------------------------------------------------

def _channel_list(table: dict, argv) -> list:
    if len(argv) > 3:
        raise subcommand_syntax(argv)
    if len(argv) == 2:
        return list(table)
    m = glob.compile(argv[2])
    return [ch for ch in table if m(ch)]


@subcommand("pubsub", "channels", -2, "pubsub loading stale", group=G,
            summary="Returns the active channels.", since="2.8.0")
def pubsub_channels(c, argv):
    return _channel_list(c.server.pubsub_channels, argv)


@subcommand("pubsub", "shardchannels", -2, "pubsub loading stale", group=G,
            summary="Returns the active shard channels.", since="7.0.0")
def pubsub_shardchannels(c, argv):
    return _channel_list(c.server.pubsubshard_channels, argv)


def _numsub(table: dict, argv) -> list:
    out = []
    for ch in argv[2:]:
        out.append(ch)
        out.append(len(table.get(ch, ())))
    return out   # a flat array in RESP3 too, as Redis replies


@subcommand("pubsub", "numsub", -2, "pubsub loading stale", group=G,
            summary="Returns a count of subscribers to channels.", since="2.8.0")
def pubsub_numsub(c, argv):
    return _numsub(c.server.pubsub_channels, argv)


@subcommand("pubsub", "shardnumsub", -2, "pubsub loading stale", group=G,
            summary="Returns the count of subscribers of shard channels.", since="7.0.0")
def pubsub_shardnumsub(c, argv):
    return _numsub(c.server.pubsubshard_channels, argv)


@subcommand("pubsub", "numpat", 2, "pubsub loading stale", group=G,
            summary="Returns a count of unique pattern subscriptions.", since="2.8.0")
def pubsub_numpat(c, argv):
    return len(c.server.pubsub_patterns)


_HELP = [
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
]


@subcommand("pubsub", "help", 2, "loading stale", group=G,
            summary="Returns helpful text about the different subcommands.", since="6.2.0")
def pubsub_help(c, argv):
    return help_reply(argv, _HELP)


# The group would add @pubsub; Redis has only @slow on the container and HELP.
TABLE[b"pubsub"].acl_categories = ("slow",)
TABLE[b"pubsub"].subcommands[b"help"].acl_categories = ("slow",)
