"""The list type: a deque of bytes (O(1) push/pop at both ends).

Redis 7.0 always reports lists as ``quicklist`` (the listpack encoding for
small lists arrived in 7.2), so there is no encoding state to keep.
"""

from collections import deque

from redpoll.keyspace import register_type


class RList(deque):
    __slots__ = ()

    def encoding(self, config) -> str:
        """What OBJECT ENCODING reports."""
        return "quicklist"


register_type(RList, "list")
