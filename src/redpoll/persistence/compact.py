"""Redis's compact in-memory encodings, as they appear inside RDB files.

* listpack (Redis 7: small hashes, sorted sets, quicklist nodes, streams):
  :func:`lp_encode` / :func:`lp_decode`;
* ziplist (Redis <= 6.2, read only): :func:`zl_decode`;
* intset (small integer sets): :func:`intset_encode` / :func:`intset_decode`;
* zipmap (Redis < 2.6 hashes, read only): :func:`zipmap_decode`.

Decoders validate the structure they walk (header sizes, terminators,
entry bounds) and raise :class:`CompactError` on anything malformed, so a
corrupt file or RESTORE payload is refused instead of half-loaded.

Integers: like Redis, a string element that is the canonical decimal form of
a 64-bit integer (:func:`as_int`) is stored as an integer; decoders give
elements back as bytes (``raw=True`` keeps integers as ``int``).
"""

from __future__ import annotations

import struct

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

_u16 = struct.Struct("<H")
_u32 = struct.Struct("<I")
_i16 = struct.Struct("<h")
_i32 = struct.Struct("<i")
_i64 = struct.Struct("<q")


class CompactError(ValueError):
    """A listpack/ziplist/intset/zipmap blob is malformed."""


def as_int(s: bytes) -> int | None:
    """``s`` as an int if it is a canonical int64 decimal (Redis's string2ll
    round trip: no sign '+', no leading zeros, no spaces, no "-0")."""
    n = len(s)
    if n == 0 or n > 20:
        return None
    c = s[0]
    if c == 45:  # '-'
        if n < 2 or s[1] == 48 or not s[1:].isdigit():
            return None
    elif c == 48:
        return 0 if n == 1 else None
    elif not s.isdigit():
        return None
    v = int(s)
    if v < INT64_MIN or v > INT64_MAX:
        return None
    return v


# -- listpack ------------------------------------------------------------------

def _backlen(n: int) -> bytes:
    """Listpack back-length of an entry of ``n`` bytes (encoding + data)."""
    if n <= 127:
        return bytes((n,))
    if n < 16383:
        return bytes((n >> 7, (n & 127) | 128))
    if n < 2097151:
        return bytes((n >> 14, ((n >> 7) & 127) | 128, (n & 127) | 128))
    if n < 268435455:
        return bytes((n >> 21, ((n >> 14) & 127) | 128, ((n >> 7) & 127) | 128,
                      (n & 127) | 128))
    return bytes((n >> 28, ((n >> 21) & 127) | 128, ((n >> 14) & 127) | 128,
                  ((n >> 7) & 127) | 128, (n & 127) | 128))


def _lp_int(v: int) -> bytes:
    if 0 <= v <= 127:
        return bytes((v, 1))
    if -4096 <= v <= 4095:
        v &= 0x1FFF
        return bytes((0xC0 | (v >> 8), v & 0xFF, 2))
    if -32768 <= v <= 32767:
        return b"\xf1" + _i16.pack(v) + b"\x03"
    if -8388608 <= v <= 8388607:
        return b"\xf2" + (v & 0xFFFFFF).to_bytes(3, "little") + b"\x04"
    if -2147483648 <= v <= 2147483647:
        return b"\xf3" + _i32.pack(v) + b"\x05"
    return b"\xf4" + _i64.pack(v) + b"\x09"


def lp_entry(x) -> bytes:
    """One listpack entry (encoding, data, back-length) for bytes or int."""
    if type(x) is int:
        return _lp_int(x)
    v = as_int(x) if len(x) <= 20 else None
    if v is not None:
        return _lp_int(v)
    n = len(x)
    if n < 64:
        return bytes((0x80 | n,)) + x + bytes((n + 1,))
    if n < 4096:
        return bytes((0xE0 | (n >> 8), n & 0xFF)) + x + _backlen(n + 2)
    return b"\xf0" + _u32.pack(n) + x + _backlen(n + 5)


