"""``redpoll cluster``: a highly available deployment in one command.

    redpoll cluster up [--replicas 2] [--sentinels 3] [--port 6379] [--password P]
                       [--dir ./redpoll-cluster] [--haproxy]
    redpoll cluster status [--watch] [--json]
    redpoll cluster failover
    redpoll cluster kill primary | replica N | sentinel N | NODE
    redpoll cluster start [primary | replica N | sentinel N | NODE]
    redpoll cluster logs [NODE] [-n LINES] [-f]
    redpoll cluster down [--purge]
    redpoll cluster plan --primary HOST[:PORT] --replica HOST ... --sentinel HOST ...

The directory layout is in layout.py, the config files in configs.py, the
processes in processes.py, the status table in status.py, ``plan`` in plan.py.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import redis

from redpoll.cluster import configs, processes, status
from redpoll.cluster.layout import Cluster, ClusterError, Node, allocate_ports, port_free

DEFAULT_DIR = "./redpoll-cluster"
DEFAULT_PORT = 6379


# -- output ------------------------------------------------------------------------------

def _tty() -> bool:
    return sys.stdout.isatty()


@contextmanager
def step(what: str):
    """Show a long step: a spinner on a terminal, one line otherwise. Yields
    ``progress(detail)`` to show how far it is (e.g. a replica's sync)."""
    t0 = time.monotonic()
    if _tty():
        from rich.console import Console
        console = Console()
        with console.status(what + " ...") as spinner:
            yield lambda detail: spinner.update(f"{what} ... {detail}")
        console.print(f"[green]✓[/green] {what} ({time.monotonic() - t0:.1f}s)")
    else:
        print(f"{what} ...", flush=True)
        shown = {"detail": None, "at": 0.0}

        def progress(detail: str) -> None:       # a changed detail at most every 2 s
            now = time.monotonic()
            if detail != shown["detail"] and now - shown["at"] >= 2:
                print(f"  {detail}", flush=True)
                shown.update(detail=detail, at=now)
        yield progress
        print(f"  done ({time.monotonic() - t0:.1f}s)", flush=True)


def _dir_hint(cluster: Cluster) -> str:
    default = Path(DEFAULT_DIR).resolve()
    return "" if cluster.root == default else f" --dir {shlex.quote(str(cluster.root))}"


# -- roles ---------------------------------------------------------------------------------

def server_role(cluster: Cluster, node: Node) -> str | None:
    c = processes.client(cluster, node)
    try:
        return c.info("replication").get("role")
    except (redis.RedisError, OSError):
        return None
    finally:
        c.close()


def current_primary(cluster: Cluster) -> Node | None:
    """The running server that says role:master (the sentinels' view as a fallback)."""
    masters = [n for n in cluster.servers if server_role(cluster, n) == "master"]
    if len(masters) == 1:
        return masters[0]
    addr = sentinel_primary(cluster)
    for n in cluster.servers:
        if addr == (n.host, n.port):
            return n
    return masters[0] if masters else None


def sentinel_primary(cluster: Cluster) -> tuple[str, int] | None:
    for s in cluster.sentinels:
        c = processes.client(cluster, s)
        try:
            r = c.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", cluster.name)
            if r:
                return (r[0], int(r[1]))
        except (redis.RedisError, OSError):
            continue
        finally:
            c.close()
    return None


def resolve(cluster: Cluster, words: list[str]) -> Node:
    """``primary``, ``replica N``, ``sentinel N`` or a node name (``server-2``)."""
    if not words:
        raise ClusterError("say which node: primary, replica N, sentinel N or a node name")
    what = words[0].lower()
    if what == "primary" and len(words) == 1:
        p = current_primary(cluster)
        if p is None:
            raise ClusterError("no running primary found; see: redpoll cluster status"
                               + _dir_hint(cluster))
        return p
    if what in ("replica", "sentinel") and len(words) == 2:
        try:
            n = int(words[1])
        except ValueError:
            raise ClusterError(f"'{words[1]}' is not a number: use '{what} 1'") from None
        if what == "sentinel":
            return cluster.node(f"sentinel-{n}")
        primary = current_primary(cluster)
        replicas = [s for s in cluster.servers if s is not primary]
        if not replicas:
            raise ClusterError("this cluster has no replicas")
        if not 1 <= n <= len(replicas):
            raise ClusterError(f"there are {len(replicas)} replicas: use replica 1.."
                               f"{len(replicas)}")
        return replicas[n - 1]
    if len(words) == 1:
        return cluster.node(words[0])
    raise ClusterError(f"unknown node '{' '.join(words)}': use primary, replica N, "
                       "sentinel N or a node name (see redpoll cluster status)")


def _sync_state(info: dict) -> str:
    """A replica's progress: 'in sync', 'syncing 42% of 1.5 GB', 'connecting'."""
    if info.get("master_sync_in_progress"):
        total = int(info.get("master_sync_total_bytes", -1))
        if total > 0:
            return (f"syncing {float(info.get('master_sync_perc', 0)):.0f}% of "
                    f"{total / 1e6:.1f} MB")
        return f"syncing ({int(info.get('master_sync_read_bytes', 0)) / 1e6:.1f} MB read)"
    if info.get("master_link_status") == "up":
        return "in sync"
    return "connecting"


# -- waiting for health ------------------------------------------------------------------------

def wait_healthy(cluster: Cluster, timeout: float) -> Node:
    """Every running server answers, replication is online everywhere, and every
    sentinel agrees on the primary and sees every replica and sentinel."""
    root = cluster.root
    running = [n for n in cluster.nodes if processes.pid_of(n, root) is not None]
    with step(f"waiting for {len(running)} processes to answer"):
        for n in running:
            processes.wait_answering(cluster, n, timeout)
    servers = [n for n in cluster.servers if n in running]
    primary = None

    def one_primary():
        nonlocal primary
        masters = [n for n in servers if server_role(cluster, n) == "master"]
        if len(masters) == 1:
            primary = masters[0]
            return True
        return False
    with step("waiting for replication to come online") as progress:
        if not processes.wait_for(one_primary, timeout, 0.2):
            raise ClusterError("the servers do not agree on one primary; see: "
                               "redpoll cluster status" + _dir_hint(cluster))
        replicas = [n for n in servers if n is not primary]

        def replicated():
            states = []
            for r in replicas:
                c = processes.client(cluster, r)
                try:
                    info = c.info("replication")
                finally:
                    c.close()
                states.append((r, info))
            progress(", ".join(f"{r.name}: {_sync_state(i)}" for r, i in states))
            for r, info in states:
                if info.get("master_link_status") != "up" or \
                        int(info.get("master_port", 0)) != primary.port:
                    return False
            c = processes.client(cluster, primary)
            try:
                return c.info("replication").get("connected_slaves", 0) >= len(replicas)
            finally:
                c.close()
        if not processes.wait_for(replicated, timeout, 0.2):
            bad = "\n".join(status.render_text(status.gather(cluster)).splitlines()[2:])
            raise ClusterError(f"replication did not come online within {timeout:.0f}s:\n"
                               f"{bad}\nCheck the replicas' logs: redpoll cluster logs "
                               f"server-N{_dir_hint(cluster)}")
    sentinels = [n for n in cluster.sentinels if n in running]
    if sentinels:
        with step(f"waiting for {len(sentinels)} sentinels to see every node"):
            for s in sentinels:
                def sees(s=s):
                    c = processes.client(cluster, s)
                    try:
                        m = status._pairs(c.execute_command("SENTINEL", "MASTER", cluster.name))
                        return (int(m.get("port", 0)) == primary.port
                                and int(m.get("num-slaves", 0)) >= len(replicas)
                                and int(m.get("num-other-sentinels", 0)) >= len(sentinels) - 1)
                    finally:
                        c.close()
                if not processes.wait_for(sees, timeout, 0.2):
                    raise ClusterError(
                        f"{s.name} (port {s.port}) does not see the whole cluster after "
                        f"{timeout:.0f}s. Last lines of its log:\n"
                        f"{processes.tail(s.log_path(root))}")
    h = cluster.haproxy
    if h is not None and h in running:
        with step("waiting for HAProxy to route to the primary"):
            def routed():
                c = processes.client(cluster, h)
                try:
                    return c.info("replication").get("role") == "master"
                finally:
                    c.close()
            if not processes.wait_for(routed, timeout, 0.3):
                raise ClusterError(f"HAProxy on port {h.port} does not reach the primary; "
                                   f"see its log: redpoll cluster logs {h.name}"
                                   f"{_dir_hint(cluster)}")
    return primary


# -- up ---------------------------------------------------------------------------------------

# The layout flags of `up`: they shape a new cluster; on an existing directory
# they must match what it has (None = not given). flag -> (default, the value an
# existing cluster has).
LAYOUT_FLAGS = {
    "replicas": (2, lambda c: len(c.servers) - 1),
    "sentinels": (3, lambda c: len(c.sentinels)),
    "port": (None, lambda c: c.servers[0].port),
    "haproxy": (False, lambda c: c.haproxy is not None),
    "name": ("mymaster", lambda c: c.name),
    "down_after": (5000, lambda c: c.down_after_ms),
    "failover_timeout": (10000, lambda c: c.failover_timeout_ms),
}


def _flag(name: str, value) -> str:
    flag = "--" + name.replace("_", "-")
    return flag if value is True else f"{flag} {value}"


def check_layout(args, cluster: Cluster) -> None:
    """``up`` on an existing directory restarts the cluster as it is: a layout
    flag that asks for something else is refused (as redis-cli --cluster create
    refuses nodes that already hold a cluster), never silently ignored."""
    differ = [(name, getattr(args, name)) for name, (_, have) in LAYOUT_FLAGS.items()
              if getattr(args, name) not in (None, have(cluster))]
    if not differ:
        return
    asked = " ".join(_flag(n, v) for n, v in differ)
    has = (f"{len(cluster.servers) - 1} replicas, {len(cluster.sentinels)} sentinels, "
           f"primary first on port {cluster.servers[0].port}"
           + (", HAProxy" if cluster.haproxy else "")
           + f", master name {cluster.name}, down-after {cluster.down_after_ms} ms, "
           f"failover-timeout {cluster.failover_timeout_ms} ms")
    d = _dir_hint(cluster)
    raise ClusterError(
        f"{cluster.root} already holds a cluster ({has}); `up` restarts it as it is and "
        f"cannot apply {asked}. Run `redpoll cluster up{d}` without it, or start over "
        f"(this deletes the cluster's data): `redpoll cluster down --purge{d}` then "
        f"`redpoll cluster up{d} {asked}`.")


def _new_cluster(args, root: Path) -> Cluster:
    for name, (default, _) in LAYOUT_FLAGS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.replicas < 0 or args.sentinels < 0:
        raise ClusterError("--replicas and --sentinels must be 0 or more")
    # --password '' is the seeds' setup: no password (the nodes bind 127.0.0.1 only)
    password = args.password if args.password is not None else secrets.token_hex(16)
    configs.check_password(password)
    cluster = Cluster(root=root, name=args.name, password=password,
                      quorum=configs.quorum_for(args.sentinels) if args.sentinels else 0,
                      down_after_ms=args.down_after, failover_timeout_ms=args.failover_timeout)
    taken: set[int] = set()
    if args.port is not None:
        if not port_free(args.port):
            raise ClusterError(
                f"port {args.port} is busy (another server listens there: try "
                f"`redis-cli -p {args.port} ping`). Stop it, or choose another port with "
                f"--port, or leave out --port to use free ports.")
        taken.add(args.port)
        ports = [args.port] + allocate_ports(args.port + 1, args.replicas, taken)
    else:
        ports = allocate_ports(DEFAULT_PORT, 1 + args.replicas, taken)
    base = ports[0] + 20000 if ports[0] + 20000 + args.sentinels < 65536 else ports[-1] + 1
    sports = allocate_ports(base, args.sentinels, taken)
    cluster.nodes = [Node("server", i + 1, p) for i, p in enumerate(ports)]
    cluster.nodes += [Node("sentinel", i + 1, p) for i, p in enumerate(sports)]
    if args.haproxy:
        if not shutil.which("haproxy"):
            raise ClusterError("--haproxy needs haproxy installed (apt-get install haproxy)")
        hbase = ports[0] + 10000 if ports[0] + 10000 < 65536 else sports[-1] + 1
        cluster.nodes.append(Node("haproxy", 1, allocate_ports(hbase, 1, taken)[0]))
    write_configs(cluster)
    cluster.save()
    return cluster


def write_configs(cluster: Cluster) -> None:
    root = cluster.root
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ClusterError(f"cannot create {root}: {e.strerror}; choose another --dir") \
            from None
    primary = cluster.servers[0]
    for n in cluster.servers:
        n.path(root).mkdir(exist_ok=True)
        n.config_path(root).write_text(configs.redis_conf(
            port=n.port, bind="127.0.0.1 -::1", directory=str(n.path(root)),
            password=cluster.password,
            replicaof=None if n is primary else (primary.host, primary.port),
            title=f"{n.name} of redpoll cluster '{cluster.name}'"))
        os.chmod(n.config_path(root), 0o600)
    for n in cluster.sentinels:
        n.path(root).mkdir(exist_ok=True)
        n.config_path(root).write_text(configs.sentinel_conf(
            port=n.port, bind="127.0.0.1 -::1", directory=str(n.path(root)),
            name=cluster.name, primary=(primary.host, primary.port), quorum=cluster.quorum,
            password=cluster.password, down_after_ms=cluster.down_after_ms,
            failover_timeout_ms=cluster.failover_timeout_ms,
            title=f"{n.name} of redpoll cluster '{cluster.name}'"))
        os.chmod(n.config_path(root), 0o600)
    if cluster.haproxy:
        h = cluster.haproxy
        h.config_path(root).write_text(configs.haproxy_cfg(
            bind=f"127.0.0.1:{h.port}", servers=[(s.host, s.port) for s in cluster.servers],
            password=cluster.password))


def start_nodes(cluster: Cluster, nodes: list[Node], keep: set[int] = frozenset(),
                repick: bool = False) -> list[Node]:
    """Start the nodes that are not running; a clear error for a busy port.
    With ``repick`` (a cluster being created) a port that someone took since it
    was chosen is replaced by a free one, unless it is in ``keep`` (--port)."""
    root = cluster.root
    todo = [n for n in nodes if processes.pid_of(n, root) is None]
    for n in todo:
        if not port_free(n.port, n.host):
            if repick and n.port not in keep:
                n.port = allocate_ports(n.port + 1, 1, {x.port for x in cluster.nodes})[0]
                write_configs(cluster)
                cluster.save()
                continue
            raise ClusterError(
                f"port {n.port} of {n.name} is busy: another process listens there "
                f"(try `redis-cli -p {n.port} ping`). Stop it and run the command again.")
    for n in todo:
        processes.start(n, root)
    return todo


def start_servers_then_the_rest(cluster: Cluster, timeout: float = 120.0,
                                **repick) -> list[Node]:
    """Servers first (as the seeds do): sentinels that start before the servers
    answer would see them down and may fail over at once."""
    started = start_nodes(cluster, cluster.servers, **repick)
    if started:
        with step(f"starting {len(started)} servers"):
            for n in started:
                processes.wait_answering(cluster, n, timeout)
    return started + start_nodes(cluster, [n for n in cluster.nodes if n.kind != "server"],
                                 **repick)


def cmd_up(args) -> int:
    root = Path(args.dir).resolve()
    if Cluster.exists(root):
        cluster = Cluster.load(root)
        if args.password is not None and args.password != cluster.password:
            raise ClusterError(
                f"wrong password: the cluster in {root} was created with another password. "
                f"Run `redpoll cluster up{_dir_hint(cluster)}` without --password (it is "
                f"stored in {cluster.state_path}), or `redpoll cluster down --purge"
                f"{_dir_hint(cluster)}` to start over.")
        check_layout(args, cluster)
        started = start_servers_then_the_rest(cluster, args.timeout)
        print(f"restarted the cluster in {root} with its current roles: "
              + (", ".join(n.name for n in started) or "everything already runs"), flush=True)
    else:
        if root.exists() and not root.is_dir():
            raise ClusterError(f"{root} is a file, not a directory; choose another --dir")
        if root.exists() and any(root.iterdir()):
            raise ClusterError(f"{root} exists and is not a redpoll cluster directory; "
                               "choose another --dir")
        cluster = _new_cluster(args, root)
        print(f"starting {len(cluster.servers)} servers and {len(cluster.sentinels)} "
              f"sentinels in {root}", flush=True)
        start_servers_then_the_rest(cluster, args.timeout, repick=True,
                                    keep={args.port} if args.port else set())
    try:
        primary = wait_healthy(cluster, args.timeout)
    except ClusterError as e:
        raise ClusterError(f"{e}\nThe processes keep running; inspect with `redpoll cluster "
                           f"status{_dir_hint(cluster)}`, stop with `redpoll cluster down"
                           f"{_dir_hint(cluster)}`.") from None
    print_connection_info(cluster, primary)
    return 0


def print_connection_info(cluster: Cluster, primary: Node) -> None:
    pw = cluster.password
    auth = f" -a {shlex.quote(pw)} --no-auth-warning" if pw else ""
    replicas = [n for n in cluster.servers if n is not primary]
    print()
    print(f"redpoll cluster '{cluster.name}' is up in {cluster.root}")
    print(f"  primary    {primary.host}:{primary.port}")
    print(f"  replicas   {', '.join(f'{n.host}:{n.port}' for n in replicas) or 'none'}")
    if cluster.sentinels:
        print(f"  sentinels  {', '.join(f'{n.host}:{n.port}' for n in cluster.sentinels)}"
              f" (quorum {cluster.quorum})")
    if pw:
        print(f"  password   {pw}  (stored in {cluster.state_path})")
    print()
    print("Connect with redis-cli (to the current primary):")
    print(f"  redis-cli -h {primary.host} -p {primary.port}{auth}")
    if cluster.sentinels:
        print()
        print("Connect with redis-py through Sentinel (follows failovers):")
        print("  from redis.sentinel import Sentinel")
        addrs = ", ".join(f'("{n.host}", {n.port})' for n in cluster.sentinels)
        print(f"  sentinel = Sentinel([{addrs}], socket_timeout=0.5)")
        pwarg = f", password={pw!r}" if pw else ""
        print(f"  r = sentinel.master_for({cluster.name!r}{pwarg}, socket_timeout=0.5)")
    if cluster.haproxy:
        h = cluster.haproxy
        print()
        print(f"HAProxy (always routes to the primary) on port {h.port}:")
        print(f"  redis-cli -h 127.0.0.1 -p {h.port}{auth}")
    d = _dir_hint(cluster)
    print()
    print(f"Next: redpoll cluster status{d} | kill primary{d} | failover{d} | down{d}")


# -- the other commands --------------------------------------------------------------------------

def _load(args) -> Cluster:
    return Cluster.load(Path(args.dir).resolve())


def cmd_status(args) -> int:
    cluster = _load(args)
    if args.json:
        print(json.dumps(status.gather(cluster), indent=2))
        return 0
    if not args.watch:
        state = status.gather(cluster)
        if _tty():
            from rich.console import Console
            Console().print(status.render_table(state))
        else:
            print(status.render_text(state))
        return 0
    deadline = time.monotonic() + args.for_seconds if args.for_seconds else None
    try:
        if _tty():
            from rich.live import Live
            with Live(status.render_table(status.gather(cluster)), refresh_per_second=4) as live:
                while deadline is None or time.monotonic() < deadline:
                    time.sleep(args.interval)
                    live.update(status.render_table(status.gather(cluster)))
        else:
            while True:
                print(status.render_text(status.gather(cluster)) + "\n", flush=True)
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    return 0


def cmd_kill(args) -> int:
    cluster = _load(args)
    node = resolve(cluster, args.node)
    role = server_role(cluster, node) if node.kind == "server" else None
    pid = processes.pid_of(node, cluster.root)
    if pid is None:
        raise ClusterError(f"{node.name} is not running; start it with: redpoll cluster start "
                           f"{node.name}{_dir_hint(cluster)}")
    processes.stop(node, cluster.root, signal.SIGKILL, timeout=10)
    what = {"master": "primary", "slave": "replica"}.get(role or "", node.kind)
    print(f"killed {node.name} ({what}, port {node.port}, pid {pid})")
    if role == "master" and cluster.sentinels:
        print(f"the sentinels fail over after {cluster.down_after_ms} ms without an answer; "
              f"watch with: redpoll cluster status --watch{_dir_hint(cluster)}")
    print(f"bring it back with: redpoll cluster start {node.name}{_dir_hint(cluster)}")
    return 0


def cmd_start(args) -> int:
    cluster = _load(args)
    nodes = [resolve(cluster, args.node)] if args.node else cluster.nodes
    started = start_nodes(cluster, nodes)
    if not started:
        print("nothing to start: " + ("it already runs" if args.node else "everything runs"))
        return 0
    with step(f"starting {', '.join(n.name for n in started)}"):
        for n in started:
            processes.wait_answering(cluster, n, args.timeout)
    for n in started:
        print(f"started {n.name} on port {n.port}")
    return 0


def cmd_failover(args) -> int:
    cluster = _load(args)
    if not cluster.sentinels:
        raise ClusterError("this cluster has no sentinels; recreate it with --sentinels 3")
    old = sentinel_primary(cluster)
    last = None
    for s in cluster.sentinels:
        c = processes.client(cluster, s)
        try:
            # PING first: it connects (redis-py's handshake) and shows the sentinel
            # answers. A failure there is harmless: the next sentinel is asked.
            try:
                c.ping()
            except (redis.RedisError, OSError) as e:
                last = str(e)
                continue
            try:
                c.execute_command("SENTINEL", "FAILOVER", cluster.name)
                break
            except redis.ResponseError as e:
                msg = str(e)
                if "NOGOODSLAVE" in msg:
                    raise ClusterError("no replica can be promoted (are the replicas running "
                                       "and in sync? see `redpoll cluster status`)") from None
                if "INPROG" in msg:
                    raise ClusterError("a failover is already in progress; watch it with "
                                       f"`redpoll cluster status --watch{_dir_hint(cluster)}`") \
                        from None
                last = msg
            except (redis.RedisError, OSError):
                # sent, but no reply: it may have been accepted, and asking another
                # sentinel could start a second failover, back to the old primary
                break
        finally:
            c.close()
    else:
        raise ClusterError(f"no sentinel accepted the failover ({last}); start them with "
                           f"`redpoll cluster start{_dir_hint(cluster)}`")
    new = None

    def moved():
        nonlocal new
        new = sentinel_primary(cluster)
        if new is None or new == old:
            return False
        n = next((x for x in cluster.servers if (x.host, x.port) == new), None)
        return n is not None and server_role(cluster, n) == "master"
    with step(f"failing over from {old[0]}:{old[1]}" if old else "failing over"):
        if not processes.wait_for(moved, args.timeout, 0.2):
            raise ClusterError(f"the failover did not finish within {args.timeout:.0f}s; "
                               f"see `redpoll cluster status` and the sentinels' logs")
    node = next(x for x in cluster.servers if (x.host, x.port) == new)
    wait_healthy(cluster, args.timeout)     # the old primary follows, sentinels agree
    print(f"failover done: the primary is now {node.name} ({new[0]}:{new[1]})")
    return 0


def cmd_logs(args) -> int:
    cluster = _load(args)
    nodes = [resolve(cluster, args.node)] if args.node else cluster.nodes
    for n in nodes:
        if len(nodes) > 1:
            print(f"==> {n.name} ({n.log_path(cluster.root)}) <==")
        print(processes.tail(n.log_path(cluster.root), args.lines), flush=True)
    if args.follow:
        def size(p: Path) -> int:
            try:
                return p.stat().st_size
            except OSError:
                return 0
        offsets = {n.name: size(n.log_path(cluster.root)) for n in nodes}
        try:
            while True:
                for n in nodes:
                    p = n.log_path(cluster.root)
                    if size(p) < offsets[n.name]:      # truncated: from its start
                        offsets[n.name] = 0
                    try:
                        with open(p, "rb") as f:
                            f.seek(offsets[n.name])
                            data = f.read()
                    except OSError:
                        continue
                    data = data[:data.rfind(b"\n") + 1]    # whole lines only
                    offsets[n.name] += len(data)
                    for line in data.decode(errors="replace").splitlines():
                        print(f"{n.name}: {line}" if len(nodes) > 1 else line, flush=True)
                time.sleep(0.3)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_down(args) -> int:
    root = Path(args.dir).resolve()
    cluster = Cluster.load(root)
    stopped = []
    with step("stopping the cluster"):
        # sentinels first, so that stopping the primary does not start a failover
        for n in cluster.sentinels + ([cluster.haproxy] if cluster.haproxy else []):
            if processes.stop(n, root):
                stopped.append(n.name)
        primary = current_primary(cluster)
        for n in sorted(cluster.servers, key=lambda n: n is primary):
            if processes.pid_of(n, root) is None:
                continue
            c = processes.client(cluster, n)
            try:            # keep the current role (replicaof) for the next `up`
                c.execute_command("CONFIG", "REWRITE")
            except (redis.RedisError, OSError):
                pass
            finally:
                c.close()
            processes.stop(n, root)
            stopped.append(n.name)
    print(f"stopped: {', '.join(stopped) or 'nothing was running'}")
    if args.purge:
        shutil.rmtree(root)
        print(f"removed {root}")
    else:
        print(f"start it again with: redpoll cluster up{_dir_hint(cluster)}")
    return 0


def cmd_plan(args) -> int:
    from redpoll.cluster import plan
    return plan.main(args)


# -- argument parsing ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="redpoll cluster",
                                description="Start and manage a highly available redpoll "
                                            "deployment (primary, replicas, sentinels).")
    sub = p.add_subparsers(dest="cmd", required=True)

    def add(name, fn, help_):
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(fn=fn)
        if name != "plan":
            sp.add_argument("--dir", default=DEFAULT_DIR,
                            help=f"the cluster directory (default {DEFAULT_DIR})")
        return sp

    up = add("up", cmd_up, "start a local cluster (or restart the one in --dir)")
    # layout flags default to None: on an existing cluster only the given ones are
    # checked (check_layout); _new_cluster fills in LAYOUT_FLAGS' defaults
    up.add_argument("--replicas", type=int, default=None, help="default 2")
    up.add_argument("--sentinels", type=int, default=None, help="default 3")
    up.add_argument("--port", type=int, default=None,
                    help="the primary's port (default 6379, or free ports when it is taken)")
    up.add_argument("--password", default=None,
                    help="default: a generated one; '' for none (as the seeds)")
    up.add_argument("--haproxy", action="store_true", default=None,
                    help="also run HAProxy in front")
    up.add_argument("--name", default=None, help="the Sentinel master name (default mymaster)")
    up.add_argument("--down-after", type=int, default=None, metavar="MS",
                    help="sentinel down-after-milliseconds (default 5000)")
    up.add_argument("--failover-timeout", type=int, default=None, metavar="MS",
                    help="sentinel failover-timeout (default 10000)")
    up.add_argument("--timeout", type=float, default=120.0,
                    help="seconds to wait for each step (default 120)")

    st = add("status", cmd_status, "one table of every node")
    st.add_argument("--json", action="store_true", help="machine-readable output")
    st.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    st.add_argument("--interval", type=float, default=1.0)
    st.add_argument("--for", dest="for_seconds", type=float, default=None,
                    help="with --watch: stop after this many seconds")

    fo = add("failover", cmd_failover, "manual failover through Sentinel")
    fo.add_argument("--timeout", type=float, default=60.0)

    k = add("kill", cmd_kill, "kill -9 a node: primary, replica N, sentinel N, or a name")
    k.add_argument("node", nargs="+")

    s = add("start", cmd_start, "start a stopped node (all stopped nodes without argument)")
    s.add_argument("node", nargs="*")
    s.add_argument("--timeout", type=float, default=90.0)

    lg = add("logs", cmd_logs, "show the logs (of one node)")
    lg.add_argument("node", nargs="*")
    lg.add_argument("-n", "--lines", type=int, default=20)
    lg.add_argument("-f", "--follow", action="store_true")

    d = add("down", cmd_down, "stop everything cleanly")
    d.add_argument("--purge", action="store_true", help="also remove the directory")

    pl = add("plan", cmd_plan, "write configs and systemd units for real hosts")
    from redpoll.cluster.plan import add_arguments
    add_arguments(pl)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except ClusterError as e:
        print(f"redpoll cluster {args.cmd}: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as e:            # a file we cannot read or write: one line, no traceback
        if isinstance(e, BrokenPipeError):          # `redpoll cluster status | head`
            sys.stderr.close()
            return 0
        print(f"redpoll cluster {args.cmd}: {e}", file=sys.stderr)
        return 1
