"""Direct and bulk PPVs pass the same offers check as drafts, in the gate.

The gate's decision table (`test_gate.py`) already refuses a direct or bulk PPV over the
daily spend cap, and a message the wellbeing guard holds, and audits each refusal with its
source. Here is what it leaves out: a conversation flagged for review bars an offer, what
the fan spent lately and a bulk send's unpaid offers count toward the cap, and one bulk
send goes to the conversations the gate allows and skips, and audits, each of the rest."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from core.clock import utcnow
from core.db import Database
from core.models import Conversation, Send
from tests.helpers.rows import audit_events
from tests.helpers.seeding import Line, Seeded, seed

TEXT = "new set 🔥"
PRICE = 2_000
CAP = {"daily_spend_cap_cents": 6_000}
FLAGGED_REASONS = ["guard:standing_flag", "offer:wellbeing_guard: standing_flag"]
SPENT_REASONS = [
    "offer:daily_spend_cap: 5000 cents spent and 0 cents offered unpaid in 24h + a 2000 cent "
    "offer is above the cap of 6000"
]
SOURCES = ["direct", "bulk"]


def _recent() -> datetime:
    """Two hours ago: well inside the cap's 24 hours."""
    return utcnow() - timedelta(hours=2)


@pytest.fixture
def flagged(db: Database) -> Seeded:
    """A conversation flagged for review over the fan's financial strain."""
    seeded = seed(db, [Line("inbound", "hey")], start=_recent())
    with db.session() as session:
        conversation = session.get_one(Conversation, seeded.conversation_id)
        conversation.flagged_for_review = True
        conversation.flag_reason = "financial_strain"
        session.commit()
    return seeded


@pytest.fixture
def capped(db: Database) -> Seeded:
    """A fan who tipped $50 two hours ago, on an account that caps a fan's day at $60."""
    return seed(db, [Line("inbound", "for you", tip_cents=5_000)], policy=CAP, start=_recent())


@pytest.fixture
def clean(db: Database) -> Seeded:
    """A fan who spent nothing, on an account that caps a fan's day at $60."""
    return seed(db, [Line("inbound", "hey")], policy=CAP, start=_recent())


def _direct(
    client: TestClient, operator: dict[str, str], conversation_id: int, price: int
) -> Response:
    return client.post(
        "/v1/sends",
        headers=operator,
        json={"conversation_id": conversation_id, "text": TEXT, "ppv_price_cents": price},
    )


def _bulk(
    client: TestClient, operator: dict[str, str], conversation_ids: list[int]
) -> dict[str, Any]:
    response = client.post(
        "/v1/sends/bulk",
        headers=operator,
        json={"conversation_ids": conversation_ids, "text": TEXT, "ppv_price_cents": PRICE},
    )
    assert response.status_code == 201, response.text
    return response.json()


def _refusal(
    client: TestClient, operator: dict[str, str], source: str, conversation_id: int
) -> list[str]:
    """The reasons the gate gives for refusing a `PRICE` PPV to the conversation, sent
    `source` (direct or bulk)."""
    if source == "direct":
        response = _direct(client, operator, conversation_id, PRICE)
        assert response.status_code == 409, response.text
        return response.json()["reasons"]
    body = _bulk(client, operator, [conversation_id])
    assert body["sends"] == []
    [skipped] = body["skipped"]
    assert skipped["conversation_id"] == conversation_id
    return skipped["reasons"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_ppv_to_a_conversation_flagged_for_review_is_barred_by_the_guard_and_the_offers_check(
    client: TestClient, operator: dict[str, str], flagged: Seeded, source: str
) -> None:
    assert _refusal(client, operator, source, flagged.conversation_id) == FLAGGED_REASONS


@pytest.mark.parametrize("source", SOURCES)
def test_what_the_fan_spent_in_the_last_day_counts_toward_the_cap(
    client: TestClient, operator: dict[str, str], capped: Seeded, source: str
) -> None:
    assert _refusal(client, operator, source, capped.conversation_id) == SPENT_REASONS


def test_a_bulk_sends_unpaid_offer_counts_toward_the_cap_of_a_later_direct_offer(
    client: TestClient, operator: dict[str, str], clean: Seeded
) -> None:
    assert len(_bulk(client, operator, [clean.conversation_id])["sends"]) == 1
    # 4500 cents alone is within the cap; on top of the 2000 the bulk send offered, not.
    on_top = _direct(client, operator, clean.conversation_id, 4_500)
    assert on_top.status_code == 409
    assert on_top.json()["reasons"] == [
        "offer:daily_spend_cap: 0 cents spent and 2000 cents offered unpaid in 24h + a 4500 "
        "cent offer is above the cap of 6000"
    ]


@pytest.fixture
def mixed_bulk(
    client: TestClient, operator: dict[str, str], flagged: Seeded, capped: Seeded, clean: Seeded
) -> dict[str, Any]:
    """The answer to one bulk PPV to the flagged, the capped and the clean conversation."""
    ids = [flagged.conversation_id, capped.conversation_id, clean.conversation_id]
    return _bulk(client, operator, ids)


def test_a_bulk_ppv_goes_only_to_the_conversations_the_gate_allows(
    db: Database,
    flagged: Seeded,
    capped: Seeded,
    clean: Seeded,
    mixed_bulk: dict[str, Any],
) -> None:
    assert [s["conversation_id"] for s in mixed_bulk["sends"]] == [clean.conversation_id]
    assert [s["conversation_id"] for s in mixed_bulk["skipped"]] == [
        flagged.conversation_id,
        capped.conversation_id,
    ]
    with db.session() as session:
        priced = session.query(Send).filter(Send.ppv_price_cents.is_not(None)).all()
        assert [s.conversation_id for s in priced] == [clean.conversation_id]


@pytest.mark.usefixtures("mixed_bulk")
def test_a_bulk_ppv_audits_a_refusal_for_each_conversation_it_skips(
    db: Database, flagged: Seeded, capped: Seeded
) -> None:
    refusals = audit_events(db, "send.refused")
    assert [(e.subject_id, e.detail["source"], e.detail["reasons"]) for e in refusals] == [
        (flagged.conversation_id, "bulk", FLAGGED_REASONS),
        (capped.conversation_id, "bulk", SPENT_REASONS),
    ]
