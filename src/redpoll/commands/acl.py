"""ACL commands: SETUSER, GETUSER, DELUSER, LIST, USERS, WHOAMI, CAT, LOG,
GENPASS, DRYRUN, LOAD, SAVE, HELP (the rules engine is :mod:`redpoll.acl`)."""

from __future__ import annotations

import os
import secrets
import time

from redpoll import acl as A
from redpoll.commands import table as T
from redpoll.commands.help import help_reply
from redpoll.commands.string import parse_int
from redpoll.commands.table import subcommand
from redpoll.errors import RedisError, subcommand_syntax, wrong_arity
from redpoll.protocol.resp import OK, Double, Map, Set

G = "server"
_FLAGS = "admin noscript loading stale"

NO_ACLFILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to "
    "specify users via the ACL SETUSER command and then issue a CONFIG REWRITE "
    "(assuming you have a Redis configuration file set) in order to store users in "
    "the Redis configuration.")


def _name(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


@subcommand("acl", "setuser", -3, _FLAGS, group=G, since="6.0.0",
            summary="Creates and modifies an ACL user and its rules.")
def acl_setuser(c, argv):
    u = c.server.acl.setuser(_name(argv[2]), [_name(a) for a in argv[3:]])
    kill_pubsub_clients_if_needed(c, u)
    return OK


def kill_pubsub_clients_if_needed(me, user) -> None:
    """ACLKillPubsubClientsIfNeeded: clients of ``user`` subscribed to a channel
    or pattern the user may no longer use are disconnected."""
    sels = [user.root] + user.selectors
    if any(s.all_channels for s in sels):
        return

    def lost_access(x) -> bool:
        subs = [(ch, False) for ch in x.channels]
        subs += [(ch, False) for ch in getattr(x, "shard_channels", ())]
        subs += [(p, True) for p in x.patterns]
        return any(not any(s.channel_allowed(ch, pat) for s in sels) for ch, pat in subs)

    disconnect_user_clients(me, user, lost_access)


@subcommand("acl", "getuser", 3, _FLAGS, group=G, since="6.0.0",
            summary="Lists the ACL rules of a user.")
def acl_getuser(c, argv):
    u = c.server.acl.users.get(_name(argv[2]))
    if u is None:
        return None
    r = u.root
    return Map([
        (b"flags", Set([f.encode() for f in u.flags()])),
        (b"passwords", [h.encode() for h in u.passwords]),
        (b"commands", r.describe_commands().encode("utf-8", "surrogateescape")),
        (b"keys", r.describe_keys().encode("utf-8", "surrogateescape")),
        (b"channels", r.describe_channels().encode("utf-8", "surrogateescape")),
        (b"selectors", [Map([
            (b"commands", s.describe_commands().encode("utf-8", "surrogateescape")),
            (b"keys", s.describe_keys().encode("utf-8", "surrogateescape")),
            (b"channels", s.describe_channels().encode("utf-8", "surrogateescape")),
        ]) for s in u.selectors]),
    ])


@subcommand("acl", "deluser", -3, _FLAGS, group=G, since="6.0.0",
            summary="Deletes ACL users, and terminates their connections.")
def acl_deluser(c, argv):
    acl = c.server.acl
    names = [_name(a) for a in argv[2:]]
    if "default" in names:
        raise RedisError("ERR The 'default' user cannot be removed")
    deleted = 0
    for n in names:
        u = acl.users.pop(n, None)
        if u is not None:
            deleted += 1
            disconnect_user_clients(c, u)
    return deleted


def disconnect_user_clients(me, user, only=None) -> None:
    """Close every connection authenticated as ``user`` (those for which
    ``only(client)`` is true, when given); the caller after its reply."""
    from redpoll.client import F_CLOSE_AFTER_REPLY
    for x in list(me.server.clients.values()):
        if x.user is user and (only is None or only(x)):
            if x is me:
                x.flags |= F_CLOSE_AFTER_REPLY
            else:
                x.abort()


@subcommand("acl", "list", 2, _FLAGS, group=G, since="6.0.0",
            summary="Dumps the effective rules in ACL file format.")
def acl_list(c, argv):
    return [line.encode("utf-8", "surrogateescape") for line in user_lines(c.server.acl.users)]


def user_lines(users: dict) -> list[str]:
    """``user <name> <rules>`` for every ACL user, sorted by name: ACL LIST,
    ACL SAVE and CONFIG REWRITE (without an aclfile) write these."""
    return [f"user {name} {u.describe()}" for name, u in sorted(users.items())]


@subcommand("acl", "users", 2, _FLAGS, group=G, since="6.0.0",
            summary="Lists all ACL users.")
def acl_users(c, argv):
    return [n.encode("utf-8", "surrogateescape") for n in sorted(c.server.acl.users)]


@subcommand("acl", "whoami", 2, "noscript loading stale", group=G, since="6.0.0",
            summary="Returns the authenticated username of the current connection.")
def acl_whoami(c, argv):
    return c.user.name.encode("utf-8", "surrogateescape")


@subcommand("acl", "cat", -2, "noscript loading stale", group=G, since="6.0.0",
            summary="Lists the ACL categories, or the commands inside a category.")
def acl_cat(c, argv):
    if len(argv) > 3:
        raise subcommand_syntax(argv)
    if len(argv) == 2:
        return [cat.encode() for cat in T.ACL_CATEGORIES]
    cat = argv[2].decode("utf-8", "replace").lower()
    if cat not in T.ACL_CATEGORIES:
        raise RedisError(f"ERR Unknown category '{argv[2].decode('utf-8', 'replace')}'")
    return [cmd.name.encode() for cmd in T.all_commands() if cat in cmd.acl_categories]


@subcommand("acl", "genpass", -2, "noscript loading stale", group=G, since="6.0.0",
            summary="Generates a pseudorandom, secure password that can be used to "
                    "identify ACL users.")
def acl_genpass(c, argv):
    bits = 256
    if len(argv) == 3:
        bits = parse_int(argv[2])
        if bits <= 0 or bits > 4096:
            raise RedisError("ERR ACL GENPASS argument must be the number of bits for "
                             "the output password, a positive number up to 4096")
    elif len(argv) > 3:
        raise subcommand_syntax(argv)
    chars = (bits + 3) // 4
    return secrets.token_hex((chars + 1) // 2)[:chars].encode()


@subcommand("acl", "log", -2, _FLAGS, group=G, since="6.0.0",
            summary="Lists recent security events generated due to ACL rules.")
def acl_log(c, argv):
    acl = c.server.acl
    count = 10
    if len(argv) == 3:
        if argv[2].lower() == b"reset":
            acl.log.clear()
            return OK
        count = parse_int(argv[2])
    elif len(argv) > 3:
        raise subcommand_syntax(argv)
    now = int(time.time() * 1000)
    out = []
    for e in acl.log[:max(count, 0)]:
        out.append(Map([
            (b"count", e["count"]), (b"reason", e["reason"].encode()),
            (b"context", e["context"].encode()),
            (b"object", e["object"].encode("utf-8", "surrogateescape")),
            (b"username", e["username"].encode("utf-8", "surrogateescape")),
            (b"age-seconds", Double((now - e["ctime"]) / 1000.0)),
            (b"client-info", e["client"].encode("utf-8", "surrogateescape")),
        ]))
    return out


@subcommand("acl", "dryrun", -4, _FLAGS, group=G, since="7.0.0",
            summary="Simulates the execution of a command by a user, without executing "
                    "the command.")
def acl_dryrun(c, argv):
    u = c.server.acl.users.get(_name(argv[2]))
    if u is None:
        raise RedisError(f"ERR User '{argv[2].decode('utf-8', 'replace')}' not found")
    args = argv[3:]
    cmd = T.TABLE.get(args[0].lower())
    if cmd is not None and cmd.subcommands:
        cmd = cmd.subcommands.get(args[1].lower()) if len(args) > 1 else None
    if cmd is None:
        raise RedisError(f"ERR Command '{args[0].decode('utf-8', 'replace')}' not found")
    n = len(args)
    if (cmd.arity > 0 and cmd.arity != n) or n < -cmd.arity:
        raise wrong_arity(cmd.name)
    msg = A.dryrun_message(u, cmd, args)
    return OK if msg is None else msg.encode("utf-8", "surrogateescape")


def _aclfile(srv) -> str:
    """The configured aclfile (ACL LOAD/SAVE refuse to run without one)."""
    path = srv.config["aclfile"]
    if not path:
        raise RedisError(NO_ACLFILE)
    return path


@subcommand("acl", "load", 2, _FLAGS, group=G, since="6.0.0",
            summary="Reloads the rules from the configured ACL file.")
def acl_load(c, argv):
    srv = c.server
    path = _aclfile(srv)
    err = load_aclfile(srv, path)
    if err:
        raise RedisError("ERR " + err)
    return OK


@subcommand("acl", "save", 2, _FLAGS, group=G, since="6.0.0",
            summary="Saves the effective ACL rules in the configured ACL file.")
def acl_save(c, argv):
    srv = c.server
    path = _aclfile(srv)
    text = "".join(line + "\n" for line in user_lines(srv.acl.users))
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        srv.log.warning(f"Opening temp ACL file for ACL SAVE: {e.strerror}")
        raise RedisError("ERR There was an error trying to save the ACLs. Please check "
                         "the server logs for more information")
    return OK


def load_aclfile(srv, path: str) -> str | None:
    """Replace the users with those of the ACL file (all or nothing).
    Returns Redis's error text, or None."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            lines = f.read().split("\n")
    except OSError as e:
        return f"Error loading ACLs, opening file '{path}': {e.strerror}"
    acl = srv.acl
    new: dict[str, A.User] = {}
    errors = []
    for lineno, line in enumerate(lines, 1):
        line = line.strip(" \t\r\n")
        if not line or line.startswith("#"):
            continue
        # Redis 7.0 splits ACL file lines on single spaces (no quoting)
        words = line.split(" ")
        if len(words) < 2 or words[0] != "user":
            errors.append(f"{path}:{lineno} should start with user keyword followed "
                          f"by the username. ")
            continue
        name = words[1]
        if A._has_spaces(name) or not name:
            errors.append(f"{path}:{lineno}: username '{name}' contains invalid "
                          f"characters. ")
            continue
        if name in new:
            errors.append(f"WARNING: Duplicate user '{name}' found on line {lineno}. ")
            continue
        try:
            rules = A.group_selectors(words[2:])
        except RedisError as e:
            errors.append(f"{path}:{lineno}: {e.msg[4:].rstrip('.')}. ")
            continue
        u = A.User(name, acl.pubsub_default) if name != "default" else A.User(name)
        failed = reported = False
        for rule in rules:
            try:
                u.apply(rule.strip("\t\r\n"), acl.pubsub_default)
            except A.ACLRuleError as e:
                failed = True
                if e.reason == A._ERR_NOENT:    # names of commands are not secret
                    errors.append(f"{path}:{lineno}: Error in applying operation "
                                  f"'{e.rule}': {e.reason}. ")
                elif not reported:              # only the line's first other error
                    errors.append(f"{path}:{lineno}: {e.reason}. ")
                    reported = True
        if not failed:
            new[name] = u
    if errors:
        return "".join(errors) + ("WARNING: ACL errors detected, no change to the "
                                  "previously active ACL rules was performed")
    if "default" not in new:
        new["default"] = acl.default_user_template()
    old = acl.users
    # Keep the User objects clients hold; clients of removed users are dropped.
    for name, u in new.items():
        if name in old:
            old[name].__dict__.update(u.__dict__)
            new[name] = old[name]
    acl.users = new
    for x in list(srv.clients.values()):
        if x.user is not None and x.user.name not in new:
            x.abort()
    return None


_ACL_HELP = [
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
]


@subcommand("acl", "help", 2, "loading stale", group=G, since="6.0.0",
            summary="Returns helpful text about the different subcommands.")
def acl_help(c, argv):
    return help_reply(argv, _ACL_HELP)
