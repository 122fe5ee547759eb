"""redpoll-sentinel: Redis Sentinel 7.0 on the redpoll server core.

A sentinel is a redpoll server started in sentinel mode (``redpoll-sentinel
sentinel.conf`` or ``redpoll-server sentinel.conf --sentinel``): the same
listener, clients, RESP, ACL and pub/sub, with only Sentinel's commands.

* :mod:`.main` -- start-up (sentinel.conf, the command table, the server);
* :mod:`.config` -- the ``sentinel`` directives and the config rewrite;
* :mod:`.instance` -- monitored masters, replicas, other sentinels, links;
* :mod:`.monitor` -- the state and the timer: PING/INFO/hello, SDOWN/ODOWN;
* :mod:`.election` -- votes and leader per epoch;
* :mod:`.failover` -- the failover state machine;
* :mod:`.scripts` -- notification and client-reconfig scripts;
* :mod:`.commands` -- SENTINEL ..., and the sentinel INFO/ROLE/PUBLISH.
"""

from __future__ import annotations

# The Sentinel built by main.run() from sentinel.conf, handed to install().
pending = None


def install(server) -> None:
    """Room hook (bootstrap.ROOMS): only a server in sentinel mode gets one."""
    if not server.sentinel_mode:
        return
    from redpoll.sentinel.monitor import Sentinel
    s = pending if pending is not None else Sentinel(server)
    s.server = server
    server.sentinel = s
    if not hasattr(server, "after_start_hooks"):
        server.after_start_hooks = []
    server.after_start_hooks.append(s.start)
