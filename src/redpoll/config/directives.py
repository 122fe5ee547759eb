"""The table of configuration directives.

Each directive is declared once with its type, default, aliases and whether
CONFIG SET may change it. The parser (redis.conf and the command line),
CONFIG GET/SET/REWRITE and the server all read from :data:`DIRECTIVES`.

Values are stored parsed (bool, int, str, list ...); ``format`` turns them back
into the text CONFIG GET and CONFIG REWRITE print, the way Redis prints them.
``implemented=False`` marks directives Redis 7.0 knows that redpoll accepts but
does not act on: loading one from a file logs a WARNING naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable


ULLONG_MAX = 2**64 - 1


class ConfigError(Exception):
    """A bad value: the message is what Redis says after 'Bad directive or
    wrong number of arguments' / in the CONFIG SET error."""


# -- value types -------------------------------------------------------------

_MEM_UNITS = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
              "g": 1000**3, "gb": 1024**3, "b": 1, "": 1}


def parse_memory(s: str) -> int:
    """memtoull: ``100mb``, ``1gb``, ``5k`` ... (unit case-insensitive).
    Negative numbers are refused; numbers past 2**64-1 saturate, as strtoull."""
    m = re.fullmatch(r"(\d+)([a-zA-Z]*)", s)
    if not m or m.group(2).lower() not in _MEM_UNITS:
        raise ConfigError("argument must be a memory value")
    return min(int(m.group(1)) * _MEM_UNITS[m.group(2).lower()], ULLONG_MAX)


_LL_RE = re.compile(r"-?[1-9][0-9]*|0")


def parse_ll(s: str) -> int:
    """string2ll: a plain decimal integer that fits in 64 bits (no '+', no
    leading zeros, no spaces); ConfigError otherwise."""
    if not _LL_RE.fullmatch(s):
        raise ConfigError("argument couldn't be parsed into an integer")
    v = int(s)
    if not -2**63 <= v < 2**63:
        raise ConfigError("argument couldn't be parsed into an integer")
    return v


def format_memory(n: int) -> str:
    return str(n)


def memory_with_unit(n: int) -> str:
    """How CONFIG REWRITE writes a size: ``1gb``, ``100mb``, ``4kb`` or bytes."""
    for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def quote(s: str) -> str:
    """sdscatrepr of a config string (CONFIG REWRITE quotes every string)."""
    from redpoll.protocol.quoting import repr_arg
    return repr_arg(s.encode("utf-8", "surrogateescape"))


def parse_bool(s: str) -> bool:
    v = s.lower()
    if v == "yes":
        return True
    if v == "no":
        return False
    raise ConfigError("argument must be 'yes' or 'no'")


@dataclass
class Directive:
    name: str
    kind: str                       # bool, int, mem, enum, str, special
    default: Any
    aliases: tuple[str, ...] = ()
    mutable: bool = True            # CONFIG SET allowed
    min: int | None = None
    max: int | None = None
    choices: tuple[str, ...] = ()   # enum values
    multi: bool = False             # enum: several flags at once (e.g. keyspace events)
    implemented: bool = True
    sensitive: bool = False         # redacted from logs / CONFIG GET? (no: Redis prints)
    multiarg: bool = False          # value made of several words (save, bind ...)
    parse_fn: Callable | None = None
    format_fn: Callable | None = None
    # Directives that may appear several times in a file, each adding to the value.
    repeatable: bool = False
    protected: bool = False         # enable-protected-configs gate for CONFIG SET
    rewrite_fn: Callable | None = None   # (name, value) -> config lines
    merge_fn: Callable | None = None     # (current, parsed) -> value, for partial values
    always_rewrite: bool = False    # CONFIG REWRITE writes it even at its default

    def parse(self, args: list[str]) -> Any:
        """Turn the words after the directive name into a value."""
        if self.parse_fn is not None:
            return self.parse_fn(args)
        if len(args) != 1:
            raise ConfigError("wrong number of arguments")
        s = args[0]
        k = self.kind
        if k == "bool":
            return parse_bool(s)
        if k == "int" or k == "mem":
            v = parse_memory(s) if k == "mem" else parse_ll(s)
            if (self.min is not None and v < self.min) or (
                    self.max is not None and v > self.max):
                raise ConfigError(
                    f"argument must be between {self.min} and {self.max} inclusive")
            return v
        if k == "enum":
            if self.multi:
                words = s.split()
                for w in words:
                    if w.lower() not in self.choices:
                        raise ConfigError(f"argument(s) must be one of the following: "
                                          f"{', '.join(self.choices)}")
                return " ".join(w.lower() for w in words)
            if s.lower() not in self.choices:
                raise ConfigError("argument(s) must be one of the following: "
                                  + ", ".join(self.choices))
            return s.lower()
        return s

    def format(self, v: Any) -> str:
        if self.format_fn is not None:
            return self.format_fn(v)
        if self.kind == "bool":
            return "yes" if v else "no"
        return str(v)

    def rewrite_lines(self, v: Any) -> list[str]:
        """The config-file lines CONFIG REWRITE writes for value ``v``
        (strings quoted, memory sizes with units, one line per save point)."""
        if self.rewrite_fn is not None:
            return self.rewrite_fn(self.name, v)
        if self.kind == "str":
            return [f"{self.name} {quote(v)}"]
        if self.kind == "mem":
            return [f"{self.name} {memory_with_unit(v)}"]
        return [f"{self.name} {self.format(v)}"]


