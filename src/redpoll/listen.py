"""Listening sockets for ``bind`` addresses, as Redis opens them.

One place knows what a ``bind`` entry means (a leading ``-``: the address is
optional, skipped when it is not available; ``*`` and ``::*``: every IPv4 /
IPv6 address) and how a listener is set up (SO_REUSEADDR, IPv6-only for IPv6
addresses, non-blocking). The server's start (``Server._listen``) and CONFIG
SET port/bind (``config/runtime.py``) both use it and keep their own error
reporting.
"""

from __future__ import annotations

import socket

_WILDCARDS = {"*": "0.0.0.0", "::*": "::"}


def parse_bind(addr: str) -> tuple[str, bool]:
    """``(host, optional)`` for one ``bind`` entry."""
    optional = addr.startswith("-")
    host = addr[1:] if optional else addr
    return _WILDCARDS.get(host, host), optional


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A bound, listening, non-blocking socket on ``host:port``; OSError
    (with nothing left open) when it cannot be had."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
