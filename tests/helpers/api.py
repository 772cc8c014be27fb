"""Driving the control plane as its callers do: keys per role, a live server's handle, and
the calls tests make again and again (an account, a conversation, a send, a worker's
claim, progress and result)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from core.enums import Role
from core.settings import Settings
from tests.helpers.scraped import conv, ingest, msg

PASSWORD = "hunter2-very-secret"

# `mint_key(role, name=None) -> plaintext`: a new API key with that role.
MintKey = Callable[..., str]


@dataclass(frozen=True)
class ApiKeys:
    """One key per role, and the headers that present them."""

    admin: str
    operator: str
    worker: str

    def headers(self, role: Role | str) -> dict[str, str]:
        """`Authorization: Bearer` headers for the key of `role`."""
        return {"Authorization": f"Bearer {getattr(self, Role(role).value)}"}


@dataclass(frozen=True)
class LiveApi:
    """A control plane served over real HTTP. `settings` has `api_url` pointing at it and
    `worker_token` set to `worker_key`, ready for workers."""

    url: str
    admin_key: str
    operator_key: str
    worker_key: str
    settings: Settings

    def headers(self, role: Role | str) -> dict[str, str]:
        """`Authorization: Bearer` headers for the key of `role`."""
        key = {"admin": self.admin_key, "operator": self.operator_key, "worker": self.worker_key}
        return {"Authorization": f"Bearer {key[Role(role).value]}"}


def concrete(path: str) -> str:
    """A route's path with every `{param}` set to 1."""
    return re.sub(r"\{[^}]+\}", "1", path)


def make_account(client: TestClient, admin: dict[str, str], name: str = "Mia") -> dict[str, Any]:
    response = client.post(
        "/v1/accounts",
        headers=admin,
        json={"name": name, "username": name.lower(), "password": "pw"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def make_conversation(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    account_id: int,
    platform_id: str,
    messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Ingest a conversation (one inbound message unless told) and return its row."""
    batch = [conv(platform_id, messages or [msg(f"{platform_id}-m1", "inbound", 0)])]
    ingest(client, worker, account_id, batch)
    found = client.get(
        f"/v1/conversations?account_id={account_id}&limit=200", headers=admin
    ).json()["items"]
    return next(c for c in found if c["platform_conversation_id"] == platform_id)


def make_send(
    client: TestClient, operator: dict[str, str], conversation_id: int, text: str = "hi there"
) -> dict[str, Any]:
    response = client.post(
        "/v1/sends", headers=operator, json={"conversation_id": conversation_id, "text": text}
    )
    assert response.status_code == 201, response.text
    return response.json()


def claim(client: TestClient, worker: dict[str, str], send_id: int, worker_id: str) -> Any:
    return client.post(
        f"/v1/worker/sends/{send_id}/claim", headers=worker, json={"worker_id": worker_id}
    )


def progress(
    client: TestClient, worker: dict[str, str], send_id: int, worker_id: str, status: str
) -> Any:
    return client.post(
        f"/v1/worker/sends/{send_id}/progress",
        headers=worker,
        json={"worker_id": worker_id, "status": status},
    )


def result(client: TestClient, worker: dict[str, str], send_id: int, **body: Any) -> Any:
    return client.post(f"/v1/worker/sends/{send_id}/result", headers=worker, json=body)


def queue_sweep(client: TestClient, operator: dict[str, str], account_id: int) -> int:
    """Queue a sweep of the account as an operator; its id."""
    response = client.post("/v1/sweeps", headers=operator, json={"account_id": account_id})
    assert response.status_code == 202, response.text
    return int(response.json()[0]["id"])


def start_sweep(client: TestClient, worker: dict[str, str], sweep_id: int, worker_id: str) -> Any:
    """Start a sweep as worker `worker_id`, as its job does; the raw response."""
    return client.post(
        f"/v1/worker/sweeps/{sweep_id}/start", headers=worker, json={"worker_id": worker_id}
    )


def sweep_result(client: TestClient, worker: dict[str, str], sweep_id: int, **body: Any) -> Any:
    """Report a sweep's outcome; the raw response."""
    return client.post(f"/v1/worker/sweeps/{sweep_id}/result", headers=worker, json=body)


def pending_draft_over_api(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    account_id: int,
    run_draft_jobs: Callable[[], int],
) -> dict[str, Any]:
    """A fan's message ingested and drafted by the `ai` queue; the pending draft."""
    ingest(client, worker, account_id, [conv("c-1", [msg("m1", "inbound", 0, "hi gorgeous")])])
    run_draft_jobs()
    return client.get("/v1/drafts", headers=operator).json()["items"][0]


# A worker's heartbeat as `/v1/worker/heartbeat` takes it.
BEAT = {
    "worker_id": "host-a:4242:abc123",
    "host": "host-a",
    "pid": 4242,
    "current_job": "send-1-a1",
    "account_id": 1,
    "jobs_done": 17,
    "rss_bytes": 150_000_000,
    "chromium_rss_bytes": 420_000_000,
}


def beat(client: TestClient, worker: dict[str, str], **changes: Any) -> None:
    """Report `BEAT` with `changes` as the worker; it must be taken."""
    response = client.post("/v1/worker/heartbeat", headers=worker, json={**BEAT, **changes})
    assert response.status_code == 204, response.text
