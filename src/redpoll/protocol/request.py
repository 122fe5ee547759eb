"""Request parsing: RESP multibulk requests and inline commands.

The hot path hands bytes to hiredis's C reader, which returns each complete
array of bulk strings. Everything hiredis does not do the Redis way is done
here in Python, off the hot path:

* inline commands (``PING\\r\\n``, as HAProxy and telnet send them), detected
  like Redis does, by a first byte other than ``*``;
* Redis's exact protocol error messages: when hiredis rejects input, the bytes
  fed since the last request boundary are parsed again by :func:`parse_multibulk`,
  which knows Redis's messages;
* limits hiredis does not know: ``proto-max-bulk-len`` and the query buffer
  limit (checked as pending data grows), and the small limits Redis applies to
  clients that still have to authenticate (``strict`` mode, pure Python).
"""

from __future__ import annotations

import hiredis

from redpoll.errors import ProtocolError

INLINE_MAX = 64 * 1024          # PROTO_INLINE_MAX_SIZE
MBULK_MAX_UNAUTH = 10
BULK_MAX_UNAUTH = 16384
INT_MAX = 2**31 - 1


def _to_int(b: bytes):
    """string2ll: a strict decimal integer, or None."""
    if not b or len(b) > 20:
        return None
    if b[0] == 43 or b[0] == 32 or b[-1] == 32:  # '+' or spaces are not allowed
        return None
    try:
        v = int(b)
    except ValueError:
        return None
    if len(b) > 1 and (b[0] == 48 or (b[0] == 45 and b[1] == 48)):  # leading zero
        return None
    return v


def parse_multibulk(buf, pos: int, max_bulk: int, unauth: bool = False):
    """Parse one ``*N`` request at ``buf[pos]``.

    Returns ``(argv, newpos)``, ``None`` when more bytes are needed, or raises
    :class:`ProtocolError` with Redis's message. ``argv`` is ``[]`` for ``*0``
    and ``*-1`` (which Redis ignores).
    """
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        if len(buf) - pos > INLINE_MAX:
            raise ProtocolError("too big mbulk count string")
        return None
    n = _to_int(bytes(buf[pos + 1:nl]))
    if n is None or n > INT_MAX:
        raise ProtocolError("invalid multibulk length")
    if n > MBULK_MAX_UNAUTH and unauth:
        raise ProtocolError("unauthenticated multibulk length")
    p = nl + 2
    argv: list[bytes] = []
    if n <= 0:
        return argv, p
    end = len(buf)
    for _ in range(n):
        if p >= end:
            return None
        if buf[p] != 36:  # '$'
            raise ProtocolError(f"expected '$', got '{chr(buf[p])}'")
        nl = buf.find(b"\r\n", p)
        if nl < 0:
            if end - p > INLINE_MAX:
                raise ProtocolError("too big bulk count string")
            return None
        ln = _to_int(bytes(buf[p + 1:nl]))
        if ln is None or ln < 0 or ln > max_bulk:
            raise ProtocolError("invalid bulk length")
        if ln > BULK_MAX_UNAUTH and unauth:
            raise ProtocolError("unauthenticated bulk length")
        p = nl + 2
        if end < p + ln + 2:
            return None
        argv.append(bytes(buf[p:p + ln]))
        p += ln + 2
    return argv, p


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = b"0123456789abcdefABCDEF"
_SPACE = b" \n\r\t\x0b\x0c\x00"


def split_args(line: bytes):
    """Redis's sdssplitargs: split a line into arguments with its quoting rules.

    Returns a list of bytes, or None for unbalanced quotes.
    """
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _SPACE:
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            if inq:
                if i >= n:
                    return None
                c = line[i]
                if (c == 92 and i + 3 < n and line[i + 1] == 120
                        and line[i + 2] in _HEX and line[i + 3] in _HEX):
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    inq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    return None
                c = line[i]
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in _SPACE:
                        return None
                    insq = False
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if i >= n:
                    break
                c = line[i]
                if c in _SPACE:
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))


