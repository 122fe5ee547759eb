"""Request parsing: RESP multibulk requests and inline commands.

Two parsers, one behaviour (Redis 7.0's ``processMultibulkBuffer`` and
``processInlineBuffer``):

* the fast path hands bytes to hiredis's C reader, which returns each complete
  array of bulk strings;
* a Python state machine (:meth:`RequestReader._get_python`) follows Redis's
  rules byte for byte: inline commands with ``sdssplitargs`` quoting, the
  exact protocol error messages, the limits for clients that still have to
  authenticate (``strict`` mode) and ``proto-max-bulk-len``.

hiredis is a *client* reader and differs from Redis's request parser in a few
ways; the reader makes up for each of them cheaply:

* a simple string inside an array (``*1\\r\\n+PING\\r\\n``) comes back from
  hiredis as ``[b"PING"]`` (likewise verbatim strings, big numbers,
  attributes), where Redis says ``expected '$', got '+'``, and a RESP3 set
  or push (``~1``, ``>1``) comes back as a list where Redis reads an inline
  command: every request hiredis returns is checked against the bytes it
  came from (``*`` where it starts, and each argument must start with ``$``
  where canonical RESP puts it, which also yields the exact number of bytes
  consumed); on a mismatch the Python parser takes over from the start of
  that request;
* hiredis allocates a list of the declared size as soon as it reads ``*N``
  (``*2147483647`` would reserve 16 GB): chunks with a ``*`` followed by 7 or
  more digits go to the Python parser (one C-speed regex scan with a literal
  prefix);
* hiredis does not know ``proto-max-bulk-len`` and would wait for a 600 MB
  argument that Redis refuses at once: a request still incomplete after a
  read has its headers checked by the Python parser (each pending request
  once, then again only when its pending bytes double);
* anything hiredis rejects (``*-5``, ``*01``, junk) is parsed again by the
  Python parser, from the last request boundary, for Redis's reply.

False alarms (the patterns inside a value) only cost speed. The Python mode
lasts until its buffer is consumed at a request boundary, then hiredis takes
over again.

The query buffer limit (``client-query-buffer-limit``) is not a protocol
error: :class:`QueryBufferLimit` is raised from :meth:`RequestReader.feed`
and the client is closed without a reply, as Redis does.
"""

from __future__ import annotations

import re

import hiredis

from redpoll.errors import ProtocolError

INLINE_MAX = 64 * 1024          # PROTO_INLINE_MAX_SIZE
MBULK_MAX_UNAUTH = 10           # multibulk count allowed before AUTH
BULK_MAX_UNAUTH = 16384         # bulk length allowed before AUTH
INT_MAX = 2**31 - 1

# A multibulk count hiredis would preallocate (see the module docstring).
_BIG_COUNT = re.compile(rb"\*[0-9]{7}")
_big_count = _BIG_COUNT.search


class QueryBufferLimit(Exception):
    """The client's pending input exceeds ``client-query-buffer-limit``."""


def _to_int(b) -> int | None:
    """Redis's string2ll: a strict decimal integer (no '+', spaces, leading
    zeros or "-0"), or None."""
    n = len(b)
    if n == 0 or n > 20:
        return None
    c = b[0]
    if c == 45:                        # '-'
        if n == 1 or b[1] == 48:       # "-" or "-0..."
            return None
    elif c == 48:
        return 0 if n == 1 else None
    elif not 49 <= c <= 57:
        return None
    for i in range(1, n):
        if not 48 <= b[i] <= 57:
            return None
    v = int(b)
    if not -2**63 <= v < 2**63:
        return None
    return v


def _find_cr(buf, pos: int) -> int:
    """``strchr(buf + pos, '\\r')`` on Redis's NUL-terminated query buffer:
    a NUL byte before the CR hides it."""
    cr = buf.find(b"\r", pos)
    if cr >= 0 and buf.find(b"\x00", pos, cr) >= 0:
        return -1
    return cr


# A pending (incomplete) request up to this size has its headers checked
# after every read; a bigger one each time it doubles (see get_all).
_RECHECK_ALWAYS = 64 * 1024


def _bulk_size(n: int) -> int:
    """Bytes of a bulk argument of length n: "$<n>\\r\\n<n bytes>\\r\\n"."""
    return n + 5 + len(str(n))


