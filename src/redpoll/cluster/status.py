"""What every node of a cluster says about itself: gathering and showing it.

``gather(cluster)`` asks each server (INFO replication/keyspace/memory) and
each sentinel (SENTINEL MASTER, SENTINEL REPLICAS/SENTINELS) and returns
plain dicts (that is ``status --json``). ``render_table`` draws them with
rich on a terminal; ``render_text`` is the plain form for pipes.
"""

from __future__ import annotations

import redis

from redpoll.cluster import processes
from redpoll.cluster.layout import Cluster, Node


def _pairs(reply) -> dict:
    if isinstance(reply, dict):
        return reply
    return dict(zip(reply[::2], reply[1::2]))


def server_state(cluster: Cluster, node: Node) -> dict:
    st = {"name": node.name, "kind": "server", "host": node.host, "port": node.port,
          "pid": processes.pid_of(node, cluster.root), "running": False, "role": None,
          "master": None, "link": None, "offset": None, "lag": None, "keys": None,
          "memory": None, "replicas": None, "error": None}
    c = processes.client(cluster, node)
    try:
        info = c.info("replication")
        st["running"] = True
        role = info.get("role")
        st["role"] = "primary" if role == "master" else "replica"
        if role == "master":
            st["offset"] = info.get("master_repl_offset")
            st["replicas"] = info.get("connected_slaves", 0)
            st["link"] = f"{st['replicas']} replica(s)"
        else:
            st["master"] = f"{info.get('master_host')}:{info.get('master_port')}"
            st["link"] = info.get("master_link_status")
            st["offset"] = info.get("slave_repl_offset")
            st["lag"] = info.get("master_last_io_seconds_ago")
        keyspace = c.info("keyspace")
        st["keys"] = sum(v.get("keys", 0) for v in keyspace.values() if isinstance(v, dict))
        st["memory"] = c.info("memory").get("used_memory_human")
    except redis.AuthenticationError as e:
        st["running"] = True
        st["error"] = f"wrong password ({e})"
    except (redis.RedisError, OSError) as e:
        st["error"] = "not running" if st["pid"] is None else str(e)
    finally:
        c.close()
    return st


def sentinel_state(cluster: Cluster, node: Node) -> dict:
    st = {"name": node.name, "kind": "sentinel", "host": node.host, "port": node.port,
          "pid": processes.pid_of(node, cluster.root), "running": False, "primary": None,
          "flags": None, "sdown": None, "odown": None, "epoch": None, "failover": None,
          "replicas_seen": None, "sentinels_seen": None, "quorum": None, "myid": None,
          "leader": None, "leader_epoch": None, "error": None}
    c = processes.client(cluster, node)
    try:
        m = _pairs(c.execute_command("SENTINEL", "MASTER", cluster.name))
        st["running"] = True
        st["primary"] = f"{m.get('ip')}:{m.get('port')}"
        flags = str(m.get("flags", ""))
        st["flags"] = flags
        st["sdown"] = "s_down" in flags.split(",")
        st["odown"] = "o_down" in flags.split(",")
        st["epoch"] = int(m.get("config-epoch", 0))
        st["failover"] = m.get("failover-state") or None
        st["quorum"] = int(m.get("quorum", 0))
        st["replicas_seen"] = int(m.get("num-slaves", 0))
        st["sentinels_seen"] = int(m.get("num-other-sentinels", 0))
        st["myid"] = c.execute_command("SENTINEL", "MYID")
        # with runid "*" a sentinel does not vote: it tells the leader it voted for
        # (Redis's only window on the election) and that vote's epoch
        _, leader, epoch = c.execute_command("SENTINEL", "IS-MASTER-DOWN-BY-ADDR",
                                             m.get("ip"), m.get("port"), 0, "*")
        st["leader"] = None if leader == "*" else leader
        st["leader_epoch"] = int(epoch)
    except (redis.RedisError, OSError) as e:
        st["error"] = "not running" if st["pid"] is None else str(e)
    finally:
        c.close()
    return st


