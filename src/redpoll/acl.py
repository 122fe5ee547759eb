"""Users and permissions (AUTH, ACL), as Redis 7.0's acl.c.

Every client is attached to a :class:`User`. The ``default`` user takes its
password from ``requirepass``; more users come from ``user`` directives, the
``aclfile`` and ACL SETUSER. A user is a root :class:`Selector` plus optional
extra selectors (``(...)`` rules); a command runs when any selector allows it.

A selector keeps its command permissions as the set of allowed command ids
(command table ids, subcommands included) plus allowed first arguments
(``+select|0``); ``unrestricted`` users skip the check entirely, so the hot
path costs one attribute test. :func:`check` is installed as
``server.acl_check`` and returns Redis's NOPERM error (and logs it in ACL LOG).

The rule string of a user (ACL LIST, GETUSER) is rebuilt from the permission
bitmap like Redis 7.0 does: ``+@all``/``-@all``, then every category that
has more commands on than off (or off than on), then single commands.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from redpoll.commands import table as T
from redpoll.errors import RedisError
from redpoll.glob import match as glob_match

READ, WRITE = 1, 2

# Key permissions (%R~ / %W~) a command needs, after Redis 7.0's key specs:
# a key spec with ACCESS needs read, one with INSERT/DELETE/UPDATE needs
# write. By default a read-only command needs R on its keys and a write
# command W; the sets below are the exceptions.
_NEEDS_NOTHING = frozenset("""
exists hexists hlen hstrlen llen memory|usage object|encoding object|freq object|idletime
object|refcount scard sismember strlen touch type watch xlen zcard""".split())
_NOT_KEYS = frozenset("spublish ssubscribe sunsubscribe".split())   # shard channels
_NEEDS_RW = frozenset("""
blmpop blpop brpop bzmpop bzpopmax bzpopmin decr decrby eval evalsha fcall getdel getex
getset hincrby hincrbyfloat incr incrby incrbyfloat lmpop lpop migrate move rpop setbit
spop zincrby zmpop zpopmax zpopmin""".split())
_DEST_FIRST = frozenset("""
bitop sdiffstore sinterstore sunionstore zdiffstore zinterstore zunionstore zrangestore
geosearchstore""".split())                       # first key written, the others read
_SOURCE_RW_DEST_W = frozenset("""
blmove brpoplpush lmove rename renamenx rpoplpush smove""".split())
_READ_THEN_STORE = frozenset("sort georadius georadiusbymember copy pfdebug".split())


def key_needs(cmd, argv) -> list[tuple[int, int]]:
    """(argument position, READ|WRITE bits needed) for each key of ``argv``."""
    name = cmd.name
    idx = cmd.key_indexes(argv)
    if not idx or name in _NOT_KEYS:
        return []
    if name in _NEEDS_NOTHING:
        return [(i, 0) for i in idx]
    if name in _NEEDS_RW:
        return [(i, READ | WRITE) for i in idx]
    if name in _DEST_FIRST:
        return [(i, WRITE if n == 0 else READ) for n, i in enumerate(idx)]
    if name in _SOURCE_RW_DEST_W:
        return [(i, READ | WRITE if n == 0 else WRITE) for n, i in enumerate(idx)]
    if name in _READ_THEN_STORE:                # the key read, then a STORE/copy target
        return [(i, READ if n == 0 else WRITE) for n, i in enumerate(idx)]
    if name == "pfmerge":
        return [(i, READ | WRITE if n == 0 else READ) for n, i in enumerate(idx)]
    if name == "set":                            # SET ... GET reads the old value
        get = any(a.lower() == b"get" for a in argv[3:])
        return [(i, READ | WRITE if get else WRITE) for i in idx]
    if name == "bitfield":                       # only GET/OVERFLOW: a read
        writes = any(a.lower() in (b"set", b"incrby") for a in argv[2:])
        return [(i, READ | WRITE if writes else READ) for i in idx]
    need = WRITE if cmd.flags & T.WRITE else READ
    return [(i, need) for i in idx]


NOPERM_CMD = "NOPERM this user has no permissions to run the '{}' command"
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
NOPERM_CHANNEL = ("NOPERM this user has no permissions to access one of the channels "
                  "used as arguments")

DENIED_CMD, DENIED_KEY, DENIED_CHANNEL = 1, 2, 4

_ERR_SYNTAX = "Syntax error"
_ERR_NOENT = "Unknown command or category name in ACL"
_ERR_ALLKEYS = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not "
                "valid and does not have any effect. Try 'resetkeys' to start with an "
                "empty list of patterns")
_ERR_ALLCHANNELS = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is "
                    "not valid and does not have any effect. Try 'resetchannels' to start "
                    "with an empty list of channels")
_ERR_NOPASS = "The password you are trying to remove from the user does not exist"
_ERR_HASH = ("The password hash must be exactly 64 characters and contain only lowercase "
             "hexadecimal characters")
_ERR_SUBFIRSTARG = "Allowing first-arg of a subcommand is not supported"
_HEX = frozenset("0123456789abcdef")


class ACLRuleError(Exception):
    """A bad rule: ``rule`` is the modifier as given, ``reason`` Redis's text."""

    def __init__(self, rule: str, reason: str):
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