def _mbulk_header(n: int) -> int:
    """Bytes of a multibulk header "*<n>\\r\\n"."""
    return 3 + len(str(n))


# The same, tabled for the hot path (get_all).
_BULK_SIZE = [_bulk_size(i) for i in range(10000)]
_MBULK_HEADER = [_mbulk_header(i) for i in range(10000)]


# -- inline commands: sdssplitargs ---------------------------------------------

_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}
_HEX = frozenset(b"0123456789abcdefABCDEF")
_ISSPACE = frozenset(b" \t\n\v\f\r")          # C isspace()
_ENDS_WORD = frozenset(b" \n\r\t\x00")        # what ends an unquoted argument
_AFTER_QUOTE = _ISSPACE | {0}                # what may follow a closing quote
# what makes a line need the full sdssplitargs rules (quotes; NUL ends a
# word; \v and \f separate words only between them, not inside one)
_PLAIN_LINE = re.compile(rb"[\"'\x00\x0b\x0c]").search


def split_args(line: bytes):
    """Redis's sdssplitargs: split a line into arguments with its quoting rules.

    Double quotes know ``\\xHH`` and ``\\n \\r \\t \\b \\a`` escapes (any other
    escaped character stands for itself); single quotes only ``\\'``. A closing
    quote must be followed by a space or the end of the line. Returns a list
    of bytes, or None for unbalanced quotes.
    """
    if _PLAIN_LINE(line) is None:
        # no quotes, NUL, \v or \f: words are what bytes.split() finds
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _ISSPACE:
            i += 1
        if i >= n or line[i] == 0:
            return args
        cur = bytearray()
        inq = insq = False
        while True:
            c = line[i] if i < n else 0
            if inq:
                if i >= n:
                    return None                        # unterminated quotes
                if (c == 92 and i + 3 < n and line[i + 1] == 120
                        and line[i + 2] in _HEX and line[i + 3] in _HEX):
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif c == 92 and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif c == 34:
                    if i + 1 < n and line[i + 1] not in _AFTER_QUOTE:
                        return None                    # "foo"bar
                    i += 1
                    break
                else:
                    cur.append(c)
            elif insq:
                if i >= n:
                    return None
                if c == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif c == 39:
                    if i + 1 < n and line[i + 1] not in _AFTER_QUOTE:
                        return None
                    i += 1
                    break
                else:
                    cur.append(c)
            else:
                if c in _ENDS_WORD:
                    break
                if c == 34:
                    inq = True
                elif c == 39:
                    insq = True
                else:
                    cur.append(c)
            i += 1
        args.append(bytes(cur))
        if i < n and line[i] == 0:
            return args


# -- the reader ----------------------------------------------------------------