class RequestReader:
    """Turns a client's byte stream into argument vectors.

    ``feed(data)`` then call ``get()`` until it returns ``None``. ``get()``
    raises :class:`ProtocolError` once the stream is beyond repair; the caller
    replies ``-ERR Protocol error: ...`` and closes the connection.
    """

    __slots__ = ("_reader", "_chunks", "_fed", "_returned", "_check_at",
                 "_buf", "_pos", "strict", "max_bulk", "max_query", "_error")

    def __init__(self, max_bulk: int = 512 * 1024 * 1024,
                 max_query: int = 1024 * 1024 * 1024, strict: bool = False):
        self._reader = hiredis.Reader()
        self._chunks: list = []   # bytes fed to hiredis since its last request boundary
        self._fed = 0
        self._returned = 0        # requests hiredis returned since that boundary
        self._check_at = INLINE_MAX
        self._buf = None          # Python-mode buffer (inline requests or strict mode)
        self._pos = 0
        self.strict = strict      # parse everything in Python (unauthenticated clients)
        self.max_bulk = max_bulk
        self.max_query = max_query
        self._error = None

    # -- feeding -----------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self._buf is not None or self.strict or (
                data[0] != 42 and not self._reader.has_data()):
            if self._buf is None:
                self._buf = bytearray(data)
                self._pos = 0
            else:
                self._buf += data
            return
        self._feed_hiredis(data)

    def _feed_hiredis(self, data) -> None:
        if self._reader.has_data():
            self._chunks.append(data)
            self._fed += len(data)
            if self._fed >= self._check_at:
                self._check_pending()
        else:
            self._chunks = [data]
            self._fed = len(data)
            self._returned = 0
            self._check_at = INLINE_MAX
        self._reader.feed(data)

    def pending(self) -> int:
        """Bytes received but not yet returned as requests (approximate)."""
        n = len(self._buf) - self._pos if self._buf is not None else 0
        return n + (self._fed if self._reader.has_data() else 0)

    def _check_pending(self) -> None:
        """Apply Redis's limits to a large request that is still arriving."""
        self._check_at = self._fed * 2
        if self._fed > self.max_query:
            self._error = ProtocolError("query buffer limit")
            return
        buf = b"".join(self._chunks)
        self._chunks = [buf]
        try:
            self._skip_and_parse(buf)
        except ProtocolError as e:
            self._error = e

    def _skip(self, buf, n: int) -> int:
        """Position in ``buf`` after the first ``n`` requests (hiredis returned them)."""
        pos = 0
        for _ in range(n):
            r = parse_multibulk(buf, pos, self.max_bulk)
            if r is None:
                break
            pos = r[1]
        return pos

    def _skip_and_parse(self, buf):
        return parse_multibulk(buf, self._skip(buf, self._returned), self.max_bulk)

    # -- reading -----------------------------------------------------------
    def get(self):
        if self._error is not None:
            raise self._error
        if self._buf is not None:
            return self._get_python()
        try:
            r = self._reader.gets()
        except hiredis.ProtocolError:
            return self._recover()
        if r is False:
            return None
        self._returned += 1
        if type(r) is list:
            for a in r:
                if type(a) is not bytes:
                    return self._recover(True)
            if r:
                return r
            return self.get()      # *0: ignored, as Redis does
        if r is None:              # *-1
            return self.get()
        return self._recover(True)

    def _recover(self, bad_returned: bool = False):
        """hiredis refused the input: find out what Redis would make of it.

        The bytes since the last request boundary are re-parsed in Python,
        past the good requests hiredis already returned; what follows is
        either an inline request (Redis allows mixing) or an error.
        """
        buf = b"".join(self._chunks)
        pos = self._skip(buf, self._returned - (1 if bad_returned else 0))
        self._reader = hiredis.Reader()
        self._chunks = []
        self._fed = 0
        self._returned = 0
        self._buf = bytearray(buf[pos:])
        self._pos = 0
        return self._get_python()

    def _get_python(self):
        """Parse one request from the Python buffer (inline or multibulk)."""
        buf = self._buf
        while True:
            pos = self._pos
            if pos >= len(buf):
                self._buf = None
                return None
            if buf[pos] == 42:
                if not self.strict:
                    # Back to hiredis for the rest of the stream.
                    rest = bytes(buf[pos:])
                    self._buf = None
                    self._feed_hiredis(rest)
                    return self.get()
                if len(buf) - pos > self.max_query:
                    raise ProtocolError("query buffer limit")
                r = parse_multibulk(buf, pos, self.max_bulk, unauth=True)
                if r is None:
                    self._compact()
                    return None
                argv, self._pos = r
                if argv:
                    return argv
                continue
            nl = buf.find(b"\n", pos)
            if nl < 0:
                if len(buf) - pos > INLINE_MAX:
                    raise ProtocolError("too big inline request")
                self._compact()
                return None
            end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
            argv = split_args(bytes(buf[pos:end]))
            self._pos = nl + 1
            if argv is None:
                raise ProtocolError("unbalanced quotes in request")
            if argv:
                return argv

    def _compact(self) -> None:
        if self._pos:
            del self._buf[:self._pos]
            self._pos = 0
