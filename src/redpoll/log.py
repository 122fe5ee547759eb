"""Logging in Redis's format.

    12345:M 22 Nov 2026 10:00:00.123 * Ready to accept connections tcp

pid, role character (M primary, S replica, C forked child, X sentinel), the
time with milliseconds, the level mark (``.`` debug, ``-`` verbose, ``*``
notice, ``#`` warning) and the message. Output goes to ``logfile`` or stdout.
As Redis does, the log file is opened for each line, so a rotated file
(logrotate's move-and-create) is picked up at once.
"""

from __future__ import annotations

import os
import sys
import time

DEBUG, VERBOSE, NOTICE, WARNING = 0, 1, 2, 3
LEVELS = {"debug": DEBUG, "verbose": VERBOSE, "notice": NOTICE, "warning": WARNING}
_MARKS = ".-*#"


class Logger:
    def __init__(self):
        self.level = NOTICE
        self.role = "M"
        self.path = ""

    def configure(self, level: str, path: str) -> None:
        self.level = LEVELS.get(level, NOTICE)
        self.path = path

    def log(self, level: int, msg: str) -> None:
        if level < self.level:
            return
        now = time.time()
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
        line = (f"{os.getpid()}:{self.role} {stamp}.{int(now * 1000) % 1000:03d} "
                f"{_MARKS[level]} {msg}\n")
        try:
            if self.path:
                with open(self.path, "a", encoding="utf-8", errors="replace") as f:
                    f.write(line)
            else:
                sys.stdout.write(line)
                sys.stdout.flush()
        except (OSError, ValueError):
            pass

    def debug(self, msg: str) -> None:
        self.log(DEBUG, msg)

    def verbose(self, msg: str) -> None:
        self.log(VERBOSE, msg)

    def notice(self, msg: str) -> None:
        self.log(NOTICE, msg)

    def warning(self, msg: str) -> None:
        self.log(WARNING, msg)


log = Logger()
