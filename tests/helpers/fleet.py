"""One test's fleet: a live control plane, the sandbox and the tests' Redis, and the calls
that drive them, with `fleet worker` processes as a real deployment runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from redis import Redis
from rq import SimpleWorker

from core.settings import Settings
from sandbox.config import SandboxConfig
from sandbox.server import BackgroundServer
from tests.helpers.api import LiveApi
from tests.helpers.sandbox import Sandbox, SandboxAccount
from tests.helpers.stores import REPO, free_port


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
        """Register a sandbox account with the control plane, under the bundled profile of
        the sandbox's platform and the name it signs in with there; return its id."""
        response = self.admin.post(
            "/v1/accounts",
            json={
                "name": account.display_name,
                "username": account.login,
                "password": account.password,
                "profile": self.sandbox.platform().profile,
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
            "FLEET_LOG_FORMAT": "json",
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


# Long enough that the worker is still typing when the test signals it.
LONG_TEXT = "Thanks so much for this, it really made my day and I can't wait to show you more!"


def start_worker(
    fleet: Fleet, time_scale: float, queues: str = "send,scrape"
) -> subprocess.Popen[str]:
    """`fleet worker --queues QUEUES` in its own session, until the test stops it."""
    env = fleet.worker_env(FLEET_TIME_SCALE=str(time_scale))
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "--queues", queues],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def queued_send(fleet: Fleet, username: str) -> tuple[SandboxAccount, int]:
    """A sandbox account with one swept conversation and a `LONG_TEXT` send queued in it."""
    account = fleet.sandbox.create_account(username)
    fan = fleet.sandbox.create_fan(account, "Fan")
    fleet.sandbox.inbound(account, fan, "hi")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    conversation = fleet.get("/v1/conversations", account_id=account_id)["items"][0]["id"]
    send = fleet.post("/v1/sends", {"conversation_id": conversation, "text": LONG_TEXT})
    return account, int(send["id"])


def wait_for_status(fleet: Fleet, send_id: int, status: str, timeout_s: float = 60) -> None:
    """Poll the API until the send is in `status`."""
    deadline = time.monotonic() + timeout_s
    while fleet.get(f"/v1/sends/{send_id}")["status"] != status:
        assert time.monotonic() < deadline, f"send {send_id} never reached {status}"
        time.sleep(0.05)


def wait_for_heartbeat(fleet: Fleet, job_id: str, timeout_s: float = 30) -> dict:
    """The heartbeat of the worker running `job_id`, as `GET /v1/fleet` shows it."""
    deadline = time.monotonic() + timeout_s
    while True:
        for beat in fleet.get("/v1/fleet")["workers"]:
            if beat["current_job"] == job_id:
                return beat
        assert time.monotonic() < deadline, f"no heartbeat reported job {job_id}"
        time.sleep(0.05)


def group_alive(pgid: int) -> bool:
    """Whether any process of group `pgid` is alive."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@contextmanager
def on_own_sandbox(fleet: Fleet, config: SandboxConfig) -> Iterator[Fleet]:
    """`fleet` pointed at a sandbox of its own, served with `config` for the block: a
    platform with other guards or sessions than the shared one, and the same skin."""
    skin = fleet.sandbox.platform().skin
    server = BackgroundServer(config.model_copy(update={"skin": skin}), port=free_port())
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            yield Fleet(
                fleet.api, Sandbox(server.url, client), fleet.redis, fleet.operator, fleet.admin
            )
    finally:
        server.stop()
