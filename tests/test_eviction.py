"""maxmemory and the eviction policies: fill memory past the limit and check
each policy against its definition."""

from __future__ import annotations

import pytest
import redis

from support import ServerProcess, wait_until

OOM = "OOM command not allowed when used memory > 'maxmemory'."
# redis-py drops the "OOM " code from the message of its OutOfMemoryError
OOM_PY = OOM[4:]
LIMIT = 1_100_000          # ~220 KB of data above redpoll's startup memory
VALUE = "x" * 100


@pytest.fixture(scope="module")
def srv():
    with ServerProcess("redpoll", args=["--maxmemory-samples", "10"]) as s:
        yield s


@pytest.fixture
def c(srv):
    cl = srv.client(decode_responses=True)
    cl.config_set("maxmemory", "0")
    cl.config_set("maxmemory-policy", "noeviction")
    cl.flushall()
    cl.config_resetstat()
    yield cl
    cl.config_set("maxmemory", "0")
    cl.config_set("maxmemory-policy", "noeviction")
    cl.config_set("notify-keyspace-events", "")
    cl.close()


def fill(c, prefix: str, n: int, ttl: int | None = None) -> list:
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.set(f"{prefix}:{i}", VALUE, ex=ttl)
    return p.execute(raise_on_error=False)


def used(c) -> int:
    return c.info("memory")["used_memory"]


def under_limit(c, limit: int = LIMIT) -> None:
    """As in Redis, eviction runs before each command (and in the cron), so
    the last write may leave memory just over the limit for a moment."""
    wait_until(lambda: used(c) <= limit, 5, what="used_memory <= maxmemory")


def test_noeviction_refuses_writes_with_redis_error(c):
    c.config_set("maxmemory", LIMIT)
    replies = fill(c, "k", 3000)
    errors = [r for r in replies if isinstance(r, redis.ResponseError)]
    assert errors and isinstance(errors[0], redis.exceptions.OutOfMemoryError)
    assert str(errors[0]) == OOM_PY
    assert c.info("errorstats")["errorstat_OOM"]["count"] == len(errors)
    from diff import RespConn
    conn = RespConn(c.connection_pool.connection_kwargs["port"])
    assert conn.call(["SET", "one-more", VALUE]) == ("-", OOM)
    conn.close()
    assert c.info("stats")["evicted_keys"] == 0
    n = c.dbsize()
    assert 0 < n < 3000
    assert c.get("k:0") == VALUE                  # reads still work
    assert c.delete("k:0") == 1                   # DEL is not denyoom


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_allkeys_policies_stay_under_limit(c, policy):
    c.config_set("maxmemory-policy", policy)
    c.config_set("maxmemory", LIMIT)
    replies = fill(c, "k", 3000)
    assert not [r for r in replies if isinstance(r, Exception)]
    under_limit(c)
    evicted = c.info("stats")["evicted_keys"]
    assert evicted > 0 and c.dbsize() == 3000 - evicted


def test_allkeys_lru_keeps_recently_used_keys(c):
    c.config_set("maxmemory-policy", "allkeys-lru")
    fill(c, "cold", 500)
    fill(c, "hot", 100)
    # let the LRU clock (1 s resolution in OBJECT IDLETIME) move on, then use
    # the hot keys so that the cold ones are the idle ones
    wait_until(lambda: c.object("idletime", "cold:0") >= 1, 5, what="LRU clock")
    for i in range(100):
        c.get(f"hot:{i}")
    c.config_set("maxmemory", LIMIT)
    fill(c, "new", 1000)
    under_limit(c)
    hot_left = sum(c.exists(f"hot:{i}") for i in range(100))
    cold_left = sum(c.exists(f"cold:{i}") for i in range(500))
    evicted = c.info("stats")["evicted_keys"]
    assert evicted > 100
    assert hot_left >= 95, (hot_left, cold_left)
    assert 500 - cold_left >= 0.8 * evicted, (cold_left, evicted)


