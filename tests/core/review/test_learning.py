"""Drafts that learn: a reply sent as drafted that the fan answered becomes an example the
next prompt shows and the offline drafter tries first; a rejection's reason becomes a
note to avoid; an edit too large, or a reply nobody answered, teaches nothing."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.drafting.base import DraftContext, Example
from core.drafting.offline import OfflineDrafter
from core.drafting.persona import Persona
from core.enums import DraftKind
from core.review import learning
from core.review.decisions import approve_draft, reject_draft
from core.settings import Settings
from tests.helpers.drafts import offline_draft
from tests.helpers.llm_stub import LLMStub
from tests.helpers.seeding import PERSONA, DraftFor, Line, Seeded, add_message, seed

FAN_WORDS = "hey you"


def _sent(
    db: Database,
    redis: Redis,
    settings: Settings,
    seeded: Seeded,
    message_id: int | None = None,
    **approval: object,
):
    """The offline draft for the fan's message (the last, unless told) approved as
    `approval` says, delivered five minutes ago."""
    draft = offline_draft(db, redis, settings, seeded.last if message_id is None else message_id)
    with db.session() as session:
        _, send = approve_draft(session, redis, settings, draft.id, actor="op", **approval)  # type: ignore[arg-type]
        text = send.text
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE sends SET status = 'delivered', delivered_at = :at,"
                " platform_message_id = :platform_id WHERE id = :id"
            ),
            {"at": utcnow() - timedelta(minutes=5), "platform_id": f"p-{send.id}", "id": send.id},
        )
    return draft, text


def _bought(db: Database, seeded: Seeded, draft_id: int) -> None:
    """The draft's send was a PPV, and the fan bought it (as a sweep reads it back)."""
    with db.engine.begin() as connection:
        send_id, text = connection.execute(
            sa.text(
                "UPDATE sends SET ppv_price_cents = 1500 WHERE draft_id = :draft_id"
                " RETURNING id, text"
            ),
            {"draft_id": draft_id},
        ).one()
    add_message(
        db,
        seeded.conversation_id,
        timedelta(minutes=5),
        direction="outbound",
        text=text,
        platform_message_id=f"p-{send_id}",
        ppv_price_cents=1500,
        ppv_paid=True,
    )


def _examples(db: Database, seeded: Seeded) -> tuple[Example, ...]:
    with db.session() as session:
        return learning.examples(session, seeded.account_id, DraftKind.reply, utcnow())


def test_a_reply_the_fan_answered_becomes_an_example(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", FAN_WORDS)], start=utcnow() - timedelta(hours=1))
    _, text = _sent(db, redis, settings, seeded, variant=1)
    assert _examples(db, seeded) == ()
    add_message(db, seeded.conversation_id, timedelta(minutes=1), text="haha love it")

    assert _examples(db, seeded) == (Example(FAN_WORDS, text, "replied"),)


def test_a_sale_comes_first_then_the_newest_answered_at_most_three(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", f"{FAN_WORDS} 0")], start=utcnow() - timedelta(hours=1))
    sent = [_sent(db, redis, settings, seeded, variant=1)]
    for n in range(1, 4):
        # Each ask answered before the next: a draft is written for the newest only.
        ask = add_message(
            db, seeded.conversation_id, timedelta(minutes=50 - n), text=f"{FAN_WORDS} {n}"
        )
        sent.append(_sent(db, redis, settings, seeded, ask, variant=1))
    texts = [text for _, text in sent]
    _bought(db, seeded, sent[0][0].id)
    add_message(db, seeded.conversation_id, timedelta(minutes=1), text="haha love it")

    # The sale is shown once, as sold, though the fan also wrote after it.
    assert _examples(db, seeded) == (
        Example(f"{FAN_WORDS} 0", texts[0], "bought"),
        Example(f"{FAN_WORDS} 3", texts[3], "replied"),
        Example(f"{FAN_WORDS} 2", texts[2], "replied"),
    )


def test_a_heavily_edited_reply_teaches_nothing(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", FAN_WORDS)], start=utcnow() - timedelta(hours=1))
    _sent(db, redis, settings, seeded, text="Something else entirely, written by me")
    add_message(db, seeded.conversation_id, timedelta(minutes=1), text="ok")
    assert _examples(db, seeded) == ()


def test_a_rejections_reason_is_a_note_to_avoid(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", FAN_WORDS)])
    draft = offline_draft(db, redis, settings, seeded.last)
    with db.session() as session:
        reject_draft(session, draft.id, actor="op", reason="too pushy, no pet names")
        session.commit()
        assert learning.avoid_notes(session, seeded.account_id, utcnow()) == (
            "too pushy, no pet names",
        )


def test_after_feedback_the_prompt_shows_what_worked_and_what_to_avoid(
    db: Database,
    redis: Redis,
    settings: Settings,
    draft_for: DraftFor,
    llm_stub: LLMStub,
) -> None:
    seeded = seed(db, [Line("inbound", FAN_WORDS)], start=utcnow() - timedelta(hours=1))
    _, text = _sent(db, redis, settings, seeded, variant=2)
    add_message(db, seeded.conversation_id, timedelta(minutes=2), text="aww thanks")
    later = add_message(db, seeded.conversation_id, timedelta(minutes=1), text="you there?")
    rejected = offline_draft(db, redis, settings, later)
    with db.session() as session:
        reject_draft(session, rejected.id, actor="op", reason="sounds like a bot")
        session.commit()
    newest = add_message(db, seeded.conversation_id, timedelta(seconds=30), text="hello?")

    draft_for(newest)

    system = llm_stub.requests[-1].system
    assert f"fan: {FAN_WORDS!r} -> you: {text!r} (replied)" in system
    assert "Avoid what operators rejected drafts for:\n- sounds like a bot" in system


def test_the_offline_drafter_tries_first_the_template_nearest_what_worked() -> None:
    context = DraftContext(
        persona=Persona.model_validate(PERSONA), fan_name="Sam", inbound_text=FAN_WORDS, seed=3
    )
    before = OfflineDrafter().draft(context).variants
    winner = before[-1].text
    learned = DraftContext(
        **{**context.__dict__, "examples": (Example(FAN_WORDS, winner, "bought"),)}
    )

    after = OfflineDrafter().draft(learned).variants

    assert after[0].text != before[0].text
    assert after[0].text == winner
