"""COMMAND DOCS ``arguments``: each command's argument structure in Redis 7.0's
format (name, type, key_spec_index, token, flags, nested arguments), written
in a compact syntax close to the usage line and parsed once:

* ``name:type`` an argument (types: key, string, integer, double, pattern,
  unix-time); a ``#N`` suffix is its key_spec_index (a key's default is 0).
  The name is everything before the last ``:`` (``ip:port:string``).
* ``TOKEN`` alone is a pure-token argument named after the token in lower
  case; ``name=TOKEN`` names it otherwise. ``TOKEN arg`` puts a token
  before an argument or group.
* ``name:(a | b)`` is a oneof, ``name:{a b}`` a block.
* ``[...]`` makes an element optional, a ``...`` suffix multiple and
  ``...*`` multiple with the token repeated (multiple_token).

Summaries and history are not reproduced (they are prose).
"""

from __future__ import annotations

import re

from redpoll.protocol.resp import Map, Set, Status

ARGS = {
    "acl|getuser": "username:string",
    "acl|log": "[operation:(count:integer | RESET)]",
    "acl|genpass": "[bits:integer]",
    "acl|setuser": "username:string [rule:string...]",
    "acl|dryrun": "username:string command:string [arg:string...]",
    "acl|deluser": "username:string...",
    "acl|cat": "[categoryname:string]",
    "append": "key:key value:string",
    "auth": "[username:string] password:string",
    "bgsave": "[SCHEDULE]",
    "bitcount": "key:key [index:{start:integer end:integer [index_unit:(BYTE | BIT)]}]",
    "bitfield": "key:key [operation:(GET encoding_offset:{encoding:string offset:integer} | write:{[OVERFLOW wrap_sat_fail:(WRAP | SAT | FAIL)] write_operation:(SET encoding_offset_value:{encoding:string offset:integer value:integer} | INCRBY encoding_offset_increment:{encoding:string offset:integer increment:integer})})...]",
    "bitfield_ro": "key:key [GET encoding_offset:{encoding:string offset:integer}...*]",
    "bitop": "operation:string destkey:key key:key#1...",
    "bitpos": "key:key bit:integer [index:{start:integer [end_index:{end:integer [index_unit:(BYTE | BIT)]}]}]",
    "blmove": "source:key destination:key#1 wherefrom:(LEFT | RIGHT) whereto:(LEFT | RIGHT) timeout:double",
    "blmpop": "timeout:double numkeys:integer key:key... where:(LEFT | RIGHT) [COUNT count:integer]",
    "blpop": "key:key... timeout:double",
    "brpop": "key:key... timeout:double",
    "brpoplpush": "source:key destination:key#1 timeout:double",
    "bzmpop": "timeout:double numkeys:integer key:key... where:(MIN | MAX) [COUNT count:integer]",
    "bzpopmax": "key:key... timeout:double",
    "bzpopmin": "key:key... timeout:double",
    "client|list": "[TYPE normal_master_replica_pubsub:(NORMAL | MASTER | REPLICA | PUBSUB)] [ID id:{client-id:integer...}]",
    "client|unblock": "client-id:integer [timeout_error:(TIMEOUT | ERROR)]",
    "client|no-evict": "enabled:(ON | OFF)",
    "client|tracking": "status:(ON | OFF) [REDIRECT client-id:integer] [PREFIX prefix:string...*] [BCAST] [OPTIN] [OPTOUT] [NOLOOP]",
    "client|reply": "on_off_skip:(ON | OFF | SKIP)",
    "client|caching": "mode:(YES | NO)",
    "client|setname": "connection-name:string",
    "client|kill": "filter:(ip:port:string | new-format:([ID client-id:integer] | [TYPE normal_master_slave_pubsub:(NORMAL | MASTER | SLAVE | REPLICA | PUBSUB)] | [USER username:string] | [ADDR ip:port:string] | [LADDR ip:port:string] | [SKIPME yes/no:string])...)",
    "client|pause": "timeout:integer [mode:(WRITE | ALL)]",
    "cluster|addslots": "slot:integer...",
    "cluster|addslotsrange": "start-slot_end-slot:{start-slot:integer end-slot:integer}...",
    "cluster|count-failure-reports": "node-id:string",
    "cluster|countkeysinslot": "slot:integer",
    "cluster|delslots": "slot:integer...",
    "cluster|delslotsrange": "start-slot_end-slot:{start-slot:integer end-slot:integer}...",
    "cluster|failover": "[options:(FORCE | TAKEOVER)]",
    "cluster|forget": "node-id:string",
    "cluster|getkeysinslot": "slot:integer count:integer",
    "cluster|keyslot": "key:string",
    "cluster|meet": "ip:string port:integer [cluster_bus_port:integer]",
    "cluster|replicas": "node-id:string",
    "cluster|replicate": "node-id:string",
    "cluster|reset": "[hard_soft:(HARD | SOFT)]",
    "cluster|set-config-epoch": "config-epoch:integer",
    "cluster|setslot": "slot:integer subcommand:(IMPORTING node-id:string | MIGRATING node-id:string | NODE node-id:string | STABLE)",
    "cluster|slaves": "node-id:string",
    "command|list": "[FILTERBY filterby:(MODULE module-name:string | ACLCAT category:string | PATTERN pattern:pattern)]",
    "command|docs": "[command-name:string...]",
    "command|info": "[command-name:string...]",
    "config|get": "parameter:{parameter:string}...",
    "config|set": "parameter_value:{parameter:string value:string}...",
    "copy": "source:key destination:key#1 [DB destination-db:integer] [REPLACE]",
    "decr": "key:key",
    "decrby": "key:key decrement:integer",
    "del": "key:key...",
    "dump": "key:key",
    "echo": "message:string",
    "eval": "script:string numkeys:integer [key:key...] [arg:string...]",
    "eval_ro": "script:string numkeys:integer [key:key...] [arg:string...]",
    "evalsha": "sha1:string numkeys:integer [key:key...] [arg:string...]",
    "evalsha_ro": "sha1:string numkeys:integer [key:key...] [arg:string...]",
    "exists": "key:key...",
    "expire": "key:key seconds:integer [condition:(NX | XX | GT | LT)]",
    "expireat": "key:key unix-time-seconds:unix-time [condition:(NX | XX | GT | LT)]",
    "expiretime": "key:key",
    "failover": "[TO target:{host:string port:integer [FORCE]}] [ABORT] [TIMEOUT milliseconds:integer]",
    "fcall": "function:string numkeys:integer [key:key...] [arg:string...]",
    "fcall_ro": "function:string numkeys:integer [key:key...] [arg:string...]",
    "flushall": "[async:(ASYNC | SYNC)]",
    "flushdb": "[async:(ASYNC | SYNC)]",
    "function|flush": "[async:(ASYNC | SYNC)]",
    "function|load": "[REPLACE] function-code:string",
    "function|list": "[LIBRARYNAME library-name-pattern:string] [WITHCODE]",
    "function|delete": "library-name:string",
    "function|restore": "serialized-value:string [policy:(FLUSH | APPEND | REPLACE)]",
    "geoadd": "key:key [condition:(NX | XX)] [change=CH] longitude_latitude_member:{longitude:double latitude:double member:string}...",
    "geodist": "key:key member1:string member2:string [unit:(M | KM | FT | MI)]",
    "geohash": "key:key member:string...",
    "geopos": "key:key member:string...",
    "georadius": "key:key longitude:double latitude:double radius:double unit:(M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [count:{COUNT count:integer [ANY]}] [order:(ASC | DESC)] [STORE key:key#1] [STOREDIST key:key#2]",
    "georadius_ro": "key:key longitude:double latitude:double radius:double unit:(M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [count:{COUNT count:integer [ANY]}] [order:(ASC | DESC)]",
    "georadiusbymember": "key:key member:string radius:double unit:(M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [count:{COUNT count:integer [ANY]}] [order:(ASC | DESC)] [STORE key:key#1] [STOREDIST key:key#2]",
    "georadiusbymember_ro": "key:key member:string radius:double unit:(M | KM | FT | MI) [WITHCOORD] [WITHDIST] [WITHHASH] [count:{COUNT count:integer [ANY]}] [order:(ASC | DESC)]",
    "geosearch": "key:key from:(FROMMEMBER member:string | FROMLONLAT longitude_latitude:{longitude:double latitude:double}) by:(circle:{BYRADIUS radius:double unit:(M | KM | FT | MI)} | box:{BYBOX width:double height:double unit:(M | KM | FT | MI)}) [order:(ASC | DESC)] [count:{COUNT count:integer [ANY]}] [WITHCOORD] [WITHDIST] [WITHHASH]",
    "geosearchstore": "destination:key source:key#1 from:(FROMMEMBER member:string | FROMLONLAT longitude_latitude:{longitude:double latitude:double}) by:(circle:{BYRADIUS radius:double unit:(M | KM | FT | MI)} | box:{BYBOX width:double height:double unit:(M | KM | FT | MI)}) [order:(ASC | DESC)] [count:{COUNT count:integer [ANY]}] [STOREDIST]",
    "get": "key:key",
    "getbit": "key:key offset:integer",
    "getdel": "key:key",
    "getex": "key:key [expiration:(EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | PERSIST)]",
    "getrange": "key:key start:integer end:integer",
    "getset": "key:key value:string",
    "hdel": "key:key field:string...",
    "hello": "[arguments:{protover:integer [AUTH username_password:{username:string password:string}] [SETNAME clientname:string]}]",
    "hexists": "key:key field:string",
    "hget": "key:key field:string",
    "hgetall": "key:key",
    "hincrby": "key:key field:string increment:integer",
    "hincrbyfloat": "key:key field:string increment:double",
    "hkeys": "key:key",
    "hlen": "key:key",
    "hmget": "key:key field:string...",
    "hmset": "key:key field_value:{field:string value:string}...",
    "hrandfield": "key:key [options:{count:integer [WITHVALUES]}]",
    "hscan": "key:key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]",
    "hset": "key:key field_value:{field:string value:string}...",
    "hsetnx": "key:key field:string value:string",
    "hstrlen": "key:key field:string",
    "hvals": "key:key",
    "incr": "key:key",
    "incrby": "key:key increment:integer",
    "incrbyfloat": "key:key increment:double",
    "info": "[section:string...]",
    "keys": "pattern:pattern",
    "latency|reset": "[event:string...]",
    "latency|histogram": "[command:string...]",
    "latency|graph": "event:string",
    "latency|history": "event:string",
    "lcs": "key1:key key2:key [LEN] [IDX] [MINMATCHLEN len:integer] [WITHMATCHLEN]",
    "lindex": "key:key index:integer",
    "linsert": "key:key where:(BEFORE | AFTER) pivot:string element:string",
    "llen": "key:key",
    "lmove": "source:key destination:key#1 wherefrom:(LEFT | RIGHT) whereto:(LEFT | RIGHT)",
    "lmpop": "numkeys:integer key:key... where:(LEFT | RIGHT) [COUNT count:integer]",
    "lolwut": "[VERSION version:integer]",
    "lpop": "key:key [count:integer]",
    "lpos": "key:key element:string [RANK rank:integer] [COUNT num-matches:integer] [MAXLEN len:integer]",
    "lpush": "key:key element:string...",
    "lpushx": "key:key element:string...",
    "lrange": "key:key start:integer stop:integer",
    "lrem": "key:key count:integer element:string",
    "lset": "key:key index:integer element:string",
    "ltrim": "key:key start:integer stop:integer",
    "memory|usage": "key:key [SAMPLES count:integer]",
    "migrate": "host:string port:integer key_or_empty_string:(key:key | empty_string=) destination-db:integer timeout:integer [COPY] [REPLACE] [authentication:([AUTH password:string] | [AUTH2 username_password:{username:string password:string}])] [KEYS key:key#1...]",
    "mget": "key:key...",
    "module|load": "path:string [arg:string...]",
    "module|loadex": "path:string [CONFIG configs:{name:string value:string}...*] [ARGS args:{arg:string}...]",
    "module|unload": "name:string",
    "move": "key:key db:integer",
    "mset": "key_value:{key:key value:string}...",
    "msetnx": "key_value:{key:key value:string}...",
    "object|freq": "key:key",
    "object|idletime": "key:key",
    "object|encoding": "key:key",
    "object|refcount": "key:key",
    "persist": "key:key",
    "pexpire": "key:key milliseconds:integer [condition:(NX | XX | GT | LT)]",
    "pexpireat": "key:key unix-time-milliseconds:unix-time [condition:(NX | XX | GT | LT)]",
    "pexpiretime": "key:key",
    "pfadd": "key:key [element:string...]",
    "pfcount": "key:key...",
    "pfdebug": "subcommand:string key:key",
    "pfmerge": "destkey:key sourcekey:key#1...",
    "ping": "[message:string]",
    "psetex": "key:key milliseconds:integer value:string",
    "psubscribe": "pattern:{pattern:pattern}...",
    "psync": "replicationid:string offset:integer",
    "pttl": "key:key",
    "publish": "channel:string message:string",
    "pubsub|channels": "[pattern:pattern]",
    "pubsub|numsub": "[channel:string...]",
    "pubsub|shardchannels": "[pattern:pattern]",
    "pubsub|shardnumsub": "[shardchannel:string...]",
    "punsubscribe": "[pattern:pattern...]",
    "rename": "key:key newkey:key#1",
    "renamenx": "key:key newkey:key#1",
    "replicaof": "args:(host-port:{host:string port:integer} | no-one:{NO ONE})",
    "restore": "key:key ttl:integer serialized-value:string [REPLACE] [ABSTTL] [IDLETIME seconds:integer] [FREQ frequency:integer]",
    "restore-asking": "key:key ttl:integer serialized-value:string [REPLACE] [ABSTTL] [IDLETIME seconds:integer] [FREQ frequency:integer]",
    "rpop": "key:key [count:integer]",
    "rpoplpush": "source:key destination:key#1",
    "rpush": "key:key element:string...",
    "rpushx": "key:key element:string...",
    "sadd": "key:key member:string...",
    "scan": "cursor:integer [MATCH pattern:pattern] [COUNT count:integer] [TYPE type:string]",
    "scard": "key:key",
    "script|exists": "sha1:string...",
    "script|debug": "mode:(YES | SYNC | NO)",
    "script|flush": "[async:(ASYNC | SYNC)]",
    "script|load": "script:string",
    "sdiff": "key:key...",
    "sdiffstore": "destination:key key:key#1...",
    "select": "index:integer",
    "set": "key:key value:string [condition:(NX | XX)] [GET] [expiration:(EX seconds:integer | PX milliseconds:integer | EXAT unix-time-seconds:unix-time | PXAT unix-time-milliseconds:unix-time | KEEPTTL)]",
    "setbit": "key:key offset:integer value:integer",
    "setex": "key:key seconds:integer value:string",
    "setnx": "key:key value:string",
    "setrange": "key:key offset:integer value:string",
    "shutdown": "[nosave_save:(NOSAVE | SAVE)] [NOW] [FORCE] [ABORT]",
    "sinter": "key:key...",
    "sintercard": "numkeys:integer key:key... [LIMIT limit:integer]",
    "sinterstore": "destination:key key:key#1...",
    "sismember": "key:key member:string",
    "slaveof": "args:(host-port:{host:string port:integer} | no-one:{NO ONE})",
    "slowlog|get": "[count:integer]",
    "smembers": "key:key",
    "smismember": "key:key member:string...",
    "smove": "source:key destination:key#1 member:string",
    "sort": "key:key [BY pattern:pattern#1] [LIMIT offset_count:{offset:integer count:integer}] [GET pattern:pattern#1...*] [order:(ASC | DESC)] [sorting=ALPHA] [STORE destination:key#2]",
    "sort_ro": "key:key [BY pattern:pattern#1] [LIMIT offset_count:{offset:integer count:integer}] [GET pattern:pattern#1...*] [order:(ASC | DESC)] [sorting=ALPHA]",
    "spop": "key:key [count:integer]",
    "spublish": "shardchannel:string message:string",
    "srandmember": "key:key [count:integer]",
    "srem": "key:key member:string...",
    "sscan": "key:key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]",
    "ssubscribe": "shardchannel:string...",
    "strlen": "key:key",
    "subscribe": "channel:string...",
    "substr": "key:key start:integer end:integer",
    "sunion": "key:key...",
    "sunionstore": "destination:key key:key#1...",
    "sunsubscribe": "[shardchannel:string...]",
    "swapdb": "index1:integer index2:integer",
    "touch": "key:key...",
    "ttl": "key:key",
    "type": "key:key",
    "unlink": "key:key...",
    "unsubscribe": "[channel:string...]",
    "wait": "numreplicas:integer timeout:integer",
    "watch": "key:key...",
    "xack": "key:key group:string id:string...",
    "xadd": "key:key [NOMKSTREAM] [trim:{strategy:(MAXLEN | MINID) [operator:(equal== | approximately=~)] threshold:string [LIMIT count:integer]}] id_or_auto:(auto_id=* | id:string) field_value:{field:string value:string}...",
    "xautoclaim": "key:key group:string consumer:string min-idle-time:string start:string [COUNT count:integer] [JUSTID]",
    "xclaim": "key:key group:string consumer:string min-idle-time:string id:string... [IDLE ms:integer] [TIME unix-time-milliseconds:unix-time] [RETRYCOUNT count:integer] [FORCE] [JUSTID] [LASTID id:string]",
    "xdel": "key:key id:string...",
    "xgroup|createconsumer": "key:key groupname:string consumername:string",
    "xgroup|create": "key:key groupname:string id:(id:string | new_id=$) [MKSTREAM] [ENTRIESREAD entries_read:integer]",
    "xgroup|delconsumer": "key:key groupname:string consumername:string",
    "xgroup|destroy": "key:key groupname:string",
    "xgroup|setid": "key:key groupname:string id:(id:string | new_id=$) [ENTRIESREAD entries_read:integer]",
    "xinfo|groups": "key:key",
    "xinfo|consumers": "key:key groupname:string",
    "xinfo|stream": "key:key [FULL full:{[COUNT count:integer]}]",
    "xlen": "key:key",
    "xpending": "key:key group:string [filters:{[IDLE min-idle-time:integer] start:string end:string count:integer [consumer:string]}]",
    "xrange": "key:key start:string end:string [COUNT count:integer]",
    "xread": "[COUNT count:integer] [BLOCK milliseconds:integer] STREAMS streams:{key:key... id:string...}",
    "xreadgroup": "GROUP group_consumer:{group:string consumer:string} [COUNT count:integer] [BLOCK milliseconds:integer] [NOACK] STREAMS streams:{key:key... id:string...}",
    "xrevrange": "key:key end:string start:string [COUNT count:integer]",
    "xsetid": "key:key last-id:string [ENTRIESADDED entries_added:integer] [MAXDELETEDID max_deleted_entry_id:string]",
    "xtrim": "key:key trim:{strategy:(MAXLEN | MINID) [operator:(equal== | approximately=~)] threshold:string [LIMIT count:integer]}",
    "zadd": "key:key [condition:(NX | XX)] [comparison:(GT | LT)] [change=CH] [increment=INCR] score_member:{score:double member:string}...",
    "zcard": "key:key",
    "zcount": "key:key min:double max:double",
    "zdiff": "numkeys:integer key:key... [WITHSCORES]",
    "zdiffstore": "destination:key numkeys:integer key:key#1...",
    "zincrby": "key:key increment:integer member:string",
    "zinter": "numkeys:integer key:key... [WEIGHTS weight:integer...] [AGGREGATE aggregate:(SUM | MIN | MAX)] [WITHSCORES]",
    "zintercard": "numkeys:integer key:key... [LIMIT limit:integer]",
    "zinterstore": "destination:key numkeys:integer key:key#1... [WEIGHTS weight:integer...] [AGGREGATE aggregate:(SUM | MIN | MAX)]",
    "zlexcount": "key:key min:string max:string",
    "zmpop": "numkeys:integer key:key... where:(MIN | MAX) [COUNT count:integer]",
    "zmscore": "key:key member:string...",
    "zpopmax": "key:key [count:integer]",
    "zpopmin": "key:key [count:integer]",
    "zrandmember": "key:key [options:{count:integer [WITHSCORES]}]",
    "zrange": "key:key start:string stop:string [sortby:(BYSCORE | BYLEX)] [REV] [LIMIT offset_count:{offset:integer count:integer}] [WITHSCORES]",
    "zrangebylex": "key:key min:string max:string [LIMIT offset_count:{offset:integer count:integer}]",
    "zrangebyscore": "key:key min:double max:double [WITHSCORES] [LIMIT offset_count:{offset:integer count:integer}]",
    "zrangestore": "dst:key src:key#1 min:string max:string [sortby:(BYSCORE | BYLEX)] [REV] [LIMIT offset_count:{offset:integer count:integer}]",
    "zrank": "key:key member:string",
    "zrem": "key:key member:string...",
    "zremrangebylex": "key:key min:string max:string",
    "zremrangebyrank": "key:key start:integer stop:integer",
    "zremrangebyscore": "key:key min:double max:double",
    "zrevrange": "key:key start:integer stop:integer [WITHSCORES]",
    "zrevrangebylex": "key:key max:string min:string [LIMIT offset_count:{offset:integer count:integer}]",
    "zrevrangebyscore": "key:key max:double min:double [WITHSCORES] [LIMIT offset_count:{offset:integer count:integer}]",
    "zrevrank": "key:key member:string",
    "zscan": "key:key cursor:integer [MATCH pattern:pattern] [COUNT count:integer]",
    "zscore": "key:key member:string",
    "zunion": "numkeys:integer key:key... [WEIGHTS weight:integer...] [AGGREGATE aggregate:(SUM | MIN | MAX)] [WITHSCORES]",
    "zunionstore": "destination:key numkeys:integer key:key#1... [WEIGHTS weight:integer...] [AGGREGATE aggregate:(SUM | MIN | MAX)]",
}