# -- special types -------------------------------------------------------------

def _parse_save(args: list[str]):
    """``save 3600 1 300 100`` or ``save ""``: list of (seconds, changes)."""
    words = []
    for a in args:
        words += a.split()
    if not words:
        return []
    if len(words) % 2:
        raise ConfigError("Invalid save parameters")
    pts = []
    for i in range(0, len(words), 2):
        try:
            s, c = int(words[i]), int(words[i + 1])
        except ValueError:
            raise ConfigError("Invalid save parameters")
        if s < 1 or c < 0:
            raise ConfigError("Invalid save parameters")
        pts.append((s, c))
    return pts


def _format_save(v) -> str:
    return " ".join(f"{s} {c}" for s, c in v)


def _rewrite_save(name, v) -> list[str]:
    if not v:
        return ['save ""']
    return [f"save {s} {c}" for s, c in v]


def _parse_words(args: list[str]):
    words = []
    for a in args:
        words += a.split()
    return words


def _parse_bind(args: list[str]):
    words = _parse_words(args)
    if len(words) > 16:
        raise ConfigError("Too many bind addresses specified.")
    return words


def _parse_replicaof(args: list[str]):
    if len(args) == 1 and not args[0]:
        return None
    if len(args) != 2:
        raise ConfigError("wrong number of arguments")
    if args[0].lower() == "no" and args[1].lower() == "one":
        return None
    try:
        port = int(args[1])
    except ValueError:
        raise ConfigError("Invalid master port")
    return (args[0], port)


def _format_replicaof(v) -> str:
    return "" if v is None else f"{v[0]} {v[1]}"


_COB_CLASSES = {"normal": "normal", "replica": "replica", "slave": "replica",
                "pubsub": "pubsub"}


def _parse_cob(args: list[str]):
    words = _parse_words(args)
    if len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    out = {}
    for i in range(0, len(words), 4):
        cls = _COB_CLASSES.get(words[i].lower())
        if cls is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        try:
            hard, soft = parse_memory(words[i + 1]), parse_memory(words[i + 2])
            secs = int(words[i + 3])
        except (ValueError, ConfigError):
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        if hard < 0 or soft < 0 or secs < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        out[cls] = (hard, soft, secs)
    return out


def _rewrite_cob(name, v) -> list[str]:
    """One line per class whose limits differ from the default."""
    out = []
    default = DIRECTIVES[name].default
    for cls, label in (("normal", "normal"), ("replica", "replica"), ("pubsub", "pubsub")):
        lim = v.get(cls, (0, 0, 0))
        if lim != default[cls]:
            h, s, t = lim
            out.append(f"{name} {label} {memory_with_unit(h)} {memory_with_unit(s)} {t}")
    return out


