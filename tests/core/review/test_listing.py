"""The approval queue as operators list it: overdue fans first, then by priority, with each
draft's wait, and filters by status, blocked, tier and kind."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.clock import epoch_ms, utcnow
from core.db import Database
from core.drafting.fan import SpendTier
from core.enums import Direction, DraftKind, DraftStatus
from core.models import Conversation, Draft, Message
from core.priority import is_overdue, priority, waited_ms
from core.review import listing
from core.settings import Settings
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
    assert len(queue["items"]) == 4
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


def test_the_overdue_list_holds_only_the_fans_waiting_past_their_target(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    overdue = _queue(client, api_keys, "overdue=true")
    assert ([d["id"] for d in overdue["items"]], overdue["next_cursor"]) == ([ids["late"]], None)
    refused = client.get(
        "/v1/drafts?overdue=true&status=approved", headers=api_keys.headers("operator")
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["query", "overdue"]


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
        ("blocked=true", []),
        ("limit=2", ["late", "whale"]),
    ],
)
def test_the_queue_filters(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int], query: str, expected: list[str]
) -> None:
    listed = [d["id"] for d in _queue(client, api_keys, query)["items"]]
    assert listed == [ids[name] for name in expected]


def _walk(client: TestClient, api_keys: ApiKeys, query: str) -> list[list[int]]:
    """Every page of the queue for `query`, by cursor, as lists of ids."""
    pages, cursor = [], None
    while True:
        page = _queue(client, api_keys, query + (f"&cursor={cursor}" if cursor else ""))
        pages.append([d["id"] for d in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize("limit", [1, 2, 3, 4])
def test_a_cursor_walks_the_queue_once_in_order(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int], limit: int
) -> None:
    pages = _walk(client, api_keys, f"limit={limit}")
    order = [ids[name] for name in ("late", "whale", "tipper", "plain")]
    assert pages == [order[i : i + limit] for i in range(0, 4, limit)]


def test_a_draft_decided_between_pages_moves_nothing_else(
    client: TestClient, api_keys: ApiKeys, ids: dict[str, int]
) -> None:
    first = _queue(client, api_keys, "limit=2")
    client.post(f"/v1/drafts/{ids['late']}/approve", headers=api_keys.headers("operator"), json={})
    rest = _queue(client, api_keys, f"limit=2&cursor={first['next_cursor']}")
    assert [d["id"] for d in rest["items"]] == [ids["tipper"], ids["plain"]]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor", ["x", "bm90IGpzb24", "WzEsMiwzXQ", "WyJhIix0cnVlLDEsMiwzXQ", "a" * 401, "a%00b"]
)
def test_a_cursor_the_service_did_not_write_is_refused_by_name(
    client: TestClient, api_keys: ApiKeys, cursor: str
) -> None:
    bad = client.get(f"/v1/drafts?cursor={cursor}", headers=api_keys.headers("operator"))
    assert bad.status_code == 422, bad.text
    assert bad.json()["errors"][0]["loc"] == ["query", "cursor"]


def test_a_shorter_response_target_sends_a_waiting_fan_up_the_queue(
    client: TestClient, api_keys: ApiKeys, fans: dict[str, Seeded], ids: dict[str, int]
) -> None:
    account_id = fans["plain"].account_id
    patched = client.patch(
        f"/v1/accounts/{account_id}",
        headers=api_keys.headers("admin"),
        json={"policy": {"response_target_s": 0.001}},
    )
    assert patched.status_code == 200, patched.text
    listed = [d["id"] for d in _queue(client, api_keys)["items"]]
    # Two overdue plain replies: the longer wait first.
    assert listed == [ids["late"], ids["plain"], ids["whale"], ids["tipper"]]


def test_a_fan_who_pays_moves_up_with_the_draft_waiting_for_them(
    client: TestClient,
    admin: dict[str, str],
    worker: dict[str, str],
    operator: dict[str, str],
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    ppv = msg("offer", "outbound", 0, "for you", ppv_price_cents=6_000, ppv_paid=False)
    ingest(client, worker, account["id"], [conv("c", [ppv, msg("m", "inbound", 1)])])
    assert run_draft_jobs() == 1
    [before] = client.get("/v1/drafts", headers=operator).json()["items"]
    paid = {**ppv, "ppv_paid": True}
    ingest(client, worker, account["id"], [conv("c", [paid, msg("m", "inbound", 1)])])
    [after] = client.get("/v1/drafts", headers=operator).json()["items"]
    assert (before["fan_tier"], after["fan_tier"]) == ("none", "mid")
    assert after["priority"] > before["priority"]
    assert len(client.get("/v1/drafts?tier=mid", headers=operator).json()["items"]) == 1


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
    assert len(client.get("/v1/drafts", headers=operator).json()["items"]) == 2
    mine = client.get(f"/v1/drafts?account_id={other['id']}", headers=operator).json()
    assert len(mine["items"]) == 1
    conversation_id = mine["items"][0]["conversation_id"]
    owner = client.get(f"/v1/conversations/{conversation_id}", headers=operator).json()
    assert owner["account_id"] == other["id"]


@pytest.mark.parametrize("limit", [1, 7, 200])
def test_every_page_of_a_mixed_queue_follows_the_formula(
    db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Overdue and waiting drafts, nudges, four response targets, ties on points: paged by
    cursor in SQL, the queue is the order `core.priority.order` defines."""
    now = utcnow()
    monkeypatch.setattr(listing, "utcnow", lambda: now)
    rng = random.Random(7)
    seeded = seed(db, [Line("inbound", "hi")], start=now)
    as_of = epoch_ms(now)
    with db.session() as session:
        conversation = session.get_one(Conversation, seeded.conversation_id)
        for index in range(60):
            message = Message(
                conversation_id=conversation.id,
                platform_message_id=f"queued-{index}",
                direction=Direction.inbound,
                text="hi",
                sent_at=now,
            )
            session.add(message)
            session.flush()
            target_ms = rng.choice([60_000, 300_000, 3_600_000, 86_400_000])
            session.add(
                Draft(
                    conversation_id=conversation.id,
                    message_id=message.id,
                    account_id=conversation.account_id,
                    kind=rng.choice(list(DraftKind)),
                    text="x",
                    provider="test",
                    fan_tier=SpendTier.none,
                    queue_rank=-rng.choice([1000, 1500, 2000, 3000, rng.randrange(0, 8000)]),
                    wait_since_ms=as_of - rng.randrange(0, 2 * 86_400 * 10),
                    target_ms=target_ms,
                )
            )
        session.commit()
        drafts = session.scalars(select(Draft)).all()
        scale = settings.time_scale

        def expected_key(draft: Draft) -> tuple[bool, float, int, int]:
            waited = waited_ms(draft.wait_since_ms, as_of)
            target = draft.target_ms * scale
            exact = priority(-draft.queue_rank, waited, target)
            return (
                not is_overdue(draft.kind, waited, target),
                -exact,
                draft.wait_since_ms,
                draft.id,
            )

        expected = [draft.id for draft in sorted(drafts, key=expected_key)]

        def lane(draft: Draft) -> str:
            waited = waited_ms(draft.wait_since_ms, as_of)
            target = draft.target_ms * scale
            if is_overdue(draft.kind, waited, target):
                return "overdue"
            return "settled" if waited >= target else "rising"

        # Every lane of the queue is there, so the pages cross from one to the next.
        assert {lane(draft) for draft in drafts} == {"overdue", "settled", "rising"}
    listed: list[int] = []
    cursor = None
    with db.session() as session:
        while True:
            page = listing.list_drafts(
                session,
                settings,
                status=DraftStatus.pending,
                account_id=None,
                limit=limit,
                cursor=cursor,
            )
            listed += [queued.draft.id for queued in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert listed == expected