# The version that introduced each command whose declaration does not say it.
SINCE = {
    "acl": "6.0.0", "append": "2.0.0", "client": "2.4.0", "client|pause": "2.9.50",
    "config": "2.0.0", "dump": "2.6.0", "exec": "1.2.0", "function": "7.0.0",
    "getdel": "6.2.0", "getex": "6.2.0", "getrange": "2.4.0", "incrbyfloat": "2.6.0",
    "latency": "2.8.13", "lolwut": "5.0.0", "memory": "4.0.0", "module": "4.0.0",
    "mset": "1.0.1", "msetnx": "1.0.1", "multi": "1.2.0", "psetex": "2.6.0",
    "pubsub": "2.8.0", "restore": "2.6.0", "script": "2.6.0", "setex": "2.0.0",
    "setrange": "2.2.0", "slowlog": "2.2.12", "strlen": "2.2.0", "xgroup": "5.0.0",
    "xinfo": "5.0.0", "xtrim": "5.0.0",
    "migrate": "2.6.0", "restore-asking": "3.0.0",
}

# Documentation groups that differ from the group a command is declared with
# (WAIT is documented as generic but its ACL category is @connection).
DOC_GROUP = {"wait": "generic", "restore-asking": "server"}

# Deprecated commands: name -> (deprecated since, what to use instead; our wording).
DEPRECATED = {
    "brpoplpush": ("6.2.0", "`BLMOVE source destination RIGHT LEFT timeout`"),
    "cluster|slaves": ("5.0.0", "`CLUSTER REPLICAS`"),
    "cluster|slots": ("7.0.0", "`CLUSTER SHARDS`"),
    "georadius": ("6.2.0", "`GEOSEARCH` / `GEOSEARCHSTORE` with `BYRADIUS`"),
    "georadius_ro": ("6.2.0", "`GEOSEARCH` with `BYRADIUS`"),
    "georadiusbymember": ("6.2.0", "`GEOSEARCH` / `GEOSEARCHSTORE` with `FROMMEMBER` "
                                   "and `BYRADIUS`"),
    "georadiusbymember_ro": ("6.2.0", "`GEOSEARCH` with `FROMMEMBER` and `BYRADIUS`"),
    "getset": ("6.2.0", "`SET key value GET`"),
    "hmset": ("4.0.0", "`HSET` (it takes several field-value pairs)"),
    "rpoplpush": ("6.2.0", "`LMOVE source destination RIGHT LEFT`"),
    "slaveof": ("5.0.0", "`REPLICAOF`"),
    "substr": ("2.0.0", "`GETRANGE`"),
    "zrangebylex": ("6.2.0", "`ZRANGE ... BYLEX`"),
    "zrangebyscore": ("6.2.0", "`ZRANGE ... BYSCORE`"),
    "zrevrange": ("6.2.0", "`ZRANGE ... REV`"),
    "zrevrangebylex": ("6.2.0", "`ZRANGE ... BYLEX REV`"),
    "zrevrangebyscore": ("6.2.0", "`ZRANGE ... BYSCORE REV`"),
}
# Commands for servers talking to servers, not for users (doc flag syscmd).
SYSCMD = {"debug", "pfdebug", "pfselftest", "replconf", "restore-asking"}


