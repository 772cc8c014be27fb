"""The control API over HTTP: off unless enabled, validates input, seeds and resets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.server import BackgroundServer
from tests.helpers.sandbox import Sandbox
from tests.helpers.stores import free_port


@pytest.fixture
def server_without_control(tmp_path: Path) -> Iterator[str]:
    server = BackgroundServer(SandboxConfig(db_path=tmp_path / "s.db"), port=free_port())
    server.start()
    yield server.url
    server.stop()


def test_control_api_is_404_when_disabled(server_without_control: str) -> None:
    with httpx.Client(base_url=server_without_control) as client:
        assert client.post("/_control/reset").status_code == 404
        created = client.post("/_control/accounts", json={"username": "eve", "password": "x"})
        assert created.status_code == 404
        assert client.get("/_control/delivered").status_code == 404
        # The platform itself still works.
        assert client.get("/login").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "alice"},
        {"username": "a", "password": "pw"},
        {"username": "has space", "password": "pw"},
        {"username": "alice", "password": ""},
        {"username": "alice", "password": "pw", "role": "admin"},
    ],
)
def test_bad_account_input_is_422(sandbox: Sandbox, body: dict) -> None:
    response = sandbox.request("POST", "/_control/accounts", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_duplicate_username_is_409(sandbox: Sandbox) -> None:
    sandbox.create_account("alice")
    response = sandbox.request(
        "POST", "/_control/accounts", json={"username": "alice", "password": "pw"}
    )
    assert response.status_code == 409
    assert "already taken" in response.json()["detail"]


def test_unknown_names_are_404(sandbox: Sandbox) -> None:
    alice = sandbox.create_account("alice")
    sandbox.create_account("bob")
    bobs_fan = sandbox.create_fan("bob", "Jane")
    cases = [
        ("POST", "/_control/accounts/nobody/fans", {"name": "Jane"}),
        ("POST", "/_control/accounts/alice/fans/f999/messages", {"text": "hi"}),
        ("POST", "/_control/accounts/alice/fans/nonsense/messages", {"text": "hi"}),
        # Bob's fan is not Alice's.
        ("POST", f"/_control/accounts/alice/fans/{bobs_fan.fan_id}/tips", {"amount_cents": 100}),
        ("DELETE", "/_control/accounts/nobody/sessions", None),
        ("POST", "/_control/messages/m999999/purchase", None),
    ]
    for method, path, body in cases:
        response = sandbox.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["detail"]
    assert sandbox.expire_sessions(alice) == 0


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("messages", {}),
        ("messages", {"text": ""}),
        ("messages", {"text": "hi", "sent_at": "2026-01-01T10:00:00"}),  # no timezone
        ("messages", {"text": "hi", "sent_at": "yesterday"}),
        ("tips", {"amount_cents": 0}),
        ("tips", {"amount_cents": -5}),
        ("tips", {"text": "no amount"}),
    ],
)
def test_bad_inbound_input_is_422(sandbox: Sandbox, kind: str, body: dict) -> None:
    sandbox.create_account("alice")
    fan = sandbox.create_fan("alice", "Jane")
    response = sandbox.request(
        "POST", f"/_control/accounts/alice/fans/{fan.fan_id}/{kind}", json=body
    )
    assert response.status_code == 422


def test_purchase_of_a_non_ppv_message_is_409(sandbox: Sandbox) -> None:
    sandbox.create_account("alice")
    fan = sandbox.create_fan("alice", "Jane")
    message = sandbox.inbound("alice", fan, "hi")
    response = sandbox.request("POST", f"/_control/messages/{message.message_id}/purchase")
    assert response.status_code == 409
    assert "not a PPV" in response.json()["detail"]


def test_seeding_ids_and_timestamps(sandbox: Sandbox) -> None:
    sandbox.create_account("alice", display_name="Alice A.")
    fan = sandbox.create_fan("alice", "Jane")
    assert fan.fan_id.startswith("f") and fan.conversation_id.startswith("c")
    message = sandbox.inbound("alice", fan, "hi", sent_at=None)
    assert message.conversation_id == fan.conversation_id
    assert message.message_id.startswith("m")
    assert message.sent_at.endswith("+00:00") and len(message.sent_at.split(".")[1]) == 12


def test_reset_wipes_everything_and_restores_guards(sandbox: Sandbox) -> None:
    sandbox.create_account("alice")
    sandbox.create_fan("alice", "Jane")
    changed = sandbox.set_guards(min_send_gap_s=500, max_graphemes_per_event=3)
    assert changed["min_send_gap_s"] == 500 and changed["max_graphemes_per_event"] == 3
    assert changed["effective_send_gap_s"] == pytest.approx(500 * changed["time_scale"])

    sandbox.reset()

    guards = sandbox.request("GET", "/_control/guards").json()
    assert guards["min_send_gap_s"] == 3.0 and guards["max_graphemes_per_event"] == 1
    # The username is free again: the account is gone.
    sandbox.create_account("alice")
    assert sandbox.delivered() == [] and sandbox.flags() == [] and sandbox.refusals() == []


def test_bad_guards_are_422(sandbox: Sandbox) -> None:
    for body in ({"min_send_gap_s": -1}, {"max_graphemes_per_event": 0}, {"gap": 1}):
        assert sandbox.request("PUT", "/_control/guards", json=body).status_code == 422
