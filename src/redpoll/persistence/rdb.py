"""RDB files: Redis 7.0's snapshot format (RDB version 10), read and written.

Public API (used by SAVE/BGSAVE, DEBUG RELOAD, DUMP/RESTORE, the AOF
preamble and replication's full sync):

``dump_bytes(server, aux=None) -> bytes``
    A complete RDB image of every database: ``REDIS0010``, the aux fields
    Redis writes (redis-ver, redis-bits, ctime, used-mem, then repl-stream-db,
    repl-id, repl-offset when replication info is given, aof-base), function
    libraries, per db SELECTDB + RESIZEDB + key/values (expiry as ms), EOF and
    the CRC-64 trailer (0 when ``rdbchecksum no``). ``aux`` adds or overrides
    aux fields, e.g. ``{"repl-id": replid, "repl-offset": 123,
    "repl-stream-db": 0}``; without it ``server.rdb_repl_info()`` (a hook the
    replication room may set, returning such a dict or None) is consulted.

``write_rdb(server, write, aux=None, progress=None) -> int``
    The same image streamed through ``write(bytes)`` in ~64 KB chunks (for
    files and sockets); returns the byte count. ``progress(keys)`` is called
    now and then (a forked child reports through it).

``load_bytes(server, data, aof_preamble=False) -> dict``
    Replace the whole dataset with the contents of an RDB image. The image is
    parsed completely into new databases first, so on any corruption the old
    dataset is left untouched and :class:`RDBError` is raised with a message
    saying what is wrong. Returns the aux fields plus ``keys_loaded``,
    ``expired_skipped`` and ``functions`` (library codes). As in Redis, a
    primary skips keys already expired (not when loading an AOF preamble).
    ``load_from(server, fileobj)`` does the same from a file.

``encode_value(value, opts=None) -> (type_byte, payload)`` /
``decode_value(type_byte, payload) -> value``
    One value in the encoding Redis 7.0 would choose for it (listpack for
    small hashes and sorted sets per ``*-max-listpack-*``, intset for small
    integer sets, quicklist 2 for lists, stream listpacks v2). ``opts`` is an
    :class:`Options` (``Options.from_config(server.config)``); default is
    Redis's defaults. The decoder reads every encoding Redis 6.x/7.x write
    (ziplist, zipmap, intset, listpack, quicklist 1/2, streams v1-v3).

``dump_payload(value, opts=None) -> bytes`` / ``restore_payload(data)``
    DUMP/RESTORE serialisation: type, value, RDB version (2 bytes LE) and
    CRC-64 (8 bytes LE).

``bgsave_to_fd(server, target, done_callback, aux=None, prefix=b"", suffix=b"")``
    The image written by a forked child (BGSAVE, disk and diskless full
    syncs) without blocking the loop: ``target`` is a path (temp file,
    fsync, rename) or a file descriptor (file or socket, possibly
    non-blocking); ``done_callback(ok)`` runs on the loop when the child has
    exited. ``save_file(server, path)`` is the synchronous version (SAVE).
    SAVE/BGSAVE bookkeeping is in :mod:`redpoll.persistence.snapshot`, the
    fork machinery in :mod:`redpoll.persistence.child`.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Callable

import lzf

from redpoll import REDIS_COMPAT_VERSION
from redpoll.datatypes import RHash, RList, RSet, Stream, ZSet
from redpoll.persistence.compact import (
    CompactError, as_int, intset_decode, intset_encode, lp_decode, lp_encode,
    lp_entry_size, zipmap_decode, zl_decode)
from redpoll.persistence.crc64 import crc64

RDB_VERSION = 10

# value types
T_STRING, T_LIST, T_SET, T_ZSET, T_HASH, T_ZSET_2 = 0, 1, 2, 3, 4, 5
T_MODULE, T_MODULE_2 = 6, 7
T_HASH_ZIPMAP, T_LIST_ZIPLIST, T_SET_INTSET, T_ZSET_ZIPLIST, T_HASH_ZIPLIST = 9, 10, 11, 12, 13
T_LIST_QUICKLIST, T_STREAM_LISTPACKS, T_HASH_LISTPACK, T_ZSET_LISTPACK = 14, 15, 16, 17
T_LIST_QUICKLIST_2, T_STREAM_LISTPACKS_2, T_SET_LISTPACK, T_STREAM_LISTPACKS_3 = 18, 19, 20, 21

# opcodes
OP_SLOT_INFO = 0xF4
OP_FUNCTION2 = 0xF5
OP_FUNCTION_PRE_GA = 0xF6
OP_MODULE_AUX = 0xF7
OP_IDLE = 0xF8
OP_FREQ = 0xF9
OP_AUX = 0xFA
OP_RESIZEDB = 0xFB
OP_EXPIRETIME_MS = 0xFC
OP_EXPIRETIME = 0xFD
OP_SELECTDB = 0xFE
OP_EOF = 0xFF

_u64 = struct.Struct("<Q")
_i64 = struct.Struct("<q")
_dbl = struct.Struct("<d")
_u32 = struct.Struct("<I")
_stream_id = struct.Struct(">QQ")

CHUNK = 1 << 16


class RDBError(Exception):
    """The RDB data (file or DUMP payload) is corrupt or unsupported."""


class Options:
    """The configuration that decides how values are encoded."""

    __slots__ = ("compression", "checksum", "hash_entries", "hash_value",
                 "zset_entries", "zset_value", "intset_entries", "list_fill",
                 "list_depth")

    def __init__(self, compression=True, checksum=True, hash_entries=512,
                 hash_value=64, zset_entries=128, zset_value=64,
                 intset_entries=512, list_fill=-2, list_depth=0):
        self.compression = compression
        self.checksum = checksum
        self.hash_entries = hash_entries
        self.hash_value = hash_value
        self.zset_entries = zset_entries
        self.zset_value = zset_value
        self.intset_entries = intset_entries
        self.list_fill = list_fill
        self.list_depth = list_depth

    @classmethod
    def from_config(cls, cfg) -> "Options":
        return cls(cfg["rdbcompression"], cfg["rdbchecksum"],
                   cfg["hash-max-listpack-entries"], cfg["hash-max-listpack-value"],
                   cfg["zset-max-listpack-entries"], cfg["zset-max-listpack-value"],
                   cfg["set-max-intset-entries"], cfg["list-max-listpack-size"],
                   cfg["list-compress-depth"])


DEFAULT_OPTIONS = Options()

# ============================================================================
# primitives: lengths, strings, doubles
# ============================================================================

_SMALL_LEN = [bytes((n,)) for n in range(64)]
# first bytes that cannot start a canonical integer (not a digit, not '-')
_NOT_INT_START = bytes(0 if (48 <= c <= 57 or c == 45) else 1 for c in range(256))


def enc_len(n: int) -> bytes:
    """RDB length encoding (6, 14, 32 or 64 bits)."""
    if n < 64:
        return _SMALL_LEN[n]
    if n < 16384:
        return bytes((0x40 | (n >> 8), n & 0xFF))
    if n <= 0xFFFFFFFF:
        return b"\x80" + n.to_bytes(4, "big")
    return b"\x81" + n.to_bytes(8, "big")


def _enc_int_str(v: int) -> bytes | None:
    if -128 <= v <= 127:
        return b"\xc0" + (v & 0xFF).to_bytes(1, "little")
    if -32768 <= v <= 32767:
        return b"\xc1" + (v & 0xFFFF).to_bytes(2, "little")
    if -2147483648 <= v <= 2147483647:
        return b"\xc2" + (v & 0xFFFFFFFF).to_bytes(4, "little")
    return None


def enc_str_plain(s: bytes) -> bytes:
    """An RDB string without LZF (integer encoding still applies)."""
    n = len(s)
    if 0 < n <= 11:
        v = as_int(s)
        if v is not None:
            e = _enc_int_str(v)
            if e is not None:
                return e
    if n < 64:
        return _SMALL_LEN[n] + s
    return enc_len(n) + s


def enc_str_lzf(s: bytes) -> bytes:
    """An RDB string as Redis writes it with ``rdbcompression yes``."""
    n = len(s)
    if n > 20:
        c = lzf.compress(s, n - 4)
        if c is not None:
            return b"\xc3" + enc_len(len(c)) + enc_len(n) + c
        return enc_len(n) + s
    return enc_str_plain(s)


def lzf_blob(raw: bytes, force: bool = False) -> bytes | None:
    """``raw`` LZF-compressed as an RDB string, or None if it does not shrink."""
    n = len(raw)
    if n <= 4:
        return None
    c = lzf.compress(raw, n - 4)
    if c is None:
        return None
    return b"\xc3" + enc_len(len(c)) + enc_len(n) + c


def d2string(v: float) -> bytes:
    """A double as Redis 7.0's d2string prints it (sorted set listpacks)."""
    if v == 0:
        return b"-0" if math.copysign(1.0, v) < 0 else b"0"
    if math.isinf(v):
        return b"inf" if v > 0 else b"-inf"
    if math.isnan(v):
        return b"nan"
    if -4503599627370495 < v < 4503599627370496 and v == int(v):
        return str(int(v)).encode()
    return b"%.17g" % v