def gather(cluster: Cluster) -> dict:
    servers = [server_state(cluster, n) for n in cluster.servers]
    sentinels = [sentinel_state(cluster, n) for n in cluster.sentinels]
    primaries = [s for s in servers if s["role"] == "primary"]
    views = {s["primary"] for s in sentinels if s["primary"]}
    names = {s.get("myid"): s["name"] for s in sentinels if s.get("myid")}
    for s in sentinels:
        if s.get("leader"):
            s["leader"] = names.get(s["leader"], s["leader"][:8])
    out = {"dir": str(cluster.root), "name": cluster.name, "password": cluster.password,
           "quorum": cluster.quorum,
           "primary": (f"{primaries[0]['host']}:{primaries[0]['port']}"
                       if len(primaries) == 1 else None),
           "sentinel_primary": views.pop() if len(views) == 1 else None,
           "servers": servers, "sentinels": sentinels}
    h = cluster.haproxy
    if h:
        out["haproxy"] = {"name": h.name, "port": h.port,
                          "running": processes.pid_of(h, cluster.root) is not None}
    # lag in bytes behind the primary for each replica
    if primaries and primaries[0]["offset"] is not None:
        for s in servers:
            if s["role"] == "replica" and s["offset"] is not None:
                s["lag_bytes"] = max(0, primaries[0]["offset"] - s["offset"])
    return out


def _fmt(v) -> str:
    return "-" if v is None else str(v)


def server_rows(state: dict) -> list[list[str]]:
    rows = []
    for s in state["servers"]:
        lag = "-"
        if s.get("lag_bytes") is not None:
            lag = f"{s['lag_bytes']}B/{_fmt(s['lag'])}s"
        rows.append([s["name"], s["error"] or _fmt(s["role"]), f"{s['host']}:{s['port']}",
                     _fmt(s["link"]) + (f" <- {s['master']}" if s["master"] else ""),
                     _fmt(s["offset"]), lag, _fmt(s["keys"]), _fmt(s["memory"])])
    return rows


def sentinel_rows(state: dict) -> list[list[str]]:
    rows = []
    for s in state["sentinels"]:
        down = "-"
        if s["running"]:
            down = "odown" if s["odown"] else "sdown" if s["sdown"] else "ok"
        seen = "-" if s["replicas_seen"] is None else \
            f"{s['replicas_seen']} replicas, {s['sentinels_seen']} sentinels"
        leader = "-" if s["leader"] is None else f"{s['leader']} (epoch {s['leader_epoch']})"
        rows.append([s["name"], f"{s['host']}:{s['port']}", s["error"] or _fmt(s["primary"]),
                     down, _fmt(s["epoch"]), leader, _fmt(s["failover"]), seen])
    return rows


SERVER_COLS = ["node", "role", "address", "link", "offset", "lag", "keys", "memory"]
SENTINEL_COLS = ["sentinel", "address", "primary", "state", "config epoch", "voted leader",
                 "failover", "sees"]


def headline(state: dict) -> str:
    p = state["primary"] or "none"
    sp = state["sentinel_primary"] or "sentinels disagree or unreachable"
    return (f"cluster '{state['name']}' in {state['dir']}: primary {p}; "
            f"sentinels say {sp} (quorum {state['quorum']})")


def render_text(state: dict) -> str:
    def table(cols, rows):
        widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c)
                  for i, c in enumerate(cols)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths)).rstrip()]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
        return "\n".join(lines)
    out = [headline(state), "", table(SERVER_COLS, server_rows(state))]
    if state["sentinels"]:
        out += ["", table(SENTINEL_COLS, sentinel_rows(state))]
    if "haproxy" in state:
        h = state["haproxy"]
        out += ["", f"haproxy: port {h['port']} ({'running' if h['running'] else 'stopped'})"]
    return "\n".join(out)


def render_table(state: dict):
    """A rich renderable of the state (for a terminal and --watch)."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    t = Table(title=headline(state), title_justify="left")
    for c in SERVER_COLS:
        t.add_column(c)
    for row, s in zip(server_rows(state), state["servers"]):
        style = "bold green" if s["role"] == "primary" else "red" if s["error"] else None
        t.add_row(*row, style=style)
    parts = [t]
    if state["sentinels"]:
        t2 = Table()
        for c in SENTINEL_COLS:
            t2.add_column(c)
        for row, s in zip(sentinel_rows(state), state["sentinels"]):
            style = "red" if s["error"] or s["odown"] else "yellow" if s["sdown"] else None
            t2.add_row(*row, style=style)
        parts.append(t2)
    if "haproxy" in state:
        h = state["haproxy"]
        parts.append(Text(f"haproxy: port {h['port']} "
                          f"({'running' if h['running'] else 'stopped'})"))
    return Group(*parts)
