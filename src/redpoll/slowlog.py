"""The slow log, the latency monitor and per-command latency histograms.

Installed as a room: it sets ``server.slowlog_hook`` and keeps
``server.slowlog_threshold_ns`` at the smallest duration anything here needs
(``slowlog-log-slower-than``, ``latency-monitor-threshold``, 0 while
``latency-tracking`` is on), so ``Server.call`` makes one comparison per
command and calls :func:`SlowLog.on_call` only when there is work to do.

* Slow log entries are Redis's: id, unix time, duration in microseconds, the
  arguments (at most 32, the last one then saying ``... (N more arguments)``;
  each at most 128 bytes, then ``... (N more bytes)``), the client's address
  and name. Commands flagged ``skip_slowlog`` are not logged; AUTH and HELLO
  AUTH passwords are not kept.
* Latency events (``command``, ``fast-command``, and whatever other rooms
  report with :func:`latency_add_sample`) keep the last 160 samples, one per
  second, for LATENCY LATEST/HISTORY/RESET/GRAPH/DOCTOR.
* Latency histograms (LATENCY HISTOGRAM, INFO latencystats) count calls per
  power-of-two microsecond bucket for each command. Recording one costs a
  Python call per command (10-15% of GET/SET throughput), so while
  ``latency-tracking`` is yes (the default) recording starts the first time
  someone looks (LATENCY HISTOGRAM, INFO latencystats/all/everything, or an
  explicit CONFIG SET latency-tracking yes) and goes on from then.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from redpoll.commands import table as T

if TYPE_CHECKING:
    from redpoll.server import Server

MAX_ARGC = 32
MAX_STRING = 128
LATENCY_TS_LEN = 160


class SlowLog:
    def __init__(self, server: "Server"):
        self.server = server
        self.entries: list[list] = []      # newest first
        self.next_id = 0
        self.slower_than_us = 10000
        self.max_len = 128
        self.latency_threshold_ms = 0
        self.tracking = True
        self.recording = False      # histograms being recorded (see module doc)
        # latency monitor: event -> list of (unix time, ms) and max
        self.events: dict[str, list[tuple[int, int]]] = {}
        self.event_max: dict[str, int] = {}

    # -- configuration -------------------------------------------------------
    def apply_config(self) -> None:
        cfg = self.server.config
        self.slower_than_us = cfg["slowlog-log-slower-than"]
        self.max_len = cfg["slowlog-max-len"]
        self.latency_threshold_ms = cfg["latency-monitor-threshold"]
        self.tracking = bool(cfg["latency-tracking"])
        if not self.tracking:
            self.recording = False
        del self.entries[self.max_len:]
        limits = []
        if self.slower_than_us >= 0:
            limits.append(self.slower_than_us * 1000)
        if self.latency_threshold_ms > 0:
            limits.append(self.latency_threshold_ms * 1_000_000)
        if self.tracking and self.recording:
            limits.append(0)
        self.server.slowlog_threshold_ns = min(limits) if limits else 10 ** 18

    # -- the hook --------------------------------------------------------------
    def start_recording(self) -> None:
        if self.tracking and not self.recording:
            self.recording = True
            self.apply_config()

    def on_call(self, c, cmd, argv, dur_ns: int) -> None:
        if self.recording:
            hist = cmd.__dict__.get("latency_hist")
            if hist is None:
                hist = cmd.latency_hist = {}
            b = max(0, (dur_ns // 1000)).bit_length()
            hist[b] = hist.get(b, 0) + 1
        us = dur_ns // 1000
        if 0 <= self.slower_than_us <= us and not cmd.flags & T.SKIP_SLOWLOG:
            self.add(c, argv, us)
        if self.latency_threshold_ms and dur_ns >= self.latency_threshold_ms * 1_000_000:
            event = "fast-command" if cmd.flags & T.FAST else "command"
            self.add_sample(event, dur_ns // 1_000_000)

    def add(self, c, argv, us: int) -> None:
        if self.max_len <= 0:
            return
        args = [bytes(a) for a in argv]
        name = args[0].lower() if args else b""
        if name == b"auth":
            args = args[:1] + [b"(redacted)"] * (len(args) - 1)
        elif name == b"hello":
            for i in range(len(args) - 2):
                if args[i].lower() == b"auth":
                    args[i + 1] = args[i + 2] = b"(redacted)"
        elif name == b"migrate":
            from redpoll.commands.migrate import redact
            args = redact(args)
        argc = len(args)
        if argc > MAX_ARGC:
            args = args[:MAX_ARGC - 1] + [
                b"... (%d more arguments)" % (argc - MAX_ARGC + 1)]
        out = []
        for a in args:
            if len(a) > MAX_STRING:
                a = a[:MAX_STRING] + b"... (%d more bytes)" % (len(a) - MAX_STRING)
            out.append(a)
        entry = [self.next_id, int(time.time()), us, out,
                 (c.addr or "").encode(), c.name or b""]
        self.next_id += 1
        self.entries.insert(0, entry)
        del self.entries[self.max_len:]

    # -- latency monitor ---------------------------------------------------------
    def add_sample(self, event: str, ms: int) -> None:
        now = int(time.time())
        series = self.events.setdefault(event, [])
        if series and series[-1][0] == now:
            t, prev = series[-1]
            series[-1] = (t, max(prev, ms))
        else:
            series.append((now, ms))
            if len(series) > LATENCY_TS_LEN:
                del series[0]
        self.event_max[event] = max(self.event_max.get(event, 0), ms)

    def reset_events(self, names: list[str] | None) -> int:
        if not names:
            n = len(self.events)
            self.events.clear()
            self.event_max.clear()
            return n
        n = 0
        for e in names:
            if self.events.pop(e, None) is not None:
                n += 1
            self.event_max.pop(e, None)
        return n


def latency_add_sample(server, event: str, ms: int) -> None:
    """Report ``ms`` of latency for ``event`` (e.g. "fork", "aof-fsync-always")
    when it exceeds latency-monitor-threshold (other rooms call this)."""
    sl = getattr(server, "slowlog", None)
    if sl is not None and sl.latency_threshold_ms and ms >= sl.latency_threshold_ms:
        sl.add_sample(event, ms)


def histogram(cmd) -> tuple[int, list[tuple[int, int]]]:
    """(calls, [(bucket upper bound in usec, cumulative count)])."""
    hist = cmd.__dict__.get("latency_hist") or {}
    calls = sum(hist.values())
    out = []
    acc = 0
    for b in sorted(hist):
        acc += hist[b]
        out.append((1 << b if b else 1, acc))
    return calls, out


def percentile(cmd, p: float) -> float:
    calls, buckets = histogram(cmd)
    if not calls:
        return 0.0
    need = calls * p / 100.0
    for bound, acc in buckets:
        if acc >= need:
            return float(bound)
    return float(buckets[-1][0])


def latencystats_lines(server) -> list[str]:
    sl = getattr(server, "slowlog", None)
    if sl is None or not sl.tracking:
        return []
    sl.start_recording()
    pcts = server.config["latency-tracking-info-percentiles"]
    out = []
    for cmd in T.all_commands():
        if cmd.__dict__.get("latency_hist"):
            parts = ",".join("p%s=%.3f" % ("%g" % p, percentile(cmd, p)) for p in pcts)
            out.append(f"latency_percentiles_usec_{cmd.name}:{parts}")
    return out


def install(server: "Server") -> None:
    sl = SlowLog(server)
    server.slowlog = sl
    server.slowlog_hook = sl.on_call
    cfg = server.config
    for name in ("slowlog-log-slower-than", "slowlog-max-len", "latency-monitor-threshold"):
        cfg.watch(name, lambda old, new: sl.apply_config())
    cfg.watch("latency-tracking", lambda old, new: (
        sl.apply_config(), sl.start_recording() if new else None))
    sl.apply_config()
    resets = getattr(server, "resetstat_hooks", None)
    if resets is None:
        resets = server.resetstat_hooks = []
    resets.append(lambda: _reset_hist())


def _reset_hist() -> None:
    for cmd in T.all_commands():
        cmd.__dict__.pop("latency_hist", None)
