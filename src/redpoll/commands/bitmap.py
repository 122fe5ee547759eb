"""Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD(_RO).

Bitmaps are strings (``bytes``); bit 0 is the most significant bit of the
first byte, as in Redis. Whole-range work (counting, searching, AND/OR/XOR/
NOT) goes through ``int.from_bytes`` so it runs at C speed on big bitmaps.
"""

from __future__ import annotations

from redpoll.client import F_MASTER
from redpoll.commands.string import clamp_range, get_string, parse_int, read_string
from redpoll.commands.table import command
from redpoll.errors import SYNTAX, RedisError
from redpoll.notify import GENERIC, STRING, notify

G = "bitmap"
BIT_OFFSET_ERR = "ERR bit offset is not an integer or out of range"
BIT_VALUE_ERR = "ERR bit is not an integer or out of range"
BITFIELD_TYPE_ERR = ("ERR Invalid bitfield type. Use something like i16 u8. "
                     "Note that u64 is not supported but i64 is.")


def _bit_offset(c, b: bytes, hash_ok: bool = False, bits: int = 0) -> int:
    """getBitOffsetFromArgument: a bit offset, or ``#N`` (N * bits) in BITFIELD."""
    usehash = hash_ok and bits > 0 and b[:1] == b"#"
    try:
        off = parse_int(b[1:] if usehash else b, BIT_OFFSET_ERR)
    except RedisError:
        raise RedisError(BIT_OFFSET_ERR)
    if usehash:
        off *= bits
    if off < 0 or ((off >> 3) >= c.server.proto_max_bulk_len and not c.flags & F_MASTER):
        raise RedisError(BIT_OFFSET_ERR)
    return off


def _store(c, key: bytes, value: bytes, event: str, changes: int = 1) -> None:
    """Write a modified bitmap back (keeps the TTL; encoding becomes raw)."""
    db = c.db
    db.set(key, value, keep_ttl=True)
    db.mark_raw(key)
    c.server.dirty += changes
    if c.server.notify_flags:
        notify(c.server, STRING, event, key, db.id)


# -- SETBIT / GETBIT -------------------------------------------------------------

@command("setbit", 4, "write denyoom", keys=(1, 1, 1), group=G, summary="Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", since="2.2.0")
def setbit(c, argv):
    off = _bit_offset(c, argv[2])
    on = parse_int(argv[3], BIT_VALUE_ERR)
    if on & ~1:
        raise RedisError(BIT_VALUE_ERR)
    key = argv[1]
    v = get_string(c.db, key)
    byte = off >> 3
    created = v is None
    if v is None:
        v = b""
    grown = len(v) <= byte
    old = v[byte] if not grown else 0
    shift = 7 - (off & 7)
    bitval = (old >> shift) & 1
    if created or grown or bitval != on:
        new = (old & ~(1 << shift)) | (on << shift)
        if grown:
            v = v + bytes(byte - len(v)) + bytes((new,))
        else:
            v = v[:byte] + bytes((new,)) + v[byte + 1:]
        _store(c, key, v, "setbit")
    else:
        c.db.mark_raw(key)      # unshared for writing all the same (no change to propagate)
    return bitval


@command("getbit", 3, "readonly fast", keys=(1, 1, 1), group=G, summary="Returns a bit value by offset.", since="2.2.0")
def getbit(c, argv):
    off = _bit_offset(c, argv[2])
    v = read_string(c.db, argv[1])
    if v is None:
        return 0
    byte = off >> 3
    if byte >= len(v):
        return 0
    return (v[byte] >> (7 - (off & 7))) & 1


# -- BITCOUNT / BITPOS -------------------------------------------------------------

def _unit(b: bytes) -> bool:
    """True for BIT, False for BYTE; syntax error otherwise."""
    o = b.lower()
    if o == b"bit":
        return True
    if o == b"byte":
        return False
    raise RedisError(SYNTAX)


def _bits_range(v: bytes, lo: int, hi: int) -> tuple[int, int]:
    """(value, width) of bits lo..hi (inclusive) as an integer, MSB first."""
    sb, eb = lo >> 3, hi >> 3
    n = int.from_bytes(v[sb:eb + 1], "big")
    width = hi - lo + 1
    n >>= (eb + 1) * 8 - (hi + 1)
    return n & ((1 << width) - 1), width


