"""sentinel.conf: the ``sentinel ...`` directives and their rewrite.

Loading follows Redis: the global settings (announce-ip, myid, current-epoch
...) are applied first, then every ``sentinel monitor``, then the per-master
options, so a file may list them in any order. Errors are fatal, reported
with the line as Redis reports them.

After every state change the sentinel rewrites its file the way Redis does
(``rewriteConfig`` plus ``rewriteConfigSentinelOption``): the ordinary
directives through the config room's CONFIG REWRITE, then the ``sentinel``
lines, each kind of line (``sentinel monitor``, ``sentinel known-replica``
...) reusing the places that kind had in the old file and new ones appended
at the end; comments are kept.
"""

from __future__ import annotations

import os

from redpoll.config import FatalConfigError
from redpoll.config.rewrite import (SIGNATURE, join_lines, read_config_text, replace_file,
                                    rewrite_text)
from redpoll.log import log
from redpoll.protocol.request import split_args
from redpoll.protocol.quoting import repr_arg
from redpoll.sentinel.instance import (
    DEFAULT_PARALLEL_SYNCS, SRI_MASTER, SRI_SENTINEL, SRI_SLAVE, CreateError, atoi)

PRE_MONITOR = {"announce-ip", "announce-port", "deny-scripts-reconfig", "sentinel-user",
               "sentinel-pass", "current-epoch", "myid", "resolve-hostnames",
               "announce-hostnames"}


class SentinelConfigError(Exception):
    pass


def _yesno(v: str) -> int:
    v = v.lower()
    return 1 if v == "yes" else 0 if v == "no" else -1


# The yes/no switches, in the order CONFIG REWRITE writes them: name ->
# (Sentinel attribute, default, Redis's error for a value other than yes/no).
# A rewrite always writes a switch that is not at its default.
SWITCHES = {
    "deny-scripts-reconfig": ("deny_scripts_reconfig", True,
                              "Please specify yes or no for the deny-scripts-reconfig options."),
    "resolve-hostnames": ("resolve_hostnames", False,
                          "Please specify yes or no for the resolve-hostnames option."),
    "announce-hostnames": ("announce_hostnames", False,
                           "Please specify yes or no for the announce-hostnames option."),
}
# "sentinel <name> <value>" lines that set an attribute to a non-empty value
# (an empty one leaves it as it is).
_STRINGS = {"announce-ip": "announce_ip", "sentinel-user": "sentinel_auth_user",
            "sentinel-pass": "sentinel_auth_pass"}


def load(sentinel, cfg) -> None:
    """Apply ``cfg.sentinel_lines``; raise FatalConfigError as Redis would."""
    lines = cfg.sentinel_lines
    numbers = _line_numbers(cfg, len(lines))
    entries = list(zip(lines, numbers))
    pre = [e for e in entries if e[0] and e[0][0].lower() in PRE_MONITOR]
    mon = [e for e in entries if e[0] and e[0][0].lower() == "monitor"]
    post = [e for e in entries if e not in pre and e not in mon]
    for argv, (lineno, text) in pre + mon + post:
        err = handle(sentinel, argv)
        if err:
            from redpoll import REDIS_COMPAT_VERSION
            raise FatalConfigError(
                f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_COMPAT_VERSION}) ***\n"
                f"Reading the configuration file, at line {lineno}\n"
                f">>> '{text}'\n{err}")


def _line_numbers(cfg, n: int) -> list[tuple[int, str]]:
    """(line number, text) of each ``sentinel`` line of the main file."""
    found = []
    if cfg.file:
        try:
            with open(cfg.file, encoding="utf-8", errors="surrogateescape") as f:
                for i, raw in enumerate(f.read().split("\n"), 1):
                    line = raw.strip()
                    if line.lower().startswith("sentinel"):
                        argv = split_args(line.encode("utf-8", "surrogateescape"))
                        if argv and argv[0].lower() == b"sentinel":
                            found.append((i, line))
        except OSError:
            pass
    while len(found) < n:
        found.append((0, ""))
    return found[:n] if len(found) >= n else found


