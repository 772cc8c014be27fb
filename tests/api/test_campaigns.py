"""`/v1/campaigns`: operators send a campaign to a segment, read its record per variant,
pause, resume and cancel it; a bad campaign is a 422 naming the field, a move its state
does not allow a 409."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.db import Database
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


def test_a_campaign_for_later_waits(
    client: TestClient, operator: dict[str, str], segment_id: int
) -> None:
    body = {
        "name": "Later",
        "segment_id": segment_id,
        "send_at": "2099-01-01T00:00:00Z",
        "variants": VARIANTS,
    }
    campaign = client.post("/v1/campaigns", headers=operator, json=body).json()
    assert campaign["status"] == "scheduled"
    assert sum(v["queued"] for v in campaign["variants"]) == 0


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"variants": [{**VARIANTS[0], "share": 50}, VARIANTS[1]]}, "shares must add up to 100"),
        ({"fan_ids": [1]}, "give segment_id or fan_ids"),
        ({"variants": []}, "body.variants"),
        ({"send_at": "1999-01-01T00:00:00Z"}, "body.send_at"),
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
