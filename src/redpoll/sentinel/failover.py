"""The failover state machine.

wait_start (win the election, or give up after the election timeout) ->
select_slave (pick the replica as Redis does) -> send_slaveof_noone ->
wait_promotion (the replica's INFO says role:master) -> reconf_slaves (point
the other replicas at it, ``parallel-syncs`` at a time) -> update_config
(the monitor switches the master's address: ``+switch-master``).

Reconfiguration is sent as Redis Sentinel sends it: ``MULTI``,
``SLAVEOF host port``, ``CONFIG REWRITE``, ``CLIENT KILL TYPE normal``,
``CLIENT KILL TYPE pubsub``, ``EXEC``.

redpoll additions: a manual failover (``SENTINEL FAILOVER``) first pauses
writes on the old master (``CLIENT PAUSE ... WRITE``) and waits until the
chosen replica has caught up with its replication offset, so no acknowledged
write is lost; the promotion is watched with a 20 ms INFO poll.
"""

from __future__ import annotations

import random
import time

from redpoll.log import NOTICE, WARNING, log
from redpoll.sentinel.election import MAX_DESYNC, get_leader
from redpoll.sentinel.instance import (
    FO_NONE, FO_RECONF_SLAVES, FO_SELECT_SLAVE, FO_SEND_SLAVEOF_NOONE,
    FO_UPDATE_CONFIG, FO_WAIT_PROMOTION, FO_WAIT_START, SRI_FAILOVER_IN_PROGRESS,
    SRI_FORCE_FAILOVER, SRI_O_DOWN, SRI_PROMOTED, SRI_RECONF_DONE,
    SRI_RECONF_INPROG, SRI_RECONF_SENT, SRI_S_DOWN, Addr, mstime)

SIMFAILURE_CRASH_AFTER_ELECTION = 1
SIMFAILURE_CRASH_AFTER_PROMOTION = 2
# manual failover: how long the old master's writes stay paused at most
MANUAL_PAUSE_MAX_MS = 5000


def current_master_addr(master) -> Addr:
    """The promoted replica's address once the replicas are being moved."""
    if (master.flags & SRI_FAILOVER_IN_PROGRESS and master.promoted_slave is not None
            and master.failover_state >= FO_RECONF_SLAVES):
        return master.promoted_slave.addr
    return master.addr


def send_slaveof(sentinel, ri, addr: Addr | None) -> bool:
    """SLAVEOF host port (NO ONE when addr is None) + CONFIG REWRITE + client
    kills, in one transaction."""
    cc = ri.link.cc
    if cc is None or ri.link.disconnected:
        return False
    if addr is None:
        host, port = "NO", "ONE"
    else:
        host, port = sentinel.announce_addr(addr), str(addr.port)
    m = ri.map_command
    cc.send([m("MULTI")])
    cc.send([m("SLAVEOF"), host, port])
    cc.send([m("CONFIG"), "REWRITE"])
    cc.send([m("CLIENT"), "KILL", "TYPE", "normal"])
    cc.send([m("CLIENT"), "KILL", "TYPE", "pubsub"])
    if addr is not None and ri.writes_paused:
        cc.send([m("CLIENT"), "UNPAUSE"])
        ri.writes_paused = False
    cc.send([m("EXEC")])
    return True


def start_failover(sentinel, master) -> None:
    master.failover_state = FO_WAIT_START
    master.flags |= SRI_FAILOVER_IN_PROGRESS
    sentinel.current_epoch += 1
    master.failover_epoch = sentinel.current_epoch
    sentinel.event(WARNING, "+new-epoch", master, str(sentinel.current_epoch))
    sentinel.event(WARNING, "+try-failover", master, "%@")
    master.failover_start_time = mstime() + random.randrange(MAX_DESYNC)
    master.failover_state_change_time = mstime()
    master.pause_target = None


# redpoll: once the master is objectively down, a sentinel waits this long
# per usable sentinel with a smaller run id before it tries to fail over.
RANK_DELAY_MS = 150


