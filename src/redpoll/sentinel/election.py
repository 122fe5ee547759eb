"""Leader election: which sentinel may fail a master over in an epoch.

Each sentinel votes at most once per epoch (first come, first served), either
when asked through ``SENTINEL IS-MASTER-DOWN-BY-ADDR ... <runid>`` or for
itself when it starts a failover. A sentinel is the leader of an epoch when
it holds the votes of a majority of the sentinels it knows (itself included)
and at least ``quorum`` of them.
"""

from __future__ import annotations

import random

from redpoll.log import WARNING

MAX_DESYNC = 1000      # ms of random delay added to failover start times


def vote_leader(sentinel, master, req_epoch: int, req_runid: str):
    """sentinelVoteLeader: returns (leader runid or None, leader epoch)."""
    from redpoll.sentinel.instance import mstime
    if req_epoch > sentinel.current_epoch:
        sentinel.current_epoch = req_epoch
        sentinel.flush_config()
        sentinel.event(WARNING, "+new-epoch", master, str(sentinel.current_epoch))
    if master.leader_epoch < req_epoch and sentinel.current_epoch <= req_epoch:
        master.leader = req_runid
        master.leader_epoch = sentinel.current_epoch
        sentinel.flush_config()
        sentinel.event(WARNING, "+vote-for-leader", master,
                       f"{master.leader} {master.leader_epoch}")
        # voting for someone else: do not start our own failover right away
        if master.leader.lower() != sentinel.myid.lower():
            master.failover_start_time = mstime() + random.randrange(MAX_DESYNC)
    return master.leader, master.leader_epoch


def get_leader(sentinel, master, epoch: int) -> str | None:
    """sentinelGetLeader: the winner of ``epoch``, or None."""
    counters: dict[str, int] = {}
    voters = len(master.sentinels) + 1
    for ri in master.sentinels.values():
        if ri.leader is not None and ri.leader_epoch == sentinel.current_epoch:
            counters[ri.leader] = counters.get(ri.leader, 0) + 1
    winner = None
    max_votes = 0
    for runid, votes in counters.items():
        if votes > max_votes:
            max_votes = votes
            winner = runid
    # our own vote goes to the sentinel with most votes, or to ourselves
    myvote, leader_epoch = vote_leader(sentinel, master, epoch, winner or sentinel.myid)
    if myvote and leader_epoch == epoch:
        votes = counters.get(myvote, 0) + 1
        counters[myvote] = votes
        if votes > max_votes:
            max_votes = votes
            winner = myvote
    if winner and (max_votes < voters // 2 + 1 or max_votes < master.quorum):
        winner = None
    return winner
