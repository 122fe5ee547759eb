"""The append-only file, as Redis 7.0's multi-part AOF.

Layout (``dir/appenddirname``)::

    appendonly.aof.manifest        file appendonly.aof.1.base.rdb seq 1 type b
                                   file appendonly.aof.1.incr.aof seq 1 type i
    appendonly.aof.1.base.rdb      the dataset when the last rewrite started
                                   (an RDB with aof-base=1, or commands
                                   ``.base.aof`` with aof-use-rdb-preamble no)
    appendonly.aof.1.incr.aof      every write since, as RESP commands

:class:`AOF` (``server.aof``) is a propagation sink: each write arrives as
``(dbid, argv)`` already rewritten by the command to an absolute form
(SET ... PXAT, PEXPIREAT) and is queued as it is (one list append); the
queue is encoded in one go (with SELECT when the db changes and ``#TS:``
annotations with ``aof-timestamp-enabled``) and written before the replies
of the batch leave. ``appendfsync always`` writes and fsyncs before the
command's reply can leave; ``everysec`` fsyncs from a background thread once
a second, and while that fsync is slow postpones writes for up to 2 s
(``aof_delayed_fsync``), as Redis; ``no`` leaves it to the kernel.

BGREWRITEAOF (and the automatic rewrite) opens a new incr file at once, so
writes keep flowing while a forked child writes the new base file; when the
child is done the base is renamed in, the old base and incr files become
history in the manifest and are deleted. Loading prefers the AOF when
``appendonly yes`` and applies Redis's rules for a torn last command
(``aof-load-truncated``) and bad files (refuse with Redis's log lines).
"""

from __future__ import annotations

import os
import threading
import time

from redpoll.errors import RedisError
from redpoll.log import log
from redpoll.persistence import rdb, run_now
from redpoll.persistence.child import children
from redpoll.persistence.files import replacing
from redpoll.protocol.request import split_args
from redpoll.protocol.resp import ARRAY_HDR, BULK_HDR, as_bytes, encode_command

# Propagated to replicas but never written to the AOF (Redis propagates
# PUBLISH with PROPAGATE_REPL only).
_REPLICAS_ONLY = frozenset({b"publish", b"spublish"})
OFF, ON, WAIT_REWRITE = 0, 1, 2
ITEMS_PER_CMD = 64


class AOFError(Exception):
    """The AOF cannot be loaded; the message is Redis's log line."""


def _bad_format(name: str) -> AOFError:
    return AOFError(f"Bad file format reading the append only file {name}: make a "
                    "backup of your AOF file, then use ./redis-check-aof --fix "
                    "<filename.manifest>")


# ============================================================================
# manifest
# ============================================================================

class AofFile:
    __slots__ = ("name", "seq", "type")

    def __init__(self, name: str, seq: int, type: str):
        self.name = name
        self.seq = seq
        self.type = type

    def line(self) -> str:
        name = self.name
        if any(ch in name for ch in ' "\'\\\t\r\n') or not name.isprintable():
            from redpoll.protocol.quoting import repr_arg
            name = repr_arg(name.encode())
        return f"file {name} seq {self.seq} type {self.type}\n"


class Manifest:
    def __init__(self):
        self.base: AofFile | None = None
        self.incrs: list[AofFile] = []
        self.history: list[AofFile] = []
        self.base_seq = 0
        self.incr_seq = 0

    def text(self) -> str:
        out = []
        if self.base:
            out.append(self.base.line())
        out += [h.line() for h in self.history]
        out += [i.line() for i in self.incrs]
        return "".join(out)

    @classmethod
    def parse(cls, text: str) -> "Manifest":
        m = cls()
        for raw in text.split("\n"):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if len(raw) > 1024:
                raise AOFError("The AOF manifest file contains too long line")
            args = split_args(line.encode("utf-8", "surrogateescape"))
            if args is not None:
                args = [a.decode("utf-8", "surrogateescape") for a in args]
            if not args or len(args) % 2:
                raise AOFError("Invalid AOF manifest file format")
            kv = dict(zip(args[::2], args[1::2]))
            try:
                f = AofFile(kv["file"], int(kv["seq"]), kv["type"])
            except (KeyError, ValueError):
                raise AOFError("Invalid AOF manifest file format") from None
            if f.type == "b":
                if m.base is not None:
                    raise AOFError("Found duplicate base file information")
                m.base = f
                m.base_seq = f.seq
            elif f.type == "h":
                m.history.append(f)
            elif f.type == "i":
                if f.seq <= m.incr_seq:
                    raise AOFError("Found a non-monotonic sequence number")
                m.incrs.append(f)
                m.incr_seq = f.seq
            else:
                raise AOFError("Unknown AOF file type")
        return m