def doc_flags(name: str) -> list:
    """The doc_flags, deprecated_since and replaced_by fields of a command's
    COMMAND DOCS entry (empty for most commands)."""
    if name in SYSCMD:
        return [(b"doc_flags", Set([Status("syscmd")]))]
    dep = DEPRECATED.get(name)
    if dep is None:
        return []
    return [(b"doc_flags", Set([Status("deprecated")])),
            (b"deprecated_since", dep[0].encode()), (b"replaced_by", dep[1].encode())]


_TOKENS = re.compile(r"\[|\]|\(|\)|\{|\}|\||[^\s\[\]\(\)\{\}\|]+")
_cache: dict[str, list] = {}


def arguments(name: str) -> list | None:
    """The ``arguments`` reply of command ``name`` (``"client|kill"``), or
    None when it has no documented arguments."""
    syntax = ARGS.get(name)
    if syntax is None:
        return None
    out = _cache.get(name)
    if out is None:
        toks = _TOKENS.findall(syntax)
        out, pos = _parse_seq(toks, 0, ())
        if pos != len(toks):
            raise ValueError(f"bad argument syntax for {name!r} at {toks[pos]!r}")
        _cache[name] = out
    return out


def _parse_seq(toks: list[str], pos: int, stops: tuple) -> tuple[list, int]:
    """Elements until one of ``stops`` (not consumed) or the end."""
    out = []
    while pos < len(toks) and toks[pos] not in stops:
        el, pos = _parse_elem(toks, pos)
        out.append(el)
    return out, pos


