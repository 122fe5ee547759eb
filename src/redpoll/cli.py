"""``redpoll``: the umbrella command.

    redpoll server [redis-server arguments]     same as redpoll-server
    redpoll sentinel [sentinel arguments]       same as redpoll-sentinel
    redpoll cluster up|status|down|...          a local HA cluster (see cluster/)
"""

from __future__ import annotations

import sys

from redpoll import __version__

USAGE = """usage: redpoll <command> [args]

commands:
  server     run a redpoll server (same arguments as redis-server)
  sentinel   run a redpoll sentinel (same arguments as redis-sentinel)
  cluster    start and manage a local HA cluster: up, status, failover, down, ...
  version    print the version
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if argv else 1
    cmd, rest = argv[0], argv[1:]
    if cmd == "server":
        from redpoll.server_main import main as server_main
        return server_main(rest)
    if cmd == "sentinel":
        from redpoll.sentinel_main import main as sentinel_main
        return sentinel_main(rest)
    if cmd == "cluster":
        try:
            from redpoll.cluster.cli import main as cluster_main
        except ImportError:
            print("redpoll cluster is not available in this build yet", file=sys.stderr)
            return 1
        return cluster_main(rest)
    if cmd in ("version", "--version", "-v"):
        print(f"redpoll {__version__}")
        return 0
    print(f"redpoll: unknown command '{cmd}'\n\n{USAGE}", file=sys.stderr)
    return 1
