"""Pub/Sub against real Redis: subscriber message sequences, counts, RESP2
and RESP3 framing, the subscribed context, introspection, shard channels,
glob patterns, cleanup, output-buffer limits, redis-py's PubSub."""

from __future__ import annotations

import random
import socket

import pytest

from redpoll import glob
from diff import RespConn
from scenario import Scenario
from support import ServerProcess, wait_until


@pytest.fixture
def sc(pair):
    """Three connections (a, b, pub) on each server of the pair."""
    with Scenario(pair.redpoll.port, pair.redis.port, ["a", "b", "pub"]) as s:
        yield s


@pytest.mark.parametrize("proto", [2, 3])
def test_subscribe_unsubscribe_replies(sc, proto):
    if proto == 3:
        sc.setup("a", "HELLO", "3")
    sc.step("a", "SUBSCRIBE", "c1", "c2", "c1")
    sc.step("a", "PSUBSCRIBE", "p*", "q?", "p*")
    sc.step("a", "SSUBSCRIBE", "s1", "s2")
    sc.step("a", "UNSUBSCRIBE", "c2", "nope")
    sc.step("a", "PUNSUBSCRIBE", "q?")
    sc.step("a", "SUNSUBSCRIBE", "s2", "s9")
    sc.step("a", "PING")
    sc.step("a", "PING", "hello")
    sc.step("a", "UNSUBSCRIBE")
    sc.step("a", "UNSUBSCRIBE")           # nothing left: [unsubscribe, nil, n]
    sc.step("a", "PUNSUBSCRIBE")
    sc.step("a", "PUNSUBSCRIBE")
    sc.step("a", "SUNSUBSCRIBE")
    sc.step("a", "SUNSUBSCRIBE")
    sc.step("a", "PING")                   # out of the subscribed context
    sc.step("a", "SUBSCRIBE", "x", "y", "z")
    sc.step("a", "UNSUBSCRIBE", unordered=True)
    sc.step("a", "PSUBSCRIBE", "a*", "b*", "c*")
    sc.step("a", "PUNSUBSCRIBE", unordered=True)


@pytest.mark.parametrize("proto", [2, 3])
def test_publish_delivery_and_receiver_counts(sc, proto):
    if proto == 3:
        sc.setup("b", "HELLO", "3")
    sc.step("a", "SUBSCRIBE", "news.tech", "news.art")
    sc.step("b", "PSUBSCRIBE", "news.*", "*tech")
    sc.step("b", "SUBSCRIBE", "news.tech")
    sc.step("pub", "PUBLISH", "news.tech", "m1", unordered=True)   # a, b: channel + 2 patterns
    sc.step("pub", "PUBLISH", "news.art", "m2", unordered=True)
    sc.step("pub", "PUBLISH", "other", "m3", unordered=True)
    sc.step("pub", "PUBLISH", "hitech", "", unordered=True)
    sc.step("pub", "PUBLISH", "news.\x00bin\xff", "x\r\ny", unordered=True)
    sc.step("pub", "SPUBLISH", "news.tech", "sharded")  # patterns never see it
    sc.step("a", "UNSUBSCRIBE", "news.tech")
    sc.step("pub", "PUBLISH", "news.tech", "m4", unordered=True)
    sc.step("b", "PUNSUBSCRIBE", "news.*")
    sc.step("pub", "PUBLISH", "news.tech", "m5", unordered=True)
    sc.step("pub", "PUBLISH", "", "empty channel: '*' does not match it", unordered=True)