def _rank_delay(sentinel, master) -> int:
    """Sentinels that reach ODOWN together would all ask for votes at once
    and split them (each voting for itself), so nobody is elected and the
    failover waits for the retry (2 x failover-timeout). Instead the usable
    sentinel with the smallest run id goes first and the others, a little
    later, find they have already voted for it."""
    me = sentinel.myid.lower()
    rank = sum(1 for s in master.sentinels.values()
               if s.runid and s.runid.lower() < me and not s.link.disconnected
               and not s.flags & (SRI_S_DOWN | SRI_O_DOWN))
    return rank * RANK_DELAY_MS


def start_if_needed(sentinel, master) -> bool:
    if not master.flags & SRI_O_DOWN or master.flags & SRI_FAILOVER_IN_PROGRESS:
        return False
    if mstime() - master.o_down_since_time < _rank_delay(sentinel, master):
        return False
    if mstime() - master.failover_start_time < master.failover_timeout * 2:
        if master.failover_delay_logged != master.failover_start_time:
            when = (master.failover_start_time + master.failover_timeout * 2) / 1000
            master.failover_delay_logged = master.failover_start_time
            log.warning("Next failover delay: I will not start a failover before "
                        + time.ctime(when))
        return False
    start_failover(sentinel, master)
    return True


def select_slave(sentinel, master):
    """The replica to promote, or None: skip down, disconnected, silent,
    priority 0, stale INFO and replicas cut off from the master too long;
    then lowest priority, largest offset, smallest run id."""
    now = mstime()
    p = sentinel.p
    max_master_down = master.down_after_period * 10
    if master.flags & SRI_S_DOWN:
        max_master_down += now - master.s_down_since_time
    validity = p["ping-period"] * 5 if master.flags & SRI_S_DOWN else p["info-period"] * 3
    ok = []
    for s in master.slaves.values():
        if s.flags & (SRI_S_DOWN | SRI_O_DOWN) or s.link.disconnected:
            continue
        if now - s.link.last_avail_time > p["ping-period"] * 5:
            continue
        if s.slave_priority == 0:
            continue
        if now - s.info_refresh > validity:
            continue
        if s.master_link_down_time > max_master_down:
            continue
        ok.append(s)
    if not ok:
        return None
    # runid: a missing one sorts last; others compared case-insensitively
    ok.sort(key=lambda s: (s.slave_priority, -s.slave_repl_offset,
                           s.runid is None, (s.runid or "").lower()))
    return ok[0]


def abort(sentinel, master) -> None:
    master.flags &= ~(SRI_FAILOVER_IN_PROGRESS | SRI_FORCE_FAILOVER)
    master.failover_state = FO_NONE
    master.failover_state_change_time = mstime()
    if master.promoted_slave is not None:
        master.promoted_slave.flags &= ~SRI_PROMOTED
        master.promoted_slave = None
    if master.writes_paused and master.link.cc is not None:
        master.link.cc.send([master.map_command("CLIENT"), "UNPAUSE"])
    master.writes_paused = False
    master.pause_target = None


def _master_is_back(master) -> bool:
    """redpoll: an automatic failover that has not promoted anybody yet is
    dropped when the master answers again (its SDOWN is over). A master that
    stalled for about down-after milliseconds on a loaded machine would
    otherwise be replaced although it is fine, and the writes it acknowledged
    since the replicas' last offsets would be lost (Redis Sentinel goes on
    with such a failover)."""
    return (not master.flags & (SRI_S_DOWN | SRI_FORCE_FAILOVER)
            and master.failover_state in (FO_WAIT_START, FO_SELECT_SLAVE,
                                          FO_SEND_SLAVEOF_NOONE))


def state_machine(sentinel, master) -> None:
    if not master.flags & SRI_FAILOVER_IN_PROGRESS:
        return
    if _master_is_back(master):
        sentinel.event(WARNING, "-failover-abort-master-is-back", master, "%@")
        abort(sentinel, master)
        # no retry delay (2 x failover-timeout): should the master go down
        # again for good, its failover starts at once
        master.failover_start_time = 0
        return
    st = master.failover_state
    if st == FO_WAIT_START:
        _wait_start(sentinel, master)
    elif st == FO_SELECT_SLAVE:
        _select_slave(sentinel, master)
    elif st == FO_SEND_SLAVEOF_NOONE:
        _send_slaveof_noone(sentinel, master)
    elif st == FO_WAIT_PROMOTION:
        if mstime() - master.failover_state_change_time > master.failover_timeout:
            sentinel.event(WARNING, "-failover-abort-slave-timeout", master, "%@")
            abort(sentinel, master)
    elif st == FO_RECONF_SLAVES:
        _reconf_next_slave(sentinel, master)


