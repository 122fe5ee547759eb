"""``redpoll-server``: the same command line as ``redis-server``.

    redpoll-server [/path/to/redis.conf] [--directive value ...]
    redpoll-server - (read the config from stdin)
    redpoll-server --version | --help | --sentinel
"""

from __future__ import annotations

import asyncio
import os
import sys

from redpoll import REDIS_COMPAT_VERSION, __version__

USAGE = """Usage: ./redpoll-server [/path/to/redis.conf] [options] [-]
       ./redpoll-server - (read config from stdin)
       ./redpoll-server -v or --version
       ./redpoll-server -h or --help
       ./redpoll-server --test-memory <megabytes>

Examples:
       ./redpoll-server (run the server with default conf)
       ./redpoll-server /etc/redis/6379.conf
       ./redpoll-server --port 7777
       ./redpoll-server --port 7777 --replicaof 127.0.0.1 8888
       ./redpoll-server /etc/myredis.conf --loglevel verbose -
       ./redpoll-server /etc/myredis.conf --loglevel verbose

Sentinel mode:
       ./redpoll-server /etc/sentinel.conf --sentinel
"""


def version_line() -> str:
    bits = 64 if sys.maxsize > 2**32 else 32
    return (f"Redis server v={REDIS_COMPAT_VERSION} sha=00000000:0 malloc=pymalloc "
            f"bits={bits} build=redpoll-{__version__}")


def parse_argv(argv: list[str]):
    """Split redis-server's argv into (config path, stdin?, options, sentinel?)."""
    path = None
    read_stdin = False
    sentinel = False
    opts: list[str] = []
    i = 0
    if argv and not argv[0].startswith("-"):
        path = argv[0]
        i = 1
    while i < len(argv):
        a = argv[i]
        if a == "-":
            read_stdin = True
        elif a == "--sentinel":
            sentinel = True
        else:
            opts.append(a)
        i += 1
    return path, read_stdin, opts, sentinel


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-v", "--version"):
        print(version_line())
        return 0
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 1
    if argv and argv[0] == "--test-memory":
        print("redpoll-server: --test-memory is not supported: redpoll runs on the "
              "Python runtime and cannot test the machine's RAM. Use memtester "
              "instead.", file=sys.stderr)
        return 1
    if os.path.basename(sys.argv[0]).endswith("sentinel") and "--sentinel" not in argv:
        argv.append("--sentinel")
    path, read_stdin, opts, sentinel = parse_argv(argv)
    if sentinel:
        from redpoll.sentinel_main import run_sentinel
        return run_sentinel(path, opts, read_stdin)
    return run_server(path, opts, read_stdin)


def load_config(path, opts, read_stdin):
    """The Config for this command line, or an exit status after printing
    Redis's report of what is wrong."""
    from redpoll.config import Config, FatalConfigError

    cfg = Config()
    stdin_text = None
    if read_stdin:
        print(_log_line("Reading config from stdin"))
        stdin_text = sys.stdin.read()
    try:
        cfg.load(path, opts, stdin_text)
    except FatalConfigError as e:
        print(str(e), file=sys.stdout if e.log_line else sys.stderr)
        return None
    return cfg


def prepare_process(cfg) -> str | None:
    """Start-up shared by redpoll-server and redpoll-sentinel once the config
    is loaded: default pidfile when daemonizing, chdir to ``dir`` (which then
    holds the absolute path), fork into the background unless supervised.
    Returns the supervision mode, or None when ``dir`` cannot be entered (the
    error is printed; the process must exit with 1)."""
    from redpoll import process

    supervised = process.supervision_mode(cfg)
    background = cfg["daemonize"] and supervised == "no"
    if cfg["daemonize"] and not cfg["pidfile"]:
        cfg.values["pidfile"] = process.DEFAULT_PIDFILE
    if cfg["dir"]:
        try:
            os.chdir(cfg["dir"])
        except OSError as e:
            print(f"Can't chdir to '{cfg['dir']}': {e.strerror}", file=sys.stderr)
            return None
    cfg.values["dir"] = os.getcwd()
    if background:
        process.daemonize(cfg["pidfile"])
    return supervised


def run_server(path, opts, read_stdin) -> int:
    cfg = load_config(path, opts, read_stdin)
    if cfg is None:
        return 1
    supervised = prepare_process(cfg)
    if supervised is None:
        return 1
    return serve(cfg, supervised=supervised)


def _daemonize() -> None:
    """Kept for redpoll-sentinel: detach (see redpoll.process.daemonize)."""
    from redpoll import process
    process.daemonize("")


def _log_line(msg: str) -> str:
    from redpoll.config.loader import _log_line as fmt
    return fmt(msg)


def serve(cfg, sentinel_mode: bool = False, supervised: str = "no") -> int:
    from redpoll import bootstrap, process
    from redpoll.log import log
    from redpoll.server import Server

    try:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    log.role = "C"
    server = Server(cfg, sentinel_mode=sentinel_mode)
    server.supervised_mode = supervised
    log.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.warning(f"Redis version={REDIS_COMPAT_VERSION}, bits=64, commit=00000000, "
                f"modified=0, pid={os.getpid()}, just started (redpoll {__version__})")
    if cfg.file or cfg.loaded_text:
        log.warning("Configuration loaded")
    else:
        log.warning("Warning: no config file specified, using the default config. "
                    "In order to specify a config file use redpoll-server /path/to/redis.conf")
    log.role = "X" if sentinel_mode else "M"
    if supervised != "no":
        log.notice(f"Supervised by {supervised}. Please make sure you set appropriate "
                   f"values for TimeoutStartSec and TimeoutStopSec in your service unit.")
    for w in cfg.warnings:
        log.warning(w)
    pidfile = cfg["pidfile"]
    if pidfile:
        process.write_pidfile(pidfile)
    bootstrap.install(server)
    server.shutdown_hooks.append(lambda save: process.notify_stopping(supervised))

    def initialized():      # logged before the dataset is loaded, as Redis does
        log.notice(f"Running mode={'sentinel' if sentinel_mode else 'standalone'}, "
                   f"port={server.port}.")
        log.warning("Server initialized")
    server.startup_hooks.insert(0, initialized)
    process.install_signal_handlers(server, loop)     # during start-up too
    try:
        loop.run_until_complete(server.start())
    except OSError as e:
        log.warning(str(e.strerror or e))
        if pidfile:
            process.remove_pidfile(pidfile)
        return 1
    except RuntimeError:            # a signal's shutdown stopped the loop
        loop.close()
        return server.exit_code
    process.install_signal_handlers(server)   # Server.start() installed its own
    for hook in getattr(server, "after_start_hooks", []):
        hook()
    log.notice("Ready to accept connections tcp")
    process.daemon_started()
    process.notify_ready(supervised)
    try:
        loop.run_forever()
    finally:
        # Exit now, as Redis does once shutdown is done: closing the loop or
        # the interpreter's exit would wait for worker threads (fsync, I/O)
        # that may still be blocked.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(server.exit_code)
    return server.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
