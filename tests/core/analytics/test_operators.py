"""Per operator: decisions, edit rate, time to decide, first response and revenue; and the
sends by who wrote them, with what they earned per message."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.analytics import Window
from core.analytics.operators import report
from core.clock import epoch_ms, utcnow
from core.db import Database
from core.drafting.fan import SpendTier
from core.enums import Direction, DraftStatus, SendStatus
from core.models import Draft, DraftFeedback, Message, Send
from tests.helpers.crm import FanSpec, add_account, add_fans, conversation_of

NOW = utcnow()


def _minutes_ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.fixture
def account_id(db: Database) -> int:
    """op-a approves an edited PPV reply, delivered and bought; op-b rejects a draft and
    writes a message of their own, delivered."""
    account_id = add_account(db)
    fan_id = add_fans(db, account_id, FanSpec("f1"))["f1"]
    conversation_id = conversation_of(db, fan_id)
    with db.session() as session:

        def message(platform_id: str, ago: float, direction: Direction, **money: object) -> int:
            row = Message(
                conversation_id=conversation_id,
                platform_message_id=platform_id,
                direction=direction,
                text="hi",
                sent_at=_minutes_ago(ago),
                **money,
            )
            session.add(row)
            session.flush()
            return row.id

        def draft(message_id: int, status: DraftStatus, by: str, created: float) -> Draft:
            row = Draft(
                conversation_id=conversation_id,
                message_id=message_id,
                account_id=account_id,
                fan_tier=SpendTier.none,
                queue_rank=0,
                wait_since_ms=epoch_ms(NOW),
                target_ms=300_000,
                text="draft",
                provider="offline",
                status=status,
                decided_by=by,
                created_at=_minutes_ago(created),
                decided_at=_minutes_ago(created - 1),
            )
            session.add(row)
            session.flush()
            return row

        approved = draft(message("in-1", 10, Direction.inbound), DraftStatus.approved, "op-a", 9)
        session.add(
            DraftFeedback(
                draft_id=approved.id,
                original_text="draft",
                final_text="draft!!",
                edit_distance=2,
                actor="op-a",
            )
        )
        message("p1", 7, Direction.outbound, ppv_price_cents=1500, ppv_paid=True, paid_at=NOW)
        draft(message("in-2", 6, Direction.inbound), DraftStatus.rejected, "op-b", 6)
        for draft_id, by, platform_id in ((approved.id, "op-a", "p1"), (None, "op-b", "p2")):
            session.add(
                Send(
                    account_id=account_id,
                    conversation_id=conversation_id,
                    draft_id=draft_id,
                    text="sent",
                    priority="reply",
                    status=SendStatus.delivered,
                    created_by=by,
                    created_at=_minutes_ago(8),
                    delivered_at=_minutes_ago(7),
                    platform_message_id=platform_id,
                )
            )
        session.commit()
    return account_id


def _window(account_id: int | None = None) -> Window:
    return Window(
        since=NOW - timedelta(hours=1), until=NOW + timedelta(minutes=1), account_id=account_id
    )


def test_each_operator_has_their_decisions_speed_and_revenue(db: Database, account_id: int) -> None:
    with db.session() as session:
        a, b = report(session, _window()).operators
    assert (a.operator, a.decided, a.approved, a.edited, a.edit_rate) == ("op-a", 1, 1, 1, 1.0)
    assert (a.time_to_decide.p50_s, a.first_response.p50_s, a.revenue_cents) == (60, 180, 1500)
    assert (b.operator, b.decided, b.rejected, b.edit_rate) == ("op-b", 1, 1, None)
    assert (b.first_response.p50_s, b.revenue_cents) == (None, 0)


def test_sends_earn_by_who_wrote_them(db: Database, account_id: int) -> None:
    with db.session() as session:
        authors = {a.author: a for a in report(session, _window(account_id)).by_authorship}
    assert (authors["ai_edited"].messages, authors["ai_edited"].revenue_cents) == (1, 1500)
    assert (authors["human"].messages, authors["human"].revenue_per_message_cents) == (1, 0.0)
    assert authors["ai_unchanged"].revenue_per_message_cents is None


def test_another_accounts_window_is_empty(db: Database, account_id: int) -> None:
    with db.session() as session:
        assert report(session, _window(account_id + 1)).operators == []
