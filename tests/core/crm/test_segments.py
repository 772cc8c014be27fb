"""Segments: a saved filter lists the fans it selects now, names are unique, and a stored
filter that no longer holds still reads, saying what is wrong."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.crm import (
    FanFilter,
    FanSort,
    create_segment,
    delete_segment,
    get_segment,
    segment_fans,
    segment_problems,
    update_segment,
)
from core.db import Database
from core.errors import Conflict, InvalidState, NotFound
from tests.helpers.crm import FanSpec, add_account, add_fans
from tests.helpers.rows import audit_details


@pytest.fixture
def account_id(db: Database) -> int:
    account_id = add_account(db)
    add_fans(
        db,
        account_id,
        FanSpec("whale", spend_cents=90_000, tags=["vip"]),
        FanSpec("minnow", spend_cents=100, tags=["vip"]),
    )
    return account_id


def _fans(db: Database, segment_id: int) -> list[str]:
    with db.session() as session:
        page = segment_fans(session, segment_id, sort=FanSort.spend, limit=10, cursor=None)
        return [fan.platform_fan_id for fan in page.items]


def test_a_segment_lists_the_fans_its_filter_selects_now(db: Database, account_id: int) -> None:
    with db.session() as session:
        segment = create_segment(
            session, name="VIPs", fan_filter=FanFilter(tags=["vip"]), actor="op"
        )
    assert _fans(db, segment.id) == ["whale", "minnow"]
    add_fans(db, account_id, FanSpec("new", spend_cents=500, tags=["vip"]))
    assert _fans(db, segment.id) == ["whale", "new", "minnow"]
    assert audit_details(db, "segment.created") == [{"actor": "op", "subject_id": segment.id}]


def test_a_changed_filter_selects_anew(db: Database, account_id: int) -> None:
    with db.session() as session:
        segment = create_segment(session, name="VIPs", fan_filter=FanFilter(), actor="op")
        update_segment(
            session, segment.id, fan_filter=FanFilter(tier="top"), name="Top", actor="op"
        )
    assert _fans(db, segment.id) == ["whale"]
    with db.session() as session:
        assert get_segment(session, segment.id).name == "Top"


def test_a_name_is_unique(db: Database, account_id: int) -> None:
    with db.session() as session:
        create_segment(session, name="VIPs", fan_filter=FanFilter(), actor="op")
        with pytest.raises(Conflict, match="exists already"):
            create_segment(session, name="VIPs", fan_filter=FanFilter(), actor="op")


def test_a_stored_filter_that_no_longer_holds_reads_and_says_why(
    db: Database, account_id: int
) -> None:
    with db.session() as session:
        segment = create_segment(session, name="VIPs", fan_filter=FanFilter(), actor="op")
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE segments SET filter = :f"), {"f": '{"tier": "whale", "colour": 1}'}
        )
    with db.session() as session:
        stored = get_segment(session, segment.id)
        assert sorted(p.loc for p in segment_problems(stored)) == [
            ("filter", "colour"),
            ("filter", "tier"),
        ]
    with pytest.raises(InvalidState, match="filter.tier"):
        _fans(db, segment.id)


def test_a_deleted_segment_is_gone(db: Database, account_id: int) -> None:
    with db.session() as session:
        segment = create_segment(session, name="VIPs", fan_filter=FanFilter(), actor="op")
        delete_segment(session, segment.id, actor="op")
        with pytest.raises(NotFound):
            get_segment(session, segment.id)
