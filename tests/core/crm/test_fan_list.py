"""The CRM's fan list: every filter selects what it says, both orders page through every
fan once, and erased fans are never listed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from core.crm import FanFilter, FanSort, list_fans
from core.db import Database
from tests.helpers.crm import FanSpec, Money, add_account, add_fans
from tests.helpers.seeding import T0

DAY = timedelta(days=1)


@pytest.fixture
def fans(db: Database) -> dict[str, Any]:
    """Six fans of one account and one of another, spread over spend, activity and tags."""
    mia, zoe = add_account(db, "Mia"), add_account(db, "Zoe")
    add_fans(
        db,
        mia,
        FanSpec("f-none", name="Nobody", last_active=None),
        FanSpec("f-low", name="Lou Reed", spend_cents=900, tags=["vip"], last_active=T0),
        FanSpec(
            "f-mid",
            name="Mid_Man",
            handle="midnight",
            spend_cents=9_000,
            tags=["vip", "night"],
            last_active=T0 + 2 * DAY,
            money=[Money(T0, ppv_price_cents=1500)],
        ),
        FanSpec(
            "f-top",
            name="Tess",
            spend_cents=80_000,
            tags=["night"],
            last_active=T0 + DAY,
            money=[Money(T0, ppv_price_cents=1500, paid_at=T0 + DAY)],
        ),
        FanSpec("f-pct", name="100% real", spend_cents=50, last_active=T0 - DAY),
        FanSpec("f-gone", name="", spend_cents=70_000, erased=True),
    )
    add_fans(db, zoe, FanSpec("z-1", name="Zed", spend_cents=20_000, last_active=T0))
    return {"mia": mia, "zoe": zoe}


def _ids(db: Database, fan_filter: FanFilter, sort: FanSort = FanSort.spend) -> list[str]:
    with db.session() as session:
        page = list_fans(session, fan_filter, sort=sort, limit=50, cursor=None)
        return [fan.platform_fan_id for fan in page.items]


CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"tier": "top"}, {"f-top"}),
    ({"tier": "none"}, {"f-none"}),
    ({"tier": "mid"}, {"f-mid", "z-1"}),
    ({"min_spend_cents": 900, "max_spend_cents": 9_000}, {"f-low", "f-mid"}),
    ({"active_since": T0 + DAY}, {"f-mid", "f-top"}),
    ({"active_before": T0 + DAY}, {"f-none", "f-low", "f-pct", "z-1"}),
    ({"tags": ["VIP "]}, {"f-low", "f-mid"}),
    ({"tags": ["vip", "night"]}, {"f-mid"}),
    ({"has_unpaid_ppv": True}, {"f-mid"}),
    ({"has_unpaid_ppv": False, "min_spend_cents": 1}, {"f-low", "f-top", "f-pct", "z-1"}),
    ({"q": "mid"}, {"f-mid"}),
    ({"q": "MIDNIGHT"}, {"f-mid"}),
    ({"q": "f-to"}, {"f-top"}),
    # A wildcard in the text is the character itself.
    ({"q": "%"}, {"f-pct"}),
    ({"q": "d_m"}, {"f-mid"}),
]


@pytest.mark.parametrize(("given", "expected"), CASES, ids=[str(case[0]) for case in CASES])
def test_a_filter_selects_the_fans_it_names(
    db: Database, fans: dict[str, Any], given: dict[str, Any], expected: set[str]
) -> None:
    assert set(_ids(db, FanFilter.model_validate(given))) == expected


def test_the_account_filter_keeps_one_accounts_fans(db: Database, fans: dict[str, Any]) -> None:
    assert _ids(db, FanFilter(account_id=fans["zoe"])) == ["z-1"]


def test_fans_sort_by_spend_and_page_through_each_once(db: Database, fans: dict[str, Any]) -> None:
    seen: list[str] = []
    cursor = None
    with db.session() as session:
        while True:
            page = list_fans(session, FanFilter(), limit=2, cursor=cursor)
            seen += [fan.platform_fan_id for fan in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    # The erased fan, though a big spender, is never listed.
    assert seen == ["f-top", "z-1", "f-mid", "f-low", "f-pct", "f-none"]


def test_the_most_recently_active_come_first_and_the_never_active_last(
    db: Database, fans: dict[str, Any]
) -> None:
    assert _ids(db, FanFilter(account_id=fans["mia"]), FanSort.last_active) == [
        "f-mid",
        "f-top",
        "f-low",
        "f-pct",
        "f-none",
    ]


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"min_spend_cents": 10, "max_spend_cents": 5}, "max_spend_cents"),
        ({"active_since": T0, "active_before": T0}, "active_before"),
        ({"tags": ["a;b"]}, "tags"),
        ({"q": "x" * 101}, "q"),
        ({"active_since": "1900-01-01T00:00:00"}, "active_since"),
    ],
)
def test_a_wrong_filter_names_its_field(given: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        FanFilter.model_validate(given)
    assert raised.value.errors()[0]["loc"][0] == field
