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
return lists instead of views then), and so do :meth:`RHash.set` and
:meth:`RHash.delete` (HSET/HDEL/HINCRBY of a packed hash edit the packed
bytes in place of decoding them). Other writers take ``h.d``.
"""

from redpoll.datatypes.compact import (
    EMPTY, PACK_BYTES, PACK_MAX, SEP, SEP2, decode_flat, encode_pairs, esc, find_pair,
    hot, store_packed, touch, unesc)
from redpoll.keyspace import register_type

LISTPACK = "listpack"
HASHTABLE = "hashtable"


def _put(blob: bytes, loc, field: bytes, value: bytes) -> bytes:
    """A packed hash with ``field`` set to ``value``: ``loc`` is where
    :func:`~redpoll.datatypes.compact.find_pair` found the field (None: it
    is added at the end)."""
    if loc is None:
        return blob + esc(field) + SEP2 + esc(value) + SEP
    return blob[:loc[1]] + esc(value) + blob[loc[2]:]


class RHash:
    # _d: the dict, or None while packed; _lp: the packed bytes, or None;
    # _n: the field count while packed
    __slots__ = ("_d", "_lp", "_n", "_hits", "ht")

    def __init__(self, *args, **kw):
        if len(args) == 1 and type(args[0]) is RHash and not kw:
            self._d = dict(args[0].mapping())
        else:
            self._d = dict(*args, **kw)
        self._lp = None
        self._n = self._hits = 0
        self.ht = None
        touch(self)

    @classmethod
    def new(cls) -> "RHash":
        """A new empty listpack hash (created packed)."""
        h = cls.__new__(cls)
        h._d = None
        h._lp = EMPTY
        h._n = h._hits = 0
        h.ht = False
        return h

    # -- storage -----------------------------------------------------------------
    @property
    def d(self) -> dict:
        """The fields as a dict (expanded from the packed form if needed)."""
        d = self._d
        if d is None:
            flat = decode_flat(self._lp)
            d = self._d = dict(zip(flat[::2], flat[1::2]))
            self._lp = None
            touch(self)
        return d

    def expand(self) -> None:
        """Expand now (e.g. the hash became a hashtable, which is never packed)."""
        if self._d is None:
            self.d  # noqa: B018 (the property expands)

    def pack(self) -> None:
        """Pack the fields into one bytes object if the hash is a listpack."""
        d = self._d
        if d is not None and self.ht is False and len(d) <= PACK_MAX:
            if store_packed(self, encode_pairs(d, d.values()), len(d)):
                self._d = None

    @property
    def packed(self) -> bool:
        return self._d is None

    # -- writes that keep the packed form ------------------------------------------
    def set(self, field: bytes, value: bytes) -> int:
        """Set one field; 1 if it is new, else 0."""
        return self.set_pairs((field, value))

    def set_pairs(self, pairs, config=None) -> int:
        """Set fields from a flat sequence ``field, value, ...``; how many
        were new. A packed hash is edited packed (one access, see
        compact.hot), and expanded if it outgrows the packed form. With the
        server's ``config`` (the hash commands), the listpack -> hashtable
        conversion is tracked (:meth:`_convert_after_write`)."""
        d = self._d
        if d is None and hot(self):
            d = self.d
        if d is not None:
            n = len(d)
            if len(pairs) == 2:
                d[pairs[0]] = pairs[1]
            else:
                for i in range(0, len(pairs), 2):
                    d[pairs[i]] = pairs[i + 1]
            size = len(d)
            added = size - n
        else:
            blob = self._lp
            added = 0
            for i in range(0, len(pairs), 2):
                loc = find_pair(blob, pairs[i])
                if loc is None:
                    added += 1
                blob = _put(blob, loc, pairs[i], pairs[i + 1])
            self._lp = blob
            self._n = size = self._n + added
            if len(blob) > PACK_BYTES:
                self.expand()
        if config is not None and not self.ht:
            f = len(pairs[0])          # the longest string (one pair: no map/max)
            v = len(pairs[1]) if len(pairs) == 2 else max(map(len, pairs))
            self._convert_after_write(config, size, f if f > v else v)
        return added

    def apply(self, field: bytes, fn, config) -> bytes:
        """Set ``field`` to ``fn(its value or None)`` (bytes) with one
        lookup of the field (HINCRBY, HINCRBYFLOAT); ``fn`` may raise to
        leave the hash alone. Tracks the encoding as :meth:`set_pairs` does."""
        d = self._d
        if d is None and hot(self):
            d = self.d
        if d is not None:
            new = fn(d.get(field))
            d[field] = new
        else:
            blob = self._lp
            loc = find_pair(blob, field)
            new = fn(None if loc is None else unesc(blob[loc[1]:loc[2]]))
            self._lp = blob = _put(blob, loc, field, new)
            if loc is None:
                self._n += 1
            if len(blob) > PACK_BYTES:
                self.expand()
        if not self.ht:
            self._convert_after_write(config, len(self), max(len(field), len(new)))
        return new

    def _convert_after_write(self, config, size: int, longest: int) -> None:
        """The listpack -> hashtable conversion after a write that left
        ``size`` fields, of fields and values up to ``longest`` bytes, as
        Redis checks it (over
        hash-max-listpack-value, or more fields than
        hash-max-listpack-entries); the hashtable is expanded (only
        listpacks are packed). An encoding not decided yet is decided from
        the contents."""
        if self.ht is None:
            self.update_encoding(config)
        elif (longest > config.values["hash-max-listpack-value"]
              or size > config.values["hash-max-listpack-entries"]):
            self.ht = True
            self.expand()

    def delete(self, field: bytes) -> bool:
        """Remove one field; True if it was there."""
        d = self._d
        if d is None and hot(self):
            d = self.d
        if d is not None:
            return d.pop(field, None) is not None
        blob = self._lp
        loc = find_pair(blob, field)
        if loc is None:
            return False
        self._lp = blob[:loc[0]] + blob[loc[2]:]
        self._n -= 1
        return True

    # -- dict interface (reads work on the packed form) -------------------------
    def __len__(self):
        d = self._d
        return len(d) if d is not None else self._n

    def __bool__(self):
        d = self._d
        return bool(d) if d is not None else self._n > 0

    def __iter__(self):
        return iter(self.keys())

    def __contains__(self, field):
        d = self._d
        if d is None:
            if not hot(self):
                return find_pair(self._lp, field) is not None
            d = self.d
        return field in d

    def __getitem__(self, field):
        v = self.get(field)
        if v is None:
            raise KeyError(field)
        return v

    def get(self, field, default=None):
        d = self._d
        if d is None:
            if not hot(self):
                blob = self._lp
                loc = find_pair(blob, field)
                return default if loc is None else unesc(blob[loc[1]:loc[2]])
            d = self.d
        return d.get(field, default)

    def mapping(self) -> dict:
        """The fields as a dict, for reading only (a temporary one while packed)."""
        d = self._d
        if d is not None:
            return d
        flat = decode_flat(self._lp)
        return dict(zip(flat[::2], flat[1::2]))

    def items(self):
        d = self._d
        if d is not None:
            return d.items()
        flat = decode_flat(self._lp)
        return list(zip(flat[::2], flat[1::2]))

    def keys(self):
        d = self._d
        return d.keys() if d is not None else decode_flat(self._lp)[::2]

    def values(self):
        d = self._d
        return d.values() if d is not None else decode_flat(self._lp)[1::2]

    def __setitem__(self, field, value):
        self.set(field, value)

    def __delitem__(self, field):
        if not self.delete(field):
            raise KeyError(field)

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
