"""maxmemory: eviction policies and per-key access tracking (LRU / LFU).

Installed as a room (``install(server)``):

* ``server.oom_check()`` is called by ``Server.execute`` for ``denyoom``
  commands when ``maxmemory`` is set: it runs :func:`perform_evictions` and
  returns True (the command gets Redis's OOM error) when memory could not be
  brought under the limit. The cron runs it too, so memory also goes down
  after CONFIG SET maxmemory or while only reads arrive, as in Redis.
* Used memory is :func:`redpoll.memory.used_memory` (see docs/memory.md);
  exact per-key accounting is switched on only while ``maxmemory`` is set.
* Policies, sampled as Redis does: ``maxmemory-samples`` keys are drawn from
  each database (all keys or only keys with a TTL) and fed into a 16-entry
  eviction pool ordered by score (idle time for LRU, 255 - counter for LFU,
  closeness of the expire time for volatile-ttl); the best candidate of the
  pool is evicted. The random policies pick a random key, databases taken
  round robin. Every eviction is propagated as DEL, fires the ``evicted``
  keyspace event, counts in ``evicted_keys`` and invalidates WATCHes.
* Access tracking (``server.track_access``) is on only under an LRU or LFU
  policy, or while OBJECT IDLETIME needs it: :func:`record_access` stores in
  ``db.access[key]`` the LRU clock (ms, updated by the cron) or the LFU
  value ``(minutes << 8) | counter`` with Redis's logarithmic counter and
  decay (``lfu-log-factor``, ``lfu-decay-time``). The default GET/SET path
  pays one attribute test.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from redpoll.memory import Accounting, used_memory

if TYPE_CHECKING:
    from redpoll.server import Server

EVPOOL_SIZE = 16
LFU_INIT_VAL = 5

_LRU = {"allkeys-lru", "volatile-lru"}
_LFU = {"allkeys-lfu", "volatile-lfu"}


class Evictor:
    def __init__(self, server: "Server"):
        self.server = server
        self.pool: list[tuple[float, int, bytes]] = []     # (score, db id, key)
        self.next_db = 0
        self.lru_clock_ms = int(time.time() * 1000)
        self.policy = "noeviction"
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        self.idle_tracking = False   # OBJECT IDLETIME was used: keep LRU times
        self.no_touch = False        # inside a command that must not touch keys

    # -- access tracking -------------------------------------------------------
    def record_access(self, db, key: bytes) -> None:
        """Called by the keyspace on every lookup/store while tracking is on."""
        if self.no_touch:
            return
        if self.policy in _LFU:
            db.access[key] = self.lfu_touch(db.access.get(key))
        else:
            db.access[key] = self.lru_clock_ms

    def minutes(self) -> int:
        return (self.lru_clock_ms // 60000) & 0xFFFF

    def lfu_decr(self, packed: int | None) -> int:
        """The counter after decay (LFUDecrAndReturn)."""
        if packed is None:
            return LFU_INIT_VAL
        ldt, counter = packed >> 8, packed & 0xFF
        now = self.minutes()
        elapsed = now - ldt if now >= ldt else 65535 - ldt + now
        periods = elapsed // self.lfu_decay_time if self.lfu_decay_time else 0
        return max(0, counter - periods) if periods else counter

    def lfu_touch(self, packed: int | None) -> int:
        if packed is None:
            counter = LFU_INIT_VAL
        else:
            counter = self.lfu_decr(packed)
            if counter < 255:
                base = max(0, counter - LFU_INIT_VAL)
                if random.random() < 1.0 / (base * self.lfu_log_factor + 1):
                    counter += 1
        return (self.minutes() << 8) | counter

    def idle_ms(self, db, key: bytes) -> int:
        """OBJECT IDLETIME (in ms): time since the last recorded access."""
        if not self.server.track_access:
            self.idle_tracking = True
            self.update_tracking()
        t = db.access.get(key)
        if t is None:
            db.access[key] = self.lru_clock_ms
            return 0
        return max(0, self.lru_clock_ms - t)

    def lfu_freq(self, db, key: bytes) -> int:
        """OBJECT FREQ: the decayed LFU counter."""
        return self.lfu_decr(db.access.get(key))

    def update_tracking(self) -> None:
        srv = self.server
        on = self.policy in _LRU or self.policy in _LFU or self.idle_tracking
        if on and not srv.track_access:
            for db in srv.dbs:      # start with everything "just accessed"
                db.access = {}
        # the keyspace calls server.record_access(db, key): a closure
        # specialised for the policy keeps the per-lookup cost small
        srv.record_access = self.record_access if self.policy in _LFU else \
            _lru_recorder(self)
        srv.track_access = on

    # -- eviction ----------------------------------------------------------------
    def over(self) -> int:
        """Bytes to free to get under maxmemory (0 when under)."""
        limit = self.server.maxmemory
        if not limit:
            return 0
        used = used_memory(self.server)
        return used - limit if used > limit else 0

    def perform_evictions(self) -> bool:
        """Evict until under maxmemory; False when that was not possible."""
        srv = self.server
        if not srv.maxmemory:
            return True
        if srv.masterhost is not None and srv.config["replica-ignore-maxmemory"]:
            return True
        to_free = self.over()
        if not to_free:
            return True
        policy = self.policy
        if policy == "noeviction":
            return False
        acc = srv.memory
        freed = 0
        t0 = time.perf_counter()
        while freed < to_free:
            victim = self.pick(policy)
            if victim is None:
                break
            dbid, key = victim
            before = acc.total
            self.evict(dbid, key)
            freed += max(0, before - acc.total)
        from redpoll.slowlog import latency_add_sample
        latency_add_sample(srv, "eviction-cycle", int((time.perf_counter() - t0) * 1000))
        return self.over() == 0

    def pick(self, policy: str):
        srv = self.server
        volatile = policy.startswith("volatile-")
        if policy.endswith("-random"):
            n = len(srv.dbs)
            for i in range(n):
                db = srv.dbs[(self.next_db + i) % n]
                keys = db.expires if volatile else db.data
                if keys:
                    self.next_db = (db.id + 1) % n
                    if volatile:
                        return db.id, random.choice(list(keys)) if len(keys) < 64 else \
                            _random_volatile(db)
                    return db.id, db.sample_key()
            return None
        # pool-based: LRU, LFU, TTL
        for db in srv.dbs:
            keys = db.expires if volatile else db.data
            if keys:
                self.populate(db, volatile)
        while self.pool:
            score, dbid, key = self.pool.pop()       # best candidate is last
            db = srv.dbs[dbid]
            if key in (db.expires if volatile else db.data):
                return dbid, key
        return None

    def populate(self, db, volatile: bool) -> None:
        """Sample maxmemory-samples keys of ``db`` into the eviction pool."""
        n = self.server.config["maxmemory-samples"]
        keys = db.expires if volatile else db.data
        if len(keys) <= n:
            sample = list(keys)
        elif volatile:
            sample = [_random_volatile(db) for _ in range(n)]
        else:
            sample = [db.sample_key() for _ in range(n)]
        policy = self.policy
        pool = self.pool
        for key in sample:
            if key is None:
                continue
            if policy in _LRU:
                t = db.access.get(key)
                score = self.lru_clock_ms - t if t is not None else float(2**62)
            elif policy in _LFU:
                score = 255 - self.lfu_decr(db.access.get(key))
            else:       # volatile-ttl: sooner expiry = better candidate
                score = float(2**63) - db.expires.get(key, 2**63)
            entry = (score, db.id, key)
            if any(e[1] == db.id and e[2] == key for e in pool):
                continue
            if len(pool) < EVPOOL_SIZE:
                pool.append(entry)
            elif score > pool[0][0]:
                pool[0] = entry
            else:
                continue
            pool.sort(key=lambda e: e[0])

    def evict(self, dbid: int, key: bytes) -> None:
        """Delete ``key`` as an eviction: DEL propagated, 'evicted' event."""
        srv = self.server
        db = srv.dbs[dbid]
        if not db.delete(key):
            return
        srv.stats.evicted_keys += 1
        srv.propagate(dbid, [b"DEL", key])      # also updates the accounting
        if srv.memory.enabled and key in srv.memory.sizes[dbid]:
            srv.memory.update_key(dbid, key)
        srv.touch_watched(dbid, key)
        if srv.notify_flags:
            from redpoll.notify import EVICTED, notify
            notify(srv, EVICTED, "evicted", key, dbid)

    # -- configuration / cron --------------------------------------------------
    def apply_config(self) -> None:
        srv = self.server
        cfg = srv.config
        new_policy = str(cfg["maxmemory-policy"])
        if (new_policy in _LFU) != (self.policy in _LFU):
            for db in srv.dbs:      # LRU times and LFU counters do not mix
                db.access = {}
        self.policy = new_policy
        self.lfu_log_factor = cfg["lfu-log-factor"]
        self.lfu_decay_time = cfg["lfu-decay-time"]
        if srv.maxmemory:
            srv.memory.enable()
        else:
            srv.memory.disable()
        self.pool = []
        self.update_tracking()

    def cron(self) -> None:
        self.lru_clock_ms = int(time.time() * 1000)
        srv = self.server
        if srv.maxmemory:
            srv.memory.check()
            self.perform_evictions()


def _lru_recorder(ev: Evictor):
    def record(db, key: bytes) -> None:
        if not ev.no_touch:
            db.access[key] = ev.lru_clock_ms
    return record


# Commands that look keys up without counting as an access (Redis's
# LOOKUP_NOTOUCH): their handlers are wrapped to suspend record_access.
NO_TOUCH = ["object|idletime", "object|freq", "object|encoding", "object|refcount",
            "type", "ttl", "pttl", "expiretime", "pexpiretime", "exists",
            "memory|usage", "debug", "scan", "keys", "randomkey", "dump"]


def _wrap_no_touch(ev: Evictor) -> None:
    from redpoll.commands import table as T
    for name in NO_TOUCH:
        parts = name.encode().split(b"|", 1)
        cmd = T.TABLE.get(parts[0])
        if cmd is not None and len(parts) == 2:
            cmd = cmd.subcommands.get(parts[1])
        if cmd is None or cmd.handler is None or getattr(cmd.handler, "_no_touch", False):
            continue
        cmd.handler = _no_touch_handler(ev, cmd.handler)


def _no_touch_handler(ev: Evictor, fn):
    def handler(c, argv):
        if not c.server.track_access:
            return fn(c, argv)
        ev.no_touch = True
        try:
            return fn(c, argv)
        finally:
            ev.no_touch = False
    handler._no_touch = True
    handler.__wrapped__ = fn
    handler.__module__ = fn.__module__
    return handler


def _random_volatile(db):
    """A random key with a TTL (sampled from the expires dict)."""
    keys = db.expires
    # the expiry heap holds every volatile key: draw from it (stale entries
    # are skipped by the caller's membership test)
    heap = getattr(db, "_heap", None)
    if heap:
        for _ in range(8):
            k = random.choice(heap)[1]
            if k in keys:
                return k
    return next(iter(keys)) if keys else None


def install(server: "Server") -> None:
    ev = Evictor(server)
    server.evictor = ev
    server.memory = Accounting(server)
    server.record_access = ev.record_access
    server.idle_ms = ev.idle_ms
    server.lfu_freq = ev.lfu_freq
    server.oom_check = lambda: not ev.perform_evictions()
    server.cron_jobs.append(ev.cron)
    cfg = server.config
    for name in ("maxmemory", "maxmemory-policy", "lfu-log-factor", "lfu-decay-time"):
        cfg.watch(name, lambda old, new: _after_change(ev))
    server.startup_hooks.append(ev.apply_config)
    server.startup_hooks.append(lambda: _wrap_no_touch(ev))


def _after_change(ev: Evictor) -> None:
    ev.apply_config()
    srv = ev.server
    used = used_memory(srv)
    if srv.maxmemory and srv.maxmemory < used:
        srv.log.warning(
            f"WARNING: the new maxmemory value set via CONFIG SET ({srv.maxmemory}) is "
            f"smaller than the current memory usage ({used}). This will result in key "
            f"eviction and/or the inability to accept new write commands depending on "
            f"the maxmemory-policy.")
    ev.perform_evictions()
