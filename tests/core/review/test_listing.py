"""The approval queue as operators list it: overdue fans first, then by priority, with each
draft's wait, and filters by status, blocked, tier and kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from tests.helpers.api import ApiKeys
from tests.helpers.drafts import drafted
from tests.helpers.scraped import conv, ingest, msg
from tests.helpers.seeding import DraftFor, Line, Seeded, seed


@pytest.fixture
def fans(db: Database) -> dict[str, Seeded]:
    """Four fans who wrote: `late` ten minutes ago, on the default response target (300 s,
    scaled to 3 s: overdue); `whale` (a top spender), `tipper` (with a tip) and `plain`
    just now, on a target they are well within."""
    now = utcnow()
    patient = {"response_target_s": 7 * 24 * 3600}  # scaled: 100 minutes
    return {
        "late": seed(db, [Line("inbound", "hello?")], start=now - timedelta(minutes=10)),
        "whale": seed(
            db, [Line("inbound", "hi")], spend_cents=60_000, policy=patient, start=now, fan_name="W"
        ),
        "tipper": seed(
            db, [Line("inbound", "for you", tip_cents=500)], policy=patient, start=now, fan_name="T"
        ),
        "plain": seed(db, [Line("inbound", "hey")], policy=patient, start=now, fan_name="P"),
    }


@pytest.fixture
def ids(fans: dict[str, Seeded], draft_for: DraftFor) -> dict[str, int]:
    """The id of each fan's pending draft, by the fan's name in `fans`."""
    # Drafted in the reverse of the queue's order, so the order is the queue's own.
    order = ("plain", "tipper", "whale", "late")
    return {name: drafted(draft_for, fans[name].last) for name in order}


def _queue(client: TestClient, api_keys: ApiKeys, query: str = "") -> dict[str, Any]:
    response = client.get(f"/v1/drafts?{query}", headers=api_keys.headers("operator"))
    assert response.status_code == 200, response.text
    return response.json()


def _by_name(client: TestClient, api_keys: ApiKeys, ids: dict[str, int]) -> dict[str, Any]:
    """The listed drafts by their fan's name in `fans`."""
    by_id = {d["id"]: d for d in _queue(client, api_keys)["items"]}
    return {name: by_id[draft_id] for name, draft_id in ids.items()}


def test_overdue_fans_come_first_then_by_priority(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    queue = _queue(client, api_keys)
    assert queue["total"] == 4
    assert [d["id"] for d in queue["items"]] == [
        ids["late"],
        ids["whale"],
        ids["tipper"],
        ids["plain"],
    ]


def test_a_fan_past_the_response_target_is_overdue_for_as_long_as_they_waited(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    listed = _by_name(client, api_keys, ids)
    assert listed["late"]["overdue"] is True
    assert 590 < listed["late"]["waiting_s"] < 900
    assert not any(listed[name]["overdue"] for name in ("whale", "tipper", "plain"))


def test_a_single_overdue_draft_says_so_too(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    single = client.get(f"/v1/drafts/{ids['late']}", headers=api_keys.headers("operator"))
    assert single.json()["overdue"] is True


def test_the_queue_shows_each_fans_tier_and_each_drafts_kind(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    listed = _by_name(client, api_keys, ids)
    assert listed["whale"]["fan_tier"] == "top"
    assert listed["tipper"]["kind"] == "tip_thanks"


def test_a_top_spender_outranks_a_tipper_who_outranks_a_plain_fan(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    listed = _by_name(client, api_keys, ids)
    assert listed["whale"]["priority"] > listed["tipper"]["priority"]
    assert listed["tipper"]["priority"] > listed["plain"]["priority"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tier=top", ["whale"]),
        ("tier=none", ["late", "tipper", "plain"]),
        ("tier=mid", []),
        ("kind=tip_thanks", ["tipper"]),
        ("limit=2&offset=1", ["whale", "tipper"]),
    ],
)
def test_the_queue_filters_and_pages(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int], query: str, expected: list[str]
) -> None:
    listed = [d["id"] for d in _queue(client, api_keys, query)["items"]]
    assert listed == [ids[name] for name in expected]


def test_the_queue_filters_by_account(
    client: TestClient, api_keys: ApiKeys, fans: dict[str, Seeded], ids: dict[str, int]
) -> None:
    listed = _queue(client, api_keys, f"account_id={fans['plain'].account_id}")
    assert [d["id"] for d in listed["items"]] == [ids["plain"]]


def test_an_unknown_tier_is_refused(client: TestClient, api_keys: ApiKeys) -> None:
    bad = client.get("/v1/drafts?tier=gold", headers=api_keys.headers("operator"))
    assert bad.status_code == 422
    assert "query.tier: Input should be" in bad.json()["detail"]


def test_a_decided_drafts_wait_stops_at_its_decision_and_is_never_overdue(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    operator = api_keys.headers("operator")
    client.post(f"/v1/drafts/{ids['late']}/approve", headers=operator, json={})
    [approved] = _queue(client, api_keys, "status=approved")["items"]
    assert approved["overdue"] is False
    assert 590 < approved["waiting_s"] < 900


def test_drafts_filter_by_account(
    client: TestClient,
    admin: dict[str, str],
    worker: dict[str, str],
    operator: dict[str, str],
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    other = client.post(
        "/v1/accounts", headers=admin, json={"name": "B", "username": "b", "password": "p"}
    ).json()
    for account_id in (account["id"], other["id"]):
        ingest(client, worker, account_id, [conv("c", [msg("m", "inbound", 0)])])
    assert run_draft_jobs() == 2
    assert client.get("/v1/drafts", headers=operator).json()["total"] == 2
    mine = client.get(f"/v1/drafts?account_id={other['id']}", headers=operator).json()
    assert mine["total"] == 1
    conversation_id = mine["items"][0]["conversation_id"]
    owner = client.get(f"/v1/conversations/{conversation_id}", headers=operator).json()
    assert owner["account_id"] == other["id"]
