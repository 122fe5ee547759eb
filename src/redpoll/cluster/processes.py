"""Starting, stopping and waiting for the cluster's processes.

Every process runs in its own session (it outlives the ``redpoll cluster``
command that started it), writes stdout/stderr to its log file, and its pid
goes into a pid file next to its config. A pid counts as ours only while
/proc says the process still runs with our config file on its command line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from redpoll.cluster.layout import Cluster, ClusterError, Node


def command_for(node: Node, root: Path) -> list[str]:
    conf = str(node.config_path(root))
    if node.kind == "server":
        return [sys.executable, "-m", "redpoll", "server", conf]
    if node.kind == "sentinel":
        return [sys.executable, "-m", "redpoll", "sentinel", conf]
    return ["haproxy", "-f", conf, "-db"]


def pid_of(node: Node, root: Path) -> int | None:
    """The node's pid while it runs, else None."""
    try:
        pid = int(node.pid_path(root).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if alive(pid, str(node.config_path(root))) else None


def alive(pid: int, marker: str | None = None) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        if state in (b"Z", b"X"):
            return False
        if marker is not None:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return marker.encode() in f.read()
        return True
    except (OSError, IndexError):
        return False


def start(node: Node, root: Path) -> int:
    """Start the node's process (detached); returns its pid."""
    log = open(node.log_path(root), "ab")
    try:
        proc = subprocess.Popen(command_for(node, root), cwd=node.path(root),
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as e:
        raise ClusterError(f"cannot start {node.name}: {e}") from None
    finally:
        log.close()
    node.pid_path(root).write_text(f"{proc.pid}\n")
    return proc.pid


def stop(node: Node, root: Path, sig: int = signal.SIGTERM, timeout: float = 30.0) -> bool:
    """Signal the node and wait for it to exit (SIGKILL after ``timeout``).
    Returns False when it was not running."""
    pid = pid_of(node, root)
    if pid is None:
        return False
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    if not wait_for(lambda: not alive(pid), timeout):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        wait_for(lambda: not alive(pid), 10)
    return True


def wait_for(cond, timeout: float, interval: float = 0.05) -> bool:
    """Poll ``cond()`` until truthy (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if cond():
                return True
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, lines: int = 20) -> str:
    try:
        data = path.read_bytes()[-64 * 1024:]
    except OSError:
        return "(no log yet)"
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def client(cluster: Cluster, node: Node, timeout: float = 2.0) -> redis.Redis:
    """A redis-py client for the node (servers, and HAProxy in front of them, with
    the cluster's password).

    It never retries: redis-py 8 resends a command whose reply timed out (up to
    10 times), and a resent SENTINEL FAILOVER that arrives after the first
    failover finished fails over again, back to the old primary. Our callers
    poll (``wait_for``) where they want another try."""
    pw = cluster.password if node.kind != "sentinel" and cluster.password else None
    return redis.Redis(host=node.host, port=node.port, password=pw, socket_timeout=timeout,
                       socket_connect_timeout=timeout, decode_responses=True,
                       retry=Retry(NoBackoff(), 0))


def wait_answering(cluster: Cluster, node: Node, timeout: float = 90.0) -> None:
    """Wait until the node answers PING; a clear error (with its log) if it dies,
    does not come up, or refuses the password."""
    root = cluster.root
    c = client(cluster, node)
    deadline = time.monotonic() + timeout
    last = None
    try:
        while time.monotonic() < deadline:
            if pid_of(node, root) is None:
                raise ClusterError(
                    f"{node.name} (port {node.port}) exited while starting. "
                    f"Last lines of {node.log_path(root)}:\n{tail(node.log_path(root))}\n"
                    f"Fix the cause, then run: redpoll cluster up --dir {root}")
            try:
                if node.kind == "haproxy":
                    import socket
                    socket.create_connection((node.host, node.port), 1).close()
                    return
                c.ping()
                return
            except redis.AuthenticationError as e:
                raise ClusterError(
                    f"{node.name} (port {node.port}) refused the password: {e}. "
                    f"Its requirepass in {node.config_path(root)} differs from the "
                    f"password in {cluster.state_path}; make them equal and retry.") from None
            except redis.BusyLoadingError:
                last = "loading its dataset"
            except (redis.RedisError, OSError) as e:
                last = str(e)
            time.sleep(0.1)
    finally:
        c.close()
    raise ClusterError(
        f"{node.name} did not answer on port {node.port} within {timeout:.0f}s "
        f"(last error: {last}). Last lines of {node.log_path(root)}:\n"
        f"{tail(node.log_path(root))}\n"
        f"See the whole log with: redpoll cluster logs {node.name} --dir {root}")
