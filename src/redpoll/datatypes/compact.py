"""Compact storage of small collections (what Redis's listpack is for).

A Python dict, deque or SortedList costs far more per element than Redis's
listpack: every member is its own ``bytes`` object (33 bytes of header) and
the container adds its own tables. A small hash, sorted set or list is
therefore kept *packed*: all its elements in one ``bytes`` object
(:func:`pack`, ``marshal`` format 2 of a flat tuple, which C code writes and
reads fast). The value classes (:class:`~redpoll.datatypes.hash.RHash`,
:class:`~redpoll.datatypes.zset.ZSet`, :class:`~redpoll.datatypes.list.RList`)
hide this: every access goes through the *expanded* structure (dict,
SortedList, deque), which is rebuilt from the packed bytes on first use.

Which values are expanded is decided here, like a small cache: a value that
gets expanded (or is created) enters :data:`_ring`, and when more than
:data:`RING_SIZE` values are in it, the oldest one is packed again (if it is
still small: see each class's ``pack``). Hot keys stay expanded and pay
nothing; a value untouched for a while costs a few hundred bytes.

This is the *physical* representation only. What OBJECT ENCODING reports
(``listpack`` / ``hashtable`` / ``skiplist`` / ``quicklist``) is decided by
the classes' encoding state with Redis's rules and thresholds; a value is
only packed while that encoding is the compact one.

A handler may hold an expanded structure (``h.d``, ``z.dict``, ``lst.q``)
for the duration of a command, as long as it does not expand
:data:`RING_SIZE` other values meanwhile and then write to the structure it
holds (reading stays correct: a packed copy has the same contents).
"""

from __future__ import annotations

import marshal
import os
from collections import deque

# values kept expanded (the most recently expanded ones); the environment
# variable lets tests run a server that packs everything at once (1)
RING_SIZE = max(1, int(os.environ.get("REDPOLL_EXPANDED_VALUES", "256")))
PACK_MAX = 1024          # never pack more elements than this (O(n) unpacking)

_ring: deque = deque()


def touch(value) -> None:
    """``value`` was just expanded or created: keep it expanded for a while,
    pack the oldest value of the ring."""
    ring = _ring
    ring.append(value)
    if len(ring) > RING_SIZE:
        ring.popleft().pack()


def pack(items: tuple) -> bytes:
    """A flat tuple of bytes/float elements as one bytes object."""
    return marshal.dumps(items, 2)


def unpack(blob: bytes) -> tuple:
    """The tuple :func:`pack` was given."""
    return marshal.loads(blob)


def expanded_values() -> int:
    """How many values the ring holds (for tests and benchmarks)."""
    return len(_ring)
