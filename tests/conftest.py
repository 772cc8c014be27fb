"""Fixtures shared by every test: scaled time, a private Redis database, Chromium's path.

Tests run against the machine's real Redis (own database and key prefix, flushed after)
and real Chromium. Human delays are scaled by FLEET_TIME_SCALE so no test sleeps seconds.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from redis import Redis

from workers.browser import CHROMIUM_ARGS

os.environ.setdefault("FLEET_TIME_SCALE", "0.01")
os.environ.setdefault("FLEET_LOG_LEVEL", "WARNING")


def _worker_redis_url(base: str, worker: str) -> str:
    """The Redis URL for one pytest-xdist worker: `gwN` gets the base database + N, so
    parallel workers never flush each other's keys."""
    if not worker.startswith("gw"):
        return base
    url = urlsplit(base)
    base_db = url.path.lstrip("/") or "0"
    if url.scheme not in ("redis", "rediss") or url.query or not base_db.isdigit():
        raise RuntimeError(f"FLEET_TEST_REDIS_URL must look like redis://host:port/db: {base}")
    database = int(base_db) + int(worker[2:])
    if database > 15:
        raise RuntimeError(f"too many test workers for Redis databases from {base}: {worker}")
    return url._replace(path=f"/{database}").geturl()


TEST_REDIS_URL = _worker_redis_url(
    os.environ.get("FLEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/13"),
    os.environ.get("PYTEST_XDIST_WORKER", ""),
)
TEST_KEY_PREFIX = "fleettest:"
CHROMIUM = os.environ.get("FLEET_CHROMIUM_PATH", "/usr/bin/chromium")


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def redis_url() -> Iterator[str]:
    """URL of the tests' own Redis database, emptied before and after each test."""
    conn = Redis.from_url(TEST_REDIS_URL)
    conn.flushdb()
    yield TEST_REDIS_URL
    conn.flushdb()
    conn.close()


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    conn = Redis.from_url(redis_url)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict:
    """pytest-playwright launches Debian's Chromium, never a downloaded build."""
    return {"executable_path": CHROMIUM, "args": list(CHROMIUM_ARGS), "headless": True}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long tests first: `--dist load` hands out tests round robin, so the long
    ones spread over the workers instead of one finishing the run alone."""
    long_marks = ("chaos", "e2e")
    items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in long_marks))


pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.control_plane"]
