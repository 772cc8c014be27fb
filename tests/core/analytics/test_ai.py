"""GET /v1/analytics/ai against a seeded set of drafts, sends, feedback, audit events and
usage rows whose figures are worked out by hand below."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.db import Database
from core.enums import Direction, DraftStatus, SendPriority, SendStatus
from core.models import (
    Account,
    AiUsage,
    AuditEvent,
    Conversation,
    Draft,
    DraftFeedback,
    Fan,
    Message,
    Send,
)
from core.priority import stamp
from tests.helpers.api import ApiKeys

SINCE = datetime(2026, 3, 1, tzinfo=UTC)
UNTIL = datetime(2026, 3, 8, tzinfo=UTC)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BEFORE = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)
WINDOW = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
AUTO = "policy:auto_send"


@dataclass(frozen=True)
class Case:
    """One draft to seed: its status, who decided it, its confidence, the edit distance
    of its approval, and seconds from the fan's message to the send and to delivery."""

    status: DraftStatus
    confidence: int
    decided_by: str | None = "operator"
    edits: int = 0
    to_send_s: float | None = None
    to_delivery_s: float | None = None
    created_at: datetime = T0
    kind: str = "reply"


@dataclass(frozen=True)
class Seeded:
    account_a: int
    account_b: int
    conversations: list[int]


def _account(session: Any, name: str) -> int:
    account = Account(name=name, username=name.lower(), password="secret-password", persona={})
    session.add(account)
    session.flush()
    return account.id


def _draft(session: Any, account_id: int, index: int, case: Case) -> tuple[int, int]:
    """A fan, conversation, inbound message and draft as `case` says; (conversation, draft)."""
    fan = Fan(account_id=account_id, platform_fan_id=f"fan-{index}", name="Sam")
    session.add(fan)
    session.flush()
    conversation = Conversation(
        account_id=account_id, fan_id=fan.id, platform_conversation_id=f"c-{index}"
    )
    session.add(conversation)
    session.flush()
    sent_at = case.created_at - timedelta(seconds=5)
    message = Message(
        conversation_id=conversation.id,
        platform_message_id=f"m-{index}",
        direction=Direction.inbound,
        text="hi",
        sent_at=sent_at,
    )
    session.add(message)
    session.flush()
    decided = case.status != DraftStatus.pending
    draft = Draft(
        conversation_id=conversation.id,
        message_id=message.id,
        kind=case.kind,
        text="hey you",
        provider="openai",
        status=case.status,
        confidence=case.confidence,
        decided_by=case.decided_by if decided else None,
        decided_at=case.created_at + timedelta(seconds=1) if decided else None,
        created_at=case.created_at,
    )
    stamp(draft, message)
    session.add(draft)
    session.flush()
    if case.status == DraftStatus.approved:
        session.add(
            DraftFeedback(
                draft_id=draft.id,
                variant=0,
                original_text="hey you",
                final_text="hey you" if case.edits == 0 else "hey there you",
                edit_distance=case.edits,
                actor=case.decided_by or "operator",
            )
        )
        assert case.to_send_s is not None
        delivered = case.to_delivery_s
        session.add(
            Send(
                account_id=account_id,
                conversation_id=conversation.id,
                draft_id=draft.id,
                text="hey you",
                status=SendStatus.delivered if delivered is not None else SendStatus.queued,
                priority=SendPriority.reply,
                created_by=case.decided_by or "operator",
                created_at=sent_at + timedelta(seconds=case.to_send_s),
                delivered_at=None if delivered is None else sent_at + timedelta(seconds=delivered),
            )
        )
    return conversation.id, draft.id


