"""The stream type.

A stream ID ``<ms>-<seq>`` (two unsigned 64-bit numbers) is kept as one int,
``ms << 64 | seq``, so IDs compare and sort as plain integers.

:class:`Stream` fields (what RDB's stream encoding needs):

* ``entries``: ``SortedDict`` ID -> flat list ``[field1, value1, ...]`` of the
  live entries (O(log n) range queries);
* ``nodes`` / ``node_keys``: the macro nodes Redis would keep in its radix
  tree, in order (``node_keys[i]`` is ``nodes[i].master``). Each
  :class:`Node` models one listpack: master ID and master fields, live and
  deleted entry counts, the ID of its last entry and its size in bytes as
  Redis's listpack encoding gives it. They decide, exactly as Redis does,
  when XADD opens a new node (``stream-node-max-entries`` /
  ``stream-node-max-bytes``) and what ``MAXLEN ~`` / ``MINID ~`` trim (whole
  nodes only). An entry belongs to the node with the greatest master ID <= its
  ID; deleted entries only exist as the ``deleted`` counters;
* ``last_id``, ``entries_added``, ``max_deleted_id`` (the 7.0 metadata);
* ``groups``: name -> :class:`Group` (``last_id``, ``entries_read`` with -1 for
  "unknown", ``pel``: ``SortedDict`` ID -> :class:`NACK`, ``consumers``: name ->
  :class:`Consumer`, whose own ``pel`` shares the NACK objects).
"""

from __future__ import annotations

from bisect import bisect_right

from sortedcontainers import SortedDict

from redpoll.keyspace import register_type
from redpoll.persistence.compact import as_int

U64 = (1 << 64) - 1
MAX_ID = (U64 << 64) | U64
LISTPACK_MAX_SIZE = 1 << 30
FLAG_DELETED, FLAG_SAMEFIELDS = 1, 2


def id_str(i: int) -> bytes:
    return b"%d-%d" % (i >> 64, i & U64)


def make_id(ms: int, seq: int) -> int:
    return (ms << 64) | seq


# -- listpack sizes (listpack.c encodings) -------------------------------------

def _backlen(n: int) -> int:
    if n <= 127:
        return 1
    if n < 16383:
        return 2
    if n < 2097151:
        return 3
    if n < 268435455:
        return 4
    return 5


def lp_int_size(v: int) -> int:
    """Bytes of an integer element, backlen included."""
    if 0 <= v <= 127:
        n = 1
    elif -4096 <= v <= 4095:
        n = 2
    elif -32768 <= v <= 32767:
        n = 3
    elif -8388608 <= v <= 8388607:
        n = 4
    elif -2147483648 <= v <= 2147483647:
        n = 5
    else:
        n = 9
    return n + 1


def lp_str_size(s: bytes) -> int:
    """Bytes of a string element (stored as an integer when it is one)."""
    v = as_int(s)
    if v is not None:
        return lp_int_size(v)
    n = len(s)
    if n <= 63:
        h = 1 + n
    elif n <= 4095:
        h = 2 + n
    else:
        h = 5 + n
    return h + _backlen(h)


class Node:
    """One listpack of Redis's stream radix tree (sizes only, no data)."""

    __slots__ = ("master", "fields", "count", "deleted", "last", "fixed")

    def __init__(self, master: int, fields: list):
        self.master = master
        self.fields = fields
        self.count = 0
        self.deleted = 0
        self.last = master
        # header (6) + end byte (1) + num-fields + fields + master terminator
        self.fixed = (7 + lp_int_size(len(fields)) + sum(lp_str_size(f) for f in fields)
                      + lp_int_size(0))

    def size(self) -> int:
        return self.fixed + lp_int_size(self.count) + lp_int_size(self.deleted)


class NACK:
    """A pending entry: delivered to ``consumer``, not acknowledged yet."""

    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer, now: int):
        self.consumer = consumer
        self.delivery_time = now
        self.delivery_count = 1


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name: bytes, now: int):
        self.name = name
        self.seen_time = now
        self.pel = SortedDict()


class Group:
    __slots__ = ("last_id", "entries_read", "pel", "consumers")

    def __init__(self, last_id: int, entries_read: int):
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = SortedDict()
        self.consumers: dict[bytes, Consumer] = {}


