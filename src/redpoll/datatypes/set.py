"""The set type: a Python set of bytes members.

Redis 7.0 encodes a set as an ``intset`` while every member is an integer
(in string2ll's canonical form) and there are at most
``set-max-intset-entries`` of them, as a ``hashtable`` otherwise (7.0 has no
listpack sets). ``ht`` is True once Redis would have converted it; the
conversion is one way. Code that builds a set outside the set commands
(RDB loading, RESTORE) calls :meth:`RSet.update_encoding` once it is filled.
"""

from redpoll.keyspace import register_type
from redpoll.persistence.compact import as_int

INTSET = "intset"
HASHTABLE = "hashtable"


def is_int_member(b: bytes) -> bool:
    """True if ``b`` would be stored in an intset (string2ll accepts it)."""
    return as_int(b) is not None


class RSet(set):
    __slots__ = ("ht",)

    def __init__(self, *args):
        set.__init__(self, *args)
        self.ht = None

    def note_add(self, member: bytes, config) -> None:
        """Called after adding ``member`` (encoding known): convert if needed."""
        if not self.ht and (not is_int_member(member)
                            or len(self) > config["set-max-intset-entries"]):
            self.ht = True

    def update_encoding(self, config) -> None:
        """Decide the encoding from the contents (never back to intset)."""
        if not self.ht:
            self.ht = (len(self) > config["set-max-intset-entries"]
                       or not all(is_int_member(m) for m in self))

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
