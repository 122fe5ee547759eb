"""The server as a Unix process: daemonizing, the pid file, supervision
(systemd's sd_notify, upstart's SIGSTOP) and the shutdown signals.

* ``daemonize yes`` detaches with a double fork (the first child calls
  setsid, the second can never reacquire a terminal); standard streams go to
  /dev/null and, as in Redis, the pid file defaults to /var/run/redis.pid.
  The launching process exits 0 once the daemon has written its pid file
  (or 1 if the daemon died first), so ``redpoll-server --daemonize yes &&
  redis-cli ping`` behaves like Redis.
* ``supervised systemd`` (or ``auto`` with $NOTIFY_SOCKET set) sends
  ``READY=1`` when the server accepts connections and ``STOPPING=1`` when it
  shuts down; ``upstart`` raises SIGSTOP when ready. A supervised server
  does not daemonize.
* SIGTERM / SIGINT: shut down as ``shutdown-on-sigterm`` /
  ``shutdown-on-sigint`` say (default: save if save points are configured),
  running the shutdown hooks and removing the pid file; exit status 0. A
  second signal while shutting down exits at once (status 1), as Redis's
  "You insist" path.
"""

from __future__ import annotations

import os
import signal
import socket

DEFAULT_PIDFILE = "/var/run/redis.pid"


# -- supervision ------------------------------------------------------------------

def supervision_mode(cfg) -> str:
    """'systemd', 'upstart' or 'no' for the ``supervised`` directive."""
    mode = str(cfg["supervised"])
    if mode == "auto":
        if os.environ.get("NOTIFY_SOCKET"):
            return "systemd"
        if os.environ.get("UPSTART_JOB"):
            return "upstart"
        return "no"
    if mode == "systemd" and not os.environ.get("NOTIFY_SOCKET"):
        return "no"
    if mode == "upstart" and not os.environ.get("UPSTART_JOB"):
        return "no"
    return mode


def sd_notify(msg: str) -> bool:
    """Send a datagram to systemd's $NOTIFY_SOCKET; False if there is none."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(msg.encode())
        return True
    except OSError:
        return False


def notify_ready(mode: str) -> None:
    from redpoll.log import log
    if mode == "systemd":
        if sd_notify("STATUS=Ready to accept connections\n"):
            log.notice("Systemd supervision: Ready to accept connections")
        sd_notify("READY=1\n")
    elif mode == "upstart":
        os.environ.pop("UPSTART_JOB", None)
        os.kill(os.getpid(), signal.SIGSTOP)


def notify_stopping(mode: str) -> None:
    if mode == "systemd":
        sd_notify("STOPPING=1\n")


# -- daemonizing -----------------------------------------------------------------

def daemonize(pidfile: str) -> None:
    """Double fork; the original process waits for the pid file, then exits."""
    r, w = os.pipe()
    pid = os.fork()
    if pid > 0:
        os.close(w)
        # the daemon closes its end once the pid file is written (or it dies)
        ok = os.read(r, 1)
        os._exit(0 if ok == b"1" else 1)
    os.close(r)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    fd = os.open(os.devnull, os.O_RDWR)
    for std in (0, 1, 2):
        os.dup2(fd, std)
    if fd > 2:
        os.close(fd)
    os.environ["REDPOLL_DAEMON_READY_FD"] = str(w)


def daemon_started() -> None:
    """Tell the launching process that start-up went well."""
    fd = os.environ.pop("REDPOLL_DAEMON_READY_FD", None)
    if fd is not None:
        try:
            os.write(int(fd), b"1")
            os.close(int(fd))
        except OSError:
            pass


def write_pidfile(path: str) -> None:
    from redpoll.log import log
    try:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as e:
        log.warning(f"Failed to write PID file: {e.strerror}")


def remove_pidfile(path: str) -> None:
    from redpoll.log import log
    if not path:
        return
    log.notice("Removing the pid file.")
    try:
        os.unlink(path)
    except OSError:
        pass


# -- shutdown ------------------------------------------------------------------------

async def wait_for_replicas(server) -> None:
    """Before a primary with replicas shuts down, give them up to
    ``shutdown-timeout`` seconds to acknowledge everything (Redis 7.0's
    shutdown; SHUTDOWN NOW skips it)."""
    import asyncio
    import time as _time
    from redpoll.log import log
    repl = getattr(server, "repl", None)
    timeout = server.config["shutdown-timeout"]
    if repl is None or server.masterhost is not None or not timeout:
        return
    prim = getattr(repl, "primary", None)
    replicas = [c for c in getattr(prim, "replicas", ()) if not c.closed]
    if not replicas:
        return
    log.warning("Waiting for replicas before shutting down.")
    from redpoll.replication.primary import GETACK
    prim.feed_raw(GETACK)
    deadline = _time.monotonic() + timeout
    while _time.monotonic() < deadline:
        target = repl.master_repl_offset
        if all(c.closed or c.replica_state.ack_off >= target for c in replicas):
            return
        await asyncio.sleep(0.01)
    for c in replicas:
        rs = c.replica_state
        if not c.closed and rs.ack_off < repl.master_repl_offset:
            log.warning(f"Lagging replica {c.addr} reported offset {rs.ack_off} behind "
                        f"master, lag={int(_time.time() - rs.ack_time)}, state={rs.state}.")


# -- signals ------------------------------------------------------------------------

def install_signal_handlers(server, loop=None) -> None:
    """SIGTERM/SIGINT as Redis handles them (see the module docstring)."""
    loop = loop or server.loop

    def on_signal(sig: int) -> None:
        from redpoll.log import log
        name = "SIGTERM" if sig == signal.SIGTERM else "SIGINT"
        if getattr(server, "shutdown_task", None) is not None and \
                not server.shutdown_task.done():
            log.warning("You insist... exiting now.")
            remove_pidfile(server.config["pidfile"])
            os._exit(1)
        log.warning(f"Received {name} scheduling shutdown...")
        opts = str(server.config["shutdown-on-sigterm" if sig == signal.SIGTERM
                                 else "shutdown-on-sigint"]).split()
        save = True if "save" in opts else (False if "nosave" in opts else None)
        if server.loop is None:         # still starting: the loop is ours
            server.loop = loop
        server.shutdown_task = loop.create_task(_signal_shutdown(server, save,
                                                                 "force" in opts))

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except (NotImplementedError, RuntimeError):
            pass


async def _signal_shutdown(server, save, force) -> None:
    from redpoll.errors import RedisError
    from redpoll.log import log
    await wait_for_replicas(server)
    try:
        await server.shutdown(save)
    except RedisError:
        if force:
            await server.shutdown(False)
        else:
            log.warning("SIGTERM received but errors trying to shut down the "
                        "server, check the logs for more information")
            server.shutdown_task = None
