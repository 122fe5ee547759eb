"""The Lua libraries Redis preloads besides Lua's own: ``bit`` (LuaBitOp),
``struct`` (Roberto Ierusalimschy's struct), ``cjson`` (lua-cjson) and
``cmsgpack`` (lua-cmsgpack), written as Python callbacks.

:func:`build` returns ``{libname: {fname: python callable or constant}}``;
a :class:`LibError` raised by a callable becomes a Lua error reported at the
calling script line (see the error handler in ``prelude.lua``), as the C
libraries' ``luaL_error`` does in Redis.
"""

from __future__ import annotations

import json
import math
import struct as pystruct

import lupa.lua51 as lua51

lua_type = lua51.lua_type


class LibError(Exception):
    """A library error (luaL_error): reported at the calling script line."""


def _tonumber(v, i: int, fname: str):
    t = type(v)
    if t is int or t is float:
        return v
    if t is bytes:
        try:
            return float(v) if not v.strip().lower().startswith(b"0x") else int(v, 16)
        except ValueError:
            pass
    got = "no value" if v is _NONE else _ltype(v)
    raise LibError(f"bad argument #{i} to '{fname}' (number expected, got {got})")


_NONE = object()


def _lnum(v: int):
    """A Lua number for an integer (a double, as lua_pushnumber makes it)."""
    return v if -(1 << 53) <= v <= (1 << 53) else float(v)


def _ltype(v) -> str:
    if v is None:
        return "nil"
    t = type(v)
    if t is bool:
        return "boolean"
    if t in (int, float):
        return "number"
    if t is bytes:
        return "string"
    return lua_type(v) or "userdata"


# -- bit ----------------------------------------------------------------------

def _tobit(x) -> int:
    """LuaBitOp's normalisation: round to nearest (even), wrap to int32."""
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return 0
        x = round(x)
    x &= 0xFFFFFFFF
    return x - (1 << 32) if x & 0x80000000 else x


def _bitargs(fname, args, n=None):
    if n is not None:
        args = list(args[:n]) + [_NONE] * (n - len(args))
    elif not args:
        args = [_NONE]
    return [_tobit(_tonumber(a, i + 1, fname)) for i, a in enumerate(args)]


def _bit_lib():
    def variadic(name, op):
        def f(*args):
            vals = _bitargs(name, args)
            r = vals[0]
            for v in vals[1:]:
                r = op(r, v)
            return _tobit(r)
        return f

    def shift(name, op):
        def f(*args):
            x, n = _bitargs(name, args, 2)
            return _tobit(op(x & 0xFFFFFFFF, x, n & 31))
        return f

    def tohex(*args):
        x = _bitargs("tohex", args[:1], 1)[0]
        n = 8 if len(args) < 2 or args[1] is None else _tobit(_tonumber(args[1], 2, "tohex"))
        upper = n < 0
        n = min(abs(n), 8)
        s = "%08x" % (x & 0xFFFFFFFF)
        s = s[8 - n:] if n else ""
        return (s.upper() if upper else s).encode()

    def rol(*args):
        x, n = _bitargs("rol", args, 2)
        u, n = x & 0xFFFFFFFF, n & 31
        return _tobit((u << n) | (u >> (32 - n)))

    def ror(*args):
        x, n = _bitargs("ror", args, 2)
        u, n = x & 0xFFFFFFFF, n & 31
        return _tobit((u >> n) | (u << (32 - n)))

    def bswap(*args):
        x = _bitargs("bswap", args, 1)[0] & 0xFFFFFFFF
        return _tobit(int.from_bytes(x.to_bytes(4, "little"), "big"))

    return {
        b"tobit": lambda *a: _bitargs("tobit", a, 1)[0],
        b"tohex": tohex,
        b"bnot": lambda *a: _tobit(~_bitargs("bnot", a, 1)[0]),
        b"band": variadic("band", lambda a, b: a & b),
        b"bor": variadic("bor", lambda a, b: a | b),
        b"bxor": variadic("bxor", lambda a, b: a ^ b),
        b"lshift": shift("lshift", lambda u, x, n: u << n),
        b"rshift": shift("rshift", lambda u, x, n: u >> n),
        b"arshift": shift("arshift", lambda u, x, n: x >> n),
        b"rol": rol, b"ror": ror, b"bswap": bswap,
    }


