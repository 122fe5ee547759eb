"""Stream commands: XADD, XRANGE, XREAD, consumer groups, XINFO, ...

The data structure is :class:`redpoll.datatypes.stream.Stream` (IDs are
ints, ``ms << 64 | seq``). Consumer-group reads are propagated the way Redis
does it: as ``XCLAIM ... FORCE JUSTID LASTID`` per delivered entry plus
``XGROUP SETID ... ENTRIESREAD``, wrapped in MULTI/EXEC when more than one.
"""

from __future__ import annotations

from redpoll import blocking
from redpoll.client import F_LUA, F_MASTER
from redpoll.commands.help import help_reply
from redpoll.commands.string import parse_int
from redpoll.commands.table import command, subcommand
from redpoll.datatypes.stream import (
    MAX_ID, U64, Consumer, Group, NACK, Stream, id_str, make_id)
from redpoll.errors import (NO_SUCH_KEY, SYNTAX, WRONGTYPE, RedisError, subcommand_syntax,
                            wrong_arity)
from redpoll.notify import STREAM, notify
from redpoll.protocol.resp import NULL_ARRAY, OK, Map

G = "stream"
INVALID_ID = "ERR Invalid stream ID specified as stream command argument"


# -- IDs ----------------------------------------------------------------------------

def _strtoull(s: bytes):
    """Redis's string2ull: strict digits, or what strtoull() accepts."""
    try:
        t = s.decode("ascii")
    except UnicodeDecodeError:
        return None
    if t.isdigit() and (t == "0" or t[0] != "0") and len(t) <= 19:
        return int(t)
    if t.startswith("-") and t[1:].isdigit() and t[1:2] != "0" and len(t) <= 20:
        return None                 # a valid negative long long
    u = t.lstrip(" \t\n\v\f\r")
    neg = False
    if u[:1] in ("+", "-"):
        neg = u[0] == "-"
        u = u[1:]
    if not u or not u.isdigit() or not u.isascii():
        return None
    v = int(u)
    if v > U64:
        return None
    return (-v) & U64 if neg else v


def parse_id(arg: bytes, missing_seq: int = 0, strict: bool = False,
             allow_partial: bool = False):
    """streamGenericParseIDOrReply: returns (id, seq_given)."""
    if len(arg) > 127:
        raise RedisError(INVALID_ID)
    if arg == b"-" or arg == b"+":
        if strict:
            raise RedisError(INVALID_ID)
        return (0 if arg == b"-" else MAX_ID), True
    ms_part, dash, seq_part = arg.partition(b"-")
    ms = _strtoull(ms_part)
    if ms is None:
        raise RedisError(INVALID_ID)
    if dash:
        if allow_partial and seq_part == b"*":
            return make_id(ms, 0), False
        seq = _strtoull(seq_part)
        if seq is None:
            raise RedisError(INVALID_ID)
    else:
        seq = missing_seq
    return make_id(ms, seq), True


def strict_id(arg: bytes) -> int:
    return parse_id(arg, 0, True)[0]


def interval_id(arg: bytes, missing_seq: int):
    """streamParseIntervalIDOrReply: (id, exclusive)."""
    if len(arg) > 1 and arg[:1] == b"(":
        return parse_id(arg[1:], missing_seq, True)[0], True
    return parse_id(arg, missing_seq)[0], False


def _incr(i: int) -> int | None:
    return None if i == MAX_ID else i + 1


def _decr(i: int) -> int | None:
    return None if i == 0 else i - 1


# -- helpers ---------------------------------------------------------------------------

def get_stream(db, key: bytes) -> Stream | None:
    v = db.get(key)
    if v is not None and type(v) is not Stream:
        raise RedisError(WRONGTYPE)
    return v


def _entry(s: Stream, sid: int):
    return [id_str(sid), s.entries[sid]]


def _range(s: Stream, start: int, end: int, count: int, rev: bool = False) -> list:
    if start > end:
        return []
    it = s.entries.irange(start, end, reverse=rev)
    out = []
    ent = s.entries
    for sid in it:
        out.append([id_str(sid), ent[sid]])
        if count and len(out) >= count:
            break
    return out


def _now(c) -> int:
    return c.server.now_ms()


def _cfg(c):
    cfg = c.server.config
    return cfg["stream-node-max-bytes"], cfg["stream-node-max-entries"]


def _must_obey(c) -> bool:
    return bool(c.flags & F_MASTER) or (c.is_fake and not c.flags & F_LUA)


def _propagate_many(c, cmds: list) -> None:
    """Propagate ``cmds`` (wrapped in MULTI/EXEC when more than one) instead
    of the command itself."""
    srv = c.server
    c.prop_argv = []
    if not cmds:
        return
    srv.begin_atomic()
    try:
        for argv in cmds:
            srv.propagate(c.db.id, argv)
    finally:
        srv.end_atomic()


def _xclaim_argv(key, gname, g: Group, sid: int, nack: NACK) -> list:
    return [b"XCLAIM", key, gname, nack.consumer.name, b"0", id_str(sid), b"TIME",
            b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count,
            b"FORCE", b"JUSTID", b"LASTID", id_str(g.last_id)]


def _setid_argv(key, gname, g: Group) -> list:
    return [b"XGROUP", b"SETID", key, gname, id_str(g.last_id), b"ENTRIESREAD",
            b"%d" % g.entries_read]


