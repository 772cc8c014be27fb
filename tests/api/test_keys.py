"""`/v1/keys`: an admin lists, mints and revokes API keys; a key may expire. The listing
never shows a key or its hash, and the plaintext is shown once, when minted."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from core.models import ApiKey
from tests.helpers.rows import audit_actions


def _mint(client: TestClient, admin: dict[str, str], **body: object) -> dict:
    response = client.post("/v1/keys", headers=admin, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_minted_key_is_shown_once_and_works(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    minted = _mint(client, admin, name="chatter-ana", role="operator")
    assert minted["key"].startswith(minted["prefix"])
    assert (minted["role"], minted["expires_at"], minted["revoked_at"]) == ("operator", None, None)
    assert client.get("/v1/accounts", headers={"X-API-Key": minted["key"]}).status_code == 200
    listed = client.get("/v1/keys", headers=admin).json()["items"]
    shown = next(key for key in listed if key["id"] == minted["id"])
    assert "key" not in shown and "key_hash" not in shown
    assert audit_actions(db, "api_key", minted["id"]) == [("api_key.created", "admin")]


def test_a_revoked_key_stops_at_once_and_leaves_the_default_listing(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    minted = _mint(client, admin, name="leaver", role="operator")
    revoked = client.post(f"/v1/keys/{minted['id']}/revoke", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/v1/accounts", headers={"X-API-Key": minted["key"]}).status_code == 401
    active = {key["id"] for key in client.get("/v1/keys", headers=admin).json()["items"]}
    every = client.get("/v1/keys", headers=admin, params={"include_revoked": True}).json()
    assert minted["id"] not in active
    assert minted["id"] in {key["id"] for key in every["items"]}
    assert audit_actions(db, "api_key", minted["id"])[-1] == ("api_key.revoked", "admin")


def test_revoking_twice_or_an_unknown_key_or_ones_own_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    minted = _mint(client, admin, name="twice", role="worker")
    client.post(f"/v1/keys/{minted['id']}/revoke", headers=admin)
    again = client.post(f"/v1/keys/{minted['id']}/revoke", headers=admin)
    assert (again.status_code, again.json()["detail"]) == (
        409,
        f"api key {minted['id']} is already revoked",
    )
    missing = client.post("/v1/keys/99999/revoke", headers=admin)
    assert (missing.status_code, missing.json()["detail"]) == (404, "api key 99999 not found")
    mine = next(
        key["id"]
        for key in client.get("/v1/keys", headers=admin).json()["items"]
        if key["name"] == "admin"
    )
    own = client.post(f"/v1/keys/{mine}/revoke", headers=admin)
    assert own.status_code == 409
    assert own.json()["detail"] == "a key cannot revoke itself; use another admin key"


def test_a_key_with_an_expiry_stops_working_once_it_passes(
    client: TestClient, admin: dict[str, str], db: Database
) -> None:
    minted = _mint(client, admin, name="temp", role="operator", expires_in_days=30)
    assert minted["expires_at"] is not None
    assert client.get("/v1/accounts", headers={"X-API-Key": minted["key"]}).status_code == 200
    with db.session() as session:
        session.get_one(ApiKey, minted["id"]).expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    expired = client.get("/v1/accounts", headers={"X-API-Key": minted["key"]})
    assert expired.status_code == 401


def test_bad_key_bodies_name_the_field(client: TestClient, admin: dict[str, str]) -> None:
    for body, field in (
        ({"name": "x", "role": "overlord"}, "role"),
        ({"name": "", "role": "operator"}, "name"),
        ({"name": "x", "role": "operator", "expires_in_days": 0}, "expires_in_days"),
        ({"role": "operator"}, "name"),
    ):
        response = client.post("/v1/keys", headers=admin, json=body)
        assert response.status_code == 422, (body, response.text)
        assert [error["loc"] for error in response.json()["errors"]] == [["body", field]], body


def test_a_taken_name_is_a_conflict(client: TestClient, admin: dict[str, str]) -> None:
    _mint(client, admin, name="dup", role="operator")
    again = client.post("/v1/keys", headers=admin, json={"name": "dup", "role": "admin"})
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "an api key named 'dup' already exists",
    )


def test_keys_are_listed_a_page_at_a_time(client: TestClient, admin: dict[str, str]) -> None:
    for n in range(3):
        _mint(client, admin, name=f"paged-{n}", role="worker")
    first = client.get("/v1/keys", headers=admin, params={"limit": 2}).json()
    rest = client.get(
        "/v1/keys", headers=admin, params={"limit": 50, "cursor": first["next_cursor"]}
    ).json()
    names = [key["name"] for key in first["items"] + rest["items"]]
    assert names == ["admin", "operator", "worker", "paged-0", "paged-1", "paged-2"]
