"""CLUSTER, ASKING, READONLY and READWRITE: Redis Cluster's commands, as a
Redis 7.0 server started with ``cluster-enabled no`` has them.

redpoll does not run the cluster bus (``cluster-enabled`` is a known but
unimplemented directive; ``redpoll cluster`` builds clusters out of
primary/replica groups instead, see :mod:`redpoll.cluster`). A Redis server
without cluster support still lists these commands in its table (COMMAND,
COMMAND INFO/DOCS, ACL categories) and answers every one of them, once the
arity and subcommand checks passed, with the same error: that is what this
module declares. MIGRATE, which works without cluster mode, lives in
:mod:`redpoll.commands.migrate`; RESTORE-ASKING in
:mod:`redpoll.commands.serialization`.
"""

from __future__ import annotations

from redpoll.commands.table import command, container, subcommand
from redpoll.errors import RedisError

G = "cluster"
DISABLED = "ERR This instance has cluster support disabled"


def cluster_disabled(c, argv):
    """Every command of this module: Redis's reply without cluster support."""
    raise RedisError(DISABLED)


container("cluster", -2, group=G, since="3.0.0",
          summary="A container for Redis Cluster commands.")

# name, arity, flags, since, summary (our wording)
_SUBCOMMANDS = [
    ("addslots", -3, "admin stale no_async_loading", "3.0.0",
     "Assigns hash slots to the node."),
    ("addslotsrange", -4, "admin stale no_async_loading", "7.0.0",
     "Assigns ranges of hash slots to the node."),
    ("bumpepoch", 2, "admin stale no_async_loading", "3.0.0",
     "Advances the node's config epoch."),
    ("count-failure-reports", 3, "admin stale", "3.0.0",
     "Counts the failure reports about a node."),
    ("countkeysinslot", 3, "stale", "3.0.0",
     "Counts the keys of a hash slot."),
    ("delslots", -3, "admin stale no_async_loading", "3.0.0",
     "Unassigns hash slots from the node."),
    ("delslotsrange", -4, "admin stale no_async_loading", "7.0.0",
     "Unassigns ranges of hash slots from the node."),
    ("failover", -2, "admin stale no_async_loading", "3.0.0",
     "Starts a manual failover of the node's primary."),
    ("flushslots", 2, "admin stale no_async_loading", "3.0.0",
     "Unassigns every hash slot of the node."),
    ("forget", 3, "admin stale no_async_loading", "3.0.0",
     "Removes a node from the node table."),
    ("getkeysinslot", 4, "stale", "3.0.0",
     "Returns key names of a hash slot."),
    ("help", 2, "loading stale", "5.0.0",
     "Returns help about the CLUSTER subcommands."),
    ("info", 2, "stale", "3.0.0",
     "Returns the state of the cluster."),
    ("keyslot", 3, "stale", "3.0.0",
     "Returns the hash slot of a key."),
    ("links", 2, "stale", "7.0.0",
     "Returns the node's cluster bus links."),
    ("meet", -4, "admin stale no_async_loading", "3.0.0",
     "Joins another node to the cluster."),
    ("myid", 2, "stale", "3.0.0",
     "Returns the node's ID."),
    ("nodes", 2, "stale", "3.0.0",
     "Returns the node table."),
    ("replicas", 3, "admin stale", "5.0.0",
     "Lists the replicas of a primary node."),
    ("replicate", 3, "admin stale no_async_loading", "3.0.0",
     "Makes the node a replica of a primary node."),
    ("reset", -2, "admin noscript stale", "3.0.0",
     "Resets the node's cluster state."),
    ("saveconfig", 2, "admin stale no_async_loading", "3.0.0",
     "Writes the cluster configuration to disk."),
    ("set-config-epoch", 3, "admin stale no_async_loading", "3.0.0",
     "Sets the config epoch of a new node."),
    ("setslot", -4, "admin stale no_async_loading", "3.0.0",
     "Binds a hash slot to a node or marks it migrating/importing."),
    ("shards", 2, "stale", "7.0.0",
     "Returns the cluster's shards and their slot ranges."),
    ("slaves", 3, "admin stale", "3.0.0",
     "Lists the replicas of a primary node (old name of REPLICAS)."),
    ("slots", 2, "stale", "3.0.0",
     "Returns the slot ranges and the nodes serving them."),
]

for _name, _arity, _flags, _since, _summary in _SUBCOMMANDS:
    subcommand("cluster", _name, _arity, _flags, group=G, since=_since,
               summary=_summary)(cluster_disabled)

command("asking", 1, "fast", group=G, acl="connection", since="3.0.0",
        summary="Marks the connection for the next command after an ASK "
                "redirection.")(cluster_disabled)
command("readonly", 1, "loading stale fast", group=G, acl="connection", since="3.0.0",
        summary="Lets the connection read from a cluster replica.")(cluster_disabled)
command("readwrite", 1, "loading stale fast", group=G, acl="connection", since="3.0.0",
        summary="Stops the connection reading from a cluster replica.")(cluster_disabled)
