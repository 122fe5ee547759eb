"""A differential sweep driven by Redis's own COMMAND DOCS.

For every command (the list, hash, set and sorted-set families included),
argument lists are generated from the real Redis's argument specs (types,
optional and multiple arguments, tokens, oneof and block groups), then
spoiled on purpose (an argument missing, one too many, a bad token, a
number that is not one); every key argument is drawn from a pool holding a
key of each type and of each encoding (packed and expanded collections:
3 and 300 elements, intset and hashtable sets, integers and strings as
members) plus missing keys, and one argument list of each command is run
with every key of the pool as its first key. The same sequence goes to
redpoll and to Redis 7.0.15 and the replies are compared (with
tests/diff.py's parsing and normalisers; replies Redis leaves to chance --
random members, the order of a hashtable, SCAN cursors over one -- are
compared by shape, see NORMALIZERS). After every write that succeeded,
the pool keys it names are read back on both servers (TYPE, OBJECT
ENCODING and the whole value: Sweep.probe), so a wrong result that the
reply does not show (an element left behind, an encoding not converted)
is caught too.

Blocking commands (BLPOP, BLMOVE, BZMPOP...) run with a 0.01 s timeout
(any other non-negative timeout an argument list ends up with is turned
into 0.01 s, see tame_timeout), so a missing key times out on both sides;
both servers run with ``hz 100`` so that Redis notices the timeout within
10 ms rather than 100.

Seeded and bounded: the same commands every run, about 13,000 per protocol.
Commands whose replies cannot match (random, time- or process-dependent,
or that change the connection or the server: SHUTDOWN, MONITOR, HELLO...)
are left out, see EXCLUDED. Run ``python tests/test_docs_sweep.py`` to print
every difference instead of failing at the first one (development: SWEEP_SEED=n
draws other argument lists, SWEEP_ONLY=zadd,lpos limits the commands swept,
SWEEP_TIMES=1 prints where the time goes).
"""

from __future__ import annotations

import os
import random
import sys
import time
import zlib

import pytest

from diff import (DEFAULT_NORMALIZERS, RespConn, command_docs, encode_command, fmt_argv, render, start_pair,
                  unordered, unordered_pairs)
from support import keyevents_until, wait_until

SEED = int(os.environ.get("SWEEP_SEED", "7015"))     # another seed: explore (development)
VALID_PER_COMMAND = 30
SPOILED_PER_COMMAND = 20

COLLECTION_GROUPS = {"list", "hash", "set", "sorted-set"}

# name -> why it is not swept
EXCLUDED = {
    # the connection or the server changes in ways that break lock step
    "hello": "protocol switch", "quit": "closes the connection",
    "monitor": "connection mode", "subscribe": "connection mode",
    "psubscribe": "connection mode", "ssubscribe": "connection mode",
    "multi": "connection mode", "script|debug": "connection mode",
    "client|reply": "connection mode", "client|tracking": "connection mode",
    "client|pause": "server state", "client|unpause": "server state",
    "client|kill": "client ids/addresses", "client|unblock": "client ids",
    "client|id": "client ids", "client|info": "client ids",
    "client|list": "client ids", "shutdown": "server state",
    "debug": "server state", "failover": "server state",
    "replicaof": "server state", "slaveof": "server state",
    "sync": "replication", "psync": "replication", "replconf": "replication",
    "save": "disk", "bgsave": "disk", "bgrewriteaof": "disk",
    "config|set": "server state", "config|rewrite": "disk",
    "config|get": "paths, ports and pids differ", "acl|load": "disk",
    "acl|save": "disk", "acl|log": "times and client addresses",
    "acl|genpass": "random", "module": "modules", "module|help": "modules",
    "module|list": "modules", "module|load": "modules",
    "module|loadex": "modules", "module|unload": "modules",
    "migrate": "network (tests/test_cluster_commands.py)",
    "wait": "blocks", "pfdebug": "internal encoding", "pfselftest": "slow",
    # nondeterministic or process-dependent replies
    "randomkey": "random", "time": "time", "lastsave": "time",
    "info": "process", "lolwut": "version art", "role": "offsets",
    "scan": "cursor order", "dump": "encoding details",
    "function|dump": "encoding details", "memory": "allocator",
    "memory|doctor": "allocator", "memory|malloc-stats": "allocator",
    "memory|purge": "allocator", "memory|stats": "allocator",
    "memory|usage": "allocator", "latency|doctor": "prose",
    "latency|histogram": "timings", "slowlog|get": "timings",
    "slowlog|len": "timings", "command": "whole table (test_command_table)",
    "command|docs": "whole table (test_command_table)",
    "command|info": "whole table (test_command_table)",
    "command|list": "whole table (test_command_table)",
    "xinfo|consumers": "idle times", "xpending": "idle times",
}
# Tokens never generated for a command (they block or give random replies).
# SORT's BY: the pool's elements have no weight keys, so every weight is
# equal and Redis's unstable qsort picks any order (tested apart, below).
DROPPED_TOKENS = {"xadd": {"*"}, "xread": {"BLOCK"}, "xreadgroup": {"BLOCK"},
                  "xinfo|stream": {"FULL"}, "sort": {"BY"}, "sort_ro": {"BY"}}

# Big collections: 300 elements, past every packed-encoding limit (lists
# are quicklists whatever their size in 7.0); integers and strings mixed,
# repeated list elements (LPOS COUNT, LREM), tied scores.
# The small ones' members are among them too.
BIG = 300
BIGLIST = [str(i % 100) if i % 2 == 0 else f"e{i % 100}" for i in range(BIG)] + ["a", "1"]
BIGHASH = [x for i in range(BIG) for x in ((str(i) if i % 2 == 0 else f"f{i}"), str(i))] + [
    "f", "v", "n", "5", "1", "x"]
