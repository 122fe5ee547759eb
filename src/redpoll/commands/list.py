"""List commands: pushes and pops at both ends, ranges, LPOS/LINSERT/LREM/
LSET/LTRIM, LMOVE/RPOPLPUSH, LMPOP and the blocking BLPOP, BRPOP, BLMOVE,
BRPOPLPUSH, BLMPOP (built on :mod:`redpoll.blocking`)."""

from __future__ import annotations

from itertools import islice

from redpoll import blocking
from redpoll.commands.string import parse_int, parse_range_int
from redpoll.commands.table import command
from redpoll.datatypes.list import RList
from redpoll.errors import NO_SUCH_KEY, OUT_OF_RANGE, SYNTAX, RedisError, wrong_arity
from redpoll.notify import GENERIC, LIST, notify
from redpoll.protocol.resp import NULL_ARRAY, OK

G = "list"
LONG_MAX = 2**63 - 1
POSITIVE = "ERR value is out of range, must be positive"
_LEFT, _RIGHT = b"left", b"right"


# -- helpers ------------------------------------------------------------------

def _event(c, event: str, key: bytes) -> None:
    if c.server.notify_flags:
        notify(c.server, LIST, event, key, c.db.id)


def deleted_if_empty(c, key: bytes, lst) -> None:
    """Remove an emptied list and fire ``del`` (after the command's own event)."""
    if not lst:
        c.db.delete(key)
        if c.server.notify_flags:
            notify(c.server, GENERIC, "del", key, c.db.id)


def ready_list(c, key: bytes):
    """For serve callbacks: the non-empty list at ``key``, else None (a key of
    another type keeps the client waiting, as in Redis 7.0)."""
    v = c.db.get(key)
    return v if type(v) is RList and v else None


def _where(b: bytes) -> bytes:
    """LEFT|RIGHT (any case) -> b"left"/b"right"; syntax error otherwise."""
    w = b.lower()
    if w != _LEFT and w != _RIGHT:
        raise RedisError(SYNTAX)
    return w


def index_range(n: int, start: int, end: int):
    """Redis's start/end index normalisation (LRANGE, LTRIM, ZRANGE by rank):
    (start, end) inclusive, or None when empty."""
    if start < 0:
        start += n
    if end < 0:
        end += n
    if start < 0:
        start = 0
    if start > end or start >= n:
        return None
    if end >= n:
        end = n - 1
    return start, end


def _push_into(c, key: bytes, lst, values, left: bool) -> int:
    """Push values (a list or tuple) into ``lst`` (created at ``key`` when
    None) at the head (``left``) or the tail; fires the event. The new
    length."""
    if lst is None:
        c.db.add(key, RList.new(values[::-1] if left else values))
        n = len(values)
    else:
        n = lst.push(values, left)
    srv = c.server
    if srv.notify_flags:
        notify(srv, LIST, "lpush" if left else "rpush", key, c.db.id)
    return n


# -- pushes -------------------------------------------------------------------

def _push_handler(left: bool, exists_only: bool):
    """The handler of LPUSH (``left``), RPUSH, LPUSHX and RPUSHX
    (``exists_only``): one function per command, the direction and the
    event fixed when it is made; the push itself is :func:`_push_into`."""

    def push(c, argv):
        key = argv[1]
        lst = c.db.get_typed(key, RList)
        if lst is None and exists_only:
            return 0
        vals = argv[2:]
        n = _push_into(c, key, lst, vals, left)
        c.server.dirty += len(vals)
        return n
    return push


command("lpush", -3, "write denyoom fast", keys=(1, 1, 1), group=G, since="1.0.0",
        summary="Prepends one or more elements to a list. Creates the key if it doesn't exist.",
        )(_push_handler(True, False))
command("rpush", -3, "write denyoom fast", keys=(1, 1, 1), group=G, since="1.0.0",
        summary="Appends one or more elements to a list. Creates the key if it doesn't exist.",
        )(_push_handler(False, False))
command("lpushx", -3, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.2.0",
        summary="Prepends one or more elements to a list only when the list exists.",
        )(_push_handler(True, True))
command("rpushx", -3, "write denyoom fast", keys=(1, 1, 1), group=G, since="2.2.0",
        summary="Appends an element to a list only when the list exists.",
        )(_push_handler(False, True))


# -- pops ---------------------------------------------------------------------

def pop_n(c, key: bytes, lst, where: bytes, count: int) -> list:
    """Pop up to ``count`` elements; events, dirty, deletion of an emptied list."""
    pop = lst.popleft if where == _LEFT else lst.pop
    out = [pop() for _ in range(min(count, len(lst)))]
    _event(c, "lpop" if where == _LEFT else "rpop", key)
    deleted_if_empty(c, key, lst)
    c.server.dirty += len(out)
    return out


