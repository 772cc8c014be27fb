"""The sends routes: a direct or bulk send the gate refuses answers with the rules that
fired, an admin may override, bodies are validated, the outbox's calls need an operator,
and admins export the sends as CSV."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.helpers.scraped import conv, ingest, msg

SNAP = "add me on snap: lola_x99 or paypal.me/lola"
SNAP_RULES = ["filter:platform_handle", "filter:link", "filter:off_platform_payment"]


@pytest.fixture
def conversation_ids(
    client: TestClient, worker: dict[str, str], admin: dict[str, str], account: dict[str, Any]
) -> list[int]:
    """Two conversations of the account, oldest first."""
    chats = [conv(f"c-{n}", [msg(f"m-{n}", "inbound", n)], fan=f"fan-{n}") for n in (1, 2)]
    ingest(client, worker, account["id"], chats)
    listed = client.get("/v1/conversations", headers=admin).json()["items"]
    return sorted(c["id"] for c in listed)


def test_a_direct_send_the_filter_holds_is_409_naming_the_rules(
    client: TestClient, operator: dict[str, str], conversation_ids: list[int]
) -> None:
    body = {"conversation_id": conversation_ids[0], "text": SNAP}
    response = client.post("/v1/sends", headers=operator, json=body)
    assert response.status_code == 409
    assert response.json()["reasons"] == SNAP_RULES
    assert all(rule in response.json()["detail"] for rule in SNAP_RULES)
    assert len(client.get("/v1/sends", headers=operator).json()["items"]) == 0


def test_a_clean_direct_send_is_accepted(
    client: TestClient, operator: dict[str, str], conversation_ids: list[int]
) -> None:
    body = {"conversation_id": conversation_ids[0], "text": "a new set tonight 💕"}
    response = client.post("/v1/sends", headers=operator, json=body)
    assert response.status_code == 201, response.text
    assert (response.json()["status"], response.json()["priority"]) == ("queued", "direct")


def test_a_bulk_send_skips_each_conversation_the_gate_refuses_with_the_reasons(
    client: TestClient, operator: dict[str, str], conversation_ids: list[int]
) -> None:
    body = {"conversation_ids": conversation_ids, "text": SNAP}
    response = client.post("/v1/sends/bulk", headers=operator, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["sends"] == []
    assert response.json()["skipped"] == [
        {"conversation_id": cid, "reasons": SNAP_RULES, "reason": ", ".join(SNAP_RULES)}
        for cid in conversation_ids
    ]


def test_an_admin_may_override_the_gate_with_a_reason(
    client: TestClient, admin: dict[str, str], conversation_ids: list[int]
) -> None:
    body = {
        "conversation_id": conversation_ids[0],
        "text": SNAP,
        "override": True,
        "override_reason": "the fan's own verified handle",
    }
    response = client.post("/v1/sends", headers=admin, json=body)
    assert response.status_code == 201, response.text
    assert response.json()["text"] == SNAP


def test_an_operator_asking_to_override_is_forbidden(
    client: TestClient, operator: dict[str, str], conversation_ids: list[int]
) -> None:
    body = {
        "conversation_id": conversation_ids[0],
        "text": "hello",
        "override": True,
        "override_reason": "trust me",
    }
    response = client.post("/v1/sends", headers=operator, json=body)
    assert response.status_code == 403
    assert "only an admin may override" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"override": True}, "override needs an override_reason"),
        ({"override_reason": "why"}, "override_reason is only accepted with override: true"),
    ],
)
def test_an_override_needs_both_fields(
    client: TestClient, admin: dict[str, str], body: dict, expected: str
) -> None:
    response = client.post(
        "/v1/sends", headers=admin, json={"conversation_id": 1, "text": "hi", **body}
    )
    assert response.status_code == 422
    assert expected in response.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("media", "expected"),
    [
        (["has space"], "body.media.0: String should match pattern"),
        ([""], "body.media.0: String should have at least 1 character"),
        ([f"v{i}" for i in range(21)], "body.media: List should have at most 20 items"),
        ("v1", "body.media: Input should be a valid list"),
    ],
)
def test_bad_media_ids_are_422_naming_the_field(
    client: TestClient, operator: dict[str, str], media: object, expected: str
) -> None:
    response = client.post(
        "/v1/sends", headers=operator, json={"conversation_id": 1, "text": "hi", "media": media}
    )
    assert response.status_code == 422
    assert expected in response.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "body.ids: Field required"),
        ({"ids": []}, "body.ids: List should have at least 1 item"),
        ({"ids": [3, 1, 3]}, "body.ids: Value error, ids must not repeat; repeated: [3]"),
        ({"ids": [0]}, "body.ids.0: Input should be greater than or equal to 1"),
        ({"ids": ["x"]}, "body.ids.0: Input should be a valid integer"),
        ({"ids": [1], "all": True}, "body.all: Extra inputs are not permitted"),
        ({"ids": list(range(1, 202))}, "body.ids: List should have at most 200 items"),
    ],
)
def test_requeue_rejects_bad_bodies(
    client: TestClient, operator: dict[str, str], body: dict, expected: str
) -> None:
    response = client.post("/v1/sends/requeue", headers=operator, json=body)
    assert response.status_code == 422
    assert expected in response.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_requeue_and_cancel_need_an_operator(
    client: TestClient, worker: dict[str, str], operator: dict[str, str]
) -> None:
    for path, body in (("/v1/sends/requeue", {"ids": [1]}), ("/v1/sends/1/cancel", None)):
        assert client.post(path, json=body).status_code == 401
        forbidden = client.post(path, headers=worker, json=body)
        assert forbidden.status_code == 403
        assert "the worker role may not use this route" in forbidden.json()["detail"]
    bad_id = client.post("/v1/sends/0/cancel", headers=operator)
    assert bad_id.status_code == 422
    assert "path.send_id: Input should be greater than or equal to 1" in bad_id.json()["detail"]


def test_admins_export_sends_as_csv_without_their_text(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    conversation_ids: list[int],
) -> None:
    made = client.post(
        "/v1/sends",
        headers=operator,
        json={"conversation_id": conversation_ids[0], "text": "see you tonight"},
    ).json()
    response = client.get("/v1/sends/export?status=queued", headers=admin)
    assert response.status_code == 200, response.text
    header, *rows = response.text.splitlines()
    assert header.startswith("id,account_id,conversation_id,fan_id,")
    assert [row.split(",")[0] for row in rows] == [str(made["id"])]
    assert "tonight" not in response.text
    bad = client.get("/v1/sends/export?since=1800-01-01", headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["query", "since"]
