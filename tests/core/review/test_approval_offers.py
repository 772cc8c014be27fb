"""Approving a PPV draft: the offers check runs again as of now, so a fan flagged or nearer
their daily spend cap since drafting needs an admin."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.drafting.offline import OfflineDrafter
from core.models import Conversation, Send
from core.review.writing import redraft_draft
from core.settings import Settings
from tests.helpers.api import ApiKeys
from tests.helpers.drafts import offline_draft
from tests.helpers.rows import audit_events
from tests.helpers.seeding import ASK, Line, add_message, seed


def test_a_ppv_drafted_before_the_fan_was_flagged_needs_an_admin(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    operator, admin = api_keys.headers("operator"), api_keys.headers("admin")
    seeded = seed(
        db, [Line("inbound", ASK)], spend_cents=60_000, start=utcnow() - timedelta(minutes=10)
    )
    offer = offline_draft(db, redis, settings, seeded.last)
    assert (offer.kind, offer.ppv_price_cents, offer.blocked) == ("ppv_offer", 4_000, False)
    # The fan writes again; the draft for that flags the conversation.
    later = add_message(
        db, seeded.conversation_id, timedelta(minutes=1), text="i can't afford rent"
    )
    assert offline_draft(db, redis, settings, later).blocked
    with db.session() as session:
        assert session.get_one(Conversation, seeded.conversation_id).flagged_for_review

    refused = client.post(f"/v1/drafts/{offer.id}/approve", headers=operator, json={})
    assert refused.status_code == 409
    reasons = [
        "guard:financial_strain",
        "guard:standing_flag",
        "offer:wellbeing_guard: financial_strain, standing_flag",
    ]
    assert refused.json()["reasons"] == reasons
    assert refused.json()["detail"] == (
        f"draft {offer.id} is blocked ({', '.join(reasons)}); only an admin can approve it, "
        "with override and an override_reason"
    )
    bulk = client.post("/v1/drafts/approve", headers=operator, json={"ids": [offer.id]}).json()
    assert bulk["skipped"] == 1 and reasons[-1] in bulk["results"][0]["reason"]
    assert [e.detail["reasons"] for e in audit_events(db, "send.refused")] == [reasons] * 2
    with db.session() as session:
        assert session.query(Send).count() == 0

    overridden = client.post(
        f"/v1/drafts/{offer.id}/approve",
        headers=admin,
        json={"override": True, "override_reason": "the fan asked again after we checked in"},
    )
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["send"]["ppv_price_cents"] == 4_000
    [override] = audit_events(db, "send.override")
    assert override.detail["reasons"] == reasons


def test_the_cap_counts_to_now_at_approval_and_redraft(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    # The fan asked 30 hours ago; the draft waited. They tipped $30 an hour ago.
    seeded = seed(
        db,
        [Line("inbound", ASK)],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(hours=30),
    )
    offer = offline_draft(db, redis, settings, seeded.last)
    assert (offer.kind, offer.ppv_price_cents) == ("ppv_offer", 4_000)
    add_message(db, seeded.conversation_id, timedelta(hours=1), text="for you", tip_cents=3_000)

    refused = client.post(
        f"/v1/drafts/{offer.id}/approve", headers=api_keys.headers("operator"), json={}
    )
    assert refused.status_code == 409
    assert (
        "offer:daily_spend_cap: 3000 cents spent and 0 cents offered unpaid in 24h + a 4000 "
        "cent offer is above the cap of 6000" in refused.json()["detail"]
    )
    with db.session() as session:
        redrafted = redraft_draft(session, settings, OfflineDrafter(), offer.id, actor="op")
        assert (redrafted.kind, redrafted.ppv_price_cents) == ("reply", None)
        assert (redrafted.kind_withheld or "").startswith("daily_spend_cap: 3000 cents spent")
