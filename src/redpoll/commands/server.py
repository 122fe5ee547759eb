"""Server commands: INFO, COMMAND, CONFIG, FLUSHDB/FLUSHALL, SHUTDOWN, MONITOR, TIME."""

from __future__ import annotations

import fnmatch
import os
import platform
import resource
import sys
import time

from redpoll import REDIS_COMPAT_VERSION, __version__
from redpoll.commands import table as T
from redpoll.commands.table import command, subcommand
from redpoll.config import DIRECTIVES, ConfigError
from redpoll.errors import SYNTAX, RedisError
from redpoll.protocol.resp import OK, Map, Verbatim

G = "server"


# -- INFO ------------------------------------------------------------------------

def _section_server(srv) -> list[str]:
    uptime = int(time.time() - srv.start_time)
    return [
        f"redis_version:{REDIS_COMPAT_VERSION}",
        f"redpoll_version:{__version__}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:0",
        f"redis_mode:{'sentinel' if srv.sentinel_mode else 'standalone'}",
        f"os:{platform.system()} {platform.release()} {platform.machine()}",
        f"arch_bits:{64 if sys.maxsize > 2**32 else 32}",
        "monotonic_clock:POSIX clock_gettime",
        "multiplexing_api:epoll",
        "atomicvar_api:c11-builtin",
        "gcc_version:0.0.0",
        f"python_version:{platform.python_version()}",
        f"process_id:{os.getpid()}",
        "process_supervised:no",
        f"run_id:{srv.run_id}",
        f"tcp_port:{srv.port}",
        f"server_time_usec:{int(time.time() * 1e6)}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{srv.config['hz']}",
        f"configured_hz:{srv.config['hz']}",
        "lru_clock:%d" % (int(time.time()) & ((1 << 24) - 1)),
        f"executable:{srv.executable}",
        f"config_file:{srv.config.file or ''}",
        "io_threads_active:0",
    ]


def _section_clients(srv) -> list[str]:
    clients = srv.clients.values()
    blocked = sum(1 for c in clients if c.blocked is not None)
    return [
        f"connected_clients:{sum(1 for c in clients if not c.flags & 1)}",
        "cluster_connections:0",
        f"maxclients:{srv.config['maxclients']}",
        "client_recent_max_input_buffer:0",
        "client_recent_max_output_buffer:0",
        f"blocked_clients:{blocked}",
        "tracking_clients:0",
        f"clients_in_timeout_table:{blocked}",
    ]


def used_memory(srv) -> int:
    """Memory used by the process, as counted for maxmemory (see docs/memory.md)."""
    fn = getattr(srv, "used_memory_fn", None)
    if fn is not None:
        return fn()
    return rss_bytes()


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _human(n: int) -> str:
    for unit, div in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return f"{n}B"


def _section_memory(srv) -> list[str]:
    used = used_memory(srv)
    rss = rss_bytes()
    peak = max(getattr(srv, "peak_memory", 0), used)
    srv.peak_memory = peak
    maxmem = srv.config["maxmemory"]
    return [
        f"used_memory:{used}", f"used_memory_human:{_human(used)}",
        f"used_memory_rss:{rss}", f"used_memory_rss_human:{_human(rss)}",
        f"used_memory_peak:{peak}", f"used_memory_peak_human:{_human(peak)}",
        "used_memory_peak_perc:%.2f%%" % (100.0 * used / peak if peak else 100.0),
        f"used_memory_dataset:{used}",
        f"maxmemory:{maxmem}", f"maxmemory_human:{_human(maxmem)}",
        f"maxmemory_policy:{srv.config['maxmemory-policy']}",
        "mem_fragmentation_ratio:%.2f" % (rss / used if used else 1.0),
        "mem_allocator:pymalloc",
        "lazyfree_pending_objects:0",
    ]


def _section_stats(srv) -> list[str]:
    s = srv.stats
    return [
        f"total_connections_received:{s.total_connections_received}",
        f"total_commands_processed:{s.total_commands_processed}",
        f"instantaneous_ops_per_sec:{int(srv.instantaneous(1))}",
        f"total_net_input_bytes:{s.net_input_bytes}",
        f"total_net_output_bytes:{s.net_output_bytes}",
        "instantaneous_input_kbps:%.2f" % (srv.instantaneous(2) / 1024),
        "instantaneous_output_kbps:%.2f" % (srv.instantaneous(3) / 1024),
        f"rejected_connections:{s.rejected_connections}",
        f"sync_full:{s.sync_full}",
        f"sync_partial_ok:{s.sync_partial_ok}",
        f"sync_partial_err:{s.sync_partial_err}",
        f"expired_keys:{s.expired_keys}",
        "expired_stale_perc:0.00",
        f"expired_time_cap_reached_count:{s.expired_time_cap_reached_count}",
        f"evicted_keys:{s.evicted_keys}",
        f"evicted_clients:{s.evicted_clients}",
        f"keyspace_hits:{s.keyspace_hits}",
        f"keyspace_misses:{s.keyspace_misses}",
        f"pubsub_channels:{len(getattr(srv, 'pubsub_channels', {}))}",
        f"pubsub_patterns:{len(getattr(srv, 'pubsub_patterns', {}))}",
        f"pubsubshard_channels:{len(getattr(srv, 'pubsubshard_channels', {}))}",
        "latest_fork_usec:%d" % getattr(srv, "latest_fork_usec", 0),
        f"total_forks:{getattr(srv, 'total_forks', 0)}",
        f"total_error_replies:{s.total_error_replies}",
        f"dump_payload_sanitizations:{s.dump_payload_sanitizations}",
    ]