# -- struct -------------------------------------------------------------------

_INT_SIZES = {b"b": 1, b"B": 1, b"h": 2, b"H": 2, b"l": 8, b"L": 8, b"T": 8,
              b"i": 4, b"I": 4}


def _struct_items(fmt: bytes, fname: str):
    """Yield (code, size, little_endian) for each item of a format."""
    little = True
    i, n = 0, len(fmt)
    while i < n:
        ch = fmt[i:i + 1]
        i += 1
        j = i
        while j < n and fmt[j:j + 1].isdigit():
            j += 1
        num = int(fmt[i:j]) if j > i else None
        i = j
        if ch == b"<" or ch == b"=":
            little = True
        elif ch == b">":
            little = False
        elif ch in (b"!", b" "):
            pass
        elif ch in _INT_SIZES:
            size = num if num is not None and ch in (b"i", b"I") else _INT_SIZES[ch]
            if size > 8 or size < 1:
                raise LibError(f"bad argument #1 to '{fname}' (integral size {size} is "
                               f"larger than limit of 8)")
            yield ch, size, little
        elif ch in (b"f", b"d", b"x", b"s"):
            yield ch, {b"f": 4, b"d": 8, b"x": 1, b"s": 0}[ch], little
        elif ch == b"c":
            yield ch, 1 if num is None else num, little
        else:
            raise LibError(f"bad argument #1 to '{fname}' (invalid format option "
                           f"'{ch.decode('latin-1')}')")


def _struct_lib():
    def pack(fmt=None, *args):
        if type(fmt) is not bytes:
            raise LibError(f"bad argument #1 to 'pack' (string expected, got {_ltype(fmt)})")
        out = bytearray()
        ai = 0

        def arg():
            nonlocal ai
            v = args[ai] if ai < len(args) else _NONE
            ai += 1
            return v
        for code, size, little in _struct_items(fmt, "pack"):
            if code in _INT_SIZES:
                v = _tonumber(arg(), ai + 1, "pack")
                iv = int(v) & ((1 << (8 * size)) - 1)
                out += iv.to_bytes(size, "little" if little else "big")
            elif code in (b"f", b"d"):
                v = float(_tonumber(arg(), ai + 1, "pack"))
                out += pystruct.pack(("<" if little else ">") + code.decode(), v)
            elif code == b"x":
                out += b"\0"
            elif code in (b"s", b"c"):
                v = arg()
                if type(v) in (int, float):
                    v = (b"%.14g" % v)
                if type(v) is not bytes:
                    raise LibError(f"bad argument #{ai + 1} to 'pack' (string expected, "
                                   f"got {_ltype(v) if v is not _NONE else 'no value'})")
                if code == b"s":
                    out += v + b"\0"
                else:
                    if size == 0:
                        size = len(v)
                    if len(v) < size:
                        raise LibError(f"bad argument #{ai + 1} to 'pack' (string too short)")
                    out += v[:size]
        return bytes(out)

    def unpack(fmt=None, data=None, pos=1):
        if type(fmt) is not bytes:
            raise LibError(f"bad argument #1 to 'unpack' (string expected, got {_ltype(fmt)})")
        if type(data) is not bytes:
            raise LibError(f"bad argument #2 to 'unpack' (string expected, got {_ltype(data)})")
        i = int(pos) - 1
        res = []
        for code, size, little in _struct_items(fmt, "unpack"):
            if code == b"s":
                end = data.find(b"\0", i)
                if end < 0:
                    raise LibError("bad argument #2 to 'unpack' (unfinished string in data)")
                res.append(data[i:end])
                i = end + 1
                continue
            if code == b"c" and size == 0:
                if not res or type(res[-1]) is not int:
                    raise LibError("bad argument #1 to 'unpack' (format 'c0' needs a previous size)")
                size = res.pop()
            if i + size > len(data):
                raise LibError("bad argument #2 to 'unpack' (data string too short)")
            chunk = data[i:i + size]
            i += size
            if code in _INT_SIZES:
                signed = code in (b"b", b"h", b"l", b"i")
                res.append(_lnum(int.from_bytes(chunk, "little" if little else "big",
                                                signed=signed)))
            elif code in (b"f", b"d"):
                res.append(pystruct.unpack(("<" if little else ">") + code.decode(), chunk)[0])
            elif code == b"c":
                res.append(chunk)
        res.append(i + 1)
        return tuple(res)

    def size(fmt=None):
        if type(fmt) is not bytes:
            raise LibError(f"bad argument #1 to 'size' (string expected, got {_ltype(fmt)})")
        total = 0
        for code, sz, _ in _struct_items(fmt, "size"):
            if code == b"s" or (code == b"c" and sz == 0):
                raise LibError("bad argument #1 to 'size' (options 'c0' - 's' have undefined sizes)")
            total += sz
        return total

    return {b"pack": pack, b"unpack": unpack, b"size": size}


