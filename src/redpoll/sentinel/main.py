"""Starting a sentinel: ``redpoll-sentinel sentinel.conf [--opt val ...]``.

As Redis: a config file is required and must be writable (the sentinel
saves its state there), the port defaults to 26379 and protected mode is
off; the ``sentinel`` directives are checked before anything listens.
"""

from __future__ import annotations

import os
import sys



def _early_log(msg: str) -> None:
    """A warning in Redis's log format before the logger is configured."""
    import time
    now = time.time()
    stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
    print(f"{os.getpid()}:X {stamp}.{int(now * 1000) % 1000:03d} # {msg}", flush=True)


def run(path, opts, read_stdin) -> int:
    import redpoll.sentinel as pkg
    from redpoll.config import Config, FatalConfigError
    from redpoll.sentinel import config as sconfig
    from redpoll.sentinel.commands import restrict_table
    from redpoll.sentinel.monitor import Sentinel
    from redpoll.server_main import prepare_process, serve

    if path is None:
        _early_log("Sentinel needs config file on disk to save state. Exiting...")
        return 1
    if not os.access(path, os.W_OK):
        err = os.strerror(2 if not os.path.exists(path) else 13)
        _early_log(f"Sentinel config file {path} is not writable: {err}. Exiting...")
        return 1
    cfg = Config()
    cfg.values["port"] = 26379
    cfg.values["protected-mode"] = False
    stdin_text = sys.stdin.read() if read_stdin else None
    try:
        cfg.load(path, opts, stdin_text, sentinel_mode=True)
    except FatalConfigError as e:
        print(str(e), file=sys.stdout if e.log_line else sys.stderr)
        return 1
    sentinel = Sentinel(None)
    try:
        sconfig.load(sentinel, cfg)
    except FatalConfigError as e:
        print(str(e), file=sys.stderr)
        return 1
    supervised = prepare_process(cfg)
    if supervised is None:
        return 1
    restrict_table()
    pkg.pending = sentinel
    return serve(cfg, sentinel_mode=True, supervised=supervised)
