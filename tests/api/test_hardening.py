"""Input that once broke the control plane (issue 12's outside check): each is now a 4xx
naming the field, or a 413, on SQLite and PostgreSQL alike, and nothing is left broken
behind it: the account still reads, the queue still answers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from loguru import logger
from redis import Redis
from sqlalchemy import JSON, type_coerce, update

from api.middleware import TOO_LARGE
from core.db import Database
from core.logging import configure_logging
from core.models import Account
from core.settings import Settings
from tests.helpers.rows import hold_lease
from tests.helpers.scraped import conv, msg

MARKER = "LEAKPW-7731"


def _raw(client: TestClient, method: str, url: str, headers: dict[str, str], body: str):
    """A request whose JSON is written by hand (Infinity, NaN), as a client may send it."""
    return client.request(
        method, url, content=body, headers={**headers, "content-type": "application/json"}
    )


def _still_reads(
    client: TestClient, headers: dict[str, str], account_id: int, pacing: bool = True
) -> dict[str, Any]:
    for url in (
        f"/v1/accounts/{account_id}",
        *([f"/v1/accounts/{account_id}/pacing"] if pacing else []),
        "/v1/drafts?status=pending",
        "/v1/conversations",
    ):
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
    return client.get(f"/v1/accounts/{account_id}", headers=headers).json()


def test_a_policy_change_is_checked_whole_and_nothing_is_stored(
    client: TestClient, admin: dict[str, str], account: dict[str, Any]
) -> None:
    # 200 hours to a follow-up is past the (default) 7 days to a re-engagement.
    body = {"policy": {"follow_up_after_h": 200}}
    patched = client.patch(f"/v1/accounts/{account['id']}", headers=admin, json=body)
    assert patched.status_code == 422
    assert "body.policy.re_engage_after_days" in patched.json()["detail"]
    created = client.post(
        "/v1/accounts", headers=admin, json={"name": "B", "username": "b", "password": "p", **body}
    )
    assert created.status_code == 422
    assert _still_reads(client, admin, account["id"])["policy"] == account["policy"]


def test_a_stored_setting_that_no_longer_holds_is_reported_and_breaks_no_read(
    client: TestClient, admin: dict[str, str], account: dict[str, Any], db: Database
) -> None:
    # As an older release or a hand edit could leave it: past what validation allows.
    broken = {**account["policy"], "follow_up_after_h": 200}
    with db.session() as session:
        session.execute(
            update(Account)
            .where(Account.id == account["id"])
            .values(policy=type_coerce(broken, JSON), profile="gone", time_zone="Mars/Olympus")
        )
        session.commit()
    problems = _still_reads(client, admin, account["id"], pacing=False)["problems"]
    # Without a profile there are no budgets to show: said, not a 500.
    pacing = client.get(f"/v1/accounts/{account['id']}/pacing", headers=admin)
    assert pacing.status_code == 409
    assert "no profile 'gone'" in pacing.json()["detail"]
    assert {tuple(p["loc"]) for p in problems} == {
        ("policy", "re_engage_after_days"),
        ("profile",),
        ("time_zone",),
    }
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert [a["id"] for a in health["invalid_accounts"]] == [account["id"]]
    fixed = client.patch(
        f"/v1/accounts/{account['id']}",
        headers=admin,
        json={"policy": {"follow_up_after_h": 24}, "profile": "sandbox", "time_zone": "UTC"},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["problems"] == []
    assert client.get("/health").json()["invalid_accounts"] == []


@pytest.mark.parametrize(
    ("method", "url", "body", "field"),
    [
        ("POST", "/v1/accounts", {"name": "a\x00b", "username": "u", "password": "p"}, "name"),
        ("PATCH", "/v1/accounts/{id}", {"persona": {"name": "M\x00"}}, "persona.name"),
        ("PATCH", "/v1/accounts/{id}", {"credentials": {"username": "u", "password": "\x00"}}, ""),
        ("POST", "/v1/sends", {"conversation_id": 1, "text": "hi\x00"}, "text"),
    ],
)
def test_a_nul_anywhere_is_422_naming_the_field(
    client: TestClient,
    admin: dict[str, str],
    account: dict[str, Any],
    method: str,
    url: str,
    body: dict[str, Any],
    field: str,
) -> None:
    response = client.request(method, url.format(id=account["id"]), headers=admin, json=body)
    assert response.status_code == 422, response.text
    assert f"{field}: must not contain NUL characters" in response.json()["detail"]
    assert len(client.get("/v1/accounts", headers=admin).json()["items"]) == 1
    _still_reads(client, admin, account["id"])


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN"])
def test_numbers_must_be_finite(
    client: TestClient, admin: dict[str, str], account: dict[str, Any], number: str
) -> None:
    url = f"/v1/accounts/{account['id']}"
    for body, where in (
        (f'{{"pacing": {{"min_send_gap_s": {number}}}}}', "body.pacing.min_send_gap_s"),
        (f'{{"policy": {{"follow_up_after_h": {number}}}}}', "body.policy.follow_up_after_h"),
    ):
        response = _raw(client, "PATCH", url, admin, body)
        assert response.status_code == 422, response.text
        assert f"{where}: Input should be a finite number" in response.json()["detail"]
    assert _still_reads(client, admin, account["id"])["pacing"] == account["pacing"]


def test_the_profile_must_exist_and_may_be_changed(
    client: TestClient, admin: dict[str, str], account: dict[str, Any]
) -> None:
    body = {"name": "X", "username": "x", "password": "p", "profile": "nope"}
    created = client.post("/v1/accounts", headers=admin, json=body)
    assert created.status_code == 422
    assert created.json()["detail"] == "body.profile: no such profile: 'nope'"
    url = f"/v1/accounts/{account['id']}"
    assert client.patch(url, headers=admin, json={"profile": "nope"}).status_code == 422
    moved = client.patch(url, headers=admin, json={"profile": "velvet"})
    assert moved.status_code == 200, moved.text
    assert _still_reads(client, admin, account["id"])["profile"] == "velvet"


def test_integers_past_what_a_column_holds_are_422(
    client: TestClient, admin: dict[str, str], worker: dict[str, str], account: dict[str, Any]
) -> None:
    too_big = 2**31
    ingest = {
        "account_id": account["id"],
        "conversations": [conv("c1", [msg("m1", "inbound", 1, tip_cents=too_big)])],
    }
    response = client.post("/v1/worker/ingest", headers=worker, json=ingest)
    assert response.status_code == 422
    assert "body.conversations.0.messages.0.tip_cents: Input should be less" in response.text
    sweep = client.post("/v1/sweeps", headers=admin, json={"account_id": account["id"]}).json()[0]
    client.post(
        f"/v1/worker/sweeps/{sweep['id']}/start", headers=worker, json={"worker_id": "w"}
    ).raise_for_status()
    result = {"status": "done", "conversations_read": 322082699832}
    finished = client.post(f"/v1/worker/sweeps/{sweep['id']}/result", headers=worker, json=result)
    assert finished.status_code == 422
    assert "body.conversations_read: Input should be less" in finished.text
    assert client.get(f"/v1/sweeps/{sweep['id']}", headers=admin).json()["status"] == "running"
    _still_reads(client, admin, account["id"])


def test_times_outside_the_years_the_fleet_deals_in_are_422(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], account: dict[str, Any]
) -> None:
    early = msg("m1", "inbound", 1)
    early["sent_at"] = "0001-01-01T00:00:00+01:00"
    body = {"account_id": account["id"], "conversations": [conv("c1", [early])]}
    response = client.post("/v1/worker/ingest", headers=worker, json=body)
    assert response.status_code == 422
    assert "messages.0.sent_at: Value error, must be between 2000 and 2100" in response.text
    for query in ({"until": "0001-01-02T00:00:00"}, {"since": "9999-12-31T00:00:00Z"}):
        answer = client.get("/v1/analytics/ai", headers=operator, params=query)
        assert answer.status_code == 422
        assert f"query.{next(iter(query))}: must be between 2000 and 2100" in answer.text


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"conversation_id": 1, "text": "hi", "ppv_price_cents": "100"}, "body.ppv_price_cents"),
        ({"conversation_id": "1", "text": "hi"}, "body.conversation_id"),
        ({"conversation_id": 1.5, "text": "hi"}, "body.conversation_id"),
    ],
)
def test_money_and_ids_are_json_integers(
    client: TestClient, operator: dict[str, str], body: dict[str, Any], where: str
) -> None:
    response = client.post("/v1/sends", headers=operator, json=body)
    assert response.status_code == 422
    assert f"{where}: Input should be a valid integer" in response.json()["detail"]


def test_a_body_past_the_limit_is_413_before_it_is_read(
    client: TestClient, settings: Settings, operator: dict[str, str], worker: dict[str, str]
) -> None:
    big = json.dumps({"conversation_id": 1, "text": "x" * settings.max_body_bytes})
    response = _raw(client, "POST", "/v1/sends", operator, big)
    assert response.status_code == 413
    assert response.json() == {"detail": TOO_LARGE}
    # The worker routes take more (ingest batches, session state), and no more than that.
    state = {"storage_state": {"origins": [], "cookies": [], "blob": "x" * 2_000_000}}
    fits = client.put("/v1/worker/accounts/42/session", headers=worker, json=state)
    assert fits.status_code == 404  # read whole, then the account is unknown
    state["storage_state"]["blob"] = "x" * settings.max_worker_body_bytes
    too_big = client.put("/v1/worker/accounts/42/session", headers=worker, json=state)
    assert too_big.status_code == 413


@pytest.fixture
def all_logs(settings: Settings, caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything the API process would log, loguru's lines and the standard library's."""
    sink = io.StringIO()
    configure_logging(settings.model_copy(update={"log_level": "DEBUG"}), "api", sink=sink)
    caplog.set_level(logging.DEBUG)
    yield sink
    logger.remove()
    sink.write("\n".join(record.getMessage() for record in caplog.records))


