"""``redpoll cluster plan``: the same deployment for real hosts, as files.

    redpoll cluster plan --primary 10.0.0.1 --replica 10.0.0.2 --replica 10.0.0.3 \\
        --sentinel 10.0.0.1 --sentinel 10.0.0.2 --sentinel 10.0.0.3 [--password P]

writes, into ``--out`` (default ./redpoll-plan), one directory per host with
its redis.conf and/or sentinel.conf and a systemd unit per process (like
Debian's redis-server.service / redis-sentinel.service, Type=notify: the
processes run with ``supervised systemd`` and send READY=1), the seed's
haproxy.cfg listing every server, and a README.md of what to copy where.
Nothing is contacted: the hosts need not exist yet.
"""

from __future__ import annotations

import secrets
import shutil
from collections import defaultdict
from pathlib import Path

from redpoll.cluster import configs
from redpoll.cluster.layout import ClusterError

CONF_DIR = "/etc/redpoll"


def add_arguments(p) -> None:
    p.add_argument("--primary", required=True, metavar="HOST[:PORT]",
                   help="the first primary (port 6379 by default)")
    p.add_argument("--replica", action="append", default=[], metavar="HOST[:PORT]")
    p.add_argument("--sentinel", action="append", default=[], metavar="HOST[:PORT]",
                   help="a sentinel (port 26379 by default); use three or more")
    p.add_argument("--password", default=None, help="default: a generated one")
    p.add_argument("--name", default="mymaster", help="the Sentinel master name")
    p.add_argument("--out", default="./redpoll-plan", help="where to write the files")
    p.add_argument("--data-dir", default="/var/lib/redpoll/{kind}",
                   help="the working directory on each host; {host}, {port} and {kind} "
                        "(server/sentinel) are filled in (default /var/lib/redpoll/{kind})")
    p.add_argument("--down-after", type=int, default=5000, metavar="MS")
    p.add_argument("--failover-timeout", type=int, default=10000, metavar="MS")
    p.add_argument("--haproxy-port", type=int, default=6380,
                   help="the port HAProxy listens on (default 6380, as in the seed)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")


def parse_addr(text: str, default_port: int) -> tuple[str, int]:
    """HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address."""
    host, port = text, default_port
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        port = int(port)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        raise ClusterError(f"bad port in '{text}': use HOST or HOST:PORT") from None
    if not host:
        raise ClusterError(f"no host in '{text}'")
    return host, port


def _exe(name: str) -> str:
    return shutil.which(name) or f"/usr/local/bin/{name}"


