"""The analytics route's own rules: a bad query names its parameter, and only staff may read it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers.api import ApiKeys


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
