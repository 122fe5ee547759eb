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
    # module path, in the order they must be installed
]


def install(server) -> None:
    for name in ROOMS:
        mod = importlib.import_module(name)
        if hasattr(mod, "install"):
            mod.install(server)