# Account A's drafts in the window, then account B's, then one of A's from before it.
A_CASES = [
    Case(DraftStatus.approved, 90, to_send_s=60, to_delivery_s=100),
    Case(DraftStatus.approved, 70, edits=5, to_send_s=120, to_delivery_s=200),
    Case(DraftStatus.approved, 95, decided_by=AUTO, to_send_s=10),
    Case(DraftStatus.rejected, 40),
    Case(DraftStatus.pending, 60),
]
# A nudge answers no message: it is a decision like any other, but no fan's wait.
B_CASES = [
    Case(DraftStatus.approved, 50, to_send_s=1000, to_delivery_s=1100),
    Case(DraftStatus.approved, 50, to_send_s=90_000, kind="follow_up"),
]
OLD_CASE = Case(DraftStatus.rejected, 10, created_at=BEFORE)


def _audit(
    session: Any, action: str, subject: tuple[str, int], at: datetime, **detail: Any
) -> None:
    session.add(
        AuditEvent(
            at=at,
            actor="test",
            action=action,
            subject_type=subject[0],
            subject_id=subject[1],
            detail=detail,
        )
    )


def _usage(
    session: Any, account_id: int, at: datetime, prompt: int, completion: int, llm: bool = True
) -> None:
    session.add(
        AiUsage(
            at=at,
            account_id=account_id,
            actor=None,
            llm_called=llm,
            provider="openai" if llm else "offline",
            prompt_tokens=prompt,
            completion_tokens=completion,
        )
    )


@pytest.fixture
def seeded(db: Database) -> Seeded:
    with db.session() as session:
        a, b = _account(session, "A"), _account(session, "B")
        rows = [_draft(session, a, i, case) for i, case in enumerate(A_CASES)]
        rows += [_draft(session, b, 10 + i, case) for i, case in enumerate(B_CASES)]
        old_conversation, old_draft = _draft(session, a, 99, OLD_CASE)
        conversations = [conversation for conversation, _ in rows]
        drafts = [draft for _, draft in rows]
        _audit(session, "draft.filter_hits", ("draft", drafts[0]), T0, phone=2, email=1)
        _audit(session, "draft.filter_hits", ("draft", drafts[3]), T0, phone=1)
        _audit(session, "draft.filter_hits", ("draft", drafts[5]), T0, link=1)
        _audit(session, "draft.filter_hits", ("draft", old_draft), BEFORE, phone=7)
        _audit(
            session,
            "conversation.flagged",
            ("conversation", conversations[3]),
            T0,
            signals=["distress", "cant_afford"],
        )
        _audit(
            session,
            "conversation.flagged",
            ("conversation", conversations[4]),
            T0 + timedelta(days=1),
            signals=["distress"],
        )
        _audit(
            session,
            "conversation.flagged",
            ("conversation", old_conversation),
            BEFORE,
            signals=["minor"],
        )
        # Day 1 ends at midnight UTC: 23:30 is still 1 March whatever the server's zone.
        _usage(session, a, T0, 1_000, 200)
        _usage(session, a, datetime(2026, 3, 1, 23, 30, tzinfo=UTC), 0, 0, llm=False)
        _usage(session, a, datetime(2026, 3, 2, 0, 30, tzinfo=UTC), 3_000, 600)
        _usage(session, b, datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 500, 100)
        _usage(session, a, BEFORE, 50_000, 9_000)
        _usage(session, a, UNTIL, 50_000, 9_000)
        session.commit()
        return Seeded(a, b, conversations)