# -- cjson ----------------------------------------------------------------------

def _fmt14(v) -> bytes:
    if isinstance(v, int) and abs(v) < 1 << 53:
        return b"%d" % v
    return b"%.14g" % v


_ESC = {0x22: b'\\"', 0x5C: b"\\\\", 0x2F: b"\\/", 0x08: b"\\b", 0x0C: b"\\f",
        0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x7F: b"\\u007f"}


def _json_str(s: bytes) -> bytes:
    out = bytearray(b'"')
    for ch in s:
        e = _ESC.get(ch)
        if e is not None:
            out += e
        elif ch < 0x20:
            out += b"\\u%04x" % ch
        else:
            out.append(ch)
    out += b'"'
    return bytes(out)


class CJson:
    def __init__(self, rt):
        self.rt = rt
        self.null = rt.eval("newproxy()")

    def encode(self, *args):
        if len(args) != 1:
            raise LibError("bad argument #1 to 'encode' (expected 1 argument)")
        out = []
        self._enc(args[0], out, 0)
        return b"".join(out)

    def _enc(self, v, out, depth):
        t = type(v)
        if v is None:
            out.append(b"null")
        elif t is bool:
            out.append(b"true" if v else b"false")
        elif t is int or t is float:
            if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
                raise LibError("Cannot serialise number: must not be NaN or Inf")
            out.append(_fmt14(v))
        elif t is bytes:
            out.append(_json_str(v))
        else:
            lt = lua_type(v)
            if lt == "userdata":
                out.append(b"null")
            elif lt == "table":
                depth += 1
                if depth > 1000:
                    raise LibError("Cannot serialise, excessive nesting (1001)")
                items = list(v.items())
                n = self._array_len(items)
                if n > 0 or (n == 0 and False):
                    d = dict(items)
                    out.append(b"[")
                    for i in range(1, n + 1):
                        if i > 1:
                            out.append(b",")
                        self._enc(d.get(i), out, depth)
                    out.append(b"]")
                else:
                    out.append(b"{")
                    first = True
                    for k, x in items:
                        if not first:
                            out.append(b",")
                        first = False
                        if type(k) is bytes:
                            out.append(_json_str(k))
                        elif type(k) in (int, float):
                            out.append(b'"' + _fmt14(k) + b'"')
                        else:
                            raise LibError(f"Cannot serialise {_ltype(k)}: table key must "
                                           f"be a number or string")
                        out.append(b":")
                        self._enc(x, out, depth)
                    out.append(b"}")
            else:
                raise LibError(f"Cannot serialise {lt}: type not supported")

    @staticmethod
    def _array_len(items) -> int:
        """lua-cjson's lua_array_length: -1 if not an array (or too sparse)."""
        if not items:
            return -1
        mx = 0
        for k, _ in items:
            if type(k) in (int, float) and k >= 1 and float(k).is_integer():
                mx = max(mx, int(k))
            else:
                return -1
        if mx > len(items) * 2 and mx > 10:
            raise LibError("Cannot serialise table: excessively sparse array")
        return mx

    def decode(self, *args):
        if len(args) != 1:
            raise LibError("bad argument #1 to 'decode' (expected 1 argument)")
        s = args[0]
        if type(s) in (int, float):
            s = _fmt14(s)
        if type(s) is not bytes:
            raise LibError(f"bad argument #1 to 'decode' (string expected, got {_ltype(s)})")
        try:
            text = s.decode("utf-8", "surrogateescape")
            v = json.loads(text, parse_constant=self._bad_constant)
        except json.JSONDecodeError as e:
            raise LibError(f"Expected value but found invalid token at character {e.pos + 1}")
        except ValueError as e:
            raise LibError(str(e))
        return self._to_lua(v)

    @staticmethod
    def _bad_constant(name):
        # decode_invalid_numbers is on by default: NaN and Infinity are numbers
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]

    def _to_lua(self, v):
        if v is None:
            return self.null
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return _lnum(v)
        if isinstance(v, float):
            return v
        if isinstance(v, str):
            return v.encode("utf-8", "surrogateescape")
        if isinstance(v, list):
            t = self.rt.table_from()
            for i, x in enumerate(v, 1):
                t[i] = self._to_lua(x)
            return t
        t = self.rt.table_from()
        for k, x in v.items():
            t[k.encode("utf-8", "surrogateescape")] = self._to_lua(x)
        return t

    def lib(self):
        return {b"encode": self.encode, b"decode": self.decode, b"null": self.null,
                b"new": lambda *a: None,
                b"encode_keep_buffer": lambda *a: True,
                b"encode_max_depth": lambda *a: 1000,
                b"decode_max_depth": lambda *a: 1000,
                b"encode_number_precision": lambda *a: 14,
                b"encode_sparse_array": lambda *a: (False, 2, 10),
                b"encode_invalid_numbers": lambda *a: False,
                b"decode_invalid_numbers": lambda *a: True,
                b"_NAME": b"cjson", b"_VERSION": b"2.1.0"}


