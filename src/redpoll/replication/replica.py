"""The replica side of replication: our link to a primary.

:class:`MasterLink` runs one asyncio task that connects, does the handshake a
Redis 7.0 replica does (PING, AUTH, REPLCONF listening-port / ip-address /
capa eof psync2, PSYNC replid offset), then either loads a full sync payload
(``$<len>`` from disk or diskless ``$EOF:<mark>``) or continues after
``+CONTINUE``, and finally applies the replication stream. When the link
breaks it reconnects forever (short backoff, at most one second apart, as
Redis's replication cron does) and asks for a partial resync from the offset
it reached.

The stream is executed by a client flagged ``F_MASTER`` (no replies, not
subject to READONLY). Its offset advances command by command, except inside
MULTI, so a transaction is applied -- and proxied -- as a whole. The bytes
applied are fed verbatim to our own backlog and sub-replicas (chained
replication), so offsets are identical along the chain.

While a full sync is transferred the old dataset keeps being served; the
payload is parsed into new databases and swapped in at once (a failed load
leaves the old data). ``repl-diskless-load`` says where the payload goes
while it arrives: ``disabled`` (and ``on-empty-db`` when a db holds keys)
writes it to ``temp-<time>.<pid>.rdb``, renamed to ``dbfilename`` once
complete and loaded from there, as Redis does (a broken transfer removes
the temp file and keeps the old data); ``swapdb`` (and ``on-empty-db`` on an
empty dataset) keeps it in memory and parses it from there.
"""

from __future__ import annotations

import asyncio
import os
import time

import hiredis

from redpoll.client import F_MASTER, F_MULTI, REPLY_OFF, Client
from redpoll.log import log
from redpoll.replication.primary import encode_command


# len(b"$<n>\r\n") + 2 for small n: a bulk string's framing in RESP
_BULK_FRAMING = [len(b"$%d\r\n" % n) + 2 for n in range(4096)]


def _resp_size(argv) -> int:
    """Bytes of ``argv`` as a RESP multibulk (how far the stream advanced)."""
    lens = list(map(len, argv))
    try:
        return (_BULK_FRAMING[len(argv)] - 2 + sum(lens)
                + sum(map(_BULK_FRAMING.__getitem__, lens)))
    except IndexError:      # long arguments
        return len(b"*%d\r\n" % len(argv)) + sum(len(b"$%d\r\n" % n) + n + 2 for n in lens)


class LinkError(Exception):
    """The link must be dropped (and retried); the message is logged."""


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace").rstrip("\r\n")


