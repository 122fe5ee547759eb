"""The set type: a set of bytes members.

Redis 7.0 encodes a set as an ``intset`` while every member is an integer
(in string2ll's canonical form) and there are at most
``set-max-intset-entries`` of them, as a ``hashtable`` otherwise (7.0 has no
listpack sets). ``ht`` is True once Redis would have converted it; the
conversion is one way. Code that builds a set outside the set commands
(RDB loading, RESTORE) calls :meth:`RSet.update_encoding` once it is filled.

Storage: a small set may be packed into one bytes object (see
:mod:`redpoll.datatypes.compact`); :attr:`RSet.s` is the expanded set,
rebuilt on first use. :class:`RSet` offers the set methods the rest of the
server uses; membership tests, adds and removes work on the packed bytes
without decoding them, the other reads decode without expanding
(:meth:`RSet.seq`). Writers use the methods or ``s.s``.
"""

import random

from redpoll.datatypes.compact import (
    EMPTY, PACK_BYTES, PACK_MAX, SEP, decode, encode, esc, find_item, hot, store_packed, touch,
    unesc)
from redpoll.keyspace import register_type
from redpoll.persistence.compact import as_int

# small sets of any members are packed too (Redis 7.0 keeps those in a
# hashtable, but the physical form is ours to choose)
PACK_SMALL = 128

INTSET = "intset"
HASHTABLE = "hashtable"


def is_int_member(b: bytes) -> bool:
    """True if ``b`` would be stored in an intset (string2ll accepts it)."""
    return as_int(b) is not None


