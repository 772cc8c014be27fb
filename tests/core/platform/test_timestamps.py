"""Reading a platform's printed times: every form comes out aware and in UTC, times
without an offset in the profile's zone, and anything else is refused by name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.platform.timestamps import UnreadableTime, read_time

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # 13:00 in Berlin


@pytest.mark.parametrize(
    ("printed", "read"),
    [
        ("2026-03-01T10:00:00+00:00", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("2026-03-01T10:00:00-05:00", datetime(2026, 3, 1, 15, 0, tzinfo=UTC)),
        # No offset: the platform's own zone (Berlin is UTC+1 in March).
        ("2026-03-01T10:00:00", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        ("2026-03-01 10:00", datetime(2026, 3, 1, 9, 0, tzinfo=UTC)),
        ("1772359200", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("1772359200000", datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        ("1772359200.5", datetime(2026, 3, 1, 10, 0, 0, 500_000, tzinfo=UTC)),
        ("just now", NOW),
        ("5m ago", NOW - timedelta(minutes=5)),
        ("5 min ago", NOW - timedelta(minutes=5)),
        ("2 hours ago", NOW - timedelta(hours=2)),
        ("an hour ago", NOW - timedelta(hours=1)),
        ("3d", NOW - timedelta(days=3)),
        ("1 wk ago", NOW - timedelta(weeks=1)),
        # Wall-clock words are the platform's zone: 14:02 in Berlin is 13:02 UTC.
        ("Yesterday 14:02", datetime(2026, 2, 28, 13, 2, tzinfo=UTC)),
        ("yesterday, 09:30", datetime(2026, 2, 28, 8, 30, tzinfo=UTC)),
        ("Today at 08:15", datetime(2026, 3, 1, 7, 15, tzinfo=UTC)),
    ],
)
def test_each_printed_form_is_read_in_utc(printed: str, read: datetime) -> None:
    assert read_time(printed, BERLIN, NOW) == read


@pytest.mark.parametrize("printed", [None, "", "   "])
def test_nothing_printed_reads_as_no_time(printed: str | None) -> None:
    assert read_time(printed, BERLIN, NOW) is None


@pytest.mark.parametrize("printed", ["last spring", "5 fortnights ago", "12:99", "soon"])
def test_a_form_the_fleet_cannot_read_is_refused_by_name(printed: str) -> None:
    with pytest.raises(UnreadableTime, match="no time can be read from"):
        read_time(printed, BERLIN, NOW)


ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=9))])


@given(
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    zone=ZONES,
)
def test_any_iso_time_naive_or_aware_reads_aware_in_utc(moment: datetime, zone: object) -> None:
    printed = moment.replace(tzinfo=zone).isoformat()  # type: ignore[arg-type]
    read = read_time(printed, BERLIN, NOW)
    assert read is not None and read.utcoffset() == timedelta(0)
    expected = moment.replace(tzinfo=BERLIN if zone is None else zone)  # type: ignore[arg-type]
    # Compared as instants: Python holds a wall time that autumn's clocks show twice
    # unequal to any time in another zone (PEP 495), the instant it reads as included.
    assert read == expected.astimezone(UTC)


def test_a_profile_format_without_offset_is_read_in_the_profile_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    read = read_time("Dec 1, 2026 at 9:05 PM", tokyo, formats=("%b %d, %Y at %I:%M %p",))
    assert read == datetime(2026, 12, 1, 12, 5, tzinfo=UTC)


def test_text_in_no_profile_format_still_reads_as_iso_epoch_or_relative() -> None:
    formats = ("%d/%m/%Y %H:%M",)
    assert read_time("1764590400", formats=formats) == datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
    assert read_time("2026-12-01T10:00:00+00:00", formats=formats) == datetime(
        2026, 12, 1, 10, 0, tzinfo=UTC
    )