def hash_password(pw: bytes) -> str:
    return hashlib.sha256(pw).hexdigest()


# -- channel positions (Redis's getChannelsFromCommand) --------------------------

def _channels(cmd, argv) -> list[tuple[bytes, bool]]:
    """(channel, is_pattern) for the publish/subscribe arguments of ``argv``."""
    name = cmd.name
    if name in ("subscribe", "ssubscribe"):
        return [(a, False) for a in argv[1:]]
    if name == "psubscribe":
        return [(a, True) for a in argv[1:]]
    if name in ("publish", "spublish"):
        return [(argv[1], False)]
    return []


_CHANNEL_COMMANDS = frozenset({"subscribe", "ssubscribe", "psubscribe", "publish", "spublish"})


# -- selectors and users -----------------------------------------------------------

class Selector:
    """One set of permissions: commands, key patterns, channel patterns."""

    def __init__(self, pubsub_default: bool = False):
        self.future = False                     # +@all: also commands added later
        self.allowed: set[int] = set()          # command ids
        self.firstargs: dict[int, list[bytes]] = {}
        self.all_keys = False
        self.keys: list[tuple[bytes, int]] = [] # (pattern, READ|WRITE)
        self.all_channels = pubsub_default
        self.channels: list[bytes] = []

    def copy(self) -> "Selector":
        s = Selector()
        s.future = self.future
        s.allowed = set(self.allowed)
        s.firstargs = {k: list(v) for k, v in self.firstargs.items()}
        s.all_keys = self.all_keys
        s.keys = list(self.keys)
        s.all_channels = self.all_channels
        s.channels = list(self.channels)
        return s

    @property
    def all_commands(self) -> bool:
        return self.future and len(self.allowed) >= _command_count()

    # -- rules -------------------------------------------------------------
    def apply(self, rule: str) -> None:
        """One selector rule (ACLSetSelector); raises ACLRuleError."""
        low = rule.lower()
        if low == "allkeys" or rule == "~*":
            self.all_keys = True
            self.keys = []
        elif low == "resetkeys":
            self.all_keys = False
            self.keys = []
        elif low == "allchannels" or rule == "&*":
            self.all_channels = True
            self.channels = []
        elif low == "resetchannels":
            self.all_channels = False
            self.channels = []
        elif low in ("allcommands", "+@all"):
            self._set_all(True)
        elif low in ("nocommands", "-@all"):
            self._set_all(False)
        elif rule[:1] == "~" or rule[:1] == "%":
            self._add_key_pattern(rule)
        elif rule[:1] == "&":
            if self.all_channels:
                raise ACLRuleError(rule, _ERR_ALLCHANNELS)
            if _has_spaces(rule[1:]):
                raise ACLRuleError(rule, _ERR_SYNTAX)
            pat = _enc(rule[1:])
            if pat not in self.channels:
                self.channels.append(pat)
        elif rule[:2] in ("+@", "-@"):
            cat = low[2:]
            if cat not in T.ACL_CATEGORIES:
                raise ACLRuleError(rule, _ERR_NOENT)
            for cmd in T.all_commands():
                if cat in cmd.acl_categories:
                    self._set_cmd(cmd, rule[0] == "+", children=False)
        elif rule[:1] in ("+", "-"):
            self._command_rule(rule)
        else:
            raise ACLRuleError(rule, _ERR_SYNTAX)

    def _set_all(self, on: bool) -> None:
        self.future = on
        self.allowed = {c.id for c in T.all_commands()} if on else set()
        self.firstargs = {}

    def _set_cmd(self, cmd, on: bool, children: bool = True) -> None:
        if on:
            self.allowed.add(cmd.id)
        else:
            self.allowed.discard(cmd.id)
        self.firstargs.pop(cmd.id, None)
        if children:
            for sub in cmd.subcommands.values():
                self._set_cmd(sub, on)

    def _command_rule(self, rule: str) -> None:
        on = rule[0] == "+"
        parts = rule[1:].lower().split("|")
        cmd = T.TABLE.get(parts[0].encode())
        if cmd is None or len(parts) > 3:
            raise ACLRuleError(rule, _ERR_NOENT)
        if len(parts) == 1:
            self._set_cmd(cmd, on)
            return
        if cmd.subcommands:
            sub = cmd.subcommands.get(parts[1].encode())
            if sub is None:
                raise ACLRuleError(rule, _ERR_NOENT)
            if len(parts) == 3:
                raise ACLRuleError(rule, _ERR_SUBFIRSTARG)
            self._set_cmd(sub, on)
            return
        if len(parts) == 3 or not on:
            # first-args can only be allowed, and only one level deep
            raise ACLRuleError(rule, _ERR_NOENT if len(parts) == 3 else _ERR_SYNTAX)
        if cmd.id in self.allowed:
            return
        args = self.firstargs.setdefault(cmd.id, [])
        arg = _enc(rule[1:].split("|", 1)[1]).lower()
        if arg not in args:
            args.append(arg)

    def _add_key_pattern(self, rule: str) -> None:
        if rule[0] == "~":
            flags, pat = READ | WRITE, rule[1:]
        else:
            tilde = rule.find("~")
            if tilde < 2:
                raise ACLRuleError(rule, _ERR_SYNTAX)
            flags = 0
            for ch in rule[1:tilde].upper():
                if ch == "R":
                    flags |= READ
                elif ch == "W":
                    flags |= WRITE
                else:
                    raise ACLRuleError(rule, _ERR_SYNTAX)
            pat = rule[tilde + 1:]
        if self.all_keys:
            raise ACLRuleError(rule, _ERR_ALLKEYS)
        if _has_spaces(pat):
            raise ACLRuleError(rule, _ERR_SYNTAX)
        pat_b = _enc(pat)
        for i, (p, f) in enumerate(self.keys):
            if p == pat_b:
                self.keys[i] = (p, f | flags)
                return
        self.keys.append((pat_b, flags))

    # -- checks ----------------------------------------------------------------
    def check(self, cmd, argv) -> tuple[int, int]:
        """(0, 0) if allowed, else (DENIED_*, position of the offending argument)."""
        if not (cmd.flags & T.NO_AUTH) and cmd.id not in self.allowed:
            args = self.firstargs.get(cmd.id)
            idx = 2 if cmd.parent is not None else 1
            if not args or len(argv) <= idx or argv[idx].lower() not in args:
                return DENIED_CMD, 0
        if not self.all_keys and (cmd.first_key or cmd.getkeys is not None):
            for i, need in key_needs(cmd, argv):
                if not self.key_allowed(argv[i], need):
                    return DENIED_KEY, i
        if not self.all_channels and cmd.name in _CHANNEL_COMMANDS:
            for i, (ch, is_pattern) in enumerate(_channels(cmd, argv)):
                if not self.channel_allowed(ch, is_pattern):
                    return DENIED_CHANNEL, argv.index(ch)
        return 0, 0

    def key_allowed(self, key: bytes, need: int) -> bool:
        if self.all_keys:
            return True
        for pat, flags in self.keys:
            if flags & need == need and glob_match(pat, key):
                return True
        return False

    def channel_allowed(self, channel: bytes, is_pattern: bool) -> bool:
        if self.all_channels:
            return True
        for pat in self.channels:
            if (pat == channel) if is_pattern else glob_match(pat, channel):
                return True
        return False

    # -- description -------------------------------------------------------------
    def describe(self) -> str:
        """Keys, channels and commands, as ACL LIST shows them."""
        parts = []
        k = self.describe_keys()
        if k:
            parts.append(k)
        parts.append(self.describe_channels(list_form=True))
        parts.append(self.describe_commands())
        return " ".join(p for p in parts if p)

    def describe_keys(self) -> str:
        if self.all_keys:
            return "~*"
        out = []
        for pat, flags in self.keys:
            prefix = "~" if flags == READ | WRITE else ("%R~" if flags == READ else "%W~")
            out.append(prefix + _dec(pat))
        return " ".join(out)

    def describe_channels(self, list_form: bool = False) -> str:
        if self.all_channels:
            return "&*"
        pats = " ".join("&" + _dec(p) for p in self.channels)
        if list_form:
            return ("resetchannels " + pats).strip()
        return pats

    def describe_commands(self) -> str:
        """ACLDescribeSelectorCommandRules: +@all or -@all, then the best-fitting
        categories one at a time, then the single commands still different."""
        fake = Selector()
        additive = not self.future
        rules = ["-@all" if additive else "+@all"]
        if not additive:
            fake._set_all(True)
        temp = Selector()
        temp.allowed = set(self.allowed)
        applied: set[str] = set()
        members = {cat: [c.id for c in T.all_commands() if cat in c.acl_categories]
                   for cat in T.ACL_CATEGORIES}
        while True:
            best, mindiff, maxsame = None, None, 0
            for cat in T.ACL_CATEGORIES:
                if cat in applied:
                    continue
                on = sum(1 for i in members[cat] if i in temp.allowed)
                off = len(members[cat]) - on
                diff, same = (off, on) if additive else (on, off)
                if same > diff and (mindiff is None or diff < mindiff
                                    or (diff == mindiff and same > maxsame)):
                    best, mindiff, maxsame = cat, diff, same
            if best is None:
                break
            op = ("+@" if additive else "-@") + best
            fake.apply(op)
            temp.apply(("-@" if additive else "+@") + best)
            rules.append(op)
            applied.add(best)
        self._describe_single(fake, T.TABLE.values(), rules)
        return " ".join(rules)

    def _describe_single(self, fake: "Selector", commands, rules: list) -> None:
        for cmd in commands:
            user_bit = cmd.id in self.allowed
            if user_bit != (cmd.id in fake.allowed):
                rules.append(("+" if user_bit else "-") + cmd.name)
                fake._set_cmd(cmd, user_bit)
            if cmd.subcommands:
                self._describe_single(fake, cmd.subcommands.values(), rules)
            if not user_bit:
                for arg in self.firstargs.get(cmd.id, ()):
                    rules.append(f"+{cmd.name}|{_dec(arg)}")