class RequestReader:
    """Turns a client's byte stream into argument vectors.

    ``feed(data)`` then call ``get()`` until it returns ``None``. ``get()``
    raises :class:`ProtocolError` once the stream is beyond repair (the caller
    replies ``-ERR Protocol error: ...`` and closes the connection); ``feed()``
    raises :class:`QueryBufferLimit`.

    In hiredis mode the reader keeps the bytes fed since the start of the
    oldest request not yet returned (``_chunks``) and counts the bytes of the
    requests hiredis returned from them (``_consumed``, exact: every returned
    request is verified to be canonical RESP), so it knows where each request
    starts and can hand the rest to the Python parser at any point.
    """

    __slots__ = ("_reader", "_chunks", "_fed", "_consumed", "_joined", "_checked", "_buf",
                 "_pos", "_mbulk", "_bulklen", "_argv", "_held", "strict", "max_bulk",
                 "max_query", "more")

    def __init__(self, max_bulk: int = 512 * 1024 * 1024,
                 max_query: int = 1024 * 1024 * 1024, strict: bool = False):
        self._reader = hiredis.Reader()
        self._chunks: list = []   # bytes fed to hiredis, from a request start on
        self._fed = 0             # their total size
        self._consumed = 0        # bytes of the requests hiredis returned from them
        self._joined = None       # b"".join(_chunks), cached until the next feed
        self._checked = 0         # pending size at the last Python check of headers
        self._buf: bytearray | None = None   # Python mode buffer
        self._pos = 0
        self._mbulk = 0           # Python mode: arguments still expected
        self._bulklen = -1        # Python mode: length of the argument being read
        self._argv: list | None = None
        self._held: list | None = None   # requests returned by get_all(), handed back
        # False after get_all() returned a batch that emptied the buffer: the
        # next call could only return [] (see Client.process_input)
        self.more = True
        self.strict = strict      # before AUTH: Python parser with Redis's small limits
        self.max_bulk = max_bulk
        self.max_query = max_query

    # -- feeding -------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self._buf is None and not self.strict:
            chunks = self._chunks
            if self._fed == self._consumed:          # at a request boundary
                if data[0] != 42 or (
                        # one request: its count is short; several: scan them
                        data.find(b"\r", 1, 8) < 0 if data.find(b"*", 1) < 0
                        else _BIG_COUNT.search(data)):
                    self._chunks = []
                    self._fed = self._consumed = 0
                    return self._to_python(data)
                self._chunks = [data]
                self._fed = len(data)
                self._consumed = 0
                self._joined = data
                self._checked = 0
            else:
                prev = chunks[-1]
                tail = prev[-12:] if len(prev) >= 12 else self._bytes()[-12:]
                if _BIG_COUNT.search(data) or _BIG_COUNT.search(tail + data[:12]):
                    return self._to_python(data)
                # forget the chunks whose requests were all returned
                while len(chunks[0]) <= self._consumed:
                    n = len(chunks.pop(0))
                    self._consumed -= n
                    self._fed -= n
                chunks.append(data)
                self._fed += len(data)
                self._joined = None
                if self._fed - self._consumed > self.max_query:
                    raise QueryBufferLimit()
            self._reader.feed(data)
            return
        if self._buf is None:
            self._buf = bytearray(data)
            self._pos = 0
        else:
            self._buf += data
        if len(self._buf) - self._pos > self.max_query:
            raise QueryBufferLimit()

    def _bytes(self) -> bytes:
        """The bytes fed to hiredis since ``_chunks`` starts (joined once per feed)."""
        b = self._joined
        if b is None:
            b = self._joined = b"".join(self._chunks)
        return b

    def _to_python(self, data: bytes = b"") -> None:
        """Continue in Python mode from the first request hiredis has not
        returned (plus ``data``)."""
        if self._chunks:
            rest = self._bytes()[self._consumed:] + data
            self._reader = hiredis.Reader()
            self._chunks = []
            self._joined = None
            self._fed = self._consumed = 0
        else:
            rest = data
        self._buf = bytearray(rest)
        self._pos = 0
        if len(rest) > self.max_query:
            raise QueryBufferLimit()

    def pending(self) -> int:
        """Bytes received but not yet run as requests (CLIENT LIST qbuf)."""
        held = 0
        if self._held:      # parsed, not run yet: counted at their RESP size
            held = sum(_mbulk_header(len(r)) + sum(_bulk_size(len(a)) for a in r)
                       for r in self._held)
        if self._buf is not None:
            return len(self._buf) - self._pos + held
        return self._fed - self._consumed + held

    def query_head(self, n: int = 64) -> bytes:
        """The first ``n`` pending bytes (for log lines)."""
        if self._buf is not None:
            return bytes(self._buf[self._pos:self._pos + n])
        c = self._consumed
        return self._bytes()[c:c + n]

    # -- reading -------------------------------------------------------------
    def take(self, data: bytes):
        """:meth:`feed` then :meth:`get_all`, in one call.

        The usual read (a client's whole requests, starting at a request
        boundary) is parsed straight from ``data``: when hiredis returns
        canonical requests that end exactly where ``data`` does, no state is
        kept and ``more`` is False. Anything else (a partial request, a
        non-canonical one, a protocol error, Python mode) leaves the state
        :meth:`feed` would have left and finishes in :meth:`get_all`.
        """
        if (self._fed != self._consumed or self._buf is not None or self.strict
                or self._held is not None):
            self.feed(data)
            return self.get_all()
        if data[0] != 42:
            # whole inline commands without quotes, NUL, \v, \f or a "*" (the
            # health checks' PING, redis-benchmark's PING_INLINE): the words
            # of each line are what sdssplitargs gives; empty lines are skipped
            if (data[-1] == 10 and len(data) <= INLINE_MAX and b"*" not in data
                    and _PLAIN_LINE(data) is None):
                if self._fed:
                    self._forget()
                self.more = False
                return [argv for argv in map(bytes.split, data.split(b"\n")) if argv]
            self.feed(data)
            return self.get_all()
        if _big_count(data):
            self.feed(data)
            return self.get_all()
        self._reader.feed(data)
        out = []
        pos, r = self._scan(data, 0, len(data), out)
        if r is False and pos == len(data):
            # the usual read: canonical requests up to its last byte
            if self._fed:
                self._forget()
            self.more = False
            return out
        # the state feed() leaves, with the requests taken so far consumed
        self._chunks = [data]
        self._fed = len(data)
        self._joined = data
        self._checked = 0
        self._consumed = pos
        if r is False:      # a partial request is pending: get_all() checks it
            if out:
                self.more = True
                return out
            return self.get_all()
        # hiredis went past a request the Python parser must see again
        self._to_python()
        self.more = True
        return out or None

    def _scan(self, buf: bytes, pos: int, end: int, out: list):
        """Take the requests hiredis returns, each checked to be canonical
        RESP at ``pos`` in ``buf`` ("*N\\r\\n", then "$L\\r\\n<L bytes>\\r\\n"
        per argument, which also gives the exact number of bytes consumed),
        into ``out``. Returns ``(pos, r)``: where the next request starts,
        and False when hiredis needs more bytes (or the requests end at
        ``end``), else what stopped the scan (a non-canonical request, or
        an exception from hiredis): the Python parser must read from
        ``pos``."""
        gets = self._reader.gets
        size = _BULK_SIZE
        r = None
        try:
            while True:
                r = gets()
                if r is False:
                    return pos, r
                if type(r) is not list or not r or buf[pos] != 42:
                    return pos, r
                try:
                    p = pos + _MBULK_HEADER[len(r)]
                    for a in r:     # "$" where it belongs, and bytes (len(None): TypeError)
                        if buf[p] != 36:
                            break
                        p += size[len(a)]
                    else:
                        out.append(r)
                        pos = p
                        if p != end:
                            continue
                        return p, False     # the last byte: hiredis has nothing left
                except IndexError:       # 10000+ arguments or bytes, or past the end
                    p = self._canonical_end(r, buf, pos)
                    if p >= 0:
                        out.append(r)
                        pos = p
                        continue
                except TypeError:        # "$-1": None
                    pass
                return pos, r
        except hiredis.ProtocolError as e:
            return pos, e

    def _forget(self) -> None:
        """At a request boundary: drop the bytes of earlier reads."""
        self._chunks = []
        self._fed = self._consumed = 0
        self._joined = None

    def get_all(self):
        """Every complete request in the buffer, as a list (maybe empty), in
        hiredis mode; None in Python mode (the caller then uses :meth:`get`).

        Each request hiredis returns is checked to be canonical RESP where it
        lies in the buffer (:meth:`_scan`, shared with :meth:`take`); a
        non-canonical one hands the rest of the buffer to the Python parser:
        the requests before it are returned, the next call returns None.
        """
        held = self._held
        self.more = True
        if held is not None:
            self._held = None
            return held
        if self._buf is not None:
            return None
        start = self._consumed
        buf = self._joined
        if buf is None:
            buf = self._bytes()
        out = []
        start, r = self._scan(buf, start, self._fed, out)
        self._consumed = start
        if r is False:
            if out:
                self._checked = 0
                # nothing more until the next feed, unless a partial
                # request needs its headers checked (next call)
                self.more = start != self._fed
                return out
            pending = self._fed - start
            # headers are checked after every read while the pending
            # request is small (a header that just became complete is
            # refused at once, as Redis does), then each time it doubles
            if pending and (pending <= _RECHECK_ALWAYS or pending > 2 * self._checked):
                self._check_pending(pending)
            return out
        # Not canonical RESP, or hiredis refused it (*0, *-1, a reply type,
        # junk...): the Python parser decides, from the start of that request.
        self._to_python()
        self.more = True
        return out or None

    def hold(self, requests: list) -> None:
        """Hand back requests from :meth:`get_all` that were not run (the
        client blocked or was paused): they come first next time."""
        if requests:
            self._held = requests

    def get(self):
        """The next complete request (list of bytes), or None."""
        held = self._held
        if held is not None:
            r = held.pop(0)
            if not held:
                self._held = None
            return r
        if self._buf is not None:
            return self._get_python()
        r = self.get_all()
        if r is None:
            return self._get_python()
        if not r:
            return None
        if len(r) > 1:
            self._held = r[1:]
        return r[0]

    def _canonical_end(self, r: list, buf: bytes, start: int) -> int:
        """Where request ``r`` ends in ``buf`` if it is canonical RESP, else -1."""
        pos = start + _mbulk_header(len(r))
        for a in r:
            if type(a) is not bytes or pos >= len(buf) or buf[pos] != 36:
                return -1
            pos += _bulk_size(len(a))
        return pos

    def _check_pending(self, pending: int):
        """A request is incomplete after a read: check its headers the way
        Redis does (a bulk length over proto-max-bulk-len is refused at once),
        in Python, without waiting for its data."""
        self._checked = pending
        start = self._consumed
        probe = RequestReader(self.max_bulk, self.max_query, strict=True)
        probe.strict = False
        probe._buf = bytearray(self._bytes()[start:])
        probe._get_python()        # raises ProtocolError like Redis would
        return None

    def _get_python(self):
        """One request from the Python buffer (Redis's own parsing rules)."""
        buf = self._buf
        while True:
            if not self._mbulk:
                pos = self._pos
                if pos >= len(buf):
                    self._buf = None       # drained: back to hiredis
                    self._pos = 0
                    return None
                if buf[pos] != 42:
                    argv = self._inline(buf, pos)
                    if argv is None:
                        return None
                    if argv:
                        return argv
                    continue
                nl = _find_cr(buf, pos)
                if nl < 0:
                    if len(buf) - pos > INLINE_MAX:
                        raise ProtocolError("too big mbulk count string")
                    return self._wait()
                if nl + 2 > len(buf):
                    return self._wait()
                n = _to_int(buf[pos + 1:nl])
                if n is None or n > INT_MAX:
                    raise ProtocolError("invalid multibulk length", "invalid mbulk count")
                if n > MBULK_MAX_UNAUTH and self.strict:
                    raise ProtocolError("unauthenticated multibulk length",
                                        "unauth mbulk count")
                self._pos = nl + 2
                if n <= 0:
                    continue
                self._mbulk = n
                self._argv = []
            # the arguments
            while self._mbulk:
                pos = self._pos
                ln = self._bulklen
                if ln < 0:
                    nl = _find_cr(buf, pos)
                    if nl < 0:
                        if len(buf) - pos > INLINE_MAX:
                            raise ProtocolError("too big bulk count string")
                        return self._wait()
                    if nl + 2 > len(buf):
                        return self._wait()
                    if buf[pos] != 36:
                        raise ProtocolError(f"expected '$', got '{chr(buf[pos])}'",
                                            "expected $ but got something else")
                    ln = _to_int(buf[pos + 1:nl])
                    if ln is None or ln < 0 or ln > self.max_bulk:
                        raise ProtocolError("invalid bulk length")
                    if ln > BULK_MAX_UNAUTH and self.strict:
                        raise ProtocolError("unauthenticated bulk length",
                                            "unauth bulk length")
                    pos = self._pos = nl + 2
                    self._bulklen = ln
                if len(buf) - pos < ln + 2:
                    return self._wait()
                self._argv.append(bytes(buf[pos:pos + ln]))
                self._pos = pos + ln + 2   # the 2 bytes after it are not checked
                self._bulklen = -1
                self._mbulk -= 1
            argv, self._argv = self._argv, None
            return argv

    def _inline(self, buf, pos: int):
        """An inline request at ``pos``: its argv ([] for an empty line), or
        None when the line is not complete yet."""
        nl = buf.find(b"\n", pos)
        if nl < 0 or buf.find(b"\x00", pos, nl) >= 0:    # strchr stops at NUL
            if len(buf) - pos > INLINE_MAX:
                raise ProtocolError("too big inline request")
            return self._wait()
        end = nl - 1 if nl > pos and buf[nl - 1] == 13 else nl
        argv = split_args(bytes(buf[pos:end]))
        if argv is None:
            raise ProtocolError("unbalanced quotes in request",
                                "unbalanced quotes in inline request")
        self._pos = nl + 1
        return argv

    def _wait(self) -> None:
        """Need more bytes: drop what was consumed and wait."""
        if self._pos > 4096 or self._pos * 2 > len(self._buf):
            del self._buf[:self._pos]
            self._pos = 0
        return None
