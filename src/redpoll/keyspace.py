"""The keyspace: numbered databases of keys with optional expiry times.

A :class:`Database` keeps its keys in a dict (key bytes -> value) and their
expiry times in a second dict (key -> absolute unix time in ms), as Redis
does. Values are plain Python objects whose type is the Redis type:

* ``bytes``: string (also HyperLogLog and bitmaps);
* the classes registered with :func:`register_type` for the other types.

Expiry is lazy on access plus an active cycle run from the server cron: a heap
of (deadline, key) pairs finds due keys without scanning (entries whose key
has a different deadline by then are stale and are dropped). On a replica,
keys are never deleted by expiry: they are hidden from reads and removed when
the primary's DEL arrives, as in Redis.

Read commands look keys up with :meth:`Database.read` (counts
``keyspace_hits``/``keyspace_misses`` and fires ``keymiss``); write commands
use :meth:`Database.get`, which does not count, as Redis's lookupKeyWrite.

Keys must be removed only through the methods here (``delete``, ``rename``,
``clear``, ...) so that side tables (expires, string encoding marks, access
clocks) stay consistent.

SCAN cursors: see :class:`ScanCursors` below.
"""

from __future__ import annotations

import heapq
import random
import time
from typing import TYPE_CHECKING, Any

from redpoll.errors import RedisError, WRONGTYPE

if TYPE_CHECKING:
    from redpoll.server import Server

# Python class of a value -> Redis type name (TYPE command, RDB, SCAN TYPE).
TYPE_NAMES: dict[type, str] = {bytes: "string"}


def register_type(cls: type, name: str) -> None:
    TYPE_NAMES[cls] = name


def type_name(value: Any) -> str:
    return TYPE_NAMES.get(type(value), "none")


def mstime() -> int:
    return int(time.time() * 1000)


