"""Streams inside RDB files and AOF base files.

RDB types 15 (Redis 5-6: ``STREAM_LISTPACKS``), 19 (7.0: ``_2``, adds
first/max-deleted IDs, entries-added and per-group entries-read) and 21
(7.2: ``_3``, adds consumers' active-time) are read; 19 is written, as 7.0
does. The layout:

* the radix tree's nodes: for each, its master ID (16 bytes, big endian) and
  a listpack: a master entry ``count, deleted, num-fields, fields..., 0`` and
  then entries ``flags, ms-diff, seq-diff, [num-fields, field, value ... |
  values ...], lp-count``;
* length, last ID (then first ID, max deleted ID, entries added);
* consumer groups: name, last delivered ID, entries read, the group PEL
  (raw 16-byte IDs, delivery time, delivery count) and the consumers (name,
  seen time, their PEL as raw IDs pointing into the group PEL).

redpoll's :class:`~redpoll.datatypes.stream.Stream` keeps its live entries
and a model of the nodes (master ID, fields, counters); deleted entries are
only counters, so a written node holds its live entries (a valid listpack
Redis loads as is).
"""

from __future__ import annotations

import struct

from redpoll.datatypes.stream import (
    FLAG_DELETED, FLAG_SAMEFIELDS, U64, Consumer, Group, NACK, Node, Stream, lp_int_size,
    make_id)
from redpoll.persistence.compact import CompactError, lp_decode, lp_entry, lp_from_entries

_i64 = struct.Struct("<q")
_id = struct.Struct(">QQ")


def _enc_len(n):
    from redpoll.persistence.rdb import enc_len
    return enc_len(n & ((1 << 64) - 1))


def _node_listpack(node: Node, items) -> bytes:
    """A node's listpack holding its live entries ``items`` ((id, fv), ...)."""
    master = node.master
    mms, mseq = master >> 64, master & U64
    fields = node.fields
    nf = len(fields)
    parts = [lp_entry(len(items)), lp_entry(0), lp_entry(nf)]
    parts += [lp_entry(f) for f in fields]
    parts.append(lp_entry(0))
    count = 4 + nf
    for sid, fv in items:
        efields = fv[0::2]
        same = efields == fields
        parts.append(lp_entry(FLAG_SAMEFIELDS if same else 0))
        parts.append(lp_entry((sid >> 64) - mms))
        parts.append(lp_entry((sid & U64) - mseq))
        if same:
            parts += [lp_entry(v) for v in fv[1::2]]
            parts.append(lp_entry(nf + 3))
            count += 4 + nf
        else:
            n = len(efields)
            parts.append(lp_entry(n))
            parts += [lp_entry(x) for x in fv]
            parts.append(lp_entry(2 * n + 4))
            count += 5 + 2 * n
    return lp_from_entries(b"".join(parts), count)


def encode_stream(s: Stream, es) -> bytes:
    """The payload of an RDB_TYPE_STREAM_LISTPACKS_2 value."""
    out = []
    entries = s.entries
    nodes = []
    keys = s.node_keys
    for i, node in enumerate(s.nodes):
        hi = keys[i + 1] if i + 1 < len(keys) else None
        items = [(sid, entries[sid]) for sid in
                 entries.irange(node.master, hi, inclusive=(True, False))]
        if items:
            nodes.append((node, items))
    out.append(_enc_len(len(nodes)))
    for node, items in nodes:
        out.append(es(_id.pack(node.master >> 64, node.master & U64)))
        out.append(es(_node_listpack(node, items)))
    out.append(_enc_len(len(entries)))
    first = s.first_id
    for sid in (s.last_id, first, s.max_deleted_id):
        out.append(_enc_len(sid >> 64))
        out.append(_enc_len(sid & U64))
    out.append(_enc_len(s.entries_added))
    out.append(_enc_len(len(s.groups)))
    for name in sorted(s.groups):
        g = s.groups[name]
        out.append(es(name))
        out.append(_enc_len(g.last_id >> 64))
        out.append(_enc_len(g.last_id & U64))
        out.append(_enc_len(g.entries_read))
        out.append(_enc_len(len(g.pel)))
        for sid, nack in g.pel.items():
            out.append(_id.pack(sid >> 64, sid & U64))
            out.append(_i64.pack(nack.delivery_time))
            out.append(_enc_len(nack.delivery_count))
        out.append(_enc_len(len(g.consumers)))
        for cname in sorted(g.consumers):
            c = g.consumers[cname]
            out.append(es(cname))
            out.append(_i64.pack(c.seen_time))
            out.append(_enc_len(len(c.pel)))
            for sid in c.pel:
                out.append(_id.pack(sid >> 64, sid & U64))
    return b"".join(out)


