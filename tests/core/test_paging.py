"""Keyset pagination: cursors carry typed keys, refuse anything forged, and a walk through
a listing by cursor meets every row once, NULL keys last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core.db import Database
from core.models import Conversation
from core.paging import InvalidCursor, SortKey, decode_cursor, encode_cursor, paginate
from tests.helpers.seeding import Line, seed

WHEN = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def test_a_cursor_carries_its_keys_back_typed() -> None:
    cursor = encode_cursor([WHEN, 1234, 12.5, True, None])
    assert decode_cursor(cursor, [datetime, int, float, bool, int]) == [
        WHEN,
        1234,
        12.5,
        True,
        None,
    ]


@pytest.mark.parametrize(
    ("values", "kinds"),
    [
        (["x"], [int]),
        ([1.5], [int]),
        ([True], [int]),
        ([2**60], [int]),
        (["0001-01-01T00:00:00"], [datetime]),
        (["not a time"], [datetime]),
        ([1], [int, int]),
        ([[1]], [int]),
    ],
)
def test_a_cursor_of_the_wrong_shape_is_refused(values: list[object], kinds: list[type]) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(encode_cursor(values), kinds)  # type: ignore[arg-type]


@pytest.mark.parametrize("cursor", ["%%%", "e30", "bnVsbA", "W1tdXQ", "a" * 500])
def test_a_cursor_that_is_not_one_is_refused(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, [int])


def test_a_walk_by_cursor_meets_every_row_once_with_null_keys_last(db: Database) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    times = [WHEN, WHEN, None, WHEN - timedelta(hours=1), None, WHEN + timedelta(hours=1)]
    with db.session() as session:
        for index, last_message_at in enumerate(times):
            session.add(
                Conversation(
                    account_id=seeded.account_id,
                    fan_id=session.get_one(Conversation, seeded.conversation_id).fan_id,
                    platform_conversation_id=f"walk-{index}",
                    last_message_at=last_message_at,
                )
            )
        session.commit()
        order = [SortKey(Conversation.last_message_at, descending=True), SortKey(Conversation.id)]
        everything = session.scalars(
            select(Conversation).order_by(*(key.ordering() for key in order))
        ).all()
        walked, cursor = [], None
        while True:
            page = paginate(session, select(Conversation), order, limit=2, cursor=cursor)
            walked += [row.id for row in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
    assert walked == [row.id for row in everything]
    assert [row.last_message_at for row in everything][-2:] == [None, None]


def test_a_cursor_written_in_one_order_is_refused_in_another(db: Database) -> None:
    # Keys of the same types: without the order in the cursor, it would read as valid and
    # page through the wrong rows.
    seed(db, [Line("inbound", "hi"), Line("inbound", "there")])
    by_fan = [SortKey(Conversation.fan_id), SortKey(Conversation.id)]
    by_account = [SortKey(Conversation.account_id), SortKey(Conversation.id)]
    with db.session() as session:
        session.add(Conversation(account_id=1, fan_id=1, platform_conversation_id="second"))
        session.commit()
        page = paginate(session, select(Conversation), by_fan, limit=1, cursor=None)
        assert page.next_cursor is not None
        with pytest.raises(InvalidCursor, match="cursor: written for another order"):
            paginate(session, select(Conversation), by_account, limit=1, cursor=page.next_cursor)
