"""The sends routes' own rules: bodies are validated, and the outbox's calls need an operator."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


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
