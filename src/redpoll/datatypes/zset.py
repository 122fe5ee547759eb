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

Storage: a listpack zset may be packed into one bytes object (its members
and scores in order, see :mod:`redpoll.datatypes.compact`); the ``dict``
and ``sl`` properties expand it on first use, so code uses them as before.
``len``, :meth:`ZSet.score`, :meth:`ZSet.rank`, :meth:`ZSet.add` and
:meth:`ZSet.remove` work on the packed bytes (one ``find`` of the member;
an add decodes only the scores to place it), :meth:`ZSet.scores` and
:meth:`ZSet.pairs` decode without expanding.
"""

from bisect import bisect_left, bisect_right

from sortedcontainers import SortedList

from redpoll.datatypes.compact import (
    EMPTY, PACK_BYTES, PACK_MAX, SEP, SEP2, decode_flat, encode_pairs, esc, find_pair, hot,
    touch)
from redpoll.keyspace import register_type

LISTPACK = "listpack"
SKIPLIST = "skiplist"
_TO_SEP = bytes.maketrans(SEP2, SEP)


def _score_text(score: float) -> bytes:
    """A score as it is stored packed (repr: exact round trip)."""
    return repr(score).encode()


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
            pairs = self._decode()
            self._sl = SortedList(pairs)
            self._dict = {m: s for s, m in pairs}
            self._lp = None
            touch(self)

    def _decode(self) -> tuple:
        flat = decode_flat(self._lp)
        return tuple(zip(map(float, flat[1::2]), flat[::2]))

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
            blob = encode_pairs([m for _, m in sl], [_score_text(s) for s, _ in sl])
            if len(blob) <= PACK_BYTES:
                self._lp = blob
                self._n = len(d)
                self._hits = 0
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

    def score(self, member: bytes):
        """The member's score, or None."""
        if self._packed_access():
            blob = self._lp
            loc = find_pair(blob, member)
            return None if loc is None else float(blob[loc[1]:loc[2]])
        return self._dict.get(member)

    def scores(self) -> dict:
        """member -> score, for reading only (a temporary dict while packed)."""
        d = self._dict
        if d is not None:
            return d
        flat = decode_flat(self._lp)
        return dict(zip(flat[::2], map(float, flat[1::2])))

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
        loc = find_pair(blob, member)
        if loc is not None:
            if float(blob[loc[1]:loc[2]]) == score:
                return
            blob = blob[:loc[0]] + blob[loc[2]:]
            self._n -= 1
        # the new entry's place: by score, then by member (escaping keeps
        # the order of members, so escaped ones are compared)
        flat = blob.translate(_TO_SEP).split(SEP)
        del flat[0]
        flat.pop()
        scores = list(map(float, flat[1::2]))
        e = esc(member)
        i = bisect_left(scores, score)
        j = bisect_right(scores, score, i)
        if j > i:
            i += bisect_left(flat[2 * i:2 * j:2], e)
        pos = sum(map(len, flat[:2 * i])) + 2 * i
        self._lp = blob[:pos] + SEP + e + SEP2 + _score_text(score) + blob[pos:]
        self._n += 1
        if len(self._lp) > PACK_BYTES:
            self._expand()

    def remove(self, member: bytes) -> bool:
        if self._packed_access():
            blob = self._lp
            loc = find_pair(blob, member)
            if loc is None:
                return False
            self._lp = blob[:loc[0]] + blob[loc[2]:]
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
            blob = self._lp
            loc = find_pair(blob, member)
            return None if loc is None else blob.count(SEP, 0, loc[0])
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
