"""Redis's sdscatrepr: quoted, escaped rendering of binary strings (MONITOR,
SLOWLOG, logs)."""

# How sdscatrepr renders each byte: the escapes it knows, printable ASCII
# as itself, anything else as \xHH.
_REPR = [chr(ch) if 32 <= ch < 127 else "\\x%02x" % ch for ch in range(256)]
for _ch, _esc in ((0x5C, "\\\\"), (0x22, '\\"'), (0x0A, "\\n"), (0x0D, "\\r"),
                  (0x09, "\\t"), (0x07, "\\a"), (0x08, "\\b")):
    _REPR[_ch] = _esc
del _ch, _esc


def repr_arg(b: bytes) -> str:
    return '"' + "".join(map(_REPR.__getitem__, b)) + '"'