class User:
    """An ACL user: flags, passwords and its selectors (``root`` first)."""

    def __init__(self, name: str, pubsub_default: bool = False):
        self.name = name
        self.enabled = False
        self.nopass = False
        self.passwords: list[str] = []          # sha256 hex digests
        self.sanitize: str | None = None        # "sanitize-payload" / "skip-sanitize-payload"
        self.root = Selector(pubsub_default)
        self.selectors: list[Selector] = []
        self.unrestricted = False

    def copy(self) -> "User":
        u = User(self.name)
        u.enabled, u.nopass, u.sanitize = self.enabled, self.nopass, self.sanitize
        u.passwords = list(self.passwords)
        u.root = self.root.copy()
        u.selectors = [s.copy() for s in self.selectors]
        u.unrestricted = self.unrestricted
        return u

    def refresh(self) -> None:
        r = self.root
        self.unrestricted = r.all_commands and r.all_keys and r.all_channels

    # compatibility views of the root selector
    @property
    def all_commands(self) -> bool:
        return self.root.all_commands

    @property
    def all_keys(self) -> bool:
        return self.root.all_keys

    @property
    def all_channels(self) -> bool:
        return self.root.all_channels

    def check_password(self, pw: bytes) -> bool:
        """Constant time: every stored hash is compared, whatever matches."""
        if self.nopass:
            return True
        digest = hash_password(pw)
        ok = False
        for h in self.passwords:
            ok |= hmac.compare_digest(h, digest)
        return ok

    # -- rules -------------------------------------------------------------------
    def apply(self, rule: str, pubsub_default: bool = False) -> None:
        """One ACL SETUSER rule (ACLSetUser); raises ACLRuleError."""
        low = rule.lower()
        if low == "on":
            self.enabled = True
        elif low == "off":
            self.enabled = False
        elif low == "skip-sanitize-payload":
            self.sanitize = "skip-sanitize-payload"
        elif low == "sanitize-payload":
            self.sanitize = "sanitize-payload"
        elif low == "nopass":
            self.nopass = True
            self.passwords = []
        elif low == "resetpass":
            self.nopass = False
            self.passwords = []
        elif rule[:1] == ">":
            self._add_hash(hash_password(_enc(rule[1:])))
        elif rule[:1] == "#":
            self._add_hash(_valid_hash(rule))
        elif rule[:1] == "<":
            self._remove_hash(rule, hash_password(_enc(rule[1:])))
        elif rule[:1] == "!":
            self._remove_hash(rule, _valid_hash(rule))
        elif rule[:1] == "(" and rule[-1:] == ")":
            sel = Selector()
            try:
                for r in _split_words(rule[1:-1]):
                    sel.apply(r)
            except ACLRuleError as e:   # Redis names the whole selector
                raise ACLRuleError(rule, e.reason) from None
            self.selectors.append(sel)
        elif low == "clearselectors":
            self.selectors = []
        elif low == "reset":
            for r in ("resetpass", "resetkeys", "resetchannels"):
                self.apply(r)
            if pubsub_default:
                self.apply("allchannels")
            for r in ("off", "clearselectors", "-@all", "sanitize-payload"):
                self.apply(r)
        else:
            self.root.apply(rule)
        self.refresh()

    def _add_hash(self, h: str) -> None:
        if h not in self.passwords:
            self.passwords.append(h)
        self.nopass = False

    def _remove_hash(self, rule: str, h: str) -> None:
        if h not in self.passwords:
            raise ACLRuleError(rule, _ERR_NOPASS)
        self.passwords.remove(h)
        self.nopass = False

    # -- description -------------------------------------------------------------
    def flags(self) -> list[str]:
        out = ["on" if self.enabled else "off"]
        if self.nopass:
            out.append("nopass")
        if self.sanitize:
            out.append(self.sanitize)
        return out

    def describe(self) -> str:
        """The rules that recreate this user (ACL LIST, ACL SAVE)."""
        parts = self.flags() + ["#" + h for h in self.passwords]
        parts.append(self.root.describe())
        parts += ["(" + s.describe() + ")" for s in self.selectors]
        return " ".join(p for p in parts if p)

    def check(self, cmd, argv) -> tuple[int, int]:
        """ACLCheckAllUserCommandPerm: the most relevant denial of all selectors."""
        worst = (0, 0)
        for sel in [self.root] + self.selectors:
            r = sel.check(cmd, argv)
            if r[0] == 0:
                return r
            if r[0] > worst[0]:
                worst = r
        return worst