# ============================================================================
# writer
# ============================================================================

def _listpack_str(blob: bytes, opts: Options) -> bytes:
    return enc_str_lzf(blob) if opts.compression else enc_str_plain(blob)


def _quicklist_nodes(lst, fill: int) -> list[list]:
    """Split a list into quicklist nodes as Redis's fill factor would."""
    nodes = []
    cur: list = []
    if fill < 0:
        limit = (4096, 8192, 16384, 32768, 65536)[min(-fill, 5) - 1]
        size = 7
        for x in lst:
            es = lp_entry_size(x)
            if cur and size + es > limit:
                nodes.append(cur)
                cur, size = [], 7
            cur.append(x)
            size += es
    else:
        fill = fill or 1
        size = 7
        for x in lst:
            es = lp_entry_size(x)
            if cur and (len(cur) >= fill or size + es > 8192):
                nodes.append(cur)
                cur, size = [], 7
            cur.append(x)
            size += es
    if cur:
        nodes.append(cur)
    return nodes


def encode_value(value, opts: Options | None = None) -> tuple[int, bytes]:
    """``(type byte, payload)`` of one value, in the encoding Redis 7.0 uses."""
    opts = opts or DEFAULT_OPTIONS
    t = type(value)
    es = enc_str_lzf if opts.compression else enc_str_plain
    if t is bytes:
        return T_STRING, es(value)
    if t is RHash:
        n = len(value)
        mv = opts.hash_value
        ht = getattr(value, "ht", None)
        if ht is None:
            ht = n > opts.hash_entries or not all(len(k) <= mv and len(v) <= mv
                                                  for k, v in value.items())
        if not ht:
            items = []
            for k, v in value.items():
                items.append(k)
                items.append(v)
            return T_HASH_LISTPACK, _listpack_str(lp_encode(items), opts)
        parts = [enc_len(n)]
        for k, v in value.items():
            parts.append(es(k))
            parts.append(es(v))
        return T_HASH, b"".join(parts)
    if t is RSet:
        n = len(value)
        ht = getattr(value, "ht", None)
        if not ht and n <= opts.intset_entries:
            ints = []
            for m in value:
                v = as_int(m)
                if v is None:
                    break
                ints.append(v)
            else:
                return T_SET_INTSET, _listpack_str(intset_encode(ints), opts)
        return T_SET, enc_len(n) + b"".join([es(m) for m in value])
    if t is ZSet:
        n = len(value)
        mv = opts.zset_value
        big = getattr(value, "big", None)
        if big is None:
            big = n > opts.zset_entries or not all(len(m) <= mv for m in value.scores())
        if not big:
            items = []
            for score, member in value.pairs():     # (a packed zset is not expanded)
                items.append(member)
                items.append(d2string(score))
            return T_ZSET_LISTPACK, _listpack_str(lp_encode(items), opts)
        parts = [enc_len(n)]
        pack = _dbl.pack
        for score, member in reversed(value.pairs()):
            parts.append(es(member))
            parts.append(pack(score))
        return T_ZSET_2, b"".join(parts)
    if t is RList:
        nodes = _quicklist_nodes(value, opts.list_fill)
        depth = opts.list_depth
        parts = [enc_len(len(nodes))]
        last = len(nodes) - depth
        for i, node in enumerate(nodes):
            blob = lp_encode(node)
            parts.append(b"\x02")
            if depth and depth <= i < last and len(blob) >= 48:
                z = lzf_blob(blob)
                if z is not None and len(z) + 8 < len(blob):
                    parts.append(z)
                    continue
            parts.append(_listpack_str(blob, opts))
        return T_LIST_QUICKLIST_2, b"".join(parts)
    if t is Stream:
        from redpoll.persistence.rdb_stream import encode_stream
        return T_STREAM_LISTPACKS_2, encode_stream(value, es)
    raise RDBError(f"cannot serialise a value of type {t.__name__}")


