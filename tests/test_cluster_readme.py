"""The README's first command, as a user types it on a fresh checkout.

README.md starts with ``pip install -e . && redpoll cluster up``: the test
takes the part after ``&&`` from the README itself (so the two cannot drift
apart) and runs it with the installed ``redpoll`` console script, no flags,
in an empty working directory (the default ``./redpoll-cluster`` lands
there). The cluster must end healthy (one primary, replicas online, every
sentinel agreeing), answer through the printed redis-cli line, and stop with
``redpoll cluster down``. (That ``pip install`` itself works in a fresh
virtualenv was checked by hand; it needs the package index.)
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO
from test_cluster_cli import kill_leftovers, redis_cli_line, run_cli


def readme_run_command() -> list[str]:
    """The command after ``pip install ... &&`` on the README's first sh line."""
    text = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README.md has no sh block"
    first = block.group(1).splitlines()[0]
    install, _, run = first.partition("&&")
    assert install.split()[:2] == ["pip", "install"], first
    return shlex.split(run.split("#")[0])


def redpoll_script() -> str:
    """The ``redpoll`` console script pip installed next to this interpreter."""
    here = Path(sys.executable).parent / "redpoll"
    found = str(here) if here.exists() else shutil.which("redpoll")
    assert found, "the redpoll console script is not installed (pip install -e .)"
    return found


@pytest.fixture
def workdir(tmp_path):
    yield tmp_path
    d = tmp_path / "redpoll-cluster"
    if (d / "cluster.json").exists():
        subprocess.run([redpoll_script(), "cluster", "down"], cwd=tmp_path,
                       capture_output=True, timeout=120)
    kill_leftovers(d)


def test_readme_first_command_starts_a_healthy_cluster(workdir):
    argv = readme_run_command()
    assert argv == ["redpoll", "cluster", "up"]
    exe = redpoll_script()
    r = subprocess.run([exe] + argv[1:], cwd=workdir, capture_output=True, text=True,
                       timeout=280)
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    out = r.stdout
    d = workdir / "redpoll-cluster"
    assert f"redpoll cluster 'mymaster' is up in {d}" in out
    assert "Next: redpoll cluster status | kill primary | failover | down" in out

    def run(*args: str) -> str:
        res = subprocess.run([exe, "cluster", *args], cwd=workdir, capture_output=True,
                             text=True, timeout=120)
        assert res.returncode == 0, f"redpoll cluster {args}: {res.stdout}\n{res.stderr}"
        return res.stdout

    st = json.loads(run("status", "--json"))
    assert st["dir"] == str(d) and len(st["password"]) == 32
    assert st["primary"] and st["primary"] == st["sentinel_primary"]
    assert [s["role"] for s in st["servers"]] == ["primary", "replica", "replica"]
    assert all(s["link"] == "up" and s["master"] == st["primary"] for s in st["servers"][1:])
    assert len(st["sentinels"]) == 3 and st["quorum"] == 2
    assert all(s["primary"] == st["primary"] and s["replicas_seen"] == 2
               and s["sentinels_seen"] == 2 and not s["odown"] for s in st["sentinels"])
    line = redis_cli_line(out)
    assert line[line.index("-p") + 1] == st["primary"].rsplit(":", 1)[1]
    assert run_cli(line, "set", "readme", "works") == "OK"

    out = run("down")
    assert "stopped: sentinel-1, sentinel-2, sentinel-3" in out
    assert "start it again with: redpoll cluster up\n" in out     # default dir: no --dir
    st = json.loads(run("status", "--json"))
    assert not any(n["running"] for n in st["servers"] + st["sentinels"])
