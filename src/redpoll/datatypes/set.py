"""The set type: a Python set of bytes members."""

from redpoll.keyspace import register_type


class RSet(set):
    __slots__ = ()


register_type(RSet, "set")
