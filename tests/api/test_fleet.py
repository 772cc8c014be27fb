"""The fleet routes' own rules: heartbeat bodies are validated, and each route admits only
its roles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.helpers.api import BEAT


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"rss_bytes": None}, "body.rss_bytes: Input should be a valid integer"),
        ({"pid": 0}, "body.pid: Input should be greater than or equal to 1"),
        ({"worker_id": ""}, "body.worker_id: String should have at least 1 character"),
        ({"jobs_done": -1}, "body.jobs_done: Input should be greater than or equal to 0"),
        ({"account_id": 0}, "body.account_id: Input should be greater than or equal to 1"),
        ({"cpu": 3}, "body.cpu: Extra inputs are not permitted"),
    ],
)
def test_heartbeat_rejects_bad_bodies(
    client: TestClient, worker: dict[str, str], changes: dict, expected: str
) -> None:
    response = client.post("/v1/worker/heartbeat", headers=worker, json={**BEAT, **changes})
    assert response.status_code == 422
    assert expected in response.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_new_routes_need_the_right_role(
    client: TestClient, worker: dict[str, str], operator: dict[str, str]
) -> None:
    for path in ("/v1/fleet", "/v1/workers"):
        assert client.get(path).status_code == 401
        forbidden = client.get(path, headers=worker)
        assert forbidden.status_code == 403
        assert "the worker role may not use this route" in forbidden.json()["detail"]
    assert client.post("/v1/worker/heartbeat", json=BEAT).status_code == 401
    refused = client.post("/v1/worker/heartbeat", headers=operator, json=BEAT)
    assert refused.status_code == 403
    assert "the operator role may not use this route" in refused.json()["detail"]