def main(args) -> int:
    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()) and not args.force:
        raise ClusterError(f"{out} is not empty; choose another --out or pass --force")
    primary = parse_addr(args.primary, 6379)
    replicas = [parse_addr(r, 6379) for r in args.replica]
    sentinels = [parse_addr(s, 26379) for s in args.sentinel]
    servers = [primary] + replicas
    for group, what in ((servers, "server"), (sentinels, "sentinel")):
        if len(set(group)) != len(group):
            raise ClusterError(f"the same {what} address is given twice")
    if sentinels and len(sentinels) < 3:
        print("note: with fewer than 3 sentinels a failover needs every one of them; "
              "use 3 or more on different hosts")
    password = args.password or secrets.token_hex(16)
    configs.check_password(password)
    quorum = configs.quorum_for(len(sentinels)) if sentinels else 0
    per_host: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for s in servers:
        per_host[s[0]].append(("server", s[1]))
    for s in sentinels:
        per_host[s[0]].append(("sentinel", s[1]))

    out.mkdir(parents=True, exist_ok=True)
    readme = [f"# redpoll deployment '{args.name}'", "",
              f"Primary {primary[0]}:{primary[1]}, replicas "
              f"{', '.join(f'{h}:{p}' for h, p in replicas) or 'none'}, sentinels "
              f"{', '.join(f'{h}:{p}' for h, p in sentinels) or 'none'} (quorum {quorum}).",
              f"Password: `{password}` (in every file below: keep them private).", "",
              "## What to copy where", ""]
    for host, procs in per_host.items():
        hdir = out / host.replace(":", "_")
        hdir.mkdir(exist_ok=True)
        readme += [f"### {host}", "", "```sh",
                   "pip install redpoll        # or: pip install /path/to/a/redpoll/checkout",
                   "id redis || sudo useradd --system --home-dir /var/lib/redpoll redis",
                   f"sudo mkdir -p {CONF_DIR}"]
        for kind, port in procs:
            many = sum(1 for k, _ in procs if k == kind) > 1
            stem = "redis" if kind == "server" else "sentinel"
            conf_name = f"{stem}-{port}.conf" if many else f"{stem}.conf"
            unit_name = f"redpoll-{kind}{f'-{port}' if many else ''}.service"
            data_dir = args.data_dir.format(host=host, port=port, kind=kind)
            bind = f"{host} 127.0.0.1" if host not in ("127.0.0.1", "localhost") else "127.0.0.1"
            if kind == "server":
                text = configs.redis_conf(
                    port=port, bind=bind, directory=data_dir, password=password,
                    replicaof=None if (host, port) == primary else primary,
                    supervised="systemd", title=f"redpoll-server on {host}:{port}")
            else:
                text = configs.sentinel_conf(
                    port=port, bind=bind, directory=data_dir, name=args.name,
                    primary=primary, quorum=quorum, password=password,
                    down_after_ms=args.down_after, failover_timeout_ms=args.failover_timeout,
                    announce_ip=host, supervised="systemd",
                    title=f"redpoll-sentinel on {host}:{port}")
            (hdir / conf_name).write_text(text)
            (hdir / conf_name).chmod(0o640)
            (hdir / unit_name).write_text(configs.systemd_unit(
                kind=kind, exec_start=_exe(f"redpoll-{kind}"),
                config=f"{CONF_DIR}/{conf_name}"))
            readme += [f"sudo mkdir -p {data_dir} && sudo chown redis:redis {data_dir}",
                       f"sudo cp {conf_name} {CONF_DIR}/ && sudo chown redis:redis "
                       f"{CONF_DIR}/{conf_name}",
                       f"sudo cp {unit_name} /etc/systemd/system/",
                       f"sudo systemctl daemon-reload && sudo systemctl enable --now {unit_name}"]
        readme += ["```", ""]
    (out / "haproxy.cfg").write_text(configs.haproxy_cfg(
        bind=f"*:{args.haproxy_port}", servers=servers, password=password))
    readme += ["Start the primary first, then the replicas, then the sentinels (a sentinel "
               "rewrites its sentinel.conf, so the file must be writable by its user).", "",
               "Check: `redis-cli -h {0} -p {1} -a PASSWORD info replication` shows "
               "`connected_slaves:{2}`; `redis-cli -h SENTINEL -p 26379 sentinel master {3}` "
               "shows `num-other-sentinels:{4}`.".format(primary[0], primary[1], len(replicas),
                                                          args.name, max(0, len(sentinels) - 1)),
               "", "## HAProxy (optional)", "",
               f"Copy `haproxy.cfg` into /etc/haproxy/ on the HAProxy host; clients then "
               f"connect to it on port {args.haproxy_port} and always reach the primary.", "",
               "## Clients", "", "```python", "from redis.sentinel import Sentinel",
               "sentinel = Sentinel([{}], socket_timeout=0.5)".format(
                   ", ".join(f'("{h}", {p})' for h, p in sentinels)),
               f"r = sentinel.master_for({args.name!r}, password={password!r})", "```", ""]
    (out / "README.md").write_text("\n".join(readme))
    print(f"wrote the plan into {out}:")
    for f in sorted(out.rglob("*")):
        if f.is_file():
            print(f"  {f.relative_to(out)}")
    print(f"password: {password}")
    print(f"next: read {out / 'README.md'} and copy each host's directory to it")
    return 0
