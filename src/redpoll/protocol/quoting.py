"""Redis's sdscatrepr: quoted, escaped rendering of binary strings (MONITOR,
SLOWLOG, logs)."""


def repr_arg(b: bytes) -> str:
    out = ['"']
    for ch in b:
        if ch == 0x5C:
            out.append("\\\\")
        elif ch == 0x22:
            out.append('\\"')
        elif ch == 0x0A:
            out.append("\\n")
        elif ch == 0x0D:
            out.append("\\r")
        elif ch == 0x09:
            out.append("\\t")
        elif ch == 0x07:
            out.append("\\a")
        elif ch == 0x08:
            out.append("\\b")
        elif 32 <= ch < 127:
            out.append(chr(ch))
        else:
            out.append("\\x%02x" % ch)
    out.append('"')
    return "".join(out)
