"""Public ids: a kind letter and the row number, like real sites' opaque ids (`c12`, `f7`).

Pages and APIs only ever show these strings; integers stay inside the database layer.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """The letter that starts each kind of public id."""

    FAN = "f"
    CONVERSATION = "c"
    MESSAGE = "m"
    MEDIA = "v"


def format_id(kind: Kind, number: int) -> str:
    """The public id of row `number` of `kind`."""
    return f"{kind.value}{number}"


def parse_id(kind: Kind, public_id: str) -> int | None:
    """The row number behind `public_id`, or None if it is not an id of `kind`."""
    digits = public_id.removeprefix(kind.value)
    if digits == public_id or not digits.isascii() or not digits.isdigit():
        return None
    return int(digits)