def _pop_handler(left: bool):
    """The handler of LPOP (``left``) / RPOP; without a count, the pop is
    one call into the list (``RList.pop_end``)."""
    where = _LEFT if left else _RIGHT
    event = "lpop" if left else "rpop"

    def pop(c, argv):
        key = argv[1]
        if len(argv) == 2:              # one element
            db = c.db
            srv = c.server
            lst = db.get_typed(key, RList)
            if lst is None:
                return None
            value, left_over = lst.pop_end(left)
            if srv.notify_flags:
                notify(srv, LIST, event, key, db.id)
            if not left_over:
                deleted_if_empty(c, key, lst)
            srv.dirty += 1
            return value
        if len(argv) > 3:
            raise wrong_arity(argv[0].decode(errors="replace").lower())
        count = parse_range_int(argv[2], 0, LONG_MAX, POSITIVE)
        lst = c.db.get_typed(key, RList)
        if lst is None:
            return NULL_ARRAY
        if count == 0:
            return []
        return pop_n(c, key, lst, where, count)
    return pop


command("lpop", -2, "write fast", keys=(1, 1, 1), group=G, since="1.0.0",
        summary="Returns the first elements in a list after removing it. Deletes the list if the last element was popped.",
        )(_pop_handler(True))
command("rpop", -2, "write fast", keys=(1, 1, 1), group=G, since="1.0.0",
        summary="Returns and removes the last elements of a list. Deletes the list if the last element was popped.",
        )(_pop_handler(False))


# -- reads --------------------------------------------------------------------