def lookup_consumer(g: Group, name: bytes, now: int | None):
    """streamLookupConsumer; ``now`` refreshes its seen-time (None: no refresh)."""
    cons = g.consumers.get(name)
    if cons is not None and now is not None:
        cons.seen_time = now
    return cons


def create_consumer(c, g: Group, name: bytes, key: bytes, now: int):
    """streamCreateConsumer: None if it exists already."""
    if name in g.consumers:
        return None
    cons = Consumer(name, now)
    g.consumers[name] = cons
    c.server.dirty += 1
    notify(c.server, STREAM, "xgroup-createconsumer", key, c.db.id)
    return cons


# -- XADD / XTRIM ------------------------------------------------------------------------

class TrimArgs:
    __slots__ = ("maxlen", "minid", "approx", "limit", "arg_idx", "nomkstream",
                 "id", "id_given", "seq_given")

    def __init__(self):
        self.maxlen = None
        self.minid = None
        self.approx = False
        self.limit = 0
        self.arg_idx = 0
        self.nomkstream = False
        self.id = 0
        self.id_given = False
        self.seq_given = True


def parse_trim_args(c, argv, xadd: bool):
    """streamParseAddOrTrimArgsOrReply: (TrimArgs, index of the ID for XADD)."""
    a = TrimArgs()
    limit_given = False
    i = 2
    n = len(argv)
    while i < n:
        more = n - 1 - i
        opt = argv[i]
        lo = opt.lower()
        if xadd and opt == b"*":
            break
        if (lo == b"maxlen" or lo == b"minid") and more:
            if a.maxlen is not None or a.minid is not None:
                raise RedisError("ERR syntax error, MAXLEN and MINID options at the "
                                 "same time are not compatible")
            a.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt in (b"~", b"="):
                a.approx = nxt == b"~"
                i += 1
            if lo == b"maxlen":
                a.maxlen = parse_int(argv[i + 1])
                if a.maxlen < 0:
                    raise RedisError("ERR The MAXLEN argument must be >= 0.")
            else:
                a.minid = strict_id(argv[i + 1])
            i += 1
            a.arg_idx = i
        elif lo == b"limit" and more:
            a.limit = parse_int(argv[i + 1])
            if a.limit < 0:
                raise RedisError("ERR The LIMIT argument must be >= 0.")
            limit_given = True
            i += 1
        elif xadd and lo == b"nomkstream":
            a.nomkstream = True
        elif xadd:
            sid, seq_given = parse_id(argv[i], 0, True, allow_partial=True)
            a.id, a.seq_given, a.id_given = sid, seq_given, True
            break
        else:
            raise RedisError(SYNTAX)
        i += 1
    strategy = a.maxlen is not None or a.minid is not None
    if a.limit and not strategy:
        raise RedisError("ERR syntax error, LIMIT cannot be used without specifying "
                         "a trimming strategy")
    if not xadd and not strategy:
        raise RedisError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if _must_obey(c):
        a.limit = 0
    elif limit_given:
        if not a.approx:
            raise RedisError("ERR syntax error, LIMIT cannot be used without the "
                             "special ~ option")
    elif a.approx:
        a.limit = 100 * c.server.config["stream-node-max-entries"]
        if a.limit <= 0 or a.limit > 1000000:
            a.limit = 10000
    else:
        a.limit = 0
    return a, i


def _do_trim(s: Stream, a: TrimArgs) -> int:
    return s.trim(a.maxlen, a.minid, a.approx, a.limit)


def _rewrite_trim(argv: list, s: Stream, a: TrimArgs) -> None:
    """Propagate an approximate trim as the exact one it turned out to be."""
    argv[a.arg_idx - 1] = b"="
    if a.maxlen is not None:
        argv[a.arg_idx] = b"%d" % len(s)
    else:
        argv[a.arg_idx] = id_str(s.first_id)


def next_id(s: Stream, now_ms: int, given: TrimArgs) -> int | None:
    """The ID of a new entry (None: not greater than the top item)."""
    last = s.last_id
    lms, lseq = last >> 64, last & U64
    if not given.id_given:
        if now_ms > lms:
            return make_id(now_ms, 0)
        if lseq == U64:
            return make_id(lms + 1, 0)
        return make_id(lms, lseq + 1)
    sid = given.id
    if not given.seq_given:
        ms = sid >> 64
        if ms == lms:
            if lseq == U64:
                return None
            return make_id(ms, lseq + 1)
        if ms > lms:
            return make_id(ms, 0)
        return None
    if sid <= last:
        return None
    return sid


@command("xadd", -5, "write denyoom fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Appends a new message to a stream. Creates the key if it doesn't exist.")
def xadd(c, argv):
    a, id_pos = parse_trim_args(c, argv, True)
    field_pos = id_pos + 1
    nf = len(argv) - field_pos
    if nf < 2 or nf % 2 == 1:
        raise wrong_arity("xadd")
    if a.id_given and a.seq_given and a.id == 0:
        raise RedisError("ERR The ID specified in XADD must be greater than 0-0")
    db, key = c.db, argv[1]
    s = get_stream(db, key)
    if s is None:
        if a.nomkstream:
            return None
        s = Stream()
        created = True
    else:
        created = False
    if s.last_id == MAX_ID:
        raise RedisError("ERR The stream has exhausted the last possible ID, "
                         "unable to add more items")
    sid = next_id(s, _now(c), a)
    if sid is None:
        raise RedisError("ERR The ID specified in XADD is equal or smaller than the "
                         "target stream top item")
    if created:
        db.add(key, s)
    s.append(sid, argv[field_pos:], *_cfg(c))
    srv = c.server
    notify(srv, STREAM, "xadd", key, db.id)
    srv.dirty += 1
    pargv = None
    if a.maxlen is not None or a.minid is not None:
        if _do_trim(s, a):
            notify(srv, STREAM, "xtrim", key, db.id)
        if a.approx:
            pargv = list(argv)
            _rewrite_trim(pargv, s, a)
    if not a.id_given or not a.seq_given:
        if pargv is None:
            pargv = list(argv)
        pargv[id_pos] = id_str(sid)
    if pargv is not None:
        c.prop_argv = pargv
    return id_str(sid)


