"""The hash type: a dict of field bytes -> value bytes.

``ht`` records whether Redis would have converted the hash from its compact
``listpack`` encoding to ``hashtable`` (more than ``hash-max-listpack-entries``
fields, or a field/value longer than ``hash-max-listpack-value``). As in Redis
the conversion is one way: a hash never goes back to listpack. The hash
commands keep it up to date; code that builds a hash some other way (RDB
loading, RESTORE) calls :meth:`RHash.update_encoding` once it is filled.
"""

from redpoll.keyspace import register_type


class RHash(dict):
    __slots__ = ("ht",)

    def __init__(self, *args, **kw):
        dict.__init__(self, *args, **kw)
        self.ht = False

    def update_encoding(self, config) -> None:
        """Convert to hashtable if the whole hash exceeds the listpack limits."""
        if not self.ht:
            maxlen = config["hash-max-listpack-value"]
            if len(self) > config["hash-max-listpack-entries"] or any(
                    len(f) > maxlen or len(v) > maxlen for f, v in self.items()):
                self.ht = True

    def encoding(self, config) -> str:
        """What OBJECT ENCODING reports."""
        return "hashtable" if self.ht else "listpack"


register_type(RHash, "hash")