def _format_cob(v) -> str:
    parts = []
    for cls, name in (("normal", "normal"), ("replica", "slave"), ("pubsub", "pubsub")):
        h, s, t = v.get(cls, (0, 0, 0))
        parts.append(f"{name} {h} {s} {t}")
    return " ".join(parts)


def _parse_oom_values(args):
    words = _parse_words(args)
    if len(words) != 3:
        raise ConfigError("wrong number of arguments")
    try:
        vals = [int(w) for w in words]
    except ValueError:
        raise ConfigError("Invalid oom-score-adj-values")
    if any(v < -2000 or v > 2000 for v in vals):
        raise ConfigError("Invalid oom-score-adj-values")
    return vals


def _parse_percentiles(args):
    words = _parse_words(args)
    try:
        vals = [float(w) for w in words]
    except ValueError:
        raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
    if any(v < 0 or v > 100 for v in vals):
        raise ConfigError("latency-tracking-info-percentiles parameters should sit "
                          "between [0.0,100.0]")
    return vals


def _format_percentiles(v):
    return " ".join(("%g" % x) for x in v)


def _parse_unixperm(args):
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    try:
        return int(args[0], 8)
    except ValueError:
        raise ConfigError("argument couldn't be parsed into an integer")


KEYSPACE_EVENT_CHARS = "KEg$lshzxetmdnA"


def _parse_notify(args):
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    s = args[0]
    for ch in s:
        if ch not in KEYSPACE_EVENT_CHARS:
            raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return s


def _format_notify(v: str) -> str:
    """Redis prints the classes back in its canonical order: ``A`` when every
    class of A is set (then ``n`` is not shown), else each class; K, E, m last."""
    flags = set(v)
    if "A" in flags:
        flags |= set(_NOTIFY_ALL)
    if set(_NOTIFY_ALL) <= flags:
        out = "A"
    else:
        out = "".join(ch for ch in _NOTIFY_ALL + "n" if ch in flags)
    return out + "".join(ch for ch in "KEm" if ch in flags)


_NOTIFY_ALL = "g$lshzxetd"      # the classes 'A' stands for, in print order


def _parse_hostname(args):
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    if not re.fullmatch(r"[A-Za-z0-9.\-]*", args[0]):
        raise ConfigError("Hostnames may only contain alphanumeric characters, "
                          "hyphens or dots")
    return args[0]


def _parse_percent_memory(args):
    """maxmemory-clients: a size or a percentage of maxmemory. Stored as Redis
    does: bytes, or minus the percentage (a size past LLONG_MAX wraps to a
    negative number and so reads back as a percentage, as in Redis)."""
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    s = args[0]
    try:
        if s.endswith("%"):
            p = parse_ll(s[:-1])
            if p < 0:
                raise ConfigError("")
            return -p
        v = parse_memory(s)
    except ConfigError:
        raise ConfigError("argument must be a memory or percent value")
    return v - 2**64 if v > LONG_MAX else v


def _format_percent_memory(v: int) -> str:
    return f"{-v}%" if v < 0 else str(v)


def _parse_backlog_size(args):
    """repl-backlog-size: at least 16kb (Redis raises smaller values)."""
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    v = parse_memory(args[0])
    if v < 1 or v > LONG_MAX:
        raise ConfigError(f"argument must be between 1 and {LONG_MAX} inclusive")
    return max(v, 16 * 1024)


def _refuse_yes(message: str):
    """The parser of a switch redpoll cannot turn on: 'no' is accepted,
    'yes' fails with ``message``."""
    def parse(args):
        if len(args) != 1:
            raise ConfigError("wrong number of arguments")
        if parse_bool(args[0]):
            raise ConfigError(message)
        return False
    return parse


# Redis built without its jemalloc (as Debian's is) refuses 'yes'.
_parse_activedefrag = _refuse_yes(
    "Active defragmentation cannot be enabled: it requires a Redis server compiled "
    "with a modified Jemalloc like the one shipped by default with the Redis source "
    "distribution")
# TLS switches: redpoll has no TLS, so 'yes' fails as it does on a Redis
# without certificates configured.
_parse_no_tls = _refuse_yes("Unable to update TLS configuration. Check server logs.")


