"""Value classes of the non-string Redis types.

Strings are plain ``bytes``. Every other type has its own class here so that
``type(value)`` names the Redis type (TYPE, WRONGTYPE checks, RDB encoding):

* :class:`~redpoll.datatypes.list.RList`  (list)
* :class:`~redpoll.datatypes.hash.RHash`  (hash)
* :class:`~redpoll.datatypes.set.RSet`    (set)
* :class:`~redpoll.datatypes.zset.ZSet`   (sorted set)
* :class:`~redpoll.datatypes.stream.Stream` (stream)

HyperLogLogs and bitmaps are strings, as in Redis.
"""

from redpoll.datatypes.hash import RHash
from redpoll.datatypes.list import RList
from redpoll.datatypes.set import RSet
from redpoll.datatypes.stream import Stream
from redpoll.datatypes.zset import ZSet

__all__ = ["RHash", "RList", "RSet", "Stream", "ZSet"]
