"""The commands of a sentinel: the SENTINEL family, and the sentinel forms
of INFO, ROLE and PUBLISH.

:func:`restrict_table` leaves in the command table only the commands Redis
Sentinel 7.0 has (so anything else is an unknown command, as in Redis) and
swaps in the sentinel handlers; the server's dispatch is untouched.
"""

from __future__ import annotations

import copy
import os

from redpoll.commands import table as T
from redpoll.commands.help import help_reply
from redpoll.commands.string import parse_int
from redpoll.commands.table import subcommand
from redpoll.errors import SYNTAX, RedisError
from redpoll.log import WARNING, log
from redpoll.protocol.resp import NULL_ARRAY, OK, Map, Status, Verbatim
from redpoll.sentinel import failover
from redpoll.sentinel.instance import (
    FO_STATE_NAMES, LINK_UP, SRI_FAILOVER_IN_PROGRESS, SRI_FORCE_FAILOVER, SRI_MASTER,
    SRI_O_DOWN, SRI_S_DOWN, SRI_SENTINEL, SRI_SLAVE, CreateError, mstime)

# What Redis Sentinel 7.0 answers to (COMMAND COUNT is 15 there).
SENTINEL_COMMANDS = {b"acl", b"auth", b"client", b"command", b"hello", b"info", b"ping",
                     b"psubscribe", b"publish", b"punsubscribe", b"role", b"sentinel",
                     b"shutdown", b"subscribe", b"unsubscribe"}

G = "sentinel"


def _s(c):
    return c.server.sentinel


def _b(v) -> bytes:
    if isinstance(v, bytes):
        return v
    return str(v).encode("utf-8", "surrogateescape")


