"""What a worker pushes to `/v1/worker/ingest`: scraped messages and conversations, and
the call that pushes them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers.seeding import T0


def msg(
    platform_id: str, direction: str, minute: int, text: str = "hello", **extra: Any
) -> dict[str, Any]:
    """A scraped message sent `minute` minutes after T0."""
    sent_at = (T0 + timedelta(minutes=minute)).isoformat()
    return {
        "platform_message_id": platform_id,
        "direction": direction,
        "text": text,
        "sent_at": sent_at,
        **extra,
    }


def conv(
    platform_id: str, messages: list[dict[str, Any]], fan: str = "fan-1", name: str = "Sam Jones"
) -> dict[str, Any]:
    """A scraped conversation."""
    return {
        "platform_conversation_id": platform_id,
        "platform_fan_id": fan,
        "fan_name": name,
        "messages": messages,
    }


def ingest(
    client: TestClient,
    headers: dict[str, str],
    account_id: int,
    conversations: list[dict[str, Any]],
    sweep_id: int | None = None,
) -> dict[str, Any]:
    """POST a batch and return the `IngestResult`."""
    body = {"account_id": account_id, "sweep_id": sweep_id, "conversations": conversations}
    response = client.post("/v1/worker/ingest", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def two_conversations() -> list[dict[str, Any]]:
    """Two scraped conversations: one ending on three fan lines, one ending on ours."""
    return [
        conv(
            "c-a",
            [
                msg("a1", "inbound", 0, "hey there"),
                msg("a2", "outbound", 1, "hi!"),
                msg("a3", "inbound", 2, "you look amazing"),
                msg("a4", "inbound", 3, "what are you up to tonight?"),
            ],
            fan="fan-a",
            name="Sam Jones",
        ),
        conv(
            "c-b",
            [msg("b1", "inbound", 0, "hello"), msg("b2", "outbound", 5, "hey you")],
            fan="fan-b",
            name="Alex",
        ),
    ]
