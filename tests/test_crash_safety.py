"""Crash safety: kill -9 under a steady write load, mid-BGSAVE and mid-rewrite,
and torn AOF tails. Every check restarts a real redpoll process on the files
the killed one left behind."""

from __future__ import annotations

import glob
import os
import threading
import time

import pytest
import redis

from persist_support import ServerProcess, check_rdb, save_and_wait
from support import wait_until

AOF = ["--appendonly", "yes"]


def _children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (the forked saving child)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def _load(port: int, seconds: float, workers: int = 4):
    """Write unique keys from several clients for ``seconds``; return the
    (key, time acknowledged) pairs each client got an OK for. Stops by itself
    (the server is killed while it runs, errors end a worker)."""
    acked: list[list[tuple[str, float]]] = [[] for _ in range(workers)]
    stop = time.monotonic() + seconds

    def work(n: int) -> None:
        c = redis.Redis(port=port, socket_timeout=5)
        i = 0
        try:
            while time.monotonic() < stop:
                key = f"w{n}:{i}"
                c.set(key, i)
                acked[n].append((key, time.monotonic()))
                i += 1
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass
        finally:
            c.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    return threads, acked


def _kill_under_load(policy: str, capsys) -> tuple[int, int, float]:
    with ServerProcess("redpoll", args=AOF + ["--appendfsync", policy]) as rp:
        threads, acked = _load(rp.port, seconds=30)
        wait_until(lambda: sum(len(a) for a in acked) > 2000, 30, what="write load")
        killed_at = time.monotonic()
        rp.kill()
        for t in threads:
            t.join(10)
        rp.start()
        c = rp.client()
        keys = [k for a in acked for k, _ in a]
        present = []
        for i in range(0, len(keys), 1000):
            present += c.mget(keys[i:i + 1000])
        lost = [(k, when) for (k, when), v in zip((x for a in acked for x in a), present)
                if v is None]
        c.close()
        with capsys.disabled():
            print(f"\n[crash-safety] appendfsync {policy}: {len(keys)} writes "
                  f"acknowledged before kill -9, {len(lost)} missing after restart")
        newest_lost_age = max((killed_at - when for _, when in lost), default=0.0)
        return len(keys), len(lost), newest_lost_age


def test_kill9_appendfsync_always_loses_no_acknowledged_write(capsys):
    total, lost, _ = _kill_under_load("always", capsys)
    assert total > 2000
    assert lost == 0


def test_kill9_appendfsync_everysec_loses_at_most_two_seconds(capsys):
    total, lost, oldest = _kill_under_load("everysec", capsys)
    assert total > 2000
    # a process crash leaves written data in the kernel: at most the last
    # ~2 seconds may be missing (in practice nothing is)
    assert oldest <= 2.5


def test_kill9_during_bgsave_keeps_previous_dump():
    with ServerProcess("redpoll") as rp:
        c = rp.client()
        c.set("generation", "1")
        c.save()
        dump = os.path.join(rp.dir, "dump.rdb")
        before = open(dump, "rb").read()
        p = c.pipeline(transaction=False)
        for i in range(300000):
            p.set(f"bulk:{i}", "v" * 30)
        p.execute()
        c.set("generation", "2")
        c.bgsave()
        wait_until(lambda: c.info("persistence")["rdb_bgsave_in_progress"] == 1, 5)
        # kill the whole process group: server and its saving child
        child_pids = _children(rp.proc.pid)
        assert child_pids, "the saving child should be running"
        rp.kill()
        for pid in child_pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        assert open(dump, "rb").read() == before
        check_rdb(dump)
        rp.start()
        c = rp.client()
        assert c.get("generation") == b"1"
        assert c.dbsize() == 1
        c.close()


def test_kill9_during_aof_rewrite_loses_nothing():
    with ServerProcess("redpoll", args=AOF) as rp:
        c = rp.client()
        p = c.pipeline(transaction=False)
        for i in range(200000):
            p.set(f"k{i}", i)
        p.execute()
        c.bgrewriteaof()
        wait_until(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 1, 5)
        c.set("during", "rewrite")
        child_pids = _children(rp.proc.pid)
        assert child_pids, "the saving child should be running"
        rp.kill()
        for pid in child_pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        rp.start()
        c = rp.client()
        assert c.dbsize() == 200001
        assert c.get("during") == b"rewrite"
        c.close()


@pytest.mark.parametrize("cut", [1, 5, 12, 20, 27])
def test_torn_last_command_is_dropped(cut):
    """The incr file cut at any point inside its last command: the command is
    dropped, everything before it is loaded, the file is repaired."""
    with ServerProcess("redpoll", args=AOF) as rp:
        c = rp.client()
        for i in range(10):
            c.set(f"k{i}", i)
        c.set("last", "value-of-last")
        c.close()
        rp.stop()
        [incr] = glob.glob(os.path.join(rp.dir, "appendonlydir", "*.incr.aof"))
        data = open(incr, "rb").read()
        last = b"*3\r\n$3\r\nSET\r\n$4\r\nlast\r\n$13\r\nvalue-of-last\r\n"
        assert data.endswith(last)
        start = len(data) - len(last)
        open(incr, "wb").write(data[:start + cut])
        rp.start()
        c = rp.client()
        assert [c.get(f"k{i}") for i in range(10)] == [str(i).encode() for i in range(10)]
        assert c.get("last") is None
        assert os.path.getsize(incr) == start
        assert "loaded anyway because aof-load-truncated is enabled" in rp.log_text()
        c.close()


def test_crash_after_save_then_more_writes_with_rdb_only():
    """Without AOF, a kill -9 loses the writes since the last save, and only those."""
    with ServerProcess("redpoll", args=["--save", ""]) as rp:
        c = rp.client()
        for i in range(100):
            c.set(f"saved{i}", i)
        save_and_wait(c)
        c.set("unsaved", 1)
        rp.kill()
        rp.start()
        c = rp.client()
        assert c.dbsize() == 100 and c.get("unsaved") is None
        c.close()