def _wait_start(sentinel, master) -> None:
    leader = get_leader(sentinel, master, master.failover_epoch)
    is_leader = leader is not None and leader.lower() == sentinel.myid.lower()
    if not is_leader and not master.flags & SRI_FORCE_FAILOVER:
        timeout = min(sentinel.p["election-timeout"], master.failover_timeout)
        if mstime() - master.failover_start_time > timeout:
            sentinel.event(WARNING, "-failover-abort-not-elected", master, "%@")
            abort(sentinel, master)
        return
    sentinel.event(WARNING, "+elected-leader", master, "%@")
    if sentinel.simfailure_flags & SIMFAILURE_CRASH_AFTER_ELECTION:
        _crash()
    master.failover_state = FO_SELECT_SLAVE
    master.failover_state_change_time = mstime()
    sentinel.event(WARNING, "+failover-state-select-slave", master, "%@")


def _fresh_offsets(sentinel, master) -> bool:
    """redpoll: before choosing, every usable replica must have answered an
    INFO sent after the master was seen down, so the offsets compared are
    final (a stale offset could promote the replica that missed the last
    acknowledged writes). Waits at most 1 s."""
    if not master.flags & SRI_S_DOWN:
        return True
    if mstime() - master.failover_state_change_time > 1000:
        return True
    return all(s.info_refresh >= master.s_down_since_time
               for s in master.slaves.values()
               if not s.link.disconnected and not s.flags & (SRI_S_DOWN | SRI_O_DOWN))


def _select_slave(sentinel, master) -> None:
    if not _fresh_offsets(sentinel, master):
        return
    slave = select_slave(sentinel, master)
    if slave is None:
        sentinel.event(WARNING, "-failover-abort-no-good-slave", master, "%@")
        abort(sentinel, master)
        return
    sentinel.event(WARNING, "+selected-slave", slave, "%@")
    slave.flags |= SRI_PROMOTED
    master.promoted_slave = slave
    master.failover_state = FO_SEND_SLAVEOF_NOONE
    master.failover_state_change_time = mstime()
    sentinel.event(NOTICE, "+failover-state-send-slaveof-noone", slave, "%@")


def _send_slaveof_noone(sentinel, master) -> None:
    slave = master.promoted_slave
    if slave.link.disconnected:
        if mstime() - master.failover_state_change_time > master.failover_timeout:
            sentinel.event(WARNING, "-failover-abort-slave-timeout", master, "%@")
            abort(sentinel, master)
        return
    if not _manual_catch_up_done(sentinel, master, slave):
        return
    if not send_slaveof(sentinel, slave, None):
        return
    sentinel.event(NOTICE, "+failover-state-wait-promotion", slave, "%@")
    master.failover_state = FO_WAIT_PROMOTION
    master.failover_state_change_time = mstime()


def _manual_catch_up_done(sentinel, master, slave) -> bool:
    """Manual failover of a reachable master: pause its writes, learn its
    offset, and wait (bounded) for the replica to reach it."""
    if (not master.flags & SRI_FORCE_FAILOVER or master.flags & SRI_S_DOWN
            or master.link.disconnected or master.link.cc is None):
        return True
    target = master.pause_target
    now = mstime()
    if target is None:
        pause = min(master.failover_timeout, MANUAL_PAUSE_MAX_MS * 2)
        cc = master.link.cc
        cc.send([master.map_command("CLIENT"), "PAUSE", str(pause), "WRITE"])
        master.writes_paused = True
        master.pause_target = -1
        master.pause_deadline = now + MANUAL_PAUSE_MAX_MS

        def got_info(r, master=master):
            if isinstance(r, bytes):
                for line in r.decode("utf-8", "replace").split("\r\n"):
                    if line.startswith("master_repl_offset:"):
                        try:
                            master.pause_target = int(line[19:])
                        except ValueError:
                            pass
                        return
            master.pause_target = 0
        cc.send([master.map_command("INFO"), "replication"], got_info)
        return False
    if now > master.pause_deadline:
        return True
    if target < 0:
        return False
    return slave.slave_repl_offset >= target