def handle(sentinel, argv: list[str]) -> str | None:
    """sentinelHandleConfiguration: None, or the error text."""
    if not argv:
        return "Unrecognized sentinel configuration statement."
    name = argv[0].lower()
    argc = len(argv)
    s = sentinel

    def master():
        return s.masters.get(argv[1])

    try:
        if name == "monitor" and argc == 5:
            quorum = atoi(argv[4])
            if quorum <= 0:
                return "Quorum must be 1 or greater."
            s.create_instance(argv[1], SRI_MASTER, argv[2], atoi(argv[3]), quorum, None)
        elif name in ("down-after-milliseconds", "failover-timeout", "parallel-syncs",
                      "notification-script", "client-reconfig-script", "auth-pass",
                      "auth-user", "config-epoch", "leader-epoch",
                      "master-reboot-down-after-period", "known-slave",
                      "known-replica", "rename-command") and argc >= 3:
            ri = master()
            if ri is None:
                return "No such master with specified name."
            if name == "down-after-milliseconds" and argc == 3:
                ri.down_after_period = atoi(argv[2])
                if ri.down_after_period <= 0:
                    return "negative or zero time parameter."
                propagate_down_after(ri)
            elif name == "failover-timeout" and argc == 3:
                ri.failover_timeout = atoi(argv[2])
                if ri.failover_timeout <= 0:
                    return "negative or zero time parameter."
            elif name == "parallel-syncs" and argc == 3:
                ri.parallel_syncs = atoi(argv[2])
            elif name == "notification-script" and argc == 3:
                if not os.access(argv[2], os.X_OK):
                    return "Notification script seems non existing or non executable."
                ri.notification_script = argv[2]
            elif name == "client-reconfig-script" and argc == 3:
                if not os.access(argv[2], os.X_OK):
                    return ("Client reconfiguration script seems non existing or "
                            "non executable.")
                ri.client_reconfig_script = argv[2]
            elif name == "auth-pass" and argc == 3:
                ri.auth_pass = argv[2]
            elif name == "auth-user" and argc == 3:
                ri.auth_user = argv[2]
            elif name == "config-epoch" and argc == 3:
                ri.config_epoch = atoi(argv[2])
                s.current_epoch = max(s.current_epoch, ri.config_epoch)
            elif name == "leader-epoch" and argc == 3:
                ri.leader_epoch = atoi(argv[2])
            elif name == "master-reboot-down-after-period" and argc == 3:
                ri.master_reboot_down_after_period = atoi(argv[2])
                if ri.master_reboot_down_after_period < 0:
                    return "negative time parameter."
            elif name in ("known-slave", "known-replica") and argc == 4:
                s.create_instance(None, SRI_SLAVE, argv[2], atoi(argv[3]), ri.quorum, ri)
            elif name == "rename-command" and argc == 4:
                if argv[2].lower() in ri.renamed_commands:
                    return "Same command renamed multiple times with rename-command."
                ri.renamed_commands[argv[2].lower()] = argv[3]
            else:
                return "Unrecognized sentinel configuration statement."
        elif name == "known-sentinel" and argc in (4, 5):
            if argc == 5:
                ri = master()
                if ri is None:
                    return "No such master with specified name."
                si = s.create_instance(argv[4], SRI_SENTINEL, argv[2], atoi(argv[3]),
                                       ri.quorum, ri)
                si.runid = argv[4]
                s.try_connection_sharing(si)
        elif name == "current-epoch" and argc == 2:
            s.current_epoch = max(s.current_epoch, atoi(argv[1]))
        elif name == "myid" and argc == 2:
            if len(argv[1]) != 40:
                return "Malformed Sentinel id in myid option."
            s.myid = argv[1]
        elif name in _STRINGS and argc == 2:
            if argv[1]:
                setattr(s, _STRINGS[name], argv[1])
        elif name == "announce-port" and argc == 2:
            s.announce_port = atoi(argv[1])
        elif name in SWITCHES and argc == 2:
            attr, _default, error = SWITCHES[name]
            v = _yesno(argv[1])
            if v < 0:
                return error
            setattr(s, attr, bool(v))
        else:
            return "Unrecognized sentinel configuration statement."
    except CreateError as e:
        return str(e)
    return None


def propagate_down_after(master) -> None:
    for ri in list(master.slaves.values()) + list(master.sentinels.values()):
        ri.down_after_period = master.down_after_period


# -- rewrite ---------------------------------------------------------------------

