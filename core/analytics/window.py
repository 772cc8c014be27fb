"""The period a report covers, and the UTC day of a timestamp, as every report reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Window:
    """The period `[since, until)` a report covers, and the one account it is about
    (None: every account)."""

    since: datetime
    until: datetime
    account_id: int | None = None

    def holds(self, column: Any) -> ColumnElement[bool]:
        """`column` (a timestamp) falls in the window."""
        return (column >= self.since) & (column < self.until)


def utc_day(session: Session, column: Any) -> Any:
    """The UTC calendar day of a timestamp column, in SQL. SQLite stores naive UTC;
    PostgreSQL's `date()` of a `timestamptz` would use the session's time zone."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def as_date(value: date | str) -> date:
    """A `utc_day` as Python reads it: SQLite answers an ISO string, PostgreSQL a date."""
    return value if isinstance(value, date) else date.fromisoformat(value)
