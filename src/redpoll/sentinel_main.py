"""``redpoll-sentinel``: Redis Sentinel (same command line as redis-sentinel)."""

from __future__ import annotations

import sys


def run_sentinel(path, opts, read_stdin) -> int:
    try:
        from redpoll.sentinel.main import run
    except ImportError:
        print("redpoll-sentinel is not available in this build yet", file=sys.stderr)
        return 1
    return run(path, opts, read_stdin)


def main(argv: list[str] | None = None) -> int:
    from redpoll.server_main import parse_argv
    argv = list(sys.argv[1:] if argv is None else argv)
    path, read_stdin, opts, _ = parse_argv(argv)
    return run_sentinel(path, opts, read_stdin)


if __name__ == "__main__":
    raise SystemExit(main())
