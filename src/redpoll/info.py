"""The text of INFO: Redis 7.0's sections, in its order, with its field names.

Sections come from the functions in :data:`SECTIONS`; a room may provide
its own through ``server.info_sections[name]`` (persistence and replication
do), which replaces the fallback here. Values that have no meaning for a
Python process (allocator internals, Lua VM sizes) are given plausible
numbers derived from what redpoll does measure.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time

from redpoll import REDIS_COMPAT_VERSION, __version__
from redpoll.commands import table as T
from redpoll.memory import STARTUP_MEMORY, rss_bytes, used_memory


def human(n: float) -> str:
    """bytesToHuman: 1.01M, 65.00K, 200B."""
    n = float(n)
    for unit, div in (("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30),
                      ("M", 1 << 20), ("K", 1 << 10)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return f"{int(n)}B"


def _total_system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def section_server(srv) -> list[str]:
    now = time.time()
    uptime = int(now - srv.start_time)
    supervised = getattr(srv, "supervised_mode", "no")
    return [
        f"redis_version:{REDIS_COMPAT_VERSION}",
        "redis_git_sha1:00000000",
        "redis_git_dirty:0",
        "redis_build_id:0",
        f"redpoll_version:{__version__}",
        f"redis_mode:{'sentinel' if srv.sentinel_mode else 'standalone'}",
        f"os:{platform.system()} {platform.release()} {platform.machine()}",
        f"arch_bits:{64 if sys.maxsize > 2**32 else 32}",
        "monotonic_clock:POSIX clock_gettime",
        "multiplexing_api:epoll",
        "atomicvar_api:c11-builtin",
        "gcc_version:0.0.0",
        f"python_version:{platform.python_version()}",
        f"process_id:{os.getpid()}",
        f"process_supervised:{supervised}",
        f"run_id:{srv.run_id}",
        f"tcp_port:{srv.port}",
        f"server_time_usec:{int(now * 1e6)}",
        f"uptime_in_seconds:{uptime}",
        f"uptime_in_days:{uptime // 86400}",
        f"hz:{srv.config['hz']}",
        f"configured_hz:{srv.config['hz']}",
        "lru_clock:%d" % (int(now) & ((1 << 24) - 1)),
        f"executable:{srv.executable}",
        f"config_file:{srv.config.file or ''}",
        "io_threads_active:0",
    ]


def section_clients(srv) -> list[str]:
    from redpoll.client import F_REPLICA
    clients = list(srv.clients.values())
    blocked = sum(1 for c in clients if c.blocked is not None)
    tracking = sum(1 for c in clients if getattr(c, "tracking", False))
    max_in = max((len(getattr(c.reader, "buf", b"") or b"") for c in clients), default=0) \
        if clients else 0
    max_out = max((c.output_buffer_size() for c in clients), default=0)
    return [
        f"connected_clients:{sum(1 for c in clients if not c.flags & F_REPLICA)}",
        "cluster_connections:0",
        f"maxclients:{srv.config['maxclients']}",
        f"client_recent_max_input_buffer:{max_in}",
        f"client_recent_max_output_buffer:{max_out}",
        f"blocked_clients:{blocked}",
        f"tracking_clients:{tracking}",
        f"clients_in_timeout_table:{blocked}",
    ]


def _scripts_memory(srv) -> tuple[int, int, int, int]:
    """(cached scripts, their bytes, functions, libraries) if the scripting
    room exposes them."""
    sc = getattr(srv, "scripts", None) or {}
    try:
        n = len(sc)
        size = sum(len(v) if isinstance(v, (bytes, str)) else 200 for v in sc.values())
    except TypeError:
        n, size = 0, 0
    funcs = getattr(srv, "functions", None) or {}
    libs = getattr(srv, "function_libraries", None) or {}
    return n, size, len(funcs), len(libs)


def section_memory(srv) -> list[str]:
    used = used_memory(srv)
    rss = rss_bytes()
    peak = max(getattr(srv, "peak_memory", 0), used)
    srv.peak_memory = peak
    maxmem = srv.maxmemory if hasattr(srv, "maxmemory") else srv.config["maxmemory"]
    startup = STARTUP_MEMORY
    clients_normal = sum(c.output_buffer_size() for c in srv.clients.values())
    backlog = 0
    repl = getattr(srv, "repl", None)
    if repl is not None:
        backlog = getattr(repl, "backlog_bytes", 0) or 0
    overhead = startup + clients_normal + backlog
    dataset = max(0, used - startup)
    n_scripts, scripts_bytes, n_funcs, n_libs = _scripts_memory(srv)
    lua = 32768 + scripts_bytes
    allocated = used
    active = max(used, int(used * 1.1))
    resident = max(rss, active)
    net = max(1, used - startup)
    return [
        f"used_memory:{used}", f"used_memory_human:{human(used)}",
        f"used_memory_rss:{rss}", f"used_memory_rss_human:{human(rss)}",
        f"used_memory_peak:{peak}", f"used_memory_peak_human:{human(peak)}",
        "used_memory_peak_perc:%.2f%%" % (100.0 * used / peak if peak else 100.0),
        f"used_memory_overhead:{overhead}",
        f"used_memory_startup:{startup}",
        f"used_memory_dataset:{dataset}",
        "used_memory_dataset_perc:%.2f%%" % (100.0 * dataset / net),
        f"allocator_allocated:{allocated}",
        f"allocator_active:{active}",
        f"allocator_resident:{resident}",
        f"total_system_memory:{_total_system_memory()}",
        f"total_system_memory_human:{human(_total_system_memory())}",
        f"used_memory_lua:{lua}",
        f"used_memory_vm_eval:{lua}",
        f"used_memory_lua_human:{human(lua)}",
        f"used_memory_scripts_eval:{scripts_bytes}",
        f"number_of_cached_scripts:{n_scripts}",
        f"number_of_functions:{n_funcs}",
        f"number_of_libraries:{n_libs}",
        "used_memory_vm_functions:33792",
        f"used_memory_vm_total:{lua + 33792}",
        f"used_memory_vm_total_human:{human(lua + 33792)}",
        "used_memory_functions:200",
        f"used_memory_scripts:{200 + scripts_bytes}",
        f"used_memory_scripts_human:{human(200 + scripts_bytes)}",
        f"maxmemory:{maxmem}", f"maxmemory_human:{human(maxmem)}",
        f"maxmemory_policy:{srv.config['maxmemory-policy']}",
        "allocator_frag_ratio:%.2f" % (active / allocated if allocated else 1.0),
        f"allocator_frag_bytes:{active - allocated}",
        "allocator_rss_ratio:%.2f" % (resident / active if active else 1.0),
        f"allocator_rss_bytes:{resident - active}",
        "rss_overhead_ratio:%.2f" % (rss / resident if resident else 1.0),
        f"rss_overhead_bytes:{rss - resident}",
        "mem_fragmentation_ratio:%.2f" % (rss / used if used else 1.0),
        f"mem_fragmentation_bytes:{rss - used}",
        "mem_not_counted_for_evict:0",
        f"mem_replication_backlog:{backlog}",
        "mem_total_replication_buffers:0",
        "mem_clients_slaves:0",
        f"mem_clients_normal:{clients_normal}",
        "mem_cluster_links:0",
        "mem_aof_buffer:0",
        "mem_allocator:pymalloc",
        "active_defrag_running:0",
        "lazyfree_pending_objects:0",
        "lazyfreed_objects:0",
    ]


def section_persistence(srv) -> list[str]:
    return [f"loading:{int(srv.loading)}", "async_loading:0",
            "current_cow_peak:0", "current_cow_size:0", "current_cow_size_age:0",
            "current_fork_perc:0.00", "current_save_keys_processed:0",
            "current_save_keys_total:0",
            f"rdb_changes_since_last_save:{srv.dirty}",
            "rdb_bgsave_in_progress:0", f"rdb_last_save_time:{srv.lastsave}",
            "rdb_last_bgsave_status:ok", "rdb_last_bgsave_time_sec:-1",
            "rdb_current_bgsave_time_sec:-1", "rdb_saves:0",
            "rdb_last_cow_size:0", "rdb_last_load_keys_expired:0",
            "rdb_last_load_keys_loaded:0",
            "aof_enabled:0", "aof_rewrite_in_progress:0",
            "aof_rewrite_scheduled:0", "aof_last_rewrite_time_sec:-1",
            "aof_current_rewrite_time_sec:-1", "aof_last_bgrewrite_status:ok",
            "aof_rewrites:0", "aof_rewrites_consecutive_failures:0",
            "aof_last_write_status:ok", "aof_last_cow_size:0",
            "module_fork_in_progress:0", "module_fork_last_cow_size:0"]


def section_stats(srv) -> list[str]:
    s = srv.stats
    ev = getattr(srv, "evictor", None)
    g = lambda name, default=0: getattr(s, name, default)  # noqa: E731
    return [
        f"total_connections_received:{s.total_connections_received}",
        f"total_commands_processed:{s.total_commands_processed}",
        f"instantaneous_ops_per_sec:{int(srv.instantaneous(1))}",
        f"total_net_input_bytes:{s.net_input_bytes}",
        f"total_net_output_bytes:{s.net_output_bytes}",
        f"total_net_repl_input_bytes:{g('net_repl_input_bytes')}",
        f"total_net_repl_output_bytes:{g('net_repl_output_bytes')}",
        "instantaneous_input_kbps:%.2f" % (srv.instantaneous(2) / 1024),
        "instantaneous_output_kbps:%.2f" % (srv.instantaneous(3) / 1024),
        "instantaneous_input_repl_kbps:0.00",
        "instantaneous_output_repl_kbps:0.00",
        f"rejected_connections:{s.rejected_connections}",
        f"sync_full:{s.sync_full}",
        f"sync_partial_ok:{s.sync_partial_ok}",
        f"sync_partial_err:{s.sync_partial_err}",
        f"expired_keys:{s.expired_keys}",
        "expired_stale_perc:%.2f" % s.expired_stale_perc,
        f"expired_time_cap_reached_count:{s.expired_time_cap_reached_count}",
        f"expire_cycle_cpu_milliseconds:{g('expire_cycle_cpu_ms')}",
        f"evicted_keys:{s.evicted_keys}",
        f"evicted_clients:{s.evicted_clients}",
        f"total_eviction_exceeded_time:{getattr(ev, 'exceeded_total_ms', 0)}",
        f"current_eviction_exceeded_time:{getattr(ev, 'exceeded_current_ms', 0)}",
        f"keyspace_hits:{s.keyspace_hits}",
        f"keyspace_misses:{s.keyspace_misses}",
        f"pubsub_channels:{len(getattr(srv, 'pubsub_channels', {}))}",
        f"pubsub_patterns:{len(getattr(srv, 'pubsub_patterns', {}))}",
        f"pubsubshard_channels:{len(getattr(srv, 'pubsubshard_channels', {}))}",
        "latest_fork_usec:%d" % getattr(srv, "latest_fork_usec", 0),
        f"total_forks:{getattr(srv, 'total_forks', 0)}",
        "migrate_cached_sockets:0",
        "slave_expires_tracked_keys:0",
        "active_defrag_hits:0",
        "active_defrag_misses:0",
        "active_defrag_key_hits:0",
        "active_defrag_key_misses:0",
        "total_active_defrag_time:0",
        "current_active_defrag_time:0",
        "tracking_total_keys:0",
        "tracking_total_items:0",
        "tracking_total_prefixes:0",
        f"unexpected_error_replies:{s.unexpected_error_replies}",
        f"total_error_replies:{s.total_error_replies}",
        f"dump_payload_sanitizations:{s.dump_payload_sanitizations}",
        f"total_reads_processed:{s.total_reads_processed}",
        f"total_writes_processed:{s.total_writes_processed}",
        "io_threaded_reads_processed:0",
        "io_threaded_writes_processed:0",
        "reply_buffer_shrinks:0",
        "reply_buffer_expands:0",
    ]


def section_replication(srv) -> list[str]:
    return ["role:master", "connected_slaves:0", "master_failover_state:no-failover",
            "master_replid:" + srv.run_id[:40], "master_replid2:" + "0" * 40,
            "master_repl_offset:0", "second_repl_offset:-1", "repl_backlog_active:0",
            "repl_backlog_size:%d" % srv.config["repl-backlog-size"],
            "repl_backlog_first_byte_offset:0", "repl_backlog_histlen:0"]


def section_cpu(srv) -> list[str]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        th = resource.getrusage(resource.RUSAGE_THREAD)
    except (AttributeError, ValueError):
        th = r
    return [f"used_cpu_sys:{r.ru_stime:.6f}", f"used_cpu_user:{r.ru_utime:.6f}",
            f"used_cpu_sys_children:{ch.ru_stime:.6f}",
            f"used_cpu_user_children:{ch.ru_utime:.6f}",
            f"used_cpu_sys_main_thread:{th.ru_stime:.6f}",
            f"used_cpu_user_main_thread:{th.ru_utime:.6f}"]


def section_commandstats(srv) -> list[str]:
    out = []
    for cmd in T.all_commands():
        if cmd.calls or cmd.rejected_calls or cmd.failed_calls:
            usec = cmd.usec // 1000
            per = (cmd.usec / 1000 / cmd.calls) if cmd.calls else 0.0
            out.append(f"cmdstat_{cmd.name}:calls={cmd.calls},usec={usec},"
                       f"usec_per_call={per:.2f},rejected_calls={cmd.rejected_calls},"
                       f"failed_calls={cmd.failed_calls}")
    return out


def section_errorstats(srv) -> list[str]:
    return [f"errorstat_{k}:count={v}" for k, v in sorted(srv.stats.errors.items())]


def section_latencystats(srv) -> list[str]:
    from redpoll import slowlog
    return slowlog.latencystats_lines(srv)


def section_keyspace(srv) -> list[str]:
    out = []
    for db in srv.dbs:
        if db.data:
            out.append(f"db{db.id}:keys={len(db.data)},expires={len(db.expires)},"
                       f"avg_ttl={db.avg_ttl}")
    return out


SECTIONS = {
    "server": section_server, "clients": section_clients, "memory": section_memory,
    "persistence": section_persistence, "stats": section_stats,
    "replication": section_replication, "cpu": section_cpu,
    "modules": lambda srv: [], "commandstats": section_commandstats,
    "errorstats": section_errorstats, "latencystats": section_latencystats,
    "cluster": lambda srv: ["cluster_enabled:0"], "keyspace": section_keyspace,
}
TITLES = {"cpu": "CPU"}
# INFO / INFO default
DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats",
                    "replication", "cpu", "modules", "errorstats", "cluster", "keyspace"]
# INFO all (everything but modules' own sections; "everything" adds them)
ALL_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication",
                "cpu", "modules", "commandstats", "errorstats", "latencystats",
                "cluster", "keyspace"]


def info_text(srv, args: list[str]) -> str:
    """The INFO reply for the given section arguments (case-insensitive)."""
    names: list[str] = []
    if not args:
        names = list(DEFAULT_SECTIONS)
    else:
        wanted = {a.lower() for a in args}
        if wanted & {"all", "everything"}:
            names = list(ALL_SECTIONS)
        elif "default" in wanted:
            names = list(DEFAULT_SECTIONS)
        # Redis prints the sections in its own order, whatever the argument order
        for n in ALL_SECTIONS:
            if n in wanted and n not in names:
                names.append(n)
        order = {n: i for i, n in enumerate(ALL_SECTIONS)}
        names.sort(key=lambda n: order[n])
    out: list[str] = []
    for name in names:
        fn = srv.info_sections.get(name) or SECTIONS[name]
        lines = fn() if name in srv.info_sections else fn(srv)
        if out:
            out.append("")
        out.append(f"# {TITLES.get(name, name.capitalize())}")
        out.extend(lines)
    return "\r\n".join(out) + "\r\n" if out else ""
