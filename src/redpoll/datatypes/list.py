"""The list type: a deque of bytes (O(1) push/pop at both ends).

Redis 7.0 always reports lists as ``quicklist`` (the listpack encoding for
small lists arrived in 7.2), so there is no encoding state to keep.

Storage: a small list (at most :data:`PACK_ITEMS` items and
:data:`PACK_BYTES` packed bytes, about what one 8 KB quicklist node holds) may be packed
into one bytes object (see :mod:`redpoll.datatypes.compact`); :attr:`RList.q`
is the expanded deque, rebuilt on first use. :class:`RList` offers the deque
methods the rest of the server uses: pushes and pops at both ends work on the
packed form and keep it packed (LPUSH/RPUSH/LPOP/RPOP of a small list never
decode it); the reading ones decode it without expanding (:meth:`RList.seq`).
"""

from collections import deque

from redpoll.datatypes.compact import (
    EMPTY, SEP, decode, encode, esc, find_item, hot, store_packed, touch, unesc)
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
    # _q: the deque, or None while packed; _lp: the packed bytes, or None;
    # _n: the item count while packed
    __slots__ = ("_q", "_lp", "_n", "_hits")

    encoding = "quicklist"           # OBJECT ENCODING: always quicklist in 7.0

    def __init__(self, items=()):
        self._q = deque(items.seq() if type(items) is RList else items)
        self._lp = None
        self._n = self._hits = 0
        touch(self)

    @classmethod
    def new(cls, items) -> "RList":
        """A new list of ``items`` (a sequence): packed when it is small."""
        if len(items) <= PACK_ITEMS:
            blob = encode(items)
            if len(blob) <= PACK_BYTES:
                lst = cls.__new__(cls)
                lst._q = None
                lst._lp = blob
                lst._n = len(items)
                lst._hits = 0
                return lst
        return cls(items)

    def encoding_for(self, config) -> str:
        return "quicklist"

    # -- storage -----------------------------------------------------------------
    @property
    def q(self) -> deque:
        """The items as a deque (expanded from the packed form if needed)."""
        q = self._q
        if q is None:
            q = self._q = deque(decode(self._lp))
            self._lp = None
            touch(self)
        return q

    def pack(self) -> None:
        """Pack the items into one bytes object if the list is small."""
        q = self._q
        if q is not None and len(q) <= PACK_ITEMS:
            if store_packed(self, encode(q), len(q), PACK_BYTES):
                self._q = None

    @property
    def packed(self) -> bool:
        return self._q is None

    def seq(self):
        """The items for reading: the deque, or a list while packed."""
        q = self._q
        if q is None:
            if not hot(self):
                return decode(self._lp)
            q = self.q
        return q

    # -- packed pushes and pops ------------------------------------------------------
    def _push_packed(self, items, left: bool) -> bool:
        """Push onto the packed form; False when it would outgrow it (or the
        list is hot: see compact.hot)."""
        n = self._n + len(items)
        if n > PACK_ITEMS or hot(self):
            return False
        if len(items) == 1:
            new = esc(items[0])
            blob = SEP + new + self._lp if left else self._lp + new + SEP
        else:
            new = encode(items[::-1] if left else items)
            blob = new + self._lp[1:] if left else self._lp + new[1:]
        if len(blob) > PACK_BYTES:
            return False
        self._lp = blob
        self._n = n
        return True

    def push(self, items, left: bool) -> int:
        """LPUSH (``left``) / RPUSH ``items`` (a list or tuple); the new length."""
        q = self._q
        if q is None:
            if self._push_packed(items, left):
                return self._n
            q = self.q
        if left:
            q.extendleft(items)
        else:
            q.extend(items)
        return len(q)

    def pop_end(self, left: bool):
        """LPOP (``left``) / RPOP one item of a non-empty list:
        (the item, how many items are left)."""
        q = self._q
        if q is None:
            item = self._pop_packed(left)
            return item, self._n if self._q is None else len(self._q)
        return (q.popleft() if left else q.pop()), len(q)

    def _pop_packed(self, left: bool):
        if hot(self):
            return self.q.popleft() if left else self.q.pop()
        blob = self._lp
        if left:
            end = blob.find(SEP, 1)
            item = blob[1:end]
            self._lp = blob[end:]
        else:
            start = blob.rfind(SEP, 0, len(blob) - 1) + 1
            item = blob[start:-1]
            self._lp = blob[:start]
        self._n -= 1
        return unesc(item)

    # -- deque interface (reads work on the packed form) -------------------------
    def __len__(self):
        q = self._q
        return self._n if q is None else len(q)

    def __bool__(self):
        q = self._q
        return bool(self._n if q is None else q)

    def __iter__(self):
        return iter(self.seq())

    def __reversed__(self):
        return reversed(self.seq())

    def __contains__(self, item):
        q = self._q
        return item in q if q is not None else find_item(self._lp, item) >= 0

    def __getitem__(self, i):
        if self._q is None and type(i) is int and not hot(self):
            # one item of the packed form: split only up to it, from the
            # nearer end
            n = self._n
            if i < 0:
                i += n
            if not 0 <= i < n:
                raise IndexError("deque index out of range")
            if i < n >> 1:
                return unesc(self._lp.split(SEP, i + 2)[i + 1])
            return unesc(self._lp.rsplit(SEP, n - i + 1)[1])
        return self.seq()[i]

    def __setitem__(self, i, item):
        if self._q is None and type(i) is int and not hot(self):
            items = decode(self._lp)
            items[i] = item
            return self._store(items)
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
        if self._q is None and self._push_packed((item,), False):
            return
        self.q.append(item)

    def appendleft(self, item):
        if self._q is None and self._push_packed((item,), True):
            return
        self.q.appendleft(item)

    def extend(self, items):
        if self._q is None:
            items = items if type(items) in (list, tuple) else list(items)
            if self._push_packed(items, False):
                return
        self.q.extend(items)

    def extendleft(self, items):
        if self._q is None:
            items = items if type(items) in (list, tuple) else list(items)
            if self._push_packed(items, True):
                return
        self.q.extendleft(items)

    def pop(self):
        if self._q is None:
            if not self._n:
                raise IndexError("pop from an empty deque")
            return self._pop_packed(False)
        return self._q.pop()

    def popleft(self):
        if self._q is None:
            if not self._n:
                raise IndexError("pop from an empty deque")
            return self._pop_packed(True)
        return self._q.popleft()

    def insert(self, i, item):
        if self._q is None and not hot(self):
            items = decode(self._lp)
            items.insert(i, item)
            return self._store(items)
        self.q.insert(i, item)

    def remove(self, item):
        self.q.remove(item)

    def remove_matches(self, item, count: int) -> int:
        """LREM: remove the items equal to ``item``, at most ``count`` of
        them from the head (``count`` > 0) or ``-count`` from the tail
        (< 0), every one of them for 0; how many were removed. A packed
        list stays packed."""
        q = self._q
        if q is None and not hot(self):
            items = decode(self._lp)
            if count < 0:
                items.reverse()
            keep = []
            removed = 0
            for j, x in enumerate(items):
                if x == item:
                    removed += 1
                    if removed == count or removed == -count:
                        keep += items[j + 1:]
                        break
                else:
                    keep.append(x)
            if removed:
                if count < 0:
                    keep.reverse()
                self._store(keep)
            return removed
        q = self.q
        if count == 0:
            if item not in q:
                return 0
            keep = [x for x in q if x != item]
            removed = len(q) - len(keep)
            q.clear()
            q.extend(keep)
            return removed
        removed = 0
        if count < 0:
            q.reverse()
        while removed < abs(count):
            try:
                q.remove(item)
            except ValueError:
                break
            removed += 1
        if count < 0:
            q.reverse()
        return removed

    def _store(self, items: list) -> None:
        """Make ``items`` the contents of a packed list: packed again if
        they fit, else expanded."""
        if len(items) <= PACK_ITEMS and store_packed(self, encode(items), len(items), PACK_BYTES):
            return
        self._lp = None
        self._q = deque(items)
        touch(self)

    def reverse(self):
        self.q.reverse()

    def rotate(self, n=1):
        self.q.rotate(n)

    def index(self, item, *args):
        return self.seq().index(item, *args)

    def count(self, item):
        return self.seq().count(item)

    def clear(self):
        if self._q is None:
            self._lp = EMPTY
            self._n = 0
        else:
            self._q.clear()

    def copy(self) -> "RList":
        return RList(self)


register_type(RList, "list")