def dump_payload(value, opts: Options | None = None) -> bytes:
    """DUMP's serialisation: type, value, RDB version, CRC-64."""
    t, payload = encode_value(value, opts)
    body = bytes((t,)) + payload + RDB_VERSION.to_bytes(2, "little")
    return body + _u64.pack(crc64(body))


def aux_fields(server, aux: dict | None = None) -> dict:
    """The aux fields Redis 7.0 writes, in its order (``aux`` adds/overrides)."""
    try:
        from redpoll.memory import used_memory
        mem = used_memory(server)
    except Exception:  # never let a statistic break a save
        mem = 0
    fields = {
        "redis-ver": REDIS_COMPAT_VERSION,
        "redis-bits": 64,
        "ctime": int(time.time()),
        "used-mem": mem,
    }
    repl = aux
    if repl is None:
        fn = getattr(server, "rdb_repl_info", None)
        repl = fn() if fn is not None else None
    if repl:
        for k in ("repl-stream-db", "repl-id", "repl-offset"):
            if k in repl:
                fields[k] = repl[k]
    fields["aof-base"] = 0
    if aux:
        fields.update(aux)
    return fields


def write_rdb(server, write: Callable[[bytes], object], aux: dict | None = None,
              progress: Callable[[int], None] | None = None,
              opts: Options | None = None) -> int:
    """Stream a full RDB image through ``write``; returns the bytes written."""
    opts = opts or Options.from_config(server.config)
    checksum = opts.checksum
    crc = 0
    total = 0
    buf: list[bytes] = [b"REDIS%04d" % RDB_VERSION]
    size = 9

    def flush():
        nonlocal crc, total, buf, size
        data = b"".join(buf)
        if checksum:
            crc = crc64(data, crc)
        write(data)
        total += len(data)
        buf = []
        size = 0

    es = enc_str_lzf if opts.compression else enc_str_plain
    for k, v in aux_fields(server, aux).items():
        if isinstance(v, int):
            v = str(v)
        if isinstance(v, str):
            v = v.encode()
        buf.append(b"\xfa" + es(k.encode()) + es(v))
    libs = getattr(server, "function_libraries", None)
    if libs:
        for code in libs():
            buf.append(b"\xf5" + es(code))
    keys_done = 0
    policy = server.config["maxmemory-policy"]
    lru = "lru" in policy
    lfu = "lfu" in policy
    S = _SMALL_LEN
    NOINT = _NOT_INT_START
    lim = 20 if opts.compression else 63
    for db in server.dbs:
        data = db.data
        if not data:
            continue
        expires = db.expires
        access = db.access if (lru or lfu) else None
        buf.append(b"\xfe" + enc_len(db.id) + b"\xfb" + enc_len(len(data))
                   + enc_len(len(expires)))
        flush()
        if expires or access:
            plain = [(k, v) for k, v in data.items()
                     if k not in expires and (not access or k not in access)]
            special = [k for k in data if k in expires or (access and k in access)]
        else:
            plain = list(data.items())
            special = []
        # fast path: string values whose key and value are short, not
        # integer-like and below the LZF threshold: plain length + bytes
        for i in range(0, len(plain), 4096):
            part = plain[i:i + 4096]
            recs = [b"\x00" + S[len(k)] + k + S[len(v)] + v
                    if type(v) is bytes
                    and (11 < len(k) <= lim or (0 < len(k) <= 11 and NOINT[k[0]]))
                    and (11 < len(v) <= lim or (0 < len(v) <= 11 and NOINT[v[0]]))
                    else None for k, v in part]
            if None in recs:
                for j, r in enumerate(recs):
                    if r is None:
                        k, v = part[j]
                        if type(v) is bytes:
                            recs[j] = b"\x00" + es(k) + es(v)
                        else:
                            t, payload = encode_value(v, opts)
                            recs[j] = bytes((t,)) + es(k) + payload
            buf.extend(recs)
            flush()
            keys_done += len(part)
            if progress is not None:
                progress(keys_done)
        for key in special:
            value = data[key]
            when = expires.get(key)
            if when is not None:
                buf.append(b"\xfc" + _i64.pack(when))
            if access:
                a = access.get(key)
                if a is not None:
                    if lfu:
                        buf.append(b"\xf9" + bytes((lfu_counter(server, a),)))
                    else:
                        buf.append(b"\xf8" + enc_len(lru_idle_seconds(server, a)))
            if type(value) is bytes:
                kv = b"\x00" + es(key) + es(value)
            else:
                t, payload = encode_value(value, opts)
                kv = bytes((t,)) + es(key) + payload
            buf.append(kv)
            size += len(kv)
            keys_done += 1
            if size >= CHUNK:
                flush()
                if progress is not None:
                    progress(keys_done)
    buf.append(b"\xff")
    flush()
    trailer = _u64.pack(crc if checksum else 0)
    write(trailer)
    return total + 8


