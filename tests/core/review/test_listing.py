"""The approval queue as operators list it: overdue fans first, then by priority, with each
draft's wait, and filters by status, blocked, tier and kind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from tests.helpers.api import ApiKeys
from tests.helpers.drafts import drafted
from tests.helpers.scraped import conv, ingest, msg
from tests.helpers.seeding import DraftFor, Line, seed


def test_queue_order_wait_and_filters(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    now = utcnow()
    patient = {"response_target_s": 7 * 24 * 3600}  # scaled: 100 minutes
    # Default target (300 s, scaled to 3 s): ten minutes is overdue.
    late = seed(db, [Line("inbound", "hello?")], start=now - timedelta(minutes=10))
    whale = seed(
        db, [Line("inbound", "hi")], spend_cents=60_000, policy=patient, start=now, fan_name="W"
    )
    tipper = seed(
        db, [Line("inbound", "for you", tip_cents=500)], policy=patient, start=now, fan_name="T"
    )
    plain = seed(db, [Line("inbound", "hey")], policy=patient, start=now, fan_name="P")
    ids = {
        name: drafted(draft_for, seeded.last)
        for name, seeded in (("plain", plain), ("tipper", tipper), ("whale", whale), ("late", late))
    }
    operator = api_keys.headers("operator")

    queue = client.get("/v1/drafts", headers=operator).json()
    assert queue["total"] == 4
    by_id = {d["id"]: d for d in queue["items"]}
    assert [d["id"] for d in queue["items"]] == [
        ids["late"],
        ids["whale"],
        ids["tipper"],
        ids["plain"],
    ]
    first = by_id[ids["late"]]
    assert first["overdue"] is True
    assert 590 < first["waiting_s"] < 900
    assert not any(by_id[ids[n]]["overdue"] for n in ("whale", "tipper", "plain"))
    assert by_id[ids["whale"]]["fan_tier"] == "top"
    assert by_id[ids["tipper"]]["kind"] == "tip_thanks"
    assert by_id[ids["whale"]]["priority"] > by_id[ids["tipper"]]["priority"]
    assert by_id[ids["tipper"]]["priority"] > by_id[ids["plain"]]["priority"]
    single = client.get(f"/v1/drafts/{ids['late']}", headers=operator).json()
    assert single["overdue"] is True

    def listed(query: str) -> list[int]:
        response = client.get(f"/v1/drafts?{query}", headers=operator)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["items"]]

    assert listed("tier=top") == [ids["whale"]]
    assert listed("tier=none") == [ids["late"], ids["tipper"], ids["plain"]]
    assert listed("tier=mid") == []
    assert listed("kind=tip_thanks") == [ids["tipper"]]
    assert listed(f"account_id={plain.account_id}") == [ids["plain"]]
    assert listed("limit=2&offset=1") == [ids["whale"], ids["tipper"]]
    bad = client.get("/v1/drafts?tier=gold", headers=operator)
    assert bad.status_code == 422
    assert "query.tier: Input should be" in bad.json()["detail"]

    # A decided draft's wait stops at its decision and is never overdue.
    client.post(f"/v1/drafts/{ids['late']}/approve", headers=operator, json={})
    [approved] = client.get("/v1/drafts?status=approved", headers=operator).json()["items"]
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
