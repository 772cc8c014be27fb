"""Bad input gets a 4xx whose `detail` names the field and the problem."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.helpers.api import concrete
from tests.helpers.scraped import conv, ingest, msg

LONG = "x" * 5001

# For every route that takes a body: (bad body, text the 422 detail must contain).
BAD_BODIES: dict[tuple[str, str], list[tuple[Any, str]]] = {
    ("POST", "/v1/campaigns"): [
        ({"name": "x", "variants": []}, "body.variants: List should have at least 1 item"),
        (
            {"name": "x", "segment_id": 1, "variants": [{"name": "A", "text": "hi", "share": 90}]},
            "the variants' shares must add up to 100",
        ),
        (
            {
                "name": "x",
                "segment_id": 1,
                "local_send_at": "2030-06-07T20:00:00Z",
                "variants": [{"name": "A", "text": "hi", "share": 100}],
            },
            "body.local_send_at: Input should not have timezone info",
        ),
    ],
    ("POST", "/v1/segments"): [
        ({"filter": {}}, "body.name: Field required"),
        ({"name": "\u200b", "filter": {}}, "body.name: Value error, must contain something"),
        ({"name": "x", "filter": {"tier": "whale"}}, "body.filter.tier: Input should be"),
    ],
    ("PATCH", "/v1/segments/{segment_id}"): [
        ({}, "body: nothing to change"),
        ({"filter": {"q": ""}}, "body.filter.q: String should have at least 1 character"),
    ],
    ("PATCH", "/v1/fans/{fan_id}"): [
        ({}, "body: nothing to change"),
        ({"tags": ["ok", "a;b"]}, "body.tags.1: String should match pattern"),
        ({"notes": 5}, "body.notes: Input should be a valid string"),
        ({"tags": ["a"], "add_tags": ["b"]}, "not both"),
        ({"colour": "red"}, "body.colour: Extra inputs are not permitted"),
    ],
    ("POST", "/v1/keys"): [
        ({"name": "k", "role": "overlord"}, "body.role: Input should be 'admin'"),
        ({"role": "operator"}, "body.name: Field required"),
        ({"name": "k", "role": "worker", "expires_in_days": 0}, "body.expires_in_days: Input"),
    ],
    ("POST", "/v1/accounts"): [
        ({"name": "", "username": "u", "password": "p"}, "body.name: String should have at least"),
        ({"name": "A", "username": "u"}, "body.password: Field required"),
        ({"name": "A", "username": "u", "password": "p", "pasword": "x"}, "body.pasword: Extra"),
        (
            {"name": "A", "username": "u", "password": "p", "persona": {"tone": "angry"}},
            "body.persona.tone: Input should be 'warm', 'playful', 'flirty' or 'professional'",
        ),
        ({"name": "A", "username": "u", "password": "p", "base_url": "ftp://x"}, "body.base_url"),
        ({"name": "A", "username": "u", "password": "p", "profile": "../etc"}, "body.profile"),
        (
            {"name": "A", "username": "u", "password": "p", "time_zone": "Europe/Atlantis"},
            "body.time_zone: Value error, 'Europe/Atlantis' is not a time zone",
        ),
        (
            {"name": "A", "username": "u", "password": "p", "policy": {"nudges": "often"}},
            "body.policy.nudges: Input should be a valid boolean",
        ),
        (
            {
                "name": "A",
                "username": "u",
                "password": "p",
                "persona": {"ppv_prices": {"top": 100_001}},
            },
            "body.persona.ppv_prices.top: Input should be less than or equal to 100000",
        ),
        (
            {
                "name": "A",
                "username": "u",
                "password": "p",
                "persona": {"ppv_prices": {"low": 3_000, "mid": 2_000}},
            },
            "body.persona.ppv_prices: Value error, the mid price (2000) is below the low price",
        ),
    ],
    ("PATCH", "/v1/accounts/{account_id}"): [
        ({}, "give at least one field to change"),
        ({"time_zone": "../../etc/passwd"}, "body.time_zone: Value error"),
        # The machine's own zone, whatever the host: not a zone a creator lives in.
        ({"time_zone": "localtime"}, "body.time_zone: Value error, 'localtime' is not"),
        ({"name": None}, "name cannot be null"),
        ({"status": "deleted"}, "body.status: Input should be"),
        ({"credentials": {"username": "u"}}, "body.credentials.password: Field required"),
        (
            {"policy": {"confidence_threshold": 101}},
            "body.policy.confidence_threshold: Input should be less than or equal to 100",
        ),
        ({"policy": {"disclosure": ""}}, "body.policy.disclosure: String should have at least"),
        ({"policy": {"auto": True}}, "body.policy.auto: Extra inputs are not permitted"),
        (
            {"policy": {"daily_spend_cap_cents": 0}},
            "body.policy.daily_spend_cap_cents: Input should be greater than 0",
        ),
        (
            {"policy": {"follow_up_after_h": 72, "re_engage_after_days": 3}},
            "body.policy.re_engage_after_days: Value error, 3 days must be longer than "
            "follow_up_after_h (72 hours)",
        ),
    ],
    ("POST", "/v1/sweeps"): [
        ({}, "give either account_id or all: true"),
        ({"account_id": 1, "all": True}, "give either account_id or all: true"),
        ({"account_id": 0}, "body.account_id: Input should be greater than or equal to 1"),
    ],
    ("POST", "/v1/drafts/{draft_id}/approve"): [
        ({"text": ""}, "body.text: String should have at least 1 character"),
        ({"text": "   "}, "body.text: Value error, must contain something visible"),
        ({"text": "\u200b\u200d\ufe0f"}, "body.text: Value error, must contain something visible"),
        ({"text": LONG}, "body.text: String should have at most 5000 characters"),
        ({"variant": -1}, "body.variant: Input should be greater than or equal to 0"),
        ({"variant": 5}, "body.variant: Input should be less than 5"),
    ],
    ("POST", "/v1/drafts/approve"): [
        ({}, "body.ids: Field required"),
        ({"ids": []}, "body.ids: List should have at least 1 item"),
        ({"ids": [1, 1]}, "body.ids: Value error, ids must not repeat"),
        ({"ids": [0]}, "body.ids.0: Input should be greater than or equal to 1"),
        ({"ids": list(range(1, 102))}, "body.ids: List should have at most 100 items"),
    ],
    ("POST", "/v1/drafts/{draft_id}/redraft"): [
        ({"variants": 0}, "body.variants: Input should be greater than or equal to 1"),
        ({"variants": 6}, "body.variants: Input should be less than or equal to 5"),
        ({"variants": "many"}, "body.variants: Input should be a valid integer"),
        ({"count": 2}, "body.count: Extra inputs are not permitted"),
    ],
    ("POST", "/v1/drafts/{draft_id}/reject"): [
        ({}, "body.reason: Field required"),
        ({"reason": "  "}, "body.reason: String should have at least 1 character"),
        ({"reason": "\u200b\u2060"}, "body.reason: Value error, must contain something visible"),
    ],
    ("POST", "/v1/sends/bulk"): [
        (
            {"conversation_ids": [], "text": "hi"},
            "body.conversation_ids: List should have at least",
        ),
        ({"conversation_ids": [1]}, "body.text: Field required"),
    ],
    ("POST", "/v1/sends/requeue"): [
        ({"ids": []}, "body.ids: List should have at least 1 item"),
        ({"ids": ["x"]}, "body.ids.0: Input should be a valid integer"),
    ],
    ("POST", "/v1/worker/sends/{send_id}/throttled"): [
        (
            {"worker_id": "w", "signal": "429", "backoff_s": -1, "signals_in_window": 1},
            "body.backoff_s: Input should be greater than or equal to 0",
        ),
        ({"worker_id": "w", "signal": "429", "backoff_s": 1}, "body.signals_in_window: Field"),
    ],
    ("POST", "/v1/worker/sweeps/{sweep_id}/throttled"): [
        (
            {"worker_id": "w", "signal": "429", "backoff_s": 1, "signals_in_window": 0},
            "body.signals_in_window: Input should be greater than or equal to 1",
        ),
        ({"signal": "429", "backoff_s": 1, "signals_in_window": 1}, "body.worker_id: Field"),
    ],
    ("POST", "/v1/worker/accounts/{account_id}/login-rejected"): [
        ({}, "body.worker_id: Field required"),
        ({"worker_id": "w", "send_id": 0}, "body.send_id: Input should be greater than or equal"),
    ],
    ("POST", "/v1/worker/heartbeat"): [
        ({}, "body.worker_id: Field required"),
        ({"worker_id": "w", "host": "h", "pid": 0, "rss_bytes": 1}, "body.pid: Input should be"),
    ],
    ("POST", "/v1/sends"): [
        ({"conversation_id": 1}, "body.text: Field required"),
        ({"conversation_id": 1, "text": LONG}, "body.text: String should have at most"),
        (
            {"conversation_id": 1, "text": "hi", "ppv_price_cents": -5},
            "body.ppv_price_cents: Input should be greater than or equal to 0",
        ),
        ({"conversation_id": "one", "text": "hi"}, "body.conversation_id: Input should be"),
    ],
    ("POST", "/v1/worker/sweeps/{sweep_id}/start"): [
        ({}, "body.worker_id: Field required"),
        ({"worker_id": ""}, "body.worker_id: String should have at least 1 character"),
    ],
    ("POST", "/v1/worker/sweeps/{sweep_id}/result"): [
        ({"status": "finished"}, "body.status: Input should be"),
        ({"status": "done", "messages_found": -1}, "body.messages_found: Input should be greater"),
    ],
    ("POST", "/v1/worker/ingest"): [
        ({"account_id": 1, "conversations": []}, "body.conversations: List should have at least"),
        (
            {"account_id": 1, "conversations": [conv("c", [msg("m", "sideways", 0)])]},
            "body.conversations.0.messages.0.direction: Input should be 'inbound' or 'outbound'",
        ),
        (
            {"account_id": 1, "conversations": [conv("c", [{"platform_message_id": "m"}])]},
            "body.conversations.0.messages.0.sent_at: Field required",
        ),
    ],
    ("POST", "/v1/worker/sends/{send_id}/claim"): [
        ({}, "body.worker_id: Field required"),
        (
            {"worker_id": "w1", "attempt": 0},
            "body.attempt: Input should be greater than or equal to 1",
        ),
    ],
    ("POST", "/v1/worker/sends/{send_id}/progress"): [
        ({"worker_id": "w1", "status": "typed"}, "body.status: Input should be"),
    ],
    ("POST", "/v1/worker/sends/{send_id}/result"): [
        ({"worker_id": "w1"}, "body.status: Field required"),
        ({"worker_id": "w1", "status": "failed", "error": LONG}, "body.error: String should"),
    ],
    ("POST", "/v1/worker/accounts/{account_id}/secrets"): [
        ({}, "body.worker_id: Field required"),
        ({"worker_id": ""}, "body.worker_id: String should have at least 1 character"),
    ],
    ("PUT", "/v1/worker/accounts/{account_id}/session"): [
        ({"storage_state": "cookies"}, "body.storage_state: Input should be a valid dictionary"),
        ({}, "body.storage_state: Field required"),
    ],
}


def _unbounded(
    spec: dict[str, Any], schema: dict[str, Any], where: str, seen: frozenset[str]
) -> list[str]:
    """Where `schema` lets a client send a string or a list of any length."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        if name in seen:
            return []
        return _unbounded(spec, spec["components"]["schemas"][name], name, seen | {name})
    found = [
        hit
        for key in ("anyOf", "oneOf", "allOf")
        for part in schema.get(key, [])
        for hit in _unbounded(spec, part, where, seen)
    ]
    kind = schema.get("type")
    closed = {"maxLength", "enum", "const"} & set(schema) or schema.get("format") == "date-time"
    if kind == "string" and not closed:
        found.append(f"{where}: string")
    if kind == "array":
        found += [] if "maxItems" in schema else [f"{where}: list"]
        found += _unbounded(spec, schema.get("items", {}), f"{where}[]", seen)
    for name, field in schema.get("properties", {}).items():
        found += _unbounded(spec, field, f"{where}.{name}", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        found += _unbounded(spec, schema["additionalProperties"], f"{where}{{}}", seen)
    return found


def test_every_string_and_list_a_client_sends_is_bounded(app: FastAPI) -> None:
    # Free-form JSON (a browser session, a sweep's artifacts) is bounded by the body limit.
    spec = app.openapi()
    found = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                found += _unbounded(
                    spec, parameter["schema"], f"{where} {parameter['name']}", frozenset()
                )
            for media in operation.get("requestBody", {}).get("content", {}).values():
                found += _unbounded(spec, media["schema"], f"{where} body", frozenset())
    assert found == []


def test_every_route_with_a_body_is_covered(app: FastAPI) -> None:
    # The console's HTML forms answer on the form, not in JSON (`test_console`).
    with_body = {
        (method, route.path_format)
        for route in iter_route_contexts(app.routes)
        if getattr(route, "body_field", None) is not None
        and not route.path_format.startswith("/console")
        for method in route.methods or ()
    }
    assert with_body == set(BAD_BODIES)


def test_bad_bodies_are_named_in_the_detail(
    client: TestClient, admin: dict[str, str], worker: dict[str, str]
) -> None:
    for (method, path), cases in BAD_BODIES.items():
        # Worker routes take worker keys only; every other route an admin's.
        headers = worker if path.startswith("/v1/worker/") else admin
        for body, expected in cases:
            response = client.request(method, concrete(path), headers=headers, json=body)
            assert response.status_code == 422, (method, path, body, response.text)
            payload = response.json()
            assert expected in payload["detail"], (method, path, payload["detail"])
            assert payload["errors"] and all("loc" in e and "msg" in e for e in payload["errors"])


def test_rejected_input_is_not_echoed(client: TestClient, admin: dict[str, str]) -> None:
    body = {"name": "A", "username": "u", "password": "p" * 501}
    response = client.post("/v1/accounts", headers=admin, json=body)
    assert response.status_code == 422
    assert "ppppp" not in response.text
    assert "body.password: String should have at most 500 characters" in response.json()["detail"]


def test_malformed_json_and_missing_body(client: TestClient, admin: dict[str, str]) -> None:
    response = client.post(
        "/v1/sends", headers={**admin, "Content-Type": "application/json"}, content=b"{nope"
    )
    assert response.status_code == 422
    assert "JSON decode error" in response.json()["detail"]
    response = client.post("/v1/sends", headers=admin)
    assert response.status_code == 422
    assert response.json()["detail"] == "body: Field required"


def test_bad_query_and_path_parameters(client: TestClient, admin: dict[str, str]) -> None:
    cases = [
        ("/v1/sends?limit=0", "query.limit: Input should be greater than or equal to 1"),
        ("/v1/sends?limit=201", "query.limit: Input should be less than or equal to 200"),
        ("/v1/conversations?cursor=a.b", "query.cursor: String should match pattern"),
        ("/v1/sends?cursor=WzEsMl0", "query.cursor: not a cursor this listing wrote"),
        ("/v1/sends?status=lost", "query.status: Input should be"),
        ("/v1/drafts?status=maybe", "query.status: Input should be"),
        ("/v1/sweeps?account_id=abc", "query.account_id: Input should be a valid integer"),
        ("/v1/accounts/0", "path.account_id: Input should be greater than or equal to 1"),
        ("/v1/accounts/2147483648", "path.account_id: Input should be less than or equal to"),
    ]
    for url, expected in cases:
        response = client.get(url, headers=admin)
        assert response.status_code == 422, url
        assert expected in response.json()["detail"], (url, response.json())


def test_a_literal_path_wins_over_an_id(client: TestClient, admin: dict[str, str]) -> None:
    # Ids are integers in the route itself: "approve" is never taken for a draft id.
    assert client.get("/v1/drafts/approve", headers=admin).status_code == 405
    assert client.post("/v1/drafts/approve", headers=admin, json={}).status_code == 422
    assert client.get("/v1/sends/abc", headers=admin).status_code == 404


def test_unknown_ids_are_404_with_the_id(
    client: TestClient, admin: dict[str, str], worker: dict[str, str]
) -> None:
    cases = [
        ("GET", "/v1/sends/42", None, "send 42 not found"),
        ("GET", "/v1/accounts/42", None, "account 42 not found"),
        ("PATCH", "/v1/accounts/42", {"name": "x"}, "account 42 not found"),
        ("GET", "/v1/sweeps/42", None, "sweep 42 not found"),
        ("GET", "/v1/drafts/42", None, "draft 42 not found"),
        ("GET", "/v1/conversations/42", None, "conversation 42 not found"),
        ("GET", "/v1/conversations/42/messages", None, "conversation 42 not found"),
        ("POST", "/v1/drafts/42/approve", {}, "draft 42 not found"),
        ("POST", "/v1/drafts/42/reject", {"reason": "no"}, "draft 42 not found"),
        ("POST", "/v1/drafts/42/redraft", {}, "draft 42 not found"),
        ("POST", "/v1/sends", {"conversation_id": 42, "text": "hi"}, "conversation 42 not found"),
        ("POST", "/v1/sweeps", {"account_id": 42}, "account 42 not found"),
    ]
    worker_cases = [
        ("POST", "/v1/worker/sends/42/claim", {"worker_id": "w"}, "send 42 not found"),
        (
            "POST",
            "/v1/worker/sends/42/progress",
            {"worker_id": "w", "status": "typing"},
            "send 42 not found",
        ),
        (
            "POST",
            "/v1/worker/sends/42/result",
            {"worker_id": "w", "status": "failed"},
            "send 42 not found",
        ),
        ("POST", "/v1/worker/sweeps/42/start", {"worker_id": "w"}, "sweep 42 not found"),
        ("POST", "/v1/worker/sweeps/42/result", {"status": "done"}, "sweep 42 not found"),
        ("POST", "/v1/worker/accounts/42/secrets", {"worker_id": "w"}, "account 42 not found"),
        ("PUT", "/v1/worker/accounts/42/session", {"storage_state": {}}, "account 42 not found"),
        (
            "POST",
            "/v1/worker/ingest",
            {"account_id": 42, "conversations": [conv("c", [])]},
            "account 42 not found",
        ),
    ]
    for headers, group in ((admin, cases), (worker, worker_cases)):
        for method, url, body, expected in group:
            response = client.request(method, url, headers=headers, json=body)
            assert response.status_code == 404, (method, url, response.text)
            assert response.json() == {"detail": expected}


def test_ingest_with_another_accounts_sweep_is_a_conflict(
    client: TestClient, admin: dict[str, str], worker: dict[str, str], account: dict[str, Any]
) -> None:
    other = client.post(
        "/v1/accounts", headers=admin, json={"name": "B", "username": "b", "password": "p"}
    ).json()
    sweep = client.post("/v1/sweeps", headers=admin, json={"account_id": other["id"]}).json()[0]
    body = {"account_id": account["id"], "sweep_id": sweep["id"], "conversations": [conv("c", [])]}
    response = client.post("/v1/worker/ingest", headers=worker, json=body)
    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"sweep {sweep['id']} belongs to account {other['id']}, not {account['id']}"
    )
    assert ingest(client, worker, other["id"], [conv("c", [])], sweep["id"])["inserted"] == 0