class Database:
    __slots__ = ("id", "data", "expires", "_heap", "server", "access",
                 "expired_stale_perc", "avg_ttl", "enc", "_sample", "_sample_left")

    def __init__(self, server: "Server", id: int):
        self.id = id
        self.server = server
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}
        self._heap: list[tuple[int, bytes]] = []
        # key -> last access (LRU clock in ms or LFU counter), kept only when an
        # eviction policy or OBJECT IDLETIME/FREQ needs it (see server.track_access)
        self.access: dict[bytes, int] = {}
        self.avg_ttl = 0
        self.expired_stale_perc = 0.0
        # key -> encoding Redis would report for its string although the value
        # alone suggests another: "raw" after in-place changes (APPEND,
        # SETRANGE, SETBIT...), "embstr" for INCRBYFLOAT's integral results
        self.enc: dict[bytes, str] = {}
        self._sample: list[bytes] | None = None   # RANDOMKEY / sampling cache
        self._sample_left = 0                     # picks before a refresh

    def __len__(self) -> int:
        return len(self.data)

    # -- lookups -----------------------------------------------------------
    def get(self, key: bytes):
        """The live value of ``key`` or None (expired keys are removed here)."""
        v = self.data.get(key)
        if v is not None and self.expires and key in self.expires:
            # nothing expires while a dataset loads (an AOF replays as written)
            if self.expires[key] <= self.server.now_ms() and not self.server.loading:
                # A replica keeps expired keys for its primary's DEL; the
                # primary's stream (server.in_master_stream) still sees them.
                if self.expire_now(key) or not self.server.in_master_stream:
                    return None
        if v is not None and self.server.track_access:
            self.server.record_access(self, key)
        return v

    def read(self, key: bytes):
        """Lookup for read commands: like :meth:`get`, and counts
        ``keyspace_hits``/``keyspace_misses`` (firing ``keymiss``)."""
        v = self.data.get(key)
        srv = self.server
        if v is not None and (self.expires or srv.track_access):
            v = self.get(key)       # expiry and access tracking
        if v is None:
            srv.stats.keyspace_misses += 1
            if srv.notify_flags:
                self.notify_miss(key)
        else:
            srv.stats.keyspace_hits += 1
        return v

    def read_typed(self, key: bytes, cls: type):
        """:meth:`read` with a type check (WRONGTYPE)."""
        v = self.read(key)
        if v is not None and type(v) is not cls:
            raise RedisError(WRONGTYPE)
        return v

    def notify_miss(self, key: bytes) -> None:
        from redpoll.notify import KEY_MISS, notify
        notify(self.server, KEY_MISS, "keymiss", key, self.id)

    def get_typed(self, key: bytes, cls: type):
        """The value of ``key`` if it is of class ``cls``; None if missing;
        WRONGTYPE otherwise (the write lookup of LPUSH, SADD, HSET...: a key
        with no TTL under no access tracking needs no :meth:`get`)."""
        v = self.data.get(key)
        if v is not None and (self.expires or self.server.track_access):
            v = self.get(key)
        if v is not None and type(v) is not cls:
            raise RedisError(WRONGTYPE)
        return v

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def is_expired(self, key: bytes) -> bool:
        when = self.expires.get(key)
        return when is not None and when <= self.server.now_ms()

    def expire_now(self, key: bytes) -> bool:
        """Handle an expired key found by a lookup or the active cycle.

        A primary deletes it, propagates DEL and fires the ``expired`` event;
        a replica leaves it for the primary's DEL (reads still miss it).
        """
        srv = self.server
        if srv.is_replica_readonly_view():
            return False
        if key not in self.data:
            self.expires.pop(key, None)
            return False
        del self.data[key]
        del self.expires[key]
        self.access.pop(key, None)
        if self.enc:
            self.enc.pop(key, None)
        srv.stats.expired_keys += 1
        srv.on_key_expired(self, key)
        return True

    # -- changes -----------------------------------------------------------
    def set(self, key: bytes, value, keep_ttl: bool = False) -> None:
        """Store ``value`` at ``key``; the TTL is cleared unless keep_ttl."""
        if self.server.notify_flags and key not in self.data:
            self.notify_new(key)
        self.data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)
        if self.server.track_access:
            self.server.record_access(self, key)
        if self.enc:
            self.enc.pop(key, None)

    def set_many(self, keys: list, values: list) -> None:
        """:meth:`set` for several keys at once (MSET), with no keyspace
        events to fire (the caller fires them per key otherwise)."""
        srv = self.server
        if srv.track_access:
            for k, v in zip(keys, values):
                self.set(k, v)
            return
        self.data.update(zip(keys, values))
        if self.expires:
            pop = self.expires.pop
            for k in keys:
                pop(k, None)
        if self.enc:
            pop = self.enc.pop
            for k in keys:
                pop(k, None)

    def mark_raw(self, key: bytes) -> None:
        """The string at ``key`` was modified in place: OBJECT ENCODING says
        ``raw`` until it is replaced."""
        self.enc[key] = "raw"

    def mark_encoding(self, key: bytes, encoding: str) -> None:
        """Force the string encoding OBJECT ENCODING reports for ``key``."""
        self.enc[key] = encoding

    def forced_encoding(self, key: bytes) -> str | None:
        return self.enc.get(key) if self.enc else None

    def add(self, key: bytes, value) -> None:
        """Store a new key (the caller knows it does not exist)."""
        if self.server.notify_flags:
            self.notify_new(key)
        self.data[key] = value
        if self.server.track_access:
            self.server.record_access(self, key)

    def notify_new(self, key: bytes) -> None:
        """The ``new`` keyspace event (class n): a key is added (dbAdd)."""
        from redpoll.notify import NEW, notify
        notify(self.server, NEW, "new", key, self.id)

    def delete(self, key: bytes) -> bool:
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        if self.access:
            self.access.pop(key, None)
        if self.enc:
            self.enc.pop(key, None)
        return True

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        heapq.heappush(self._heap, (when_ms, key))
        if len(self._heap) > 64 and len(self._heap) > 4 * len(self.expires):
            self._rebuild_heap()

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def ttl_ms(self, key: bytes) -> int | None:
        """Absolute expiry time of ``key`` in ms, or None."""
        return self.expires.get(key)

    def rename(self, src: bytes, dst: bytes) -> None:
        value = self.data.pop(src)
        when = self.expires.pop(src, None)
        enc = self.enc.pop(src, None) if self.enc else None
        self.access.pop(src, None)
        self.delete(dst)
        if self.server.notify_flags:
            self.notify_new(dst)
        self.data[dst] = value
        if when is not None:
            self.set_expire(dst, when)
        if enc is not None:
            self.enc[dst] = enc

    def clear(self) -> int:
        n = len(self.data)
        self.data = {}
        self.expires = {}
        self._heap = []
        self.access = {}
        self.enc = {}
        self._sample = None
        return n

    def swap(self, other: "Database") -> None:
        for attr in ("data", "expires", "_heap", "access", "avg_ttl", "enc", "_sample"):
            a, b = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, b)
            setattr(other, attr, a)

    def sample_key(self):
        """A random existing key (expired or not), or None; O(1) amortised.

        A dict has no random access, so picks come from a cached list of the
        keys, rebuilt when it drifts from the dict (size off by more than an
        eighth, repeated picks of deleted keys) and after n/2 picks, so keys
        added since are soon eligible too (the O(n) copy is amortised)."""
        data = self.data
        if not data:
            return None
        cache = self._sample
        n = len(data)
        self._sample_left -= 1
        for attempt in range(8):
            if (cache is None or self._sample_left < 0 or attempt >= 3
                    or abs(len(cache) - n) > (n >> 3) + 8):
                cache = self._sample = list(data)
                self._sample_left = (n >> 1) + 16
            k = random.choice(cache)
            if k in data:
                return k
        return next(iter(data))

    def random_key(self):
        """A random live key or None (RANDOMKEY): expired picks are deleted
        and another is tried; a replica, where expired keys stay, gives up
        after 100 tries and returns an expired key, as Redis does."""
        tries = 0
        while True:
            k = self.sample_key()
            if k is None:
                return None
            if not self.expires or not self.is_expired(k):
                return k
            if self.server.is_replica_readonly_view():
                tries += 1
                if tries >= 100 and len(self.expires) >= len(self.data):
                    return k
                continue
            self.expire_now(k)

    # -- active expiry -----------------------------------------------------
    def _rebuild_heap(self) -> None:
        self._heap = [(w, k) for k, w in self.expires.items()]
        heapq.heapify(self._heap)

    def active_expire(self, now_ms: int, budget: int) -> int:
        """Remove up to ``budget`` due keys; returns how many were removed."""
        heap = self._heap
        done = 0
        while heap and done < budget and heap[0][0] <= now_ms:
            when, key = heapq.heappop(heap)
            if self.expires.get(key) == when:
                if self.expire_now(key):
                    done += 1
                else:
                    heapq.heappush(heap, (when, key))  # replica: keep for later
                    break
        return done

    def keys(self):
        """A snapshot of the key list (safe to mutate the db while iterating)."""
        return list(self.data)


