"""Domain errors. Services raise them; the API turns them into 403, 404 and 409 responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from core.bounds import MAX_INT32

MAX_ID = MAX_INT32


class DomainError(Exception):
    """A request the domain refuses; the message is safe to show the caller."""


class NotFound(DomainError):
    """No row with that id (answered with 404)."""


class Conflict(DomainError):
    """The request collides with data already there (answered with 409)."""


class InvalidState(Conflict):
    """The row is not in a state that allows the transition asked for (answered with 409)."""


class Refused(InvalidState):
    """A guardrail refused the request; `reasons` names every rule that fired (answered with
    409, the reasons listed)."""

    def __init__(self, message: str, reasons: Sequence[str]) -> None:
        super().__init__(message)
        self.reasons = list(reasons)


class Forbidden(DomainError):
    """The caller's role may not do this, whatever the row's state (answered with 403)."""


class _Labelled(Protocol):
    label: str


RowT = TypeVar("RowT", bound=_Labelled)


def get_or_raise(
    session: Session, model: type[RowT], row_id: int, *, for_update: bool = False
) -> RowT:
    """The row of `model` with `row_id`, locked when `for_update`; `NotFound` ("send 42 not
    found") when there is none."""
    # Ids are 32-bit: a larger one (workers' bodies do not bound them) cannot exist, and
    # PostgreSQL would reject the query instead of finding nothing.
    if not 1 <= row_id <= MAX_ID:
        raise NotFound(f"{model.label} {row_id} not found")
    # A locked read must refresh a row this session loaded before the lock was granted.
    row = session.get(model, row_id, with_for_update=for_update, populate_existing=for_update)
    if row is None:
        raise NotFound(f"{model.label} {row_id} not found")
    return row