def _section_replication(srv) -> list[str]:
    fn = srv.info_sections.get("replication")
    if fn is not None:
        return fn()
    return ["role:master", "connected_slaves:0", "master_failover_state:no-failover",
            "master_replid:" + srv.run_id[:40], "master_replid2:" + "0" * 40,
            "master_repl_offset:0", "second_repl_offset:-1", "repl_backlog_active:0",
            "repl_backlog_size:%d" % srv.config["repl-backlog-size"],
            "repl_backlog_first_byte_offset:0", "repl_backlog_histlen:0"]


def _section_cpu(srv) -> list[str]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return [f"used_cpu_sys:{r.ru_stime:.6f}", f"used_cpu_user:{r.ru_utime:.6f}",
            f"used_cpu_sys_children:{ch.ru_stime:.6f}",
            f"used_cpu_user_children:{ch.ru_utime:.6f}"]


def _section_commandstats(srv) -> list[str]:
    out = []
    for cmd in T.all_commands():
        if cmd.calls or cmd.rejected_calls or cmd.failed_calls:
            usec = cmd.usec // 1000
            per = (cmd.usec / 1000 / cmd.calls) if cmd.calls else 0.0
            out.append(f"cmdstat_{cmd.name}:calls={cmd.calls},usec={usec},"
                       f"usec_per_call={per:.2f},rejected_calls={cmd.rejected_calls},"
                       f"failed_calls={cmd.failed_calls}")
    return out


def _section_errorstats(srv) -> list[str]:
    return [f"errorstat_{k}:count={v}" for k, v in sorted(srv.stats.errors.items())]


def _section_keyspace(srv) -> list[str]:
    out = []
    for db in srv.dbs:
        if db.data:
            out.append(f"db{db.id}:keys={len(db.data)},expires={len(db.expires)},"
                       f"avg_ttl={db.avg_ttl}")
    return out


def _section_persistence(srv) -> list[str]:
    fn = srv.info_sections.get("persistence")
    if fn is not None:
        return fn()
    return [f"loading:{int(srv.loading)}", "async_loading:0",
            f"rdb_changes_since_last_save:{srv.dirty}",
            "rdb_bgsave_in_progress:0", f"rdb_last_save_time:{srv.lastsave}",
            "rdb_last_bgsave_status:ok", "aof_enabled:0", "aof_rewrite_in_progress:0",
            "aof_last_bgrewrite_status:ok", "aof_last_write_status:ok"]


SECTIONS = {
    "server": _section_server, "clients": _section_clients, "memory": _section_memory,
    "persistence": _section_persistence, "stats": _section_stats,
    "replication": _section_replication, "cpu": _section_cpu,
    "modules": lambda srv: [], "errorstats": _section_errorstats,
    "cluster": lambda srv: ["cluster_enabled:0"], "keyspace": _section_keyspace,
    "commandstats": _section_commandstats,
}
DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats",
                    "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"]
ALL_SECTIONS = DEFAULT_SECTIONS[:-3] + ["commandstats", "errorstats", "cluster", "keyspace"]


def info_text(srv, args: list[str]) -> str:
    sections = srv.extra_sections if hasattr(srv, "extra_sections") else {}
    table = {**SECTIONS, **sections}
    if not args:
        names = DEFAULT_SECTIONS
    else:
        names = []
        for a in args:
            a = a.lower()
            if a == "default":
                names += DEFAULT_SECTIONS
            elif a in ("all", "everything"):
                names += ALL_SECTIONS
            else:
                names.append(a)
    out = []
    seen = set()
    for name in names:
        if name in seen or name not in table:
            continue
        seen.add(name)
        title = name.capitalize() if name != "cpu" else "CPU"
        if name == "commandstats":
            title = "Commandstats"
        if name == "errorstats":
            title = "Errorstats"
        lines = table[name](srv)
        if out:
            out.append("")
        out.append(f"# {title}")
        out.extend(lines)
    return "\r\n".join(out) + "\r\n" if out else ""