def _valid_hash(rule: str) -> str:
    h = rule[1:]
    if len(h) != 64 or not set(h) <= _HEX:
        raise ACLRuleError(rule, _ERR_HASH)
    return h


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def _has_spaces(s: str) -> bool:
    """Key and channel patterns may not hold white space or NUL (Redis's
    ACLStringHasSpaces): ACL LIST and the ACL file split rules on spaces."""
    return any(ch in " \t\n\v\f\r\0" for ch in s)


def _split_words(s: str) -> list[str]:
    return s.split()


_count_cache: list[int] = [0, 0]


def _command_count() -> int:
    """Number of commands and subcommands in the table (cached per table size)."""
    n = len(T.TABLE)
    if _count_cache[0] != n:
        _count_cache[0] = n
        _count_cache[1] = sum(1 for _ in T.all_commands())
    return _count_cache[1]


def group_selectors(rules: list[str]) -> list[str]:
    """Join ``(`` ... ``)`` words into one rule each (ACLMergeSelectorArguments).
    Raises RedisError for an unmatched parenthesis."""
    out: list[str] = []
    acc: list[str] | None = None
    for r in rules:
        if acc is None and r.startswith("("):
            acc = [r]
            if r.endswith(")"):
                out.append(r)
                acc = None
        elif acc is not None:
            acc.append(r)
            if r.endswith(")"):
                out.append(" ".join(acc))
                acc = None
        else:
            out.append(r)
    if acc is not None:
        raise RedisError(f"ERR Unmatched parenthesis in acl selector starting at "
                         f"'{acc[0]}'.")
    return out