def _parse_hz(args):
    """hz: 0..INT_MAX accepted, then clamped to 1..500 as Redis does."""
    if len(args) != 1:
        raise ConfigError("wrong number of arguments")
    v = parse_ll(args[0])
    if v < 0 or v > INT_MAX:
        raise ConfigError(f"argument must be between 0 and {INT_MAX} inclusive")
    return max(1, min(500, v))


# -- the table -----------------------------------------------------------------

DIRECTIVES: dict[str, Directive] = {}
ALIASES: dict[str, str] = {}


def _d(name, kind, default, aliases=(), **kw):
    d = Directive(name, kind, default, tuple(aliases), **kw)
    DIRECTIVES[name] = d
    for a in d.aliases:
        ALIASES[a] = name
    return d


def _bool(name, default, aliases=(), **kw):
    return _d(name, "bool", default, aliases, **kw)


def _int(name, default, lo=None, hi=None, aliases=(), **kw):
    return _d(name, "int", default, aliases, min=lo, max=hi, **kw)


def _mem(name, default, lo=0, hi=2**63 - 1, aliases=(), **kw):
    return _d(name, "mem", default, aliases, min=lo, max=hi, **kw)


def _str(name, default="", aliases=(), **kw):
    return _d(name, "str", default, aliases, **kw)


def _enum(name, default, choices, aliases=(), **kw):
    return _d(name, "enum", default, aliases, choices=tuple(choices), **kw)


INT_MAX = 2**31 - 1
LONG_MAX = 2**63 - 1

# network
_d("bind", "special", ["*", "-::*"], parse_fn=_parse_bind, format_fn=" ".join, multiarg=True)
_str("bind-source-addr", implemented=False)
_int("port", 6379, 0, 65535)
_int("tcp-backlog", 511, 0, INT_MAX, mutable=False)
_str("unixsocket", mutable=False, implemented=False)
_d("unixsocketperm", "special", 0, parse_fn=_parse_unixperm, format_fn=lambda v: "%o" % v,
   mutable=False, implemented=False)
_int("timeout", 0, 0, INT_MAX)
_int("tcp-keepalive", 300, 0, INT_MAX)
_int("socket-mark-id", 0, 0, INT_MAX, mutable=False, implemented=False)
_bool("protected-mode", True)
_int("maxclients", 10000, 1, INT_MAX)
_mem("client-query-buffer-limit", 1024**3, 1024 * 1024, LONG_MAX)
_mem("proto-max-bulk-len", 512 * 1024**2, 1024 * 1024, LONG_MAX)
_d("client-output-buffer-limit", "special",
   {"normal": (0, 0, 0), "replica": (256 * 1024**2, 64 * 1024**2, 60),
    "pubsub": (32 * 1024**2, 8 * 1024**2, 60)},
   parse_fn=_parse_cob, format_fn=_format_cob, multiarg=True, repeatable=True,
   rewrite_fn=_rewrite_cob, merge_fn=lambda cur, new: {**cur, **new})

# general
_bool("daemonize", False, mutable=False)
_enum("supervised", "no", ["upstart", "systemd", "auto", "no"], mutable=False)
_enum("loglevel", "notice", ["debug", "verbose", "notice", "warning"])
_str("logfile", "", mutable=False)
_bool("syslog-enabled", False, mutable=False, implemented=False)
_str("syslog-ident", "redis", mutable=False, implemented=False)
_enum("syslog-facility", "local0", ["user", "local0", "local1", "local2", "local3",
                                    "local4", "local5", "local6", "local7"],
      mutable=False, implemented=False)
_str("pidfile", "")
_int("databases", 16, 1, INT_MAX, mutable=False)
_bool("always-show-logo", False, mutable=False, implemented=False)
_bool("set-proc-title", True, mutable=False, implemented=False)
_str("proc-title-template", "{title} {listen-addr} {server-mode}", implemented=False)
_bool("crash-log-enabled", True, implemented=False)
_bool("crash-memcheck-enabled", True, implemented=False)
_enum("shutdown-on-sigint", "default", ["default", "save", "nosave", "now", "force"], multi=True)
_enum("shutdown-on-sigterm", "default", ["default", "save", "nosave", "now", "force"], multi=True)
_int("shutdown-timeout", 10, 0, INT_MAX)
for _p in ("enable-protected-configs", "enable-debug-command"):
    _enum(_p, "no", ["no", "yes", "local"], mutable=False)
