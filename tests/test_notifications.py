"""Keyspace notifications against real Redis: the event streams of string
and generic commands for each notify-keyspace-events class, expired events
from lazy and active expiry, new (n) and keymiss (m) events, RESP3 pushes,
CONFIG GET formatting and the config file."""

from __future__ import annotations

import time

import pytest

from scenario import Scenario
from support import ServerProcess, wait_until


def _events(pair, flags: str):
    """A scenario with a subscriber to every keyspace/keyevent channel and a
    writer 'w', both servers flushed and set to ``flags``."""
    pair.check([["FLUSHALL"], ["CONFIG", "SET", "notify-keyspace-events", flags]])
    sc = Scenario(pair.redpoll.port, pair.redis.port, ["sub", "w"])
    sc.step("sub", "PSUBSCRIBE", "__key*__:*")
    return sc


@pytest.fixture(autouse=True)
def _notifications_off(pair):
    yield
    pair.check([["CONFIG", "SET", "notify-keyspace-events", ""]])


STRING_AND_GENERIC = [
    ["SET", "a", "1"], ["SET", "a", "2", "EX", "100"], ["SET", "a", "3", "KEEPTTL"],
    ["SET", "a", "4", "NX"], ["SET", "b", "x", "XX"], ["SET", "a", "5", "GET"],
    ["SETNX", "b", "1"], ["SETEX", "c", "10", "v"], ["PSETEX", "d", "10000", "v"],
    ["MSET", "e", "1", "f", "2"], ["MSETNX", "g", "1", "e", "1"], ["GETSET", "g", "3"],
    ["INCR", "n"], ["INCRBY", "n", "5"], ["DECR", "n"], ["DECRBY", "n", "2"],
    ["INCRBYFLOAT", "n", "1.5"], ["APPEND", "s", "abc"], ["SETRANGE", "s", "5", "x"],
    ["GETRANGE", "s", "0", "-1"], ["GETDEL", "s"], ["GETDEL", "s"],
    ["GETEX", "a", "EX", "50"], ["GETEX", "a", "PERSIST"], ["GETEX", "nope", "EX", "5"],
    ["SETBIT", "bits", "7", "1"], ["BITOP", "OR", "dest", "bits", "a"],
    ["EXPIRE", "a", "100"], ["PEXPIRE", "a", "100000"], ["EXPIREAT", "a", "9999999999"],
    ["EXPIRE", "a", "100", "XX"], ["EXPIRE", "nope", "10"], ["PERSIST", "a"],
    ["PERSIST", "a"], ["TTL", "a"], ["RENAME", "a", "a2"], ["RENAMENX", "a2", "b"],
    ["RENAMENX", "a2", "a3"], ["COPY", "a3", "copied"], ["MOVE", "copied", "1"],
    ["TOUCH", "a3"], ["DEL", "a3", "b", "nope"], ["UNLINK", "c"], ["EXPIRE", "d", "0"],
    ["SET", "e", "v", "PX", "1"], ["FLUSHDB"], ["SET", "z", "1"], ["FLUSHALL"],
]


@pytest.mark.parametrize("flags", ["KEA", "E$", "Kg", "KEAn", "Kn", "KE$g"])
def test_string_and_generic_event_streams(pair, flags):
    with _events(pair, flags) as sc:
        for cmd in STRING_AND_GENERIC:
            sc.step("w", *cmd)


@pytest.mark.parametrize("proto", [2, 3])
def test_keymiss_events(pair, proto):
    with _events(pair, "KEm") as sc:
        if proto == 3:
            sc.setup("w", "HELLO", "3")
        for cmd in (["GET", "nope"], ["SET", "k", "v"], ["GET", "k"], ["MGET", "k", "x", "y"],
                    ["STRLEN", "q"], ["GETRANGE", "q", "0", "1"], ["EXISTS", "q"],
                    ["TYPE", "q"], ["TTL", "q"], ["INCR", "counter"], ["APPEND", "q", "x"]):
            sc.step("w", *cmd)


