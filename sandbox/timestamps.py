"""Timestamps as the sandbox stores and shows them: ISO-8601 UTC with microseconds.

One fixed format (`2026-11-21T10:00:00.123456+00:00`) means stored strings sort in time
order, so SQLite can order and compare them as text.
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(moment: datetime) -> str:
    """`moment` (timezone-aware) in the sandbox's canonical UTC format."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def now_iso() -> str:
    """The current time in the canonical format."""
    return to_iso(datetime.now(UTC))