_enum("enable-module-command", "no", ["no", "yes", "local"], mutable=False,
      implemented=False)      # no MODULE command
_str("ignore-warnings", "", implemented=False)
_d("hz", "special", 10, parse_fn=_parse_hz)
_bool("dynamic-hz", True, implemented=False)
_str("dir", "", mutable=True, protected=True)
_enum("oom-score-adj", "no", ["no", "yes", "relative", "absolute"], implemented=False)
_d("oom-score-adj-values", "special", [0, 200, 800], parse_fn=_parse_oom_values,
   format_fn=lambda v: " ".join(map(str, v)), multiarg=True, implemented=False)
_bool("disable-thp", True, mutable=False, implemented=False)
_bool("jemalloc-bg-thread", True, implemented=False)
for _cpu in ("server_cpulist", "bio_cpulist", "aof_rewrite_cpulist", "bgsave_cpulist"):
    _str(_cpu, mutable=False, implemented=False)
_int("io-threads", 1, 1, 128, mutable=False, implemented=False)
_bool("io-threads-do-reads", False, mutable=False, implemented=False)

# snapshotting
_d("save", "special", [(3600, 1), (300, 100), (60, 10000)], parse_fn=_parse_save,
   format_fn=_format_save, multiarg=True, repeatable=True, rewrite_fn=_rewrite_save,
   always_rewrite=True)      # Redis 7.0 always writes the save points
_bool("stop-writes-on-bgsave-error", True)
_bool("rdbcompression", True)
_bool("rdbchecksum", True, mutable=False)
_str("dbfilename", "dump.rdb", protected=True)
_bool("rdb-del-sync-files", False)
_bool("rdb-save-incremental-fsync", True)
_enum("sanitize-dump-payload", "no", ["no", "yes", "clients"])

# replication
_d("replicaof", "special", None, aliases=("slaveof",), parse_fn=_parse_replicaof,
   format_fn=_format_replicaof, mutable=False, multiarg=True,
   # a primary's rewrite drops every replicaof line, as Redis does
   rewrite_fn=lambda n, v: [] if v is None else [f"replicaof {v[0]} {v[1]}"])
_str("masterauth", sensitive=True)
_str("masteruser")
_bool("replica-serve-stale-data", True, aliases=("slave-serve-stale-data",))
_bool("replica-read-only", True, aliases=("slave-read-only",))
_bool("repl-diskless-sync", True)
_int("repl-diskless-sync-delay", 5, 0, INT_MAX)
_int("repl-diskless-sync-max-replicas", 0, 0, INT_MAX)
_enum("repl-diskless-load", "disabled", ["disabled", "on-empty-db", "swapdb"])
_int("repl-ping-replica-period", 10, 1, INT_MAX, aliases=("repl-ping-slave-period",))
_int("repl-timeout", 60, 1, INT_MAX)
_bool("repl-disable-tcp-nodelay", False, implemented=False)
_d("repl-backlog-size", "special", 1024 * 1024, parse_fn=_parse_backlog_size,
   rewrite_fn=lambda n, v: [f"{n} {memory_with_unit(v)}"])
_int("repl-backlog-ttl", 3600, 0, LONG_MAX)
_int("replica-priority", 100, 0, INT_MAX, aliases=("slave-priority",))
_bool("replica-announced", True)
_str("replica-announce-ip", aliases=("slave-announce-ip",))
_int("replica-announce-port", 0, 0, 65535, aliases=("slave-announce-port",))
_int("min-replicas-to-write", 0, 0, INT_MAX, aliases=("min-slaves-to-write",))
_int("min-replicas-max-lag", 10, 0, INT_MAX, aliases=("min-slaves-max-lag",))
_bool("replica-lazy-flush", False, aliases=("slave-lazy-flush",), implemented=False)
_bool("replica-ignore-maxmemory", True, aliases=("slave-ignore-maxmemory",))
_bool("replica-ignore-disk-write-errors", False, implemented=False)
_enum("propagation-error-behavior", "ignore", ["ignore", "panic", "panic-on-replicas"], implemented=False)

