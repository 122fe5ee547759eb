"""CONFIG SET for the directives the server core reads once at start-up:
``dir`` (chdir), ``port`` and ``bind`` (listeners re-opened), and
``rename-command`` applied to the command table at start-up. Other rooms
register watchers for their own directives with ``config.watch``.

A watcher raises ConfigError to refuse the change; CONFIG SET then restores
every directive of the call (and calls the watchers again with the old
values), so a failed rebind leaves the old listeners in place.
"""

from __future__ import annotations

import os
import socket

from redpoll.config.directives import ConfigError
from redpoll.listen import listening_socket, parse_bind


def _open_sockets(binds: list[str], port: int, backlog: int) -> list[socket.socket]:
    """Bound, listening sockets for ``binds``:``port``, or ConfigError."""
    socks = []
    try:
        for addr in binds:
            host, optional = parse_bind(addr)
            try:
                s = listening_socket(host, port, backlog)
            except OSError:
                if optional:
                    continue
                raise
            socks.append(s)
    except OSError:
        for s in socks:
            s.close()
        raise ConfigError("Failed to bind to specified addresses.")
    if not socks:
        raise ConfigError("Failed to bind to specified addresses.")
    return socks


def _rebind(server, binds: list[str], port: int) -> None:
    """Close the listeners and listen on ``binds``:``port``; on failure
    listen again where the server listened before and raise ConfigError."""
    if server.loop is None or not server.listeners:
        return      # not listening yet (or port 0): start() will use the values
    backlog = server.config["tcp-backlog"]
    for lst in server.listeners:
        lst.close()
    server.listeners = []
    try:
        socks = _open_sockets(binds, port, backlog) if port else []
    except ConfigError:
        old_binds, old_port = server.bound_to
        try:
            _serve(server, _open_sockets(old_binds, old_port, backlog))
        except ConfigError:
            pass
        raise
    _serve(server, socks)
    server.port = port
    server.bound_to = (list(binds), port)


def _serve(server, socks) -> None:
    from redpoll.client import Client

    async def serve(sock):
        srv = await server.loop.create_server(lambda: Client(server), sock=sock)
        server.listeners.append(srv)

    for s in socks:
        server.loop.create_task(serve(s))


def apply_renames(server) -> None:
    """rename-command OLD NEW (NEW "" removes the command)."""
    from redpoll.commands import table as T
    for args in server.config["rename-command"]:
        if len(args) != 2:
            server.log.warning("Invalid rename-command line: wrong number of arguments")
            continue
        old, new = args[0].lower().encode(), args[1].lower().encode()
        cmd = T.TABLE.pop(old, None)
        if cmd is None:
            server.log.warning(f"No such command in rename-command: '{args[0]}'")
            continue
        if new:
            T.TABLE[new] = cmd
    T.rebuild_dispatch()


def install(server) -> None:
    cfg = server.config
    server.bound_to = (list(cfg["bind"]), cfg["port"])
    if cfg["rename-command"]:
        server.startup_hooks.append(lambda: apply_renames(server))

    def on_dir(old, new):
        try:
            os.chdir(new)
        except OSError as e:
            raise ConfigError(e.strerror)
        cfg.values["dir"] = os.getcwd()

    def on_port(old, new):
        if server.port != new:  # (a rollback to the port in use changes nothing)
            _rebind(server, cfg["bind"], new)

    def on_bind(old, new):
        _rebind(server, new, cfg["port"])

    cfg.watch("dir", on_dir)
    cfg.watch("port", on_port)
    cfg.watch("bind", on_bind)
