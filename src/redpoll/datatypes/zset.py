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

Storage: a listpack zset may be packed into one bytes object (see
:mod:`redpoll.datatypes.compact`): its members in order, framed as a packed
list, followed by their scores as native doubles (``8 * n`` bytes, a
C-level array: read with ``memoryview.cast``, bisected for an insert). The
``dict`` and ``sl`` properties expand it on first use, so code uses them as
before. ``len``, :meth:`ZSet.score`, :meth:`ZSet.rank`, :meth:`ZSet.add` and
:meth:`ZSet.remove` work on the packed bytes (one ``find`` of the member, a
``count`` for its rank, a bisect of the scores), :meth:`ZSet.scores` and
:meth:`ZSet.pairs` decode without expanding.
"""

import struct
from array import array
from bisect import bisect_left, bisect_right

from sortedcontainers import SortedList

from redpoll.datatypes.compact import (
    EMPTY, ESC, PACK_BYTES, PACK_MAX, SEP, encode, esc, hot, store_packed, touch, unesc)
from redpoll.keyspace import register_type

LISTPACK = "listpack"
SKIPLIST = "skiplist"
_D = struct.Struct("d")         # one packed score (native double)


class ZSet:
    # _dict/_sl: member -> score and the (score, member) SortedList, both
    # None while packed; _lp: the packed bytes, or None; _n: the member
    # count while packed
    __slots__ = ("_dict", "_sl", "_lp", "_n", "_hits", "big")

    def __init__(self):
        self._dict: dict[bytes, float] = {}
        self._sl = SortedList()          # (score, member) pairs
        self._lp = None
        self._n = self._hits = 0
        self.big = None
        touch(self)

    @classmethod
    def new(cls) -> "ZSet":
        """A new empty listpack zset (created packed)."""
        z = cls.__new__(cls)
        z._dict = z._sl = None
        z._lp = EMPTY
        z._n = z._hits = 0
        z.big = False
        return z

    # -- storage -----------------------------------------------------------------
    def _expand(self) -> None:
        """Rebuild dict and SortedList from the packed form (if packed)."""
        if self._dict is None:
            self.unpack()
            touch(self)

    def unpack(self) -> None:
        """Expand for a bulk change that ends with :meth:`pack` (the value
        does not enter the ring of expanded values)."""
        if self._dict is None:
            pairs = self._decode()
            self._sl = SortedList(pairs)
            self._dict = {m: s for s, m in pairs}
            self._lp = None

    def _members(self) -> list:
        """The members of the packed form, in order."""
        blob = self._lp
        n = self._n
        parts = blob.split(SEP, n + 1)       # the scores stay in the last part
        del parts[0]
        parts.pop()
        if blob.find(ESC, 0, len(blob) - 8 * n) >= 0:
            return [unesc(m) for m in parts]
        return parts

    def _scores(self) -> list:
        """The scores of the packed form, in order."""
        blob = self._lp
        return memoryview(blob)[len(blob) - 8 * self._n:].cast("d").tolist()

    def _decode(self) -> tuple:
        return tuple(zip(self._scores(), self._members()))

    def _find(self, member: bytes):
        """(offset of the member's separator, its rank) in the packed form,
        or None."""
        blob = self._lp
        p = blob.find(SEP + esc(member) + SEP, 0, len(blob) - 8 * self._n)
        return None if p < 0 else (p, blob.count(SEP, 0, p))

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
            sl = self._sl
            blob = encode([m for _, m in sl]) + array("d", [s for s, _ in sl]).tobytes()
            if store_packed(self, blob, len(d)):
                self._dict = self._sl = None

    @property
    def packed(self) -> bool:
        return self._dict is None

    def _packed_access(self) -> bool:
        """True if this access may work on the packed form (else expanded)."""
        if self._dict is not None:
            return False
        if hot(self):
            self._expand()
            return False
        return True

    # -- reads that work on the packed form ----------------------------------------
    def pairs(self):
        """(score, member) pairs in order, for reading: the SortedList, or a
        tuple while packed."""
        sl = self._sl
        return self._decode() if sl is None else sl

    def ordered(self):
        """(score, member) pairs in order, for a command that reads a range
        of them: the SortedList, or a tuple decoded from the packed form
        (one access, see compact.hot: a hot zset is expanded)."""
        if self._packed_access():
            return self._decode()
        return self._sl

    def remove_span(self, i: int, k: int) -> list:
        """Remove the members of ranks [i, k) (0 <= i <= k <= len); their
        (score, member) pairs, in order. A packed zset stays packed."""
        if self._packed_access():
            blob = self._lp
            n = self._n
            off = len(blob) - 8 * n          # where the scores start
            members = blob[:off].split(SEP)  # '', m0 ... m(n-1), ''
            gone = members[i + 1:k + 1]
            del members[i + 1:k + 1]
            scores = memoryview(blob)[off + 8 * i:off + 8 * k].cast("d").tolist()
            self._lp = SEP.join(members) + blob[off:off + 8 * i] + blob[off + 8 * k:]
            self._n = n - (k - i)
            if blob.find(ESC, 0, off) >= 0:
                gone = [unesc(m) for m in gone]
            return list(zip(scores, gone))
        sl = self._sl
        d = self._dict
        out = list(sl.islice(i, k))
        for _, m in out:
            del d[m]
        del sl[i:k]
        return out

    def score(self, member: bytes):
        """The member's score, or None."""
        d = self._dict
        if d is not None:
            return d.get(member)
        if self._packed_access():
            loc = self._find(member)
            if loc is None:
                return None
            blob = self._lp
            return _D.unpack_from(blob, len(blob) - 8 * (self._n - loc[1]))[0]
        return self._dict.get(member)

    def scores(self) -> dict:
        """member -> score, for reading only (a temporary dict while packed)."""
        d = self._dict
        return d if d is not None else dict(zip(self._members(), self._scores()))

    def __len__(self) -> int:
        d = self._dict
        return len(d) if d is not None else self._n

    def __bool__(self) -> bool:
        d = self._dict
        return bool(d) if d is not None else self._n > 0

    def add(self, member: bytes, score: float) -> None:
        """Insert or update ``member`` with ``score``. Call :meth:`will_add`
        first for a new member: a listpack zset stores -0 as 0, as Redis's
        listpack does."""
        if score == 0.0 and not self.big:
            score = 0.0
        if self._packed_access():
            return self._add_packed(member, score)
        d = self._dict
        old = d.get(member)
        if old is not None:
            if old == score:
                d[member] = score        # keep -0.0/0.0 as given
                return
            self._sl.remove((old, member))
        d[member] = score
        self._sl.add((score, member))

    def _add_packed(self, member: bytes, score: float) -> None:
        blob = self._lp
        n = self._n
        off = len(blob) - 8 * n          # where the scores start
        e = esc(member)
        p = blob.find(SEP + e + SEP, 0, off)
        if p >= 0:                       # an update: take the member out first
            at = off + 8 * blob.count(SEP, 0, p)
            if _D.unpack_from(blob, at)[0] == score:
                return
            blob = blob[:p] + blob[p + 1 + len(e):at] + blob[at + 8:]
            n -= 1
            off -= 1 + len(e)
        # its rank: by score, then by member (escaping keeps the order of
        # members, so the escaped ones are compared)
        scores = memoryview(blob)[off:].cast("d")
        i = bisect_left(scores, score)
        j = bisect_right(scores, score, i)
        scores.release()
        if j > i:
            i += bisect_left(blob.split(SEP, j + 1)[i + 1:j + 1], e)
        pos = off - 1 if i == n else len(blob) - len(blob.split(SEP, i + 1)[-1]) - 1
        at = off + 8 * i
        self._lp = blob[:pos] + SEP + e + blob[pos:at] + _D.pack(score) + blob[at:]
        self._n = n + 1
        if len(self._lp) > PACK_BYTES:
            self._expand()

    def remove(self, member: bytes) -> bool:
        if self._packed_access():
            loc = self._find(member)
            if loc is None:
                return False
            blob = self._lp
            p, k = loc
            at = len(blob) - 8 * (self._n - k)
            self._lp = blob[:p] + blob[blob.find(SEP, p + 1):at] + blob[at + 8:]
            self._n -= 1
            return True
        old = self._dict.pop(member, None)
        if old is None:
            return False
        self._sl.remove((old, member))
        return True

    def rank(self, member: bytes):
        """0-based rank in ascending order, or None."""
        if self._packed_access():
            loc = self._find(member)
            return None if loc is None else loc[1]
        s = self._dict.get(member)
        if s is None:
            return None
        return self._sl.index((s, member))

    def will_add(self, member: bytes, config) -> None:
        """Called before adding a new member: convert to skiplist if needed."""
        if not self.big and (len(self) + 1 > config["zset-max-listpack-entries"]
                             or len(member) > config["zset-max-listpack-value"]):
            self.big = True
            self._expand()               # a skiplist is never packed

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