# security
_str("requirepass", sensitive=True)
_str("aclfile", mutable=False)
_int("acllog-max-len", 128, 0, LONG_MAX)
_enum("acl-pubsub-default", "resetchannels", ["allchannels", "resetchannels"])
# each ``user`` line is kept as its words (one ACL rule per word, as Redis's
# sdssplitargs gives them: a quoted ">pass word" stays one rule)
_d("user", "special", [], parse_fn=lambda a: [list(a)], format_fn=lambda v: "",
   rewrite_fn=lambda n, v: [],     # CONFIG REWRITE writes the ACL users instead
   mutable=False, repeatable=True, multiarg=True)
_d("rename-command", "special", [], parse_fn=lambda a: [tuple(a)],
   rewrite_fn=lambda n, v: [],     # CONFIG REWRITE leaves rename-command lines alone
   format_fn=lambda v: "", mutable=False, repeatable=True, multiarg=True)

# memory
_mem("maxmemory", 0, 0, ULLONG_MAX)
_enum("maxmemory-policy", "noeviction",
      ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
       "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"])
_int("maxmemory-samples", 5, 1, INT_MAX)
_int("maxmemory-eviction-tenacity", 10, 0, 100, implemented=False)
_d("maxmemory-clients", "special", 0, parse_fn=_parse_percent_memory, implemented=False,
   format_fn=_format_percent_memory,
   rewrite_fn=lambda n, v: [f"{n} {_format_percent_memory(v) if v < 0 else memory_with_unit(v)}"])
_int("lfu-log-factor", 10, 0, INT_MAX)
_int("lfu-decay-time", 1, 0, INT_MAX)
_int("active-expire-effort", 1, 1, 10)
for _lf in ("lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del",
            "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush"):
    _bool(_lf, False, implemented=False)     # frees are synchronous

# append only file
_bool("appendonly", False)
_str("appendfilename", "appendonly.aof", mutable=False)
_str("appenddirname", "appendonlydir", mutable=False)
_enum("appendfsync", "everysec", ["everysec", "always", "no"])
_bool("no-appendfsync-on-rewrite", False, implemented=False)
_int("auto-aof-rewrite-percentage", 100, 0, INT_MAX)
_mem("auto-aof-rewrite-min-size", 64 * 1024**2)
_bool("aof-load-truncated", True)
_bool("aof-use-rdb-preamble", True)
_bool("aof-timestamp-enabled", False)
_bool("aof-rewrite-incremental-fsync", True)
_bool("aof-disable-auto-gc", False)

# scripting, slow log, latency, notifications
_int("lua-time-limit", 5000, 0, LONG_MAX, aliases=("busy-reply-threshold",))
_int("slowlog-log-slower-than", 10000, -1, LONG_MAX)
_int("slowlog-max-len", 128, 0, LONG_MAX)
_int("latency-monitor-threshold", 0, 0, LONG_MAX)
_bool("latency-tracking", True)
_d("latency-tracking-info-percentiles", "special", [50.0, 99.0, 99.9],
   parse_fn=_parse_percentiles, format_fn=_format_percentiles, multiarg=True,
   always_rewrite=True)   # Redis 7.0 writes it even at its default
_d("notify-keyspace-events", "special", "", parse_fn=_parse_notify, format_fn=_format_notify,
   rewrite_fn=lambda n, v: [f"{n} {quote(_format_notify(v))}"])
_int("tracking-table-max-keys", 1000000, 0, LONG_MAX, implemented=False)

