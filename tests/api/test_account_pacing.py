"""`GET /v1/accounts/{id}/pacing` and per-account pacing overrides."""

from __future__ import annotations

from fastapi.testclient import TestClient
from redis import Redis

from core.fleet.pacing import Pacer
from core.platform.profiles import PacingProfile
from tests.helpers.api import ApiKeys
from tests.helpers.stores import TEST_KEY_PREFIX


def _account(client: TestClient, keys: ApiKeys, **extra: object) -> dict:
    body = {"name": "A", "username": "a", "password": "pw", **extra}
    response = client.post("/v1/accounts", json=body, headers=keys.headers("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def test_pacing_shows_profile_budgets_overrides_and_use(
    client: TestClient, api_keys: ApiKeys, redis: Redis
) -> None:
    # A gap of 4 real seconds: long enough that a busy machine still reads it running.
    account = _account(client, api_keys, pacing={"sends_per_hour": 30, "min_send_gap_s": 400})
    assert account["pacing"] == {
        "min_send_gap_s": 400,
        "sends_per_hour": 30,
        "actions_per_minute": None,
        "daily_send_cap": None,
    }
    budgets = PacingProfile(sends_per_hour=30, min_send_gap_s=400)
    pacer = Pacer(redis, TEST_KEY_PREFIX, 0.01)
    assert pacer.reserve(account["id"], "send", budgets) == 0.0

    view = client.get(f"/v1/accounts/{account['id']}/pacing", headers=api_keys.headers("operator"))
    assert view.status_code == 200, view.text
    body = view.json()
    assert body["budgets"]["sends_per_hour"] == 30
    assert body["budgets"]["daily_send_cap"] == 1000  # the sandbox profile's default
    assert body["overrides"]["sends_per_hour"] == 30
    assert body["used"] == {"sends_last_hour": 1, "sends_last_day": 1, "actions_last_minute": 1}
    assert 0 < body["next_send_in_s"] <= 400 * 0.01
    assert body["time_scale"] == 0.01


def test_overrides_are_validated_and_patchable(client: TestClient, api_keys: ApiKeys) -> None:
    bad = client.post(
        "/v1/accounts",
        json={"name": "A", "username": "a", "password": "pw", "pacing": {"sends_per_hour": 0}},
        headers=api_keys.headers("admin"),
    )
    assert bad.status_code == 422
    assert "pacing.sends_per_hour" in bad.text
    unknown = client.post(
        "/v1/accounts",
        json={"name": "A", "username": "a", "password": "pw", "pacing": {"speed": 3}},
        headers=api_keys.headers("admin"),
    )
    assert unknown.status_code == 422
    account = _account(client, api_keys)
    patched = client.patch(
        f"/v1/accounts/{account['id']}",
        json={"pacing": {"min_send_gap_s": 10}},
        headers=api_keys.headers("admin"),
    )
    assert patched.status_code == 200, patched.text
    view = client.get(f"/v1/accounts/{account['id']}/pacing", headers=api_keys.headers("operator"))
    assert view.json()["budgets"]["min_send_gap_s"] == 10
    missing = client.get("/v1/accounts/999/pacing", headers=api_keys.headers("operator"))
    assert missing.status_code == 404