# -- the registry ------------------------------------------------------------------

class ACL:
    """The user registry and ACL LOG."""

    def __init__(self):
        self.users: dict[str, User] = {}
        self.pubsub_default = False      # acl-pubsub-default allchannels
        self.log: list[dict] = []        # ACL LOG, newest first
        self.log_max = 128
        self.users["default"] = self.default_user_template()

    def default_user_template(self) -> User:
        u = User("default")
        for r in ("on", "nopass", "allkeys", "allchannels", "allcommands"):
            u.apply(r)
        return u

    @property
    def default_user(self) -> User:
        return self.users["default"]

    def set_requirepass(self, pw: str) -> None:
        """requirepass: resetpass, then >pw (or nopass when empty)."""
        u = self.default_user
        u.apply("resetpass")
        if pw:
            u.apply(">" + pw)
        else:
            u.apply("nopass")

    def auth_required(self) -> bool:
        u = self.default_user
        return not (u.enabled and u.nopass)

    def authenticate(self, username: str, password: bytes) -> User | None:
        u = self.users.get(username)
        if u is None:
            hash_password(password)     # same work whether the user exists or not
            return None
        ok = u.check_password(password)
        if not ok or not u.enabled:
            return None
        return u

    def new_user(self, name: str) -> User:
        return User(name, self.pubsub_default)

    def setuser(self, name: str, rules: list[str]) -> User:
        """ACL SETUSER: apply every rule to a copy, then swap it in (atomic)."""
        if any(ch.isspace() or ch == "\x00" for ch in name):
            raise RedisError("ERR Usernames can't contain spaces or null characters")
        old = self.users.get(name)
        u = old.copy() if old is not None else self.new_user(name)
        for rule in group_selectors(rules):
            try:
                u.apply(rule, self.pubsub_default)
            except ACLRuleError as e:
                raise RedisError(f"ERR Error in ACL SETUSER modifier '{e.rule}': {e.reason}")
        if old is not None:
            # keep the identity: clients hold a reference to the User object
            old.__dict__.update(u.__dict__)
            return old
        self.users[name] = u
        return u

    # -- ACL LOG ---------------------------------------------------------------
    def log_denied(self, c, reason: str, context: str, obj: str, username: str) -> None:
        """addACLLogEntry: similar entries within 60 s are merged (count+1)."""
        from redpoll.commands.connection import client_info_line
        now = int(time.time() * 1000)         # ms, as Redis keeps it
        for i, e in enumerate(self.log):
            if (e["reason"] == reason and e["context"] == context and e["object"] == obj
                    and e["username"] == username and now - e["ctime"] < 60000):
                e["count"] += 1
                e["ctime"] = now
                e["client"] = client_info_line(c)
                self.log.insert(0, self.log.pop(i))
                return
        self.log.insert(0, {"count": 1, "reason": reason, "context": context,
                            "object": obj, "username": username, "ctime": now,
                            "client": client_info_line(c)})
        del self.log[max(self.log_max, 0):]


