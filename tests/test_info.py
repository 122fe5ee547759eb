"""INFO: Redis 7.0's sections and field names, compared with a real Redis."""

from __future__ import annotations

import os

import pytest

from diff import start_pair


@pytest.fixture(scope="module")
def info_pair():
    p = start_pair()
    yield p
    p.cleanup()


def _sections(text: bytes) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    cur = None
    for line in text.decode().split("\r\n"):
        if line.startswith("# "):
            cur = line[2:]
            out[cur] = []
        elif line and cur is not None:
            out[cur].append(line.split(":", 1)[0])
    return out


def _info(pair, *args) -> tuple[dict, dict]:
    mine, ref = pair.both(["INFO", *args])
    assert mine[0] == ref[0] == "$"
    return _sections(mine[1]), _sections(ref[1])


# Fields redpoll adds on purpose.
EXTRA = {"Server": {"redpoll_version", "python_version"}}
# Sections whose lines depend on what ran (one line per command / error).
DYNAMIC = {"Commandstats", "Errorstats", "Latencystats", "Keyspace"}


@pytest.mark.parametrize("args", [(), ("default",), ("all",), ("everything",)])
def test_sections_and_fields_match_redis(info_pair, args):
    info_pair.both(["SET", "k", "v"])
    info_pair.both(["GET", "k"])
    mine, ref = _info(info_pair, *args)
    assert list(mine) == list(ref)
    for name, fields in ref.items():
        if name in DYNAMIC:
            continue
        got = [f for f in mine[name] if f not in EXTRA.get(name, set())]
        assert got == fields, f"section {name}"


@pytest.mark.parametrize("args", [("server",), ("keyspace", "server"), ("CPU",),
                                  ("default", "commandstats"), ("nosuch",),
                                  ("memory", "stats", "clients")])
def test_section_selection_matches_redis(info_pair, args):
    mine, ref = _info(info_pair, *args)
    assert list(mine) == list(ref)


def test_commandstats_errorstats_keyspace_lines(info_pair):
    for port_pair in (info_pair,):
        port_pair.both(["CONFIG", "RESETSTAT"])
        port_pair.both(["FLUSHALL"])
        port_pair.both(["SET", "a", "1"])
        port_pair.both(["SET", "b", "2", "EX", "100"])
        port_pair.both(["GET", "a"])
        port_pair.both(["NOSUCHCOMMAND"])
        port_pair.both(["INCR", "a", "x"])
        port_pair.both(["CONFIG", "GET", "maxmemory"])
    mine, ref = (r[1].decode() for r in info_pair.both(
        ["INFO", "commandstats", "errorstats", "keyspace"]))

    def strip(text):
        out = set()
        for line in text.split("\r\n"):
            if line.startswith("cmdstat_"):
                name, rest = line.split(":", 1)
                fields = dict(kv.split("=") for kv in rest.split(","))
                out.add((name, fields["calls"], fields["rejected_calls"],
                         fields["failed_calls"]))
            elif line.startswith(("errorstat_", "db")):
                out.add(line.split(",avg_ttl=")[0])
        return out
    assert strip(mine) == strip(ref)


def test_server_section_values(server):
    c = server.client()
    s = c.info("server")
    assert s["redis_version"] == "7.0.15"
    assert s["redis_mode"] == "standalone"
    assert s["arch_bits"] == 64
    assert s["tcp_port"] == server.port
    assert len(s["run_id"]) == 40
    assert s["uptime_in_seconds"] >= 0
    assert s["process_id"] == server.proc.pid
    assert os.path.isabs(s["executable"])
    assert "redpoll_version" in s
    m = c.info("memory")
    assert m["used_memory"] >= m["used_memory_startup"] > 0
    assert m["maxmemory_policy"] == "noeviction"
    c.close()


def test_config_file_field(tmp_path):
    from support import ServerProcess
    with ServerProcess("redpoll", config="hz 11\n") as srv:
        c = srv.client()
        assert c.info("server")["config_file"] == srv.config_path
        c.close()


def test_stats_counters(server):
    c = server.client()
    c.config_resetstat()
    c.set("x", "1")
    c.get("x")
    c.get("missing")
    st = c.info("stats")
    assert st["keyspace_hits"] == 1 and st["keyspace_misses"] == 1
    assert st["total_commands_processed"] >= 3
    c.close()
