"""Direct and bulk PPVs pass the same offers check as drafts, in the gate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from core.models import Conversation, Send
from tests.helpers.api import ApiKeys
from tests.helpers.rows import audit_events
from tests.helpers.seeding import Line, Seeded, seed


def test_direct_and_bulk_ppvs_pass_the_same_check(
    db: Database, client: TestClient, api_keys: ApiKeys
) -> None:
    operator = api_keys.headers("operator")
    cap = {"daily_spend_cap_cents": 6_000}
    recent = utcnow() - timedelta(hours=2)
    flagged = seed(db, [Line("inbound", "hey")], start=recent)
    capped = seed(db, [Line("inbound", "for you", tip_cents=5_000)], policy=cap, start=recent)
    clean = seed(db, [Line("inbound", "hey")], policy=cap, start=recent)
    with db.session() as session:
        conversation = session.get_one(Conversation, flagged.conversation_id)
        conversation.flagged_for_review = True
        conversation.flag_reason = "financial_strain"
        session.commit()

    def direct(seeded: Seeded, **body: Any) -> Any:
        return client.post(
            "/v1/sends",
            headers=operator,
            json={"conversation_id": seeded.conversation_id, "text": "new set 🔥", **body},
        )

    to_flagged = direct(flagged, ppv_price_cents=2_000)
    assert to_flagged.status_code == 409
    assert to_flagged.json()["reasons"] == [
        "guard:standing_flag",
        "offer:wellbeing_guard: standing_flag",
    ]
    to_capped = direct(capped, ppv_price_cents=2_000)
    assert to_capped.status_code == 409
    capped_reason = (
        "daily_spend_cap: 5000 cents spent and 0 cents offered unpaid in 24h + a 2000 cent "
        "offer is above the cap of 6000"
    )
    assert to_capped.json()["reasons"] == [f"offer:{capped_reason}"]

    ids = [flagged.conversation_id, capped.conversation_id, clean.conversation_id]
    response = client.post(
        "/v1/sends/bulk",
        headers=operator,
        json={"conversation_ids": ids, "text": "new set 🔥", "ppv_price_cents": 2_000},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [s["conversation_id"] for s in body["sends"]] == [clean.conversation_id]
    assert [(s["conversation_id"], s["reasons"]) for s in body["skipped"]] == [
        (flagged.conversation_id, ["guard:standing_flag", "offer:wellbeing_guard: standing_flag"]),
        (capped.conversation_id, [f"offer:{capped_reason}"]),
    ]
    # The bulk send is committed money too: a direct offer on top would pass the cap.
    on_top = direct(clean, ppv_price_cents=4_500)
    assert on_top.status_code == 409
    assert "0 cents spent and 2000 cents offered unpaid" in on_top.json()["detail"]

    refusals = audit_events(db, "send.refused")
    assert [(e.subject_id, e.detail["source"]) for e in refusals] == [
        (flagged.conversation_id, "direct"),
        (capped.conversation_id, "direct"),
        (flagged.conversation_id, "bulk"),
        (capped.conversation_id, "bulk"),
        (clean.conversation_id, "direct"),
    ]
    with db.session() as session:
        priced = session.query(Send).filter(Send.ppv_price_cents.is_not(None)).all()
        assert [s.conversation_id for s in priced] == [clean.conversation_id]