# ============================================================================
# running the loader with or without an event loop
# ============================================================================

async def _call(step):
    return step()


async def _no_pause() -> None:
    pass


# ============================================================================
# encoding commands
# ============================================================================

def rewrite_commands(server, write, timestamp: bool = False) -> None:
    """The dataset as commands (the base file without RDB preamble)."""
    from redpoll.datatypes import RHash, RList, RSet, Stream, ZSet
    if timestamp:
        write(b"#TS:%d\r\n" % int(time.time()))
    libs = getattr(server, "function_libraries", None)
    if libs:
        for code in libs():
            write(encode_command([b"FUNCTION", b"LOAD", code]))
    buf: list[bytes] = []
    for db in server.dbs:
        if not db.data:
            continue
        buf.append(encode_command([b"SELECT", str(db.id).encode()]))
        expires = db.expires
        for key, v in db.data.items():
            t = type(v)
            if t is bytes:
                buf.append(encode_command([b"SET", key, v]))
            elif t is RList:
                items = list(v)
                for i in range(0, len(items), ITEMS_PER_CMD):
                    buf.append(encode_command([b"RPUSH", key] + items[i:i + ITEMS_PER_CMD]))
            elif t is RSet:
                items = list(v)
                for i in range(0, len(items), ITEMS_PER_CMD):
                    buf.append(encode_command([b"SADD", key] + items[i:i + ITEMS_PER_CMD]))
            elif t is ZSet:
                items = list(v.sl)
                for i in range(0, len(items), ITEMS_PER_CMD):
                    args = [b"ZADD", key]
                    for score, member in items[i:i + ITEMS_PER_CMD]:
                        args.append(b"%.17g" % score)
                        args.append(member)
                    buf.append(encode_command(args))
            elif t is RHash:
                items = list(v.items())
                for i in range(0, len(items), ITEMS_PER_CMD):
                    args = [b"HMSET", key]
                    for f, val in items[i:i + ITEMS_PER_CMD]:
                        args.append(f)
                        args.append(val)
                    buf.append(encode_command(args))
            elif t is Stream:
                from redpoll.persistence.rdb_stream import stream_commands
                for argv in stream_commands(key, v):
                    buf.append(encode_command(argv))
            else:
                raise rdb.RDBError(f"cannot rewrite a value of type {t.__name__}")
            when = expires.get(key) if expires else None
            if when is not None:
                buf.append(encode_command([b"PEXPIREAT", key, str(when).encode()]))
            if len(buf) >= 256:
                write(b"".join(buf))
                buf = []
    if buf:
        write(b"".join(buf))


# ============================================================================
# the AOF
# ============================================================================