class ScanCursors:
    """SCAN cursors over a Python dict that keep Redis's guarantee: a full
    iteration returns every key that existed for the whole iteration (keys
    added or removed meanwhile may or may not be returned; duplicates are
    allowed).

    A dict has no stable positions to resume from (deleting a key shifts
    everything after it), so the first call of an iteration (cursor 0) takes
    a snapshot of the key list (``list(dict)``, one C-level copy of pointers)
    and the cursor encodes ``snapshot id << 32 | position``. Each call walks
    ``COUNT`` entries of the snapshot and returns those still present. Any key
    present throughout is in the snapshot, so it is returned when its
    position is reached. When everything fits in one reply no snapshot is
    kept. Snapshots are dropped when their iteration ends and evicted least
    recently used beyond :attr:`MAX` of them (or :attr:`MAX_ENTRIES` keys in
    total), and after :attr:`IDLE_SECONDS` without use (an abandoned
    iteration); an unknown cursor (evicted, or from another server run)
    restarts the iteration from the beginning, which can only add
    duplicates, never skip a key.

    Cost: one pointer per key (8 bytes) per iteration in progress, and an
    O(keys) copy when an iteration starts (about 10 ms per million keys).
    """

    MAX = 512
    MAX_ENTRIES = 10_000_000
    IDLE_SECONDS = 300.0

    def __init__(self):
        # id -> (keys, last use); insertion order = least recently used first
        self.snaps: dict[int, tuple[list, float]] = {}
        self.entries = 0
        self.next_id = 1

    def scan(self, cursor: int, source, count: int):
        """One SCAN step over ``source`` (a dict or any sized iterable).

        Returns (next cursor, candidate keys); the caller filters them
        (still present, not expired, MATCH, TYPE)."""
        sid, pos = cursor >> 32, cursor & 0xFFFFFFFF
        entry = self.snaps.pop(sid, None) if sid else None
        snap = entry[0] if entry is not None else None
        if snap is None:
            if cursor == 0 and len(source) <= count:
                return 0, list(source)
            snap = list(source)
            self.entries += len(snap)
            if cursor != 0:
                pos = 0
            sid = self.next_id
            self.next_id = (self.next_id % 0xFFFFFFFF) + 1
        end = pos + count
        batch = snap[pos:end]
        if end >= len(snap):
            self.entries -= len(snap)
            return 0, batch
        now = time.monotonic()
        self.snaps[sid] = (snap, now)          # most recently used last
        self._evict(now)
        return (sid << 32) | end, batch

    def _evict(self, now: float) -> None:
        snaps = self.snaps
        while snaps:
            oldest = next(iter(snaps))
            keys, used = snaps[oldest]
            if (len(snaps) > self.MAX or (self.entries > self.MAX_ENTRIES and len(snaps) > 1)
                    or now - used > self.IDLE_SECONDS):
                del snaps[oldest]
                self.entries -= len(keys)
            else:
                break


def scan_cursors(server) -> ScanCursors:
    """The server's SCAN cursor table (created on first use)."""
    sc = getattr(server, "_scan_cursors", None)
    if sc is None:
        sc = server._scan_cursors = ScanCursors()
    return sc