class Stream:
    __slots__ = ("entries", "nodes", "node_keys", "last_id", "entries_added",
                 "max_deleted_id", "groups")

    def __init__(self):
        self.entries = SortedDict()
        self.nodes: list[Node] = []
        self.node_keys: list[int] = []
        self.last_id = 0
        self.entries_added = 0
        self.max_deleted_id = 0
        self.groups: dict[bytes, Group] = {}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def first_id(self) -> int:
        """The first live entry's ID (0-0 when empty), Redis's s->first_id."""
        e = self.entries
        return e.keys()[0] if e else 0

    # -- appending -------------------------------------------------------------
    def append(self, sid: int, fv: list, max_bytes: int, max_entries: int) -> None:
        """streamAppendItem for an already validated ID."""
        node = self.nodes[-1] if self.nodes else None
        if node is not None:
            if max_bytes == 0 or max_bytes > LISTPACK_MAX_SIZE:
                max_bytes = LISTPACK_MAX_SIZE
            tot = 0
            for x in fv:
                tot += len(x)
            if node.size() + tot >= max_bytes:
                node = None
            elif max_entries and node.count + node.deleted >= max_entries:
                node = None
        fields = fv[0::2]
        if node is None:
            node = Node(sid, fields)
            self.nodes.append(node)
            self.node_keys.append(sid)
        same = fields == node.fields
        n = len(fields)
        size = (lp_int_size(FLAG_SAMEFIELDS if same else 0)
                + lp_int_size((sid >> 64) - (node.master >> 64))
                + lp_int_size((sid & U64) - (node.master & U64)))
        if same:
            for v in fv[1::2]:
                size += lp_str_size(v)
            size += lp_int_size(n + 3)
        else:
            size += lp_int_size(n)
            for x in fv:
                size += lp_str_size(x)
            size += lp_int_size(2 * n + 4)
        node.fixed += size
        node.count += 1
        node.last = sid
        self.entries[sid] = fv
        self.last_id = sid
        self.entries_added += 1

    # -- deleting --------------------------------------------------------------
    def _node_index(self, sid: int) -> int:
        return bisect_right(self.node_keys, sid) - 1

    def _drop_node(self, i: int) -> None:
        del self.nodes[i]
        del self.node_keys[i]

    def delete(self, sid: int) -> bool:
        """streamDeleteItem: remove one entry (its node keeps a tombstone)."""
        if sid not in self.entries:
            return False
        del self.entries[sid]
        i = self._node_index(sid)
        node = self.nodes[i]
        node.count -= 1
        node.deleted += 1
        if node.count == 0:
            self._drop_node(i)
        return True

    def trim(self, maxlen: int | None, minid: int | None, approx: bool, limit: int) -> int:
        """streamTrim: MAXLEN (``maxlen``) or MINID (``minid``); returns the
        number of entries removed."""
        deleted = 0
        entries = self.entries
        while self.nodes:
            if maxlen is not None and len(entries) <= maxlen:
                break
            node = self.nodes[0]
            live = node.count
            if limit and deleted + live > limit:
                break
            if maxlen is not None:
                remove = len(entries) - live >= maxlen
            else:
                remove = node.last < minid
            if remove:
                nxt = self.node_keys[1] if len(self.nodes) > 1 else None
                for sid in list(entries.irange(node.master, nxt, inclusive=(True, False))):
                    del entries[sid]
                self._drop_node(0)
                deleted += live
                continue
            if approx:
                break
            nxt = self.node_keys[1] if len(self.nodes) > 1 else None
            removed = 0
            for sid in list(entries.irange(node.master, nxt, inclusive=(True, False))):
                if maxlen is not None:
                    if len(entries) <= maxlen:
                        break
                elif sid >= minid:
                    break
                del entries[sid]
                removed += 1
            node.count -= removed
            node.deleted += removed
            deleted += removed
            break
        return deleted

    # -- groups ------------------------------------------------------------------
    def has_tombstones(self, start: int = 0, end: int = MAX_ID) -> bool:
        """streamRangeHasTombstones."""
        md = self.max_deleted_id
        if not self.entries or not md:
            return False
        if self.first_id > md:
            return False
        return start <= md <= end

    def estimate_read(self, sid: int) -> int:
        """streamEstimateDistanceFromFirstEverEntry (-1: unknown)."""
        if not self.entries_added:
            return 0
        if not self.entries and sid <= self.last_id:
            return self.entries_added
        if sid == self.last_id:
            return self.entries_added
        if sid > self.last_id:
            return -1
        md, first = self.max_deleted_id, self.first_id
        if not md or md < first:
            if sid < first:
                return self.entries_added - len(self.entries)
            if sid == first:
                return self.entries_added - len(self.entries) + 1
        return -1

    def lag(self, g: Group):
        """The group's lag (None when it cannot be computed)."""
        if not self.entries_added:
            return 0
        if g.entries_read != -1 and not self.has_tombstones(g.last_id):
            return self.entries_added - g.entries_read
        er = self.estimate_read(g.last_id)
        if er != -1:
            return self.entries_added - er
        return None

    def rax_nodes(self) -> int:
        """An estimate of the radix tree's node count (XINFO STREAM)."""
        keys = [k.to_bytes(16, "big") for k in self.node_keys]
        if not keys:
            return 1
        return _trie_nodes(keys, 0)


def _trie_nodes(keys: list[bytes], depth: int) -> int:
    """Nodes of a compressed trie of equal-length keys (rax-like)."""
    n = 0
    while True:
        if depth == len(keys[0]):
            return n + 1
        first = keys[0][depth]
        if all(k[depth] == first for k in keys):
            # a compressed run: one node however long the run is
            d = depth
            while d < len(keys[0]) and all(k[d] == keys[0][d] for k in keys):
                d += 1
            n += 1
            depth = d
            continue
        groups: dict[int, list[bytes]] = {}
        for k in keys:
            groups.setdefault(k[depth], []).append(k)
        n += 1
        for sub in groups.values():
            n += _trie_nodes(sub, depth + 1)
        return n


register_type(Stream, "stream")
