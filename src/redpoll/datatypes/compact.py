"""Compact storage of small collections (what Redis's listpack is for).

A Python dict, deque or SortedList costs far more per element than Redis's
listpack: every member is its own ``bytes`` object (33 bytes of header) and
the container adds its own tables. A small hash, sorted set, list or set is
therefore kept *packed*: all its elements in one ``bytes`` object. The value
classes (:class:`~redpoll.datatypes.hash.RHash`,
:class:`~redpoll.datatypes.zset.ZSet`, :class:`~redpoll.datatypes.list.RList`,
:class:`~redpoll.datatypes.set.RSet`) hide this: the *expanded* structure
(dict, SortedList, deque, set) is rebuilt from the packed bytes when a
command needs it.

The packed format is framed by separator bytes that cannot occur inside an
element, so that the common commands work on the packed bytes with C-speed
``bytes`` methods and never decode the whole value: a member is found with
one ``find`` of ``separator + member + separator``, a push or pop is one
slice and concatenation, a rank is one ``count``, and decoding is one
``split``. An element's bytes 0, 1 and 2 are escaped (``\\1`` followed by
``\\x10``, ``\\x11``, ``\\x12``), so ``SEP`` (0) and ``SEP2`` (2) only
ever separate:

* lists and sets: ``SEP e1 SEP e2 ... SEP en SEP`` (an empty one: ``SEP``);
* hashes: ``SEP f1 SEP2 v1 SEP f2 SEP2 v2 ... SEP`` (field and value);
* sorted sets: their members in order as a list, followed by the scores as
  native doubles (see :mod:`redpoll.datatypes.zset`).

Escaping keeps the byte order of elements (sorted-set members compare the
same escaped or not), and it is only done when some element needs it.

Which values are expanded is decided here, like a small cache: a value that
gets expanded (or is created expanded) enters :data:`_ring`, and when more
than :data:`RING_SIZE` values are in it, the oldest one is packed again (if
it is still small: see each class's ``pack``). Writes that work on the
packed form (push/pop, LSET/LINSERT/LREM, HSET/HINCRBY of a field,
SADD/SREM/SPOP, ZADD of one member, ZPOP*/ZREMRANGEBY*...) and the range
reads (LRANGE, ZRANGEBYSCORE...) leave the value packed, except that a value accessed :data:`HOT_ACCESSES`
times within one generation (:data:`RING_SIZE` expansions) is expanded
(:func:`hot`). Hot keys thus stay expanded and pay nothing; a value
untouched for a while costs a few hundred bytes.

This is the *physical* representation only. What OBJECT ENCODING reports
(``listpack`` / ``hashtable`` / ``skiplist`` / ``quicklist`` / ``intset``)
is decided by the classes' encoding state with Redis's rules and
thresholds; a hash or sorted set is only packed while that encoding is the
compact one.

A handler may hold an expanded structure (``h.d``, ``z.dict``, ``lst.q``)
for the duration of a command, as long as it does not expand
:data:`RING_SIZE` other values meanwhile and then write to the structure it
holds (reading stays correct: a packed copy has the same contents).
"""

from __future__ import annotations

import os
from collections import deque
from itertools import chain, repeat

# values kept expanded (the most recently expanded ones); the environment
# variable lets tests run a server that packs everything at once (1)
RING_SIZE = max(1, int(os.environ.get("REDPOLL_EXPANDED_VALUES", "256")))
PACK_MAX = 1024          # never pack more elements than this (O(n) operations)
PACK_BYTES = 16384       # nor more bytes than this

SEP = b"\x00"           # before every element (list, set) or field/member, and at the end
SEP2 = b"\x02"          # between a field and its value, a member and its score
ESC = b"\x01"           # starts an escaped byte
EMPTY = SEP             # the packed form of an empty collection
_TO_SEP = bytes.maketrans(SEP2, SEP)

# a packed value accessed this many times within one generation (RING_SIZE
# expansions) is expanded: a hot key is then served by its dict/set/deque
HOT_ACCESSES = 8

_ring: deque = deque()
_expansions = 0         # values expanded so far
_gen = 0                # the generation: (_expansions // RING_SIZE) mod 16


