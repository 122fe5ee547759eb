"""Server commands: INFO, FLUSHDB/FLUSHALL, TIME, SHUTDOWN, MONITOR, SLOWLOG,
LATENCY, MEMORY, and the DEBUG subcommands that are not persistence's.

(COMMAND lives in :mod:`redpoll.commands.command`, CONFIG in
:mod:`redpoll.commands.config`; the DEBUG container itself is declared in
:mod:`redpoll.commands.persistence` and subcommands are added with
``register_debug``.)
"""

from __future__ import annotations

import time

from redpoll.client import F_LUA, F_MONITOR, F_REPLICA
from redpoll.commands.help import help_reply
from redpoll.commands.table import command, subcommand
from redpoll.errors import SYNTAX, RedisError, subcommand_syntax
from redpoll.info import info_text
from redpoll.protocol.quoting import repr_arg
from redpoll.protocol.resp import OK, Double, Map, Status, Verbatim

G = "server"


def _int_arg(b: bytes) -> int:
    from redpoll.config.directives import ConfigError, parse_ll
    try:
        return parse_ll(b.decode("latin-1"))
    except ConfigError:
        raise RedisError("ERR value is not an integer or out of range")


# -- INFO ------------------------------------------------------------------------

@command("info", -1, "loading stale sentinel", group=G, acl="dangerous",
         summary="Returns information and statistics about the server.")
def info(c, argv):
    return Verbatim(info_text(c.server, [a.decode("utf-8", "replace") for a in argv[1:]])
                    .encode())


# -- keyspace-wide ---------------------------------------------------------------

def _flush_option(argv) -> None:
    if len(argv) > 2:
        raise RedisError(SYNTAX)
    if len(argv) == 2 and argv[1].lower() not in (b"async", b"sync"):
        raise RedisError(SYNTAX)


@command("flushdb", -1, "write", group=G, acl="keyspace dangerous",
         summary="Remove all keys from the current database.")
def flushdb(c, argv):
    _flush_option(argv)
    srv = c.server
    srv.touch_all_watched(c.db.id)
    srv.dirty += c.db.clear() + 1
    return OK


@command("flushall", -1, "write", group=G, acl="keyspace dangerous",
         summary="Removes all keys from all databases.")
def flushall(c, argv):
    _flush_option(argv)
    srv = c.server
    srv.touch_all_watched(None)
    n = sum(db.clear() for db in srv.dbs)
    srv.dirty += n + 1
    for fn in getattr(srv, "flushall_hooks", ()):
        fn()
    return OK


@command("time", 1, "loading stale fast", group=G,
         summary="Returns the server time.", since="2.6.0")
