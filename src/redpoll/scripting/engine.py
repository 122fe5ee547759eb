"""The Lua engine: one Lua 5.1 state (lupa) per server, as in Redis.

:class:`LuaEngine` owns the state, the script cache (sha1 -> body and
compiled function) and the context of the running script. The sandbox, the
``redis`` table and the error handler are Lua code in ``prelude.lua``; this
module supplies their Python callbacks:

* ``redis.call``/``redis.pcall`` run a command through ``server.call`` with a
  fake :class:`ScriptClient` that captures reply *values* (no RESP round
  trip), after the checks Redis makes for scripts (unknown command, arity,
  ``noscript``, ACL, writes in read-only scripts, OOM, read-only replica);
* conversions: a reply value becomes a Lua value following the script's RESP
  version (``redis.setresp``), and the script's return value becomes a reply;
* ``math.random`` uses Redis's 48-bit generator, reseeded before every run;
* the timeout hook (every 100,000 instructions) enters busy mode after
  ``lua-time-limit`` ms and honours SCRIPT KILL (see ``busy.py``).

Writes made by a script reach replicas and the AOF as their own commands
(effects replication), wrapped in MULTI/EXEC by ``server.begin_atomic`` /
``end_atomic``; blocked clients are served after the script.
``redis.set_repl()`` aims the following writes at the AOF only
(REPL_AOF), the replicas only (REPL_REPLICA), both or neither.
"""

from __future__ import annotations

import hashlib
import math
import os
import signal
import time
from pathlib import Path

import lupa.lua51 as lua51

from redpoll import REDIS_COMPAT_VERSION
from redpoll.client import F_LUA, F_MASTER, Client
from redpoll.commands import table as T
from redpoll.errors import OOM, READONLY, RedisError
from redpoll.log import log
from redpoll.protocol.resp import (
    NULL_ARRAY, OK, Bool, Double, Map, Push, Raw, Set, Status, Verbatim,
    format_double)

_PRELUDE = (Path(__file__).with_name("prelude.lua")).read_text()
lua_type = lua51.lua_type

I64_MIN = -(2 ** 63)
REPL_AOF, REPL_REPLICA, REPL_ALL = 1, 2, 3   # redis.set_repl() flags
_NOSCRIPT, _WRITE, _DENYOOM = T.NOSCRIPT, T.WRITE, T.DENYOOM
_WRITE_OR_DENYOOM = T.WRITE | T.DENYOOM
_OK_BATCH = 64              # {ok="OK"} tables made per call of ok_tables (prelude.lua)
_REPLY_CAPTURE = 99          # a reply_mode value that makes call() use add_reply()