@command("bitcount", -2, "readonly", keys=(1, 1, 1), group=G, summary="Counts the number of set bits (population counting) in a string.", since="2.6.0")
def bitcount(c, argv):
    v = read_string(c.db, argv[1])
    if v is None:
        return 0
    n = len(argv)
    if n == 2:
        return int.from_bytes(v, "big").bit_count()
    if n not in (4, 5):
        raise RedisError(SYNTAX)
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    isbit = _unit(argv[4]) if n == 5 else False
    total = len(v) * 8 if isbit else len(v)
    if start < 0 and end < 0 and start > end:
        return 0
    start, end = clamp_range(start, end, total)
    if start > end:
        return 0
    if isbit:
        return _bits_range(v, start, end)[0].bit_count()
    return int.from_bytes(v[start:end + 1], "big").bit_count()


@command("bitpos", -3, "readonly", keys=(1, 1, 1), group=G, summary="Finds the first set (1) or clear (0) bit in a string.", since="2.8.7")
def bitpos(c, argv):
    bit = parse_int(argv[2])
    if bit not in (0, 1):
        raise RedisError("ERR The bit argument must be 1 or 0.")
    v = read_string(c.db, argv[1])
    if v is None:
        return -1 if bit else 0
    n = len(argv)
    end_given = False
    isbit = False
    if n in (4, 5, 6):
        start = parse_int(argv[3])
        if n == 6:
            isbit = _unit(argv[5])
        if n >= 5:
            end = parse_int(argv[4])
            end_given = True
        else:
            end = len(v) - 1
        start, end = clamp_range(start, end, len(v) * 8 if isbit else len(v))
    elif n == 3:
        start, end = 0, len(v) - 1
    else:
        raise RedisError(SYNTAX)
    if start > end:
        return -1
    lo, hi = (start, end) if isbit else (start * 8, end * 8 + 7)
    word, width = _bits_range(v, lo, hi)
    if bit == 0:
        word ^= (1 << width) - 1
    if word == 0:
        if bit == 1 or end_given:
            return -1
        return hi + 1               # the zero padding right after the string
    return lo + width - word.bit_length()


# -- BITOP --------------------------------------------------------------------------

@command("bitop", -4, "write denyoom", keys=(2, -1, 1), group=G, summary="Performs bitwise operations on multiple strings, and stores the result.", since="2.6.0")
def bitop(c, argv):
    op = argv[1].lower()
    if op not in (b"and", b"or", b"xor", b"not"):
        raise RedisError(SYNTAX)
    if op == b"not" and len(argv) != 4:
        raise RedisError("ERR BITOP NOT must be called with a single source key.")
    db = c.db
    srcs = []
    for k in argv[3:]:
        v = read_string(db, k)
        srcs.append(v if v is not None else b"")
    maxlen = max(len(s) for s in srcs)
    dest = argv[2]
    srv = c.server
    if maxlen == 0:
        if db.get(dest) is not None and db.delete(dest):
            srv.dirty += 1
            if srv.notify_flags:
                notify(srv, GENERIC, "del", dest, db.id)
        return 0
    # left-align every source (shorter strings are zero padded at the end)
    nums = [int.from_bytes(s, "big") << (8 * (maxlen - len(s))) for s in srcs]
    if op == b"not":
        r = nums[0] ^ ((1 << (8 * maxlen)) - 1)
    else:
        r = nums[0]
        if op == b"and":
            for x in nums[1:]:
                r &= x
        elif op == b"or":
            for x in nums[1:]:
                r |= x
        else:
            for x in nums[1:]:
                r ^= x
    db.set(dest, r.to_bytes(maxlen, "big"))
    db.mark_raw(dest)
    srv.dirty += 1
    if srv.notify_flags:
        notify(srv, STRING, "set", dest, db.id)
    return maxlen


# -- BITFIELD ------------------------------------------------------------------------

def _bitfield_type(b: bytes) -> tuple[bool, int]:
    """(signed, bits) of ``i<N>``/``u<N>`` (i1..i64, u1..u63)."""
    if b[:1] not in (b"i", b"u"):
        raise RedisError(BITFIELD_TYPE_ERR)
    signed = b[:1] == b"i"
    try:
        bits = parse_int(b[1:])
    except RedisError:
        raise RedisError(BITFIELD_TYPE_ERR)
    if bits < 1 or (signed and bits > 64) or (not signed and bits > 63):
        raise RedisError(BITFIELD_TYPE_ERR)
    return signed, bits


_WRAP, _SAT, _FAIL = 0, 1, 2