# -- cmsgpack ---------------------------------------------------------------------

# The msgpack types a big-endian size follows: str 8/16/32 (0xD9-0xDB: a
# length), array 16/32 and map 16/32 (0xDC-0xDF: a count); the size's width.
_SIZE_WIDTH = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xDC: 2, 0xDD: 4, 0xDE: 2, 0xDF: 4}


class CMsgpack:
    def __init__(self, rt):
        self.rt = rt

    def pack(self, *args):
        if not args:
            raise LibError("MessagePack pack needs input.")
        out = bytearray()
        for a in args:
            self._enc(a, out, 0)
        return bytes(out)

    def _enc(self, v, out, depth):
        t = type(v)
        if v is None:
            out.append(0xC0)
        elif t is bool:
            out.append(0xC3 if v else 0xC2)
        elif t is int or (t is float and v.is_integer() and abs(v) < 2 ** 63):
            self._int(int(v), out)
        elif t is float:
            f32 = pystruct.unpack(">f", pystruct.pack(">f", v))[0] if abs(v) < 3.5e38 or \
                math.isinf(v) or math.isnan(v) else None
            if f32 is not None and (f32 == v or (math.isnan(v) and math.isnan(f32))):
                out += b"\xca" + pystruct.pack(">f", v)
            else:
                out += b"\xcb" + pystruct.pack(">d", v)
        elif t is bytes:
            n = len(v)
            if n < 32:
                out.append(0xA0 | n)
            elif n <= 0xFF:
                out += b"\xd9" + bytes([n])
            elif n <= 0xFFFF:
                out += b"\xda" + n.to_bytes(2, "big")
            else:
                out += b"\xdb" + n.to_bytes(4, "big")
            out += v
        elif lua_type(v) == "table" and depth < 16:
            items = list(v.items())
            n = len(items)
            is_array = all(type(k) in (int, float) and k == i
                           for i, (k, _) in enumerate(sorted(items, key=lambda kv: (
                               type(kv[0]) not in (int, float), kv[0] if type(kv[0]) in (
                                   int, float) else 0)), 1)) if items else True
            if is_array:
                self._len(n, out, 0x90, b"\xdc", b"\xdd")
                d = dict(items)
                for i in range(1, n + 1):
                    self._enc(d[i], out, depth + 1)
            else:
                self._len(n, out, 0x80, b"\xde", b"\xdf")
                for k, x in items:
                    self._enc(k, out, depth + 1)
                    self._enc(x, out, depth + 1)
        else:
            out.append(0xC0)

    @staticmethod
    def _len(n, out, fix, b16, b32):
        if n < 16:
            out.append(fix | n)
        elif n <= 0xFFFF:
            out += b16 + n.to_bytes(2, "big")
        else:
            out += b32 + n.to_bytes(4, "big")

    @staticmethod
    def _int(v, out):
        if v >= 0:
            if v <= 127:
                out.append(v)
            elif v <= 0xFF:
                out += b"\xcc" + bytes([v])
            elif v <= 0xFFFF:
                out += b"\xcd" + v.to_bytes(2, "big")
            elif v <= 0xFFFFFFFF:
                out += b"\xce" + v.to_bytes(4, "big")
            else:
                out += b"\xcf" + (v & (2 ** 64 - 1)).to_bytes(8, "big")
        else:
            if v >= -32:
                out.append(v & 0xFF)
            elif v >= -128:
                out += b"\xd0" + v.to_bytes(1, "big", signed=True)
            elif v >= -32768:
                out += b"\xd1" + v.to_bytes(2, "big", signed=True)
            elif v >= -(2 ** 31):
                out += b"\xd2" + v.to_bytes(4, "big", signed=True)
            else:
                out += b"\xd3" + max(v, -(2 ** 63)).to_bytes(8, "big", signed=True)

    def _dec(self, d: bytes, i: int):
        if i >= len(d):
            raise LibError("Missing bytes in input.")
        b = d[i]
        i += 1

        def take(n):
            nonlocal i
            if i + n > len(d):
                raise LibError("Missing bytes in input.")
            s = d[i:i + n]
            i += n
            return s
        if b <= 0x7F:
            return b, i
        if b >= 0xE0:
            return b - 256, i
        if 0xA0 <= b <= 0xBF:
            return take(b & 0x1F), i
        if 0x90 <= b <= 0x9F:
            return self._arr(d, i, b & 0x0F)
        if 0x80 <= b <= 0x8F:
            return self._map(d, i, b & 0x0F)
        if b == 0xC0:
            return None, i
        if b == 0xC2:
            return False, i
        if b == 0xC3:
            return True, i
        if b in (0xCC, 0xCD, 0xCE, 0xCF):
            n = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}[b]
            return _lnum(int.from_bytes(take(n), "big")), i
        if b in (0xD0, 0xD1, 0xD2, 0xD3):
            n = {0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}[b]
            return _lnum(int.from_bytes(take(n), "big", signed=True)), i
        if b == 0xCA:
            return pystruct.unpack(">f", take(4))[0], i
        if b == 0xCB:
            return pystruct.unpack(">d", take(8))[0], i
        width = _SIZE_WIDTH.get(b)
        if width:
            n = int.from_bytes(take(width), "big")
            if b <= 0xDB:
                return take(n), i
            return (self._arr if b <= 0xDD else self._map)(d, i, n)
        raise LibError("Bad data format in input.")

    def _arr(self, d, i, n):
        t = self.rt.table_from()
        for k in range(1, n + 1):
            v, i = self._dec(d, i)
            t[k] = v
        return t, i

    def _map(self, d, i, n):
        t = self.rt.table_from()
        for _ in range(n):
            k, i = self._dec(d, i)
            v, i = self._dec(d, i)
            if k is not None:
                t[k] = v
        return t, i

    def unpack(self, s=None, limit=0, offset=0):
        if type(s) is not bytes:
            raise LibError(f"bad argument #1 to 'unpack' (string expected, got {_ltype(s)})")
        i, out = int(offset), []
        limit = int(limit)
        while i < len(s) and (limit <= 0 or len(out) < limit):
            v, i = self._dec(s, i)
            out.append(v)
        return out, i

    def lib(self):
        def unpack(*a):
            if not a:
                raise LibError("MessagePack unpack needs input.")
            vals, _ = self.unpack(a[0])
            return tuple(vals)

        def unpack_one(s=None, offset=0):
            vals, i = self.unpack(s, 1, offset)
            return (i if i < len(s) else -1, *vals)

        def unpack_limit(s=None, limit=0, offset=0):
            vals, i = self.unpack(s, limit, offset)
            return (i if i < len(s) else -1, *vals)
        return {b"pack": self.pack, b"unpack": unpack, b"unpack_one": unpack_one,
                b"unpack_limit": unpack_limit,
                b"_NAME": b"cmsgpack", b"_VERSION": b"lua-cmsgpack 0.4.0",
                b"_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
                b"_DESCRIPTION": b"MessagePack C implementation for Lua"}


def build(rt) -> dict:
    """The four libraries as {name: lua table of (guarded) functions}."""
    libs = {b"bit": _bit_lib(), b"struct": _struct_lib(),
            b"cjson": CJson(rt).lib(), b"cmsgpack": CMsgpack(rt).lib()}
    return {name: rt.table_from(lib) for name, lib in libs.items()}
