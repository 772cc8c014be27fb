"""Fixtures shared by every test: scaled time, a private Redis database, Chromium's path.

Human delays are scaled by FLEET_TIME_SCALE so no test sleeps seconds. Where the services
are is `tests.helpers.stores`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from redis import Redis

from tests.helpers.stores import CHROMIUM, TEST_REDIS_URL
from workers.browser import chromium_args

os.environ.setdefault("FLEET_TIME_SCALE", "0.01")
os.environ.setdefault("FLEET_LOG_LEVEL", "WARNING")
# A page expectation waits for a state and returns as soon as it holds; its bound is only
# how long a loaded machine may take to get there, and 5 s (Playwright's own) is short.
expect.set_options(timeout=20_000)


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
    return {"executable_path": CHROMIUM, "args": chromium_args(), "headless": True}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Start the long tests first: `--dist load` hands out tests round robin, so the long
    ones spread over the workers instead of one finishing the run alone."""
    long_marks = ("chaos", "e2e")
    items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in long_marks))


pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.control_plane",
    "tests.fixtures.drafting",
]
