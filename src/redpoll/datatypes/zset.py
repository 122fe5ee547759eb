"""The sorted set type (filled in by the data types work: dict member->score
plus an ordered structure keyed by (score, member))."""

from redpoll.keyspace import register_type


class ZSet:
    __slots__ = ("dict", "sl")

    def __init__(self):
        from sortedcontainers import SortedList
        self.dict: dict[bytes, float] = {}
        self.sl = SortedList()          # (score, member) pairs

    def __len__(self) -> int:
        return len(self.dict)


register_type(ZSet, "zset")