# -- LRU/LFU data (db.access, kept by the eviction room) ----------------------------

def lfu_counter(server, packed: int) -> int:
    """The LFU counter (0-255, decayed) of an access entry."""
    ev = getattr(server, "evictor", None)
    c = ev.lfu_decr(packed) if ev is not None else packed & 0xFF
    return min(255, max(0, c))


def lru_idle_seconds(server, t: int) -> int:
    ev = getattr(server, "evictor", None)
    clock = ev.lru_clock_ms if ev is not None else int(time.time() * 1000)
    return max(0, (clock - t) // 1000)


def access_entry(server, freq: int = -1, idle: int = -1):
    """The db.access value for a loaded LFU counter or LRU idle time (s),
    or None when the maxmemory policy does not use it (as Redis ignores it)."""
    policy = server.config["maxmemory-policy"]
    ev = getattr(server, "evictor", None)
    if freq != -1 and "lfu" in policy:
        minutes = ev.minutes() if ev is not None else (int(time.time()) // 60) & 0xFFFF
        return (minutes << 8) | freq
    if idle != -1 and "lru" in policy:
        clock = ev.lru_clock_ms if ev is not None else int(time.time() * 1000)
        return clock - idle * 1000
    return None


def dump_bytes(server, aux: dict | None = None) -> bytes:
    """A complete RDB v10 image of the dataset."""
    out: list[bytes] = []
    write_rdb(server, out.append, aux)
    return b"".join(out)


# ============================================================================
# reader
# ============================================================================

class _Reader:
    """Cursor over an RDB image (or a DUMP payload)."""

    __slots__ = ("buf", "pos", "end", "blobs")

    def __init__(self, buf, pos: int = 0, end: int | None = None):
        self.buf = buf
        self.pos = pos
        # compact blobs (listpack, ziplist, intset, zipmap) read: Redis
        # counts each one it deep-validates in dump_payload_sanitizations
        self.blobs = 0
        self.end = len(buf) if end is None else end

    def take(self, n: int) -> bytes:
        p = self.pos
        q = p + n
        if q > self.end:
            raise RDBError("Unexpected EOF reading RDB file")
        self.pos = q
        return self.buf[p:q]

    def byte(self) -> int:
        p = self.pos
        if p >= self.end:
            raise RDBError("Unexpected EOF reading RDB file")
        self.pos = p + 1
        return self.buf[p]

    def length(self) -> int:
        """A length (encoded strings are refused here)."""
        b = self.byte()
        t = b >> 6
        if t == 0:
            return b & 0x3F
        if t == 1:
            return ((b & 0x3F) << 8) | self.byte()
        if b == 0x80:
            return int.from_bytes(self.take(4), "big")
        if b == 0x81:
            return int.from_bytes(self.take(8), "big")
        raise RDBError(f"Unknown length encoding {b} in rdbLoadLen()")

    def string(self) -> bytes:
        b = self.byte()
        t = b >> 6
        if t == 0:
            return self.take(b & 0x3F)
        if t == 1:
            return self.take(((b & 0x3F) << 8) | self.byte())
        if b == 0x80:
            return self.take(int.from_bytes(self.take(4), "big"))
        if b == 0x81:
            return self.take(int.from_bytes(self.take(8), "big"))
        if b == 0xC0:
            return str(int.from_bytes(self.take(1), "little", signed=True)).encode()
        if b == 0xC1:
            return str(int.from_bytes(self.take(2), "little", signed=True)).encode()
        if b == 0xC2:
            return str(int.from_bytes(self.take(4), "little", signed=True)).encode()
        if b == 0xC3:
            clen = self.length()
            ulen = self.length()
            c = self.take(clen)
            if ulen == 0:
                raise RDBError("Invalid LZF compressed string")
            out = lzf.decompress(c, ulen)
            if out is None or len(out) != ulen:
                raise RDBError("Invalid LZF compressed string")
            return out
        raise RDBError(f"Unknown RDB string encoding type {b & 0x3F}")

    def ms(self) -> int:
        return _i64.unpack(self.take(8))[0]

    def binary_double(self) -> float:
        return _dbl.unpack(self.take(8))[0]

    def old_double(self) -> float:
        n = self.byte()
        if n == 255:
            return float("-inf")
        if n == 254:
            return float("inf")
        if n == 253:
            return float("nan")
        try:
            return float(self.take(n))
        except ValueError:
            raise RDBError("Bad double value") from None


def _pairs_to_hash(items: list) -> RHash:
    if len(items) % 2:
        raise RDBError("Hash listpack/ziplist has an odd number of elements")
    h = RHash()
    it = iter(items)
    for k in it:
        if k in h:
            raise RDBError("Hash listpack/ziplist with dup elements")
        h[k] = next(it)
    return h


def _pairs_to_zset(items: list) -> ZSet:
    if len(items) % 2:
        raise RDBError("Zset listpack/ziplist has an odd number of elements")
    z = ZSet()
    d = z.dict
    pairs = []
    it = iter(items)
    for m in it:
        try:
            s = float(next(it))
        except ValueError:
            raise RDBError("Zset listpack/ziplist with a bad score") from None
        if m in d:
            raise RDBError("Zset listpack/ziplist with dup elements")
        d[m] = s
        pairs.append((s, m))
    z.sl.update(pairs)
    return z


def _new_zset(pairs: list[tuple[bytes, float]]) -> ZSet:
    z = ZSet()
    d = z.dict
    for m, s in pairs:
        if math.isnan(s):
            raise RDBError("Zset with NAN score detected")
        if m in d:
            raise RDBError("Duplicate zset fields detected")
        d[m] = s
    z.sl.update([(s, m) for m, s in d.items()])
    return z


# The types whose value is one string in a compact encoding (each counts
# as a blob to sanitize): how to decode the string, and what builds the
# value from the items decoded.
_BLOB_VALUES = {
    T_HASH_LISTPACK: (lp_decode, _pairs_to_hash),
    T_ZSET_LISTPACK: (lp_decode, _pairs_to_zset),
    T_SET_INTSET: (intset_decode, RSet),
    T_LIST_ZIPLIST: (zl_decode, RList),
    T_HASH_ZIPLIST: (zl_decode, _pairs_to_hash),
    T_ZSET_ZIPLIST: (zl_decode, _pairs_to_zset),
    T_HASH_ZIPMAP: (zipmap_decode, _pairs_to_hash),
}


def read_value(r: _Reader, t: int):
    """Read one value of type ``t`` at the reader's position."""
    try:
        if t == T_STRING:
            return r.string()
        if t == T_LIST_QUICKLIST_2:
            lst = RList()
            for _ in range(r.length()):
                container = r.length()
                blob = r.string()
                if container == 1:
                    lst.append(blob)
                elif container == 2:
                    r.blobs += 1
                    items = lp_decode(blob)
                    if not items:
                        raise RDBError("Empty listpack inside quicklist")
                    lst.extend(items)
                else:
                    raise RDBError(f"Quicklist integrity check failed (container {container})")
            return lst
        compact = _BLOB_VALUES.get(t)
        if compact is not None:
            r.blobs += 1
            decode, build = compact
            return build(decode(r.string()))
        if t == T_HASH:
            h = RHash()
            n = r.length()
            for _ in range(n):
                k = r.string()
                if k in h:
                    raise RDBError("Duplicate hash fields detected")
                h[k] = r.string()
            return h
        if t == T_SET or t == T_SET_LISTPACK:
            if t == T_SET_LISTPACK:
                r.blobs += 1
                members = lp_decode(r.string())
            else:
                members = [r.string() for _ in range(r.length())]
            s = RSet(members)
            if len(s) != len(members):
                raise RDBError("Duplicate set members detected")
            return s
        if t == T_ZSET_2:
            n = r.length()
            return _new_zset([(r.string(), r.binary_double()) for _ in range(n)])
        if t == T_ZSET:
            n = r.length()
            return _new_zset([(r.string(), r.old_double()) for _ in range(n)])
        if t == T_LIST:
            return RList([r.string() for _ in range(r.length())])
        if t == T_LIST_QUICKLIST:
            lst = RList()
            for _ in range(r.length()):
                r.blobs += 1
                items = zl_decode(r.string())
                if not items:
                    raise RDBError("Empty ziplist inside quicklist")
                lst.extend(items)
            return lst
        if t in (T_STREAM_LISTPACKS, T_STREAM_LISTPACKS_2, T_STREAM_LISTPACKS_3):
            from redpoll.persistence.rdb_stream import decode_stream
            return decode_stream(r, t)
        if t in (T_MODULE, T_MODULE_2):
            raise RDBError("The RDB file contains module data I can't load: "
                           "no matching module")
    except CompactError as e:
        raise RDBError(f"Corrupt encoded value: {e}") from None
    raise RDBError(f"Unknown RDB encoding type {t}")


def fix_encoding(value, config, t: int | None = None) -> None:
    """Recompute the encoding a value loaded in bulk has (as Redis decides
    it when loading: from the size limits). A hash or zset read from a
    listpack (type ``t``) only converts when it has too many entries."""
    fn = getattr(value, "update_encoding", None)
    if fn is not None:
        if t == T_HASH_LISTPACK or t == T_ZSET_LISTPACK:
            fn(config, entries_only=True)
        else:
            fn(config)


def decode_value(t: int, payload: bytes, config=None):
    """The value serialised as ``payload`` with type byte ``t``; the whole
    payload must be consumed. With ``config`` the value's encoding state is
    set from the size limits."""
    r = _Reader(payload)
    v = read_value(r, t)
    if r.pos != len(payload):
        raise RDBError("Trailing data after the value")
    if config is not None:
        fix_encoding(v, config, t)
    return v


def verify_payload(data: bytes, check_crc: bool = True) -> bool:
    """RESTORE's check: footer version <= ours and a matching CRC-64."""
    if len(data) < 10:
        return False
    ver = int.from_bytes(data[-10:-8], "little")
    if ver > RDB_VERSION:
        return False
    if not check_crc:
        return True
    crc = _u64.unpack(data[-8:])[0]
    return crc64(data[:-8]) == crc


def restore_payload(data: bytes, config=None, server=None, client=None):
    """Decode a DUMP payload already checked by :func:`verify_payload`.

    As in Redis the value is read from the whole buffer (footer included) and
    bytes left over are not an error. With ``server`` the blobs read count
    as sanitizations (see :func:`count_sanitizations`) for RESTORE from
    ``client``."""
    r = _Reader(data, 1)
    try:
        v = read_value(r, data[0])
    finally:
        if server is not None:
            count_sanitizations(server, r.blobs, client=client)
    if config is not None:
        fix_encoding(v, config, data[0])
    return v


def is_empty(v) -> bool:
    return type(v) is not bytes and type(v) is not Stream and len(v) == 0


def load_bytes(server, data, aof_preamble: bool = False,
               check_crc: bool | None = None) -> dict:
    """Replace the dataset with an RDB image; see the module docstring."""
    info, dbs = parse_rdb(server, data, aof_preamble, check_crc)
    install_dbs(server, dbs)
    install_functions(server, info["functions"])
    count_sanitizations(server, info["blobs"], loading=True)
    return info


def load_from(server, fileobj, aof_preamble: bool = False) -> dict:
    return load_bytes(server, fileobj.read(), aof_preamble)


def parse_rdb(server, data, aof_preamble: bool = False,
              check_crc: bool | None = None, start: int = 0,
              watch: Callable | None = None):
    """Parse an RDB image into ``(info, {dbid: (data, expires, access)})``.

    ``info["end"]`` is the offset just past the checksum (an AOF with an RDB
    preamble continues there); ``info["blobs"]`` counts the compact blobs
    read (see :class:`_Reader`). ``watch(reader, aux)`` is called first: the
    loader keeps the reader to show its position (``reader.pos``, never more
    than 1 MB stale) as the loading progress and ``aux`` as it fills in."""
    if check_crc is None:
        check_crc = server.config["rdbchecksum"]
    mv = memoryview(data)
    r = _Reader(data, start)
    magic = r.take(9) if len(data) - start >= 9 else b""
    if magic[:5] != b"REDIS":
        raise RDBError("Wrong signature trying to load DB from file")
    try:
        ver = int(magic[5:])
    except ValueError:
        raise RDBError("Wrong signature trying to load DB from file") from None
    if ver < 1 or ver > 11:
        raise RDBError(f"Can't handle RDB format version {ver}")
    ndb = len(server.dbs)
    config = server.config
    master = server.masterhost is None
    now = int(time.time() * 1000)
    dbs: dict[int, tuple[dict, dict, dict]] = {}
    cur = dbs.setdefault(0, ({}, {}, {}))
    info: dict = {"rdb-version": ver, "keys_loaded": 0, "expired_skipped": 0,
                  "empty_skipped": 0, "functions": []}
    expire = -1
    lru_idle = -1
    lfu_freq = -1
    aux = {}
    info["aux"] = aux
    buf = data
    end = len(data)
    inserted = {0: 0}
    curid = 0
    if watch is not None:
        watch(r, aux)
    while True:
        if expire == -1 and lru_idle == -1 and lfu_freq == -1:
            # fast path: a run of string records whose key and value have
            # 6-bit lengths (the bulk of most datasets)
            pos = r.pos
            d0 = cur[0]
            n0 = pos
            fast = 0
            lim = pos + 1048576      # keep r.pos (the progress) fresh
            try:
                while buf[pos] == 0 and pos < lim:
                    kl = buf[pos + 1]
                    if kl >= 64:
                        break
                    p = pos + 2 + kl
                    vl = buf[p]
                    if vl >= 64:
                        break
                    q = p + 1 + vl
                    if q > end:
                        break
                    d0[buf[pos + 2:p]] = buf[p + 1:q]
                    pos = q
                    fast += 1
            except IndexError:
                pass
            if pos != n0:
                r.pos = pos
                inserted[curid] += fast
                info["keys_loaded"] += fast
        t = r.byte()
        if t == OP_EXPIRETIME_MS:
            expire = r.ms()
            continue
        if t == OP_EXPIRETIME:
            expire = _u32.unpack(r.take(4))[0] * 1000
            continue
        if t == OP_IDLE:
            lru_idle = r.length()
            continue
        if t == OP_FREQ:
            lfu_freq = r.byte()
            continue
        if t == OP_SELECTDB:
            dbid = r.length()
            if dbid >= ndb:
                raise RDBError(
                    f"FATAL: Data file was created with a Redis server configured "
                    f"to handle more than {ndb} databases. Exiting\n")
            cur = dbs.setdefault(dbid, ({}, {}, {}))
            curid = dbid
            inserted.setdefault(dbid, 0)
            continue
        if t == OP_RESIZEDB:
            r.length()
            r.length()
            continue
        if t == OP_SLOT_INFO:
            r.length()
            r.length()
            r.length()
            continue
        if t == OP_AUX:
            k = r.string()
            v = r.string()
            aux[k.decode("latin-1")] = v
            continue
        if t == OP_FUNCTION2:
            info["functions"].append(r.string())
            continue
        if t == OP_FUNCTION_PRE_GA:
            raise RDBError("Pre-release function format not supported.")
        if t == OP_MODULE_AUX:
            raise RDBError("The RDB file contains AUX module data I can't load: "
                           "no matching module")
        if t == OP_EOF:
            break
        key = r.string()
        value = read_value(r, t)
        if t != T_STRING:
            fix_encoding(value, config, t)
        if key in cur[0]:
            raise RDBError(f"Duplicate key '{key.decode('utf-8', 'replace')}' "
                           f"found in RDB file")
        if is_empty(value):
            info["empty_skipped"] += 1
        elif expire != -1 and master and not aof_preamble and expire < now:
            info["expired_skipped"] += 1
        else:
            cur[0][key] = value
            inserted[curid] += 1
            if expire != -1:
                cur[1][key] = expire
            if lfu_freq != -1 or lru_idle != -1:
                a = access_entry(server, lfu_freq, lru_idle)
                if a is not None:
                    cur[2][key] = a
            info["keys_loaded"] += 1
        expire = lru_idle = lfu_freq = -1
    for dbid, n in inserted.items():
        if len(dbs[dbid][0]) != n:
            raise RDBError("Duplicate key found in RDB file")
    body_end = r.pos
    if ver >= 5:
        stored = _u64.unpack(r.take(8))[0]
        if check_crc:
            if stored == 0:
                info["no_checksum"] = True
            else:
                got = crc64(mv[start:body_end])
                if got != stored:
                    raise RDBError(f"Wrong RDB checksum expected: ({stored:x}) "
                                   f"got ({got:x}). Aborting now.")
    info["end"] = r.pos
    info["blobs"] = r.blobs
    for k in ("repl-stream-db", "repl-offset", "aof-base", "ctime", "used-mem",
              "redis-bits"):
        if k in aux:
            try:
                aux[k] = int(aux[k])
            except ValueError:
                pass
    return info, dbs


def install_dbs(server, dbs: dict) -> None:
    """Make parsed databases the live dataset (every db is replaced)."""
    for db in server.dbs:
        d = dbs.get(db.id)
        db.clear()
        if d is None:
            continue
        db.data = d[0]
        if d[1]:
            for k, when in d[1].items():
                db.set_expire(k, when)
        if d[2]:
            db.access = d[2]
    dataset_replaced(server)


def flush_functions(server) -> None:
    """Drop every function library (Redis empties them with the data
    before loading an RDB or the AOF, FLUSHALL aside)."""
    reg = getattr(server, "function_registry", None)
    if reg is not None:
        reg.flush()


def install_functions(server, codes, flush: bool = True) -> None:
    """Make the libraries of a loaded image the live ones: with ``flush``
    (every load but DEBUG RELOAD NOFLUSH) the libraries not in the image go
    away; a library of the image replaces its namesake."""
    if flush:
        flush_functions(server)
    fn = getattr(server, "load_function_library", None)
    if fn is not None:
        for code in codes:
            fn(code)


def count_sanitizations(server, blobs: int, loading: bool = False, client=None) -> None:
    """``sanitize-dump-payload``: Redis deep-validates each compact blob
    (listpack, ziplist, intset, zipmap) when set to ``yes``, and with
    ``clients`` on RESTORE from a client that is neither our primary nor a
    user with ``skip-sanitize-payload`` (never when loading a file); INFO's
    ``dump_payload_sanitizations`` counts the blobs validated. redpoll's
    decoder always checks every blob fully, so only the count depends on
    the setting."""
    if not blobs:
        return
    mode = server.config["sanitize-dump-payload"]
    if mode == "clients":
        if loading or client is None:
            return
        from redpoll.client import F_MASTER
        user = client.user
        if client.flags & F_MASTER or (
                user is not None and user.sanitize == "skip-sanitize-payload"):
            return
    elif mode != "yes":
        return
    server.stats.dump_payload_sanitizations += blobs


def dataset_replaced(server) -> None:
    """Tell the rooms that keep per-key state that the dataset was replaced
    wholesale (memory accounting recounts)."""
    acc = getattr(server, "memory", None)
    if acc is not None and getattr(acc, "enabled", False):
        for db in server.dbs:
            acc.recompute_db(db.id)


# ============================================================================
# files and forked children
# ============================================================================

AUTOSYNC_BYTES = 4 * 1024 * 1024
_SFR_WAIT_BEFORE, _SFR_WRITE, _SFR_WAIT_AFTER = 1, 2, 4


def _sync_file_range():
    """libc's sync_file_range (Linux), or None."""
    import ctypes
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


def autosync_writer(f, enabled: bool) -> Callable[[bytes], object]:
    """``f.write``, with the dirty pages flushed every 4 MB written when
    ``enabled`` (``rdb-save-incremental-fsync`` /
    ``aof-rewrite-incremental-fsync``) as Redis 7.0's rio does: start the
    write-out of the new 4 MB and wait for the previous 4 MB
    (sync_file_range), so the final fsync is short and the kernel never
    holds much dirty data (fdatasync where sync_file_range is missing)."""
    if not enabled:
        return f.write
    import os
    fileno = f.fileno()
    sfr = _sync_file_range()
    written = 0
    synced = 0            # offset up to which a write-out was started
    prev = -1             # start of the range started before that one

    def write(b) -> None:
        nonlocal written, synced, prev
        f.write(b)
        written += len(b)
        if written - synced < AUTOSYNC_BYTES:
            return
        f.flush()
        if sfr is None or sfr(fileno, synced, written - synced, _SFR_WRITE) == -1:
            os.fdatasync(fileno)
        elif prev >= 0:
            sfr(fileno, prev, synced - prev,
                _SFR_WAIT_BEFORE | _SFR_WRITE | _SFR_WAIT_AFTER)
        prev, synced = synced, written
    return write


def save_file(server, path: str, aux: dict | None = None, progress=None,
              tmp: str | None = None) -> int:
    """Write the dataset to ``path`` safely: temp file, fsync, rename.

    A crash at any point leaves the previous file intact. Returns the size."""
    import os

    from redpoll.persistence.files import replacing
    tmp = tmp or os.path.join(os.path.dirname(path) or ".", f"temp-{os.getpid()}.rdb")
    with replacing(path, tmp) as f:
        write = autosync_writer(f, server.config["rdb-save-incremental-fsync"])
        return write_rdb(server, write, aux, progress)


def bgsave_to_fd(server, target, done_callback, aux: dict | None = None,
                 prefix: bytes = b"", suffix: bytes = b"", kind: str = "rdb") -> int:
    """Write an RDB image from a forked child without blocking the loop.

    ``target`` is a path (written safely: temp file, fsync, rename) or an
    open file descriptor (a file or a socket, even non-blocking: the child
    waits with poll and never changes its flags). ``prefix``/``suffix`` are
    written around the image (e.g. diskless sync's ``$EOF:<mark>\\r\\n`` and
    mark). ``done_callback(ok: bool)`` runs on the event loop when the child
    has exited. Returns the child's pid; raises RuntimeError if another
    child (BGSAVE / AOF rewrite) is running, OSError if fork fails.
    """
    from redpoll.persistence.child import children, write_all

    keys_total = sum(len(db.data) for db in server.dbs)

    def body(report) -> int:
        if isinstance(target, int):
            def write(b):
                write_all(target, b)
            if prefix:
                write(prefix)
            write_rdb(server, write, aux, report)
            if suffix:
                write(suffix)
            report.done("RDB")
            return 0
        save_file(server, target, aux, report)
        from redpoll.log import log
        log.notice("DB saved on disk")
        report.done("RDB")
        return 0

    return children(server).fork(kind, body, lambda ok, sig: done_callback(ok),
                                 keys_total)
