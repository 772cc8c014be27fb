"""Fixtures shared by every test: scaled time, a private Redis database, Chromium's path.

Tests run against the machine's real Redis (own database and key prefix, flushed after)
and real Chromium. Human delays are scaled by FLEET_TIME_SCALE so no test sleeps seconds.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest
from redis import Redis

from workers.browser import CHROMIUM_ARGS

os.environ.setdefault("FLEET_TIME_SCALE", "0.01")
os.environ.setdefault("FLEET_LOG_LEVEL", "WARNING")

TEST_REDIS_URL = os.environ.get("FLEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
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


pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.control_plane"]
