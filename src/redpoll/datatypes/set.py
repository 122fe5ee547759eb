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
server uses; the reading ones work on the packed form (:meth:`RSet.seq`).
Writers use the methods or ``s.s``.
"""

from redpoll.datatypes.compact import PACK_MAX, pack, touch, unpack
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
    __slots__ = ("_s", "_lp", "ht")

    def __init__(self, items=()):
        self._s = set(items.seq() if type(items) is RSet else items)
        self._lp = None
        self.ht = None
        touch(self)

    # -- storage -----------------------------------------------------------------
    @property
    def s(self) -> set:
        """The members as a set (expanded from the packed form if needed)."""
        s = self._s
        if s is None:
            s = self._s = set(unpack(self._lp))
            self._lp = None
            touch(self)
        return s

    def pack(self) -> None:
        """Pack the members into one bytes object if the set is small."""
        s = self._s
        if s is not None and (len(s) <= PACK_SMALL or (self.ht is False and len(s) <= PACK_MAX)):
            self._lp = pack(tuple(s))
            self._s = None

    @property
    def packed(self) -> bool:
        return self._s is None

    def seq(self):
        """The members for reading: the set, or a tuple while packed."""
        s = self._s
        return unpack(self._lp) if s is None else s

    # -- set interface (reads work on the packed form) ---------------------------
    def __len__(self):
        return len(self.seq())

    def __iter__(self):
        return iter(self.seq())

    def __contains__(self, member):
        return member in self.seq()

    def __eq__(self, other):
        if type(other) is RSet:
            other = other.seq()
        return set(self.seq()) == set(other)

    __hash__ = None

    def __repr__(self):
        return f"RSet({set(self.seq())!r})"

    def add(self, member):
        self.s.add(member)

    def discard(self, member):
        self.s.discard(member)

    def remove(self, member):
        self.s.remove(member)

    def pop(self):
        return self.s.pop()

    def update(self, members):
        self.s.update(members)

    def difference_update(self, members):
        self.s.difference_update(members)

    def clear(self):
        self.s.clear()

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
