"""The hash type: a dict of field bytes -> value bytes.

``ht`` records whether Redis would have converted the hash from its compact
``listpack`` encoding to ``hashtable`` (more than ``hash-max-listpack-entries``
fields, or a field/value longer than ``hash-max-listpack-value``). As in Redis
the conversion is one way: a hash never goes back to listpack. The hash
commands keep it up to date; ``ht`` is None (unknown) for a hash built some
other way (RDB loading, RESTORE, COPY) until :meth:`RHash.update_encoding`
decides it from its contents, as Redis does when it loads a value.
"""

from redpoll.keyspace import register_type

LISTPACK = "listpack"
HASHTABLE = "hashtable"


class RHash(dict):
    __slots__ = ("ht",)

    def __init__(self, *args, **kw):
        dict.__init__(self, *args, **kw)
        self.ht = None

    def update_encoding(self, config) -> None:
        """Decide the encoding from the contents (never back to listpack)."""
        if not self.ht:
            maxlen = config["hash-max-listpack-value"]
            self.ht = len(self) > config["hash-max-listpack-entries"] or any(
                len(f) > maxlen or len(v) > maxlen for f, v in self.items())

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
