"""The list type: a deque of bytes (O(1) push/pop at both ends)."""

from collections import deque

from redpoll.keyspace import register_type


class RList(deque):
    __slots__ = ()


register_type(RList, "list")
