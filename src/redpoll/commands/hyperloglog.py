"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

Values are strings in Redis's own layout, byte for byte, so they can move
between redpoll and Redis (GET/SET, DUMP/RESTORE, RDB, replication):

* a 16-byte header: ``HYLL``, encoding (0 dense, 1 sparse), 3 unused bytes,
  the cached cardinality (8 bytes little endian; bit 7 of the last byte set
  means "stale");
* dense: 16384 registers of 6 bits, packed little-endian (12288 bytes);
* sparse: opcodes ZERO ``00xxxxxx`` (1-64 zero registers), XZERO
  ``01xxxxxx yyyyyyyy`` (1-16384 zeros) and VAL ``1vvvvvxx`` (1-4 registers of
  value 1-32), updated in place exactly as Redis's hllSparseSet does (split,
  then merge adjacent VALs), promoted to dense past ``hll-sparse-max-bytes``
  or when a register exceeds 32.

Hashing is MurmurHash64A with seed 0xadc83b19; the estimate is Ertl's
improved estimator used by Redis 7.

PFADD on a sparse value works on a decoded copy of its opcodes kept per key
(:class:`SparseOps`, :func:`sparse_state`), found by bisection instead of a
scan: about 13 µs per element instead of 107 µs while filling a sparse HLL
up to its promotion (CPU, in-process). PFCOUNT uses the cached cardinality
in the header until a change marks it stale, as Redis does.

