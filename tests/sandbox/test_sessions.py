"""A sandbox login that ends after a set number of logged-in requests, so a test can end
sessions mid-job at a known point rather than after a time a slow machine may miss."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.control_client import SandboxControl
from sandbox.server import BackgroundServer
from tests.helpers.stores import free_port


@pytest.fixture
def two_request_sandbox(tmp_path: Path) -> Iterator[str]:
    """A sandbox whose logins serve two logged-in requests; its URL."""
    config = SandboxConfig(
        db_path=tmp_path / "sessions.db",
        time_scale=0.01,
        control_enabled=True,
        session_max_requests=2,
    )
    server = BackgroundServer(config, port=free_port())
    server.start()
    yield server.url
    server.stop()


def test_a_login_ends_once_it_has_served_its_requests(two_request_sandbox: str) -> None:
    with httpx.Client(base_url=two_request_sandbox, timeout=10) as client:
        alice = SandboxControl(two_request_sandbox, client).create_account("alice")
        login = client.post(
            "/login", data={"username": "alice", "password": alice.password, "next": "/inbox"}
        )
        assert login.status_code == 303
        served = [client.get("/inbox").status_code for _ in range(3)]
    # The third request finds the session over and is sent back to the login page.
    assert served[:2] == [200, 200]
    assert served[2] in (303, 307)