def test_shard_channels(sc):
    sc.step("a", "SSUBSCRIBE", "s1", "s2")
    sc.step("b", "SUBSCRIBE", "s1")
    sc.step("b", "PSUBSCRIBE", "s*")
    sc.step("pub", "SPUBLISH", "s1", "hi")
    sc.step("pub", "PUBLISH", "s1", "plain")
    sc.step("pub", "PUBSUB", "SHARDCHANNELS", sort_reply=True)
    sc.step("pub", "PUBSUB", "SHARDNUMSUB", "s1", "s2", "s3")
    sc.step("pub", "PUBSUB", "SHARDCHANNELS", "s1")
    sc.step("a", "SUBSCRIBE", "c")         # counts are per namespace
    sc.step("a", "SUNSUBSCRIBE", "s1")
    sc.step("a", "UNSUBSCRIBE")
    sc.step("a", "GET", "k")               # still subscribed to s2
    sc.step("a", "SUNSUBSCRIBE")
    sc.step("a", "GET", "k")
    sc.step("a", "MULTI")
    sc.step("a", "SSUBSCRIBE", "s3")
    sc.step("a", "SUBSCRIBE", "c3")
    sc.step("a", "EXEC")                   # SSUBSCRIBE refused inside EXEC
    sc.step("a", "UNSUBSCRIBE")


def test_resp2_subscribed_context(sc):
    sc.step("a", "SUBSCRIBE", "c")
    for cmd in (["GET", "k"], ["SET", "k", "v"], ["PUBLISH", "c", "m"],
                ["CONFIG", "GET", "port"], ["MULTI"], ["CLIENT", "ID"],
                ["PUBSUB", "NUMPAT"], ["SELECT", "1"], ["HELLO"]):
        sc.step("a", *cmd)
    sc.step("a", "PING")
    sc.step("a", "PING", "x")
    sc.step("a", "PING", "x", "y")
    sc.step("a", "NOSUCHCOMMAND")
    sc.step("a", "SUBSCRIBE")
    sc.step("pub", "PUBLISH", "c", "still subscribed")
    sc.step("a", "RESET")                  # leaves the context, no replies
    sc.step("a", "GET", "k")
    sc.step("pub", "PUBLISH", "c", "nobody")
    sc.step("pub", "PUBSUB", "NUMSUB", "c")


def test_resp3_subscriber_runs_any_command(sc):
    sc.setup("a", "HELLO", "3")
    sc.step("a", "SUBSCRIBE", "c")
    sc.step("a", "SET", "k", "v")
    sc.step("a", "GET", "k")
    sc.step("a", "PUBLISH", "c", "to myself")
    sc.step("pub", "PUBLISH", "c", "from pub")
    sc.step("a", "PING")
    sc.step("a", "MULTI")
    sc.step("a", "GET", "k")
    sc.step("a", "EXEC")
    sc.step("pub", "PUBLISH", "c", "after exec")


def test_subscribe_inside_multi(sc):
    sc.step("a", "MULTI")
    sc.step("a", "SUBSCRIBE", "c")
    sc.step("a", "PING")
    sc.step("a", "EXEC")
    sc.step("pub", "PUBLISH", "c", "m")
    sc.step("a", "GET", "k")


def test_pubsub_introspection(sc):
    sc.step("a", "SUBSCRIBE", "foo", "bar", "f[o]o?")
    sc.step("b", "SUBSCRIBE", "foo")
    sc.step("b", "PSUBSCRIBE", "f*", "g*")
    sc.step("a", "PSUBSCRIBE", "f*")
    for args in (["CHANNELS"], ["CHANNELS", "f*"], ["CHANNELS", "f\\[o\\]*"],
                 ["CHANNELS", "nothing*"], ["NUMSUB"], ["NUMSUB", "foo", "bar", "zzz", "foo"],
                 ["NUMPAT"], ["SHARDCHANNELS"], ["SHARDNUMSUB"], ["HELP"],
                 ["CHANNELS", "a", "b"], ["NUMPAT", "x"], ["HELP", "x"], ["NOPE"],
                 ["channels"], ["SHARDCHANNELS", "a", "b"]):
        sc.step("pub", "PUBSUB", *args, sort_reply=args[0].lower() in ("channels", "shardchannels"))
    sc.step("pub", "PUBSUB")
    sc.setup("pub", "HELLO", "3")
    sc.step("pub", "PUBSUB", "NUMSUB", "foo", "bar")   # a flat array in RESP3 too
    sc.step("pub", "PUBSUB", "CHANNELS", "b*", sort_reply=True)