Whole-register work (counting a dense value, PFCOUNT of several keys,
PFMERGE) runs on big ints at C speed, see "register arrays" below: a stale
dense PFCOUNT costs ~190 us instead of ~930 us, a 3-key PFCOUNT ~440 us
instead of ~9.9 ms (CPU, in-process). PFCOUNT also keeps the register
histogram of dense values, which PFADD updates as it raises registers
(:func:`cached_hist`), so PFADD followed by PFCOUNT does not look at the
registers again.
"""

from __future__ import annotations

import math
import re
import sys
from array import array
from collections import Counter
from bisect import bisect_right
from itertools import accumulate
from operator import add

from redpoll.commands.table import command
from redpoll.errors import WRONGTYPE, RedisError
from redpoll.notify import STRING, notify
from redpoll.protocol.resp import OK, Status

G = "hyperloglog"
P = 14
Q = 64 - P
REGISTERS = 1 << P
P_MASK = REGISTERS - 1
HDR = 16
DENSE_BYTES = REGISTERS * 6 // 8
DENSE_SIZE = HDR + DENSE_BYTES
DENSE, SPARSE = 0, 1
ZERO_MAX_LEN, XZERO_MAX_LEN = 64, 16384
VAL_MAX_VALUE, VAL_MAX_LEN = 32, 4
ALPHA_INF = 0.721347520444481703680
M64 = (1 << 64) - 1
MURMUR_M = 0xC6A4A7935BD1E995
SEED = 0xADC83B19

INVALID_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPTED = "INVALIDOBJ Corrupted HLL object detected"


class Corrupted(Exception):
    pass


# -- hashing -----------------------------------------------------------------

def murmur64a(data: bytes, seed: int = SEED) -> int:
    m = MURMUR_M
    n = len(data)
    h = (seed ^ (n * m)) & M64
    end = n - (n & 7)
    for i in range(0, end, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (k * m) & M64
        k ^= k >> 47
        k = (k * m) & M64
        h ^= k
        h = (h * m) & M64
    rest = n & 7
    if rest:
        h ^= int.from_bytes(data[end:], "little")
        h = (h * m) & M64
    h ^= h >> 47
    h = (h * m) & M64
    h ^= h >> 47
    return h


def pat_len(ele: bytes) -> tuple[int, int]:
    """(register index, run length of the "000..1" pattern) for an element."""
    h = murmur64a(ele)
    index = h & P_MASK
    h = (h >> P) | (1 << Q)
    count = 1
    while not h & 1:
        count += 1
        h >>= 1
    return index, count


# -- register arrays ---------------------------------------------------------------
# PFCOUNT and PFMERGE work on all 16384 registers at once. Python loops over
# them cost milliseconds, so the whole array is one big int: the register
# values as bytes in *lane order* (register 4g+l at byte l*4096+g, which is
# what unpacking the 3-byte groups of the dense encoding gives without any
# interleaving), read big-endian. Maxima of two arrays and the histogram of
# register values are then a handful of big-int operations (SWAR: SIMD
# within a register), and the dense encoding is packed back lane by lane.
# Counting and maxima do not care about the order of the registers; the
# natural order is rebuilt only where it matters (sparse PFMERGE targets,
# PFDEBUG GETREG).

LANE = REGISTERS // 4
_ZLANE = bytes(LANE)
_AND63 = bytes(b & 63 for b in range(256))
_SHR6 = bytes(b >> 6 for b in range(256))
_AND15_SHL2 = bytes((b & 15) << 2 for b in range(256))
_SHR4 = bytes(b >> 4 for b in range(256))
_AND3_SHL4 = bytes((b & 3) << 4 for b in range(256))
_SHR2 = bytes(b >> 2 for b in range(256))
_SHL6 = bytes((b << 6) & 0xFF for b in range(256))
_SHR2_6 = bytes((b >> 2) & 15 for b in range(256))
_SHL4 = bytes((b << 4) & 0xFF for b in range(256))
_SHR4_2 = bytes((b >> 4) & 3 for b in range(256))
_SHL2 = bytes((b << 2) & 0xFF for b in range(256))


def _int(b) -> int:
    return int.from_bytes(b, "big")        # big endian: twice as fast as little


def _rep(pattern: bytes) -> int:
    """``pattern`` repeated over the 16384 register bytes, as an int."""
    return _int(pattern * (REGISTERS // len(pattern)))


_H80 = _rep(b"\x80")
_L7F = _rep(b"\x7f")


def dense_lanes(o, start: int = HDR) -> int:
    """Registers of a dense representation (the 12288 register bytes of
    ``o`` from ``start``), lane order, as an int. A register spans at most
    2 bytes: its pieces from the low and from the high byte are translated
    apart and ORed as two ints."""
    end = start + DENSE_BYTES
    b0, b1, b2 = o[start:end:3], o[start + 1:end:3], o[start + 2:end:3]
    low = b"".join((b0.translate(_AND63), b0.translate(_SHR6),
                    b1.translate(_SHR4), b2.translate(_SHR2)))
    high = b"".join((_ZLANE, b1.translate(_AND15_SHL2),
                     b2.translate(_AND3_SHL4), _ZLANE))
    return _int(low) | _int(high)


def pack_lanes(x: int) -> bytes:
    """The 12288 bytes of a dense representation from lane-order registers."""
    regs = x.to_bytes(REGISTERS, "big")
    r0, r1, r2, r3 = (regs[i * LANE:(i + 1) * LANE] for i in range(4))
    low = b"".join((r0, r1.translate(_SHR2_6), r2.translate(_SHR4_2)))
    high = b"".join((r1.translate(_SHL6), r2.translate(_SHL4), r3.translate(_SHL2)))
    packed = (_int(low) | _int(high)).to_bytes(3 * LANE, "big")
    out = bytearray(DENSE_BYTES)
    for i in range(3):
        out[i::3] = packed[i * LANE:(i + 1) * LANE]
    return bytes(out)


def natural_to_lanes(values) -> int:
    """Lane-order int from 16384 register values in register order."""
    values = bytes(values)
    return _int(b"".join(values[i::4] for i in range(4)))


def lanes_to_natural(x: int) -> bytes:
    """The 16384 register values in register order, one byte each."""
    regs = x.to_bytes(REGISTERS, "big")
    out = bytearray(REGISTERS)
    for i in range(4):
        out[i::4] = regs[i * LANE:(i + 1) * LANE]
    return bytes(out)


def dense_registers(payload) -> bytes:
    """All 16384 register values of a dense representation (its 12288
    register bytes), one byte each, in register order."""
    return lanes_to_natural(dense_lanes(payload, 0))


def pack_dense(values) -> bytes:
    """The 12288 bytes of a dense representation from 16384 register values."""
    return pack_lanes(natural_to_lanes(values))


def lanes_max(x: int, y: int) -> int:
    """Register-wise maximum of two lane-order arrays (hllMerge). Registers
    are below 0x80: (x | 0x80) - y never borrows across bytes and keeps the
    0x80 bit of the bytes where x >= y; that bit, turned into a 0x7f mask,
    selects x there and y elsewhere."""
    ge = ((x | _H80) - y) & _H80
    ge -= ge >> 7
    return y ^ ((x ^ y) & ge)


# 8x8 bit-matrix transpose of every 8-byte group (Hacker's Delight 7-3):
# afterwards byte 7-k of a group holds bit k of its 8 registers.
_T1 = _rep(bytes.fromhex("00AA00AA00AA00AA"))
_T2 = _rep(bytes.fromhex("0000CCCC0000CCCC"))
_T4 = _rep(bytes.fromhex("00000000F0F0F0F0"))
_ALL = (1 << REGISTERS) - 1


def lanes_histogram(x: int) -> list[int]:
    """Counts of each register value (0-63) of a lane-order array.

    The registers are bit-sliced: six 16384-bit ints, plane k having bit k
    of every register (same position for the same register in each plane).
    The registers of value v are then the AND of the planes (or their
    complements) along v's bits; walking that binary tree from the top bit
    and skipping empty subtrees, each count is a popcount of 2 KB, and only
    values that occur cost anything."""
    t = (x ^ (x >> 7)) & _T1
    x ^= t ^ (t << 7)
    t = (x ^ (x >> 14)) & _T2
    x ^= t ^ (t << 14)
    t = (x ^ (x >> 28)) & _T4
    x ^= t ^ (t << 28)
    rows = x.to_bytes(REGISTERS, "big")
    planes = [_int(rows[7 - k::8]) for k in range(6)]
    hist = [0] * 64
    todo = [(_ALL, REGISTERS, 5, 0)]        # (register set, its size, bit, value so far)
    while todo:
        regs, n, k, v = todo.pop()
        ones = regs & planes[k]
        n1 = ones.bit_count()
        if k == 0:
            hist[v | 1], hist[v] = n1, n - n1
            continue
        if n1:
            todo.append((ones, n1, k - 1, v | 1 << k))
        if n1 != n:
            todo.append((regs ^ ones, n - n1, k - 1, v))
    return hist


# -- sparse representation -------------------------------------------------------

def sparse_opcodes(data):
    """Yield (kind, value, run length) for each opcode of a sparse HLL, kind
    being "v" (VAL), "z" (ZERO) or "Z" (XZERO; one cut short by the end of
    the value reads 0 as its second byte, like Redis)."""
    p, end = HDR, len(data)
    while p < end:
        op = data[p]
        if op & 0x80:
            yield "v", ((op >> 2) & 0x1F) + 1, (op & 3) + 1
            p += 1
        elif op & 0x40:
            low = data[p + 1] if p + 1 < end else 0
            yield "Z", 0, (((op & 0x3F) << 8) | low) + 1
            p += 2
        else:
            yield "z", 0, (op & 0x3F) + 1
            p += 1


# The registers each one-byte opcode (ZERO or VAL) stands for; the entries of
# XZERO first bytes (0x40-0x7f) are never used.
_RUNS = [bytes([((b >> 2) & 0x1F) + 1]) * ((b & 3) + 1) if b & 0x80
         else bytes((b & 0x3F) + 1) for b in range(256)]


def sparse_registers(data) -> bytes:
    """Registers of a sparse HLL (hllSparseToDense's validation included):
    the runs of the one-byte opcodes are looked up in a table and joined,
    XZEROs added between them (C speed)."""
    parts = []
    for seg, zeros in _segments(data):
        parts += map(_RUNS.__getitem__, seg)
        parts.append(bytes(zeros))
    out = b"".join(parts)
    if len(out) != REGISTERS:
        raise Corrupted
    return out


def _segments(data):
    """Split the opcodes of a sparse HLL at its XZEROs: yield (one-byte
    opcodes, number of zero registers of the XZERO that follows them, 0 for
    the last segment). From an opcode boundary, the next byte in 0x40-0x7f
    starts an XZERO (a regex finds it). An XZERO cut short by the end of the
    value gets 0 as its second byte, as Redis reads the string's terminator."""
    ops = bytes(data[HDR:])
    p, n = 0, len(ops)
    while True:
        m = _XZERO.search(ops, p)
        if m is None:
            yield ops[p:], 0
            return
        k = m.start()
        low = ops[k + 1] if k + 1 < n else 0
        yield ops[p:k], (((ops[k] & 0x3F) << 8) | low) + 1
        p = k + 2


def _val(v: int, n: int) -> int:
    return 0x80 | ((v - 1) << 2) | (n - 1)


def _zeros(n: int) -> bytes:
    if n > ZERO_MAX_LEN:
        n -= 1
        return bytes([0x40 | (n >> 8), n & 0xFF])
    return bytes([n - 1])


# Span - 1 of each single-byte opcode (ZERO, VAL); XZERO first bytes
# (0x40-0x7f) never occur as single-byte opcodes, so from any opcode boundary
# the next such byte starts an XZERO.
_SPAN1 = bytes((b & 0x3F) if b < 0x40 else (b & 3) if b >= 0x80 else 0
               for b in range(256))
_XZERO = re.compile(rb"[\x40-\x7f]")


def _locate(o, index: int):
    """(position, first register, span, previous opcode position or None) of
    the sparse opcode covering register ``index``; Corrupted if none."""
    p, end = HDR, len(o)
    first = 0
    prev = None
    while p < end:
        m = _XZERO.search(o, p)
        seg_end = m.start() if m else end
        if seg_end > p:
            seg = bytes(o[p:seg_end]).translate(_SPAN1)
            for i in range(0, len(seg), 64):       # chunk sums: C-level work
                chunk = seg[i:i + 64]
                n = len(chunk)
                total = sum(chunk) + n
                if index < first + total:
                    cum = list(map(add, accumulate(chunk), range(1, n + 1)))
                    j = bisect_right(cum, index - first)
                    k = i + j
                    start = first + (cum[j - 1] if j else 0)
                    return p + k, start, seg[k] + 1, (p + k - 1 if k else prev)
                first += total
            prev = seg_end - 1
        if m is None:
            break
        if seg_end + 1 >= end:
            raise Corrupted
        span = (((o[seg_end] & 0x3F) << 8) | o[seg_end + 1]) + 1
        if index < first + span:
            return seg_end, first, span, prev
        first += span
        prev = seg_end
        p = seg_end + 2
    raise Corrupted


def sparse_set(o: bytearray, index: int, count: int, max_bytes: int):
    """hllSparseSet: 1 if changed, 0 if not; returns "promote" when the
    value must become dense. Raises Corrupted on a malformed value."""
    if count > VAL_MAX_VALUE:
        return "promote"
    p, first, span, prev = _locate(o, index)
    op = o[p]
    is_val = op & 0x80
    is_xzero = not is_val and op & 0x40
    runlen = span
    if is_val:
        oldcount = ((op >> 2) & 0x1F) + 1
        if oldcount >= count:
            return 0
        if runlen == 1:
            o[p] = _val(count, 1)
            _sparse_merge(o, prev)
            return 1
    elif not is_xzero and runlen == 1:
        o[p] = _val(count, 1)
        _sparse_merge(o, prev)
        return 1
    last = first + span - 1
    seq = bytearray()
    if not is_val:
        if index != first:
            seq += _zeros(index - first)
        seq.append(_val(count, 1))
        if index != last:
            seq += _zeros(last - index)
    else:
        cur = ((op >> 2) & 0x1F) + 1
        if index != first:
            seq.append(_val(cur, index - first))
        seq.append(_val(count, 1))
        if index != last:
            seq.append(_val(cur, last - index))
    old = 2 if is_xzero else 1
    delta = len(seq) - old
    if delta > 0 and len(o) + delta > max_bytes:
        return "promote"
    o[p:p + old] = seq
    _sparse_merge(o, prev)
    return 1


def _sparse_merge(o: bytearray, prev) -> None:
    """Step 4 of hllSparseSet: merge adjacent VAL opcodes of equal value."""
    p = prev if prev is not None else HDR
    end = len(o)
    scan = 5
    while p < end and scan:
        scan -= 1
        op = o[p]
        if not op & 0x80:
            p += 2 if op & 0x40 else 1
            continue
        if p + 1 < end and o[p + 1] & 0x80:
            nxt = o[p + 1]
            v1, v2 = ((op >> 2) & 0x1F) + 1, ((nxt >> 2) & 0x1F) + 1
            if v1 == v2:
                n = (op & 3) + (nxt & 3) + 2
                if n <= VAL_MAX_LEN:
                    o[p + 1] = _val(v1, n)
                    del o[p]
                    end -= 1
                    continue
        p += 1


_TAIL = 0x100       # SparseOps: marks the second byte of an XZERO opcode


class SparseOps:
    """A sparse HLL decoded for fast PFADD: its opcode bytes in an array
    (``codes``, the second byte of an XZERO flagged with ``_TAIL``) and the
    first register each byte's opcode covers (``starts``), so the opcode of
    a register is a bisection away instead of a scan of the value.

    ``set`` follows hllSparseSet exactly (same splits, same merge window),
    so ``payload()`` is byte-for-byte what the in-place update of the value
    produces. Replacing an opcode by its split keeps every later start, so
    an update costs O(log n) plus array slicing at C speed. Decoded states
    are kept per key (``sparse_state``) while the stored value is unchanged.
    """

    __slots__ = ("value", "codes", "starts")

    def __init__(self, value, codes: array, starts: list):
        self.value = value          # the stored value this state decodes
        self.codes = codes
        self.starts = starts

    @classmethod
    def decode(cls, v) -> "SparseOps | None":
        """None when the opcodes do not cover exactly the 16384 registers
        (the caller then uses the in-place path with its error handling)."""
        codes, starts = array("H", list(v[HDR:])), []
        first, p, end = 0, HDR, len(v)
        while p < end:
            op = v[p]
            starts.append(first)
            if op & 0x80:
                first += (op & 3) + 1
                p += 1
            elif op & 0x40:
                if p + 1 >= end:
                    return None
                starts.append(first)
                codes[p + 1 - HDR] |= _TAIL
                first += (((op & 0x3F) << 8) | v[p + 1]) + 1
                p += 2
            else:
                first += (op & 0x3F) + 1
                p += 1
        if first != REGISTERS:
            return None
        return cls(v, codes, starts)

    @property
    def nbytes(self) -> int:
        """len() of the value."""
        return HDR + len(self.codes)

    def payload(self) -> bytes:
        return self.codes.tobytes()[0::2] if _LITTLE else \
            self.codes.tobytes()[1::2]

    def set(self, index: int, count: int, max_bytes: int):
        """sparse_set on the decoded opcodes: 1 if changed, 0 if not,
        "promote" when the value must become dense."""
        if count > VAL_MAX_VALUE:
            return "promote"
        codes, starts = self.codes, self.starts
        j = bisect_right(starts, index) - 1
        op = codes[j]
        if op & _TAIL:
            j -= 1
            op = codes[j]
        first = starts[j]
        width = 1
        cur = 0
        if op & 0x80:
            cur = ((op >> 2) & 0x1F) + 1
            if cur >= count:
                return 0
            span = (op & 3) + 1
        elif op & 0x40:
            width = 2
            span = (((op & 0x3F) << 8) | (codes[j + 1] & 0xFF)) + 1
        else:
            span = (op & 0x3F) + 1
        if span == 1:
            codes[j] = _val(count, 1)
            self._merge(j - 1)
            return 1
        last = first + span - 1
        new_codes, new_starts = [], []
        if index != first:
            _piece(new_codes, new_starts, cur, index - first, first)
        new_codes.append(_val(count, 1))
        new_starts.append(index)
        if index != last:
            _piece(new_codes, new_starts, cur, last - index, index + 1)
        delta = len(new_codes) - width
        if delta > 0 and HDR + len(codes) + delta > max_bytes:
            return "promote"
        codes[j:j + width] = array("H", new_codes)
        starts[j:j + width] = new_starts
        self._merge(j - 1)
        return 1

    def _merge(self, prev: int) -> None:
        """Step 4 of hllSparseSet: from the opcode before the changed one,
        merge adjacent VALs of equal value, looking at five opcodes."""
        codes, starts = self.codes, self.starts
        p = prev if prev >= 0 else 0
        if codes[p] & _TAIL:
            p -= 1
        scan = 5
        while p < len(codes) and scan:
            scan -= 1
            op = codes[p]
            if not op & 0x80:
                p += 2 if op & 0x40 else 1
                continue
            if p + 1 < len(codes):
                nxt = codes[p + 1]
                if nxt & 0x80 and (op >> 2) & 0x1F == (nxt >> 2) & 0x1F:
                    n = (op & 3) + (nxt & 3) + 2
                    if n <= VAL_MAX_LEN:
                        codes[p + 1] = _val(((op >> 2) & 0x1F) + 1, n)
                        starts[p + 1] = starts[p]
                        del codes[p], starts[p]
                        continue
            p += 1


_LITTLE = sys.byteorder == "little"


def _piece(codes: list, starts: list, val: int, n: int, first: int) -> None:
    """Append the opcode(s) of ``n`` registers of value ``val`` (0: ZERO or
    XZERO, else one VAL) starting at register ``first``."""
    if val:
        codes.append(_val(val, n))
        starts.append(first)
    elif n > ZERO_MAX_LEN:
        n -= 1
        codes += (0x40 | (n >> 8), _TAIL | (n & 0xFF))
        starts += (first, first)
    else:
        codes.append(n - 1)
        starts.append(first)


_SPARSE_CACHE_MAX = 32      # decoded sparse values kept (about 100 KB each at most)


def sparse_state(server, dbid: int, key: bytes, v) -> SparseOps | None:
    """The decoded opcodes of the sparse value ``v`` stored at ``key``: the
    cached state when it decodes this very value (or one differing only in
    its header, e.g. after PFCOUNT refreshed the cached cardinality), else a
    fresh decoding; None for a malformed value."""
    cache = server.__dict__.get("hll_sparse_cache")
    if cache is None:
        cache = server.hll_sparse_cache = {}
    st = cache.get((dbid, key))
    if st is not None:
        if st.value is v:
            return st
        if st.value[HDR:] == v[HDR:]:
            st.value = v
            return st
    st = SparseOps.decode(v)
    if st is None:
        cache.pop((dbid, key), None)
        return None
    if len(cache) >= _SPARSE_CACHE_MAX:
        cache.clear()
    cache[(dbid, key)] = st
    return st


_HIST_CACHE_MAX = 32        # register histograms of dense values kept


def cached_hist(server, dbid: int, key: bytes, v) -> list[int] | None:
    """The register histogram of the dense value ``v`` stored at ``key``,
    if one is kept for its registers (PFCOUNT computed it, PFADD kept it up
    to date: a stale PFCOUNT after PFADD then needs no pass over the
    registers); None otherwise. Whatever else changed the key (SET, RESTORE,
    SETRANGE...) stored another value, so the entry is used only while its
    value is ``v`` or has the same registers."""
    cache = server.__dict__.get("hll_hist_cache")
    entry = cache.get((dbid, key)) if cache else None
    if entry is None:
        return None
    if entry[0] is not v:
        if entry[0][HDR:] != v[HDR:]:
            del cache[(dbid, key)]
            return None
        entry[0] = v
    return entry[1]


def keep_hist(server, dbid: int, key: bytes, v, hist: list[int]) -> None:
    """Remember ``hist`` as the register histogram of ``v``, stored at ``key``."""
    cache = server.__dict__.get("hll_hist_cache")
    if cache is None:
        cache = server.hll_hist_cache = {}
    elif len(cache) >= _HIST_CACHE_MAX and (dbid, key) not in cache:
        cache.clear()
    cache[(dbid, key)] = [v, hist]


def sparse_to_dense(o) -> bytearray:
    regs = sparse_registers(o)
    out = bytearray(o[:HDR])
    out[4] = DENSE
    out += pack_dense(regs)
    return out


# -- estimation ---------------------------------------------------------------------

def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        zp = z
        z += x * y
        y += y
        if zp == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        zp = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if zp == z:
            return z / 3


def estimate(hist) -> int:
    """hllCount's estimate from a histogram of register values."""
    m = float(REGISTERS)
    z = m * _tau((m - hist[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += hist[j]
        z *= 0.5
    z += m * _sigma(hist[0] / m)
    e = ALPHA_INF * m * m / z
    f = math.floor(e)
    return int(f + 1 if e - f >= 0.5 else f)


def lanes(o) -> int:
    """Registers of a (validated) HLL string as a lane-order int; Corrupted
    if malformed."""
    if o[4] == DENSE:
        return dense_lanes(o)
    return natural_to_lanes(sparse_registers(o))


def sparse_histogram(o) -> list[int]:
    """Counts of each register value of a sparse HLL, from byte counts (C
    speed) of its one-byte opcodes (see _segments). Corrupted unless the
    runs cover 16384 registers."""
    counts = Counter()
    hist = [0] * 64
    for seg, zeros in _segments(o):
        counts.update(seg)
        hist[0] += zeros
    for b, cnt in counts.items():
        if b & 0x80:
            hist[((b >> 2) & 0x1F) + 1] += cnt * ((b & 3) + 1)
        else:
            hist[0] += cnt * ((b & 0x3F) + 1)
    if sum(hist) != REGISTERS:
        raise Corrupted
    return hist


def histogram(o) -> list[int]:
    """Counts of each register value of a (validated) HLL string; Corrupted
    if malformed."""
    if o[4] == DENSE:
        return lanes_histogram(dense_lanes(o))
    return sparse_histogram(o)


def count(o) -> int:
    return estimate(histogram(o))


# -- values ----------------------------------------------------------------------------

def new_hll() -> bytearray:
    """createHLLObject: an empty sparse HLL (one XZERO opcode)."""
    return bytearray(b"HYLL\x01\x00\x00\x00" + bytes(8) + _zeros(REGISTERS))


def is_hll(v) -> bool:
    return (len(v) >= HDR and v[:4] == b"HYLL" and v[4] <= SPARSE
            and (v[4] != DENSE or len(v) == DENSE_SIZE))


def get_hll(db, key: bytes):
    """isHLLObjectOrReply: the value at key (None if missing) or an error."""
    v = db.get(key)
    if v is None:
        return None
    if type(v) is not bytes:
        raise RedisError(WRONGTYPE)
    if not is_hll(v):
        raise RedisError(INVALID_HLL)
    return v


_NONZERO = re.compile(rb"[^\x00]")


def _merged(db, keys) -> tuple[int, bool]:
    """hllMerge of the HLLs at ``keys`` (missing ones skipped): the
    register-wise maximum as a lane-order int, and whether any was dense."""
    merged, use_dense = 0, False
    try:
        for key in keys:
            v = get_hll(db, key)
            if v is not None:
                use_dense = use_dense or v[4] == DENSE
                merged = lanes_max(merged, lanes(v))
    except Corrupted:
        raise RedisError(CORRUPTED)
    return merged, use_dense


def _store(db, key: bytes, o: bytearray, created: bool = False) -> None:
    """Write an HLL: a new key through db.add (``new`` event), an existing
    one in place (the TTL is kept). Either way a raw string, as in Redis."""
    if created:
        db.add(key, bytes(o))
    else:
        db.data[key] = bytes(o)
    db.mark_raw(key)


def _add(o: bytearray, ele: bytes, max_bytes: int, hist: list | None = None):
    """hllAdd: returns (value, changed) -- the value may have been promoted.
    ``hist``: the register histogram of a dense ``o``, kept up to date."""
    index, cnt = pat_len(ele)
    if o[4] == DENSE:
        old = _dense_get_at(o, index)
        if old < cnt:
            _dense_set_at(o, index, cnt)
            if hist is not None:
                hist[old] -= 1
                hist[cnt] += 1
            return o, 1
        return o, 0
    r = sparse_set(o, index, cnt, max_bytes)
    if r == "promote":
        o = sparse_to_dense(o)
        _dense_set_at(o, index, cnt)
        return o, 1
    return o, r


def _dense_get_at(o, index: int) -> int:
    bit = index * 6
    byte, fb = HDR + (bit >> 3), bit & 7
    v = o[byte] >> fb
    if fb > 2 and byte + 1 < len(o):
        v |= o[byte + 1] << (8 - fb)
    return v & 63


def _dense_set_at(o: bytearray, index: int, val: int) -> None:
    """Set register ``index`` of a dense HLL value (header included)."""
    bit = index * 6
    byte, fb = HDR + (bit >> 3), bit & 7
    fb8 = 8 - fb
    o[byte] = (o[byte] & ~(63 << fb) & 0xFF) | ((val << fb) & 0xFF)
    if byte + 1 < len(o):
        o[byte + 1] = (o[byte + 1] & ~(63 >> fb8) & 0xFF) | (val >> fb8)


def _invalidate(o: bytearray) -> None:
    o[15] |= 0x80


# -- commands ---------------------------------------------------------------------------

@command("pfadd", -2, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.8.9",
         summary="Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.")
def pfadd(c, argv):
    db, key = c.db, argv[1]
    v = get_hll(db, key)
    updated = 0
    created = v is None
    if created:
        v = bytes(new_hll())
        updated = 1
    max_bytes = c.server.config["hll-sparse-max-bytes"]
    elems = argv[2:]
    st = hist = None
    if v[4] == SPARSE:
        st = sparse_state(c.server, db.id, key, v)
    try:
        if st is not None:
            # sparse: update the decoded opcodes, encode once at the end
            o = None
            for i, ele in enumerate(elems):
                index, cnt = pat_len(ele)
                r = st.set(index, cnt, max_bytes)
                if r == "promote":
                    c.server.hll_sparse_cache.pop((db.id, key), None)
                    o = sparse_to_dense(v[:HDR] + st.payload())
                    _dense_set_at(o, index, cnt)
                    updated = 1
                    elems = elems[i + 1:]
                    break
                if r:
                    updated = 1
            if o is None:
                elems = ()
                if updated:
                    o = bytearray(v[:HDR] + st.payload())
        else:
            o = bytearray(v)
            if v[4] == DENSE:
                hist = cached_hist(c.server, db.id, key, v)
        for ele in elems:
            o, changed = _add(o, ele, max_bytes, hist)
            if changed:
                updated = 1
    except Corrupted:
        raise RedisError(CORRUPTED)
    if updated:
        _invalidate(o)
        _store(db, key, o, created)
        if st is not None and o[4] == SPARSE:
            st.value = db.data[key]     # the state decodes the stored value
        if hist is not None:
            keep_hist(c.server, db.id, key, db.data[key], hist)
        notify(c.server, STRING, "pfadd", key, db.id)
        c.server.dirty += 1
        return 1
    return 0


@command("pfcount", -2, "readonly", keys=(1, -1, 1), group=G, since="2.8.9",
         summary="Returns the approximated cardinality of the set(s) observed by the "
                 "HyperLogLog key(s).")
def pfcount(c, argv):
    db = c.db
    if len(argv) > 2:
        return estimate(lanes_histogram(_merged(db, argv[1:])[0]))
    key = argv[1]
    v = get_hll(db, key)
    if v is None:
        return 0
    if not v[15] & 0x80:
        return int.from_bytes(v[8:16], "little")
    try:
        hist = cached_hist(c.server, db.id, key, v) if v[4] == DENSE else None
        hist = hist or histogram(v)
    except Corrupted:
        raise RedisError(CORRUPTED)
    card = estimate(hist)
    o = bytearray(v)
    o[8:16] = card.to_bytes(8, "little")
    _store(db, key, o)
    if v[4] == DENSE:
        keep_hist(c.server, db.id, key, db.data[key], hist)
    c.server.dirty += 1
    c.prop_argv = list(argv)        # propagate the refreshed cache as Redis does
    return card


@command("pfmerge", -2, "write denyoom", keys=(1, -1, 1), group=G, since="2.8.9",
         summary="Merges one or more HyperLogLog values into a single key.")
def pfmerge(c, argv):
    db = c.db
    merged, use_dense = _merged(db, argv[1:])
    dest = argv[1]
    v = db.get(dest)
    o = new_hll() if v is None else bytearray(v)
    # The destination is one of the sources, so its registers are at most
    # the merged ones: a dense result is exactly the merged registers. A
    # sparse one is updated register by register in Redis's order, as its
    # opcodes depend on it, and may still be promoted on the way.
    if not use_dense:
        st = SparseOps.decode(o)
        max_bytes = c.server.config["hll-sparse-max-bytes"]
        regs = lanes_to_natural(merged)
        for m in _NONZERO.finditer(regs):
            j = m.start()
            if st.set(j, regs[j], max_bytes) == "promote":
                use_dense = True
                break
        else:
            o[HDR:] = st.payload()
    if use_dense:
        o[4] = DENSE
        o[HDR:] = pack_lanes(merged)
    _invalidate(o)
    _store(db, dest, o, created=v is None)
    notify(c.server, STRING, "pfadd", dest, db.id)
    c.server.dirty += 1
    return OK


@command("pfdebug", 3, "write denyoom admin", keys=(2, 2, 1), group=G, since="2.8.9",
         summary="Internal commands for debugging HyperLogLog values.")
def pfdebug(c, argv):
    db, key = c.db, argv[2]
    sub = argv[1].lower()
    v = db.get(key)
    if v is None:
        raise RedisError("ERR The specified key does not exist")
    v = get_hll(db, key)
    try:
        if sub == b"getreg":
            o = bytearray(v)
            if o[4] != DENSE:
                o = sparse_to_dense(o)
                _store(db, key, o)
                c.server.dirty += 1
            return list(dense_registers(o[HDR:]))
        if sub == b"decode":
            if v[4] != SPARSE:
                raise RedisError("ERR HLL encoding is not sparse")
            return " ".join(f"v:{val},{run}" if kind == "v" else f"{kind}:{run}"
                            for kind, val, run in sparse_opcodes(v)).encode()
        if sub == b"encoding":
            return Status("dense" if v[4] == DENSE else "sparse")
        if sub == b"todense":
            if v[4] == DENSE:
                return 0
            _store(db, key, sparse_to_dense(v))
            c.server.dirty += 1
            return 1
    except Corrupted:
        raise RedisError(CORRUPTED)
    raise RedisError(f"ERR Unknown PFDEBUG subcommand '{argv[1].decode('utf-8', 'replace')}'")


@command("pfselftest", 1, "admin", group=G, since="2.8.9",
         summary="An internal command for testing HyperLogLog values.")
def pfselftest(c, argv):
    # Dense register round trip and the estimator on a growing set.
    import random
    rnd = random.Random(1234)
    o = bytearray(DENSE_SIZE)
    values = [rnd.randrange(64) for _ in range(REGISTERS)]
    for i, val in enumerate(values):
        _dense_set_at(o, i, val)
    for i, val in enumerate(values):
        if _dense_get_at(o, i) != val:
            raise RedisError("ERR TESTFAILED Register error at %d" % i)
    regs = bytes(o[HDR:])
    if dense_registers(regs) != bytes(values) or pack_dense(values) != regs:
        raise RedisError("ERR TESTFAILED dense packing mismatch")
    o = new_hll()
    for n in range(1, 10001):
        o, _ = _add(o, b"%d" % n, 3000)
        if n in (10, 100, 1000, 10000):
            est = count(o)
            if abs(est - n) > n * 0.05 + 1:
                raise RedisError(f"ERR TESTFAILED Too big error. card:{n} abserr:{abs(est - n)}")
    return OK


def _specs():
    from redpoll.commands.keyspecs import set_specs, spec
    set_specs("pfadd", spec("RW insert", 1))
    set_specs("pfcount", spec("RW access", 1, lastkey=-1, notes=(
        "RW because it may change the internal representation of the key, and "
        "propagate to replicas")))
    set_specs("pfmerge", spec("RW access insert", 1), spec("RO access", 2, lastkey=-1))
    set_specs("pfdebug", spec("RW access", 2))


_specs()