BIGSET = [str(i) if i % 2 == 0 else f"m{i}" for i in range(BIG)] + ["a", "b"]
BIGINTSET = [str(i) for i in range(BIG)]
# scores follow the members' byte order (ties two by two): the lex range
# commands are only defined where the score order is the lex order (over a
# skiplist Redis's answer otherwise depends on its random levels)
BIGZSET = [x for i, m in enumerate(sorted(BIGSET)) for x in (str(i // 2 - 75), m)]

POOL_SETUP = [
    ["SET", "str", "hello world"], ["SET", "int", "10"], ["SET", "fl", "1.5"],
    ["RPUSH", "list", "a", "b", "c"], ["RPUSH", "ilist", "1", "42", "-1"],
    ["RPUSH", "biglist", *BIGLIST],
    ["HSET", "hash", "f", "v", "g", "w", "n", "5", "fl", "1.5"],
    ["HSET", "hint", "1", "10", "42", "-3", "7", "x"], ["HSET", "bighash", *BIGHASH],
    ["SADD", "set", "a", "b", "c"], ["SADD", "intset", "1", "7", "42"],
    ["SADD", "bigintset", *BIGINTSET], ["SADD", "bigset", *BIGSET],
    ["ZADD", "zset", "1", "a", "2", "b", "3", "c"],
    ["ZADD", "zint", "1", "1", "1", "7", "-inf", "42", "2.5", "x"],
    ["ZADD", "bigzset", *BIGZSET],
    ["XADD", "stream", "1-1", "f", "v"], ["XADD", "stream", "2-1", "g", "w"],
    ["XGROUP", "CREATE", "stream", "grp", "0"],
    ["GEOADD", "geo", "13.361389", "38.115556", "Palermo",
     "15.087269", "37.502669", "Catania"],
    ["PFADD", "hll", "a", "b", "c"], ["SETBIT", "bm", "7", "1"],
    # an absolute time: the same expiry on both servers however long each
    # takes over the rest of the setup
    ["SET", "ttlkey", "v", "PXAT", str(int(time.time() * 1000) + 1_000_000)],
]
KEYS = ["str", "int", "fl", "list", "ilist", "biglist", "hash", "hint", "bighash",
        "set", "intset", "bigintset", "bigset", "zset", "zint", "bigzset", "stream",
        "geo", "hll", "bm", "ttlkey", "missing", "newkey"]
# Keys whose elements Redis keeps in a hash table: the order of SMEMBERS,
# HGETALL, SSCAN... over them depends on Redis's random hash seed.
HASHTABLE_KEYS = {"set", "bigset", "bighash", "bigzset"}


class Bad(str):
    """A value Redis refuses: left out of the argument list that every key
    of the pool is tried with (Generator(clean=True)), so that those get
    past the argument checks."""


B = Bad
STRINGS = ["a", "v", "0", "1", "-1", "x y", "", "\u00e9\x00\xff", "*"]
INTEGERS = ["0", "1", "2", "-1", "10", B("1.5"), B("abc"), B("9223372036854775808"),
            B("+1"), B("01"), B("-0"), B(" 1"), B("1e3"), "-9223372036854775808"]
DOUBLES = ["0", "1", "1.5", "-2.5", "inf", "-inf", B("nan"), B("abc"), B("1e400"),
           "+inf", "1e3", ".5", "5.", "0x10", "-0", B(" 1"), B("1,5")]
UNIX_TIMES = ["0", "1", "4102444800", "-1", "abc"]
PATTERNS = ["*", "s*", "[", "h?sh", "\\*"]
SCRIPTS = ["return 1", "return redis.call('get', KEYS[1])", "return {1, 2, 'x'}",
           "return redis.call('nosuch')", "error(", "return redis.pcall('incr', KEYS[1])",
           "return {err='My error'}", "return redis.status_reply('FINE')"]
LIBRARY = "#!lua name=lib\nredis.register_function('f', function(k, a) return #k end)"

FAR = "<far>"
# Values by argument name (lower case), before the type's defaults.
BY_NAME = {
    "member": ["a", "Palermo", "x"], "element": ["a", "x"], "field": ["f", "x"],
    "group": ["grp", "nogrp"], "groupname": ["grp", "nogrp"],
    "consumer": ["c1", "c2"], "consumername": ["c1", "c2"],
    "id": ["0", "1-1", "2-1", "3-0", "0-0", "$", ">", "bad-id", "1"],
    "start": ["-", "0", "1-1", "0", "1", "-1"], "end": ["+", "2-1", "-1", "5", "0"],
    "channel": ["ch", "news"], "shardchannel": ["ch"],
    "script": SCRIPTS, "sha1": ["e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "abc"],
    "function-code": [LIBRARY, "#!lua name=lib\nreturn 1", "bad code"],
    "function": ["f", "nosuch"], "library-name": ["lib", "nosuch"],
    "library-name-pattern": ["l*", "x"], "operation": ["AND", "OR", "XOR", "NOT", "BAD"],
    "encoding": ["u8", "i16", "i64", "u64", "x"], "username": ["alice", "nosuch"],
    "rule": ["on", "off", ">pw", "+@all", "~*", "allkeys", "resetchannels", "bad rule"],
    "category": ["string", "read", "nosuch"], "categoryname": ["string", "nosuch"],
    "command-name": ["get", "set", "nosuch", "config|get"],
    "command": ["get", "set", "mset", "eval", "nosuch", "zunionstore"],
    "message": ["hi"], "index": ["0", "1", "16", "x"], "db": ["1", "0", "16", "x"],
    "destination-db": ["1", "16"], "serialized-value": ["junk", ""],
    "longitude": ["13.36", "15.08", "200", "x"], "latitude": ["38.1", "37.5", "90", "x"],
    "radius": ["100", "1000", "-1", "x"], "width": ["400", "-1"], "height": ["400", "x"],
    "threshold": ["1", "0", "1-1", "x"], "node-id": ["x"], "event": ["command", "x"],
    "lastid": ["0", "1-1", "$", "x"], "last-id": ["0", "1-1", "x"],
    "new-name": ["newname", "bad name"], "connection-name": ["me", "bad name"],
    "password": ["pw", ""], "value": ["v", "1", "-5", ""],
    # expiry times: far away or already past, never a few ms that may or
    # may not have elapsed between two servers' replies; FAR is a distinct
    # far-away value each time (two equal relative times set a few µs apart
    # compare differently under GT/LT depending on the clock)
    "seconds": [FAR, FAR, "0", "-1", "abc", "9223372036854775807"],
    "milliseconds": [FAR, FAR, "0", "-1", "abc", "9223372036854775807"],
    "unix-time-seconds": ["4102444800", "1", "0", "abc"],
    "unix-time-milliseconds": ["4102444800000", "1", "abc"],
}

# Values for the list, hash, set and sorted-set families, by argument name
# (before BY_NAME); "command.argument" entries win over both.
MEMBERS = ["a", "b", "x", "1", "7", "42", "m7", "-1", ""]
ELEMENTS = ["a", "b", "x", "1", "42", "e7", "-1", ""]
FIELDS = ["f", "g", "x", "n", "fl", "1", "42", "f7", ""]
INDEXES = ["0", "1", "-1", "2", "-2", "150", "-300", "400", B("abc"), B("1.5"),
           "9223372036854775807", "-9223372036854775808"]
COUNTS = ["1", "2", "3", "0", "-1", "-5", "10", "400", B("abc"), B("1.5"),
          "9223372036854775807", "-9223372036854775808"]
SCORE_RANGES = ["-inf", "+inf", "inf", "(1", "1", "2.5", "(2.5", "0", "-10", "100",
                B("abc"), B("("), B("nan"), "(inf", B("1e400"), "(-inf"]
LEX_RANGES = ["-", "+", "[a", "(a", "[b", "(c", "[42", "(m7", B("a"), "[", "(", "[\xff",
              B("+inf")]
# BLPOP & co: anything but these becomes 0.01 s (tame_timeout)
TIMEOUTS = ["0.01", "0.01", "0.01", ".01", B("-1"), B("abc"), B("inf"), B("1e400"), B("nan"),
            B("-0.01")]
POP_COUNTS = ["1", "2", "3", "10", "400", B("0"), B("-1"), B("abc"), B("1.5"),
              "9223372036854775807", B("-9223372036854775808")]
COLLECTION_VALUES = {
    **{f"{c}.count": POP_COUNTS for c in ("lpop", "rpop", "spop", "zpopmin", "zpopmax",
                                          "lmpop", "blmpop", "zmpop", "bzmpop")},
    "member": MEMBERS, "element": ELEMENTS, "pivot": ELEMENTS, "field": FIELDS,
    "index": INDEXES, "start": INDEXES, "stop": INDEXES, "count": COUNTS,
    "offset": ["0", "1", "-1", "2", B("abc")], "rank": ["1", "-1", "2", "-2", B("0"), B("abc"),
                                                        B("-9223372036854775808")],
    "num-matches": ["0", "1", "2", B("-1"), B("abc")], "len": ["0", "1", "10", B("-1"), B("abc")],
    "cursor": ["0", "0", "0", "1", B("abc"), B("-1"), "18446744073709551615",
               B("18446744073709551616")],
    "numkeys": ["1", "2", "3", "0", "-1", "abc", "1.5"],
    "weight": ["1", "2", "0", "-1", "1.5", "inf", B("abc"), B("nan")],
    "timeout": TIMEOUTS,
    "min": SCORE_RANGES, "max": SCORE_RANGES,
    "zincrby.increment": DOUBLES,
    **{f"{c}.{a}": LEX_RANGES for c in ("zlexcount", "zrangebylex", "zrevrangebylex",
                                       "zremrangebylex") for a in ("min", "max")},
    **{f"{c}.{a}": INDEXES + SCORE_RANGES + LEX_RANGES
       for c, args in (("zrange", ("start", "stop")), ("zrangestore", ("min", "max")))
       for a in args},
}
# The keys of each family (most key arguments of its commands are drawn
# from these; every key of KEYS is still tried as the first key).
FAMILY_KEYS = {"list": ["list", "ilist", "biglist", "missing", "newkey"],
               "hash": ["hash", "hint", "bighash", "missing"],
               "set": ["set", "intset", "bigintset", "bigset", "missing", "newkey"],
               "sorted-set": ["zset", "zint", "bigzset", "geo", "missing", "newkey"]}
# Blocking commands: where their timeout is (an index in argv).
BLOCKING = {"blpop": -1, "brpop": -1, "brpoplpush": -1, "blmove": -1,
            "bzpopmin": -1, "bzpopmax": -1, "blmpop": 1, "bzmpop": 1}


def tame_timeout(name: str, argv: list[str]) -> list[str]:
    """A blocking command's timeout, when it is a number Redis takes, made
    0.01 s: never 0 (forever) nor long; errors (negative, not a number, out
    of range) are kept."""
    at = BLOCKING.get(name)
    if at is None or len(argv) <= (at if at >= 0 else -at):
        return argv
    try:
        t = float(argv[at])
    except ValueError:
        return argv
    if t != t or t in (float("inf"), float("-inf")) or t < 0 or 0 < t <= 0.02:
        return argv
    argv = list(argv)
    argv[at] = "0.01"
    return argv


# -- generating argument lists ------------------------------------------------------

class Generator:
    def __init__(self, rng: random.Random, name: str, group: str = "", clean: bool = False):
        self.rng = rng
        self.name = name
        self.clean = clean
        self.family_keys = FAMILY_KEYS.get(group)
        self.by_name = COLLECTION_VALUES if group in COLLECTION_GROUPS else {}
        self.numkeys_at = -1                # where numkeys is, if any
        self.dropped = DROPPED_TOKENS.get(name, set())
        self.out: list[str] = []            # the argv being built
        self.key_at: list[int] = []         # positions of its keys
        self.far = 0                        # FAR values given so far

    def pick(self, values):
        if self.clean:
            values = [v for v in values if not isinstance(v, Bad)] or values
        return self.rng.choice(values)

    def value(self, arg: dict) -> list[str]:
        t = arg["type"]
        name = arg["name"].lower()
        if t == "key":
            self.key_at.append(len(self.out))
            if self.family_keys and (self.clean or self.rng.random() < 0.7):
                return [self.pick(self.family_keys)]
            return [self.pick(KEYS)]
        if t == "pure-token":
            return [arg["token"]]
        if t in ("oneof", "block"):     # appended to self.out by arg() itself
            if t == "oneof":
                choices = [a for a in arg["arguments"] if a.get("token") not in self.dropped]
                self.arg(self.pick(choices), inner=True)
            else:
                for a in arg["arguments"]:
                    self.arg(a)
            return []
        if name == "numkeys":
            self.numkeys_at = len(self.out)
        values = (self.by_name.get(f"{self.name}.{name}") or self.by_name.get(name)
                  or BY_NAME.get(name))
        if values:
            v = self.pick(values)
            if v == FAR:
                self.far += 1
                v = str((1000 if name == "seconds" else 10 ** 7) + 50 * self.far)
            return [v]
        if t == "integer":
            return [self.pick(INTEGERS)]
        if t == "double":
            return [self.pick(DOUBLES)]
        if t == "unix-time":
            return [self.pick(UNIX_TIMES)]
        if t == "pattern":
            return [self.pick(PATTERNS)]
        return [self.pick(STRINGS)]

    def arg(self, arg: dict, inner: bool = False) -> list[str]:
        flags = arg.get("flags", [])
        token = arg.get("token")
        if token in self.dropped:
            return []
        if "optional" in flags and not inner and self.rng.random() < 0.5:
            return []
        times = self.rng.choice([1, 1, 2, 3]) if "multiple" in flags else 1
        start = len(self.out)
        for i in range(times):
            if token is not None and arg["type"] != "pure-token" and (
                    i == 0 or "multiple_token" in flags):
                self.out.append(token)
            self.out += self.value(arg)
        return self.out[start:]

    def valid(self, words: list[str], args: list[dict]) -> tuple[list[str], list[int]]:
        """An argument list following the specs, and its key positions."""
        self.out, self.key_at, self.numkeys_at = list(words), [], -1
        for a in args:
            self.arg(a)
        if self.numkeys_at >= 0 and (self.clean or self.rng.random() < 0.8):
            # numkeys mostly right, or the command never gets past it
            self.out[self.numkeys_at] = str(sum(1 for k in self.key_at if k > self.numkeys_at))
        return tame_timeout(self.name, self.out), self.key_at

    def spoil(self, argv: list[str]) -> list[str]:
        argv = list(argv)
        fixed = 2 if "|" in self.name else 1     # the command name words
        kind = self.rng.randrange(7)
        if kind == 0 and len(argv) > fixed:
            argv.pop()                                  # an argument missing
        elif kind == 1:
            argv.append(self.pick(["extra", "1", "COUNT"]))  # one too many
        elif kind == 5 and len(argv) > fixed + 1:      # two arguments swapped
            i = self.rng.randrange(fixed, len(argv) - 1)
            argv[i], argv[i + 1] = argv[i + 1], argv[i]
        elif kind == 6 and len(argv) > fixed:          # one given twice
            i = self.rng.randrange(fixed, len(argv))
            argv.insert(i, argv[i])
        elif len(argv) > fixed:
            i = self.rng.randrange(fixed, len(argv))
            argv[i] = {2: "BADTOKEN", 3: "notanumber", 4: "-3"}.get(kind, "0")
        return tame_timeout(self.name, argv)


def commands_to_sweep(docs: dict) -> list[tuple[str, list[str], list[dict], str]]:
    """(name, leading words, argument specs, group) of every command swept."""
    out = []
    for name, doc in sorted(docs.items()):
        entries = [(name, [name.upper()], doc)]
        for sub, sdoc in sorted(doc.get("subcommands", {}).items()):
            entries.append((sub, [w.upper() for w in sub.split("|")], sdoc))
        for full, words, d in entries:
            if full in EXCLUDED:
                continue
            if d.get("subcommands"):
                continue            # a container: its subcommands are swept
            out.append((full, words, d.get("arguments", []), d["group"]))
    return out


def sequence(name: str, words: list[str], args: list[dict], group: str = "") -> list[list[str]]:
    rng = random.Random(SEED ^ zlib.crc32(name.encode()))
    gen = Generator(rng, name, group)
    made = [gen.valid(words, args) for _ in range(VALID_PER_COMMAND)]
    valid = [argv for argv, _ in made]
    spoiled = [gen.spoil(rng.choice(valid)) for _ in range(SPOILED_PER_COMMAND)]
    # the first key of one argument list (of values Redis takes, keys of the
    # command's family) replaced by a key of every type and encoding
    typed = []
    argv, at = Generator(rng, name, group, clean=True).valid(words, args)
    if at:
        for key in KEYS:
            typed.append(tame_timeout(name, argv[:at[0]] + [key] + argv[at[0] + 1:]))
    seq = []
    for argv in valid + typed + spoiled + [words]:      # the bare command too
        if argv not in seq:
            seq.append(argv)
    return seq


# -- running ------------------------------------------------------------------------

def shape(argv, reply):
    """Random members (SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER): the
    reply's types and lengths, all the way down, not its strings."""
    t, v = reply
    if v is None or t in "-:#_":
        return reply
    if t in "*~>":
        return (t, [shape(argv, x) for x in v])
    if t in "%|":
        return (t, [(shape(argv, a), shape(argv, b)) for a, b in v])
    return (t, "<some value>")


def random_norm(argv, reply):
    """SPOP/SRANDMEMBER/HRANDFIELD/ZRANDMEMBER: by shape, except when a
    positive count is more than the collection holds: then Redis returns
    the whole of it, in its order (defined unless it is a hashtable set or
    hash; a sorted set's whole is in descending order)."""
    t, v = reply
    if t in "*~" and v is not None and len(argv) > 2 and (
            argv[1] not in HASHTABLE_KEYS or argv[0].lower() == "zrandmember"):
        try:
            count = int(argv[2])
        except ValueError:
            count = 0
        flat = any(a.upper() in ("WITHVALUES", "WITHSCORES") for a in argv[3:]) and not (
            v and v[0][0] == "*")
        if count > 0 and (len(v) // 2 if flat else len(v)) < count:
            return reply
    return shape(argv, reply)


def _hashtable_key_in(argv) -> bool:
    return any(a in HASHTABLE_KEYS for a in argv[1:])


def unordered_if_hashtable(argv, reply):
    """SMEMBERS, SUNION, HGETALL...: in order for intsets and listpacks
    (Redis's order is defined there), sorted once a hashtable is involved."""
    if not _hashtable_key_in(argv):
        return reply
    if argv[0].lower() == "hgetall":
        return unordered_pairs(argv, reply)
    return unordered(argv, reply)


def scan_norm(argv, reply):
    """HSCAN/SSCAN/ZSCAN: a packed collection is returned whole with cursor
    0 (compared exactly); over a hashtable cursors and batches follow
    Redis's hash seed: only the reply's shape is compared."""
    if reply[0] != "*" or len(argv) < 2 or argv[1] not in HASHTABLE_KEYS:
        return reply
    return ("*", [r[0] for r in reply[1]])


def _writes(port: int) -> set[str]:
    """The commands of the @write category, by the real Redis."""
    conn = RespConn(port)
    reply = conn.call(["COMMAND", "LIST", "FILTERBY", "ACLCAT", "write"])
    conn.close()
    return {v.decode() for _, v in reply[1]} | CHANGING_READS


# Replies whose order Redis does not define (a dict's order), by command.
NORMALIZERS = {"acl|cat": unordered, "pubsub|channels": unordered,
               "pubsub|shardchannels": unordered, "acl|users": unordered,
               **{c: random_norm for c in ("spop", "srandmember", "hrandfield", "zrandmember")},
               **{c: unordered_if_hashtable for c in ("smembers", "sunion", "sinter", "sdiff",
                                                      "hgetall", "hkeys", "hvals")},
               **{c: scan_norm for c in ("hscan", "sscan", "zscan")}}


POOL_KEYS = set(KEYS)
# How a probe reads a key back, by type.
PROBE_READ = {"string": lambda k: ["GET", k], "list": lambda k: ["LRANGE", k, "0", "-1"],
              "hash": lambda k: ["HGETALL", k], "set": lambda k: ["SMEMBERS", k],
              "zset": lambda k: ["ZRANGE", k, "0", "-1", "WITHSCORES"],
              "stream": lambda k: ["XRANGE", k, "-", "+"]}
# Read-only commands that change a value's encoding all the same.
CHANGING_READS = {"sort_ro"}
# Writes whose effect is random: their keys' values are compared by shape
# from then on.
RANDOM_WRITES = {"spop"}


class Sweep:
    """Both servers in lock step; a difference is recorded and both are
    reset (the rest of that command's sequence starts from the pool again)."""

    def __init__(self, ports: tuple[int, int], proto: int = 2, writes: set[str] = frozenset()):
        self.ports = ports
        self.proto = proto
        self.writes = writes            # commands after which the keys are probed
        self.conns = [RespConn(p) for p in ports]
        self.differences: list[tuple[str, list[str], tuple, tuple, int]] = []
        self.times: dict[str, float] = {}       # seconds per command (SWEEP_TIMES=1)

    def reset(self) -> None:
        for c in self.conns:
            c.close()
        self.conns = [RespConn(p) for p in self.ports]
        self.diverged: set[str] = set()         # keys a random write (SPOP) changed
        setup = [["HELLO", str(self.proto)], ["FLUSHALL"], ["FUNCTION", "FLUSH"],
                 ["SCRIPT", "FLUSH"], ["ACL", "DELUSER", "alice"], *POOL_SETUP]
        mine, ref = self.pipeline(setup)
        for argv, m, r in zip(setup[1:], mine[1:], ref[1:]):
            assert m == r, (argv, m, r)

    def run(self, name: str, seq: list[list[str]]) -> None:
        self.reset()
        norm = NORMALIZERS.get(name, DEFAULT_NORMALIZERS.get(name.split("|")[0]))
        for argv in seq:
            mine, ref = (c.call(argv) for c in self.conns)
            if name in RANDOM_WRITES and len(argv) > 1 and argv[1] in self.diverged:
                n_mine, n_ref = shape(argv, mine), shape(argv, ref)
            elif norm is not None:
                n_mine, n_ref = norm(argv, mine), norm(argv, ref)
            else:
                n_mine, n_ref = mine, ref
            if n_mine != n_ref:
                self.differences.append((name, argv, mine, ref, self.proto))
                self.reset()
                continue
            if name in RANDOM_WRITES and len(argv) > 1:
                self.diverged.add(argv[1])      # may hold different members from now on
            if name in self.writes and ref[0] != "-" and not self.probe(name, argv):
                self.reset()

    def pipeline(self, cmds: list[list[str]]) -> tuple[list, list]:
        """``cmds`` sent to both servers at once; (redpoll's, Redis's) replies."""
        wire = b"".join(encode_command(argv) for argv in cmds)
        for c in self.conns:
            c.sock.sendall(wire)
        mine, ref = ([c.reader.read() for _ in cmds] for c in self.conns)
        return mine, ref

    def probe(self, name: str, argv: list[str]) -> bool:
        """After a write: each pool key it names read back on both sides
        (type, encoding, whole value); False after recording a difference."""
        keys = list(dict.fromkeys(a for a in argv[1:] if a in POOL_KEYS))
        if not keys:
            return True
        cmds = [cmd for k in keys for cmd in (["PTTL", k], ["TYPE", k],
                                              ["OBJECT", "ENCODING", k], ["PTTL", k])]
        mine, ref = self.pipeline(cmds)
        # a key about to expire (PSETEX k 1 ...) may be gone on one side only
        soon = {read[1] for read, m, r in zip(cmds, mine, ref) if read[0] == "PTTL" and (
            0 <= m[1] < 5000 or 0 <= r[1] < 5000 or -2 in (m[1], r[1]) and m[1] != r[1])}
        for read, m, r in zip(cmds, mine, ref):
            if m != r and read[0] != "PTTL" and read[-1] not in soon:
                self.differences.append((name, argv + ["->"] + read, m, r, self.proto))
                return False
        kinds = {k: (ref[4 * i + 1][1], ref[4 * i + 2][1]) for i, k in enumerate(keys)
                 if k not in soon}
        cmds = [PROBE_READ[kind](k) for k, (kind, _) in kinds.items() if kind in PROBE_READ]
        mine, ref = self.pipeline(cmds)
        for read, m, r in zip(cmds, mine, ref):
            kind, encoding = kinds[read[1]]
            norm = None
            if read[1] in self.diverged:
                norm = shape
            elif encoding == b"hashtable":
                norm = unordered_pairs if kind == "hash" else unordered
            if (m if norm is None else norm(read, m)) != (r if norm is None else norm(read, r)):
                self.differences.append((name, argv + ["->"] + read, m, r, self.proto))
                return False
        return True

    def close(self) -> None:
        for c in self.conns:
            c.close()


def sweep(ports: tuple[int, int], proto: int = 2) -> list:
    docs = command_docs(ports[1])
    s = Sweep(ports, proto, _writes(ports[1]))
    try:
        only = set(filter(None, os.environ.get("SWEEP_ONLY", "").split(",")))  # development
        for name, words, args, group in commands_to_sweep(docs):
            if only and name not in only:
                continue
            t0 = time.monotonic()
            s.run(name, sequence(name, words, args, group))
            s.times[name] = s.times.get(name, 0) + time.monotonic() - t0
    finally:
        s.close()
    if os.environ.get("SWEEP_TIMES"):
        slow = sorted(s.times.items(), key=lambda x: -x[1])[:15]
        print(f"RESP{proto}: {sum(s.times.values()):.1f}s; slowest: "
              + ", ".join(f"{n} {t:.2f}" for n, t in slow), file=sys.stderr)
    return s.differences


def _short(reply, keep: int = 8):
    """A reply with long arrays cut to their first and last elements."""
    t, v = reply
    if isinstance(v, list):
        v = [x if t not in "*~>" else _short(x, keep) for x in v]
        if len(v) > 2 * keep:
            v = v[:keep] + [("+", f"... {len(v) - 2 * keep} more ...")] + v[-keep:]
    return (t, v)


def report(differences) -> str:
    lines = []
    for name, argv, mine, ref, proto in differences:
        if (mine[0] == ref[0] and isinstance(mine[1], list) and isinstance(ref[1], list)
                and len(mine[1]) == len(ref[1]) > 16):
            # long replies of one length: around their first difference
            at = next(i for i, (x, y) in enumerate(zip(mine[1], ref[1])) if x != y)
            lo = max(0, at - 4)
            size = len(ref[1])
            mine, ref = ((r[0], r[1][lo:at + 6]) for r in (mine, ref))
            lines.append(f"[{name}] (RESP{proto}) {fmt_argv(argv)[:300]}\n"
                         f"  (elements {lo}.. of {size}; the first difference at {at})")
        else:
            lines.append(f"[{name}] (RESP{proto}) {fmt_argv(argv)[:300]}")
        lines.append(f"  redpoll: {render(_short(mine))}\n  redis:   {render(_short(ref))}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def sweep_pair():
    p = start_pair(["--hz", "100"])
    p.close()
    yield p
    p.cleanup()


@pytest.mark.parametrize("proto", [2, 3])
def test_docs_driven_sweep_matches_redis(sweep_pair, proto):
    diffs = sweep((sweep_pair.redpoll.port, sweep_pair.redis.port), proto)
    assert not diffs, f"{len(diffs)} differences:\n" + report(diffs)


if __name__ == "__main__":
    pair = start_pair(["--hz", "100"])
    try:
        pair.close()
        found = sweep((pair.redpoll.port, pair.redis.port), 2)
        found += sweep((pair.redpoll.port, pair.redis.port), 3)
        print(report(found))
        print(f"{len(found)} differences", file=sys.stderr)
    finally:
        pair.cleanup()


# -- what the sweep found, pinned down ------------------------------------------------

def test_sweep_findings(sweep_pair):
    """Each difference the sweep found (and that was fixed), as a fixed
    sequence: argument checks in Redis's order, Redis's exact texts."""
    sweep_pair.reconnect()
    sweep_pair.check([
        *POOL_SETUP,
        # XDEL: the key before the IDs (a missing key is 0 whatever the IDs)
        ["XDEL", "hll", "bad-id"], ["XDEL", "missing", "bad-id"], ["XDEL", "stream", "bad-id"],
        # XREAD and XREADGROUP: one wording for unbalanced streams
        ["XREAD", "STREAMS", "stream", "missing", "0"],
        ["XREADGROUP", "GROUP", "grp", "c1", "STREAMS", "stream", "0", "1"],
        # XGROUP CREATE/SETID: options, then the key and group, then the count
        ["XGROUP", "CREATE", "stream", "g", "$", "MKSTREAM", "ENTRIESREAD", "x", "extra"],
        ["XGROUP", "CREATE", "stream", "g", "$", "ENTRIESREAD", "1", "ENTRIESREAD", "2",
         "MKSTREAM"],
        ["XGROUP", "CREATE", "str", "g", "$", "ENTRIESREAD", "1", "ENTRIESREAD", "2"],
        ["XGROUP", "SETID", "stream", "nogrp", "$", "ENTRIESREAD", "3", "ENTRIESREAD", "4"],
        ["XGROUP", "SETID", "stream", "grp", "$", "ENTRIESREAD", "x", "extra"],
        ["XGROUP", "SETID", "stream", "grp", "$", "extra"],
        # XINFO STREAM: the key before the options
        ["XINFO", "STREAM", "list", "COUNT"], ["XINFO", "STREAM", "missing", "FULL", "x", "1"],
        ["XINFO", "STREAM", "stream", "COUNT"],
        # EVALSHA: NOSCRIPT for anything but 40 characters, before numkeys
        ["EVALSHA", "abc", "x"], ["EVALSHA_RO", "abc", "-1"],
        ["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "x"],
        # FUNCTION FLUSH/RESTORE: too many arguments
        ["FUNCTION", "FLUSH", "ASYNC", "COUNT"], ["FUNCTION", "flush", "BAD"],
        ["FUNCTION", "RESTORE", "x", "REPLACE", "extra"],
        # error texts: every CR and LF becomes a space
        ["FUNCTION", "LOAD", "#!lua name=lib\nreturn 1", "1"],
        ["FUNCTION", "LOAD", "a\r\nb", "x"],
        ["EVAL", "return redis.error_reply('a\\nb\\rc')", "0"],
        # HyperLogLogs are raw strings (PFADD, PFMERGE create them so)
        ["OBJECT", "ENCODING", "hll"], ["PFADD", "h2"], ["OBJECT", "ENCODING", "h2"],
        ["PFMERGE", "h3", "hll"], ["OBJECT", "ENCODING", "h3"],
        ["SET", "h4", "x"], ["DEL", "h4"], ["PFMERGE", "h4", "h2"], ["OBJECT", "ENCODING", "h4"],
        # SORT ... BY with distinct weights (left out of the sweep)
        ["MSET", "w_a", "3", "w_b", "1", "w_c", "2"],
        ["SORT", "list", "BY", "w_*"], ["SORT", "set", "BY", "w_*", "DESC", "LIMIT", "0", "2"],
        ["SORT_RO", "zset", "BY", "w_*", "GET", "#", "GET", "w_*"],
        ["SORT", "set", "BY", "nosort", "STORE", "dst"], ["LRANGE", "dst", "0", "-1"],
        # GEO* ... COUNT: Redis's partial quicksort decides the order of equal
        # distances (and which of them make the cut)
        ["GEOADD", "gt", *[x for i in range(60) for x in (
            str(13 + (i * 7 % 4) * 0.001), str(38 + (i * 5 % 3) * 0.001), f"p{i}")]],
        *[["GEOSEARCH", "gt", "FROMLONLAT", "13", "38", "BYRADIUS", "10", "km", order,
           "COUNT", str(n)] for order in ("ASC", "DESC") for n in (1, 3, 7, 8, 20, 41, 59, 60)],
        ["GEORADIUS", "gt", "13", "38", "10", "km", "COUNT", "9", "STORE", "gts"],
        ["ZRANGE", "gts", "0", "-1"],
        # LPOS RANK LLONG_MIN: Redis's negation and its COUNT test overflow:
        # every match, from the tail
        ["RPUSH", "lp", "x", "a", "x", "b", "x", "x"],
        ["LPOS", "lp", "x", "RANK", "-9223372036854775808", "COUNT", "1"],
        ["LPOS", "lp", "x", "RANK", "-9223372036854775808", "COUNT", "2", "MAXLEN", "4"],
        ["LPOS", "lp", "x", "RANK", "-9223372036854775808"],
        ["LPOS", "lp", "x", "RANK", "-9223372036854775807", "COUNT", "1"],
        ["LPOS", "lp", "x", "RANK", "-2", "COUNT", "2"],
        # ZRANDMEMBER with a count past the size: the whole zset, highest first
        ["ZADD", "zr", "1", "a", "2", "b", "3", "c", "3", "d"], ["ZRANDMEMBER", "zr", "4"],
        ["ZRANDMEMBER", "zr", "9", "WITHSCORES"], ["ZRANDMEMBER", "zr", "9223372036854775807"],
        ["ZADD", "zr2", *[x for i in range(200) for x in (str(i % 50), f"m{i}")]],
        ["ZRANDMEMBER", "zr2", "200"], ["ZRANDMEMBER", "zr2", "500", "WITHSCORES"],
        # ZUNION(STORE)/ZINTER(STORE): the inputs smallest first (the order of
        # the sums), MIN/MAX keep the score they have on a tie (-0 vs 0)
        ["ZADD", "zf1", "0.1", "x"], ["ZADD", "zf2", "0.2", "x", "1", "y"],
        ["ZADD", "zf3", "0.3", "x", "1", "y", "2", "z"],
        ["ZUNIONSTORE", "zo", "3", "zf3", "zf2", "zf1"], ["ZSCORE", "zo", "x"],
        ["ZUNION", "3", "zf3", "zf2", "zf1", "WITHSCORES"],
        ["ZINTER", "3", "zf3", "zf2", "zf1", "WITHSCORES"],
        ["ZADD", "zb", *[x for i in range(130) for x in (str(i), f"m{i}")]],
        ["ZADD", "zs1", "0", "m0", "1", "m1"],
        ["ZINTERSTORE", "zo1", "2", "zb", "zb", "WEIGHTS", "-1", "1", "AGGREGATE", "MIN"],
        ["ZSCORE", "zo1", "m0"],
        ["ZINTERSTORE", "zo2", "2", "zb", "zb", "WEIGHTS", "1", "-1", "AGGREGATE", "MAX"],
        ["ZSCORE", "zo2", "m0"],
        ["ZUNIONSTORE", "zo3", "2", "zb", "zs1", "WEIGHTS", "-1", "1", "AGGREGATE", "MIN"],
        ["ZSCORE", "zo3", "m0"],
        ["ZUNIONSTORE", "zo4", "2", "zs1", "zb", "WEIGHTS", "1", "-1", "AGGREGATE", "MAX"],
        ["ZSCORE", "zo4", "m0"],
        ["ZUNION", "2", "zb", "zb", "WEIGHTS", "-1", "1", "AGGREGATE", "MAX", "WITHSCORES"],
        # ZRANGEBYLEX LIMIT over a listpack whose members are not in lex
        # order: from the first member in range, OFFSET steps without looking,
        # then members while within the far bound (as Redis walks it)
        ["ZADD", "zl", "-inf", "42", "1", "1", "1", "7", "2.5", "x", "3", "b"],
        ["ZREVRANGEBYLEX", "zl", "(m7", "[42", "LIMIT", "2", "3"],
        ["ZREVRANGEBYLEX", "zl", "(a", "[42", "LIMIT", "2", "-1"],
        ["ZRANGEBYLEX", "zl", "[1", "+", "LIMIT", "2", "2"],
        ["ZRANGEBYLEX", "zl", "[1", "[7", "LIMIT", "1", "5"],
        ["ZRANGEBYLEX", "zl", "-", "(b", "LIMIT", "3", "1"],
        ["ZRANGE", "zl", "[x", "[1", "BYLEX", "REV", "LIMIT", "1", "2"],
        ["ZRANGESTORE", "zl2", "zl", "[1", "+", "BYLEX", "LIMIT", "2", "2"],
        ["ZRANGE", "zl2", "0", "-1", "WITHSCORES"],
        ["ZRANGEBYLEX", "zl", "[1", "+", "LIMIT", "-1", "2"],
        # ZINTER: only the first (smallest) input's weighted score is made 0
        # when NaN; 0 * inf from another input makes a SUM 0, MIN/MAX ignore it
        ["ZADD", "zn1", "1", "a", "2", "b", "3", "c"], ["ZADD", "zn2", "-1", "a", "0", "b", "5", "c", "1", "d"],
        *[["ZINTER", "2", x, y, "WEIGHTS", "inf", "inf", *agg, "WITHSCORES"]
          for x, y in (("zn1", "zn2"), ("zn2", "zn1")) for agg in ((), ("AGGREGATE", "MIN"), ("AGGREGATE", "MAX"))],
        ["ZINTERSTORE", "zn3", "2", "zn1", "zn2", "WEIGHTS", "0", "inf"], ["ZRANGE", "zn3", "0", "-1", "WITHSCORES"],
        ["ZUNION", "2", "zn1", "zn2", "WEIGHTS", "inf", "inf", "AGGREGATE", "MIN", "WITHSCORES"],
        # SETBIT leaves a string raw even when the bit was already so
        ["SET", "s1", "hello"], ["SETBIT", "s1", "1", "1"], ["OBJECT", "ENCODING", "s1"],
        ["SET", "s2", "10"], ["SETBIT", "s2", "2", "1"], ["OBJECT", "ENCODING", "s2"],
        ["SET", "s3", "hello"], ["SETBIT", "s3", "0", "0"], ["OBJECT", "ENCODING", "s3"],
        ["SET", "s4", "hello"], ["GETBIT", "s4", "1"], ["OBJECT", "ENCODING", "s4"],
        # SORT and SORT_RO turn a listpack sorted set into a skiplist (after
        # the syntax checks), whatever they reply
        ["ZADD", "zs", "1", "a", "2", "b"], ["SORT", "zs", "BAD"], ["OBJECT", "ENCODING", "zs"],
        ["SORT", "zs", "ALPHA", "LIMIT", "5", "1"], ["OBJECT", "ENCODING", "zs"],
        ["ZADD", "zs2", "1", "a"], ["SORT", "zs2"], ["OBJECT", "ENCODING", "zs2"],
        ["ZADD", "zs3", "1", "x"], ["SORT_RO", "zs3", "BY", "nosort"],
        ["OBJECT", "ENCODING", "zs3"], ["ZADD", "zs3", "0", "y"], ["OBJECT", "ENCODING", "zs3"],
        ["ZRANGE", "zs3", "0", "-1", "WITHSCORES"], ["ZREM", "zs3", "x"], ["OBJECT", "ENCODING", "zs3"],
    ])


def test_pfadd_of_a_new_key_fires_new(sweep_pair):
    """PFADD creating its key fires ``new`` before ``pfadd``, as Redis."""
    events = {}
    for server in (sweep_pair.redpoll, sweep_pair.redis):
        c = server.client()
        c.flushall()
        c.config_set("notify-keyspace-events", "KEAn")
        try:
            sub = c.pubsub()
            sub.psubscribe("__keyevent@0__:*")
            wait_until(lambda: sub.get_message(timeout=0.1), what="psubscribe")
            c.pfadd("h1", "a")
            c.pfadd("h1", "b")
            c.pfmerge("h2", "h1")
            c.set("end", "1")
            got = keyevents_until(sub, (b"__keyevent@0__:set", b"end"))
            events[server.kind] = got
            sub.close()
        finally:
            c.config_set("notify-keyspace-events", "")
            c.close()
    assert events["redpoll"] == events["redis"]
    assert (b"__keyevent@0__:new", b"h1") in events["redpoll"]