@command("llen", 2, "readonly fast", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Returns the length of a list.")
def llen(c, argv):
    lst = c.db.read_typed(argv[1], RList)
    return 0 if lst is None else len(lst)


@command("lrange", 4, "readonly", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Returns a range of elements from a list.")
def lrange(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    lst = c.db.read_typed(argv[1], RList)
    if lst is None:
        return []
    q = lst.seq()
    n = len(q)
    r = index_range(n, start, end)
    if r is None:
        return []
    start, end = r
    if type(q) is list:              # decoded from the packed form
        return q if start == 0 and end == n - 1 else q[start:end + 1]
    if start > n - 1 - end:          # nearer the tail: walk backwards
        out = list(islice(reversed(q), n - 1 - end, n - start))
        out.reverse()
        return out
    return list(islice(q, start, end + 1))


@command("lindex", 3, "readonly", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Returns an element from a list by its index.")
def lindex(c, argv):
    lst = c.db.read_typed(argv[1], RList)
    if lst is None:
        return None
    idx = parse_int(argv[2])
    n = len(lst)
    if idx < 0:
        idx += n
    if idx < 0 or idx >= n:
        return None
    return lst[idx]


@command("lpos", -3, "readonly", keys=(1, 1, 1), group=G, since="6.0.6",
         summary="Returns the index of matching elements in a list.")
def lpos(c, argv):
    rank, count, maxlen = 1, None, 0
    i, n = 3, len(argv)
    while i < n:
        o = argv[i].lower()
        if i + 1 >= n:
            raise RedisError(SYNTAX)
        v = argv[i + 1]
        if o == b"rank":
            rank = parse_int(v)
            if rank == 0:
                raise RedisError(
                    "ERR RANK can't be zero: use 1 to start from the first match, "
                    "2 from the second ... or use negative to start from the end of the list")
        elif o == b"count":
            count = parse_int(v, "ERR COUNT can't be negative")
            if count < 0:
                raise RedisError("ERR COUNT can't be negative")
        elif o == b"maxlen":
            maxlen = parse_int(v, "ERR MAXLEN can't be negative")
            if maxlen < 0:
                raise RedisError("ERR MAXLEN can't be negative")
        else:
            raise RedisError(SYNTAX)
        i += 2
    lst = c.db.read_typed(argv[1], RList)
    if lst is None:
        return None if count is None else []
    elem = argv[2]
    lst = lst.seq()
    size = len(lst)
    want = count if count else size if count == 0 else 1
    if rank == -2**63:
        # Redis negates it and overflows: any match; its COUNT test
        # (matches - rank + 1 >= count) overflows too: every match
        rank, want = -1, size
    if rank > 0:
        it, skip = enumerate(lst), rank - 1
        pos = lambda j: j
    else:
        it, skip = enumerate(reversed(lst)), -rank - 1
        pos = lambda j: size - 1 - j
    out = []
    for j, x in it:
        if maxlen and j >= maxlen:
            break
        if x == elem:
            if skip:
                skip -= 1
                continue
            out.append(pos(j))
            if len(out) >= want:
                break
    if count is None:
        return out[0] if out else None
    return out


# -- in-place edits -----------------------------------------------------------

@command("linsert", 5, "write denyoom", keys=(1, 1, 1), group=G, since="2.2.0",
         summary="Inserts an element before or after another element in a list.")
def linsert(c, argv):
    where = argv[2].lower()
    if where not in (b"before", b"after"):
        raise RedisError(SYNTAX)
    key = argv[1]
    lst = c.db.get_typed(key, RList)
    if lst is None:
        return 0
    try:
        idx = lst.index(argv[3])
    except ValueError:
        return -1
    lst.insert(idx if where == b"before" else idx + 1, argv[4])
    _event(c, "linsert", key)
    c.server.dirty += 1
    return len(lst)


@command("lrem", 4, "write", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Removes elements from a list. Deletes the list if the last element was removed.")
def lrem(c, argv):
    count = parse_int(argv[2])
    key, elem = argv[1], argv[3]
    lst = c.db.get_typed(key, RList)
    if lst is None:
        return 0
    removed = lst.remove_matches(elem, count)
    if removed:
        _event(c, "lrem", key)
        deleted_if_empty(c, key, lst)
        c.server.dirty += removed
    return removed


@command("lset", 4, "write denyoom", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Sets the value of an element in a list by its index.")
def lset(c, argv):
    key = argv[1]
    lst = c.db.get_typed(key, RList)
    if lst is None:
        raise RedisError(NO_SUCH_KEY)
    idx = parse_int(argv[2])
    n = len(lst)
    if idx < 0:
        idx += n
    if idx < 0 or idx >= n:
        raise RedisError(OUT_OF_RANGE)
    lst[idx] = argv[3]
    _event(c, "lset", key)
    c.server.dirty += 1
    return OK


@command("ltrim", 4, "write", keys=(1, 1, 1), group=G, since="1.0.0",
         summary="Removes elements from both ends a list. Deletes the list if all elements were trimmed.")
def ltrim(c, argv):
    start = parse_int(argv[2])
    end = parse_int(argv[3])
    key = argv[1]
    lst = c.db.get_typed(key, RList)
    if lst is None:
        return OK
    n = len(lst)
    r = index_range(n, start, end)
    if r is None:
        lst.clear()
    else:
        start, end = r
        for _ in range(n - 1 - end):
            lst.pop()
        for _ in range(start):
            lst.popleft()
    _event(c, "ltrim", key)
    deleted_if_empty(c, key, lst)
    c.server.dirty += n - len(lst)
    return OK


# -- moves ----------------------------------------------------------------------

def _move(c, src: bytes, dst: bytes, wfrom: bytes, wto: bytes):
    """LMOVE's work; None when the source is empty (nothing changes)."""
    db = c.db
    slst = db.get_typed(src, RList)
    if slst is None:
        return None
    dlst = db.get_typed(dst, RList)
    value = slst.popleft() if wfrom == _LEFT else slst.pop()
    _push_into(c, dst, dlst, (value,), wto == _LEFT)
    _event(c, "lpop" if wfrom == _LEFT else "rpop", src)
    deleted_if_empty(c, src, slst)
    c.server.dirty += 1
    return value


@command("lmove", 5, "write denyoom", keys=(1, 2, 1), group=G, since="6.2.0",
         summary="Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.")
def lmove(c, argv):
    wfrom, wto = _where(argv[3]), _where(argv[4])
    return _move(c, argv[1], argv[2], wfrom, wto)


@command("rpoplpush", 3, "write denyoom", keys=(1, 2, 1), group=G, since="1.2.0",
         summary="Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.")
def rpoplpush(c, argv):
    return _move(c, argv[1], argv[2], _RIGHT, _LEFT)


# -- LMPOP ----------------------------------------------------------------------

def _mpop_keys(argv, numkeys_idx: int):
    """Key positions of LMPOP/BLMPOP/ZMPOP/BZMPOP (``numkeys key ...``)."""
    try:
        n = int(argv[numkeys_idx])
    except (ValueError, IndexError):
        return []
    if n < 1 or numkeys_idx + n >= len(argv):
        return []
    return list(range(numkeys_idx + 1, numkeys_idx + 1 + n))


def parse_mpop(argv, numkeys_idx: int, where_words: tuple):
    """Parse ``numkeys key... WHERE [COUNT n]`` as LMPOP/ZMPOP do:
    (keys, where (lower case), count)."""
    numkeys = parse_range_int(argv[numkeys_idx], 1, LONG_MAX,
                              "ERR numkeys should be greater than 0")
    where_idx = numkeys_idx + numkeys + 1
    if where_idx >= len(argv):
        raise RedisError(SYNTAX)
    where = argv[where_idx].lower()
    if where not in where_words:
        raise RedisError(SYNTAX)
    count = -1
    j, n = where_idx + 1, len(argv)
    while j < n:
        if count == -1 and argv[j].lower() == b"count" and j + 1 < n:
            j += 1
            count = parse_range_int(argv[j], 1, LONG_MAX,
                                    "ERR count should be greater than 0")
        else:
            raise RedisError(SYNTAX)
        j += 1
    return argv[numkeys_idx + 1:where_idx], where, 1 if count == -1 else count


def _mpop_serve(where: bytes, count: int):
    """serve(c, key) for LMPOP/BLMPOP: [key, [elements]], propagated as
    LPOP/RPOP key count."""
    def serve(c, key):
        lst = ready_list(c, key)
        if lst is None:
            return blocking.NOT_READY
        out = pop_n(c, key, lst, where, count)
        c.prop_argv = [b"LPOP" if where == _LEFT else b"RPOP", key, str(len(out)).encode()]
        return [key, out]
    return serve


def _lmpop(c, keys, where, count):
    serve = _mpop_serve(where, count)
    for key in keys:
        lst = c.db.get_typed(key, RList)
        if lst:
            return serve(c, key)
    return None


@command("lmpop", -4, "write", keys=(0, 0, 0), group=G, since="7.0.0",
         getkeys=lambda argv: _mpop_keys(argv, 1),
         summary="Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.")
def lmpop(c, argv):
    keys, where, count = parse_mpop(argv, 1, (_LEFT, _RIGHT))
    r = _lmpop(c, keys, where, count)
    return NULL_ARRAY if r is None else r


# -- blocking variants ----------------------------------------------------------

def _bpop_serve(where: bytes):
    """serve(c, key) for BLPOP/BRPOP: [key, element], propagated as LPOP/RPOP."""
    def serve(c, key):
        lst = ready_list(c, key)
        if lst is None:
            return blocking.NOT_READY
        value = pop_n(c, key, lst, where, 1)[0]
        c.prop_argv = [b"LPOP" if where == _LEFT else b"RPOP", key]
        return [key, value]
    return serve


def _bpop(c, argv, where: bytes):
    timeout = blocking.parse_timeout(argv[-1])
    keys = argv[1:-1]
    serve = _bpop_serve(where)
    db = c.db
    for key in keys:
        lst = db.get_typed(key, RList)
        if lst:
            return serve(c, key)
    return blocking.block(c, keys, timeout, serve)


@command("blpop", -3, "write noscript blocking", keys=(1, -2, 1), group=G, since="2.0.0",
         summary="Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
def blpop(c, argv):
    return _bpop(c, argv, _LEFT)


@command("brpop", -3, "write noscript blocking", keys=(1, -2, 1), group=G, since="2.0.0",
         summary="Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
def brpop(c, argv):
    return _bpop(c, argv, _RIGHT)


def _bmove(c, src, dst, wfrom, wto, timeout, prop):
    def serve(cl, key):
        if key != src:
            return blocking.NOT_READY
        if ready_list(cl, src) is None:
            return blocking.NOT_READY
        try:
            v = _move(cl, src, dst, wfrom, wto)
        except RedisError as e:
            return e
        cl.prop_argv = prop
        return v
    if c.db.get_typed(src, RList) is not None:
        return serve(c, src)
    return blocking.block(c, [src], timeout, serve, deny_reply=None)


@command("blmove", 6, "write denyoom noscript blocking", keys=(1, 2, 1), group=G,
         since="6.2.0",
         summary="Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.")
def blmove(c, argv):
    wfrom, wto = _where(argv[3]), _where(argv[4])
    timeout = blocking.parse_timeout(argv[5])
    return _bmove(c, argv[1], argv[2], wfrom, wto, timeout,
                  [b"LMOVE", argv[1], argv[2], wfrom, wto])


@command("brpoplpush", 4, "write denyoom noscript blocking", keys=(1, 2, 1), group=G,
         since="2.2.0",
         summary="Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.")
def brpoplpush(c, argv):
    timeout = blocking.parse_timeout(argv[3])
    return _bmove(c, argv[1], argv[2], _RIGHT, _LEFT, timeout,
                  [b"RPOPLPUSH", argv[1], argv[2]])


@command("blmpop", -5, "write blocking", keys=(0, 0, 0), group=G, since="7.0.0",
         getkeys=lambda argv: _mpop_keys(argv, 2),
         summary="Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.")
def blmpop(c, argv):
    keys, where, count = parse_mpop(argv, 2, (_LEFT, _RIGHT))
    timeout = blocking.parse_timeout(argv[1])
    r = _lmpop(c, keys, where, count)
    if r is not None:
        return r
    return blocking.block(c, keys, timeout, _mpop_serve(where, count))
