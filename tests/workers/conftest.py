"""Fixtures that run the real loop in this process: a live control plane over HTTP, the
real sandbox, RQ on the tests' Redis, and browser workers with real Chromium."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from redis import Redis

from core.settings import get_settings
from tests.fixtures.control_plane import sqlite_database
from tests.fixtures.sandbox import PLATFORMS
from tests.helpers.api import LiveApi
from tests.helpers.fleet import Fleet
from tests.helpers.sandbox import Sandbox

HERE = Path(__file__).resolve().parent


# Fixtures that start the whole loop (`fleet worker` child processes driving Chromium).
_LOOP_FIXTURES = frozenset({"fleet", "expiring_fleet"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests here that run the loop drive Chromium through `fleet worker` child processes,
    and those with a page drive it directly; the jobs' own rules need neither. (A
    `pytestmark` in a conftest marks nothing, so the marks are added here.)

    A test marked `mechanics` checks the worker's own machinery, which reads no page the
    platforms draw differently: it runs on the first bundled platform only."""
    others = [
        item
        for item in items
        if HERE in item.path.parents
        and item.get_closest_marker("mechanics") is not None
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("platform_sandbox", PLATFORMS[0]) != PLATFORMS[0]
    ]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if item not in others]
    for item in items:
        if HERE not in item.path.parents:
            continue
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & _LOOP_FIXTURES:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)
        elif "page" in fixtures:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only for the loop tests: the API tests cover PostgreSQL, and the browser
    loop is the slow part of the suite."""
    return sqlite_database(sqlite_template, tmp_path / "var")


@pytest.fixture
def fleet(
    live_api: LiveApi, sandbox: Sandbox, redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Fleet]:
    """A control plane, the sandbox and the tests' Redis, wired together."""
    settings = live_api.settings
    # The drafting job reads settings from the environment, as in a real ai worker.
    monkeypatch.setenv("FLEET_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FLEET_REDIS_URL", settings.redis_url or "")
    monkeypatch.setenv("FLEET_REDIS_KEY_PREFIX", settings.redis_key_prefix)
    get_settings.cache_clear()
    make: Callable[[str], httpx.Client] = lambda key: httpx.Client(  # noqa: E731
        base_url=live_api.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    with make(live_api.operator_key) as operator, make(live_api.admin_key) as admin:
        yield Fleet(live_api, sandbox, redis, operator, admin)
    get_settings.cache_clear()


@pytest.fixture
def sandbox(platform_sandbox: Sandbox) -> Sandbox:
    """Every browser and loop test here runs on both bundled platforms: what works on
    one must work on the other through its profile alone."""
    return platform_sandbox
