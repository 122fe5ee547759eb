"""RESP2/RESP3 reply values and their encoding.

Command handlers return plain Python values and the client encodes them for
the protocol version it negotiated (``HELLO 2|3``):

=====================  ======================  =========================
value                  RESP2                   RESP3
=====================  ======================  =========================
``bytes`` / ``str``    bulk string             bulk string
``int``                integer                 integer
``None``               null bulk ``$-1``       null ``_``
``NULL_ARRAY``         null array ``*-1``      null ``_``
``list`` / ``tuple``   array                   array
``Status``             ``+OK``                 ``+OK``
``RedisError``         ``-ERR ...``            ``-ERR ...``
``Map``                flat array              map ``%``
``Set``                array                   set ``~``
``Double``             bulk string (%.17g)     double ``,``
``Bool``               integer 0/1             boolean ``#t``/``#f``
``Verbatim``           bulk string             verbatim ``=``
``Push``               array                   push ``>``
``Raw``                the bytes as they are   the bytes as they are
=====================  ======================  =========================
"""

from __future__ import annotations

import math

from redpoll.errors import RedisError


class Status(str):
    """A simple string reply (``+OK``)."""

    __slots__ = ()


class Map(list):
    """A map reply: a list of (key, value) pairs, in order."""

    __slots__ = ()

    @classmethod
    def of(cls, d: dict) -> "Map":
        return cls(d.items())


class Set(list):
    """A set reply (RESP3 ``~``); an array in RESP2."""

    __slots__ = ()


class Push(list):
    """An out-of-band push message (RESP3 ``>``); an array in RESP2."""

    __slots__ = ()


class Double(float):
    """A double reply: RESP3 ``,``; a bulk string in RESP2."""

    __slots__ = ()


class Bool(int):
    """A boolean reply: RESP3 ``#t``/``#f``; integer 1/0 in RESP2."""

    __slots__ = ()


class Verbatim(bytes):
    """A verbatim string (RESP3 ``=len\\r\\ntxt:...``); a bulk string in RESP2."""

    __slots__ = ()


class Raw(bytes):
    """Bytes already encoded as RESP, written unchanged."""

    __slots__ = ()


class _NullArray:
    __slots__ = ()

    def __repr__(self):
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()
OK = Status("OK")
QUEUED = Status("QUEUED")
PONG = Status("PONG")
# returned by handlers that reply later (blocking commands) or that wrote
# their reply themselves: call() adds nothing
NO_REPLY = object()

_OK_BYTES = b"+OK\r\n"


def format_double(d: float) -> bytes:
    """Redis 7.0's %.17g formatting of a double (``inf``, ``-inf``, ``nan``)."""
    if math.isinf(d):
        return b"inf" if d > 0 else b"-inf"
    if d != d:
        return b"nan"
    return b"%.17g" % d


def encode(v, proto: int) -> bytes:
    """Encode one reply value for protocol version ``proto`` (2 or 3)."""
    t = type(v)
    if t is bytes:
        return b"$%d\r\n%b\r\n" % (len(v), v)
    if t is Status:
        if v == "OK":
            return _OK_BYTES
        return b"+" + v.encode() + b"\r\n"
    if t is int:
        return b":%d\r\n" % v
    if v is None:
        return b"$-1\r\n" if proto == 2 else b"_\r\n"
    out: list[bytes] = []
    _encode_into(v, proto, out)
    return b"".join(out)


_NO_CRLF = bytes.maketrans(b"\r\n", b"  ")
# "\r\n$<len>\r\n" by length: the end of one bulk string and the header of the next
_NEXT_BULK = [b"\r\n$%d\r\n" % i for i in range(10000)]


