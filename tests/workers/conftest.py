"""Fixtures that run the real loop in this process: a live control plane over HTTP, the
real sandbox, RQ on the tests' Redis, and browser workers with real Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from redis import Redis
from rq import SimpleWorker

from core.settings import Settings, get_settings
from tests.fixtures.control_plane import LiveApi
from tests.fixtures.sandbox import Sandbox, SandboxAccount

REPO = Path(__file__).resolve().parents[2]

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here drives Chromium through `fleet worker` child processes. (A
    `pytestmark` in a conftest marks nothing, so the marks are added here.)"""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def database_url(tmp_path) -> str:
    """SQLite only for the loop tests: the API tests cover PostgreSQL, and the browser
    loop is the slow part of the suite."""
    from core.db import Database
    from core.models import create_tables

    url = f"sqlite:///{tmp_path / 'var' / 'fleet.db'}"
    database = Database(url)
    create_tables(database)
    database.dispose()
    return url


@dataclass
class Fleet:
    """The parts of one test's fleet and the calls a test needs to drive them."""

    api: LiveApi
    sandbox: Sandbox
    redis: Redis
    operator: httpx.Client
    admin: httpx.Client
    worker_logs: list[str] = field(default_factory=list)

    @property
    def settings(self) -> Settings:
        return self.api.settings

    def register(self, account: SandboxAccount) -> int:
        """Register a sandbox account with the control plane; return its id."""
        response = self.admin.post(
            "/v1/accounts",
            json={
                "name": account.display_name,
                "username": account.username,
                "password": account.password,
                "profile": "sandbox",
                "base_url": self.sandbox.url,
            },
        )
        response.raise_for_status()
        return int(response.json()["id"])

    def sweep(self, account_id: int) -> int:
        response = self.operator.post("/v1/sweeps", json={"account_id": account_id})
        response.raise_for_status()
        return int(response.json()[0]["id"])

    def worker_env(self, **overrides: str) -> dict[str, str]:
        """The environment of a `fleet worker` process of this fleet."""
        settings = self.settings
        return {
            **os.environ,
            "FLEET_REDIS_URL": settings.redis_url or "",
            "FLEET_REDIS_KEY_PREFIX": settings.redis_key_prefix,
            "FLEET_API_URL": settings.api_url,
            "FLEET_WORKER_TOKEN": settings.worker_token or "",
            "FLEET_TIME_SCALE": str(settings.time_scale),
            "FLEET_PROFILES_DIR": str(settings.profiles_dir),
            "FLEET_VAR_DIR": str(settings.var_dir),
            "FLEET_LOG_LEVEL": "INFO",
            # JSON lines, so tests read the browser host's events (`events_in_log`).
            "FLEET_LOG_JSON": "true",
            **overrides,
        }

    def run_browser_worker(self, extra_env: dict[str, str] | None = None) -> str:
        """Run `fleet worker --burst` in its own process until the send and scrape queues
        are empty. (A worker process owns its Playwright; this one's pytest-playwright
        already runs an event loop, which the sync API refuses to share.)"""
        env = self.worker_env(**(extra_env or {}))
        result = subprocess.run(
            [sys.executable, "-m", "cli.main", "worker", "--queues", "send,scrape", "--burst"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        self.worker_logs.append(result.stderr)
        assert result.returncode == 0, result.stderr[-4000:]
        return result.stderr

    def run_ai_worker(self) -> None:
        """Run the drafting queue dry."""
        SimpleWorker(["ai"], connection=self.redis).work(burst=True, logging_level="WARNING")

    def get(self, path: str, **params: object) -> dict:
        response = self.operator.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict) -> dict:
        response = self.operator.post(path, json=body)
        response.raise_for_status()
        return response.json()


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
