"""Claims that run out unreleased, which change no row but free a draft: open consoles
ask whether any did between two of their polls."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.clock import utcnow
from core.db import Database
from core.models import Draft
from core.review import claim_draft, claims_ran_out, reject_draft
from core.settings import Settings
from tests.helpers.seeding import Line, seed, seed_draft


def _claimed_until(db: Database, settings: Settings, until: datetime) -> int:
    draft_id = seed_draft(db, seed(db, [Line("inbound", "hi")]), "A reply")
    with db.session() as session:
        claim_draft(session, settings, draft_id, actor="mia")
        session.get_one(Draft, draft_id).claim_expires_at = until
        session.commit()
    return draft_id


def _ran_out(db: Database, after: datetime, until: datetime) -> bool:
    with db.session() as session:
        return claims_ran_out(session, after, until)


def test_a_claim_running_out_within_the_span_is_told(db: Database, settings: Settings) -> None:
    now = utcnow()
    _claimed_until(db, settings, now)
    assert _ran_out(db, now - timedelta(seconds=1), now)


def test_a_claim_running_out_before_or_after_the_span_is_not(
    db: Database, settings: Settings
) -> None:
    now = utcnow()
    _claimed_until(db, settings, now)
    assert not _ran_out(db, now, now + timedelta(seconds=1))
    assert not _ran_out(db, now - timedelta(seconds=2), now - timedelta(seconds=1))


def test_a_decided_drafts_claim_is_not(db: Database, settings: Settings) -> None:
    now = utcnow()
    draft_id = _claimed_until(db, settings, now + timedelta(minutes=1))
    with db.session() as session:
        reject_draft(session, draft_id, actor="mia", reason="no")
    assert not _ran_out(db, now, now + timedelta(minutes=2))
