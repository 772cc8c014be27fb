"""The analytics routes' own rules: a bad query names its parameter, and only staff may
read them; the revenue report over the API, as JSON and as CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from tests.helpers.api import ApiKeys
from tests.helpers.crm import FanSpec, Money, add_fans


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_queries_name_the_parameter(client: TestClient, api_keys: ApiKeys) -> None:
    headers = api_keys.headers("admin")
    cases = [
        ({"days": 0}, "query.days: Input should be greater than or equal to 1"),
        ({"days": 367}, "query.days: Input should be less than or equal to 366"),
        ({"days": "week"}, "query.days: Input should be a valid integer"),
        ({"days": 3, "since": "2026-03-01"}, "query.days: give either days or since/until"),
        ({"days": 3, "until": "2026-03-01"}, "query.days: give either days or since/until"),
        ({"since": "yesterday"}, "query.since: Input should be a valid datetime"),
        ({"until": "2026-13-01"}, "query.until: Input should be a valid datetime"),
        (
            {"since": "2026-03-02", "until": "2026-03-01"},
            "query.since: since must be before until",
        ),
        ({"since": "2026-03-01", "until": "2026-03-01"}, "query.since: since must be before"),
        (
            {"since": "2024-01-01", "until": "2026-03-01"},
            "query.since: the window is at most 366 days long",
        ),
        ({"account_id": 0}, "query.account_id: Input should be greater than or equal to 1"),
    ]
    for params, expected in cases:
        response = client.get("/v1/analytics/ai", headers=headers, params=params)
        assert response.status_code == 422, (params, response.text)
        assert expected in response.json()["detail"], (params, response.json())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_staff_only(client: TestClient, api_keys: ApiKeys) -> None:
    assert client.get("/v1/analytics/ai").status_code == 401
    assert client.get("/v1/analytics/ai", headers=api_keys.headers("worker")).status_code == 403
    assert client.get("/v1/analytics/ai", headers=api_keys.headers("operator")).status_code == 200


def test_revenue_is_reported_and_exported(
    client: TestClient,
    operator: dict[str, str],
    admin: dict[str, str],
    db: Database,
    account: dict[str, Any],
) -> None:
    now = utcnow()
    add_fans(
        db,
        account["id"],
        FanSpec("f1", money=[Money(now - timedelta(hours=1), tip_cents=700)]),
        FanSpec("f2", money=[Money(now - timedelta(hours=2), ppv_price_cents=1200, paid_at=now)]),
    )
    report = client.get("/v1/analytics/revenue?days=2", headers=operator)
    assert report.status_code == 200, report.text
    body = report.json()
    assert (body["tips_cents"], body["ppv_cents"]) == (700, 1200)
    assert {c["key"]: c["bought"] for c in body["by_price_band"]}["1000-1999"] == 1
    csv_text = client.get("/v1/analytics/revenue/export?days=2", headers=admin).text
    header, *rows = csv_text.splitlines()
    assert header == "day,account_id,tips,tips_cents,ppv_sold,ppv_cents"
    assert sum(int(row.split(",")[3]) + int(row.split(",")[5]) for row in rows) == 1900
    assert client.get("/v1/analytics/revenue/export", headers=operator).status_code == 403


def test_operators_are_reported(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get("/v1/analytics/operators?days=1", headers=operator)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["operators"] == []
    assert [a["author"] for a in body["by_authorship"]] == ["ai_unchanged", "ai_edited", "human"]