def test_no_marker_secret_reaches_any_log(
    app: Any,
    admin: dict[str, str],
    worker: dict[str, str],
    account: dict[str, Any],
    all_logs: io.StringIO,
    redis: Redis,
    settings: Settings,
) -> None:
    # Every path that once answered 500 with the password in the log, with a marker
    # password; the client must not raise on a 500, so the log is what is judged.
    client = TestClient(app, raise_server_exceptions=False)
    url = f"/v1/accounts/{account['id']}"
    credentials = {"username": "mia", "password": MARKER}
    calls: list[tuple[str, str, dict[str, str], Any]] = [
        ("POST", "/v1/accounts", admin, {"name": "a\x00", "username": "u", "password": MARKER}),
        ("POST", "/v1/accounts", admin, {"name": "a", "username": "u\x00", "password": MARKER}),
        ("PATCH", url, admin, {"credentials": credentials, "policy": {"follow_up_after_h": 999}}),
        ("PATCH", url, admin, {"credentials": {**credentials, "username": "u\x00"}}),
        ("PATCH", url, admin, {"credentials": credentials, "profile": "nope"}),
        ("PATCH", url, admin, {"credentials": credentials}),
        ("GET", f"/v1/worker/sweeps/{account['id']}", worker, None),
    ]
    for method, path, headers, body in calls:
        answer = client.request(method, path, headers=headers, json=body)
        assert answer.status_code < 500, (path, answer.text)
        assert MARKER not in answer.text
    # The lease holder's secrets carry the password: the request log must not.
    hold_lease(redis, settings, account["id"], "w")
    secrets = client.post(
        f"/v1/worker/accounts/{account['id']}/secrets", headers=worker, json={"worker_id": "w"}
    )
    assert secrets.json()["password"] == MARKER
    logged = all_logs.getvalue()
    assert logged, "nothing was captured"
    assert MARKER not in logged