def _get(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/v1/analytics/ai", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_one_accounts_figures(client: TestClient, api_keys: ApiKeys, seeded: Seeded) -> None:
    report = _get(client, api_keys.headers("operator"), account_id=seeded.account_a, **WINDOW)

    assert report["window"] == {
        "since": "2026-03-01T00:00:00Z",
        "until": "2026-03-08T00:00:00Z",
        "account_id": seeded.account_a,
    }
    assert report["drafts"] == {
        "total": 5,
        "pending": 1,
        "decided": 4,
        "approved": 3,
        "modified": 1,
        "rejected": 1,
        "auto_sent": 1,
    }
    assert report["rates"] == {
        "approval": 0.75,
        "modification": 0.25,
        "rejection": 0.25,
        "auto_send": 0.25,
    }
    assert report["average_confidence"] == pytest.approx((90 + 70 + 95 + 40 + 60) / 5)
    assert report["filter_hits"] == {"by_rule": {"email": 1, "phone": 3}, "drafts": 2}
    assert report["guard_flags"] == {
        "by_signal": {"cant_afford": 1, "distress": 2},
        "conversations": 2,
    }
    tokens = report["tokens"]
    assert [
        (d["day"], d["calls"], d["llm_calls"], d["prompt_tokens"], d["completion_tokens"])
        for d in tokens["days"]
    ] == [("2026-03-01", 2, 1, 1_000, 200), ("2026-03-02", 1, 1, 3_000, 600)]
    # gpt-4o-mini's list prices: $0.15 per million prompt tokens, $0.60 per million out.
    assert [d["cost_usd_estimate"] for d in tokens["days"]] == [
        pytest.approx(0.00027),
        pytest.approx(0.00081),
    ]
    assert (tokens["prompt_tokens"], tokens["completion_tokens"]) == (4_000, 800)
    assert tokens["cost_usd_estimate"] == pytest.approx(0.00108)
    assert tokens["price_per_1k_prompt_usd"] == 0.00015
    assert "estimate" in tokens["note"]
    times = report["response_times"]
    assert times["from"].startswith("message.sent_at")
    # Waits to the send: 10, 60, 120 s; nearest rank: the 2nd and the 3rd.
    assert times["to_approval"] == {"count": 3, "median_s": 60.0, "p95_s": 120.0}
    # Delivered: 100 and 200 s (the auto-sent one is still queued).
    assert times["to_delivery"] == {"count": 2, "median_s": 100.0, "p95_s": 200.0}


def test_every_accounts_figures(client: TestClient, api_keys: ApiKeys, seeded: Seeded) -> None:
    report = _get(client, api_keys.headers("admin"), **WINDOW)
    assert report["window"]["account_id"] is None
    drafts = report["drafts"]
    assert (drafts["total"], drafts["decided"], drafts["approved"], drafts["modified"]) == (
        7,
        6,
        5,
        1,
    )
    assert report["rates"]["approval"] == pytest.approx(5 / 6)
    assert report["rates"]["auto_send"] == pytest.approx(1 / 6)
    assert report["average_confidence"] == pytest.approx((90 + 70 + 95 + 40 + 60 + 50 + 50) / 7)
    assert report["filter_hits"] == {"by_rule": {"email": 1, "link": 1, "phone": 3}, "drafts": 3}
    assert [d["prompt_tokens"] for d in report["tokens"]["days"]] == [1_000, 3_500]
    # 10, 60, 120, 1000 s (the nudge waited on nobody): the 2nd and the 4th.
    assert report["response_times"]["to_approval"] == {
        "count": 4,
        "median_s": 60.0,
        "p95_s": 1000.0,
    }


def test_an_empty_window_has_no_rates(
    client: TestClient, api_keys: ApiKeys, seeded: Seeded
) -> None:
    report = _get(
        client,
        api_keys.headers("operator"),
        since="2026-04-01T00:00:00Z",
        until="2026-04-02T00:00:00Z",
    )
    assert report["drafts"]["total"] == 0
    assert set(report["rates"].values()) == {None}
    assert report["average_confidence"] is None
    assert report["tokens"]["days"] == []
    assert report["tokens"]["cost_usd_estimate"] == 0
    assert report["response_times"]["to_approval"] == {"count": 0, "median_s": None, "p95_s": None}


def test_days_reach_back_from_now(client: TestClient, api_keys: ApiKeys, seeded: Seeded) -> None:
    # The seeded rows are long past: the last 7 days hold none of them.
    report = _get(client, api_keys.headers("operator"), days=7)
    window = report["window"]
    since = datetime.fromisoformat(window["since"])
    until = datetime.fromisoformat(window["until"])
    assert until - since == timedelta(days=7)
    assert report["drafts"]["total"] == 0
    # Naive times are UTC.
    naive = _get(
        client, api_keys.headers("operator"), since="2026-03-01T00:00:00", until="2026-03-08"
    )
    assert naive["drafts"]["total"] == 7
