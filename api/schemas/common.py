"""Bodies shared by every resource: pages and bounded fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from core.db import Page
from core.errors import MAX_ID

T = TypeVar("T")
Row = TypeVar("Row")

MAX_TEXT = 5000


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must contain more than whitespace")
    return value


Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_not_blank),
    Field(description="Message text: 1 to 5000 characters, not only whitespace."),
]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
PriceCents = Annotated[int, Field(ge=0, le=10_000_000, description="Price in cents.")]


class RequestBody(BaseModel):
    """A request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ResponseBody(BaseModel):
    """A response body, read from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    """One page of a list and the size of the whole list."""

    items: list[T]
    total: int
    limit: int
    offset: int


def page_out(page: Page[Row], convert: Callable[[Row], T]) -> PageOut[T]:
    """A page of rows as a page of response bodies."""
    return PageOut[T](
        items=[convert(row) for row in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )
