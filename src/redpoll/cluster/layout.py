"""The cluster directory: which nodes exist, their ports and files.

A local cluster lives in one directory (``./redpoll-cluster`` by default)::

    cluster.json            name, password, the nodes (kind, number, port)
    server-1/redis.conf     one directory per redpoll-server ...
    server-1/server.log     ... with its log, pid file and dump.rdb
    sentinel-1/sentinel.conf, sentinel-1/sentinel.log, ...
    haproxy.cfg             when started with --haproxy

Roles are not stored here: they live in the configs (``replicaof``, rewritten
by ``down`` and by Sentinel), so ``up`` on an existing directory restarts the
nodes with the roles they had.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

STATE_FILE = "cluster.json"


class ClusterError(Exception):
    """A failure to report to the user: what went wrong and what to do next."""


@dataclass
class Node:
    kind: str            # "server", "sentinel" or "haproxy"
    number: int          # 1-based within its kind
    port: int
    host: str = "127.0.0.1"

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.number}"

    def path(self, root: Path) -> Path:
        return root / self.name if self.kind != "haproxy" else root

    def config_path(self, root: Path) -> Path:
        names = {"server": "redis.conf", "sentinel": "sentinel.conf", "haproxy": "haproxy.cfg"}
        return self.path(root) / names[self.kind]

    def log_path(self, root: Path) -> Path:
        return self.path(root) / f"{self.kind}.log"

    def pid_path(self, root: Path) -> Path:
        return self.path(root) / f"{self.kind}.pid"


@dataclass
class Cluster:
    root: Path
    name: str = "mymaster"
    password: str = ""
    quorum: int = 2
    down_after_ms: int = 5000
    failover_timeout_ms: int = 10000
    nodes: list[Node] = field(default_factory=list)

    # -- node lookups --------------------------------------------------------------
    def of_kind(self, kind: str) -> list[Node]:
        return [n for n in self.nodes if n.kind == kind]

    @property
    def servers(self) -> list[Node]:
        return self.of_kind("server")

    @property
    def sentinels(self) -> list[Node]:
        return self.of_kind("sentinel")

    @property
    def haproxy(self) -> Node | None:
        h = self.of_kind("haproxy")
        return h[0] if h else None

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise ClusterError(f"no node named '{name}' in {self.root} "
                           f"(nodes: {', '.join(n.name for n in self.nodes)})")

    # -- the state file --------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    def save(self) -> None:
        data = {k: v for k, v in asdict(self).items() if k != "root"}
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.chmod(tmp, 0o600)      # it holds the password
        tmp.replace(self.state_path)

    @classmethod
    def load(cls, root: Path) -> "Cluster":
        path = root / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise ClusterError(f"no cluster in {root} (no {STATE_FILE}); "
                               f"create one with: redpoll cluster up --dir {root}") from None
        except NotADirectoryError:
            raise ClusterError(f"{root} is a file, not a cluster directory; "
                               "pass the directory `redpoll cluster up` created") from None
        except (OSError, ValueError) as e:
            raise ClusterError(f"cannot read {path}: {e}") from None
        nodes = [Node(**n) for n in data.pop("nodes", [])]
        return cls(root=root, nodes=nodes, **data)

    @staticmethod
    def exists(root: Path) -> bool:
        return (root / STATE_FILE).exists()


# -- ports ---------------------------------------------------------------------------

def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when nothing listens on host:port (as the server will bind it)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def allocate_ports(start: int, count: int, taken: set[int]) -> list[int]:
    """``count`` free ports from ``start`` upwards, skipping ``taken`` and busy ones."""
    out: list[int] = []
    port = start
    while len(out) < count:
        if port > 65535:
            raise ClusterError(f"no free ports above {start}; pass another --port")
        if port not in taken and port_free(port):
            out.append(port)
            taken.add(port)
        port += 1
    return out
