"""A fan as the guardrails read them: the money the daily spend cap counts over the 24 hours up
to a moment (tips, PPVs by when they were paid, offers still open)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.crm import fans as offer_check
from core.db import Database
from core.enums import Direction, SendStatus
from core.guardrails.offers import (
    Committed,
)
from core.models import Send
from core.settings import Settings
from tests.helpers.api import ApiKeys
from tests.helpers.drafts import offline_draft
from tests.helpers.seeding import ASK, DAY, Line, add_message, seed


def test_offer_window_is_the_24_hours_before_now(
    db: Database, redis: Redis, settings: Settings
) -> None:
    # A purchase 25 hours ago is outside the cap's window.
    seeded = seed(
        db,
        [
            Line("outbound", "new set", 0, ppv_price_cents=4_500, ppv_paid=True),
            Line("inbound", ASK, 25 * 60 - 5),
        ],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(hours=25),
    )
    draft = offline_draft(db, redis, settings, seeded.last)
    assert (draft.kind, draft.ppv_price_cents) == ("ppv_offer", 4_000)


def test_committed_money_counts_payments_when_paid_and_open_offers(db: Database) -> None:
    now = utcnow()
    hour = 60
    seeded = seed(
        db,
        [
            Line("inbound", "for you", 71 * hour, tip_cents=500),
            Line("inbound", "old tip", 46 * hour, tip_cents=700),
            # Offered three days ago, unlocked two hours ago: spent now, not then.
            Line("outbound", "set", 0, ppv_price_cents=1_000, ppv_paid=True, paid_minute=70 * hour),
            Line("outbound", "set", 67 * hour, ppv_price_cents=4_000, ppv_paid=False),
            Line("outbound", "set", 42 * hour, ppv_price_cents=8_000, ppv_paid=False),
            Line("outbound", "set", 71 * hour, ppv_price_cents=2_000, ppv_paid=None),
        ],
        start=now - timedelta(hours=72),
    )
    # A paid PPV stored without a payment time counts from its offer.
    add_message(
        db,
        seeded.conversation_id,
        timedelta(hours=2),
        direction=Direction.outbound,
        ppv_price_cents=16_000,
        ppv_paid=True,
    )
    other = seed(
        db, [Line("inbound", "for you", 71 * hour, tip_cents=1)], start=now - timedelta(hours=72)
    )
    with db.session() as session:
        for status, price in (
            (SendStatus.queued, 32),
            (SendStatus.claimed, 256),
            (SendStatus.delivered, 64),
            (SendStatus.failed, 128),
            (SendStatus.queued, None),
        ):
            session.add(
                Send(
                    account_id=seeded.account_id,
                    conversation_id=seeded.conversation_id,
                    text="set",
                    ppv_price_cents=price,
                    status=status,
                    priority="direct",
                    artifacts={},
                    created_by="operator",
                )
            )
        session.commit()
        assert offer_check.committed(session, seeded.fan_id, utcnow()) == Committed(
            spent_cents=500 + 1_000 + 16_000, open_offers_cents=4_000 + 2_000 + 32 + 256
        )
        assert offer_check.committed(session, other.fan_id, utcnow()) == Committed(1, 0)


def test_a_ppv_paid_days_after_its_offer_counts_when_paid(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(
        db,
        [
            Line(
                "outbound",
                "new set",
                0,
                ppv_price_cents=4_500,
                ppv_paid=True,
                paid_minute=3 * DAY - 60,
            ),
            Line("inbound", ASK, 3 * DAY - 5),
        ],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(days=3),
    )
    draft = offline_draft(db, redis, settings, seeded.last)
    assert (draft.kind, draft.ppv_price_cents) == ("reply", None)
    assert (draft.kind_withheld or "").startswith("daily_spend_cap: 4500 cents spent and 0 cents")


def test_offers_sent_and_unpaid_count_so_offers_cannot_stack(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    operator = api_keys.headers("operator")
    # Two $40 offers drafted before either went out, under a $60 cap.
    seeded = seed(
        db,
        [Line("inbound", ASK)],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(minutes=10),
    )
    first = offline_draft(db, redis, settings, seeded.last)
    again = add_message(db, seeded.conversation_id, timedelta(minutes=5), text=ASK)
    second = offline_draft(db, redis, settings, again)
    assert [first.ppv_price_cents, second.ppv_price_cents] == [4_000, 4_000]

    approved = client.post(f"/v1/drafts/{first.id}/approve", headers=operator, json={})
    assert approved.status_code == 200, approved.text
    refused = client.post(f"/v1/drafts/{second.id}/approve", headers=operator, json={})
    assert refused.status_code == 409
    assert (
        "daily_spend_cap: 0 cents spent and 4000 cents offered unpaid" in refused.json()["detail"]
    )
    # Once typed, the offer is a message the fan has not paid: it still counts.
    with db.session() as session:
        send = session.get_one(Send, approved.json()["send"]["id"])
        send.status = SendStatus.delivered
        session.commit()
    add_message(
        db,
        seeded.conversation_id,
        timedelta(0),
        direction=Direction.outbound,
        ppv_price_cents=4_000,
        ppv_paid=False,
    )
    with db.session() as session:
        assert offer_check.committed(session, seeded.fan_id, utcnow()) == Committed(0, 4_000)