def test_arity_errors(pair):
    pair.check([["SUBSCRIBE"], ["PSUBSCRIBE"], ["SSUBSCRIBE"], ["PUBLISH", "a"],
                ["PUBLISH", "a", "b", "c"], ["SPUBLISH", "a"], ["PUBSUB"],
                ["PUBLISH", "nobody", "listens"], ["SPUBLISH", "nobody", "listens"]])


def test_publish_in_transaction(sc):
    sc.step("a", "SUBSCRIBE", "c")
    sc.step("pub", "MULTI")
    sc.step("pub", "PUBLISH", "c", "1")
    sc.step("pub", "PUBLISH", "c", "2")
    sc.step("pub", "EXEC")


def test_glob_patterns_match_redis(pair):
    """PUBSUB CHANNELS <pattern> and PSUBSCRIBE deliveries for random
    patterns over an alphabet full of glob metacharacters."""
    rnd = random.Random(7)
    alpha = [b"a", b"b", b"]", b"-", b"[", b"^", b"\\", b"*", b"?", b"A", b"z", b"\xff", b"\x80"]
    channels = sorted({b"".join(rnd.choice(alpha) for _ in range(rnd.randint(1, 4)))
                       for _ in range(60)})
    with Scenario(pair.redpoll.port, pair.redis.port, ["sub", "q"]) as sc:
        sc.step("sub", "SUBSCRIBE", *channels)
        for _ in range(250):
            pat = b"".join(rnd.choice(alpha) for _ in range(rnd.randint(0, 6)))
            sc.step("q", "PUBSUB", "CHANNELS", pat, sort_reply=True)
        sc.step("sub", "UNSUBSCRIBE", unordered=True)
        pats = sorted({b"".join(rnd.choice(alpha) for _ in range(rnd.randint(1, 4)))
                       for _ in range(30)})
        sc.step("sub", "PSUBSCRIBE", *pats)
        for ch in channels[:25]:
            sc.step("q", "PUBLISH", ch, "m", unordered=True)


def test_glob_module_cases():
    """redpoll.glob follows stringmatchlen, not fnmatch."""
    m = glob.match
    assert m(b"h?llo", b"hello") and m(b"h*llo", b"heeeello") and m(b"h[ae]llo", b"hallo")
    assert not m(b"h[^e]llo", b"hello") and m(b"h[^e]llo", b"hallo")
    assert m(b"h[a-b]llo", b"hbllo") and m(b"h[b-a]llo", b"hallo")   # reversed range
    assert m(b"h\\*llo", b"h*llo") and not m(b"h\\*llo", b"hello")
    assert not m(b"*", b"") and m(b"", b"") and not m(b"?*", b"")
    assert m(b"a[bc", b"ab") and not m(b"a[", b"a")      # unterminated set
    assert m(b"a\\", b"a\\")                              # trailing backslash
    assert not m(b"[!a]", b"b") and m(b"[!a]", b"!")      # no fnmatch '!'
    assert glob.match(b"Max*", b"maxmemory", nocase=True)
    assert glob.match_nocase(b"[A-Z]x", b"qX")


def test_reset_and_disconnect_cleanup(server):
    r = server.client()
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"SUBSCRIBE c1 c2\r\nPSUBSCRIBE p*\r\nSSUBSCRIBE s\r\n")
    wait_until(lambda: r.pubsub_numsub("c1") == [(b"c1", 1)], what="subscription")
    assert r.pubsub_numpat() == 1
    s.close()
    wait_until(lambda: r.pubsub_numsub("c1", "c2") == [(b"c1", 0), (b"c2", 0)],
               what="cleanup on disconnect")
    assert r.pubsub_numpat() == 0
    assert r.execute_command("PUBSUB", "SHARDCHANNELS") == []
    info = r.info("stats")
    assert (info["pubsub_channels"], info["pubsub_patterns"], info["pubsubshard_channels"]) == (0, 0, 0)
    r.close()


