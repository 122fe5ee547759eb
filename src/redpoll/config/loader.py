"""Reading redis.conf files and command lines into a :class:`Config`.

The syntax is Redis's: one directive per line, arguments split with the same
quoting rules as inline commands, ``#`` comments, ``include`` (with globs),
and command-line ``--name value`` pairs appended after the file as extra
lines. Errors are reported the way Redis reports them (line number, the line,
the reason) and are fatal at startup.
"""

from __future__ import annotations

import copy
import glob
import os
from typing import Callable

from redpoll.config.directives import (
    DIRECTIVES, FILE_ONLY, ConfigError, Directive, lookup)
from redpoll.protocol.request import split_args


class FatalConfigError(Exception):
    """Startup config error; ``str()`` is the full report Redis prints.
    ``log_line`` is True for the errors Redis logs (to stdout) rather than
    reporting on stderr (a config file that cannot be opened)."""

    def __init__(self, msg: str, log_line: bool = False):
        super().__init__(msg)
        self.log_line = log_line


def decode(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def encode(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


class Config:
    """Current configuration values, keyed by canonical directive name."""

    def __init__(self):
        self.values: dict[str, object] = {
            name: copy.deepcopy(d.default) for name, d in DIRECTIVES.items()}
        self.file: str | None = None          # absolute path of the main config file
        self.warnings: list[str] = []         # logged once the logger is up
        self.sentinel_lines: list[list[str]] = []
        self._watchers: dict[str, list[Callable]] = {}
        self._seen_in_load: set[str] = set()
        self.loaded_text = False              # any directive given (file, stdin, argv)

    # -- access ------------------------------------------------------------
    def __getitem__(self, name: str):
        return self.values[name]

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    def format(self, name: str) -> str:
        return DIRECTIVES[name].format(self.values[name])

    def watch(self, name: str, fn: Callable) -> None:
        """Call ``fn(old, new)`` after CONFIG SET changes ``name``; it may raise
        ConfigError to refuse the change (the whole CONFIG SET is undone)."""
        self._watchers.setdefault(name, []).append(fn)

    # -- loading -----------------------------------------------------------
    def load(self, path: str | None, args: list[str], stdin_text: str | None = None,
             sentinel_mode: bool = False) -> None:
        """Load a config file (or stdin text) and command-line options.

        Raises FatalConfigError with Redis's report on the first bad line.
        """
        text = ""
        if path is not None:
            self.file = os.path.abspath(path)
            text = _read_config(path)
        if stdin_text is not None:
            text += "\n" + stdin_text
        extra = options_to_text(args)
        if extra:
            text += "\n" + extra
        self.loaded_text = bool(path or stdin_text or extra)
        self.load_text(text, sentinel_mode=sentinel_mode)
        self._check_logfile()

    def _check_logfile(self) -> None:
        """Redis opens the log file once the whole configuration is read."""
        path = self.values["logfile"]
        if not path:
            return
        try:
            with open(path, "a"):
                pass
        except OSError as e:
            from redpoll import REDIS_COMPAT_VERSION
            raise FatalConfigError(
                f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\n"
                f"Can't open the log file: {e.strerror}")

    def load_text(self, text: str, sentinel_mode: bool = False,
                  base_dir: str | None = None) -> None:
        lines = text.split("\n")
        for i, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            argv = split_args(encode(line))
            if argv is None:
                self._fatal(i, line, "Unbalanced quotes in configuration line")
            if not argv:
                continue
            words = [decode(a) for a in argv]
            name = words[0].lower()
            try:
                self._apply_line(name, words[1:], sentinel_mode, base_dir)
            except ConfigError as e:
                self._fatal(i, line, str(e))

    def _apply_line(self, name: str, args: list[str], sentinel_mode: bool,
                    base_dir: str | None) -> None:
        if name == "include":
            if len(args) != 1:
                raise ConfigError("Bad directive or wrong number of arguments")
            self._include(args[0], sentinel_mode)
            return
        if name == "sentinel":
            if not sentinel_mode:
                raise ConfigError("sentinel directive while not in sentinel mode")
            self.sentinel_lines.append(args)
            return
        if name == "loadmodule":
            raise ConfigError("Error loading the extension. Please check the server logs.")
        d = lookup(name)
        if d is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        if not d.multiarg and len(args) != 1:
            raise ConfigError("wrong number of arguments")
        if d.name == "user":
            if not args:
                raise ConfigError("Bad directive or wrong number of arguments")
            from redpoll.acl import check_user_directive
            err = check_user_directive(args, [w[0] for w in self.values["user"]])
            if err:
                raise ConfigError(err)
        value = d.parse(args)
        if d.name == "dir":
            try:
                os.chdir(value)     # as Redis: later relative paths follow it
            except OSError as e:
                raise ConfigError(e.strerror)
            value = os.getcwd()
        self._store_from_file(d, value)
        if not d.implemented:
            self.warnings.append(
                f"Config directive '{d.name}' is accepted for compatibility but is "
                f"not implemented by redpoll; it has no effect.")

    def _store_from_file(self, d: Directive, value) -> None:
        if d.repeatable:
            first = d.name not in self._seen_in_load
            self._seen_in_load.add(d.name)
            if d.name == "save":
                self.values["save"] = ([] if first else self.values["save"]) + value
            elif d.merge_fn is not None:
                self.values[d.name] = d.merge_fn(self.values[d.name], value)
            else:
                self.values[d.name] = self.values[d.name] + value
            return
        self.values[d.name] = value

    def _include(self, pattern: str, sentinel_mode: bool) -> None:
        # A pattern matching nothing is fine; a plain path must exist.
        paths = sorted(glob.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern]
        for p in paths:
            self.load_text(_read_config(p), sentinel_mode=sentinel_mode)

    @staticmethod
    def _fatal(lineno: int, line: str, reason: str):
        from redpoll import REDIS_COMPAT_VERSION
        raise FatalConfigError(
            f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\n"
            f"Reading the configuration file, at line {lineno}\n"
            f">>> '{line}'\n{reason}")

    # -- CONFIG SET ----------------------------------------------------------
    def set_many(self, pairs: list[tuple[str, list[str]]]) -> None:
        """Atomically set several directives (CONFIG SET).

        Raises ConfigError with Redis's message; on error nothing is changed
        (values already stored are put back and their watchers told so).
        Names are checked first (unknown, immutable, protected, duplicate),
        then every value is parsed, then stored, then the watchers apply them.
        """
        def failed(name: str, why: str) -> ConfigError:
            return ConfigError(f"CONFIG SET failed (possibly related to argument "
                               f"'{name}') - {why}")

        found: list[tuple[str, Directive, list[str]]] = []
        for name, args in pairs:
            d = lookup(name)
            if d is None or d.name in FILE_ONLY:
                raise ConfigError(f"Unknown option or number of arguments for "
                                  f"CONFIG SET - '{name}'")
            found.append((name, d, args))
        seen: set[str] = set()
        for name, d, args in found:
            if not d.mutable:
                raise failed(name, "can't set immutable config")
            if d.protected and self.values["enable-protected-configs"] == "no":
                raise failed(name, "can't set protected config")
            if name.lower() in seen:
                raise failed(name, "duplicate parameter")
            seen.add(name.lower())
        parsed: list[tuple[str, Directive, object]] = []
        for name, d, args in found:
            try:
                v = d.parse(args if d.multiarg else args[:1])
                if d.merge_fn is not None:
                    v = d.merge_fn(self.values[d.name], v)
                parsed.append((name, d, v))
            except ConfigError as e:
                raise failed(name, str(e))
        old = {d.name: self.values[d.name] for _, d, _ in parsed}
        for _, d, v in parsed:
            self.values[d.name] = v
        applied: list[Directive] = []
        try:
            for name, d, v in parsed:
                applied.append(d)
                for fn in self._watchers.get(d.name, ()):
                    fn(old[d.name], v)
        except ConfigError as e:
            for _, d, _ in parsed:
                self.values[d.name] = old[d.name]
            for d in applied:
                for fn in self._watchers.get(d.name, ()):
                    try:
                        fn(None, old[d.name])
                    except ConfigError:
                        pass
            raise failed(name, str(e))


def options_to_text(args: list[str]) -> str:
    """Turn ``--port 7000 --save "" x`` into config lines, as Redis does."""
    lines: list[str] = []
    cur: list[str] = []
    def flush():
        if cur:
            if cur == ["save"]:     # a bare --save means save "" (as in Redis)
                cur.append('""')
            lines.append(" ".join(cur))

    for a in args:
        if a.startswith("--") and len(a) > 2:
            flush()
            cur = [a[2:]]
        else:
            cur.append(_quote(a))
    flush()
    return "\n".join(lines)


def _log_line(msg: str) -> str:
    """A log line as Redis prints it before the logger is configured."""
    import time
    now = time.time()
    stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now))
    return f"{os.getpid()}:C {stamp}.{int(now * 1000) % 1000:03d} # {msg}"


def _read_config(path: str) -> str:
    """A config file's text (the main one or an include); Redis's fatal
    error when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as e:
        raise FatalConfigError(_log_line(
            f"Fatal error, can't open config file '{path}': {e.strerror}"), True)


def _quote(s: str) -> str:
    """Quote one argument as Redis does (sdscatrepr), so split_args gives it back."""
    out = '"'
    for ch in s:
        if ch == '"' or ch == "\\":
            out += "\\" + ch
        elif ch == "\n":
            out += "\\n"
        elif ch == "\r":
            out += "\\r"
        elif ch == "\t":
            out += "\\t"
        else:
            out += ch
    return out + '"'
