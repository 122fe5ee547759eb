"""Shared fixtures: a redpoll server per module, a real Redis for comparisons."""

from __future__ import annotations

import pytest

from support import ServerProcess, kill_leftovers, require_redis_server
from diff import pair  # noqa: F401  (redpoll/redis pair for differential tests)


@pytest.fixture(scope="module")
def server():
    """A redpoll-server shared by the tests of one module."""
    with ServerProcess("redpoll") as s:
        yield s


@pytest.fixture
def r(server):
    """A redis-py client on the module's redpoll server, database flushed."""
    c = server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture(scope="module")
def real_redis():
    """A real redis-server (Debian's) for differential tests."""
    require_redis_server()
    with ServerProcess("redis") as s:
        yield s


def pytest_sessionfinish(session, exitstatus):
    """No server outlives the run (a test that forgot one is a bug, but it
    must not keep ports and CPU for the rest of CI)."""
    kill_leftovers()
