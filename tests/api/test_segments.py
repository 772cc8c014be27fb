"""`/v1/segments`: operators save a fan filter, list its fans, change and delete it; a bad
filter is a 422 naming the field, a taken name a 409."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.db import Database
from tests.helpers.crm import FanSpec, add_fans


def test_a_saved_filter_lists_its_fans(
    client: TestClient, operator: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    add_fans(db, account["id"], FanSpec("a", spend_cents=900), FanSpec("b", spend_cents=90_000))
    made = client.post(
        "/v1/segments", headers=operator, json={"name": "Top", "filter": {"tier": "top"}}
    )
    assert made.status_code == 201, made.text
    segment = made.json()
    assert (segment["filter"], segment["problems"]) == ({"tier": "top"}, [])
    fans = client.get(f"/v1/segments/{segment['id']}/fans", headers=operator).json()
    assert [fan["platform_fan_id"] for fan in fans["items"]] == ["b"]

    changed = client.patch(
        f"/v1/segments/{segment['id']}", headers=operator, json={"filter": {"tier": "low"}}
    )
    assert changed.status_code == 200
    fans = client.get(f"/v1/segments/{segment['id']}/fans", headers=operator).json()
    assert [fan["platform_fan_id"] for fan in fans["items"]] == ["a"]
    listed = client.get("/v1/segments", headers=operator).json()["items"]
    assert [s["name"] for s in listed] == ["Top"]

    assert client.delete(f"/v1/segments/{segment['id']}", headers=operator).status_code == 204
    assert client.get(f"/v1/segments/{segment['id']}", headers=operator).status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"name": "x", "filter": {"min_spend_cents": 9, "max_spend_cents": 1}}, "max_spend_cents"),
        ({"name": "x", "filter": {"tier": "whale"}}, "tier"),
        ({"name": "x", "filter": {"colour": 1}}, "colour"),
        ({"name": "", "filter": {}}, "name"),
    ],
)
def test_a_bad_segment_is_a_422_naming_the_field(
    client: TestClient, operator: dict[str, str], body: dict[str, Any], loc: str
) -> None:
    response = client.post("/v1/segments", headers=operator, json=body)
    assert response.status_code == 422
    assert loc in response.json()["errors"][0]["loc"]


def test_a_taken_name_is_a_409(client: TestClient, operator: dict[str, str]) -> None:
    body = {"name": "Top", "filter": {}}
    assert client.post("/v1/segments", headers=operator, json=body).status_code == 201
    assert client.post("/v1/segments", headers=operator, json=body).status_code == 409
