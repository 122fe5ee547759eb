"""How much memory the dataset uses, as counted for ``maxmemory`` and INFO.

Python cannot say cheaply how many bytes one key costs, and the process RSS
neither shrinks when keys are deleted nor moves deterministically, so redpoll
counts memory the way Redis's ``MEMORY USAGE`` reports it: each key is
estimated as Redis 7.0 would allocate it (dict entry, key sds, value object
in the encoding Redis would pick, rounded up to jemalloc's size classes;
containers are estimated from a sample of their elements). See
docs/memory.md for the rules and their limits.

``used_memory = STARTUP_MEMORY + dataset`` where ``dataset`` is:

* exact (the sum of per-key estimates, kept incrementally) while
  ``maxmemory`` is set: :class:`Accounting` listens to every write the
  server propagates and re-estimates the keys it touched, so eviction sees
  a deterministic number that moves with every write;
* a sampled estimate (up to 200 keys per database, scaled) otherwise, so
  that servers without maxmemory pay nothing on the write path.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from redpoll.commands import table as T

if TYPE_CHECKING:
    from redpoll.server import Server

# What an empty Redis 7.0 reports as used_memory_startup (server structures,
# shared objects, the databases' empty dicts).
STARTUP_MEMORY = 876_168

DICT_ENTRY = 24
ROBJ = 16
SAMPLES = 5             # container elements looked at per estimate

_LONG_MIN, _LONG_MAX = -2**63, 2**63 - 1


def alloc(n: int) -> int:
    """jemalloc's size class for an ``n``-byte allocation."""
    if n <= 8:
        return 8
    if n <= 128:
        return (n + 15) & ~15 if n > 16 else 16
    # four classes per power of two above 128
    p = 1 << (n - 1).bit_length()        # next power of two
    step = p >> 3
    return (n + step - 1) // step * step


def sds_size(n: int) -> int:
    """Allocation of an sds string of length n (header by length class)."""
    if n < 32:
        hdr = 1
    elif n < 256:
        hdr = 3
    elif n < 65536:
        hdr = 5
    elif n < 2**32:
        hdr = 9
    else:
        hdr = 17
    return alloc(hdr + n + 1)


def _is_long(b: bytes) -> bool:
    if not b or len(b) > 20 or not (b[0] in b"-0123456789"):
        return False
    try:
        v = int(b)
    except ValueError:
        return False
    return _LONG_MIN <= v <= _LONG_MAX and str(v).encode() == b


def string_size(v: bytes) -> int:
    """A string value object: int, embstr (<= 44 bytes) or raw."""
    n = len(v)
    if n <= 20 and _is_long(v):
        return ROBJ
    if n <= 44:
        return alloc(ROBJ + 3 + n + 1)
    return ROBJ + sds_size(n)


def _lp_entry(e) -> int:
    n = len(e) if isinstance(e, (bytes, bytearray)) else 8
    if n < 64:
        return n + 2
    if n < 4096:
        return n + 3
    return n + 6


def _sample(it, n: int):
    return list(itertools.islice(it, n))


def _scaled(total: int, sample: list, each) -> int:
    if not sample:
        return 0
    return sum(each(e) for e in sample) * total // len(sample)


