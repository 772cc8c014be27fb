"""A campaign end to end: a PPV in two variants to a segment, scheduled ahead, launched by
the scheduler's job when its time comes, typed into the sandbox behind a waiting reply;
a fan buys, the next sweep reads the purchase, and the campaign's record shows it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from core.review.jobs import scheduled_campaigns
from tests.helpers.fleet import Fleet

FANS = 3
PRICE_CENTS = 1500
REPLY = "Right here, give me a minute 💕"
VARIANTS = {"A": "New set tonight, just for you 🔥", "B": "Made this one thinking of you"}
# Five minutes ahead, at the tests' time scale.
AHEAD = timedelta(minutes=5)


# The campaign's sends are bulk PPV sends: typing one and reading its purchase on each
# bundled platform is `test_loop`'s; what is tested here is the control plane's campaign.
@pytest.mark.mechanics
def test_a_scheduled_campaign_goes_out_behind_a_reply_and_records_a_purchase(
    fleet: Fleet,
) -> None:
    account = fleet.sandbox.create_account("campaigner")
    for index in range(FANS):
        fan = fleet.sandbox.create_fan(account, f"Fan {index}")
        fleet.sandbox.inbound(account, fan, f"hey it's fan {index}")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    fleet.run_ai_worker()

    fans = fleet.get("/v1/fans", account_id=account_id)["items"]
    assert len(fans) == FANS
    for fan in fans:
        fleet.operator.patch(f"/v1/fans/{fan['id']}", json={"add_tags": ["vip"]}).raise_for_status()
    segment = fleet.post("/v1/segments", {"name": "vips", "filter": {"tags": ["vip"]}})
    send_at = datetime.now(UTC) + AHEAD * fleet.settings.time_scale
    campaign = fleet.post(
        "/v1/campaigns",
        {
            "name": "Friday set",
            "segment_id": segment["id"],
            "send_at": send_at.isoformat(),
            "variants": [
                {"name": name, "text": text, "share": 50, "ppv_price_cents": PRICE_CENTS}
                for name, text in VARIANTS.items()
            ],
        },
    )
    assert campaign["status"] == "scheduled"
    assert sum(v["targeted"] for v in campaign["variants"]) == 0

    # While the campaign waits, an operator answers a fan: the reply is queued first.
    draft = fleet.get("/v1/drafts", status="pending")["items"][0]
    reply = fleet.post(f"/v1/drafts/{draft['id']}/approve", {"text": REPLY})["send"]

    while datetime.now(UTC) < send_at:
        time.sleep(0.05)
    assert scheduled_campaigns() == 1
    launched = fleet.get(f"/v1/campaigns/{campaign['id']}")
    assert launched["status"] == "running"
    assert sum(v["targeted"] for v in launched["variants"]) == FANS
    assert sum(v["queued"] for v in launched["variants"]) == FANS

    fleet.run_browser_worker()
    assert fleet.get(f"/v1/sends/{reply['id']}")["status"] == "delivered"
    delivered = fleet.sandbox.delivered(account)
    assert [m.text for m in delivered][0] == REPLY
    offers = delivered[1:]
    assert sorted(m.text in VARIANTS.values() for m in offers) == [True] * FANS
    assert {m.ppv_price_cents for m in offers} == {PRICE_CENTS}
    assert len({m.fan_id for m in offers}) == FANS
    assert fleet.sandbox.refusals(account) == []

    bought = offers[0]
    fleet.sandbox.purchase(bought.message_id)
    fleet.sweep(account_id)
    fleet.run_browser_worker()

    record = {v["name"]: v for v in fleet.get(f"/v1/campaigns/{campaign['id']}")["variants"]}
    assert sum(v["sent"] for v in record.values()) == FANS
    buyer = next(name for name, text in VARIANTS.items() if text == bought.text)
    assert (record[buyer]["purchases"], record[buyer]["revenue_cents"]) == (1, PRICE_CENTS)
    others = [v for name, v in record.items() if name != buyer]
    assert all((v["purchases"], v["revenue_cents"]) == (0, 0) for v in others)