@command("xtrim", -4, "write", keys=(1, 1, 1), group=G, since="6.2.0",
         summary="Deletes messages from the beginning of a stream.")
def xtrim(c, argv):
    a, _ = parse_trim_args(c, argv, False)
    db, key = c.db, argv[1]
    s = get_stream(db, key)
    if s is None:
        return 0
    deleted = _do_trim(s, a)
    if deleted:
        notify(c.server, STREAM, "xtrim", key, db.id)
        if a.approx:
            pargv = list(argv)
            _rewrite_trim(pargv, s, a)
            c.prop_argv = pargv
        c.server.dirty += deleted
    return deleted


# -- reading ------------------------------------------------------------------------------

def _xrange(c, argv, rev: bool):
    start_arg, end_arg = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    start, ex = interval_id(start_arg, 0)
    if ex:
        start = _incr(start)
        if start is None:
            raise RedisError("ERR invalid start ID for the interval")
    end, ex = interval_id(end_arg, U64)
    if ex:
        end = _decr(end)
        if end is None:
            raise RedisError("ERR invalid end ID for the interval")
    count = -1
    j = 4
    while j < len(argv):
        if argv[j].lower() == b"count" and j + 1 < len(argv):
            count = parse_int(argv[j + 1])
            if count < 0:
                count = 0
            j += 2
        else:
            raise RedisError(SYNTAX)
    s = get_stream(c.db, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return _range(s, start, end, 0 if count == -1 else count, rev)


@command("xrange", -4, "readonly", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Returns the messages from a stream within a range of IDs.")
def xrange(c, argv):
    return _xrange(c, argv, False)


@command("xrevrange", -4, "readonly", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Returns the messages from a stream within a range of IDs in reverse order.")
def xrevrange(c, argv):
    return _xrange(c, argv, True)


@command("xlen", 2, "readonly fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Return the number of messages in a stream.")
def xlen(c, argv):
    s = get_stream(c.db, argv[1])
    return 0 if s is None else len(s)


@command("xdel", -3, "write fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Returns the number of messages after removing them from a stream.")
def xdel(c, argv):
    db, key = c.db, argv[1]
    s = get_stream(db, key)         # the key first: a missing one is 0 whatever the IDs
    if s is None:
        return 0
    ids = [strict_id(a) for a in argv[2:]]
    deleted = 0
    for sid in ids:
        if s.delete(sid):
            if sid > s.max_deleted_id:
                s.max_deleted_id = sid
            deleted += 1
    if deleted:
        notify(c.server, STREAM, "xdel", key, db.id)
        c.server.dirty += deleted
    return deleted


def xread_keys(argv) -> list[int]:
    """Key positions of XREAD/XREADGROUP: the first half after STREAMS."""
    start = 1
    for i in range(start, len(argv)):
        if argv[i].lower() == b"streams":
            rest = len(argv) - i - 1
            if rest % 2:
                return []
            return list(range(i + 1, i + 1 + rest // 2))
    return []


def _parse_xread(c, argv, group_cmd: bool):
    timeout = -1
    count = 0
    noack = False
    group = consumer = None
    streams_at = None
    i = 1
    n = len(argv)
    while i < n:
        more = n - i - 1
        o = argv[i].lower()
        if o == b"block" and more:
            if c.flags & F_LUA:
                raise RedisError(f"ERR {argv[0].decode('utf-8', 'replace')} command is "
                                 f"not allowed with BLOCK option from scripts")
            timeout = blocking.parse_timeout(argv[i + 1], seconds=False)
            i += 1
        elif o == b"count" and more:
            count = parse_int(argv[i + 1])
            if count < 0:
                count = 0
            i += 1
        elif o == b"streams" and more:
            streams_at = i + 1
            break
        elif o == b"group" and more >= 2:
            if not group_cmd:
                raise RedisError("ERR The GROUP option is only supported by XREADGROUP. "
                                 "You called XREAD instead.")
            group, consumer = argv[i + 1], argv[i + 2]
            i += 2
        elif o == b"noack":
            if not group_cmd:
                raise RedisError("ERR The NOACK option is only supported by XREADGROUP. "
                                 "You called XREAD instead.")
            noack = True
        else:
            raise RedisError(SYNTAX)
        i += 1
    if streams_at is None:
        raise RedisError(SYNTAX)
    rest = n - streams_at
    if rest % 2:
        # Redis 7.0 names XREAD here for XREADGROUP too
        raise RedisError("ERR Unbalanced XREAD list of streams: for each stream key "
                         "an ID or '$' must be specified.")
    if group_cmd and group is None:
        raise RedisError("ERR Missing GROUP option for XREADGROUP")
    half = rest // 2
    keys = argv[streams_at:streams_at + half]
    raw_ids = argv[streams_at + half:]
    return timeout, count, noack, group, consumer, keys, raw_ids


def _xread_generic(c, argv, group_cmd: bool):
    timeout, count, noack, gname, cname, keys, raw_ids = _parse_xread(c, argv, group_cmd)
    db = c.db
    ids = []
    groups = []
    for key, raw in zip(keys, raw_ids):
        s = get_stream(db, key)
        g = None
        if gname is not None:
            g = s.groups.get(gname) if s is not None else None
            if g is None:
                raise RedisError(
                    f"NOGROUP No such key '{key.decode('utf-8', 'replace')}' or consumer "
                    f"group '{gname.decode('utf-8', 'replace')}' in XREADGROUP with "
                    f"GROUP option")
        groups.append(g)
        if raw == b"$":
            if group_cmd:
                raise RedisError(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want "
                    "to read the history of this consumer by specifying a proper ID, or "
                    "use the > ID to get new messages. The $ ID would just return an "
                    "empty result set.")
            ids.append(s.last_id if s is not None else 0)
        elif raw == b">":
            if not group_cmd:
                raise RedisError("ERR The > ID can be specified only when calling "
                                 "XREADGROUP using the GROUP <group> <consumer> option.")
            ids.append(None)
        else:
            ids.append(strict_id(raw))
    out = []
    cmds: list = []
    now = _now(c)
    for key, sid, g in zip(keys, ids, groups):
        s = get_stream(db, key)
        if s is None:
            continue
        if g is not None:
            r = _serve_group(c, s, key, gname, g, cname, sid, count, noack, now, cmds)
            if r is not None:
                out.append([key, r])
        else:
            if s.entries and s.entries.keys()[-1] > sid:
                r = _range(s, sid + 1, MAX_ID, count)
                if r:
                    out.append([key, r])
    if cmds or gname is not None:
        _propagate_many(c, cmds)
    if out:
        return out if c.resp == 2 else Map(out)
    if timeout == -1:
        return NULL_ARRAY
    # Block: remember what to wait for (resolved IDs) and serve later.
    wait = {k: (sid, g) for k, sid, g in zip(keys, ids, groups)}

    def serve(cl, key):
        return _serve_blocked(cl, key, wait, gname, cname, count, noack)
    return blocking.block(c, keys, timeout, serve)


def _serve_group(c, s: Stream, key, gname, g: Group, cname, sid, count, noack, now, cmds):
    """One stream of XREADGROUP: new entries (sid None) or the consumer's history.
    Returns the entries, or None when there is nothing new to serve."""
    if sid is None and (not s.entries or not s.entries.keys()[-1] > g.last_id):
        return None                  # nothing new: the consumer is not even created
    cons = lookup_consumer(g, cname, now)
    if cons is None:
        cons = create_consumer(c, g, cname, key, now)
        cmds.append([b"XGROUP", b"CREATECONSUMER", key, gname, cname])
    if sid is not None:
        # history: entries of the consumer's PEL with greater IDs
        out = []
        start = _incr(sid)
        if start is None:
            return out
        for pid in cons.pel.irange(start, None):
            if count and len(out) >= count:
                break
            fv = s.entries.get(pid)
            if fv is None:
                out.append([id_str(pid), NULL_ARRAY])
            else:
                nack = cons.pel[pid]
                nack.delivery_time = now
                nack.delivery_count += 1
                out.append([id_str(pid), fv])
        return out
    out = []
    propagate_last = False
    for eid in s.entries.irange(g.last_id + 1, None):
        if eid > g.last_id:
            if g.entries_read != -1 and not s.has_tombstones(eid):
                g.entries_read += 1
            elif s.entries_added:
                g.entries_read = s.estimate_read(eid)
            g.last_id = eid
            propagate_last = True
        out.append([id_str(eid), s.entries[eid]])
        if not noack:
            nack = g.pel.get(eid)
            if nack is None:
                nack = NACK(cons, now)
                g.pel[eid] = nack
                cons.pel[eid] = nack
            else:
                del nack.consumer.pel[eid]
                nack.consumer = cons
                nack.delivery_time = now
                nack.delivery_count = 1
                cons.pel[eid] = nack
            cmds.append(_xclaim_argv(key, gname, g, eid, nack))
        if count and len(out) >= count:
            break
    if propagate_last:
        cmds.append(_setid_argv(key, gname, g))
    c.server.dirty += 1
    return out


def _serve_blocked(c, key, wait, gname, cname, count, noack):
    s = c.db.get(key)
    if type(s) is not Stream:
        return blocking.NOT_READY
    sid, g = wait[key]
    if gname is not None:
        g = s.groups.get(gname)
        if g is None:
            return RedisError("NOGROUP the consumer group this client was blocked on "
                              "no longer exists")
        if not s.entries or not s.entries.keys()[-1] > g.last_id:
            return blocking.NOT_READY
        cmds: list = []
        r = _serve_group(c, s, key, gname, g, cname, None, count, noack, _now(c), cmds)
        if not r:
            return blocking.NOT_READY
        _propagate_many(c, cmds)
    else:
        if not s.entries or not s.entries.keys()[-1] > sid:
            return blocking.NOT_READY
        r = _range(s, sid + 1, MAX_ID, count)
        if not r:
            return blocking.NOT_READY
    out = [[key, r]]
    return out if c.resp == 2 else Map(out)


@command("xread", -4, "readonly blocking", group=G, getkeys=xread_keys, since="5.0.0",
         summary="Returns messages from multiple streams with IDs greater than the ones "
                 "requested. Blocks until a message is available otherwise.")
def xread(c, argv):
    return _xread_generic(c, argv, False)


@command("xreadgroup", -7, "write blocking", group=G, getkeys=xread_keys, since="5.0.0",
         summary="Returns new or historical messages from a stream for a consumer in a "
                 "group. Blocks until a message is available otherwise.")
def xreadgroup(c, argv):
    return _xread_generic(c, argv, True)


# -- consumer groups -----------------------------------------------------------------------

def _nogroup(key: bytes, gname: bytes) -> RedisError:
    return RedisError(f"NOGROUP No such key '{key.decode('utf-8', 'replace')}' or "
                      f"consumer group '{gname.decode('utf-8', 'replace')}'")


def _nogroup_for_key(key: bytes, gname: bytes) -> RedisError:
    return RedisError(f"NOGROUP No such consumer group '{gname.decode('utf-8', 'replace')}' "
                      f"for key name '{key.decode('utf-8', 'replace')}'")


@command("xack", -4, "write fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Returns the number of messages that were successfully acknowledged by "
                 "the consumer group member of a stream.")
def xack(c, argv):
    s = get_stream(c.db, argv[1])
    g = s.groups.get(argv[2]) if s is not None else None
    if g is None:
        return 0
    ids = [strict_id(a) for a in argv[3:]]
    n = 0
    for sid in ids:
        nack = g.pel.pop(sid, None)
        if nack is not None:
            del nack.consumer.pel[sid]
            n += 1
            c.server.dirty += 1
    return n


@command("xpending", -3, "readonly", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Returns the information and entries from a stream consumer group's "
                 "pending entries list.")
def xpending(c, argv):
    n = len(argv)
    justinfo = n == 3
    if n != 3 and (n < 6 or n > 9):
        raise RedisError(SYNTAX)
    minidle = 0
    consumer_name = None
    if n >= 6:
        si = 3
        if argv[3].lower() == b"idle":
            minidle = parse_int(argv[4])
            if n < 8:
                raise RedisError(SYNTAX)
            si += 2
        count = parse_int(argv[si + 2])
        if count < 0:
            count = 0
        start, ex = interval_id(argv[si], 0)
        if ex:
            start = _incr(start)
            if start is None:
                raise RedisError("ERR invalid start ID for the interval")
        end, ex = interval_id(argv[si + 1], U64)
        if ex:
            end = _decr(end)
            if end is None:
                raise RedisError("ERR invalid end ID for the interval")
        if si + 3 < n:
            consumer_name = argv[si + 3]
    s = get_stream(c.db, argv[1])
    g = s.groups.get(argv[2]) if s is not None else None
    if g is None:
        raise _nogroup(argv[1], argv[2])
    if justinfo:
        if not g.pel:
            return [0, None, None, NULL_ARRAY]
        keys = g.pel.keys()
        cons = [[name, b"%d" % len(cn.pel)]
                for name, cn in sorted(g.consumers.items()) if cn.pel]
        return [len(g.pel), id_str(keys[0]), id_str(keys[-1]), cons]
    pel = g.pel
    if consumer_name is not None:
        cn = g.consumers.get(consumer_name)
        if cn is None:
            return []
        pel = cn.pel
    now = _now(c)
    out = []
    if start > end:
        return out
    for sid in pel.irange(start, end):
        if not count:
            break
        nack = pel[sid]
        if minidle and now - nack.delivery_time < minidle:
            continue
        count -= 1
        out.append([id_str(sid), nack.consumer.name, max(0, now - nack.delivery_time),
                    nack.delivery_count])
    return out


def _claim_value(s: Stream, sid: int, justid: bool):
    if justid:
        return id_str(sid)
    fv = s.entries.get(sid)
    return None if fv is None else [id_str(sid), fv]


def _drop_deleted(c, key, gname, g: Group, sid: int, nack: NACK, cmds: list) -> None:
    """XCLAIM/XAUTOCLAIM met a pending entry whose message was deleted: drop
    it from the PEL (propagated as an XCLAIM)."""
    cmds.append(_xclaim_argv(key, gname, g, sid, nack))
    c.server.dirty += 1
    del g.pel[sid]
    del nack.consumer.pel[sid]


def _claimer(c, g: Group, name: bytes, key: bytes, now: int):
    """The claiming consumer, created if it does not exist yet."""
    consumer = lookup_consumer(g, name, now)
    if consumer is None:
        consumer = create_consumer(c, g, name, key, now)
    return consumer


def _claim(c, key, gname, g: Group, sid: int, nack: NACK, consumer, delivery_time: int,
           retrycount: int, justid: bool, cmds: list) -> None:
    """Hand pending entry ``sid`` to ``consumer`` (XCLAIM/XAUTOCLAIM), with a
    new delivery time and count (JUSTID leaves the count alone); propagated
    as an XCLAIM."""
    if nack.consumer is not consumer and nack.consumer is not None:
        del nack.consumer.pel[sid]
    nack.delivery_time = delivery_time
    if retrycount >= 0:
        nack.delivery_count = retrycount
    elif not justid:
        nack.delivery_count += 1
    if nack.consumer is not consumer:
        consumer.pel[sid] = nack
        nack.consumer = consumer
    cmds.append(_xclaim_argv(key, gname, g, sid, nack))
    c.server.dirty += 1


@command("xclaim", -6, "write fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="Changes, or acquires, ownership of a message in a consumer group, as if "
                 "the message was delivered a consumer group member.")
def xclaim(c, argv):
    key, gname, name = argv[1], argv[2], argv[3]
    s = get_stream(c.db, key)
    g = s.groups.get(gname) if s is not None else None
    if g is None:
        raise _nogroup(key, gname)
    minidle = parse_int(argv[4], "ERR Invalid min-idle-time argument for XCLAIM")
    if minidle < 0:
        minidle = 0
    ids = []
    j = 5
    while j < len(argv):
        try:
            ids.append(strict_id(argv[j]))
        except RedisError:
            break
        j += 1
    now = _now(c)
    retrycount = -1
    deliverytime = -1
    force = justid = False
    last_id = 0
    while j < len(argv):
        more = len(argv) - 1 - j
        o = argv[j].lower()
        if o == b"force":
            force = True
        elif o == b"justid":
            justid = True
        elif o == b"idle" and more:
            j += 1
            deliverytime = now - parse_int(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif o == b"time" and more:
            j += 1
            deliverytime = parse_int(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif o == b"retrycount" and more:
            j += 1
            retrycount = parse_int(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif o == b"lastid" and more:
            j += 1
            last_id = strict_id(argv[j])
        else:
            raise RedisError(f"ERR Unrecognized XCLAIM option '{argv[j].decode('utf-8', 'replace')}'")
        j += 1
    srv = c.server
    cmds = []
    propagate_last = False
    if last_id > g.last_id:
        g.last_id = last_id
        propagate_last = True
    if deliverytime != -1:
        if deliverytime < 0 or deliverytime > now:
            deliverytime = now
    else:
        deliverytime = now
    consumer = None
    out = []
    for sid in ids:
        nack = g.pel.get(sid)
        if sid not in s.entries:
            if nack is not None:
                _drop_deleted(c, key, gname, g, sid, nack, cmds)
                propagate_last = False
            continue
        if force and nack is None:
            nack = NACK(None, now)
            g.pel[sid] = nack
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = _claimer(c, g, name, key, now)
        _claim(c, key, gname, g, sid, nack, consumer, deliverytime, retrycount, justid, cmds)
        out.append(_claim_value(s, sid, justid))
        propagate_last = False
    if propagate_last:
        cmds.append(_setid_argv(key, gname, g))
        srv.dirty += 1
    _propagate_many(c, cmds)
    return out


@command("xautoclaim", -6, "write fast", keys=(1, 1, 1), group=G, since="6.2.0",
         summary="Changes, or acquires, ownership of messages in a consumer group, as if "
                 "the messages were delivered to as consumer group member.")
def xautoclaim(c, argv):
    key, gname, name = argv[1], argv[2], argv[3]
    minidle = parse_int(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM")
    if minidle < 0:
        minidle = 0
    start, ex = interval_id(argv[5], 0)
    if ex:
        start = _incr(start)
        if start is None:
            raise RedisError("ERR invalid start ID for the interval")
    count = 100
    justid = False
    j = 6
    while j < len(argv):
        more = len(argv) - 1 - j
        o = argv[j].lower()
        if o == b"count" and more:
            try:
                count = parse_int(argv[j + 1])
            except RedisError:
                raise RedisError("ERR COUNT must be > 0")
            if count < 1 or count > (2 ** 63 - 1) // 16:
                raise RedisError("ERR COUNT must be > 0")
            j += 1
        elif o == b"justid":
            justid = True
        else:
            raise RedisError(SYNTAX)
        j += 1
    s = get_stream(c.db, key)
    g = s.groups.get(gname) if s is not None else None
    if g is None:
        raise _nogroup(key, gname)
    now = _now(c)
    attempts = count * 10
    consumer = None
    out = []
    deleted = []
    cmds = []
    pel = g.pel
    it = iter(list(pel.irange(start, None)))
    cursor = 0
    for sid in it:
        if not attempts or not count:
            cursor = sid
            break
        attempts -= 1
        nack = pel[sid]
        if sid not in s.entries:
            _drop_deleted(c, key, gname, g, sid, nack, cmds)
            deleted.append(id_str(sid))
            count -= 1
            continue
        if minidle and now - nack.delivery_time < minidle:
            continue
        if consumer is None:
            consumer = _claimer(c, g, name, key, now)
        _claim(c, key, gname, g, sid, nack, consumer, now, -1, justid, cmds)
        out.append(_claim_value(s, sid, justid))
        count -= 1
    else:
        cursor = 0
    _propagate_many(c, cmds)
    return [id_str(cursor), out, deleted]


@command("xsetid", -3, "write denyoom fast", keys=(1, 1, 1), group=G, since="5.0.0",
         summary="An internal command for replicating stream values.")
def xsetid(c, argv):
    sid = strict_id(argv[2])
    entries_added = -1
    max_xdel = 0
    i = 3
    while i < len(argv):
        more = len(argv) - 1 - i
        o = argv[i].lower()
        if o == b"entriesadded" and more:
            entries_added = parse_int(argv[i + 1])
            if entries_added < 0:
                raise RedisError("ERR entries_added must be positive")
            i += 2
        elif o == b"maxdeletedid" and more:
            max_xdel = strict_id(argv[i + 1])
            if sid < max_xdel:
                raise RedisError("ERR The ID specified in XSETID is smaller than the "
                                 "provided max_deleted_entry_id")
            i += 2
        else:
            raise RedisError(SYNTAX)
    s = get_stream(c.db, argv[1])
    if s is None:
        raise RedisError(NO_SUCH_KEY)
    if s.entries:
        if sid < s.entries.keys()[-1]:
            raise RedisError("ERR The ID specified in XSETID is smaller than the target "
                             "stream top item")
        if entries_added != -1 and len(s) > entries_added:
            raise RedisError("ERR The entries_added specified in XSETID is smaller than "
                             "the target stream length")
    if sid < s.max_deleted_id:
        raise RedisError("ERR The ID specified in XSETID is smaller than current "
                         "max_deleted_entry_id")
    s.last_id = sid
    if entries_added != -1:
        s.entries_added = entries_added
    if max_xdel:
        s.max_deleted_id = max_xdel
    c.server.dirty += 1
    notify(c.server, STREAM, "xsetid", argv[1], c.db.id)
    return OK


# -- XGROUP ----------------------------------------------------------------------------------

def _xgroup_prelude(c, argv, sub: bytes):
    """Option parsing and key/group lookups shared by the XGROUP subcommands."""
    mkstream = False
    entries_read = -1
    i = 5
    while i < len(argv):
        o = argv[i].lower()
        if sub == b"create" and o == b"mkstream":
            mkstream = True
            i += 1
        elif sub in (b"create", b"setid") and o == b"entriesread" and i + 1 < len(argv):
            entries_read = parse_int(argv[i + 1])
            if entries_read < 0 and entries_read != -1:
                raise RedisError("ERR value for ENTRIESREAD must be positive or -1")
            i += 2
        else:
            raise subcommand_syntax(argv)
    key, gname = argv[2], argv[3]
    s = get_stream(c.db, key)
    if s is None and not mkstream:
        raise RedisError("ERR The XGROUP subcommand requires the key to exist. Note that "
                         "for CREATE you may want to use the MKSTREAM option to create an "
                         "empty stream automatically.")
    g = s.groups.get(gname) if s is not None else None
    if g is None and sub in (b"setid", b"createconsumer", b"delconsumer"):
        raise _nogroup_for_key(key, gname)
    return s, g, entries_read


@subcommand("xgroup", "create", -5, "write denyoom", keys=(2, 2, 1), group=G, since="5.0.0",
            summary="Creates a consumer group.")
def xgroup_create(c, argv):
    s, g, entries_read = _xgroup_prelude(c, argv, b"create")
    if len(argv) > 8:       # after the options and the lookups, as Redis
        raise subcommand_syntax(argv)
    if argv[4] == b"$":
        sid = s.last_id if s is not None else 0
    else:
        sid = strict_id(argv[4])
    key = argv[2]
    if s is None:
        s = Stream()
        c.db.add(key, s)
    if argv[3] in s.groups:
        raise RedisError("BUSYGROUP Consumer Group name already exists")
    s.groups[argv[3]] = Group(sid, entries_read)
    c.server.dirty += 1
    notify(c.server, STREAM, "xgroup-create", key, c.db.id)
    return OK


@subcommand("xgroup", "setid", -5, "write", keys=(2, 2, 1), group=G, since="5.0.0",
            summary="Sets the last-delivered ID of a consumer group.")
def xgroup_setid(c, argv):
    s, g, entries_read = _xgroup_prelude(c, argv, b"setid")
    if len(argv) not in (5, 7):     # after the options and the lookups, as Redis
        raise subcommand_syntax(argv)
    if argv[4] == b"$":
        sid = s.last_id
    else:
        sid = parse_id(argv[4])[0]
    g.last_id = sid
    g.entries_read = entries_read
    c.server.dirty += 1
    notify(c.server, STREAM, "xgroup-setid", argv[2], c.db.id)
    return OK


@subcommand("xgroup", "destroy", 4, "write", keys=(2, 2, 1), group=G, since="5.0.0",
            summary="Destroys a consumer group.")
def xgroup_destroy(c, argv):
    s, g, _ = _xgroup_prelude(c, argv, b"destroy")
    if g is None:
        return 0
    del s.groups[argv[3]]
    c.server.dirty += 1
    notify(c.server, STREAM, "xgroup-destroy", argv[2], c.db.id)
    blocking.signal_key_ready(c.server, c.db.id, argv[2])
    return 1


@subcommand("xgroup", "createconsumer", 5, "write denyoom", keys=(2, 2, 1), group=G,
            since="6.2.0", summary="Creates a consumer in a consumer group.")
def xgroup_createconsumer(c, argv):
    s, g, _ = _xgroup_prelude(c, argv, b"createconsumer")
    return 1 if create_consumer(c, g, argv[4], argv[2], _now(c)) else 0


@subcommand("xgroup", "delconsumer", 5, "write", keys=(2, 2, 1), group=G, since="5.0.0",
            summary="Deletes a consumer from a consumer group.")
def xgroup_delconsumer(c, argv):
    s, g, _ = _xgroup_prelude(c, argv, b"delconsumer")
    cons = g.consumers.get(argv[4])
    if cons is None:
        return 0
    pending = len(cons.pel)
    for sid in list(cons.pel):
        del g.pel[sid]
    del g.consumers[argv[4]]
    c.server.dirty += 1
    notify(c.server, STREAM, "xgroup-delconsumer", argv[2], c.db.id)
    return pending


_XGROUP_HELP = [
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
]


@subcommand("xgroup", "help", 2, "loading stale", group=G, since="5.0.0",
            summary="Returns helpful text about the different subcommands.")
def xgroup_help(c, argv):
    return help_reply(argv, _XGROUP_HELP)


# -- XINFO -------------------------------------------------------------------------------------

def _lag(s: Stream, g: Group):
    return s.lag(g)


@subcommand("xinfo", "stream", -3, "readonly", keys=(2, 2, 1), group=G, since="5.0.0",
            summary="Returns information about a stream.")
def xinfo_stream(c, argv):
    full = False
    count = 10
    bad = subcommand_syntax(argv)
    s = get_stream(c.db, argv[2])       # the key before the options, as Redis
    if s is None:
        raise RedisError(NO_SUCH_KEY)
    if len(argv) > 3:
        if argv[3].lower() != b"full":
            raise bad
        full = True
        if len(argv) > 4:
            if len(argv) != 6 or argv[4].lower() != b"count":
                raise bad
            count = parse_int(argv[5])
            if count < 0:
                count = 10
    head = [
        (b"length", len(s)),
        (b"radix-tree-keys", len(s.nodes)),
        (b"radix-tree-nodes", s.rax_nodes()),
        (b"last-generated-id", id_str(s.last_id)),
        (b"max-deleted-entry-id", id_str(s.max_deleted_id)),
        (b"entries-added", s.entries_added),
        (b"recorded-first-entry-id", id_str(s.first_id)),
    ]
    if not full:
        e = s.entries
        first = _entry(s, e.keys()[0]) if e else None
        last = _entry(s, e.keys()[-1]) if e else None
        return Map(head + [(b"groups", len(s.groups)), (b"first-entry", first),
                           (b"last-entry", last)])
    entries = _range(s, 0, MAX_ID, count)
    groups = []
    now = _now(c)
    for gname, g in sorted(s.groups.items()):
        pending = []
        for sid in g.pel.keys():
            if count and len(pending) >= count:
                break
            n = g.pel[sid]
            pending.append([id_str(sid), n.consumer.name, n.delivery_time, n.delivery_count])
        consumers = []
        for cname, cn in sorted(g.consumers.items()):
            cp = []
            for sid in cn.pel.keys():
                if count and len(cp) >= count:
                    break
                n = cn.pel[sid]
                cp.append([id_str(sid), n.delivery_time, n.delivery_count])
            consumers.append(Map([(b"name", cname), (b"seen-time", cn.seen_time),
                                  (b"pel-count", len(cn.pel)), (b"pending", cp)]))
        groups.append(Map([
            (b"name", gname), (b"last-delivered-id", id_str(g.last_id)),
            (b"entries-read", g.entries_read if g.entries_read != -1 else None),
            (b"lag", _lag(s, g)), (b"pel-count", len(g.pel)), (b"pending", pending),
            (b"consumers", consumers)]))
    del now
    return Map(head + [(b"entries", entries), (b"groups", groups)])


@subcommand("xinfo", "groups", 3, "readonly", keys=(2, 2, 1), group=G, since="5.0.0",
            summary="Returns a list of the consumer groups of a stream.")
def xinfo_groups(c, argv):
    s = get_stream(c.db, argv[2])
    if s is None:
        raise RedisError(NO_SUCH_KEY)
    out = []
    for gname, g in sorted(s.groups.items()):
        out.append(Map([
            (b"name", gname), (b"consumers", len(g.consumers)), (b"pending", len(g.pel)),
            (b"last-delivered-id", id_str(g.last_id)),
            (b"entries-read", g.entries_read if g.entries_read != -1 else None),
            (b"lag", _lag(s, g))]))
    return out


@subcommand("xinfo", "consumers", 4, "readonly", keys=(2, 2, 1), group=G, since="5.0.0",
            summary="Returns a list of the consumers in a consumer group.")
def xinfo_consumers(c, argv):
    s = get_stream(c.db, argv[2])
    if s is None:
        raise RedisError(NO_SUCH_KEY)
    g = s.groups.get(argv[3])
    if g is None:
        raise _nogroup_for_key(argv[2], argv[3])
    now = _now(c)
    out = []
    for cname, cn in sorted(g.consumers.items()):
        idle = now - cn.seen_time
        out.append(Map([(b"name", cname), (b"pending", len(cn.pel)),
                        (b"idle", idle if idle > 0 else 0)]))
    return out


_XINFO_HELP = [
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
]


@subcommand("xinfo", "help", 2, "loading stale", group=G, since="5.0.0",
            summary="Returns helpful text about the different subcommands.")
def xinfo_help(c, argv):
    return help_reply(argv, _XINFO_HELP)


def _specs():
    from redpoll.commands.keyspecs import set_specs, spec
    nondet = ("nondeterministic_output",)
    set_specs("xadd", spec("RW update", 1, notes="UPDATE instead of INSERT because of the "
                           "optional trimming feature"), tips=nondet)
    set_specs("xlen", spec("RO", 1))
    set_specs("xdel", spec("RW delete", 1))
    set_specs("xtrim", spec("RW delete", 1), tips=nondet)
    set_specs("xread", spec("RO access", keyword=b"STREAMS", startfrom=1, lastkey=-1, limit=2))
    set_specs("xreadgroup", spec("RO access", keyword=b"STREAMS", startfrom=4, lastkey=-1,
                                 limit=2))
    set_specs("xpending", tips=nondet)
    set_specs("xclaim", tips=nondet)
    set_specs("xautoclaim", spec("RW delete", 1), tips=nondet)
    set_specs("xgroup|create", spec("RW insert", 2))
    set_specs("xgroup|createconsumer", spec("RW insert", 2))
    set_specs("xgroup|destroy", spec("RW delete", 2))
    set_specs("xgroup|delconsumer", spec("RW delete", 2))
    set_specs("xinfo|consumers", tips=nondet)


_specs()
