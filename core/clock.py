"""Time as the fleet keeps it: always timezone-aware, always UTC.

Platforms print times without offsets, and Redis and RQ hand back naive ones; comparing a
naive datetime with an aware one raises. Every time that enters the fleet goes through
`as_utc`, and every "now" comes from `utcnow`. A time from outside must also fall within
the years the fleet deals in (`in_window`): year 1 overflows the arithmetic around it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
