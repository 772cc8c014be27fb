"""Accounts: created and changed by admins, read by operators, never leaking secrets."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response

from core.crypto import keyring
from core.db import Base, Database
from core.models import Account, AuditEvent
from core.settings import Settings
from tests.helpers.api import PASSWORD

SECRET_FIELDS = {"password", "session_state", "storage_state"}
NEW_PASSWORD = "n3w-Secret!"
# Every field an admin may change, a new login included, in one PATCH.
CHANGES: dict[str, Any] = {
    "name": "Mia B",
    "base_url": None,
    "credentials": {"username": "mia2", "password": NEW_PASSWORD},
    "persona": {"tone": "professional", "emoji_style": "none"},
    "auto_send": True,
    "status": "paused",
    "time_zone": "America/New_York",
}


def assert_no_secrets(response_text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in response_text
    for field in SECRET_FIELDS:
        assert f'"{field}"' not in response_text


def _update_audited(db: Database) -> AuditEvent:
    """The one `account.updated` event."""
    with db.session() as session:
        return session.query(AuditEvent).filter_by(action="account.updated").one()


def test_create_and_read_never_return_the_password(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    account: dict[str, Any],
) -> None:
    assert account["username"] == "mia"
    assert account["status"] == "active"
    assert account["profile"] == "sandbox"
    assert account["auto_send"] is False
    assert account["has_session"] is False
    assert account["persona"]["tone"] == "playful"
    assert set(account) >= {"id", "name", "base_url", "created_at", "last_sweep_at"}
    assert not SECRET_FIELDS & set(account)
    for headers in (admin, operator):
        one = client.get(f"/v1/accounts/{account['id']}", headers=headers)
        listing = client.get("/v1/accounts", headers=headers)
        assert one.status_code == listing.status_code == 200
        assert len(listing.json()["items"]) == 1
        assert_no_secrets(one.text + listing.text, PASSWORD)


def _raw_database(db: Database) -> str:
    """Every value of every table, as the database holds it."""
    with db.engine.connect() as connection:
        return repr(
            [connection.execute(sa.select(table)).all() for table in Base.metadata.sorted_tables]
        )


def test_the_password_is_stored_sealed_and_opens_for_workers(
    db: Database, account: dict[str, Any], settings: Settings
) -> None:
    assert PASSWORD not in _raw_database(db)
    with db.session() as session:
        assert keyring(settings).open(session.get_one(Account, account["id"]).password) == PASSWORD


def test_no_credential_is_in_the_raw_database(
    client: TestClient,
    db: Database,
    account: dict[str, Any],
    worker: dict[str, str],
    admin: dict[str, str],
) -> None:
    cookie = {"name": "sid", "value": "COOKIE-SECRET-4411", "domain": "127.0.0.1"}
    stored = client.put(
        f"/v1/worker/accounts/{account['id']}/session",
        headers=worker,
        json={"storage_state": {"cookies": [cookie], "origins": []}},
    )
    assert stored.status_code == 204
    client.patch(
        f"/v1/accounts/{account['id']}",
        headers=admin,
        json={"credentials": {"username": "mia", "password": NEW_PASSWORD}},
    )
    raw = _raw_database(db)
    assert PASSWORD not in raw and NEW_PASSWORD not in raw
    assert "COOKIE-SECRET-4411" not in raw


@pytest.fixture
def patched(client: TestClient, admin: dict[str, str], account: dict[str, Any]) -> Response:
    """The answer to an admin's PATCH of `account` with `CHANGES`."""
    response = client.patch(f"/v1/accounts/{account['id']}", headers=admin, json=CHANGES)
    assert response.status_code == 200, response.text
    return response


def test_patch_changes_every_field_it_is_given(patched: Response) -> None:
    body = patched.json()
    assert body["name"] == "Mia B"
    assert body["base_url"] is None
    assert body["username"] == "mia2"
    assert body["persona"]["tone"] == "professional"
    assert body["auto_send"] is True
    assert body["status"] == "paused"
    assert body["time_zone"] == "America/New_York"


