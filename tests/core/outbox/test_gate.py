"""The send gate's decision table: every source of a send (an approved draft, auto-send, a
direct send, a bulk send, an approved nudge) against every guardrail (none firing, the
content filter, the wellbeing guard, the offers check). Whatever the source, a message a
guardrail holds is never sent, the refusal names the rules, and an allowed send is audited
with who or what allowed it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from redis import Redis

from core.auth import Principal
from core.db import Database
from core.enums import DraftKind, Role
from core.errors import Forbidden
from core.models import Send
from core.outbox.bulk import create_bulk_sends
from core.outbox.gate import Override, SendRefused, SendSource
from core.outbox.sends import create_direct_send
from core.review.decisions import approve_draft
from core.review.writing import AUTO_SEND_ACTOR
from core.settings import Settings
from tests.helpers.rows import audit_details
from tests.helpers.seeding import Line, Seeded, seed, seed_draft

CLEAN = "thanks babe, a new set is coming soon 💕"
SNAP = "add me on snap: lola_x99 or paypal.me/lola"
SNAP_RULES = ["filter:platform_handle", "filter:link", "filter:off_platform_payment"]
CAP = {"daily_spend_cap_cents": 1_500}
OVER_CAP = (
    "offer:daily_spend_cap: 0 cents spent and 0 cents offered unpaid in 24h + a 2000 cent "
    "offer is above the cap of 1500"
)


@dataclass(frozen=True)
class Case:
    """A message, the fan's last words, the account's policy, and the reasons the gate
    must give (none: it sends)."""

    text: str
    fan_says: str = "hey, missed you"
    ppv_price_cents: int | None = None
    policy: dict[str, Any] | None = None
    reasons: tuple[str, ...] = ()


CASES = {
    "clean": Case(CLEAN),
    "clean PPV": Case(CLEAN, ppv_price_cents=2_000),
    "content filter": Case(SNAP, reasons=tuple(SNAP_RULES)),
    "wellbeing guard": Case(CLEAN, fan_says="honestly i want to die", reasons=("guard:distress",)),
    "offers check": Case(CLEAN, ppv_price_cents=2_000, policy=CAP, reasons=(OVER_CAP,)),
}


@dataclass(frozen=True)
class Outcome:
    """The send made, or the reasons it was refused."""

    send_id: int | None
    reasons: tuple[str, ...] = ()


Source = Callable[[Database, Redis, Settings, Case], Outcome]


def _seed(db: Database, case: Case, *, we_spoke_last: bool = False) -> Seeded:
    lines = [Line("inbound", case.fan_says)]
    if we_spoke_last:
        lines.append(Line("outbound", "how was your day?", 1))
    return seed(db, lines, policy=case.policy)


def _approve(
    db: Database, redis: Redis, settings: Settings, draft_id: int, actor: str, source: SendSource
) -> Outcome:
    with db.session() as session:
        try:
            _, send = approve_draft(session, redis, settings, draft_id, actor=actor, source=source)
        except SendRefused as refused:
            return Outcome(None, tuple(refused.reasons))
        return Outcome(send.id)


def approved_draft(db: Database, redis: Redis, settings: Settings, case: Case) -> Outcome:
    seeded = _seed(db, case)
    draft_id = seed_draft(db, seeded, case.text, ppv_price_cents=case.ppv_price_cents)
    return _approve(db, redis, settings, draft_id, "operator", SendSource.draft)


def auto_send(db: Database, redis: Redis, settings: Settings, case: Case) -> Outcome:
    seeded = _seed(db, case)
    draft_id = seed_draft(db, seeded, case.text, ppv_price_cents=case.ppv_price_cents)
    return _approve(db, redis, settings, draft_id, AUTO_SEND_ACTOR, SendSource.auto_send)


def approved_nudge(db: Database, redis: Redis, settings: Settings, case: Case) -> Outcome:
    seeded = _seed(db, case, we_spoke_last=True)
    draft_id = seed_draft(
        db,
        seeded,
        case.text,
        kind=DraftKind.follow_up,
        ppv_price_cents=case.ppv_price_cents,
        message_id=seeded.message_ids[0],
    )
    return _approve(db, redis, settings, draft_id, "operator", SendSource.draft)


def direct(db: Database, redis: Redis, settings: Settings, case: Case) -> Outcome:
    seeded = _seed(db, case)
    with db.session() as session:
        try:
            send = create_direct_send(
                session,
                redis,
                settings,
                conversation_id=seeded.conversation_id,
                text=case.text,
                ppv_price_cents=case.ppv_price_cents,
                actor="operator",
            )
        except SendRefused as refused:
            return Outcome(None, tuple(refused.reasons))
        return Outcome(send.id)


def bulk(db: Database, redis: Redis, settings: Settings, case: Case) -> Outcome:
    seeded = _seed(db, case)
    with db.session() as session:
        created = create_bulk_sends(
            session,
            redis,
            settings,
            conversation_ids=[seeded.conversation_id],
            text=case.text,
            ppv_price_cents=case.ppv_price_cents,
            actor="operator",
        )
    if created.sends:
        return Outcome(created.sends[0].id)
    return Outcome(None, tuple(created.skipped[0].reasons))


SOURCES: dict[str, tuple[Source, SendSource, str]] = {
    "approved draft": (approved_draft, SendSource.draft, "operator"),
    "auto-send": (auto_send, SendSource.auto_send, AUTO_SEND_ACTOR),
    "approved nudge": (approved_nudge, SendSource.draft, "operator"),
    "direct send": (direct, SendSource.direct, "operator"),
    "bulk send": (bulk, SendSource.bulk, "operator"),
}


@pytest.mark.parametrize("case_name", list(CASES))
@pytest.mark.parametrize("source_name", list(SOURCES))
def test_every_source_passes_every_guardrail(
    db: Database, redis: Redis, settings: Settings, source_name: str, case_name: str
) -> None:
    case = CASES[case_name]
    send_via, source, actor = SOURCES[source_name]

    outcome = send_via(db, redis, settings, case)

    assert outcome.reasons == case.reasons
    with db.session() as session:
        sent = [(s.id, s.text, s.ppv_price_cents) for s in session.query(Send)]
    if case.reasons:
        assert sent == []
        [refused] = audit_details(db, "send.refused")
        assert (refused["source"], refused["actor"]) == (source.value, actor)
        assert refused["reasons"] == list(case.reasons)
    else:
        assert sent == [(outcome.send_id, case.text, case.ppv_price_cents)]
        [created] = audit_details(db, "send.created")
        assert (created["source"], created["allowed_by"], created["override"]) == (
            source.value,
            actor,
            False,
        )
        checks = ["content_filter", "wellbeing_guard"]
        assert created["checks"] == checks + (["offers"] if case.ppv_price_cents else [])


def _admin(name: str = "admin") -> Principal:
    return Principal(key_id=1, name=name, role=Role.admin)


def test_an_admin_override_sends_what_the_gate_refused_and_is_audited(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", "hey")])
    with db.session() as session:
        send = create_direct_send(
            session,
            redis,
            settings,
            conversation_id=seeded.conversation_id,
            text=SNAP,
            ppv_price_cents=None,
            actor="admin",
            override=Override(by=_admin(), reason="the fan's own verified handle"),
        )
    assert send.text == SNAP
    [override] = audit_details(db, "send.override")
    assert (override["actor"], override["reasons"], override["override_reason"]) == (
        "admin",
        SNAP_RULES,
        "the fan's own verified handle",
    )
    [created] = audit_details(db, "send.created")
    assert (created["allowed_by"], created["override"]) == ("admin", True)


def test_only_an_admin_may_override(db: Database, redis: Redis, settings: Settings) -> None:
    seeded = seed(db, [Line("inbound", "hey")])
    operator = Principal(key_id=2, name="operator", role=Role.operator)
    with db.session() as session, pytest.raises(Forbidden, match="only an admin may override"):
        create_direct_send(
            session,
            redis,
            settings,
            conversation_id=seeded.conversation_id,
            text=CLEAN,
            ppv_price_cents=None,
            actor="operator",
            override=Override(by=operator, reason="trust me"),
        )
    with db.session() as session:
        assert session.query(Send).count() == 0


def test_a_refusal_is_on_record_even_though_nothing_was_sent(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", "hey")])
    with db.session() as session, pytest.raises(SendRefused):
        create_direct_send(
            session,
            redis,
            settings,
            conversation_id=seeded.conversation_id,
            text=SNAP,
            ppv_price_cents=None,
            actor="operator",
        )
    [refused] = audit_details(db, "send.refused")
    assert (refused["subject_id"], refused["conversation_id"], refused["draft_id"]) == (
        seeded.conversation_id,
        seeded.conversation_id,
        None,
    )


def test_the_text_checked_is_the_text_typed_disclosure_included(
    db: Database, redis: Redis, settings: Settings
) -> None:
    # An approved draft carries the account's disclosure line, and the gate reads it too.
    seeded = seed(
        db,
        [Line("inbound", "hey")],
        policy={"disclosure": "Drafted with help, see mia.example.com"},
    )
    draft_id = seed_draft(db, seeded, CLEAN)
    outcome = _approve(db, redis, settings, draft_id, "operator", SendSource.draft)
    assert outcome == Outcome(None, ("filter:link",))


def test_an_override_where_nothing_fired_overrides_nothing(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", "hey")])
    draft_id = seed_draft(db, seeded, CLEAN)
    with db.session() as session:
        draft, _ = approve_draft(
            session,
            redis,
            settings,
            draft_id,
            actor="admin",
            override=Override(by=_admin(), reason="just in case"),
        )
    assert draft.override_reason is None
    assert audit_details(db, "send.override") == []
    [created] = audit_details(db, "send.created")
    assert (created["allowed_by"], created["override"]) == ("admin", False)
