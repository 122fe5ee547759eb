"""The stream type (filled in by the data types work)."""

from redpoll.keyspace import register_type


class Stream:
    pass


register_type(Stream, "stream")