def test_patch_answers_without_the_old_or_the_new_password(patched: Response) -> None:
    assert_no_secrets(patched.text, NEW_PASSWORD, PASSWORD)


@pytest.mark.usefixtures("patched")
def test_new_credentials_store_the_new_password_for_workers(
    db: Database, account: dict[str, Any], settings: Settings
) -> None:
    with db.session() as session:
        stored = session.get_one(Account, account["id"]).password
        assert keyring(settings).open(stored) == NEW_PASSWORD


def test_a_new_login_drops_the_saved_session(
    client: TestClient, admin: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    url = f"/v1/accounts/{account['id']}"
    with db.session() as session:
        session.get_one(Account, account["id"]).session_sealed = "sealed-session"
        session.commit()
    assert client.get(url, headers=admin).json()["has_session"]

    response = client.patch(url, headers=admin, json={"credentials": CHANGES["credentials"]})
    assert response.status_code == 200, response.text
    # The session belongs to the old login: it is worthless now.
    assert response.json()["has_session"] is False


@pytest.mark.usefixtures("patched")
def test_a_patch_is_audited_with_the_names_of_the_fields_it_changed(db: Database) -> None:
    event = _update_audited(db)
    assert event.actor == "admin"
    assert event.detail["fields"] == sorted(
        ["auto_send", "base_url", "name", "password", "persona", "status", "time_zone", "username"]
    )


@pytest.mark.usefixtures("patched")
def test_the_audit_of_a_patch_never_holds_the_credentials(db: Database) -> None:
    event = _update_audited(db)
    assert "credentials" not in str(event.detail) and NEW_PASSWORD not in str(event.detail)


def test_patch_keeps_absent_fields(
    client: TestClient, admin: dict[str, str], account: dict[str, Any]
) -> None:
    response = client.patch(f"/v1/accounts/{account['id']}", headers=admin, json={"name": "M"})
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "M"
    assert body["base_url"] == account["base_url"]
    assert body["persona"] == account["persona"]


def test_list_is_paginated(client: TestClient, admin: dict[str, str]) -> None:
    for i in range(3):
        client.post(
            "/v1/accounts", headers=admin, json={"name": f"a{i}", "username": "u", "password": "p"}
        )
    first = client.get("/v1/accounts?limit=2", headers=admin).json()
    assert [a["name"] for a in first["items"]] == ["a0", "a1"]
    cursor = first["next_cursor"]
    rest = client.get(f"/v1/accounts?limit=2&cursor={cursor}", headers=admin).json()
    assert [a["name"] for a in rest["items"]] == ["a2"]
    assert (rest["limit"], rest["next_cursor"]) == (2, None)


def test_the_approval_policy_and_price_list_are_set_at_creation(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    body = {
        "name": "Lu",
        "username": "lu",
        "password": "pw",
        "persona": {"ppv_prices": {"none": 800, "low": 1_200, "mid": 2_000, "top": 6_000}},
        "policy": {"daily_spend_cap_cents": 20_000, "follow_up_after_h": 12, "auto_send": None},
    }
    refused = client.post("/v1/accounts", headers=admin, json=body)
    assert refused.status_code == 422
    assert "body.policy.auto_send: Extra inputs are not permitted" in refused.json()["detail"]
    del body["policy"]["auto_send"]
    created = client.post("/v1/accounts", headers=admin, json=body)
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["persona"]["ppv_prices"] == body["persona"]["ppv_prices"]
    assert account["policy"]["daily_spend_cap_cents"] == 20_000
    assert account["policy"]["follow_up_after_h"] == 12
    # Fields the body left out take their defaults.
    assert account["policy"]["confidence_threshold"] == 80
    with db.session() as session:
        assert session.get(Account, account["id"]).policy.daily_spend_cap_cents == 20_000
        event = session.query(AuditEvent).filter_by(action="account.created").one()
        assert event.detail["policy"] is True
    plain = client.post(
        "/v1/accounts", headers=admin, json={"name": "Jo", "username": "jo", "password": "pw"}
    )
    assert plain.json()["policy"]["daily_spend_cap_cents"] is None
