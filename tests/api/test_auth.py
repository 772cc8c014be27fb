"""Every route but the public ones needs a key, and each role reaches only its routes."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from api.app import create_app
from core.auth import revoke_key
from core.db import Database
from core.models import ApiKey
from core.settings import Settings
from tests.helpers.api import ApiKeys, MintKey, concrete

PUBLIC = {"/health"}
# The API's documentation: what it is, never what it holds (`test_docs`).
DOCS = {"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"}
# Where Prometheus looks, with a key like any caller (`test_metrics`).
METRICS = {"/metrics"}
# The console, for people signed in by a session cookie, not a key (`test_console`).
CONSOLE = {
    "/console",
    "/console/sign-in",
    "/console/sign-out",
    "/console/events",
    "/console/queue/rows",
    "/console/approve",
    "/console/fleet",
    "/console/fleet/events",
    "/console/fleet/accounts/{account_id}/resume",
    "/console/fleet/accounts/{account_id}/credentials",
    "/console/fleet/sends/requeue",
    "/console/drafts/{draft_id}/holder",
    "/console/drafts/{draft_id}",
    "/console/drafts/{draft_id}/approve",
    "/console/drafts/{draft_id}/reject",
    "/console/drafts/{draft_id}/release",
    "/console/drafts/{draft_id}/fan",
    "/console/drafts/{draft_id}/send",
    "/console/drafts/{draft_id}/check",
}
ANY_KEY = {"/v1/openapi.json"}
ADMIN_ONLY = {
    ("POST", "/v1/accounts"),
    ("PATCH", "/v1/accounts/{account_id}"),
    ("GET", "/v1/keys"),
    ("POST", "/v1/keys"),
    ("POST", "/v1/keys/{key_id}/revoke"),
    ("GET", "/v1/fans/{fan_id}/export"),
    ("GET", "/v1/fans/export"),
    ("POST", "/v1/fans/import"),
    ("GET", "/v1/sends/export"),
    ("GET", "/v1/analytics/revenue/export"),
    ("DELETE", "/v1/fans/{fan_id}"),
    ("GET", "/v1/audit"),
}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, included routers flattened."""
    found = []
    for route in iter_route_contexts(app.routes):
        for method in sorted((route.methods or set()) - {"HEAD"}):
            found.append((method, route.path_format))
    return found


def allowed_roles(method: str, path: str) -> set[str]:
    if path in ANY_KEY:
        return {"admin", "operator", "worker"}
    if path.startswith("/v1/worker/"):
        # They hand out credentials: not even an admin's key opens them.
        return {"worker"}
    if (method, path) in ADMIN_ONLY:
        return {"admin"}
    return {"admin", "operator"}


def test_only_health_docs_metrics_and_the_console_live_outside_v1(app: FastAPI) -> None:
    routes = api_routes(app)
    assert len(routes) >= 20
    outside = {path for _, path in routes if not path.startswith("/v1/")}
    assert outside == PUBLIC | DOCS | METRICS | CONSOLE


def test_schema_is_served_to_key_holders(client: TestClient, api_keys: ApiKeys) -> None:
    schema = client.get("/v1/openapi.json", headers=api_keys.headers("worker")).json()
    assert "/v1/drafts/{draft_id}/approve" in schema["paths"]


def test_every_v1_route_refuses_a_missing_or_bad_key(app: FastAPI, client: TestClient) -> None:
    for method, path in api_routes(app):
        if not path.startswith("/v1/"):
            continue
        url = concrete(path)
        response = client.request(method, url)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "missing API key" in response.json()["detail"]
        for headers in ({"Authorization": "Bearer ifk_nope"}, {"X-API-Key": "garbage"}):
            response = client.request(method, url, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["detail"] == "invalid or revoked API key"


def test_each_role_reaches_only_its_routes(
    app: FastAPI, client: TestClient, api_keys: ApiKeys
) -> None:
    for method, path in api_routes(app):
        if not path.startswith("/v1/"):
            continue
        for role in ("admin", "operator", "worker"):
            response = client.request(method, concrete(path), headers=api_keys.headers(role))
            if role in allowed_roles(method, path):
                assert response.status_code not in (401, 403), (role, method, path)
            else:
                assert response.status_code == 403, (role, method, path, response.text)
                assert f"the {role} role may not use this route" in response.json()["detail"]


def test_health_needs_no_key(client: TestClient) -> None:
    assert client.get("/health").status_code == 200


def test_x_api_key_header_is_accepted(client: TestClient, api_keys: ApiKeys) -> None:
    response = client.get("/v1/accounts", headers={"X-API-Key": api_keys.operator})
    assert response.status_code == 200


def test_revoked_key_stops_working(client: TestClient, db: Database, mint_key: MintKey) -> None:
    key = mint_key("operator", "leaver")
    assert client.get("/v1/accounts", headers={"X-API-Key": key}).status_code == 200
    with db.session() as session:
        key_id = session.query(ApiKey.id).filter_by(name="leaver").scalar()
        revoke_key(session, key_id, actor="admin")
    response = client.get("/v1/accounts", headers={"X-API-Key": key})
    assert response.status_code == 401


def test_only_hashes_are_stored(db: Database, api_keys: ApiKeys) -> None:
    with db.session() as session:
        rows = session.query(ApiKey).all()
    stored = {value for row in rows for value in (row.key_hash, row.prefix, row.name)}
    assert api_keys.admin not in stored
    assert all(len(row.key_hash) == 64 for row in rows)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_worker_token_setting_is_a_worker_key(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"worker_token": "tok-from-env-123"}))
    with TestClient(app) as client:
        headers = {"Authorization": "Bearer tok-from-env-123"}
        secrets = client.post(
            "/v1/worker/accounts/1/secrets", headers=headers, json={"worker_id": "w"}
        )
        assert secrets.status_code == 404
        assert client.get("/v1/accounts", headers=headers).status_code == 403
