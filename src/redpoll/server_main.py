"""``redpoll-server``: the same command line as ``redis-server``.

    redpoll-server [/path/to/redis.conf] [--directive value ...]
    redpoll-server - (read the config from stdin)
    redpoll-server --version | --help | --sentinel
"""

from __future__ import annotations

import asyncio
import os
import socket
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
        print(version_line() + f" (redpoll {__version__})")
        return 0
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 1
    if argv and argv[0] == "--test-memory":
        print("redpoll-server: --test-memory is not supported: redpoll runs on the "
              "Python runtime and does not test RAM. Use memtester instead.",
              file=sys.stderr)
        return 1
    if os.path.basename(sys.argv[0]).endswith("sentinel") and "--sentinel" not in argv:
        argv.append("--sentinel")
    path, read_stdin, opts, sentinel = parse_argv(argv)
    if sentinel:
        from redpoll.sentinel_main import run_sentinel
        return run_sentinel(path, opts, read_stdin)
    return run_server(path, opts, read_stdin)


def run_server(path, opts, read_stdin) -> int:
    from redpoll.config import Config, FatalConfigError
    from redpoll.log import log

    cfg = Config()
    stdin_text = sys.stdin.read() if read_stdin else None
    try:
        cfg.load(path, opts, stdin_text)
    except FatalConfigError as e:
        print(str(e), file=sys.stdout if e.log_line else sys.stderr)
        return 1
    if cfg["daemonize"] and cfg["supervised"] != "systemd":
        _daemonize()
    if cfg["dir"]:
        try:
            os.chdir(cfg["dir"])
        except OSError as e:
            print(f"Can't chdir to '{cfg['dir']}': {e.strerror}", file=sys.stderr)
            return 1
    else:
        cfg.values["dir"] = os.getcwd()
    return serve(cfg)


def _daemonize() -> None:
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(fd, std)


def sd_notify(msg: str) -> None:
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(msg.encode())
    except OSError:
        pass


def serve(cfg, sentinel_mode: bool = False) -> int:
    from redpoll.log import log
    from redpoll.server import Server

    try:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = Server(cfg, sentinel_mode=sentinel_mode)
    log.role = "X" if sentinel_mode else "M"
    log.notice("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.notice(f"Redis version={REDIS_COMPAT_VERSION}, bits=64, commit=00000000, "
               f"modified=0, pid={os.getpid()}, just started (redpoll {__version__})")
    if cfg.file:
        log.notice("Configuration loaded")
    else:
        log.warning("Warning: no config file specified, using the default config. "
                    "In order to specify a config file use redpoll-server /path/to/redis.conf")
    for w in cfg.warnings:
        log.warning(w)
    from redpoll import bootstrap
    bootstrap.install(server)
    try:
        loop.run_until_complete(server.start())
    except OSError as e:
        log.warning(str(e.strerror or e))
        return 1
    pidfile = cfg["pidfile"]
    if pidfile or cfg["daemonize"]:
        pidfile = pidfile or "/var/run/redis.pid"
        try:
            with open(pidfile, "w") as f:
                f.write(f"{os.getpid()}\n")
        except OSError as e:
            log.warning(f"Failed to write PID file: {e.strerror}")
    log.notice("Server initialized")
    for hook in getattr(server, "after_start_hooks", []):
        hook()
    log.notice("Ready to accept connections tcp")
    sd_notify("READY=1\nSTATUS=Ready to accept connections\n")
    try:
        loop.run_forever()
    finally:
        loop.close()
    return server.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
