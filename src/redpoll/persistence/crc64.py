"""CRC-64 as Redis computes it (RDB trailer, DUMP payloads).

Redis uses the "Jones" polynomial (0xad93d23594c935a9), reflected input and
output, initial value 0 and no final xor: crc64(b"123456789") is
0xe9c6d914c4b8d9ca. The fast path is crcmod's C extension; a table-driven
pure-Python fallback keeps things working (slowly) where it is missing.

``crc64(data, crc=0)`` continues a running checksum, so a writer can feed
its output chunk by chunk.
"""

from __future__ import annotations

_POLY_REFLECTED = 0x95AC9329AC4BC9B5   # bit-reversed 0xad93d23594c935a9


def _make_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


def _crc64_py(data, crc: int = 0) -> int:
    table = _TABLE
    for b in bytes(data):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc


_TABLE = _make_table()

try:
    import crcmod
    import crcmod._crcfunext  # noqa: F401  (make sure the C extension is there)

    _fn = crcmod.mkCrcFun(0x1AD93D23594C935A9, initCrc=0, rev=True, xorOut=0)

    def crc64(data, crc: int = 0) -> int:
        """Redis's CRC-64 of ``data``, continuing from ``crc``."""
        return _fn(data, crc)

    FAST = True
except ImportError:  # pragma: no cover - depends on the installation
    crc64 = _crc64_py
    FAST = False