def time_(c, argv):
    t = time.time_ns() // 1000
    return [str(t // 1_000_000).encode(), str(t % 1_000_000).encode()]


@command("lolwut", -1, "readonly fast", group=G,
         summary="Displays computer art and the Redis version")
def lolwut(c, argv):
    from redpoll import REDIS_COMPAT_VERSION
    return Verbatim(f"Redis ver. {REDIS_COMPAT_VERSION}\n".encode())


# -- SHUTDOWN ----------------------------------------------------------------------

@command("shutdown", -1, "admin noscript loading stale no_multi sentinel allow_busy",
         group=G, summary="Synchronously saves the database(s) to disk and shuts "
         "down the Redis server.")
def shutdown(c, argv):
    """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]."""
    save = None
    now = force = abort = False
    for a in argv[1:]:
        o = a.lower()
        if o == b"nosave" and save is None:
            save = False
        elif o == b"save" and save is None:
            save = True
        elif o == b"now":
            now = True
        elif o == b"force":
            force = True
        elif o == b"abort":
            abort = True
        else:
            raise RedisError(SYNTAX)
    if abort and (save is not None or now or force):
        raise RedisError(SYNTAX)
    srv = c.server
    if abort:
        task = getattr(srv, "shutdown_task", None)
        if task is None or task.done():
            raise RedisError("ERR No shutdown in progress.")
        task.cancel()
        srv.shutdown_task = None
        srv.log.warning("Shutdown manually aborted.")
        return OK
    from redpoll.server import NO_REPLY
    srv.shutdown_task = srv.loop.create_task(_shutdown(c, save, force, now))
    return NO_REPLY


async def _shutdown(c, save, force, now) -> None:
    import asyncio
    from redpoll.process import wait_for_replicas
    srv = c.server
    if not now:
        try:
            await wait_for_replicas(srv)
        except asyncio.CancelledError:      # SHUTDOWN ABORT
            c.add_reply(RedisError("ERR Errors trying to SHUTDOWN. Check logs."))
            c.flush()
            raise
    try:
        await srv.shutdown(save)
    except RedisError:
        if force:
            srv.log.warning("Errors trying to shut down the server. "
                            "Exiting anyway because of FORCE.")
            await srv.shutdown(False, exit_code=0)
            return
        srv.log.warning("Errors trying to shut down the server. Check the logs "
                        "for more information.")
        c.add_reply(RedisError("ERR Errors trying to SHUTDOWN. Check logs."))
        c.flush()


# -- MONITOR ---------------------------------------------------------------------------

@command("monitor", 1, "admin noscript loading stale", group=G,
         summary="Listens for all requests received by the server in real-time.",
         since="1.0.0")
def monitor(c, argv):
    if c.flags & F_REPLICA:
        return None
    if not c.flags & F_MONITOR:
        c.flags |= F_MONITOR
        c.server.monitors.append(c)
    return OK


_REDACT_ALL = {b"auth"}


def monitor_line(c, argv) -> bytes:
    """One MONITOR line: ``+1339518083.107412 [0 127.0.0.1:60866] "set" "k" "v"``.
    Passwords given to AUTH / HELLO AUTH are shown as ``(redacted)``."""
    args = [bytes(a) for a in argv]
    name = args[0].lower() if args else b""
    if name in _REDACT_ALL:
        args = args[:1] + [b"(redacted)"] * (len(args) - 1)
    elif name == b"hello":
        for i in range(1, len(args) - 2):
            if args[i].lower() == b"auth":
                args[i + 1] = args[i + 2] = b"(redacted)"
    elif name == b"migrate":
        from redpoll.commands.migrate import redact
        args = redact(args)
    t = time.time_ns() // 1000
    if c.flags & F_LUA:                         # called from a script
        where = "lua"
    elif c.is_fake:
        where = "?" if not c.addr else c.addr
    elif c.addr.startswith("/"):
        where = "unix:" + c.addr
    else:
        where = c.addr
    text = " ".join(repr_arg(a) for a in args)
    return (f"+{t // 1_000_000}.{t % 1_000_000:06d} [{c.db.id} {where}] {text}\r\n"
            .encode("utf-8", "surrogateescape"))


# -- SLOWLOG -----------------------------------------------------------------------------

_SLOWLOG_HELP = [
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
]


@subcommand("slowlog", "get", -2, "admin loading stale", group=G,
            summary="Returns the slow log's entries.", since="2.2.12")
def slowlog_get(c, argv):
    if len(argv) > 3:
        raise subcommand_syntax(argv)
    count = 10
    if len(argv) == 3:
        try:
            count = _int_arg(argv[2])
        except RedisError:
            raise RedisError("ERR count should be greater than or equal to -1")
        if count < -1:
            raise RedisError("ERR count should be greater than or equal to -1")
    entries = c.server.slowlog.entries
    if count != -1:
        entries = entries[:count]
    return [list(e) for e in entries]


@subcommand("slowlog", "len", 2, "admin loading stale", group=G,
            summary="Returns the number of entries in the slow log.", since="2.2.12")
def slowlog_len(c, argv):
    return len(c.server.slowlog.entries)


@subcommand("slowlog", "reset", 2, "admin loading stale", group=G,
            summary="Clears all entries from the slow log.", since="2.2.12")
def slowlog_reset(c, argv):
    c.server.slowlog.entries.clear()
    return OK


@subcommand("slowlog", "help", 2, "loading stale", group=G,
            summary="Show helpful text about the different subcommands", since="6.2.0")
def slowlog_help(c, argv):
    return help_reply(argv, _SLOWLOG_HELP)


# -- LATENCY -------------------------------------------------------------------------------

_LATENCY_HELP = [
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram "
    "for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
]


@subcommand("latency", "latest", 2, "admin noscript loading stale", group=G,
            summary="Returns the latest latency samples for all events.", since="2.8.13")
def latency_latest(c, argv):
    sl = c.server.slowlog
    out = []
    for event, series in sl.events.items():
        if series:
            t, ms = series[-1]
            out.append([event.encode(), t, ms, sl.event_max.get(event, ms)])
    return out


@subcommand("latency", "history", 3, "admin noscript loading stale", group=G,
            summary="Returns timestamp-latency samples for an event.", since="2.8.13")
def latency_history(c, argv):
    series = c.server.slowlog.events.get(argv[2].decode("utf-8", "replace"), [])
    return [[t, ms] for t, ms in series]


@subcommand("latency", "reset", -2, "admin noscript loading stale", group=G,
            summary="Resets the latency data for one or more events.", since="2.8.13")
def latency_reset(c, argv):
    return c.server.slowlog.reset_events(
        [a.decode("utf-8", "replace") for a in argv[2:]] or None)


@subcommand("latency", "graph", 3, "admin noscript loading stale", group=G,
            summary="Returns a latency graph for an event.", since="2.8.13")
def latency_graph(c, argv):
    event = argv[2].decode("utf-8", "replace")
    sl = c.server.slowlog
    series = sl.events.get(event)
    if not series:
        raise RedisError(f"ERR No samples available for event '{event}'")
    top = max(ms for _, ms in series) or 1
    now = int(time.time())
    lines = [f"{event} - high {top} ms, low {min(ms for _, ms in series)} ms "
             f"(all time high {sl.event_max.get(event, top)} ms)",
             "-" * 80]
    for row in range(4, 0, -1):
        lines.append("".join("#" if ms * 4 >= top * row else " " for _, ms in series))
    lines.append("".join(_ago(now - t)[-1] for t, _ in series))
    return Verbatim(("\n".join(lines) + "\n").encode())


def _ago(secs: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


@subcommand("latency", "doctor", 2, "admin noscript loading stale", group=G,
            summary="Returns a human-readable latency analysis report.", since="2.8.13")
def latency_doctor(c, argv):
    sl = c.server.slowlog
    if not sl.latency_threshold_ms:
        text = ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in "
                "this Redis instance. You may use \"CONFIG SET latency-monitor-threshold "
                "<milliseconds>.\" in order to enable it. If we weren't in a deep space "
                "mission I'd suggest to take a look at "
                "https://redis.io/topics/latency-monitor.\n")
    elif not any(sl.events.values()):
        text = ("Dave, no latency spike was observed during the lifetime of this Redis "
                "instance, not in the slightest bit. I honestly think you ought to sleep "
                "better tonight.\n")
    else:
        parts = ["Dave, I have observed latency spikes in this Redis instance. You don't "
                 "mind talking about it, do you Dave?\n"]
        for i, (event, series) in enumerate(sl.events.items(), 1):
            if not series:
                continue
            avg = sum(ms for _, ms in series) // len(series)
            parts.append(f"{i}. {event}: {len(series)} latency spikes (average {avg}ms, "
                         f"mean deviation 0ms, period 0 sec). Worst all time event "
                         f"{sl.event_max.get(event, 0)}ms.")
        parts.append("\nI have a few advices for you:\n\n- Check your system for "
                     "slow commands: SLOWLOG GET shows them.\n")
        text = "\n".join(parts)
    return Verbatim(text.encode())


@subcommand("latency", "histogram", -2, "admin noscript loading stale", group=G,
            summary="Returns the cumulative distribution of latencies of a subset or "
            "all commands.", since="7.0.0")
def latency_histogram(c, argv):
    from redpoll import slowlog
    from redpoll.commands import table as T
    c.server.slowlog.start_recording()
    if len(argv) > 2:
        cmds = []
        for name in argv[2:]:
            parts = name.lower().split(b"|", 1)
            cmd = T.TABLE.get(parts[0])
            if cmd is not None and len(parts) == 2:
                cmd = cmd.subcommands.get(parts[1])
            if cmd is not None and cmd not in cmds:
                cmds.append(cmd)
    else:
        cmds = list(T.all_commands())
    out = []
    for cmd in cmds:
        calls, buckets = slowlog.histogram(cmd)
        if not calls:
            continue
        out.append((cmd.name.encode(), Map([
            (b"calls", calls),
            (b"histogram_usec", Map([(b, n) for b, n in buckets]))])))
    return Map(out)


@subcommand("latency", "help", 2, "loading stale", group=G,
            summary="Returns helpful text about the different subcommands.", since="2.8.13")
def latency_help(c, argv):
    return help_reply(argv, _LATENCY_HELP)


# -- MEMORY ------------------------------------------------------------------------------

_MEMORY_HELP = [
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
]


@subcommand("memory", "usage", -3, "readonly", keys=(2, 2, 1), group=G,
            summary="Estimates the memory usage of a key.", since="4.0.0")
def memory_usage(c, argv):
    from redpoll.memory import SAMPLES, key_size
    samples = SAMPLES
    i = 3
    while i < len(argv):
        if argv[i].lower() == b"samples" and i + 1 < len(argv):
            samples = _int_arg(argv[i + 1])
            if samples < 0:
                raise RedisError(SYNTAX)
            i += 2
        else:
            raise RedisError(SYNTAX)
    db = c.db
    v = db.read(argv[2]) if hasattr(db, "read") else db.get(argv[2])
    if v is None:
        return None
    return key_size(argv[2], v, samples)


@subcommand("memory", "stats", 2, "", group=G,
            summary="Returns details about memory usage.", since="4.0.0")
def memory_stats(c, argv):
    from redpoll import memory as M
    srv = c.server
    used = M.used_memory(srv)
    peak = max(getattr(srv, "peak_memory", 0), used)
    srv.peak_memory = peak
    rss = M.rss_bytes()
    startup = M.STARTUP_MEMORY
    clients = sum(cl.output_buffer_size() for cl in srv.clients.values())
    out = [(b"peak.allocated", peak), (b"total.allocated", used),
           (b"startup.allocated", startup), (b"replication.backlog", 0),
           (b"clients.slaves", 0), (b"clients.normal", clients),
           (b"cluster.links", 0), (b"aof.buffer", 0), (b"lua.caches", 0),
           (b"functions.caches", 200)]
    overhead = startup + clients
    keys = 0
    for db in srv.dbs:
        if not db.data:
            continue
        main = M._dict_size(len(db.data))
        expires = M._dict_size(len(db.expires)) if db.expires else 0
        overhead += main + expires
        keys += len(db.data)
        out.append((f"db.{db.id}".encode(), Map([
            (b"overhead.hashtable.main", main),
            (b"overhead.hashtable.expires", expires),
            (b"overhead.hashtable.slot-to-keys", 0)])))
    dataset = max(0, used - overhead)
    net = max(1, used - startup)
    out += [(b"overhead.total", overhead), (b"keys.count", keys),
            (b"keys.bytes-per-key", (used - startup) // keys if keys else 0),
            (b"dataset.bytes", dataset),
            (b"dataset.percentage", Double(100.0 * dataset / net)),
            (b"peak.percentage", Double(100.0 * used / peak if peak else 100.0)),
            (b"allocator.allocated", used), (b"allocator.active", used),
            (b"allocator.resident", max(rss, used)),
            (b"allocator-fragmentation.ratio", Double(1.0)),
            (b"allocator-fragmentation.bytes", 0),
            (b"allocator-rss.ratio", Double(max(rss, used) / used if used else 1.0)),
            (b"allocator-rss.bytes", max(rss, used) - used),
            (b"rss-overhead.ratio", Double(1.0)), (b"rss-overhead.bytes", 0),
            (b"fragmentation", Double(rss / used if used else 1.0)),
            (b"fragmentation.bytes", rss - used)]
    return Map(out)


@subcommand("memory", "doctor", 2, "", group=G,
            summary="Outputs a memory problems report.", since="4.0.0")
def memory_doctor(c, argv):
    from redpoll import memory as M
    srv = c.server
    used = M.used_memory(srv)
    if used < 5 * 1024 * 1024:
        text = ("Hi Sam, this instance is empty or is using very little memory, my issues "
                "detector can't be used in these conditions. Please, leave for your mission "
                "on Earth and fill it with some data. The new Sam and I will be back to our "
                "programming as soon as I finished rebooting.")
    else:
        text = ("Hi Sam, I can't find any memory issue in your instance. I can only account "
                "for what occurs on this base.")
    return Verbatim(text.encode())


@subcommand("memory", "malloc-stats", 2, "", group=G,
            summary="Returns the allocator statistics.", since="4.0.0")
def memory_malloc_stats(c, argv):
    import io
    import sys
    buf = io.StringIO()
    old = sys.stderr
    try:
        sys.stderr = buf
        sys._debugmallocstats()
    except Exception:
        pass
    finally:
        sys.stderr = old
    text = buf.getvalue() or "Stats not supported for the current allocator"
    return Verbatim(text.encode())


@subcommand("memory", "purge", 2, "", group=G,
            summary="Asks the allocator to release memory.", since="4.0.0")
def memory_purge(c, argv):
    import gc
    gc.collect()
    return OK


@subcommand("memory", "help", 2, "loading stale", group=G,
            summary="Returns helpful text about the different subcommands.", since="4.0.0")
def memory_help(c, argv):
    return help_reply(argv, _MEMORY_HELP)


# -- DEBUG subcommands ---------------------------------------------------------------------

def _debug_sleep(c, argv):
    if len(argv) != 3:
        raise subcommand_syntax(argv)
    try:
        secs = float(argv[2])
    except ValueError:
        secs = 0.0
    if secs > 0:
        time.sleep(secs)       # blocks the server, as in Redis
    return OK


def _debug_object(c, argv):
    if len(argv) != 3:
        raise subcommand_syntax(argv)
    db = c.db
    v = db.read(argv[2]) if hasattr(db, "read") else db.get(argv[2])
    if v is None:
        raise RedisError("ERR no such key")
    from redpoll.memory import value_size
    enc = _encoding(c, argv[2])
    idle = 0
    idle_fn = getattr(c.server, "idle_ms", None)
    if idle_fn is not None and c.server.config["maxmemory-policy"] not in (
            "allkeys-lfu", "volatile-lfu"):
        idle = idle_fn(db, argv[2]) // 1000
    lru = int(time.time()) & ((1 << 24) - 1)
    line = (f"Value at:0x{id(v):x} refcount:1 encoding:{enc} "
            f"serializedlength:{max(1, value_size(v) - 16)} lru:{lru} "
            f"lru_seconds_idle:{idle}")
    if enc == "quicklist":
        line += (f" ql_nodes:1 ql_avg_node:{len(v):.2f} ql_listpack_max:"
                 f"{c.server.config['list-max-listpack-size']} ql_compressed:0 "
                 f"ql_uncompressed_size:{value_size(v)}")
    return Status(line)


def _encoding(c, key: bytes) -> str:
    """OBJECT ENCODING's answer, through the generic room's handler."""
    from redpoll.commands import table as T
    obj = T.TABLE.get(b"object")
    sub = obj.subcommands.get(b"encoding") if obj is not None else None
    if sub is None:
        return "raw"
    try:
        r = sub.handler(c, [b"OBJECT", b"ENCODING", key])
    except RedisError:
        return "raw"
    return r.decode() if isinstance(r, bytes) else str(r)


def _debug_error(c, argv):
    if len(argv) != 3:
        raise subcommand_syntax(argv)
    return RedisError(argv[2].decode("utf-8", "surrogateescape"))


def _debug_log(c, argv):
    if len(argv) != 3:
        raise subcommand_syntax(argv)
    c.server.log.warning(f"DEBUG LOG: {argv[2].decode('utf-8', 'replace')}")
    return OK


def _debug_change_repl_id(c, argv):
    if len(argv) != 2:
        raise subcommand_syntax(argv)
    c.server.log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
    repl = getattr(c.server, "repl", None)
    if repl is not None and hasattr(repl, "change_replid"):
        repl.change_replid()
        repl.clear_replid2()
    return OK


def _debug_populate(c, argv):
    if not 3 <= len(argv) <= 5:
        raise subcommand_syntax(argv)
    count = _int_arg(argv[2])
    if count < 0:
        raise RedisError("ERR count must be greater than or equal to 0")  # as 7.0 text
    prefix = argv[3] if len(argv) > 3 else b"key"
    size = _int_arg(argv[4]) if len(argv) > 4 else 0
    db = c.db
    for i in range(count):
        key = b"%b:%d" % (prefix, i)
        if key in db.data:
            continue
        val = b"value:%d" % i
        if size:
            val = val[:size] + b"\0" * max(0, size - len(val))
        db.add(key, val)
    return OK


def _debug_protocol(c, argv):
    if len(argv) != 3:
        raise subcommand_syntax(argv)
    from redpoll.protocol import resp as R
    kind = argv[2].lower()
    values = {
        b"string": b"Hello World", b"integer": 12345, b"double": Double(3.141),
        b"null": None, b"array": [0, 1, 2], b"set": R.Set([0, 1, 2]),
        b"map": Map([(0, R.Bool(0)), (1, R.Bool(1)), (2, R.Bool(0))]),
        b"true": R.Bool(1), b"false": R.Bool(0),
        b"verbatim": Verbatim(b"This is a verbatim\nstring"),
    }
    if kind == b"bignum":
        return R.Raw(b"(1234567999999999999999999999999999999\r\n") if c.resp == 3 else \
            b"1234567999999999999999999999999999999"
    if kind == b"attrib":
        return b"Some real reply following the attribute"
    if kind == b"push":
        if c.resp < 3:
            raise RedisError("ERR RESP2 is not supported by this command")
        return R.Push([b"server-cpu-usage", 42])
    if kind not in values:
        raise RedisError("ERR Wrong protocol type name. Please use one of the following: "
                         "string|integer|double|bignum|null|array|set|map|attrib|push|"
                         "verbatim|true|false")
    return values[kind]


def _debug_digest(c, argv):
    import hashlib
    h = bytearray(20)
    any_key = False
    for db in c.server.dbs:
        for k in sorted(db.data):
            any_key = True
            d = hashlib.sha1(k + repr(_canon(db.data[k])).encode()).digest()
            h = bytearray(a ^ b for a, b in zip(h, d))
    return Status(h.hex() if any_key else "0" * 40)


def _canon(v):
    if isinstance(v, (bytes, int, float)):
        return v
    if isinstance(v, dict):
        return sorted((k, _canon(x)) for k, x in v.items())
    if isinstance(v, (set, frozenset)):
        return sorted(v)
    d = getattr(v, "dict", None)
    if isinstance(d, dict):
        return sorted(d.items())
    try:
        return list(v)
    except TypeError:
        return repr(type(v))


def _debug_help(c, argv):
    return help_reply(argv, [
        "CHANGE-REPL-ID",
        "    Change the replication IDs of the instance.",
        "    Dangerous: should be used only for testing the replication subsystem.",
        "DIGEST",
        "    Output a hex signature representing the current DB content.",
        "ERROR <string>",
        "    Return a Redis protocol error with <string> as message. Useful for clients",
        "    unit tests to simulate Redis errors.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "LOADAOF",
        "    Flush the AOF buffers on disk and reload the AOF in memory.",
        "OBJECT <key>",
        "    Show low level info about `key` and associated value.",
        "POPULATE <count> [<prefix>] [<size>]",
        "    Create <count> string keys named key:<num>. If <prefix> is specified then",
        "    it is used instead of the 'key' prefix. These are not propagated to",
        "    replicas.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "RELOAD [option ...]",
        "    Save the RDB on disk and reload it back to memory.",
        "SET-ACTIVE-EXPIRE <0|1>",
        "    Setting it to 0 disables expiring keys in background when they are not",
        "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
        "    default.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
    ])


def _register_debug() -> None:
    from redpoll.commands.persistence import register_debug
    for name, fn in (("sleep", _debug_sleep), ("object", _debug_object),
                     ("error", _debug_error), ("log", _debug_log),
                     ("change-repl-id", _debug_change_repl_id),
                     ("populate", _debug_populate), ("protocol", _debug_protocol),
                     ("digest", _debug_digest), ("help", _debug_help)):
        register_debug(name, fn)


_register_debug()


def _protected_allowed(c, option: str) -> bool:
    """enable-debug-command / enable-module-command: no, yes, or local
    (Redis's islocalClient: a unix socket, or a peer that is exactly
    127.0.0.1 or ::1)."""
    mode = c.server.config[option]
    if mode is True or mode == "yes":
        return True
    if mode == "local":
        addr = c.addr or ""
        return (c.is_fake or addr.startswith("/") or addr.startswith("127.0.0.1:")
                or addr.startswith("::1:"))
    return False


def debug_allowed(c) -> bool:
    return _protected_allowed(c, "enable-debug-command")


def protected_command_error(c, cmd) -> RedisError | None:
    """processCommand's check of ``protected`` commands (DEBUG, MODULE LOAD,
    LOADEX, UNLOAD): Redis makes it right after the arity check, before
    NOAUTH, ACLs and MULTI queueing. Only called for commands with the
    PROTECTED flag."""
    if cmd.name == "debug":
        if debug_allowed(c):
            return None
        return RedisError(_PROTECTED_DENIED % ("DEBUG", "enable-debug-command"))
    if cmd.name.startswith("module|"):
        if _protected_allowed(c, "enable-module-command"):
            return None
        return RedisError(_PROTECTED_DENIED % ("MODULE", "enable-module-command"))
    return None


_PROTECTED_DENIED = (
    "ERR %s command not allowed. If the %s option is set to \"local\", you can "
    "run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.")


# -- MODULE ------------------------------------------------------------------------
# redpoll loads no native modules: MODULE LIST is empty and every load fails
# the way Redis's does for a library that cannot be opened.

_MODULE_LOAD_ERROR = "ERR Error loading the extension. Please check the server logs."


@subcommand("module", "list", 2, "admin noscript", group=G,
            summary="Returns all loaded modules.", since="4.0.0")
def module_list(c, argv):
    return []


def _module_load(c, argv, ex: bool):
    err = protected_command_error(c, c.cmd) if c.cmd is not None else None
    if err is not None:
        raise err
    path = argv[2].decode("utf-8", "replace")
    if ex:
        i = 3
        while i < len(argv):
            opt = argv[i].lower()
            if opt == b"config" and i + 2 < len(argv):
                i += 3
            elif opt == b"args":
                break
            else:
                c.server.log.notice(
                    "CONFIG specified without name value pair" if opt == b"config" else
                    f"Syntax Error from arguments to loadex around "
                    f"{argv[i].decode('utf-8', 'replace')}.")
                raise RedisError(_MODULE_LOAD_ERROR)
    c.server.log.warning(f"Module {path} failed to load: {path}: redpoll does not "
                         f"load native Redis modules")
    raise RedisError(_MODULE_LOAD_ERROR)


@subcommand("module", "load", -3, "admin noscript no_async_loading protected", group=G,
            summary="Loads a module.", since="4.0.0")
def module_load(c, argv):
    return _module_load(c, argv, ex=False)


@subcommand("module", "loadex", -3, "admin noscript no_async_loading protected", group=G,
            summary="Loads a module using extended parameters.", since="7.0.0")
def module_loadex(c, argv):
    return _module_load(c, argv, ex=True)


@subcommand("module", "unload", 3, "admin noscript no_async_loading protected", group=G,
            summary="Unloads a module.", since="4.0.0")
def module_unload(c, argv):
    err = protected_command_error(c, c.cmd) if c.cmd is not None else None
    if err is not None:
        raise err
    raise RedisError("ERR Error unloading module: no such module with that name")


@subcommand("module", "help", 2, "loading stale", group=G,
            summary="Returns helpful text about the different subcommands.",
            since="5.0.0")
def module_help(c, argv):
    return help_reply(argv, [
        "LIST",
        "    Return a list of loaded modules.",
        "LOAD <path> [<arg> ...]",
        "    Load a module library from <path>, passing to it any optional arguments.",
        "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
        "    Load a module library from <path>, while passing it module configurations "
        "and optional arguments.",
        "UNLOAD <name>",
        "    Unload a module.",
    ])