def sentinel_lines(s) -> list[tuple[str, str, bool]]:
    """(kind, line, force) for every sentinel line, in Redis's order."""
    from redpoll.sentinel.failover import current_master_addr
    out = [("myid", f"sentinel myid {s.myid}", True)]
    for name, (attr, default, _error) in SWITCHES.items():
        on = getattr(s, attr)
        out.append((name, f"sentinel {name} {'yes' if on else 'no'}", on != default))
    p = s.p
    for m in s.masters.values():
        a = current_master_addr(m)
        n = m.name
        out.append(("monitor", f"sentinel monitor {n} {s.announce_addr(a)} {a.port} "
                               f"{m.quorum}", True))
        if m.down_after_period != p["default-down-after"]:
            out.append(("down-after-milliseconds",
                        f"sentinel down-after-milliseconds {n} {m.down_after_period}", True))
        if m.failover_timeout != p["default-failover-timeout"]:
            out.append(("failover-timeout",
                        f"sentinel failover-timeout {n} {m.failover_timeout}", True))
        if m.parallel_syncs != DEFAULT_PARALLEL_SYNCS:
            out.append(("parallel-syncs",
                        f"sentinel parallel-syncs {n} {m.parallel_syncs}", True))
        if m.notification_script:
            out.append(("notification-script",
                        f"sentinel notification-script {n} {m.notification_script}", True))
        if m.client_reconfig_script:
            out.append(("client-reconfig-script",
                        f"sentinel client-reconfig-script {n} {m.client_reconfig_script}",
                        True))
        if m.auth_pass:
            out.append(("auth-pass", f"sentinel auth-pass {n} {m.auth_pass}", True))
        if m.auth_user:
            out.append(("auth-user", f"sentinel auth-user {n} {m.auth_user}", True))
        if m.master_reboot_down_after_period:
            out.append(("master-reboot-down-after-period",
                        f"sentinel master-reboot-down-after-period {n} "
                        f"{m.master_reboot_down_after_period}", True))
        out.append(("config-epoch", f"sentinel config-epoch {n} {m.config_epoch}", True))
        out.append(("leader-epoch", f"sentinel leader-epoch {n} {m.leader_epoch}", True))
        for r in m.slaves.values():
            ra = m.addr if r.addr.same(a) else r.addr
            out.append(("known-replica",
                        f"sentinel known-replica {n} {s.announce_addr(ra)} {ra.port}", True))
        for r in m.sentinels.values():
            if r.runid is None:
                continue
            out.append(("known-sentinel", f"sentinel known-sentinel {n} "
                        f"{s.announce_addr(r.addr)} {r.addr.port} {r.runid}", True))
        for old, new in m.renamed_commands.items():
            out.append(("rename-command", f"sentinel rename-command {n} {old} {new}", True))
    out.append(("current-epoch", f"sentinel current-epoch {s.current_epoch}", True))
    if s.announce_ip:
        out.append(("announce-ip", "sentinel announce-ip "
                    + repr_arg(s.announce_ip.encode("utf-8", "surrogateescape")), True))
    if s.announce_port:
        out.append(("announce-port", f"sentinel announce-port {s.announce_port}", True))
    if s.sentinel_auth_user:
        out.append(("sentinel-user", f"sentinel sentinel-user {s.sentinel_auth_user}", True))
    if s.sentinel_auth_pass:
        out.append(("sentinel-pass", f"sentinel sentinel-pass {s.sentinel_auth_pass}", True))
    return out


def rewrite_sentinel_text(s, text: str) -> str:
    """Put the sentinel lines into ``text`` (already rewritten for the
    ordinary directives, sentinel lines kept in place)."""
    lines: list[str] = []
    slots: dict[str, list[int]] = {}
    has_signature = False
    raw_lines = text.split("\n")
    if text.endswith("\n"):
        raw_lines.pop()     # the split's artefact: ``text`` is whole lines
    for raw in raw_lines:
        line = raw.strip(" \t\r\n")
        if line == SIGNATURE:
            has_signature = True
        argv = None
        if line and not line.startswith("#"):
            argv = split_args(line.encode("utf-8", "surrogateescape"))
        if argv and len(argv) > 1 and argv[0].lower() == b"sentinel":
            kind = argv[1].decode("utf-8", "surrogateescape").lower()
            if kind == "known-slave":
                kind = "known-replica"
            slots.setdefault(kind, []).append(len(lines))
        lines.append(line)
    used: set[int] = set()
    for kind, line, force in sentinel_lines(s):
        free = slots.get(kind)
        if free:
            i = free.pop(0)
            lines[i] = line
            used.add(i)
        elif force:
            if not has_signature:
                lines.append(SIGNATURE)
                has_signature = True
            lines.append(line)
    # every remaining old sentinel line is obsolete
    for kind, free in slots.items():
        for i in free:
            lines[i] = ""
    return join_lines(lines)


def flush_config(s) -> bool:
    """sentinelFlushConfig: rewrite the config file with the current state."""
    cfg = s.server.config
    path = cfg.file
    if not path:
        return False
    try:
        acl_lines = getattr(s.server.acl, "rewrite_lines", None)
        text = rewrite_text(cfg, read_config_text(path), acl_lines() if acl_lines else None)
        replace_file(path, rewrite_sentinel_text(s, text))
    except OSError as e:
        log.warning("WARNING: Sentinel was not able to save the new configuration on "
                    f"disk!!!: {e.strerror}")
        return False
    log.notice("Sentinel new configuration saved on disk")
    return True
