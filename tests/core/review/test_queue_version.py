"""The queue's version, which open consoles poll: it grows with every change to a draft
that the queue shows, made in any process."""

from __future__ import annotations

from core.db import Database
from core.review import claim_draft, queue_version, reject_draft
from core.settings import Settings
from tests.helpers.seeding import Line, seed, seed_draft


def _version(db: Database) -> int:
    with db.session() as session:
        return queue_version(session)


def test_the_version_grows_with_each_new_draft_claim_and_decision(
    db: Database, settings: Settings
) -> None:
    versions = [_version(db)]
    draft_id = seed_draft(db, seed(db, [Line("inbound", "hi")]), "A reply")
    versions.append(_version(db))
    with db.session() as session:
        claim_draft(session, settings, draft_id, actor="mia")
    versions.append(_version(db))
    with db.session() as session:
        reject_draft(session, draft_id, actor="mia", reason="no")
    versions.append(_version(db))
    assert versions == sorted(set(versions)), versions
