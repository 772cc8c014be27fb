"""Replies first: a reply that arrives while a 50-send bulk load runs goes out next, after
at most the one bulk send already being typed."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

from tests.helpers.fleet import Fleet, start_worker

BULK = 50


def test_a_reply_overtakes_a_running_bulk_load(fleet: Fleet) -> None:
    account = fleet.sandbox.create_account("campaign")
    fans = [fleet.sandbox.create_fan(account, f"Fan {n:02d}") for n in range(BULK)]
    account_id = fleet.register(account)
    worker = {"Authorization": f"Bearer {fleet.api.worker_key}"}
    now = datetime.now(UTC).isoformat()

    def ingest(fan_index: int, message_id: str, text: str) -> None:
        fan = fans[fan_index]
        fleet.operator.post(
            "/v1/worker/ingest",
            headers=worker,
            json={
                "account_id": account_id,
                "conversations": [
                    {
                        "platform_conversation_id": fan.conversation_id,
                        "platform_fan_id": fan.fan_id,
                        "fan_name": fan.name,
                        "messages": [
                            {
                                "platform_message_id": message_id,
                                "direction": "inbound",
                                "text": text,
                                "sent_at": now,
                            }
                        ],
                    }
                ],
            },
        ).raise_for_status()

    for n in range(BULK):
        ingest(n, f"seed-{n}", "hi")
    fleet.redis.delete("rq:queue:ai")  # the seed messages' drafts are not this test's
    conversations = fleet.get("/v1/conversations", account_id=account_id, limit=100)["items"]
    bulk = fleet.post(
        "/v1/sends/bulk",
        {"conversation_ids": [c["id"] for c in conversations], "text": "New set tonight 🔥"},
    )
    assert len(bulk["sends"]) == BULK

    process = start_worker(fleet, time_scale=0.01)
    try:
        deadline = time.monotonic() + 60
        while len(fleet.sandbox.delivered(account)) < 3:
            assert time.monotonic() < deadline, "the bulk load never started"
            time.sleep(0.05)
        # A fan writes in the middle of the campaign; the operator approves the draft.
        ingest(7, "question", "are you online right now?")
        fleet.run_ai_worker()
        [draft] = fleet.get("/v1/drafts", status="pending")["items"]
        reply = fleet.post(f"/v1/drafts/{draft['id']}/approve", {"text": "I am! 💕"})["send"]
        before = len(fleet.sandbox.delivered(account))
        while fleet.get(f"/v1/sends/{reply['id']}")["status"] != "delivered":
            assert time.monotonic() < deadline, "the reply never went out"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)

    texts = [m.text for m in fleet.sandbox.delivered(account)]
    overtaken = texts.index("I am! 💕") - before
    assert overtaken <= 1, f"{overtaken} bulk sends went out while the reply waited"
    assert texts.count("I am! 💕") == 1
    assert len(texts) < BULK, "the reply waited for the whole bulk load"
    assert fleet.sandbox.refusals(account) == []
