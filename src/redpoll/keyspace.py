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
"""

from __future__ import annotations

import heapq
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
                 "expired_stale_perc", "avg_ttl")

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

    def __len__(self) -> int:
        return len(self.data)

    # -- lookups -----------------------------------------------------------
    def get(self, key: bytes):
        """The live value of ``key`` or None (expired keys are removed here)."""
        v = self.data.get(key)
        if v is not None and self.expires and key in self.expires:
            if self.expires[key] <= self.server.now_ms():
                self.expire_now(key)
                return None
        if v is not None and self.server.track_access:
            self.server.record_access(self, key)
        return v

    def get_typed(self, key: bytes, cls: type):
        """The value of ``key`` if it is of class ``cls``; None if missing;
        WRONGTYPE otherwise."""
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
        srv.stats.expired_keys += 1
        srv.on_key_expired(self, key)
        return True

    # -- changes -----------------------------------------------------------
    def set(self, key: bytes, value, keep_ttl: bool = False) -> None:
        """Store ``value`` at ``key``; the TTL is cleared unless keep_ttl."""
        self.data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)

    def add(self, key: bytes, value) -> None:
        """Store a new key (the caller knows it does not exist)."""
        self.data[key] = value

    def delete(self, key: bytes) -> bool:
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        if self.access:
            self.access.pop(key, None)
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
        self.delete(dst)
        self.data[dst] = value
        if when is not None:
            self.set_expire(dst, when)

    def clear(self) -> int:
        n = len(self.data)
        self.data = {}
        self.expires = {}
        self._heap = []
        self.access = {}
        return n

    def swap(self, other: "Database") -> None:
        for attr in ("data", "expires", "_heap", "access", "avg_ttl"):
            a, b = getattr(self, attr), getattr(other, attr)
            setattr(self, attr, b)
            setattr(other, attr, a)

    def random_key(self):
        """A random live key or None (RANDOMKEY)."""
        import random
        if not self.data:
            return None
        keys = list(self.data)
        for _ in range(100):
            k = random.choice(keys)
            if not self.is_expired(k):
                return k
            self.expire_now(k)
            if k not in self.data:
                keys = list(self.data)
                if not keys:
                    return None
        return random.choice(keys)

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
