"""Bodies shared by every resource: pages, bounded fields, and an admin's override.

A response body is built from a row with `Body.model_validate(row)` (every response body
reads attributes), and from a core view that combines rows with `Body.of(view)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from core.auth import Principal
from core.db import StoredProblem
from core.errors import MAX_ID
from core.outbox import Override
from core.paging import Page
from core.platform import MAX_TEXT_CHARS

T = TypeVar("T")
Row = TypeVar("Row")


# What shows nothing on its own: spaces and separators, controls, format characters
# (zero-width space and joiner, direction marks, BOM), variation selectors. One list for
# the check and for the schema's pattern, so the schema says what the check does.
_INVISIBLE_RANGES = (
    ("\u0000", "\u0020"),
    ("\u007f", "\u00a0"),
    ("\u00ad", "\u00ad"),
    ("\u0600", "\u0605"),
    ("\u061c", "\u061c"),
    ("\u06dd", "\u06dd"),
    ("\u070f", "\u070f"),
    ("\u1680", "\u1680"),
    ("\u180e", "\u180e"),
    ("\u2000", "\u200f"),
    ("\u2028", "\u202f"),
    ("\u205f", "\u2064"),
    ("\u2066", "\u206f"),
    ("\u3000", "\u3000"),
    ("\ufe00", "\ufe0f"),
    ("\ufeff", "\ufeff"),
    ("\ufff9", "\ufffb"),
)
_VISIBLE_PATTERN = (
    "[^"
    + "".join(
        f"\\u{ord(low):04x}" + (f"-\\u{ord(high):04x}" if high != low else "")
        for low, high in _INVISIBLE_RANGES
    )
    + "]"
)


def _invisible(char: str) -> bool:
    return any(low <= char <= high for low, high in _INVISIBLE_RANGES) or (
        # Beyond the basic plane: tags and the supplementary variation selectors.
        "\U000e0000" <= char <= "\U000e01ef"
    )


def _visible(value: str) -> str:
    if all(_invisible(char) for char in value):
        raise ValueError("must contain something visible, not only spaces or invisible characters")
    return value


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT_CHARS),
    AfterValidator(_visible),
    Field(
        description=f"Message text: 1 to {MAX_TEXT_CHARS} characters, something visible.",
        json_schema_extra={"pattern": _VISIBLE_PATTERN},
    ),
]
RowId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
PriceCents = Annotated[
    StrictInt, Field(ge=0, le=10_000_000, description="Price in cents, a JSON integer.")
]
MediaId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
    Field(description="A media item's id in the platform's vault (printable, no spaces)."),
]
MediaIds = Annotated[
    list[MediaId],
    Field(max_length=20, description="Vault media to attach, in order: a PPV's content."),
]


def integral(value: Any) -> Any:
    """`value` with every whole float (`159.0`) as an int: JSON has one number type, and
    the schema's "integer" takes 159.0; strict fields then refuse only what is not whole."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [integral(item) for item in value]
    return value


def _nul_at(value: Any, path: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where in a JSON value the first string holding a NUL is, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_at(key, (*path, str(key))) or _nul_at(item, (*path, str(key)))
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_at(item, (*path, str(index)))
            if found is not None:
                return found
    return None


def examples(*bodies: dict[str, Any]) -> ConfigDict:
    """A request body's config that shows `bodies` as its examples in the schema."""
    return ConfigDict(json_schema_extra={"examples": list(bodies)})


class RequestBody(BaseModel):
    """A request body: unknown fields are an error, not silently dropped; values have their
    JSON type (no `"100"` for a number, no `0` for false); numbers are finite; no text holds
    a NUL character (PostgreSQL cannot store one)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        where = _nul_at(data)
        if where is not None:
            raise ValueError(f"{'.'.join(where) or 'text'}: must not contain NUL characters")
        return integral(data)


# A name or a reason: spaces around it dropped, something visible left. The schema says
# so too (the pattern), so that what it allows the API takes.
VisibleName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_visible),
    Field(json_schema_extra={"pattern": _VISIBLE_PATTERN}),
]
VisibleReason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    AfterValidator(_visible),
    Field(json_schema_extra={"pattern": _VISIBLE_PATTERN}),
]
OverrideReason = VisibleReason


class Overridable(RequestBody):
    """A request an admin may push past the guardrails: `override: true` with an
    `override_reason`, both audited. Who may is core's rule (`core.outbox.gate`)."""

    override: bool = Field(
        default=False, description="Admins only: send past the filter and guards' blocks."
    )
    override_reason: OverrideReason | None = Field(
        default=None, description="Why the block is overridden; required with override, audited."
    )

    @model_validator(mode="after")
    def _override_needs_reason(self) -> Overridable:
        if self.override and self.override_reason is None:
            raise ValueError("override needs an override_reason")
        if self.override_reason is not None and not self.override:
            raise ValueError("override_reason is only accepted with override: true")
        return self

    def override_by(self, principal: Principal) -> Override | None:
        """The override `principal` asks for, if any."""
        if not self.override or self.override_reason is None:
            return None
        return Override(by=principal, reason=self.override_reason)


class FieldError(BaseModel):
    """One input that failed validation: where (`loc`), what is wrong (`msg`), and its kind."""

    loc: list[str | int]
    msg: str
    type: str

    @classmethod
    def of(cls, problem: StoredProblem) -> FieldError:
        """A stored value that no longer validates, told like bad input."""
        return cls(loc=list(problem.loc), msg=problem.msg, type=problem.type)


class ErrorOut(BaseModel):
    """Every error the API answers: `detail` says what is wrong in one line, naming the
    field for bad input. A 422 lists each failed input in `errors`; a 409 from a guardrail
    names the rules that fired in `reasons`."""

    detail: str
    errors: list[FieldError] | None = None
    reasons: list[str] | None = None


class ResponseBody(BaseModel):
    """A response body, read from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    """One page of a list and the cursor of the next page (null on the last): pass it back
    as `cursor`."""

    items: list[T]
    limit: int
    next_cursor: str | None


def page_out(page: Page[Row], convert: Callable[[Row], T]) -> PageOut[T]:
    """A page of rows as a page of response bodies."""
    return PageOut[T](
        items=[convert(row) for row in page.items],
        limit=page.limit,
        next_cursor=page.next_cursor,
    )
