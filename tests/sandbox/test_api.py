"""The pages' JSON API over HTTP: sessions, validation, and the send guards."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from tests.helpers.sandbox import Sandbox, SandboxAccount

TYPED = [{"t_ms": float(i), "graphemes": 1, "input_type": "insertText"} for i in range(5)]


@contextmanager
def logged_in_client(sandbox: Sandbox, account: SandboxAccount) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10) as client:
        form = {"username": account.username, "password": account.password}
        assert client.post("/login", data=form).status_code == 303
        yield client


def test_json_endpoints_answer_401_without_a_session(sandbox: Sandbox) -> None:
    sandbox.create_account("alice")
    fan = sandbox.create_fan("alice", "Jane")
    path = f"/api/conversations/{fan.conversation_id}/messages"
    assert sandbox.request("GET", "/api/conversations").status_code == 401
    assert sandbox.request("GET", path).status_code == 401
    sent = sandbox.request("POST", path, json={"text": "hello", "cadence": TYPED})
    assert sent.status_code == 401
    assert sandbox.delivered() == []


def test_pages_redirect_to_login_with_next(sandbox: Sandbox) -> None:
    response = sandbox.request("GET", "/chat/c1?x=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fchat%2Fc1%3Fx%3D1"


def test_login_redirect_stays_on_site(sandbox: Sandbox) -> None:
    alice = sandbox.create_account("alice")
    with httpx.Client(base_url=sandbox.url) as client:
        form = {"username": "alice", "password": alice.password, "next": "//evil.example/"}
        response = client.post("/login", data=form)
    assert response.headers["location"] == "/inbox"


def test_cookie_is_http_only_with_an_expiry(sandbox: Sandbox) -> None:
    alice = sandbox.create_account("alice")
    with httpx.Client(base_url=sandbox.url) as client:
        form = {"username": "alice", "password": alice.password}
        cookie = client.post("/login", data=form).headers["set-cookie"]
    assert cookie.startswith("sbx_session=")
    assert "HttpOnly" in cookie and "Max-Age=86400" in cookie and "expires=" in cookie


def test_other_accounts_conversations_are_404(sandbox: Sandbox) -> None:
    alice = sandbox.create_account("alice")
    sandbox.create_account("bob")
    bobs = sandbox.create_fan("bob", "Jane")
    with logged_in_client(sandbox, alice) as client:
        path = f"/api/conversations/{bobs.conversation_id}/messages"
        assert client.get(path).status_code == 404
        assert client.post(path, json={"text": "hi", "cadence": TYPED}).status_code == 404
        assert client.get(f"/chat/{bobs.conversation_id}").status_code == 404
        assert client.get("/api/conversations", params={"cursor": "garbage"}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"text": "", "cadence": TYPED},
        {"text": "   \n ", "cadence": TYPED},
        {"text": "hi", "ppv_price_cents": 5, "cadence": TYPED},
        {"text": "hi", "cadence": [{"t_ms": 1, "graphemes": -1, "input_type": "insertText"}]},
        {"text": "hi", "cadence": TYPED, "to": "everyone"},
        {"text": "hi", "cadence": TYPED, "media": ["v999"]},
        {"text": "hi", "cadence": TYPED, "media": ["not-an-id"]},
    ],
)
def test_bad_sends_are_422(sandbox: Sandbox, body: dict) -> None:
    alice = sandbox.create_account("alice")
    fan = sandbox.create_fan(alice, "Jane")
    with logged_in_client(sandbox, alice) as client:
        path = f"/api/conversations/{fan.conversation_id}/messages"
        assert client.post(path, json=body).status_code == 422
    assert sandbox.delivered() == []


def test_a_send_records_the_vault_items_it_carries(sandbox: Sandbox) -> None:
    alice = sandbox.create_account("alice")
    fan = sandbox.create_fan(alice, "Jane")
    media = sandbox.add_media(alice, "Set one")
    with logged_in_client(sandbox, alice) as client:
        assert client.get("/api/vault").json() == {"items": [{"id": media, "title": "Set one"}]}
        path = f"/api/conversations/{fan.conversation_id}/messages"
        body = {"text": "for you", "ppv_price_cents": 900, "media": [media], "cadence": TYPED}
        assert client.post(path, json=body).json()["media"] == [media]
    [sent] = sandbox.delivered(alice)
    assert (sent.media, sent.ppv_price_cents) == ([media], 900)


def test_another_accounts_vault_item_is_refused(sandbox: Sandbox) -> None:
    alice, bob = sandbox.create_account("alice"), sandbox.create_account("bob")
    fan = sandbox.create_fan(alice, "Jane")
    bobs = sandbox.add_media(bob, "Bob's set")
    with logged_in_client(sandbox, alice) as client:
        path = f"/api/conversations/{fan.conversation_id}/messages"
        answer = client.post(path, json={"text": "hi", "media": [bobs], "cadence": TYPED})
    assert answer.status_code == 422
    assert answer.json()["detail"] == f"media: no vault item {bobs!r}"


def test_racing_sends_from_one_account_deliver_once(sandbox: Sandbox) -> None:
    sandbox.set_guards(min_send_gap_s=1000)
    alice = sandbox.create_account("alice")
    fans = [sandbox.create_fan(alice, f"Fan {i}") for i in range(6)]
    with logged_in_client(sandbox, alice) as client, ThreadPoolExecutor(6) as pool:
        statuses = list(
            pool.map(
                lambda fan: (
                    client.post(
                        f"/api/conversations/{fan.conversation_id}/messages",
                        json={"text": "hello", "cadence": TYPED},
                    ).status_code
                ),
                fans,
            )
        )
    assert sorted(statuses) == [201, 429, 429, 429, 429, 429]
    assert len(sandbox.delivered(alice)) == 1
    refusals = sandbox.refusals(alice)
    assert len(refusals) == 5 and {r.reason for r in refusals} == {"min_send_gap"}


def test_refusal_says_when_to_retry(sandbox: Sandbox) -> None:
    sandbox.set_guards(min_send_gap_s=1000)
    alice = sandbox.create_account("alice")
    fan = sandbox.create_fan(alice, "Jane")
    with logged_in_client(sandbox, alice) as client:
        path = f"/api/conversations/{fan.conversation_id}/messages"
        assert client.post(path, json={"text": "hello", "cadence": TYPED}).status_code == 201
        refused = client.post(path, json={"text": "again", "cadence": TYPED})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Slow down" in refused.json()["detail"]
    [refusal] = sandbox.refusals()
    assert refusal.account == "alice" and refusal.conversation_id == fan.conversation_id
