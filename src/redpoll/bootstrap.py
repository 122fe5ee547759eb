"""Wire the optional rooms (persistence, replication, pub/sub, ...) into a
server. Each room exposes ``install(server)`` and registers its hooks; this
is the one place that lists them, in start-up order."""

from __future__ import annotations

import importlib

ROOMS = [
    "redpoll.datatypes",
    "redpoll.pubsub",
    "redpoll.notify",
    "redpoll.acl",
    "redpoll.blocking",
    "redpoll.persistence",
    "redpoll.replication",
    "redpoll.commands.scripting",
    "redpoll.eviction",
    "redpoll.slowlog",
    "redpoll.config.runtime",
    "redpoll.sentinel",
    # module path, in the order they must be installed
]
# Rooms a sentinel (redpoll-sentinel, --sentinel) does without: it keeps no
# dataset and runs only Sentinel's commands.
NOT_IN_SENTINEL = {"redpoll.persistence", "redpoll.replication",
                   "redpoll.commands.scripting", "redpoll.eviction"}


def install(server) -> None:
    for name in ROOMS:
        if server.sentinel_mode and name in NOT_IN_SENTINEL:
            continue
        mod = importlib.import_module(name)
        if hasattr(mod, "install"):
            mod.install(server)