def test_info_stats_counts(pair):
    with Scenario(pair.redpoll.port, pair.redis.port, ["a", "b", "q"]) as sc:
        sc.step("a", "SUBSCRIBE", "x", "y")
        sc.step("b", "SUBSCRIBE", "y", "z")
        sc.step("b", "PSUBSCRIBE", "p*", "p*", "q*")
        sc.step("a", "PSUBSCRIBE", "p*")
        sc.step("a", "SSUBSCRIBE", "s")
        values = []
        for port in (pair.redpoll.port, pair.redis.port):
            c = RespConn(port)
            text = c.call(["INFO", "stats"])[1].decode()
            c.close()
            fields = dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)
            values.append([fields[k] for k in ("pubsub_channels", "pubsub_patterns",
                                               "pubsubshard_channels")])
        assert values[0] == values[1] == ["3", "2", "1"]


def test_client_list_shows_subscriptions(server):
    r = server.client()
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"CLIENT SETNAME subber\r\nSUBSCRIBE a b\r\nPSUBSCRIBE c*\r\n")
    def line():
        for cl in r.client_list():
            if cl.get("name") == "subber" and cl["sub"] == "2":
                return cl
    cl = wait_until(line, what="subscriber in CLIENT LIST")
    assert cl["flags"] == "P" and cl["psub"] == "1"
    assert [c["name"] for c in r.client_list(_type="pubsub")] == ["subber"]
    s.close()
    r.close()


def test_slow_subscriber_hits_pubsub_output_limit():
    """A subscriber that does not read is disconnected by
    client-output-buffer-limit pubsub; publishers are not disturbed."""
    with ServerProcess("redpoll", args=["--client-output-buffer-limit",
                                        "pubsub 256kb 128kb 60"]) as srv:
        r = srv.client()
        slow = socket.create_connection(("127.0.0.1", srv.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"SUBSCRIBE firehose\r\n")
        wait_until(lambda: r.pubsub_numsub("firehose") == [(b"firehose", 1)])
        payload = b"x" * 100_000
        pipe = r.pipeline(transaction=False)

        def flood():
            for _ in range(40):
                pipe.publish("firehose", payload)
            pipe.execute()
            return r.pubsub_numsub("firehose") == [(b"firehose", 0)]
        wait_until(flood, timeout=20, what="slow subscriber disconnected")
        assert r.ping()
        assert "overcoming of output buffer limits" in srv.log_text()
        slow.close()
        r.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_pubsub(server, protocol):
    r = server.client(protocol=protocol)
    p = r.pubsub()
    p.subscribe("chan")
    p.psubscribe("ch*")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    assert p.get_message(timeout=5)["type"] == "psubscribe"
    assert r.publish("chan", "hello") == 2
    msgs = [p.get_message(timeout=5) for _ in range(2)]
    assert [(m["type"], m["channel"], m["data"]) for m in msgs] == [
        ("message", b"chan", b"hello"), ("pmessage", b"chan", b"hello")]
    assert msgs[1]["pattern"] == b"ch*"
    p.unsubscribe()
    p.punsubscribe()
    p.close()
    r.close()


def test_publish_reaches_subscribers_of_replicas():
    """PUBLISH is propagated: a replica delivers it to its own subscribers,
    as Redis does (also from inside a transaction)."""
    with ServerProcess("redpoll") as primary, \
            ServerProcess("redpoll", args=["--replicaof", "127.0.0.1", str(primary.port)]) as replica:
        rp, rr = primary.client(), replica.client()
        wait_until(lambda: rr.info("replication").get("master_link_status") == "up",
                   timeout=30, what="replication link")
        p = rr.pubsub()
        p.subscribe("ch")
        assert p.get_message(timeout=5)["type"] == "subscribe"
        assert rp.publish("ch", "hello") == 0          # no subscriber on the primary
        msg = p.get_message(timeout=10)
        assert (msg["type"], msg["channel"], msg["data"]) == ("message", b"ch", b"hello")
        tx = rp.pipeline(transaction=True)
        tx.set("a", "1")
        tx.publish("ch", "inside exec")
        tx.execute()
        msg = p.get_message(timeout=10)
        assert msg["data"] == b"inside exec"
        assert rr.get("a") == b"1"
        p.close()
        rp.close()
        rr.close()