def _encode_into(v, proto: int, out: list) -> None:
    t = type(v)
    if t is bytes or t is bytearray:
        out.append(b"$%d\r\n%b\r\n" % (len(v), v))
    elif t is int:
        out.append(b":%d\r\n" % v)
    elif t is list or t is tuple:
        n = len(v)
        if n and type(v[0]) is bytes:
            # an array of plain bulk strings (LRANGE, HGETALL, KEYS...): one
            # join of the strings and the headers between them, no loop in
            # Python; any other element, or a string of 10000+ bytes, takes
            # the loop below
            try:
                hdrs = [_NEXT_BULK[len(x)] for x in v if type(x) is bytes]
                if len(hdrs) == n:
                    parts = [b"\r\n"] * (2 * n + 1)
                    parts[0:-1:2] = hdrs
                    parts[0] = b"*%d\r\n$%d\r\n" % (n, len(v[0]))
                    parts[1::2] = v
                    out.append(b"".join(parts))
                    return
            except IndexError:
                pass
        out.append(b"*%d\r\n" % n)
        for x in v:
            if type(x) is bytes:
                out.append(b"$%d\r\n%b\r\n" % (len(x), x))
            else:
                _encode_into(x, proto, out)
    elif v is None:
        out.append(b"$-1\r\n" if proto == 2 else b"_\r\n")
    elif t is str:
        b = v.encode()
        out.append(b"$%d\r\n%b\r\n" % (len(b), b))
    elif t is Status:
        out.append(b"+" + v.encode() + b"\r\n")
    elif isinstance(v, RedisError):
        # each CR or LF of the text becomes a space, as Redis's addReplyErrorFormat
        out.append(b"-" + v.msg.encode("utf-8", "replace").translate(_NO_CRLF) + b"\r\n")
    elif t is Map:
        if proto == 2:
            out.append(b"*%d\r\n" % (2 * len(v)))
        else:
            out.append(b"%%%d\r\n" % len(v))
        for k, x in v:
            _encode_into(k, proto, out)
            _encode_into(x, proto, out)
    elif t is Set:
        out.append((b"*%d\r\n" if proto == 2 else b"~%d\r\n") % len(v))
        for x in v:
            _encode_into(x, proto, out)
    elif t is Double:
        s = format_double(v)
        if proto == 2:
            out.append(b"$%d\r\n%b\r\n" % (len(s), s))
        else:
            out.append(b",%b\r\n" % s)
    elif t is Bool:
        if proto == 2:
            out.append(b":1\r\n" if v else b":0\r\n")
        else:
            out.append(b"#t\r\n" if v else b"#f\r\n")
    elif v is NULL_ARRAY:
        out.append(b"*-1\r\n" if proto == 2 else b"_\r\n")
    elif t is Verbatim:
        if proto == 2:
            out.append(b"$%d\r\n%b\r\n" % (len(v), v))
        else:
            out.append(b"=%d\r\ntxt:%b\r\n" % (len(v) + 4, v))
    elif t is Push:
        out.append((b"*%d\r\n" if proto == 2 else b">%d\r\n") % len(v))
        for x in v:
            _encode_into(x, proto, out)
    elif t is Raw:
        out.append(v)
    elif t is float:
        _encode_into(Double(v), proto, out)
    elif t is bool:
        out.append(b":1\r\n" if v else b":0\r\n")
    elif isinstance(v, int):
        out.append(b":%d\r\n" % v)
    elif isinstance(v, (bytes, bytearray, memoryview)):
        b = bytes(v)
        out.append(b"$%d\r\n%b\r\n" % (len(b), b))
    elif isinstance(v, dict):
        _encode_into(Map(v.items()), proto, out)
    elif isinstance(v, (list, tuple)):
        _encode_into(list(v), proto, out)
    elif isinstance(v, str):
        _encode_into(v.encode("utf-8", "surrogateescape"), proto, out)
    elif isinstance(v, float):
        _encode_into(Double(v), proto, out)
    else:
        raise TypeError(f"cannot encode reply of type {t.__name__}")


def as_bytes(x) -> bytes:
    """An argument as bytes: str (UTF-8, surrogates kept), int and the
    bytes-like types are converted."""
    if type(x) is bytes:
        return x
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    if isinstance(x, str):
        return x.encode("utf-8", "surrogateescape")
    return str(x).encode()


# "*<n>\r\n" and "$<len>\r\n" by number (the AOF's encoder uses them too)
ARRAY_HDR = [b"*%d\r\n" % i for i in range(1024)]
BULK_HDR = [b"$%d\r\n" % i for i in range(1024)]


def encode_command(argv) -> bytes:
    """A request as RESP, an array of bulk strings: what the AOF and the
    replication stream carry, and what MIGRATE and Sentinel send
    (arguments converted by :func:`as_bytes`)."""
    try:
        H = BULK_HDR
        return ARRAY_HDR[len(argv)] + b"".join([H[len(a)] + a + b"\r\n" for a in argv])
    except (IndexError, TypeError):   # long arguments, or ints/str in argv
        pass
    parts = [b"*%d\r\n" % len(argv)]
    for a in argv:
        a = as_bytes(a)
        parts.append(b"$%d\r\n%b\r\n" % (len(a), a))
    return b"".join(parts)