def store_packed(value, blob: bytes, n: int, limit: int = PACK_BYTES) -> bool:
    """Make ``blob`` (``n`` elements) the packed form of ``value`` if it is
    not over ``limit`` bytes; True if so, and the caller then drops its
    expanded structure. The shared end of every class's ``pack``."""
    if len(blob) > limit:
        return False
    value._lp = blob
    value._n = n
    value._hits = 0
    return True


def touch(value) -> None:
    """``value`` was just expanded or created: keep it expanded for a while,
    pack the oldest value of the ring."""
    global _expansions, _gen
    _expansions += 1
    if not _expansions % RING_SIZE:
        _gen = (_gen + 1) & 15
    ring = _ring
    ring.append(value)
    if len(ring) > RING_SIZE:
        ring.popleft().pack()


def hot(value) -> bool:
    """Count one access to the packed form of ``value`` (its ``_hits`` slot:
    generation mod 16 << 4 | accesses, a small int); True when it has had
    :data:`HOT_ACCESSES` of them in the current generation, i.e. it is used
    often enough to be worth expanding."""
    h = value._hits
    if h >> 4 != _gen:
        h = _gen << 4
    h += 1
    if h & 15 >= HOT_ACCESSES:
        value._hits = 0
        return True
    value._hits = h
    return False


def esc(x: bytes) -> bytes:
    """One element as it is stored packed (bytes 0, 1, 2 escaped)."""
    if 0 in x or 1 in x or 2 in x:        # (int tests: memchr, the fast path)
        return x.replace(ESC, b"\x01\x11").replace(SEP, b"\x01\x10").replace(SEP2, b"\x01\x12")
    return x


def unesc(x: bytes) -> bytes:
    """The element :func:`esc` was given."""
    if 1 in x:
        return x.replace(b"\x01\x10", SEP).replace(b"\x01\x12", SEP2).replace(b"\x01\x11", ESC)
    return x


def _clean(blob: bytes, separators: int) -> bool:
    """True if a blob joined from raw elements needs no escaping."""
    return 1 not in blob and blob.count(SEP) + blob.count(SEP2) == separators


def encode(items) -> bytes:
    """A sequence of elements (bytes) packed: ``SEP e1 SEP ... en SEP``."""
    if not items:
        return EMPTY
    blob = SEP + SEP.join(items) + SEP
    if not _clean(blob, len(items) + 1):
        blob = SEP + SEP.join([esc(x) for x in items]) + SEP
    return blob


def decode(blob: bytes) -> list:
    """The elements :func:`encode` was given, as a list."""
    parts = blob.split(SEP)
    parts.pop()
    del parts[0]
    if 1 in blob:
        return [unesc(x) for x in parts]
    return parts


def count(blob: bytes) -> int:
    """How many elements (or pairs) a packed blob holds."""
    return blob.count(SEP) - 1


def encode_pairs(firsts, seconds) -> bytes:
    """Pairs (field/value, member/score text) packed:
    ``SEP f1 SEP2 v1 SEP ... SEP`` (``firsts`` must be sized)."""
    n = len(firsts)
    if not n:
        return EMPTY
    blob = SEP + b"".join(chain.from_iterable(zip(firsts, repeat(SEP2), seconds, repeat(SEP))))
    if not _clean(blob, 2 * n + 1):
        blob = SEP + b"".join(chain.from_iterable(
            zip(map(esc, firsts), repeat(SEP2), map(esc, seconds), repeat(SEP))))
    return blob


def decode_flat(blob: bytes) -> list:
    """The pairs of a packed blob as one flat list ``[f1, v1, f2, v2...]``."""
    parts = blob.translate(_TO_SEP).split(SEP)
    parts.pop()
    del parts[0]
    if 1 in blob:
        return [unesc(x) for x in parts]
    return parts


def find_pair(blob: bytes, first: bytes):
    """Locate the pair whose first element is ``first``: (start, value
    start, end) byte offsets (the pair is ``blob[start:end]``, its second
    element ``blob[value start:end]``, still escaped), or None."""
    if 0 in first or 1 in first or 2 in first:
        first = esc(first)
    needle = SEP + first + SEP2
    p = blob.find(needle)
    if p < 0:
        return None
    q = p + len(needle)
    return p, q, blob.find(SEP, q)


def find_item(blob: bytes, item: bytes) -> int:
    """Offset of ``SEP item SEP`` in a packed list/set, or -1."""
    if 0 in item or 1 in item or 2 in item:
        item = esc(item)
    return blob.find(SEP + item + SEP)

