"""`/v1/campaigns`: operators send a campaign to a segment, read its record per variant,
pause, resume and cancel it; a bad campaign is a 422 naming the field, a move its state
does not allow a 409."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.db import Database
from core.outbox.campaigns import launch_due_campaigns
from tests.helpers.crm import FanSpec, add_fans

VARIANTS = [
    {"name": "A", "text": "New set tonight 🔥", "share": 60, "ppv_price_cents": 900},
    {"name": "B", "text": "Made this for you", "share": 40},
]


@pytest.fixture
def segment_id(
    client: TestClient, operator: dict[str, str], db: Database, account: dict[str, Any]
) -> int:
    add_fans(db, account["id"], *(FanSpec(f"f{n}", tags=["vip"]) for n in range(5)))
    body = {"name": "VIPs", "filter": {"tags": ["vip"]}}
    return client.post("/v1/segments", headers=operator, json=body).json()["id"]


def test_a_campaign_goes_out_and_shows_its_record(
    client: TestClient, operator: dict[str, str], segment_id: int
) -> None:
    body = {"name": "Friday", "segment_id": segment_id, "variants": VARIANTS}
    made = client.post("/v1/campaigns", headers=operator, json=body)
    assert made.status_code == 201, made.text
    campaign = made.json()
    assert campaign["status"] == "running"
    variants = campaign["variants"]
    assert [v["name"] for v in variants] == ["A", "B"]
    assert sum(v["targeted"] for v in variants) == 5
    assert sum(v["queued"] for v in variants) == 5

    paused = client.post(f"/v1/campaigns/{campaign['id']}/pause", headers=operator)
    assert paused.json()["status"] == "paused"
    again = client.post(f"/v1/campaigns/{campaign['id']}/pause", headers=operator)
    assert again.status_code == 409
    cancelled = client.post(f"/v1/campaigns/{campaign['id']}/cancel", headers=operator).json()
    assert sum(v["cancelled"] for v in cancelled["variants"]) == 5
    listed = client.get("/v1/campaigns", headers=operator).json()["items"]
    assert [c["status"] for c in listed] == ["cancelled"]


def _later(
    client: TestClient, operator: dict[str, str], segment_id: int, **when: str
) -> dict[str, Any]:
    """A campaign to the segment at a time to come (`send_at` or `local_send_at`)."""
    body = {"name": "Later", "segment_id": segment_id, "variants": VARIANTS, **when}
    made = client.post("/v1/campaigns", headers=operator, json=body)
    assert made.status_code == 201, made.text
    return made.json()


def test_a_campaign_for_later_waits(
    client: TestClient, operator: dict[str, str], segment_id: int
) -> None:
    campaign = _later(client, operator, segment_id, send_at="2099-01-01T00:00:00Z")
    assert campaign["status"] == "scheduled"
    assert sum(v["queued"] for v in campaign["variants"]) == 0


def test_a_campaign_in_account_time_waits_for_the_first_zone_to_reach_it(
    client: TestClient, operator: dict[str, str], segment_id: int
) -> None:
    campaign = _later(client, operator, segment_id, local_send_at="2099-06-05T20:00:00")
    assert campaign["status"] == "scheduled"
    assert campaign["local_send_at"] == "2099-06-05T20:00:00"
    # Clocks at UTC+14 read 20:00 at 06:00 UTC.
    assert campaign["send_at"].startswith("2099-06-05T06:00:00")
    assert (campaign["launched_accounts"], campaign["launched_at"]) == ([], None)


def test_a_campaign_that_cannot_launch_fails_and_shows_in_the_fleet(
    client: TestClient, operator: dict[str, str], admin: dict[str, str], segment_id: int
) -> None:
    campaign = _later(client, operator, segment_id, send_at="2099-01-01T00:00:00Z")
    client.delete(f"/v1/segments/{segment_id}", headers=operator).raise_for_status()
    with client.app.state.database.session() as session:
        launch_due_campaigns(
            session,
            client.app.state.redis,
            client.app.state.settings,
            actor="scheduler",
            now=datetime(2099, 1, 1, tzinfo=UTC),
        )
    failed = client.get(f"/v1/campaigns/{campaign['id']}", headers=operator).json()
    assert failed["status"] == "failed"
    assert failed["failure"] == f"campaign {campaign['id']}'s segment was deleted"
    fleet = client.get("/v1/fleet", headers=admin).json()
    assert fleet["failed_campaigns"] == [campaign["id"]]
    assert "campaigns failed to launch" in " ".join(fleet["reasons"])


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"variants": [{**VARIANTS[0], "share": 50}, VARIANTS[1]]}, "shares must add up to 100"),
        ({"fan_ids": [1]}, "give segment_id or fan_ids"),
        ({"variants": []}, "body.variants"),
        ({"send_at": "1999-01-01T00:00:00Z"}, "body.send_at"),
        ({"local_send_at": "2030-06-07T20:00:00+02:00"}, "body.local_send_at"),
        ({"local_send_at": "1999-06-07T20:00:00"}, "body.local_send_at"),
        (
            {"send_at": "2030-06-07T20:00:00Z", "local_send_at": "2030-06-07T20:00:00"},
            "give send_at or local_send_at, not both",
        ),
        ({"variants": [{**VARIANTS[0], "name": "a b"}, VARIANTS[1]]}, "body.variants.0.name"),
    ],
)
def test_a_bad_campaign_is_a_422_naming_it(
    client: TestClient,
    operator: dict[str, str],
    segment_id: int,
    change: dict[str, Any],
    detail: str,
) -> None:
    body = {"name": "Friday", "segment_id": segment_id, "variants": VARIANTS, **change}
    response = client.post("/v1/campaigns", headers=operator, json=body)
    assert response.status_code == 422, response.text
    assert detail in response.json()["detail"]
