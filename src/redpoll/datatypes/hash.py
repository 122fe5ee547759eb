"""The hash type: a dict of field bytes -> value bytes."""

from redpoll.keyspace import register_type


class RHash(dict):
    __slots__ = ()


register_type(RHash, "hash")
