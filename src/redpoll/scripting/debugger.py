"""The Lua debugger (LDB): SCRIPT DEBUG YES|SYNC|NO and ``redis-cli --ldb``.

After ``SCRIPT DEBUG YES|SYNC`` the client's next EVAL/EVALSHA runs under a
debugging session instead of normally:

* SYNC: the script runs in the server process, which does nothing else
  until the session ends (as in Redis); its writes are kept.
* YES: the server forks (``os.fork``); the child runs the session and exits,
  the parent drops the client at once, so every change the script makes is
  rolled back (it only ever existed in the child). Writes made in the child
  reach no replica nor the AOF (its propagation sinks are emptied).

The session talks to the client over its socket directly, in Redis's LDB
protocol: the client sends commands as RESP arrays (``step``, ``print x``,
...), the server answers each stop or command with an array of status lines
(``* Stopped at 3, stop reason = step over``, ``<value> x = 1`` ...), and at
the end sends ``+<endsession>`` followed by the script's reply, then closes
the connection. The line hook and the commands that need the Lua stack
(print, eval, trace, redis) are Lua code in ``prelude.lua``; this module
reads commands, formats logs and implements the rest (list, break, maxlen,
help).
"""

from __future__ import annotations

import os
import time

from redpoll.protocol.quoting import repr_arg
from redpoll.protocol.resp import encode
from redpoll.scripting.engine import ScriptError

HELP = [
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
]

UNKNOWN = "<error> Unknown Redis Lua debugger command or wrong number of arguments."
MAX_BREAKPOINTS = 64
DEFAULT_MAXLEN = 256
MAXLEN_MIN = 60
MAX_REQUEST = 1 << 20        # a debugger command larger than this ends the session


class ClientGone(Exception):
    """The debugging client closed the connection."""


class BadRequest(ScriptError):
    """The debugging client sent something that is not a command: the
    script ends with an error."""


def _atoi(b: bytes) -> int:
    """C's atoi: leading blanks, optional sign, digits; 0 when none."""
    s = b.lstrip()
    i = 0
    if s[:1] in (b"-", b"+"):
        i = 1
    while i < len(s) and 48 <= s[i] <= 57:
        i += 1
    try:
        return int(s[:i])
    except ValueError:
        return 0


def _strtol_strict(b: bytes):
    """The break command's argument: an integer or None."""
    try:
        return int(b)
    except ValueError:
        return None


def human(data: bytes, i: int = 0):
    """ldbRedisProtocolToHuman: (text, next offset) of one RESP reply."""
    t = data[i:i + 1]
    j = data.index(b"\r\n", i)
    line = data[i + 1:j]
    i = j + 2
    if t == b":":
        return line.decode(), i
    if t == b"$":
        n = int(line)
        if n < 0:
            return "NULL", i
        return repr_arg(data[i:i + n]), i + n + 2
    if t in (b"+", b"-"):
        return repr_arg(data[j - len(line) - 1:j]), i
    if t in (b"*", b"~", b"%"):
        n = int(line)
        if n < 0:
            return "NULL", i
        parts = []
        if t == b"%":
            for _ in range(n):
                k, i = human(data, i)
                v, i = human(data, i)
                parts.append(f"{k} => {v}")
            return "{" + ",".join(parts) + "}", i
        for _ in range(n):
            v, i = human(data, i)
            parts.append(v)
        if t == b"~":
            return "~(" + ",".join(parts) + ")", i
        return "[" + ",".join(parts) + "]", i
    if t == b"_":
        return "(null)", i
    if t == b"#":
        return ("#true" if line == b"t" else "#false"), i
    if t == b",":
        return "(double) " + line.decode(), i
    return line.decode("utf-8", "replace"), i