def check(c, cmd, argv) -> RedisError | None:
    """server.acl_check: run only for restricted users. NOPERM (and an ACL LOG
    entry) when no selector of the user allows ``argv``."""
    from redpoll.client import F_MULTI
    user = c.user
    denied, pos = user.check(cmd, argv)
    if not denied:
        return None
    c.cmd = cmd                    # Redis records the command before checking it
    context = "multi" if c.flags & F_MULTI else ("lua" if c.flags & _F_LUA else "toplevel")
    acl = c.server.acl
    if denied == DENIED_CMD:
        acl.log_denied(c, "command", context, cmd.name, user.name)
        return RedisError(NOPERM_CMD.format(cmd.name))
    obj = argv[pos].decode("utf-8", "surrogateescape")
    if denied == DENIED_KEY:
        acl.log_denied(c, "key", context, obj, user.name)
        return RedisError(NOPERM_KEY)
    acl.log_denied(c, "channel", context, obj, user.name)
    return RedisError(NOPERM_CHANNEL)


def _lua_flag() -> int:
    from redpoll.client import F_LUA
    return F_LUA


_F_LUA = _lua_flag()


def dryrun_message(user: User, cmd, argv) -> str | None:
    """ACL DRYRUN: None if allowed, else the verbose reason."""
    denied, pos = user.check(cmd, argv)
    if not denied:
        return None
    if denied == DENIED_CMD:
        return f"This user has no permissions to run the '{cmd.name}' command"
    what = "key" if denied == DENIED_KEY else "channel"
    return (f"This user has no permissions to access the "
            f"'{argv[pos].decode('utf-8', 'surrogateescape')}' {what}")


