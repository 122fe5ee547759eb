"""Forked children: background saves and AOF rewrites, as Redis does them.

One child at a time (like Redis's ``hasActiveChildProcess``). The parent
freezes the garbage collector's view of every existing object before
forking (``gc.freeze()``): otherwise a collection in the parent would write
to every object header and copy every page the child still shares. The
objects stay frozen until the child exits.

The child reports through a pipe: ``P <keys> <cow bytes>`` now and then and
``D <cow bytes>`` at the end; the parent reads it from the event loop and
keeps the figures INFO persistence shows (current_cow_size,
current_save_keys_processed, ...). When the pipe closes the parent reaps the
child and calls the ``on_done(ok, by_signal)`` callback given to
:meth:`Children.fork`.

The copy-on-write size is the child's ``Private_Dirty`` memory
(/proc/self/smaps_rollup), the figure Redis reports.
"""

from __future__ import annotations

import gc
import os
import select
import signal
import time
from typing import Callable

from redpoll.log import log


def private_dirty() -> int:
    """Bytes of this process's memory that are private and dirty (CoW)."""
    try:
        with open("/proc/self/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Reporter:
    """The child's side of the info pipe (rate-limited progress reports)."""

    def __init__(self, fd: int):
        self.fd = fd
        self.last = 0.0
        self.cow_peak = 0
        self.cow_sum = 0
        self.cow_samples = 0

    def _send(self, line: str) -> None:
        try:
            os.write(self.fd, line.encode())
        except OSError:
            pass

    def __call__(self, keys: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        self.last = now
        cow = self.sample()
        self._send(f"P {keys} {cow}\n")

    def sample(self) -> int:
        cow = private_dirty()
        self.cow_peak = max(self.cow_peak, cow)
        self.cow_sum += cow
        self.cow_samples += 1
        return cow

    def done(self, what: str) -> None:
        cow = self.sample()
        avg = self.cow_sum // max(1, self.cow_samples)
        mb = 1024 * 1024
        log.notice(f"Fork CoW for {what}: current {cow // mb} MB, peak "
                   f"{self.cow_peak // mb} MB, average {avg // mb} MB")
        self._send(f"D {cow}\n")


class Children:
    """The server's (at most one) forked child and its figures."""

    def __init__(self, server):
        self.server = server
        self.pid: int | None = None
        self.kind: str | None = None       # "rdb" or "aof"
        self.started = 0.0
        self.fd = -1
        self._buf = b""
        self.on_done: Callable[[bool, int], None] | None = None
        self.cow_size = 0
        self.cow_peak = 0
        self.cow_updated = 0.0
        self.keys_processed = 0
        self.keys_total = 0
        self.last_cow = {"rdb": 0, "aof": 0}

    def active(self) -> bool:
        return self.pid is not None

    def fork(self, kind: str, body: Callable[[Reporter], int],
             on_done: Callable[[bool, int], None], keys_total: int = 0) -> int:
        """Run ``body(reporter)`` in a forked child; returns the child's pid.

        ``body`` returns the exit status (0 = success). Raises OSError if
        fork fails."""
        if self.pid is not None:
            raise RuntimeError("a child process is already active")
        r, w = os.pipe()
        gc.freeze()
        t0 = time.perf_counter()
        try:
            pid = os.fork()
        except OSError:
            gc.unfreeze()
            os.close(r)
            os.close(w)
            raise
        if pid == 0:  # -------- child
            code = 1
            try:
                os.close(r)
                gc.disable()
                log.role = "C"
                try:
                    signal.set_wakeup_fd(-1)
                except (ValueError, OSError):
                    pass
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
                    signal.signal(sig, signal.SIG_DFL)
                code = body(Reporter(w))
            except BaseException as e:  # noqa: BLE001 - report and exit
                try:
                    log.warning(f"Child process failed: {type(e).__name__}: {e}")
                except BaseException:
                    pass
                code = 1
            finally:
                os._exit(code)
        # -------- parent
        srv = self.server
        srv.latest_fork_usec = int((time.perf_counter() - t0) * 1e6)
        srv.total_forks = getattr(srv, "total_forks", 0) + 1
        os.close(w)
        self.pid = pid
        self.kind = kind
        self.started = time.time()
        self.fd = r
        self._buf = b""
        self.on_done = on_done
        self.cow_size = self.cow_peak = 0
        self.cow_updated = time.time()
        self.keys_processed = 0
        self.keys_total = keys_total
        os.set_blocking(r, False)
        srv.loop.add_reader(r, self._readable)
        return pid

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._buf += data
            *lines, self._buf = self._buf.split(b"\n")
            for line in lines:
                parts = line.split()
                if parts and parts[0] == b"P" and len(parts) == 3:
                    self.keys_processed = int(parts[1])
                    self._cow(int(parts[2]))
                elif parts and parts[0] == b"D" and len(parts) == 2:
                    self._cow(int(parts[1]))
                    self.keys_processed = self.keys_total
            return
        self._finish()

    def _cow(self, n: int) -> None:
        self.cow_size = n
        self.cow_peak = max(self.cow_peak, n)
        self.cow_updated = time.time()

    def _finish(self) -> None:
        self.server.loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = -1
        pid = self.pid
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = 1 << 8
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        by_signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
        self.last_cow[self.kind] = self.cow_size
        cb = self.on_done
        self.pid = None
        self.kind = None
        self.on_done = None
        gc.unfreeze()
        if cb is not None:
            try:
                cb(ok, by_signal)
            except Exception as e:  # keep the loop alive
                log.warning(f"child completion handler failed: {e!r}")

    def kill(self) -> None:
        """Stop the child (SIGUSR1, as Redis does) and wait for it; the
        completion callback runs with ok=False."""
        if self.pid is None:
            return
        try:
            os.kill(self.pid, signal.SIGUSR1)
        except ProcessLookupError:
            pass
        self._finish()

    def wait(self) -> None:
        """Block until the child exits (used at shutdown)."""
        if self.pid is not None:
            self._finish()


def children(server) -> Children:
    """The server's :class:`Children` (created on first use)."""
    ch = getattr(server, "children", None)
    if ch is None:
        ch = server.children = Children(server)
    return ch


def write_all(fd: int, data) -> None:
    """Write everything to ``fd`` even if it is non-blocking (sockets shared
    with the parent keep their flags: wait with poll instead)."""
    mv = memoryview(data)
    poller = None
    while mv:
        try:
            n = os.write(fd, mv)
            mv = mv[n:]
        except BlockingIOError:
            if poller is None:
                poller = select.poll()
                poller.register(fd, select.POLLOUT)
            poller.poll(1000)
