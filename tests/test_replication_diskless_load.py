"""repl-diskless-load on the replica side, redpoll against Debian's
redis-server 7.0 with the same steps and expectations.

A fake primary (a socket server speaking the handshake) sends a full sync
payload once: a valid RDB made by real Redis, or one cut in the middle.

* ``disabled``: the payload goes to a temp file, renamed to ``dbfilename``
  and loaded from there ("receiving ... to disk"; dump.rdb stays);
* ``swapdb``: parsed from memory ("to parser"), no file; a broken transfer
  keeps the old data;
* ``on-empty-db``: like ``disabled`` while a db holds keys, like the
  in-memory load on an empty dataset.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from support import ServerProcess, require_redis_server, wait_until

MODES = ["disabled", "swapdb", "on-empty-db"]
KINDS = ["redpoll", "redis"]


class FakePrimary:
    """Answers the replica handshake, then sends ``payload`` after
    +FULLRESYNC to the first PSYNC; later connections are closed at once.
    With ``cut`` the connection is closed right after the payload."""

    def __init__(self, payload: bytes, cut: bool):
        self.payload = payload
        self.cut = cut
        self.served = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            if self.served.is_set():
                s.close()
                continue
            self.conns.append(s)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, s: socket.socket):
        buf = b""
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    return
                buf += data
                while b"\r\n" in buf:
                    argv, buf = _parse(buf)
                    if argv is None:
                        break
                    cmd = argv[0].upper()
                    if cmd == b"PSYNC":
                        s.sendall(b"+FULLRESYNC " + b"a" * 40 + b" 0\r\n" + self.payload)
                        if self.cut:
                            s.shutdown(socket.SHUT_RDWR)
                            s.close()
                        self.served.set()
                        return
                    s.sendall(b"+PONG\r\n" if cmd == b"PING" else b"+OK\r\n")
        except OSError:
            pass

    def close(self):
        self.sock.close()
        for s in self.conns:
            try:
                s.close()
            except OSError:
                pass


def _parse(buf: bytes):
    """One RESP multibulk command from ``buf``: (argv, rest) or (None, buf)."""
    if not buf.startswith(b"*"):
        line, _, rest = buf.partition(b"\r\n")
        return line.split(), rest
    try:
        head, rest = buf.split(b"\r\n", 1)
        argv = []
        for _ in range(int(head[1:])):
            h, rest = rest.split(b"\r\n", 1)
            n = int(h[1:])
            if len(rest) < n + 2:
                return None, buf
            argv.append(rest[:n])
            rest = rest[n + 2:]
        return argv, rest
    except ValueError:
        return None, buf


@pytest.fixture(scope="module")
def rdb_image():
    """A valid RDB (one key ``new``) written by real Redis."""
    require_redis_server()
    with ServerProcess("redis") as r:
        c = r.client()
        c.set("new", "x")
        c.save()
        with open(os.path.join(r.dir, "dump.rdb"), "rb") as f:
            return f.read()


def _replica(kind, mode):
    if kind == "redis":
        require_redis_server()
    return ServerProcess(kind, args=["--repl-diskless-load", mode]).start()


def _follow(r, fake: FakePrimary):
    r.client().replicaof("127.0.0.1", fake.port)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("mode", MODES)
def test_broken_transfer_then_full_sync(rdb_image, kind, mode):
    r = _replica(kind, mode)
    broken = good = None
    try:
        c = r.client()
        c.set("old", "1")
        assert c.config_get("repl-diskless-load") == {"repl-diskless-load": mode}
        # the transfer breaks half way: the old data stays, no dump.rdb
        broken = FakePrimary(b"$%d\r\n" % len(rdb_image) + rdb_image[:len(rdb_image) // 2],
                             cut=True)
        _follow(r, broken)
        assert broken.served.wait(20)
        where = "parser" if mode == "swapdb" else "disk"    # the db holds "old"
        wait_until(lambda: f"bytes from master to {where}" in r.log_text()
                   and c.info("replication")["master_sync_in_progress"] == 0, 20,
                   what="transfer started and given up")
        assert c.keys() == [b"old"]
        assert c.info("replication")["master_link_status"] == "down"
        assert "dump.rdb" not in os.listdir(r.dir)
        # a complete payload replaces the data
        good = FakePrimary(b"$%d\r\n" % len(rdb_image) + rdb_image, cut=False)
        _follow(r, good)
        wait_until(lambda: c.keys() == [b"new"], 20, what="payload loaded")
        assert c.info("replication")["master_link_status"] == "up"
        assert ("dump.rdb" in os.listdir(r.dir)) == (where == "disk")
        if mode == "swapdb":
            assert "Swapping active DB with loaded DB" in r.log_text()
    finally:
        for f in (broken, good):
            if f is not None:
                f.close()
        r.cleanup()


@pytest.mark.parametrize("kind", KINDS)
def test_on_empty_db_loads_an_empty_dataset_from_memory(rdb_image, kind):
    r = _replica(kind, "on-empty-db")
    fake = FakePrimary(b"$EOF:" + b"m" * 40 + b"\r\n" + rdb_image + b"m" * 40, cut=False)
    try:
        c = r.client()
        _follow(r, fake)
        wait_until(lambda: c.keys() == [b"new"], 20, what="payload loaded")
        assert "streamed RDB from master with EOF to parser" in r.log_text()
        assert "dump.rdb" not in os.listdir(r.dir)
    finally:
        fake.close()
        r.cleanup()


@pytest.mark.parametrize("kind", KINDS)
def test_disabled_writes_the_eof_payload_to_dbfilename(rdb_image, kind):
    r = _replica(kind, "disabled")
    fake = FakePrimary(b"$EOF:" + b"m" * 40 + b"\r\n" + rdb_image + b"m" * 40, cut=False)
    try:
        c = r.client()
        c.set("old", "1")
        _follow(r, fake)
        wait_until(lambda: c.keys() == [b"new"], 20, what="payload loaded")
        assert "streamed RDB from master with EOF to disk" in r.log_text()
        with open(os.path.join(r.dir, "dump.rdb"), "rb") as f:
            assert f.read() == rdb_image
        assert not [n for n in os.listdir(r.dir) if n.startswith("temp-")]
    finally:
        fake.close()
        r.cleanup()
