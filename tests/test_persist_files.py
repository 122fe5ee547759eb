"""Files replaced atomically (persistence/files.py) and AOF manifests whose
file names need quoting, with real processes and Debian's redis-server."""

from __future__ import annotations

import os
import shutil
import stat

import pytest

from persist_support import ServerProcess, check_aof, rewrite_and_wait, start_with_files
from redpoll.persistence.files import replacing

# a file name Redis quotes in the manifest ("a \"b\".aof.1.base.rdb")
QUOTED_ARGS = ["--appendonly", "yes", "--appendfilename", 'a "b".aof']


def test_replacing_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "dump.rdb"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with replacing(str(target), str(tmp_path / "temp-1.rdb")) as f:
            f.write(b"half of the new")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["dump.rdb"]          # temp file removed
    with replacing(str(target), mode="w", encoding="utf-8") as f:
        f.write("new")
    assert target.read_text() == "new"
    assert os.listdir(tmp_path) == ["dump.rdb"]


def test_config_rewrite_keeps_permissions_and_leaves_no_temp_file():
    with ServerProcess("redpoll", config="save \"\"\n") as rp:
        os.chmod(rp.config_path, 0o600)
        c = rp.client()
        c.config_set("maxmemory-policy", "allkeys-lru")
        assert c.execute_command("CONFIG", "REWRITE") in (b"OK", True)
        assert stat.S_IMODE(os.stat(rp.config_path).st_mode) == 0o600
        assert "maxmemory-policy allkeys-lru" in open(rp.config_path).read()
        assert sorted(f for f in os.listdir(rp.dir) if f.startswith("redis.conf")) \
            == ["redis.conf"]
        c.close()


def test_quoted_manifest_names_both_ways(tmp_path):
    """Real Redis's manifest with quoted names loads in redpoll, and
    redpoll's manifest for the same names passes redis-check-aof and loads
    in real Redis."""
    with ServerProcess("redis", args=QUOTED_ARGS) as real:
        rc = real.client()
        rc.set("k", "from redis")
        rc.close()
        real.stop()
        shutil.copytree(os.path.join(real.dir, "appendonlydir"), tmp_path / "real")
    manifest = (tmp_path / "real" / 'a "b".aof.manifest').read_text()
    assert 'file "a \\"b\\".aof.1.base.rdb" seq 1 type b' in manifest
    with start_with_files("redpoll", {"appendonlydir": str(tmp_path / "real")},
                          args=QUOTED_ARGS) as rp:
        c = rp.client()
        assert c.get("k") == b"from redis"
        c.set("k2", "from redpoll")
        rewrite_and_wait(c)
        c.set("k3", "after the rewrite")
        c.close()
        rp.stop()
        shutil.copytree(os.path.join(rp.dir, "appendonlydir"), tmp_path / "mine")
    check_aof(str(tmp_path / "mine" / 'a "b".aof.manifest'))
    with start_with_files("redis", {"appendonlydir": str(tmp_path / "mine")},
                          args=QUOTED_ARGS) as ref:
        c = ref.client()
        assert c.mget("k", "k2", "k3") == [b"from redis", b"from redpoll",
                                           b"after the rewrite"]
        c.close()
