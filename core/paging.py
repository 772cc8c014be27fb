"""Keyset pagination: a page is the rows after a cursor, in a fixed order, read by index.

An offset makes the database walk past every skipped row, so page 2,000 of a listing costs
2,000 pages of work. A cursor names the last row a page showed (the values of its sort
keys); the next page asks for the rows after it, which an index on the same keys finds
directly. Rows added or removed between two pages never shift the rest.

A cursor is opaque to clients: a URL-safe base64 of the key values in JSON, after the
order they are keys of. It is checked as it is read, so a forged or corrupt one, or one a
listing wrote in another order (the fans by spend, then by activity), is an
`InvalidCursor` (a 422 naming `cursor`), never a database error or a page of the wrong
rows.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, tuple_
from sqlalchemy.orm import Session

from core.clock import in_window
from core.errors import DomainError

T = TypeVar("T")

# A cursor carries a handful of keys; anything longer was not written by `encode_cursor`.
MAX_CURSOR_CHARS = 400
# Epoch milliseconds and ids fit in 53 bits: JSON numbers survive every client.
_MAX_KEY_INT = 2**53


class InvalidCursor(DomainError):
    """A cursor this service did not write, or for another listing (answered with 422)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing: its rows and the cursor of the next page (None on the last).

    No count of the whole listing: counting a queue of 100,000 rows costs more than
    reading a page of it, on every page."""

    items: Sequence[T]
    limit: int
    next_cursor: str | None


def encode_cursor(values: Sequence[str | int | float | bool | datetime | None]) -> str:
    """The cursor naming a row by its sort key `values`."""
    plain = [value.isoformat() if isinstance(value, datetime) else value for value in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> list[Any]:
    """The key values in `cursor`, one of each type in `kinds` (str, int, float, bool or
    datetime; None stands for a NULL key); `InvalidCursor` when it is anything else."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor("cursor: too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
    except (binascii.Error, ValueError):
        raise InvalidCursor("cursor: not a cursor this listing wrote") from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise InvalidCursor("cursor: not a cursor this listing wrote")
    return [_typed(value, kind) for value, kind in zip(values, kinds, strict=True)]


def _typed(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is bool and isinstance(value, bool):
        return value
    if kind is str and isinstance(value, str):
        return value
    if kind is int and type(value) is int and abs(value) <= _MAX_KEY_INT:
        return value
    if kind is float and type(value) in (int, float) and math.isfinite(value):
        return float(value)
    if kind is datetime and isinstance(value, str):
        try:
            return in_window(datetime.fromisoformat(value))
        except ValueError:
            pass
    raise InvalidCursor("cursor: not a cursor this listing wrote")


@dataclass(frozen=True)
class SortKey:
    """One key of a listing's order: a column (or a SQL expression), its direction. NULLs
    sort last either way."""

    column: Any
    descending: bool = False

    @property
    def kind(self) -> type:
        """The Python type of the key's values."""
        column_type = self.column.type
        # A TypeDecorator (UTC datetimes) names no type of its own: its implementation does.
        return getattr(column_type, "impl_instance", column_type).python_type  # type: ignore[no-any-return]

    @property
    def nullable(self) -> bool:
        return getattr(self.column, "nullable", True)  # type: ignore[no-any-return]

    def ordering(self) -> ColumnElement[Any]:
        """The ORDER BY term. NULLS LAST only where a NULL may be: PostgreSQL puts NULLs
        first in a descending index, which would then no longer match the order."""
        column = self.column.desc() if self.descending else self.column.asc()
        return column.nulls_last() if self.nullable else column

    def beyond(self, value: Any) -> ColumnElement[bool]:
        """Rows strictly after `value` on this key alone."""
        if value is None:
            return false()
        past = self.column < value if self.descending else self.column > value
        # A NOT NULL column needs no NULL branch, and the planner reads it by index.
        return or_(past, self.column.is_(None)) if self.nullable else past

    def at(self, value: Any) -> ColumnElement[bool]:
        """Rows level with `value` on this key."""
        return self.column.is_(None) if value is None else self.column == value


def after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows after the one whose sort key values are `values`, in the order of `keys`."""
    if all(not key.nullable and not key.descending for key in keys):
        # One index range: (a, b, c) > (x, y, z).
        return tuple_(*(key.column for key in keys)) > tuple_(*values)
    head = keys[0]
    clause = _after(keys, values)
    if values[0] is None or head.nullable:
        return clause
    # Implied by the clause, but an index can start its scan there: an OR is no range.
    start = head.column <= values[0] if head.descending else head.column >= values[0]
    return and_(start, clause)


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> ColumnElement[bool]:
    head, *rest = keys
    if not rest:
        return head.beyond(values[0])
    return or_(head.beyond(values[0]), and_(head.at(values[0]), _after(rest, values[1:])))


def paginate(
    session: Session,
    stmt: Select[tuple[T]],
    keys: Sequence[SortKey],
    *,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """One page of `stmt` (unordered: `keys` order it; the last key must be unique) after
    `cursor`."""
    ordered = stmt.order_by(*(key.ordering() for key in keys))
    order = _order_name(keys)
    if cursor is not None:
        written_for, *values = decode_cursor(cursor, [str, *(key.kind for key in keys)])
        if written_for != order:
            raise InvalidCursor("cursor: written for another order of this listing")
        ordered = ordered.where(after(keys, values))
    rows = session.scalars(ordered.limit(limit + 1)).all()
    items = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor([order, *(getattr(last, key.column.key) for key in keys)])
    return Page(items=items, limit=limit, next_cursor=next_cursor)


def _order_name(keys: Sequence[SortKey]) -> str:
    """The order `keys` make, as a cursor names it: "-total_spend_cents,id"."""
    return ",".join(("-" if key.descending else "") + key.column.key for key in keys)


__all__ = [
    "MAX_CURSOR_CHARS",
    "InvalidCursor",
    "Page",
    "SortKey",
    "after",
    "decode_cursor",
    "encode_cursor",
    "paginate",
]
