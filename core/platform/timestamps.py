"""Reading the times a platform prints, whatever form they take, as aware UTC datetimes.

Platforms print times with an offset, without one (in the platform's own zone), as epoch
seconds or milliseconds, or in relative words ("5m ago", "Yesterday 14:02"). Every one is
read here into an aware datetime in UTC, so nothing naive leaves a driver and no
comparison with the control plane's times can raise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from core.clock import as_utc

_EPOCH = re.compile(r"^\d{9,}(?:\.\d+)?$")
# Past this, an epoch number is in milliseconds: seconds would be past the year 5000.
_MILLIS_FROM = 100_000_000_000
_UNITS = {
    "s": "seconds",
    "sec": "seconds",
    "secs": "seconds",
    "second": "seconds",
    "seconds": "seconds",
    "m": "minutes",
    "min": "minutes",
    "mins": "minutes",
    "minute": "minutes",
    "minutes": "minutes",
    "h": "hours",
    "hr": "hours",
    "hrs": "hours",
    "hour": "hours",
    "hours": "hours",
    "d": "days",
    "day": "days",
    "days": "days",
    "w": "weeks",
    "wk": "weeks",
    "week": "weeks",
    "weeks": "weeks",
}
_AGO = re.compile(r"^(an?|\d+)\s*([a-z]+)(?:\s+ago)?$")
_DAY_AND_TIME = re.compile(r"^(today|yesterday)(?:,?\s+(?:at\s+)?(\d{1,2}):(\d{2}))?$")
_NOW_WORDS = frozenset({"now", "just now", "moments ago", "a moment ago"})


class UnreadableTime(ValueError):
    """A printed time in no form this module reads; the message quotes it."""


def _relative(text: str, zone: tzinfo, now: datetime) -> datetime | None:
    if text in _NOW_WORDS:
        return now
    ago = _AGO.match(text)
    if ago is not None and ago.group(2) in _UNITS:
        count = 1 if ago.group(1) in ("a", "an") else int(ago.group(1))
        return now - timedelta(**{_UNITS[ago.group(2)]: count})
    day = _DAY_AND_TIME.match(text)
    if day is not None:
        local = now.astimezone(zone)
        if day.group(1) == "yesterday":
            local -= timedelta(days=1)
        if day.group(2) is not None:
            local = local.replace(
                hour=int(day.group(2)), minute=int(day.group(3)), second=0, microsecond=0
            )
        return local
    return None


def _formatted(text: str, formats: Sequence[str], zone: tzinfo) -> datetime | None:
    for layout in formats:
        try:
            parsed = datetime.strptime(text, layout)
        except ValueError:
            continue
        return as_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=zone))
    return None


def read_time(
    value: str | None,
    zone: tzinfo = UTC,
    now: datetime | None = None,
    formats: Sequence[str] = (),
) -> datetime | None:
    """`value` as an aware UTC datetime; None when the platform printed nothing.

    The strptime `formats` (the profile's) are tried first, then ISO-8601, epoch seconds
    or milliseconds, and relative words. A time without an offset is read in `zone` (the
    profile's), as are the relative forms, counted back from `now` (default: the current
    time). Raises `UnreadableTime` for any other text."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    formatted = _formatted(text, formats, zone)
    if formatted is not None:
        return formatted
    if _EPOCH.match(text):
        number = float(text)
        seconds = number / 1000 if number >= _MILLIS_FROM else number
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        moment = as_utc(now or datetime.now(UTC))
        relative = _relative(" ".join(text.lower().split()), zone, moment)
        if relative is None:
            raise UnreadableTime(f"no time can be read from {text!r}") from None
        return as_utc(relative)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return as_utc(parsed)