def promotion_seen(sentinel, slave) -> None:
    """The promoted replica reports role:master: move on to the others."""
    master = slave.master
    master.config_epoch = master.failover_epoch
    master.failover_state = FO_RECONF_SLAVES
    master.failover_state_change_time = mstime()
    sentinel.flush_config()
    sentinel.event(WARNING, "+promoted-slave", slave, "%@")
    if sentinel.simfailure_flags & SIMFAILURE_CRASH_AFTER_PROMOTION:
        _crash()
    sentinel.event(WARNING, "+failover-state-reconf-slaves", master, "%@")
    sentinel.call_client_reconf_script(master, "leader", "start", master.addr, slave.addr)
    sentinel.force_hello_update(master)


def _reconf_next_slave(sentinel, master) -> None:
    in_progress = sum(1 for s in master.slaves.values()
                      if s.flags & (SRI_RECONF_SENT | SRI_RECONF_INPROG))
    now = mstime()
    for s in master.slaves.values():
        if in_progress >= master.parallel_syncs:
            break
        if s.flags & (SRI_PROMOTED | SRI_RECONF_DONE):
            continue
        if (s.flags & SRI_RECONF_SENT and
                now - s.slave_reconf_sent_time > sentinel.p["slave-reconf-timeout"]):
            sentinel.event(NOTICE, "-slave-reconf-sent-timeout", s, "%@")
            s.flags = (s.flags & ~SRI_RECONF_SENT) | SRI_RECONF_DONE
        if s.flags & (SRI_RECONF_SENT | SRI_RECONF_INPROG) or s.link.disconnected:
            continue
        if send_slaveof(sentinel, s, master.promoted_slave.addr):
            s.flags |= SRI_RECONF_SENT
            s.slave_reconf_sent_time = mstime()
            sentinel.event(NOTICE, "+slave-reconf-sent", s, "%@")
            in_progress += 1
    _detect_end(sentinel, master)


def _detect_end(sentinel, master) -> None:
    elapsed = mstime() - master.failover_state_change_time
    promoted = master.promoted_slave
    if promoted is None or promoted.flags & SRI_S_DOWN:
        return
    not_reconfigured = sum(
        1 for s in master.slaves.values()
        if not s.flags & (SRI_PROMOTED | SRI_RECONF_DONE) and not s.flags & SRI_S_DOWN)
    timeout = False
    if elapsed > master.failover_timeout:
        not_reconfigured = 0
        timeout = True
        sentinel.event(WARNING, "+failover-end-for-timeout", master, "%@")
    if not_reconfigured == 0:
        sentinel.event(WARNING, "+failover-end", master, "%@")
        master.failover_state = FO_UPDATE_CONFIG
        master.failover_state_change_time = mstime()
    if timeout:
        for s in master.slaves.values():
            if s.flags & (SRI_PROMOTED | SRI_RECONF_DONE | SRI_RECONF_SENT):
                continue
            if s.link.disconnected:
                continue
            if send_slaveof(sentinel, s, promoted.addr):
                sentinel.event(NOTICE, "+slave-reconf-sent-be", s, "%@")
                s.flags |= SRI_RECONF_SENT


def switch_to_promoted(sentinel, master) -> None:
    ref = master.promoted_slave or master
    paused = master.writes_paused
    sentinel.event(WARNING, "+switch-master", master,
                   f"{master.name} {sentinel.announce_addr(master.addr)} "
                   f"{master.addr.port} {sentinel.announce_addr(ref.addr)} {ref.addr.port}")
    old = master.addr.copy()
    sentinel.reset_master_and_change_address(master, ref.addr.hostname, ref.addr.port)
    master.writes_paused = False
    master.pause_target = None
    if paused:
        # the old master (now listed as a replica) still has writes paused:
        # the SLAVEOF that demotes it will lift the pause
        for s in master.slaves.values():
            if s.addr.same(old):
                s.writes_paused = True


def _crash() -> None:
    log.warning("Sentinel CRASH because of SENTINEL simulate-failure")
    import os
    os._exit(99)