def _parse_elem(toks: list[str], pos: int) -> tuple[Map, int]:
    t = toks[pos]
    if t == "[":
        el, pos = _parse_elem(toks, pos + 1)
        if toks[pos] != "]":
            raise ValueError(f"expected ] at {toks[pos]!r}")
        return _with_flag(el, "optional"), pos + 1
    token = None
    if ":" not in t and t not in "()[]{}|" and pos + 1 < len(toks) and (
            ":" in toks[pos + 1] and "=" not in t):
        token, pos = t, pos + 1         # TOKEN before an argument or group
        t = toks[pos]
    if t.endswith(":"):                 # a named oneof / block
        kind = "oneof" if toks[pos + 1] == "(" else "block"
        close = ")" if kind == "oneof" else "}"
        pos += 2
        inner = []
        while toks[pos] != close:
            if toks[pos] == "|":
                pos += 1
                continue
            el, pos = _parse_elem(toks, pos)
            inner.append(el)
        pos += 1
        suffix = ""
        if pos < len(toks) and toks[pos].startswith("..."):
            suffix, pos = toks[pos], pos + 1
        return _build(t[:-1], kind, token, None, suffix, inner), pos
    word, suffix = t, ""
    if word.endswith("...*"):
        word, suffix = word[:-4], "...*"
    elif word.endswith("..."):
        word, suffix = word[:-3], "..."
    if ":" in word:
        name, typ = word.rsplit(":", 1)
        typ, _, idx = typ.partition("#")
        ksi = int(idx) if idx else (0 if typ == "key" else None)
        return _build(name, typ, token, ksi, suffix, None), pos + 1
    name, sep, tok = word.partition("=")     # "equal==": name equal, token =
    if not sep:
        name, tok = word.lower(), word
    return _build(name, "pure-token", tok, None, suffix, None), pos + 1


def _build(name, typ, token, ksi, suffix, inner) -> Map:
    m = Map([(b"name", name.encode()), (b"type", typ.encode())])
    if ksi is not None:
        m.append((b"key_spec_index", ksi))
    if token is not None:
        m.append((b"token", token.encode()))
    flags = []
    if suffix:
        flags.append("multiple")
    if suffix == "...*":
        flags.append("multiple_token")
    if flags:
        m.append((b"flags", Set([Status(f) for f in flags])))
    if inner is not None:
        m.append((b"arguments", inner))
    return m


def _with_flag(m: Map, flag: str) -> Map:
    """``m`` with ``flag`` first among its flags (Redis lists optional first)."""
    items = [kv for kv in m if kv[0] != b"flags"]
    old = next((list(v) for k, v in m if k == b"flags"), [])
    flags = Set([Status(flag)] + old)
    pos = next((i for i, (k, _) in enumerate(items) if k == b"arguments"), len(items))
    items.insert(pos, (b"flags", flags))
    return Map(items)