class AOF:
    def __init__(self, server):
        self.server = server
        cfg = server.config
        self.state = ON if cfg["appendonly"] else OFF
        self.children = children(server)
        self.manifest = Manifest()
        self.fd = -1
        self.pending: list = []           # writes not encoded yet (see feed)
        self.buf: list[bytes] = []        # encoded, not written yet
        self.flush_scheduled = False
        self.seldb = -1                   # db of the last write fed
        self._want_db = self._enc_db = -1 # db wanted / last SELECT encoded
        self.delayed_fsyncs = 0           # INFO aof_delayed_fsync
        self._postponed_since = 0.0       # a write waits for the fsync since
        self.fsync_stall = 0.0            # DEBUG AOF-FSYNC-STALL (a busy disk)
        self.last_ts = 0
        self.current_size = 0
        self.base_size = 0
        self.last_write_ok = True
        self.last_write_err = ""
        self.rewrite_scheduled = False
        self.last_rewrite_ok = True
        self.last_rewrite_time = -1
        self.rewrite_started = 0.0
        self.rewrites = 0
        self.consecutive_failures = 0
        self._killed = False
        self._killed_by_user = False
        self._retry_at = 0.0
        self.lock = threading.Lock()
        self.unsynced = False
        self.fsync_in_progress = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._always = cfg["appendfsync"] == "always"
        self._everysec = cfg["appendfsync"] == "everysec"
        self._ts = cfg["aof-timestamp-enabled"]
        self._update_mode()
        cfg.watch("appendfsync", self._on_fsync_change)
        cfg.watch("appendonly", self._on_appendonly_change)
        cfg.watch("aof-timestamp-enabled", self._on_ts_change)

    # -- paths ---------------------------------------------------------------
    @property
    def dirpath(self) -> str:
        cfg = self.server.config
        return os.path.join(cfg["dir"] or os.getcwd(), cfg["appenddirname"])

    @property
    def filename(self) -> str:
        return self.server.config["appendfilename"]

    def manifest_path(self) -> str:
        return os.path.join(self.dirpath, self.filename + ".manifest")

    def _path(self, name: str) -> str:
        return os.path.join(self.dirpath, name)

    # -- the sink -----------------------------------------------------------------
    def feed(self, dbid: int, argv) -> None:
        """Propagation sink: queue one write command.

        The common case (AOF on, no timestamps, not ``always``, same db as
        the previous write) is one list append: the argv lists are encoded
        in bulk by :meth:`flush` (before the replies of the batch leave)."""
        if self._slow or dbid != self.seldb:
            return self._feed_slow(dbid, argv)
        self.pending.append(argv)
        if not self.flush_scheduled:
            # written before the replies of this client's batch leave (the
            # server's before_reply_hook), or soon for writes made elsewhere
            self.flush_scheduled = True
            self.server.loop.call_soon(self.flush)

    def _feed_slow(self, dbid: int, argv) -> None:
        st = self.state
        if st == OFF or (st == WAIT_REWRITE and not self._rewriting()):
            return
        pending = self.pending
        if self._ts:
            if argv[0].lower() in _REPLICAS_ONLY:
                return
            now = int(time.time())
            if now > self.last_ts:
                self.last_ts = now
                pending.append(b"#TS:%d\r\n" % now)
        if dbid != self.seldb:
            self.seldb = dbid
            pending.append(dbid)        # a SELECT marker (see _encode_pending)
        pending.append(argv)
        if self._always:
            self.flush()
        elif not self.flush_scheduled:
            self.flush_scheduled = True
            self.server.loop.call_soon(self.flush)

    def _update_mode(self) -> None:
        """Recompute the flag that sends feed() down its slow path; the feed
        is a propagation sink only while the AOF is not off."""
        self._slow = self.state != ON or self._ts or self._always
        self.server.sink_active(self.feed, self.state != OFF)

    def _encode_pending(self) -> bytes:
        """The queued writes as RESP, in one join: argv lists become
        commands (PUBLISH/SPUBLISH are dropped, they go to replicas only),
        ints are db changes (SELECT written only before a command that
        follows), bytes are annotations written as they are."""
        pending, self.pending = self.pending, []
        try:
            return self._encode(pending, True)
        except TypeError:       # a str argument somewhere: the careful way
            return self._encode(pending, False)

    def _encode(self, pending: list, fast: bool) -> bytes:
        H = BULK_HDR
        A = ARRAY_HDR
        out: list[bytes] = []
        add = out.append
        want, enc = self._want_db, self._enc_db
        for item in pending:
            t = type(item)
            if t is list:
                n0 = len(item[0])
                if (n0 == 7 or n0 == 8) and as_bytes(item[0]).lower() in _REPLICAS_ONLY:
                    continue
                if want != enc:
                    enc = want
                    s = str(want).encode()
                    add(b"*2\r\n$6\r\nSELECT\r\n$%d\r\n%s\r\n" % (len(s), s))
                if not fast:
                    add(encode_command(item))
                    continue
                mark = len(out)
                try:
                    add(A[len(item)])
                    for a in item:
                        add(H[len(a)])
                        add(a)
                        add(b"\r\n")
                except (IndexError, TypeError):   # long commands, ints
                    del out[mark:]
                    add(encode_command(item))
            elif t is int:
                want = item
            else:
                add(item)
        data = b"".join(out)
        self._want_db, self._enc_db = want, enc
        return data

    def _set_state(self, state: int) -> None:
        self.state = state
        self._update_mode()
        self.server.before_reply_hook = self.flush if state != OFF else None

    def _rewriting(self) -> bool:
        return self.children.active() and self.children.kind == "aof"

    def flush(self, force: bool = False) -> None:
        """Write the buffer to the incr file (and fsync with ``always``).

        With ``everysec``, while the background fsync is still running the
        write is postponed (the data stays buffered) for up to 2 seconds,
        then done anyway and counted in ``aof_delayed_fsync``, as Redis's
        flushAppendOnlyFile does; ``force`` writes at once."""
        self.flush_scheduled = False
        if self.pending:
            self.buf.append(self._encode_pending())
        if not self.buf or self.fd < 0:
            return
        if self.fsync_in_progress and self._everysec and not force:
            now = time.monotonic()
            if not self._postponed_since:
                self._postponed_since = now
                return
            if now - self._postponed_since < 2:
                return
            self.delayed_fsyncs += 1
            log.notice("Asynchronous AOF fsync is taking too long (disk is busy?). "
                       "Writing the AOF buffer without waiting for fsync to complete, "
                       "this may slow down Redis.")
        self._postponed_since = 0.0
        buf = self.buf
        data = buf[0] if len(buf) == 1 else b"".join(buf)
        self.buf = []
        try:
            mv = memoryview(data)
            while mv:
                n = os.write(self.fd, mv)
                mv = mv[n:]
            if self._always and not self._fsync_paused():
                os.fdatasync(self.fd)
            else:
                self.unsynced = True
        except OSError as e:
            self.last_write_ok = False
            self.last_write_err = e.strerror or str(e)
            log.warning(f"Error writing to the AOF file: {self.last_write_err}")
            if self._always:
                log.warning("Can't recover from AOF write error when the AOF fsync "
                            "policy is 'always'. Exiting...")
                os._exit(1)
            self.buf.insert(0, bytes(mv))
            self._refresh()
            return
        if not self.last_write_ok:
            log.warning("AOF write error looks solved, Redis can write again.")
            self.last_write_ok = True
            self._refresh()
        self.current_size += len(data)

    def _refresh(self) -> None:
        fn = getattr(self.server, "persistence_refresh", None)
        if fn is not None:
            fn()

    def fsync_now(self) -> None:
        self.flush(force=True)
        with self.lock:
            if self.fd >= 0:
                try:
                    os.fsync(self.fd)
                except OSError:
                    pass
            self.unsynced = False

    # -- everysec fsync thread ---------------------------------------------------------
    def _fsync_paused(self) -> bool:
        """no-appendfsync-on-rewrite: no fsync while a child writes to disk."""
        return self.server.config["no-appendfsync-on-rewrite"] and self.children.active()

    def _fsync_loop(self) -> None:
        while not self._stop.wait(1.0):
            if not self.unsynced or self._fsync_paused():
                continue
            with self.lock:
                fd = self.fd
                if fd < 0:
                    continue
                self.unsynced = False
                self.fsync_in_progress = True
                try:
                    if self.fsync_stall:
                        time.sleep(self.fsync_stall)
                    os.fdatasync(fd)
                except OSError:
                    pass
                finally:
                    self.fsync_in_progress = False

    def _start_thread(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._fsync_loop,
                                            name="aof-fsync", daemon=True)
            self._thread.start()

    def _on_fsync_change(self, old, new) -> None:
        self._always = new == "always"
        self._everysec = new == "everysec"
        self._update_mode()
        if old == "always" and self.fd >= 0:
            self.unsynced = True

    def _on_ts_change(self, old, new) -> None:
        self._ts = bool(new)
        self._update_mode()

    # -- files ---------------------------------------------------------------------------
    def _persist_manifest(self) -> None:
        os.makedirs(self.dirpath, exist_ok=True)
        tmp = self._path("temp-" + self.filename + ".manifest")
        with replacing(self.manifest_path(), tmp, "w") as f:
            f.write(self.manifest.text())

    def _new_base_name(self) -> str:
        m = self.manifest
        if m.base is not None:
            m.history.append(AofFile(m.base.name, m.base.seq, "h"))
        m.base_seq += 1
        ext = "rdb" if self.server.config["aof-use-rdb-preamble"] else "aof"
        name = f"{self.filename}.{m.base_seq}.base.{ext}"
        m.base = AofFile(name, m.base_seq, "b")
        return name

    def _open_new_incr(self) -> str:
        m = self.manifest
        m.incr_seq += 1
        name = f"{self.filename}.{m.incr_seq}.incr.aof"
        fd = os.open(self._path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        m.incrs.append(AofFile(name, m.incr_seq, "i"))
        self._persist_manifest()
        self._switch_fd(fd)
        return name

    def _switch_fd(self, fd: int) -> None:
        with self.lock:
            old = self.fd
            if old >= 0:
                try:
                    os.fsync(old)
                except OSError:
                    pass
                os.close(old)
            self.fd = fd
            self.unsynced = False
        self.seldb = self._want_db = self._enc_db = -1
        self.last_ts = 0

    def _delete_history(self) -> None:
        m = self.manifest
        if not m.history or self.server.config["aof-disable-auto-gc"]:
            return
        for h in m.history:
            log.notice(f"Removing the history file {h.name} in the background")
            try:
                os.unlink(self._path(h.name))
            except OSError:
                pass
        m.history = []
        self._persist_manifest()

    def write_base(self, path: str, preamble: bool | None = None) -> None:
        """Write a base file for the current dataset (temp, fsync, rename)."""
        srv = self.server
        if preamble is None:
            preamble = srv.config["aof-use-rdb-preamble"]
        with replacing(path, path + ".tmp") as f:
            write = rdb.autosync_writer(f, srv.config["aof-rewrite-incremental-fsync"])
            if preamble:
                rdb.write_rdb(srv, write, {"aof-base": 1})
            else:
                rewrite_commands(srv, write, srv.config["aof-timestamp-enabled"])

    def _files_size(self) -> int:
        m = self.manifest
        total = 0
        for f in ([m.base] if m.base else []) + m.incrs:
            try:
                total += os.path.getsize(self._path(f.name))
            except OSError:
                pass
        return total

    # -- start-up --------------------------------------------------------------------------
    def load_manifest(self) -> bool:
        """Read the manifest (False if there is none)."""
        try:
            with open(self.manifest_path(), "r", encoding="utf-8",
                      errors="surrogateescape") as f:
                text = f.read()
        except FileNotFoundError:
            return False
        self.manifest = Manifest.parse(text)
        return True

    def open_on_start(self) -> None:
        """appendonly yes at start-up: make sure a base and an incr file exist."""
        if self.state != ON:
            return
        self._set_state(ON)
        os.makedirs(self.dirpath, exist_ok=True)
        m = self.manifest
        if m.base is None and not m.incrs:
            name = self._new_base_name()
            self.write_base(self._path(name))
            log.notice(f"Creating AOF base file {name} on server start")
        if m.incrs:
            name = m.incrs[-1].name
            fd = os.open(self._path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._persist_manifest()
            self._switch_fd(fd)
            log.notice(f"Opening AOF incr file {name} on server start")
        else:
            name = self._open_new_incr()
            log.notice(f"Creating AOF incr file {name} on server start")
        self._delete_history()
        self._start_thread()

    # -- loading ---------------------------------------------------------------------------
    def load(self) -> bool:
        """Load the AOF (base then incr files) now. False if there is no AOF."""
        return run_now(self._drive_load(_call, _no_pause))

    async def load_async(self) -> bool:
        """The same, letting the event loop answer other clients (-LOADING,
        INFO) between batches of commands and while an RDB preamble is
        parsed in a thread (start-up, big DEBUG LOADAOF)."""
        import asyncio
        loop = asyncio.get_running_loop()
        return await self._drive_load(lambda step: loop.run_in_executor(None, step),
                                      lambda: asyncio.sleep(0))

    async def _drive_load(self, run, pause) -> bool:
        """Drive :meth:`_load_steps`: ``await run(step)`` runs each function it
        yields (its result or exception goes back into the generator) and
        ``await pause()`` is where other clients may be served."""
        steps = self._load_steps()
        result = exc = None
        try:
            while True:
                step = steps.throw(exc) if exc is not None else steps.send(result)
                result = exc = None
                if step is None:
                    await pause()
                    continue
                try:
                    result = await run(step)
                except Exception as e:      # handled by the generator
                    exc = e
        except StopIteration as e:
            return e.value

    def _load_steps(self):
        """Generator doing the load. It yields None now and then (a chance
        to serve other clients), or a function to run off the event loop
        whose result it is sent back (parsing an RDB preamble)."""
        srv = self.server
        if not self.load_manifest():
            old = os.path.join(srv.config["dir"] or os.getcwd(), self.filename)
            if not os.path.exists(old):
                return False
            self._upgrade_old_aof(old)
        m = self.manifest
        files = ([m.base] if m.base else []) + list(m.incrs)
        if not files:
            return False
        for f in files:
            if not os.path.exists(self._path(f.name)):
                raise AOFError(f"The AOF file {f.name} doesn't exist")
        snap = getattr(srv, "snapshots", None)
        dirty = srv.dirty           # (nothing is propagated while loading)
        total = sum(os.path.getsize(self._path(f.name)) for f in files)
        if snap is not None:
            snap.begin_loading(total)
        else:
            srv.loading = True
        try:
            for db in srv.dbs:
                db.clear()
            rdb.flush_functions(srv)
            for i, f in enumerate(files):
                t0 = time.monotonic()
                yield from self._load_file(f.name, i == len(files) - 1)
                kind = "base" if f.type == "b" else "incr"
                log.notice(f"DB loaded from {kind} file {f.name}: "
                           f"{time.monotonic() - t0:.3f} seconds")
        finally:
            srv.dirty = dirty
            if snap is not None:
                snap.end_loading()
            else:
                srv.loading = False
        rdb.dataset_replaced(srv)
        self.current_size = self.base_size = total
        return True

    def _upgrade_old_aof(self, path: str) -> None:
        """A pre-7.0 single-file AOF becomes the base of a new AOF directory."""
        os.makedirs(self.dirpath, exist_ok=True)
        name = os.path.basename(path)
        os.replace(path, self._path(name))
        m = Manifest()
        m.base = AofFile(name, 1, "b")
        m.base_seq = 1
        self.manifest = m
        self._persist_manifest()
        log.notice(f"Successfully migrated an old-style AOF file ({name}) into the AOF "
                   f"directory ({self.server.config['appenddirname']}).")

    def _load_file(self, name: str, last: bool) -> None:
        from redpoll.client import REPLY_OFF, Client
        from redpoll.commands import table as T
        srv = self.server
        path = self._path(name)
        with open(path, "rb") as fh:
            data = fh.read()
        if not data:
            return
        yield
        pos = 0
        if data.startswith(b"REDIS"):
            log.notice("Reading RDB base file on AOF loading...")
            snap = getattr(srv, "snapshots", None)
            watch = snap.watch if snap is not None else None
            try:
                info, dbs = yield lambda: rdb.parse_rdb(srv, data, aof_preamble=True,
                                                        watch=watch)
            except rdb.RDBError as e:
                raise AOFError(f"Error reading the RDB base file {name}, AOF loading "
                               f"aborted: {e}") from None
            finally:
                if snap is not None:
                    snap.loading_reader = None
            rdb.install_dbs(srv, dbs)
            rdb.install_functions(srv, info["functions"], flush=False)
            rdb.count_sanitizations(srv, info["blobs"], loading=True)
            pos = info["end"]
            if pos >= len(data):
                return
            log.notice("Reading the remaining AOF tail...")
        fake = Client.fake(srv)
        fake.reply_mode = REPLY_OFF          # replies are not needed
        snap = getattr(srv, "snapshots", None)
        base_done = snap.loading_done if snap is not None else 0
        executed = 0
        n = len(data)
        valid = pos
        valid_before_multi = -1
        queue: list | None = None
        find = data.find
        while pos < n:
            if data[pos] == 35:  # '#': annotation line
                e = find(b"\n", pos)
                pos = n if e < 0 else e + 1
                valid = pos
                continue
            e = find(b"\n", pos)
            if e < 0:
                return self._truncated(name, path, valid, last)
            if data[pos] != 42:  # '*'
                raise _bad_format(name)
            try:
                argc = int(data[pos + 1:e])
            except ValueError:
                argc = 0
            if argc < 1:
                raise _bad_format(name)
            p = e + 1
            argv = []
            torn = False
            for _ in range(argc):
                e = find(b"\n", p)
                if e < 0:
                    torn = True
                    break
                if data[p] != 36:  # '$'
                    raise _bad_format(name)
                try:
                    ln = int(data[p + 1:e])
                except ValueError:
                    raise _bad_format(name) from None
                s = e + 1
                if s + ln + 2 > n:
                    torn = True
                    break
                argv.append(data[s:s + ln])
                p = s + ln + 2
            if torn:
                return self._truncated(name, path, valid, last)
            pos = p
            cmd = T.lookup(argv)
            if cmd is None or cmd.handler is None:
                raise AOFError(f"Unknown command '{argv[0].decode('utf-8', 'replace')}' "
                               f"reading the append only file {name}")
            cname = cmd.name
            if cname == "multi":
                valid_before_multi = valid
                queue = []
            elif cname == "exec" and queue is not None:
                for qcmd, qargv in queue:
                    self._run(fake, qcmd, qargv)
                queue = None
            elif queue is not None:
                queue.append((cmd, argv))
            else:
                self._run(fake, cmd, argv)
            valid = pos
            executed += 1
            if executed % 10000 == 0:
                if snap is not None:
                    snap.loading_done = base_done + pos
                yield
        if queue is not None:
            log.warning(f"Revert incomplete MULTI/EXEC transaction in AOF file {name}")
            return self._truncated(name, path, valid_before_multi, last)

    @staticmethod
    def _run(fake, cmd, argv) -> None:
        fake.argv = argv
        fake.cmd = cmd
        try:
            cmd.handler(fake, argv)
        except RedisError:
            pass
        fake.prop_argv = None
        fake.out = []

    def _truncated(self, name: str, path: str, valid: int, last: bool) -> None:
        if not last:
            raise AOFError("Fatal error: the truncated file is not the last file")
        if self.server.config["aof-load-truncated"]:
            log.warning(f"!!! Warning: short read while loading the AOF file {name}!!!")
            log.warning(f"!!! Truncating the AOF {name} at offset {valid} !!!")
            try:
                os.truncate(path, valid)
            except OSError as e:
                raise AOFError(f"Error truncating the AOF file {name}: {e.strerror}") from None
            log.warning(f"AOF {name} loaded anyway because aof-load-truncated is enabled")
            return
        raise AOFError(f"Unexpected end of file reading the append only file {name}. "
                       "You can: 1) Make a backup of your AOF file, then use "
                       "./redis-check-aof --fix <filename.manifest>. 2) Alternatively "
                       "you can set the 'aof-load-truncated' configuration option to "
                       "yes and restart the server.")

    # -- rewrite ------------------------------------------------------------------------------
    def rewrite(self) -> bool:
        """Start a background rewrite; False if it could not start."""
        srv = self.server
        ch = self.children
        if ch.active():
            return False
        self.rewrite_scheduled = False
        try:
            os.makedirs(self.dirpath, exist_ok=True)
            self.flush(force=True)
            if self.state != OFF:
                name = self._open_new_incr()
                log.notice(f"Creating AOF incr file {name} on background rewrite")
        except OSError as e:
            log.warning(f"Can't open new incr AOF file: {e.strerror}")
            return False
        workdir = srv.config["dir"] or os.getcwd()

        def body(report) -> int:
            tmp = os.path.join(workdir, f"temp-rewriteaof-bg-{os.getpid()}.aof")
            self.write_base(tmp)
            log.notice(f"Successfully created the temporary AOF base file "
                       f"{os.path.basename(tmp)}")
            report.done("AOF rewrite")
            return 0

        try:
            pid = ch.fork("aof", body, self._rewrite_done,
                          sum(len(db.data) for db in srv.dbs))
        except OSError as e:
            log.warning(f"Can't rewrite append only file in background: fork: {e.strerror}")
            return False
        self.rewrite_started = time.time()
        self._child_pid = pid
        log.notice(f"Background append only file rewriting started by pid {pid}")
        return True

    def _rewrite_done(self, ok: bool, by_signal: int) -> None:
        srv = self.server
        workdir = srv.config["dir"] or os.getcwd()
        tmp = os.path.join(workdir, f"temp-rewriteaof-bg-{self._child_pid}.aof")
        self.last_rewrite_time = int(time.time() - self.rewrite_started)
        if self._killed or by_signal:
            self._killed = False
            log.warning(f"Background AOF rewrite terminated by signal {by_signal or 10}")
            ok = False
        elif not ok:
            log.warning("Background AOF rewrite terminated with error")
        if ok:
            log.notice("Background AOF rewrite terminated with success")
            try:
                m = self.manifest
                name = self._new_base_name()
                os.replace(tmp, self._path(name))
                log.notice(f"Successfully renamed the temporary AOF base file "
                           f"{os.path.basename(tmp)} into {name}")
                # every incr file but the one opened for this rewrite is history
                keep = m.incrs[-1:] if self.state != OFF else []
                for f in m.incrs[:-1] if self.state != OFF else m.incrs:
                    m.history.append(AofFile(f.name, f.seq, "h"))
                m.incrs = keep
                self._persist_manifest()
                self.flush(force=True)
                self.current_size = self.base_size = self._files_size()
                self._delete_history()
            except OSError as e:
                log.warning(f"Error trying to rename the temporary AOF base file: "
                            f"{e.strerror}")
                ok = False
        if ok:
            self.last_rewrite_ok = True
            self.consecutive_failures = 0
            self.rewrites += 1
            if self.state == WAIT_REWRITE:
                self._set_state(ON)
                self._start_thread()
            log.notice("Background AOF rewrite finished successfully")
        else:
            self.last_rewrite_ok = False
            self.consecutive_failures += 1
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if self.state == WAIT_REWRITE and not self._killed_by_user:
                # AOF being turned on: try again later, backing off
                self.rewrite_scheduled = True
                self._retry_at = time.time() + min(60, 2 ** self.consecutive_failures)
        self._killed_by_user = False

    def kill_child(self) -> None:
        ch = self.children
        if ch.active() and ch.kind == "aof":
            log.notice(f"Killing running AOF rewrite child: {ch.pid}")
            self._killed = True
            self._killed_by_user = True
            ch.kill()

    # -- on/off at runtime ------------------------------------------------------------------
    def _on_appendonly_change(self, old, new) -> None:
        from redpoll.config import ConfigError
        if bool(old) == bool(new) and old is not None:
            return
        if new and self.state == OFF:
            self._set_state(WAIT_REWRITE)
            if self.children.active() and self.children.kind != "aof":
                self.rewrite_scheduled = True
                log.notice("AOF was enabled but there is already another background "
                           "operation. An AOF background was scheduled to start when "
                           "possible.")
            elif not self.rewrite():
                self._set_state(OFF)
                log.warning("Redis needs to enable the AOF but can't trigger a "
                            "background AOF rewrite operation. Check the above logs "
                            "for more info about the error.")
                raise ConfigError("Unable to turn on AOF. Check server logs.")
        elif not new and self.state != OFF:
            self.stop()

    def rebuild(self) -> None:
        """Start the AOF over from the current dataset (a replica calls this
        after loading a full sync, as Redis's restartAOFAfterSYNC)."""
        if self.state == OFF:
            return
        self.kill_child()
        self._set_state(WAIT_REWRITE)
        if self.children.active():
            self.rewrite_scheduled = True
        elif not self.rewrite():
            self.rewrite_scheduled = True

    def stop(self) -> None:
        """appendonly no: flush, fsync and close the AOF."""
        self.fsync_now()
        self.kill_child()
        self._switch_fd(-1)
        self._set_state(OFF)
        self.rewrite_scheduled = False
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None

    # -- cron --------------------------------------------------------------------------------
    def cron(self) -> None:
        if (self.buf or self.pending) and not self.flush_scheduled:
            self.flush()
        if self.children.active() or self.server.loading:
            return
        if self.rewrite_scheduled and time.time() >= self._retry_at:
            self.rewrite()
            return
        if self.state != ON:
            return
        cfg = self.server.config
        perc = cfg["auto-aof-rewrite-percentage"]
        if perc and self.current_size > cfg["auto-aof-rewrite-min-size"]:
            base = self.base_size or 1
            growth = self.current_size * 100 // base - 100
            if growth >= perc:
                log.notice(f"Starting automatic rewriting of AOF on {growth}% growth")
                self.rewrite()

    def write_denied(self) -> str | None:
        if self.state != OFF and not self.last_write_ok:
            return f"MISCONF Errors writing to the AOF file: {self.last_write_err}"
        return None

    # -- INFO ------------------------------------------------------------------------------------
    def info_lines(self) -> list[str]:
        ch = self.children
        rewriting = self._rewriting()
        lines = [
            f"aof_enabled:{int(self.state != OFF)}",
            f"aof_rewrite_in_progress:{int(rewriting)}",
            f"aof_rewrite_scheduled:{int(self.rewrite_scheduled)}",
            f"aof_last_rewrite_time_sec:{self.last_rewrite_time}",
            f"aof_current_rewrite_time_sec:"
            f"{int(time.time() - self.rewrite_started) if rewriting else -1}",
            f"aof_last_bgrewrite_status:{'ok' if self.last_rewrite_ok else 'err'}",
            f"aof_rewrites:{self.rewrites}",
            f"aof_rewrites_consecutive_failures:{self.consecutive_failures}",
            f"aof_last_write_status:{'ok' if self.last_write_ok else 'err'}",
            f"aof_last_cow_size:{ch.last_cow['aof']}",
            "module_fork_in_progress:0",
            "module_fork_last_cow_size:0",
        ]
        if self.state != OFF:
            lines += [
                f"aof_current_size:{self.current_size}",
                f"aof_base_size:{self.base_size}",
                f"aof_pending_rewrite:{int(self.rewrite_scheduled)}",
                f"aof_buffer_length:{sum(len(b) for b in self.buf)}",
                f"aof_pending_bio_fsync:{int(self.fsync_in_progress)}",
                f"aof_delayed_fsync:{self.delayed_fsyncs}",
            ]
        return lines

    # -- shutdown ------------------------------------------------------------------------------
    def shutdown(self) -> None:
        if self._rewriting():
            log.warning("There is a child rewriting the AOF. Killing it!")
            self.kill_child()
        if self.state != OFF:
            log.notice("Calling fsync() on the AOF file.")
            self.fsync_now()
