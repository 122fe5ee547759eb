"""FAILOVER: a coordinated switch of roles between a primary and a replica
(Redis 6.2+).

``FAILOVER [TO host port [FORCE]] [TIMEOUT ms]`` pauses writes on the
primary (``waiting-for-sync``) until the target replica -- or, without TO,
any replica -- has acknowledged the whole stream, then makes the primary a
replica of it (``failover-in-progress``) with ``PSYNC replid offset
FAILOVER``, which tells the replica to promote itself before answering. The
switch ends when the new primary answers the PSYNC; an error, a timeout
without FORCE, or ``FAILOVER ABORT`` restores the old roles.
"""

from __future__ import annotations

import time

from redpoll.log import log

NO_FAILOVER, WAIT_FOR_SYNC, IN_PROGRESS = "no-failover", "waiting-for-sync", "failover-in-progress"


class Failover:
    def __init__(self, repl):
        self.repl = repl
        self.server = repl.server
        self.host: str | None = None
        self.port = 0
        self.end_time = 0.0
        self.force = False

    @property
    def state(self) -> str:
        return self.repl.failover_state

    def start(self, host: str | None, port: int, timeout_ms: int, force: bool) -> None:
        from redpoll.commands.connection import pause_clients
        self.host, self.port = host, port
        self.force = force
        self.end_time = time.time() + timeout_ms / 1000.0 if timeout_ms else 0.0
        if host:
            log.notice(f"FAILOVER requested to {host}:{port}.")
        else:
            log.notice("FAILOVER requested to any replica.")
        self.repl.failover_state = WAIT_FOR_SYNC
        pause_clients(self.server, time.time() + 10 ** 9, True)
        self.check()

    def _clear(self) -> None:
        from redpoll.commands.connection import unpause_clients
        self.repl.failover_state = NO_FAILOVER
        self.host, self.port, self.end_time, self.force = None, 0, 0.0, False
        unpause_clients(self.server)

    def abort(self, reason: str) -> None:
        if self.state == NO_FAILOVER:
            return
        target = f"{self.host}:{self.port}" if self.host else "any replica"
        log.notice(f"FAILOVER to {target} aborted: {reason}")
        in_progress = self.state == IN_PROGRESS
        self._clear()
        if in_progress:
            self.repl.unset_master(failover_aborted=True)

    def done(self) -> None:
        """The new primary accepted our PSYNC: the switch is complete."""
        log.notice(f"Failover to {self.host}:{self.port} completed.")
        self._clear()

    def check(self) -> None:
        """From the cron: has the target caught up (or the time run out)?"""
        if self.state != WAIT_FOR_SYNC:
            return
        primary = self.repl.primary
        if self.end_time and time.time() >= self.end_time:
            if self.force and self.host:
                log.notice(f"FAILOVER to {self.host}:{self.port} time out exceeded, "
                           f"failing over.")
                self._switch()
            else:
                self.abort("Replica never caught up before timeout")
            return
        offset = self.repl.master_repl_offset
        if self.host:
            c = primary.find_replica(self.host, self.port)
            if c is None or c.replica_state.ack_off != offset:
                return
        else:
            c = next((r for r in primary.replicas
                      if r.replica_state.state == "online"
                      and r.replica_state.ack_off == offset), None)
            if c is None:
                return
            self.host, self.port = primary.address(c), c.replica_state.listening_port
        log.notice(f"Failover target {self.host}:{self.port} is synced, failing over.")
        self._switch()

    def _switch(self) -> None:
        self.repl.failover_state = IN_PROGRESS
        self.repl.set_master(self.host, self.port, failover=True)