# encodings (affect OBJECT ENCODING and the RDB encodings chosen)
_int("hash-max-listpack-entries", 512, 0, LONG_MAX, aliases=("hash-max-ziplist-entries",))
_mem("hash-max-listpack-value", 64, aliases=("hash-max-ziplist-value",))
_int("list-max-listpack-size", -2, -INT_MAX - 1, INT_MAX, aliases=("list-max-ziplist-size",))
_int("list-compress-depth", 0, 0, INT_MAX)
_int("set-max-intset-entries", 512, 0, LONG_MAX)
_int("zset-max-listpack-entries", 128, 0, LONG_MAX, aliases=("zset-max-ziplist-entries",))
_mem("zset-max-listpack-value", 64, aliases=("zset-max-ziplist-value",))
_mem("hll-sparse-max-bytes", 3000)
_mem("stream-node-max-bytes", 4096)
_int("stream-node-max-entries", 100, 0, LONG_MAX)
_bool("activerehashing", True, implemented=False)

# active defrag (accepted, no effect: Python manages its own heap)
_d("activedefrag", "special", False, parse_fn=_parse_activedefrag,
   format_fn=lambda v: "yes" if v else "no", implemented=False)
_mem("active-defrag-ignore-bytes", 100 * 1024 * 1024, 1, LONG_MAX, implemented=False)
_int("active-defrag-threshold-lower", 10, 0, 1000, implemented=False)
_int("active-defrag-threshold-upper", 100, 0, 1000, implemented=False)
_int("active-defrag-cycle-min", 1, 1, 99, implemented=False)
_int("active-defrag-cycle-max", 25, 1, 99, implemented=False)
_int("active-defrag-max-scan-fields", 1000, 1, LONG_MAX, implemented=False)

# cluster and TLS: known to Redis 7.0, not provided by redpoll
_NI = {"implemented": False}
_bool("cluster-enabled", False, mutable=False, **_NI)
_str("cluster-config-file", "nodes.conf", mutable=False, **_NI)
_int("cluster-node-timeout", 15000, 0, LONG_MAX, **_NI)
_int("cluster-port", 0, 0, 65535, mutable=False, **_NI)
_int("cluster-replica-validity-factor", 10, 0, INT_MAX, **_NI)
_int("cluster-migration-barrier", 1, 0, INT_MAX, **_NI)
_bool("cluster-allow-replica-migration", True, **_NI)
_bool("cluster-require-full-coverage", True, **_NI)
_bool("cluster-replica-no-failover", False, **_NI)
_bool("cluster-allow-reads-when-down", False, **_NI)
_bool("cluster-allow-pubsubshard-when-down", True, **_NI)
_mem("cluster-link-sendbuf-limit", 0, 0, ULLONG_MAX, **_NI)
_d("cluster-announce-hostname", "special", "", parse_fn=lambda a: _parse_hostname(a),
   rewrite_fn=lambda n, v: [f"{n} {quote(v)}"], **_NI)
_enum("cluster-preferred-endpoint-type", "ip", ["ip", "hostname", "unknown-endpoint"], **_NI)
_str("cluster-announce-ip", **_NI)
for _p in ("cluster-announce-port", "cluster-announce-tls-port", "cluster-announce-bus-port",
           "tls-port"):
    _int(_p, 0, 0, 65535, **_NI)
for _p in ("tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
           "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file",
           "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols", "tls-ciphers",
           "tls-ciphersuites"):
    _str(_p, **_NI)
_enum("tls-auth-clients", "yes", ["no", "yes", "optional"], **_NI)
for _p in ("tls-replication", "tls-cluster"):
    _d(_p, "special", False, parse_fn=_parse_no_tls,
       format_fn=lambda v: "yes" if v else "no", **_NI)
_bool("tls-prefer-server-ciphers", False, **_NI)
_bool("tls-session-caching", True, **_NI)
_int("tls-session-cache-size", 20480, 0, INT_MAX, **_NI)
_int("tls-session-cache-timeout", 300, 0, INT_MAX, **_NI)
ALIASES["cluster-slave-validity-factor"] = "cluster-replica-validity-factor"
ALIASES["cluster-slave-no-failover"] = "cluster-replica-no-failover"

# Directives that only exist in config files (not CONFIG GET/SET).
FILE_ONLY = {"include", "user", "rename-command", "loadmodule", "sentinel"}


def lookup(name: str) -> Directive | None:
    name = name.lower()
    name = ALIASES.get(name, name)
    return DIRECTIVES.get(name)
