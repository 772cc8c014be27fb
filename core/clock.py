"""Time as the fleet keeps it: always timezone-aware, always UTC.

Platforms print times without offsets, and Redis and RQ hand back naive ones; comparing a
naive datetime with an aware one raises. Every time that enters the fleet goes through
`as_utc`, and every "now" comes from `utcnow`. A time from outside must also fall within
the years the fleet deals in (`in_window`): year 1 overflows the arithmetic around it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

# How far ahead of UTC, and behind it, a place's clock may be (Kiribati, Baker Island): a
# wall-clock time comes first at UTC+14 and last at UTC-12.
AHEAD_OF_UTC = timedelta(hours=14)
BEHIND_UTC = timedelta(hours=12)

# The span of times the fleet accepts from a client or a platform.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def in_window(value: datetime) -> datetime:
    """`value` in UTC (naive: taken as UTC), or `ValueError` outside 2000 to 2100."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST.year} and {LATEST.year}")
    return value.astimezone(UTC)


def epoch_ms(value: datetime) -> int:
    """`value` as whole milliseconds since 1970 (naive: taken as UTC): a time that sorts
    and subtracts the same way in every database's integer column."""
    return round(as_utc(value).timestamp() * 1000)


def from_epoch_ms(value: int) -> datetime:
    """The time `epoch_ms` gave `value` for, in UTC."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)


def zone_named(name: str) -> ZoneInfo:
    """The IANA time zone called `name` ("Europe/Berlin"), or `ValueError` saying there is
    none by that name."""
    if name not in _zone_names():
        raise ValueError(
            f"{name!r} is not a time zone: give an IANA name such as Europe/Berlin or UTC"
        )
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    # The IANA names only: not the machine's own zone (`localtime`), which would follow the
    # host, nor `Factory`, nor the `posix/` and `right/` copies.
    return frozenset(available_timezones() - {"localtime", "Factory"})


def at_wall_clock(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC time at which clocks in `zone` read `wall` (naive). On a daylight-saving
    change, a reading shown twice is taken at its first showing, and one skipped is read
    with the offset from before the change."""
    return wall.replace(tzinfo=zone).astimezone(UTC)