class RSet:
    # _s: the set, or None while packed; _lp: the packed bytes, or None;
    # _n: the member count while packed
    __slots__ = ("_s", "_lp", "_n", "_hits", "ht")

    def __init__(self, items=()):
        self._s = set(items.seq() if type(items) is RSet else items)
        self._lp = None
        self._n = self._hits = 0
        self.ht = None
        touch(self)

    @classmethod
    def new(cls) -> "RSet":
        """A new empty intset (created packed)."""
        st = cls.__new__(cls)
        st._s = None
        st._lp = EMPTY
        st._n = st._hits = 0
        st.ht = False
        return st

    # -- storage -----------------------------------------------------------------
    @property
    def s(self) -> set:
        """The members as a set (expanded from the packed form if needed)."""
        s = self._s
        if s is None:
            s = self._s = set(decode(self._lp))
            self._lp = None
            touch(self)
        return s

    def pack(self) -> None:
        """Pack the members into one bytes object if the set is small."""
        s = self._s
        if s is not None and (len(s) <= PACK_SMALL or (self.ht is False and len(s) <= PACK_MAX)):
            if store_packed(self, encode(s), len(s)):
                self._s = None

    @property
    def packed(self) -> bool:
        return self._s is None

    def seq(self):
        """The members for reading: the set, or a list while packed."""
        s = self._s
        if s is None:
            if not hot(self):
                return decode(self._lp)
            s = self.s
        return s

    # -- writes that keep the packed form ------------------------------------------
    def add_many(self, members, config=None) -> int:
        """Add members; how many were new (one access, see compact.hot).
        With the server's ``config`` (the set commands), the intset ->
        hashtable conversion is tracked as Redis does it."""
        s = self._s
        if s is None and hot(self):
            s = self.s
        if s is not None:
            n = len(s)
            s.update(members)
            added = len(s) - n
        else:
            blob = self._lp
            added = 0
            for m in members:
                e = esc(m) + SEP
                if blob.find(SEP + e) < 0:
                    blob += e
                    added += 1
            self._lp = blob
            self._n += added
            if len(blob) > PACK_BYTES:
                self.s  # noqa: B018 (the property expands)
        # a member that is not an integer is never in an intset: it was added
        if added and config is not None and not self.ht:
            if self.ht is None:
                self.update_encoding(config)
            elif (len(self) > config["set-max-intset-entries"]
                  or not all(map(is_int_member, members))):
                self.ht = True
        return added

    def remove_many(self, members) -> int:
        """Remove members; how many were there."""
        s = self._s
        if s is None and hot(self):
            s = self.s
        if s is not None:
            n = len(s)
            s.difference_update(members)
            return n - len(s)
        blob = self._lp
        removed = 0
        for m in members:
            e = esc(m)
            p = blob.find(SEP + e + SEP)
            if p >= 0:
                blob = blob[:p] + blob[p + 1 + len(e):]
                removed += 1
        self._lp = blob
        self._n -= removed
        return removed

    # -- set interface (reads work on the packed form) ---------------------------
    def __len__(self):
        s = self._s
        return self._n if s is None else len(s)

    def __bool__(self):
        s = self._s
        return self._n > 0 if s is None else bool(s)

    def __iter__(self):
        return iter(self.seq())

    def __contains__(self, member):
        s = self._s
        if s is None:
            if not hot(self):
                return find_item(self._lp, member) >= 0
            s = self.s
        return member in s

    def __eq__(self, other):
        if type(other) is RSet:
            other = other.seq()
        return set(self.seq()) == set(other)

    __hash__ = None

    def __repr__(self):
        return f"RSet({set(self.seq())!r})"

    def add(self, member):
        self.add_many((member,))

    def discard(self, member):
        self.remove_many((member,))

    def remove(self, member):
        if not self.remove_many((member,)):
            raise KeyError(member)

    def pop(self):
        return self.s.pop()

    def pop_random(self) -> bytes:
        """Remove and return a random member (SPOP). Small sets pick
        uniformly (a packed one takes the member out of the bytes, splitting
        only up to it from the nearer end); big ones use set.pop() (O(1);
        bytes hashing is salted per process, so the order is arbitrary)
        rather than copying the set on every call."""
        if self._s is None and not hot(self):
            blob = self._lp
            n = self._n
            k = random.randrange(n)
            if k < n >> 1:
                parts = blob.split(SEP, k + 2)          # '', m0 ... mk, the rest
                m = parts[k + 1]
                end = len(blob) - len(parts[-1]) - 1    # the separator after mk
                start = end - len(m) - 1
            else:
                parts = blob.rsplit(SEP, n - k + 1)     # the head, mk ... m(n-1), ''
                m = parts[1]
                start = len(parts[0])
            self._lp = blob[:start] + blob[start + 1 + len(m):]
            self._n = n - 1
            return unesc(m)
        s = self.s
        if len(s) <= PACK_SMALL:
            m = random.choice(tuple(s))
            s.remove(m)
            return m
        return s.pop()

    def update(self, members):
        self.add_many(members)

    def difference_update(self, members):
        self.remove_many(members)

    def clear(self):
        if self._s is None:
            self._lp = EMPTY
            self._n = 0
        else:
            self._s.clear()

    def copy(self) -> "RSet":
        new = RSet(self)
        new.ht = self.ht
        return new

    # -- encoding ------------------------------------------------------------------
    def note_add(self, member: bytes, config) -> None:
        """Called after adding ``member`` (encoding known): convert if needed."""
        if not self.ht and (not is_int_member(member)
                            or len(self) > config["set-max-intset-entries"]):
            self.ht = True

    def update_encoding(self, config) -> None:
        """Decide the encoding from the contents (never back to intset)."""
        if not self.ht:
            members = self.seq()
            self.ht = (len(members) > config["set-max-intset-entries"]
                       or not all(is_int_member(m) for m in members))

    def encoding_for(self, config) -> str:
        """What OBJECT ENCODING reports (decided now if it was not known)."""
        self.update_encoding(config)
        return HASHTABLE if self.ht else INTSET

    @property
    def encoding(self):
        """The encoding name, or encoding_for while it is not known yet."""
        if self.ht is None:
            return self.encoding_for
        return HASHTABLE if self.ht else INTSET


register_type(RSet, "set")
