"""The replication backlog: the last ``repl-backlog-size`` bytes of the
replication stream, kept so a replica that reconnects can continue with a
partial resync (``+CONTINUE``) instead of a full one.

Offsets are those of the replication stream (``master_repl_offset``): the
first byte ever fed has offset 1. The buffer grows to at most twice the
configured size before its oldest half is dropped, so appending is amortized
O(len(data)); what INFO reports (``repl_backlog_histlen``,
``repl_backlog_first_byte_offset``) never exceeds the configured size.
"""

from __future__ import annotations


class Backlog:
    __slots__ = ("size", "buf", "start")

    def __init__(self, size: int, next_offset: int):
        """``next_offset``: the offset the next byte fed will have."""
        self.size = max(1, size)
        self.buf = bytearray()
        self.start = next_offset          # offset of buf[0]

    def feed(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        excess = len(buf) - 2 * self.size
        if excess > 0:
            drop = len(buf) - self.size
            del buf[:drop]
            self.start += drop

    @property
    def histlen(self) -> int:
        return min(len(self.buf), self.size)

    @property
    def first_byte_offset(self) -> int:
        return self.start + len(self.buf) - self.histlen

    @property
    def end_offset(self) -> int:
        """Offset of the last byte held (``first_byte_offset + histlen - 1``)."""
        return self.start + len(self.buf) - 1

    def covers(self, offset: int) -> bool:
        """Can the stream be continued from byte ``offset`` (the next byte a
        replica needs)? ``offset`` may be one past the end (nothing missing)."""
        return self.first_byte_offset <= offset <= self.end_offset + 1

    def read_from(self, offset: int) -> bytes:
        """Every byte from ``offset`` to the end (``covers(offset)`` must hold)."""
        return bytes(self.buf[offset - self.start:])

    def resize(self, size: int) -> None:
        self.size = max(1, size)
        excess = len(self.buf) - self.size
        if excess > 0:
            del self.buf[:excess]
            self.start += excess
