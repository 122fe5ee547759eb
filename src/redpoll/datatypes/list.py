"""The list type: a deque of bytes (O(1) push/pop at both ends).

Redis 7.0 always reports lists as ``quicklist`` (the listpack encoding for
small lists arrived in 7.2), so there is no encoding state to keep.
"""

from collections import deque

from redpoll.keyspace import register_type


# OBJECT ENCODING for the container types. Each value class has:
#   ``encoding``              a property: the encoding name (a plain str) when it
#                             is known, else a function ``fn(config) -> str``;
#   ``encoding_for(config)``  the encoding name, always (decided from the
#                             configured thresholds when it was not known yet,
#                             e.g. for a value built by the RDB loader).


class RList(deque):
    __slots__ = ()

    encoding = "quicklist"           # OBJECT ENCODING: always quicklist in 7.0

    def encoding_for(self, config) -> str:
        return "quicklist"


register_type(RList, "list")