@command("info", -1, "loading stale sentinel", group=G, summary="Returns information and statistics about the server.")
def info(c, argv):
    return Verbatim(info_text(c.server, [a.decode() for a in argv[1:]]).encode())


# -- keyspace-wide -------------------------------------------------------------------

def _flush_option(argv) -> None:
    if len(argv) > 2:
        raise RedisError(SYNTAX)
    if len(argv) == 2 and argv[1].lower() not in (b"async", b"sync"):
        raise RedisError(SYNTAX)


@command("flushdb", -1, "write", group=G, acl="keyspace dangerous", summary="Remove all keys from the current database.")
def flushdb(c, argv):
    _flush_option(argv)
    srv = c.server
    srv.touch_all_watched(c.db.id)
    srv.dirty += c.db.clear() + 1
    return OK


@command("flushall", -1, "write", group=G, acl="keyspace dangerous", summary="Removes all keys from all databases.")
def flushall(c, argv):
    _flush_option(argv)
    srv = c.server
    srv.touch_all_watched(None)
    n = sum(db.clear() for db in srv.dbs)
    srv.dirty += n + 1
    for fn in getattr(srv, "flushall_hooks", ()):
        fn()
    return OK


@command("time", 1, "loading stale fast", group=G, summary="Returns the server time.")
def time_(c, argv):
    t = time.time()
    return [str(int(t)).encode(), str(int((t % 1) * 1e6)).encode()]


@command("shutdown", -1, "admin noscript loading stale no_multi sentinel allow_busy", group=G, summary="Synchronously saves the database(s) to disk and shuts down the Redis server.")
def shutdown(c, argv):
    save = None
    for a in argv[1:]:
        o = a.lower()
        if o == b"nosave":
            save = False
        elif o == b"save":
            save = True
        elif o in (b"now", b"force", b"abort"):
            pass
        else:
            raise RedisError(SYNTAX)
    srv = c.server
    srv.loop.create_task(srv.shutdown(save))
    from redpoll.server import NO_REPLY
    return NO_REPLY


def monitor_line(c, argv) -> bytes:
    """One MONITOR line: +1339518083.107412 [0 127.0.0.1:60866] "set" "k" "v"."""
    from redpoll.protocol.quoting import repr_arg
    t = time.time()
    where = "lua" if c.is_fake else c.addr
    args = " ".join(repr_arg(a) for a in argv)
    return f"+{t:.6f} [{c.db.id} {where}] {args}\r\n".encode("utf-8", "surrogateescape")


# -- COMMAND ---------------------------------------------------------------------------

def command_info(cmd) -> list:
    return [cmd.name.encode(), cmd.arity, [f.encode() for f in cmd.flag_names()],
            cmd.first_key, cmd.last_key, cmd.key_step,
            [f"@{c}".encode() for c in cmd.acl_categories], [], [],
            [command_info(s) for s in cmd.subcommands.values()]]


@command("command", -1, "loading stale sentinel", group=G, summary="Returns detailed information about all commands.")
def command_(c, argv):
    return [command_info(cmd) for cmd in T.TABLE.values()]


@subcommand("command", "count", 2, "loading stale", group=G, summary="Returns a count of commands.")
def command_count(c, argv):
    return len(T.TABLE)


@subcommand("command", "info", -2, "loading stale", group=G, summary="Returns information about one, multiple or all commands.")
def command_info_cmd(c, argv):
    if len(argv) == 2:
        return [command_info(cmd) for cmd in T.TABLE.values()]
    out = []
    for name in argv[2:]:
        cmd = T.TABLE.get(name.lower())
        out.append(command_info(cmd) if cmd is not None else None)
    return out


@subcommand("command", "docs", -2, "loading stale", group=G, summary="Returns documentary information about one, multiple or all commands.")
def command_docs(c, argv):
    names = [n.lower() for n in argv[2:]] or list(T.TABLE)
    out = []
    for n in names:
        cmd = T.TABLE.get(n)
        if cmd is None:
            continue
        doc = Map([(b"summary", cmd.summary.encode()), (b"since", cmd.since.encode()),
                   (b"group", cmd.group.encode())])
        if cmd.complexity:
            doc.append((b"complexity", cmd.complexity.encode()))
        if cmd.subcommands:
            doc.append((b"subcommands", Map(
                [(s.name.encode(), Map([(b"summary", s.summary.encode()),
                                        (b"since", s.since.encode()),
                                        (b"group", s.group.encode())]))
                 for s in cmd.subcommands.values()])))
        out.append((cmd.name.encode(), doc))
    return Map(out)