def test_allkeys_lfu_keeps_frequently_used_keys(c):
    c.config_set("maxmemory-policy", "allkeys-lfu")
    c.config_set("lfu-log-factor", "0")       # every access counts
    try:
        fill(c, "rare", 500)
        fill(c, "freq", 100)
        p = c.pipeline(transaction=False)
        for _ in range(10):
            for i in range(100):
                p.get(f"freq:{i}")
        p.execute()
        assert c.object("freq", "freq:0") > c.object("freq", "rare:0")
        c.config_set("maxmemory", LIMIT)
        fill(c, "new", 600)
        freq_left = sum(c.exists(f"freq:{i}") for i in range(100))
        rare_left = sum(c.exists(f"rare:{i}") for i in range(500))
        under_limit(c)
        assert freq_left >= 95, (freq_left, rare_left)
    finally:
        c.config_set("lfu-log-factor", "10")


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl"])
def test_volatile_policies_only_evict_keys_with_ttl(c, policy):
    c.config_set("maxmemory-policy", policy)
    fill(c, "persistent", 300)
    fill(c, "volatile", 600, ttl=1000)
    c.config_set("maxmemory", LIMIT)
    replies = fill(c, "more", 400, ttl=1000)
    assert not [r for r in replies if isinstance(r, Exception)]
    under_limit(c)
    assert all(c.exists(f"persistent:{i}") for i in range(300))
    assert c.info("stats")["evicted_keys"] > 0
    # once no key with a TTL is left, writes fail with the OOM error
    c.config_set("maxmemory", 900_000)
    replies = fill(c, "persist2", 2000)
    assert any(isinstance(r, redis.ResponseError) and str(r) == OOM_PY for r in replies)
    assert all(c.exists(f"persistent:{i}") for i in range(300))


def test_volatile_ttl_evicts_shortest_ttl_first(c):
    c.config_set("maxmemory-policy", "volatile-ttl")
    fill(c, "short", 400, ttl=100)
    fill(c, "long", 400, ttl=100000)
    c.config_set("maxmemory", LIMIT)
    fill(c, "more", 800)
    short_left = sum(c.exists(f"short:{i}") for i in range(400))
    long_left = sum(c.exists(f"long:{i}") for i in range(400))
    assert c.info("stats")["evicted_keys"] > 0
    assert long_left > short_left
    assert long_left >= 350, (short_left, long_left)


def test_eviction_fires_evicted_notification(c, srv):
    c.config_set("notify-keyspace-events", "Ee")
    sub = srv.client(decode_responses=True)
    ps = sub.pubsub()
    ps.subscribe("__keyevent@0__:evicted")
    wait_until(lambda: ps.get_message(timeout=0.1) is not None, 5, what="subscribe")
    c.config_set("maxmemory-policy", "allkeys-random")
    c.config_set("maxmemory", LIMIT)
    fill(c, "k", 2000)
    evicted = c.info("stats")["evicted_keys"]
    assert evicted > 0
    got = []

    def all_messages():
        m = ps.get_message(timeout=0.2)
        while m is not None:
            if m["type"] == "message":
                got.append(m["data"])
            m = ps.get_message(timeout=0.05)
        return len(got) >= evicted
    wait_until(all_messages, 10, what="evicted events")
    assert all(k.startswith("k:") and not c.exists(k) for k in got)
    ps.close()
    sub.close()


def test_lowering_maxmemory_evicts_at_once(c):
    c.config_set("maxmemory-policy", "allkeys-lru")
    fill(c, "k", 1500)
    before = c.dbsize()
    c.config_set("maxmemory", LIMIT)
    assert c.dbsize() < before
    under_limit(c)


def test_object_freq_and_idletime_errors_follow_policy(c):
    c.set("k", "v")
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is not selected"):
        c.object("freq", "k")
    c.config_set("maxmemory-policy", "allkeys-lfu")
    assert c.object("freq", "k") >= 0
    with pytest.raises(redis.ResponseError, match="An LFU maxmemory policy is selected"):
        c.object("idletime", "k")


def test_used_memory_moves_with_writes(c):
    c.config_set("maxmemory", "100mb")
    a = used(c)
    fill(c, "k", 100)
    b = used(c)
    assert b > a
    c.delete(*[f"k:{i}" for i in range(100)])
    assert used(c) == a
