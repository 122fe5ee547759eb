"""Streams inside RDB files (types 15, 19 and 21: listpacks + consumer groups).

Filled in once the Stream value class is complete."""

from __future__ import annotations


def encode_stream(value, es) -> bytes:
    from redpoll.persistence.rdb import RDBError
    raise RDBError("stream serialisation is not available yet")


def decode_stream(r, t):
    from redpoll.persistence.rdb import RDBError
    raise RDBError("stream loading is not available yet")
