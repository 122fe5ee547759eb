"""The hash type: field bytes -> value bytes, in insertion order.

``ht`` records whether Redis would have converted the hash from its compact
``listpack`` encoding to ``hashtable`` (more than ``hash-max-listpack-entries``
fields, or a field/value longer than ``hash-max-listpack-value``). As in Redis
the conversion is one way: a hash never goes back to listpack. The hash
commands keep it up to date; ``ht`` is None (unknown) for a hash built some
other way (RDB loading, RESTORE, COPY) until :meth:`RHash.update_encoding`
decides it from its contents, as Redis does when it loads a value.

Storage: while the encoding is listpack the fields may be packed into one
bytes object (see :mod:`redpoll.datatypes.compact`); :attr:`RHash.d` is the
expanded dict (rebuilt on first use). :class:`RHash` offers the dict
methods the rest of the server uses; the reading ones (``get``, ``in``,
``len``, ``items``...) work on the packed form without expanding it (they
return lists instead of views then). Writers take ``h.d``.
"""

from redpoll.datatypes.compact import PACK_MAX, pack, touch, unpack
from redpoll.keyspace import register_type

LISTPACK = "listpack"
HASHTABLE = "hashtable"


class RHash:
    __slots__ = ("_d", "_lp", "ht")

    def __init__(self, *args, **kw):
        if len(args) == 1 and type(args[0]) is RHash and not kw:
            self._d = dict(args[0].mapping())
        else:
            self._d = dict(*args, **kw)
        self._lp = None
        self.ht = None
        touch(self)

    # -- storage -----------------------------------------------------------------
    @property
    def d(self) -> dict:
        """The fields as a dict (expanded from the packed form if needed)."""
        d = self._d
        if d is None:
            d = self._d = dict(zip(*unpack(self._lp)))
            self._lp = None
            touch(self)
        return d

    def pack(self) -> None:
        """Pack the fields into one bytes object if the hash is a listpack."""
        d = self._d
        if d is not None and self.ht is False and len(d) <= PACK_MAX:
            self._lp = pack((tuple(d), tuple(d.values())))
            self._d = None

    @property
    def packed(self) -> bool:
        return self._d is None

    # -- dict interface (reads work on the packed form) -------------------------
    def __len__(self):
        d = self._d
        return len(d) if d is not None else len(unpack(self._lp)[0])

    def __iter__(self):
        d = self._d
        return iter(d) if d is not None else iter(unpack(self._lp)[0])

    def __contains__(self, field):
        d = self._d
        return field in d if d is not None else field in unpack(self._lp)[0]

    def __getitem__(self, field):
        v = self.get(field)
        if v is None:
            raise KeyError(field)
        return v

    def get(self, field, default=None):
        d = self._d
        if d is not None:
            return d.get(field, default)
        fields, values = unpack(self._lp)
        try:
            return values[fields.index(field)]
        except ValueError:
            return default

    def mapping(self) -> dict:
        """The fields as a dict, for reading only (a temporary one while packed)."""
        d = self._d
        return d if d is not None else dict(zip(*unpack(self._lp)))

    def items(self):
        d = self._d
        return d.items() if d is not None else list(zip(*unpack(self._lp)))

    def keys(self):
        d = self._d
        return d.keys() if d is not None else list(unpack(self._lp)[0])

    def values(self):
        d = self._d
        return d.values() if d is not None else list(unpack(self._lp)[1])

    def __setitem__(self, field, value):
        self.d[field] = value

    def __delitem__(self, field):
        del self.d[field]

    def __eq__(self, other):
        if type(other) is RHash:
            other = other.mapping()
        return self.mapping() == other

    __hash__ = None

    def __repr__(self):
        return f"RHash({self.mapping()!r})"

    def pop(self, field, *default):
        return self.d.pop(field, *default)

    def update(self, *args, **kw):
        self.d.update(*args, **kw)

    def setdefault(self, field, value=None):
        return self.d.setdefault(field, value)

    def clear(self):
        self.d.clear()

    def copy(self) -> "RHash":
        h = RHash(self)
        h.ht = self.ht
        return h

    # -- encoding ------------------------------------------------------------------
    def update_encoding(self, config, entries_only: bool = False) -> None:
        """Decide the encoding from the contents (never back to listpack).
        ``entries_only``: a hash loaded from a listpack (RDB, RESTORE), which
        Redis 7.0 converts only when it has too many fields."""
        if entries_only and not self.ht:
            self.ht = len(self) > config["hash-max-listpack-entries"]
        elif not self.ht:
            maxlen = config["hash-max-listpack-value"]
            d = self.mapping()
            self.ht = len(d) > config["hash-max-listpack-entries"] or any(
                len(f) > maxlen or len(v) > maxlen for f, v in d.items())

    def encoding_for(self, config) -> str:
        """What OBJECT ENCODING reports (decided now if it was not known)."""
        self.update_encoding(config)
        return HASHTABLE if self.ht else LISTPACK

    @property
    def encoding(self):
        """The encoding name, or encoding_for while it is not known yet."""
        if self.ht is None:
            return self.encoding_for
        return HASHTABLE if self.ht else LISTPACK


register_type(RHash, "hash")