def lp_entry_size(x: bytes) -> int:
    """Bytes the listpack entry for ``x`` takes (quicklist node sizing)."""
    n = len(x)
    if n <= 20 and as_int(x) is not None:
        return 10  # upper bound; integers are small anyway
    if n < 64:
        return n + 2
    if n < 4096:
        return n + 2 + len(_backlen(n + 2))
    return n + 5 + len(_backlen(n + 5))


def lp_encode(items) -> bytes:
    """A listpack holding ``items`` (bytes or int each)."""
    body = b"".join([lp_entry(x) for x in items])
    return lp_from_entries(body, len(items))


def lp_from_entries(body: bytes, count: int) -> bytes:
    """Wrap already encoded entries in a listpack header and terminator."""
    total = 6 + len(body) + 1
    return _u32.pack(total) + _u16.pack(count if count < 65535 else 65535) + body + b"\xff"


def lp_decode(buf, raw: bool = False) -> list:
    """The elements of a listpack (bytes; ints too if ``raw``)."""
    buf, count = _open_blob(buf, "listpack", 6, 4)
    out = []
    append = out.append
    i = 6
    end = len(buf) - 1
    try:
        while i < end:
            b = buf[i]
            if b < 0x80:
                v = b
                size = 1
            elif b < 0xC0:
                ln = b & 0x3F
                s = buf[i + 1:i + 1 + ln]
                size = 1 + ln
                v = None
            elif b < 0xE0:
                v = ((b & 0x1F) << 8) | buf[i + 1]
                if v >= 4096:
                    v -= 8192
                size = 2
            elif b < 0xF0:
                ln = ((b & 0x0F) << 8) | buf[i + 1]
                s = buf[i + 2:i + 2 + ln]
                size = 2 + ln
                v = None
            elif b == 0xF0:
                ln = _u32.unpack_from(buf, i + 1)[0]
                s = buf[i + 5:i + 5 + ln]
                size = 5 + ln
                v = None
            elif b == 0xF1:
                v = _i16.unpack_from(buf, i + 1)[0]
                size = 3
            elif b == 0xF2:
                v = int.from_bytes(buf[i + 1:i + 4], "little", signed=True)
                size = 4
            elif b == 0xF3:
                v = _i32.unpack_from(buf, i + 1)[0]
                size = 5
            elif b == 0xF4:
                v = _i64.unpack_from(buf, i + 1)[0]
                size = 9
            else:
                raise CompactError("listpack bad entry encoding")
            if v is None:
                if i + size > end:
                    raise CompactError("listpack entry out of range")
                append(s)
            else:
                append(v if raw else str(v).encode())
            bl = 1 if size <= 127 else 2 if size < 16383 else 3 if size < 2097151 \
                else 4 if size < 268435455 else 5
            i += size + bl
    except (IndexError, struct.error):
        raise CompactError("listpack truncated entry") from None
    return _close_blob("listpack", i, end, count, out)


def _open_blob(buf, kind: str, header: int, count_at: int) -> tuple[bytes, int]:
    """A listpack's or ziplist's bytes and entry count (header fields),
    once its total length and terminator check out."""
    buf = bytes(buf)
    n = len(buf)
    if n < header + 1:
        raise CompactError(f"{kind} too short")
    total, count = _u32.unpack_from(buf, 0)[0], _u16.unpack_from(buf, count_at)[0]
    if total != n or buf[-1] != 0xFF:
        raise CompactError(f"{kind} header/terminator mismatch")
    return buf, count


def _close_blob(kind: str, i: int, end: int, count: int, out: list) -> list:
    """The decoded entries, once they are seen to end at the terminator and
    to be as many as the header says (65535: too many to say)."""
    if i != end:
        raise CompactError(f"{kind} entries overflow")
    if count != 65535 and count != len(out):
        raise CompactError(f"{kind} count mismatch")
    return out


# -- ziplist (read only) ---------------------------------------------------------