# -- wiring --------------------------------------------------------------------------

def check_user_directive(words: list[str], earlier: list[str]) -> str | None:
    """Redis's check of a ``user`` line while it reads the config file
    (ACLAppendUserForLoading): the error text for the fatal config error, or
    None. Rules naming unknown commands pass here (they fail at start-up);
    Redis names the word at the failing rule's index counted from the line's
    first word, so the name it prints is usually not the bad rule."""
    argv = ["user", *words]
    name = words[0]
    if name in earlier:
        return (f"Error in user declaration '{name}': Duplicate user found. A user "
                f"can only be defined once in config files")
    rules: list[str] = []
    start = None
    for j, w in enumerate(words[1:]):        # ACLMergeSelectorArguments
        if start is None and w.startswith("(") and not w.endswith(")"):
            start = j
        elif start is not None and w.endswith(")"):
            start = None
    if start is not None:
        return f"Error in user declaration '{argv[start]}': {_ERR_NOENT}"
    rules = group_selectors(words[1:])
    T.load_all()
    fake = User(name)
    for j, rule in enumerate(rules):
        try:
            fake.apply(rule)
        except ACLRuleError as e:
            if e.reason != _ERR_NOENT:
                return f"Error in user declaration '{argv[j]}': {e.reason}"
    return None


def load_configured_users(server) -> None:
    """Start-up (after the command table is loaded): the default user's
    permissions, then the ``user`` directives or the ``aclfile``."""
    import sys
    cfg = server.config
    acl = server.acl
    acl.pubsub_default = cfg["acl-pubsub-default"] == "allchannels"
    acl.log_max = cfg["acllog-max-len"]
    d = acl.default_user
    d.root._set_all(True)           # command ids exist only now
    d.refresh()
    lines = cfg["user"]
    if lines and cfg["aclfile"]:
        server.log.warning(
            "Configuring Redis with users defined in redis.conf and at the same setting "
            "an ACL file path is invalid. This setup is very likely to lead to "
            "configuration errors and security holes, please define either an ACL file "
            "or declare users directly in your redis.conf, but not both.")
        sys.exit(1)
    for words in lines:         # one ACL rule per word of the directive
        if not words:
            continue
        name = words[0]
        if name in acl.users:
            acl.users[name].apply("reset", acl.pubsub_default)
        u = acl.users.get(name) or acl.new_user(name)
        for rule in group_selectors(words[1:]):
            try:
                u.apply(rule, acl.pubsub_default)
            except ACLRuleError as e:       # ACLLoadConfiguredUsers
                server.log.warning(f"Error loading ACL rule '{e.rule}' for the user "
                                   f"named '{name}': {e.reason}")
                server.log.warning("Critical error while loading ACLs. Exiting.")
                sys.exit(1)
        acl.users[name] = u
    if cfg["aclfile"]:
        from redpoll.commands.acl import load_aclfile
        err = load_aclfile(server, cfg["aclfile"])
        if err:
            server.log.warning(f"Aborting Redis startup because of ACL errors: {err}")
            sys.exit(1)


def install(server) -> None:
    server.acl_check = check
    server.startup_hooks.insert(0, lambda: load_configured_users(server))
    cfg = server.config
    cfg.watch("acllog-max-len", lambda o, n: setattr(server.acl, "log_max", n))
    cfg.watch("acl-pubsub-default",
              lambda o, n: setattr(server.acl, "pubsub_default", n == "allchannels"))