def _parse_bitfield(c, argv):
    """The list of operations: (op, signed, bits, offset, value, overflow)."""
    ops = []
    overflow = _WRAP
    j = 2
    n = len(argv)
    while j < n:
        rem = n - j - 1
        sub = argv[j].lower()
        if sub == b"get" and rem >= 2:
            op = "get"
        elif sub == b"set" and rem >= 3:
            op = "set"
        elif sub == b"incrby" and rem >= 3:
            op = "incrby"
        elif sub == b"overflow" and rem >= 1:
            t = argv[j + 1].lower()
            if t == b"wrap":
                overflow = _WRAP
            elif t == b"sat":
                overflow = _SAT
            elif t == b"fail":
                overflow = _FAIL
            else:
                raise RedisError("ERR Invalid OVERFLOW type specified")
            j += 2
            continue
        else:
            raise RedisError(SYNTAX)
        signed, bits = _bitfield_type(argv[j + 1])
        offset = _bit_offset(c, argv[j + 2], True, bits)
        value = 0
        if op != "get":
            value = parse_int(argv[j + 3])
        ops.append((op, signed, bits, offset, value, overflow))
        j += 3 if op == "get" else 4
    return ops


def _get_field(buf, offset: int, bits: int, signed: bool) -> int:
    end = offset + bits - 1
    sb, eb = offset >> 3, end >> 3
    chunk = bytes(buf[sb:eb + 1])
    if len(chunk) < eb - sb + 1:
        chunk += bytes(eb - sb + 1 - len(chunk))
    n = int.from_bytes(chunk, "big") >> ((eb + 1) * 8 - (end + 1))
    n &= (1 << bits) - 1
    if signed and n >> (bits - 1):
        n -= 1 << bits
    return n


def _set_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    end = offset + bits - 1
    sb, eb = offset >> 3, end >> 3
    width = (eb - sb + 1) * 8
    shift = width - (end - (sb * 8) + 1)
    n = int.from_bytes(buf[sb:eb + 1], "big")
    mask = ((1 << bits) - 1) << shift
    n = (n & ~mask) | ((value & ((1 << bits) - 1)) << shift)
    buf[sb:eb + 1] = n.to_bytes(eb - sb + 1, "big")


def _apply_overflow(total: int, signed: bool, bits: int, mode: int):
    """(overflowed, value to store) for a result that may not fit the field."""
    if signed:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    else:
        lo, hi = 0, (1 << bits) - 1
    if lo <= total <= hi:
        return False, total
    if mode == _SAT:
        return True, hi if total > hi else lo
    wrapped = total & ((1 << bits) - 1)
    if signed and wrapped >> (bits - 1):
        wrapped -= 1 << bits
    return True, wrapped


def _bitfield(c, argv, readonly_cmd: bool):
    ops = _parse_bitfield(c, argv)
    writes = [o for o in ops if o[0] != "get"]
    db = c.db
    key = argv[1]
    if not writes:
        v = read_string(db, key)
        buf = v or b""
        return [_get_field(buf, off, bits, signed) for _, signed, bits, off, _, _ in ops]
    if readonly_cmd:
        raise RedisError("ERR BITFIELD_RO only supports the GET subcommand")
    v = get_string(db, key)
    highest = max(off + bits - 1 for _, _, bits, off, _, _ in writes)
    buf = bytearray(v or b"")
    need = (highest >> 3) + 1
    if len(buf) < need:
        buf.extend(bytes(need - len(buf)))
    out = []
    changes = 0
    for op, signed, bits, off, value, mode in ops:
        if op == "get":
            out.append(_get_field(buf, off, bits, signed))
            continue
        old = _get_field(buf, off, bits, signed)
        if op == "incrby":
            overflow, new = _apply_overflow(old + value, signed, bits, mode)
            ret = new
        else:
            given = value if signed else value & (2**64 - 1)   # uint64 cast
            overflow, new = _apply_overflow(given, signed, bits, mode)
            ret = old
        if overflow and mode == _FAIL:
            out.append(None)
        else:
            _set_field(buf, off, bits, new)
            out.append(ret)
        changes += 1
    new_value = bytes(buf)
    if v is None or new_value != v or changes:
        _store(c, key, new_value, "setbit", changes)
    return out


@command("bitfield", -2, "write denyoom", keys=(1, 1, 1), group=G, summary="Performs arbitrary bitfield integer operations on strings.", since="3.2.0")
def bitfield(c, argv):
    return _bitfield(c, argv, False)


@command("bitfield_ro", -2, "readonly fast", keys=(1, 1, 1), group=G, summary="Performs arbitrary read-only bitfield integer operations on strings.", since="6.0.0")
def bitfield_ro(c, argv):
    return _bitfield(c, argv, True)
