"""Revenue over a window: tips on the day sent, PPVs on the day paid, per account per UTC
day, and PPV offers' conversion by price band and by the fan's tier."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.analytics import Window
from core.analytics.revenue import report
from core.db import Database
from tests.helpers.crm import FanSpec, Money, add_account, add_fans
from tests.helpers.seeding import T0

DAY = timedelta(days=1)


@pytest.fixture
def accounts(db: Database) -> tuple[int, int]:
    mia, zoe = add_account(db, "Mia"), add_account(db, "Zoe")
    add_fans(
        db,
        mia,
        FanSpec(
            "top",
            spend_cents=60_000,
            money=[
                Money(T0, tip_cents=500),
                Money(T0 + timedelta(hours=1), tip_cents=300),
                # Offered on day 0, paid on day 2: counted on day 2.
                Money(T0, ppv_price_cents=1_500, paid_at=T0 + 2 * DAY),
                Money(T0 + DAY, ppv_price_cents=700),
                # Before the window: not counted.
                Money(T0 - 3 * DAY, tip_cents=10_000),
            ],
        ),
        FanSpec("low", spend_cents=100, money=[Money(T0, ppv_price_cents=6_000)]),
    )
    add_fans(db, zoe, FanSpec("z", money=[Money(T0 + DAY, tip_cents=250)]))
    return mia, zoe


def _window(account_id: int | None = None) -> Window:
    return Window(since=T0 - DAY, until=T0 + 5 * DAY, account_id=account_id)


def test_tips_count_when_sent_and_ppvs_when_paid(db: Database, accounts: tuple[int, int]) -> None:
    mia, zoe = accounts
    with db.session() as session:
        days = report(session, _window()).days
    day0 = T0.date()
    assert [(d.day, d.account_id, d.tips, d.tips_cents, d.ppv_sold, d.ppv_cents) for d in days] == [
        (day0, mia, 2, 800, 0, 0),
        (day0 + timedelta(days=1), zoe, 1, 250, 0, 0),
        (day0 + timedelta(days=2), mia, 0, 0, 1, 1_500),
    ]


def test_one_accounts_revenue(db: Database, accounts: tuple[int, int]) -> None:
    mia, _ = accounts
    with db.session() as session:
        revenue = report(session, _window(mia))
    assert (revenue.tips_cents, revenue.ppv_cents) == (800, 1_500)
    assert {day.account_id for day in revenue.days} == {mia}


def test_offers_convert_by_price_band_and_tier(db: Database, accounts: tuple[int, int]) -> None:
    with db.session() as session:
        revenue = report(session, _window())
    bands = {c.key: (c.offered, c.bought, c.revenue_cents) for c in revenue.by_price_band}
    assert bands == {
        "0-499": (0, 0, 0),
        "500-999": (1, 0, 0),
        "1000-1999": (1, 1, 1_500),
        "2000-4999": (0, 0, 0),
        "5000+": (1, 0, 0),
    }
    tiers = {c.key: (c.offered, c.bought, c.rate) for c in revenue.by_tier}
    assert tiers == {
        "none": (0, 0, None),
        "low": (1, 0, 0.0),
        "mid": (0, 0, None),
        "top": (2, 1, 0.5),
    }


def test_a_window_without_money_reports_nothing(db: Database, accounts: tuple[int, int]) -> None:
    window = Window(since=T0 + 10 * DAY, until=T0 + 11 * DAY)
    with db.session() as session:
        revenue = report(session, window)
    assert revenue.days == [] and all(c.offered == 0 for c in revenue.by_tier)
