"""Busy mode: serving other clients while a script runs past lua-time-limit.

The event loop is blocked inside the script, so, like Redis's
``processEventsWhileBlocked``, the timeout hook polls the sockets itself:
:meth:`BusyMode.poll` reads whatever the connected clients sent and runs it
through their normal input path, where a precall check answers ``-BUSY`` to
everything but ``allow_busy`` commands (SCRIPT KILL, ...). New connections
are accepted on the listening sockets, served the same way through a small
socket transport, and handed to the event loop when the script ends.

The client running the script is never polled (its next requests must wait
for its reply). Output goes through the clients' transports, whose
``write`` sends at once when nothing is queued.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket

from redpoll.client import Client


class _SocketTransport(asyncio.Transport):
    """A minimal transport over a socket accepted while the loop is blocked."""

    def __init__(self, sock: socket.socket):
        super().__init__()
        self.sock = sock
        self.pending = b""
        self.closing = False

    def write(self, data) -> None:
        data = self.pending + bytes(data)
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self.closing = True
            n = len(data)
        self.pending = data[n:]

    def get_write_buffer_size(self) -> int:
        return len(self.pending)

    def get_extra_info(self, name, default=None):
        if name == "socket":
            return self.sock
        if name == "peername":
            return self.sock.getpeername()
        if name == "sockname":
            return self.sock.getsockname()
        return default

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


class _Handover(asyncio.Protocol):
    """Gives a connection accepted in busy mode back to its Client."""

    def __init__(self, client: Client, pending: bytes):
        self.client = client
        self.pending = pending

    def connection_made(self, transport) -> None:
        c = self.client
        c.transport = transport
        if self.pending:
            transport.write(self.pending)
        if c.closed:
            transport.close()
            return
        c.resume_input()

    def data_received(self, data) -> None:
        self.client.data_received(data)

    def connection_lost(self, exc) -> None:
        self.client.connection_lost(exc)


class BusyMode:
    def __init__(self, server):
        from redpoll.commands.scripting import busy_check
        self.server = server
        self.check = busy_check
        server.precall_checks.insert(0, busy_check)
        eng = server.lua
        self.caller = eng.ctx.caller if eng.ctx is not None else None
        self.listen_socks = []
        for lst in server.listeners:
            for s in lst.sockets or ():
                try:
                    dup = socket.socket(fileno=os.dup(s.fileno()))
                    dup.setblocking(False)
                    self.listen_socks.append(dup)
                except OSError:
                    pass
        self.accepted: list[tuple[socket.socket, Client]] = []

    def poll(self) -> None:
        srv = self.server
        fds = {}
        for c in list(srv.clients.values()):
            if c is self.caller or c.transport is None or c.closed or c.fd < 0:
                continue
            if isinstance(c.transport, _SocketTransport):
                continue
            fds[c.fd] = c
        for sock, c in self.accepted:
            if not c.closed:
                fds[sock.fileno()] = c
        lfds = {s.fileno(): s for s in self.listen_socks}
        try:
            ready, _, _ = select.select(list(fds) + list(lfds), [], [], 0)
        except (OSError, ValueError):
            return
        for fd in ready:
            if fd in lfds:
                self._accept(lfds[fd])
                continue
            c = fds[fd]
            try:
                data = os.read(fd, 65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                continue
            if not data:
                continue        # EOF: the loop sees it after the script
            c.data_received(data)
        # with the AOF on replies wait for the end of the loop iteration, and
        # the loop is blocked in the script: this poll is that end
        srv.write_waiting_replies()
        task = getattr(srv, "shutdown_task", None)
        if task is not None and not task.done():
            # SHUTDOWN NOSAVE: stop the script so the loop can shut down
            srv.lua.kill_requested = True

    def _accept(self, lsock: socket.socket) -> None:
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        conn.setblocking(False)
        c = Client(self.server)
        c.connection_made(_SocketTransport(conn))
        c.fd = conn.fileno()
        self.accepted.append((conn, c))

    def finish(self) -> None:
        """The script ended: leave busy mode, give new connections to the loop."""
        srv = self.server
        try:
            srv.precall_checks.remove(self.check)
        except ValueError:
            pass
        for s in self.listen_socks:
            s.close()
        loop = srv.loop
        for conn, c in self.accepted:
            t = c.transport
            pending = t.pending if isinstance(t, _SocketTransport) else b""
            if c.closed or (isinstance(t, _SocketTransport) and t.closing):
                conn.close()
                c.closed = True
                srv.client_disconnected(c)
                continue
            c.transport = None
            proto = _Handover(c, pending)
            loop.create_task(loop.connect_accepted_socket(lambda p=proto: p, sock=conn))
