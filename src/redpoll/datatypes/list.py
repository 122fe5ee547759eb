"""The list type: a deque of bytes (O(1) push/pop at both ends).

Redis 7.0 always reports lists as ``quicklist`` (the listpack encoding for
small lists arrived in 7.2), so there is no encoding state to keep.

Storage: a small list (at most :data:`PACK_ITEMS` items and
:data:`PACK_BYTES` packed bytes, about what one 8 KB quicklist node holds) may be packed
into one bytes object (see :mod:`redpoll.datatypes.compact`); :attr:`RList.q`
is the expanded deque, rebuilt on first use. :class:`RList` offers the deque
methods the rest of the server uses; the reading ones work on the packed
form without expanding it (:meth:`RList.seq`). Writers take ``lst.q``.
"""

from collections import deque

from redpoll.datatypes.compact import pack, touch, unpack
from redpoll.keyspace import register_type

PACK_ITEMS = 128
PACK_BYTES = 8192


# OBJECT ENCODING for the container types. Each value class has:
#   ``encoding``              a property: the encoding name (a plain str) when it
#                             is known, else a function ``fn(config) -> str``;
#   ``encoding_for(config)``  the encoding name, always (decided from the
#                             configured thresholds when it was not known yet,
#                             e.g. for a value built by the RDB loader).


class RList:
    __slots__ = ("_q", "_lp")

    encoding = "quicklist"           # OBJECT ENCODING: always quicklist in 7.0

    def __init__(self, items=()):
        self._q = deque(items.seq() if type(items) is RList else items)
        self._lp = None
        touch(self)

    def encoding_for(self, config) -> str:
        return "quicklist"

    # -- storage -----------------------------------------------------------------
    @property
    def q(self) -> deque:
        """The items as a deque (expanded from the packed form if needed)."""
        q = self._q
        if q is None:
            q = self._q = deque(unpack(self._lp))
            self._lp = None
            touch(self)
        return q

    def pack(self) -> None:
        """Pack the items into one bytes object if the list is small."""
        q = self._q
        if q is not None and len(q) <= PACK_ITEMS:
            blob = pack(tuple(q))
            if len(blob) <= PACK_BYTES:
                self._lp = blob
                self._q = None

    @property
    def packed(self) -> bool:
        return self._q is None

    def seq(self):
        """The items for reading: the deque, or a tuple while packed."""
        q = self._q
        return unpack(self._lp) if q is None else q

    # -- deque interface (reads work on the packed form) -------------------------
    def __len__(self):
        return len(self.seq())

    def __iter__(self):
        return iter(self.seq())

    def __reversed__(self):
        return reversed(self.seq())

    def __contains__(self, item):
        return item in self.seq()

    def __getitem__(self, i):
        return self.seq()[i]

    def __setitem__(self, i, item):
        self.q[i] = item

    def __delitem__(self, i):
        del self.q[i]

    def __eq__(self, other):
        if type(other) is RList:
            other = other.seq()
        return list(self.seq()) == list(other)

    __hash__ = None

    def __repr__(self):
        return f"RList({list(self.seq())!r})"

    def append(self, item):
        self.q.append(item)

    def appendleft(self, item):
        self.q.appendleft(item)

    def extend(self, items):
        self.q.extend(items)

    def extendleft(self, items):
        self.q.extendleft(items)

    def pop(self):
        return self.q.pop()

    def popleft(self):
        return self.q.popleft()

    def insert(self, i, item):
        self.q.insert(i, item)

    def remove(self, item):
        self.q.remove(item)

    def reverse(self):
        self.q.reverse()

    def rotate(self, n=1):
        self.q.rotate(n)

    def index(self, item, *args):
        return self.seq().index(item, *args)

    def count(self, item):
        return self.seq().count(item)

    def clear(self):
        self.q.clear()

    def copy(self) -> "RList":
        return RList(self)


register_type(RList, "list")
