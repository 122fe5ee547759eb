"""The sorted set type: ``dict`` member -> score plus a ``SortedList`` of
(score, member) pairs.

The SortedList orders exactly as Redis's skiplist does (by score, then by
member bytes), and gives O(log n) inserts, deletes and rank lookups
(``bisect``) and O(log n + m) range reads. Scores are Python floats (IEEE
doubles, never NaN).

``big`` records whether Redis would have converted the zset from
``listpack`` to ``skiplist`` (more than ``zset-max-listpack-entries`` members
or a member longer than ``zset-max-listpack-value``); the conversion is one
way for in-place updates. ``big`` is None (unknown) for a zset built
outside the sorted set commands (RDB loading, RESTORE) until
:meth:`ZSet.update_encoding` decides it from the contents.

Storage: a listpack zset may be packed into one bytes object (its (score,
member) pairs in order, see :mod:`redpoll.datatypes.compact`); the ``dict``
and ``sl`` properties expand it on first use, so code uses them as before.
``len``, :meth:`ZSet.score`, :meth:`ZSet.scores`, :meth:`ZSet.rank` and
:meth:`ZSet.pairs` read the packed form without expanding it.
"""

from sortedcontainers import SortedList

from redpoll.datatypes.compact import PACK_MAX, pack, touch, unpack
from redpoll.keyspace import register_type

LISTPACK = "listpack"
SKIPLIST = "skiplist"


class ZSet:
    __slots__ = ("_dict", "_sl", "_lp", "big")

    def __init__(self):
        self._dict: dict[bytes, float] = {}
        self._sl = SortedList()          # (score, member) pairs
        self._lp = None
        self.big = None
        touch(self)

    # -- storage -----------------------------------------------------------------
    def _expand(self) -> None:
        """Rebuild dict and SortedList from the packed form (if packed)."""
        if self._dict is None:
            t = unpack(self._lp)
            self._sl = SortedList(t)
            self._dict = {m: s for s, m in t}
            self._lp = None
            touch(self)

    def _get_dict(self) -> dict:
        self._expand()
        return self._dict

    def _set_dict(self, value: dict) -> None:
        self._expand()
        self._dict = value

    def _get_sl(self) -> SortedList:
        self._expand()
        return self._sl

    def _set_sl(self, value: SortedList) -> None:
        self._expand()
        self._sl = value

    dict = property(_get_dict, _set_dict, doc="member -> score (expanded if packed)")
    sl = property(_get_sl, _set_sl, doc="(score, member) pairs in order (expanded if packed)")

    def pack(self) -> None:
        """Pack members and scores into one bytes object (listpack zsets)."""
        d = self._dict
        if d is not None and self.big is False and len(d) <= PACK_MAX:
            self._lp = pack(tuple(self._sl))
            self._dict = self._sl = None

    @property
    def packed(self) -> bool:
        return self._dict is None

    # -- reads that work on the packed form ----------------------------------------
    def pairs(self):
        """(score, member) pairs in order, for reading: the SortedList, or a
        tuple while packed."""
        sl = self._sl
        return unpack(self._lp) if sl is None else sl

    def score(self, member: bytes):
        """The member's score, or None."""
        d = self._dict
        if d is not None:
            return d.get(member)
        for s, m in unpack(self._lp):
            if m == member:
                return s
        return None

    def scores(self) -> dict:
        """member -> score, for reading only (a temporary dict while packed)."""
        d = self._dict
        return d if d is not None else {m: s for s, m in unpack(self._lp)}

    def __len__(self) -> int:
        d = self._dict
        return len(d) if d is not None else len(unpack(self._lp))

    def add(self, member: bytes, score: float) -> None:
        """Insert or update ``member`` with ``score``. Call :meth:`will_add`
        first for a new member: a listpack zset stores -0 as 0, as Redis's
        listpack does."""
        if score == 0.0 and not self.big:
            score = 0.0
        self._expand()
        d = self._dict
        old = d.get(member)
        if old is not None:
            if old == score:
                d[member] = score        # keep -0.0/0.0 as given
                return
            self._sl.remove((old, member))
        d[member] = score
        self._sl.add((score, member))

    def remove(self, member: bytes) -> bool:
        self._expand()
        old = self._dict.pop(member, None)
        if old is None:
            return False
        self._sl.remove((old, member))
        return True

    def rank(self, member: bytes):
        """0-based rank in ascending order, or None."""
        if self._dict is None:
            for i, (_, m) in enumerate(unpack(self._lp)):
                if m == member:
                    return i
            return None
        s = self._dict.get(member)
        if s is None:
            return None
        return self._sl.index((s, member))

    def will_add(self, member: bytes, config) -> None:
        """Called before adding a new member: convert to skiplist if needed."""
        if not self.big and (len(self) + 1 > config["zset-max-listpack-entries"]
                             or len(member) > config["zset-max-listpack-value"]):
            self.big = True

    def update_encoding(self, config, entries_only: bool = False) -> None:
        """Recompute the encoding of a zset built in bulk (a listpack one
        stores -0 as 0). ``entries_only``: a zset loaded from a listpack (RDB,
        RESTORE), which Redis 7.0 converts only when it has too many members."""
        maxlen = config["zset-max-listpack-value"]
        self.big = (len(self.dict) > config["zset-max-listpack-entries"]
                    or (not entries_only and any(len(m) > maxlen for m in self.dict)))
        if not self.big:
            negzero = [m for m, s in self.dict.items() if s == 0.0 and str(s)[0] == "-"]
            for m in negzero:
                self.sl.remove((0.0, m))
                self.sl.add((0.0, m))
                self.dict[m] = 0.0

    def copy(self) -> "ZSet":
        z = ZSet()
        z._dict = dict(self.dict)
        z._sl = self.sl.copy()
        z.big = self.big
        return z

    def encoding_for(self, config) -> str:
        """What OBJECT ENCODING reports (decided now if it was not known)."""
        self.update_encoding(config)
        return SKIPLIST if self.big else LISTPACK

    @property
    def encoding(self):
        """The encoding name, or encoding_for while it is not known yet."""
        if self.big is None:
            return self.encoding_for
        return SKIPLIST if self.big else LISTPACK


register_type(ZSet, "zset")
