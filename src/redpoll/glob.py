"""Redis's glob-style pattern matching (``stringmatchlen`` in util.c).

One matcher for everything that takes a pattern: PSUBSCRIBE / PUBSUB
CHANNELS, KEYS, SCAN MATCH, CONFIG GET (``nocase=True``), ACL key and
channel patterns. Python's ``fnmatch`` differs from Redis in several ways
(``[!...]`` vs ``[^...]``, backslash escapes, unterminated ``[``), so do not
use it for these.

Semantics, as observable in Redis 7.0:

* ``*`` any sequence, ``?`` any one byte, ``\\x`` the byte ``x`` literally
  (a trailing ``\\`` is a literal backslash);
* ``[abc]``, ``[a-z]`` (reversed ranges are swapped), ``[^...]`` negates,
  ``\\`` escapes inside a set; a set missing its ``]`` runs to the end of the
  pattern; range bounds compare as C ``char`` (signed), like Redis on x86;
* an empty string matches only the empty pattern (``*`` does not match ``""``).

Patterns are translated once into a compiled ``re`` (cached), so matching
runs at C speed: ``match(pattern, string)`` or ``compile(pattern)(string)``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

__all__ = ["match", "compile", "match_nocase"]


def _signed(b: int) -> int:
    return b - 256 if b > 127 else b


def _lower(b: int) -> int:
    return b + 32 if 65 <= b <= 90 else b


def _byte_class(members: set[int]) -> str:
    if not members:
        return "(?!)"                    # matches nothing
    if len(members) == 256:
        return "."
    return "[" + "".join("\\x%02x" % b for b in sorted(members)) + "]"


def _parse_set(p: bytes, i: int, nocase: bool) -> tuple[set[int], int]:
    """Parse a ``[...]`` set starting after the ``[``; return (bytes matched,
    index after the set). Mirrors stringmatchlen's loop byte for byte."""
    n = len(p)
    negate = i < n and p[i] == 94      # '^'
    if negate:
        i += 1
    literals: list[int] = []
    ranges: list[tuple[int, int]] = []
    while True:
        left = n - i
        if left >= 2 and p[i] == 92:   # '\\' escapes the next byte
            i += 1
            literals.append(p[i])
        elif left > 0 and p[i] == 93:  # ']'
            break
        elif left == 0:
            i -= 1                      # stringmatchlen steps back, then on
            break
        elif left >= 3 and p[i + 1] == 45:   # 'a-z'
            start, end = p[i], p[i + 2]
            if nocase:
                start, end = _lower(start), _lower(end)
            start, end = _signed(start), _signed(end)
            if start > end:
                start, end = end, start
            ranges.append((start, end))
            i += 2
        else:
            literals.append(p[i])
        i += 1
    members = set()
    for b in range(256):
        c = _lower(b) if nocase else b
        hit = any(c == (_lower(x) if nocase else x) for x in literals)
        if not hit:
            sc = _signed(c)
            hit = any(lo <= sc <= hi for lo, hi in ranges)
        if hit != negate:
            members.add(b)
    return members, i + 1


def _translate(p: bytes, nocase: bool) -> str:
    out = []
    i, n = 0, len(p)
    while i < n:
        ch = p[i]
        if ch == 42:                         # '*'
            while i + 1 < n and p[i + 1] == 42:
                i += 1
            out.append(".*")
            i += 1
        elif ch == 63:                       # '?'
            out.append(".")
            i += 1
        elif ch == 91:                       # '['
            members, i = _parse_set(p, i + 1, nocase)
            out.append(_byte_class(members))
        else:
            if ch == 92 and i + 1 < n:       # '\\x'
                i += 1
                ch = p[i]
            if nocase and _lower(ch) != ch or nocase and 97 <= ch <= 122:
                lo = _lower(ch)
                out.append(_byte_class({lo, lo - 32}))
            else:
                out.append("\\x%02x" % ch)
            i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def _compile(pattern: bytes, nocase: bool) -> Callable[[bytes], bool]:
    if pattern == b"*":
        return bool                       # anything but the empty string
    rx = re.compile(_translate(pattern, nocase).encode("latin-1"), re.DOTALL)
    full = rx.fullmatch
    if not pattern:
        return lambda s: not s

    def matcher(s: bytes) -> bool:
        return bool(s) and full(s) is not None
    return matcher


def compile(pattern: bytes, nocase: bool = False) -> Callable[[bytes], bool]:
    """A function ``f(string) -> bool`` testing ``string`` against ``pattern``."""
    return _compile(bytes(pattern), nocase)


def match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """``stringmatchlen(pattern, string, nocase)``."""
    return _compile(bytes(pattern), nocase)(string)


def match_nocase(pattern: bytes, string: bytes) -> bool:
    """Case-insensitive match (CONFIG GET, Sentinel)."""
    return _compile(bytes(pattern), True)(string)
