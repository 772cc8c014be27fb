"""A sales opportunity end to end: a top-tier fan asks what is on offer tonight, a priced
`ppv_offer` waits in the queue, an operator approves it, and a browser worker types it
into the sandbox as a locked message at that price."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.drafting.persona import PriceList
from tests.helpers.fleet import Fleet

ASK = "what do you have for me tonight? 😏"


def test_a_top_fans_ask_becomes_a_priced_ppv_in_the_sandbox(fleet: Fleet) -> None:
    account = fleet.sandbox.create_account("creator")
    fan = fleet.sandbox.create_fan(account, "Big Spender")
    now = datetime.now(UTC)
    # $600 spent three days ago: a top-tier fan, and outside the guard's 24 h spike window.
    fleet.sandbox.tip(account, fan, 60_000, "for you 💝", now - timedelta(days=3))
    fleet.sandbox.inbound(account, fan, ASK, now - timedelta(minutes=1))
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    fleet.run_ai_worker()

    [draft] = fleet.get("/v1/drafts", status="pending", kind="ppv_offer")["items"]
    price = PriceList().top
    assert draft["fan_tier"] == "top"
    assert (draft["kind"], draft["detected_kind"], draft["kind_source"]) == (
        "ppv_offer",
        "ppv_offer",
        "heuristic",
    )
    assert draft["kind_confidence"] >= 80
    assert draft["ppv_price_cents"] == price
    assert not draft["blocked"], draft["block_reasons"]

    approval = fleet.post(f"/v1/drafts/{draft['id']}/approve", {})
    assert approval["send"]["ppv_price_cents"] == price
    fleet.run_browser_worker()

    assert fleet.get(f"/v1/sends/{approval['send']['id']}")["status"] == "delivered"
    [typed] = fleet.sandbox.delivered(account)
    assert typed.text == draft["text"]
    assert (typed.ppv_price_cents, typed.ppv_paid) == (price, False)
    assert typed.fan_id == fan.fan_id
    assert not typed.flagged, typed.flag_reasons
    assert fleet.sandbox.refusals(account) == []
