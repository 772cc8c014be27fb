"""Time as the fleet keeps it: always timezone-aware, always UTC.

Platforms print times without offsets, and Redis and RQ hand back naive ones; comparing a
naive datetime with an aware one raises. Every time that enters the fleet goes through
`as_utc`, and every "now" comes from `utcnow`.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
