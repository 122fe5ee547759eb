"""The files a deployment needs, written the way the seeds write them.

``redis.conf`` (requirepass + masterauth on every node, ``replicaof`` on
replicas), ``sentinel.conf`` (``sentinel monitor NAME HOST PORT QUORUM``,
``auth-pass``, the seed's timeouts), the seed's ``haproxy.cfg`` (a TCP check
that routes to whichever server answers ``role:master``) and systemd units
like Debian's redis-server.service. Used by ``up`` (one machine) and ``plan``
(real hosts).
"""

from __future__ import annotations

import re

from redpoll.cluster.layout import ClusterError
from redpoll.protocol.quoting import repr_arg

# characters a config value may hold unquoted (redis.conf, sentinel.conf)
_PLAIN = re.compile(r"[A-Za-z0-9!$%&()*+,./:;<=>?@^_`{|}~\[\]-]+\Z")


def check_password(password: str) -> None:
    """Refuse a password Sentinel cannot keep: it writes ``sentinel auth-pass``
    unquoted when it rewrites sentinel.conf (as Redis 7.0 does), so whitespace,
    quotes or control characters would make the file unreadable at its next
    start."""
    bad = [ch for ch in password if ch.isspace() or ch in "\"'" or ord(ch) < 32 or ord(ch) == 127]
    if bad:
        raise ClusterError(f"the password cannot contain {repr(bad[0])}: Sentinel writes it "
                           "unquoted into sentinel.conf (as Redis does) and could not read it "
                           "back; choose one without spaces, quotes or control characters")


def conf_arg(value: str) -> str:
    """A value for redis.conf / sentinel.conf: as is when plain, else quoted
    and escaped the way Redis's config parser (sdssplitargs) reads it back."""
    return value if _PLAIN.match(value) else repr_arg(value.encode())


def quorum_for(sentinels: int) -> int:
    """A majority of the sentinels."""
    return sentinels // 2 + 1


def redis_conf(*, port: int, bind: str, directory: str, password: str,
               replicaof: tuple[str, int] | None = None, supervised: str = "no",
               pidfile: str | None = None, logfile: str = "", title: str = "") -> str:
    lines = [f"# {title}" if title else "# redpoll-server",
             "# Written by `redpoll cluster`; Sentinel rewrites the replicaof line",
             "# when roles change.",
             f"port {port}",
             f"bind {bind}",
             "protected-mode no",
             f"dir {conf_arg(directory)}",
             "dbfilename dump.rdb",
             "save 3600 1 300 100 60 10000",
             "appendonly no",
             f"supervised {supervised}",
             f"logfile {conf_arg(logfile)}"]
    if pidfile:
        lines.append(f"pidfile {conf_arg(pidfile)}")
    if password:
        pw = conf_arg(password)
        lines += [f"requirepass {pw}", f"masterauth {pw}"]
    if replicaof:
        lines.append(f"replicaof {replicaof[0]} {replicaof[1]}")
    return "\n".join(lines) + "\n"


def sentinel_conf(*, port: int, bind: str, directory: str, name: str,
                  primary: tuple[str, int], quorum: int, password: str,
                  down_after_ms: int = 5000, failover_timeout_ms: int = 10000,
                  announce_ip: str | None = None, logfile: str = "",
                  supervised: str = "no", title: str = "") -> str:
    lines = [f"# {title}" if title else "# redpoll-sentinel",
             "# Written by `redpoll cluster`; the sentinel rewrites this file as it learns.",
             f"port {port}",
             f"bind {bind}",
             "protected-mode no",
             f"dir {conf_arg(directory)}",
             f"supervised {supervised}",
             f"logfile {conf_arg(logfile)}"]
    if announce_ip:
        lines.append(f"sentinel announce-ip {announce_ip}")
    lines.append(f"sentinel monitor {name} {primary[0]} {primary[1]} {quorum}")
    if password:
        lines.append(f"sentinel auth-pass {name} {conf_arg(password)}")
    lines += [f"sentinel down-after-milliseconds {name} {down_after_ms}",
              f"sentinel failover-timeout {name} {failover_timeout_ms}",
              f"sentinel parallel-syncs {name} 1"]
    return "\n".join(lines) + "\n"


def haproxy_cfg(*, bind: str, servers: list[tuple[str, int]], password: str) -> str:
    """The seed's haproxy.cfg (docs/sentinel/haproxy.cfg) with our bind address
    and servers, its timeouts and health check as written. The one addition is
    an AUTH step when there is a password: the seed's servers have none, and a
    server with requirepass answers the check's PING with -NOAUTH. Without a
    password the check section is the seed's, line for line (a test holds
    them equal). HAProxy's check timeout is then ``inter`` (1s) per check, and
    a server is marked down after 3 failed checks in a row (``fall``)."""
    auth = ""
    if re.fullmatch(r"[A-Za-z0-9._-]+", password):
        auth = f"    tcp-check send AUTH\\ {password}\\r\\n\n"
    elif password:      # spaces, quotes, '#'...: AUTH as a RESP command, any bytes
        pw = password.encode()
        resp = b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n" % (len(pw), pw)
        auth = f"    tcp-check send-binary {resp.hex()}\n"
    if auth:
        auth += "    tcp-check expect string +OK\n"
    lines = ["defaults REDIS",
             "    mode tcp",
             "    timeout connect 3s",
             "    timeout server 6s",
             "    timeout client 6s",
             "",
             "frontend ft_redis",
             f"    bind {bind} name redis",
             "    default_backend bk_redis",
             "",
             "backend bk_redis",
             "    option tcp-check",
             "    tcp-check connect"]
    text = "\n".join(lines) + "\n" + auth + "\n".join([
        "    tcp-check send PING\\r\\n",
        "    tcp-check expect string +PONG",
        "    tcp-check send info\\ replication\\r\\n",
        "    tcp-check expect string role:master",
        "    tcp-check send QUIT\\r\\n",
        "    tcp-check expect string +OK"]) + "\n"
    for i, (host, port) in enumerate(servers, 1):
        text += f"    server redis_{i} {host}:{port} check inter 1s\n"
    return text


def systemd_unit(*, kind: str, exec_start: str, config: str, user: str = "redis") -> str:
    """A unit like Debian's redis-server.service / redis-sentinel.service."""
    what = "redpoll-server" if kind == "server" else "redpoll-sentinel"
    return f"""[Unit]
Description=Advanced key-value store ({what})
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
ExecStart={exec_start} {config} --supervised systemd --daemonize no
TimeoutStartSec=90
TimeoutStopSec=60
Restart=on-failure
RestartSec=1
User={user}
Group={user}
LimitNOFILE=65535
UMask=007
PrivateTmp=yes
NoNewPrivileges=true

[Install]
WantedBy=multi-user.target
"""