def _arg(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


# -- reply shapes ------------------------------------------------------------------

def instance_reply(s, ri) -> Map:
    """One instance as SENTINEL MASTER / REPLICAS / SENTINELS show it."""
    now = mstime()
    link = ri.link
    m = [("name", ri.name), ("ip", s.announce_addr(ri.addr)), ("port", ri.addr.port),
         ("runid", ri.runid or ""), ("flags", ri.flag_string()),
         ("link-pending-commands", link.pending_commands),
         ("link-refcount", link.refcount)]
    if ri.flags & SRI_FAILOVER_IN_PROGRESS:
        m.append(("failover-state", FO_STATE_NAMES[ri.failover_state]))
    m += [("last-ping-sent", now - link.act_ping_time if link.act_ping_time else 0),
          ("last-ok-ping-reply", now - link.last_avail_time),
          ("last-ping-reply", now - link.last_pong_time)]
    if ri.flags & SRI_S_DOWN:
        m.append(("s-down-time", now - ri.s_down_since_time))
    if ri.flags & SRI_O_DOWN:
        m.append(("o-down-time", now - ri.o_down_since_time))
    m.append(("down-after-milliseconds", ri.down_after_period))
    if ri.flags & (SRI_MASTER | SRI_SLAVE):
        m += [("info-refresh", now - ri.info_refresh if ri.info_refresh else 0),
              ("role-reported", "master" if ri.role_reported == SRI_MASTER else "slave"),
              ("role-reported-time", now - ri.role_reported_time)]
    if ri.flags & SRI_MASTER:
        m += [("config-epoch", ri.config_epoch), ("num-slaves", len(ri.slaves)),
              ("num-other-sentinels", len(ri.sentinels)), ("quorum", ri.quorum),
              ("failover-timeout", ri.failover_timeout),
              ("parallel-syncs", ri.parallel_syncs)]
        if ri.notification_script:
            m.append(("notification-script", ri.notification_script))
        if ri.client_reconfig_script:
            m.append(("client-reconfig-script", ri.client_reconfig_script))
    if ri.flags & SRI_SLAVE:
        m += [("master-link-down-time", ri.master_link_down_time),
              ("master-link-status", "ok" if ri.slave_master_link_status == LINK_UP
               else "err"),
              ("master-host", ri.slave_master_host or "?"),
              ("master-port", ri.slave_master_port),
              ("slave-priority", ri.slave_priority),
              ("slave-repl-offset", ri.slave_repl_offset),
              ("replica-announced", ri.replica_announced)]
    if ri.flags & SRI_SENTINEL:
        m += [("last-hello-message", now - ri.last_hello_time),
              ("voted-leader", ri.leader or "?"),
              ("voted-leader-epoch", ri.leader_epoch)]
    return Map([(_b(k), _b(v)) for k, v in m])


def _instances(s, table: dict) -> list:
    return [instance_reply(s, ri) for ri in table.values()
            if not (ri.flags & SRI_SLAVE and not ri.replica_announced)]


def _master(c, name: bytes):
    ri = _s(c).masters.get(_arg(name))
    if ri is None:
        raise RedisError("ERR No such master with that name")
    return ri


# -- SENTINEL ----------------------------------------------------------------------

T.container("sentinel", -2, group=G, flags="admin only_sentinel",
            summary="A container for Redis Sentinel commands.", since="2.8.4")

_HELP = [
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
]


def _sub(name, arity, flags="admin", summary="", since="2.8.4"):
    return subcommand("sentinel", name, arity, flags, group=G, summary=summary,
                      since=since)


@_sub("help", 2, "loading stale", "Returns helpful text about the different subcommands.",
      "6.2.0")
def s_help(c, argv):
    return help_reply(argv, _HELP)


@_sub("masters", 2, summary="Returns a list of monitored masters.")
def s_masters(c, argv):
    s = _s(c)
    return _instances(s, s.masters)


@_sub("master", 3, summary="Returns the state of a master.")
def s_master(c, argv):
    return instance_reply(_s(c), _master(c, argv[2]))


@_sub("replicas", 3, summary="Returns a list of the monitored replicas.", since="5.0.0")
def s_replicas(c, argv):
    return _instances(_s(c), _master(c, argv[2]).slaves)


@_sub("slaves", 3, summary="Returns a list of the monitored replicas.")
def s_slaves(c, argv):
    return s_replicas(c, argv)


@_sub("sentinels", 3, summary="Returns a list of Sentinel instances.")
def s_sentinels(c, argv):
    return _instances(_s(c), _master(c, argv[2]).sentinels)


@_sub("myid", 2, summary="Returns the Sentinel instance ID.", since="6.2.0")
def s_myid(c, argv):
    return _s(c).myid.encode()


@_sub("is-master-down-by-addr", 6,
      summary="Determines whether a master Redis instance is down.")
def s_is_master_down(c, argv):
    from redpoll.sentinel.election import vote_leader
    s = _s(c)
    port = parse_int(argv[3])
    req_epoch = parse_int(argv[4])
    ri = s.by_addr_and_runid(s.masters, _arg(argv[2]), port, None)
    isdown = bool(not s.tilt and ri is not None and ri.flags & SRI_S_DOWN
                  and ri.flags & SRI_MASTER)
    leader, leader_epoch = None, 0
    if ri is not None and ri.flags & SRI_MASTER and argv[5] != b"*":
        leader, leader_epoch = vote_leader(s, ri, req_epoch, _arg(argv[5]))
    return [1 if isdown else 0, (leader or "*").encode(), leader_epoch]


@_sub("reset", 3, summary="Resets Redis masters by name matching a pattern.")
def s_reset(c, argv):
    from redpoll.sentinel.monitor import GENERATE_EVENT
    return _s(c).reset_by_pattern(argv[2], GENERATE_EVENT)


@_sub("get-master-addr-by-name", 3,
      summary="Returns the port and address of a master Redis instance.")
def s_get_master_addr(c, argv):
    s = _s(c)
    ri = s.masters.get(_arg(argv[2]))
    if ri is None:
        return NULL_ARRAY
    a = failover.current_master_addr(ri)
    return [s.announce_addr(a).encode(), str(a.port).encode()]


@_sub("failover", 3, summary="Forces a Sentinel failover.")
def s_failover(c, argv):
    s = _s(c)
    ri = _master(c, argv[2])
    if ri.flags & SRI_FAILOVER_IN_PROGRESS:
        raise RedisError("INPROG Failover already in progress")
    if failover.select_slave(s, ri) is None:
        raise RedisError("NOGOODSLAVE No suitable replica to promote")
    log.warning(f"Executing user requested FAILOVER of '{ri.name}'")
    failover.start_failover(s, ri)
    ri.flags |= SRI_FORCE_FAILOVER
    return OK


@_sub("pending-scripts", 2, summary="Returns information about pending scripts.")
def s_pending_scripts(c, argv):
    return _s(c).scripts.pending_reply()


@_sub("monitor", 6, summary="Starts monitoring.")
def s_monitor(c, argv):
    s = _s(c)
    quorum = parse_int(argv[5], "ERR Invalid quorum")
    port = parse_int(argv[4], "ERR Invalid port")
    if quorum <= 0:
        raise RedisError("ERR Quorum must be 1 or greater.")
    host = _arg(argv[3])
    try:
        s.new_addr(host, 0)
    except CreateError:
        raise RedisError("ERR Invalid IP address or hostname specified")
    try:
        ri = s.create_instance(_arg(argv[2]), SRI_MASTER, host, port, quorum, None)
    except CreateError as e:
        raise RedisError(f"ERR {e}")
    s.flush_config()
    s.event(WARNING, "+monitor", ri, f"%@ quorum {ri.quorum}")
    return OK


@_sub("flushconfig", 2, summary="Rewrites the Sentinel configuration file.", since="2.8.4")
def s_flushconfig(c, argv):
    _s(c).flush_config()
    return OK


@_sub("remove", 3, summary="Stops monitoring.")
def s_remove(c, argv):
    s = _s(c)
    ri = _master(c, argv[2])
    s.event(WARNING, "-monitor", ri, "%@")
    del s.masters[ri.name]
    s.release_instance(ri)
    s.flush_config()
    return OK


@_sub("ckquorum", 3, summary="Checks for a Redis Sentinel quorum.")
def s_ckquorum(c, argv):
    ri = _master(c, argv[2])
    voters = len(ri.sentinels) + 1
    usable = 1 + sum(1 for s in ri.sentinels.values()
                     if not s.flags & (SRI_S_DOWN | SRI_O_DOWN))
    noquorum = usable < ri.quorum
    noauth = usable < voters // 2 + 1
    if not noquorum and not noauth:
        return Status(f"OK {usable} usable Sentinels. Quorum and failover "
                      f"authorization can be reached")
    e = f"NOQUORUM {usable} usable Sentinels. "
    if noquorum:
        e += "Not enough available Sentinels to reach the specified quorum for this master"
    if noauth:
        if noquorum:
            e += ". "
        e += "Not enough available Sentinels to reach the majority and authorize a failover"
    raise RedisError(e)


def _positive(v: bytes) -> int | None:
    try:
        n = parse_int(v)
    except RedisError:
        return None
    return n


_SET_INT = {"down-after-milliseconds": "down_after_period",
            "failover-timeout": "failover_timeout", "parallel-syncs": "parallel_syncs",
            "quorum": "quorum"}


@_sub("set", -5, summary="Changes the configuration of a monitored master.")
def s_set(c, argv):
    from redpoll.sentinel.config import propagate_down_after
    s = _s(c)
    ri = _master(c, argv[2])
    changes = 0
    err = None
    j = 3
    n = len(argv)
    while j < n:
        option = _arg(argv[j])
        opt = option.lower()
        more = n - 1 - j
        old_j = j
        redacted = False
        if opt in _SET_INT and more > 0:
            j += 1
            v = _positive(argv[j])
            if v is None or v <= 0:
                err = f"ERR Invalid argument '{_arg(argv[j])}' for SENTINEL SET '{option}'"
                break
            setattr(ri, _SET_INT[opt], v)
            if opt == "down-after-milliseconds":
                propagate_down_after(ri)
        elif opt == "master-reboot-down-after-period" and more > 0:
            j += 1
            v = _positive(argv[j])
            if v is None or v < 0:
                err = f"ERR Invalid argument '{_arg(argv[j])}' for SENTINEL SET '{option}'"
                break
            ri.master_reboot_down_after_period = v
        elif opt in ("notification-script", "client-reconfig-script") and more > 0:
            j += 1
            value = _arg(argv[j])
            if s.deny_scripts_reconfig:
                err = ("ERR Reconfiguration of scripts path is denied for security "
                       "reasons. Check the deny-scripts-reconfig configuration directive "
                       "in your Sentinel configuration")
                break
            if value and not os.access(value, os.X_OK):
                err = ("ERR Notification script seems non existing or non executable"
                       if opt == "notification-script" else
                       "ERR Client reconfiguration script seems non existing or "
                       "non executable")
                break
            setattr(ri, opt.replace("-", "_"), value or None)
        elif opt in ("auth-pass", "auth-user") and more > 0:
            j += 1
            value = _arg(argv[j])
            setattr(ri, opt.replace("-", "_"), value or None)
            redacted = opt == "auth-pass"
        elif opt == "rename-command" and more > 1:
            old, new = _arg(argv[j + 1]), _arg(argv[j + 2])
            j += 2
            if not old or not new:
                bad = argv[j - 1] if new else argv[j]
                err = f"ERR Invalid argument '{_arg(bad)}' for SENTINEL SET '{option}'"
                break
            ri.renamed_commands.pop(old.lower(), None)
            if old.lower() != new.lower():
                ri.renamed_commands[old.lower()] = new
        else:
            err = f"ERR Unknown option or number of arguments for SENTINEL SET '{option}'"
            break
        changes += 1
        args = [_arg(a) for a in argv[old_j:j + 1]]
        if len(args) == 2:
            text = f"{args[0]} {'******' if redacted else args[1]}"
        elif len(args) == 3:
            text = " ".join(args)
        else:
            text = args[0]
        s.event(WARNING, "+set", ri, f"%@ {text}")
        j += 1
    if changes and not s.flush_config():
        raise RedisError("ERR Failed to save Sentinel new configuration on disk")
    if err:
        raise RedisError(err)
    return OK


@_sub("config", -3, summary="Configures Redis Sentinel.", since="6.2.0")
def s_config(c, argv):
    s = _s(c)
    sub = argv[2].lower()
    if sub == b"set" and len(argv) == 5:
        return _config_set(s, argv[3], argv[4])
    if sub == b"get" and len(argv) == 4:
        return _config_get(s, argv[3])
    raise RedisError("ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> "
                     "are supported.")


def _config_set(s, name: bytes, val: bytes):
    o = _arg(name).lower()
    v = _arg(val)
    drop = False

    def bad():
        return RedisError(f"ERR Invalid value '{v}' to SENTINEL CONFIG SET '{_arg(name)}'")

    if o in ("resolve-hostnames", "announce-hostnames"):
        if v.lower() not in ("yes", "no"):
            raise bad()
        setattr(s, o.replace("-", "_"), v.lower() == "yes")
    elif o == "announce-ip":
        s.announce_ip = v or None
    elif o == "announce-port":
        n = _positive(val)
        if n is None or n < 0 or n > 65535:
            raise bad()
        s.announce_port = n
    elif o == "sentinel-user":
        s.sentinel_auth_user = v or None
        drop = True
    elif o == "sentinel-pass":
        s.sentinel_auth_pass = v or None
        drop = True
    else:
        raise RedisError(f"ERR Invalid argument '{_arg(name)}' to SENTINEL CONFIG SET")
    s.flush_config()
    if drop:
        for m in s.masters.values():
            for si in m.sentinels.values():
                si.link.close_all()
    return OK


def _config_get(s, pattern: bytes):
    from redpoll import glob
    items = [("resolve-hostnames", "yes" if s.resolve_hostnames else "no"),
             ("announce-hostnames", "yes" if s.announce_hostnames else "no"),
             ("announce-ip", s.announce_ip or ""),
             ("announce-port", str(s.announce_port)),
             ("sentinel-user", s.sentinel_auth_user or ""),
             ("sentinel-pass", s.sentinel_auth_pass or "")]
    return Map([(k.encode(), v.encode()) for k, v in items
                if glob.match(pattern, k.encode(), nocase=True)])


@_sub("info-cache", -3, summary="Returns the cached INFO replies from the deployment's "
      "instances.", since="3.2.0")
def s_info_cache(c, argv):
    s = _s(c)
    now = mstime()
    masters = {}
    for name in argv[2:]:
        ri = s.masters.get(_arg(name))
        if ri is not None:
            masters[ri.name] = ri
    out = []
    for ri in masters.values():
        entries = [[now - ri.info_refresh if ri.info_refresh else 0,
                    ri.info.encode() if ri.info is not None else None]]
        for sl in ri.slaves.values():
            entries.append([now - sl.info_refresh if ri.info_refresh else 0,
                            sl.info.encode() if sl.info is not None else None])
        out += [ri.name.encode(), entries]
    return out


@_sub("simulate-failure", -3, summary="Simulates failover scenarios.", since="3.2.0")
def s_simulate_failure(c, argv):
    s = _s(c)
    s.simfailure_flags = 0
    for a in argv[2:]:
        o = a.lower()
        if o == b"crash-after-election":
            s.simfailure_flags |= failover.SIMFAILURE_CRASH_AFTER_ELECTION
            log.warning("Failure simulation: this Sentinel will crash after being "
                        "successfully elected as failover leader")
        elif o == b"crash-after-promotion":
            s.simfailure_flags |= failover.SIMFAILURE_CRASH_AFTER_PROMOTION
            log.warning("Failure simulation: this Sentinel will crash after promoting "
                        "the selected replica to master")
        elif o == b"help":
            return [b"crash-after-election", b"crash-after-promotion"]
        else:
            raise RedisError("ERR Unknown failure simulation specified")
    return OK


_DEBUG_NAMES = ["info-period", "ping-period", "ask-period", "publish-period",
                "default-down-after", "default-failover-timeout", "tilt-trigger",
                "tilt-period", "slave-reconf-timeout", "min-link-reconnect-period",
                "election-timeout", "script-max-runtime", "script-retry-delay"]


@_sub("debug", -2, summary="Lists or updates the current configurable parameters of "
      "Redis Sentinel.", since="7.0.0")
def s_debug(c, argv):
    s = _s(c)
    if len(argv) == 2:
        return Map([(k.upper().encode(), str(s.p[k]).encode()) for k in _DEBUG_NAMES])
    j = 2
    while j < len(argv):
        option = _arg(argv[j])
        if option.lower() in s.p and j + 1 < len(argv):
            j += 1
            v = _positive(argv[j])
            if v is None or v <= 0:
                raise RedisError(f"ERR Invalid argument '{_arg(argv[j])}' for "
                                 f"SENTINEL SET '{option}'")
            s.p[option.lower()] = v
        else:
            raise RedisError(f"ERR Unknown option or number of arguments for "
                             f"SENTINEL SET '{option}'")
        j += 1
    return OK


# -- INFO / ROLE / PUBLISH in sentinel mode ------------------------------------------

def sentinel_info(c, argv):
    try:
        from redpoll.info import SECTIONS
    except ImportError:       # INFO's sections before they moved to redpoll.info
        from redpoll.commands.server import SECTIONS
    s = _s(c)
    if len(argv) > 2:
        raise RedisError(SYNTAX)
    section = argv[1].decode("utf-8", "replace").lower() if len(argv) == 2 else None
    every = section in (None, "all", "default")
    parts = []
    for name, title in (("server", "Server"), ("clients", "Clients"),
                        ("stats", "Stats"), ("cpu", "CPU")):
        if every or section == name:
            parts.append([f"# {title}"] + SECTIONS[name](c.server))
    if every or section == "sentinel":
        lines = ["# Sentinel", f"sentinel_masters:{len(s.masters)}",
                 f"sentinel_tilt:{int(s.tilt)}",
                 "sentinel_tilt_since_seconds:%d" % (
                     (mstime() - s.tilt_start_time) // 1000 if s.tilt else -1),
                 f"sentinel_running_scripts:{s.scripts.running}",
                 f"sentinel_scripts_queue_length:{len(s.scripts.queue)}",
                 f"sentinel_simulate_failure_flags:{s.simfailure_flags}"]
        for i, ri in enumerate(s.masters.values()):
            status = "odown" if ri.flags & SRI_O_DOWN else (
                "sdown" if ri.flags & SRI_S_DOWN else "ok")
            lines.append(f"master{i}:name={ri.name},status={status},"
                         f"address={s.announce_addr(ri.addr)}:{ri.addr.port},"
                         f"slaves={len(ri.slaves)},sentinels={len(ri.sentinels) + 1}")
        parts.append(lines)
    text = "\r\n".join("\r\n".join(p) + "\r\n" for p in parts)
    return Verbatim(text.encode())


def sentinel_role(c, argv):
    return [b"sentinel", [name.encode() for name in _s(c).masters]]


def sentinel_publish(c, argv):
    if argv[1] != b"__sentinel__:hello":
        raise RedisError("ERR Only HELLO messages are accepted by Sentinel instances.")
    _s(c).process_hello(argv[2].decode("utf-8", "replace"))
    return 1


def restrict_table() -> None:
    """Sentinel mode: keep only Redis Sentinel's commands; swap in the
    sentinel INFO, ROLE and PUBLISH."""
    T.load_all()
    for name in list(T.TABLE):
        if name not in SENTINEL_COMMANDS:
            del T.TABLE[name]
    for name, fn in ((b"info", sentinel_info), (b"role", sentinel_role),
                     (b"publish", sentinel_publish)):
        cmd = T.TABLE.get(name)
        if cmd is not None:
            new = copy.copy(cmd)
            new.handler = fn
            T.TABLE[name] = new
    for i, cmd in enumerate(T.all_commands()):
        cmd.id = i
    T.rebuild_dispatch()
