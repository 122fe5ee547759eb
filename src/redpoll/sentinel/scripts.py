"""notification-script and client-reconfig-script runs, as Redis schedules them.

Jobs wait in a queue (at most 256; the oldest job not running is dropped),
at most 16 run at once, a job that exits with 1 or is killed by a signal is
retried up to 10 times with a doubling delay (script-retry-delay), and one
running longer than script-max-runtime is killed (``-script-timeout``).
Other exit codes end the job; non-zero ones are reported as ``-script-error``.
"""

from __future__ import annotations

import os
import signal
import subprocess

from redpoll.log import DEBUG, WARNING
from redpoll.sentinel.instance import mstime

MAX_QUEUE = 256
MAX_RUNNING = 16
MAX_RETRY = 10


class Job:
    __slots__ = ("argv", "running", "retry_num", "start_time", "proc")

    def __init__(self, argv: list[str]):
        self.argv = argv
        self.running = False
        self.retry_num = 0
        self.start_time = 0
        self.proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None and self.running else 0


class Scripts:
    def __init__(self, sentinel):
        self.sentinel = sentinel
        self.queue: list[Job] = []

    @property
    def running(self) -> int:
        return sum(1 for j in self.queue if j.running)

    def schedule(self, path: str, *args: str) -> None:
        self.queue.append(Job([path, *args]))
        if len(self.queue) > MAX_QUEUE:
            for j in self.queue:
                if not j.running:
                    self.queue.remove(j)
                    break

    def run_pending(self) -> None:
        now = mstime()
        running = self.running
        for job in self.queue:
            if running >= MAX_RUNNING:
                break
            if job.running or (job.start_time and job.start_time > now):
                continue
            job.running = True
            job.start_time = mstime()
            job.retry_num += 1
            try:
                job.proc = subprocess.Popen(job.argv, stdin=subprocess.DEVNULL,
                                            close_fds=True)
            except OSError:
                self.sentinel.event(WARNING, "-script-error", None,
                                    f"{job.argv[0]} 99 0")
                job.running = False
                job.start_time = 0
                continue
            running += 1
            self.sentinel.event(DEBUG, "+script-child", None, str(job.proc.pid))

    def collect_terminated(self) -> None:
        for job in list(self.queue):
            if not job.running or job.proc is None:
                continue
            rc = job.proc.poll()
            if rc is None:
                continue
            bysignal = -rc if rc < 0 else 0
            exitcode = rc if rc >= 0 else 0
            self.sentinel.event(DEBUG, "-script-child", None,
                                f"{job.proc.pid} {exitcode} {bysignal}")
            if (bysignal or exitcode == 1) and job.retry_num != MAX_RETRY:
                job.running = False
                delay = self.sentinel.p["script-retry-delay"] * 2 ** max(0, job.retry_num - 1)
                job.start_time = mstime() + delay
            else:
                if bysignal or exitcode != 0:
                    self.sentinel.event(WARNING, "-script-error", None,
                                        f"{job.argv[0]} {bysignal} {exitcode}")
                self.queue.remove(job)

    def kill_timed_out(self) -> None:
        now = mstime()
        for job in self.queue:
            if job.running and now - job.start_time > self.sentinel.p["script-max-runtime"]:
                self.sentinel.event(WARNING, "-script-timeout", None,
                                    f"{job.argv[0]} {job.pid}")
                try:
                    os.kill(job.proc.pid, signal.SIGKILL)
                except OSError:
                    pass

    def pending_reply(self) -> list:
        """SENTINEL PENDING-SCRIPTS."""
        from redpoll.protocol.resp import Map
        now = mstime()
        out = []
        for j in self.queue:
            m = [(b"argv", [a.encode() for a in j.argv]),
                 (b"flags", b"running" if j.running else b"scheduled"),
                 (b"pid", str(j.pid).encode())]
            if j.running:
                m.append((b"run-time", str(now - j.start_time).encode()))
            else:
                delay = max(0, j.start_time - now) if j.start_time else 0
                m.append((b"run-delay", str(delay).encode()))
            m.append((b"retry-num", str(j.retry_num).encode()))
            out.append(Map(m))
        return out