class MasterLink:
    def __init__(self, repl, host: str, port: int, cached: bool, failover: bool = False):
        self.repl = repl
        self.server = repl.server
        self.host = host
        self.port = port
        self.cached = cached            # PSYNC with our replid/offset (else "? -1")
        self.state = "connect"          # connect, connecting, handshake, transfer, connected
        self.task: asyncio.Task | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.client: Client | None = None
        self.reploff = 0                # applied offset
        self.read_reploff = 0           # received offset
        self.last_io = time.time()
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_lastio = 0.0
        self.db_id = 0
        self.stopped = False
        self.failover = failover        # PSYNC ... FAILOVER (see failover.py)
        self.loaded_from_disk = False   # the last full sync went through dbfilename

    # -- lifecycle ---------------------------------------------------------------
    def start(self) -> None:
        self.task = self.server.loop.create_task(self._run())

    def stop(self) -> None:
        self.stopped = True
        if self.writer is not None:
            self.writer.transport.abort()
        if self.task is not None:
            self.task.cancel()
        self._teardown()

    async def _run(self) -> None:
        delay = 0.05
        while not self.stopped:
            connected = False
            try:
                await self._session()
            except asyncio.CancelledError:
                self._teardown()
                raise
            except LinkError as e:
                if str(e):
                    log.warning(str(e))
            except asyncio.TimeoutError:
                log.warning("Timeout connecting to the MASTER...")
            except (OSError, EOFError, asyncio.IncompleteReadError) as e:
                if self.state == "connecting":
                    log.warning(f"Error condition on socket for SYNC: "
                                f"{getattr(e, 'strerror', None) or e}")
            except Exception as e:  # a bug: log it, keep replicating
                import traceback
                log.warning(f"Replication link error: {type(e).__name__}: {e}")
                log.verbose(traceback.format_exc())
            connected = self.state == "connected"
            if self.failover and not self.stopped:
                # the target never answered our PSYNC: keep our role
                self.failover = False
                self.server.loop.call_soon(self.repl.failover.abort,
                                           "Failover target rejected psync request")
                self._teardown()
                break
            self._teardown()
            if self.stopped:
                break
            delay = 0.05 if connected else min(1.0, delay * 2)
            await asyncio.sleep(delay)

    def _teardown(self) -> None:
        srv = self.server
        c = self.client
        if c is not None:
            self.client = None
            self.db_id = c.db.id
            if not c.closed:
                c.closed = True
                srv.client_disconnected(c)
        if self.writer is not None:
            self.writer.transport.abort()
            self.writer = None
            self.reader = None
        if self.state == "connected":
            log.notice("Connection with master lost.")
            log.notice("* Caching the disconnected master state.")
            self.repl.down_since = time.time()
            self.cached = True
        if self.state == "transfer":
            self.repl.down_since = self.repl.down_since or 0.0
        self.state = "connect"

    # -- handshake -----------------------------------------------------------------
    async def _send(self, *args) -> None:
        self.writer.write(encode_command(list(args)))

    async def _line(self, skip_empty: bool = False) -> bytes:
        while True:
            line = await self.reader.readline()
            if not line:
                raise EOFError("connection lost")
            self.last_io = time.time()
            if skip_empty and not line.strip():
                continue        # newlines the primary sends while we wait
            return line.rstrip(b"\r\n")

    async def _session(self) -> None:
        srv = self.server
        cfg = srv.config
        repl = self.repl
        self.state = "connecting"
        self.last_io = time.time()
        log.notice(f"Connecting to MASTER {self.host}:{self.port}")
        log.notice("MASTER <-> REPLICA sync started")
        self.reader, self.writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port, limit=1 << 20),
            cfg["repl-timeout"])
        self.state = "handshake"
        self.last_io = time.time()
        log.notice("Non blocking connect for SYNC fired the event.")
        await self._send(b"PING")
        reply = await self._line()
        if reply.startswith(b"-") and not reply[1:].startswith(
                (b"NOAUTH", b"NOPERM", b"ERR operation not permitted")):
            raise LinkError(f"Error reply to PING from master: '{_text(reply)}'")
        log.notice("Master replied to PING, replication can continue...")
        password = cfg["masterauth"]
        if password:
            user = cfg["masteruser"]
            if user:
                await self._send(b"AUTH", user, password)
            else:
                await self._send(b"AUTH", password)
            reply = await self._line()
            if reply.startswith(b"-"):
                raise LinkError(f"Unable to AUTH to MASTER: {_text(reply)}")
        port = cfg["replica-announce-port"] or srv.port
        await self._send(b"REPLCONF", b"listening-port", port)
        reply = await self._line()
        if reply.startswith(b"-"):
            log.notice(f"(Non critical) Master does not understand REPLCONF "
                       f"listening-port: {_text(reply)}")
        ip = cfg["replica-announce-ip"]
        if ip:
            await self._send(b"REPLCONF", b"ip-address", ip)
            reply = await self._line()
            if reply.startswith(b"-"):
                log.notice(f"(Non critical) Master does not understand REPLCONF "
                           f"ip-address: {_text(reply)}")
        await self._send(b"REPLCONF", b"capa", b"eof", b"capa", b"psync2")
        reply = await self._line()
        if reply.startswith(b"-"):
            log.notice(f"(Non critical) Master does not understand REPLCONF capa: "
                       f"{_text(reply)}")
        if self.cached:
            replid, offset = repl.replid, repl.master_repl_offset + 1
            log.notice(f"Trying a partial resynchronization (request {replid}:{offset}).")
        else:
            replid, offset = "?", -1
            log.notice("Partial resynchronization not possible (no cached master)")
        if self.failover:
            await self._send(b"PSYNC", replid, offset, b"FAILOVER")
        else:
            await self._send(b"PSYNC", replid, offset)
        reply = await self._line(skip_empty=True)
        if self.failover and reply.startswith((b"+FULLRESYNC", b"+CONTINUE")):
            self.failover = False
            self.repl.failover.done()
        leftover = b""
        if reply.startswith(b"+FULLRESYNC"):
            parts = reply.split()
            if len(parts) < 3:
                raise LinkError("Master replied with wrong +FULLRESYNC syntax.")
            new_id, new_off = parts[1].decode(), int(parts[2])
            log.notice(f"Full resync from master: {new_id}:{new_off}")
            leftover = await self._full_sync(new_id, new_off)
        elif reply.startswith(b"+CONTINUE"):
            parts = reply.split()
            log.notice("Successful partial resynchronization with master.")
            self._continue(parts[1].decode() if len(parts) > 1 else None)
            log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
        elif reply.startswith((b"-NOMASTERLINK", b"-LOADING")):
            raise LinkError(f"Master is currently unable to PSYNC but should be in the "
                            f"future: {_text(reply)}")
        else:
            raise LinkError(f"Unexpected reply to PSYNC from master: {_text(reply)}")
        await self._stream(leftover)

    # -- full and partial resync -------------------------------------------------------
    def _load_to_disk(self) -> bool:
        """``repl-diskless-load``: ``disabled`` stores the payload in a file
        first, ``on-empty-db`` only when some db holds keys, ``swapdb``
        never (the payload is parsed from memory while the old data stays)."""
        mode = self.server.config["repl-diskless-load"]
        if mode == "disabled":
            return True
        if mode == "on-empty-db":
            return any(db.data for db in self.server.dbs)
        return False

    async def _full_sync(self, new_id: str, new_off: int) -> bytes:
        srv = self.server
        self.state = "transfer"
        self.transfer_size = -1
        self.transfer_read = 0
        self.transfer_lastio = time.time()
        header = await self._line(skip_empty=True)
        if header.startswith(b"-"):
            raise LinkError(f"MASTER aborted replication with an error: {_text(header[1:])}")
        if not header.startswith(b"$"):
            raise LinkError(f"Bad protocol from MASTER, the first byte is not '$' (we "
                            f"received '{_text(header)}'), are you sure the host and port "
                            f"are right?")
        to_disk = self._load_to_disk()
        where = "disk" if to_disk else "parser"
        sink = _Payload(srv, to_disk)
        reader = self.reader
        leftover = b""
        try:
            if header.startswith(b"$EOF:"):
                mark = header[5:]
                if len(mark) != 40:
                    raise LinkError("Bad EOF mark from MASTER")
                log.notice(f"MASTER <-> REPLICA sync: receiving streamed RDB from master "
                           f"with EOF to {where}")
                self.transfer_size = 0
                tail = bytearray()          # the last bytes: the mark may span reads
                while True:
                    chunk = await reader.read(1 << 20)
                    if not chunk:
                        raise EOFError("connection lost during the transfer")
                    start = max(0, len(tail) - 40)
                    tail += chunk
                    self.transfer_read += len(chunk)
                    self.last_io = self.transfer_lastio = time.time()
                    i = tail.find(mark, start)
                    if i >= 0:
                        leftover = bytes(tail[i + 40:])
                        sink.add(tail[:i])
                        break
                    if len(tail) > 40:
                        sink.add(tail[:-40])
                        del tail[:-40]
            else:
                try:
                    size = int(header[1:])
                except ValueError:
                    raise LinkError(f"Bad protocol from MASTER: '{_text(header)}'")
                self.transfer_size = size
                log.notice(f"MASTER <-> REPLICA sync: receiving {size} bytes from master "
                           f"to {where}")
                while self.transfer_read < size:
                    chunk = await reader.read(min(1 << 20, size - self.transfer_read))
                    if not chunk:
                        raise EOFError("connection lost during the transfer")
                    sink.add(chunk)
                    self.transfer_read += len(chunk)
                    self.last_io = self.transfer_lastio = time.time()
            payload = sink.finish()
        except BaseException:
            sink.discard()
            raise
        self._load(payload, new_id, new_off, to_disk)
        return leftover

    def _load(self, payload, new_id: str, new_off: int, from_disk: bool) -> None:
        """Replace the dataset with the payload. From disk (and on-empty-db
        from memory) the old data is flushed first, as Redis does; with
        swapdb it is swapped out once the new one parsed. Either way a payload
        that does not parse leaves the old data in place."""
        from redpoll.persistence import rdb
        srv = self.server
        repl = self.repl
        # A new history: our replicas must resync with us too.
        repl.primary.disconnect_replicas()
        repl.free_backlog()
        swap = srv.config["repl-diskless-load"] == "swapdb" and not from_disk
        if not swap:
            log.notice("MASTER <-> REPLICA sync: Flushing old data")
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        t0 = time.monotonic()
        srv.touch_all_watched(None)
        srv.loading = True
        try:
            info, dbs = rdb.parse_rdb(srv, payload)
        except Exception as e:
            log.warning(f"Failed trying to load the MASTER synchronization DB from "
                        f"{'disk' if from_disk else 'socket'}: {e}")
            if swap:
                log.notice("MASTER <-> REPLICA sync: Discarding temporary DB in background")
            raise LinkError("")
        finally:
            srv.loading = False
        if swap:
            log.notice("MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
        rdb.install_dbs(srv, dbs)
        rdb.install_functions(srv, info["functions"])   # the primary's libraries replace ours
        if swap:
            log.notice("MASTER <-> REPLICA sync: Discarding old DB in background")
        self.loaded_from_disk = from_disk
        for fn in repl.full_sync_hooks:
            fn()
        log.notice(f"Done loading RDB, keys loaded: {info.get('keys_loaded', 0)}, "
                   f"keys expired: {info.get('expired_skipped', 0)}.")
        repl.replid = new_id
        repl.clear_replid2()
        repl.master_repl_offset = new_off
        repl.create_backlog()
        self.reploff = self.read_reploff = new_off
        self.db_id = 0
        stream_db = info.get("aux", {}).get("repl-stream-db")
        if isinstance(stream_db, int) and 0 <= stream_db < len(srv.dbs):
            self.db_id = stream_db
        self.cached = True
        log.notice(f"MASTER <-> REPLICA sync: Finished with success "
                   f"({time.monotonic() - t0:.3f} seconds loading)")

    def _continue(self, new_id: str | None) -> None:
        repl = self.repl
        repl.primary.flush_stream()
        if new_id and new_id != repl.replid:
            repl.replid2 = repl.replid
            repl.second_replid_offset = repl.master_repl_offset + 1
            repl.replid = new_id
            log.notice(f"Master replication ID changed to {new_id}")
            repl.primary.disconnect_replicas()
        if repl.backlog is None:
            repl.create_backlog()
        self.reploff = self.read_reploff = repl.master_repl_offset

    # -- the stream -------------------------------------------------------------------
    def _make_client(self) -> Client:
        srv = self.server
        c = Client(srv)
        c.flags |= F_MASTER
        c.authenticated = True
        c.reply_mode = REPLY_OFF
        c.transport = self.writer.transport
        peer = c.transport.get_extra_info("peername")
        local = c.transport.get_extra_info("sockname")
        from redpoll.client import _fmt_addr
        c.addr, c.laddr = _fmt_addr(peer), _fmt_addr(local)
        sock = c.transport.get_extra_info("socket")
        c.fd = sock.fileno() if sock is not None else -1
        c.db = srv.dbs[self.db_id]
        srv.clients[c.id] = c
        return c

    async def _stream(self, leftover: bytes) -> None:
        srv = self.server
        self.client = mc = self._make_client()
        self.state = "connected"
        self.repl.down_since = 0.0
        self.send_ack()
        hr = hiredis.Reader()
        pending = bytearray()
        reader = self.reader
        execute = srv.execute
        proxy = self.repl.primary.feed_raw
        data = leftover
        while True:
            if data:
                now = time.time()
                self.last_io = now
                mc.last_interaction = now
                self.read_reploff += len(data)
                hr.feed(data)
                pending += data
                base = self.reploff
                pos = applied = 0
                srv.in_master_stream = True
                try:
                    while True:
                        try:
                            argv = hr.gets()
                        except hiredis.ProtocolError as e:
                            raise LinkError(f"Protocol error from MASTER: {e}")
                        if argv is False:
                            break
                        if type(argv) is not list:
                            raise LinkError("Protocol error from MASTER: not a command")
                        pos += _resp_size(argv)
                        if argv:
                            execute(mc, argv)
                        if mc.closed or self.client is not mc:
                            return
                        if not mc.flags & F_MULTI:
                            applied = pos
                            self.reploff = base + pos
                finally:
                    srv.in_master_stream = False
                if applied:
                    chunk = bytes(pending[:applied])
                    del pending[:applied]
                    proxy(chunk)
            data = await reader.read(1 << 16)
            if not data:
                raise EOFError("connection lost")

    def send_ack(self) -> None:
        """REPLCONF ACK <offset> (every second, and on GETACK)."""
        if self.writer is not None and self.state == "connected":
            self.writer.write(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$%d\r\n%d\r\n"
                              % (len(str(self.reploff)), self.reploff))

    # -- cron --------------------------------------------------------------------------
    def cron(self, now: float) -> None:
        timeout = self.server.config["repl-timeout"]
        if self.writer is None:
            return
        if now - self.last_io > timeout:
            if self.state == "connected":
                log.warning("MASTER timeout: no data nor PING received...")
            elif self.state == "transfer":
                log.warning("Timeout receiving bulk data from MASTER... If the problem "
                            "persists try to set the 'repl-timeout' parameter in "
                            "redis.conf to a larger value.")
            else:
                log.warning("Timeout connecting to the MASTER...")
            self.writer.transport.abort()
            return
        if self.state == "connected":
            self.send_ack()

    # -- INFO / ROLE -----------------------------------------------------------------
    def role_state(self) -> str:
        return {"transfer": "sync"}.get(self.state, self.state)

    def info_lines(self, now: float) -> list[str]:
        connected = self.state == "connected"
        if self.client is not None:
            read_off, off = self.read_reploff, self.reploff
        elif self.cached:
            read_off = off = self.repl.master_repl_offset
        else:
            read_off = off = 1
        out = [f"master_host:{self.host}", f"master_port:{self.port}",
               f"master_link_status:{'up' if connected else 'down'}",
               f"master_last_io_seconds_ago:"
               f"{int(now - self.last_io) if self.client is not None else -1}",
               f"master_sync_in_progress:{int(self.state == 'transfer')}",
               f"slave_read_repl_offset:{read_off}",
               f"slave_repl_offset:{off}"]
        if self.state == "transfer":
            total = self.transfer_size
            read = self.transfer_read
            perc = 100.0 * read / total if total > 0 else 0.0
            out += [f"master_sync_total_bytes:{total}",
                    f"master_sync_read_bytes:{read}",
                    f"master_sync_left_bytes:{total - read}",
                    f"master_sync_perc:{perc:.2f}",
                    f"master_sync_last_io_seconds_ago:{int(now - self.transfer_lastio)}"]
        if not connected:
            down = self.repl.down_since
            out.append(f"master_link_down_since_seconds:"
                       f"{int(now - down) if down else -1}")
        return out


class _Payload:
    """Where a full sync payload goes while it arrives: a temp file renamed
    to ``dbfilename`` when complete (``to_disk``), else memory."""

    def __init__(self, server, to_disk: bool):
        self.server = server
        self.file = None
        self.buf = bytearray()
        if to_disk:
            cfg = server.config
            d = cfg["dir"] or os.getcwd()
            self.tmp = os.path.join(d, f"temp-{int(time.time())}.{os.getpid()}.rdb")
            self.path = os.path.join(d, cfg["dbfilename"])
            try:
                self.file = open(self.tmp, "wb")
            except OSError as e:
                raise LinkError(f"Opening the temp file needed for MASTER <-> REPLICA "
                                f"synchronization: {e.strerror}")

    def add(self, data) -> None:
        if self.file is None:
            self.buf += data
            return
        try:
            self.file.write(data)
        except OSError as e:
            raise LinkError(f"Write error or short write writing to the DB dump file "
                            f"needed for MASTER <-> REPLICA synchronization: {e.strerror}")

    def finish(self) -> bytes:
        """The complete payload (renamed into place first when on disk)."""
        if self.file is None:
            return bytes(self.buf)
        f, self.file = self.file, None
        try:
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(self.tmp, self.path)
            with open(self.path, "rb") as rf:
                return rf.read()
        except OSError as e:
            self._unlink()
            raise LinkError(f"Failed trying to rename the temp DB into {self.path} in "
                            f"MASTER <-> REPLICA synchronization: {e.strerror}")

    def discard(self) -> None:
        """A broken transfer: the temp file goes away."""
        if self.file is not None:
            f, self.file = self.file, None
            f.close()
            self._unlink()
        self.buf = bytearray()

    def _unlink(self) -> None:
        try:
            os.unlink(self.tmp)
        except OSError:
            pass
