"""Every request has an id: the caller's `X-Request-ID` when it is a plain token, else one
made for it; it is echoed back and bound to every line logged while the request is
served."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from loguru import logger

from api.middleware import request_id


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_callers_id_is_echoed_and_bound_to_the_requests_log_lines(
    client: TestClient, operator: dict[str, str]
) -> None:
    records: list[dict] = []
    sink = logger.add(lambda message: records.append(message.record), level="DEBUG")
    try:
        response = client.get("/v1/accounts", headers={**operator, "X-Request-ID": "trace-42"})
    finally:
        logger.remove(sink)
    assert response.headers["x-request-id"] == "trace-42"
    lines = [r for r in records if r["message"] == "request"]
    assert lines and all(r["extra"]["request_id"] == "trace-42" for r in lines)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_without_an_id_one_is_made(client: TestClient) -> None:
    made = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert client.get("/health").headers["x-request-id"] != made


@pytest.mark.parametrize(
    "given", [b"trace-42\n", b"has space", b"x" * 129, b"", "caf\u00e9".encode("latin-1")]
)
def test_an_id_that_is_not_a_plain_token_is_replaced(given: bytes) -> None:
    made = request_id([(b"x-request-id", given)])
    assert made != given.decode("latin-1")
    assert re.fullmatch(r"[0-9a-f]{32}", made)