class Session:
    """One debugging session: the client's socket, the stepping state, the
    breakpoints and the log lines waiting to be sent."""

    def __init__(self, engine, client, fd: int, body: bytes, forked: bool):
        self.engine = engine
        self.client = client
        self.fd = fd
        self.forked = forked
        self.lines = body.rstrip(b"\r\n").split(b"\n")
        self.step = True            # stop at the first line
        self.luabp = False          # redis.breakpoint() was called
        self.breakpoints: list[int] = []
        self.current = -1
        self.maxlen = DEFAULT_MAXLEN
        self.maxlen_hint_sent = False
        self.logs: list[str] = []
        self.inbuf = b""
        self.log_calls = False      # redis.call logs <redis>/<reply> lines
        self.answered = False       # read(): a command ran since the last stop
        self.timeout = False        # stopped by the time limit
        self.resumed = time.monotonic()     # start of the running time counted

    # -- the wire --------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            except OSError:
                raise ClientGone()
            view = view[n:]

    def send_logs(self) -> None:
        """ldbSendLogs: the pending lines as one array of status replies."""
        logs, self.logs = self.logs, []
        out = [b"*%d\r\n" % len(logs)]
        for line in logs:
            out.append(b"+" + line.encode("utf-8", "replace").replace(b"\r", b" ")
                       .replace(b"\n", b" ") + b"\r\n")
        try:
            self._write(b"".join(out))
        except ClientGone:
            pass

    def _fill(self) -> None:
        try:
            d = os.read(self.fd, 65536)
        except BlockingIOError:
            time.sleep(0.001)
            return
        except OSError:
            raise ClientGone()
        if not d:
            raise ClientGone()
        self.inbuf += d
        if len(self.inbuf) > MAX_REQUEST:
            raise BadRequest("ERR max client buffer reached")

    def _line(self) -> bytes:
        while True:
            k = self.inbuf.find(b"\r\n")
            if k >= 0:
                line, self.inbuf = self.inbuf[:k], self.inbuf[k + 2:]
                return line
            self._fill()

    def read_command(self) -> list[bytes]:
        """ldbReplParseCommand: one RESP array of bulk strings."""
        head = self._line()
        if head[:1] != b"*":
            raise BadRequest("ERR protocol error")
        n = _strtol_strict(head[1:])
        if n is None or n <= 0 or n > 1024:
            raise BadRequest("ERR protocol error")
        argv = []
        for _ in range(n):
            h = self._line()
            ln = _strtol_strict(h[1:]) if h[:1] == b"$" else None
            if ln is None or ln < 0 or ln > MAX_REQUEST:
                raise BadRequest("ERR protocol error")
            while len(self.inbuf) < ln + 2:
                self._fill()
            argv.append(self.inbuf[:ln])
            self.inbuf = self.inbuf[ln + 2:]
        return argv

    # -- logs ------------------------------------------------------------------
    def log(self, line: str) -> None:
        self.logs.append(line)

    def log_maxlen(self, line: str) -> None:
        """ldbLogWithMaxLen: trimmed to maxlen, with a one-time hint."""
        trimmed = False
        if self.maxlen and len(line) > self.maxlen:
            line = line[:self.maxlen] + " ..."
            trimmed = True
        self.logs.append(line)
        if trimmed and not self.maxlen_hint_sent:
            self.maxlen_hint_sent = True
            self.logs.append("<hint> The above reply was trimmed. Use 'maxlen 0' "
                             "to disable trimming.")

    def source_line(self, n: int) -> str:
        """ldbLogSourceLine's text for line ``n``."""
        code = self.lines[n - 1].decode("utf-8", "replace") \
            if 0 < n <= len(self.lines) else "<out of range source code line>"
        bp = n in self.breakpoints
        cur = n == self.current
        prefix = "->#" if bp and cur else "-> " if cur else "  #" if bp else "   "
        return f"{prefix}{n:<3d} {code}"

    def list(self, around: int, ctx: int) -> None:
        for j in range(1, len(self.lines) + 1):
            if around and abs(around - j) > ctx:
                continue
            self.log(self.source_line(j))

    # -- called from Lua ----------------------------------------------------------
    def stop_reason(self, line: int, count_event: bool = False):
        """The line hook: None to go on, or why execution stops here. A
        count event stops the script once it ran ``lua-time-limit`` ms (5 s
        when 0) since the session started or last stopped."""
        self.current = line
        bp = self.luabp or line in self.breakpoints
        self.timeout = False
        if count_event and not self.step and not bp:
            limit = self.engine.server.config["lua-time-limit"] or 5000
            if (time.monotonic() - self.resumed) * 1000 < limit:
                return None
            self.timeout = self.step = True
        if not (self.step or bp):
            return None
        reason = "step over"
        if bp:
            reason = "redis.breakpoint() called" if self.luabp else "break point"
        elif self.timeout:
            reason = "timeout reached, infinite loop?"
        self.step = self.luabp = False
        self.log(f"* Stopped at {line}, stop reason = {reason}")
        self.log(self.source_line(line))
        self.send_logs()
        self.answered = False
        self.resumed = time.monotonic()     # (updated again by each command)
        return reason

    def read(self):
        """The next debugger command, as a list of bytes (logs sent first)."""
        if self.answered or self.logs:
            self.send_logs()        # the previous command's answer, maybe empty
        self.answered = True
        try:
            argv = self.read_command()
            self.resumed = time.monotonic()
        except ClientGone:
            if self.timeout:    # else it would run (and block) forever
                raise ScriptError("ERR timeout during Lua debugging with client "
                                  "closing connection")
            # as Redis: the script goes on to its end without stopping again
            self.step = False
            self.breakpoints = []
            argv = [b"continue"]
        return self.engine.table_from(argv)

    def command(self, argv) -> None:
        """The commands that do not need the Lua stack."""
        argv = [argv[i] for i in range(1, len(argv) + 1)]
        name = argv[0].lower()
        n = len(argv)
        if name in (b"h", b"help"):
            for line in HELP:
                self.log(line)
        elif name in (b"m", b"maxlen"):
            if n > 1:
                v = _atoi(argv[1])
                self.maxlen_hint_sent = True
                if v != 0 and v <= MAXLEN_MIN:
                    v = MAXLEN_MIN
                self.maxlen = v
            self.log(f"<value> replies are truncated at {self.maxlen} bytes."
                     if self.maxlen else "<value> replies are unlimited.")
        elif name in (b"b", b"break"):
            self._break(argv)
        elif name in (b"l", b"list"):
            around, ctx = self.current, 5
            if n > 1:
                num = _atoi(argv[1])
                if num > 0:
                    around = num
            if n > 2:
                ctx = _atoi(argv[2])
            self.list(around, ctx)
        elif name in (b"w", b"whole"):
            self.list(1, 1000000)
        else:
            self.log(UNKNOWN)

    def _break(self, argv) -> None:
        if len(argv) == 1:
            if not self.breakpoints:
                self.log("No breakpoints set.")
                return
            self.log(f"{len(self.breakpoints)} breakpoints set:")
            for bp in self.breakpoints:
                self.log(self.source_line(bp))
            return
        for arg in argv[1:]:
            line = _strtol_strict(arg)
            if line is None:
                self.log(f"Invalid argument:'{arg.decode('utf-8', 'replace')}'")
            elif line == 0:
                self.breakpoints = []
                self.log("All breakpoints removed.")
            elif line > 0:
                if (line <= len(self.lines) and line not in self.breakpoints
                        and len(self.breakpoints) < MAX_BREAKPOINTS):
                    self.breakpoints.append(line)
                    self.list(line, 1)
                else:
                    self.log("Wrong line number.")
            elif -line in self.breakpoints:
                self.breakpoints.remove(-line)
                self.log("Breakpoint removed.")
            else:
                self.log("No breakpoint in the specified line.")

    def set_step(self, on: bool) -> None:
        self.step = bool(on)

    def breakpoint(self) -> bool:
        self.luabp = True
        return True

    def set_log_calls(self, on: bool) -> None:
        self.log_calls = bool(on)

    def repr(self, s: bytes) -> bytes:
        return repr_arg(s).encode()

    def log_source(self, n) -> None:
        self.log(self.source_line(int(n)))

    def log_lua(self, line: bytes, maxlen: bool = True) -> None:
        text = line.decode("utf-8", "replace")
        if maxlen:
            self.log_maxlen(text)
        else:
            self.log(text)

    # -- redis.call logging (from the engine) -----------------------------------
    def log_call(self, argv: list) -> None:
        self.log("<redis> " + " ".join(a.decode("utf-8", "replace") for a in argv))

    def log_reply(self, value, resp: int) -> None:
        from redpoll.errors import RedisError
        if isinstance(value, RedisError):
            self.log("<error> -" + value.msg)
        try:
            text = human(encode(value, resp))[0]
        except Exception:       # a value encode() does not know: show its repr
            text = repr(value)
        self.log_maxlen("<reply> " + text)

    def log_error(self, msg: str) -> None:
        self.log("<error> " + (msg[4:] if msg.startswith("ERR ") else msg))

    # -- the end -----------------------------------------------------------------
    def end(self, reply) -> None:
        """ldbEndSession: ``<endsession>`` then the script's reply."""
        self.log("<endsession>")
        self.send_logs()
        if reply is not None or self.forked:
            try:
                self._write(encode(reply, self.client.resp))
            except ClientGone:
                pass
