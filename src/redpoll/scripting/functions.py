"""Redis 7 functions: libraries loaded with FUNCTION LOAD, called with FCALL.

:class:`FunctionRegistry` (``server.function_registry``) keeps the libraries
(name -> :class:`Library`, in load order) and the functions of all of them
(name -> :class:`Function`). A library's code runs once, in the Lua engine's
load mode (``prelude.lua``: only ``redis.register_function``, ``redis.log``
and the version fields exist), and its registered callbacks become the
functions. Loading is all or nothing: a library whose code fails, registers
nothing, or clashes with another library's function changes nothing.

The persistence rooms use two server attributes set by :func:`install`:
``server.function_libraries()`` (the codes, for RDB/AOF) and
``server.load_function_library(code)`` (loading them back).
"""

from __future__ import annotations

import re

from redpoll.errors import RedisError

_META_NAME = re.compile(rb"^[A-Za-z0-9_]+$")


class Function:
    __slots__ = ("name", "callback", "flags", "description", "library")

    def __init__(self, name, callback, flags, description, library):
        self.name = name
        self.callback = callback
        self.flags = set(flags)
        self.description = description
        self.library = library


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: bytes, code: bytes):
        self.name = name
        self.code = code
        self.functions: dict[str, Function] = {}


def parse_metadata(code: bytes) -> bytes:
    """functionExtractLibMetaData: the library name from ``#!lua name=<name>``
    (7.0.15 reports every problem with it as "Invalid library metadata")."""
    if not code.startswith(b"#!"):
        raise RedisError("ERR Missing library metadata")
    line = code.split(b"\n", 1)[0]
    parts = line[2:].split()
    name = None
    ok = bool(parts) and parts[0].lower() == b"lua"
    for p in parts[1:]:
        if p[:5].lower() == b"name=" and name is None:
            name = p[5:]
        else:
            ok = False
    if not ok or not name or not _META_NAME.match(name):
        raise RedisError("ERR Invalid library metadata")
    return name


class FunctionRegistry:
    def __init__(self, server):
        self.server = server
        self.libraries: dict[bytes, Library] = {}
        self.functions: dict[str, Function] = {}

    def _engine(self):
        from redpoll.commands.scripting import engine
        return engine(self.server)

    def create(self, code: bytes, replace: bool = False, restoring: bool = False) -> bytes:
        """FUNCTION LOAD (and RESTORE, whose collision message has no quotes):
        returns the library name or raises Redis's error."""
        name = parse_metadata(code)
        old = self.libraries.get(name)
        if old is not None and not replace:
            q = "" if restoring else "'"
            raise RedisError(f"ERR Library {q}{name.decode('utf-8', 'replace')}{q} already exists")
        ok, res = self._engine().load_library(code)
        if not ok:
            raise RedisError(res)
        if not res:
            raise RedisError("ERR No functions registered")
        lib = Library(name, code)
        for fname, cb, flags, desc in res:
            fname = fname.decode("utf-8", "replace") if isinstance(fname, bytes) else fname
            flags = [f.decode() if isinstance(f, bytes) else f for f in flags]
            lib.functions[fname] = Function(fname, cb, flags, desc, lib)
        for fname in lib.functions:
            other = self.functions.get(fname)
            if other is not None and other.library is not old:
                raise RedisError(f"ERR Function {fname} already exists")
        if old is not None:
            self._remove(old)
        self.libraries[name] = lib
        self.functions.update(lib.functions)
        return name

    def _remove(self, lib: Library) -> None:
        for fname in lib.functions:
            self.functions.pop(fname, None)
        self.libraries.pop(lib.name, None)

    def delete(self, name: bytes) -> None:
        lib = self.libraries.get(name)
        if lib is None:
            raise RedisError("ERR Library not found")
        self._remove(lib)

    def flush(self) -> None:
        self.libraries = {}
        self.functions = {}

    def snapshot(self):
        return dict(self.libraries), dict(self.functions)

    def restore(self, snap) -> None:
        self.libraries, self.functions = snap


class _Codes:
    """``server.function_libraries``: callable for the codes, sized for INFO."""

    def __init__(self, reg: FunctionRegistry):
        self.reg = reg

    def __call__(self) -> list[bytes]:
        return [lib.code for lib in self.reg.libraries.values()]

    def __len__(self) -> int:
        return len(self.reg.libraries)


def registry(server) -> FunctionRegistry:
    reg = server.__dict__.get("function_registry")
    if reg is None:
        reg = install(server)
    return reg


def install(server) -> FunctionRegistry:
    reg = FunctionRegistry(server)
    server.function_registry = reg
    server.function_libraries = _Codes(reg)
    server.functions = _FunctionsView(reg)

    def load(code: bytes) -> None:
        try:
            reg.create(code, replace=True)
        except RedisError as e:
            server.log.warning(f"Failed loading library: {e.msg}")
    server.load_function_library = load
    return reg


class _FunctionsView:
    """``server.functions``: the number of functions (INFO memory)."""

    def __init__(self, reg: FunctionRegistry):
        self.reg = reg

    def __len__(self) -> int:
        return len(self.reg.functions)

    def __bool__(self) -> bool:
        return True