def value_size(v, samples: int = SAMPLES) -> int:
    """Estimated bytes of one value (without its key), as MEMORY USAGE counts."""
    t = type(v)
    if t is bytes:
        return string_size(v)
    name = t.__name__
    n = len(v) if hasattr(v, "__len__") else 0
    if samples <= 0:
        samples = max(n, 1)
    if name == "RList":
        # quicklist of listpacks of ~8 KB
        lp = 7 + _scaled(n, _sample(iter(v), samples), _lp_entry)
        nodes = max(1, -(-lp // 8192))
        return ROBJ + 48 + nodes * 32 + (alloc(lp) if nodes == 1 else lp)
    if name == "RHash":
        items = _sample(iter(v.items()), samples)
        if n <= 512 and all(len(f) <= 64 and len(x) <= 64 for f, x in items):
            lp = 7 + _scaled(n, items, lambda fx: _lp_entry(fx[0]) + _lp_entry(fx[1]))
            return ROBJ + alloc(lp)
        return ROBJ + _dict_size(n) + _scaled(
            n, items, lambda fx: DICT_ENTRY + sds_size(len(fx[0])) + sds_size(len(fx[1])))
    if name == "RSet":
        members = _sample(iter(v), samples)
        if n <= 512 and all(_is_long(m) for m in members):
            width = 8 if any(not -2**31 <= int(m) < 2**31 for m in members) else (
                4 if any(not -2**15 <= int(m) < 2**15 for m in members) else 2)
            return ROBJ + alloc(8 + width * n)
        return ROBJ + _dict_size(n) + _scaled(
            n, members, lambda m: DICT_ENTRY + sds_size(len(m)))
    if name == "ZSet":
        members = _sample(iter(v.scores()), samples)
        if n <= 128 and all(len(m) <= 64 for m in members):
            lp = 7 + _scaled(n, members, lambda m: _lp_entry(m) + 4)
            return ROBJ + alloc(lp)
        return ROBJ + _dict_size(n) + 48 + _scaled(
            n, members, lambda m: DICT_ENTRY + sds_size(len(m)) + alloc(40))
    # streams and anything else: a flat per-entry estimate
    return ROBJ + 64 + 100 * n


def _dict_size(n: int) -> int:
    buckets = 4
    while buckets < n:
        buckets <<= 1
    return 56 + 8 * buckets


def key_size(key: bytes, value, samples: int = SAMPLES) -> int:
    """MEMORY USAGE of one key: dict entry + key sds + value."""
    return DICT_ENTRY + sds_size(len(key)) + value_size(value, samples)


# -- dataset accounting ---------------------------------------------------------

_MULTI_DB = {b"flushall", b"flushdb", b"swapdb", b"move", b"copy"}


class Accounting:
    """Per-key size estimates kept up to date while maxmemory is set."""

    def __init__(self, server: "Server"):
        self.server = server
        self.enabled = False
        self.sizes: list[dict[bytes, int]] = []
        self.total = 0

    # -- switching -------------------------------------------------------
    def enable(self) -> None:
        if self.enabled:
            return
        self.enabled = True
        self.sizes = [{} for _ in self.server.dbs]
        self.total = 0
        for db in self.server.dbs:
            self.recompute_db(db.id)
        self.server.sink_active(self.on_write, True)

    def disable(self) -> None:
        if not self.enabled:
            return
        self.enabled = False
        self.server.sink_active(self.on_write, False)
        self.sizes = []
        self.total = 0

    # -- bookkeeping -------------------------------------------------------
    def recompute_db(self, dbid: int) -> None:
        old = self.sizes[dbid]
        self.total -= sum(old.values())
        new = {k: key_size(k, v) for k, v in self.server.dbs[dbid].data.items()}
        self.sizes[dbid] = new
        self.total += sum(new.values())

    def update_key(self, dbid: int, key: bytes) -> None:
        sizes = self.sizes[dbid]
        v = self.server.dbs[dbid].data.get(key)
        old = sizes.pop(key, 0)
        new = 0
        if v is not None:
            new = sizes[key] = key_size(key, v)
        self.total += new - old

    def on_write(self, dbid: int, argv: list) -> None:
        """Propagation sink: re-estimate the keys the write touched."""
        name = bytes(argv[0]).lower()
        if name in _MULTI_DB:
            return self._multi_db(dbid, name, argv)
        cmd = T.lookup(argv)
        if cmd is None:
            return
        try:
            keys = cmd.keys(argv)
        except Exception:
            keys = ()
        for k in keys:
            self.update_key(dbid, bytes(k))

    def _multi_db(self, dbid: int, name: bytes, argv) -> None:
        dbs = self.server.dbs
        if name == b"flushall":
            for db in dbs:
                self.recompute_db(db.id)
        elif name == b"flushdb":
            self.recompute_db(dbid)
        elif name == b"swapdb":
            a, b = int(argv[1]), int(argv[2])
            self.sizes[a], self.sizes[b] = self.sizes[b], self.sizes[a]
        elif name == b"move":
            self.update_key(dbid, bytes(argv[1]))
            try:
                self.update_key(int(argv[2]), bytes(argv[1]))
            except (ValueError, IndexError):
                pass
        elif name == b"copy":
            self.update_key(dbid, bytes(argv[2]))
            for i in range(3, len(argv) - 1):
                if bytes(argv[i]).lower() == b"db":
                    try:
                        self.update_key(int(argv[i + 1]), bytes(argv[2]))
                    except (ValueError, IndexError):
                        pass

    def check(self) -> None:
        """Cron: a database whose key count differs from ours was changed
        without a propagated write (a load, a full sync): recount it."""
        for db in self.server.dbs:
            if len(db.data) != len(self.sizes[db.id]):
                self.recompute_db(db.id)

    # -- figures -------------------------------------------------------------
    def dataset(self) -> int:
        if self.enabled:
            return self.total + tables_size(self.server)
        return sampled_dataset(self.server)


def tables_size(server: "Server") -> int:
    """The hash tables themselves: 8 bytes per bucket of the keys and
    expires dicts, plus a dict entry per key with a TTL."""
    total = 0
    for db in server.dbs:
        if db.data:
            total += _dict_size(len(db.data))
        if db.expires:
            total += _dict_size(len(db.expires)) + DICT_ENTRY * len(db.expires)
    return total


def sampled_dataset(server: "Server", per_db: int = 200) -> int:
    """Dataset size estimated from a sample of keys (exact for small dbs)."""
    total = tables_size(server)
    for db in server.dbs:
        n = len(db.data)
        if not n:
            continue
        if n <= per_db:
            total += sum(key_size(k, v) for k, v in db.data.items())
            continue
        keys = [db.sample_key() for _ in range(per_db)]
        got = [key_size(k, db.data[k]) for k in keys if k is not None and k in db.data]
        if got:
            total += sum(got) * n // len(got)
    return total


def used_memory(server: "Server") -> int:
    acc = getattr(server, "memory", None)
    if acc is None:
        return STARTUP_MEMORY + sampled_dataset(server)
    return STARTUP_MEMORY + acc.dataset()


def rss_bytes() -> int:
    """Resident set size of this process (INFO used_memory_rss)."""
    import os
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