def test_expired_events_lazy_and_active(pair):
    with _events(pair, "KEx") as sc:
        sc.step("w", "SET", "lazy", "1", "PX", "20")
        sc.step("w", "SET", "active", "1", "PX", "20")
        sc.step("w", "SET", "keep", "1")
        clients = [pair.redpoll.client(), pair.redis.client()]
        # active expiry deletes 'active' (and 'lazy', unless a read gets it first)
        for c in clients:
            wait_until(lambda: c.dbsize() == 1, what="active expiry")
            c.close()
        sc.step("w", "GET", "lazy", unordered=True)   # active expiry samples at random


def _let_time_pass(seconds: float) -> None:
    """Wait for a TTL to run out (there is no server state to poll without
    triggering the lazy expiry under test)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.005)


def test_lazy_expiry_event_order(pair):
    """A command that finds an expired key fires 'expired' first, then its
    own events (INCR recreates the key: new, incrby)."""
    for c in (pair.redpoll.client(), pair.redis.client()):
        c.config_set("hz", 1)       # keep the active cycle out of the way
        c.close()
    try:
        with _events(pair, "KEAn") as sc:
            sc.step("w", "SET", "k", "1", "PX", "10")
            _let_time_pass(0.05)
            sc.step("w", "INCR", "k")
            sc.step("w", "SET", "j", "1", "PX", "10")
            _let_time_pass(0.05)
            sc.step("w", "EXISTS", "j")
    finally:
        pair.check([["CONFIG", "SET", "hz", "10"]])


def test_resp3_client_gets_its_own_notifications_as_push(pair):
    pair.check([["CONFIG", "SET", "notify-keyspace-events", "KE$"]])
    with Scenario(pair.redpoll.port, pair.redis.port, ["me"]) as sc:
        sc.setup("me", "HELLO", "3")
        sc.step("me", "SUBSCRIBE", "__keyspace@0__:k", "__keyevent@0__:set")
        sc.step("me", "SET", "k", "v")
        sc.step("me", "SET", "other", "v")
        sc.step("me", "GET", "k")


def test_notifications_in_other_db(pair):
    with _events(pair, "KEA") as sc:
        sc.step("w", "SELECT", "3")
        sc.step("w", "SET", "k", "v")
        sc.step("w", "DEL", "k")


@pytest.mark.parametrize("value", ["", "K", "E", "g$", "AKE", "AnKE", "Kgm", "KA", "Ex",
                                   "Kg$lshzxetd", "mn", "ndtexzhsl$gmEK", "dt", "AmE",
                                   "nd", "te", "nE", "ExEx", "A"])
def test_config_get_canonical_format(pair, value):
    pair.check([["CONFIG", "SET", "notify-keyspace-events", value],
                ["CONFIG", "GET", "notify-keyspace-events"]])


def test_config_set_invalid_class(pair):
    pair.check([["CONFIG", "SET", "notify-keyspace-events", "KEQ"],
                ["CONFIG", "SET", "notify-keyspace-events", "K E"],
                ["CONFIG", "GET", "notify-keyspace-events"]])


def test_notify_from_config_file():
    conf = "notify-keyspace-events KEx$\n"
    with ServerProcess("redpoll", config=conf) as srv:
        r = srv.client()
        assert r.config_get("notify-keyspace-events") == {"notify-keyspace-events": "$xKE"}
        p = r.pubsub()
        p.psubscribe("__keyevent@0__:*")
        assert p.get_message(timeout=5)["type"] == "psubscribe"
        r.set("k", "v", px=1)
        msg = p.get_message(timeout=5)
        assert (msg["channel"], msg["data"]) == (b"__keyevent@0__:set", b"k")
        msg = p.get_message(timeout=5)
        assert (msg["channel"], msg["data"]) == (b"__keyevent@0__:expired", b"k")
        p.close()
        r.close()