def sha1hex(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def err_text(s: str) -> str:
    """luaPushErrorBuff: ``-CODE msg`` / ``msg`` -> ``CODE msg`` (CR/LF trimmed)."""
    if s.startswith("-"):
        code, sp, msg = s[1:].partition(" ")
        if not sp:
            code, msg = "ERR", s[1:]
    else:
        code, msg = "ERR", s
    return f"{code} {msg.strip(chr(13) + chr(10))}"


def _map_crlf(b: bytes) -> bytes:
    return b.replace(b"\r", b" ").replace(b"\n", b" ")


# tags of the runners' results (``finish`` in prelude.lua)
_TAG_ERROR, _TAG_STATUS = 1, 2


def _status_reply(text: bytes):
    """The reply of an ``{ok=text}`` table (a status, cut at NUL, CR/LF as spaces)."""
    text = _map_crlf(text.split(b"\0", 1)[0])
    return OK if text == b"OK" else Raw(b"+" + text + b"\r\n")


def _error_table_reply(text: bytes) -> RedisError:
    """The reply of an ``{err=text}`` table (cut at NUL, CR/LF as spaces)."""
    return RedisError(_map_crlf(text.split(b"\0", 1)[0]).decode("utf-8", "replace"))


def _to_str(b) -> str:
    if isinstance(b, bytes):
        return b.decode("utf-8", "replace")
    return str(b)


def _script_acl_error(msg: str) -> str:
    """scriptCall's wording of an ACL denial."""
    if "keys" in msg:
        return ("ERR The user executing the script can't access at least one of the "
                "keys mentioned in the command")
    if "channel" in msg:
        return ("ERR The user executing the script can't publish to the channel "
                "mentioned in the command")
    if "run the" in msg or "command" in msg:
        return "ERR The user executing the script can't run this command or subcommand"
    return "ERR The user executing the script is lacking the permissions for the command"


class ScriptError(Exception):
    """Raised by redis.call: the Lua error becomes {err=msg}."""


def _errinfo(e):
    """(kind, message) of an exception raised by a Python callback."""
    from redpoll.scripting.libs import LibError
    if isinstance(e, ScriptError):
        return b"script", str(e).encode()
    if isinstance(e, LibError):
        return b"lib", str(e).encode()
    return None, None


def _lua_sha1hex(*args):
    if len(args) != 1:
        raise ScriptError("ERR wrong number of arguments")
    s = args[0]
    if type(s) in (int, float):
        s = b"%.14g" % s
    return sha1hex(s if type(s) is bytes else b"").encode()


class ScriptClient(Client):
    """The fake client of redis.call: replies are captured as values."""

    def __init__(self, server):
        super().__init__(server)
        self.authenticated = True
        self.flags |= F_LUA
        self.reply_mode = _REPLY_CAPTURE
        self._in_batch = True
        self.replies: list = []

    def add_reply(self, value) -> None:
        self.replies.append(value)

    def add_raw(self, data: bytes) -> None:
        self.replies.append(Raw(data))


class Lrand48:
    """Redis's redisLrand48/redisSrand48 (rand.c): a 48-bit LCG."""

    __slots__ = ("x",)
    A, C, MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1

    def __init__(self):
        self.x = 0x1234ABCD330E       # the generator's static initial state

    def seed(self, v: int) -> None:
        v &= 0xFFFFFFFF
        self.x = ((v >> 16) << 32) | ((v & 0xFFFF) << 16) | 0x330E

    def next(self) -> int:
        self.x = (self.A * self.x + self.C) & self.MASK
        return self.x >> 17


class RunContext:
    """State of the script being executed (Redis's scriptRunCtx). The engine
    keeps one and refills it for every run (LuaEngine.execute: cheaper than
    a new object per EVALSHA); ``LuaEngine.ctx`` is it while a script runs,
    None otherwise."""

    __slots__ = ("caller", "fake", "sha", "readonly", "wrote", "start",
                 "timed_out", "repl", "oom", "is_eval")

    def __init__(self):
        self.caller = self.fake = self.sha = None
        self.readonly = self.wrote = self.timed_out = self.oom = False
        self.start = 0.0
        self.repl = REPL_ALL
        self.is_eval = True           # False for FCALL (ctx.sha is the function name)


class Script:
    __slots__ = ("sha", "body", "func", "flags")

    def __init__(self, sha, body, func, flags):
        self.sha = sha              # hex digest (str)
        self.body = body
        self.func = func            # the compiled chunk, kept for every call
        self.flags = flags          # None (no shebang) or a set of flag names


SHEBANG_FLAGS = {"no-writes", "allow-oom", "allow-stale", "no-cluster",
                 "allow-cross-slot-keys"}


def parse_shebang(body: bytes):
    """Flags of a ``#!lua flags=...`` first line, None without a shebang."""
    if not body.startswith(b"#!"):
        return None
    line = body.split(b"\n", 1)[0]
    parts = line.split(b" ")
    engine = parts[0]
    if engine != b"#!lua":
        raise RedisError(f"ERR Unexpected engine in script shebang: {_to_str(engine)}")
    flags = set()
    for p in parts[1:]:
        if not p:
            continue
        if not p.startswith(b"flags="):
            raise RedisError(f"ERR Unknown lua shebang option: {_to_str(p)}")
        for f in p[6:].split(b","):
            if not f:
                continue
            name = _to_str(f)
            if name not in SHEBANG_FLAGS:
                raise RedisError(f"ERR Unexpected flag in script shebang: {name}")
            flags.add(name)
    return flags


class LuaEngine:
    """The server's Lua state, script cache and running-script context."""

    def __init__(self, server):
        self.server = server
        self.scripts: dict[str, Script] = {}
        self.by_sha: dict[bytes, Script] = {}    # EVALSHA's lookup: sha1 as sent (lower)
        # sha -> body, also server.scripts (INFO memory reads it)
        self.bodies: dict = server.__dict__.setdefault("scripts", {})
        self.ctx: RunContext | None = None     # self._ctx while a script runs
        self._ctx = RunContext()
        self.rand = Lrand48()
        self.busy = None            # redpoll.scripting.busy.BusyMode while timed out
        self.fake: ScriptClient | None = None   # the client of redis.call (reused)
        self.kill_requested = False
        self._cmd_cache: dict = {}    # redis.call's command name as written -> Command
        self.debug_session = None     # redpoll.scripting.debugger.Session (SCRIPT DEBUG)
        self.debug_children: list[int] = []     # pids of forked debugging sessions
        server.cron_jobs.append(self.reap_debug_children)
        server.shutdown_hooks.append(self.kill_debug_children)
        self._new_state()

    # -- Lua state --------------------------------------------------------
    def _new_state(self) -> None:
        from redpoll.scripting import libs
        rt = lua51.LuaRuntime(encoding=None, unpack_returned_tuples=True,
                              register_eval=False, register_builtins=False)
        self.rt = rt
        major, minor, patch = (int(x) for x in REDIS_COMPAT_VERSION.split("."))
        P = rt.table_from({
            b"call": self._redis_call(True), b"sha1hex": _lua_sha1hex,
            b"log": self._log, b"setresp": self._setresp,
            b"set_repl": self._set_repl, b"acl_check_cmd": self._acl_check_cmd,
            b"rand": self._rand, b"srand": self._srand, b"tick": self._tick,
            b"version": REDIS_COMPAT_VERSION.encode(),
            b"version_num": (major << 16) | (minor << 8) | patch,
            b"libs": rt.table_from(libs.build(rt)), b"errinfo": _errinfo,
            b"pcall": self._redis_call(False),
        })
        prelude = rt.globals().loadstring(_PRELUDE.encode(), b"=redpoll")
        api = prelude(P)
        self._run = api[b"run"]
        self._run_debug = api[b"run_debug"]
        self._compile = api[b"compile"]
        self._load_library = api[b"load_library"]
        self._call_function = api[b"call_function"]
        self._reply_parts = api[b"reply_parts"]
        self._reply_items = api[b"reply_items"]
        self._reply_items_max = int(api[b"reply_items_max"])
        self._ok_tables = api[b"ok_tables"]
        self._ok_pool: list = []
        self.table_from = rt.table_from
        for name in (b"python", b"os", b"io", b"dofile", b"loadfile", b"require",
                     b"package", b"module", b"print", b"debug"):
            rt.globals()[name] = None

    def memory(self) -> int:
        return int(self.rt.eval("collectgarbage('count')") * 1024)

    def flush(self) -> None:
        """SCRIPT FLUSH: forget every cached script (and let Lua free them)."""
        self.scripts = {}
        self.by_sha = {}
        self.bodies.clear()
        self.rt.eval("collectgarbage('collect')")

    def load_library(self, code: bytes):
        """Run a library's code in load mode: (True, [(name, callback, flags,
        description), ...]) or (False, error message)."""
        r = self._load_library(b"--" + code)      # the shebang line becomes a comment
        if r[0]:
            out = []
            for item in r[1].values():
                name, cb, flags, desc = item[1], item[2], item[3], item[4]
                out.append((name, cb, [f for f in flags.values()],
                            desc if desc is not False else None))
            return True, out
        kind, err = r[1], r[2]
        if kind == b"compile":
            return False, "ERR Error compiling function: " + _to_str(err)
        msg = err[b"err"] if lua_type(err) == "table" else err
        return False, "ERR Error registering functions: " + _to_str(msg)

    # -- script cache -------------------------------------------------------
    def create(self, body: bytes) -> str:
        """Compile and cache ``body`` (if new); returns its sha1."""
        sha = sha1hex(body)
        if sha not in self.scripts:
            flags = parse_shebang(body)
            src = body
            if flags is not None:
                src = b"--" + body    # the shebang line becomes a comment
            f, err = self._compile(src)
            if f is None:
                raise RedisError("ERR Error compiling script (new function): "
                                 + _to_str(err))
            script = self.scripts[sha] = Script(sha, body, f, flags)
            self.by_sha[sha.encode()] = script
            self.bodies[sha] = body
        return sha

    # -- running ---------------------------------------------------------------
    def debug_run(self, c, script: "Script", nkeys: int, rest: list, readonly: bool,
                  forked: bool):
        """EVAL under the Lua debugger (SCRIPT DEBUG YES|SYNC): see
        ``debugger.py``. Returns the reply (SYNC) or NO_REPLY (YES: the
        forked child answers, the parent drops the client)."""
        from redpoll.client import F_CLOSE_AFTER_REPLY
        from redpoll.protocol.resp import NO_REPLY
        sock = c.transport.get_extra_info("socket") if c.transport is not None else None
        if sock is None:
            raise RedisError("ERR the Lua debugger needs a network client")
        fd = sock.fileno()
        srv = self.server
        if forked:
            try:
                pid = os.fork()
            except OSError as e:
                raise RedisError(f"ERR Fork() failed: can't run EVAL in debugging mode: "
                                 f"{e.strerror}")
            if pid:
                self.debug_children.append(pid)
                c.close()
                return NO_REPLY
            code = 0
            try:                            # the child: never returns to the loop
                log.warning("Redis forked for debugging eval")
                srv.propagation_sinks = []
                srv.before_reply_hook = None
                os.set_blocking(fd, True)
                self._debug_session(c, script, nkeys, rest, readonly, fd, True)
                log.warning("Lua debugging session child exiting")
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        log.warning("Redis synchronous debugging eval session started")
        os.set_blocking(fd, True)
        try:
            reply = self._debug_session(c, script, nkeys, rest, readonly, fd, False)
        finally:
            os.set_blocking(fd, False)
            log.warning("Redis synchronous debugging eval session ended")
        c.flags |= F_CLOSE_AFTER_REPLY
        return reply

    def _debug_session(self, c, script, nkeys: int, rest: list, readonly: bool, fd: int,
                       forked: bool):
        from redpoll.scripting.debugger import Session
        sess = Session(self, c, fd, script.body, forked)
        callbacks = self.table_from({
            name.encode(): getattr(sess, name) for name in (
                "stop_reason", "read", "command", "set_step", "breakpoint",
                "set_log_calls", "repr", "log_lua", "log_source")})
        self.debug_session = sess

        def runner(func, use_hook, nkeys, *rest):
            return self._run_debug(func, callbacks, nkeys, *rest)
        try:
            try:
                reply = self.execute(c, script.sha, script.flags, readonly, runner,
                                     script.func, nkeys, rest)
            except RedisError as e:
                reply = e
        finally:
            self.debug_session = None
        sess.end(reply if forked else None)
        return reply

    def reap_debug_children(self) -> None:
        """Cron: collect forked debugging sessions that ended."""
        for pid in list(self.debug_children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.debug_children.remove(pid)

    def kill_debug_children(self, save=None) -> None:
        """Shutdown: end the forked debugging sessions still running."""
        for pid in self.debug_children:
            log.warning(f"Killing debugging session {pid}")
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        self.debug_children = []

    def run_function(self, c, fn, nkeys: int, rest: list, readonly: bool):
        """FCALL: run a registered function (``fn``: functions.Function);
        ``rest`` holds the ``nkeys`` keys, then the arguments."""
        return self.execute(c, fn.name, fn.flags, readonly, self._call_function,
                            fn.callback, nkeys, rest, is_eval=False)

    def execute(self, c, funcname: str, flags, readonly: bool, runner, func,
                nkeys: int, rest: list, is_eval: bool = True):
        """The common part of EVAL and FCALL (scriptPrepareForRun + call):
        flag checks, the run context, frozen time, effects propagation as
        one unit, busy mode bookkeeping; returns the reply. ``rest`` holds
        the ``nkeys`` keys, then the arguments.

        This is the per-call path of EVALSHA: keep it lean (no per-call
        allocation beyond the run context). The runners (prelude.lua) return
        ``ok, result, tag``: a tag says the result was an ``{err=...}`` or
        ``{ok=...}`` table and the result is then its string (see
        ``finish`` in prelude.lua), so that common replies need no table
        indexing from Python."""
        srv = self.server
        cfg = srv.config.values
        if flags is not None:
            if "no-writes" in flags:
                readonly = True
            if (srv.masterhost is not None and "allow-stale" not in flags
                    and not cfg["replica-serve-stale-data"]
                    and getattr(srv, "master_link_down", False)):
                raise RedisError("MASTERDOWN Link with MASTER is down and "
                                 "replica-serve-stale-data is set to 'no'.")
            if not readonly and srv.masterhost is not None and not c.flags & F_MASTER \
                    and cfg["replica-read-only"]:
                raise RedisError("READONLY You can't write against a read only replica.")
        oom = False
        if srv.maxmemory and srv.oom_check is not None and srv.masterhost is None:
            oom = bool(srv.oom_check())
            if oom and flags is not None and not readonly and "allow-oom" not in flags:
                raise RedisError("OOM command not allowed when used memory > 'maxmemory'.")
        fake = self.fake
        if fake is None:
            fake = self.fake = ScriptClient(srv)
        fake.db = c.db
        fake.user = c.user
        fake.resp = 2
        fake.flags = F_LUA | (c.flags & F_MASTER)
        ctx = self._ctx
        ctx.caller = c
        ctx.fake = fake
        ctx.sha = funcname
        ctx.readonly = readonly
        ctx.oom = oom
        ctx.wrote = ctx.timed_out = False
        ctx.start = time.monotonic()
        ctx.repl = REPL_ALL
        ctx.is_eval = is_eval
        self.ctx = ctx
        self.kill_requested = False
        froze = srv.frozen_ms is None
        if froze:
            srv.frozen_ms = int(time.time() * 1000)
        srv.begin_atomic()
        srv.script_running = True
        try:
            ok, res, tag = runner(func, cfg["lua-time-limit"] > 0, nkeys, *rest)
        finally:
            srv.script_running = False
            self.ctx = None
            ctx.caller = None           # do not keep the client alive
            if froze:
                srv.frozen_ms = None
            if self.busy is not None:
                self.busy.finish()
                self.busy = None
            srv.end_atomic()
        if len(self._ok_pool) < _OK_BATCH // 4:      # see _ok_table
            self._ok_pool.extend(self._ok_tables(_OK_BATCH))
        if ok:
            if tag is None:
                t = type(res)
                if t is bytes or t is int:
                    return res
                return self._reply(res, c, fake.resp)
            if tag == _TAG_STATUS:
                return _status_reply(res)
            return _error_table_reply(res)
        return self._error_reply(res, funcname)

    def _error_reply(self, err, funcname: str) -> RedisError:
        if lua_type(err) == "table":
            msg = err[b"err"]
            msg = _to_str(msg) if msg is not None else ""
            source, line = err[b"source"], err[b"line"]
            text = msg
            if source is not None and line is not None:
                text += f" script: {funcname}, on {_to_str(source)}:{_num_str(line)}."
        else:
            text = f"ERR Error running script {funcname}, {_to_str(err)[:100]}"
        return RedisError(text.replace("\r", " ").replace("\n", " "))

    # -- Lua value -> reply ------------------------------------------------------
    def _reply(self, v, c, script_resp: int):
        t = type(v)
        if t is bytes:
            return v
        if t is int:
            return v if I64_MIN <= v < 2 ** 63 else I64_MIN
        if t is float:
            if v != v or math.isinf(v) or not (-2.0 ** 63 <= v < 2.0 ** 63):
                return I64_MIN
            return int(v)
        if t is bool:
            if script_resp == 2:
                return 1 if v else None
            return Bool(v)
        if v is None or lua_type(v) != "table":
            return None
        parts = self._reply_parts(v)        # read raw in Lua, see prelude.lua
        kind = parts[0]
        if kind == 0:                       # an array: 0, n, items...
            n = parts[1]
            items = parts[2:]
            if n > len(items):
                items = list(items)
                step = self._reply_items_max
                while len(items) < n:
                    i = len(items) + 1
                    chunk = self._reply_items(v, i, min(n, i + step - 1))
                    items.extend(chunk if type(chunk) is tuple else (chunk,))
            return [self._reply(x, c, script_resp) for x in items]
        x = parts[1]
        if kind == _TAG_ERROR:
            return _error_table_reply(x)
        if kind == _TAG_STATUS:
            return _status_reply(x)
        if kind == 3:
            return Double(x)
        if kind == 4:
            return _map_crlf(x)
        if kind == 5:
            return Verbatim(x)
        if kind == 6:
            return Map([(self._reply(k, c, script_resp), self._reply(y, c, script_resp))
                        for k, y in x.items()])
        return Set([self._reply(k, c, script_resp) for k in x.keys()])

    # -- reply -> Lua value --------------------------------------------------------
    def _to_lua(self, v, resp: int):
        t = type(v)
        if t is bytes or t is int:
            return v
        if v is None or v is NULL_ARRAY:
            return False if resp == 2 else None
        if t is list or t is tuple or t is Push:
            return self.table_from([self._to_lua(x, resp) for x in v])
        if t is Status:
            if v is OK:
                return self._ok_table()
            return self.table_from({b"ok": v.encode()})
        if isinstance(v, RedisError):
            return self.table_from({b"err": err_text("-" + v.msg).encode()})
        if t is Map:
            if resp == 2:
                flat = []
                for k, x in v:
                    flat.append(self._to_lua(k, resp))
                    flat.append(self._to_lua(x, resp))
                return self.table_from(flat)
            d = self.table_from()
            for k, x in v:
                d[self._to_lua(k, resp)] = self._to_lua(x, resp)
            return self.table_from({b"map": d})
        if t is Set:
            if resp == 2:
                return self.table_from([self._to_lua(x, resp) for x in v])
            d = self.table_from()
            for x in v:
                d[self._to_lua(x, resp)] = True
            return self.table_from({b"set": d})
        if t is Double or t is float:
            if resp == 2:
                return format_double(v)
            return self.table_from({b"double": float(v)})
        if t is Bool or t is bool:
            if resp == 2:
                return 1 if v else 0
            return bool(v)
        if t is Verbatim:
            if resp == 2:
                return bytes(v)
            return self.table_from({b"verbatim_string": self.table_from(
                {b"format": b"txt", b"string": bytes(v)})})
        if t is str:
            return v.encode()
        if t is Raw:
            return self._to_lua(parse_resp(bytes(v)), resp)
        if isinstance(v, int):
            return int(v)
        if isinstance(v, (bytes, bytearray)):
            return bytes(v)
        return None

    def _ok_table(self):
        """A new {ok = "OK"} table (redis.call's value of an OK reply), from
        a pool that Lua fills _OK_BATCH tables at a time, which costs far less
        per table than table_from. The pool is filled between runs only
        (execute): during a run the timeout hook could fire inside the
        filling code. Every table is handed out once."""
        pool = self._ok_pool
        if pool:
            return pool.pop()
        return self.table_from({b"ok": b"OK"})

    # -- callbacks (redis.*) ---------------------------------------------------------
    def _redis_call(self, raise_errors: bool):
        """The callback of redis.call (raise_errors: errors are raised as
        ScriptError, see errinfo) or of redis.pcall (errors come back as
        {err=...} tables). A closure rather than a method with a flag
        argument: Lua calls it directly, at no more cost than a method."""
        def call(*args):
            sess = self.debug_session
            if sess is not None and (sess.step or sess.log_calls):
                ok, v = self._exec_logged(sess, args)
            else:
                ok, v = self._exec_call(args)
            if ok:
                return v
            if raise_errors:
                raise ScriptError(v)
            return self.table_from({b"err": v.encode()})
        return call

    def _exec_logged(self, sess, args):
        """_exec_call with the debugger's <redis>/<reply>/<error> logs."""
        if args and all(type(a) in (bytes, int, float) for a in args):
            # (Redis logs the command once its arguments converted)
            sess.log_call([a if type(a) is bytes else b"%.17g" % a for a in args])
        fake = self.fake
        fake.replies = None
        ok, v = self._exec_call(args)
        if fake.replies is None:            # refused before running the command
            sess.log_error(v)
        else:
            sess.log_reply(fake.replies[0] if fake.replies else None, fake.resp)
        return ok, v

    def _exec_call(self, args):
        ctx = self.ctx
        if ctx is None:
            return False, "ERR redis.call/pcall can only be called inside a script invocation"
        if not args:
            return False, "ERR Please specify at least one argument for this redis lib call"
        argv = list(args)
        for a in args:
            if type(a) is not bytes:        # rare: convert numbers, refuse the rest
                for i, a in enumerate(argv):
                    t = type(a)
                    if t is not bytes:
                        if t is int or t is float:
                            argv[i] = b"%.17g" % a
                        else:
                            return False, ("ERR Lua redis lib command arguments must be "
                                           "strings or integers")
                break
        srv = self.server
        cmd = self._cmd_cache.get(argv[0])
        if cmd is None:
            cmd = T.TABLE.get(argv[0].lower())
            if cmd is not None and cmd.subcommands:
                if len(argv) > 1:
                    cmd = cmd.subcommands.get(argv[1].lower())
            elif cmd is not None and len(self._cmd_cache) < 1024:
                self._cmd_cache[argv[0]] = cmd      # name as written -> command
            if cmd is None:
                return False, "ERR Unknown Redis command called from script"
        n = len(argv)
        arity = cmd.arity
        if arity != n and (arity > 0 or n < -arity):
            return False, "ERR Wrong number of args calling Redis command from script"
        flags = cmd.flags
        if flags & _NOSCRIPT:
            return False, "ERR This Redis command is not allowed from script"
        fake = ctx.fake
        user = fake.user
        if user is not None and not user.unrestricted and srv.acl_check is not None:
            err = srv.acl_check(fake, cmd, argv)
            if err is not None:
                return False, _script_acl_error(err.msg)
        if flags & _WRITE_OR_DENYOOM:
            if flags & _WRITE:
                if ctx.readonly:
                    return False, "ERR Write commands are not allowed from read-only scripts."
                if (srv.masterhost is not None and srv.config["replica-read-only"]
                        and not fake.flags & F_MASTER):
                    return False, READONLY
            if flags & _DENYOOM and ctx.oom and not ctx.wrote:
                return False, OOM
        dirty = srv.dirty
        replies = fake.replies = []
        if ctx.repl == REPL_ALL:
            srv.call(fake, cmd, argv)
        else:
            # redis.set_repl(): the writes this call propagates reach only
            # the AOF, only the replicas, or neither (other sinks such as
            # tracking always see them); the script runs inside an atomic
            # unit, so they are buffered in atomic_ops until end_atomic()
            n = len(srv.atomic_ops)
            srv.call(fake, cmd, argv)
            ops = srv.atomic_ops
            if len(ops) > n:
                sinks = self._targeted_sinks(ctx.repl)
                if ctx.repl:
                    for i in range(n, len(ops)):
                        ops[i] = (ops[i][0], ops[i][1], sinks)
                else:
                    # REPL_NONE: not propagated at all (it does not count for
                    # the MULTI/EXEC wrapping); local sinks see it now
                    mine = ops[n:]
                    del ops[n:]
                    for dbid, pargv in mine:
                        for sink in sinks:
                            sink(dbid, pargv)
        if srv.dirty != dirty:
            ctx.wrote = True
        if replies:
            r = replies[0]
            t = type(r)
            if t is bytes or t is int:
                return True, r
        else:
            r = None
        if isinstance(r, RedisError):
            cmd.failed_calls += 1
            srv.count_error(r)
            return False, err_text("-" + r.msg)
        return True, self._to_lua(r, fake.resp)

    def _targeted_sinks(self, repl: int) -> list:
        """The propagation sinks a write reaches under redis.set_repl(repl):
        the AOF sink only with REPL_AOF, the replicas' only with
        REPL_REPLICA; any other sink always."""
        srv = self.server
        aof = getattr(srv, "aof", None)
        aof_sink = aof.feed if aof is not None else None
        repl_obj = getattr(srv, "repl", None)
        replica_sink = repl_obj.primary.feed if repl_obj is not None else None
        out = []
        for sink in srv.propagation_sinks:
            if sink == aof_sink:
                if repl & REPL_AOF:
                    out.append(sink)
            elif sink == replica_sink:
                if repl & REPL_REPLICA:
                    out.append(sink)
            else:
                out.append(sink)
        return out

    # The functions below are the redis.* helpers that can fail: as C
    # functions in Redis, they raise errors located at the calling line.
    def _log(self, *args) -> None:
        if len(args) < 2:
            raise ScriptError("ERR redis.log() requires two arguments or more.")
        level = _lua_tonumber(args[0])
        if level is None:
            raise ScriptError("ERR First argument must be a number (log level).")
        level = int(level)
        if level < 0 or level > 3:
            raise ScriptError("ERR Invalid debug level.")
        parts = [a if type(a) is bytes else _num_bytes(a) for a in args[1:]
                 if type(a) in (bytes, int, float)]
        log.log(level, b" ".join(parts).decode("utf-8", "replace"))

    def _setresp(self, *args) -> None:
        if self.ctx is None:
            raise ScriptError("ERR redis.setresp can only be called inside a script invocation")
        if len(args) != 1:
            raise ScriptError("ERR redis.setresp() requires one argument.")
        v = _lua_tonumber(args[0]) or 0
        if int(v) not in (2, 3):
            raise ScriptError("ERR RESP version must be 2 or 3.")
        self.ctx.fake.resp = int(v)

    def _set_repl(self, *args) -> None:
        if self.ctx is None:
            raise ScriptError("ERR redis.set_repl can only be called inside a script invocation")
        if len(args) != 1:
            raise ScriptError("ERR redis.set_repl() requires two arguments.")
        flags = int(_lua_tonumber(args[0]) or 0)
        if flags & ~3:
            raise ScriptError("ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, "
                              "REPL_ALL or REPL_NONE.")
        self.ctx.repl = flags

    def _acl_check_cmd(self, *args):
        if self.ctx is None:
            raise ScriptError("ERR redis.acl_check_cmd can only be called inside a script "
                              "invocation")
        if not args:
            raise ScriptError("ERR Please specify at least one argument for this redis lib call")
        argv = []
        for a in args:
            if type(a) is bytes:
                argv.append(a)
            elif type(a) in (int, float):
                argv.append(b"%.17g" % a)
            else:
                raise ScriptError("ERR Lua redis lib command arguments must be strings or "
                                  "integers")
        cmd = T.lookup(argv)
        if cmd is None or cmd.subcommands:
            raise ScriptError("ERR Invalid command passed to redis.acl_check_cmd()")
        user = self.ctx.caller.user
        if user is None or user.unrestricted or self.server.acl_check is None:
            return True
        return self.server.acl_check(self.ctx.caller, cmd, argv) is None

    def _rand(self) -> float:
        return (self.rand.next() % 0x7FFFFFFF) / 0x7FFFFFFF

    def _srand(self, v) -> None:
        v = int(v)
        self.rand.seed(v & 0xFFFFFFFF)

    # -- timeout hook ----------------------------------------------------------------
    def _tick(self) -> bool:
        """Called every 100,000 Lua instructions: True kills the script."""
        ctx = self.ctx
        if ctx is None:
            return False
        limit = self.server.config["lua-time-limit"]
        if not ctx.timed_out:
            elapsed = (time.monotonic() - ctx.start) * 1000
            if elapsed < limit:
                return False
            ctx.timed_out = True
            log.warning(
                f"Slow script detected: still in execution after {int(elapsed)} "
                f"milliseconds. You can try killing the script using the SCRIPT "
                f"KILL command. Script name is: {ctx.sha}.")
            from redpoll.scripting.busy import BusyMode
            self.busy = BusyMode(self.server)
        if self.busy is not None:
            self.busy.poll()
        if self.kill_requested:
            log.warning("Lua script killed by user with SCRIPT KILL.")
            return True
        return False


def _lua_tonumber(v):
    """lua_tonumber: numbers, and strings that convert; None otherwise."""
    if type(v) in (int, float):
        return v
    if type(v) is bytes:
        try:
            return float(v.strip())
        except ValueError:
            try:
                return int(v.strip(), 16)
            except ValueError:
                return None
    return None


def _num_bytes(v) -> bytes:
    """A number as Lua's tostring() writes it (%.14g)."""
    return b"%.14g" % v


def _num_str(v) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def parse_resp(data: bytes):
    """Parse one RESP reply (used for pre-encoded Raw replies)."""
    def one(i):
        j = data.index(b"\r\n", i)
        t, rest = data[i:i + 1], data[i + 1:j]
        i = j + 2
        if t == b"+":
            return Status(rest.decode("utf-8", "replace")), i
        if t == b"-":
            return RedisError(rest.decode("utf-8", "replace")), i
        if t == b":":
            return int(rest), i
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None, i
            return data[i:i + n], i + n + 2
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return NULL_ARRAY, i
            out = []
            for _ in range(n):
                x, i = one(i)
                out.append(x)
            return out, i
        if t == b"%":
            out = []
            for _ in range(int(rest)):
                k, i = one(i)
                x, i = one(i)
                out.append((k, x))
            return Map(out), i
        if t == b"_":
            return None, i
        if t == b",":
            return Double(float(rest)), i
        if t == b"#":
            return Bool(rest == b"t"), i
        return rest, i
    return one(0)[0] if data else None