def _as_i64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def decode_stream(r, t: int) -> Stream:
    """Read a stream value (types 15, 19, 21) from an RDB reader."""
    from redpoll.persistence.rdb import T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_3, RDBError
    s = Stream()
    entries = s.entries
    nnodes = r.length()
    prev_master = -1
    for _ in range(nnodes):
        key = r.string()
        if len(key) != 16:
            raise RDBError("Stream node key entry is not the size of a stream ID")
        ms, seq = _id.unpack(key)
        master = make_id(ms, seq)
        if master <= prev_master:
            raise RDBError("Stream node keys out of order")
        prev_master = master
        r.blobs += 1
        try:
            items = lp_decode(r.string(), raw=True)
        except CompactError as e:
            raise RDBError(f"Stream listpack integrity check failed: {e}") from None
        if not items:
            raise RDBError("Empty listpack inside stream")
        try:
            _load_node(s, master, items)
        except (IndexError, TypeError, ValueError):
            raise RDBError("Stream listpack integrity check failed") from None
    length = r.length()
    last = make_id(r.length(), r.length())
    if t != T_STREAM_LISTPACKS:
        r.length()
        r.length()           # first ID: derived from the entries
        s.max_deleted_id = make_id(r.length(), r.length())
        s.entries_added = r.length()
    else:
        s.entries_added = length
    s.last_id = last
    if length != len(entries):
        raise RDBError("Stream length inconsistent with its entries")
    ngroups = r.length()
    for _ in range(ngroups):
        name = r.string()
        glast = make_id(r.length(), r.length())
        if t != T_STREAM_LISTPACKS:
            entries_read = _as_i64(r.length())
        else:
            entries_read = -1
        g = Group(glast, entries_read)
        if t == T_STREAM_LISTPACKS:
            g.entries_read = s.estimate_read(glast)
        if name in s.groups:
            raise RDBError("Duplicated consumer group name")
        s.groups[name] = g
        for _ in range(r.length()):
            ms, seq = _id.unpack(r.take(16))
            nack = NACK(None, _i64.unpack(r.take(8))[0])
            nack.delivery_count = r.length()
            g.pel[make_id(ms, seq)] = nack
        for _ in range(r.length()):
            cname = r.string()
            seen = _i64.unpack(r.take(8))[0]
            if t == T_STREAM_LISTPACKS_3:
                r.take(8)     # active time (7.2)
            c = Consumer(cname, seen)
            if cname in g.consumers:
                raise RDBError("Duplicate stream consumer detected")
            g.consumers[cname] = c
            for _ in range(r.length()):
                ms, seq = _id.unpack(r.take(16))
                sid = make_id(ms, seq)
                nack = g.pel.get(sid)
                if nack is None:
                    raise RDBError("Consumer entry not found in group global PEL")
                nack.consumer = c
                c.pel[sid] = nack
        for nack in g.pel.values():
            if nack.consumer is None:
                raise RDBError("Stream CG PEL entry without consumer")
    return s


def _load_node(s: Stream, master: int, items: list) -> None:
    """Parse one node listpack into entries and a :class:`Node`."""
    mms, mseq = master >> 64, master & U64
    count, deleted, nf = items[0], items[1], items[2]
    fields = [_b(x) for x in items[3:3 + nf]]
    if items[3 + nf] != 0:
        raise ValueError("master entry terminator")
    node = Node(master, fields)
    i = 4 + nf
    n = len(items)
    live = dead = 0
    last = master
    entries = s.entries
    while i < n:
        flags = items[i]
        sid = make_id(mms + items[i + 1], mseq + items[i + 2])
        i += 3
        if flags & FLAG_SAMEFIELDS:
            values = [_b(x) for x in items[i:i + nf]]
            i += nf
            fv = []
            for f, v in zip(fields, values):
                fv.append(f)
                fv.append(v)
        else:
            k = items[i]
            fv = [_b(x) for x in items[i + 1:i + 1 + 2 * k]]
            i += 1 + 2 * k
        i += 1                       # lp-count
        last = sid
        if flags & FLAG_DELETED:
            dead += 1
            continue
        entries[sid] = fv
        live += 1
    if live != count or dead != deleted:
        raise ValueError("node counters")
    node.count = live
    node.deleted = dead
    node.last = last
    # the node's size as Redis counts it: everything but the two counters
    node.fixed = _lp_size(items) - lp_int_size(live) - lp_int_size(dead)
    if live:
        s.nodes.append(node)
        s.node_keys.append(master)


def _b(x) -> bytes:
    return x if type(x) is bytes else str(x).encode()


def _lp_size(items: list) -> int:
    return 7 + sum(len(lp_entry(x)) for x in items)


def stream_commands(key: bytes, s: Stream) -> list[list]:
    """Commands recreating a stream (AOF base without RDB preamble), the
    sequence Redis's rewrite emits."""
    from redpoll.datatypes.stream import id_str
    cmds: list[list] = []
    if s.entries:
        for sid, fv in s.entries.items():
            cmds.append([b"XADD", key, id_str(sid)] + list(fv))
    else:
        cmds.append([b"XADD", key, b"MAXLEN", b"0", id_str(s.last_id), b"x", b"y"])
    cmds.append([b"XSETID", key, id_str(s.last_id), b"ENTRIESADDED",
                 str(s.entries_added).encode(), b"MAXDELETEDID", id_str(s.max_deleted_id)])
    for name in sorted(s.groups):
        g = s.groups[name]
        cmds.append([b"XGROUP", b"CREATE", key, name, id_str(g.last_id), b"ENTRIESREAD",
                     str(g.entries_read).encode()])
        for sid, nack in g.pel.items():
            cmds.append([b"XCLAIM", key, name, nack.consumer.name, b"0", id_str(sid),
                         b"TIME", str(nack.delivery_time).encode(), b"RETRYCOUNT",
                         str(nack.delivery_count).encode(), b"JUSTID", b"FORCE"])
        for cname in sorted(g.consumers):
            if not g.consumers[cname].pel:
                cmds.append([b"XGROUP", b"CREATECONSUMER", key, name, cname])
    return cmds
