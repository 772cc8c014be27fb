"""The CRM's fan list: fans filtered (`FanFilter`) and sorted by spend or by last
activity, a page at a time.

A filter is data: the list, the CSV export and a saved segment read the same one. Each
condition is plain SQL on the fan's row, except two that look further: tags (the fan holds
every tag named) and an unpaid PPV (an offer we sent them that they have not bought).
Fans erased at their request are never listed.

Both orders are read by index (`core.models.Fan`): spend, and last activity in epoch
milliseconds, each after the account when the filter names one, with the id breaking
ties, so a cursor is one index position whatever the filter.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import ColumnElement, Select, and_, cast, exists, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from core.bounds import MAX_INT32
from core.clock import epoch_ms, in_window
from core.crm.fan_edits import Tag
from core.drafting.fan import TIER_LOW_CENTS, TIER_MID_CENTS, TIER_TOP_CENTS, SpendTier
from core.errors import MAX_ID
from core.models import FAN_SEARCH_TEXT, MESSAGE_IS_UNPAID_OFFER, Conversation, Fan, Message
from core.paging import Page, SortKey, paginate

MAX_FILTER_TAGS = 10
SEARCH_MAX_CHARS = 100

# Each tier as a spend range: [low, high) in cents.
_TIER_SPEND: dict[SpendTier, tuple[int, int | None]] = {
    SpendTier.none: (0, TIER_LOW_CENTS),
    SpendTier.low: (TIER_LOW_CENTS, TIER_MID_CENTS),
    SpendTier.mid: (TIER_MID_CENTS, TIER_TOP_CENTS),
    SpendTier.top: (TIER_TOP_CENTS, None),
}


class FanSort(StrEnum):
    """How the fan list is ordered, largest first."""

    spend = "spend"
    last_active = "last_active"


_ORDERS = {
    FanSort.spend: [
        SortKey(Fan.total_spend_cents, descending=True),
        SortKey(Fan.id, descending=True),
    ],
    FanSort.last_active: [
        SortKey(Fan.last_active_ms, descending=True),
        SortKey(Fan.id, descending=True),
    ],
}

SpendCents = Annotated[int, Field(ge=0, le=MAX_INT32)]
WindowTime = Annotated[datetime, AfterValidator(in_window)]


class FanFilter(BaseModel):
    """Which fans: every condition given must hold. Times without a zone are UTC."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Account id.")
    tier: SpendTier | None = Field(default=None, description="Only fans of this spend tier.")
    min_spend_cents: SpendCents | None = Field(
        default=None, description="Total spend at least this."
    )
    max_spend_cents: SpendCents | None = Field(
        default=None, description="Total spend at most this."
    )
    active_since: WindowTime | None = Field(
        default=None, description="Wrote to us at or after this time."
    )
    active_before: WindowTime | None = Field(
        default=None, description="Has not written since this time (or never has)."
    )
    tags: list[Tag] = Field(
        default_factory=list,
        max_length=MAX_FILTER_TAGS,
        description="Holds every one of these tags.",
    )
    has_unpaid_ppv: bool | None = Field(
        default=None, description="Was sent a PPV they have not bought (false: has none)."
    )
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=SEARCH_MAX_CHARS,
        description="Text found in the fan's name, handle or platform id (any case).",
    )

    @field_validator("max_spend_cents")
    @classmethod
    def _spend_range(cls, high: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_spend_cents")
        if low is not None and high is not None and low > high:
            raise ValueError("must not be below min_spend_cents")
        return high

    @field_validator("active_before")
    @classmethod
    def _activity_range(cls, before: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("active_since")
        if since is not None and before is not None and since >= before:
            raise ValueError("must be after active_since")
        return before


def _has_tags(dialect: str, tags: list[str]) -> ColumnElement[bool]:
    """The fan holds every tag in `tags`: JSON containment, which PostgreSQL answers on
    `jsonb` and SQLite by walking the array."""
    if dialect == "postgresql":
        return cast(Fan.tags, JSONB).contains(tags)
    each = func.json_each(Fan.tags).table_valued("value")
    conditions = [exists().select_from(each).where(each.c.value == tag) for tag in tags]
    return and_(*conditions)


def _unpaid_ppv() -> ColumnElement[bool]:
    """We sent the fan a priced PPV that they have not bought."""
    return (
        exists()
        .where(
            Conversation.fan_id == Fan.id,
            Message.conversation_id == Conversation.id,
            MESSAGE_IS_UNPAID_OFFER,
        )
        .correlate(Fan)
    )


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fan_conditions(fan_filter: FanFilter, dialect: str) -> list[ColumnElement[bool]]:
    """The WHERE terms of `fan_filter`, for a query over `Fan` on `dialect`."""
    where: list[ColumnElement[bool]] = [Fan.erased_at.is_(None)]
    f = fan_filter
    if f.account_id is not None:
        where.append(Fan.account_id == f.account_id)
    if f.tier is not None:
        low, high = _TIER_SPEND[f.tier]
        where.append(Fan.total_spend_cents >= low)
        if high is not None:
            where.append(Fan.total_spend_cents < high)
    if f.min_spend_cents is not None:
        where.append(Fan.total_spend_cents >= f.min_spend_cents)
    if f.max_spend_cents is not None:
        where.append(Fan.total_spend_cents <= f.max_spend_cents)
    if f.active_since is not None:
        where.append(Fan.last_active_ms >= epoch_ms(f.active_since))
    if f.active_before is not None:
        where.append(Fan.last_active_ms < epoch_ms(f.active_before))
    if f.tags:
        where.append(_has_tags(dialect, list(dict.fromkeys(f.tags))))
    if f.has_unpaid_ppv is not None:
        where.append(_unpaid_ppv() if f.has_unpaid_ppv else ~_unpaid_ppv())
    if f.q is not None:
        where.append(FAN_SEARCH_TEXT.ilike(_like(f.q.strip()), escape="\\"))
    return where


def select_fans(session: Session, fan_filter: FanFilter) -> Select[tuple[Fan]]:
    """The fans `fan_filter` selects, unordered."""
    dialect = session.get_bind().dialect.name
    return select(Fan).where(*fan_conditions(fan_filter, dialect))


def list_fans(
    session: Session,
    fan_filter: FanFilter,
    *,
    sort: FanSort = FanSort.spend,
    limit: int,
    cursor: str | None,
) -> Page[Fan]:
    """A page of the fans `fan_filter` selects, largest `sort` first."""
    return paginate(
        session, select_fans(session, fan_filter), _ORDERS[sort], limit=limit, cursor=cursor
    )
