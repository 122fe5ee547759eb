"""The wire protocol: multibulk and inline requests, pipelining, Redis's
protocol errors and limits, compared byte for byte with a real Redis.

Most cases send raw bytes, half-close the socket and read until the server
closes: the bytes received and whether the server closed *before* our EOF
(a protocol error) must be identical on both servers.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import time

import pytest
import redis
from hypothesis import given, settings, strategies as st

from diff import start_pair
from support import ServerProcess, wait_until
from redpoll.errors import ProtocolError
from redpoll.protocol.request import RequestReader, split_args


def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data``, half-close, return everything until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:          # already closed by the server
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out


def closes_early(port: int, data: bytes, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send ``data`` and keep the socket open: (reply, closed by the server)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return out, True
                out += chunk
        except ConnectionResetError:
            return out, True
        except socket.timeout:
            return out, False


@pytest.fixture(scope="module")
def pr():
    with start_pair() as p:
        yield p


CASES = [
    b"*x\r\n", b"*-5\r\nPING\r\n", b"*3000000000\r\n", b"*1\r\n+PING\r\n",
    b"*1\r\n$x\r\n", b"*1\r\n$-1\r\n", b"*1\r\n$600000000\r\n",
    b"*2\r\n$4\r\nPING\r\n:1\r\n", b"SET a \"b\r\n", b"SET a \"b\"c\r\n", b"SET a 'b'c\r\n",
    b"echo \"\\x41\\x4g\\n\"\r\n", b"echo 'a\\'b'\r\n", b"echo 'a\\nb'\r\n",
    b"*0\r\nPING\r\n", b"*-1\r\nPING\r\n", b"\r\n\r\nPING\r\n", b"PING\nPING\n",
    b"*1\r\n$4\r\nPINGxx\r\n", b"*+1\r\n$4\r\nPING\r\n", b"*01\r\n$4\r\nPING\r\n",
    b"*1\r\n$04\r\nPING\r\n", b"*1\r\n$+4\r\nPING\r\n", b"*1 \r\n$4\r\nPING\r\n",
    b"*1\r\n$4 \r\nPING\r\n", b"*1\n$4\r\nPING\r\n", b"*1\r\n$4\nPING\r\n",
    b"*1\r$4\r\nPING\r\n", b"ECHO \"a\"\"b\"\r\n", b"ECHO \"\r\n", b"PING\r\r\n",
    b"   PING   \r\n", b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", b"*1\r\n$536870913\r\n",
    b"*" + b"1" * 70000, b"*1\r\n$" + b"1" * 70000, b"A" * 70000,
    b"*1\r\n$4\r\nPING\r\n*x\r\n", b"*2147483648\r\n", b"*1\r\n$-0\r\n\r\n",
    b"*-0\r\nPING\r\n", b"ECHO \"\\\"\"\r\n", b"ECHO \"a\\\"\r\n", b"ECHO \"\"\r\n",
    b"ECHO \"\" a\r\n", b"ECHO 'a''b'\r\n", b"ECHO a'b'\r\n", b"ECHO a\"b\"c\r\n",
    b"PING\r\nQUIT\r\nPING\r\n", b"ECHO \"\\xzz\"\r\n", b"ECHO a\x0bb\r\n",
    b"*1\r\n*1\r\n$1\r\nx\r\n", b"*2\r\n$4\r\nECHO\r\n=5\r\ntxt:a\r\n",
    b"*2\r\n$4\r\nECHO\r\n(123\r\n", b"*1\r\n$4\r\nPING\r\n+OK\r\n",
    b"*1\r\n$4\r\nPING\r\n$4\r\nPING\r\n", b"*2\r\n$4\r\nECHO\r\n$3\r\na\x00b\r\n",
    b"ECHO a\x00b\r\nPING\r\n", b"*1\x00\r\n", b"NOSUCH a b\r\n",
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nGET k\r\n",
    b"*2\r\n$1\r\nx\r\n*2147483647\r\n", b"PING\r\n*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$600000000\r\nab",
    b"*1\r\n$4\r\nPING\r\n" * 3 + b"*1\r\n|1\r\n+a\r\n+b\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nECHO\r\n$3\r\n\n+a\r\n*2\r\n$4\r\nECHO\r\n$8\r\n*1234567\r\n",
    # RESP3 aggregates hiredis would return as a list: inline commands for Redis
    b"*1\r\n$4\r\nPING\r\n~1\r\n$4\r\nPING\r\n", b"*1\r\n$4\r\nPING\r\n>1\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPING\r\n%1\r\n$4\r\nPING\r\n$1\r\nx\r\n", b"*1\r\n$4\r\nPING\r\n*0\r\n",
    # whole inline reads (RequestReader.take's inline shortcut) and near misses
    b"PING\r\n\r\nECHO a\rb\r\n  ECHO\tc  \r\n\n", b"SET k v\r\nGET k\r\nDEL k\r\n",
    b"ECHO *\r\nPING\r\n", b"PING\r\n*1\r\n$4\r\nPING\r\n", b"ECHO a\x00b\r\nECHO 'x y'\r\n",
    b"ECHO a\x0cb\r\n", b"PING\r\nECHO unfinished",
]


@pytest.mark.parametrize("data", CASES, ids=lambda d: repr(d[:24]))
def test_protocol_matches_redis(pr, data):
    assert exchange(pr.redpoll.port, data) == exchange(pr.redis.port, data)


@pytest.mark.parametrize("data", [b"*x\r\n", b"SET a \"b\r\n", b"*1\r\n+PING\r\n",
                                  b"*1\r\n$4\r\nPING\r\n*x\r\n"])
def test_protocol_error_closes_connection(pr, data):
    for port in (pr.redpoll.port, pr.redis.port):
        reply, closed = closes_early(port, data)
        assert closed and reply.endswith(b"\r\n") and b"-ERR Protocol error" in reply


def test_incomplete_requests_wait(pr):
    """Huge declared lengths (within the limits) just wait for more data."""
    for data in (b"*1048577\r\n", b"*2147483647\r\n", b"*1\r\n$536870912\r\n",
                 b"*1\r\n$4\r\nPI"):
        for port in (pr.redpoll.port, pr.redis.port):
            assert closes_early(port, data, timeout=0.3) == (b"", False)


def test_huge_declared_lengths_allocate_nothing(server):
    """Many connections declaring the maximum sizes: no memory blow-up."""
    socks = []
    try:
        for i in range(40):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"*2147483647\r\n$536870912\r\n" if i % 2 else
                      b"*2\r\n$3\r\nGET\r\n$536870912\r\nabc")
            socks.append(s)
        c = server.client()
        assert c.ping()
        rss_kb = int(open(f"/proc/{server.proc.pid}/status").read()
                     .split("VmRSS:")[1].split()[0])
        assert rss_kb < 300 * 1024
    finally:
        for s in socks:
            s.close()


def test_pipelining_and_inline(server):
    n = 2000
    data = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n" % (len(b"k%d" % i), i)
                    for i in range(n)) + b"DBSIZE\r\nGET k7\r\n" + b"PING\r\n" * 100
    out = exchange(server.port, b"FLUSHALL\r\n" + data)
    assert out == b"+OK\r\n" + b"+OK\r\n" * n + b":%d\r\n" % n + b"$1\r\nv\r\n" + b"+PONG\r\n" * 100


def test_resp3_after_hello(server):
    out = exchange(server.port, b"GET nokey\r\nHELLO 3\r\nGET nokey\r\nHELLO 2\r\nGET nokey\r\n")
    assert out.startswith(b"$-1\r\n%7\r\n") and out.endswith(b"$-1\r\n")
    assert b"\r\n_\r\n*14\r\n" in out and b":3\r\n" in out


def test_unauthenticated_limits_match_redis():
    p = start_pair(["--requirepass", "sekret"])
    try:
        for data in (b"*11\r\n", b"*10\r\n$4\r\nPING\r\n", b"*2\r\n$16385\r\n",
                     b"*2\r\n$4\r\nECHO\r\n$16384\r\n" + b"x" * 16384 + b"\r\n",
                     b"AUTH sekret\r\n*11\r\n" + b"$1\r\nx\r\n" * 11,
                     b"AUTH sekret\r\n*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"x" * 20000 + b"\r\n",
                     b"PING\r\nNOSUCH\r\nECHO\r\nAUTH\r\nAUTH a b c\r\n"):
            assert exchange(p.redpoll.port, data) == exchange(p.redis.port, data)
    finally:
        p.cleanup()


def test_proto_max_bulk_len(pr):
    for srv in (pr.redpoll, pr.redis):
        c = srv.client()
        c.config_set("proto-max-bulk-len", "1mb")
        try:
            big = b"x" * (1024 * 1024)
            ok = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n%b\r\n" % (len(big), big)
            assert exchange(srv.port, ok) == b"+OK\r\n"
            bad = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n"
            assert exchange(srv.port, bad) == b"-ERR Protocol error: invalid bulk length\r\n"
        finally:
            c.config_set("proto-max-bulk-len", "512mb")
            c.close()


def test_query_buffer_limit_closes_without_reply(pr):
    for srv in (pr.redpoll, pr.redis):
        c = srv.client()
        c.config_set("client-query-buffer-limit", "1mb")
        try:
            data = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n" + b"a" * 1500000
            reply, closed = closes_early(srv.port, data)
            assert (reply, closed) == (b"", True)
            assert c.ping()
        finally:
            c.config_set("client-query-buffer-limit", "1gb")
            c.close()
    wait_until(lambda: "Closing client that reached max query buffer length" in
               pr.redpoll.log_text(), 5, what="the query buffer log line")
    line = [l for l in pr.redpoll.log_text().splitlines() if "max query buffer" in l][0]
    assert "(qbuf initial bytes: \"" in line and "aaaa" in line and " # " in line


def test_maxclients():
    p = start_pair(["--maxclients", "3"])
    try:
        for srv in (p.redpoll, p.redis):
            # the pair already holds one connection to each server
            held = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(2)]
            for h in held:
                h.sendall(b"PING\r\n")
                assert h.recv(100) == b"+PONG\r\n"
            # the refusal comes unasked, right after accept
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
                reply = b""
                try:
                    while chunk := s.recv(100):
                        reply += chunk
                except ConnectionResetError:
                    pass
            assert reply == b"-ERR max number of clients reached\r\n"
            held.pop().close()
            wait_until(lambda: exchange(srv.port, b"PING\r\n") == b"+PONG\r\n", 5)
            for h in held:
                h.close()
    finally:
        p.cleanup()


def test_idle_timeout_closes_client():
    with ServerProcess("redpoll", args=["--timeout", "1"]) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
        t0 = time.monotonic()
        assert s.recv(100) == b""          # closed by the server
        assert 0.9 < time.monotonic() - t0 < 5
        s.close()
        # a subscribed client is never timed out
        sub = srv.client(socket_timeout=10).pubsub()
        sub.subscribe("ch")
        sub.get_message(timeout=1)
        time.sleep(2.2)   # two timeout periods: the subscriber must survive them
        assert srv.client().publish("ch", "m") == 1


def test_tcp_keepalive_is_set():
    with ServerProcess("redpoll", args=["--tcp-keepalive", "77"]) as srv:
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
        out = subprocess.run(["ss", "-tnoH", "state", "established",
                              f"( sport = :{srv.port} )"], capture_output=True,
                             text=True).stdout
        assert "timer:(keepalive" in out, out
        s.close()


# -- the reader itself, with arbitrary chunking --------------------------------

def _drain_one_at_a_time(r, out):
    while (a := r.get()) is not None:
        out.append(a)


def _drain_in_batches(r, out):
    """The way Client.process_input reads: get_all() for a batch, get()
    while the Python parser runs, stop when ``more`` is False."""
    while True:
        batch = r.get_all()
        if batch is None:
            a = r.get()
            if a is None:
                return
            out.append(a)
            continue
        if not batch:
            return
        out.extend(batch)
        if not r.more:
            return


def _drain_taken(r, out, chunk):
    """The way Client.data_received reads: take() a read, then as above."""
    batch = r.take(chunk)
    if batch is None:
        a = r.get()
        if a is None:
            return
        out.append(a)
    elif not batch:
        return
    else:
        out.extend(batch)
        if not r.more:
            return
    _drain_in_batches(r, out)


def _parse_all(data: bytes, sizes, strict=False, drain=_drain_one_at_a_time):
    r = RequestReader(strict=strict)
    out = []
    i = 0

    def read(chunk):
        if drain is _drain_taken:
            _drain_taken(r, out, chunk)
        else:
            r.feed(chunk)
            drain(r, out)
    try:
        for n in sizes:
            if i >= len(data):
                break
            read(data[i:i + n])
            i += n
        if i < len(data):
            read(data[i:])
    except ProtocolError as e:
        out.append(("error", e.args[0]))
    return out


# a stream of requests (good and bad) and the sizes of the reads it arrives in
_REQUESTS = st.lists(st.sampled_from(CASES[:60] + [
    b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", b"PING\r\n", b"*0\r\n",
    b"*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n"]), min_size=1, max_size=6)
_CHUNK_SIZES = st.lists(st.integers(1, 40), min_size=1, max_size=50)


@settings(max_examples=150, deadline=None)
@given(_REQUESTS, _CHUNK_SIZES)
def test_reader_chunking_does_not_matter(parts, sizes):
    data = b"".join(parts)
    assert _parse_all(data, sizes) == _parse_all(data, [len(data)])


@settings(max_examples=150, deadline=None)
@given(_REQUESTS, _CHUNK_SIZES)
def test_reader_batches_match_one_at_a_time(parts, sizes):
    data = b"".join(parts)
    assert _parse_all(data, sizes, drain=_drain_in_batches) == _parse_all(data, [len(data)])


@settings(max_examples=150, deadline=None)
@given(_REQUESTS, _CHUNK_SIZES)
def test_reader_take_matches_one_at_a_time(parts, sizes):
    data = b"".join(parts)
    assert _parse_all(data, sizes, drain=_drain_taken) == _parse_all(data, [len(data)])


def test_split_args():
    assert split_args(b'a "b c" \'d e\' "\\x41\\n" f') == [b"a", b"b c", b"d e", b"A\n", b"f"]
    assert split_args(b'"a"b') is None and split_args(b"'a") is None
    assert split_args(b"   ") == []


# -- garbage ---------------------------------------------------------------------

def test_garbage_does_not_hurt(server):
    rnd = random.Random(20261122)
    keeper = server.client()
    keeper.set("survivor", "yes")
    templates = [b"*", b"$", b"\r\n", b"\n", b"\r", b"\x00", b"-1", b"999999999999",
                 b"PING", b"\"", b"'", b"\\x", b"+OK", b":1", b"*2\r\n$3\r\nGET\r\n",
                 b"%1\r\n", b"|1\r\n", b"HELLO 3\r\n", b"AUTH x\r\n", b"SUBSCRIBE c\r\n"]
    deadline = time.monotonic() + 20
    for i in range(150):
        if time.monotonic() > deadline:
            break
        if i % 3 == 0:
            data = os.urandom(rnd.randint(1, 3000))
        else:
            data = b"".join(rnd.choice(templates) for _ in range(rnd.randint(1, 40)))
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                while s.recv(65536):
                    pass
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
        assert server.proc.poll() is None, server.log_text()[-2000:]
    # then many garbage connections open at the same time
    socks = []
    try:
        for i in range(60):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=2)
            s.sendall(os.urandom(rnd.randint(1, 2000)) if i % 2 else
                      b"".join(rnd.choice(templates) for _ in range(30)))
            socks.append(s)
        assert keeper.get("survivor") == b"yes"
    finally:
        for s in socks:
            s.close()
    assert keeper.get("survivor") == b"yes"
    other = redis.Redis(port=server.port, protocol=3)
    assert other.ping() and other.get("survivor") == b"yes"
    assert "Traceback" not in server.log_text()