def zl_decode(buf) -> list[bytes]:
    """The elements of a ziplist (Redis <= 6.2)."""
    buf, count = _open_blob(buf, "ziplist", 10, 8)
    out = []
    i = 10
    end = len(buf) - 1
    try:
        while i < end:
            i += 1 if buf[i] < 254 else 5          # prevlen
            b = buf[i]
            top = b >> 6
            if top == 0:
                ln = b & 0x3F
                out.append(buf[i + 1:i + 1 + ln])
                i += 1 + ln
            elif top == 1:
                ln = ((b & 0x3F) << 8) | buf[i + 1]
                out.append(buf[i + 2:i + 2 + ln])
                i += 2 + ln
            elif top == 2:
                ln = int.from_bytes(buf[i + 1:i + 5], "big")
                out.append(buf[i + 5:i + 5 + ln])
                i += 5 + ln
            elif b == 0xC0:
                out.append(str(_i16.unpack_from(buf, i + 1)[0]).encode())
                i += 3
            elif b == 0xD0:
                out.append(str(_i32.unpack_from(buf, i + 1)[0]).encode())
                i += 5
            elif b == 0xE0:
                out.append(str(_i64.unpack_from(buf, i + 1)[0]).encode())
                i += 9
            elif b == 0xF0:
                out.append(str(int.from_bytes(buf[i + 1:i + 4], "little",
                                              signed=True)).encode())
                i += 4
            elif b == 0xFE:
                out.append(str(int.from_bytes(buf[i + 1:i + 2], "little",
                                              signed=True)).encode())
                i += 2
            elif 0xF1 <= b <= 0xFD:
                out.append(str((b & 0x0F) - 1).encode())
                i += 1
            else:
                raise CompactError("ziplist bad entry encoding")
    except (IndexError, struct.error):
        raise CompactError("ziplist truncated entry") from None
    return _close_blob("ziplist", i, end, count, out)


# -- intset ------------------------------------------------------------------------

def intset_encode(values) -> bytes:
    """An intset of the given ints (sorted here; smallest width that fits)."""
    vals = sorted(values)
    lo, hi = (vals[0], vals[-1]) if vals else (0, 0)
    if lo >= -32768 and hi <= 32767:
        width, fmt = 2, "h"
    elif lo >= -2147483648 and hi <= 2147483647:
        width, fmt = 4, "i"
    else:
        width, fmt = 8, "q"
    return struct.pack(f"<II{len(vals)}{fmt}", width, len(vals), *vals)


def intset_decode(buf) -> list[bytes]:
    """The members of an intset, as decimal bytes."""
    buf = bytes(buf)
    if len(buf) < 8:
        raise CompactError("intset too short")
    width, count = struct.unpack_from("<II", buf, 0)
    fmt = {2: "h", 4: "i", 8: "q"}.get(width)
    if fmt is None or len(buf) != 8 + width * count:
        raise CompactError("intset bad encoding or size")
    vals = struct.unpack_from(f"<{count}{fmt}", buf, 8)
    for a, b in zip(vals, vals[1:]):
        if a >= b:
            raise CompactError("intset not sorted")
    return [str(v).encode() for v in vals]


# -- zipmap (read only) ----------------------------------------------------------

def _zipmap_len(buf: bytes, i: int) -> tuple[int, int]:
    """The length a zipmap keeps at ``buf[i]`` before a field or a value
    (one byte below 254, or 254 then four bytes), and where the bytes it
    counts start."""
    b = buf[i]
    if b < 254:
        return b, i + 1
    if b == 254:
        return _u32.unpack_from(buf, i + 1)[0], i + 5
    raise CompactError("zipmap bad length")


def zipmap_decode(buf) -> list[bytes]:
    """Field/value pairs of a zipmap (Redis < 2.6 hashes), flattened."""
    buf = bytes(buf)
    out = []
    i = 1
    try:
        while buf[i] != 0xFF:
            ln, i = _zipmap_len(buf, i)         # the field
            out.append(buf[i:i + ln])
            i += ln
            ln, i = _zipmap_len(buf, i)         # the value, after its free count
            free = buf[i]
            out.append(buf[i + 1:i + 1 + ln])
            i += 1 + ln + free
    except (IndexError, struct.error):
        raise CompactError("zipmap truncated") from None
    if i != len(buf) - 1 or len(out) % 2:
        raise CompactError("zipmap overflow")
    return out
